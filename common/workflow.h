/* workflow.h - the workflow conditions and message kstatus owns (CONTRACT §4).
 * The sidecar and the plugin's `merge` preview both go through here. */
#pragma once

#include <stdint.h>

#include <jansson.h>

enum kstatus_workflow_event {
        KSTATUS_WORKFLOW_CONFIGURE_STARTED,   /* first pipeline of a configure run starts */
        KSTATUS_WORKFLOW_CONFIGURE_SUCCEEDED, /* last pipeline of a configure run ends well */
        KSTATUS_WORKFLOW_CONFIGURE_FAILED,    /* any configure pipeline fails */
        KSTATUS_WORKFLOW_DELETE_STARTED,      /* a delete pipeline starts */
        KSTATUS_WORKFLOW_DELETE_FAILED,       /* a delete pipeline fails */
};

/* The status after `event`: the matching condition upserted (lastTransitionTime
 * kept unless its status changes) and, when a configure run succeeds, a
 * `message` still "Pending" turned into "Resource requested".
 * pipeline: names the failed pipeline in the failure message (may be NULL).
 * observed_generation < 0: not recorded. Returns a new reference. */
json_t *kstatus_workflow_apply(const json_t *status, enum kstatus_workflow_event event, const char *pipeline,
                               int64_t observed_generation, const char *now);
