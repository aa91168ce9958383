#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

/* stderr replaced by an unbuffered stream that records every write(2) the
 * real one would make. */
static char written[4096];
static size_t written_len;
static int writes;
static FILE *saved_stderr;

static ssize_t record(void *cookie, const char *buf, size_t n) {
        (void)cookie;
        writes++;
        cr_assert_lt(written_len + n, sizeof(written));
        memcpy(written + written_len, buf, n);
        written_len += n;
        written[written_len] = '\0';
        return (ssize_t)n;
}

static void capture(void) {
        written_len = 0;
        writes = 0;
        written[0] = '\0';
        saved_stderr = stderr;
        stderr = fopencookie(NULL, "w", (cookie_io_functions_t){ .write = record });
        cr_assert_not_null(stderr);
        setvbuf(stderr, NULL, _IONBF, 0); /* as the real stderr */
}

static void restore(void) {
        fclose(stderr);
        stderr = saved_stderr;
        log_setup(LOG_FORMAT_TEXT, LOG_LEVEL_INFO);
}

TestSuite(log, .init = capture, .fini = restore);

Test(log, text_line_in_one_write) {
        log_setup(LOG_FORMAT_TEXT, LOG_LEVEL_INFO);
        log_info("push", "sent %d keys to \"%s\"", 2, "iams/example");
        cr_assert_eq(writes, 1, "one event took %d writes", writes);
        cr_assert(strstr(written, " info push: sent 2 keys to \"iams/example\"\n"), "%s", written);
        cr_assert_eq(written[written_len - 1], '\n');
        cr_assert_eq(strchr(written, '\n'), written + written_len - 1, "more than one line: %s", written);
}

Test(log, control_characters_escaped) {
        log_setup(LOG_FORMAT_TEXT, LOG_LEVEL_INFO);
        log_warning("refused", "bad key \"a\nb\x1b[31m\x7f\"");
        cr_assert_eq(writes, 1);
        cr_assert(strstr(written, "warning refused: bad key \"a\\nb\\x1b[31m\\x7f\"\n"), "%s", written);
}

/* C1 controls and bidi/invisible characters too: kubectl logs prints lines raw. */
Test(log, c1_and_bidi_characters_escaped) {
        log_setup(LOG_FORMAT_TEXT, LOG_LEVEL_INFO);
        log_warning("refused", "condition \"x\xc2\x9b" "31m\xe2\x80\xae\xe2\x80\x8b\"");
        cr_assert_eq(writes, 1);
        cr_assert(strstr(written, "warning refused: condition \"x\\xc2\\x9b31m\\u202e\\u200b\"\n"), "%s", written);
}

Test(log, json_line_in_one_write) {
        log_setup(LOG_FORMAT_JSON, LOG_LEVEL_INFO);
        log_error("final", "failed after %d attempts\n", 3);
        cr_assert_eq(writes, 1);
        cr_assert(strstr(written, "\"level\":\"error\",\"event\":\"final\",\"msg\":\"failed after 3 attempts\\n\"}\n"),
                  "%s", written);
        cr_assert_eq(written[0], '{');
}

Test(log, below_level_writes_nothing) {
        log_setup(LOG_FORMAT_TEXT, LOG_LEVEL_INFO);
        cr_assert_eq(log_error_errno(5, "x", "y"), -5);
        log_debug("x", "not shown");
        cr_assert_eq(writes, 1, "the debug line was written");
}
