/* The related-objects tree (kubectl-plugin/related.c): statuses read as
 * Kratix writes them, the failing paths, the Placement summary and the
 * selectors. Objects are written here by hand, in the shapes Kratix's
 * scheduler, its controllers and Kubernetes give them. */
#include <criterion/criterion.h>
#include <string.h>

#include "describe.h"
#include "helpers.h"
#include "related.h"
#include "util.h"

#define NOW 1724236311

static json_t *parse(const char *text) {
        json_error_t e;
        json_t *v = json_loads(text, 0, &e);
        cr_assert_not_null(v, "%s: %s", text, e.text);
        return v;
}

static const char *resource =
        "{\"kind\":\"IAM\",\"metadata\":{\"name\":\"example\",\"namespace\":\"default\","
        "\"labels\":{\"kratix.io/promise-name\":\"iam\"}},\"status\":{\"message\":\"done\",\"conditions\":["
        "{\"type\":\"ConfigureWorkflowCompleted\",\"status\":\"True\",\"reason\":\"PipelinesExecutedSuccessfully\","
        "\"message\":\"Pipelines completed\",\"lastTransitionTime\":\"2024-08-21T10:29:00Z\"}]}}";

static const char *works = "{\"items\":["
        "{\"metadata\":{\"name\":\"w2\",\"namespace\":\"default\"},\"status\":{\"conditions\":["
        "{\"type\":\"Ready\",\"status\":\"False\",\"reason\":\"Misplaced\",\"message\":\"Misplaced\"},"
        "{\"type\":\"ScheduleSucceeded\",\"status\":\"False\",\"reason\":\"DestinationSelectorMismatch\",\"message\":\"no match\"}]}},"
        "{\"metadata\":{\"name\":\"w1\",\"namespace\":\"default\"},\"status\":{\"conditions\":["
        "{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"AllWorkplacementsScheduled\",\"message\":\"Ready\"}]}}]}";

static const char *placements = "{\"items\":["
        "{\"metadata\":{\"name\":\"w1.a\",\"namespace\":\"default\",\"labels\":{\"kratix.io/work\":\"w1\"}},"
        "\"spec\":{\"targetDestinationName\":\"a\",\"id\":\"g\"},\"status\":{\"conditions\":["
        "{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"WorkloadsWrittenToTargetDestination\",\"message\":\"Ready\"}]}},"
        "{\"metadata\":{\"name\":\"w1.b\",\"namespace\":\"default\",\"labels\":{\"kratix.io/work\":\"w1\"}},"
        "\"spec\":{\"targetDestinationName\":\"b\"},\"status\":{\"conditions\":["
        "{\"type\":\"WriteSucceeded\",\"status\":\"False\",\"reason\":\"WorkloadsFailedWrite\",\"message\":\"push refused\"},"
        "{\"type\":\"Ready\",\"status\":\"False\",\"reason\":\"WorkloadsFailedWrite\",\"message\":\"Failing\"}]}},"
        "{\"metadata\":{\"name\":\"w2.c\",\"namespace\":\"default\",\"labels\":{\"kratix.io/work\":\"w2\","
        "\"kratix.io/misplaced\":\"true\"}},\"spec\":{\"targetDestinationName\":\"c\"},\"status\":{\"conditions\":["
        "{\"type\":\"ScheduleSucceeded\",\"status\":\"False\",\"reason\":\"DestinationSelectorMismatch\",\"message\":\"moved\"}]}},"
        "{\"metadata\":{\"name\":\"other.a\",\"namespace\":\"elsewhere\",\"labels\":{\"kratix.io/work\":\"w1\"}},"
        "\"spec\":{\"targetDestinationName\":\"a\"}}]}";

static const char *destinations = "{\"items\":["
        "{\"metadata\":{\"name\":\"a\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
        "\"reason\":\"DestinationReady\",\"message\":\"Destination is ready\"}]}},"
        "{\"metadata\":{\"name\":\"b\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
        "\"reason\":\"DestinationReady\",\"message\":\"Destination is ready\"}]}}]}";

static json_t *trace_of(const char *jobs, const char *pods) {
        json_t *obj = parse(resource), *w = parse(works), *wp = parse(placements), *d = parse(destinations);
        json_t *j = jobs ? parse(jobs) : NULL, *p = pods ? parse(pods) : NULL;
        struct related_input in = { .object = obj, .jobs = j, .pods = p, .works = w, .placements = wp,
                                    .destinations = d, .now = NOW };
        json_t *t = related_trace(&in);
        json_decref(obj);
        json_decref(w);
        json_decref(wp);
        json_decref(d);
        json_decref(j);
        json_decref(p);
        return t;
}

static char *compact(const json_t *v) {
        return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

Test(related, works_sorted_with_their_placements_and_destinations) {
        json_t *t = trace_of(NULL, NULL);
        json_t *root = json_object_get(t, "root");
        cr_assert_str_eq(json_string_value(json_object_get(root, "status")), "Ready");
        json_t *w1 = json_array_get(json_object_get(root, "children"), 0);
        cr_assert_str_eq(json_string_value(json_object_get(w1, "name")), "w1", "Works sorted by name");
        cr_assert_eq(json_array_size(json_object_get(w1, "children")), 2, "the placement in another namespace is not w1's");
        json_t *b = json_array_get(json_object_get(w1, "children"), 1);
        cr_assert_str_eq(json_string_value(json_object_get(b, "status")), "Failed");
        cr_assert_str_eq(json_string_value(json_object_get(b, "message")), "push refused", "WriteSucceeded's message");
        json_t *w2 = json_array_get(json_object_get(root, "children"), 1);
        cr_assert_str_eq(json_string_value(json_object_get(w2, "status")), "Misplaced");
        json_t *c = json_array_get(json_object_get(w2, "children"), 0);
        cr_assert_str_eq(json_string_value(json_object_get(c, "status")), "Misplaced");
        json_t *cd = json_array_get(json_object_get(c, "children"), 0);
        cr_assert_str_eq(json_string_value(json_object_get(cd, "status")), "Failed", "a Destination that does not exist");
        cr_assert_str_eq(json_string_value(json_object_get(cd, "message")), "destination \"c\" not found");
        json_decref(t);
}

Test(related, failing_paths_end_at_the_deepest_problem) {
        json_t *t = trace_of(NULL, NULL);
        char *got = compact(json_object_get(t, "failing"));
        cr_assert_str_eq(got, "[{\"message\":\"push refused\",\"path\":[\"IAM/example\",\"Work/w1\",\"WorkPlacement/w1.b\"],"
                              "\"reason\":\"WorkloadsFailedWrite\",\"status\":\"Failed\"},"
                              "{\"message\":\"destination \\\"c\\\" not found\",\"path\":[\"IAM/example\",\"Work/w2\","
                              "\"WorkPlacement/w2.c\",\"Destination/c\"],\"reason\":\"NotFound\",\"status\":\"Failed\"}]");
        cr_assert_str_eq(json_string_value(json_object_get(t, "status")), "Failed");
        cr_assert(json_is_true(json_object_get(t, "output")));
        free(got);
        json_decref(t);
}

Test(related, placement_summary) {
        json_t *t = trace_of(NULL, NULL);
        json_t *p = related_placement(t);
        char *got = compact(p);
        cr_assert_str_eq(got, "{\"destinations\":["
                              "{\"destinationStatus\":\"Ready\",\"message\":\"Ready\",\"misplaced\":false,\"name\":\"a\","
                              "\"placement\":\"w1.a\",\"reason\":\"WorkloadsWrittenToTargetDestination\",\"status\":\"Ready\",\"work\":\"w1\"},"
                              "{\"destinationStatus\":\"Ready\",\"message\":\"push refused\",\"misplaced\":false,\"name\":\"b\","
                              "\"placement\":\"w1.b\",\"reason\":\"WorkloadsFailedWrite\",\"status\":\"Failed\",\"work\":\"w1\"},"
                              "{\"destinationStatus\":\"Failed\",\"message\":\"moved\",\"misplaced\":true,\"name\":\"c\","
                              "\"placement\":\"w2.c\",\"reason\":\"DestinationSelectorMismatch\",\"status\":\"Misplaced\",\"work\":\"w2\"}],"
                              "\"output\":true}");
        free(got);
        json_decref(p);
        json_decref(t);
}

/* A container that failed for good and waits in CrashLoopBackOff: the Pod and
 * the path point at it; its Job has not given up yet. */
Test(related, failed_container_is_pointed_at) {
        const char *jobs = "{\"items\":[{\"metadata\":{\"name\":\"j-old\",\"namespace\":\"default\","
                           "\"creationTimestamp\":\"2024-08-21T10:00:00Z\",\"labels\":{\"kratix.io/pipeline-name\":\"p\"}},"
                           "\"status\":{\"conditions\":[{\"type\":\"Complete\",\"status\":\"True\"}]}},"
                           "{\"metadata\":{\"name\":\"j\",\"namespace\":\"default\",\"creationTimestamp\":\"2024-08-21T10:20:00Z\","
                           "\"labels\":{\"kratix.io/pipeline-name\":\"p\"}},\"status\":{}}]}";
        const char *pods = "{\"items\":[{\"metadata\":{\"name\":\"j-x\",\"namespace\":\"default\","
                           "\"ownerReferences\":[{\"kind\":\"Job\",\"name\":\"j\"}]},"
                           "\"spec\":{\"restartPolicy\":\"OnFailure\",\"initContainers\":[{\"name\":\"reader\"},{\"name\":\"pipeline\"}],"
                           "\"containers\":[{\"name\":\"status-writer\"}]},"
                           "\"status\":{\"phase\":\"Pending\",\"initContainerStatuses\":["
                           "{\"name\":\"reader\",\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}},"
                           "{\"name\":\"pipeline\",\"restartCount\":2,\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}},"
                           "\"lastState\":{\"terminated\":{\"exitCode\":3,\"reason\":\"Error\"}}}],"
                           "\"containerStatuses\":[{\"name\":\"status-writer\",\"state\":{\"waiting\":{\"reason\":\"PodInitializing\"}}}]}}]}";
        json_t *t = trace_of(jobs, pods);
        json_t *f = json_array_get(json_object_get(t, "failing"), 0);
        char *path = compact(json_object_get(f, "path"));
        cr_assert_str_eq(path, "[\"IAM/example\",\"Pipeline/p\",\"Job/j\",\"Pod/j-x\",\"Container/pipeline\"]",
                         "the newest Job of the pipeline, its Pod, the container");
        cr_assert_str_eq(json_string_value(json_object_get(f, "reason")), "CrashLoopBackOff");
        cr_assert_str_eq(json_string_value(json_object_get(f, "message")), "Error (exit code 3), restarts: 2");
        json_t *pipe = json_array_get(json_object_get(json_object_get(t, "root"), "children"), 0);
        cr_assert_str_eq(json_string_value(json_object_get(pipe, "status")), "InProgress", "the Job has not failed yet");
        free(path);
        json_decref(t);
}

Test(related, selectors) {
        json_t *obj = parse(resource);
        char *s = related_work_selector(obj, false, false);
        cr_assert_str_eq(s, "kratix.io/promise-name=iam,kratix.io/resource-name=example");
        free(s);
        s = related_work_selector(obj, false, true);
        cr_assert_str_eq(s, "kratix.io/promise-name=iam,kratix.io/resource-name=example,kratix.io/resource-namespace=default");
        free(s);
        s = related_pipeline_selector(obj, false, false);
        cr_assert_str_eq(s, "kratix.io/resource-name=example,kratix.io/promise-name=iam");
        free(s);
        s = related_pipeline_selector(obj, false, true);
        cr_assert_str_eq(s, "kratix.io/resource-name=example,kratix.io/promise-name=iam,kratix.io/resource-namespace=default");
        free(s);
        json_t *w = parse(works);
        s = related_placement_selector(w);
        cr_assert_str_eq(s, "kratix.io/work in (w2,w1)");
        free(s);
        json_t *many = json_pack("{s:[]}", "items");
        for (int i = 0; i <= RELATED_MAX_SET; i++)
                json_array_append_new(json_object_get(many, "items"), json_pack("{s:{s:s}}", "metadata", "name", "w"));
        s = related_placement_selector(many);
        cr_assert_str_eq(s, "kratix.io/work", "many Works: every placement, not a URL without end");
        free(s);
        json_decref(many);
        json_t *none = parse("{\"items\":[]}");
        cr_assert_null(related_placement_selector(none));
        json_decref(none);
        json_decref(w);
        json_decref(obj);
}

static char *render(const json_t *model, bool color) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        struct render_options o = { .color = color };
        describe_render(f, model, &o);
        fclose(f);
        return buf;
}

/* describe's Placement section, plain and in colour, against golden files
 * (KSTATUS_UPDATE_GOLDEN=1 rewrites one that differs, and fails once). */
Test(related, describe_placement_golden) {
        json_t *t = trace_of(NULL, NULL);
        json_t *placement = related_placement(t);
        json_t *obj = parse(resource);
        struct describe_input in = { .object = obj, .placement = placement, .now = NOW };
        json_t *model = describe_model(&in);
        char *plain = render(model, false), *color = render(model, true);
        check_golden("trace", "describe-placement.txt", plain);
        check_golden("trace", "describe-placement.color.txt", color);
        cr_assert(strstr(plain, "c            Misplaced  w2    DestinationSelectorMismatch: moved"), "%s", plain);
        free(plain);
        free(color);
        json_decref(model);
        json_decref(obj);
        json_decref(placement);
        json_decref(t);
}

Test(related, pipelines_namespace) {
        json_t *obj = parse(resource);
        json_t *plain = parse("{\"spec\":{\"workflows\":{\"config\":{}}}}");
        json_t *elsewhere = parse("{\"spec\":{\"workflows\":{\"config\":{\"pipelineNamespace\":\"pipes\"}}}}");
        json_t *empty = parse("{\"spec\":{\"workflows\":{\"config\":{\"pipelineNamespace\":\"\"}}}}");
        json_t *cluster = parse("{\"metadata\":{\"name\":\"c\"}}");
        bool other = true;
        cr_assert_str_eq(related_pipelines_namespace(obj, false, NULL, &other), "default", "no Promise: the resource's");
        cr_assert_not(other);
        cr_assert_str_eq(related_pipelines_namespace(obj, false, plain, &other), "default");
        cr_assert_not(other);
        cr_assert_str_eq(related_pipelines_namespace(obj, false, empty, &other), "default", "an empty one is unset");
        cr_assert_not(other);
        cr_assert_str_eq(related_pipelines_namespace(obj, false, elsewhere, &other), "pipes");
        cr_assert(other);
        cr_assert_str_eq(related_pipelines_namespace(cluster, false, NULL, &other), "kratix-platform-system");
        cr_assert_str_eq(related_pipelines_namespace(obj, true, elsewhere, &other), "kratix-platform-system",
                         "a Promise's own workflow");
        cr_assert_not(other);
        char *path = related_promise_path(obj);
        cr_assert_str_eq(path, "/apis/platform.kratix.io/v1alpha1/promises/iam");
        free(path);
        cr_assert_null(related_promise_path(cluster), "no kratix.io/promise-name label: no Promise");
        json_decref(obj);
        json_decref(plain);
        json_decref(elsewhere);
        json_decref(empty);
        json_decref(cluster);
}
