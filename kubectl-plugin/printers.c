/* printers.c - kubectl's object printers (cli-runtime's JSONPathPrinter,
 * kubectl's CustomColumnsPrinter and RuntimeSort) over jsonpath.c. */
#include "printers.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "status.h"
#include "yaml-json.h"

#define MAX_TEMPLATE_FILE (1u << 20)

char *go_quote(const char *s) {
        struct kstatus_buf b = { 0 };
        kstatus_buf_put(&b, "\"", 1);
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                char esc[8];
                if (*p == '"' || *p == '\\') {
                        esc[0] = '\\', esc[1] = (char)*p;
                        kstatus_buf_put(&b, esc, 2);
                } else if (*p == '\n' || *p == '\t' || *p == '\r') {
                        esc[0] = '\\', esc[1] = *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r';
                        kstatus_buf_put(&b, esc, 2);
                } else if (*p < 0x20 || *p == 0x7f) {
                        snprintf(esc, sizeof(esc), "\\x%02x", *p);
                        kstatus_buf_put(&b, esc, 4);
                } else
                        kstatus_buf_put(&b, (const char *)p, 1);
        }
        kstatus_buf_put(&b, "\"", 1);
        return b.data;
}

static int read_template(const char *path, char **ret, struct kstatus_error *err) {
        size_t len;
        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
        int r = kstatus_read_file(path, false, MAX_TEMPLATE_FILE, ret, &len, &e);
        if (r == -ENOENT)
                return kstatus_error_set(err, EINVAL, 0, 0, "error reading --template %s, open %s: no such file or directory",
                                         path, path);
        if (r < 0)
                return kstatus_error_set(err, EINVAL, 0, 0, "error reading --template %s, %s", path, e.message);
        return 0;
}

static int init_jsonpath(struct object_printer *p, const char *format, const char *value,
                         struct kstatus_error *err) {
        _cleanup_free_ char *text = NULL;
        if (!*value)
                return kstatus_error_set(err, EINVAL, 0, 0, "template format specified but no template given");
        if (strcmp(format, "jsonpath-file") == 0) {
                int r = read_template(value, &text, err);
                if (r < 0)
                        return r;
        } else
                text = xstrdup(value);
        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
        if (jsonpath_parse(text, &p->jp, &e) < 0)
                return kstatus_error_set(err, EINVAL, 0, 0, "error parsing jsonpath %s, %s", text, e.message);
        p->format = strcmp(format, "jsonpath-as-json") == 0 ? OBJECT_JSONPATH_JSON : OBJECT_JSONPATH;
        p->template = TAKE_PTR(text);
        return 0;
}

static int init_gotemplate(struct object_printer *p, const char *format, const char *value,
                           struct kstatus_error *err) {
        _cleanup_free_ char *text = NULL;
        if (!*value)
                return kstatus_error_set(err, EINVAL, 0, 0, "template format specified but no template given");
        if (str_has_suffix(format, "file")) {
                int r = read_template(value, &text, err);
                if (r < 0)
                        return r;
        } else
                text = xstrdup(value);
        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
        if (gotemplate_parse(text, &p->gt, &e) < 0)
                return kstatus_error_set(err, EINVAL, 0, 0, "error parsing template %s, %s", text, e.message);
        p->format = OBJECT_GO_TEMPLATE;
        p->template = TAKE_PTR(text);
        return 0;
}

static int add_column(struct object_printer *p, const char *header, size_t header_len, const char *spec,
                      struct kstatus_error *err) {
        _cleanup_free_ char *relaxed = NULL;
        int r = jsonpath_relaxed(spec, &relaxed, err);
        if (r < 0)
                return r;
        struct jsonpath *jp;
        if (jsonpath_parse(relaxed, &jp, err) < 0)
                return -EINVAL;
        p->columns = xrealloc(p->columns, (p->n_columns + 1) * sizeof(*p->columns));
        p->columns[p->n_columns++] = (struct object_column){ .header = xstrndup(header, header_len), .path = jp };
        return 0;
}

/* NAME:.path,NAME:.path */
static int init_columns_spec(struct object_printer *p, const char *spec, struct kstatus_error *err) {
        if (!*spec)
                return kstatus_error_set(err, EINVAL, 0, 0, "custom-columns format specified but no custom columns given");
        for (const char *s = spec;;) {
                size_t n = strcspn(s, ",");
                const char *colon = memchr(s, ':', n);
                _cleanup_free_ char *part = xstrndup(s, n);
                if (!colon)
                        return kstatus_error_set(err, EINVAL, 0, 0,
                                                 "unexpected custom-columns spec: %s, expected <header>:<json-path-expr>",
                                                 part);
                part[n] = '\0';
                _cleanup_free_ char *path = xstrndup(colon + 1, (size_t)(s + n - colon - 1));
                int r = add_column(p, s, (size_t)(colon - s), path, err);
                if (r < 0)
                        return r;
                if (!s[n])
                        return 0;
                s += n + 1;
        }
}

/* The words of one line (bufio.ScanWords: split on white space). */
static char **words(const char *line, size_t len, size_t *ret_n) {
        char **w = NULL;
        size_t n = 0;
        for (size_t i = 0; i < len;) {
                while (i < len && isspace((unsigned char)line[i]))
                        i++;
                size_t b = i;
                while (i < len && !isspace((unsigned char)line[i]))
                        i++;
                if (i > b) {
                        w = xrealloc(w, (n + 1) * sizeof(char *));
                        w[n++] = xstrndup(line + b, i - b);
                }
        }
        *ret_n = n;
        return w;
}

static void free_words(char **w, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(w[i]);
        free(w);
}

/* A header line and a spec line, words separated by white space. */
static int init_columns_file(struct object_printer *p, const char *path, struct kstatus_error *err) {
        _cleanup_free_ char *text = NULL;
        int r = read_template(path, &text, err);
        if (r < 0)
                return r;
        const char *nl = strchr(text, '\n');
        if (!*text)
                return kstatus_error_set(err, EINVAL, 0, 0, "invalid template, missing header line. Expected format is one line of space separated headers, one line of space separated column specs.");
        if (!nl || !nl[1])
                return kstatus_error_set(err, EINVAL, 0, 0, "invalid template, missing spec line. Expected format is one line of space separated headers, one line of space separated column specs.");
        size_t nh, ns;
        char **headers = words(text, (size_t)(nl - text), &nh);
        char **specs = words(nl + 1, strcspn(nl + 1, "\n"), &ns);
        if (nh != ns)
                r = kstatus_error_set(err, EINVAL, 0, 0, "number of headers (%zu) and field specifications (%zu) don't match",
                                      nh, ns);
        for (size_t i = 0; i < nh && r == 0; i++)
                r = add_column(p, headers[i], strlen(headers[i]), specs[i], err);
        free_words(headers, nh);
        free_words(specs, ns);
        return r;
}

int object_printer_init(struct object_printer *ret, const char *output, bool no_headers, struct kstatus_error *err) {
        static const char *const templated[] = { "jsonpath",       "jsonpath-file",    "jsonpath-as-json",
                                                 "custom-columns", "custom-columns-file", "go-template",
                                                 "go-template-file", "template", "templatefile" };
        struct object_printer p = { .no_headers = no_headers };
        int r = 1;
        if (strcmp(output, "json") == 0 || strcmp(output, "yaml") == 0) {
                p.format = output[0] == 'j' ? OBJECT_JSON : OBJECT_YAML;
                *ret = p;
                return 1;
        }
        const char *eq = strchr(output, '=');
        size_t n = eq ? (size_t)(eq - output) : strlen(output);
        const char *value = eq ? eq + 1 : "";
        _cleanup_free_ char *format = xstrndup(output, n);
        bool known = false;
        for (size_t i = 0; i < ELEMENTSOF(templated); i++)
                known |= strcmp(format, templated[i]) == 0;
        if (!known)
                return 0;
        if (str_has_prefix(format, "jsonpath"))
                r = init_jsonpath(&p, format, value, err);
        else if (str_has_prefix(format, "go-template") || str_has_prefix(format, "template"))
                r = init_gotemplate(&p, format, value, err);
        else if (!eq && strcmp(format, "custom-columns") == 0)
                r = kstatus_error_set(err, EINVAL, 0, 0, "custom-columns format specified but no custom columns given");
        else if (strcmp(format, "custom-columns") == 0)
                r = init_columns_spec(&p, value, err);
        else
                r = init_columns_file(&p, value, err);
        if (r < 0) {
                object_printer_done(&p);
                return r;
        }
        if (str_has_prefix(format, "custom-columns"))
                p.format = OBJECT_CUSTOM_COLUMNS;
        *ret = p;
        return 1;
}

void object_printer_done(struct object_printer *p) {
        free(p->template);
        jsonpath_free(p->jp);
        gotemplate_free(p->gt);
        for (size_t i = 0; i < p->n_columns; i++) {
                free(p->columns[i].header);
                jsonpath_free(p->columns[i].path);
        }
        free(p->columns);
        *p = (struct object_printer){ 0 };
}

json_t *objects_list(json_t *items) {
        return json_pack("{s:s, s:O, s:s, s:{s:s}}", "apiVersion", "v1", "items", items, "kind", "List", "metadata",
                         "resourceVersion", "");
}

/* One row of cells: each column's values joined by ",", "<none>" when there are none. */
static int column_cells(const struct object_printer *p, const json_t *obj, char **cells, struct kstatus_error *err) {
        for (size_t c = 0; c < p->n_columns; c++) {
                _cleanup_json_ json_t *found = NULL;
                int r = jsonpath_find(p->columns[c].path, obj, true, &found, err);
                if (r < 0)
                        return r;
                struct kstatus_buf b = { 0 };
                kstatus_buf_put(&b, "", 0);
                json_t *first = json_array_get(found, 0);
                if (json_array_size(found) == 0 || json_array_size(first) == 0)
                        kstatus_buf_put(&b, "<none>", 6);
                size_t i, k;
                json_t *results, *v;
                json_array_foreach(found, i, results) json_array_foreach(results, k, v) {
                        _cleanup_free_ char *s = jsonpath_sprint(v);
                        _cleanup_free_ char *safe = kstatus_escape_terminal(s);
                        if (b.len)
                                kstatus_buf_put(&b, ",", 1);
                        kstatus_buf_put(&b, safe, strlen(safe));
                }
                cells[c] = b.data;
        }
        return 0;
}

static size_t width_of(const char *s) {
        size_t w = 0;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                w += (*p & 0xc0) != 0x80;
        return w;
}

/* Go's text/tabwriter as kubectl sets it up: columns padded to the widest
 * cell plus 3, at least 6; the last column not padded. */
static void tabwrite(struct kstatus_buf *out, char **cells, size_t rows, size_t cols) {
        _cleanup_free_ size_t *w = xcalloc(cols ? cols : 1, sizeof(size_t));
        for (size_t r = 0; r < rows; r++)
                for (size_t c = 0; c < cols; c++) {
                        size_t x = width_of(cells[r * cols + c]) + 3;
                        if (x > w[c])
                                w[c] = x < 6 ? 6 : x;
                }
        for (size_t r = 0; r < rows; r++) {
                for (size_t c = 0; c < cols; c++) {
                        const char *s = cells[r * cols + c];
                        kstatus_buf_put(out, s, strlen(s));
                        for (size_t k = width_of(s); c + 1 < cols && k < w[c]; k++)
                                kstatus_buf_put(out, " ", 1);
                }
                kstatus_buf_put(out, "\n", 1);
        }
}

static int print_columns(struct object_printer *p, const json_t *obj, struct kstatus_buf *out,
                         struct kstatus_error *err) {
        json_t *items = json_object_get(obj, "items");
        bool list = json_is_array(items) && str_has_suffix(json_string_value(json_object_get(obj, "kind")) ?: "", "List");
        size_t n = list ? json_array_size(items) : 1, cols = p->n_columns, rows = 0;
        bool header = !p->no_headers && !p->header_printed;
        char **cells = xcalloc((n + 1) * cols + 1, sizeof(char *));
        int r = 0;
        if (header) {
                for (size_t c = 0; c < cols; c++)
                        cells[c] = xstrdup(p->columns[c].header);
                rows++;
                p->header_printed = true;
        }
        for (size_t i = 0; i < n && r == 0; i++, rows++)
                r = column_cells(p, list ? json_array_get(items, i) : obj, cells + rows * cols, err);
        if (r == 0)
                tabwrite(out, cells, rows, cols);
        for (size_t i = 0; i < (n + 1) * cols; i++)
                free(cells[i]);
        free(cells);
        return r;
}

int object_printer_print(struct object_printer *p, const json_t *obj, struct kstatus_buf *out,
                         struct kstatus_error *err) {
        kstatus_buf_put(out, "", 0);
        if (p->format == OBJECT_JSON) {
                _cleanup_free_ char *text = kstatus_json_dump(obj, false);
                kstatus_buf_put(out, text, strlen(text));
                return 0;
        }
        if (p->format == OBJECT_YAML) {
                _cleanup_free_ char *text = NULL;
                int r = kstatus_yaml_dump(obj, &text, err);
                if (r < 0)
                        return r;
                kstatus_buf_put(out, text, strlen(text));
                return 0;
        }
        if (p->format == OBJECT_CUSTOM_COLUMNS)
                return print_columns(p, obj, out, err);
        if (p->format == OBJECT_GO_TEMPLATE) {
                _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
                if (gotemplate_execute(p->gt, obj, out, &e) < 0) {
                        _cleanup_free_ char *q = go_quote(p->template);
                        return kstatus_error_set(err, EINVAL, 0, 0, "error executing template %s: %s", q, e.message);
                }
                return 0;
        }
        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
        int r = jsonpath_execute(p->jp, obj, true, p->format == OBJECT_JSONPATH_JSON, p->escape, out, &e);
        if (r < 0) {
                _cleanup_free_ char *q = go_quote(p->template);
                return kstatus_error_set(err, EINVAL, 0, 0, "error executing jsonpath %s: Error executing template: %s",
                                         q, e.message);
        }
        return 0;
}

/* ---- --sort-by (kubectl's RuntimeSort) ---- */

/* A quantity ("10Gi", "500m", "1e3") as a number; false when it is none. */
static bool quantity(const char *s, long double *ret) {
        static const struct {
                const char *suffix;
                long double mult;
        } suffixes[] = {
                { "Ki", 1024.0L }, { "Mi", 1048576.0L }, { "Gi", 1073741824.0L }, { "Ti", 1099511627776.0L },
                { "Pi", 1125899906842624.0L }, { "Ei", 1152921504606846976.0L }, { "n", 1e-9L }, { "u", 1e-6L },
                { "m", 1e-3L }, { "", 1.0L }, { "k", 1e3L }, { "M", 1e6L }, { "G", 1e9L }, { "T", 1e12L },
                { "P", 1e15L }, { "E", 1e18L },
        };
        size_t i = *s == '+' || *s == '-';
        size_t int_digits = strspn(s + i, "0123456789");
        i += int_digits;
        size_t frac_digits = 0;
        if (s[i] == '.') {
                frac_digits = strspn(s + i + 1, "0123456789");
                i += 1 + frac_digits;
        }
        if (int_digits + frac_digits == 0)
                return false;
        if ((s[i] == 'e' || s[i] == 'E') && s[i + 1 + (s[i + 1] == '+' || s[i + 1] == '-')] >= '0' &&
            s[i + 1 + (s[i + 1] == '+' || s[i + 1] == '-')] <= '9') {
                size_t j = i + 1 + (s[i + 1] == '+' || s[i + 1] == '-');
                j += strspn(s + j, "0123456789");
                if (s[j])
                        return false;
                *ret = strtold(s, NULL);
                return true;
        }
        for (size_t k = 0; k < ELEMENTSOF(suffixes); k++)
                if (strcmp(s + i, suffixes[k].suffix) == 0) {
                        _cleanup_free_ char *num = xstrndup(s, i);
                        *ret = strtold(num, NULL) * suffixes[k].mult;
                        return true;
                }
        return false;
}

/* isLess on two found values: -1, 0, 1, or 2 with the error in err. */
static int sort_compare(const json_t *a, const json_t *b, const char *field, struct kstatus_error *err) {
        if (json_is_null(a) || json_is_null(b))
                return json_is_null(a) && json_is_null(b) ? 0 : json_is_null(a) ? -1 : 1;
        if (json_is_integer(a) && json_is_integer(b))
                return (json_integer_value(a) > json_integer_value(b)) - (json_integer_value(a) < json_integer_value(b));
        if (json_is_real(a) && json_is_real(b))
                return (json_real_value(a) > json_real_value(b)) - (json_real_value(a) < json_real_value(b));
        if (json_is_string(a) && json_is_string(b)) {
                long double qa, qb;
                if (quantity(json_string_value(a), &qa) && quantity(json_string_value(b), &qb))
                        return (qa > qb) - (qa < qb);
                int c = strcmp(json_string_value(a), json_string_value(b));
                return (c > 0) - (c < 0);
        }
        const json_t *bad = json_is_object(a) || json_is_array(a) || json_is_boolean(a) ? a : b;
        kstatus_error_set(err, EINVAL, 0, 0, "field %s is an unsortable type: %s", field,
                          json_is_object(bad) ? "map[string]interface {}" : json_is_array(bad) ? "[]interface {}"
                          : json_is_boolean(bad)  ? "bool" : "interface");
        return 2;
}

struct sort_item {
        json_t *obj, *key; /* key: the first value found, NULL when none */
};

/* kubectl's Less: an object without the field sorts before any other (even
 * one without it: Go's sort then moves it past those too). 1 less, 0 not,
 * -EINVAL when the values cannot be compared. */
static int sort_less(const struct sort_item *i, const struct sort_item *j, const char *field,
                     struct kstatus_error *err) {
        if (!i->key)
                return 1;
        if (!j->key)
                return 0;
        int c = sort_compare(i->key, j->key, field, err);
        return c == 2 ? -EINVAL : c < 0;
}

/* Go's sort.Sort on up to 12 elements is this insertion sort; kubectl's
 * order of equal and missing values follows from it. */
static int insertion_sort(struct sort_item *v, size_t n, const char *field, struct kstatus_error *err) {
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0; j--) {
                        int r = sort_less(&v[j], &v[j - 1], field, err);
                        if (r < 0)
                                return r;
                        if (!r)
                                break;
                        struct sort_item t = v[j];
                        v[j] = v[j - 1];
                        v[j - 1] = t;
                }
        return 0;
}

/* Longer lists: a stable merge sort with the same Less (Go's pdqsort may
 * order equal values differently there). */
static int merge_sort(struct sort_item *v, struct sort_item *tmp, size_t n, const char *field,
                      struct kstatus_error *err) {
        if (n <= 12)
                return insertion_sort(v, n, field, err);
        size_t h = n / 2, i = 0, j = h, k = 0;
        int r = merge_sort(v, tmp, h, field, err);
        if (r == 0)
                r = merge_sort(v + h, tmp, n - h, field, err);
        while (r == 0 && i < h && j < n) {
                int less = sort_less(&v[j], &v[i], field, err);
                if (less < 0)
                        return less;
                tmp[k++] = less ? v[j++] : v[i++];
        }
        if (r < 0)
                return r;
        while (i < h)
                tmp[k++] = v[i++];
        while (j < n)
                tmp[k++] = v[j++];
        memcpy(v, tmp, n * sizeof(*v));
        return 0;
}

int objects_sort(json_t *items, const char *field, struct kstatus_error *err) {
        _cleanup_free_ char *relaxed = NULL;
        struct jsonpath *jp = NULL;
        int r = jsonpath_relaxed(field, &relaxed, err);
        if (r < 0 || (r = jsonpath_parse(relaxed, &jp, err)) < 0)
                return r;
        size_t n = json_array_size(items);
        struct sort_item *v = xcalloc(n + 1, sizeof(*v)), *tmp = xcalloc(n + 1, sizeof(*v));
        bool found_once = false;
        for (size_t i = 0; i < n && r == 0; i++) {
                _cleanup_json_ json_t *found = NULL;
                v[i].obj = json_incref(json_array_get(items, i));
                r = jsonpath_find(jp, v[i].obj, true, &found, err);
                json_t *first = json_array_get(json_array_get(found, 0), 0);
                v[i].key = json_incref(first);
                found_once |= first != NULL;
        }
        if (r == 0 && !found_once) {
                _cleanup_free_ char *q = go_quote(relaxed);
                r = kstatus_error_set(err, EINVAL, 0, 0, "couldn't find any field with path %s in the list of objects", q);
        }
        if (r == 0)
                r = merge_sort(v, tmp, n, relaxed, err);
        for (size_t i = 0; i < n; i++) {
                if (r == 0)
                        json_array_set(items, i, v[i].obj);
                json_decref(v[i].obj);
                json_decref(v[i].key);
        }
        free(v);
        free(tmp);
        jsonpath_free(jp);
        return r;
}
