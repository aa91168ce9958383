/* client-go's jsonpath as kubectl prints it: expectations written by hand
 * from client-go's own test tables (util/jsonpath/jsonpath_test.go) and from
 * real kubectl 1.32's output on the same objects. */
#include <criterion/criterion.h>
#include <string.h>

#include "helpers.h"
#include "jsonpath.h"

static const char *store =
        "{\"kind\":\"List\",\"items\":["
        "{\"metadata\":{\"name\":\"a\",\"labels\":{\"team\":\"x\",\"app\":\"db\"}},"
        " \"status\":{\"ratio\":1.5,\"big\":1000000.0,\"n\":3,\"ok\":true,\"nil\":null,\"msg\":\"hi <b>\","
        "  \"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"},{\"type\":\"Synced\",\"status\":\"False\"}]}},"
        "{\"metadata\":{\"name\":\"b\"},\"status\":{\"n\":1,\"conditions\":[]}}]}";

/* Run text over the store; returns the output or "ERR: message". */
static char *run(const char *text, bool allow_missing) {
        json_t *data = J(store);
        struct jsonpath *jp = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        struct kstatus_buf out = { 0 };
        char *ret;
        if (jsonpath_parse(text, &jp, &err) < 0 || jsonpath_execute(jp, data, allow_missing, false, false, &out, &err) < 0) {
                ret = xasprintf("ERR: %s", err.message);
                free(out.data);
        } else
                ret = out.data ? out.data : xstrdup("");
        jsonpath_free(jp);
        json_decref(data);
        return ret;
}

#define check(text, want)                                                        \
        do {                                                                     \
                char *_got = run(text, true);                                    \
                cr_assert_str_eq(_got, want, "%s: %s", text, _got);              \
                free(_got);                                                      \
        } while (0)

Test(jsonpath, fields_and_wildcards) {
        check("{.items[*].metadata.name}", "a b");
        check("{.items[0].metadata.name}", "a");
        check("{.items[-1].metadata.name}", "b");
        check("{.items[0:1].metadata.name}", "a");
        check("{.items[0:2:2].metadata.name}", "a");
        check("{.items[0,1].metadata.name}", "a b");
        check("{.items[0]['metadata'].name}", "a");
        check("{.items[0].metadata.labels}", "{\"app\":\"db\",\"team\":\"x\"}");
        check("{.items[0].metadata.labels.*}", "db x");
        check("{.items[*].status.nope}", "");
        check("name: {.items[1].metadata.name}!", "name: b!");
        check("{$.kind}", "List");
}

Test(jsonpath, scalars_print_as_go) {
        check("{.items[0].status.ratio}", "1.5");
        check("{.items[0].status.big}", "1e+06");
        check("{.items[*].status.n}", "3 1");
        check("{.items[0].status.ok}", "true");
        check("{.items[0].status.nil}", "null");
        check("{.items[0].status.msg}", "hi <b>");
        check("{.items[0].status.conditions[0]}", "{\"status\":\"True\",\"type\":\"Ready\"}");
        check("{.items[0].status}",
              "{\"big\":1000000,\"conditions\":[{\"status\":\"True\",\"type\":\"Ready\"},{\"status\":\"False\",\"type\":"
              "\"Synced\"}],\"msg\":\"hi \\u003cb\\u003e\",\"n\":3,\"nil\":null,\"ok\":true,\"ratio\":1.5}");
}

Test(jsonpath, filters) {
        check("{.items[0].status.conditions[?(@.type==\"Ready\")].status}", "True");
        check("{.items[0].status.conditions[?(@.type!='Ready')].type}", "Synced");
        check("{.items[?(@.status.n>2)].metadata.name}", "a");
        check("{.items[?(@.status.n<=1)].metadata.name}", "b");
        check("{.items[?(@.status.ratio)].metadata.name}", "a");
        check("{.items[?(@.status.n==1.0)].metadata.name}", "ERR: incompatible types for comparison");
        check("{.items[0].status.conditions[?(@.type=~\"x\")]}", "ERR: unrecognized character in action: U+007E '~'");
        check("{.items[0].status.conditions[?(@.type=<\"x\")]}", "ERR: unrecognized filter operator =<");
}

Test(jsonpath, ranges_and_literals) {
        check("{range .items[*]}{.metadata.name}{\"\\n\"}{end}", "a\nb\n");
        check("{range .items[*]}[{.metadata.name}]{end}done", "[a][b]done");
        check("{range .items[*]}{range .status.conditions[*]}{.type},{end};{end}", "Ready,Synced,;;");
        check("{range .items[5:5]}x{end}y", "y");
        check("{'it''s'}", "s"); /* two literals in one action: the last one wins */
        check("{'a\\qb'}", "ERR: unquote string 'a\\qb' error invalid syntax");
        check("{\"a\\tb\"}", "a\tb");
        check("{..n}", "3 1");
        check("{end}", "ERR: not in range, nothing to end");
        check("{foo}", "ERR: unrecognized identifier foo");
}

Test(jsonpath, errors_as_client_go) {
        check("{.items[", "ERR: unterminated array");
        check("{.items[5].x}", "ERR: array index out of bounds: index 5, length 2");
        check("{.items[1].status.conditions[0].type}", "ERR: array index out of bounds: index 0, length 0");
        check("{.items[0].metadata[0]}", "ERR: map[string]interface {} is not array or slice");
        check("{.items[x]}", "ERR: invalid array index x");
        check("{.items[0::0]}", "ERR: step must be > 0");
        check("{\t}", "ERR: unrecognized character in action: U+0009");
        check("{#}", "ERR: unrecognized character in action: U+0023 '#'");
        check("{.a", "ERR: unclosed action");
        check("{\"abc}", "ERR: unterminated quoted string");
        check("{.a[?(@.b==1}", "ERR: unterminated filter");
        check("{....a}", "ERR: invalid multiple recursive descent");
        check("{1.2.3}", "ERR: cannot parse number 1.2.3");
        check("{.a}}", "}");
        char *got = run("{.items[0].nope}", false);
        cr_assert_str_eq(got, "ERR: nope is not found");
        free(got);
}

Test(jsonpath, bounded) {
        size_t n = JSONPATH_MAX_TEXT + 2;
        char *big = xmalloc(n + 1);
        memset(big, 'a', n);
        big[n] = '\0';
        char *got = run(big, true);
        cr_assert(strstr(got, "ERR: jsonpath longer than") == got, "%s", got);
        free(got);
        free(big);
        /* Filters nested in filters: an error, never a deep recursion. */
        struct kstatus_buf b = { 0 };
        kstatus_buf_put(&b, "{.a", 3);
        for (unsigned i = 0; i < JSONPATH_MAX_NESTING + 2; i++)
                kstatus_buf_put(&b, "[?(@.a", 6);
        for (unsigned i = 0; i < JSONPATH_MAX_NESTING + 2; i++)
                kstatus_buf_put(&b, ")]", 2);
        kstatus_buf_put(&b, "}", 1);
        got = run(b.data, true);
        cr_assert(strncmp(got, "ERR: ", 5) == 0, "%s", got);
        free(got);
        free(b.data);
}

Test(jsonpath, sprint_and_relaxed) {
        json_t *v = J("{\"b\":[1,\"x\",null],\"a\":{\"c\":true}}");
        char *s = jsonpath_sprint(v);
        cr_assert_str_eq(s, "map[a:map[c:true] b:[1 x <nil>]]");
        free(s);
        json_decref(v);
        const char *in[] = { "a.b", ".a.b", "{a.b}", "{.a.b}" };
        for (size_t i = 0; i < 4; i++) {
                char *r = NULL;
                cr_assert_eq(jsonpath_relaxed(in[i], &r, NULL), 0);
                cr_assert_str_eq(r, "{.a.b}");
                free(r);
        }
        char *r = NULL;
        cr_assert_lt(jsonpath_relaxed("{a}{b}", &r, NULL), 0);
}
