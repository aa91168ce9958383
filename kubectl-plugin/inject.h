/* inject.h - adding kstatus-sidecar to Pod templates (pure JSON transforms). */
#pragma once

#include <jansson.h>

/* terminationGracePeriodSeconds an injected Pod gets at least: the kubelet
 * kills the sidecar that long after its SIGTERM, and its final write may retry
 * for --deadline (60s) plus one request (10s). */
#define INJECT_GRACE_SECONDS 75

struct inject_options {
        const char *image; /* the sidecar image */
        const char *merge; /* KSTATUS_MERGE for the sidecar, or NULL */
};

/* The Pod spec of a Pod, Job, CronJob, Deployment, StatefulSet, DaemonSet or
 * ReplicaSet object (borrowed), or NULL for other kinds. */
json_t *inject_pod_spec(json_t *obj);

/* Add (or refresh) the sidecar in a Pod spec, in place: a native sidecar
 * (init container with restartPolicy Always) after Kratix's reader, with the
 * pipeline's KRATIX_* variables, status-writer's IS_LAST_PIPELINE,
 * POD_NAME/POD_NAMESPACE from the downward API,
 * shared-metadata mounted read-only at /kratix/metadata (and mounted into the
 * pipeline containers), resource limits and a locked-down securityContext;
 * terminationGracePeriodSeconds is raised to INJECT_GRACE_SECONDS (never lowered).
 * Returns 1 when added, 0 when an existing one was refreshed. */
int inject_pod_spec_sidecar(json_t *spec, const struct inject_options *opts);

/* The Roles, RoleBindings, ClusterRole and ClusterRoleBinding the sidecar of a
 * pipeline running in `namespace` as `service_account` needs for a resource in
 * `resource_namespace` (NULL or "": the same namespace): get on the resource
 * and get/patch on its status and create on Events in the resource's
 * namespace, get on Pods in the pipeline's (one Role when they are the same),
 * get on Promises cluster-wide. New reference: an array of objects. */
json_t *inject_rbac(const char *namespace, const char *service_account, const char *resource_namespace,
                    const char *group, const char *plural);
