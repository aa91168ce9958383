/* kubectl kstatus get: one row per resource (NAME, MESSAGE, CONFIGURED,
 * HEALTH, AGE), from one LIST per type (or one GET per name), and -w through
 * watches: a terminal gets the table redrawn in place, anything else one line
 * per change. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "conditions.h"
#include "describe.h"
#include "health.h"
#include "kube-args.h"
#include "kube/watch.h"

const char get_usage[] =
        "List resources with the status Kratix pipelines reported: the message, the workflow verdict\n"
        "(CONFIGURED), health and age.\n"
        "\n"
        "Usage:\n"
        "  kubectl kstatus get TYPE[/NAME] [NAME...] [-l SELECTOR] [-n NS|-A] [-o wide|json|yaml|name] [options]\n"
        "  kubectl kstatus get --all-kratix [-A]\n"
        "\n"
        "Examples:\n"
        "  kubectl kstatus get databases -A\n"
        "  kubectl kstatus get db example -w\n"
        "  kubectl kstatus get --all-kratix -A -o wide\n"
        "\n"
        "Options:\n"
        "  -o, --output=wide|json|yaml|name   wide adds GENERATION and PIPELINES and never cuts the message\n"
        "      --no-headers                   no header line\n"
        "  -w, --watch                        after the list, show every change (a terminal redraws the table)\n"
        "      --all-kratix                   every resource of every Promise\n" KUBE_ARGS_USAGE;

enum get_output { GET_TABLE, GET_WIDE, GET_JSON, GET_YAML, GET_NAME };

struct get_args {
        struct kube_args kube;
        enum get_output output;
        bool no_headers, watch, all_kratix;
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

/* One row as the documented structure -o json/yaml prints:
 * {kind, apiVersion, namespace, name, ref, message, configured, workflow, health,
 *  created, age, generation, observedGeneration, pipelines: {succeeded, total}}. */
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
        struct text_table table; /* the layout of the first print (lines after it follow its widths) */
        size_t lines;            /* lines drawn on the terminal */
        const struct target *targets;
        size_t n_targets;
        int64_t now;
};

static size_t n_columns(const struct view *v) {
        return 5 + v->namespaces + (v->a->output == GET_WIDE ? 2 : 0);
}

static void add_header(struct view *v, struct text_table *t) {
        const char *cells[9];
        size_t n = 0;
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
        text_table_add(t, cells, NULL);
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

static void add_row(struct view *v, struct text_table *t, const json_t *row) {
        const char *cells[9] = { 0 }, *colors[9] = { 0 };
        size_t n = 0;
        _cleanup_free_ char *gen = NULL, *pipes = NULL;
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
                json_t *g = json_object_get(row, "generation"), *og = json_object_get(row, "observedGeneration");
                if (json_is_integer(g) && json_is_integer(og))
                        gen = xasprintf("%lld/%lld%s", (long long)json_integer_value(g),
                                        (long long)json_integer_value(og),
                                        json_integer_value(og) < json_integer_value(g) ? " (stale)" : "");
                else if (json_is_integer(g))
                        gen = xasprintf("%lld", (long long)json_integer_value(g));
                json_t *p = json_object_get(row, "pipelines");
                if (p)
                        pipes = xasprintf("%lld/%lld", (long long)json_integer_value(json_object_get(p, "succeeded")),
                                          (long long)json_integer_value(json_object_get(p, "total")));
                cells[n++] = gen ? gen : "-";
                cells[n++] = pipes ? pipes : "-";
        }
        text_table_add(t, cells, colors);
}

static int row_cmp(const json_t *a, const json_t *b) {
        int c = strcmp(str(a, "namespace") ?: "", str(b, "namespace") ?: "");
        if (!c)
                c = strcmp(str(a, "ref"), str(b, "ref"));
        return c;
}

/* Print every row as a table (the first print, or a terminal redraw). */
static void print_table(struct view *v) {
        text_table_done(&v->table);
        text_table_init(&v->table, n_columns(v), 1 + v->namespaces);
        if (!v->a->no_headers)
                add_header(v, &v->table);
        size_t i;
        json_t *row;
        json_array_foreach(v->rows, i, row) add_row(v, &v->table, row);
        v->lines = text_table_print(stdout, &v->table, v->width, v->a->output == GET_WIDE, v->color);
}

/* Returns 0, or EXIT_FAILED when the YAML could not be printed or stdout
 * failed (main() says how when it closes stdout). */
static int print_rows(struct view *v) {
        int r = 0;
        if (v->a->output == GET_NAME) {
                size_t i;
                json_t *row;
                json_array_foreach(v->rows, i, row) puts(str(row, "ref"));
        } else if (v->a->output == GET_JSON || v->a->output == GET_YAML) {
                _cleanup_json_ json_t *doc = json_pack("{s:s, s:s, s:O}", "apiVersion", "kstatus.syntasso.io/v1",
                                                       "kind", "GetList", "items", v->rows);
                r = print_json_value(doc, v->a->output == GET_JSON ? OUTPUT_JSON : OUTPUT_YAML);
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

/* Returns 0, or EXIT_FAILED when stdout failed (a full disk, a closed pipe):
 * nothing more can be shown, so the watch stops and main() reports why. */
static int on_change(struct watch_ctx *w, const char *type, const json_t *obj) {
        struct view *v = w->v;
        _cleanup_json_ json_t *row = row_of(obj, w->t, plugin_now());
        upsert(v->rows, strcmp(type, "DELETED") == 0 ? NULL : row, row);
        if (v->a->output == GET_NAME) {
                puts(str(row, "ref"));
        } else if (v->a->output == GET_JSON || v->a->output == GET_YAML) {
                /* kubectl -w -o json prints one object per change. */
                if (v->a->output == GET_YAML)
                        fputs("---\n", stdout);
                if (print_json_value(row, v->a->output == GET_JSON ? OUTPUT_JSON : OUTPUT_YAML))
                        return EXIT_FAILED;
        } else if (v->tty) {
                /* Redraw in place: up over what was drawn, clear to the end. */
                if (v->lines)
                        printf("\033[%zuA", v->lines);
                fputs("\r\033[J", stdout);
                print_table(v);
        } else {
                struct text_table *t = &v->table;
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

static int on_page(const json_t *page, void *userdata) {
        struct page_ctx *p = userdata;
        struct watch_ctx w = { .t = p->t, .names = p->t->names };
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(page, "items"), i, x) {
                if (!wanted(&w, x))
                        continue;
                _cleanup_json_ json_t *row = row_of(x, p->t, p->v->now);
                upsert(p->v->rows, row, row);
        }
        const char *rv = str(json_object_get(page, "metadata"), "resourceVersion");
        if (rv) {
                free(*p->rv);
                *p->rv = xstrdup(rv);
        }
        return 0;
}

/* The rows of one target, added to v->rows: one LIST (or a GET per name).
 * Sets *rv to the List's resourceVersion for -w. Prints errors; returns an
 * exit code. */
static int fetch(struct kube_session *s, const struct get_args *a, const struct target *t, struct view *v,
                 char **rv, int *rc_missing) {
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        const char *ns = a->kube.all_namespaces ? NULL : s->namespace;
        if (t->n_names == 0 || a->watch) {
                _cleanup_free_ char *fs = t->n_names == 1 ? xasprintf("metadata.name=%s", t->names[0]) : NULL;
                _cleanup_free_ char *path = collection_query(t, ns, a->kube.selector, fs);
                struct page_ctx p = { .v = v, .t = t, .rv = rv };
                int r = kube_client_list(s->client, path, 500, on_page, &p, NULL, &err);
                return r < 0 ? api_list_error(t, a->kube.selector, fs, &err) : 0;
        }
        for (size_t i = 0; i < t->n_names; i++) {
                _cleanup_free_ char *path = kube_resource_path(&t->res, ns, t->names[i], NULL);
                _cleanup_json_ json_t *obj = NULL;
                int r = kube_client_get(s->client, path, &obj, &err);
                if (r == -ENOENT) {
                        *rc_missing = api_error(&err);
                        continue;
                }
                if (r < 0)
                        return api_error(&err);
                _cleanup_json_ json_t *row = row_of(obj, t, v->now);
                upsert(v->rows, row, row);
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

static int parse_args(int argc, char **argv, struct get_args *a) {
        static const struct option options[] = {
                { "output", required_argument, NULL, 'o' },
                { "no-headers", no_argument, NULL, 3000 },
                { "watch", no_argument, NULL, 'w' },
                { "all-kratix", no_argument, NULL, 3001 },
                KUBE_ARGS_OPTIONS,
                {},
        };
        int c;
        _cleanup_(flags_done) struct flags fl = { 0 };
        while ((c = flags_next(&fl, argc, argv, "o:w" KUBE_ARGS_SHORT, options)) >= 0) {
                switch (c) {
                case 'o': {
                        static const char *const names[] = { "wide", "json", "yaml", "name" };
                        bool found = false;
                        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                                if (strcmp(optarg, names[i]) == 0) {
                                        a->output = (enum get_output)(i + 1);
                                        found = true;
                                }
                        if (!found)
                                return printer_error(optarg, "json,name,wide,yaml");
                        break;
                }
                case 3000:
                        a->no_headers = flag_true(optarg);
                        break;
                case 'w':
                        a->watch = flag_true(optarg);
                        break;
                case 3001:
                        a->all_kratix = flag_true(optarg);
                        break;
                case '?':
                        return EXIT_USAGE;
                default:
                        if (kube_args_option(&a->kube, c, optarg) < 0)
                                return EXIT_USAGE;
                }
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
                _cleanup_free_ char *fs = t->n_names == 1 ? xasprintf("metadata.name=%s", t->names[0]) : NULL;
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

static int run_get(int argc, char **argv) {
        struct get_args a = { 0 };
        int rc = parse_args(argc, argv, &a);
        if (rc)
                return rc;
        if (optind >= argc && !a.all_kratix)
                return usage_error("you must specify the type of resource to get, e.g. \"kubectl kstatus get "
                                   "databases\", or --all-kratix");
        if (optind < argc && a.all_kratix)
                return usage_error("--all-kratix lists every Promise's resources: give no TYPE with it");
        _cleanup_(kube_session_close) struct kube_session s = { 0 };
        rc = kube_session_open(&a.kube, &s);
        if (rc)
                return rc;
        _cleanup_(targets_free) struct targets ts = { 0 };
        rc = a.all_kratix ? kratix_targets(&s, &ts) : targets_parse(&s, argv + optind, argc - optind, &ts);
        if (rc)
                return rc;
        bool named;
        rc = targets_check_named(&ts, &a.kube, &named);
        if (rc)
                return rc;

        struct view v = {
                .a = &a,
                .namespaces = a.kube.all_namespaces,
                .kinds = ts.n > 1 || a.all_kratix,
                .color = use_color(a.kube.color),
                .tty = isatty(STDOUT_FILENO),
                .width = terminal_width(),
                .rows = json_array(),
                .targets = ts.items,
                .n_targets = ts.n,
                .now = plugin_now(),
        };
        char **rvs = xcalloc(ts.n ? ts.n : 1, sizeof(char *));
        int rc_missing = 0;
        for (size_t i = 0; i < ts.n && !rc; i++)
                rc = fetch(&s, &a, &ts.items[i], &v, &rvs[i], &rc_missing);
        if (!rc) {
                if (json_array_size(v.rows) == 0 && !named && a.output != GET_JSON && a.output != GET_YAML)
                        print_no_resources(&s, &a.kube, &ts);
                if (json_array_size(v.rows) || a.output == GET_JSON || a.output == GET_YAML ||
                    (a.watch && !a.no_headers && a.output <= GET_WIDE && v.tty))
                        rc = print_rows(&v);
                else if (a.watch && a.output <= GET_WIDE)
                        print_table(&v); /* the header, so lines after it line up */
                if (a.watch && !rc)
                        rc = run_watch(&s, &v, &ts, rvs);
        }
        for (size_t i = 0; i < ts.n; i++)
                free(rvs[i]);
        free(rvs);
        text_table_done(&v.table);
        json_decref(v.rows);
        return rc ? rc : rc_missing;
}

int cmd_get(int argc, char **argv) {
        /* kubectl get exits 1 on every error (README's table of differences). */
        return run_get(argc, argv) ? EXIT_FAILED : EXIT_MET;
}
