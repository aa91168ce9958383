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

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms) {
        if (ms <= 0)
                return;
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Full-jitter exponential backoff: 100 ms doubling to 5 s. */
static int64_t backoff_ms(unsigned attempt) {
        int64_t cap = 100LL << (attempt < 6 ? attempt : 6);
        if (cap > 5000)
                cap = 5000;
        return 50 + (int64_t)(random() % cap);
}

static void event(struct sidecar *s, const char *type, const char *reason, const char *fmt, ...) _printf_(4, 5);
static void event(struct sidecar *s, const char *type, const char *reason, const char *fmt, ...) {
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
        json_t *gen = json_object_get(meta, "generation");
        if (json_is_integer(gen))
                s->generation = json_integer_value(gen);
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
static int send_patch(struct sidecar *s, const json_t *patch, bool precondition, struct api_error *aerr) {
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
        return 0;
}

static size_t count_keys(const json_t *patch) {
        return json_object_size(patch);
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
        int64_t read_deadline = now_ms() + s->cfg.final_deadline_ms;
        for (unsigned attempt = 0;; attempt++) {
                r = read_object(s, &aerr);
                if (r >= 0)
                        break;
                _cleanup_free_ char *what = kstatus_object_ref_display(&s->cfg.object);
                int64_t wait = aerr.retry_after_ms >= 0 ? aerr.retry_after_ms : backoff_ms(attempt);
                if (!api_error_is_transient(&aerr) || now_ms() + wait > read_deadline)
                        return log_error_errno(r, "start", "cannot read %s: %s", what, aerr.message);
                log_warning("start", "cannot read %s: %s; retrying", what, aerr.message);
                sleep_ms(wait);
        }
        if (!s->start)
                s->start = json_deep_copy(s->server);

        /* First or last pipeline of the workflow: from the environment, else the Promise. */
        if (s->cfg.pipeline_index < 0 && s->cfg.promise && s->cfg.pipeline) {
                _cleanup_free_ char *path = xasprintf("/apis/platform.kratix.io/v1alpha1/promises/%s", s->cfg.promise);
                _cleanup_json_ json_t *promise = NULL;
                if (api_get(s->api, path, &promise, &aerr) >= 0) {
                        const char *action = s->cfg.action == ACTION_DELETE ? "delete" : "configure";
                        if (kstatus_promise_pipeline_position(promise, s->cfg.workflow_type, action, s->cfg.pipeline,
                                                              &s->cfg.pipeline_index, &s->cfg.pipeline_count) < 0)
                                log_warning("start", "promise \"%s\" does not list pipeline \"%s\" under %s.%s",
                                            s->cfg.promise, s->cfg.pipeline, s->cfg.workflow_type, action);
                } else
                        log_warning("start", "cannot read promise \"%s\": %s", s->cfg.promise, aerr.message);
        }
        if (s->cfg.pipeline_index < 0)
                log_warning("start", "cannot tell whether this is the first or last pipeline; leaving the workflow "
                                     "conditions alone");
        else
                log_info("start", "pipeline %s (%d of %d) for %s/%s", s->cfg.pipeline ? s->cfg.pipeline : "?",
                         s->cfg.pipeline_index + 1, s->cfg.pipeline_count, s->cfg.object.resource, s->cfg.object.name);

        /* The workflow is in progress from its first pipeline on. */
        bool first = s->cfg.pipeline_index == 0;
        if (first && !s->cfg.once) {
                enum kstatus_workflow_event ev = s->cfg.action == ACTION_DELETE ? KSTATUS_WORKFLOW_DELETE_STARTED
                                                                                : KSTATUS_WORKFLOW_CONFIGURE_STARTED;
                int64_t deadline = now_ms() + s->cfg.final_deadline_ms;
                for (unsigned attempt = 0;; attempt++) {
                        char now[KSTATUS_TIME_LEN];
                        kstatus_time_now(now);
                        _cleanup_json_ json_t *want = kstatus_workflow_apply(s->server, ev, s->cfg.pipeline,
                                                                             s->generation, now);
                        _cleanup_json_ json_t *patch = kstatus_merge_diff(s->server, want);
                        if (!patch)
                                break;
                        r = send_patch(s, patch, true, &aerr);
                        if (r >= 0) {
                                log_info("start", "workflow marked in progress (resourceVersion %s)",
                                         s->resource_version ? s->resource_version : "?");
                                break;
                        }
                        if (!api_error_is_transient(&aerr) || now_ms() > deadline) {
                                log_warning("start", "cannot mark the workflow in progress: %s", aerr.message);
                                break;
                        }
                        if (aerr.http_code == 409)
                                (void)read_object(s, &aerr);
                        else
                                sleep_ms(aerr.retry_after_ms >= 0 ? aerr.retry_after_ms : backoff_ms(attempt));
                }
        }
        return 0;
}

int sidecar_push_live(struct sidecar *s) {
        _cleanup_json_ json_t *file = NULL;
        _cleanup_free_ char *error = NULL;
        if (read_status_file(s, &file, &error) < 0) {
                s->refusals++;
                log_warning("refuse", "%s; keeping the last good status", error);
                if (!s->last_error || strcmp(s->last_error, error) != 0) {
                        event(s, "Warning", "StatusRefused", "%s; keeping the last good status", error);
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
        int64_t t0 = now_ms();
        int r = send_patch(s, patch, precondition, &aerr);
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
                 (long long)(now_ms() - t0));
        return 0;
}

int sidecar_finish(struct sidecar *s, bool failed, const char *why) {
        int64_t deadline = now_ms() + s->cfg.final_deadline_ms;
        struct api_error aerr = { 0 };
        _cleanup_free_ char *what = kstatus_object_ref_display(&s->cfg.object);

        _cleanup_json_ json_t *file = NULL;
        _cleanup_free_ char *error = NULL;
        if (read_status_file(s, &file, &error) < 0) {
                log_warning("refuse", "%s; the final write uses the last good status", error);
                event(s, "Warning", "StatusRefused", "%s; the final write uses the last good status", error);
                file = s->last_good ? json_incref(s->last_good) : json_object();
        }

        bool known = s->cfg.pipeline_index >= 0;
        bool last = known && s->cfg.pipeline_index == s->cfg.pipeline_count - 1;
        bool have_event = false;
        enum kstatus_workflow_event ev = KSTATUS_WORKFLOW_CONFIGURE_SUCCEEDED;
        if (failed) {
                have_event = true;
                ev = s->cfg.action == ACTION_DELETE ? KSTATUS_WORKFLOW_DELETE_FAILED : KSTATUS_WORKFLOW_CONFIGURE_FAILED;
        } else if (last && s->cfg.action == ACTION_CONFIGURE)
                have_event = true;

        for (unsigned attempt = 0;; attempt++) {
                int r = read_object(s, &aerr);
                if (r >= 0) {
                        char now[KSTATUS_TIME_LEN];
                        kstatus_time_now(now);
                        _cleanup_json_ json_t *pushed = pushed_view(s);
                        struct kstatus_plan plan = { .start = s->start, .pushed = pushed, .server = s->server,
                                                     .file = file, .mode = s->cfg.mode, .now = now };
                        json_t *patch = NULL, *owned = NULL;
                        struct kstatus_error err = { 0 };
                        if (kstatus_plan_patch(&plan, &patch, &owned, &err) < 0)
                                return log_error_errno(EINVAL, "final", "%s", err.message);
                        _cleanup_json_ json_t *owned_ref = owned;
                        _cleanup_json_ json_t *after = patch ? kstatus_merge_patch(s->server, patch)
                                                             : json_incref(s->server);
                        json_decref(patch);
                        if (have_event) {
                                json_t *next = kstatus_workflow_apply(after, ev, s->cfg.pipeline, s->generation, now);
                                json_decref(after);
                                after = next;
                        }
                        _cleanup_json_ json_t *full = kstatus_merge_diff(s->server, after);
                        if (!full) {
                                json_decref(s->pushed);
                                s->pushed = TAKE_PTR(owned_ref);
                                log_info("final", "status already final (resourceVersion %s)",
                                         s->resource_version ? s->resource_version : "?");
                                goto done;
                        }
                        r = send_patch(s, full, true, &aerr);
                        if (r >= 0) {
                                json_decref(s->pushed);
                                s->pushed = TAKE_PTR(owned_ref);
                                s->pushes++;
                                log_info("final", "final status written (resourceVersion %s)",
                                         s->resource_version ? s->resource_version : "?");
                                goto done;
                        }
                } else if (aerr.http_code == 404) {
                        if (s->cfg.action == ACTION_DELETE && !failed) {
                                log_info("final", "%s is gone; nothing to write", what);
                                return 0;
                        }
                }
                if (!api_error_is_transient(&aerr)) {
                        log_error("final", "final write to %s failed: %s", what, aerr.message);
                        event(s, "Warning", "StatusWriteFailed", "final status write failed: %s", aerr.message);
                        return -EIO;
                }
                int64_t wait = aerr.http_code == 409 ? 0
                               : aerr.retry_after_ms >= 0 ? aerr.retry_after_ms
                                                          : backoff_ms(attempt);
                if (now_ms() + wait > deadline) {
                        log_error("final", "final write to %s failed after %u attempts: %s", what, attempt + 1,
                                  aerr.message);
                        return -ETIMEDOUT;
                }
                log_warning("final", "attempt %u failed: %s; retrying in %lld ms", attempt + 1, aerr.message,
                            (long long)wait);
                sleep_ms(wait);
        }

done:
        if (failed) {
                event(s, "Warning", "PipelineFailed", "pipeline %s failed%s%s; status written",
                      s->cfg.pipeline ? s->cfg.pipeline : "?", why ? ": " : "", why ? why : "");
        } else
                event(s, "Normal", "StatusWritten", "pipeline %s finished; status written (%u push%s)",
                      s->cfg.pipeline ? s->cfg.pipeline : "?", s->pushes, s->pushes == 1 ? "" : "es");
        return 0;
}
