#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "conditions.h"
#include "helpers.h"
#include "workflow.h"

#define T0 "2024-08-21T10:27:45Z"
#define NOW "2030-01-01T00:00:00Z"

Test(conditions, time_format_and_parse) {
        char buf[KSTATUS_TIME_LEN];
        kstatus_time_format(1724236065, buf);
        cr_assert_str_eq(buf, T0);
        int64_t t;
        cr_assert_eq(kstatus_time_parse(T0, &t), 0);
        cr_assert_eq(t, 1724236065);
        cr_assert_eq(kstatus_time_parse("2024-08-21T12:27:45.123+02:00", &t), 0);
        cr_assert_eq(t, 1724236065);
        cr_assert_lt(kstatus_time_parse("2024-08-21 10:27:45Z", &t), 0);
        cr_assert_lt(kstatus_time_parse("2024-02-30T00:00:00Z", &t), 0);
        cr_assert_lt(kstatus_time_parse("2024-08-21T10:27:45", &t), 0);
        cr_assert_lt(kstatus_time_parse("yesterday", &t), 0);
        cr_assert_lt(kstatus_time_parse("", &t), 0);
}

Test(conditions, new_type_is_appended_with_now) {
        json_t *list = J("[{\"type\":\"A\",\"status\":\"True\",\"lastTransitionTime\":\"" T0 "\"}]");
        json_t *c = kstatus_condition_new("B", "False", "Waiting", "not yet", 3);
        cr_assert(kstatus_conditions_set(list, c, NOW));
        assert_json_eq(list, "[{\"type\":\"A\",\"status\":\"True\",\"lastTransitionTime\":\"" T0 "\"},"
                             "{\"type\":\"B\",\"status\":\"False\",\"reason\":\"Waiting\",\"message\":\"not yet\","
                             "\"observedGeneration\":3,\"lastTransitionTime\":\"" NOW "\"}]");
        json_decref(c);
        json_decref(list);
}

Test(conditions, same_status_keeps_time_and_position) {
        json_t *list = J("[{\"type\":\"A\",\"status\":\"False\",\"reason\":\"X\",\"lastTransitionTime\":\"" T0 "\"},"
                         "{\"type\":\"B\",\"status\":\"True\",\"lastTransitionTime\":\"" T0 "\"}]");
        json_t *c = kstatus_condition_new("A", "False", "Y", "changed reason", -1);
        cr_assert(kstatus_conditions_set(list, c, NOW));
        assert_json_eq(list, "[{\"type\":\"A\",\"status\":\"False\",\"reason\":\"Y\",\"message\":\"changed reason\","
                             "\"lastTransitionTime\":\"" T0 "\"},"
                             "{\"type\":\"B\",\"status\":\"True\",\"lastTransitionTime\":\"" T0 "\"}]");
        /* Setting it again changes nothing. */
        cr_assert_not(kstatus_conditions_set(list, c, NOW));
        json_decref(c);
        json_decref(list);
}

Test(conditions, status_change_moves_time) {
        json_t *list = J("[{\"type\":\"A\",\"status\":\"False\",\"lastTransitionTime\":\"" T0 "\"}]");
        json_t *c = kstatus_condition_new("A", "True", NULL, NULL, -1);
        cr_assert(kstatus_conditions_set(list, c, NOW));
        assert_json_eq(list, "[{\"type\":\"A\",\"status\":\"True\",\"lastTransitionTime\":\"" NOW "\"}]");
        json_decref(c);
        json_decref(list);
}

Test(conditions, explicit_time_is_used_on_transition_only) {
        json_t *list = J("[{\"type\":\"A\",\"status\":\"False\",\"lastTransitionTime\":\"" T0 "\"}]");
        json_t *same = J("{\"type\":\"A\",\"status\":\"False\",\"lastTransitionTime\":\"2025-01-01T00:00:00Z\"}");
        kstatus_conditions_set(list, same, NOW);
        assert_json_eq(list, "[{\"type\":\"A\",\"status\":\"False\",\"lastTransitionTime\":\"" T0 "\"}]");
        json_t *flip = J("{\"type\":\"A\",\"status\":\"True\",\"lastTransitionTime\":\"2025-01-01T00:00:00Z\"}");
        kstatus_conditions_set(list, flip, NOW);
        assert_json_eq(list, "[{\"type\":\"A\",\"status\":\"True\",\"lastTransitionTime\":\"2025-01-01T00:00:00Z\"}]");
        json_decref(same);
        json_decref(flip);
        json_decref(list);
}

Test(conditions, find_and_remove) {
        json_t *list = J("[{\"type\":\"A\",\"status\":\"True\"},{\"type\":\"B\",\"status\":\"True\"}]");
        cr_assert_not_null(kstatus_conditions_find(list, "B"));
        cr_assert_null(kstatus_conditions_find(list, "C"));
        cr_assert_null(kstatus_conditions_find(NULL, "A"));
        cr_assert(kstatus_conditions_remove(list, "A"));
        cr_assert_not(kstatus_conditions_remove(list, "A"));
        assert_json_eq(list, "[{\"type\":\"B\",\"status\":\"True\"}]");
        json_decref(list);
}

struct bad {
        const char *cond, *message;
};

Test(conditions, validate) {
        static const struct bad bads[] = {
                { "[]", "condition is not a mapping" },
                { "{\"status\":\"True\"}", "condition has no \"type\"" },
                { "{\"type\":3,\"status\":\"True\"}", "condition has no \"type\"" },
                { "{\"type\":\"\",\"status\":\"True\"}", "condition has no \"type\"" },
                { "{\"type\":\"A\"}", "condition \"A\" has no \"status\"" },
                { "{\"type\":\"A\",\"status\":\"true\"}",
                  "condition \"A\": status must be \"True\", \"False\" or \"Unknown\"" },
                { "{\"type\":\"A\",\"status\":\"True\",\"reason\":\"not camel\"}",
                  "condition \"A\": reason must be a CamelCase word such as \"Provisioned\"" },
                { "{\"type\":\"A\",\"status\":\"True\",\"message\":1}", "condition \"A\": message must be a string" },
                { "{\"type\":\"A\",\"status\":\"True\",\"lastTransitionTime\":\"now\"}",
                  "condition \"A\": lastTransitionTime must be an RFC 3339 time such as \"2024-08-21T10:27:45Z\"" },
                { "{\"type\":\"A\",\"status\":\"True\",\"observedGeneration\":-1}",
                  "condition \"A\": observedGeneration must be a non-negative integer" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bads); i++) {
                json_t *c = J(bads[i].cond);
                struct kstatus_error err = { 0 };
                cr_assert_eq(kstatus_condition_validate(c, &err), -EINVAL, "%s", bads[i].cond);
                cr_assert_str_eq(err.message, bads[i].message);
                json_decref(c);
        }
        json_t *good = J("{\"type\":\"Ready\",\"status\":\"Unknown\",\"reason\":\"Checking_1\",\"message\":\"m\","
                         "\"lastTransitionTime\":\"" T0 "\",\"observedGeneration\":2}");
        cr_assert_eq(kstatus_condition_validate(good, NULL), 0);
        json_decref(good);
}

Test(workflow, configure_run) {
        json_t *s = J("{\"message\":\"Pending\"}");
        json_t *started = kstatus_workflow_apply(s, KSTATUS_WORKFLOW_CONFIGURE_STARTED, NULL, 2, T0);
        assert_json_eq(started, "{\"message\":\"Pending\",\"conditions\":[{\"type\":\"ConfigureWorkflowCompleted\","
                                "\"status\":\"False\",\"reason\":\"PipelinesInProgress\",\"message\":\"Pipelines are "
                                "still in progress\",\"observedGeneration\":2,\"lastTransitionTime\":\"" T0 "\"}]}");
        /* A second pipeline starting keeps the time (the status did not change). */
        json_t *again = kstatus_workflow_apply(started, KSTATUS_WORKFLOW_CONFIGURE_STARTED, NULL, 2, NOW);
        cr_assert(json_equal(again, started));
        json_t *done = kstatus_workflow_apply(again, KSTATUS_WORKFLOW_CONFIGURE_SUCCEEDED, NULL, 2, NOW);
        assert_json_eq(done, "{\"message\":\"Resource requested\",\"conditions\":[{\"type\":"
                             "\"ConfigureWorkflowCompleted\",\"status\":\"True\",\"reason\":"
                             "\"PipelinesExecutedSuccessfully\",\"message\":\"Pipelines completed\","
                             "\"observedGeneration\":2,\"lastTransitionTime\":\"" NOW "\"}]}");
        json_decref(done);
        json_decref(again);
        json_decref(started);
        json_decref(s);
}

Test(workflow, message_other_than_pending_is_kept) {
        json_t *s = J("{\"message\":\"All good\"}");
        json_t *done = kstatus_workflow_apply(s, KSTATUS_WORKFLOW_CONFIGURE_SUCCEEDED, NULL, -1, NOW);
        cr_assert_str_eq(json_string_value(json_object_get(done, "message")), "All good");
        json_decref(done);
        json_decref(s);
}

Test(workflow, failures) {
        json_t *s = json_object();
        json_t *f = kstatus_workflow_apply(s, KSTATUS_WORKFLOW_CONFIGURE_FAILED, "populate-vault", -1, NOW);
        json_t *c = kstatus_conditions_find(json_object_get(f, "conditions"), KSTATUS_COND_CONFIGURE);
        cr_assert_str_eq(json_string_value(json_object_get(c, "reason")), "ConfigureWorkflowFailed");
        cr_assert_str_eq(json_string_value(json_object_get(c, "message")),
                         "A Configure Pipeline has failed: populate-vault");
        json_t *d = kstatus_workflow_apply(s, KSTATUS_WORKFLOW_DELETE_STARTED, NULL, -1, NOW);
        c = kstatus_conditions_find(json_object_get(d, "conditions"), KSTATUS_COND_DELETE);
        cr_assert_str_eq(json_string_value(json_object_get(c, "reason")), "DeleteWorkflowInProgress");
        json_t *df = kstatus_workflow_apply(d, KSTATUS_WORKFLOW_DELETE_FAILED, NULL, -1, NOW);
        c = kstatus_conditions_find(json_object_get(df, "conditions"), KSTATUS_COND_DELETE);
        cr_assert_str_eq(json_string_value(json_object_get(c, "message")), "The Delete Pipeline has failed");
        cr_assert_eq(json_array_size(json_object_get(df, "conditions")), 1);
        json_decref(df);
        json_decref(d);
        json_decref(f);
        json_decref(s);
}
