/* logs.c - pods/log as kube-apiserver and the kubelet serve it.
 *
 * Nothing runs containers here: their output is fed through the control API
 * (POST /_kstatus/logs) and kept per Pod (by uid, so a re-created Pod starts
 * empty) and container, the current run and the previous one, each capped at
 * --max-log-bytes (the oldest lines go, as when the kubelet rotates). A read
 * picks the run from the Pod's container statuses as the kubelet's
 * validateContainerLogStatus does and applies tailLines, sinceSeconds or
 * sinceTime, timestamps and limitBytes; follow=true streams new lines until
 * the run ends (closed, or moved to "previous" by a restart), the Pod goes or
 * the client leaves, sleeping on store_cond like a watch. All log state is
 * under store_lock. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "api-internal.h"
#include "conditions.h"
#include "schema.h"

enum { RUN_CURRENT, RUN_PREVIOUS };

struct logline {
        uint64_t off; /* absolute offset of its first byte */
        int64_t ns;   /* when it was written, ns since the epoch */
};

/* One run of one container. Line i spans [lines[i].off, lines[i + 1].off),
 * the last one up to base + len; it may lack its '\n' (a partial line). */
struct logrun {
        char *data; /* bytes from absolute offset base on */
        size_t len, cap;
        uint64_t base;
        struct logline *lines; /* lines[first..n) are kept */
        size_t first, n, cap_lines;
        uint64_t seq0; /* absolute number of lines[0] */
        bool closed;
};

struct ctrlog {
        char *uid, *container;
        struct logrun run[2];
        unsigned restarts; /* a follower of the current run notices a restart */
        struct ctrlog *next;
};

static struct ctrlog *logs;

/* ---- storage ---- */

static void run_free(struct logrun *r) {
        free(r->data);
        free(r->lines);
        *r = (struct logrun){ 0 };
}

static size_t run_kept(const struct logrun *r) {
        return r->n > r->first ? (size_t)(r->base + r->len - r->lines[r->first].off) : 0;
}

static uint64_t line_end(const struct logrun *r, size_t i) {
        return i + 1 < r->n ? r->lines[i + 1].off : r->base + r->len;
}

static bool line_complete(const struct logrun *r, size_t i) {
        return r->data[line_end(r, i) - r->base - 1] == '\n';
}

/* Drop the oldest lines past limit bytes (the last one stays), and give the
 * room back once what was dropped is half the buffer. */
static void run_trim(struct logrun *r, size_t limit) {
        if (r->n == 0)
                return;
        while (r->n - r->first > 1 && run_kept(r) > limit)
                r->first++;
        size_t drop = (size_t)(r->lines[r->first].off - r->base);
        if (drop == 0 || drop < r->len / 2)
                return;
        memmove(r->data, r->data + drop, r->len - drop);
        r->len -= drop;
        r->base += drop;
        memmove(r->lines, r->lines + r->first, (r->n - r->first) * sizeof(*r->lines));
        r->n -= r->first;
        r->seq0 += r->first;
        r->first = 0;
}

static void run_append(struct logrun *r, const char *text, size_t len, int64_t ns, size_t limit) {
        while (len > 0) {
                const char *nl = memchr(text, '\n', len);
                size_t seg = nl ? (size_t)(nl - text) + 1 : len;
                if (r->n == 0 || line_complete(r, r->n - 1)) { /* else: the partial line goes on */
                        if (r->n == r->cap_lines) {
                                r->cap_lines = r->cap_lines ? 2 * r->cap_lines : 64;
                                r->lines = xrealloc(r->lines, r->cap_lines * sizeof(*r->lines));
                        }
                        r->lines[r->n++] = (struct logline){ .off = r->base + r->len, .ns = ns };
                }
                if (r->len + seg > r->cap) {
                        r->cap = 2 * (r->len + seg);
                        r->data = xrealloc(r->data, r->cap);
                }
                memcpy(r->data + r->len, text, seg);
                r->len += seg;
                text += seg;
                len -= seg;
        }
        run_trim(r, limit);
}

static struct ctrlog *log_find(const char *uid, const char *container, bool create) {
        for (struct ctrlog *l = logs; l; l = l->next)
                if (strcmp(l->uid, uid) == 0 && strcmp(l->container, container) == 0)
                        return l;
        if (!create)
                return NULL;
        struct ctrlog *l = xcalloc(1, sizeof(*l));
        l->uid = xstrdup(uid);
        l->container = xstrdup(container);
        l->next = logs;
        logs = l;
        return l;
}

static void ctrlog_free(struct ctrlog *l) {
        run_free(&l->run[RUN_CURRENT]);
        run_free(&l->run[RUN_PREVIOUS]);
        free(l->uid);
        free(l->container);
        free(l);
}

void logs_forget_pod(const char *uid) {
        for (struct ctrlog **p = &logs; *p;) {
                struct ctrlog *l = *p;
                if (uid && strcmp(l->uid, uid) == 0) {
                        *p = l->next;
                        ctrlog_free(l);
                } else
                        p = &l->next;
        }
}

void logs_free(void) {
        while (logs) {
                struct ctrlog *l = logs;
                logs = l->next;
                ctrlog_free(l);
        }
}

/* ---- the Pod and its containers ---- */

/* The Pod ns/name (borrowed) or NULL; locked. */
static json_t *pod_get(const char *ns, const char *name, struct rtype **ret_type) {
        struct rtype *t = store_find_type("", "v1", "pods");
        _cleanup_free_ char *key = object_key(t, ns, name);
        *ret_type = t;
        return json_object_get(t->objects, key);
}

static const char *name_of(const json_t *v) {
        const char *s = json_string_value(json_object_get(v, "name"));
        return s ? s : "";
}

/* podutil.VisitContainers' order: init containers, containers, ephemeral ones. */
static const char *const spec_lists[] = { "initContainers", "containers", "ephemeralContainers" };

static bool spec_has_container(const json_t *pod, const char *container) {
        const json_t *spec = json_object_get(pod, "spec");
        for (size_t k = 0; k < ELEMENTSOF(spec_lists); k++) {
                size_t i;
                json_t *c;
                json_array_foreach(json_object_get(spec, spec_lists[k]), i, c) if (strcmp(name_of(c), container) == 0)
                        return true;
        }
        return false;
}

/* Go's %s of a []string: "[a b c]". New string. */
static char *container_names(const json_t *pod) {
        const json_t *spec = json_object_get(pod, "spec");
        char *out = xstrdup("");
        for (size_t k = 0; k < ELEMENTSOF(spec_lists); k++) {
                size_t i;
                json_t *c;
                json_array_foreach(json_object_get(spec, spec_lists[k]), i, c) {
                        char *next = xasprintf("%s%s%s", out, out[0] ? " " : "", name_of(c));
                        free(out);
                        out = next;
                }
        }
        char *r = xasprintf("[%s]", out);
        free(out);
        return r;
}

/* kube-apiserver's validateContainer: the container asked for, or the only
 * one; NULL with out filled (400) otherwise. Borrowed from want or pod. */
static const char *pick_container(const json_t *pod, const char *pod_name, const char *want, struct reply *out) {
        const json_t *containers = json_object_get(json_object_get(pod, "spec"), "containers");
        if (want && want[0]) {
                if (spec_has_container(pod, want))
                        return want;
                reply_status(out, 400, NULL, NULL, "container %s is not valid for pod %s", want, pod_name);
                return NULL;
        }
        if (json_array_size(containers) == 1)
                return name_of(json_array_get(containers, 0));
        if (json_array_size(containers) == 0) {
                reply_status(out, 400, NULL, NULL, "a container name must be specified for pod %s", pod_name);
                return NULL;
        }
        _cleanup_free_ char *names = container_names(pod);
        reply_status(out, 400, NULL, NULL, "a container name must be specified for pod %s, choose one of: %s",
                     pod_name, names);
        return NULL;
}

static const json_t *container_status(const json_t *pod, const char *container) {
        static const char *const lists[] = { "containerStatuses", "initContainerStatuses",
                                             "ephemeralContainerStatuses" };
        const json_t *status = json_object_get(pod, "status");
        for (size_t k = 0; k < ELEMENTSOF(lists); k++) {
                size_t i;
                json_t *cs;
                json_array_foreach(json_object_get(status, lists[k]), i, cs) if (strcmp(name_of(cs), container) == 0)
                        return cs;
        }
        return NULL;
}

static bool ran(const json_t *terminated) {
        const char *id = json_string_value(json_object_get(terminated, "containerID"));
        return json_is_object(terminated) && id && id[0];
}

/* The kubelet's validateContainerLogStatus: which run a read sees, or -1
 * with out filled (400, as kube-apiserver passes the kubelet's error on). */
static int pick_run(const json_t *pod, const char *pod_name, const char *c, bool previous, struct reply *out) {
        const json_t *cs = container_status(pod, c);
        const json_t *state = json_object_get(cs, "state");
        const json_t *last = json_object_get(json_object_get(cs, "lastState"), "terminated");
        const json_t *terminated = json_object_get(state, "terminated"), *waiting = json_object_get(state, "waiting");
        if (!cs)
                reply_status(out, 400, NULL, NULL, "container \"%s\" in pod \"%s\" is not available", c, pod_name);
        else if (previous) {
                if (ran(last))
                        return RUN_PREVIOUS;
                reply_status(out, 400, NULL, NULL, "previous terminated container \"%s\" in pod \"%s\" not found", c,
                             pod_name);
        } else if (json_is_object(json_object_get(state, "running")) || ran(terminated))
                return RUN_CURRENT;
        else if (json_is_object(terminated) || json_is_object(last)) {
                /* The next run did not start: the kubelet shows the last one that did. */
                if (ran(last))
                        return RUN_PREVIOUS;
                reply_status(out, 400, NULL, NULL, "container \"%s\" in pod \"%s\" is terminated", c, pod_name);
        } else if (json_is_object(waiting)) {
                const char *reason = json_string_value(json_object_get(waiting, "reason"));
                reason = reason ? reason : "";
                const char *why = strcmp(reason, "ErrImagePull") == 0       ? "image can't be pulled"
                                  : strcmp(reason, "ImagePullBackOff") == 0 ? "trying and failing to pull image"
                                                                            : reason;
                reply_status(out, 400, NULL, NULL, "container \"%s\" in pod \"%s\" is waiting to start: %s", c,
                             pod_name, why);
        } else
                reply_status(out, 400, NULL, NULL, "container \"%s\" in pod \"%s\" is waiting to start - no logs yet",
                             c, pod_name);
        return -1;
}

/* ---- reading ---- */

struct log_opts {
        const char *container;
        bool previous, follow, timestamps;
        int64_t tail;     /* lines; -1: all */
        int64_t limit;    /* bytes still to send; -1: no limit */
        int64_t since_ns; /* lines written before are skipped; 0: none */
};

struct outbuf {
        char *s;
        size_t len, cap;
};

static void out_add(struct outbuf *b, const char *s, size_t n) {
        if (b->len + n + 1 > b->cap) {
                b->cap = 2 * (b->len + n + 1);
                b->s = xrealloc(b->s, b->cap);
        }
        memcpy(b->s + b->len, s, n);
        b->len += n;
}

/* One line as the kubelet writes it: with timestamps, RFC3339NanoFixed in
 * UTC and a space first; cut at limitBytes. */
static void emit_line(struct outbuf *b, struct log_opts *o, const struct logrun *r, size_t i) {
        char ts[64];
        size_t n_ts = 0;
        if (o->timestamps) {
                time_t sec = (time_t)(r->lines[i].ns / 1000000000);
                struct tm tm;
                gmtime_r(&sec, &tm);
                n_ts = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
                n_ts += (size_t)snprintf(ts + n_ts, sizeof(ts) - n_ts, ".%09lldZ ",
                                         (long long)(r->lines[i].ns % 1000000000));
        }
        const char *text = r->data + (r->lines[i].off - r->base);
        size_t n_text = (size_t)(line_end(r, i) - r->lines[i].off);
        const char *parts[] = { ts, text };
        size_t lens[] = { n_ts, n_text };
        for (size_t k = 0; k < 2 && o->limit != 0; k++) {
                size_t n = o->limit >= 0 && (int64_t)lens[k] > o->limit ? (size_t)o->limit : lens[k];
                out_add(b, parts[k], n);
                if (o->limit > 0)
                        o->limit -= (int64_t)n;
        }
}

/* Lines of r from absolute line number *next on (only complete ones unless
 * the run has ended), honouring sinceSeconds/sinceTime; *next moves past them. */
static void emit_from(struct outbuf *b, struct log_opts *o, const struct logrun *r, bool ended, uint64_t *next) {
        size_t i = *next > r->seq0 + r->first ? (size_t)(*next - r->seq0) : r->first;
        for (; i < r->n && o->limit != 0; i++) {
                if (!ended && !line_complete(r, i))
                        break;
                if (r->lines[i].ns > o->since_ns) /* the kubelet: timestamp.After(since) */
                        emit_line(b, o, r, i);
        }
        *next = r->seq0 + i;
}

/* The absolute number of the first line a read starts at (tailLines). */
static uint64_t first_line(const struct logrun *r, const struct log_opts *o) {
        size_t start = r->first;
        if (o->tail >= 0 && (uint64_t)o->tail < r->n - r->first)
                start = r->n - (size_t)o->tail;
        return r->seq0 + start;
}

static int64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A query parameter that must be an integer when present; false with out filled. */
static bool query_int(struct MHD_Connection *c, const char *key, int64_t *ret, struct reply *out) {
        const char *v = query(c, key);
        if (!v)
                return true;
        if (parse_int64(v, INT64_MIN, INT64_MAX, ret) == 0)
                return true;
        reply_status(out, 400, NULL, NULL, "invalid value for %s: \"%s\": not an integer", key, v);
        return false;
}

static void add_cause(json_t *causes, const char *reason, const char *field, const char *message) {
        json_array_append_new(causes, json_pack("{s:s, s:s, s:s}", "reason", reason, "message", message, "field",
                                                field));
}

/* PodLogOptions from the query, checked as ValidatePodLogOptions checks
 * them (422); false with out filled. */
static bool parse_log_opts(struct MHD_Connection *c, const char *pod_name, struct log_opts *o, struct reply *out) {
        int64_t since_s = INT64_MIN;
        const char *since_time = query(c, "sinceTime");
        *o = (struct log_opts){ .container = query(c, "container"), .previous = query_true(c, "previous"),
                                .follow = query_true(c, "follow"), .timestamps = query_true(c, "timestamps"),
                                .tail = INT64_MIN, .limit = INT64_MIN };
        if (!query_int(c, "tailLines", &o->tail, out) || !query_int(c, "limitBytes", &o->limit, out) ||
            !query_int(c, "sinceSeconds", &since_s, out))
                return false;
        int64_t since_time_s = 0;
        if (since_time && kstatus_time_parse(since_time, &since_time_s) < 0) {
                reply_status(out, 400, NULL, NULL, "invalid value for sinceTime: \"%s\": not an RFC 3339 time",
                             since_time);
                return false;
        }
        _cleanup_json_ json_t *causes = json_array();
        _cleanup_free_ char *tail_msg = xasprintf("Invalid value: %lld: must be greater than or equal to 0",
                                                  (long long)o->tail);
        _cleanup_free_ char *limit_msg = xasprintf("Invalid value: %lld: must be greater than 0", (long long)o->limit);
        _cleanup_free_ char *since_msg = xasprintf("Invalid value: %lld: must be greater than 0", (long long)since_s);
        if (o->tail != INT64_MIN && o->tail < 0)
                add_cause(causes, "FieldValueInvalid", "tailLines", tail_msg);
        if (o->limit != INT64_MIN && o->limit < 1)
                add_cause(causes, "FieldValueInvalid", "limitBytes", limit_msg);
        if (since_s != INT64_MIN && since_time)
                add_cause(causes, "FieldValueForbidden", "",
                          "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified");
        else if (since_s != INT64_MIN && since_s < 1)
                add_cause(causes, "FieldValueInvalid", "sinceSeconds", since_msg);
        if (json_array_size(causes) > 0) {
                _cleanup_free_ char *msg = schema_causes_message(causes);
                reply_status(out, 422, "Invalid",
                             json_pack("{s:s, s:s, s:O}", "name", pod_name, "kind", "PodLogOptions", "causes", causes),
                             "PodLogOptions \"%s\" is invalid: %s", pod_name, msg);
                return false;
        }
        o->tail = o->tail == INT64_MIN ? -1 : o->tail;
        o->limit = o->limit == INT64_MIN ? -1 : o->limit;
        o->since_ns = since_time ? since_time_s * 1000000000 : since_s > 0 ? now_ns() - since_s * 1000000000 : 0;
        return true;
}

/* ---- follow ---- */

struct logstream {
        struct MHD_Connection *conn;
        char *ns, *pod, *uid, *container;
        int run;
        unsigned restarts;
        struct log_opts o;
        uint64_t next; /* absolute number of the next line to send */
        struct outbuf out;
        size_t off;
        bool done;
};

/* New lines into s->out, or s->done when the run is over (locked). */
static void stream_collect(struct logstream *s) {
        struct rtype *t;
        const json_t *pod = pod_get(s->ns, s->pod, &t);
        const char *uid = meta_str(pod, "uid");
        if (!pod || !uid || strcmp(uid, s->uid) != 0) {
                s->done = true; /* the Pod is gone: so are its containers */
                return;
        }
        struct ctrlog *l = log_find(s->uid, s->container, false);
        if (!l)
                return; /* nothing written yet */
        if (l->restarts - s->restarts > 1) {
                s->done = true; /* the run followed is no longer kept */
                return;
        }
        int run = s->run == RUN_CURRENT && l->restarts != s->restarts ? RUN_PREVIOUS : s->run;
        const struct logrun *r = &l->run[run];
        bool ended = r->closed || run == RUN_PREVIOUS;
        emit_from(&s->out, &s->o, r, ended, &s->next);
        if (s->o.limit == 0 || (ended && s->next >= r->seq0 + r->n))
                s->done = true;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
        struct logstream *s = cls;
        while (s->off == s->out.len) {
                s->off = s->out.len = 0;
                if (s->done || server_stopping)
                        return MHD_CONTENT_READER_END_OF_STREAM;
                /* An outage cuts open streams too; a client that left frees its thread. */
                if (outage_active() || connection_gone(s->conn))
                        return MHD_CONTENT_READER_END_WITH_ERROR;
                pthread_mutex_lock(&store_lock);
                stream_collect(s);
                if (s->out.len == 0 && !s->done) {
                        /* Woken by every store change and log write; the timeout
                         * only notices a client that left. */
                        struct timespec until;
                        clock_gettime(CLOCK_MONOTONIC, &until);
                        ts_add_ms(&until, 1000);
                        pthread_cond_timedwait(&store_cond, &store_lock, &until);
                        stream_collect(s);
                }
                pthread_mutex_unlock(&store_lock);
        }
        size_t n = s->out.len - s->off < max ? s->out.len - s->off : max;
        memcpy(buf, s->out.s + s->off, n);
        s->off += n;
        return (ssize_t)n;
}

static void stream_free(void *cls) {
        struct logstream *s = cls;
        if (!s)
                return;
        free(s->ns);
        free(s->pod);
        free(s->uid);
        free(s->container);
        free(s->out.s);
        free(s);
}

static void reply_stream(struct MHD_Connection *c, const char *ns, const char *pod_name, const char *uid,
                         const char *container, int run, const struct ctrlog *l, struct log_opts *o,
                         struct reply *out) {
        struct logstream *s = xcalloc(1, sizeof(*s));
        *s = (struct logstream){ .conn = c, .ns = xstrdup(ns), .pod = xstrdup(pod_name), .uid = xstrdup(uid),
                                 .container = xstrdup(container), .run = run, .o = *o,
                                 .restarts = l ? l->restarts : 0 };
        s->o.container = NULL; /* borrowed from the request */
        if (l) {
                s->next = first_line(&l->run[run], o);
                stream_collect(s);
        }
        out->code = 200;
        out->content_type = "text/plain";
        out->stream = s;
        out->stream_read = stream_read;
        out->stream_free = stream_free;
}

/* ---- the endpoints ---- */

void logs_get(struct MHD_Connection *c, const char *ns, const char *name, struct reply *out) {
        struct log_opts o;
        if (!parse_log_opts(c, name, &o, out))
                return;
        pthread_mutex_lock(&store_lock);
        struct rtype *t;
        const json_t *pod = pod_get(ns, name, &t);
        const char *container = pod ? pick_container(pod, name, o.container, out) : NULL;
        int run = container ? pick_run(pod, name, container, o.previous, out) : -1;
        if (!pod)
                reply_not_found(out, t, name);
        if (run < 0) {
                pthread_mutex_unlock(&store_lock);
                return;
        }
        const struct ctrlog *l = log_find(meta_str(pod, "uid"), container, false);
        if (o.follow)
                reply_stream(c, ns, name, meta_str(pod, "uid"), container, run, l, &o, out);
        else {
                struct outbuf b = { 0 };
                if (l) {
                        uint64_t next = first_line(&l->run[run], &o);
                        emit_from(&b, &o, &l->run[run], true, &next);
                }
                out->code = 200;
                out->content_type = "text/plain";
                out->body = b.s ? b.s : xstrdup("");
                out->len = b.len;
        }
        pthread_mutex_unlock(&store_lock);
}

struct feed {
        const char *ns, *pod, *container, *text, *time;
        size_t text_len;
        int previous, close, restart;
};

static bool feed_parse(const char *body, size_t len, struct feed *f, json_t **ret, struct reply *out) {
        json_error_t e;
        json_t *spec = body ? json_loadb(body, len, 0, &e) : NULL;
        *f = (struct feed){ .ns = "default", .text = "" };
        if (!spec || json_unpack_ex(spec, &e, JSON_STRICT, "{s?s, s:s, s:s, s?s%, s?b, s?b, s?b, s?s}", "namespace",
                                    &f->ns, "pod", &f->pod, "container", &f->container, "text", &f->text,
                                    &f->text_len, "previous", &f->previous, "close", &f->close, "restart",
                                    &f->restart, "time", &f->time) < 0) {
                reply_status(out, 400, NULL, NULL, "logs needs {\"namespace\", \"pod\", \"container\", \"text\", "
                             "\"previous\", \"close\", \"restart\", \"time\"}: %s", spec ? e.text : "invalid JSON body");
                json_decref(spec);
                return false;
        }
        *ret = spec;
        return true;
}

/* Apply a feed to its container's log (locked); false with out filled. */
static bool feed_apply(const struct feed *f, int64_t ns, struct reply *out) {
        struct rtype *t;
        const json_t *pod = pod_get(f->ns, f->pod, &t);
        if (!pod) {
                reply_not_found(out, t, f->pod);
                return false;
        }
        if (!spec_has_container(pod, f->container)) {
                reply_status(out, 400, NULL, NULL, "container %s is not valid for pod %s", f->container, f->pod);
                return false;
        }
        struct ctrlog *l = log_find(meta_str(pod, "uid"), f->container, true);
        if (f->restart) { /* as the kubelet restarts a container: this run becomes the previous one */
                run_free(&l->run[RUN_PREVIOUS]);
                l->run[RUN_PREVIOUS] = l->run[RUN_CURRENT];
                l->run[RUN_CURRENT] = (struct logrun){ 0 };
                l->restarts++;
        }
        struct logrun *r = &l->run[f->previous ? RUN_PREVIOUS : RUN_CURRENT];
        if (f->text_len > 0 && r->closed && !f->previous) {
                reply_status(out, 409, "Conflict", NULL, "the log of container \"%s\" in pod \"%s\" is closed: "
                             "restart the container first", f->container, f->pod);
                return false;
        }
        run_append(r, f->text, f->text_len, ns, api_config.max_log_bytes);
        r->closed |= f->close;
        reply_json(out, 200, json_pack("{s:I, s:I, s:b}", "lines", (json_int_t)(r->n - r->first), "bytes",
                                       (json_int_t)run_kept(r), "closed", r->closed));
        return true;
}

void logs_control(const char *method, const char *body, size_t len, struct reply *out) {
        if (strcmp(method, "POST") != 0) {
                reply_status(out, 405, NULL, NULL, "use POST");
                return;
        }
        struct feed f;
        _cleanup_json_ json_t *spec = NULL;
        if (!feed_parse(body, len, &f, &spec, out))
                return;
        int64_t ns = now_ns(), sec;
        if (f.time) {
                if (kstatus_time_parse(f.time, &sec) < 0) {
                        reply_status(out, 400, NULL, NULL, "invalid time \"%s\": not an RFC 3339 time", f.time);
                        return;
                }
                ns = sec * 1000000000;
        }
        pthread_mutex_lock(&store_lock);
        if (feed_apply(&f, ns, out))
                pthread_cond_broadcast(&store_cond); /* followers wake */
        pthread_mutex_unlock(&store_lock);
}
