/* jsonpath.h - JSONPath templates as kubectl evaluates them
 * (k8s.io/client-go/util/jsonpath, ported): `{.items[*].metadata.name}`,
 * `..`, `[n]`, `[a:b:c]`, `[*]`, unions `[a,b]`, `['key']`, filters
 * `[?(@.type=="X")]` (==, !=, <, <=, >, >= and existence), `{range}…{end}`,
 * quoted literals (`{"\n"}`), text outside braces. The one evaluator behind
 * `get -o jsonpath`, custom-columns, `--sort-by` and `wait --for=jsonpath`.
 *
 * Where it differs from client-go (docs/BEHAVIOUR.md §8): map members are
 * visited in key order (Go visits them in random order for `*` and `..`),
 * and letters in identifiers are ASCII letters or any non-ASCII character.
 * Library code: never prints. */
#pragma once

#include <stdbool.h>

#include "util.h"

/* Bounds on what a template may ask: its length, and the nesting of
 * filters and unions inside each other. */
#define JSONPATH_MAX_TEXT (64u * 1024u)
#define JSONPATH_MAX_NESTING 32u

struct jsonpath;

/* Parse text as client-go's jsonpath.Parse does. 0 and a new template in
 * *ret, or -EINVAL with client-go's message ("unterminated array") in err. */
int jsonpath_parse(const char *text, struct jsonpath **ret, struct kstatus_error *err);
void jsonpath_free(struct jsonpath *jp);

/* client-go's FindResults: a new array (*ret) with one array of values per
 * top-level piece of the template (a text, an action, each pass of a range).
 * allow_missing: a missing key yields nothing instead of "x is not found"
 * (kubectl's default). -EINVAL with client-go's message in err. */
int jsonpath_find(const struct jsonpath *jp, const json_t *data, bool allow_missing, json_t **ret,
                  struct kstatus_error *err);

/* client-go's Execute: the results as text appended to out. Strings as they
 * are, numbers as Go prints them, maps and lists as compact JSON, values of
 * one piece separated by a space. as_json: kubectl's jsonpath-as-json, each
 * piece as an indented JSON array. escape: strings from data (not the
 * template's own text) through kstatus_escape_terminal, for a terminal. */
int jsonpath_execute(const struct jsonpath *jp, const json_t *data, bool allow_missing, bool as_json, bool escape,
                     struct kstatus_buf *out, struct kstatus_error *err);

/* A value as Go's fmt.Sprint prints it (custom-columns cells): strings raw,
 * null "<nil>", lists "[a b]", maps "map[k:v]" in key order. New string. */
char *jsonpath_sprint(const json_t *v);

/* kubectl's RelaxedJSONPathExpression: "a.b", ".a.b", "{a.b}" and "{.a.b}"
 * all become "{.a.b}" (new string in *ret); -EINVAL with kubectl's message. */
int jsonpath_relaxed(const char *expr, char **ret, struct kstatus_error *err);
