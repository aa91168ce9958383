/* related.c - the tree of objects related to a Kratix resource (related.h),
 * read as Kratix writes them: Work and WorkPlacement conditions from its
 * scheduler and WorkPlacement controller, Destination readiness from its
 * Destination controller, Jobs and Pods from Kubernetes (docs/KRATIX.md). */
#include <stdlib.h>
#include <string.h>

#include "conditions.h"
#include "describe.h"
#include "pipeline.h"
#include "related.h"
#include "util.h"

#define S_READY "Ready"
#define S_PROGRESS "InProgress"
#define S_FAILED "Failed"
#define S_SUSPENDED "Suspended"
#define S_MISPLACED "Misplaced"

static const char *str(const json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

static const char *meta_str(const json_t *o, const char *key) {
        return str(json_object_get(o, "metadata"), key);
}

static const char *label(const json_t *o, const char *key) {
        return str(json_object_get(json_object_get(o, "metadata"), "labels"), key);
}

static const json_t *items(const json_t *list) {
        return json_object_get(list, "items");
}

/* The condition of `type` in o's status.conditions, or NULL. */
static const json_t *cond(const json_t *o, const char *type) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(json_object_get(o, "status"), "conditions"), i, c) {
                const char *t = str(c, "type");
                if (t && strcmp(t, type) == 0)
                        return c;
        }
        return NULL;
}

static bool cond_is(const json_t *c, const char *status) {
        return c && str(c, "status") && strcmp(str(c, "status"), status) == 0;
}

static void set_str(json_t *o, const char *key, const char *v) {
        if (v && *v)
                json_object_set_new(o, key, json_string(v));
}

/* A node for an API object (obj may be NULL): kind, name, namespace, status,
 * and the metadata -o wide shows. */
static json_t *node_new(const char *kind, const char *name, const json_t *obj, const char *status, int64_t now) {
        json_t *n = json_object();
        json_object_set_new(n, "kind", json_string(kind));
        json_object_set_new(n, "name", json_string(name ? name : "?"));
        set_str(n, "namespace", meta_str(obj, "namespace"));
        json_object_set_new(n, "status", json_string(status));
        const char *created = meta_str(obj, "creationTimestamp");
        int64_t t;
        if (created && kstatus_time_parse(created, &t) == 0) {
                char buf[32];
                human_duration(now - t, buf);
                json_object_set_new(n, "created", json_string(created));
                json_object_set_new(n, "age", json_string(buf));
        }
        json_t *gen = json_object_get(json_object_get(obj, "metadata"), "generation");
        if (json_is_integer(gen))
                json_object_set_new(n, "generation", json_incref(gen));
        json_t *og = json_object_get(json_object_get(obj, "status"), "observedGeneration");
        if (json_is_integer(og))
                json_object_set_new(n, "observedGeneration", json_incref(og));
        set_str(n, "uid", meta_str(obj, "uid"));
        json_object_set_new(n, "children", json_array());
        return n;
}

static void node_why(json_t *n, const char *reason, const char *message) {
        set_str(n, "reason", reason);
        set_str(n, "message", message);
}

static void node_add(json_t *parent, json_t *child) {
        json_array_append_new(json_object_get(parent, "children"), child);
}

static const char *node_status(const json_t *n) {
        return str(n, "status");
}

bool related_status_is_problem(const char *s) {
        return s && (strcmp(s, S_FAILED) == 0 || strcmp(s, S_MISPLACED) == 0);
}

/* ---- the resource and its Promise ---- */

static const char *workflow_status(const char *state) {
        if (strcmp(state, "Completed") == 0)
                return S_READY;
        if (strcmp(state, "Failed") == 0)
                return S_FAILED;
        if (strcmp(state, "Suspended") == 0)
                return S_SUSPENDED;
        return S_PROGRESS;
}

static json_t *object_node(const json_t *obj, int64_t now) {
        json_t *st = json_object_get(obj, "status");
        _cleanup_json_ json_t *wf = describe_workflow(st, now);
        const char *state = str(wf, "state") ? str(wf, "state") : "Unknown";
        const char *kind = str(obj, "kind") ? str(obj, "kind") : "Object";
        json_t *n = node_new(kind, meta_str(obj, "name"), obj, workflow_status(state), now);
        const json_t *cwc = cond(obj, "ConfigureWorkflowCompleted");
        if (strcmp(state, "Failed") == 0 || strcmp(state, "Suspended") == 0)
                node_why(n, str(cwc, "reason") ? str(cwc, "reason") : state, str(wf, "text"));
        else
                node_why(n, str(cwc, "reason"), str(st, "message"));
        return n;
}

static json_t *promise_node(const struct related_input *in) {
        if (!in->promise)
                return NULL;
        _cleanup_json_ json_t *wf = describe_workflow(json_object_get(in->promise, "status"), in->now);
        const char *state = str(wf, "state") ? str(wf, "state") : "Unknown";
        const char *s = strcmp(state, "Failed") == 0 ? S_FAILED : strcmp(state, "InProgress") == 0 ? S_PROGRESS : S_READY;
        json_t *n = node_new("Promise", meta_str(in->promise, "name"), in->promise, s, in->now);
        const char *avail = str(json_object_get(in->promise, "status"), "status");
        node_why(n, avail, strcmp(s, S_READY) == 0 ? NULL : str(wf, "text"));
        if (in->revision) {
                json_t *r = node_new("PromiseRevision", meta_str(in->revision, "name"), in->revision, S_READY, in->now);
                _cleanup_free_ char *m = xasprintf("version %s%s", in->version ? in->version : "latest",
                                                   in->version ? ", bound by its ResourceBinding" : "");
                node_why(r, "Bound", m);
                node_add(n, r);
        }
        return n;
}

/* ---- pipelines: Jobs, Pods, containers ---- */

static json_t *container_node(const json_t *spec, const json_t *cs, bool init, int64_t now) {
        const char *name = str(spec, "name");
        json_t *state = json_object_get(cs, "state");
        json_t *term = json_object_get(state, "terminated"), *wait = json_object_get(state, "waiting");
        json_t *last = json_object_get(json_object_get(cs, "lastState"), "terminated");
        json_int_t restarts = json_integer_value(json_object_get(cs, "restartCount"));
        json_t *n;
        _cleanup_free_ char *msg = NULL;
        if (term) {
                json_int_t code = json_integer_value(json_object_get(term, "exitCode"));
                n = node_new("Container", name, NULL, code == 0 ? S_READY : S_FAILED, now);
                msg = xasprintf("exit code %lld", (long long)code);
                node_why(n, str(term, "reason") ? str(term, "reason") : code == 0 ? "Completed" : "Error", msg);
        } else if (json_object_get(state, "running")) {
                n = node_new("Container", name, NULL, S_PROGRESS, now);
                if (restarts > 0 && last)
                        msg = xasprintf("restarts: %lld, last: %s (exit code %lld)", (long long)restarts,
                                        str(last, "reason") ? str(last, "reason") : "Error",
                                        (long long)json_integer_value(json_object_get(last, "exitCode")));
                node_why(n, "Running", msg);
        } else if (wait && last && json_integer_value(json_object_get(last, "exitCode")) != 0) {
                /* Failed and waiting to be restarted (CrashLoopBackOff): the failure is this container's. */
                n = node_new("Container", name, NULL, S_FAILED, now);
                msg = xasprintf("%s (exit code %lld), restarts: %lld", str(last, "reason") ? str(last, "reason") : "Error",
                                (long long)json_integer_value(json_object_get(last, "exitCode")), (long long)restarts);
                node_why(n, str(wait, "reason"), msg);
        } else {
                n = node_new("Container", name, NULL, S_PROGRESS, now);
                node_why(n, wait ? str(wait, "reason") : "Waiting", wait ? str(wait, "message") : NULL);
        }
        set_str(n, "id", str(cs, "containerID"));
        if (init && str(spec, "restartPolicy") && strcmp(str(spec, "restartPolicy"), "Always") == 0)
                json_object_set_new(n, "sidecar", json_true());
        return n;
}

static const json_t *status_named(const json_t *list, const char *name) {
        size_t i;
        json_t *cs;
        json_array_foreach(list, i, cs) if (name && str(cs, "name") && strcmp(str(cs, "name"), name) == 0) return cs;
        return NULL;
}

static json_t *pod_node(const json_t *pod, int64_t now) {
        _cleanup_(kstatus_pod_outcome_clear) struct kstatus_pod_outcome o = { 0 };
        kstatus_pod_outcome_read(pod, NULL, &o);
        const char *s = o.state == KSTATUS_POD_SUCCEEDED ? S_READY : o.state == KSTATUS_POD_FAILED ? S_FAILED : S_PROGRESS;
        json_t *n = node_new("Pod", meta_str(pod, "name"), pod, s, now);
        json_t *spec = json_object_get(pod, "spec"), *st = json_object_get(pod, "status");
        static const char *const lists[][2] = { { "initContainers", "initContainerStatuses" },
                                                { "containers", "containerStatuses" } };
        bool child_failed = false;
        for (size_t l = 0; l < 2; l++) {
                size_t i;
                json_t *c;
                json_array_foreach(json_object_get(spec, lists[l][0]), i, c) {
                        json_t *cn = container_node(c, status_named(json_object_get(st, lists[l][1]), str(c, "name")),
                                                    l == 0, now);
                        child_failed |= related_status_is_problem(node_status(cn));
                        node_add(n, cn);
                }
        }
        if (child_failed && o.state != KSTATUS_POD_SUCCEEDED)
                json_object_set_new(n, "status", json_string(S_FAILED));
        node_why(n, o.state == KSTATUS_POD_STOPPED ? "Stopped" : str(st, "phase"), o.reason);
        return n;
}

static json_t *job_node(const json_t *job, const json_t *pods, int64_t now) {
        const json_t *c;
        json_t *n;
        if (kstatus_job_failed(job)) {
                c = cond_is(cond(job, "Failed"), "True") ? cond(job, "Failed") : cond(job, "FailureTarget");
                n = node_new("Job", meta_str(job, "name"), job, S_FAILED, now);
        } else if (cond_is(c = cond(job, "Complete"), "True"))
                n = node_new("Job", meta_str(job, "name"), job, S_READY, now);
        else if (cond_is(c = cond(job, "Suspended"), "True"))
                n = node_new("Job", meta_str(job, "name"), job, S_SUSPENDED, now);
        else {
                c = NULL;
                n = node_new("Job", meta_str(job, "name"), job, S_PROGRESS, now);
                node_why(n, "Running", NULL);
        }
        if (c)
                node_why(n, str(c, "reason"), str(c, "message"));
        size_t i;
        json_t *pod;
        bool any = false;
        json_array_foreach(items(pods), i, pod) {
                const char *owner = kstatus_pod_job(pod);
                if (!owner)
                        owner = label(pod, "batch.kubernetes.io/job-name");
                if (owner && strcmp(owner, meta_str(job, "name")) == 0 &&
                    strcmp(meta_str(pod, "namespace") ?: "", meta_str(job, "namespace") ?: "") == 0) {
                        node_add(n, pod_node(pod, now));
                        any = true;
                }
        }
        if (!any && strcmp(node_status(n), S_FAILED) == 0)
                json_object_set_new(n, "message",
                                    json_sprintf("%s; its Pods are gone (the Job controller deleted them)",
                                                 str(n, "message") ? str(n, "message") : "failed"));
        return n;
}

/* The newest Job of pipeline p (creationTimestamp, then name), or NULL. */
static const json_t *latest_job(const json_t *jobs, const char *p) {
        const json_t *best = NULL;
        size_t i;
        json_t *j;
        json_array_foreach(items(jobs), i, j) {
                const char *jp = label(j, "kratix.io/pipeline-name");
                if (!jp || strcmp(jp, p) != 0)
                        continue;
                if (!best) {
                        best = j;
                        continue;
                }
                int c = strcmp(meta_str(j, "creationTimestamp") ?: "", meta_str(best, "creationTimestamp") ?: "");
                if (c > 0 || (c == 0 && strcmp(meta_str(j, "name") ?: "", meta_str(best, "name") ?: "") > 0))
                        best = j;
        }
        return best;
}

static const char *phase_status(const char *phase) {
        if (!phase)
                return NULL;
        if (strcmp(phase, "Succeeded") == 0)
                return S_READY;
        if (strcmp(phase, "Failed") == 0)
                return S_FAILED;
        if (strcmp(phase, "Suspended") == 0)
                return S_SUSPENDED;
        return S_PROGRESS;
}

static json_t *pipeline_node(const struct related_input *in, const char *name, const json_t *entry) {
        const json_t *job = latest_job(in->jobs, name);
        json_t *jn = job ? job_node(job, in->pods, in->now) : NULL;
        const char *s = phase_status(str(entry, "phase"));
        if (!s)
                s = jn ? node_status(jn) : S_PROGRESS;
        json_t *n = node_new("Pipeline", name, NULL, s, in->now);
        node_why(n, str(entry, "phase"), str(entry, "message"));
        if (jn)
                node_add(n, jn);
        else if (!entry || strcmp(s, S_READY) != 0)
                node_why(n, str(entry, "phase") ? str(entry, "phase") : "NoJob", "no Job found for this pipeline");
        return n;
}

static bool seen(const json_t *names, const char *name) {
        size_t i;
        json_t *x;
        json_array_foreach(names, i, x) if (strcmp(json_string_value(x), name) == 0) return true;
        return false;
}

/* Pipelines in the order Kratix's status lists them, then any other with a Job. */
static void add_pipelines(json_t *root, const struct related_input *in) {
        const json_t *list = json_object_get(
                json_object_get(json_object_get(json_object_get(in->object, "status"), "kratix"), "workflows"),
                "pipelines");
        _cleanup_json_ json_t *names = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(list, i, e) {
                const char *name = str(e, "name");
                if (!name || seen(names, name))
                        continue;
                json_array_append_new(names, json_string(name));
                node_add(root, pipeline_node(in, name, e));
        }
        json_array_foreach(items(in->jobs), i, e) {
                const char *name = label(e, "kratix.io/pipeline-name");
                if (!name || seen(names, name))
                        continue;
                json_array_append_new(names, json_string(name));
                node_add(root, pipeline_node(in, name, NULL));
        }
}

/* ---- Works, WorkPlacements, Destinations ---- */

static const json_t *destination_named(const json_t *dests, const char *name) {
        size_t i;
        json_t *d;
        json_array_foreach(items(dests), i, d) if (name && meta_str(d, "name") &&
                                                   strcmp(meta_str(d, "name"), name) == 0) return d;
        return NULL;
}

static json_t *destination_node(const struct related_input *in, const char *name) {
        const json_t *d = destination_named(in->destinations, name);
        if (!d) {
                json_t *n = node_new("Destination", name, NULL, S_FAILED, in->now);
                _cleanup_free_ char *m = xasprintf("destination \"%s\" not found", name ? name : "");
                node_why(n, "NotFound", m);
                return n;
        }
        const json_t *r = cond(d, "Ready");
        const char *s = cond_is(r, "True") ? S_READY : cond_is(r, "False") ? S_FAILED : S_PROGRESS;
        json_t *n = node_new("Destination", name, d, s, in->now);
        node_why(n, r ? str(r, "reason") : "Pending", str(r, "message"));
        return n;
}

/* Kratix's WorkPlacement conditions: ScheduleSucceeded (the scheduler),
 * WriteSucceeded and Ready (the WorkPlacement controller); kratix.io/misplaced. */
static json_t *placement_node(const struct related_input *in, const json_t *wp) {
        const json_t *ready = cond(wp, "Ready"), *write = cond(wp, "WriteSucceeded");
        const json_t *sched = cond(wp, "ScheduleSucceeded"), *why = ready;
        const char *misplaced = label(wp, "kratix.io/misplaced");
        const char *s;
        if (misplaced && strcmp(misplaced, "true") == 0) {
                s = S_MISPLACED;
                why = sched ? sched : ready;
        } else if (cond_is(write, "False")) {
                s = S_FAILED;
                why = write;
        } else if (cond_is(ready, "True"))
                s = S_READY;
        else
                s = S_PROGRESS;
        json_t *n = node_new("WorkPlacement", meta_str(wp, "name"), wp, s, in->now);
        node_why(n, why ? str(why, "reason") : "Pending", why ? str(why, "message") : NULL);
        json_t *spec = json_object_get(wp, "spec");
        set_str(n, "id", str(spec, "id"));
        if (json_is_integer(json_object_get(spec, "generation")))
                json_object_set(n, "workGeneration", json_object_get(spec, "generation"));
        set_str(n, "versionID", str(json_object_get(wp, "status"), "versionID"));
        if (strcmp(s, S_MISPLACED) == 0)
                json_object_set_new(n, "misplaced", json_true());
        node_add(n, destination_node(in, str(spec, "targetDestinationName")));
        return n;
}

/* Kratix's scheduler writes the Work's Ready and ScheduleSucceeded conditions. */
static json_t *work_node(const struct related_input *in, const json_t *w) {
        const json_t *ready = cond(w, "Ready"), *sched = cond(w, "ScheduleSucceeded");
        const char *reason = str(ready, "reason");
        const char *s = cond_is(ready, "True")                                        ? S_READY
                        : reason && strcmp(reason, "Misplaced") == 0                 ? S_MISPLACED
                        : reason && strcmp(reason, "FailedToScheduleWorkloads") == 0 ? S_FAILED
                                                                                     : S_PROGRESS;
        json_t *n = node_new("Work", meta_str(w, "name"), w, s, in->now);
        const json_t *why = cond_is(ready, "True") || !sched ? ready : sched;
        node_why(n, why ? str(why, "reason") : "Pending", why ? str(why, "message") : NULL);
        size_t i;
        json_t *wp;
        json_array_foreach(items(in->placements), i, wp) {
                const char *wl = label(wp, "kratix.io/work");
                if (wl && strcmp(wl, meta_str(w, "name") ?: "") == 0 &&
                    strcmp(meta_str(wp, "namespace") ?: "", meta_str(w, "namespace") ?: "") == 0)
                        node_add(n, placement_node(in, wp));
        }
        return n;
}

static int by_name(const void *a, const void *b) {
        return strcmp(meta_str(*(json_t *const *)a, "name") ?: "", meta_str(*(json_t *const *)b, "name") ?: "");
}

static void add_works(json_t *root, const struct related_input *in) {
        size_t n = json_array_size(items(in->works));
        if (n == 0)
                return;
        _cleanup_free_ json_t **v = xcalloc(n, sizeof(json_t *));
        for (size_t i = 0; i < n; i++)
                v[i] = json_array_get(items(in->works), i);
        qsort(v, n, sizeof(json_t *), by_name);
        for (size_t i = 0; i < n; i++)
                node_add(root, work_node(in, v[i]));
}

/* ---- the tree and its failing paths ---- */

/* Record the path to every problem node below which nothing else is a problem. */
static bool collect_failing(const json_t *n, json_t *path, json_t *failing) {
        _cleanup_free_ char *ref = xasprintf("%s/%s", str(n, "kind"), str(n, "name"));
        json_array_append_new(path, json_string(ref));
        bool below = false;
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(n, "children"), i, c) below |= collect_failing(c, path, failing);
        bool problem = related_status_is_problem(node_status(n));
        if (problem && !below) {
                json_t *f = json_pack("{s:o, s:s}", "path", json_deep_copy(path), "status", node_status(n));
                set_str(f, "reason", str(n, "reason"));
                set_str(f, "message", str(n, "message"));
                json_array_append_new(failing, f);
        }
        json_array_remove(path, json_array_size(path) - 1);
        return problem || below;
}

static int status_rank(const char *s) {
        static const char *const order[] = { S_READY, S_PROGRESS, S_SUSPENDED, S_MISPLACED, S_FAILED };
        for (size_t i = 0; i < ELEMENTSOF(order); i++)
                if (s && strcmp(s, order[i]) == 0)
                        return (int)i;
        return 1;
}

static int worst(const json_t *n) {
        int w = status_rank(node_status(n));
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(n, "children"), i, c) {
                int r = worst(c);
                if (r > w)
                        w = r;
        }
        return w;
}

json_t *related_trace(const struct related_input *in) {
        json_t *root = object_node(in->object, in->now);
        json_t *p = promise_node(in);
        if (p)
                node_add(root, p);
        add_pipelines(root, in);
        add_works(root, in);
        static const char *const order[] = { S_READY, S_PROGRESS, S_SUSPENDED, S_MISPLACED, S_FAILED };
        json_t *failing = json_array();
        _cleanup_json_ json_t *path = json_array();
        collect_failing(root, path, failing);
        return json_pack("{s:s, s:s, s:s, s:b, s:o, s:o}", "apiVersion", "kstatus.syntasso.io/v1", "kind", "Trace",
                         "status", order[worst(root)], "output", json_array_size(items(in->works)) > 0, "root", root,
                         "failing", failing);
}

json_t *related_placement(const json_t *trace) {
        json_t *dests = json_array();
        size_t i, j;
        json_t *w, *wp;
        json_array_foreach(json_object_get(json_object_get(trace, "root"), "children"), i, w) {
                if (strcmp(str(w, "kind"), "Work") != 0)
                        continue;
                json_array_foreach(json_object_get(w, "children"), j, wp) {
                        const json_t *d = json_array_get(json_object_get(wp, "children"), 0);
                        /* The placement's problem first; a Destination's when the placement has none. */
                        const json_t *why = !related_status_is_problem(node_status(wp)) &&
                                                            related_status_is_problem(node_status(d))
                                                    ? d
                                                    : wp;
                        json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:b}", "name", str(d, "name"), "status",
                                              node_status(why), "work", str(w, "name"), "placement", str(wp, "name"),
                                              "misplaced", json_is_true(json_object_get(wp, "misplaced")));
                        set_str(e, "destinationStatus", node_status(d));
                        set_str(e, "reason", str(why, "reason"));
                        set_str(e, "message", str(why, "message"));
                        json_array_append_new(dests, e);
                }
        }
        return json_pack("{s:b, s:o}", "output", json_is_true(json_object_get(trace, "output")), "destinations", dests);
}

char *related_work_selector(const json_t *obj, bool is_promise, bool pipeline_ns) {
        if (is_promise)
                return xasprintf("kratix.io/promise-name=%s,kratix.io/work-type=promise", meta_str(obj, "name"));
        const char *promise = label(obj, "kratix.io/promise-name"), *ns = meta_str(obj, "namespace");
        _cleanup_free_ char *rns = pipeline_ns && ns ? xasprintf(",kratix.io/resource-namespace=%s", ns) : xstrdup("");
        return promise ? xasprintf("kratix.io/promise-name=%s,kratix.io/resource-name=%s%s", promise,
                                   meta_str(obj, "name"), rns)
                       : xasprintf("kratix.io/resource-name=%s%s", meta_str(obj, "name"), rns);
}

char *related_pipeline_selector(const json_t *obj, bool is_promise) {
        if (is_promise)
                return xasprintf("kratix.io/promise-name=%s,kratix.io/workflow-type=promise", meta_str(obj, "name"));
        const char *promise = label(obj, "kratix.io/promise-name");
        return promise ? xasprintf("kratix.io/resource-name=%s,kratix.io/promise-name=%s", meta_str(obj, "name"),
                                   promise)
                       : xasprintf("kratix.io/resource-name=%s", meta_str(obj, "name"));
}

char *related_placement_selector(const json_t *works) {
        size_t n = json_array_size(items(works));
        if (n == 0)
                return NULL;
        if (n > RELATED_MAX_SET)
                return xstrdup("kratix.io/work"); /* a URL of reasonable length: every placement, matched here */
        char *sel = xstrdup("kratix.io/work in (");
        for (size_t i = 0; i < n; i++) {
                char *next = xasprintf("%s%s%s", sel, i ? "," : "", meta_str(json_array_get(items(works), i), "name"));
                free(sel);
                sel = next;
        }
        char *done = xasprintf("%s)", sel);
        free(sel);
        return done;
}
