/* push.c - what the sidecar sends while the pipeline runs: the
 * start-of-pipeline conditions and live pushes, and the one way every status
 * write is planned and sent (the final write, final.c, uses it too). Every decision about content is made by
 * kstatus_plan_patch() and kstatus_workflow_apply(); every retry is the
 * library's (kube_client_write), with a recompute that re-plans against what
 * the server holds after a 409. This file only reads, sends and reports. */
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

void sidecar_event(struct sidecar *s, const char *type, const char *reason, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        if (msg && api_create_event(s->api, &s->cfg.object, s->uid, type, reason, msg, &err) < 0)
                log_warning("event", "cannot record event %s: %s", reason, err.message);
        kstatus_error_done(&err);
}

/* Add owned's keys to *into (conditions: the lists joined, so every type
 * stays known; maps: joined deeply, as plans undo what a push wrote path by
 * path). Values are shared with owned (merge.h): members of *into are
 * replaced, never changed. */
static void own_union(json_t **into, const json_t *owned) {
        if (!*into)
                *into = json_object();
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)owned, k, v) {
                json_t *have = json_object_get(*into, k);
                if (json_is_array(have) && json_is_array(v)) {
                        json_t *joined = json_copy(have);
                        json_array_extend(joined, v);
                        json_object_set_new(*into, k, joined);
                } else if (json_is_object(have) && json_is_object(v))
                        json_object_set_new(*into, k, kstatus_merge_patch(have, v));
                else if (!have || strcmp(k, "conditions") != 0)
                        json_object_set(*into, k, v);
        }
}

/* What plans take as pushed: s->pushed plus what failed pushes carried. A
 * push whose answer was lost (a dropped connection) may have been applied:
 * its keys must be undone too when the file stops naming them. Owning a key
 * that was never written costs nothing, as plans diff against the server. */
static json_t *pushed_view(const struct sidecar *s) {
        /* Plans only read it: s->pushed itself when nothing is to be joined. */
        if (!s->unsure)
                return json_is_object(s->pushed) ? json_incref(s->pushed) : json_object();
        json_t *v = json_is_object(s->pushed) ? json_copy(s->pushed) : json_object();
        own_union(&v, s->unsure);
        return v;
}

/* tree (new reference) with every part equal to what the sidecar already
 * holds at the same path — the server's status as last known, the last
 * good status.yaml, the status at start — taken from there: what the
 * server holds is mostly what was pushed, a file re-read mostly what it
 * was, and at docs/BEHAVIOUR.md §2's limits each copy is ~10 MiB of 32. */
static json_t *share_known(const struct sidecar *s, json_t *tree) {
        json_t *with[] = { s->server, s->last_good, s->start };
        json_t *out = json_incref(tree);
        for (size_t i = 0; i < ELEMENTSOF(with); i++) {
                json_t *next = kstatus_share_equal(out, with[i]);
                json_decref(out);
                out = next;
        }
        return out;
}

/* Remember what the server told us about the object: -EIDRM (err filled)
 * when it is another object of the same name, the one this pipeline ran for
 * having been deleted and re-created; nothing of it is taken then. */
static int take_object(struct sidecar *s, json_t *obj, struct kstatus_error *err) {
        json_t *meta = json_object_get(obj, "metadata");
        const char *uid = json_string_value(json_object_get(meta, "uid"));
        if (uid && s->uid && strcmp(uid, s->uid) != 0) {
                _cleanup_free_ char *what = kstatus_object_ref_display(&s->cfg.object);
                return kstatus_error_set(err, EIDRM, 0, 0,
                                         "%s was deleted and re-created (uid %s, now %s): not writing this "
                                         "pipeline's status onto the new object",
                                         what, s->uid, uid);
        }
        if (uid && !s->uid)
                s->uid = xstrdup(uid);
        json_t *status = json_object_get(obj, "status");
        json_t *server = json_is_object(status) ? share_known(s, status) : json_object();
        json_decref(s->server);
        s->server = server;
        const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
        if (rv) {
                free(s->resource_version);
                s->resource_version = xstrdup(rv);
        }
        return 0;
}

int sidecar_read_object(struct sidecar *s, int64_t deadline_ms, struct kstatus_error *err) {
        _cleanup_free_ char *path = kstatus_object_ref_path(&s->cfg.object, NULL);
        _cleanup_json_ json_t *obj = NULL;
        int r = api_get(s->api, path, deadline_ms, &obj, err);
        if (r < 0)
                return r;
        return take_object(s, obj, err);
}

/* {"metadata":{"uid":…, "resourceVersion":…?}, "status": patch}: the uid
 * makes the API server refuse the write once the object was deleted and
 * re-created; the resourceVersion read guards a write that replaces a list
 * whole (conditions). */
static json_t *status_body(const struct sidecar *s, const json_t *patch, bool precondition) {
        json_t *body = json_object();
        json_object_set(body, "status", (json_t *)patch);
        json_t *meta = json_object();
        if (s->uid)
                json_object_set_new(meta, "uid", json_string(s->uid));
        if (precondition && s->resource_version)
                json_object_set_new(meta, "resourceVersion", json_string(s->resource_version));
        if (json_object_size(meta) > 0)
                json_object_set(body, "metadata", meta);
        json_decref(meta);
        return body;
}

static bool needs_precondition(const struct status_write *w, const json_t *patch) {
        return !w->live || json_object_get(patch, "conditions") != NULL;
}

/* After a 409: read what the server now holds and plan again. One GET: a
 * transient failure is waited out by the library, whose next attempt gets
 * its 409 again and comes back here. */
static int recompute(struct kube_client *c, void *userdata, json_t **body, struct kstatus_error *err) {
        (void)c;
        struct status_write *w = userdata;
        int r = sidecar_read_object(w->s, 0, err);
        if (r < 0)
                return r;
        _cleanup_json_ json_t *patch = NULL;
        r = w->plan(w, &patch, err);
        if (r < 0)
                return r;
        if (!patch)
                return 0;
        *body = status_body(w->s, patch, needs_precondition(w, patch));
        /* As before the first attempt: the answer says what the server holds next. */
        json_decref(TAKE_PTR(w->s->server));
        w->keys = json_object_size(patch);
        json_decref(w->sent);
        w->sent = TAKE_PTR(patch);
        return 1;
}

/* The server stored the write (2xx) but its answer, the object as stored, was
 * refused: too large to parse within --max-response-memory, or not JSON. The
 * write is done all the same. What the server holds is then unknown: the
 * next write reads the object first. */
static bool answer_unreadable(int r, const struct kstatus_error *err) {
        return (r == -E2BIG || r == -EBADMSG) && err->http_code >= 200 && err->http_code < 300;
}

static int take_patch(struct status_write *w, struct kstatus_error *err) {
        log_warning(w->tag, "status written, but the answer was not read: %s", err->message);
        kstatus_error_done(err);
        return 0;
}

static void log_retry(void *userdata, const struct kstatus_error *err, int64_t wait_ms) {
        const struct status_write *w = userdata;
        log_warning(w->tag, "attempt %d failed: %s; retrying in %lld ms", err->attempts, err->message,
                    (long long)wait_ms);
}

int sidecar_send_status(struct status_write *w, int64_t deadline_ms, bool no_sleep, struct kstatus_error *err) {
        struct sidecar *s = w->s;
        /* What the server holds is unknown after a write that failed or was
         * not read back: read it first (once, in the event loop: it retries). */
        int r = s->server ? 0 : sidecar_read_object(s, no_sleep ? 0 : deadline_ms, err);
        if (r < 0)
                return r;
        _cleanup_json_ json_t *patch = NULL;
        r = w->plan(w, &patch, err);
        if (r < 0)
                return r;
        if (!patch)
                return KUBE_NOTHING_TO_DO;
        w->keys = json_object_size(patch);
        _cleanup_json_ json_t *body = status_body(s, patch, needs_precondition(w, patch));
        /* The write's answer (or, after a 409, a read) says what the server
         * holds next: the status last read is let go now, so that no more
         * than status.yaml's tree and the answer's are held while it is read
         * (docs/BEHAVIOUR.md §6). */
        json_decref(TAKE_PTR(s->server));
        _cleanup_free_ char *path = kstatus_object_ref_path(&s->cfg.object, "status");
        struct kube_retry_policy policy = { .deadline_ms = deadline_ms, .no_sleep = no_sleep, .recompute = recompute,
                                            .on_retry = log_retry, .userdata = w };
        _cleanup_json_ json_t *obj = NULL;
        json_decref(w->sent);
        w->sent = TAKE_PTR(patch);
        r = api_merge_patch(s->api, path, body, &policy, w->no_answer ? NULL : &obj, err);
        if (r < 0 && answer_unreadable(r, err))
                r = take_patch(w, err);
        else if (r == 0 && obj)
                r = take_object(s, obj, err);
        json_decref(TAKE_PTR(w->sent));
        return r;
}

int sidecar_read_status_file(struct sidecar *s, json_t **ret, char **ret_error) {
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
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
        json_t *shared = share_known(s, *ret);
        json_decref(*ret);
        *ret = shared;
        return 0;
}

static struct kstatus_workflow workflow_of(const struct sidecar *s) {
        return (struct kstatus_workflow){ .pipeline = s->cfg.pipeline, .workflow_type = s->cfg.workflow_type,
                                          .dry_run = s->cfg.dry_run, .kratix_owned = s->kratix_owned == 1 };
}

/* The start of a pipeline: only the workflow event. */
static int plan_event(struct status_write *w, json_t **ret_patch, struct kstatus_error *err) {
        (void)err;
        char now[KSTATUS_TIME_LEN];
        kstatus_time_now(now);
        struct kstatus_workflow wf = workflow_of(w->s);
        _cleanup_json_ json_t *want = kstatus_workflow_apply(w->s->server, *w->ev, &wf, now);
        *ret_patch = kstatus_merge_diff(w->s->server, want);
        return 0;
}

int sidecar_plan_file(struct status_write *w, json_t **ret_patch, struct kstatus_error *err) {
        struct sidecar *s = w->s;
        char now[KSTATUS_TIME_LEN];
        kstatus_time_now(now);
        _cleanup_json_ json_t *pushed = pushed_view(s);
        struct kstatus_plan plan = { .start = s->start, .pushed = pushed, .server = s->server, .file = w->file,
                                     .mode = s->cfg.mode, .now = now };
        json_t *patch = NULL, *owned = NULL;
        if (kstatus_plan_patch(&plan, &patch, &owned, err) < 0) {
                w->plan_failed = true;
                return -EINVAL;
        }
        json_decref(w->owned);
        w->owned = owned;
        if (w->live) {
                *ret_patch = patch;
                return 0;
        }
        _cleanup_json_ json_t *after = patch ? kstatus_merge_patch(s->server, patch) : json_incref(s->server);
        json_decref(patch);
        if (w->ev) {
                struct kstatus_workflow wf = workflow_of(s);
                json_t *next = kstatus_workflow_apply(after, *w->ev, &wf, now);
                json_decref(after);
                after = next;
        }
        *ret_patch = kstatus_merge_diff(s->server, after);
        return 0;
}

/* The workflow is in progress from a pipeline's start, as Kratix marks it
 * when it starts each pipeline Job (a no-op when it already is). A
 * configure pipeline whose place is unknown leaves the condition alone. */
static void mark_started(struct sidecar *s) {
        bool del = s->cfg.action == ACTION_DELETE;
        /* The pipeline already ended: the final write says what is true now. */
        if ((!del && s->last < 0) || sidecar_budget_left(s) >= 0)
                return;
        enum kstatus_workflow_event ev = del ? KSTATUS_WORKFLOW_DELETE_STARTED : KSTATUS_WORKFLOW_CONFIGURE_STARTED;
        struct status_write w = { .s = s, .tag = "start", .ev = &ev, .plan = plan_event };
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int r = sidecar_send_status(&w, s->cfg.final_deadline_ms, false, &err);
        if (r == 0)
                log_info("start", "workflow marked in progress (resourceVersion %s)",
                         s->resource_version ? s->resource_version : "?");
        else if (r < 0)
                log_warning("start", "cannot mark the workflow in progress: %s", err.message);
        kstatus_error_done(&err);
        json_decref(w.owned);
}

/* The status the pipeline started from: object.yaml when Kratix wrote one. */
static void read_start(struct sidecar *s) {
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        _cleanup_free_ char *object_file = xasprintf("%s/object.yaml", s->cfg.input_dir);
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r = kstatus_read_file(object_file, true, 16u << 20, &buf, &len, &err);
        if (r >= 0) {
                _cleanup_json_ json_t *obj = NULL;
                struct kstatus_limits lim = s->cfg.limits;
                lim.max_file_bytes = 16u << 20;
                lim.max_result_bytes = 16u << 20;
                lim.max_memory_bytes = s->cfg.max_response_memory; /* the object, as an answer is bounded */
                r = kstatus_document_parse(buf, len, &lim, &obj, &err);
                json_t *st = json_object_get(obj, "status");
                const char *uid = json_string_value(json_object_get(json_object_get(obj, "metadata"), "uid"));
                if (r >= 0)
                        s->start = json_is_object(st) ? json_incref(st) : json_object();
                /* The object this pipeline was started for, to tell it from a re-created one. */
                if (r >= 0 && uid && *uid && !s->uid)
                        s->uid = xstrdup(uid);
        }
        if (r < 0 && r != -ENOENT) {
                _cleanup_free_ char *m = kstatus_error_format(&err, object_file);
                log_warning("start", "ignoring %s", m);
        }
}

int sidecar_start(struct sidecar *s) {
        read_start(s);
        /* The API may be briefly unavailable (429, 5xx, a restart): ride it
         * out as writes do, within the final write's deadline. */
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int r = sidecar_read_object(s, s->cfg.final_deadline_ms, &err);
        if (r < 0) {
                _cleanup_free_ char *what = kstatus_object_ref_display(&s->cfg.object);
                log_error_errno(r, "start", "cannot read %s: %s", what, err.message);
                /* No answer, 429 or 5xx through the deadline, a bad answer or
                 * a re-created object is no configuration error; the server
                 * refusing what the configuration names (401, 403, 404, 422),
                 * or a TLS failure, is. */
                bool config = !(r == -EIDRM || r == -E2BIG || r == -EBADMSG || kube_error_is_transient(r, &err));
                kstatus_error_done(&err);
                return config ? -EINVAL : r;
        }
        /* Shared, not copied: s->server is replaced, never changed in place. */
        if (!s->start)
                s->start = json_incref(s->server);

        sidecar_decide_owner(s);
        sidecar_locate(s);
        if (!s->cfg.once)
                mark_started(s);
        return 0;
}

/* What a live push's result means for the loop: 0 done, -EAGAIN to retry
 * after s->retry_ms (the library's wait), else given up until the next change. */
static int push_failed(struct sidecar *s, struct status_write *w, int r, struct kstatus_error *err) {
        own_union(&s->unsure, w->owned);
        bool again = r == -ESTALE || kube_error_is_transient(r, err);
        if (again)
                s->retry_ms = kube_retry_wait_ms(api_client(s->api), NULL, s->live_failures++, err);
        return log_event(LOG_LEVEL_WARNING, again ? EAGAIN : EIO, "push", "push failed: %s", err->message);
}

int sidecar_push_live(struct sidecar *s) {
        _cleanup_json_ json_t *file = NULL;
        _cleanup_free_ char *error = NULL;
        if (sidecar_read_status_file(s, &file, &error) < 0) {
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

        struct status_write w = { .s = s, .tag = "push", .file = file, .live = true, .plan = sidecar_plan_file };
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int64_t t0 = kstatus_monotonic_ms();
        int r = sidecar_send_status(&w, s->cfg.final_deadline_ms, true, &err);
        if (r < 0 && w.plan_failed)
                r = log_error_errno(EINVAL, "push", "%s", err.message);
        else if (r < 0)
                r = push_failed(s, &w, r, &err);
        else {
                s->live_failures = 0;
                if (r == 0)
                        s->pushes++;
                json_decref(s->pushed);
                s->pushed = TAKE_PTR(w.owned);
                if (r == 0)
                        log_info("push", "sent %zu key%s (resourceVersion %s) in %lld ms", w.keys,
                                 w.keys == 1 ? "" : "s", s->resource_version ? s->resource_version : "?",
                                 (long long)(kstatus_monotonic_ms() - t0));
                else
                        log_debug("push", "status.yaml changed nothing");
                r = 0;
        }
        json_decref(w.owned);
        kstatus_error_done(&err);
        return r;
}
