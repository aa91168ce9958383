/* kubectl kstatus get: one row per resource (NAME, MESSAGE, CONFIGURED,
 * HEALTH, AGE), from one LIST per type (or one GET per name), and -w through
 * watches: a terminal gets the table redrawn in place, anything else one line
 * per change. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "conditions.h"
#include "describe.h"
#include "health.h"
#include "kube-args.h"
#include "kube/watch.h"
#include "printers.h"

const char get_usage[] =
        "List resources with the status Kratix pipelines reported: the message, the workflow verdict\n"
        "(CONFIGURED), health and age.\n"
        "\n"
        "Usage:\n"
        "  kubectl kstatus get TYPE[,TYPE...][/NAME] [NAME...] [-l SELECTOR] [-n NS|-A] [-o FORMAT] [options]\n"
        "  kubectl kstatus get --all-kratix [-A]\n"
        "\n"
        "Examples:\n"
        "  kubectl kstatus get databases -A\n"
        "  kubectl kstatus get db example -w\n"
        "  kubectl kstatus get --all-kratix -A -o wide\n"
        "  kubectl kstatus get db -o jsonpath='{.items[*].status.message}'\n"
        "  kubectl kstatus get db -o custom-columns=NAME:.metadata.name,MSG:.status.message --sort-by=.metadata.name\n"
        "\n"
        "Options:\n"
        "  -o, --output=FORMAT                wide (adds GENERATION and PIPELINES, never cuts the message),\n"
        "                                     name, json|yaml (the API objects, as kubectl's),\n"
        "                                     kstatus-json|kstatus-yaml (the rows above as a GetList),\n"
        "                                     jsonpath=T, jsonpath-file=F, jsonpath-as-json=T,\n"
        "                                     custom-columns=SPEC, custom-columns-file=F, go-template=T,\n"
        "                                     go-template-file=F (fields, range, if/else, with, index, len, eq...)\n"
        "      --no-headers                   no header line\n"
        "      --show-labels                  a LABELS column\n"
        "  -L, --label-columns=KEY,...        a column per label\n"
        "      --show-kind                    the type in the NAME column\n"
        "      --sort-by=JSONPATH             sort by this field (as kubectl: numbers, quantities, strings)\n"
        "      --field-selector=SELECTOR      filter on the server (metadata.name, metadata.namespace)\n"
        "      --ignore-not-found             a missing name is no error\n"
        "      --chunk-size=N                 list N at a time (default 500, 0: all at once)\n"
        "  -w, --watch                        after the list, show every change (a terminal redraws the table)\n"
        "      --watch-only                   show the changes only, not the list first\n"
        "      --output-watch-events          with -w: say ADDED, MODIFIED or DELETED (an EVENT column)\n"
        "      --all-kratix                   every resource of every Promise\n" KUBE_ARGS_USAGE;

/* GET_TABLE and GET_WIDE first: "a->output <= GET_WIDE" means a table. */
enum get_output { GET_TABLE, GET_WIDE, GET_KSTATUS_JSON, GET_KSTATUS_YAML, GET_NAME, GET_OBJECTS };

struct get_args {
        struct kube_args kube;
        enum get_output output;
        const char *output_arg; /* GET_OBJECTS: the -o value the printer reads */
        bool no_headers, watch, all_kratix;
        bool show_labels, show_kind, ignore_not_found, watch_only, watch_events;
        char **label_columns; /* -L, split at commas */
        size_t n_label_columns;
        const char *sort_by, *field_selector;
        int64_t chunk_size;
};

#define C_GREEN "\033[32m"
#define C_RED "\033[31m"
#define C_YELLOW "\033[33m"

static const char *str(const json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

/* The CONFIGURED cell: the workflow verdict in one word or two. */
static char *configured_text(const json_t *wf) {
        const char *state = str(wf, "state"), *action = str(wf, "action"), *pipeline = str(wf, "pipeline");
        bool del = action && strcmp(action, "delete") == 0;
        if (!str(wf, "since") && strcmp(state, "Unknown") == 0)
                return xstrdup("-");
        if (strcmp(state, "Completed") == 0)
                return xstrdup(del ? "Deleted" : "Completed");
        if (strcmp(state, "InProgress") == 0)
                return xstrdup(del ? "Deleting" : "InProgress");
        if (strcmp(state, "Suspended") == 0)
                return pipeline ? xasprintf("Suspended (%s)", pipeline) : xstrdup("Suspended");
        if (strcmp(state, "Failed") == 0)
                return pipeline ? xasprintf("%s (%s)", del ? "DeleteFailed" : "Failed", pipeline)
                                : xstrdup(del ? "DeleteFailed" : "Failed");
        return xstrdup("Unknown");
}

/* One row as the documented structure -o kstatus-json/kstatus-yaml prints:
 * {kind, apiVersion, namespace, name, labels, ref, message, configured, workflow,
 *  health, created, age, generation, observedGeneration, pipelines: {succeeded, total}}. */
static json_t *row_of(const json_t *obj, const struct target *t, int64_t now) {
        json_t *meta = json_object_get(obj, "metadata");
        json_t *status = json_object_get(obj, "status");
        json_t *row = json_object();
        _cleanup_free_ char *api = *t->res.group ? xasprintf("%s/%s", t->res.group, t->res.version)
                                                 : xstrdup(t->res.version);
        json_object_set_new(row, "kind", json_string(t->res.kind));
        json_object_set_new(row, "apiVersion", json_string(api));
        if (str(meta, "namespace"))
                json_object_set_new(row, "namespace", json_string(str(meta, "namespace")));
        const char *name = str(meta, "name") ?: "";
        json_object_set_new(row, "name", json_string(name));
        json_t *labels = json_object_get(meta, "labels");
        if (json_is_object(labels))
                json_object_set(row, "labels", labels);
        _cleanup_free_ char *ref = object_ref(&t->res, name);
        json_object_set_new(row, "ref", json_string(ref));
        json_t *msg = json_object_get(status, "message");
        json_object_set_new(row, "message", json_is_string(msg) ? json_incref(msg) : json_null());
        json_t *wf = describe_workflow(status, now);
        _cleanup_free_ char *configured = configured_text(wf);
        json_object_set_new(row, "configured", json_string(configured));
        json_object_set_new(row, "workflow", wf);
        const char *h = str(json_object_get(status, "healthStatus"), "state");
        if (!h)
                h = str(json_object_get(status, "healthRecord"), "state");
        json_object_set_new(row, "health", h ? json_string(h) : json_null());
        const char *created = str(meta, "creationTimestamp");
        int64_t ts;
        if (created && kstatus_time_parse(created, &ts) == 0) {
                char age[32];
                human_duration(now - ts, age);
                json_object_set_new(row, "created", json_string(created));
                json_object_set_new(row, "age", json_string(age));
        }
        json_t *gen = json_object_get(meta, "generation"), *og = json_object_get(status, "observedGeneration");
        if (json_is_integer(gen))
                json_object_set(row, "generation", gen);
        if (json_is_integer(og))
                json_object_set(row, "observedGeneration", og);
        /* Kratix's status.kratix.workflows.pipelines[], the only list it writes. */
        json_t *list = json_object_get(json_object_get(json_object_get(status, "kratix"), "workflows"), "pipelines");
        long total = 0, ok = 0;
        size_t i;
        json_t *p;
        json_array_foreach(list, i, p) {
                total++;
                ok += str(p, "phase") && strcmp(str(p, "phase"), "Succeeded") == 0;
        }
        if (total)
                json_object_set_new(row, "pipelines", json_pack("{s:I, s:I}", "succeeded", (json_int_t)ok, "total",
                                                                (json_int_t)total));
        return row;
}

struct view {
        const struct get_args *a;
        bool namespaces, kinds, color, tty;
        int width;
        json_t *rows;            /* array of rows, kept sorted for the terminal */
        json_t *objects;         /* the objects, in the server's order (-o json..., --sort-by); else NULL */
        struct object_printer printer;
        size_t printed;          /* objects printed under -w */
        struct kstatus_buf missing; /* the NotFound errors of names asked for */
        struct text_table table; /* the layout of the first print (lines after it follow its widths) */
        size_t lines;            /* lines drawn on the terminal */
        const struct target *targets;
        size_t n_targets;
        int64_t now;
};

/* --output-watch-events on a table: an EVENT column first. */
static bool event_column(const struct view *v) {
        return v->a->watch && v->a->watch_events && v->a->output <= GET_WIDE;
}

static size_t n_columns(const struct view *v) {
        return 5 + event_column(v) + v->namespaces + (v->a->output == GET_WIDE ? 2 : 0) + v->a->n_label_columns + v->a->show_labels;
}

/* -L's header: the key's last path segment in capitals, as kubectl's. */
static char *label_header(const char *key) {
        const char *slash = strrchr(key, '/');
        char *h = xstrdup(slash ? slash + 1 : key);
        for (char *p = h; *p; p++)
                *p = (char)toupper((unsigned char)*p);
        return h;
}

static void add_header(struct view *v, struct text_table *t) {
        size_t n = 0, cols = n_columns(v);
        _cleanup_free_ const char **cells = xcalloc(cols, sizeof(char *));
        _cleanup_free_ char **owned = xcalloc(v->a->n_label_columns + 1, sizeof(char *));
        if (event_column(v))
                cells[n++] = "EVENT";
        if (v->namespaces)
                cells[n++] = "NAMESPACE";
        cells[n++] = "NAME";
        cells[n++] = "MESSAGE";
        cells[n++] = "CONFIGURED";
        cells[n++] = "HEALTH";
        cells[n++] = "AGE";
        if (v->a->output == GET_WIDE) {
                cells[n++] = "GENERATION";
                cells[n++] = "PIPELINES";
        }
        for (size_t i = 0; i < v->a->n_label_columns; i++)
                cells[n++] = owned[i] = label_header(v->a->label_columns[i]);
        if (v->a->show_labels)
                cells[n++] = "LABELS";
        text_table_add(t, cells, NULL);
        for (size_t i = 0; i < v->a->n_label_columns; i++)
                free(owned[i]);
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* labels.FormatLabels: k=v,k=v in key order, "<none>" when there are none. */
static char *format_labels(const json_t *labels) {
        size_t n = json_object_size(labels), i = 0;
        if (n == 0)
                return xstrdup("<none>");
        _cleanup_free_ const char **keys = xcalloc(n, sizeof(char *));
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)labels, k, x) keys[i++] = k;
        qsort(keys, n, sizeof(char *), cmp_str);
        struct kstatus_buf b = { 0 };
        for (i = 0; i < n; i++) {
                _cleanup_free_ char *kv = xasprintf("%s%s=%s", i ? "," : "", keys[i],
                                                    str(labels, keys[i]) ?: "");
                kstatus_buf_put(&b, kv, strlen(kv));
        }
        return b.data;
}

static const char *configured_color(const json_t *row) {
        const char *s = str(json_object_get(row, "workflow"), "state");
        return !s ? NULL : strcmp(s, "Completed") == 0 ? C_GREEN : strcmp(s, "Failed") == 0 ? C_RED
                                                     : strcmp(s, "InProgress") == 0 ? C_YELLOW : NULL;
}

static const char *health_color(const char *state) {
        int r = state ? kstatus_health_rank(state) : 0;
        return r == 0 ? NULL : r >= 4 ? C_GREEN : r >= 2 ? C_YELLOW : C_RED; /* degraded and unknown are warnings */
}

/* GENERATION and PIPELINES of -o wide (new strings). */
static void wide_cells(const json_t *row, char **gen, char **pipes) {
        json_t *g = json_object_get(row, "generation"), *og = json_object_get(row, "observedGeneration");
        if (json_is_integer(g) && json_is_integer(og))
                *gen = xasprintf("%lld/%lld%s", (long long)json_integer_value(g), (long long)json_integer_value(og),
                                 json_integer_value(og) < json_integer_value(g) ? " (stale)" : "");
        else if (json_is_integer(g))
                *gen = xasprintf("%lld", (long long)json_integer_value(g));
        json_t *p = json_object_get(row, "pipelines");
        if (p)
                *pipes = xasprintf("%lld/%lld", (long long)json_integer_value(json_object_get(p, "succeeded")),
                                   (long long)json_integer_value(json_object_get(p, "total")));
}

static void add_row(struct view *v, struct text_table *t, const json_t *row) {
        size_t n = 0, cols = n_columns(v);
        _cleanup_free_ const char **cells = xcalloc(cols, sizeof(char *));
        _cleanup_free_ const char **colors = xcalloc(cols, sizeof(char *));
        _cleanup_free_ char *gen = NULL, *pipes = NULL, *labels = NULL;
        if (event_column(v))
                cells[n++] = str(row, "event") ?: "ADDED";
        if (v->namespaces)
                cells[n++] = str(row, "namespace") ?: "";
        cells[n++] = v->kinds ? str(row, "ref") : str(row, "name");
        cells[n++] = str(row, "message") ?: "";
        colors[n] = configured_color(row);
        cells[n++] = str(row, "configured");
        colors[n] = health_color(str(row, "health"));
        cells[n++] = str(row, "health") ?: "-";
        cells[n++] = str(row, "age") ?: "<unknown>";
        if (v->a->output == GET_WIDE) {
                wide_cells(row, &gen, &pipes);
                cells[n++] = gen ? gen : "-";
                cells[n++] = pipes ? pipes : "-";
        }
        for (size_t i = 0; i < v->a->n_label_columns; i++)
                cells[n++] = str(json_object_get(row, "labels"), v->a->label_columns[i]) ?: "";
        if (v->a->show_labels)
                cells[n++] = labels = format_labels(json_object_get(row, "labels"));
        text_table_add(t, cells, colors);
}

static int row_cmp(const json_t *a, const json_t *b) {
        int c = strcmp(str(a, "namespace") ?: "", str(b, "namespace") ?: "");
        if (!c)
                c = strcmp(str(a, "ref"), str(b, "ref"));
        return c;
}

static bool row_of_target(const json_t *row, const struct target *t) {
        _cleanup_free_ char *api = *t->res.group ? xasprintf("%s/%s", t->res.group, t->res.version)
                                                 : xstrdup(t->res.version);
        return strcmp(str(row, "kind") ?: "", t->res.kind ?: "") == 0 && strcmp(str(row, "apiVersion") ?: "", api) == 0;
}

/* Print the rows as one table: all of them (t NULL), or those of one type. */
static size_t print_one_table(struct view *v, const struct target *t) {
        text_table_done(&v->table);
        text_table_init(&v->table, n_columns(v), 1 + event_column(v) + v->namespaces);
        size_t i, n = 0;
        json_t *row;
        json_array_foreach(v->rows, i, row) n += !t || row_of_target(row, t);
        if (n == 0 && t)
                return 0;
        if (!v->a->no_headers)
                add_header(v, &v->table);
        json_array_foreach(v->rows, i, row) if (!t || row_of_target(row, t)) add_row(v, &v->table, row);
        return text_table_print(stdout, &v->table, v->width, v->a->output == GET_WIDE, v->color);
}

/* Print every row (the first print, or a terminal redraw): one table, or with
 * several types and no watch one table per type, a blank line between, as kubectl. */
static void print_table(struct view *v) {
        if (v->n_targets < 2 || v->a->watch || v->a->sort_by) {
                v->lines = print_one_table(v, NULL);
                return;
        }
        v->lines = 0;
        for (size_t i = 0; i < v->n_targets; i++) {
                if (v->lines) {
                        bool any = false;
                        size_t k;
                        json_t *row;
                        json_array_foreach(v->rows, k, row) any |= row_of_target(row, &v->targets[i]);
                        if (any) {
                                fputc('\n', stdout);
                                v->lines++;
                        }
                }
                v->lines += print_one_table(v, &v->targets[i]);
        }
}

/* The objects as -o json|yaml|jsonpath|custom-columns print them: the object
 * itself when one name was asked for, else a List. Returns 0 or EXIT_FAILED. */
static int print_objects(struct view *v, bool single) {
        _cleanup_json_ json_t *doc = single && json_array_size(v->objects) == 1
                                             ? json_incref(json_array_get(v->objects, 0))
                                             : objects_list(v->objects);
        struct kstatus_buf out = { 0 };
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int r = object_printer_print(&v->printer, doc, &out, &err);
        if (out.data)
                fwrite(out.data, 1, out.len, stdout);
        free(out.data);
        if (r < 0) {
                fflush(stdout);
                _cleanup_free_ char *safe = escape_for_terminal(err.message);
                return fail("%s", safe);
        }
        return 0;
}

/* Returns 0, or EXIT_FAILED when the YAML could not be printed or stdout
 * failed (main() says how when it closes stdout). */
static int print_rows(struct view *v, bool single) {
        int r = 0;
        if (v->a->output == GET_OBJECTS) {
                r = print_objects(v, single);
        } else if (v->a->output == GET_NAME) {
                size_t i;
                json_t *row;
                json_array_foreach(v->rows, i, row) puts(str(row, "ref"));
        } else if (v->a->output == GET_KSTATUS_JSON || v->a->output == GET_KSTATUS_YAML) {
                _cleanup_json_ json_t *doc = json_pack("{s:s, s:s, s:O}", "apiVersion", "kstatus.syntasso.io/v1",
                                                       "kind", "GetList", "items", v->rows);
                r = print_json_value(doc, v->a->output == GET_KSTATUS_JSON ? OUTPUT_JSON : OUTPUT_YAML);
        } else
                print_table(v);
        if (flush_stdout() < 0)
                r = EXIT_FAILED;
        return r;
}

/* Replace (or add, or with row NULL remove) the row with row's key. */
static void upsert(json_t *rows, json_t *row, const json_t *key) {
        /* Lists come sorted by namespace and name: appending is the common case,
         * and checking it first keeps building 10 000 rows linear, not quadratic. */
        size_t n = json_array_size(rows);
        if (row && (n == 0 || row_cmp(json_array_get(rows, n - 1), key) < 0)) {
                json_array_append(rows, row);
                return;
        }
        size_t i;
        json_t *x;
        json_array_foreach(rows, i, x) {
                int c = row_cmp(x, key);
                if (c == 0) {
                        if (row)
                                json_array_set(rows, i, row);
                        else
                                json_array_remove(rows, i);
                        return;
                }
                if (c > 0)
                        break;
        }
        if (row)
                json_array_insert(rows, i, row);
}

struct watch_ctx {
        struct view *v;
        const struct target *t;
        char *const *names; /* NULL: all */
};

static bool wanted(const struct watch_ctx *w, const json_t *obj) {
        if (!w->names || !*w->names)
                return true;
        const char *name = str(json_object_get(obj, "metadata"), "name");
        for (char *const *n = w->names; *n; n++)
                if (name && strcmp(*n, name) == 0)
                        return true;
        return false;
}

/* One object under -w with an object printer, as kubectl prints each change:
 * YAML documents after the first behind "---", --output-watch-events wraps
 * it as {"type": ..., "object": ...}. Returns 0 or EXIT_FAILED. */
static int print_watched(struct view *v, const char *type, const json_t *obj) {
        _cleanup_json_ json_t *doc = v->a->watch_events ? json_pack("{s:s, s:O}", "type", type, "object", obj)
                                                        : json_incref((json_t *)obj);
        if (v->printer.format == OBJECT_YAML && v->printed++)
                fputs("---\n", stdout);
        if (v->printer.format == OBJECT_JSON && v->a->watch_events) {
                /* kubectl writes a watch event on one line, type first */
                _cleanup_json_ json_t *t = json_string(type);
                _cleanup_free_ char *text = kstatus_json_dump(obj, true), *qtype = kstatus_json_dump(t, true);
                printf("{\"type\":%.*s,\"object\":%.*s}\n", (int)strlen(qtype) - 1, qtype, (int)strlen(text) - 1, text);
                return 0;
        }
        struct kstatus_buf out = { 0 };
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int r = object_printer_print(&v->printer, doc, &out, &err);
        if (out.data)
                fwrite(out.data, 1, out.len, stdout);
        free(out.data);
        if (r < 0) {
                _cleanup_free_ char *safe = escape_for_terminal(err.message);
                return fail("%s", safe);
        }
        return 0;
}

/* Returns 0, or EXIT_FAILED when stdout failed (a full disk, a closed pipe):
 * nothing more can be shown, so the watch stops and main() reports why. */
static int on_change(struct watch_ctx *w, const char *type, const json_t *obj) {
        struct view *v = w->v;
        _cleanup_json_ json_t *row = row_of(obj, w->t, plugin_now());
        upsert(v->rows, strcmp(type, "DELETED") == 0 ? NULL : row, row);
        if (v->a->output == GET_NAME) {
                puts(str(row, "ref"));
        } else if (v->a->output == GET_OBJECTS) {
                if (print_watched(v, type, obj))
                        return EXIT_FAILED;
        } else if (v->a->output == GET_KSTATUS_JSON || v->a->output == GET_KSTATUS_YAML) {
                /* kubectl -w -o json prints one object per change. */
                if (v->a->output == GET_KSTATUS_YAML)
                        fputs("---\n", stdout);
                if (print_json_value(row, v->a->output == GET_KSTATUS_JSON ? OUTPUT_JSON : OUTPUT_YAML))
                        return EXIT_FAILED;
        } else if (v->tty) {
                /* Redraw in place: up over what was drawn, clear to the end. */
                if (v->lines)
                        printf("\033[%zuA", v->lines);
                fputs("\r\033[J", stdout);
                print_table(v);
        } else {
                struct text_table *t = &v->table;
                json_object_set_new(row, "event", json_string(type));
                add_row(v, t, row);
                text_table_print_row(stdout, t, t->rows - 1, v->color);
        }
        return flush_stdout() < 0 ? EXIT_FAILED : 0;
}

static int on_event(const char *type, const json_t *obj, void *userdata) {
        struct watch_ctx *w = userdata;
        if (strcmp(type, "RELIST") == 0) {
                size_t i;
                json_t *x;
                int r = 0;
                json_array_foreach(json_object_get(obj, "items"), i, x) if (r == 0 && wanted(w, x))
                        r = on_change(w, "MODIFIED", x);
                return r;
        }
        return wanted(w, obj) ? on_change(w, type, obj) : 0;
}

/* A LIST's pages become rows as they arrive: only the rows are kept, not
 * the objects (10 000 resources would otherwise be held whole). */
struct page_ctx {
        struct view *v;
        const struct target *t;
        char **rv; /* the last page's resourceVersion, for -w */
};

/* An object listed or got: kept whole when the output or --sort-by needs
 * it, else only its row. */
static void keep(struct view *v, const struct target *t, const json_t *obj) {
        if (v->objects) {
                json_array_append(v->objects, (json_t *)obj);
                return;
        }
        _cleanup_json_ json_t *row = row_of(obj, t, v->now);
        upsert(v->rows, row, row);
}

static int on_page(const json_t *page, void *userdata) {
        struct page_ctx *p = userdata;
        struct watch_ctx w = { .t = p->t, .names = p->t->names };
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(page, "items"), i, x) if (wanted(&w, x)) keep(p->v, p->t, x);
        const char *rv = str(json_object_get(page, "metadata"), "resourceVersion");
        if (rv) {
                free(*p->rv);
                *p->rv = xstrdup(rv);
        }
        return 0;
}

/* --field-selector, with metadata.name=NAME in front when one name is
 * listed (for -w). New string or NULL. */
static char *field_selector(const struct get_args *a, const struct target *t) {
        if (t->n_names == 1 && a->field_selector)
                return xasprintf("metadata.name=%s,%s", t->names[0], a->field_selector);
        if (t->n_names == 1)
                return xasprintf("metadata.name=%s", t->names[0]);
        return a->field_selector ? xstrdup(a->field_selector) : NULL;
}

/* The rows (or objects) of one target, added to v: one LIST (or a GET per name).
 * Sets *rv to the List's resourceVersion for -w. Prints errors; returns an
 * exit code. */
static int fetch(struct kube_session *s, const struct get_args *a, const struct target *t, struct view *v,
                 char **rv, int *rc_missing) {
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        const char *ns = a->kube.all_namespaces ? NULL : s->namespace;
        if (t->n_names == 0 || a->watch) {
                _cleanup_free_ char *fs = field_selector(a, t);
                _cleanup_free_ char *path = collection_query(t, ns, a->kube.selector, fs);
                struct page_ctx p = { .v = v, .t = t, .rv = rv };
                int r = kube_client_list(s->client, path, (unsigned)a->chunk_size, on_page, &p, NULL, &err);
                return r < 0 ? api_list_error(t, a->kube.selector, fs, &err) : 0;
        }
        for (size_t i = 0; i < t->n_names; i++) {
                _cleanup_free_ char *path = kube_resource_path(&t->res, ns, t->names[i], NULL);
                _cleanup_json_ json_t *obj = NULL;
                int r = kube_client_get(s->client, path, &obj, &err);
                if (r == -ENOENT && a->ignore_not_found) {
                        kstatus_error_done(&err);
                        continue;
                }
                if (r == -ENOENT) {
                        /* said after what was found, as kubectl does */
                        _cleanup_free_ char *safe = escape_for_terminal(err.message ? err.message : "not found");
                        kstatus_buf_put(&v->missing, safe, strlen(safe));
                        kstatus_buf_put(&v->missing, "\n", 1);
                        kstatus_error_done(&err);
                        *rc_missing = EXIT_API;
                        continue;
                }
                if (r < 0)
                        return api_error(&err);
                keep(v, t, obj);
        }
        return 0;
}

/* --all-kratix: the API of every Promise (spec.api, a CRD; or status.apiVersion/kind). */
static int kratix_targets(struct kube_session *s, struct targets *ret) {
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        _cleanup_json_ json_t *list = NULL;
        int r = kube_client_list(s->client, "/apis/platform.kratix.io/v1alpha1/promises", 500, NULL, NULL, &list,
                                 &err);
        if (r < 0)
                return api_error(&err);
        struct targets ts = { 0 };
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(list, "items"), i, p) {
                json_t *crd = json_object_get(json_object_get(json_object_get(p, "spec"), "api"), "spec");
                const char *group = str(crd, "group"), *plural = str(json_object_get(crd, "names"), "plural");
                struct kube_resource res = { 0 };
                if (group && plural) {
                        _cleanup_free_ char *arg = xasprintf("%s.%s", plural, group);
                        r = kube_discovery_resolve(s->discovery, arg, &res, NULL, &err);
                } else {
                        json_t *st = json_object_get(p, "status");
                        if (!str(st, "apiVersion") || !str(st, "kind"))
                                continue; /* a Promise without an API */
                        r = kube_discovery_resolve_kind(s->discovery, str(st, "apiVersion"), str(st, "kind"), &res,
                                                        &err);
                }
                if (r == -ENOENT) {
                        kstatus_error_done(&err); /* the Promise's CRD is not served (yet) */
                        continue;
                }
                if (r < 0) {
                        targets_free(&ts);
                        return api_error(&err);
                }
                _cleanup_free_ char *q = kube_resource_qualified(&res);
                bool dup = false;
                for (size_t j = 0; j < ts.n; j++)
                        dup |= strcmp(ts.items[j].qualified, q) == 0;
                if (dup) {
                        kube_resource_done(&res);
                        continue;
                }
                ts.items = xrealloc(ts.items, (ts.n + 1) * sizeof(struct target));
                ts.items[ts.n++] = (struct target){ .res = res, .qualified = TAKE_PTR(q),
                                                    .names = xcalloc(1, sizeof(char *)) };
        }
        *ret = ts;
        return 0;
}

#define GET_OUTPUTS                                                                                            \
        "custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,"           \
        "jsonpath-file,kstatus-json,kstatus-yaml,name,template,templatefile,wide,yaml"

static int parse_output(const char *arg, struct get_args *a) {
        static const char *const rows[] = { "wide", "kstatus-json", "kstatus-yaml", "name" };
        static const enum get_output kinds[] = { GET_WIDE, GET_KSTATUS_JSON, GET_KSTATUS_YAML, GET_NAME };
        static const char *const objects[] = { "json",           "yaml",           "jsonpath",      "jsonpath-file",
                                               "jsonpath-as-json", "custom-columns", "custom-columns-file",
                                               "go-template",    "go-template-file", "template",    "templatefile" };
        for (size_t i = 0; i < ELEMENTSOF(rows); i++)
                if (strcmp(arg, rows[i]) == 0) {
                        a->output = kinds[i];
                        return 0;
                }
        size_t n = strcspn(arg, "=");
        for (size_t i = 0; i < ELEMENTSOF(objects); i++)
                if (strlen(objects[i]) == n && strncmp(arg, objects[i], n) == 0 && (i >= 2 || !arg[n])) {
                        a->output = GET_OBJECTS;
                        a->output_arg = arg;
                        return 0;
                }
        return printer_error(arg, GET_OUTPUTS);
}

static void add_label_columns(struct get_args *a, const char *arg) {
        for (const char *s = arg;;) {
                size_t n = strcspn(s, ",");
                a->label_columns = xrealloc(a->label_columns, (a->n_label_columns + 2) * sizeof(char *));
                a->label_columns[a->n_label_columns++] = xstrndup(s, n);
                a->label_columns[a->n_label_columns] = NULL;
                if (!s[n])
                        return;
                s += n + 1;
        }
}

/* --chunk-size, refused in pflag's words (strconv.ParseInt's reasons). */
static int parse_chunk_size(const char *arg, struct get_args *a) {
        int r = parse_int64(arg, 0, UINT32_MAX, &a->chunk_size);
        if (r == 0)
                return 0;
        _cleanup_free_ char *safe = escape_for_terminal(arg);
        fprintf(stderr,
                "Error: invalid argument \"%s\" for \"--chunk-size\" flag: strconv.ParseInt: parsing \"%s\": %s\n"
                "See 'kubectl kstatus get --help' for usage.\n",
                safe, safe, r == -ERANGE ? "value out of range" : "invalid syntax");
        return EXIT_USAGE;
}

static int parse_get_option(int c, const char *arg, struct get_args *a) {
        switch (c) {
        case 'o':
                return parse_output(arg, a);
        case 'L':
                add_label_columns(a, arg);
                return 0;
        case 3000:
                a->no_headers = flag_true(arg);
                return 0;
        case 'w':
                a->watch = flag_true(arg);
                return 0;
        case 3001:
                a->all_kratix = flag_true(arg);
                return 0;
        case 3002:
                a->show_labels = flag_true(arg);
                return 0;
        case 3003:
                a->show_kind = flag_true(arg);
                return 0;
        case 3004:
                a->sort_by = arg;
                return 0;
        case 3005:
                a->field_selector = arg;
                return 0;
        case 3006:
                a->ignore_not_found = flag_true(arg);
                return 0;
        case 3007:
                return parse_chunk_size(arg, a);
        case 3008:
                a->watch_only = flag_true(arg);
                a->watch |= a->watch_only;
                return 0;
        case 3009:
                a->watch_events = flag_true(arg);
                return 0;
        default:
                return kube_args_option(&a->kube, c, arg) < 0 ? EXIT_USAGE : 0;
        }
}

static int parse_args(int argc, char **argv, struct get_args *a) {
        static const struct option options[] = {
                { "output", required_argument, NULL, 'o' },
                { "no-headers", no_argument, NULL, 3000 },
                { "watch", no_argument, NULL, 'w' },
                { "all-kratix", no_argument, NULL, 3001 },
                { "show-labels", no_argument, NULL, 3002 },
                { "label-columns", required_argument, NULL, 'L' },
                { "show-kind", no_argument, NULL, 3003 },
                { "sort-by", required_argument, NULL, 3004 },
                { "field-selector", required_argument, NULL, 3005 },
                { "ignore-not-found", no_argument, NULL, 3006 },
                { "chunk-size", required_argument, NULL, 3007 },
                { "watch-only", no_argument, NULL, 3008 },
                { "output-watch-events", no_argument, NULL, 3009 },
                KUBE_ARGS_OPTIONS,
                {},
        };
        int c;
        a->chunk_size = 500;
        _cleanup_(flags_done) struct flags fl = { 0 };
        while ((c = flags_next(&fl, argc, argv, "o:wL:" KUBE_ARGS_SHORT, options)) >= 0) {
                if (c == '?')
                        return EXIT_USAGE;
                int r = parse_get_option(c, optarg, a);
                if (r)
                        return r;
        }
        return 0;
}

static int run_watch(struct kube_session *s, struct view *v, struct targets *ts, char **rvs) {
        const char *ns = v->a->kube.all_namespaces ? NULL : s->namespace;
        _cleanup_free_ struct kube_watch **ws = xcalloc(ts->n, sizeof(struct kube_watch *));
        _cleanup_free_ struct watch_ctx *ctx = xcalloc(ts->n, sizeof(struct watch_ctx));
        int rc = 0;
        for (size_t i = 0; i < ts->n && !rc; i++) {
                const struct target *t = &ts->items[i];
                _cleanup_free_ char *fs = field_selector(v->a, t);
                _cleanup_free_ char *path = collection_query(t, ns, v->a->kube.selector, fs);
                ctx[i] = (struct watch_ctx){ .v = v, .t = t, .names = t->names };
                _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
                if (kube_watch_new(s->client, path, rvs[i], on_event, &ctx[i], &ws[i], &e) < 0) {
                        _cleanup_free_ char *safe = escape_for_terminal(e.message);
                        fprintf(stderr, "error: %s\n", safe);
                        rc = EXIT_API;
                }
        }
        if (!rc) {
                _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
                int r = watch_all(ws, ts->n, -1, &err);
                rc = r < 0 ? api_error(&err) : r;
        }
        for (size_t i = 0; i < ts->n; i++)
                kube_watch_free(ws[i]);
        return rc;
}

/* --sort-by, then the rows of the objects kept for it. Returns 0 or EXIT_FAILED. */
static int sort_objects(struct view *v, const struct target *targets, size_t n) {
        if (v->a->sort_by && json_array_size(v->objects)) {
                _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
                if (objects_sort(v->objects, v->a->sort_by, &err) < 0) {
                        _cleanup_free_ char *safe = escape_for_terminal(err.message);
                        return fail("%s", safe);
                }
        }
        if (v->a->output == GET_OBJECTS)
                return 0;
        size_t i;
        json_t *obj;
        json_array_foreach(v->objects, i, obj) {
                const struct target *t = &targets[0];
                for (size_t k = 0; k < n; k++) /* the object's type, by kind and apiVersion */
                        if (strcmp(str(obj, "kind") ?: "", targets[k].res.kind ?: "") == 0)
                                t = &targets[k];
                json_array_append_new(v->rows, row_of(obj, t, v->now));
        }
        return 0;
}

/* What is printed before -w's changes: the list (or, --watch-only, only a
 * table's header). Returns an exit code. */
static int show_list(struct kube_session *s, struct view *v, const struct targets *ts, bool named, bool single) {
        const struct get_args *a = v->a;
        size_t n = v->objects ? json_array_size(v->objects) : json_array_size(v->rows);
        if (n == 0 && !named && a->output != GET_OBJECTS)
                print_no_resources(s, &a->kube, ts);
        if (a->watch && a->output == GET_OBJECTS) {
                size_t i;
                json_t *obj;
                int r = 0;
                json_array_foreach(v->objects, i, obj) if (!r && !a->watch_only) r = print_watched(v, "ADDED", obj);
                return r ? r : flush_stdout() < 0 ? EXIT_FAILED : 0;
        }
        if (a->watch_only && a->output <= GET_WIDE) {
                _cleanup_json_ json_t *rows = TAKE_PTR(v->rows);
                v->rows = json_array();
                if (!a->no_headers)
                        print_table(v); /* the header alone, so the changes line up under it */
                json_decref(v->rows);
                v->rows = TAKE_PTR(rows);
                return 0;
        }
        if (a->watch_only)
                return 0;
        if (n || a->output == GET_OBJECTS || (a->watch && !a->no_headers && a->output <= GET_WIDE && v->tty))
                return print_rows(v, single);
        if (a->watch && a->output <= GET_WIDE)
                print_table(v); /* the header, so lines after it line up */
        return 0;
}

/* The printer of -o json|yaml|jsonpath|custom-columns; prints kubectl's error. */
static int make_printer(const struct get_args *a, struct object_printer *p) {
        if (a->output != GET_OBJECTS)
                return 0;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        /* The template is the user's own text: said as given, as kubectl does. */
        if (object_printer_init(p, a->output_arg, a->no_headers, &err) < 0)
                return fail("%s", err.message);
        p->escape = isatty(STDOUT_FILENO);
        return 0;
}

static void get_args_done(struct get_args *a) {
        for (size_t i = 0; i < a->n_label_columns; i++)
                free(a->label_columns[i]);
        free(a->label_columns);
}

/* targets_parse(), and kubectl's "TYPE,TYPE [NAME...]": each type in turn,
 * with the same names. */
static int parse_types(struct kube_session *s, char **args, int n, struct targets *ret) {
        if (n == 0 || strchr(args[0], '/') || !strchr(args[0], ','))
                return targets_parse(s, args, n, ret);
        _cleanup_free_ char **argv = xcalloc((size_t)n + 1, sizeof(char *));
        memcpy(argv, args, (size_t)n * sizeof(char *));
        struct targets ts = { 0 };
        for (const char *p = args[0];;) {
                size_t len = strcspn(p, ",");
                _cleanup_free_ char *type = xstrndup(p, len);
                if (len) {
                        struct targets one = { 0 };
                        argv[0] = type;
                        int r = targets_parse(s, argv, n, &one);
                        if (r) {
                                targets_free(&ts);
                                return r;
                        }
                        ts.items = xrealloc(ts.items, (ts.n + one.n) * sizeof(struct target));
                        memcpy(ts.items + ts.n, one.items, one.n * sizeof(struct target));
                        ts.n += one.n;
                        free(one.items);
                }
                if (!p[len])
                        break;
                p += len + 1;
        }
        *ret = ts;
        return 0;
}

static int get(struct get_args *a, char **args, int n_args, struct object_printer *printer) {
        _cleanup_(kube_session_close) struct kube_session s = { 0 };
        int rc = kube_session_open(&a->kube, &s);
        if (rc)
                return rc;
        _cleanup_(targets_free) struct targets ts = { 0 };
        rc = a->all_kratix ? kratix_targets(&s, &ts) : parse_types(&s, args, n_args, &ts);
        if (rc)
                return rc;
        bool named;
        rc = targets_check_named(&ts, &a->kube, &named);
        if (rc)
                return rc;
        size_t names = 0;
        for (size_t i = 0; i < ts.n; i++)
                names += ts.items[i].n_names;

        struct view v = {
                .a = a,
                .namespaces = a->kube.all_namespaces,
                .kinds = ts.n > 1 || a->all_kratix || a->show_kind,
                .color = use_color(a->kube.color),
                .tty = isatty(STDOUT_FILENO),
                .width = terminal_width(),
                .rows = json_array(),
                .objects = a->output == GET_OBJECTS || a->sort_by ? json_array() : NULL,
                .printer = *printer,
                .targets = ts.items,
                .n_targets = ts.n,
                .now = plugin_now(),
        };
        char **rvs = xcalloc(ts.n ? ts.n : 1, sizeof(char *));
        int rc_missing = 0;
        for (size_t i = 0; i < ts.n && !rc; i++)
                rc = fetch(&s, a, &ts.items[i], &v, &rvs[i], &rc_missing);
        if (!rc && v.objects)
                rc = sort_objects(&v, ts.items, ts.n);
        if (!rc)
                rc = show_list(&s, &v, &ts, named, names == 1 && !a->all_kratix);
        if (v.missing.len) {
                fflush(stdout);
                fputs(v.missing.data, stderr);
        }
        free(v.missing.data);
        if (!rc && a->watch)
                rc = run_watch(&s, &v, &ts, rvs);
        for (size_t i = 0; i < ts.n; i++)
                free(rvs[i]);
        free(rvs);
        text_table_done(&v.table);
        json_decref(v.rows);
        json_decref(v.objects);
        *printer = v.printer;
        return rc ? rc : rc_missing;
}

static int run_get(int argc, char **argv) {
        _cleanup_(get_args_done) struct get_args a = { 0 };
        int rc = parse_args(argc, argv, &a);
        if (rc)
                return rc;
        if (optind >= argc && !a.all_kratix)
                return usage_error("you must specify the type of resource to get, e.g. \"kubectl kstatus get "
                                   "databases\", or --all-kratix");
        if (optind < argc && a.all_kratix)
                return usage_error("--all-kratix lists every Promise's resources: give no TYPE with it");
        _cleanup_(object_printer_done) struct object_printer printer = { 0 };
        rc = make_printer(&a, &printer);
        if (rc)
                return rc;
        return get(&a, argv + optind, argc - optind, &printer);
}

int cmd_get(int argc, char **argv) {
        /* kubectl get exits 1 on every error (README's table of differences). */
        return run_get(argc, argv) ? EXIT_FAILED : EXIT_MET;
}
