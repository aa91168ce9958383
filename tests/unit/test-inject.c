#include <criterion/criterion.h>
#include <string.h>

#include "helpers.h"
#include "inject.h"
#include "util.h"

/* The shape of the Pod spec Kratix's pipeline factory generates. */
static const char *kratix_job =
        "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"kratix-iam-example-create-user\"},"
        "\"spec\":{\"template\":{\"spec\":{\"serviceAccountName\":\"iam-resource-configure-create-user\","
        "\"initContainers\":["
        "{\"name\":\"reader\",\"image\":\"pipeline-adapter\",\"volumeMounts\":[{\"name\":\"shared-input\","
        "\"mountPath\":\"/kratix/input\"}]},"
        "{\"name\":\"create-db\",\"image\":\"create-db:v0.1.0\",\"env\":[{\"name\":\"KRATIX_OBJECT_NAME\",\"value\":"
        "\"example\"},{\"name\":\"KRATIX_CRD_PLURAL\",\"value\":\"iams\"},{\"name\":\"OTHER\",\"value\":\"x\"}],"
        "\"volumeMounts\":[{\"name\":\"shared-metadata\",\"mountPath\":\"/kratix/metadata\"}]},"
        "{\"name\":\"work-writer\",\"image\":\"pipeline-adapter\"}],"
        "\"containers\":[{\"name\":\"status-writer\",\"image\":\"pipeline-adapter\",\"env\":[{\"name\":"
        "\"IS_LAST_PIPELINE\",\"value\":\"true\"},{\"name\":\"KRATIX_OBJECT_NAME\",\"value\":\"example\"}]}],"
        "\"volumes\":[{\"name\":\"shared-input\",\"emptyDir\":{}},{\"name\":\"shared-metadata\",\"emptyDir\":{}}]}}}}";

static const struct inject_options opts = { .image = "kstatus-sidecar:test" };

Test(inject, native_sidecar_after_reader) {
        json_t *job = J(kratix_job);
        json_t *spec = inject_pod_spec(job);
        cr_assert_not_null(spec);
        cr_assert_eq(inject_pod_spec_sidecar(spec, &opts), 1);
        json_t *inits = json_object_get(spec, "initContainers");
        cr_assert_eq(json_array_size(inits), 4);
        json_t *sc = json_array_get(inits, 1);
        cr_assert_str_eq(json_string_value(json_object_get(sc, "name")), "kstatus-sidecar");
        cr_assert_str_eq(json_string_value(json_object_get(sc, "restartPolicy")), "Always");
        cr_assert_str_eq(json_string_value(json_object_get(json_array_get(inits, 2), "name")), "create-db");
        /* KRATIX_* copied, others not; downward API for the Pod. */
        char *env = json_dumps(json_object_get(sc, "env"), JSON_COMPACT);
        cr_assert(strstr(env, "{\"name\":\"KRATIX_OBJECT_NAME\",\"value\":\"example\"}"), "%s", env);
        cr_assert(strstr(env, "KRATIX_CRD_PLURAL"));
        cr_assert_null(strstr(env, "OTHER"));
        /* status-writer's IS_LAST_PIPELINE, right after the KRATIX_* variables. */
        cr_assert(strstr(env, "\"value\":\"iams\"},{\"name\":\"IS_LAST_PIPELINE\",\"value\":\"true\"},{\"name\":\"POD_NAME\""),
                  "%s", env);
        cr_assert(strstr(env, "{\"name\":\"POD_NAME\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}}"),
                  "%s", env);
        free(env);
        char *mounts = json_dumps(json_object_get(sc, "volumeMounts"), JSON_COMPACT);
        cr_assert(strstr(mounts, "{\"name\":\"shared-metadata\",\"mountPath\":\"/kratix/metadata\",\"readOnly\":true}"),
                  "%s", mounts);
        free(mounts);
        /* The work-writer gets the metadata mount; reader and status-writer are Kratix's own. */
        cr_assert_not_null(json_object_get(json_array_get(inits, 3), "volumeMounts"));
        cr_assert_null(json_object_get(json_array_get(json_object_get(spec, "containers"), 0), "volumeMounts"));
        json_decref(job);
}

Test(inject, grace_period_raised_never_lowered) {
        json_t *job = J(kratix_job);
        json_t *spec = inject_pod_spec(job);
        inject_pod_spec_sidecar(spec, &opts);
        /* Absent (the kubelet's default is 30s): raised. */
        cr_assert_eq(json_integer_value(json_object_get(spec, "terminationGracePeriodSeconds")), INJECT_GRACE_SECONDS);
        json_object_set_new(spec, "terminationGracePeriodSeconds", json_integer(5));
        inject_pod_spec_sidecar(spec, &opts);
        cr_assert_eq(json_integer_value(json_object_get(spec, "terminationGracePeriodSeconds")), INJECT_GRACE_SECONDS);
        json_object_set_new(spec, "terminationGracePeriodSeconds", json_integer(600));
        inject_pod_spec_sidecar(spec, &opts);
        cr_assert_eq(json_integer_value(json_object_get(spec, "terminationGracePeriodSeconds")), 600);
        json_decref(job);
}

Test(inject, idempotent) {
        json_t *job = J(kratix_job);
        json_t *spec = inject_pod_spec(job);
        inject_pod_spec_sidecar(spec, &opts);
        json_t *once = json_deep_copy(job);
        cr_assert_eq(inject_pod_spec_sidecar(spec, &opts), 0);
        cr_assert(json_equal(once, job), "running inject twice changed the object");
        json_decref(once);
        json_decref(job);
}

Test(inject, kinds) {
        const char *kinds[] = { "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job" };
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                char *t = xasprintf("{\"kind\":\"%s\",\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}}}",
                                    kinds[i]);
                json_t *o = J(t);
                cr_assert_not_null(inject_pod_spec(o), "%s", kinds[i]);
                json_decref(o);
                free(t);
        }
        json_t *pod = J("{\"kind\":\"Pod\",\"spec\":{\"containers\":[{\"name\":\"a\"}]}}");
        json_t *spec = inject_pod_spec(pod);
        cr_assert_not_null(spec);
        inject_pod_spec_sidecar(spec, &opts);
        /* No metadata volume yet: one is added and mounted into the container. */
        cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(spec, "volumes"), 0), "name")),
                         "shared-metadata");
        cr_assert_not_null(json_object_get(json_array_get(json_object_get(spec, "containers"), 0), "volumeMounts"));
        json_decref(pod);
        json_t *cm = J("{\"kind\":\"ConfigMap\",\"data\":{}}");
        cr_assert_null(inject_pod_spec(cm));
        json_decref(cm);
}

Test(inject, rbac) {
        json_t *r = inject_rbac("default", "sa", "default", "example.promise.syntasso.io", "iams");
        cr_assert_eq(json_array_size(r), 4);
        char *s = json_dumps(r, JSON_COMPACT);
        cr_assert(strstr(s, "\"resources\":[\"iams/status\"],\"verbs\":[\"get\",\"patch\"]"), "%s", s);
        cr_assert(strstr(s, "\"resources\":[\"events\"],\"verbs\":[\"create\"]"));
        cr_assert(strstr(s, "\"resources\":[\"promises\"],\"verbs\":[\"get\"]"));
        free(s);
        json_decref(r);
}

/* pipelineNamespace: the resource's rules and Events where the resource is, Pods where the pipeline runs. */
Test(inject, rbac_pipeline_namespace) {
        json_t *r = inject_rbac("pipelines", "sa", "team-a", "example.promise.syntasso.io", "iams");
        cr_assert_eq(json_array_size(r), 6);
        json_t *res = json_array_get(r, 0), *rb = json_array_get(r, 1), *pods = json_array_get(r, 2);
        assert_json_eq(json_object_get(res, "metadata"), "{\"name\":\"kstatus-sidecar-iams.example.promise.syntasso.io\","
                                                         "\"namespace\":\"team-a\"}");
        char *s = json_dumps(json_object_get(res, "rules"), JSON_COMPACT);
        cr_assert(strstr(s, "\"resources\":[\"events\"],\"verbs\":[\"create\"]"), "%s", s);
        cr_assert_null(strstr(s, "pods"), "%s", s);
        free(s);
        cr_assert_str_eq(json_string_value(json_object_get(json_object_get(rb, "metadata"), "namespace")), "team-a");
        assert_json_eq(json_object_get(rb, "subjects"),
                       "[{\"kind\":\"ServiceAccount\",\"name\":\"sa\",\"namespace\":\"pipelines\"}]");
        cr_assert_str_eq(json_string_value(json_object_get(json_object_get(pods, "metadata"), "namespace")), "pipelines");
        assert_json_eq(json_object_get(pods, "rules"), "[{\"apiGroups\":[\"\"],\"resources\":[\"pods\"],\"verbs\":[\"get\"]},"
                       "{\"apiGroups\":[\"batch\"],\"resources\":[\"jobs\"],\"verbs\":[\"get\"]}]");
        json_decref(r);
}
