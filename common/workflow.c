#include "workflow.h"

#include <string.h>

#include "conditions.h"
#include "util.h"

json_t *kstatus_workflow_apply(const json_t *status, enum kstatus_workflow_event event, const char *pipeline,
                               int64_t observed_generation, const char *now) {
        json_t *out = json_is_object(status) ? json_deep_copy(status) : json_object();
        json_t *conds = json_object_get(out, "conditions");
        if (!json_is_array(conds)) {
                conds = json_array();
                json_object_set_new(out, "conditions", conds);
        }

        _cleanup_free_ char *failed = NULL;
        json_t *c = NULL;
        switch (event) {
        case KSTATUS_WORKFLOW_CONFIGURE_STARTED:
                c = kstatus_condition_new(KSTATUS_COND_CONFIGURE, "False", KSTATUS_REASON_IN_PROGRESS,
                                          KSTATUS_MESSAGE_IN_PROGRESS, observed_generation);
                break;
        case KSTATUS_WORKFLOW_CONFIGURE_SUCCEEDED:
                c = kstatus_condition_new(KSTATUS_COND_CONFIGURE, "True", KSTATUS_REASON_SUCCEEDED,
                                          KSTATUS_MESSAGE_SUCCEEDED, observed_generation);
                if (strcmp(json_string_value(json_object_get(out, "message")) ?: "", "Pending") == 0)
                        json_object_set_new(out, "message", json_string("Resource requested"));
                break;
        case KSTATUS_WORKFLOW_CONFIGURE_FAILED:
                failed = xasprintf(KSTATUS_MESSAGE_CONFIGURE_FAILED_PREFIX "%s", pipeline ?: "unknown");
                c = kstatus_condition_new(KSTATUS_COND_CONFIGURE, "False", KSTATUS_REASON_CONFIGURE_FAILED, failed,
                                          observed_generation);
                break;
        case KSTATUS_WORKFLOW_DELETE_STARTED:
                c = kstatus_condition_new(KSTATUS_COND_DELETE, "False", KSTATUS_REASON_DELETE_IN_PROGRESS,
                                          KSTATUS_MESSAGE_DELETE_IN_PROGRESS, observed_generation);
                break;
        case KSTATUS_WORKFLOW_DELETE_FAILED:
                c = kstatus_condition_new(KSTATUS_COND_DELETE, "False", KSTATUS_REASON_DELETE_FAILED,
                                          KSTATUS_MESSAGE_DELETE_FAILED, observed_generation);
                break;
        }
        if (c) {
                kstatus_conditions_set(conds, c, now);
                json_decref(c);
        }
        return out;
}
