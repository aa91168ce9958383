/* The go-template subset: expectations written by hand from Go's
 * text/template documentation and from real kubectl 1.32's output on the
 * same data (tests/integration/plugin-parity-output.sh compares the rest). */
#include <criterion/criterion.h>
#include <string.h>

#include "gotemplate.h"
#include "helpers.h"

static const char *data = "{\"kind\":\"List\",\"items\":["
                          "{\"metadata\":{\"name\":\"a\",\"generation\":2,\"labels\":{\"z\":\"1\",\"b\":\"2\"}},"
                          " \"status\":{\"ratio\":1.5,\"ok\":true,\"nil\":null,\"tags\":[\"x\",\"y\"]}},"
                          "{\"metadata\":{\"name\":\"b\"},\"spec\":{\"secret\":\"aGVsbG8=\"}}]}";

static char *run(const char *text) {
        json_t *v = J(data);
        struct gotemplate *t = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        struct kstatus_buf out = { 0 };
        char *ret;
        if (gotemplate_parse(text, &t, &err) < 0 || gotemplate_execute(t, v, &out, &err) < 0) {
                ret = xasprintf("ERR: %s", err.message);
                free(out.data);
        } else
                ret = out.data ? out.data : xstrdup("");
        gotemplate_free(t);
        json_decref(v);
        return ret;
}

#define check(text, want)                                                    \
        do {                                                                 \
                char *_got = run(text);                                      \
                cr_assert_str_eq(_got, want, "%s: %s", text, _got);          \
                free(_got);                                                  \
        } while (0)

Test(gotemplate, fields_and_ranges) {
        check("{{.kind}}", "List");
        check("{{range .items}}{{.metadata.name}},{{end}}", "a,b,");
        check("{{range $i, $e := .items}}{{$i}}:{{$e.metadata.name}} {{end}}", "0:a 1:b ");
        check("{{range .items}}{{range $k, $v := .metadata.labels}}{{$k}}={{$v}};{{end}}{{end}}", "b=2;z=1;");
        check("{{range .nope}}x{{else}}empty{{end}}", "empty");
        check("{{with index .items 0}}{{.metadata.generation}} {{.status.ratio}}{{end}}", "2 1.5");
        check("{{.nope}} {{.nope.deeper}}", "<no value> <no value>");
        check("{{(index .items 0).status.tags}} {{(index .items 0).metadata.labels}}", "[x y] map[b:2 z:1]");
        check("{{(index .items 0).status.nil}}", "<nil>");
        check("{{$n := len .items}}{{$n}} {{$}}", "2 map[items:[map[metadata:map[generation:2 labels:map[b:2 z:1] "
                                                  "name:a] status:map[nil:<nil> ok:true ratio:1.5 tags:[x y]]] "
                                                  "map[metadata:map[name:b] spec:map[secret:aGVsbG8=]]] kind:List]");
        check("a  {{- .kind -}}  b", "aListb");
        check("{{/* a comment */}}x", "x");
}

Test(gotemplate, conditions_and_functions) {
        check("{{range .items}}{{if eq .metadata.name \"a\"}}A{{else if eq .metadata.name \"b\"}}B{{else}}?{{end}}{{end}}",
              "AB");
        check("{{if and .kind (not .nope)}}yes{{end}} {{or .nope \"dflt\"}}", "yes dflt");
        check("{{if gt (len .items) 1}}many{{end}}", "many");
        check("{{printf \"%s has %d items %v %q\" .kind (len .items) true \"q\"}}", "List has 2 items true \"q\"");
        check("{{len .items | printf \"%d!\"}}", "2!");
        check("{{print 1 2 \"s\" 3}}", "1 2s3");
        check("{{(index .items 1).spec.secret | base64decode}}", "hello");
        check("{{index .items 0 \"metadata\" \"name\"}}", "a");
        check("{{eq (index .items 0).metadata.generation 2}}", "true");
        check("{{eq (index .items 0).metadata.generation 2.0}}", "ERR: template: output: error calling eq: incompatible types for comparison");
        check("{{index .items 5}}", "ERR: template: output: error calling index: index out of range: 5");
        check("{{.kind.x}}", "ERR: template: output: can't evaluate field x in type string");
}

Test(gotemplate, parse_errors) {
        check("{{.items}", "ERR: template: output:1: bad character U+007D '}'");
        check("{{foo .}}", "ERR: template: output:1: function \"foo\" not defined");
        check("{{range .items}}", "ERR: template: output:1: unexpected EOF");
        check("{{end}}", "ERR: template: output:1: unexpected {{end}}");
        check("x\n{{\"abc}}", "ERR: template: output:2: unterminated quoted string");
        /* nesting beyond the bound is an error, not a deep recursion */
        struct kstatus_buf b = { 0 };
        for (unsigned i = 0; i < GOTEMPLATE_MAX_NESTING + 2; i++)
                kstatus_buf_put(&b, "{{if .a}}", 9);
        char *got = run(b.data);
        cr_assert(strstr(got, "nested deeper") != NULL, "%s", got);
        free(got);
        free(b.data);
}
