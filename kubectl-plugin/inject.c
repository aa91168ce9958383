/* inject.c - add kstatus-sidecar to a Pod template as a native sidecar
 * (docs/BEHAVIOUR.md §5). Pure JSON in, JSON out; running it twice changes nothing. */
#include "inject.h"

#include <string.h>

#include "pipeline.h"
#include "util.h"

#define SIDECAR_NAME "kstatus-sidecar"
#define METADATA_VOLUME "shared-metadata"
#define INPUT_VOLUME "shared-input"

static const char *str(const json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

/* The Pod spec inside a workload object (borrowed), or NULL. */
json_t *inject_pod_spec(json_t *obj) {
        const char *kind = str(obj, "kind");
        json_t *spec = json_object_get(obj, "spec");
        if (!kind || !json_is_object(spec))
                return NULL;
        if (strcmp(kind, "Pod") == 0)
                return spec;
        if (strcmp(kind, "CronJob") == 0)
                spec = json_object_get(json_object_get(spec, "jobTemplate"), "spec");
        if (strcmp(kind, "Job") == 0 || strcmp(kind, "CronJob") == 0 || strcmp(kind, "Deployment") == 0 ||
            strcmp(kind, "StatefulSet") == 0 || strcmp(kind, "DaemonSet") == 0 || strcmp(kind, "ReplicaSet") == 0)
                return json_object_get(json_object_get(spec, "template"), "spec");
        return NULL;
}

static json_t *get_array(json_t *o, const char *key) {
        json_t *a = json_object_get(o, key);
        if (!json_is_array(a)) {
                a = json_array();
                json_object_set_new(o, key, a);
        }
        return a;
}

static bool mounts_path(json_t *container, const char *path) {
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(container, "volumeMounts"), i, m) {
                const char *p = str(m, "mountPath");
                if (p && strcmp(p, path) == 0)
                        return true;
        }
        return false;
}

/* The KRATIX_* variables Kratix gives pipeline containers, copied from the
 * first container that has them: the sidecar needs the same facts. */
static void copy_kratix_env(json_t *spec, json_t *env) {
        const char *lists[] = { "initContainers", "containers" };
        for (size_t l = 0; l < ELEMENTSOF(lists); l++) {
                size_t i;
                json_t *c;
                json_array_foreach(json_object_get(spec, lists[l]), i, c) {
                        if (strcmp(str(c, "name") ?: "", SIDECAR_NAME) == 0)
                                continue;
                        json_t *cenv = json_object_get(c, "env");
                        if (!kstatus_find_named(cenv, "KRATIX_OBJECT_NAME", NULL))
                                continue;
                        size_t j;
                        json_t *e;
                        json_array_foreach(cenv, j, e) {
                                const char *n = str(e, "name");
                                if (n && str_has_prefix(n, "KRATIX_"))
                                        json_array_append_new(env, json_deep_copy(e));
                        }
                        return;
                }
        }
}

/* IS_LAST_PIPELINE as Kratix sets it on status-writer (and only there): the
 * sidecar needs it to know whether the workflow completes with this pipeline. */
static void copy_last_pipeline_env(json_t *spec, json_t *env) {
        json_t *writer = kstatus_find_named(json_object_get(spec, "containers"), "status-writer", NULL);
        json_t *e = kstatus_find_named(json_object_get(writer, "env"), "IS_LAST_PIPELINE", NULL);
        if (e)
                json_array_append_new(env, json_deep_copy(e));
}

static json_t *sidecar_container(json_t *spec, const struct inject_options *opts) {
        json_t *env = json_array();
        copy_kratix_env(spec, env);
        copy_last_pipeline_env(spec, env);
        json_array_append_new(env, json_pack("{s:s, s:{s:{s:s}}}", "name", "POD_NAME", "valueFrom", "fieldRef",
                                             "fieldPath", "metadata.name"));
        json_array_append_new(env, json_pack("{s:s, s:{s:{s:s}}}", "name", "POD_NAMESPACE", "valueFrom", "fieldRef",
                                             "fieldPath", "metadata.namespace"));
        json_array_append_new(env, json_pack("{s:s, s:s}", "name", "KSTATUS_CONTAINER_NAME", "value", SIDECAR_NAME));
        if (opts->merge)
                json_array_append_new(env, json_pack("{s:s, s:s}", "name", "KSTATUS_MERGE", "value", opts->merge));

        json_t *mounts = json_array();
        json_array_append_new(mounts, json_pack("{s:s, s:s, s:b}", "name", METADATA_VOLUME, "mountPath",
                                                "/kratix/metadata", "readOnly", 1));
        if (kstatus_find_named(json_object_get(spec, "volumes"), INPUT_VOLUME, NULL))
                json_array_append_new(mounts, json_pack("{s:s, s:s, s:b}", "name", INPUT_VOLUME, "mountPath",
                                                        "/kratix/input", "readOnly", 1));

        return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:{s:{s:s, s:s}, s:{s:s, s:s}}, "
                         "s:{s:b, s:b, s:b, s:{s:[s]}, s:{s:s}}}",
                         "name", SIDECAR_NAME, "image", opts->image, "imagePullPolicy", "IfNotPresent",
                         "restartPolicy", "Always", "env", env, "volumeMounts", mounts,
                         "resources", "requests", "cpu", "10m", "memory", "16Mi", "limits", "cpu", "100m", "memory",
                         "32Mi",
                         "securityContext", "runAsNonRoot", 1, "readOnlyRootFilesystem", 1,
                         "allowPrivilegeEscalation", 0, "capabilities", "drop", "ALL", "seccompProfile", "type",
                         "RuntimeDefault");
}

int inject_pod_spec_sidecar(json_t *spec, const struct inject_options *opts) {
        json_t *volumes = get_array(spec, "volumes");
        if (!kstatus_find_named(volumes, METADATA_VOLUME, NULL))
                json_array_append_new(volumes, json_pack("{s:s, s:{}}", "name", METADATA_VOLUME, "emptyDir"));

        /* Every pipeline container shares the metadata directory. */
        const char *lists[] = { "initContainers", "containers" };
        for (size_t l = 0; l < ELEMENTSOF(lists); l++) {
                size_t i;
                json_t *c;
                json_array_foreach(json_object_get(spec, lists[l]), i, c) {
                        const char *n = str(c, "name") ?: "";
                        if (strcmp(n, SIDECAR_NAME) == 0 || strcmp(n, "reader") == 0 || strcmp(n, "status-writer") == 0)
                                continue;
                        if (!mounts_path(c, "/kratix/metadata"))
                                json_array_append_new(get_array(c, "volumeMounts"),
                                                      json_pack("{s:s, s:s}", "name", METADATA_VOLUME, "mountPath",
                                                                "/kratix/metadata"));
                }
        }

        /* Time for the final write after SIGTERM (the default, 30s, is shorter
         * than its retries during an outage); a longer grace is kept. */
        json_t *grace = json_object_get(spec, "terminationGracePeriodSeconds");
        if (!json_is_integer(grace) || json_integer_value(grace) < INJECT_GRACE_SECONDS)
                json_object_set_new(spec, "terminationGracePeriodSeconds", json_integer(INJECT_GRACE_SECONDS));

        json_t *inits = get_array(spec, "initContainers");
        json_t *sidecar = sidecar_container(spec, opts);
        size_t at;
        if (kstatus_find_named(inits, SIDECAR_NAME, &at)) {
                json_array_set_new(inits, at, sidecar);
                return 0;
        }
        /* Right after Kratix's reader (so object.yaml exists when it starts),
         * before the pipeline's own containers. */
        size_t reader;
        at = kstatus_find_named(inits, "reader", &reader) ? reader + 1 : 0;
        json_array_insert_new(inits, at, sidecar);
        return 1;
}

static json_t *role(const char *name, const char *namespace, json_t *rules) {
        return json_pack("{s:s, s:s, s:{s:s, s:s}, s:o}", "apiVersion", "rbac.authorization.k8s.io/v1", "kind", "Role",
                         "metadata", "name", name, "namespace", namespace, "rules", rules);
}

static json_t *binding(const char *kind, const char *name, const char *namespace, const char *role_kind,
                       const char *role_name, const char *sa_namespace, const char *sa) {
        json_t *b = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:s}, s:[{s:s, s:s, s:s}]}", "apiVersion",
                              "rbac.authorization.k8s.io/v1", "kind", kind, "metadata", "name", name, "roleRef",
                              "apiGroup", "rbac.authorization.k8s.io", "kind", role_kind, "name", role_name,
                              "subjects", "kind", "ServiceAccount", "name", sa, "namespace", sa_namespace);
        if (namespace)
                json_object_set_new(json_object_get(b, "metadata"), "namespace", json_string(namespace));
        return b;
}

json_t *inject_rbac(const char *namespace, const char *service_account, const char *resource_namespace,
                    const char *group, const char *plural) {
        json_t *out = json_array();
        /* One Role per resource type and one binding per service account, so that the
         * pipelines of several Promises in one namespace do not overwrite each other's. */
        _cleanup_free_ char *name = *group ? xasprintf("kstatus-sidecar-%s.%s", plural, group)
                                           : xasprintf("kstatus-sidecar-%s", plural);
        _cleanup_free_ char *bname = xasprintf("%s-%s", name, service_account);
        _cleanup_free_ char *status_resource = xasprintf("%s/status", plural);
        json_t *resource_rules = json_pack("[{s:[s], s:[s], s:[s, s]}, {s:[s], s:[s], s:[s]}]", "apiGroups", group,
                                           "resources", status_resource, "verbs", "get", "patch", "apiGroups", group,
                                           "resources", plural, "verbs", "get");
        json_t *pods = json_pack("{s:[s], s:[s], s:[s]}", "apiGroups", "", "resources", "pods", "verbs", "get");
        /* Its Pod's Job: a Pod deleted after backoffLimit (FailureTarget) is a failure, one
         * deleted because Kratix suspended the Job is not (docs/BEHAVIOUR.md §5). */
        json_t *jobs = json_pack("{s:[s], s:[s], s:[s]}", "apiGroups", "batch", "resources", "jobs", "verbs", "get");
        json_t *events = json_pack("{s:[s], s:[s], s:[s]}", "apiGroups", "", "resources", "events", "verbs", "create");
        if (!resource_namespace || !*resource_namespace || strcmp(resource_namespace, namespace) == 0) {
                json_array_append_new(resource_rules, pods);
                json_array_append_new(resource_rules, jobs);
                json_array_append_new(resource_rules, events);
                json_array_append_new(out, role(name, namespace, resource_rules));
                json_array_append_new(out, binding("RoleBinding", bname, namespace, "Role", name, namespace,
                                                   service_account));
        } else {
                /* pipelineNamespace: the Pod runs here, the resource (and its Events) live in
                 * resource_namespace. Each Role grants only what is done in its namespace. */
                json_array_append_new(resource_rules, events);
                json_array_append_new(out, role(name, resource_namespace, resource_rules));
                json_array_append_new(out, binding("RoleBinding", bname, resource_namespace, "Role", name, namespace,
                                                   service_account));
                _cleanup_free_ char *pname = xasprintf("kstatus-sidecar-pod-reader-%s", service_account);
                json_array_append_new(out, role(pname, namespace, json_pack("[oo]", pods, jobs)));
                json_array_append_new(out, binding("RoleBinding", pname, namespace, "Role", pname, namespace,
                                                   service_account));
        }
        /* Promises are cluster-scoped: reading one needs a ClusterRole. */
        json_array_append_new(out, json_pack("{s:s, s:s, s:{s:s}, s:[{s:[s], s:[s], s:[s]}]}", "apiVersion",
                                             "rbac.authorization.k8s.io/v1", "kind", "ClusterRole", "metadata", "name",
                                             "kstatus-sidecar-promise-reader", "rules", "apiGroups",
                                             "platform.kratix.io", "resources", "promises", "verbs", "get"));
        _cleanup_free_ char *crb = xasprintf("kstatus-sidecar-%s-%s", namespace, service_account);
        json_array_append_new(out, binding("ClusterRoleBinding", crb, NULL, "ClusterRole",
                                           "kstatus-sidecar-promise-reader", namespace, service_account));
        return out;
}
