/* The status.yaml checks shared by the sidecar and `kubectl kstatus lint`:
 * Kratix's typed and owned keys, the condition fields its schema keeps, and
 * where each problem is in the text. The expected positions are counted by
 * hand from the texts below. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "status.h"
#include "helpers.h"

struct seen {
        int errors, warnings;
        char lines[16][1200];
        int n;
};

static void collect(enum kstatus_problem_level level, const struct kstatus_error *e, void *userdata) {
        struct seen *s = userdata;
        if (level == KSTATUS_PROBLEM_ERROR)
                s->errors++;
        else
                s->warnings++;
        if (s->n < 16)
                snprintf(s->lines[s->n++], sizeof(s->lines[0]), "%s %d:%d %s",
                         level == KSTATUS_PROBLEM_ERROR ? "E" : "W", e->line, e->column, e->message);
}

/* Parse text (no validation) and check it. */
static int check(const char *text, bool promise, struct seen *s) {
        json_t *doc = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kstatus_document_parse(text, strlen(text), NULL, &doc, &err), 0, "%s", err.message);
        struct kstatus_check_options opts = { .text = text, .len = strlen(text), .promise = promise };
        memset(s, 0, sizeof(*s));
        int n = kstatus_status_check(doc, &opts, collect, s);
        json_decref(doc);
        return n;
}

static bool has(const struct seen *s, const char *prefix) {
        for (int i = 0; i < s->n; i++)
                if (strncmp(s->lines[i], prefix, strlen(prefix)) == 0)
                        return true;
        return false;
}

#define assert_has(s, prefix) cr_assert(has(&(s), prefix), "no problem starting %s", prefix)

Test(status, seed_file_is_clean) {
        struct seen s;
        cr_assert_eq(check("message: Resource provisioned\nconnectionDetails:\n  host: example.com\n", false, &s), 0);
        cr_assert_eq(s.warnings, 0);
}

Test(status, kratix_owned_keys_are_errors_with_positions) {
        struct seen s;
        const char *text = "message: ok\n"
                           "kratix:\n"
                           "  workflows: {}\n"
                           "observedGeneration: \"3\"\n"
                           "workflows: 2\n"
                           "workflowsSucceeded: 1\n"
                           "workflowsFailed: x\n";
        cr_assert_eq(check(text, false, &s), 5);
        assert_has(s, "E 2:1 \"kratix\" is a kratix managed status field");
        assert_has(s, "E 4:1 \"observedGeneration\" is a kratix managed status field that cannot be updated via "
                      "workflows; it is an integer in Kratix's schema");
        assert_has(s, "E 5:1 \"workflows\" is a kratix managed status field that cannot be updated via workflows");
        assert_has(s, "E 6:1 \"workflowsSucceeded\" is a kratix managed");
        assert_has(s, "E 7:1 \"workflowsFailed\" is a kratix managed status field that cannot be updated via "
                      "workflows; it is an integer");
}

Test(status, message_must_be_a_string) {
        struct seen s;
        cr_assert_eq(check("a: 1\nmessage: 42\n", false, &s), 1);
        assert_has(s, "E 2:1 \"message\" must be a string");
        cr_assert_eq(check("message: null\n", false, &s), 0);
        cr_assert_eq(check("message: \"42\"\n", false, &s), 0);
}

Test(status, pruned_condition_fields_warn_with_positions) {
        struct seen s;
        const char *text = "conditions:\n"
                           "- type: Ready\n"
                           "  status: \"True\"\n"
                           "  observedGeneration: 4\n"
                           "  lastTransitionTime: \"2024-08-21T10:27:45Z\"\n"
                           "- {type: Synced, status: \"False\", extra: 1}\n";
        cr_assert_eq(check(text, false, &s), 0);
        cr_assert_eq(s.warnings, 2);
        assert_has(s, "W 4:3 conditions[0]: field \"observedGeneration\" is not kept");
        assert_has(s, "W 6:35 conditions[1]: field \"extra\" is not kept");
}

Test(status, condition_errors_point_at_the_item) {
        struct seen s;
        cr_assert_eq(check("x: 1\nconditions:\n- status: \"True\"\n- type: A\n  status: maybe\n", false, &s), 2);
        assert_has(s, "E 3:3 conditions[0]: condition has no \"type\"");
        assert_has(s, "E 4:3 conditions[1]: condition \"A\": status must be");
        cr_assert_eq(check("conditions:\n- type: A\n  status: \"True\"\n  message: [1]\n", false, &s), 1);
        cr_assert_eq(check("conditions:\n- type: ConfigureWorkflowCompleted\n  status: \"True\"\n", false, &s), 1);
        assert_has(s, "E 2:3 conditions[0]: condition type \"ConfigureWorkflowCompleted\" is set by kstatus");
        /* An unquoted true is a boolean, not a missing status. */
        cr_assert_eq(check("conditions:\n- type: A\n  status: true\n", false, &s), 1);
        assert_has(s, "E 2:3 conditions[0]: condition \"A\": status must be the string \"True\", \"False\" or "
                      "\"Unknown\" (quote it in YAML)");
        cr_assert_eq(check("conditions:\n- type: A\n  status: 1\n", false, &s), 1);
        assert_has(s, "E 2:3 conditions[0]: condition \"A\": status must be the string");
        cr_assert_eq(check("conditions:\n- type: A\n  status: null\n", false, &s), 1);
        assert_has(s, "E 2:3 conditions[0]: condition \"A\" has no \"status\"");
        /* kubectl wait matches condition types case-insensitively, first match wins. */
        cr_assert_eq(check("conditions:\n- type: deleteworkflowcompleted\n  status: \"True\"\n", false, &s), 1);
        assert_has(s, "E 2:3 conditions[0]: condition type \"deleteworkflowcompleted\" is set by kstatus");
        cr_assert_eq(check("conditions:\n- type: CONFIGUREWorkflowCompleted\n  status: \"True\"\n", false, &s), 1);
        cr_assert_eq(check("conditions:\n- type: ConfigureWorkflowCompletedX\n  status: \"True\"\n", false, &s), 0);
}

Test(status, promise_keeps_only_message) {
        struct seen s;
        cr_assert_eq(check("message: configured\nextra: 1\nmore: {a: 1}\n", true, &s), 0);
        cr_assert_eq(s.warnings, 2);
        assert_has(s, "W 2:1 \"extra\" is not kept: only \"message\" can be updated in a Promise's status");
        assert_has(s, "W 3:1 \"more\" is not kept");
        cr_assert_eq(check("message: configured\nextra: 1\n", false, &s), 0);
        cr_assert_eq(s.warnings, 0, "a resource's status keeps unknown keys");
}

Test(status, positions_stop_at_an_alias) {
        struct seen s;
        /* The alias is not followed: the problem is placed at the alias. */
        cr_assert_eq(check("c: &c {type: A, status: nope}\nconditions: [*c]\n", false, &s), 1);
        assert_has(s, "E 2:14 conditions[0]:");
}

Test(status, parse_reports_the_first_error_with_its_position) {
        json_t *doc = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        const char *text = "message: ok\nworkflows: \"2\"\n";
        cr_assert_eq(kstatus_status_parse(text, strlen(text), NULL, &doc, &err), -EINVAL);
        cr_assert_null(doc);
        cr_assert_eq(err.line, 2);
        cr_assert_eq(err.column, 1);
        cr_assert(strstr(err.message, "\"workflows\" is a kratix managed status field"), "%s", err.message);
        /* Warnings do not refuse the file. */
        text = "conditions:\n- {type: A, status: \"True\", observedGeneration: 1}\n";
        cr_assert_eq(kstatus_status_parse(text, strlen(text), NULL, &doc, &err), 0);
        json_decref(doc);
}

Test(status, validate_without_text_has_no_position) {
        json_t *doc = J("{\"message\": 1}");
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kstatus_status_validate(doc, &err), -EINVAL);
        cr_assert_eq(err.line, 0);
        json_decref(doc);
        doc = J("[1]");
        cr_assert_eq(kstatus_status_check(doc, NULL, NULL, NULL), 1);
        json_decref(doc);
}
