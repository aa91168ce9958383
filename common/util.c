#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
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

void kstatus_error_done(struct kstatus_error *err) {
        if (!err)
                return;
        free(err->reason);
        free(err->message);
        *err = (struct kstatus_error){ 0 };
}

/* Replace the description, keep the request counters. */
static int error_replace(struct kstatus_error *err, int code, int line, int column, int http_code,
                         const char *reason, char *message) {
        code = code < 0 ? -code : code;
        if (!err) {
                free(message);
                return -code;
        }
        /* reason and message may come from err itself: copy before freeing. */
        struct kstatus_error next = { .errnum = code, .line = line, .column = column, .http_code = http_code,
                                      .reason = reason ? xstrdup(reason) : NULL, .message = message,
                                      .attempts = err->attempts, .retry_after_ms = err->retry_after_ms };
        kstatus_error_done(err);
        *err = next;
        return -code;
}

int kstatus_error_setv(struct kstatus_error *err, int code, int line, int column, const char *fmt, va_list ap) {
        return error_replace(err, code, line, column, 0, NULL, err ? xvasprintf(fmt, ap) : NULL);
}

int kstatus_error_set(struct kstatus_error *err, int code, int line, int column, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = kstatus_error_setv(err, code, line, column, fmt, ap);
        va_end(ap);
        return r;
}

int kstatus_error_set_http(struct kstatus_error *err, int code, int http_code, const char *reason, char *message) {
        return error_replace(err, code, 0, 0, http_code, reason, message);
}

void kstatus_error_move(struct kstatus_error *dst, struct kstatus_error *src) {
        if (dst == src)
                return;
        kstatus_error_done(dst);
        if (dst)
                *dst = *src;
        else
                kstatus_error_done(src);
        *src = (struct kstatus_error){ 0 };
}

char *kstatus_error_format(const struct kstatus_error *err, const char *file) {
        const char *msg = err->message ? err->message : "error";
        if (!file)
                file = "<stdin>";
        if (err->line > 0 && err->column > 0)
                return xasprintf("%s:%d:%d: %s", file, err->line, err->column, msg);
        if (err->line > 0)
                return xasprintf("%s:%d: %s", file, err->line, msg);
        return xasprintf("%s: %s", file, msg);
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

int kstatus_timerfd_arm(int fd, int64_t ms) {
        struct itimerspec its = { .it_value = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 } };
        if (ms <= 0)
                its.it_value = (struct timespec){ .tv_nsec = 1 }; /* zero would disarm it */
        return timerfd_settime(fd, 0, &its, NULL) < 0 ? -errno : 0;
}

int kstatus_timerfd_new(void) {
        int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        return fd < 0 ? -errno : fd;
}

int kstatus_timerfd_disarm(int fd) {
        struct itimerspec its = { 0 };
        return timerfd_settime(fd, 0, &its, NULL) < 0 ? -errno : 0;
}

int kstatus_stop_signalfd(void) {
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGPIPE);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        sigdelset(&mask, SIGPIPE);
        int fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        return fd < 0 ? -errno : fd;
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

/* Go's leadingInt: [0-9]*, failing on overflow past 1<<63. */
static int go_leading_int(const char **p, uint64_t *ret) {
        uint64_t x = 0;
        for (; **p >= '0' && **p <= '9'; (*p)++) {
                if (x > (UINT64_C(1) << 63) / 10)
                        return -ERANGE;
                x = x * 10 + (uint64_t)(**p - '0');
                if (x > UINT64_C(1) << 63)
                        return -ERANGE;
        }
        *ret = x;
        return 0;
}

/* Go's leadingFraction: [0-9]* after the dot, as a value and its scale; digits
 * beyond int64's precision are consumed and dropped. */
static void go_leading_fraction(const char **p, uint64_t *ret, double *ret_scale) {
        uint64_t x = 0;
        double scale = 1;
        bool overflow = false;
        for (; **p >= '0' && **p <= '9'; (*p)++) {
                if (overflow)
                        continue;
                if (x > ((UINT64_C(1) << 63) - 1) / 10) {
                        overflow = true;
                        continue;
                }
                uint64_t y = x * 10 + (uint64_t)(**p - '0');
                if (y > UINT64_C(1) << 63) {
                        overflow = true;
                        continue;
                }
                x = y;
                scale *= 10;
        }
        *ret = x;
        *ret_scale = scale;
}

static uint64_t go_unit(const char *u, size_t n) {
        static const struct { const char *name; uint64_t ns; } units[] = {
                { "ns", 1 }, { "us", 1000 }, { "\u00b5s", 1000 }, { "\u03bcs", 1000 }, { "ms", 1000000 },
                { "s", 1000000000 }, { "m", UINT64_C(60000000000) }, { "h", UINT64_C(3600000000000) },
        };
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (strlen(units[i].name) == n && memcmp(units[i].name, u, n) == 0)
                        return units[i].ns;
        return 0;
}

int parse_go_duration(const char *s, int64_t *ret_ns) {
        if (!s)
                return -EINVAL;
        bool neg = false;
        if (*s == '-' || *s == '+')
                neg = *s++ == '-';
        if (strcmp(s, "0") == 0) {
                *ret_ns = 0;
                return 0;
        }
        if (!*s)
                return -EINVAL;
        uint64_t d = 0;
        while (*s) {
                if (*s != '.' && !(*s >= '0' && *s <= '9'))
                        return -EINVAL;
                const char *start = s;
                uint64_t v, f = 0;
                double scale = 1;
                if (go_leading_int(&s, &v) < 0)
                        return -ERANGE;
                bool pre = s != start, post = false;
                if (*s == '.') {
                        const char *frac = ++s;
                        go_leading_fraction(&s, &f, &scale);
                        post = s != frac;
                }
                if (!pre && !post)
                        return -EINVAL;
                size_t n = 0;
                while (s[n] && s[n] != '.' && !(s[n] >= '0' && s[n] <= '9'))
                        n++;
                uint64_t unit = n ? go_unit(s, n) : 0;
                if (!unit)
                        return -EINVAL; /* missing or unknown unit */
                s += n;
                if (v > (UINT64_C(1) << 63) / unit)
                        return -ERANGE;
                v *= unit;
                if (f > 0) {
                        v += (uint64_t)((double)f * ((double)unit / scale));
                        if (v > UINT64_C(1) << 63)
                                return -ERANGE;
                }
                d += v;
                if (d > UINT64_C(1) << 63)
                        return -ERANGE;
        }
        if (neg) {
                *ret_ns = d == UINT64_C(1) << 63 ? INT64_MIN : -(int64_t)d;
                return 0;
        }
        if (d > (uint64_t)INT64_MAX)
                return -ERANGE;
        *ret_ns = (int64_t)d;
        return 0;
}

int parse_duration_ms(const char *s, int64_t *ret_ms) {
        int64_t ns;
        int r = parse_go_duration(s, &ns);
        if (r < 0)
                return r;
        if (ns < 0)
                return -EINVAL;
        *ret_ms = ns / 1000000;
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

/* The code point of the valid UTF-8 sequence at s, its length in *len (1-4),
 * or -1 when the sequence is invalid. */
static long utf8_decode(const unsigned char *s, size_t *len) {
        static const unsigned min[] = { 0, 0, 0x80, 0x800, 0x10000 };
        size_t n;
        unsigned cp;
        if (s[0] < 0x80)
                n = 1, cp = s[0];
        else if ((s[0] & 0xe0) == 0xc0)
                n = 2, cp = s[0] & 0x1f;
        else if ((s[0] & 0xf0) == 0xe0)
                n = 3, cp = s[0] & 0x0f;
        else if ((s[0] & 0xf8) == 0xf0)
                n = 4, cp = s[0] & 0x07;
        else
                return -1;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return -1;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return -1;
        *len = n;
        return (long)cp;
}

/* Characters that reorder or hide text: bidirectional embeddings, overrides
 * and isolates, zero-width characters and marks, line/paragraph separators. */
static bool is_invisible(long cp) {
        return (cp >= 0x200b && cp <= 0x200f) || cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
               (cp >= 0x2066 && cp <= 0x2069);
}

char *kstatus_escape_terminal(const char *s) {
        /* The longest escape, \xNN per byte, is 4 bytes per input byte. */
        char *out = xmalloc(strlen(s) * 4 + 1), *o = out;
        const unsigned char *p = (const unsigned char *)s;
        while (*p) {
                size_t n = 1;
                long cp = utf8_decode(p, &n);
                if (cp == '\n' || cp == '\t' || cp == '\r') {
                        *o++ = '\\';
                        *o++ = cp == '\n' ? 'n' : cp == '\t' ? 't' : 'r';
                } else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
                        /* C0, DEL, C1 (each byte of its UTF-8) and invalid bytes. */
                        n = cp < 0 ? 1 : n;
                        for (size_t i = 0; i < n; i++)
                                o += sprintf(o, "\\x%02x", p[i]);
                } else if (is_invisible(cp)) {
                        o += sprintf(o, "\\u%04lx", cp);
                } else {
                        memcpy(o, p, n);
                        o += n;
                }
                p += n;
        }
        *o = '\0';
        return out;
}
