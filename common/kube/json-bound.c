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

#include "json-cost.h"
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
