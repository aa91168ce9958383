#include "pipeline.h"

#include <errno.h>
#include <string.h>

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

char *kstatus_object_ref_path(const struct kstatus_object_ref *ref, const char *subresource) {
        _cleanup_free_ char *base = NULL;
        if (!ref->group || !*ref->group)
                base = xasprintf("/api/%s", ref->version);
        else
                base = xasprintf("/apis/%s/%s", ref->group, ref->version);
        _cleanup_free_ char *scope = NULL;
        if (!ref->cluster_scoped && ref->namespace && *ref->namespace)
                scope = xasprintf("/namespaces/%s", ref->namespace);
        return xasprintf("%s%s/%s/%s%s%s", base, scope ? scope : "", ref->resource, ref->name,
                         subresource ? "/" : "", subresource ? subresource : "");
}

char *kstatus_object_ref_display(const struct kstatus_object_ref *ref) {
        if (ref->group && *ref->group)
                return xasprintf("%s.%s/%s", ref->resource, ref->group, ref->name);
        return xasprintf("%s/%s", ref->resource, ref->name);
}

void kstatus_pod_outcome_clear(struct kstatus_pod_outcome *o) {
        if (!o)
                return;
        free(o->failed_container);
        free(o->failed_reason);
        *o = (struct kstatus_pod_outcome){ 0 };
}

/* One container status: finished (terminated) and whether it failed. */
static void read_container(const json_t *cs, struct kstatus_pod_outcome *o, bool *all_finished) {
        const char *name = json_string_value(json_object_get(cs, "name"));
        json_t *state = json_object_get(cs, "state");
        json_t *term = json_object_get(state, "terminated");
        if (!term) {
                /* A container restarting after a failure (restartPolicy
                 * OnFailure) shows its failure in lastState. */
                json_t *last = json_object_get(json_object_get(cs, "lastState"), "terminated");
                if (last && json_integer_value(json_object_get(last, "exitCode")) != 0 && !o->failed) {
                        o->failed_container = xstrdup(name ? name : "?");
                        const char *reason = json_string_value(json_object_get(last, "reason"));
                        o->failed_reason = xasprintf("%s (exit code %lld)", reason ? reason : "Error",
                                                     (long long)json_integer_value(json_object_get(last, "exitCode")));
                }
                *all_finished = false;
                return;
        }
        json_int_t code = json_integer_value(json_object_get(term, "exitCode"));
        if (code != 0 && !o->failed) {
                o->failed = true;
                free(o->failed_container);
                free(o->failed_reason);
                o->failed_container = xstrdup(name ? name : "?");
                const char *reason = json_string_value(json_object_get(term, "reason"));
                o->failed_reason = xasprintf("%s (exit code %lld)", reason ? reason : "Error", (long long)code);
        }
}

static bool ignored(const char *name, const char *self) {
        if (!name)
                return true;
        if (self && strcmp(name, self) == 0)
                return true;
        return strcmp(name, "status-writer") == 0;
}

void kstatus_pod_outcome_read(const json_t *pod, const char *self, struct kstatus_pod_outcome *ret) {
        struct kstatus_pod_outcome o = { 0 };
        bool all_finished = true;
        json_t *status = json_object_get(pod, "status");
        const char *lists[] = { "initContainerStatuses", "containerStatuses" };
        size_t seen = 0;
        for (size_t l = 0; l < ELEMENTSOF(lists); l++) {
                size_t i;
                json_t *cs;
                json_array_foreach(json_object_get(status, lists[l]), i, cs) {
                        if (ignored(json_string_value(json_object_get(cs, "name")), self))
                                continue;
                        seen++;
                        read_container(cs, &o, &all_finished);
                }
        }
        const char *phase = json_string_value(json_object_get(status, "phase"));
        if (phase && strcmp(phase, "Failed") == 0 && !o.failed) {
                o.failed = true;
                if (!o.failed_reason) {
                        const char *reason = json_string_value(json_object_get(status, "reason"));
                        o.failed_reason = xasprintf("Pod failed%s%s", reason ? ": " : "", reason ? reason : "");
                }
        }
        o.finished = all_finished && seen > 0;
        if (o.failed)
                o.finished = true;
        *ret = o;
}

int kstatus_promise_pipeline_position(const json_t *promise, const char *workflow_type, const char *action,
                                      const char *pipeline, int *ret_index, int *ret_count) {
        json_t *list = json_object_get(
                json_object_get(json_object_get(json_object_get(promise, "spec"), "workflows"), workflow_type), action);
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
