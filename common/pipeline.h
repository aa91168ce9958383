/* pipeline.h - facts about the pipeline a sidecar runs beside, computed from
 * API objects (pure functions, so they are unit-tested without a server). */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "util.h"

/* The resource a pipeline reports on. */
struct kstatus_object_ref {
        char *group;     /* "" for the core group */
        char *version;
        char *resource;  /* plural */
        char *kind;      /* may be NULL when only the plural is known */
        char *name;
        char *namespace; /* NULL or "" when cluster-scoped */
        bool cluster_scoped;
};

void kstatus_object_ref_clear(struct kstatus_object_ref *ref);

/* The API path of the object, with "/<subresource>" when not NULL. New string. */
char *kstatus_object_ref_path(const struct kstatus_object_ref *ref, const char *subresource);

/* "databases.example.promise.syntasso.io/example" style name for messages. New string. */
char *kstatus_object_ref_display(const struct kstatus_object_ref *ref);

/* How the pipeline's containers ended, read from its Pod (docs/BEHAVIOUR.md §5). */
enum kstatus_pod_state {
        KSTATUS_POD_RUNNING,   /* a pipeline container has not ended, or will be restarted */
        KSTATUS_POD_SUCCEEDED, /* every pipeline container (status-writer included) exited 0 */
        KSTATUS_POD_FAILED,    /* one failed for good: exited non-zero with no restart left, or the Pod failed */
        KSTATUS_POD_STOPPED,   /* stopped early: evicted, disrupted or deleted (a Job suspended or
                                * deleted): not a failure of the pipeline */
};

struct kstatus_pod_outcome {
        enum kstatus_pod_state state;
        bool kratix;            /* the Pod has Kratix's status-writer container */
        bool deleted;           /* STOPPED because the Pod is being deleted (not evicted) */
        char *container;        /* the container that failed (or failed and would be restarted), or NULL */
        char *reason;           /* why: "Error (exit code 3)", "evicted: …", …; NULL when succeeded */
        char *container_reason; /* how `container` failed ("Error (exit code 3)"), or NULL */
};

void kstatus_pod_outcome_clear(struct kstatus_pod_outcome *o);

/* Read `pod` (borrowed). Pipeline containers are every container and init
 * container except `self` (our own, may be NULL) and native sidecars (init
 * containers with restartPolicy Always); Kratix's status-writer is one of
 * them. A non-zero exit is final only under the Pod's restartPolicy Never
 * (OnFailure and Always restart the container; the Job's backoffLimit then
 * ends the Pod by deleting it). An evicted, disrupted (condition
 * DisruptionTarget) or deleted Pod is STOPPED, whatever its containers show. */
void kstatus_pod_outcome_read(const json_t *pod, const char *self, struct kstatus_pod_outcome *ret);

/* The element of `list` (containers, env variables, volumes, container
 * statuses) whose "name" is `name`, or NULL; its index in *ret_index when
 * ret_index is not NULL. Borrowed. */
json_t *kstatus_find_named(const json_t *list, const char *name, size_t *ret_index);

/* The name of the Job that owns `pod` (an ownerReference of kind Job), or NULL. Borrowed. */
const char *kstatus_pod_job(const json_t *pod);

/* True when the Job has given up on its Pods: a condition FailureTarget (set
 * before the Job controller deletes them, Kubernetes >= 1.31) or Failed is True. */
bool kstatus_job_failed(const json_t *job);

/* "succeeded", "failed", … for log lines. */
const char *kstatus_pod_state_to_string(enum kstatus_pod_state state);

/* Where `pipeline` sits in a Promise's spec.workflows.<type>.<action> list.
 * Returns 0 with *ret_index and *ret_count, or -ENOENT when the Promise does
 * not list it. */
int kstatus_promise_pipeline_position(const json_t *promise, const char *workflow_type, const char *action,
                                      const char *pipeline, int *ret_index, int *ret_count);

/* The same for a PromiseRevision (its spec.promiseSpec), which is what Kratix
 * runs a resource's pipelines from. */
int kstatus_revision_pipeline_position(const json_t *revision, const char *workflow_type, const char *action,
                                       const char *pipeline, int *ret_index, int *ret_count);

/* The Promise version a resource is bound to, as Kratix's resource controller
 * resolves it: the one ResourceBinding of the resource (`bindings`: the list of
 * ResourceBindings labelled kratix.io/promise-name and kratix.io/resource-name
 * in its namespace) gives spec.version; without one, the resource's
 * status.promiseVersion; else "latest". NULL when several bindings match
 * (Kratix refuses too). Borrowed from the arguments, or static. */
const char *kstatus_binding_version(const json_t *bindings, const json_t *status);

/* From a PromiseRevisionList of one Promise, the revision of `version`
 * ("latest": the one whose status.latest is true), or NULL when there is none
 * or several. Borrowed. */
const json_t *kstatus_revision_pick(const json_t *revisions, const char *version);
