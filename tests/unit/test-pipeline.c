#include <criterion/criterion.h>
#include <errno.h>

#include "helpers.h"
#include "pipeline.h"

Test(pipeline, object_paths) {
        struct kstatus_object_ref ref = {
                .group = xstrdup("example.promise.syntasso.io"), .version = xstrdup("v1"),
                .resource = xstrdup("databases"), .name = xstrdup("example"), .namespace = xstrdup("default"),
        };
        char *p = kstatus_object_ref_path(&ref, "status");
        cr_assert_str_eq(p, "/apis/example.promise.syntasso.io/v1/namespaces/default/databases/example/status");
        free(p);
        char *d = kstatus_object_ref_display(&ref);
        cr_assert_str_eq(d, "databases.example.promise.syntasso.io/example");
        free(d);
        ref.cluster_scoped = true;
        p = kstatus_object_ref_path(&ref, NULL);
        cr_assert_str_eq(p, "/apis/example.promise.syntasso.io/v1/databases/example");
        free(p);
        kstatus_object_ref_clear(&ref);

        struct kstatus_object_ref pod = { .group = xstrdup(""), .version = xstrdup("v1"), .resource = xstrdup("pods"),
                                          .name = xstrdup("p"), .namespace = xstrdup("ns") };
        p = kstatus_object_ref_path(&pod, NULL);
        cr_assert_str_eq(p, "/api/v1/namespaces/ns/pods/p");
        free(p);
        kstatus_object_ref_clear(&pod);
}

#define TERM(name, code) \
        "{\"name\":\"" name "\",\"state\":{\"terminated\":{\"exitCode\":" #code ",\"reason\":\"" \
        "Completed\"}}}"
#define RUNNING(name) "{\"name\":\"" name "\",\"state\":{\"running\":{}}}"

Test(pipeline, pod_all_succeeded) {
        json_t *pod = J("{\"status\":{\"phase\":\"Running\",\"initContainerStatuses\":[" TERM("reader", 0) ","
                        TERM("create-db", 0) "," RUNNING("kstatus-sidecar") "],\"containerStatuses\":["
                        RUNNING("status-writer") "]}}");
        struct kstatus_pod_outcome o;
        kstatus_pod_outcome_read(pod, "kstatus-sidecar", &o);
        cr_assert(o.finished);
        cr_assert_not(o.failed);
        kstatus_pod_outcome_clear(&o);
        json_decref(pod);
}

Test(pipeline, pod_failed_container) {
        json_t *pod = J("{\"status\":{\"initContainerStatuses\":[" TERM("reader", 0) ","
                        "{\"name\":\"create-db\",\"state\":{\"terminated\":{\"exitCode\":3,\"reason\":\"Error\"}}},"
                        RUNNING("kstatus-sidecar") "]}}");
        struct kstatus_pod_outcome o;
        kstatus_pod_outcome_read(pod, "kstatus-sidecar", &o);
        cr_assert(o.failed);
        cr_assert_str_eq(o.failed_container, "create-db");
        cr_assert_str_eq(o.failed_reason, "Error (exit code 3)");
        kstatus_pod_outcome_clear(&o);
        json_decref(pod);
}

Test(pipeline, pod_still_running) {
        json_t *pod = J("{\"status\":{\"initContainerStatuses\":[" TERM("reader", 0) "," RUNNING("create-db") "]}}");
        struct kstatus_pod_outcome o;
        kstatus_pod_outcome_read(pod, NULL, &o);
        cr_assert_not(o.finished);
        cr_assert_not(o.failed);
        kstatus_pod_outcome_clear(&o);
        json_decref(pod);
}

Test(pipeline, pod_phase_failed) {
        json_t *pod = J("{\"status\":{\"phase\":\"Failed\",\"reason\":\"DeadlineExceeded\"}}");
        struct kstatus_pod_outcome o;
        kstatus_pod_outcome_read(pod, NULL, &o);
        cr_assert(o.failed);
        cr_assert_str_eq(o.failed_reason, "Pod failed: DeadlineExceeded");
        kstatus_pod_outcome_clear(&o);
        json_decref(pod);
}

Test(pipeline, promise_position) {
        json_t *promise = J("{\"spec\":{\"workflows\":{\"resource\":{\"configure\":["
                            "{\"metadata\":{\"name\":\"create-user\"}},{\"metadata\":{\"name\":\"populate-vault\"}}],"
                            "\"delete\":[{\"metadata\":{\"name\":\"cleanup\"}}]}}}}");
        int idx, count;
        cr_assert_eq(kstatus_promise_pipeline_position(promise, "resource", "configure", "populate-vault", &idx, &count), 0);
        cr_assert_eq(idx, 1);
        cr_assert_eq(count, 2);
        cr_assert_eq(kstatus_promise_pipeline_position(promise, "resource", "delete", "cleanup", &idx, &count), 0);
        cr_assert_eq(idx, 0);
        cr_assert_eq(count, 1);
        cr_assert_eq(kstatus_promise_pipeline_position(promise, "resource", "configure", "nope", &idx, &count), -ENOENT);
        cr_assert_eq(kstatus_promise_pipeline_position(promise, "promise", "configure", "x", &idx, &count), -ENOENT);
        json_decref(promise);
}
