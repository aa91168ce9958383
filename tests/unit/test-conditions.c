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
        json_t *c = kstatus_condition_new("B", "False", "Waiting", "not yet");
        cr_assert(kstatus_conditions_set(list, c, NOW));
        assert_json_eq(list, "[{\"type\":\"A\",\"status\":\"True\",\"lastTransitionTime\":\"" T0 "\"},"
                             "{\"type\":\"B\",\"status\":\"False\",\"reason\":\"Waiting\",\"message\":\"not yet\","
                             "\"lastTransitionTime\":\"" NOW "\"}]");
        json_decref(c);
        json_decref(list);
}

Test(conditions, same_status_keeps_time_and_position) {
        json_t *list = J("[{\"type\":\"A\",\"status\":\"False\",\"reason\":\"X\",\"lastTransitionTime\":\"" T0 "\"},"
                         "{\"type\":\"B\",\"status\":\"True\",\"lastTransitionTime\":\"" T0 "\"}]");
        json_t *c = kstatus_condition_new("A", "False", "Y", "changed reason");
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
        json_t *c = kstatus_condition_new("A", "True", NULL, NULL);
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
                _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
                cr_assert_eq(kstatus_condition_validate(c, &err), -EINVAL, "%s", bads[i].cond);
                cr_assert_str_eq(err.message, bads[i].message);
                json_decref(c);
        }
        json_t *good = J("{\"type\":\"Ready\",\"status\":\"Unknown\",\"reason\":\"Checking_1\",\"message\":\"m\","
                         "\"lastTransitionTime\":\"" T0 "\",\"observedGeneration\":2}");
        cr_assert_eq(kstatus_condition_validate(good, NULL), 0);
        json_decref(good);
}

/* cluster-api's conditions.Set, as Kratix uses it (its tests in util/conditions/setter_test.go
 * say the same): state is status+reason+message; a changed state replaces the condition with a
 * new time; an equal one keeps the old condition untouched; Ready first, then by type. */
Test(conditions, mark_moves_time_on_any_state_change) {
        json_t *list = J("[{\"type\":\"A\",\"status\":\"False\",\"reason\":\"X\",\"message\":\"m\","
                         "\"lastTransitionTime\":\"" T0 "\"}]");
        json_t *reason = kstatus_condition_new("A", "False", "Y", "m");
        cr_assert(kstatus_conditions_mark(list, reason, NOW));
        assert_json_eq(list, "[{\"type\":\"A\",\"status\":\"False\",\"reason\":\"Y\",\"message\":\"m\","
                             "\"lastTransitionTime\":\"" NOW "\"}]");
        json_t *message = kstatus_condition_new("A", "False", "Y", "m2");
        cr_assert(kstatus_conditions_mark(list, message, "2031-01-01T00:00:00Z"));
        cr_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "lastTransitionTime")),
                         "2031-01-01T00:00:00Z");
        /* Same state: nothing changes, not even the time. */
        cr_assert_not(kstatus_conditions_mark(list, message, "2032-01-01T00:00:00Z"));
        cr_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "lastTransitionTime")),
                         "2031-01-01T00:00:00Z");
        json_decref(message);
        json_decref(reason);
        json_decref(list);
}

Test(conditions, mark_keeps_an_equal_condition_as_it_is) {
        /* An absent message equals "" (Go's zero value); fields the server kept stay. */
        json_t *list = J("[{\"type\":\"A\",\"status\":\"True\",\"reason\":\"R\",\"lastTransitionTime\":\"" T0 "\"}]");
        json_t *c = J("{\"type\":\"A\",\"status\":\"True\",\"reason\":\"R\",\"message\":\"\"}");
        cr_assert_not(kstatus_conditions_mark(list, c, NOW));
        assert_json_eq(list, "[{\"type\":\"A\",\"status\":\"True\",\"reason\":\"R\",\"lastTransitionTime\":\"" T0 "\"}]");
        json_decref(c);
        json_decref(list);
}

Test(conditions, mark_sorts_by_type_ready_first) {
        json_t *list = J("[{\"type\":\"Zeta\",\"status\":\"True\",\"lastTransitionTime\":\"" T0 "\"},"
                         "{\"type\":\"Reconciled\",\"status\":\"True\",\"lastTransitionTime\":\"" T0 "\"},"
                         "{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"" T0 "\"}]");
        json_t *c = kstatus_condition_new("ConfigureWorkflowCompleted", "True", "R", "m");
        cr_assert(kstatus_conditions_mark(list, c, NOW));
        const char *want[] = { "Ready", "ConfigureWorkflowCompleted", "Reconciled", "Zeta" };
        cr_assert_eq(json_array_size(list), 4);
        for (size_t i = 0; i < 4; i++)
                cr_assert_str_eq(json_string_value(json_object_get(json_array_get(list, i), "type")), want[i]);
        /* Sorting an unsorted list is a change even when the condition was equal. */
        json_t *unsorted = J("[{\"type\":\"B\",\"status\":\"True\"},{\"type\":\"A\",\"status\":\"True\"}]");
        json_t *b = kstatus_condition_new("B", "True", NULL, NULL);
        cr_assert(kstatus_conditions_mark(unsorted, b, NOW));
        assert_json_eq(unsorted, "[{\"type\":\"A\",\"status\":\"True\"},{\"type\":\"B\",\"status\":\"True\"}]");
        json_decref(b);
        json_decref(unsorted);
        json_decref(c);
        json_decref(list);
}

#define CWC_IN_PROGRESS                                                                                        \
        "{\"type\":\"ConfigureWorkflowCompleted\",\"status\":\"False\",\"reason\":\"PipelinesInProgress\","   \
        "\"message\":\"Pipelines are still in progress\",\"lastTransitionTime\":\"" T0 "\"}"

Test(workflow, configure_run) {
        json_t *s = J("{\"message\":\"Pending\",\"conditions\":[{\"type\":\"Reconciled\",\"status\":\"Unknown\","
                      "\"reason\":\"WorkflowPending\",\"message\":\"\",\"lastTransitionTime\":\"" T0 "\"}]}");
        json_t *started = kstatus_workflow_apply(s, KSTATUS_WORKFLOW_CONFIGURE_STARTED, NULL, T0);
        /* Exactly five fields, sorted by type, no observedGeneration (Kratix's schema prunes it). */
        assert_json_eq(started, "{\"message\":\"Pending\",\"conditions\":[" CWC_IN_PROGRESS ","
                                "{\"type\":\"Reconciled\",\"status\":\"Unknown\",\"reason\":\"WorkflowPending\","
                                "\"message\":\"\",\"lastTransitionTime\":\"" T0 "\"}]}");
        /* A second pipeline starting keeps the time (the state did not change). */
        json_t *again = kstatus_workflow_apply(started, KSTATUS_WORKFLOW_CONFIGURE_STARTED, NULL, NOW);
        cr_assert(json_equal(again, started));
        json_t *done = kstatus_workflow_apply(again, KSTATUS_WORKFLOW_CONFIGURE_SUCCEEDED, NULL, NOW);
        json_t *c = json_array_get(json_object_get(done, "conditions"), 0);
        assert_json_eq(c, "{\"type\":\"ConfigureWorkflowCompleted\",\"status\":\"True\",\"reason\":"
                          "\"PipelinesExecutedSuccessfully\",\"message\":\"Pipelines completed\","
                          "\"lastTransitionTime\":\"" NOW "\"}");
        cr_assert_str_eq(json_string_value(json_object_get(done, "message")), "Resource requested");
        json_decref(done);
        json_decref(again);
        json_decref(started);
        json_decref(s);
}

Test(workflow, completion_message_per_workflow_type) {
        json_t *s = J("{\"message\":\"Pending\"}");
        struct kstatus_workflow promise = { .workflow_type = "promise", .kratix_owned = true };
        json_t *p = kstatus_workflow_apply(s, KSTATUS_WORKFLOW_CONFIGURE_SUCCEEDED, &promise, NOW);
        cr_assert_str_eq(json_string_value(json_object_get(p, "message")), "Promise configured");
        /* A dry run says so on every pipeline that ends well, completed or not (status-writer does). */
        struct kstatus_workflow dry = { .dry_run = true, .kratix_owned = true };
        json_t *d = kstatus_workflow_apply(s, KSTATUS_WORKFLOW_CONFIGURE_SUCCEEDED, &dry, NOW);
        cr_assert_str_eq(json_string_value(json_object_get(d, "message")), "Dry run executed");
        json_t *d2 = kstatus_workflow_apply(s, KSTATUS_WORKFLOW_PIPELINE_SUCCEEDED, &dry, NOW);
        assert_json_eq(d2, "{\"message\":\"Dry run executed\"}");
        /* Not a dry run, not the last: nothing. */
        json_t *n = kstatus_workflow_apply(s, KSTATUS_WORKFLOW_PIPELINE_SUCCEEDED, NULL, NOW);
        cr_assert(json_equal(n, s));
        json_decref(n);
        json_decref(d2);
        json_decref(d);
        json_decref(p);
        json_decref(s);
}

Test(workflow, beside_kratix_only_the_delete_condition_is_written) {
        json_t *s = J("{\"message\":\"Pending\"}");
        struct kstatus_workflow beside = { .pipeline = "p", .dry_run = true, .kratix_owned = false };
        enum kstatus_workflow_event kratix[] = { KSTATUS_WORKFLOW_CONFIGURE_STARTED, KSTATUS_WORKFLOW_CONFIGURE_SUCCEEDED,
                                                 KSTATUS_WORKFLOW_PIPELINE_SUCCEEDED, KSTATUS_WORKFLOW_CONFIGURE_FAILED };
        for (size_t i = 0; i < ELEMENTSOF(kratix); i++) {
                json_t *out = kstatus_workflow_apply(s, kratix[i], &beside, NOW);
                cr_assert(json_equal(out, s), "event %zu wrote what Kratix owns", i);
                json_decref(out);
        }
        json_t *d = kstatus_workflow_apply(s, KSTATUS_WORKFLOW_DELETE_STARTED, &beside, NOW);
        cr_assert_not_null(kstatus_conditions_find(json_object_get(d, "conditions"), KSTATUS_COND_DELETE));
        json_decref(d);
        json_decref(s);
}

Test(workflow, message_other_than_pending_is_kept) {
        json_t *s = J("{\"message\":\"All good\"}");
        json_t *done = kstatus_workflow_apply(s, KSTATUS_WORKFLOW_CONFIGURE_SUCCEEDED, NULL, NOW);
        cr_assert_str_eq(json_string_value(json_object_get(done, "message")), "All good");
        json_decref(done);
        json_decref(s);
}

/* The failed message quotes the pipeline's name: escaped, as kubectl describe
 * prints condition messages raw (a name as Kratix allows is unchanged). */
Test(workflow, a_hostile_pipeline_name_is_escaped_in_the_failed_message) {
        json_t *s = json_object();
        struct kstatus_workflow wf = { .pipeline = "evil\x1b]0;pwned\x07\xe2\x80\xae\xc2\x9b", .kratix_owned = true };
        json_t *f = kstatus_workflow_apply(s, KSTATUS_WORKFLOW_CONFIGURE_FAILED, &wf, NOW);
        json_t *c = kstatus_conditions_find(json_object_get(f, "conditions"), KSTATUS_COND_CONFIGURE);
        cr_assert_str_eq(json_string_value(json_object_get(c, "message")),
                         "A Configure Pipeline has failed: evil\\x1b]0;pwned\\x07\\u202e\\xc2\\x9b");
        json_decref(f);
        json_decref(s);
}

Test(workflow, failures) {
        json_t *s = json_object();
        struct kstatus_workflow wf = { .pipeline = "populate-vault", .kratix_owned = true };
        json_t *f = kstatus_workflow_apply(s, KSTATUS_WORKFLOW_CONFIGURE_FAILED, &wf, NOW);
        json_t *c = kstatus_conditions_find(json_object_get(f, "conditions"), KSTATUS_COND_CONFIGURE);
        cr_assert_str_eq(json_string_value(json_object_get(c, "reason")), "ConfigureWorkflowFailed");
        cr_assert_str_eq(json_string_value(json_object_get(c, "message")),
                         "A Configure Pipeline has failed: populate-vault");
        json_t *d = kstatus_workflow_apply(s, KSTATUS_WORKFLOW_DELETE_STARTED, NULL, NOW);
        c = kstatus_conditions_find(json_object_get(d, "conditions"), KSTATUS_COND_DELETE);
        cr_assert_str_eq(json_string_value(json_object_get(c, "reason")), "DeleteWorkflowInProgress");
        json_t *df = kstatus_workflow_apply(d, KSTATUS_WORKFLOW_DELETE_FAILED, NULL, NOW);
        c = kstatus_conditions_find(json_object_get(df, "conditions"), KSTATUS_COND_DELETE);
        cr_assert_str_eq(json_string_value(json_object_get(c, "message")), "The Delete Pipeline has failed");
        cr_assert_eq(json_array_size(json_object_get(df, "conditions")), 1);
        json_decref(df);
        json_decref(d);
        json_decref(f);
        json_decref(s);
}

static int control(const char *text, struct kstatus_workflow_control *c, char **ret_error) {
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int r = kstatus_workflow_control_parse(text, strlen(text), c, &err);
        *ret_error = r < 0 ? kstatus_error_format(&err, "workflow-control.yaml") : NULL;
        return r;
}

Test(workflow, control_file) {
        struct kstatus_workflow_control c;
        char *e;
        cr_assert_eq(control("suspend: true\nmessage: waiting for approval\n", &c, &e), 0);
        cr_assert(c.suspend && kstatus_workflow_control_holds(&c));
        cr_assert_str_eq(c.message, "waiting for approval");
        kstatus_workflow_control_clear(&c);
        cr_assert_eq(control("retryAfter: 1h2m3.5s\n", &c, &e), 0);
        cr_assert_eq(c.retry_after_ns, 3723500000000LL);
        cr_assert(kstatus_workflow_control_holds(&c));
        kstatus_workflow_control_clear(&c);
        /* As Go reads it: keys case-insensitively, null and "" as unset, unknown keys ignored, YAML 1.1 booleans. */
        cr_assert_eq(control("Suspend: yes\nretryAfter: \"\"\nmessage: null\nother: 1\n", &c, &e), 0);
        cr_assert(c.suspend);
        cr_assert_null(c.retry_after);
        cr_assert_null(c.message);
        kstatus_workflow_control_clear(&c);
        cr_assert_eq(control("", &c, &e), 0);
        cr_assert_not(kstatus_workflow_control_holds(&c));
        kstatus_workflow_control_clear(&c);
        cr_assert_eq(control("suspend: false\n", &c, &e), 0);
        cr_assert_not(kstatus_workflow_control_holds(&c));
        kstatus_workflow_control_clear(&c);
}

Test(workflow, control_file_errors) {
        static const struct bad bads[] = {
                { "suspend: \"true\"\n", "workflow-control.yaml: suspend must be true or false, not a string" },
                { "retryAfter: 300\n", "workflow-control.yaml: retryAfter must be a string, not a number" },
                { "retryAfter: 5 minutes\n",
                  "workflow-control.yaml: retryAfter \"5 minutes\" is not a duration such as 30s or 5m" },
                { "retryAfter: 5d\n", "workflow-control.yaml: retryAfter \"5d\" is not a duration such as 30s or 5m" },
                { "message: [a]\n", "workflow-control.yaml: message must be a string, not a list" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bads); i++) {
                struct kstatus_workflow_control c;
                char *e = NULL;
                cr_assert_eq(control(bads[i].cond, &c, &e), -EINVAL, "%s", bads[i].cond);
                cr_assert_str_eq(e, bads[i].message);
                free(e);
        }
        struct kstatus_workflow_control c;
        char *e = NULL;
        cr_assert_lt(control("suspend: true\n  bad: [\n", &c, &e), 0);
        cr_assert(strncmp(e, "workflow-control.yaml:2:", 24) == 0, "%s", e);
        free(e);
        cr_assert_lt(control("- a\n", &c, &e), 0);
        free(e);
}
