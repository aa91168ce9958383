/* final.c - the final write, when the pipeline ends (docs/BEHAVIOUR.md §4,
 * §5): how the pipeline ended (the Pod's container states, looked at from the
 * event loop until the kubelet reports them, or the signal outside a Pod),
 * what workflow-control.yaml allows, then status.yaml's keys and the workflow
 * event in one write, planned and sent as every write is (push.c). */
#include <errno.h>
#include <string.h>

#include "api.h"
#include "log.h"
#include "sidecar.h"
#include "status.h"
#include "workflow.h"

/* Looks at a Pod still showing the pipeline running before taking it for an early stop. */
#define POD_SETTLE_LOOKS 20

/* The refusals the final write reports as Events once it is made: they
 * must not spend the shutdown budget before it. */
struct refusals {
        char *status;  /* status.yaml's error */
        char *control; /* workflow-control.yaml's error */
};

static void refusals_send(struct sidecar *s, struct refusals *f) {
        if (f->status)
                sidecar_event(s, "Warning", "StatusRefused", "%s; the final write uses the last good status",
                              f->status);
        if (f->control)
                sidecar_event(s, "Warning", "WorkflowControlRefused", "%s; the workflow is not completed", f->control);
        free(f->status);
        free(f->control);
}

/* workflow-control.yaml, read as Kratix reads it at every pipeline's end: an
 * invalid file is refused in one line and a Warning Event, whatever the
 * outcome (status-writer fails on it, so the workflow is not completed).
 * Returns -1 invalid, 1 it asks to suspend or retry, 0 neither. */
static int read_control(struct sidecar *s, struct refusals *f) {
        struct kstatus_workflow_control control = { 0 };
        _cleanup_free_ char *error = NULL;
        if (sidecar_read_control(s, &control, &error) < 0) {
                log_warning("refuse", "%s; the workflow is not completed", error);
                f->control = TAKE_PTR(error);
                return -1;
        }
        bool holds = kstatus_workflow_control_holds(&control);
        if (holds && s->last == 1)
                log_info("final", "workflow-control.yaml asks to %s%s: the workflow is not complete",
                         control.suspend ? "suspend" : "retry after ", control.suspend ? "" : control.retry_after);
        kstatus_workflow_control_clear(&control);
        return holds;
}

/* A successful pipeline completes the workflow only when it is the last and
 * workflow-control.yaml asks for neither suspend nor retry, as status-writer
 * decides; an invalid file completes nothing. */
static bool success_event(struct sidecar *s, int control, enum kstatus_workflow_event *ev) {
        if (control < 0)
                return false;
        *ev = KSTATUS_WORKFLOW_PIPELINE_SUCCEEDED;
        if (s->cfg.action == ACTION_CONFIGURE && s->last == 1 && control == 0)
                *ev = KSTATUS_WORKFLOW_CONFIGURE_SUCCEEDED;
        else if (s->cfg.action == ACTION_CONFIGURE && s->last < 0 && s->kratix_owned == 1)
                log_warning("final", "cannot tell whether this is the last pipeline; leaving the workflow "
                                     "condition alone");
        return true;
}

/* The workflow event the final write carries, if any. */
static bool final_event(struct sidecar *s, enum pipeline_outcome outcome, struct refusals *f,
                        enum kstatus_workflow_event *ev) {
        int control = read_control(s, f);
        switch (outcome) {
        case OUTCOME_SUCCEEDED:
                return success_event(s, control, ev);
        case OUTCOME_FAILED:
                *ev = s->cfg.action == ACTION_DELETE ? KSTATUS_WORKFLOW_DELETE_FAILED : KSTATUS_WORKFLOW_CONFIGURE_FAILED;
                return true;
        case OUTCOME_STOPPED:
        case OUTCOME_UNKNOWN:
                break;
        }
        return false;
}

static void final_report(struct sidecar *s, enum pipeline_outcome outcome, const char *why) {
        const char *p = s->cfg.pipeline ? s->cfg.pipeline : "?";
        if (outcome == OUTCOME_FAILED)
                sidecar_event(s, "Warning", "PipelineFailed", "pipeline %s failed%s%s; status written", p,
                              why ? ": " : "", why ? why : "");
        else if (outcome == OUTCOME_STOPPED)
                sidecar_event(s, "Normal", "PipelineStopped", "pipeline %s stopped early%s%s; status written", p,
                              why ? ": " : "", why ? why : "");
        else
                sidecar_event(s, "Normal", "StatusWritten", "pipeline %s finished; status written (%u push%s)", p,
                              s->pushes, s->pushes == 1 ? "" : "es");
}

/* status.yaml as the final write takes it: the last good one when it is refused now. */
static json_t *final_file(struct sidecar *s, struct refusals *f) {
        json_t *file = NULL;
        _cleanup_free_ char *error = NULL;
        if (sidecar_read_status_file(s, &file, &error) >= 0)
                return file;
        log_warning("refuse", "%s; the final write uses the last good status", error);
        f->status = TAKE_PTR(error);
        return s->last_good ? json_incref(s->last_good) : json_object();
}

/* Read the object, then send the final write, within the deadline: 0 stored
 * (or nothing to store), 1 the object is gone and nothing needed writing.
 * The object the write stores is not read back. */
static int final_write(struct sidecar *s, struct status_write *w, bool gone_ok, struct kstatus_error *err) {
        int64_t start = kstatus_monotonic_ms(), deadline = s->cfg.final_deadline_ms;
        int r = sidecar_read_object(s, deadline, err);
        if (r < 0)
                return gone_ok && err->http_code == 404 ? 1 : r;
        int64_t left = deadline - (kstatus_monotonic_ms() - start);
        /* Nothing left after the read: one attempt, as a --deadline of 0 makes. */
        r = sidecar_send_status(w, left > 0 ? left : 0, false, err);
        if (r < 0)
                return r;
        if (r == 0)
                s->pushes++;
        json_decref(s->pushed);
        s->pushed = TAKE_PTR(w->owned);
        if (r == 0)
                log_info("final", "final status written");
        else
                log_info("final", "status already final (resourceVersion %s)",
                         s->resource_version ? s->resource_version : "?");
        return 0;
}

int sidecar_finish(struct sidecar *s, enum pipeline_outcome outcome, const char *why) {
        /* The final write reads the object again: the status last known is
         * let go first, so no more than status.yaml's tree and the server's
         * are held at once (docs/BEHAVIOUR.md §6). */
        json_decref(TAKE_PTR(s->server));
        struct refusals refused = { 0 };
        _cleanup_json_ json_t *file = final_file(s, &refused);
        enum kstatus_workflow_event ev;
        bool have_event = final_event(s, outcome, &refused, &ev);
        struct status_write w = { .s = s, .tag = "final", .file = file, .ev = have_event ? &ev : NULL,
                                  .no_answer = true, .plan = sidecar_plan_file };
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        bool gone_ok = s->cfg.action == ACTION_DELETE && outcome != OUTCOME_FAILED;
        int r = final_write(s, &w, gone_ok, &err);
        _cleanup_free_ char *what = kstatus_object_ref_display(&s->cfg.object);
        if (r > 0)
                log_info("final", "%s is gone; nothing to write", what);
        else if (r < 0) {
                log_error("final", "final write to %s failed: %s", what, err.message);
                /* The server answered and refused: say so on the resource too. */
                if (!w.plan_failed && err.http_code && !kube_error_is_transient(r, &err))
                        sidecar_event(s, "Warning", "StatusWriteFailed", "final status write failed: %s", err.message);
        } else
                final_report(s, outcome, why);
        refusals_send(s, &refused);
        json_decref(w.owned);
        kstatus_error_done(&err);
        return r < 0 ? r : 0;
}

/* A Pod still showing the pipeline running: RUNNING until the kubelet catches up. */
static char *unfinished(const struct kstatus_pod_outcome *o) {
        if (o->container)
                return xasprintf("the Pod stopped while container %s was being restarted after %s", o->container,
                                 o->container_reason);
        return xstrdup("the Pod stopped before its pipeline containers ended");
}

/* A Pod deleted after one of its containers failed: under OnFailure, the Job
 * controller deletes it once backoffLimit is used up (and marks the Job
 * FailureTarget first), or because the Job was suspended. Its Job tells
 * which; without it (no permission to get Jobs) the Pod only stopped early. */
static bool deleted_by_failed_job(struct sidecar *s, const json_t *pod) {
        const char *job = kstatus_pod_job(pod);
        if (!job)
                return false;
        const char *ns = s->cfg.pod_namespace ? s->cfg.pod_namespace : s->cfg.object.namespace;
        _cleanup_free_ char *problems = kube_path_segment_problems(job);
        if (problems)
                return false;
        _cleanup_free_ char *ns_q = kube_escape(ns ? ns : "default"), *job_q = kube_escape(job);
        _cleanup_free_ char *path = xasprintf("/apis/batch/v1/namespaces/%s/jobs/%s", ns_q, job_q);
        _cleanup_json_ json_t *obj = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error aerr = { 0 };
        if (api_get(s->api, path, 0, &obj, &aerr) < 0) {
                log_info("final", "cannot read job \"%s\": %s; taking the Pod's deletion for an early stop", job,
                         aerr.message);
                return false;
        }
        return kstatus_job_failed(obj);
}

/* What one look at the Pod shows: an outcome, or -EAGAIN while it still
 * shows the pipeline running (last_look: take that for an early stop). */
static int pod_look(struct sidecar *s, const json_t *pod, bool last_look, char **ret_why) {
        struct kstatus_pod_outcome o;
        kstatus_pod_outcome_read(pod, s->cfg.container_name, &o);
        enum kstatus_pod_state state = o.state;
        if (state == KSTATUS_POD_STOPPED && o.deleted && o.container && deleted_by_failed_job(s, pod)) {
                state = KSTATUS_POD_FAILED;
                *ret_why = xasprintf("container %s: %s; its Job's backoffLimit is used up", o.container,
                                     o.container_reason);
        } else if (state == KSTATUS_POD_STOPPED && o.deleted && o.container) {
                *ret_why = xasprintf("%s, after container %s failed (%s)", o.reason, o.container, o.container_reason);
        } else if (state == KSTATUS_POD_RUNNING && last_look) {
                state = KSTATUS_POD_STOPPED;
                *ret_why = unfinished(&o);
        } else if (state == KSTATUS_POD_FAILED && o.container)
                *ret_why = xasprintf("container %s: %s", o.container, o.reason);
        else if (state == KSTATUS_POD_FAILED || state == KSTATUS_POD_STOPPED)
                *ret_why = xstrdup(o.reason);
        kstatus_pod_outcome_clear(&o);
        switch (state) {
        case KSTATUS_POD_SUCCEEDED: return OUTCOME_SUCCEEDED;
        case KSTATUS_POD_FAILED: return OUTCOME_FAILED;
        case KSTATUS_POD_STOPPED: return OUTCOME_STOPPED;
        case KSTATUS_POD_RUNNING: break;
        }
        return -EAGAIN;
}

/* How the pipeline ended, from one look at the Pod's container states, or
 * -EAGAIN to look again after SIDECAR_POD_SETTLE_MS: the kubelet stops us
 * once the pipeline's containers have exited, but reports their states on its
 * own schedule. */
static int pod_outcome(struct sidecar *s, char **ret_why) {
        unsigned look = s->pod_looks++;
        _cleanup_json_ json_t *pod = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error aerr = { 0 };
        /* The Pod gets the first half of the shutdown budget, the write the rest. */
        int64_t left = sidecar_budget_left(s);
        int64_t for_pod = (left < 0 ? s->cfg.final_deadline_ms : left) - s->cfg.final_deadline_ms / 2;
        if (for_pod <= 0) {
                log_warning("final", "no time left to read pod \"%s\"; cannot tell how the pipeline ended: writing "
                                     "status.yaml's keys and no workflow condition", s->cfg.pod_name);
                return OUTCOME_UNKNOWN;
        }
        if (sidecar_read_pod(s, for_pod, &pod, &aerr) < 0) {
                log_warning("final", "cannot read pod \"%s\": %s; cannot tell how the pipeline ended: writing "
                                     "status.yaml's keys and no workflow condition", s->cfg.pod_name, aerr.message);
                return OUTCOME_UNKNOWN;
        }
        if (s->kratix_owned < 0 && s->cfg.workflow_conditions == WORKFLOW_CONDITIONS_AUTO)
                sidecar_owner_from_pod(s, pod);
        bool last_look = look >= POD_SETTLE_LOOKS || for_pod <= SIDECAR_POD_SETTLE_MS;
        int r = pod_look(s, pod, last_look, ret_why);
        if (r == -EAGAIN && look == 0)
                log_info("final", "pod \"%s\" still shows the pipeline running; waiting for the kubelet to report it",
                         s->cfg.pod_name);
        return r;
}

int sidecar_final(struct sidecar *s, bool signal_failed, const char *why) {
        _cleanup_free_ char *reason = NULL;
        enum pipeline_outcome outcome = signal_failed ? OUTCOME_FAILED : OUTCOME_SUCCEEDED;
        /* In a Pod, the containers' own exit codes say how the pipeline ended. */
        if (s->cfg.pod_name && !signal_failed) {
                int r = pod_outcome(s, &reason);
                if (r == -EAGAIN)
                        return SIDECAR_FINAL_PENDING;
                outcome = (enum pipeline_outcome)r;
                why = reason;
        }
        const char *p = s->cfg.pipeline ? s->cfg.pipeline : "?";
        if (outcome == OUTCOME_FAILED)
                log_warning("final", "pipeline %s failed%s%s", p, why ? ": " : "", why ? why : "");
        else if (outcome == OUTCOME_STOPPED)
                log_info("final", "pipeline %s stopped early, not a failure: %s; writing status.yaml's keys and no "
                                  "workflow condition", p, why ? why : "?");
        return sidecar_finish(s, outcome, why);
}
