#include <criterion/criterion.h>
#include <string.h>

#include "helpers.h"
#include "wait.h"

static bool met(const char *spec, const char *obj_text) {
        struct wait_for w;
        char err[256];
        cr_assert_eq(wait_for_parse(spec, &w, err, sizeof(err)), 0, "%s: %s", spec, err);
        json_t *obj = obj_text ? J(obj_text) : NULL;
        bool r = wait_for_met(&w, obj);
        json_decref(obj);
        wait_for_clear(&w);
        return r;
}

/* og: Kratix's status.observedGeneration (top level). */
#define OBJ(gen, og, conds, extra)                                                                            \
        "{\"metadata\":{\"generation\":" #gen "},\"status\":{\"observedGeneration\":" #og ",\"conditions\":[" conds \
        "]" extra "}}"
#define CWC(status) "{\"type\":\"ConfigureWorkflowCompleted\",\"status\":\"" status "\"}"
#define CWC_OG(status, og) \
        "{\"type\":\"ConfigureWorkflowCompleted\",\"status\":\"" status "\",\"observedGeneration\":" #og "}"

Test(wait, conditions) {
        cr_assert(met("condition=ConfigureWorkflowCompleted", OBJ(1, 1, CWC("True"), "")));
        cr_assert(met("condition=configureworkflowcompleted", OBJ(1, 1, CWC("True"), "")),
                  "types compare case-insensitively, as kubectl's");
        cr_assert(met("condition=DeleteWorkflowCompleted",
                      OBJ(1, 1, "{\"type\":\"deleteworkflowcompleted\",\"status\":\"True\"},"
                                "{\"type\":\"DeleteWorkflowCompleted\",\"status\":\"False\"}", "")),
                  "the first type that matches decides, as kubectl's");
        cr_assert(met("condition=ConfigureWorkflowCompleted=true", OBJ(1, 1, CWC("True"), "")),
                  "values compare case-insensitively, as kubectl's");
        cr_assert_not(met("condition=ConfigureWorkflowCompleted", OBJ(1, 1, CWC("False"), "")));
        cr_assert(met("condition=ConfigureWorkflowCompleted=False", OBJ(1, 1, CWC("False"), "")));
        cr_assert_not(met("condition=ConfigureWorkflowCompleted", OBJ(2, 1, CWC("True"), "")),
                      "a condition while status.observedGeneration is older does not count");
        cr_assert(met("condition=ConfigureWorkflowCompleted", OBJ(2, 2, CWC("True"), "")));
        cr_assert(met("condition=ConfigureWorkflowCompleted",
                      "{\"metadata\":{\"generation\":5},\"status\":{\"conditions\":[" CWC("True") "]}}"),
                  "without status.observedGeneration the condition counts");
        cr_assert(met("condition=ConfigureWorkflowCompleted", OBJ(2, 2, CWC_OG("True", 1), "")),
                  "a per-condition observedGeneration (pruned by Kratix's schema) is not read");
        cr_assert_not(met("condition=ConfigureWorkflowCompleted", OBJ(2, 1, CWC_OG("True", 2), "")),
                      "nor does it make a stale resource current");
        cr_assert_not(met("condition=Missing", OBJ(1, 1, CWC("True"), "")));
        cr_assert_not(met("condition=ConfigureWorkflowCompleted", NULL));
}

Test(wait, health_message_delete) {
        cr_assert(met("health=ready", "{\"status\":{\"healthStatus\":{\"state\":\"ready\"}}}"));
        cr_assert(met("health=degraded", "{\"status\":{\"healthRecord\":{\"state\":\"degraded\"}}}"));
        cr_assert_not(met("health=ready", "{\"status\":{}}"));
        cr_assert(met("message=Resource requested", "{\"status\":{\"message\":\"Resource requested\"}}"));
        cr_assert_not(met("message=Resource", "{\"status\":{\"message\":\"Resource requested\"}}"));
        cr_assert(met("delete", NULL));
        cr_assert_not(met("delete", "{}"));
}

Test(wait, parse_errors) {
        struct wait_for w;
        char err[256];
        cr_assert_lt(wait_for_parse("condition=", &w, err, sizeof(err)), 0);
        cr_assert_lt(wait_for_parse("health=green", &w, err, sizeof(err)), 0);
        cr_assert(strstr(err, "want unhealthy, degraded, unknown, healthy or ready"));
        cr_assert_lt(wait_for_parse("ready", &w, err, sizeof(err)), 0);
        cr_assert(strstr(err, "unrecognized condition"));
}

Test(wait, workflow_failure_is_seen) {
        json_t *obj = J("{\"status\":{\"conditions\":[{\"type\":\"ConfigureWorkflowCompleted\",\"status\":\"False\","
                        "\"reason\":\"ConfigureWorkflowFailed\",\"message\":\"A Configure Pipeline has failed: x\"}]}}");
        const char *msg = NULL;
        cr_assert(wait_workflow_failed(obj, &msg));
        cr_assert_str_eq(msg, "A Configure Pipeline has failed: x");
        json_decref(obj);
        obj = J("{\"status\":{\"conditions\":[{\"type\":\"ConfigureWorkflowCompleted\",\"status\":\"False\","
                "\"reason\":\"PipelinesInProgress\"}]}}");
        cr_assert_not(wait_workflow_failed(obj, NULL));
        json_decref(obj);
}

/* --for=jsonpath as kubectl 1.32's wait reads and checks it (pkg/cmd/wait/json.go). */
Test(wait, jsonpath) {
        const char *obj = "{\"status\":{\"message\":\"ready now\",\"n\":3,\"ratio\":1.5,\"tags\":[\"a\",\"b\"],"
                          "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}";
        cr_assert(met("jsonpath={.status.message}=ready now", obj));
        cr_assert(met("jsonpath={.status.message}=' ready now '", obj), "quotes and spaces trimmed, as kubectl");
        cr_assert(met("jsonpath=.status.n=3", obj), "a relaxed path, a number as Go prints it");
        cr_assert(met("jsonpath={.status.ratio}=1.5", obj));
        cr_assert(met("jsonpath={.status.conditions[?(@.type==\"Ready\")].status}=True", obj),
                  "== inside a filter is not the value's =");
        cr_assert(met("jsonpath={.status.message}", obj), "without a value: the field exists");
        cr_assert_not(met("jsonpath={.status.nope}", obj));
        cr_assert_not(met("jsonpath={.status.message}=other", obj));
        cr_assert_not(met("jsonpath={.status.tags[*]}=a", obj), "more than one value is never met");
        cr_assert_not(met("jsonpath={.status.tags}=[a b]", obj), "a list is never met");
        cr_assert_not(met("jsonpath={.status.message}=ready now", NULL));
        struct wait_for w;
        char err[256];
        cr_assert_lt(wait_for_parse("jsonpath={.a}=", &w, err, sizeof(err)), 0);
        cr_assert_str_eq(err, "jsonpath wait has to have a value after equal sign, like "
                              "--for=jsonpath='{.status.readyReplicas}'=3");
        cr_assert_lt(wait_for_parse("jsonpath={.a}=b=c", &w, err, sizeof(err)), 0);
        cr_assert_lt(wait_for_parse("jsonpath={.a[}", &w, err, sizeof(err)), 0);
        cr_assert_str_eq(err, "unterminated array");
}

Test(wait, create) {
        cr_assert(met("create", OBJ(1, 1, "", "")));
        cr_assert_not(met("create", NULL), "an object that does not exist is not created");
}
