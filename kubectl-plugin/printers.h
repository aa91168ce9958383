/* printers.h - `get`'s printers of API objects, as kubectl's: -o json|yaml
 * (the object, or a v1 List of them), -o jsonpath / jsonpath-file /
 * jsonpath-as-json, -o custom-columns / custom-columns-file, -o go-template /
 * go-template-file (and kubectl's aliases template / templatefile), and --sort-by.
 * All built on jsonpath.h. Library code: errors go into a kstatus_error with
 * kubectl's wording, nothing is printed here. */
#pragma once

#include <stdbool.h>

#include "gotemplate.h"
#include "jsonpath.h"
#include "util.h"

enum object_format {
        OBJECT_JSON,
        OBJECT_YAML,
        OBJECT_JSONPATH,
        OBJECT_JSONPATH_JSON,
        OBJECT_CUSTOM_COLUMNS,
        OBJECT_GO_TEMPLATE,
};

struct object_column {
        char *header;
        struct jsonpath *path;
};

struct object_printer {
        enum object_format format;
        char *template;                  /* the jsonpath as given (for error messages) */
        struct jsonpath *jp;             /* jsonpath formats */
        struct gotemplate *gt;           /* go-template */
        struct object_column *columns;   /* custom-columns */
        size_t n_columns;
        bool no_headers, header_printed;
        bool escape;                     /* escape cluster text (stdout is a terminal) */
};

/* Make the printer for an -o value ("json", "jsonpath={.a}",
 * "custom-columns-file=FILE", ...). Returns 1 with *ret filled, 0 when the
 * value is none of these formats (*ret untouched), or -EINVAL with kubectl's
 * message in err ("error parsing jsonpath {.a[, unterminated array"). */
int object_printer_init(struct object_printer *ret, const char *output, bool no_headers, struct kstatus_error *err);
void object_printer_done(struct object_printer *p);

/* Append obj (an object or a List) as the printer shows it to out.
 * -EINVAL with kubectl's message when the template fails on it. */
int object_printer_print(struct object_printer *p, const json_t *obj, struct kstatus_buf *out,
                         struct kstatus_error *err);

/* kubectl's List of items (borrowed, held by the new List):
 * {"apiVersion":"v1","items":[...],"kind":"List","metadata":{"resourceVersion":""}}. */
json_t *objects_list(json_t *items);

/* --sort-by: sort items (an array of objects) in place by the value at the
 * (relaxed) JSONPath field as kubectl's sorter compares them: numbers,
 * strings (as quantities when both are), objects without the field first;
 * stable. -EINVAL with kubectl's message when no object has the field or
 * values cannot be compared. */
int objects_sort(json_t *items, const char *field, struct kstatus_error *err);

/* Go's %q of s (new string), for messages that quote a template as kubectl does. */
char *go_quote(const char *s);
