#include <errno.h>
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

Test(util, error_format) {
        struct kstatus_error e = { 0 };
        cr_assert_eq(kstatus_error_set(&e, EINVAL, 3, 7, "found %s", "it"), -EINVAL);
        char *s = kstatus_error_format(&e, "status.yaml");
        cr_assert_str_eq(s, "status.yaml:3:7: found it");
        free(s);
        e.line = 0;
        s = kstatus_error_format(&e, "f");
        cr_assert_str_eq(s, "f: found it");
        free(s);
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
