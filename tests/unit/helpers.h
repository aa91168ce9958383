/* helpers.h - JSON and golden-file helpers for the unit tests. */
#pragma once

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Parse JSON text or fail the test. Returns a new reference. */
static inline json_t *J(const char *text) {
        json_error_t e;
        json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
        if (!v)
                cr_assert_fail("bad JSON in test: %s: %s", text, e.text);
        return v;
}

/* Assert two JSON values are equal (NULL means absent). */
#define assert_json_eq(got, want_text)                                                                          \
        do {                                                                                                    \
                json_t *_want = (want_text) ? J(want_text) : NULL;                                              \
                json_t *_got = (got);                                                                           \
                char *_g = _got ? json_dumps(_got, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY) : NULL;     \
                char *_w = _want ? json_dumps(_want, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY) : NULL;   \
                bool _eq = (!_got && !_want) || (_got && _want && json_equal(_got, _want));                     \
                cr_assert(_eq, "got %s, want %s", _g ? _g : "(absent)", _w ? _w : "(absent)");                  \
                free(_g);                                                                                       \
                free(_w);                                                                                       \
                json_decref(_want);                                                                             \
        } while (0)

/* got against $KSTATUS_TEST_DATA/DIR/NAME (KSTATUS_UPDATE_GOLDEN=1 rewrites
 * one that differs, and fails once, for the diff to be reviewed). */
static inline void check_golden(const char *dir, const char *name, const char *got) {
        const char *data = getenv("KSTATUS_TEST_DATA");
        cr_assert_not_null(data, "KSTATUS_TEST_DATA is not set");
        char *path = xasprintf("%s/%s/%s", data, dir, name), *want = NULL;
        size_t cap = 0;
        FILE *f = fopen(path, "r");
        if (f) {
                if (getdelim(&want, &cap, '\0', f) < 0) {
                        free(want);
                        want = NULL;
                }
                fclose(f);
        }
        bool same = want && strcmp(got, want) == 0;
        if (!same && getenv("KSTATUS_UPDATE_GOLDEN")) {
                f = fopen(path, "w");
                cr_assert_not_null(f);
                fputs(got, f);
                fclose(f);
                cr_assert_fail("%s updated: review the diff, then run again without KSTATUS_UPDATE_GOLDEN", name);
        }
        cr_assert_not_null(want, "missing golden file %s", path);
        cr_assert(same, "%s differs:\n%s", name, got);
        free(want);
        free(path);
}
