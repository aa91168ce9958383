/* gotemplate.h - the part of Go's text/template that kubectl users write in
 * `-o go-template`: text and {{actions}} with {{- trim -}} markers and
 * comments; fields (.a.b), $ and variables ($x := …, $x = …); string, number,
 * bool and nil literals; pipelines with |; parentheses; {{if}} / {{else if}} /
 * {{else}}, {{range}} (lists, and maps in key order; $i, $e :=; {{else}}),
 * {{with}}, {{end}}; the functions index, len, not, and, or, eq, ne, lt, le,
 * gt, ge, print, printf (%s %v %d %q %%), println and kubectl's base64decode.
 * As kubectl 1.32 gives it the object: whole numbers are int64 and others
 * float64 (so `eq .metadata.generation 1.0` is Go's "incompatible types for
 * comparison"), a missing key prints "<no value>".
 * Not supported: define/template/block, break/continue, and other functions.
 * Library code: never prints. */
#pragma once

#include "util.h"

#define GOTEMPLATE_MAX_TEXT (64u * 1024u)
#define GOTEMPLATE_MAX_NESTING 64u

struct gotemplate;

/* 0 and a new template, or -EINVAL with the reason ("template: output:1:
 * unexpected EOF") in err. */
int gotemplate_parse(const char *text, struct gotemplate **ret, struct kstatus_error *err);
void gotemplate_free(struct gotemplate *t);

/* Run the template on data, appending to out; -EINVAL with the reason in err
 * (what was written before the error stays in out). */
int gotemplate_execute(const struct gotemplate *t, const json_t *data, struct kstatus_buf *out,
                       struct kstatus_error *err);
