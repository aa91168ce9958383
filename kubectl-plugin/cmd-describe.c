/* kubectl kstatus describe: the object, its live HealthRecords, the pipeline
 * Jobs and Pods behind its status and its Events, in one model (describe.c)
 * rendered as text or printed as JSON/YAML.
 *
 * Requests, whatever the number of objects: one GET per name (or one LIST for
 * a selector), then one LIST each of HealthRecords, Pods, Jobs, Works and
 * Events in the namespace (by label or field selector when there is one
 * object), and when there are Works, of their WorkPlacements and of the
 * Destinations, matched to the objects here. Discovery comes from the disk cache when warm. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "describe.h"
#include "kube-args.h"
#include "related.h"

const char describe_usage[] =
        "Show the status Kratix pipelines reported on resources: message, conditions, the workflow verdict,\n"
        "health, pipelines, the rest of the status, the pipeline Jobs and Pods, and recent Events.\n"
        "\n"
        "Usage:\n"
        "  kubectl kstatus describe TYPE[/NAME] [NAME...] [-l SELECTOR] [-n NS|-A] [-o json|yaml|wide] [options]\n"
        "\n"
        "Examples:\n"
        "  kubectl kstatus describe database/example\n"
        "  kubectl kstatus describe databases -l team=platform -A\n"
        "  kubectl kstatus describe iam example -o json\n"
        "\n"
        "Options:\n"
        "  -o, --output=json|yaml|wide        the model as JSON or YAML (see describe.h); wide never cuts text\n"
        "      --absolute-time                times as RFC 3339 instead of ages\n"
        "      --show-events=true|false       show Events (default true)\n" KUBE_ARGS_USAGE;

struct describe_args {
        struct kube_args kube;
        enum output_format format;
        bool wide, absolute_time, show_events;
        bool prefix_match; /* "TYPE NAME": a name not found is a prefix (kubectl) */
};

/* A LIST that may not be served (HealthRecords or Jobs not installed): NULL then. */
static json_t *list_optional(struct kube_session *s, const char *path, int *rc) {
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        json_t *list = NULL;
        int r = kube_client_list(s->client, path, 500, NULL, NULL, &list, &err);
        if (r == -ENOENT) {
                kstatus_error_done(&err);
                return NULL;
        }
        if (r < 0) {
                *rc = api_error(&err);
                return NULL;
        }
        return list;
}

static char *collection(const char *prefix, const char *ns, const char *plural, const char *query) {
        _cleanup_free_ char *nse = ns ? kube_escape(ns) : NULL;
        return xasprintf("%s%s%s/%s%s", prefix, nse ? "/namespaces/" : "", nse ? nse : "", plural, query ? query : "");
}

static const char *meta_str(const json_t *o, const char *key) {
        return json_string_value(json_object_get(json_object_get(o, "metadata"), key));
}

static const char *label(const json_t *o, const char *key) {
        return json_string_value(json_object_get(json_object_get(json_object_get(o, "metadata"), "labels"), key));
}

/* Is this Job or Pod one of obj's pipeline runs (kratix.io labels)? */
static bool related_to(const json_t *x, const json_t *obj) {
        const char *name = meta_str(obj, "name"), *ns = meta_str(obj, "namespace");
        const char *rn = label(x, "kratix.io/resource-name");
        if (!rn || !name || strcmp(rn, name) != 0)
                return false;
        const char *rns = label(x, "kratix.io/resource-namespace");
        const char *xns = meta_str(x, "namespace");
        if (ns && !(rns ? strcmp(rns, ns) == 0 : xns && strcmp(xns, ns) == 0))
                return false;
        const char *promise = label(obj, "kratix.io/promise-name"), *xp = label(x, "kratix.io/promise-name");
        if (promise && xp && strcmp(promise, xp) != 0)
                return false;
        return true;
}

static bool event_about(const json_t *ev, const json_t *obj) {
        json_t *io = json_object_get(ev, "involvedObject");
        const char *uid = json_string_value(json_object_get(io, "uid")), *ouid = meta_str(obj, "uid");
        if (uid && ouid)
                return strcmp(uid, ouid) == 0;
        const char *n = json_string_value(json_object_get(io, "name"));
        const char *k = json_string_value(json_object_get(io, "kind"));
        const char *okind = json_string_value(json_object_get(obj, "kind"));
        return n && k && okind && strcmp(n, meta_str(obj, "name")) == 0 && strcmp(k, okind) == 0;
}

static const char *event_time(const json_t *ev) {
        const char *t = json_string_value(json_object_get(ev, "lastTimestamp"));
        if (!t)
                t = json_string_value(json_object_get(ev, "eventTime"));
        if (!t)
                t = meta_str(ev, "creationTimestamp");
        return t ? t : "";
}

static int by_event_time(const void *a, const void *b) {
        return strcmp(event_time(*(json_t *const *)a), event_time(*(json_t *const *)b));
}

/* The items of list that match obj, as a new array (events sorted oldest first, as kubectl shows them). */
static json_t *matching(const json_t *list, const json_t *obj, bool (*match)(const json_t *, const json_t *),
                        bool sort_by_time) {
        json_t *out = json_array();
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(list, "items"), i, x) if (match(x, obj)) json_array_append(out, x);
        if (sort_by_time && json_array_size(out) > 1) {
                size_t n = json_array_size(out);
                json_t **v = xcalloc(n, sizeof(json_t *));
                for (i = 0; i < n; i++)
                        v[i] = json_incref(json_array_get(out, i));
                qsort(v, n, sizeof(json_t *), by_event_time);
                json_array_clear(out);
                for (i = 0; i < n; i++)
                        json_array_append_new(out, v[i]);
                free(v);
        }
        return out;
}

static bool record_for(const json_t *r, const json_t *obj) {
        (void)r;
        (void)obj;
        return true; /* describe_model filters by resourceRef */
}

struct context {
        json_t *records, *pods, *jobs, *events;
        json_t *works, *placements, *destinations; /* for the Placement section */
};

static void context_done(struct context *c) {
        json_decref(c->works);
        json_decref(c->placements);
        json_decref(c->destinations);
        json_decref(c->records);
        json_decref(c->pods);
        json_decref(c->jobs);
        json_decref(c->events);
}

#define KRATIX_API "/apis/platform.kratix.io/v1alpha1"
#define MAX_PROMISES 16 /* Promises looked up for their pipelineNamespace, per describe */

/* Add list's items to *into (taking list). */
static void merge(json_t **into, json_t *list) {
        if (!list || !*into) {
                if (list)
                        *into = list;
                return;
        }
        json_array_extend(json_object_get(*into, "items"), json_object_get(list, "items"));
        json_decref(list);
}

/* The pipeline Jobs, Pods and Works in ns that match query (the same
 * kratix.io labels for all three), and when there are Works, their
 * WorkPlacements: added to c. */
static int fetch_pipelines(struct kube_session *s, const char *ns, const char *query, struct context *c) {
        static const char *const kinds[][2] = { { "/apis/batch/v1", "jobs" }, { "/api/v1", "pods" }, { KRATIX_API, "works" } };
        json_t **into[] = { &c->jobs, &c->pods, &c->works };
        _cleanup_json_ json_t *works = NULL;
        int rc = 0;
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                _cleanup_free_ char *path = collection(kinds[i][0], ns, kinds[i][1], query);
                json_t *list = list_optional(s, path, &rc);
                if (rc)
                        return rc;
                if (i == 2)
                        works = json_incref(list);
                merge(into[i], list);
        }
        _cleanup_free_ char *sel = related_placement_selector(works);
        if (!sel)
                return 0;
        _cleanup_free_ char *esc = kube_escape(sel);
        _cleanup_free_ char *q = xasprintf("?labelSelector=%s", esc);
        _cleanup_free_ char *wps = collection(KRATIX_API, ns, "workplacements", q);
        merge(&c->placements, list_optional(s, wps, &rc));
        return rc;
}

/* The objects' pipelines that run in their Promise's pipelineNamespace, not in
 * ns (related.c's rule, as trace and logs follow it): one GET per Promise (at
 * most MAX_PROMISES; one not found or not readable is left out), then
 * fetch_pipelines() there, narrowed to ns's resources by kratix.io/resource-namespace. */
static int fetch_elsewhere(struct kube_session *s, const json_t *objects, const char *ns, struct context *c) {
        _cleanup_json_ json_t *looked_up = json_object();
        size_t i;
        json_t *obj;
        json_array_foreach(objects, i, obj) {
                const char *promise = label(obj, "kratix.io/promise-name");
                if (!promise || json_object_get(looked_up, promise) || json_object_size(looked_up) >= MAX_PROMISES)
                        continue;
                json_object_set_new(looked_up, promise, json_true());
                _cleanup_free_ char *path = related_promise_path(obj);
                _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
                _cleanup_json_ json_t *p = NULL;
                int r = kube_client_get(s->client, path, &p, &err);
                if (r == -ENOENT || r == -EACCES)
                        continue;
                if (r < 0)
                        return api_error(&err);
                bool other;
                const char *pns = related_pipelines_namespace(obj, false, p, &other);
                if (!other || strcmp(pns, ns) == 0)
                        continue;
                _cleanup_free_ char *raw = json_array_size(objects) == 1
                                                   ? related_pipeline_selector(obj, false, true)
                                                   : xasprintf("kratix.io/resource-name,kratix.io/promise-name=%s,"
                                                               "kratix.io/resource-namespace=%s", promise, ns);
                _cleanup_free_ char *esc = kube_escape(raw);
                _cleanup_free_ char *q = xasprintf("?labelSelector=%s", esc);
                int rc = fetch_pipelines(s, pns, q, c);
                if (rc)
                        return rc;
        }
        return 0;
}

/* The Placement section of obj: its Works (kratix.io labels) and where they landed.
 * No Works and no pipeline Job or Pod either (its Promise may not be readable,
 * hiding a pipelineNamespace): "no output" cannot be told, no section. */
static json_t *placement_of(const struct context *c, const json_t *obj, const json_t *related, int64_t now) {
        if (!c->works)
                return NULL;
        _cleanup_json_ json_t *mine = matching(c->works, obj, related_to, false);
        if (json_array_size(mine) == 0 && json_array_size(related) == 0)
                return NULL;
        _cleanup_json_ json_t *works = json_pack("{s:O}", "items", mine);
        struct related_input in = { .object = obj, .works = works, .placements = c->placements,
                                    .destinations = c->destinations, .now = now };
        _cleanup_json_ json_t *trace = related_trace(&in);
        return related_placement(trace);
}

/* Fetch what describe shows beside the objects: narrow selectors for one
 * object, the namespace's (or every namespace's) for several. */
static int fetch_context(struct kube_session *s, const struct target *t, const json_t *objects, bool all_ns,
                         bool events, struct context *c) {
        int rc = 0;
        const json_t *first = json_array_get(objects, 0);
        bool one = json_array_size(objects) == 1;
        const char *ns = all_ns && !one ? NULL : meta_str(first, "namespace");
        if (!t->res.namespaced)
                ns = NULL;
        _cleanup_free_ char *hr = collection("/apis/platform.kratix.io/v1alpha1", ns, "healthrecords", NULL);
        c->records = list_optional(s, hr, &rc);
        if (rc)
                return rc;

        _cleanup_free_ char *sel = NULL;
        if (one) {
                const char *promise = label(first, "kratix.io/promise-name");
                _cleanup_free_ char *raw = promise ? xasprintf("kratix.io/resource-name=%s,kratix.io/promise-name=%s",
                                                               meta_str(first, "name"), promise)
                                                   : xasprintf("kratix.io/resource-name=%s", meta_str(first, "name"));
                sel = kube_escape(raw);
        } else
                sel = kube_escape("kratix.io/resource-name");
        _cleanup_free_ char *q = xasprintf("?labelSelector=%s", sel);
        rc = fetch_pipelines(s, ns, q, c);
        if (!rc && ns)
                rc = fetch_elsewhere(s, objects, ns, c);
        if (!rc && json_array_size(json_object_get(c->works, "items")) > 0)
                c->destinations = list_optional(s, KRATIX_API "/destinations", &rc);
        if (rc || !events)
                return rc;

        _cleanup_free_ char *fs = NULL;
        if (one) {
                _cleanup_free_ char *raw =
                        ns ? xasprintf("involvedObject.name=%s,involvedObject.namespace=%s,involvedObject.uid=%s",
                                       meta_str(first, "name"), ns, meta_str(first, "uid") ?: "")
                           : xasprintf("involvedObject.name=%s,involvedObject.uid=%s", meta_str(first, "name"),
                                       meta_str(first, "uid") ?: "");
                fs = kube_escape(raw);
        } else {
                _cleanup_free_ char *raw = xasprintf("involvedObject.kind=%s", t->res.kind);
                fs = kube_escape(raw);
        }
        _cleanup_free_ char *eq = xasprintf("?fieldSelector=%s", fs);
        /* Events of a cluster-scoped object live in "default", as kubectl describe looks for them. */
        _cleanup_free_ char *evs = collection("/api/v1", t->res.namespaced ? ns : (one ? "default" : NULL), "events", eq);
        c->events = list_optional(s, evs, &rc);
        return rc;
}

/* Tag related objects with their kind: LIST items carry none. */
static void set_kind(json_t *list, const char *kind) {
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(list, "items"), i, x) json_object_set_new(x, "kind", json_string(kind));
}

static json_t *related_of(const struct context *c, const json_t *obj) {
        json_t *out = matching(c->jobs, obj, related_to, false);
        _cleanup_json_ json_t *pods = matching(c->pods, obj, related_to, false);
        json_array_extend(out, pods);
        return out;
}

/* LIST t's objects (with -l), appending to objects those whose name starts
 * with prefix (NULL: all). Prints errors; returns an exit code. */
static int list_objects(struct kube_session *s, const struct describe_args *a, const struct target *t,
                        const char *prefix, json_t *objects) {
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        const char *ns = a->kube.all_namespaces ? NULL : s->namespace;
        _cleanup_free_ char *path = collection_query(t, ns, a->kube.selector, NULL);
        _cleanup_json_ json_t *list = NULL;
        int r = kube_client_list(s->client, path, 500, NULL, NULL, &list, &err);
        if (r < 0)
                return api_list_error(t, a->kube.selector, NULL, &err);
        /* LIST items carry no kind/apiVersion; describe shows both. */
        size_t i;
        json_t *x;
        _cleanup_free_ char *api = *t->res.group ? xasprintf("%s/%s", t->res.group, t->res.version)
                                                 : xstrdup(t->res.version);
        json_array_foreach(json_object_get(list, "items"), i, x) {
                const char *name = json_string_value(json_object_get(json_object_get(x, "metadata"), "name"));
                if (prefix && (!name || !str_has_prefix(name, prefix)))
                        continue;
                json_object_set_new(x, "kind", json_string(t->res.kind));
                json_object_set_new(x, "apiVersion", json_string(api));
                json_array_append(objects, x);
        }
        return 0;
}

/* The objects to describe: every one (a LIST) or each name (a GET). A name
 * given as "TYPE NAME" that is not found describes every object whose name
 * starts with it, as kubectl's DescribeMatchingResources; none: NotFound. */
static int collect_objects(struct kube_session *s, const struct describe_args *a, const struct target *t,
                           json_t **ret, int *not_found_rc) {
        _cleanup_json_ json_t *objects = json_array();
        if (t->n_names == 0) {
                int rc = list_objects(s, a, t, NULL, objects);
                if (rc)
                        return rc;
                *ret = TAKE_PTR(objects);
                return 0;
        }
        for (size_t i = 0; i < t->n_names; i++) {
                _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
                _cleanup_free_ char *path = kube_resource_path(&t->res, s->namespace, t->names[i], NULL);
                json_t *obj = NULL;
                int r = kube_client_get(s->client, path, &obj, &err);
                if (r == -ENOENT && a->prefix_match) {
                        size_t before = json_array_size(objects);
                        int rc = list_objects(s, a, t, t->names[i], objects);
                        if (rc) {
                                kstatus_error_done(&err);
                                return rc;
                        }
                        if (json_array_size(objects) > before) {
                                kstatus_error_done(&err);
                                continue;
                        }
                }
                if (r < 0) {
                        /* kubectl describes the others and reports each missing one. */
                        *not_found_rc = api_error(&err);
                        if (r != -ENOENT)
                                return *not_found_rc;
                        continue;
                }
                json_array_append_new(objects, obj);
        }
        *ret = TAKE_PTR(objects);
        return 0;
}

static int describe_target(struct kube_session *s, const struct describe_args *a, const struct target *t,
                           json_t *models, int *rc_missing) {
        _cleanup_json_ json_t *objects = NULL;
        int rc = collect_objects(s, a, t, &objects, rc_missing);
        if (rc)
                return rc;
        if (json_array_size(objects) == 0)
                return 0;
        _cleanup_(context_done) struct context c = { 0 };
        rc = fetch_context(s, t, objects, a->kube.all_namespaces, a->show_events, &c);
        if (rc)
                return rc;
        set_kind(c.jobs, "Job");
        set_kind(c.pods, "Pod");
        int64_t now = plugin_now();
        size_t i;
        json_t *obj;
        json_array_foreach(objects, i, obj) {
                _cleanup_json_ json_t *records = matching(c.records, obj, record_for, false);
                _cleanup_json_ json_t *related = related_of(&c, obj);
                _cleanup_json_ json_t *events = matching(c.events, obj, event_about, true);
                _cleanup_json_ json_t *placement = placement_of(&c, obj, related, now);
                struct describe_input in = { .object = obj, .records = records, .related = related,
                                             .events = events, .placement = placement, .now = now };
                json_array_append_new(models, describe_model(&in));
        }
        return 0;
}

static int parse_args(int argc, char **argv, struct describe_args *a) {
        static const struct option options[] = {
                { "output", required_argument, NULL, 'o' },
                { "absolute-time", no_argument, NULL, 3000 },
                { "show-events", optional_argument, NULL, 3001 },
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
                case 3000:
                        a->absolute_time = flag_true(optarg);
                        break;
                case 3001:
                        a->show_events = flag_true(optarg);
                        break;
                case '?':
                        return EXIT_USAGE;
                default:
                        if (kube_args_option(&a->kube, c, optarg) < 0)
                                return EXIT_USAGE;
                }
        }
        if (optind >= argc)
                return usage_error("you must specify the type of resource to describe, e.g. \"kubectl kstatus "
                                   "describe databases\"");
        return 0;
}

/* -o json|yaml: one model alone when one object was named, else a list. */
static int print_models_as(const struct describe_args *a, const struct targets *ts, json_t *models) {
        bool single = ts->n == 1 && ts->items[0].n_names == 1 && json_array_size(models) == 1;
        _cleanup_json_ json_t *doc = single ? json_incref(json_array_get(models, 0))
                                            : json_pack("{s:s, s:s, s:O}", "apiVersion", "kstatus.syntasso.io/v1",
                                                        "kind", "DescribeList", "items", models);
        return print_json_value(doc, a->format);
}

static void render_models(const struct describe_args *a, json_t *models) {
        struct render_options ro = {
                .color = use_color(a->kube.color),
                .absolute_time = a->absolute_time,
                .wide = a->wide,
                .width = terminal_width(),
        };
        size_t i;
        json_t *m;
        json_array_foreach(models, i, m) {
                if (i > 0)
                        fputs("\n\n", stdout);
                if (!a->show_events)
                        json_object_del(m, "events");
                describe_render(stdout, m, &ro);
        }
}

static int run_describe(int argc, char **argv) {
        struct describe_args a = { .show_events = true };
        int rc = parse_args(argc, argv, &a);
        if (rc)
                return rc;
        a.prefix_match = argc - optind == 2 && !strchr(argv[optind], '/');
        _cleanup_(kube_session_close) struct kube_session s = { 0 };
        _cleanup_(targets_free) struct targets ts = { 0 };
        rc = kube_session_open_targets(&a.kube, argv + optind, argc - optind, &s, &ts);
        if (rc)
                return rc;
        bool named;
        rc = targets_check_named(&ts, &a.kube, &named);
        if (rc)
                return rc;

        _cleanup_json_ json_t *models = json_array();
        int rc_missing = 0;
        for (size_t i = 0; i < ts.n && !rc; i++)
                rc = describe_target(&s, &a, &ts.items[i], models, &rc_missing);
        if (rc)
                return rc;
        if (json_array_size(models) == 0 && !named) {
                print_no_resources(&s, &a.kube, &ts);
                return 0;
        }
        if (a.format != OUTPUT_DEFAULT) {
                rc = print_models_as(&a, &ts, models);
                return rc ? rc : rc_missing;
        }
        render_models(&a, models);
        return rc_missing;
}

int cmd_describe(int argc, char **argv) {
        /* kubectl describe exits 1 on every error (README's table of differences). */
        return run_describe(argc, argv) ? EXIT_FAILED : EXIT_MET;
}
