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

/* How the pipeline's containers ended, read from its Pod. */
struct kstatus_pod_outcome {
        bool finished;          /* every container but ours has terminated */
        bool failed;            /* one of them failed (or the Pod failed) */
        char *failed_container; /* the first that failed, or one that failed and is being restarted */
        char *failed_reason;    /* e.g. "Error (exit code 1)", or NULL */
};

void kstatus_pod_outcome_clear(struct kstatus_pod_outcome *o);

/* Read `pod` (borrowed) ignoring the container named `self` (our own, may be
 * NULL) and the Kratix status-writer container, which only starts after the
 * pipeline has ended. */
void kstatus_pod_outcome_read(const json_t *pod, const char *self, struct kstatus_pod_outcome *ret);

/* Where `pipeline` sits in a Promise's spec.workflows.<type>.<action> list.
 * Returns 0 with *ret_index and *ret_count, or -ENOENT when the Promise does
 * not list it. */
int kstatus_promise_pipeline_position(const json_t *promise, const char *workflow_type, const char *action,
                                      const char *pipeline, int *ret_index, int *ret_count);
