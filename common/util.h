/* util.h - small helpers every module uses: cleanup attributes, ownership
 * transfer, checked allocation and the error record library code fills in.
 *
 * Library code never prints and never exits: it returns a negative errno and
 * describes the failure in a struct kstatus_error the caller owns. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))
#define _warn_unused_result_ __attribute__((warn_unused_result))

/* Read a pointer and leave NULL behind: hands ownership to the caller. */
#define TAKE_PTR(p)                          \
        ({                                   \
                __typeof__(p) _tp_ = (p);    \
                (p) = NULL;                  \
                _tp_;                        \
        })

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p) { free(*(void **)p); }
#define _cleanup_free_ _cleanup_(freep)

/* jansson >= 2.9 provides json_decrefp() for the cleanup attribute. */
#define _cleanup_json_ _cleanup_(json_decrefp)

void closep(int *fd);
#define _cleanup_close_ _cleanup_(closep)

/* A failure, described for the caller, who owns it: { 0 } is empty, and
 * kstatus_error_done() frees it (declare it _cleanup_(kstatus_error_done)).
 * One type for every layer: a parse error has a position, a request to the
 * API server an HTTP code and reason, and both the errno the function returned. */
struct kstatus_error {
        int errnum;             /* the errno returned (positive); 0 when not known */
        int line;               /* 1-based position in a parsed text; 0 when not a parse error */
        int column;
        int http_code;          /* the server's HTTP status; 0 when it did not answer or no request failed */
        char *reason;           /* the server's Status reason ("NotFound", "Conflict"), NULL when none */
        char *message;          /* one line (for HTTP failures in kubectl's words); NULL until set */
        int attempts;           /* requests made (kube_client_write) */
        int64_t retry_after_ms; /* from Retry-After, -1 when absent (set by each request) */
};

/* Free the strings and reset to { 0 }; safe on an empty or already-done error. */
void kstatus_error_done(struct kstatus_error *err);

/* Replace err's description (if err is not NULL) with errno code, a position and a
 * formatted message (no HTTP code or reason); attempts and retry_after_ms stay.
 * Returns -code, so callers can `return kstatus_error_set(...)`. */
int kstatus_error_set(struct kstatus_error *err, int code, int line, int column, const char *fmt, ...)
        _printf_(5, 6);
int kstatus_error_setv(struct kstatus_error *err, int code, int line, int column, const char *fmt, va_list ap)
        _printf_(5, 0);
/* The same for a request: errno code, the HTTP code (0: no answer) and reason
 * (may be NULL); message is taken over (freed when err is NULL). Returns -code. */
int kstatus_error_set_http(struct kstatus_error *err, int code, int http_code, const char *reason, char *message);
/* Hand src's description to dst (freed first; src freed when dst is NULL); src is left empty. */
void kstatus_error_move(struct kstatus_error *dst, struct kstatus_error *src);

/* Format "file:line:column: message" (or "file: message" without a position) into a new string. */
char *kstatus_error_format(const struct kstatus_error *err, const char *file);

/* Allocation that aborts on OOM: status files are small, and a pipeline
 * sidecar that cannot allocate a few KiB has nothing better to do. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) _printf_(1, 2);
char *xvasprintf(const char *fmt, va_list ap) _printf_(1, 0);

/* A copy of s safe to print on a terminal or in text a terminal prints raw
 * (kubectl describe shows Event messages as they are): \n, \t and \r as
 * those two characters, other C0 and C1 controls, DEL and invalid UTF-8 as
 * \xNN per byte, bidirectional overrides and invisible characters (U+200B-
 * U+200F, U+2028, U+2029, U+202A-U+202E, U+2066-U+2069) as \uNNNN. */
char *kstatus_escape_terminal(const char *s);

/* Milliseconds on CLOCK_MONOTONIC: for deadlines and intervals, never for dates. */
int64_t kstatus_monotonic_ms(void);

/* Arm a timerfd (CLOCK_MONOTONIC) to expire once, ms milliseconds from now,
 * or at once when ms <= 0 (a zero it_value would disarm it instead); re-arming
 * replaces the previous expiry. Disarm stops it. 0 or -errno. */
int kstatus_timerfd_arm(int fd, int64_t ms);
int kstatus_timerfd_disarm(int fd);
/* A new timerfd on CLOCK_MONOTONIC, non-blocking and close-on-exec, or -errno. */
int kstatus_timerfd_new(void);

/* For a program's event loop: block SIGTERM, SIGINT and SIGPIPE (a write to a
 * closed socket becomes EPIPE) and return a new signalfd (non-blocking,
 * close-on-exec) that reads SIGTERM and SIGINT, or -errno. */
int kstatus_stop_signalfd(void);

/* A growable byte buffer (git's strbuf, reduced): { 0 } is empty; data is
 * NUL-terminated once anything was put, and the caller frees it. */
struct kstatus_buf {
        char *data;
        size_t len, cap;
};
/* Append n bytes of s (which may hold NULs); aborts on OOM like xmalloc. */
void kstatus_buf_put(struct kstatus_buf *b, const char *s, size_t n);

bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);

/* Parse a whole decimal string into [min, max]; 0 or -EINVAL / -ERANGE. */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret);
/* Parse a size with an optional Ki/Mi/Gi suffix (kubectl quantity style, binary only). */
int parse_size(const char *s, size_t *ret);
/* Parse a duration exactly as Go's time.ParseDuration does: [-+]?([0-9]*(\.[0-9]*)?unit)+ with the
 * units ns, us, µs, μs, ms, s, m, h, or "0". 0 with nanoseconds, -EINVAL (syntax, missing or unknown
 * unit) or -ERANGE (beyond int64 nanoseconds, about 292 years). */
int parse_go_duration(const char *s, int64_t *ret_ns);
/* parse_go_duration() for flags: negative durations are -EINVAL; whole milliseconds (truncated). */
int parse_duration_ms(const char *s, int64_t *ret_ms);

/* Decode base64 (padding and line breaks ignored) into a new buffer with a
 * NUL after *ret_len bytes. Returns 0, or -EINVAL on a character outside the
 * alphabet. */
int kstatus_base64_decode(const char *text, size_t len, char **ret, size_t *ret_len);
