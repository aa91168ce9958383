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

#define OBJ(gen, conds, extra) "{\"metadata\":{\"generation\":" #gen "},\"status\":{\"conditions\":[" conds "]" extra "}}"
#define CWC(status, og) "{\"type\":\"ConfigureWorkflowCompleted\",\"status\":\"" status "\",\"observedGeneration\":" #og "}"

Test(wait, conditions) {
        cr_assert(met("condition=ConfigureWorkflowCompleted", OBJ(1, CWC("True", 1), "")));
        cr_assert(met("condition=configureworkflowcompleted", OBJ(1, CWC("True", 1), "")) == false);
        cr_assert(met("condition=ConfigureWorkflowCompleted=true", OBJ(1, CWC("True", 1), "")),
                  "values compare case-insensitively, as kubectl's");
        cr_assert_not(met("condition=ConfigureWorkflowCompleted", OBJ(1, CWC("False", 1), "")));
        cr_assert(met("condition=ConfigureWorkflowCompleted=False", OBJ(1, CWC("False", 1), "")));
        cr_assert_not(met("condition=ConfigureWorkflowCompleted", OBJ(2, CWC("True", 1), "")),
                      "a condition for an older generation does not count");
        cr_assert_not(met("condition=Missing", OBJ(1, CWC("True", 1), "")));
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
        cr_assert_lt(wait_for_parse("jsonpath={.x}", &w, err, sizeof(err)), 0);
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
