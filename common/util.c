#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
                *fd = -1;
        }
}

int kstatus_error_setv(struct kstatus_error *err, int code, int line, int column, const char *fmt, va_list ap) {
        if (err) {
                err->line = line;
                err->column = column;
                vsnprintf(err->message, sizeof(err->message), fmt, ap);
        }
        return code > 0 ? -code : code;
}

int kstatus_error_set(struct kstatus_error *err, int code, int line, int column, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = kstatus_error_setv(err, code, line, column, fmt, ap);
        va_end(ap);
        return r;
}

char *kstatus_error_format(const struct kstatus_error *err, const char *file) {
        if (!file)
                file = "<stdin>";
        if (err->line > 0 && err->column > 0)
                return xasprintf("%s:%d:%d: %s", file, err->line, err->column, err->message);
        if (err->line > 0)
                return xasprintf("%s:%d: %s", file, err->line, err->message);
        return xasprintf("%s: %s", file, err->message);
}

static void oom(void) {
        static const char msg[] = "fatal: out of memory\n";
        (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
        abort();
}

void *xmalloc(size_t n) {
        void *p = malloc(n ? n : 1);
        if (!p)
                oom();
        return p;
}

void *xcalloc(size_t n, size_t size) {
        void *p = calloc(n ? n : 1, size ? size : 1);
        if (!p)
                oom();
        return p;
}

void *xrealloc(void *p, size_t n) {
        p = realloc(p, n ? n : 1);
        if (!p)
                oom();
        return p;
}

char *xstrdup(const char *s) {
        char *p = strdup(s);
        if (!p)
                oom();
        return p;
}

char *xstrndup(const char *s, size_t n) {
        char *p = strndup(s, n);
        if (!p)
                oom();
        return p;
}

char *xvasprintf(const char *fmt, va_list ap) {
        char *p;
        if (vasprintf(&p, fmt, ap) < 0)
                oom();
        return p;
}

char *xasprintf(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *p = xvasprintf(fmt, ap);
        va_end(ap);
        return p;
}

int64_t kstatus_monotonic_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void kstatus_buf_put(struct kstatus_buf *b, const char *s, size_t n) {
        if (b->len + n + 1 > b->cap) {
                b->cap = (b->len + n + 1) * 2;
                b->data = xrealloc(b->data, b->cap);
        }
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
}

bool str_has_prefix(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_has_suffix(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret) {
        if (!s || !*s || isspace((unsigned char)*s))
                return -EINVAL;
        errno = 0;
        char *end;
        long long v = strtoll(s, &end, 10);
        if (*end)
                return -EINVAL;
        if (errno == ERANGE || v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

int parse_size(const char *s, size_t *ret) {
        if (!s || !isdigit((unsigned char)*s))
                return -EINVAL;
        errno = 0;
        char *end;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        unsigned shift = 0;
        if (*end) {
                static const struct { const char *suffix; unsigned shift; } units[] = {
                        { "Ki", 10 }, { "Mi", 20 }, { "Gi", 30 }, { "K", 10 }, { "M", 20 }, { "G", 30 },
                };
                size_t i;
                for (i = 0; i < ELEMENTSOF(units); i++)
                        if (strcmp(end, units[i].suffix) == 0)
                                break;
                if (i == ELEMENTSOF(units))
                        return -EINVAL;
                shift = units[i].shift;
        }
        if (v > (SIZE_MAX >> shift))
                return -ERANGE;
        *ret = (size_t)v << shift;
        return 0;
}

int parse_duration_ms(const char *s, int64_t *ret_ms) {
        if (!s || !*s)
                return -EINVAL;
        if (strcmp(s, "0") == 0) {
                *ret_ms = 0;
                return 0;
        }
        int64_t total = 0;
        const char *p = s;
        while (*p) {
                if (!isdigit((unsigned char)*p))
                        return -EINVAL;
                errno = 0;
                char *end;
                unsigned long long v = strtoull(p, &end, 10);
                if (errno == ERANGE || v > INT64_MAX / 3600000)
                        return -ERANGE;
                double frac = 0;
                if (*end == '.') {
                        char *fend;
                        frac = strtod(end, &fend);
                        end = fend;
                }
                int64_t unit;
                if (strncmp(end, "ms", 2) == 0) {
                        unit = 1;
                        end += 2;
                } else if (*end == 'h') {
                        unit = 3600000;
                        end++;
                } else if (*end == 'm') {
                        unit = 60000;
                        end++;
                } else if (*end == 's') {
                        unit = 1000;
                        end++;
                } else
                        return -EINVAL;
                int64_t add = (int64_t)v * unit + (int64_t)(frac * (double)unit);
                if (add < 0 || total > INT64_MAX - add)
                        return -ERANGE;
                total += add;
                p = end;
        }
        *ret_ms = total;
        return 0;
}

int kstatus_base64_decode(const char *text, size_t len, char **ret, size_t *ret_len) {
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        _cleanup_free_ char *out = xmalloc(len + 1);
        size_t o = 0;
        unsigned acc = 0, bits = 0;
        for (size_t i = 0; i < len; i++) {
                char c = text[i];
                if (c == '=' || c == '\n' || c == '\r' || c == ' ')
                        continue;
                const char *p = c ? strchr(alphabet, c) : NULL;
                if (!p)
                        return -EINVAL;
                acc = (acc << 6) | (unsigned)(p - alphabet);
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[o++] = (char)((acc >> bits) & 0xff);
                }
        }
        out[o] = '\0';
        *ret = TAKE_PTR(out);
        *ret_len = o;
        return 0;
}
