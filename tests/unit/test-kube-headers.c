/* The server's Warning headers as client-go reads them (common/kube/headers.c).
 * The expected readings are written down from apimachinery's
 * ParseWarningHeaders (pkg/util/net/http.go) and rest's warning writer: only
 * code 299 with a non-empty text is shown, a malformed warning ends the
 * header (the ones before it stay), texts are unquoted. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "kube/internal.h"

static void collect(void *userdata, const char *text) {
        char **out = userdata;
        char *next = xasprintf("%s[%s]", *out, text);
        free(*out);
        *out = next;
}

static char *warnings(const char *header) {
        char *out = xstrdup("");
        kube_parse_warnings(header, collect, &out);
        return out;
}

static void check(const char *header, const char *want) {
        char *got = warnings(header);
        cr_expect_str_eq(got, want, "%s", header);
        free(got);
}

Test(warnings, kube_apiserver_form) {
        check("299 - \"unknown field \\\"spec.x\\\"\"", "[unknown field \"spec.x\"]");
        check("  299 - \"padded\"  ", "[padded]");
        check("299 kube-apiserver \"agent named\"", "[agent named]");
}

Test(warnings, several_in_one_header) {
        check("299 - \"a\", 299 - \"b\"", "[a][b]");
        check("299 - \"a\" \"Wed, 21 Oct 2015 07:28:00 GMT\", 299 - \"b\"", "[a][b]");
        check("299 - \"back\\\\slash\"", "[back\\slash]");
}

Test(warnings, only_299_with_text) {
        check("199 - \"miscellaneous\"", "");
        check("299 - \"\"", "");
        check("199 - \"x\", 299 - \"y\"", "[y]");
}

Test(warnings, malformed_ends_the_header) {
        check("29 - \"x\"", "");
        check("2990 - \"x\"", "");
        check("299 -", "");
        check("299 - x", "");
        check("299 -  \"x\"", "");
        check("299 - \"unterminated", "");
        check("299 - \"a\" junk", "");
        check("299 - \"a\", bogus", "[a]");
        check("299 - \"a\" \"date without end", "");
}

Test(warnings, control_characters_refused) {
        check("299 - \"bell\x07\"", "");
        check("299 - \"c1 \xc2\x85 next line\"", "");
        check("299 - \"not utf-8 \xff\"", "");
        /* Not a control character: shown, and escaped by the printer. */
        check("299 - \"bidi \xe2\x80\xae\"", "[bidi \xe2\x80\xae]");
        check("299 - \"tab\tinside\"", "");
}
