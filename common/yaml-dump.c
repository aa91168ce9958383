/* yaml-dump.c - JSON values to text as kubectl prints them: YAML through
 * libyaml's emitter with go-yaml v2's style choices (go-yaml's emitter is a
 * port of libyaml's, so the same choices give the same bytes), and JSON with
 * Go's encoding/json formatting. */
#include "yaml-json.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <wctype.h>

#include <yaml.h>

/* ---- Go float formatting ---- */

/* Shortest decimal digits that round-trip: digits (no dot) and the decimal
 * exponent of the first digit (d.ddd × 10^exp10). */
static void shortest_digits(double v, char *digits, size_t size, int *exp10) {
        char buf[64];
        for (int prec = 0; prec < 17; prec++) {
                snprintf(buf, sizeof(buf), "%.*e", prec, v);
                if (strtod(buf, NULL) == v)
                        break;
        }
        /* buf: [-]d.ddde[+-]xx */
        const char *p = buf;
        if (*p == '-')
                p++;
        size_t n = 0;
        for (; *p && *p != 'e'; p++)
                if (isdigit((unsigned char)*p) && n + 1 < size)
                        digits[n++] = *p;
        while (n > 1 && digits[n - 1] == '0')
                n--;
        digits[n] = '\0';
        *exp10 = *p == 'e' ? atoi(p + 1) : 0;
}

/* A bounded output cursor: what does not fit is dropped, and the text stays
 * NUL-terminated (out has room for at least one byte). */
struct cursor {
        char *o, *end;
};

static void put_char(struct cursor *c, char ch) {
        if (c->o < c->end)
                *c->o++ = ch;
}

static void put_chars(struct cursor *c, const char *s, size_t n) {
        for (size_t i = 0; i < n && s[i]; i++)
                put_char(c, s[i]);
}

/* d.ddde±XX: Go's 'e' format, at least two exponent digits. */
static void format_e(struct cursor *c, const char *digits, size_t nd, int exp10) {
        put_char(c, digits[0]);
        if (nd > 1) {
                put_char(c, '.');
                put_chars(c, digits + 1, nd - 1);
        }
        char eb[16];
        snprintf(eb, sizeof(eb), "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
        put_chars(c, eb, sizeof(eb));
}

/* Go's 'f' format: no exponent, zeros where the digits run out. */
static void format_f(struct cursor *c, const char *digits, size_t nd, int exp10) {
        if (exp10 < 0) {
                put_chars(c, "0.", 2);
                for (int i = 0; i < -exp10 - 1; i++)
                        put_char(c, '0');
                put_chars(c, digits, nd);
                return;
        }
        size_t whole = (size_t)exp10 + 1;
        put_chars(c, digits, nd < whole ? nd : whole);
        for (size_t i = nd; i < whole; i++)
                put_char(c, '0');
        if (nd > whole) {
                put_char(c, '.');
                put_chars(c, digits + whole, nd - whole);
        }
}

/* strconv.FormatFloat(v, fmt, -1, 64) for fmt 'e' or 'f'. */
static void go_format_float(double v, char fmt, char *out, size_t size) {
        if (v == 0) {
                snprintf(out, size, "%s0", signbit(v) ? "-" : "");
                return;
        }
        char digits[32];
        int exp10;
        shortest_digits(v, digits, sizeof(digits), &exp10);
        struct cursor c = { out, out + size - 1 };
        if (v < 0)
                put_char(&c, '-');
        if (fmt == 'e')
                format_e(&c, digits, strlen(digits), exp10);
        else
                format_f(&c, digits, strlen(digits), exp10);
        *c.o = '\0';
}

/* go-yaml v2's float: strconv.FormatFloat(f, 'g', -1, 64), which in its
 * shortest mode switches to an exponent when exp < -4 || exp >= 6. */
void kstatus_go_float(double v, char *out, size_t size) {
        char digits[32];
        int exp10;
        if (v == 0) {
                snprintf(out, size, "0");
                return;
        }
        shortest_digits(v, digits, sizeof(digits), &exp10);
        go_format_float(v, (exp10 < -4 || exp10 >= 6) ? 'e' : 'f', out, size);
}

/* encoding/json's float64: 'f' between 1e-6 and 1e21, else 'e' with at
 * least one exponent digit (1e-7, 1e+21). */
static void json_float(double d, char *out, size_t size) {
        double a = fabs(d);
        go_format_float(d, (a != 0 && (a < 1e-6 || a >= 1e21)) ? 'e' : 'f', out, size);
        char *e = strchr(out, 'e');
        if (e && e[1] == '-' && e[2] == '0' && e[3])
                memmove(e + 2, e + 3, strlen(e + 3) + 1);
}

/* A float as kubectl -o yaml prints it. kubectl writes JSON first and
 * go-yaml reads that text back, so a float whose JSON text is all digits
 * (9223372036854775808.0 is "9223372036854775808") comes out as that
 * integer when it fits in a uint64, and in go-yaml's 'g' form otherwise. */
static void yaml_number_from_real(double d, char *out, size_t size) {
        json_float(d, out, size);
        const char *p = out + (*out == '-');
        if (*p && strspn(p, "0123456789") == strlen(p)) {
                errno = 0;
                if (*out == '-')
                        (void)strtoll(out, NULL, 10);
                else
                        (void)strtoull(out, NULL, 10);
                if (errno == 0)
                        return;
        }
        kstatus_go_float(d, out, size);
}

/* ---- JSON (encoding/json, MarshalIndent with four spaces) ---- */


static void puts_(struct kstatus_buf *b, const char *s) {
        kstatus_buf_put(b, s, strlen(s));
}

static void json_string_out(struct kstatus_buf *b, const char *s, size_t n) {
        static const char hex[] = "0123456789abcdef";
        puts_(b, "\"");
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                char esc[8];
                if (c == '"' || c == '\\') {
                        esc[0] = '\\', esc[1] = (char)c;
                        kstatus_buf_put(b, esc, 2);
                } else if (c == '\n')
                        puts_(b, "\\n");
                else if (c == '\r')
                        puts_(b, "\\r");
                else if (c == '\t')
                        puts_(b, "\\t");
                else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                        snprintf(esc, sizeof(esc), "\\u00%c%c", hex[c >> 4], hex[c & 15]);
                        puts_(b, esc);
                } else if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
                           ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) {
                        puts_(b, (unsigned char)s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029");
                        i += 2;
                } else
                        kstatus_buf_put(b, (const char *)&s[i], 1);
        }
        puts_(b, "\"");
}

static int cmp_keys(const void *a, const void *b) {
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys in byte order, as encoding/json sorts them. */
static const char **sorted_keys(const json_t *obj, size_t *ret_n) {
        size_t n = json_object_size(obj), i = 0;
        const char **keys = xcalloc(n + 1, sizeof(char *));
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)obj, k, v) keys[i++] = k;
        qsort(keys, n, sizeof(char *), cmp_keys);
        *ret_n = n;
        return keys;
}

/* One code point of valid UTF-8 (jansson keeps strings valid). */
static uint32_t next_rune(const unsigned char **p) {
        const unsigned char *s = *p;
        uint32_t c = s[0];
        int n = c < 0x80 ? 0 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
        if (n)
                c &= 0x3fu >> n;
        for (int i = 1; i <= n && s[i]; i++)
                c = (c << 6) | (s[i] & 0x3fu);
        for (*p = s + 1; n > 0 && **p; n--)
                (*p)++;
        return c;
}

static bool rune_is_digit(uint32_t c) {
        return c >= '0' && c <= '9';
}

static locale_t utf8_locale = (locale_t)0;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_init(void) {
        utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* unicode.IsLetter, through the C library's tables for code points past
 * ASCII (the C.UTF-8 locale, whatever locale the program runs in). */
static bool rune_is_letter(uint32_t c) {
        if (c < 0x80)
                return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        pthread_once(&utf8_once, utf8_init);
        return utf8_locale != (locale_t)0 && iswalpha_l((wint_t)c, utf8_locale);
}

/* go-yaml v2's keyList.Less for two string keys: compared rune by rune from
 * the first difference, letters after everything else, and digit runs from
 * there by value. It is not a total order (a10 < a1b < a01 < a10), and for
 * such keys kubectl's own order changes from run to run. */
static bool goyaml_less(const char *a, const char *b) {
        const unsigned char *pa = (const unsigned char *)a, *pb = (const unsigned char *)b;
        /* Whether the digits just before the first difference hold a non-zero
         * one: go-yaml looks back over them when a '0' differs. */
        bool nonzero_before = false;
        while (*pa && *pb) {
                const unsigned char *qa = pa, *qb = pb;
                uint32_t ra = next_rune(&pa), rb = next_rune(&pb);
                if (ra == rb) {
                        nonzero_before = rune_is_digit(ra) ? nonzero_before || ra != '0' : false;
                        continue;
                }
                bool al = rune_is_letter(ra), bl = rune_is_letter(rb);
                if (al && bl)
                        return ra < rb;
                if (al || bl)
                        return bl;
                /* Go's int64 arithmetic wraps; uint64 does the same here without UB. */
                uint64_t an = 0, bn = 0;
                if ((ra == '0' || rb == '0') && nonzero_before)
                        an = bn = 1;
                size_t ai = 0, bi = 0; /* digits are ASCII: bytes are runes */
                for (; rune_is_digit(qa[ai]); ai++)
                        an = an * 10 + (qa[ai] - '0');
                for (; rune_is_digit(qb[bi]); bi++)
                        bn = bn * 10 + (qb[bi] - '0');
                if (an != bn)
                        return (int64_t)an < (int64_t)bn;
                if (ai != bi)
                        return ai < bi;
                return ra < rb;
        }
        /* One is a prefix of the other: the shorter first. */
        return !*pa && *pb;
}

/* Keys in go-yaml's order. A merge sort, which stays well-defined where
 * that order is not transitive, over keys first put in byte order so that
 * the result does not depend on jansson's hash order. */
static const char **yaml_sorted_keys(const json_t *obj, size_t *ret_n) {
        size_t n;
        const char **keys = sorted_keys(obj, &n);
        _cleanup_free_ const char **tmp = xcalloc(n + 1, sizeof(char *));
        for (size_t width = 1; width < n; width *= 2) {
                for (size_t lo = 0; lo < n; lo += 2 * width) {
                        size_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
                        size_t l = lo, r = mid, o = lo;
                        while (l < mid && r < hi)
                                tmp[o++] = goyaml_less(keys[r], keys[l]) ? keys[r++] : keys[l++];
                        while (l < mid)
                                tmp[o++] = keys[l++];
                        while (r < hi)
                                tmp[o++] = keys[r++];
                }
                memcpy(keys, tmp, n * sizeof(char *));
        }
        *ret_n = n;
        return keys;
}

static void indent(struct kstatus_buf *b, int level) {
        for (int i = 0; i < level; i++)
                puts_(b, "    ");
}

static void json_out(struct kstatus_buf *b, const json_t *v, bool compact, int level) {
        char num[64];
        switch (json_typeof(v)) {
        case JSON_OBJECT: {
                size_t n;
                const char **keys = sorted_keys(v, &n);
                if (n == 0) {
                        puts_(b, "{}");
                        free(keys);
                        return;
                }
                puts_(b, "{");
                for (size_t i = 0; i < n; i++) {
                        if (i)
                                puts_(b, ",");
                        if (!compact) {
                                puts_(b, "\n");
                                indent(b, level + 1);
                        }
                        json_string_out(b, keys[i], strlen(keys[i]));
                        puts_(b, compact ? ":" : ": ");
                        json_out(b, json_object_get(v, keys[i]), compact, level + 1);
                }
                if (!compact) {
                        puts_(b, "\n");
                        indent(b, level);
                }
                puts_(b, "}");
                free(keys);
                return;
        }
        case JSON_ARRAY: {
                size_t n = json_array_size(v);
                if (n == 0) {
                        puts_(b, "[]");
                        return;
                }
                puts_(b, "[");
                for (size_t i = 0; i < n; i++) {
                        if (i)
                                puts_(b, ",");
                        if (!compact) {
                                puts_(b, "\n");
                                indent(b, level + 1);
                        }
                        json_out(b, json_array_get(v, i), compact, level + 1);
                }
                if (!compact) {
                        puts_(b, "\n");
                        indent(b, level);
                }
                puts_(b, "]");
                return;
        }
        case JSON_STRING:
                json_string_out(b, json_string_value(v), json_string_length(v));
                return;
        case JSON_INTEGER:
                snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                puts_(b, num);
                return;
        case JSON_REAL:
                json_float(json_real_value(v), num, sizeof(num));
                puts_(b, num);
                return;
        case JSON_TRUE:
                puts_(b, "true");
                return;
        case JSON_FALSE:
                puts_(b, "false");
                return;
        default:
                puts_(b, "null");
                return;
        }
}

char *kstatus_json_dump(const json_t *value, bool compact) {
        struct kstatus_buf b = { 0 };
        json_out(&b, value, compact, 0);
        puts_(&b, "\n");
        return b.data;
}

/* ---- YAML ---- */

static bool num(const char **p, int min_digits, int max_digits, int *ret) {
        int n = 0, v = 0;
        while (isdigit((unsigned char)**p) && n < max_digits) {
                v = v * 10 + (**p - '0');
                (*p)++;
                n++;
        }
        *ret = v;
        return n >= min_digits;
}

/* go-yaml v2 resolves these as timestamps (Go layouts 2006-1-2T15:4:5.999999999Z07:00,
 * 2006-1-2t15:4:5.999999999Z07:00, 2006-1-2 15:4:5.999999999 and 2006-1-2),
 * so it quotes strings that look like them. */
static bool is_timestamp(const char *s) {
        static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        const char *p = s;
        int y, m, d, h, mi, sec;
        if (!num(&p, 4, 4, &y) || *p++ != '-' || !num(&p, 1, 2, &m) || *p++ != '-' || !num(&p, 1, 2, &d))
                return false;
        if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] ||
            (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)))
                return false;
        if (!*p)
                return true;
        char sep = *p++;
        if (sep != 'T' && sep != 't' && sep != ' ')
                return false;
        if (!num(&p, 1, 2, &h) || *p++ != ':' || !num(&p, 1, 2, &mi) || *p++ != ':' || !num(&p, 1, 2, &sec) ||
            h > 23 || mi > 59 || sec > 59)
                return false;
        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char)*p))
                        return false;
                while (isdigit((unsigned char)*p))
                        p++;
        }
        if (sep == ' ')
                return *p == '\0';
        if (*p == 'Z')
                return p[1] == '\0';
        int zh, zm;
        if (*p != '+' && *p != '-')
                return false;
        p++;
        return num(&p, 2, 2, &zh) && *p++ == ':' && num(&p, 2, 2, &zm) && *p == '\0';
}

/* Would a YAML 1.1 reader take this plain text as something other than
 * this string? Then go-yaml double-quotes it. Text that plain style cannot
 * hold at all (": ", leading "- ", "#") is the emitter's to quote. */
static bool needs_quotes(const char *s, size_t len) {
        if (len != strlen(s))
                return true;
        if (!kstatus_yaml_plain_is_string(s) || is_timestamp(s))
                return true;
        /* isBase60Float: [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)? */
        const char *p = s;
        if (*p == '+' || *p == '-')
                p++;
        if (!isdigit((unsigned char)*p))
                return false;
        while (isdigit((unsigned char)*p) || *p == '_')
                p++;
        if (*p != ':')
                return false;
        while (*p == ':') {
                p++;
                if (!isdigit((unsigned char)*p))
                        return false;
                if (isdigit((unsigned char)p[1])) {
                        if (*p > '5')
                                return false;
                        p += 2;
                } else
                        p++;
        }
        if (*p == '.') {
                p++;
                while (isdigit((unsigned char)*p) || *p == '_')
                        p++;
        }
        return *p == '\0';
}

static int emit(yaml_emitter_t *e, yaml_event_t *ev) {
        return yaml_emitter_emit(e, ev) ? 0 : -1;
}

static int emit_scalar(yaml_emitter_t *e, const char *text, size_t len, yaml_scalar_style_t style) {
        yaml_event_t ev;
        /* libyaml refuses text that is not UTF-8 (jansson accepts it through
         * the *_nocheck setters) and leaves ev unset: say so, never emit it. */
        if (len > INT_MAX || !yaml_scalar_event_initialize(&ev, NULL, (yaml_char_t *)"tag:yaml.org,2002:str",
                                                           (yaml_char_t *)text, (int)len, 1, 1, style)) {
                e->error = YAML_EMITTER_ERROR;
                e->problem = len > INT_MAX ? "string too long" : "invalid UTF-8 in a string";
                return -1;
        }
        return emit(e, &ev);
}

static int emit_string(yaml_emitter_t *e, const char *s, size_t len) {
        yaml_scalar_style_t style = YAML_PLAIN_SCALAR_STYLE;
        if (memchr(s, '\n', len))
                style = YAML_LITERAL_SCALAR_STYLE;
        else if (needs_quotes(s, len))
                style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        return emit_scalar(e, s, len, style);
}

static int emit_value(yaml_emitter_t *e, const json_t *v) {
        yaml_event_t ev;
        char num[64];
        switch (json_typeof(v)) {
        case JSON_OBJECT: {
                yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
                if (emit(e, &ev) < 0)
                        return -1;
                size_t n;
                const char **keys = yaml_sorted_keys(v, &n);
                int r = 0;
                for (size_t i = 0; i < n && r == 0; i++) {
                        r = emit_string(e, keys[i], strlen(keys[i]));
                        if (r == 0)
                                r = emit_value(e, json_object_get(v, keys[i]));
                }
                free(keys);
                if (r < 0)
                        return r;
                yaml_mapping_end_event_initialize(&ev);
                return emit(e, &ev);
        }
        case JSON_ARRAY: {
                yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
                if (emit(e, &ev) < 0)
                        return -1;
                size_t i;
                json_t *x;
                json_array_foreach(v, i, x) {
                        if (emit_value(e, x) < 0)
                                return -1;
                }
                yaml_sequence_end_event_initialize(&ev);
                return emit(e, &ev);
        }
        case JSON_STRING:
                return emit_string(e, json_string_value(v), json_string_length(v));
        case JSON_INTEGER:
                snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                return emit_scalar(e, num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
        case JSON_REAL:
                yaml_number_from_real(json_real_value(v), num, sizeof(num));
                return emit_scalar(e, num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
        case JSON_TRUE:
                return emit_scalar(e, "true", 4, YAML_PLAIN_SCALAR_STYLE);
        case JSON_FALSE:
                return emit_scalar(e, "false", 5, YAML_PLAIN_SCALAR_STYLE);
        default:
                return emit_scalar(e, "null", 4, YAML_PLAIN_SCALAR_STYLE);
        }
}

static int write_handler(void *data, unsigned char *buffer, size_t size) {
        kstatus_buf_put(data, (const char *)buffer, size);
        return 1;
}

/* The emitter's own words for why it stopped. */
static int emitter_error(const yaml_emitter_t *e, struct kstatus_error *err) {
        if (e->error == YAML_MEMORY_ERROR)
                return kstatus_error_set(err, ENOMEM, 0, 0, "cannot print YAML: out of memory");
        return kstatus_error_set(err, EINVAL, 0, 0, "cannot print YAML: %s",
                                 e->problem ? e->problem : "the emitter failed");
}

static int emit_document(yaml_emitter_t *e, const json_t *value) {
        yaml_event_t ev;
        yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
        if (emit(e, &ev) < 0)
                return -1;
        yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
        if (emit(e, &ev) < 0 || emit_value(e, value) < 0)
                return -1;
        yaml_document_end_event_initialize(&ev, 1);
        if (emit(e, &ev) < 0)
                return -1;
        yaml_stream_end_event_initialize(&ev);
        return emit(e, &ev);
}

int kstatus_yaml_dump(const json_t *value, char **ret, struct kstatus_error *err) {
        /* Empty collections at the top are written in flow style, as kubectl does. */
        if (json_is_object(value) && json_object_size(value) == 0) {
                *ret = xstrdup("{}\n");
                return 0;
        }
        if (json_is_array(value) && json_array_size(value) == 0) {
                *ret = xstrdup("[]\n");
                return 0;
        }

        _cleanup_free_ char *data = NULL;
        struct kstatus_buf b = { 0 };
        yaml_emitter_t e;
        if (!yaml_emitter_initialize(&e))
                return kstatus_error_set(err, ENOMEM, 0, 0, "cannot print YAML: out of memory");
        yaml_emitter_set_output(&e, write_handler, &b);
        yaml_emitter_set_unicode(&e, 1);
        yaml_emitter_set_indent(&e, 2);
        /* go-yaml v2 folds long scalars at 80 columns; libyaml, of which it is
         * a port, folds them the same way (the corpus's print-long cases). */
        yaml_emitter_set_width(&e, 80);
        int r = emit_document(&e, value);
        data = b.data;
        if (r < 0)
                r = emitter_error(&e, err);
        yaml_emitter_delete(&e);
        if (r < 0)
                return r;
        if (!data)
                data = xstrdup("");
        /* libyaml ends a document whose last scalar keeps trailing newlines
         * (|+) with "...", go-yaml does not. In block context nothing else
         * can put "..." at the start of the last line. */
        if (b.len > 4 && str_has_suffix(data, "\n...\n"))
                data[b.len - 4] = '\0';
        *ret = TAKE_PTR(data);
        return 0;
}
