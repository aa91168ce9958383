/* yaml-json.h - YAML text to JSON values, as Kubernetes tools convert it
 * (sigs.k8s.io/yaml over go-yaml v2: YAML 1.1 scalars), and JSON values back
 * to YAML and JSON text in kubectl's output style.
 *
 * The reference for every conversion is real kubectl:
 *   KUBECONFIG=/dev/null kubectl patch --local -f obj.yaml --type merge -p '{}' -o json
 * tests/data/yaml/ holds the golden corpus generated from it. (Not yaml.h:
 * that name is libyaml's header.) */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util.h"

/* Input limits (docs/BEHAVIOUR.md §2). Every one is enforced with an error naming it. */
struct kstatus_limits {
        size_t max_file_bytes;   /* size of the YAML text */
        unsigned max_depth;      /* nesting of mappings and sequences */
        size_t max_nodes;        /* nodes after alias expansion; alias bombs are refused, not expanded */
        size_t max_result_bytes; /* compact JSON encoding of the result */
        size_t max_memory_bytes; /* memory the result's tree takes (json-cost.h), counted as it is built; 0: none */
};

#define KSTATUS_LIMITS_DEFAULT                                                                  \
        ((struct kstatus_limits){ .max_file_bytes = 1u << 20, .max_depth = 64, .max_nodes = 100000, \
                                  .max_result_bytes = 1u << 20, .max_memory_bytes = 12u << 20 })

/* Convert one YAML document to JSON.
 *
 * On success returns 0 and stores a new reference in *ret: the document's
 * value, or json_null() for an empty stream (no document, or only comments).
 * The result shares no structure, so callers may modify it: aliases share
 * their anchor's value while parsing, and a document that used any is
 * copied once it has passed every limit (so the node limit bounds the copy,
 * and an alias bomb is refused before anything is expanded).
 * On failure returns a negative errno (-EINVAL bad YAML or a value JSON cannot
 * hold such as .inf/.nan; -E2BIG a limit was exceeded; -ENOMEM) and fills err
 * (may be NULL) with the 1-based line and column (0 when the error is about
 * the whole text: file size, result size) and a one-line message naming the
 * limit where one was hit; *ret is untouched.
 * Where the converter deliberately differs from kubectl is listed in
 * tests/data/yaml/DIFFERENCES.md.
 * A stream with more than one document is an error at the second one.
 * lim may be NULL for the defaults. */
int kstatus_yaml_parse(const char *buf, size_t len, const struct kstatus_limits *lim, json_t **ret,
                       struct kstatus_error *err);

/* Every document of a multi-document stream (--- separated), as an array
 * (new reference); empty documents are skipped. The limits apply to the
 * whole stream. */
int kstatus_yaml_parse_stream(const char *buf, size_t len, const struct kstatus_limits *lim, json_t **ret,
                              struct kstatus_error *err);

/* True when `text`, written as a plain scalar, reads back as that string
 * (not a bool, number, null, merge key, .inf or .nan). */
bool kstatus_yaml_plain_is_string(const char *text);

/* Render a value as YAML the way `kubectl get -o yaml` does, byte for byte
 * (keys in go-yaml's "natural" order, a9 before a10; two-space indent;
 * sequences not indented under their key; strings quoted only where a YAML
 * 1.1 reader would otherwise see another type, double quotes for those and
 * for control characters, single quotes where plain style cannot hold the
 * text; multi-line strings as | or |- blocks; long scalars folded at 80
 * columns; floats as Go prints them). value is borrowed.
 * On success *ret is a new NUL-terminated string the caller frees, ending
 * with "\n", and 0 is returned. When libyaml's emitter refuses the value (a
 * string that is not UTF-8) or runs out of memory, returns -EINVAL or
 * -ENOMEM with the emitter's reason in err, and *ret is untouched. */
int kstatus_yaml_dump(const json_t *value, char **ret, struct kstatus_error *err);

/* Render a value as JSON the way `kubectl get -o json` does, byte for byte
 * (keys in byte order, four-space indent, floats in Go's shortest form,
 * <, > and & escaped as \u003c..., no escaping of '/'). value is borrowed.
 * Returns a new NUL-terminated string the caller frees; ends with "\n".
 * compact: one line, no spaces (for request bodies and log lines). */
char *kstatus_json_dump(const json_t *value, bool compact);

/* A float as Go's fmt.Print and go-yaml print it (strconv.FormatFloat(v, 'g',
 * -1, 64): shortest digits, an exponent when it is < -4 or >= 6, 1e+06).
 * out holds at least 32 bytes. */
void kstatus_go_float(double v, char *out, size_t size);
