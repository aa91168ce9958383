#include "workflow.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "conditions.h"
#include "status.h"

static const struct kstatus_workflow default_workflow = { .kratix_owned = true };

/* Kratix's MarkAsCompleted: the message a completed workflow leaves when it is still "Pending". */
static const char *completed_message(const struct kstatus_workflow *wf) {
        return wf->workflow_type && strcmp(wf->workflow_type, "promise") == 0 ? "Promise configured"
                                                                              : "Resource requested";
}

static json_t *event_condition(enum kstatus_workflow_event event, const struct kstatus_workflow *wf) {
        _cleanup_free_ char *failed = NULL, *pipeline = NULL;
        switch (event) {
        case KSTATUS_WORKFLOW_CONFIGURE_STARTED:
                return kstatus_condition_new(KSTATUS_COND_CONFIGURE, "False", KSTATUS_REASON_IN_PROGRESS,
                                             KSTATUS_MESSAGE_IN_PROGRESS);
        case KSTATUS_WORKFLOW_CONFIGURE_SUCCEEDED:
                return kstatus_condition_new(KSTATUS_COND_CONFIGURE, "True", KSTATUS_REASON_SUCCEEDED,
                                             KSTATUS_MESSAGE_SUCCEEDED);
        case KSTATUS_WORKFLOW_CONFIGURE_FAILED:
                /* Kratix's words, the pipeline's name escaped: kubectl describe prints messages raw. */
                pipeline = kstatus_escape_terminal(wf->pipeline ?: "unknown");
                failed = xasprintf(KSTATUS_MESSAGE_CONFIGURE_FAILED_PREFIX "%s", pipeline);
                return kstatus_condition_new(KSTATUS_COND_CONFIGURE, "False", KSTATUS_REASON_CONFIGURE_FAILED,
                                             failed);
        case KSTATUS_WORKFLOW_DELETE_STARTED:
                return kstatus_condition_new(KSTATUS_COND_DELETE, "False", KSTATUS_REASON_DELETE_IN_PROGRESS,
                                             KSTATUS_MESSAGE_DELETE_IN_PROGRESS);
        case KSTATUS_WORKFLOW_DELETE_FAILED:
                return kstatus_condition_new(KSTATUS_COND_DELETE, "False", KSTATUS_REASON_DELETE_FAILED,
                                             KSTATUS_MESSAGE_DELETE_FAILED);
        case KSTATUS_WORKFLOW_PIPELINE_SUCCEEDED:
                break;
        }
        return NULL;
}

static bool kratix_owns(enum kstatus_workflow_event event) {
        return event != KSTATUS_WORKFLOW_DELETE_STARTED && event != KSTATUS_WORKFLOW_DELETE_FAILED;
}

json_t *kstatus_workflow_apply(const json_t *status, enum kstatus_workflow_event event,
                               const struct kstatus_workflow *wf, const char *now) {
        if (!wf)
                wf = &default_workflow;
        /* Shallow: only members of out and of its conditions list are
         * replaced, so status is shared, never changed (merge.h). */
        json_t *out = json_is_object(status) ? json_copy((json_t *)status) : json_object();
        if (kratix_owns(event) && !wf->kratix_owned)
                return out;

        _cleanup_json_ json_t *c = event_condition(event, wf);
        if (c) {
                json_t *have = json_object_get(out, "conditions");
                json_t *conds = json_is_array(have) ? json_copy(have) : json_array();
                json_object_set_new(out, "conditions", conds);
                kstatus_conditions_mark(conds, c, now);
        }
        /* status-writer's order: MarkAsCompleted, then the dry run's message. */
        if (event == KSTATUS_WORKFLOW_CONFIGURE_SUCCEEDED &&
            strcmp(json_string_value(json_object_get(out, "message")) ?: "", "Pending") == 0)
                json_object_set_new(out, "message", json_string(completed_message(wf)));
        if (wf->dry_run &&
            (event == KSTATUS_WORKFLOW_CONFIGURE_SUCCEEDED || event == KSTATUS_WORKFLOW_PIPELINE_SUCCEEDED))
                json_object_set_new(out, "message", json_string("Dry run executed"));
        return out;
}

void kstatus_workflow_control_clear(struct kstatus_workflow_control *c) {
        if (!c)
                return;
        free(c->message);
        free(c->retry_after);
        *c = (struct kstatus_workflow_control){ 0 };
}

static const char *json_kind(const json_t *v) {
        switch (json_typeof(v)) {
        case JSON_OBJECT: return "a mapping";
        case JSON_ARRAY: return "a list";
        case JSON_STRING: return "a string";
        case JSON_INTEGER:
        case JSON_REAL: return "a number";
        case JSON_TRUE:
        case JSON_FALSE: return "a boolean";
        default: return "null";
        }
}

/* One field: Go's encoding/json matches keys case-insensitively, and null leaves a field as it is. */
static int control_field(struct kstatus_workflow_control *c, const char *key, const json_t *v,
                         struct kstatus_error *err) {
        if (json_is_null(v))
                return 0;
        if (strcasecmp(key, "suspend") == 0) {
                if (!json_is_boolean(v))
                        return kstatus_error_set(err, EINVAL, 0, 0, "suspend must be true or false, not %s",
                                                 json_kind(v));
                c->suspend = json_is_true(v);
        } else if (strcasecmp(key, "message") == 0 || strcasecmp(key, "retryAfter") == 0) {
                if (!json_is_string(v))
                        return kstatus_error_set(err, EINVAL, 0, 0, "%s must be a string, not %s", key,
                                                 json_kind(v));
                char **dst = strcasecmp(key, "message") == 0 ? &c->message : &c->retry_after;
                free(*dst);
                *dst = json_string_length(v) ? xstrdup(json_string_value(v)) : NULL;
        }
        return 0;
}

int kstatus_workflow_control_parse(const char *buf, size_t len, struct kstatus_workflow_control *ret,
                                   struct kstatus_error *err) {
        _cleanup_json_ json_t *doc = NULL;
        struct kstatus_limits lim = KSTATUS_LIMITS_DEFAULT;
        int r = kstatus_document_parse(buf, len, &lim, &doc, err);
        if (r < 0)
                return r;
        struct kstatus_workflow_control c = { 0 };
        const char *key;
        json_t *v;
        json_object_foreach(doc, key, v) {
                if ((r = control_field(&c, key, v, err)) < 0) {
                        kstatus_workflow_control_clear(&c);
                        return r;
                }
        }
        if (c.retry_after && parse_go_duration(c.retry_after, &c.retry_after_ns) < 0) {
                kstatus_error_set(err, EINVAL, 0, 0, "retryAfter \"%s\" is not a duration such as 30s or 5m",
                                  c.retry_after);
                kstatus_workflow_control_clear(&c);
                return -EINVAL;
        }
        *ret = c;
        return 0;
}

bool kstatus_workflow_control_holds(const struct kstatus_workflow_control *c) {
        return c->suspend || c->retry_after;
}
