#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <criterion/criterion.h>

#include "util.h"

Test(util, parse_int64_checks_range_and_end) {
        int64_t v;
        cr_assert_eq(parse_int64("42", 0, 100, &v), 0);
        cr_assert_eq(v, 42);
        cr_assert_eq(parse_int64("42x", 0, 100, &v), -EINVAL);
        cr_assert_eq(parse_int64("", 0, 100, &v), -EINVAL);
        cr_assert_eq(parse_int64(" 1", 0, 100, &v), -EINVAL);
        cr_assert_eq(parse_int64("101", 0, 100, &v), -ERANGE);
        cr_assert_eq(parse_int64("99999999999999999999", 0, INT64_MAX, &v), -ERANGE);
}

Test(util, parse_size_units) {
        size_t v;
        cr_assert_eq(parse_size("1Mi", &v), 0);
        cr_assert_eq(v, 1u << 20);
        cr_assert_eq(parse_size("512", &v), 0);
        cr_assert_eq(v, 512);
        cr_assert_eq(parse_size("1Ti", &v), -EINVAL);
        cr_assert_eq(parse_size("-1", &v), -EINVAL);
}

Test(util, parse_duration) {
        int64_t ms;
        cr_assert_eq(parse_duration_ms("30s", &ms), 0);
        cr_assert_eq(ms, 30000);
        cr_assert_eq(parse_duration_ms("1h30m", &ms), 0);
        cr_assert_eq(ms, 5400000);
        cr_assert_eq(parse_duration_ms("250ms", &ms), 0);
        cr_assert_eq(ms, 250);
        cr_assert_eq(parse_duration_ms("1.5s", &ms), 0);
        cr_assert_eq(ms, 1500);
        cr_assert_eq(parse_duration_ms("0", &ms), 0);
        cr_assert_eq(ms, 0);
        cr_assert_eq(parse_duration_ms("10", &ms), -EINVAL);
        cr_assert_eq(parse_duration_ms("s", &ms), -EINVAL);
        cr_assert_eq(parse_duration_ms("5d", &ms), -EINVAL);
}

/* Go's own table (src/time/time_test.go, parseDurationTests and parseDurationErrorTests). */
Test(util, parse_go_duration) {
        static const struct { const char *in; int64_t ns; } ok[] = {
                { "0", 0 }, { "5s", 5000000000 }, { "30s", 30000000000 }, { "1478s", 1478000000000 },
                { "-5s", -5000000000 }, { "+5s", 5000000000 }, { "-0", 0 }, { "+0", 0 },
                { "5.0s", 5000000000 }, { "5.6s", 5600000000 }, { "5.s", 5000000000 }, { ".5s", 500000000 },
                { "1.0s", 1000000000 }, { "1.00s", 1000000000 }, { "1.004s", 1004000000 }, { "1.0040s", 1004000000 },
                { "100.00100s", 100001000000 }, { "10ns", 10 }, { "11us", 11000 }, { "12\u00b5s", 12000 },
                { "12\u03bcs", 12000 }, { "13ms", 13000000 }, { "14s", 14000000000 }, { "15m", 900000000000 },
                { "16h", 57600000000000 }, { "3h30m", 12600000000000 }, { "10.5s4m", 250500000000 },
                { "-2m3.4s", -123400000000 }, { "1h2m3s4ms5us6ns", 3723004005006 },
                { "39h9m14.425s", 140954425000000 },
                { "52763797000ns", 52763797000 }, { "0.3333333333333333333h", 1200000000000 },
                { "9007199254740993ns", 9007199254740993 }, { "9223372036854775807ns", INT64_MAX },
                { "9223372036854775.807us", INT64_MAX }, { "9223372036854ms775us807ns", INT64_MAX },
                { "-9223372036854775808ns", INT64_MIN }, { "-9223372036854775.808us", INT64_MIN },
                { "-2562047h47m16.854775808s", INT64_MIN }, { "0.100000000000000000000h", 360000000000 },
                { "0.830103483285477580700h", 2988372539827 },
        };
        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                int64_t ns = 42;
                cr_assert_eq(parse_go_duration(ok[i].in, &ns), 0, "%s", ok[i].in);
                cr_assert_eq(ns, ok[i].ns, "%s: %lld, want %lld", ok[i].in, (long long)ns, (long long)ok[i].ns);
        }
        static const char *bad[] = {
                "", "3", "-", "s", ".", "-.", ".s", "+.s", "1d", "\x85\x85", "\xff" "ff", "hello \xff" "ff world",
                "9223372036854775808ns", "9223372036854775.808us", "9223372036854ms775us808ns", "-9223372036854775809ns",
                "1s ", " 1s", "1sx", "1.5.s",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int64_t ns;
                cr_assert_lt(parse_go_duration(bad[i], &ns), 0, "\"%s\" accepted", bad[i]);
        }
        int64_t ms;
        cr_assert_eq(parse_duration_ms("-1s", &ms), -EINVAL, "flags take no negative duration");
        cr_assert_eq(parse_duration_ms("1500us", &ms), 0);
        cr_assert_eq(ms, 1);
}

Test(util, error_format) {
        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
        cr_assert_eq(kstatus_error_set(&e, EINVAL, 3, 7, "found %s", "it"), -EINVAL);
        char *s = kstatus_error_format(&e, "status.yaml");
        cr_assert_str_eq(s, "status.yaml:3:7: found it");
        free(s);
        e.line = 0;
        s = kstatus_error_format(&e, "f");
        cr_assert_str_eq(s, "f: found it");
        free(s);
}

/* One error type: replacing a description frees the old one, keeps the request
 * counters, may quote itself, and holds text of any length (no fixed buffer). */
Test(util, error_lifecycle) {
        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
        e.attempts = 3;
        e.retry_after_ms = 2000;
        cr_assert_eq(kstatus_error_set_http(&e, -ENOENT, 404, "NotFound", xstrdup("Error from server (NotFound): x")),
                     -ENOENT, "a negative code is returned as it is");
        cr_assert_eq(e.errnum, ENOENT);
        cr_assert_eq(e.http_code, 404);
        cr_assert_str_eq(e.reason, "NotFound");
        cr_assert_eq(e.attempts, 3);
        cr_assert_eq(e.retry_after_ms, 2000);
        cr_assert_eq(kstatus_error_set_http(&e, EAGAIN, 503, e.reason, xasprintf("again: %s", e.message)), -EAGAIN,
                     "the new description may quote the old one");
        cr_assert_str_eq(e.reason, "NotFound");
        cr_assert_str_eq(e.message, "again: Error from server (NotFound): x");
        char *big = xmalloc(5001);
        memset(big, 'a', 5000);
        big[5000] = '\0';
        cr_assert_eq(kstatus_error_set(&e, EINVAL, 2, 1, "%s: %s", e.message, big), -EINVAL);
        cr_assert_eq(strlen(e.message), strlen("again: Error from server (NotFound): x: ") + 5000);
        free(big);
        cr_assert_eq(e.http_code, 0, "a parse error is no HTTP failure");
        cr_assert_null(e.reason);
        cr_assert_eq(e.line, 2);
        cr_assert_eq(e.attempts, 3);

        _cleanup_(kstatus_error_done) struct kstatus_error to = { 0 };
        kstatus_error_set(&to, EIO, 0, 0, "replaced");
        kstatus_error_move(&to, &e);
        cr_assert_eq(to.errnum, EINVAL);
        cr_assert_eq(to.line, 2);
        cr_assert_null(e.message, "the source is left empty");
        kstatus_error_move(NULL, &to);
        cr_assert_null(to.message, "moved nowhere: freed");
        cr_assert_eq(kstatus_error_set(NULL, EPERM, 0, 0, "nobody reads %s", "this"), -EPERM);
        cr_assert_eq(kstatus_error_set_http(NULL, EPERM, 0, NULL, xstrdup("freed")), -EPERM);
        char *s = kstatus_error_format(&e, NULL);
        cr_assert_str_eq(s, "<stdin>: error", "an empty error still formats");
        free(s);
        kstatus_error_done(&e);
        kstatus_error_done(NULL);
}

Test(util, base64) {
        char *out;
        size_t n;
        cr_assert_eq(kstatus_base64_decode("aGVs\nbG8=", 9, &out, &n), 0);
        cr_assert_eq(n, 5);
        cr_assert_str_eq(out, "hello");
        free(out);
        cr_assert_eq(kstatus_base64_decode("", 0, &out, &n), 0);
        cr_assert_eq(n, 0);
        free(out);
        cr_assert_eq(kstatus_base64_decode("a*b", 3, &out, &n), -EINVAL);
}

/* The expiry the kernel holds for fd, in ms (0: disarmed). */
static int64_t timer_left_ms(int fd) {
        struct itimerspec its;
        cr_assert_eq(timerfd_gettime(fd, &its), 0);
        cr_assert_eq(its.it_interval.tv_sec + its.it_interval.tv_nsec, 0, "one expiry, no interval");
        return (int64_t)its.it_value.tv_sec * 1000 + its.it_value.tv_nsec / 1000000;
}

Test(util, timerfd_arm) {
        _cleanup_close_ int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        cr_assert_geq(fd, 0);
        cr_assert_eq(kstatus_timerfd_arm(fd, 2500), 0);
        int64_t left = timer_left_ms(fd);
        cr_assert(left > 2000 && left <= 2500, "2500 ms: %lld ms left", (long long)left);
        cr_assert_eq(kstatus_timerfd_disarm(fd), 0);
        struct itimerspec its;
        cr_assert_eq(timerfd_gettime(fd, &its), 0);
        cr_assert_eq(its.it_value.tv_sec + its.it_value.tv_nsec, 0, "disarmed");
        /* 0 and below expire at once instead of disarming. */
        for (int64_t ms = 0; ms >= -1; ms--) {
                cr_assert_eq(kstatus_timerfd_arm(fd, ms), 0);
                struct pollfd p = { .fd = fd, .events = POLLIN };
                cr_assert_eq(poll(&p, 1, 5000), 1, "%lld ms: expired", (long long)ms);
                uint64_t ticks = 0;
                cr_assert_eq(read(fd, &ticks, sizeof(ticks)), (ssize_t)sizeof(ticks));
                cr_assert_eq(ticks, 1);
        }
        cr_assert_eq(kstatus_timerfd_arm(-1, 10), -EBADF);
}

Test(util, escape_terminal_escapes_controls_bidi_and_invisible_characters) {
        static const struct {
                const char *in, *want;
        } cases[] = {
                { "plain é ‰ 日本", "plain é ‰ 日本" },
                { "a\nb\tc\rd", "a\\nb\\tc\\rd" },
                { "\x1b]0;t\x07\x7f", "\\x1b]0;t\\x07\\x7f" },
                { "\xc2\x9b" "2J", "\\xc2\\x9b2J" },     /* C1 CSI */
                { "\xff\xc3", "\\xff\\xc3" },            /* invalid, truncated */
                { "\xed\xa0\x80", "\\xed\\xa0\\x80" },   /* surrogate */
                { "\xe2\x80\xae" "x", "\\u202ex" },      /* RLO */
                { "\xe2\x80\xaa\xe2\x81\xa6\xe2\x81\xa9", "\\u202a\\u2066\\u2069" },
                { "\xe2\x80\x8b\xe2\x80\x8f", "\\u200b\\u200f" },
                { "\xe2\x80\xa8\xe2\x80\xa9", "\\u2028\\u2029" },
                { "\xe2\x80\x8a\xe2\x80\xb0", "\xe2\x80\x8a\xe2\x80\xb0" }, /* neighbours kept */
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *got = kstatus_escape_terminal(cases[i].in);
                cr_assert_str_eq(got, cases[i].want, "case %zu", i);
                free(got);
        }
}
