/* kubectl kstatus wait: a GET of each named object (as kubectl's resource
 * builder makes), one LIST per resource type to see where things stand, then
 * a watch from that List's resourceVersion (no polling) until every object
 * meets the --for predicates (all of them, or one with --any) or its workflow
 * fails (exit 3, the others still reported), the timeout passes (exit 1) or
 * the API fails (exit 4). Messages are kubectl wait's. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "kube-args.h"
#include "kube/watch.h"
#include "wait.h"

const char wait_usage[] =
        "Wait for resources to reach a condition, a health state or a message, or to be deleted. Unlike\n"
        "kubectl wait it fails at once when the resource's workflow fails, can OR its conditions (--any),\n"
        "and its exit code says what happened: 0 met, 1 timed out, 2 usage error, 3 the workflow failed,\n"
        "4 API or connection error.\n"
        "\n"
        "Usage:\n"
        "  kubectl kstatus wait TYPE[/NAME] [NAME...] [-l SELECTOR] --for=CONDITION [--for=...] [--any] [--timeout=30s]\n"
        "\n"
        "Examples:\n"
        "  kubectl kstatus wait database/example --for=condition=ConfigureWorkflowCompleted\n"
        "  kubectl kstatus wait db a b --for=health=healthy --for=message='Resource requested' --any\n"
        "  kubectl kstatus wait iam/example --for=delete --timeout=2m\n"
        "\n"
        "Options:\n"
        "      --for=condition=NAME[=VALUE]   a status condition (VALUE default True; counts only when\n"
        "                                     status.observedGeneration, if set, is the object's generation)\n"
        "      --for=health=STATE             status.healthStatus.state (or healthRecord.state)\n"
        "      --for=message=TEXT             status.message\n"
        "      --for=delete                   the object is gone\n"
        "      --for=create                   the object exists\n"
        "      --for=jsonpath='{EXPR}'[=VALUE]  the JSONPath's one value is VALUE (without =VALUE: it exists), as kubectl\n"
        "      --any                          one --for is enough (default: all of them)\n"
        "      --timeout=DURATION             give up after this long (default 30s; 0 checks once; negative: a week)\n"
        "      --all                          every object of the type (needed without names or -l, as kubectl)\n" KUBE_ARGS_USAGE;

#define WEEK_MS (7LL * 24 * 3600 * 1000)

struct entry {
        const struct target *t;
        char *name;
        json_t *obj; /* NULL: gone */
        bool met;
        bool failed; /* its workflow failed: no longer waited for */
        bool seen;   /* existed at some point: kubectl is silent about deleting what never was */
};

struct waiter {
        struct wait_for *fors;
        size_t n_fors;
        bool any;
        bool all; /* --all */
        struct entry *entries;
        size_t n_entries, left;
        int failed; /* EXIT_WORKFLOW_FAILED once a workflow failed */
        int64_t deadline;           /* kstatus_monotonic_ms() when --timeout ends the wait; 0: none */
        int64_t request_timeout_ms; /* --request-timeout, 0: none; each read gets at most what is left */
};

static bool predicates_met(const struct waiter *w, const json_t *obj) {
        for (size_t i = 0; i < w->n_fors; i++) {
                bool m = wait_for_met(&w->fors[i], obj);
                if (w->any && m)
                        return true;
                if (!w->any && !m)
                        return false;
        }
        return !w->any;
}

static bool waits_for_failure(const struct waiter *w) {
        /* Someone waiting for the failure condition itself must not be failed fast. */
        for (size_t i = 0; i < w->n_fors; i++)
                if (w->fors[i].kind == WAIT_CONDITION && strcasecmp(w->fors[i].value, "True") != 0)
                        return true;
        return false;
}

/* Look at e again; print what kubectl prints when it is met. A failed
 * workflow ends the wait for e alone: the others are still reported. */
static void evaluate(struct waiter *w, struct entry *e) {
        if (e->met || e->failed)
                return;
        if (predicates_met(w, e->obj)) {
                e->met = true;
                w->left--;
                if (!e->seen)
                        return;
                _cleanup_free_ char *ref = object_ref(&e->t->res, e->name);
                _cleanup_free_ char *safe = escape_for_terminal(ref);
                printf("%s condition met\n", safe);
                (void)flush_stdout(); /* main() reports a failure at exit */
                return;
        }
        const char *message = NULL;
        if (e->obj && !waits_for_failure(w) && wait_workflow_failed(e->obj, &message)) {
                _cleanup_free_ char *safe = escape_for_terminal(e->name);
                _cleanup_free_ char *msg = escape_for_terminal(message ? message : "no message");
                fprintf(stderr, "error: the workflow of %s/%s failed: %s\n", e->t->res.resource, safe, msg);
                e->failed = true;
                w->left--;
                w->failed = EXIT_WORKFLOW_FAILED;
        }
}

static struct entry *entry_add(struct waiter *w, const struct target *t, const char *name, const json_t *obj) {
        w->entries = xrealloc(w->entries, (w->n_entries + 1) * sizeof(struct entry));
        struct entry *e = &w->entries[w->n_entries++];
        *e = (struct entry){ .t = t, .name = xstrdup(name), .obj = obj ? json_incref((json_t *)obj) : NULL,
                              .seen = obj != NULL };
        w->left++;
        return e;
}

static const char *name_of(const json_t *obj) {
        return json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
}

struct watch_ctx {
        struct waiter *w;
        const struct target *t;
};

static void observe(struct watch_ctx *c, const json_t *obj, bool gone) {
        const char *name = name_of(obj);
        for (size_t i = 0; name && i < c->w->n_entries; i++) {
                struct entry *e = &c->w->entries[i];
                if (e->t != c->t || strcmp(e->name, name) != 0)
                        continue;
                json_decref(e->obj);
                e->obj = gone ? NULL : json_incref((json_t *)obj);
                e->seen = true;
                evaluate(c->w, e);
        }
}

static int on_event(const char *type, const json_t *obj, void *userdata) {
        struct watch_ctx *c = userdata;
        if (strcmp(type, "RELIST") == 0) {
                /* Whatever is not in the new List is gone. */
                for (size_t i = 0; i < c->w->n_entries; i++) {
                        struct entry *e = &c->w->entries[i];
                        if (e->t != c->t || e->met || e->failed)
                                continue;
                        json_t *found = NULL, *x;
                        size_t j;
                        json_array_foreach(json_object_get(obj, "items"), j, x) if (name_of(x) &&
                                                                                    strcmp(name_of(x), e->name) == 0)
                                found = x;
                        json_decref(e->obj);
                        e->obj = found ? json_incref(found) : NULL;
                        evaluate(c->w, e);
                }
        } else
                observe(c, obj, strcmp(type, "DELETED") == 0);
        return c->w->left == 0 ? 1 : 0;
}

static bool waits_for(const struct waiter *w, enum wait_kind kind) {
        for (size_t i = 0; i < w->n_fors; i++)
                if (w->fors[i].kind == kind)
                        return true;
        return false;
}

static bool waits_for_delete(const struct waiter *w) {
        return waits_for(w, WAIT_DELETE);
}

/* Milliseconds until --timeout ends the wait, never negative (a negative
 * timeout would make watch_all wait forever). */
static int64_t time_left(const struct waiter *w) {
        int64_t left = w->deadline - kstatus_monotonic_ms();
        return left > 0 ? left : 0;
}

/* --timeout is one deadline for the whole wait: each request gets what is
 * left of it, or --request-timeout when that is shorter. Returns whether the
 * deadline is what bounds this request. */
static bool bound_request(struct kube_session *s, const struct waiter *w) {
        if (w->deadline == 0)
                return false;
        int64_t left = time_left(w);
        if (left < 1)
                left = 1;
        bool by_deadline = w->request_timeout_ms == 0 || w->request_timeout_ms >= left;
        kube_client_set_request_timeout(s->client, by_deadline ? left : w->request_timeout_ms);
        return by_deadline;
}

/* A read cut by --timeout: the wait timed out, as kubectl's does. */
static int read_timed_out(const struct target *t, const char *name, struct kstatus_error *err) {
        kstatus_error_done(err);
        _cleanup_free_ char *safe = escape_for_terminal(name ? name : t->res.resource);
        fprintf(stderr, "error: timed out waiting for the condition on %s/%s\n", t->res.resource, safe);
        return EXIT_FAILED;
}

/* kubectl's resource builder GETs each named object before it waits, so its
 * first errors (a Forbidden naming the verb get, a NotFound) come from that
 * GET: so do ours. */
static int get_named(struct kube_session *s, const struct target *t, const struct waiter *w) {
        bool absent_ok = waits_for_delete(w) || waits_for(w, WAIT_CREATE);
        for (size_t n = 0; n < t->n_names; n++) {
                _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
                _cleanup_free_ char *path = kube_resource_path(&t->res, s->namespace, t->names[n], NULL);
                _cleanup_json_ json_t *obj = NULL;
                bool bounded = bound_request(s, w);
                int r = kube_client_get(s->client, path, &obj, &err);
                if (r == -ENOENT && absent_ok)
                        kstatus_error_done(&err);
                else if (r == -ETIMEDOUT && bounded)
                        return read_timed_out(t, t->names[n], &err);
                else if (r < 0)
                        return api_error(&err);
        }
        return 0;
}

/* LIST one target (the field selector narrows to one name) and add its entries. */
static int list_target(struct kube_session *s, const struct kube_args *k, const struct target *t, struct waiter *w,
                       char **rv) {
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int r = get_named(s, t, w);
        if (r)
                return r;
        const char *ns = k->all_namespaces ? NULL : s->namespace;
        _cleanup_free_ char *fs = t->n_names == 1 ? xasprintf("metadata.name=%s", t->names[0]) : NULL;
        _cleanup_free_ char *path = collection_query(t, ns, k->selector, fs);
        _cleanup_json_ json_t *list = NULL;
        bool bounded = bound_request(s, w);
        r = kube_client_list(s->client, path, 500, NULL, NULL, &list, &err);
        if (r == -ETIMEDOUT && bounded)
                return read_timed_out(t, t->n_names ? t->names[0] : NULL, &err);
        if (r < 0)
                return api_list_error(t, k->selector, fs, &err);
        json_t *items = json_object_get(list, "items");
        const char *v = json_string_value(json_object_get(json_object_get(list, "metadata"), "resourceVersion"));
        *rv = v ? xstrdup(v) : NULL;
        size_t i;
        json_t *x;
        if (t->n_names == 0) {
                json_array_foreach(items, i, x) if (name_of(x)) entry_add(w, t, name_of(x), x);
                return 0;
        }
        for (size_t n = 0; n < t->n_names; n++) {
                json_t *found = NULL;
                json_array_foreach(items, i, x) if (name_of(x) && strcmp(name_of(x), t->names[n]) == 0) found = x;
                if (!found && !waits_for_delete(w) && !waits_for(w, WAIT_CREATE)) {
                        /* As kubectl: a named object that does not exist is an error. */
                        _cleanup_free_ char *safe = escape_for_terminal(t->names[n]);
                        fprintf(stderr, "Error from server (NotFound): %s \"%s\" not found\n", t->qualified, safe);
                        return EXIT_API;
                }
                entry_add(w, t, t->names[n], found);
        }
        return 0;
}

static int parse_timeout(const char *arg, int64_t *ret) {
        if (arg[0] == '-') {
                int64_t ms;
                if (parse_duration_ms(arg + 1, &ms) < 0 && strcmp(arg + 1, "1") != 0)
                        return -EINVAL;
                *ret = WEEK_MS; /* kubectl: a negative timeout means a week */
                return 0;
        }
        int64_t n;
        if (parse_int64(arg, 0, INT64_MAX / 1000, &n) == 0 && n == 0) {
                *ret = 0;
                return 0;
        }
        return parse_duration_ms(arg, ret);
}

static void waiter_done(struct waiter *w) {
        for (size_t i = 0; i < w->n_fors; i++)
                wait_for_clear(&w->fors[i]);
        free(w->fors);
        for (size_t i = 0; i < w->n_entries; i++) {
                free(w->entries[i].name);
                json_decref(w->entries[i].obj);
        }
        free(w->entries);
}

static int watch_until_done(struct kube_session *s, const struct kube_args *k, struct targets *ts, char **rvs,
                            struct waiter *w, int64_t timeout_ms) {
        const char *ns = k->all_namespaces ? NULL : s->namespace;
        _cleanup_free_ struct kube_watch **ws = xcalloc(ts->n, sizeof(struct kube_watch *));
        _cleanup_free_ struct watch_ctx *ctx = xcalloc(ts->n, sizeof(struct watch_ctx));
        size_t n = 0;
        int rc = 0;
        for (size_t i = 0; i < ts->n && !rc; i++) {
                const struct target *t = &ts->items[i];
                bool needed = false;
                for (size_t j = 0; j < w->n_entries; j++)
                        needed |= w->entries[j].t == t && !w->entries[j].met && !w->entries[j].failed;
                if (!needed)
                        continue;
                _cleanup_free_ char *fs = t->n_names == 1 ? xasprintf("metadata.name=%s", t->names[0]) : NULL;
                _cleanup_free_ char *path = collection_query(t, ns, k->selector, fs);
                ctx[n] = (struct watch_ctx){ .w = w, .t = t };
                _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
                if (kube_watch_new(s->client, path, rvs[i], on_event, &ctx[n], &ws[n], &e) < 0) {
                        _cleanup_free_ char *safe = escape_for_terminal(e.message);
                        fprintf(stderr, "error: %s\n", safe);
                        rc = EXIT_API;
                        break;
                }
                n++;
        }
        if (!rc) {
                _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
                int r = watch_all(ws, n, timeout_ms, &err);
                if (r == -ETIMEDOUT)
                        rc = EXIT_FAILED;
                else if (r < 0)
                        rc = api_error(&err);
        }
        for (size_t i = 0; i < n; i++)
                kube_watch_free(ws[i]);
        return rc;
}

/* What kubectl wait refuses before it reads anything. */
static int check_targets(const struct targets *ts, const struct kube_args *k, const struct waiter *w) {
        for (size_t i = 0; i < ts->n; i++) {
                if (ts->items[i].n_names && k->all_namespaces)
                        return usage_error("a resource cannot be retrieved by name across all namespaces");
                if (ts->items[i].n_names == 0 && !w->all && !k->selector)
                        return usage_error("resource(s) were provided, but no name was specified");
        }
        return 0;
}

/* kubectl's line for each object still waited for when the wait ends: one
 * is "error: …"; several are kubectl's aggregate, one bare line each. */
static void report_unmet(const struct waiter *w, bool checked_once) {
        size_t n = 0;
        for (size_t i = 0; i < w->n_entries; i++)
                n += !w->entries[i].met && !w->entries[i].failed;
        const char *prefix = n == 1 ? "error: " : "";
        for (size_t i = 0; i < w->n_entries; i++) {
                const struct entry *e = &w->entries[i];
                if (e->met || e->failed)
                        continue;
                _cleanup_free_ char *safe = escape_for_terminal(e->name);
                if (checked_once)
                        fprintf(stderr, "%scondition not met for %s/%s\n", prefix, e->t->res.resource, safe);
                else if (!e->seen && waits_for(w, WAIT_CREATE))
                        fprintf(stderr, "%stimed out waiting for the condition\n", prefix);
                else
                        fprintf(stderr, "%stimed out waiting for the condition on %s/%s\n", prefix, e->t->res.resource,
                                safe);
        }
}

/* The flags of wait; prints and returns an exit code on a mistake. */
static int parse_args(int argc, char **argv, struct kube_args *k, struct waiter *w, int64_t *timeout_ms) {
        static const struct option options[] = {
                { "for", required_argument, NULL, 3000 },
                { "any", no_argument, NULL, 3001 },
                { "timeout", required_argument, NULL, 3002 },
                { "all", no_argument, NULL, 3003 },
                KUBE_ARGS_OPTIONS,
                {},
        };
        int c;
        _cleanup_(flags_done) struct flags fl = { 0 };
        while ((c = flags_next(&fl, argc, argv, KUBE_ARGS_SHORT, options)) >= 0) {
                switch (c) {
                case 3000: {
                        char msg[512];
                        struct wait_for f;
                        if (wait_for_parse(optarg, &f, msg, sizeof(msg)) < 0) {
                                _cleanup_free_ char *safe = escape_for_terminal(msg);
                                return usage_error("%s", safe);
                        }
                        w->fors = xrealloc(w->fors, (w->n_fors + 1) * sizeof(struct wait_for));
                        w->fors[w->n_fors++] = f;
                        break;
                }
                case 3001:
                        w->any = flag_true(optarg);
                        break;
                case 3002:
                        if (parse_timeout(optarg, timeout_ms) < 0) {
                                _cleanup_free_ char *safe = escape_for_terminal(optarg);
                                return usage_error("invalid argument \"%s\" for \"--timeout\" flag: want a duration "
                                                   "such as 30s, 5m or 0",
                                                   safe);
                        }
                        break;
                case 3003:
                        w->all = flag_true(optarg);
                        break;
                case '?':
                        return EXIT_USAGE;
                default:
                        if (kube_args_option(k, c, optarg) < 0)
                                return EXIT_USAGE;
                }
        }
        return 0;
}

int cmd_wait(int argc, char **argv) {
        struct kube_args k = { 0 };
        _cleanup_(waiter_done) struct waiter w = { 0 };
        int64_t timeout_ms = 30000;
        int rc = parse_args(argc, argv, &k, &w, &timeout_ms);
        if (rc)
                return rc;
        if (w.n_fors == 0)
                return usage_error("--for must be given: condition=NAME[=VALUE], health=STATE, message=TEXT, "
                                   "delete or create");
        if (optind >= argc)
                return usage_error("you must specify the type of resource to wait for, e.g. \"kubectl kstatus wait "
                                   "database/example --for=condition=ConfigureWorkflowCompleted\"");
        /* --timeout bounds the whole wait, reads included: no request may outlast it. */
        w.request_timeout_ms = k.request_timeout_ms;
        if (timeout_ms > 0) {
                w.deadline = kstatus_monotonic_ms() + timeout_ms;
                if (k.request_timeout_ms == 0 || k.request_timeout_ms > timeout_ms)
                        k.request_timeout_ms = timeout_ms; /* discovery too */
        }
        _cleanup_(kube_session_close) struct kube_session s = { 0 };
        rc = kube_session_open(&k, &s);
        if (rc)
                return rc;
        _cleanup_(targets_free) struct targets ts = { 0 };
        rc = targets_parse(&s, argv + optind, argc - optind, &ts);
        if (rc)
                return rc;
        rc = check_targets(&ts, &k, &w);
        if (rc)
                return rc;

        _cleanup_free_ char **rvs = xcalloc(ts.n, sizeof(char *));
        for (size_t i = 0; i < ts.n && !rc; i++)
                rc = list_target(&s, &k, &ts.items[i], &w, &rvs[i]);
        if (!rc && w.n_entries == 0 && !waits_for_delete(&w)) {
                fputs("error: no matching resources found\n", stderr);
                rc = EXIT_FAILED;
        }
        for (size_t i = 0; i < w.n_entries && !rc; i++)
                evaluate(&w, &w.entries[i]);
        if (!rc && w.left > 0 && timeout_ms > 0)
                rc = watch_until_done(&s, &k, &ts, rvs, &w, time_left(&w));
        else if (!rc && w.left > 0)
                rc = EXIT_FAILED; /* --timeout=0: checked once */
        if (rc == EXIT_FAILED && w.left > 0)
                report_unmet(&w, timeout_ms == 0);
        if (w.failed && (rc == 0 || rc == EXIT_FAILED))
                rc = w.failed;
        for (size_t i = 0; i < ts.n; i++)
                free(rvs[i]);
        return rc;
}
