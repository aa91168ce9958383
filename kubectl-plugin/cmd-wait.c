/* kubectl kstatus wait: one LIST per resource type to see where things stand,
 * then a watch from that List's resourceVersion (no polling) until every
 * object meets the --for predicates (all of them, or one with --any), the
 * workflow fails (exit 3 at once), the timeout passes (exit 1) or the API
 * fails (exit 4). Messages are kubectl wait's. */
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
        "      --any                          one --for is enough (default: all of them)\n"
        "      --timeout=DURATION             give up after this long (default 30s; 0 checks once; negative: a week)\n"
        "      --all                          every object of the type (the default without names)\n" KUBE_ARGS_USAGE;

#define WEEK_MS (7LL * 24 * 3600 * 1000)

struct entry {
        const struct target *t;
        char *name;
        json_t *obj; /* NULL: gone */
        bool met;
        bool seen; /* existed at some point: kubectl is silent about deleting what never was */
};

struct waiter {
        struct wait_for *fors;
        size_t n_fors;
        bool any;
        struct entry *entries;
        size_t n_entries, left;
        int failed; /* EXIT_WORKFLOW_FAILED once a workflow failed */
        int64_t deadline;   /* kstatus_monotonic_ms() when --timeout ends the wait; 0: none */
        bool reads_bounded; /* every read ends by the deadline (--request-timeout was longer) */
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

/* Look at e again; print what kubectl prints when it is met. */
static void evaluate(struct waiter *w, struct entry *e) {
        if (e->met)
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
                        if (e->t != c->t || e->met)
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
        if (c->w->failed)
                return c->w->failed;
        return c->w->left == 0 ? 1 : 0;
}

static bool waits_for_delete(const struct waiter *w) {
        for (size_t i = 0; i < w->n_fors; i++)
                if (w->fors[i].kind == WAIT_DELETE)
                        return true;
        return false;
}

/* LIST one target (the field selector narrows to one name) and add its entries. */
static int list_target(struct kube_session *s, const struct kube_args *k, const struct target *t, struct waiter *w,
                       char **rv) {
        struct kube_status_error err = { .retry_after_ms = -1 };
        const char *ns = k->all_namespaces ? NULL : s->namespace;
        _cleanup_free_ char *fs = t->n_names == 1 ? xasprintf("metadata.name=%s", t->names[0]) : NULL;
        _cleanup_free_ char *path = collection_query(t, ns, k->selector, fs);
        _cleanup_json_ json_t *list = NULL;
        int r = kube_client_list(s->client, path, 500, NULL, NULL, &list, &err);
        if (r == -ETIMEDOUT && w->reads_bounded) {
                /* The read was cut by --timeout: the wait timed out, as kubectl's does. */
                kube_status_error_done(&err);
                _cleanup_free_ char *safe = escape_for_terminal(t->n_names ? t->names[0] : t->res.resource);
                fprintf(stderr, "error: timed out waiting for the condition on %s/%s\n", t->res.resource, safe);
                return EXIT_FAILED;
        }
        if (r < 0)
                return api_error(&err);
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
                if (!found && !waits_for_delete(w)) {
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

/* Milliseconds until --timeout ends the wait, never negative (a negative
 * timeout would make watch_all wait forever). */
static int64_t time_left(const struct waiter *w) {
        int64_t left = w->deadline - kstatus_monotonic_ms();
        return left > 0 ? left : 0;
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
                        needed |= w->entries[j].t == t && !w->entries[j].met;
                if (!needed)
                        continue;
                _cleanup_free_ char *fs = t->n_names == 1 ? xasprintf("metadata.name=%s", t->names[0]) : NULL;
                _cleanup_free_ char *path = collection_query(t, ns, k->selector, fs);
                ctx[n] = (struct watch_ctx){ .w = w, .t = t };
                struct kstatus_error e = { 0 };
                if (kube_watch_new(s->client, path, rvs[i], on_event, &ctx[n], &ws[n], &e) < 0) {
                        _cleanup_free_ char *safe = escape_for_terminal(e.message);
                        fprintf(stderr, "error: %s\n", safe);
                        rc = EXIT_API;
                        break;
                }
                n++;
        }
        if (!rc) {
                struct kube_status_error err = { .retry_after_ms = -1 };
                int r = watch_all(ws, n, timeout_ms, &err);
                if (r == -ETIMEDOUT)
                        rc = EXIT_FAILED;
                else if (r < 0)
                        rc = api_error(&err);
                else if (r == EXIT_WORKFLOW_FAILED)
                        rc = EXIT_WORKFLOW_FAILED;
        }
        for (size_t i = 0; i < n; i++)
                kube_watch_free(ws[i]);
        return rc;
}

int cmd_wait(int argc, char **argv) {
        static const struct option options[] = {
                { "for", required_argument, NULL, 3000 },
                { "any", no_argument, NULL, 3001 },
                { "timeout", required_argument, NULL, 3002 },
                { "all", no_argument, NULL, 3003 },
                KUBE_ARGS_OPTIONS,
                {},
        };
        struct kube_args k = { 0 };
        _cleanup_(waiter_done) struct waiter w = { 0 };
        int64_t timeout_ms = 30000;
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
                        w.fors = xrealloc(w.fors, (w.n_fors + 1) * sizeof(struct wait_for));
                        w.fors[w.n_fors++] = f;
                        break;
                }
                case 3001:
                        w.any = flag_true(optarg);
                        break;
                case 3002:
                        if (parse_timeout(optarg, &timeout_ms) < 0) {
                                _cleanup_free_ char *safe = escape_for_terminal(optarg);
                                return usage_error("invalid argument \"%s\" for \"--timeout\" flag: want a duration "
                                                   "such as 30s, 5m or 0",
                                                   safe);
                        }
                        break;
                case 3003:
                        break;
                case '?':
                        return EXIT_USAGE;
                default:
                        if (kube_args_option(&k, c, optarg) < 0)
                                return EXIT_USAGE;
                }
        }
        if (w.n_fors == 0)
                return usage_error("--for must be given: condition=NAME[=VALUE], health=STATE, message=TEXT or "
                                   "delete");
        if (optind >= argc)
                return usage_error("you must specify the type of resource to wait for, e.g. \"kubectl kstatus wait "
                                   "database/example --for=condition=ConfigureWorkflowCompleted\"");
        /* --timeout bounds the whole wait, reads included: no request may outlast it. */
        if (timeout_ms > 0) {
                w.deadline = kstatus_monotonic_ms() + timeout_ms;
                w.reads_bounded = k.request_timeout_ms == 0 || k.request_timeout_ms >= timeout_ms;
                if (w.reads_bounded)
                        k.request_timeout_ms = timeout_ms;
        }
        _cleanup_(kube_session_close) struct kube_session s = { 0 };
        int rc = kube_session_open(&k, &s);
        if (rc)
                return rc;
        _cleanup_(targets_free) struct targets ts = { 0 };
        rc = targets_parse(&s, argv + optind, argc - optind, &ts);
        if (rc)
                return rc;
        for (size_t i = 0; i < ts.n; i++)
                if (ts.items[i].n_names && k.all_namespaces)
                        return usage_error("a resource cannot be retrieved by name across all namespaces");

        _cleanup_free_ char **rvs = xcalloc(ts.n, sizeof(char *));
        for (size_t i = 0; i < ts.n && !rc; i++)
                rc = list_target(&s, &k, &ts.items[i], &w, &rvs[i]);
        if (!rc && w.n_entries == 0 && !waits_for_delete(&w)) {
                fputs("error: no matching resources found\n", stderr);
                rc = EXIT_FAILED;
        }
        for (size_t i = 0; i < w.n_entries && !rc && !w.failed; i++)
                evaluate(&w, &w.entries[i]);
        if (!rc && w.failed)
                rc = w.failed;
        if (!rc && w.left > 0 && timeout_ms > 0)
                rc = watch_until_done(&s, &k, &ts, rvs, &w, time_left(&w));
        else if (!rc && w.left > 0)
                rc = EXIT_FAILED; /* --timeout=0: checked once */
        if (rc == EXIT_FAILED && w.left > 0)
                for (size_t i = 0; i < w.n_entries; i++) {
                        if (w.entries[i].met)
                                continue;
                        _cleanup_free_ char *safe = escape_for_terminal(w.entries[i].name);
                        fprintf(stderr, "error: timed out waiting for the condition on %s/%s\n",
                                w.entries[i].t->res.resource, safe);
                }
        for (size_t i = 0; i < ts.n; i++)
                free(rvs[i]);
        return rc;
}
