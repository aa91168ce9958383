/* helpers.h - JSON helpers for the unit tests. */
#pragma once

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>

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
