/* kratix.c - what the sidecar learns about its pipeline (docs/BEHAVIOUR.md §4,
 * §5): from its own Pod, whether Kratix's status-writer runs beside it and
 * how the pipeline's containers ended (final.c); from the environment or Kratix's
 * objects, whether this is the workflow's last pipeline; from
 * workflow-control.yaml, whether the workflow may complete. Every decision is
 * a pure function in common/ (pipeline.c, workflow.c); this file reads. */
#include <errno.h>
#include <string.h>

#include "api.h"
#include "log.h"
#include "sidecar.h"
#include "status.h"
#include "workflow.h"

#define KRATIX_API "/apis/platform.kratix.io/v1alpha1"

/* GET the sidecar's own Pod, riding out transient errors for up to deadline_ms. */
int sidecar_read_pod(struct sidecar *s, int64_t deadline_ms, json_t **ret, struct kstatus_error *err) {
        struct kstatus_object_ref pod = {
                .group = "", .version = "v1", .resource = "pods", .name = s->cfg.pod_name,
                .namespace = s->cfg.pod_namespace ? s->cfg.pod_namespace : s->cfg.object.namespace,
        };
        _cleanup_free_ char *path = kstatus_object_ref_path(&pod, NULL);
        return api_get(s->api, path, deadline_ms, ret, err);
}

/* Set kratix_owned from the Pod's containers: Kratix's status-writer writes
 * what Kratix owns, so this sidecar must not. */
void sidecar_owner_from_pod(struct sidecar *s, const json_t *pod) {
        struct kstatus_pod_outcome o;
        kstatus_pod_outcome_read(pod, s->cfg.container_name, &o);
        s->kratix_owned = !o.kratix;
        kstatus_pod_outcome_clear(&o);
        if (s->kratix_owned)
                log_info("start", "pod \"%s\" has no Kratix status-writer: writing the workflow conditions as Kratix "
                                  "would", s->cfg.pod_name);
        else
                log_info("start", "pod \"%s\" runs Kratix's status-writer: leaving ConfigureWorkflowCompleted and the "
                                  "message to Kratix", s->cfg.pod_name);
}

void sidecar_decide_owner(struct sidecar *s) {
        if (s->cfg.workflow_conditions != WORKFLOW_CONDITIONS_AUTO) {
                s->kratix_owned = s->cfg.workflow_conditions == WORKFLOW_CONDITIONS_ON;
                return;
        }
        if (!s->cfg.pod_name) {
                s->kratix_owned = 1;
                return;
        }
        _cleanup_json_ json_t *pod = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error aerr = { 0 };
        if (sidecar_read_pod(s, s->cfg.final_deadline_ms, &pod, &aerr) < 0) {
                s->kratix_owned = -1;
                log_warning("start", "cannot read pod \"%s\": %s; cannot tell whether Kratix's status-writer runs "
                                     "beside this sidecar: leaving the conditions Kratix owns alone",
                            s->cfg.pod_name, aerr.message);
                return;
        }
        sidecar_owner_from_pod(s, pod);
}

/* GET a list; 0 with *ret, 1 when the API does not serve it (404), <0 on error (logged). */
static int get_list(struct sidecar *s, const char *path, json_t **ret) {
        _cleanup_(kstatus_error_done) struct kstatus_error aerr = { 0 };
        int r = api_get(s->api, path, 0, ret, &aerr);
        if (r >= 0)
                return 0;
        if (aerr.http_code == 404)
                return 1;
        log_warning("start", "cannot list %s: %s", path, aerr.message);
        return r;
}

/* The PromiseRevision the resource is bound to, as Kratix's resource
 * controller resolves it. 1 with *ret (new reference), 0 when Kratix keeps no
 * revisions, <0 when it cannot be told (logged). */
static int bound_revision(struct sidecar *s, json_t **ret) {
        const struct kstatus_object_ref *o = &s->cfg.object;
        _cleanup_free_ char *ns = o->namespace ? kube_escape(o->namespace) : NULL;
        _cleanup_free_ char *scope = ns && *ns ? xasprintf("/namespaces/%s", ns) : xstrdup("");
        _cleanup_free_ char *bsel = xasprintf("kratix.io/promise-name=%s,kratix.io/resource-name=%s", s->cfg.promise,
                                              o->name);
        _cleanup_free_ char *bsel_q = kube_escape(bsel);
        _cleanup_free_ char *bpath = xasprintf(KRATIX_API "%s/resourcebindings?labelSelector=%s", scope, bsel_q);
        _cleanup_json_ json_t *bindings = NULL;
        int r = get_list(s, bpath, &bindings);
        if (r < 0)
                return r;
        const char *version = kstatus_binding_version(bindings, s->server);
        if (!version) {
                log_warning("start", "several ResourceBindings name %s: cannot tell its Promise version", o->name);
                return -EEXIST;
        }
        _cleanup_free_ char *rsel = xasprintf("kratix.io/promise-name=%s", s->cfg.promise);
        _cleanup_free_ char *rsel_q = kube_escape(rsel);
        _cleanup_free_ char *rpath = xasprintf(KRATIX_API "/promiserevisions?labelSelector=%s", rsel_q);
        _cleanup_json_ json_t *revisions = NULL;
        r = get_list(s, rpath, &revisions);
        if (r != 0)
                return r > 0 ? 0 : r;
        if (json_array_size(json_object_get(revisions, "items")) == 0)
                return 0;
        const json_t *rev = kstatus_revision_pick(revisions, version);
        if (!rev) {
                log_warning("start", "no single PromiseRevision of promise \"%s\" has version \"%s\"", s->cfg.promise,
                            version);
                return -ENOENT;
        }
        *ret = json_incref((json_t *)rev);
        return 1;
}

/* Where this pipeline sits in its workflow, from Kratix's objects. */
static int locate_from_kratix(struct sidecar *s, int *ret_index, int *ret_count) {
        const char *action = s->cfg.action == ACTION_DELETE ? "delete" : "configure";
        const char *type = s->cfg.workflow_type;
        _cleanup_json_ json_t *owner = NULL;
        int r = 0;
        /* A resource's pipelines come from its PromiseRevision; a Promise's from the Promise. */
        if (strcmp(type, "promise") != 0 && (r = bound_revision(s, &owner)) < 0)
                return r;
        const char *from = "promiserevision";
        if (r == 0) {
                from = "promise";
                _cleanup_free_ char *promise = kube_escape(s->cfg.promise);
                _cleanup_free_ char *path = xasprintf(KRATIX_API "/promises/%s", promise);
                _cleanup_(kstatus_error_done) struct kstatus_error aerr = { 0 };
                if ((r = api_get(s->api, path, 0, &owner, &aerr)) < 0) {
                        log_warning("start", "cannot read promise \"%s\": %s", s->cfg.promise, aerr.message);
                        return r;
                }
        }
        r = strcmp(from, "promise") == 0
                    ? kstatus_promise_pipeline_position(owner, type, action, s->cfg.pipeline, ret_index, ret_count)
                    : kstatus_revision_pipeline_position(owner, type, action, s->cfg.pipeline, ret_index, ret_count);
        if (r < 0)
                log_warning("start", "%s of \"%s\" does not list pipeline \"%s\" under %s.%s", from, s->cfg.promise,
                            s->cfg.pipeline, type, action);
        return r;
}

void sidecar_locate(struct sidecar *s) {
        const struct sidecar_config *c = &s->cfg;
        int index = c->pipeline_index, count = c->pipeline_count;
        if (c->is_last >= 0)
                s->last = c->is_last;
        else if (index >= 0)
                s->last = index == count - 1;
        /* Only writing the workflow conditions needs to know; Kratix's objects are the last resort. */
        else if (s->kratix_owned == 1 && c->promise && c->pipeline && locate_from_kratix(s, &index, &count) >= 0)
                s->last = index == count - 1;
        if (s->last >= 0)
                log_info("start", "pipeline %s (%s) for %s/%s", c->pipeline ? c->pipeline : "?",
                         s->last ? "the last of its workflow" : "not the last of its workflow", c->object.resource,
                         c->object.name);
        else if (s->kratix_owned == 1)
                log_warning("start", "cannot tell whether this is the last pipeline; leaving the workflow "
                                     "conditions alone");
}

int sidecar_read_control(struct sidecar *s, struct kstatus_workflow_control *ret, char **ret_error) {
        _cleanup_free_ char *path = xasprintf("%s/workflow-control.yaml", s->cfg.metadata_dir);
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        *ret = (struct kstatus_workflow_control){ 0 };
        int r = kstatus_read_file(path, true, s->cfg.limits.max_file_bytes, &buf, &len, &err);
        if (r == -ENOENT)
                return 0;
        if (r >= 0)
                r = kstatus_workflow_control_parse(buf, len, ret, &err);
        if (r < 0)
                *ret_error = kstatus_error_format(&err, "workflow-control.yaml");
        return r;
}
