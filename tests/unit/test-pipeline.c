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

#define FAILED(name, code) \
        "{\"name\":\"" name "\",\"state\":{\"terminated\":{\"exitCode\":" #code ",\"reason\":\"Error\"}}}"
/* Kratix's pipeline Pod: reader, a pipeline container, work-writer as init containers, our native
 * sidecar after the reader, status-writer the only container; restartPolicy OnFailure. */
#define KRATIX_SPEC(policy)                                                                                   \
        "\"spec\":{\"restartPolicy\":\"" policy "\",\"initContainers\":[{\"name\":\"reader\"},"                \
        "{\"name\":\"kstatus-sidecar\",\"restartPolicy\":\"Always\"},{\"name\":\"create-db\"},"               \
        "{\"name\":\"work-writer\"},{\"name\":\"istio-proxy\",\"restartPolicy\":\"Always\"}],"                \
        "\"containers\":[{\"name\":\"status-writer\"}]}"
#define INITS_OK TERM("reader", 0) "," RUNNING("kstatus-sidecar") "," TERM("create-db", 0) "," TERM("work-writer", 0)

static void outcome(const char *pod_json, struct kstatus_pod_outcome *o) {
        json_t *pod = J(pod_json);
        kstatus_pod_outcome_read(pod, "kstatus-sidecar", o);
        json_decref(pod);
}

Test(pipeline, pod_succeeded_needs_status_writer) {
        struct kstatus_pod_outcome o;
        outcome("{" KRATIX_SPEC("OnFailure") ",\"status\":{\"phase\":\"Running\",\"initContainerStatuses\":[" INITS_OK
                "],\"containerStatuses\":[" RUNNING("status-writer") "]}}", &o);
        cr_assert_eq(o.state, KSTATUS_POD_RUNNING, "status-writer still running: not finished");
        cr_assert(o.kratix);
        kstatus_pod_outcome_clear(&o);
        outcome("{" KRATIX_SPEC("OnFailure") ",\"status\":{\"phase\":\"Running\",\"initContainerStatuses\":[" INITS_OK
                "],\"containerStatuses\":[" TERM("status-writer", 0) "]}}", &o);
        cr_assert_eq(o.state, KSTATUS_POD_SUCCEEDED, "%s", kstatus_pod_state_to_string(o.state));
        cr_assert_null(o.reason);
        kstatus_pod_outcome_clear(&o);
}

Test(pipeline, pod_failure_is_final_only_without_restarts) {
        struct kstatus_pod_outcome o;
        /* restartPolicy Never: status-writer's non-zero exit is the pipeline's failure. */
        outcome("{" KRATIX_SPEC("Never") ",\"status\":{\"phase\":\"Failed\",\"initContainerStatuses\":[" INITS_OK
                "],\"containerStatuses\":[" FAILED("status-writer", 1) "]}}", &o);
        cr_assert_eq(o.state, KSTATUS_POD_FAILED);
        cr_assert_str_eq(o.container, "status-writer");
        cr_assert_str_eq(o.reason, "Error (exit code 1)");
        kstatus_pod_outcome_clear(&o);
        /* Never, the Pod not yet Failed: the exit alone is final. */
        outcome("{" KRATIX_SPEC("Never") ",\"status\":{\"phase\":\"Running\",\"initContainerStatuses\":["
                TERM("reader", 0) "," RUNNING("kstatus-sidecar") "," FAILED("create-db", 3) "]}}", &o);
        cr_assert_eq(o.state, KSTATUS_POD_FAILED);
        cr_assert_str_eq(o.container, "create-db");
        kstatus_pod_outcome_clear(&o);
        /* OnFailure (Kratix's): the kubelet restarts it; not a failure yet. */
        outcome("{" KRATIX_SPEC("OnFailure") ",\"status\":{\"phase\":\"Running\",\"initContainerStatuses\":["
                TERM("reader", 0) "," RUNNING("kstatus-sidecar") ","
                "{\"name\":\"create-db\",\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}},"
                "\"lastState\":{\"terminated\":{\"exitCode\":3,\"reason\":\"Error\"}}}]}}", &o);
        cr_assert_eq(o.state, KSTATUS_POD_RUNNING);
        cr_assert_str_eq(o.container, "create-db");
        kstatus_pod_outcome_clear(&o);
        /* restartPolicy absent is Always. */
        outcome("{\"spec\":{\"containers\":[{\"name\":\"p\"}]},\"status\":{\"containerStatuses\":[" FAILED("p", 2) "]}}",
                &o);
        cr_assert_eq(o.state, KSTATUS_POD_RUNNING);
        kstatus_pod_outcome_clear(&o);
}

Test(pipeline, pod_stopped_early_is_not_a_failure) {
        struct kstatus_pod_outcome o;
        outcome("{" KRATIX_SPEC("Never") ",\"status\":{\"phase\":\"Failed\",\"reason\":\"Evicted\",\"message\":"
                "\"The node was low on resource: memory.\",\"initContainerStatuses\":[" TERM("reader", 0) ","
                FAILED("create-db", 137) "]}}", &o);
        cr_assert_eq(o.state, KSTATUS_POD_STOPPED);
        cr_assert_str_eq(o.reason, "evicted: The node was low on resource: memory.");
        kstatus_pod_outcome_clear(&o);
        outcome("{" KRATIX_SPEC("OnFailure") ",\"status\":{\"phase\":\"Failed\",\"conditions\":[{\"type\":"
                "\"DisruptionTarget\",\"status\":\"True\",\"reason\":\"EvictionByEvictionAPI\"}]}}", &o);
        cr_assert_eq(o.state, KSTATUS_POD_STOPPED);
        cr_assert_str_eq(o.reason, "disrupted (EvictionByEvictionAPI)");
        kstatus_pod_outcome_clear(&o);
        /* Kratix suspended the Job: the Pod is deleted, its containers killed (exit 143). */
        outcome("{\"metadata\":{\"deletionTimestamp\":\"2030-01-01T00:00:00Z\"}," KRATIX_SPEC("Never")
                ",\"status\":{\"phase\":\"Running\",\"initContainerStatuses\":[" TERM("reader", 0) ","
                FAILED("create-db", 143) "]}}", &o);
        cr_assert_eq(o.state, KSTATUS_POD_STOPPED);
        kstatus_pod_outcome_clear(&o);
}

Test(pipeline, pod_job) {
        json_t *pod = J("{\"metadata\":{\"deletionTimestamp\":\"2030-01-01T00:00:00Z\",\"ownerReferences\":["
                        "{\"kind\":\"ReplicaSet\",\"name\":\"r\"},{\"kind\":\"Job\",\"name\":\"kratix-iam-1\"}]},"
                        "\"spec\":{\"restartPolicy\":\"OnFailure\",\"containers\":[{\"name\":\"status-writer\"}]},"
                        "\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"status-writer\","
                        "\"state\":{\"waiting\":{}},\"lastState\":{\"terminated\":{\"exitCode\":1,\"reason\":\"Error\"}}}]}}");
        cr_assert_str_eq(kstatus_pod_job(pod), "kratix-iam-1");
        struct kstatus_pod_outcome o;
        kstatus_pod_outcome_read(pod, NULL, &o);
        cr_assert_eq(o.state, KSTATUS_POD_STOPPED);
        cr_assert(o.deleted);
        cr_assert_str_eq(o.container, "status-writer");
        cr_assert_str_eq(o.container_reason, "Error (exit code 1)");
        kstatus_pod_outcome_clear(&o);
        json_t *target = J("{\"status\":{\"conditions\":[{\"type\":\"FailureTarget\",\"status\":\"True\"}]}}");
        json_t *failed = J("{\"status\":{\"conditions\":[{\"type\":\"Failed\",\"status\":\"True\"}]}}");
        json_t *suspended = J("{\"spec\":{\"suspend\":true},\"status\":{\"conditions\":[{\"type\":\"Suspended\","
                              "\"status\":\"True\"},{\"type\":\"Failed\",\"status\":\"False\"}]}}");
        cr_assert(kstatus_job_failed(target));
        cr_assert(kstatus_job_failed(failed));
        cr_assert_not(kstatus_job_failed(suspended));
        cr_assert_null(kstatus_pod_job(suspended));
        json_decref(suspended);
        json_decref(failed);
        json_decref(target);
        json_decref(pod);
}

Test(pipeline, pod_phase_failed) {
        struct kstatus_pod_outcome o;
        outcome("{\"status\":{\"phase\":\"Failed\",\"reason\":\"DeadlineExceeded\"}}", &o);
        cr_assert_eq(o.state, KSTATUS_POD_FAILED);
        cr_assert_str_eq(o.reason, "Pod failed: DeadlineExceeded");
        cr_assert_not(o.kratix);
        kstatus_pod_outcome_clear(&o);
}

Test(pipeline, bound_revision) {
        json_t *revs = J("{\"items\":[{\"spec\":{\"version\":\"v1\"},\"status\":{}},"
                         "{\"spec\":{\"version\":\"v2\"},\"status\":{\"latest\":true}}]}");
        json_t *none = J("{\"items\":[]}");
        json_t *one = J("{\"items\":[{\"spec\":{\"version\":\"v1\"}}]}");
        json_t *two = J("{\"items\":[{\"spec\":{\"version\":\"v1\"}},{\"spec\":{\"version\":\"v2\"}}]}");
        json_t *pinned = J("{\"promiseVersion\":\"v1\"}");
        cr_assert_str_eq(kstatus_binding_version(one, NULL), "v1");
        cr_assert_str_eq(kstatus_binding_version(none, pinned), "v1", "no binding: status.promiseVersion");
        cr_assert_str_eq(kstatus_binding_version(none, NULL), "latest");
        cr_assert_null(kstatus_binding_version(two, NULL));
        cr_assert_eq(kstatus_revision_pick(revs, "latest"), json_array_get(json_object_get(revs, "items"), 1));
        cr_assert_eq(kstatus_revision_pick(revs, "v1"), json_array_get(json_object_get(revs, "items"), 0));
        cr_assert_null(kstatus_revision_pick(revs, "v3"));
        json_t *rev = J("{\"spec\":{\"promiseSpec\":{\"workflows\":{\"resource\":{\"configure\":["
                        "{\"metadata\":{\"name\":\"a\"}},{\"metadata\":{\"name\":\"b\"}}]}}}}}");
        int idx, count;
        cr_assert_eq(kstatus_revision_pipeline_position(rev, "resource", "configure", "b", &idx, &count), 0);
        cr_assert_eq(idx, 1);
        cr_assert_eq(count, 2);
        json_decref(rev);
        json_decref(pinned);
        json_decref(two);
        json_decref(one);
        json_decref(none);
        json_decref(revs);
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
