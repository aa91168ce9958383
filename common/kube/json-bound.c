/* json-bound.c - bound what jansson builds from an answer before it builds it
 * (docs/BEHAVIOUR.md §6).
 *
 * A body's size does not bound the tree jansson makes of it: `[{},{},…]`
 * costs ~230 bytes of heap per 3 bytes of text, so a 4 MiB answer would take
 * ~300 MiB. One linear pass over the text counts what jansson would allocate
 * for — every object, array, string (keys included), number and literal —
 * and the answer is refused past a limit, before jansson sees it. The pass
 * does not validate (jansson does); it only never counts fewer values than a
 * JSON text jansson accepts holds. Nesting needs no limit of its own here: each
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

int kube_json_count_values(const char *text, size_t len, size_t max_values, size_t *ret) {
        size_t n = 0;
        for (size_t i = 0; i < len; i++) {
                switch (text[i]) {
                case '}': case ']': case ',': case ':': case ' ': case '\t': case '\n': case '\r':
                        continue;
                case '{': case '[':
                        break;
                case '"':
                        i = string_end(text, len, i + 1);
                        break;
                default: /* a number, a literal, or something jansson refuses */
                        while (i + 1 < len && !ends_token(text[i + 1]))
                                i++;
                }
                if (++n > max_values)
                        return -E2BIG;
        }
        if (ret)
                *ret = n;
        return 0;
}
