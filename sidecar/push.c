/* push.c - what the sidecar sends: the start-of-pipeline conditions, live
 * pushes and the final write. Every decision about content is made by
 * kstatus_plan_patch() and kstatus_workflow_apply(); this file only reads,
 * sends, retries and reports. */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "conditions.h"
#include "log.h"
#include "sidecar.h"
#include "status.h"
#include "workflow.h"

int64_t sidecar_now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sidecar_sleep_ms(int64_t ms) {
        if (ms <= 0)
                return;
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Full-jitter exponential backoff: 100 ms doubling to 5 s. */
int64_t sidecar_backoff_ms(unsigned attempt) {
        int64_t cap = 100LL << (attempt < 6 ? attempt : 6);
        if (cap > 5000)
                cap = 5000;
        return 50 + (int64_t)(random() % cap);
}

void sidecar_event(struct sidecar *s, const char *type, const char *reason, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        struct api_error aerr = { 0 };
        if (msg && api_create_event(s->api, &s->cfg.object, s->uid, type, reason, msg, &aerr) < 0)
                log_warning("event", "cannot record event %s: %s", reason, aerr.message);
}

/* Add owned's keys to *into (conditions: the lists joined, so every type
 * stays known). */
static void own_union(json_t **into, const json_t *owned) {
        if (!*into)
                *into = json_object();
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)owned, k, v) {
                json_t *have = json_object_get(*into, k);
                if (json_is_array(have) && json_is_array(v))
                        json_array_extend(have, v);
                else if (!have || strcmp(k, "conditions") != 0)
                        json_object_set(*into, k, v);
        }
}

/* What plans take as pushed: s->pushed plus what failed pushes carried. A
 * push whose answer was lost (a dropped connection) may have been applied:
 * its keys must be undone too when the file stops naming them. Owning a key
 * that was never written costs nothing, as plans diff against the server. */
static json_t *pushed_view(const struct sidecar *s) {
        json_t *v = json_is_object(s->pushed) ? json_deep_copy(s->pushed) : json_object();
        if (s->unsure)
                own_union(&v, s->unsure);
        return v;
}

/* Remember what the server told us about the object. */
static void take_object(struct sidecar *s, json_t *obj) {
        json_t *meta = json_object_get(obj, "metadata");
        json_t *status = json_object_get(obj, "status");
        json_decref(s->server);
        s->server = json_is_object(status) ? json_incref(status) : json_object();
        const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
        if (rv) {
                free(s->resource_version);
                s->resource_version = xstrdup(rv);
        }
        const char *uid = json_string_value(json_object_get(meta, "uid"));
        if (uid && (!s->uid || strcmp(uid, s->uid) != 0)) {
                free(s->uid);
                s->uid = xstrdup(uid);
        }
}

static int read_object(struct sidecar *s, struct api_error *aerr) {
        _cleanup_free_ char *path = kstatus_object_ref_path(&s->cfg.object, NULL);
        _cleanup_json_ json_t *obj = NULL;
        int r = api_get(s->api, path, &obj, aerr);
        if (r < 0)
                return r;
        take_object(s, obj);
        return 0;
}

/* PATCH {"metadata":{"resourceVersion":…}?, "status": patch}. */
int sidecar_send_patch(struct sidecar *s, const json_t *patch, bool precondition, struct api_error *aerr) {
        _cleanup_free_ char *path = kstatus_object_ref_path(&s->cfg.object, "status");
        _cleanup_json_ json_t *body = json_object();
        json_object_set(body, "status", (json_t *)patch);
        if (precondition && s->resource_version)
                json_object_set_new(body, "metadata",
                                    json_pack("{s:s}", "resourceVersion", s->resource_version));
        _cleanup_json_ json_t *obj = NULL;
        int r = api_merge_patch(s->api, path, body, &obj, aerr);
        if (r < 0)
                return r;
        if (obj)
                take_object(s, obj);
        return 0;
}

/* Read and check status.yaml. Returns 0 with *ret (new reference; {} when the
 * file is missing), or <0 after logging the refusal. */
static int read_status_file(struct sidecar *s, json_t **ret, char **ret_error) {
        struct kstatus_error err = { 0 };
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r = kstatus_read_file(s->cfg.status_file, true, s->cfg.limits.max_file_bytes, &buf, &len, &err);
        if (r == -ENOENT) {
                *ret = json_object();
                return 0;
        }
        if (r >= 0)
                r = kstatus_status_parse(buf, len, &s->cfg.limits, ret, &err);
        if (r < 0) {
                *ret_error = kstatus_error_format(&err, "status.yaml");
                return r;
        }
        /* In a dry run the message is status-writer's ("Dry run executed", set after
         * status.yaml is merged): writing the file's would set it back and forth. */
        if (s->cfg.dry_run && json_object_del(*ret, "message") == 0)
                log_debug("push", "dry run: status.yaml's message is left to Kratix");
        return 0;
}

static size_t count_keys(const json_t *patch) {
        return json_object_size(patch);
}

static struct kstatus_workflow workflow_of(const struct sidecar *s) {
        return (struct kstatus_workflow){ .pipeline = s->cfg.pipeline, .workflow_type = s->cfg.workflow_type,
                                          .dry_run = s->cfg.dry_run, .kratix_owned = s->kratix_owned == 1 };
}

/* The workflow is in progress from a pipeline's start, as Kratix marks it
 * when it starts each pipeline Job (a no-op when it already is). A
 * configure pipeline whose place is unknown leaves the condition alone. */
static void mark_started(struct sidecar *s) {
        bool del = s->cfg.action == ACTION_DELETE;
        if (!del && s->last < 0)
                return;
        enum kstatus_workflow_event ev = del ? KSTATUS_WORKFLOW_DELETE_STARTED : KSTATUS_WORKFLOW_CONFIGURE_STARTED;
        struct kstatus_workflow wf = workflow_of(s);
        struct api_error aerr = { 0 };
        int64_t deadline = sidecar_now_ms() + s->cfg.final_deadline_ms;
        for (unsigned attempt = 0;; attempt++) {
                char now[KSTATUS_TIME_LEN];
                kstatus_time_now(now);
                _cleanup_json_ json_t *want = kstatus_workflow_apply(s->server, ev, &wf, now);
                _cleanup_json_ json_t *patch = kstatus_merge_diff(s->server, want);
                if (!patch)
                        return;
                if (sidecar_send_patch(s, patch, true, &aerr) >= 0) {
                        log_info("start", "workflow marked in progress (resourceVersion %s)",
                                 s->resource_version ? s->resource_version : "?");
                        return;
                }
                if (!api_error_is_transient(&aerr) || sidecar_now_ms() > deadline) {
                        log_warning("start", "cannot mark the workflow in progress: %s", aerr.message);
                        return;
                }
                /* 409: re-read and recompute against what the server now holds. */
                if (aerr.http_code == 409)
                        (void)read_object(s, &aerr);
                else
                        sidecar_sleep_ms(aerr.retry_after_ms >= 0 ? aerr.retry_after_ms : sidecar_backoff_ms(attempt));
        }
}

int sidecar_start(struct sidecar *s) {
        struct kstatus_error err = { 0 };
        struct api_error aerr = { 0 };

        /* The status the pipeline started from: object.yaml when Kratix wrote one. */
        _cleanup_free_ char *object_file = xasprintf("%s/object.yaml", s->cfg.input_dir);
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r = kstatus_read_file(object_file, true, 16u << 20, &buf, &len, &err);
        if (r >= 0) {
                _cleanup_json_ json_t *obj = NULL;
                struct kstatus_limits lim = s->cfg.limits;
                lim.max_file_bytes = 16u << 20;
                lim.max_result_bytes = 16u << 20;
                if (kstatus_document_parse(buf, len, &lim, &obj, &err) < 0) {
                        _cleanup_free_ char *m = kstatus_error_format(&err, object_file);
                        log_warning("start", "ignoring %s", m);
                } else {
                        json_t *st = json_object_get(obj, "status");
                        s->start = json_is_object(st) ? json_incref(st) : json_object();
                }
        } else if (r != -ENOENT) {
                _cleanup_free_ char *m = kstatus_error_format(&err, object_file);
                log_warning("start", "ignoring %s", m);
        }

        /* The API may be briefly unavailable (429, 5xx, a restart): ride it
         * out as writes do, within the final write's deadline. */
        int64_t read_deadline = sidecar_now_ms() + s->cfg.final_deadline_ms;
        for (unsigned attempt = 0;; attempt++) {
                r = read_object(s, &aerr);
                if (r >= 0)
                        break;
                _cleanup_free_ char *what = kstatus_object_ref_display(&s->cfg.object);
                int64_t wait = aerr.retry_after_ms >= 0 ? aerr.retry_after_ms : sidecar_backoff_ms(attempt);
                if (!api_error_is_transient(&aerr) || sidecar_now_ms() + wait > read_deadline)
                        return log_error_errno(r, "start", "cannot read %s: %s", what, aerr.message);
                log_warning("start", "cannot read %s: %s; retrying", what, aerr.message);
                sidecar_sleep_ms(wait);
        }
        if (!s->start)
                s->start = json_deep_copy(s->server);

        sidecar_decide_owner(s);
        sidecar_locate(s);
        if (!s->cfg.once)
                mark_started(s);
        return 0;
}

int sidecar_push_live(struct sidecar *s) {
        _cleanup_json_ json_t *file = NULL;
        _cleanup_free_ char *error = NULL;
        if (read_status_file(s, &file, &error) < 0) {
                s->refusals++;
                log_warning("refuse", "%s; keeping the last good status", error);
                if (!s->last_error || strcmp(s->last_error, error) != 0) {
                        sidecar_event(s, "Warning", "StatusRefused", "%s; keeping the last good status", error);
                        free(s->last_error);
                        s->last_error = TAKE_PTR(error);
                }
                return 0;
        }
        free(s->last_error);
        s->last_error = NULL;
        json_decref(s->last_good);
        s->last_good = json_incref(file);

        char now[KSTATUS_TIME_LEN];
        kstatus_time_now(now);
        _cleanup_json_ json_t *pushed = pushed_view(s);
        struct kstatus_plan plan = { .start = s->start, .pushed = pushed, .server = s->server, .file = file,
                                     .mode = s->cfg.mode, .now = now };
        json_t *patch = NULL, *owned = NULL;
        struct kstatus_error err = { 0 };
        if (kstatus_plan_patch(&plan, &patch, &owned, &err) < 0)
                return log_error_errno(EINVAL, "push", "%s", err.message);
        _cleanup_json_ json_t *patch_ref = patch, *owned_ref = owned;
        if (!patch) {
                json_decref(s->pushed);
                s->pushed = TAKE_PTR(owned_ref);
                log_debug("push", "status.yaml changed nothing");
                return 0;
        }

        /* Conditions are a list the server replaces whole: guard them. */
        bool precondition = json_object_get(patch, "conditions") != NULL;
        struct api_error aerr = { 0 };
        int64_t t0 = sidecar_now_ms();
        int r = sidecar_send_patch(s, patch, precondition, &aerr);
        if (r < 0) {
                own_union(&s->unsure, owned);
                r = log_event(LOG_LEVEL_WARNING, api_error_is_transient(&aerr) ? EAGAIN : EIO, "push",
                              "push failed: %s", aerr.message);
                if (aerr.http_code == 409)
                        (void)read_object(s, &aerr); /* after the log: it clears aerr */
                return r;
        }
        s->pushes++;
        json_decref(s->pushed);
        s->pushed = TAKE_PTR(owned_ref);
        log_info("push", "sent %zu key%s (resourceVersion %s) in %lld ms", count_keys(patch),
                 count_keys(patch) == 1 ? "" : "s", s->resource_version ? s->resource_version : "?",
                 (long long)(sidecar_now_ms() - t0));
        return 0;
}

/* workflow-control.yaml, read as Kratix reads it at every pipeline's end: an
 * invalid file is refused in one line and a Warning Event, whatever the
 * outcome (status-writer fails on it, so the workflow is not completed).
 * Returns -1 invalid, 1 it asks to suspend or retry, 0 neither. */
static int read_control(struct sidecar *s) {
        struct kstatus_workflow_control control = { 0 };
        _cleanup_free_ char *error = NULL;
        if (sidecar_read_control(s, &control, &error) < 0) {
                log_warning("refuse", "%s; the workflow is not completed", error);
                sidecar_event(s, "Warning", "WorkflowControlRefused", "%s; the workflow is not completed", error);
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
static bool final_event(struct sidecar *s, enum pipeline_outcome outcome, enum kstatus_workflow_event *ev) {
        int control = read_control(s);
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

/* Plan the final write against the status just read: 1 sent (or nothing to
 * send), <0 the write failed (aerr says why), -ENOTRECOVERABLE the plan itself failed. */
static int final_attempt(struct sidecar *s, json_t *file, const enum kstatus_workflow_event *ev,
                         struct api_error *aerr) {
        char now[KSTATUS_TIME_LEN];
        kstatus_time_now(now);
        _cleanup_json_ json_t *pushed = pushed_view(s);
        struct kstatus_plan plan = { .start = s->start, .pushed = pushed, .server = s->server, .file = file,
                                     .mode = s->cfg.mode, .now = now };
        json_t *patch = NULL, *owned = NULL;
        struct kstatus_error err = { 0 };
        if (kstatus_plan_patch(&plan, &patch, &owned, &err) < 0) {
                log_error("final", "%s", err.message);
                return -ENOTRECOVERABLE;
        }
        _cleanup_json_ json_t *owned_ref = owned;
        _cleanup_json_ json_t *after = patch ? kstatus_merge_patch(s->server, patch) : json_incref(s->server);
        json_decref(patch);
        if (ev) {
                struct kstatus_workflow wf = workflow_of(s);
                json_t *next = kstatus_workflow_apply(after, *ev, &wf, now);
                json_decref(after);
                after = next;
        }
        _cleanup_json_ json_t *full = kstatus_merge_diff(s->server, after);
        if (full) {
                int r = sidecar_send_patch(s, full, true, aerr);
                if (r < 0)
                        return r;
                s->pushes++;
        }
        json_decref(s->pushed);
        s->pushed = TAKE_PTR(owned_ref);
        log_info("final", "%s (resourceVersion %s)", full ? "final status written" : "status already final",
                 s->resource_version ? s->resource_version : "?");
        return 1;
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

int sidecar_finish(struct sidecar *s, enum pipeline_outcome outcome, const char *why) {
        int64_t deadline = sidecar_now_ms() + s->cfg.final_deadline_ms;
        struct api_error aerr = { 0 };
        _cleanup_free_ char *what = kstatus_object_ref_display(&s->cfg.object);

        _cleanup_json_ json_t *file = NULL;
        _cleanup_free_ char *error = NULL;
        if (read_status_file(s, &file, &error) < 0) {
                log_warning("refuse", "%s; the final write uses the last good status", error);
                sidecar_event(s, "Warning", "StatusRefused", "%s; the final write uses the last good status", error);
                file = s->last_good ? json_incref(s->last_good) : json_object();
        }
        enum kstatus_workflow_event ev;
        bool have_event = final_event(s, outcome, &ev);

        for (unsigned attempt = 0;; attempt++) {
                int r = read_object(s, &aerr);
                if (r >= 0) {
                        r = final_attempt(s, file, have_event ? &ev : NULL, &aerr);
                        if (r > 0)
                                break;
                        if (r == -ENOTRECOVERABLE)
                                return -EINVAL;
                } else if (aerr.http_code == 404 && s->cfg.action == ACTION_DELETE && outcome != OUTCOME_FAILED) {
                        log_info("final", "%s is gone; nothing to write", what);
                        return 0;
                }
                if (!api_error_is_transient(&aerr)) {
                        log_error("final", "final write to %s failed: %s", what, aerr.message);
                        sidecar_event(s, "Warning", "StatusWriteFailed", "final status write failed: %s", aerr.message);
                        return -EIO;
                }
                int64_t wait = aerr.http_code == 409 ? 0
                               : aerr.retry_after_ms >= 0 ? aerr.retry_after_ms
                                                          : sidecar_backoff_ms(attempt);
                if (sidecar_now_ms() + wait > deadline) {
                        log_error("final", "final write to %s failed after %u attempts: %s", what, attempt + 1,
                                  aerr.message);
                        return -ETIMEDOUT;
                }
                log_warning("final", "attempt %u failed: %s; retrying in %lld ms", attempt + 1, aerr.message,
                            (long long)wait);
                sidecar_sleep_ms(wait);
        }
        final_report(s, outcome, why);
        return 0;
}
