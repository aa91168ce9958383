#include "pipeline.h"

#include <errno.h>
#include <string.h>

#include "kube/client.h"

void kstatus_object_ref_clear(struct kstatus_object_ref *ref) {
        if (!ref)
                return;
        free(ref->group);
        free(ref->version);
        free(ref->resource);
        free(ref->kind);
        free(ref->name);
        free(ref->namespace);
        *ref = (struct kstatus_object_ref){ 0 };
}

/* Every segment percent-encoded, as client-go's URL does: a '?' or '#' in a
 * name stays in the path (names with '/' or '%' are refused before:
 * kube_path_segment_problems). */
char *kstatus_object_ref_path(const struct kstatus_object_ref *ref, const char *subresource) {
        _cleanup_free_ char *version = kube_escape(ref->version), *resource = kube_escape(ref->resource);
        _cleanup_free_ char *name = kube_escape(ref->name), *base = NULL;
        if (!ref->group || !*ref->group)
                base = xasprintf("/api/%s", version);
        else {
                _cleanup_free_ char *group = kube_escape(ref->group);
                base = xasprintf("/apis/%s/%s", group, version);
        }
        _cleanup_free_ char *scope = NULL;
        if (!ref->cluster_scoped && ref->namespace && *ref->namespace) {
                _cleanup_free_ char *ns = kube_escape(ref->namespace);
                scope = xasprintf("/namespaces/%s", ns);
        }
        return xasprintf("%s%s/%s/%s%s%s", base, scope ? scope : "", resource, name, subresource ? "/" : "",
                         subresource ? subresource : "");
}

char *kstatus_object_ref_display(const struct kstatus_object_ref *ref) {
        if (ref->group && *ref->group)
                return xasprintf("%s.%s/%s", ref->resource, ref->group, ref->name);
        return xasprintf("%s/%s", ref->resource, ref->name);
}

void kstatus_pod_outcome_clear(struct kstatus_pod_outcome *o) {
        if (!o)
                return;
        free(o->container);
        free(o->reason);
        free(o->container_reason);
        *o = (struct kstatus_pod_outcome){ 0 };
}

const char *kstatus_pod_state_to_string(enum kstatus_pod_state state) {
        static const char *const names[] = { "running", "succeeded", "failed", "stopped early" };
        return state < ELEMENTSOF(names) ? names[state] : "unknown";
}

static const char *str(const json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

static bool named(const json_t *o, const char *name) {
        const char *n = str(o, "name");
        return n && name && strcmp(n, name) == 0;
}

static json_t *find_named(const json_t *list, const char *name) {
        size_t i;
        json_t *x;
        json_array_foreach(list, i, x) {
                if (named(x, name))
                        return x;
        }
        return NULL;
}

static char *exit_reason(const json_t *term) {
        const char *reason = str(term, "reason");
        return xasprintf("%s (exit code %lld)", reason ? reason : "Error",
                         (long long)json_integer_value(json_object_get(term, "exitCode")));
}

/* Remember the first failure seen (final or about to be retried). */
static void note_failure(struct kstatus_pod_outcome *o, const char *name, const json_t *term) {
        if (o->container)
                return;
        o->container = xstrdup(name);
        o->reason = exit_reason(term);
        o->container_reason = xstrdup(o->reason);
}

/* One pipeline container: true when it ended for good (exit 0, or a failure under restartPolicy Never). */
static bool container_ended(const json_t *cs, const char *name, bool never_restart, struct kstatus_pod_outcome *o,
                            bool *failed) {
        json_t *term = json_object_get(json_object_get(cs, "state"), "terminated");
        if (term) {
                if (json_integer_value(json_object_get(term, "exitCode")) == 0)
                        return true;
                note_failure(o, name, term);
                *failed = *failed || never_restart;
                return never_restart;
        }
        /* Restarting after a failure (OnFailure): its lastState says so. */
        json_t *last = json_object_get(json_object_get(cs, "lastState"), "terminated");
        if (last && json_integer_value(json_object_get(last, "exitCode")) != 0)
                note_failure(o, name, last);
        return false;
}

/* Why the Pod stopped early, or NULL: evicted, disrupted or being deleted. */
static char *stopped_early(const json_t *pod) {
        json_t *status = json_object_get(pod, "status");
        const char *reason = str(status, "reason");
        if (reason && strcmp(reason, "Evicted") == 0) {
                const char *msg = str(status, "message");
                return xasprintf("evicted%s%s", msg ? ": " : "", msg ? msg : "");
        }
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(status, "conditions"), i, c) {
                if (strcmp(str(c, "type") ?: "", "DisruptionTarget") == 0 && strcmp(str(c, "status") ?: "", "True") == 0)
                        return xasprintf("disrupted (%s)", str(c, "reason") ?: "DisruptionTarget");
        }
        if (json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp"))
                return xstrdup("the Pod is being deleted (its Job suspended or deleted)");
        return NULL;
}

/* Walk the pipeline containers; returns how many there are, and how many ended. */
static size_t walk_containers(const json_t *pod, const char *self, struct kstatus_pod_outcome *o, size_t *ended,
                              bool *failed) {
        json_t *spec = json_object_get(pod, "spec"), *status = json_object_get(pod, "status");
        bool never = strcmp(str(spec, "restartPolicy") ?: "Always", "Never") == 0;
        static const char *const specs[] = { "initContainers", "containers" };
        static const char *const statuses[] = { "initContainerStatuses", "containerStatuses" };
        size_t n = 0;
        for (size_t l = 0; l < ELEMENTSOF(specs); l++) {
                /* Without a spec (a bare status), the statuses name the containers. */
                json_t *list = json_object_get(spec, specs[l]);
                if (!json_is_array(list))
                        list = json_object_get(status, statuses[l]);
                size_t i;
                json_t *c;
                json_array_foreach(list, i, c) {
                        const char *name = str(c, "name");
                        if (!name || named(c, self) || strcmp(str(c, "restartPolicy") ?: "", "Always") == 0)
                                continue;
                        if (strcmp(name, "status-writer") == 0)
                                o->kratix = true;
                        n++;
                        json_t *cs = find_named(json_object_get(status, statuses[l]), name);
                        if (cs && container_ended(cs, name, never, o, failed))
                                (*ended)++;
                }
        }
        return n;
}

void kstatus_pod_outcome_read(const json_t *pod, const char *self, struct kstatus_pod_outcome *ret) {
        struct kstatus_pod_outcome o = { 0 };
        size_t ended = 0;
        bool failed = false;
        size_t n = walk_containers(pod, self, &o, &ended, &failed);
        json_t *status = json_object_get(pod, "status");
        _cleanup_free_ char *early = stopped_early(pod);
        const char *phase = str(status, "phase") ?: "";
        if (early) {
                o.state = KSTATUS_POD_STOPPED;
                o.deleted = json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp") &&
                            strcmp(phase, "Failed") != 0;
                free(o.reason);
                o.reason = TAKE_PTR(early);
        } else if (failed || strcmp(phase, "Failed") == 0) {
                o.state = KSTATUS_POD_FAILED;
                if (!o.reason) {
                        const char *reason = str(status, "reason");
                        o.reason = xasprintf("Pod failed%s%s", reason ? ": " : "", reason ? reason : "");
                }
        } else if (n > 0 && ended == n) {
                o.state = KSTATUS_POD_SUCCEEDED;
                free(o.container);
                free(o.reason);
                free(o.container_reason);
                o.container = o.reason = o.container_reason = NULL;
        } else
                o.state = KSTATUS_POD_RUNNING;
        *ret = o;
}

static int pipeline_position(const json_t *promise_spec, const char *workflow_type, const char *action,
                             const char *pipeline, int *ret_index, int *ret_count) {
        json_t *list = json_object_get(json_object_get(json_object_get(promise_spec, "workflows"), workflow_type), action);
        if (!json_is_array(list))
                return -ENOENT;
        size_t i;
        json_t *p;
        json_array_foreach(list, i, p) {
                const char *name = json_string_value(json_object_get(json_object_get(p, "metadata"), "name"));
                if (name && strcmp(name, pipeline) == 0) {
                        *ret_index = (int)i;
                        *ret_count = (int)json_array_size(list);
                        return 0;
                }
        }
        return -ENOENT;
}

const char *kstatus_pod_job(const json_t *pod) {
        size_t i;
        json_t *ref;
        json_array_foreach(json_object_get(json_object_get(pod, "metadata"), "ownerReferences"), i, ref) {
                if (strcmp(str(ref, "kind") ?: "", "Job") == 0)
                        return str(ref, "name");
        }
        return NULL;
}

bool kstatus_job_failed(const json_t *job) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(json_object_get(job, "status"), "conditions"), i, c) {
                const char *type = str(c, "type") ?: "";
                if ((strcmp(type, "FailureTarget") == 0 || strcmp(type, "Failed") == 0) &&
                    strcmp(str(c, "status") ?: "", "True") == 0)
                        return true;
        }
        return false;
}

int kstatus_promise_pipeline_position(const json_t *promise, const char *workflow_type, const char *action,
                                      const char *pipeline, int *ret_index, int *ret_count) {
        return pipeline_position(json_object_get(promise, "spec"), workflow_type, action, pipeline, ret_index,
                                 ret_count);
}

int kstatus_revision_pipeline_position(const json_t *revision, const char *workflow_type, const char *action,
                                       const char *pipeline, int *ret_index, int *ret_count) {
        return pipeline_position(json_object_get(json_object_get(revision, "spec"), "promiseSpec"), workflow_type,
                                 action, pipeline, ret_index, ret_count);
}

const char *kstatus_binding_version(const json_t *bindings, const json_t *status) {
        json_t *items = json_object_get(bindings, "items");
        if (json_array_size(items) == 1)
                return str(json_object_get(json_array_get(items, 0), "spec"), "version");
        if (json_array_size(items) > 1)
                return NULL;
        const char *v = str(status, "promiseVersion");
        return v && *v ? v : "latest";
}

const json_t *kstatus_revision_pick(const json_t *revisions, const char *version) {
        bool latest = strcmp(version, "latest") == 0;
        const json_t *found = NULL;
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(revisions, "items"), i, r) {
                bool match = latest ? json_is_true(json_object_get(json_object_get(r, "status"), "latest"))
                                    : strcmp(str(json_object_get(r, "spec"), "version") ?: "", version) == 0;
                if (!match)
                        continue;
                if (latest)
                        return r;
                if (found)
                        return NULL; /* two revisions of one version: Kratix refuses to choose too */
                found = r;
        }
        return found;
}
