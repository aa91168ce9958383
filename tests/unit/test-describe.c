/* Golden tests for describe's model and text rendering. Set
 * KSTATUS_UPDATE_GOLDEN=1 to rewrite the golden files that differ (those
 * checks fail once; review the diff and run again). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "describe.h"
#include "helpers.h"
#include "plugin.h"

#define NOW 1724236311 /* 2024-08-21T10:30:51Z + 60 s */

static json_t *load(const char *name) {
        const char *dir = getenv("KSTATUS_TEST_DATA");
        cr_assert_not_null(dir, "KSTATUS_TEST_DATA is not set");
        char *path = xasprintf("%s/describe/%s", dir, name);
        json_error_t e;
        json_t *v = json_load_file(path, 0, &e);
        cr_assert_not_null(v, "%s: %s", path, e.text);
        free(path);
        return v;
}

/* Compare with the golden file. With KSTATUS_UPDATE_GOLDEN set, a file that
 * differs is rewritten and the test still fails ("updated: review the diff"),
 * so the update never passes by comparing the new file with itself. */
static char *render(const json_t *model, struct render_options opts) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        describe_render(f, model, &opts);
        fclose(f);
        return buf;
}

Test(describe, human_duration_matches_kubectl) {
        static const struct { int64_t s; const char *want; } cases[] = {
                { -5, "<invalid>" }, { -1, "0s" }, { 0, "0s" }, { 119, "119s" }, { 120, "2m" }, { 125, "2m5s" },
                { 599, "9m59s" }, { 600, "10m" }, { 10799, "179m" }, { 10800, "3h" }, { 11000, "3h3m" },
                { 28800, "8h" }, { 172799, "47h" }, { 172800, "2d" }, { 180000, "2d2h" }, { 691200, "8d" },
                { 63072000, "2y" }, { 63158400, "2y1d" }, { 252288000, "8y" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char buf[32];
                human_duration(cases[i].s, buf);
                cr_assert_str_eq(buf, cases[i].want, "%lld s", (long long)cases[i].s);
        }
}

Test(describe, seed_golden) {
        json_t *obj = load("seed-object.json"), *rel = load("seed-related.json"), *evs = load("seed-events.json");
        struct describe_input in = { .object = obj, .related = rel, .events = evs, .now = NOW };
        json_t *model = describe_model(&in);
        char *json = json_dumps(model, JSON_INDENT(2) | JSON_SORT_KEYS);
        char *json_nl = xasprintf("%s\n", json);
        check_golden("describe", "seed-model.json", json_nl);
        char *plain = render(model, (struct render_options){ 0 });
        check_golden("describe", "seed.txt", plain);
        char *color = render(model, (struct render_options){ .color = true });
        check_golden("describe", "seed.color.txt", color);
        char *abs = render(model, (struct render_options){ .absolute_time = true });
        cr_assert(strstr(abs, "2024-08-21T10:30:51Z"), "--absolute-time shows timestamps");
        free(abs);
        free(color);
        free(plain);
        free(json_nl);
        free(json);
        json_decref(model);
        json_decref(obj);
        json_decref(rel);
        json_decref(evs);
}

/* A workflow Kratix suspended (workflow-control.yaml's retryAfter on the last
 * pipeline): the pipeline's phase, attempts and next retry, called out. */
Test(describe, suspended_golden) {
        json_t *obj = load("suspended-object.json");
        struct describe_input in = { .object = obj, .now = NOW };
        json_t *model = describe_model(&in);
        json_t *wf = json_object_get(model, "workflow");
        cr_assert_str_eq(json_string_value(json_object_get(wf, "state")), "Suspended");
        cr_assert_str_eq(json_string_value(json_object_get(wf, "pipeline")), "populate-vault");
        assert_json_eq(json_object_get(model, "suspended"),
                       "{\"label\":true,\"pipeline\":\"populate-vault\",\"message\":\"vault is sealed; retrying\","
                       "\"attempts\":2,\"nextRetryAt\":\"2024-08-21T10:36:51Z\",\"nextRetryIn\":\"in 5m\"}");
        char *plain = render(model, (struct render_options){ 0 });
        check_golden("describe", "suspended.txt", plain);
        char *color = render(model, (struct render_options){ .color = true });
        check_golden("describe", "suspended.color.txt", color);
        char *abs = render(model, (struct render_options){ .absolute_time = true });
        cr_assert(strstr(abs, "next retry at 2024-08-21T10:36:51Z (attempt 2)"), "%s", abs);
        free(abs);
        free(color);
        free(plain);
        json_decref(model);
        json_decref(obj);
}

Test(describe, only_kratix_pipeline_list_is_read) {
        /* Kratix writes status.kratix.workflows.pipelines only; keyed lists
         * (workflows.configure.pipelines) were never its format. */
        json_t *obj = J("{\"metadata\":{\"name\":\"x\"},\"status\":{\"kratix\":{\"workflows\":{"
                        "\"configure\":{\"pipelines\":[{\"name\":\"old\",\"phase\":\"Succeeded\"}]},"
                        "\"pipelines\":[{\"name\":\"new\",\"phase\":\"Running\"}]}}}}");
        struct describe_input in = { .object = obj, .now = NOW };
        json_t *model = describe_model(&in);
        assert_json_eq(json_object_get(model, "pipelines"), "[{\"name\":\"new\",\"phase\":\"Running\"}]");
        cr_assert_null(json_object_get(model, "suspended"));
        json_decref(model);
        json_decref(obj);
}

Test(describe, stale_status_is_called_out) {
        json_t *obj = load("seed-object.json");
        struct describe_input in = { .object = obj, .now = NOW };
        json_t *model = describe_model(&in);
        cr_assert(json_is_true(json_object_get(model, "stale")));
        char *text = render(model, (struct render_options){ 0 });
        cr_assert(strstr(text, "Generation:   2 (status observed generation 1: STALE, the spec changed since)"), "%s", text);
        free(text);
        json_decref(model);
        json_decref(obj);
}

Test(describe, live_records_win_over_status) {
        json_t *obj = load("seed-object.json");
        json_t *recs = J("[{\"metadata\":{\"name\":\"r\",\"namespace\":\"default\"},\"data\":{\"promiseRef\":"
                         "{\"name\":\"iam\"},\"resourceRef\":"
                         "{\"name\":\"example\",\"namespace\":\"default\"},\"state\":\"healthy\",\"lastRun\":1724236000}},"
                         "{\"metadata\":{\"name\":\"o\",\"namespace\":\"default\"},\"data\":{\"promiseRef\":"
                         "{\"name\":\"iam\"},\"resourceRef\":"
                         "{\"name\":\"other\",\"namespace\":\"default\"},\"state\":\"unhealthy\"}}]");
        struct describe_input in = { .object = obj, .records = recs, .now = NOW };
        json_t *model = describe_model(&in);
        json_t *h = json_object_get(model, "health");
        cr_assert_str_eq(json_string_value(json_object_get(h, "state")), "healthy");
        cr_assert_str_eq(json_string_value(json_object_get(h, "source")), "records");
        cr_assert_eq(json_array_size(json_object_get(h, "records")), 1);
        json_decref(model);
        json_decref(recs);
        json_decref(obj);
}

Test(describe, workflow_verdicts) {
        static const struct { const char *cond, *text; } cases[] = {
                { "{\"type\":\"ConfigureWorkflowCompleted\",\"status\":\"False\",\"reason\":\"PipelinesInProgress\","
                  "\"lastTransitionTime\":\"2024-08-21T10:30:11Z\"}", "configure workflow in progress for 100s" },
                { "{\"type\":\"ConfigureWorkflowCompleted\",\"status\":\"False\",\"reason\":\"ConfigureWorkflowFailed\","
                  "\"message\":\"A Configure Pipeline has failed: populate-vault\",\"lastTransitionTime\":"
                  "\"2024-08-21T10:27:51Z\"}", "failed in pipeline populate-vault 4m ago" },
                { "{\"type\":\"ConfigureWorkflowCompleted\",\"status\":\"True\",\"lastTransitionTime\":"
                  "\"2024-08-21T10:27:51Z\"}", "configure workflow completed 4m ago" },
                { "{\"type\":\"DeleteWorkflowCompleted\",\"status\":\"False\",\"reason\":\"DeleteWorkflowInProgress\","
                  "\"lastTransitionTime\":\"2024-08-21T10:30:41Z\"}", "delete workflow in progress for 70s" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *text = xasprintf("{\"metadata\":{\"name\":\"x\"},\"status\":{\"conditions\":[%s]}}", cases[i].cond);
                json_t *obj = J(text);
                struct describe_input in = { .object = obj, .now = NOW };
                json_t *model = describe_model(&in);
                cr_assert_str_eq(json_string_value(json_object_get(json_object_get(model, "workflow"), "text")),
                                 cases[i].text);
                json_decref(model);
                json_decref(obj);
                free(text);
        }
        json_t *none = J("{\"metadata\":{\"name\":\"x\"}}");
        struct describe_input in = { .object = none, .now = NOW };
        json_t *model = describe_model(&in);
        cr_assert_str_eq(json_string_value(json_object_get(json_object_get(model, "workflow"), "text")),
                         "no configure workflow has reported yet");
        json_decref(model);
        json_decref(none);
}

Test(describe, hostile_strings_cannot_drive_the_terminal) {
        json_t *obj = J("{\"kind\":\"IAM\",\"metadata\":{\"name\":\"x\"},\"status\":{"
                        "\"message\":\"pwned\\u001b]0;title\\u0007\\u001b[31mred\\nsecond line\\r\\u009b2J\","
                        "\"conditions\":[{\"type\":\"T\\u001b[2J\",\"status\":\"True\",\"message\":\"a\\nb\"}],"
                        "\"evil\\u001bkey\":\"v\\u0000al\"}}");
        struct describe_input in = { .object = obj, .now = NOW };
        json_t *model = describe_model(&in);
        char *text = render(model, (struct render_options){ 0 });
        for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
                cr_assert(*p >= 0x20 || *p == '\n', "raw control character 0x%02x in output:\n%s", *p, text);
                cr_assert(*p != 0x7f);
        }
        cr_assert_null(strstr(text, "\xc2\x9b"), "C1 CSI must be escaped");
        cr_assert(strstr(text, "Message:      pwned\\x1b]0;title\\x07\\x1b[31mred\\nsecond line\\r\\xc2\\x9b2J\n"), "%s",
                  text);
        free(text);
        json_decref(model);
        json_decref(obj);
}

Test(describe, bidi_overrides_and_invisible_characters_are_escaped) {
        /* U+202E RLO, U+2066 LRI, U+200B ZWSP, U+200F RLM, U+2028 LS, U+2029 PS, U+202A LRE, U+2069 PDI */
        json_t *obj = J("{\"kind\":\"IAM\",\"metadata\":{\"name\":\"x\"},\"status\":{"
                        "\"message\":\"a\u202eb\u2066c\u200bd\u200fe\u2028f\u2029g\u202ah\u2069i\u00e9\u2030\"}}");
        struct describe_input in = { .object = obj, .now = NOW };
        json_t *model = describe_model(&in);
        char *text = render(model, (struct render_options){ 0 });
        cr_assert(strstr(text, "Message:      a\\u202eb\\u2066c\\u200bd\\u200fe\\u2028f\\u2029g\\u202ah\\u2069i\xc3\xa9\xe2\x80\xb0\n"),
                  "%s", text);
        free(text);
        json_decref(model);
        json_decref(obj);
}

Test(describe, narrow_terminal_cuts_only_the_last_column) {
        json_t *obj = J("{\"metadata\":{\"name\":\"x\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":"
                        "\"True\",\"reason\":\"Up\",\"message\":\"a very long message that goes on and on and on\"}]}}");
        struct describe_input in = { .object = obj, .now = NOW };
        json_t *model = describe_model(&in);
        char *narrow = render(model, (struct render_options){ .width = 40 });
        cr_assert(strstr(narrow, "..."), "%s", narrow);
        char *wide = render(model, (struct render_options){ .width = 40, .wide = true });
        cr_assert(strstr(wide, "goes on and on and on"), "%s", wide);
        char *pipe = render(model, (struct render_options){ 0 });
        cr_assert(strstr(pipe, "goes on and on and on"), "not a terminal: never cut");
        free(narrow);
        free(wide);
        free(pipe);
        json_decref(model);
        json_decref(obj);
}
