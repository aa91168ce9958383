/* json-cost.h - what a JSON tree costs in memory, by what it holds: the one
 * set of weights behind both bounds on a tree's memory, an answer's before
 * jansson parses it (kube/json-bound.c) and status.yaml's while it is
 * built (yaml.c, limit max-status-memory; docs/BEHAVIOUR.md §2, §6). */
#pragma once

/* Bytes of heap jansson 2.14 takes per value, as glibc's malloc hands them
 * out (16-byte chunks with an 8-byte header, 32 at least), rounded up. Each
 * value inside a container also takes a slot: an array's table (8 bytes,
 * doubled as it grows: 16) or, for a member, a share of the object's pair
 * and hash buckets (KEY). Literals are jansson's shared singletons: a slot
 * only. The lexer's buffer, which keeps the capacity of the longest string
 * or key while the text is parsed, grows by doubling and holds both halves
 * while it grows: up to three times that string's length beside the tree.
 * tests/unit/test-kube-client.c checks these against a counting allocator. */
enum {
        COST_SLOT = 16,    /* a table entry, doubled as the table grows */
        COST_OBJECT = 240, /* json_object_t (80) + 8 hash buckets (144) */
        COST_ARRAY = 144,  /* json_array_t (48) + a table of 8 (80) */
        COST_STRING = 80,  /* json_string_t (48) + its text's chunk (32 at least), + its length */
        COST_NUMBER = 32,  /* json_integer_t or json_real_t */
        COST_KEY = 88,     /* a member's pair_t (72) + two 16-byte buckets - the slot its value pays, + its length */
};

