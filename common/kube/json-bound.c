/* json-bound.c - bound what jansson builds from an answer before it builds it
 * (docs/BEHAVIOUR.md §6).
 *
 * A body's size does not bound the tree jansson makes of it: `[{},{},…]`
 * costs ~256 bytes of heap per 3 bytes of text, so a 4 MiB answer would take
 * ~300 MiB, while a status of 100 000 short strings takes ~12 MiB. One linear
 * pass over the text estimates the bytes jansson would allocate — every
 * object, array, string and key (with its length), number and literal,
 * weighted by what jansson takes for it — and the answer is refused past a
 * limit, before jansson sees it. The pass does not validate (jansson does). Nesting needs no limit of its own here: each
 * level is an object or array counted like any value, and jansson refuses
 * past JSON_PARSER_MAX_DEPTH (2048) levels. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "kube/internal.h"

/* Whether ch ends a number or literal: JSON's structural characters and
 * whitespace. */
static bool ends_token(char ch) {
        switch (ch) {
        case '{': case '}': case '[': case ']': case ',': case ':': case '"':
        case ' ': case '\t': case '\n': case '\r':
                return true;
        default:
                return false;
        }
}

/* The index of the quote closing the string whose text starts at i (len when
 * it is not closed): memchr finds each quote, and one after an odd number of
 * backslashes is escaped. */
static size_t string_end(const char *text, size_t len, size_t i) {
        for (;;) {
                const char *q = i < len ? memchr(text + i, '"', len - i) : NULL;
                if (!q)
                        return len;
                size_t at = (size_t)(q - text), bs = 0;
                while (at - bs > i && text[at - bs - 1] == '\\')
                        bs++;
                if (bs % 2 == 0)
                        return at;
                i = at + 1;
        }
}

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

/* Whether the string ending at end (its closing quote) is an object's key:
 * a colon follows. */
static bool is_key(const char *text, size_t len, size_t end) {
        for (size_t i = end + 1; i < len; i++) {
                if (text[i] == ':')
                        return true;
                if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
                        return false;
        }
        return false;
}

int kube_json_estimate_memory(const char *text, size_t len, size_t max_bytes, size_t *ret) {
        size_t n = 0, longest = 0;
        for (size_t i = 0; i < len; i++) {
                size_t end;
                switch (text[i]) {
                case '}': case ']': case ',': case ':': case ' ': case '\t': case '\n': case '\r':
                        continue;
                case '{':
                        n += COST_OBJECT + COST_SLOT;
                        break;
                case '[':
                        n += COST_ARRAY + COST_SLOT;
                        break;
                case '"':
                        /* The text's length bounds the decoded one: escapes only shrink. */
                        end = string_end(text, len, i + 1);
                        n += end - i - 1 + (is_key(text, len, end) ? COST_KEY : COST_STRING + COST_SLOT);
                        if (end - i - 1 > longest)
                                longest = end - i - 1;
                        i = end;
                        break;
                case 't': case 'f': case 'n':
                        n += COST_SLOT;
                        while (i + 1 < len && !ends_token(text[i + 1]))
                                i++;
                        break;
                default: /* a number, or something jansson refuses */
                        n += COST_NUMBER + COST_SLOT;
                        while (i + 1 < len && !ends_token(text[i + 1]))
                                i++;
                }
                if (n > max_bytes || 3 * longest > max_bytes - n)
                        return -E2BIG;
        }
        if (ret)
                *ret = n + 3 * longest;
        return 0;
}
