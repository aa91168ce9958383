/* kubectl kstatus trace TYPE/NAME: the tree from a resource down to where its
 * output landed (related.c builds it), with a status per node and the path to
 * every failing node called out (docs/BEHAVIOUR.md §8).
 *
 * Requests: one GET of the object and of its Promise, then one LIST per kind
 * (ResourceBindings, PromiseRevisions, Jobs, Pods, Works, WorkPlacements,
 * Destinations), narrowed by label selectors. The client sends one request at
 * a time over its one connection (common/kube/client.c: one easy handle), so
 * the LISTs go one after the other; their number does not grow with the
 * number of Works or WorkPlacements. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kube-args.h"
#include "pipeline.h"
#include "related.h"

#define KRATIX_API "/apis/platform.kratix.io/v1alpha1"

const char trace_usage[] =
        "Show the tree from a resource down: its Promise and bound revision, its pipelines (Jobs, Pods,\n"
        "containers), the Works they wrote, each Work's WorkPlacements and their Destinations, with a status\n"
        "per node (Ready, InProgress, Suspended, Misplaced, Failed) and the path to every failing node.\n"
        "\n"
        "Usage:\n"
        "  kubectl kstatus trace TYPE/NAME [-n NS] [-o wide|json|yaml] [options]\n"
        "\n"
        "Examples:\n"
        "  kubectl kstatus trace iam/example\n"
        "  kubectl kstatus trace promise/iam -o wide\n"
        "\n"
        "Exit status: 0 nothing failed, 3 something in the tree failed or is misplaced, 1 an API error.\n"
        "\n"
        "Options:\n"
        "  -o, --output=wide|json|yaml        wide adds ages, generations and ids; json/yaml the model\n" KUBE_ARGS_USAGE;

struct trace_args {
        struct kube_args kube;
        enum output_format format;
        bool wide;
};

/* The fetched objects; NULL where a kind is not served or not readable. */
struct trace_data {
        json_t *object, *promise, *revision, *jobs, *pods, *works, *placements, *destinations;
        char *version;
};

static void trace_data_done(struct trace_data *d) {
        json_t *all[] = { d->object, d->promise, d->revision, d->jobs, d->pods, d->works, d->placements, d->destinations };
        for (size_t i = 0; i < ELEMENTSOF(all); i++)
                json_decref(all[i]);
        free(d->version);
}

/* GET or LIST path; a kind that is not served (404) or not readable (403:
 * requesters often cannot read platform objects) is left out with a warning
 * for the latter. Returns 0 (with *ret NULL when left out) or an exit code. */
static int fetch(struct kube_session *s, const char *path, bool list, json_t **ret) {
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int r = list ? kube_client_list(s->client, path, 500, NULL, NULL, ret, &err)
                     : kube_client_get(s->client, path, ret, &err);
        if (r == -ENOENT || r == -EACCES) {
                if (r == -EACCES) {
                        _cleanup_free_ char *safe = escape_for_terminal(err.message);
                        fprintf(stderr, "warning: %s\n", safe);
                }
                kstatus_error_done(&err);
                *ret = NULL;
                return 0;
        }
        return r < 0 ? api_error(&err) : 0;
}

static char *with_selector(const char *prefix, const char *ns, const char *plural, const char *selector) {
        _cleanup_free_ char *nse = ns ? kube_escape(ns) : NULL, *sel = selector ? kube_escape(selector) : NULL;
        return xasprintf("%s%s%s/%s%s%s", prefix, nse ? "/namespaces/" : "", nse ? nse : "", plural,
                         sel ? "?labelSelector=" : "", sel ? sel : "");
}

static const char *meta(const json_t *o, const char *key) {
        return json_string_value(json_object_get(json_object_get(o, "metadata"), key));
}

/* The Promise, the ResourceBinding's version and the PromiseRevision it names. */
static int fetch_promise(struct kube_session *s, const char *promise, const char *ns, const char *name,
                         struct trace_data *d) {
        _cleanup_free_ char *ppath = related_promise_path(d->object);
        int rc = fetch(s, ppath, false, &d->promise);
        if (rc)
                return rc;
        _cleanup_free_ char *bsel = xasprintf("kratix.io/promise-name=%s,kratix.io/resource-name=%s", promise, name);
        _cleanup_free_ char *bpath = with_selector(KRATIX_API, ns, "resourcebindings", bsel);
        _cleanup_json_ json_t *bindings = NULL;
        rc = fetch(s, bpath, true, &bindings);
        if (rc || !bindings)
                return rc;
        const char *version = kstatus_binding_version(bindings, json_object_get(d->object, "status"));
        if (!version || json_array_size(json_object_get(bindings, "items")) == 0)
                return 0;
        d->version = xstrdup(version);
        _cleanup_free_ char *rsel = xasprintf("kratix.io/promise-name=%s", promise);
        _cleanup_free_ char *rpath = with_selector(KRATIX_API, NULL, "promiserevisions", rsel);
        _cleanup_json_ json_t *revisions = NULL;
        rc = fetch(s, rpath, true, &revisions);
        if (rc || !revisions)
                return rc;
        const json_t *rev = kstatus_revision_pick(revisions, version);
        d->revision = rev ? json_incref((json_t *)rev) : NULL;
        return 0;
}

static int fetch_all(struct kube_session *s, const struct target *t, const char *name, struct trace_data *d) {
        _cleanup_free_ char *path = kube_resource_path(&t->res, s->namespace, name, NULL);
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        if (kube_client_get(s->client, path, &d->object, &err) < 0)
                return api_error(&err);
        bool is_promise = strcmp(t->res.group, "platform.kratix.io") == 0 && strcmp(t->res.kind, "Promise") == 0;
        const char *ns = t->res.namespaced ? meta(d->object, "namespace") : NULL;
        const char *promise = json_string_value(
                json_object_get(json_object_get(json_object_get(d->object, "metadata"), "labels"), "kratix.io/promise-name"));
        int rc = 0;
        if (!is_promise && promise)
                rc = fetch_promise(s, promise, ns, meta(d->object, "name"), d);
        if (rc)
                return rc;
        bool other_ns;
        const char *wns = related_pipelines_namespace(d->object, is_promise, d->promise, &other_ns);

        _cleanup_free_ char *psel = related_pipeline_selector(d->object, is_promise, other_ns);
        _cleanup_free_ char *jobs = with_selector("/apis/batch/v1", wns, "jobs", psel);
        _cleanup_free_ char *pods = with_selector("/api/v1", wns, "pods", psel);
        if ((rc = fetch(s, jobs, true, &d->jobs)) || (rc = fetch(s, pods, true, &d->pods)))
                return rc;
        _cleanup_free_ char *wsel = related_work_selector(d->object, is_promise, other_ns);
        _cleanup_free_ char *works = with_selector(KRATIX_API, wns, "works", wsel);
        if ((rc = fetch(s, works, true, &d->works)))
                return rc;
        _cleanup_free_ char *wpsel = related_placement_selector(d->works);
        if (!wpsel)
                return 0;
        _cleanup_free_ char *wps = with_selector(KRATIX_API, wns, "workplacements", wpsel);
        _cleanup_free_ char *dests = with_selector(KRATIX_API, NULL, "destinations", NULL);
        if ((rc = fetch(s, wps, true, &d->placements)))
                return rc;
        return fetch(s, dests, true, &d->destinations);
}

/* ---- text ---- */

#define C_GREEN "\033[32m"
#define C_RED "\033[31m"
#define C_YELLOW "\033[33m"

static const char *status_color(const char *s) {
        if (related_status_is_problem(s))
                return C_RED;
        return s && strcmp(s, "Ready") == 0 ? C_GREEN : C_YELLOW;
}

static const char *jstr(const json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

static char *node_message(const json_t *n) {
        const char *r = jstr(n, "reason"), *m = jstr(n, "message");
        return xasprintf("%s%s%s", r ? r : "", r && m ? ": " : "", m ? m : "");
}

static char *node_generation(const json_t *n) {
        json_t *g = json_object_get(n, "generation"), *og = json_object_get(n, "observedGeneration");
        if (!g)
                g = json_object_get(n, "workGeneration");
        if (!json_is_integer(g))
                return xstrdup("-");
        if (json_is_integer(og))
                return xasprintf("%lld/%lld", (long long)json_integer_value(og), (long long)json_integer_value(g));
        return xasprintf("%lld", (long long)json_integer_value(g));
}

static void add_rows(struct text_table *t, const json_t *n, const char *prefix, bool last, bool root, bool wide) {
        _cleanup_free_ char *name = xasprintf("%s%s%s/%s", prefix, root ? "" : last ? "└─ " : "├─ ", jstr(n, "kind"),
                                              jstr(n, "name"));
        _cleanup_free_ char *msg = node_message(n), *gen = node_generation(n);
        const char *s = jstr(n, "status");
        const char *id = jstr(n, "id") ? jstr(n, "id") : jstr(n, "uid");
        const char *age = jstr(n, "age") ? jstr(n, "age") : "-";
        if (wide)
                text_table_add(t, (const char *[]){ name, s, age, gen, id ? id : "-", msg },
                               (const char *[]){ NULL, status_color(s), NULL, NULL, NULL, NULL });
        else
                text_table_add(t, (const char *[]){ name, s, msg }, (const char *[]){ NULL, status_color(s), NULL });
        _cleanup_free_ char *next = xasprintf("%s%s", prefix, root ? "" : last ? "   " : "│  ");
        const json_t *children = json_object_get(n, "children");
        size_t i;
        json_t *c;
        json_array_foreach(children, i, c) add_rows(t, c, next, i + 1 == json_array_size(children), false, wide);
}

static void render_failing(FILE *out, const json_t *failing, bool color) {
        if (!json_array_size(failing))
                return;
        fputs("\nFailing:\n", out);
        size_t i, j;
        json_t *f, *p;
        json_array_foreach(failing, i, f) {
                _cleanup_free_ char *path = xstrdup("");
                json_array_foreach(json_object_get(f, "path"), j, p) {
                        char *next = xasprintf("%s%s%s", path, j ? " > " : "", json_string_value(p));
                        free(path);
                        path = next;
                }
                _cleanup_free_ char *msg = node_message(f);
                _cleanup_free_ char *line = xasprintf("%s: %s%s%s", path, jstr(f, "status"), *msg ? ": " : "", msg);
                _cleanup_free_ char *safe = escape_for_terminal(line);
                fprintf(out, "  %s%s%s\n", color ? C_RED : "", safe, color ? "\033[0m" : "");
        }
}

static void render_trace(FILE *out, const json_t *model, const struct trace_args *a) {
        struct text_table t;
        text_table_init(&t, a->wide ? 6 : 3, a->wide ? 5 : 2);
        if (a->wide)
                text_table_add(&t, (const char *[]){ "NAME", "STATUS", "AGE", "GENERATION", "ID", "MESSAGE" }, NULL);
        else
                text_table_add(&t, (const char *[]){ "NAME", "STATUS", "MESSAGE" }, NULL);
        const json_t *root = json_object_get(model, "root");
        add_rows(&t, root, "", true, true, a->wide);
        bool color = use_color(a->kube.color);
        text_table_print(out, &t, terminal_width(), a->wide, color);
        text_table_done(&t);
        if (!json_is_true(json_object_get(model, "output")) && strcmp(jstr(root, "status"), "Ready") == 0)
                fputs("\nNo output: the pipelines wrote nothing to /kratix/output, so there is no Work to place.\n", out);
        render_failing(out, json_object_get(model, "failing"), color);
}

static int parse_args(int argc, char **argv, struct trace_args *a) {
        static const struct option options[] = {
                { "output", required_argument, NULL, 'o' },
                KUBE_ARGS_OPTIONS,
                {},
        };
        int c;
        _cleanup_(flags_done) struct flags fl = { 0 };
        while ((c = flags_next(&fl, argc, argv, "o:" KUBE_ARGS_SHORT, options)) >= 0) {
                switch (c) {
                case 'o':
                        if (parse_output_wide(optarg, &a->wide, &a->format) != 0)
                                return EXIT_USAGE;
                        break;
                case '?':
                        return EXIT_USAGE;
                default:
                        if (kube_args_option(&a->kube, c, optarg) < 0)
                                return EXIT_USAGE;
                }
        }
        if (optind >= argc)
                return usage_error("you must specify the resource to trace, e.g. \"kubectl kstatus trace iam/example\"");
        if (a->kube.all_namespaces || a->kube.selector)
                return usage_error("trace follows one resource: name it, without -A or -l");
        return 0;
}

static int run_trace(int argc, char **argv) {
        struct trace_args a = { 0 };
        int rc = parse_args(argc, argv, &a);
        if (rc)
                return rc;
        _cleanup_(kube_session_close) struct kube_session s = { 0 };
        _cleanup_(targets_free) struct targets ts = { 0 };
        rc = kube_session_open_targets(&a.kube, argv + optind, argc - optind, &s, &ts);
        if (rc)
                return rc;
        if (ts.n != 1 || ts.items[0].n_names != 1)
                return usage_error("trace follows one resource: name exactly one, e.g. \"kubectl kstatus trace iam/example\"");
        _cleanup_(trace_data_done) struct trace_data d = { 0 };
        rc = fetch_all(&s, &ts.items[0], ts.items[0].names[0], &d);
        if (rc)
                return rc;
        struct related_input in = {
                .object = d.object, .promise = d.promise, .revision = d.revision, .version = d.version,
                .jobs = d.jobs, .pods = d.pods, .works = d.works, .placements = d.placements,
                .destinations = d.destinations, .now = plugin_now(),
        };
        _cleanup_json_ json_t *model = related_trace(&in);
        if (a.format != OUTPUT_DEFAULT)
                rc = print_json_value(model, a.format);
        else
                render_trace(stdout, model, &a);
        if (rc)
                return rc;
        return json_array_size(json_object_get(model, "failing")) ? EXIT_WORKFLOW_FAILED : 0;
}

/* Exit codes: 0 nothing failed, 3 something in the tree did (as wait), 2 usage,
 * 1 an API or connection error (as kubectl; describe and get say 1 too). */
int cmd_trace(int argc, char **argv) {
        int rc = run_trace(argc, argv);
        return rc == EXIT_API ? EXIT_FAILED : rc;
}
