/* workflow.h - the workflow conditions and message (docs/BEHAVIOUR.md §4), and
 * workflow-control.yaml as Kratix reads it. The sidecar and the plugin's
 * `merge` preview both go through here. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util.h"

enum kstatus_workflow_event {
        KSTATUS_WORKFLOW_CONFIGURE_STARTED,   /* a pipeline of a configure run starts */
        KSTATUS_WORKFLOW_CONFIGURE_SUCCEEDED, /* the last pipeline ended well, no suspend or retry asked */
        KSTATUS_WORKFLOW_PIPELINE_SUCCEEDED,  /* any other pipeline (configure or delete) ended well */
        KSTATUS_WORKFLOW_CONFIGURE_FAILED,    /* a configure pipeline failed for good */
        KSTATUS_WORKFLOW_DELETE_STARTED,      /* a delete pipeline starts */
        KSTATUS_WORKFLOW_DELETE_FAILED,       /* a delete pipeline failed for good */
};

/* What decides the writes beside the event. */
struct kstatus_workflow {
        const char *pipeline;      /* named in the failure message; NULL: "unknown" */
        const char *workflow_type; /* "resource" (also when NULL) or "promise" */
        bool dry_run;              /* KRATIX_DRY_RUN=true */
        bool kratix_owned;         /* also write what Kratix owns (ConfigureWorkflowCompleted, the
                                    * message); false in a Pod beside Kratix's status-writer */
};

/* The status after `event` (a new reference), as Kratix writes it:
 * conditions set with kstatus_conditions_mark() (five fields, lastTransitionTime
 * moved only when status, reason or message change, sorted by type). A
 * configure run that completes turns a `message` still "Pending" into
 * "Resource requested" ("Promise configured" for a promise workflow); a pipeline
 * that ends well in a dry run sets "Dry run executed", as status-writer does.
 * Without wf->kratix_owned only DeleteWorkflowCompleted is ever written.
 * wf may be NULL: a resource workflow, not a dry run, kratix_owned. */
json_t *kstatus_workflow_apply(const json_t *status, enum kstatus_workflow_event event,
                               const struct kstatus_workflow *wf, const char *now);

/* /kratix/metadata/workflow-control.yaml, read as Kratix's work-creator reads it. */
struct kstatus_workflow_control {
        bool suspend;
        char *message;     /* NULL when unset */
        char *retry_after; /* as written; NULL when unset or "" */
        int64_t retry_after_ns;
};

void kstatus_workflow_control_clear(struct kstatus_workflow_control *c);

/* Parse the file's bytes: a mapping whose `suspend` is a boolean, `message` a
 * string and `retryAfter` a Go duration string (null or absent: unset; other
 * keys are ignored, as Go's yaml.Unmarshal does). On error fills err (with
 * line and column for a YAML error) and returns -EINVAL. */
int kstatus_workflow_control_parse(const char *buf, size_t len, struct kstatus_workflow_control *ret,
                                   struct kstatus_error *err);

/* True when the workflow must not be completed: suspend, or a retry asked. */
bool kstatus_workflow_control_holds(const struct kstatus_workflow_control *c);
