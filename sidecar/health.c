/* health.c - `kstatus-sidecar health`, the HealthRecord controller.
 *
 * One epoll loop (signalfd, the watch's fd, a resync timer and a retry
 * timer), no threads. The records are kept in memory from a LIST and the
 * watch that follows it (which resumes after a dropped stream and hands over
 * a fresh list after 410 Gone). A record change marks the resources it names
 * (before and after the change) dirty; after each batch of events every dirty
 * resource is read, its wanted health computed from all the records that
 * name it (kstatus_health_status_patch) and written only when it differs.
 *
 * By default it writes only status.healthRecord, the seed's form: Kratix's own
 * HealthRecord controller writes status.healthStatus, and two writers of one
 * key would alternate. --health-status (for a Kratix without that controller)
 * writes healthStatus too, as Kratix projects it, with Events when its state
 * changes.
 *
 * At start and at every resync the resources of every Promise are listed
 * too, so health left behind by records deleted while the controller was not
 * running is put right, and the listed objects save a GET each. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../common/health.h" /* the library's; "health.h" is this program's */
#include "conditions.h"
#include "health.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/discovery.h"
#include "kube/watch.h"
#include "log.h"
#include "options.h"
#include "version.h"

enum { EXIT_OK = 0, EXIT_CONFIG = 2 };
enum { SRC_SIGNAL = 1, SRC_WATCH, SRC_RESYNC, SRC_RETRY };

#define PROMISES_PATH "/apis/platform.kratix.io/v1alpha1/promises"
#define RETRY_MAX_MS 30000

static const char usage[] =
        "kstatus-sidecar health reflects HealthRecords on the resources they name: status.healthRecord (the\n"
        "newest record). Kratix's own controller writes status.healthStatus; with --health-status this one\n"
        "writes it too, as Kratix would ({state, healthRecords}, the least desirable state wins).\n"
        "\n"
        "Usage:\n"
        "  kstatus-sidecar health [options]\n"
        "\n"
        "Options:\n"
        "  -A, --all-namespaces          watch HealthRecords in every namespace (the default)\n"
        "  -n, --namespace=NS            watch HealthRecords in NS only\n"
        "      --health-status           also write status.healthStatus (for a Kratix without its HealthRecord\n"
        "                                controller), with an Event when its state changes\n"
        "      --resync=DURATION         re-read every resource this often, 0 never (10m)\n"
        "      --deadline=DURATION       how long one status write may retry (10s)\n"
        "      --kubeconfig=FILE         kubeconfig outside a cluster (default: KUBECONFIG as kubectl reads it)\n"
        "      --context=NAME            kubeconfig context\n"
        "      --request-timeout=DURATION  give up on one request after DURATION (10s)\n"
        "      --log-format=text|json    log line format (text)\n"
        "  -v, --verbose                 log debug events too\n";

/* A Promise's resource type, from its spec.api (a CRD document). */
struct promise_api {
        char *name;
        bool missing;              /* no such Promise, or no usable spec.api */
        char *why;                 /* why it is missing, for the reports */
        struct kube_resource res;
        char *qualified;           /* "databases.example.promise.syntasso.io" */
        bool main_resource;        /* the CRD has no status subresource: write the object itself */
};

struct health {
        char *namespace;           /* NULL: all namespaces */
        char *kubeconfig, *context;
        int64_t resync_ms, deadline_ms, request_timeout_ms;
        bool health_status;        /* --health-status: write healthStatus too */

        struct kube_config *config;
        struct kube_client *client;
        struct kube_watch *watch;
        bool started;              /* listed and watching */

        json_t *records;           /* "ns/name" → HealthRecord */
        json_t *live;              /* the records not being deleted (array), while reconciling */
        json_t *dirty;             /* target key "promise/ns/name" → true */
        json_t *retry;             /* targets whose write failed for now */
        json_t *seen;              /* targets whose resource existed once: their vanishing is quiet */
        json_t *reported;          /* "ns/name" of a record → resourceVersion already reported */
        struct promise_api *promises;
        size_t n_promises;
        int64_t retry_ms;

        int epoll_fd, signal_fd, resync_fd, retry_fd;
        unsigned writes;
};

/* ---- small helpers -------------------------------------------------------- */

static const char *meta(const json_t *obj, const char *key) {
        const char *v = json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
        return v ? v : "";
}

static char *record_key(const json_t *record) {
        return xasprintf("%s/%s", meta(record, "namespace"), meta(record, "name"));
}

/* The key of what a valid record names, or NULL. New string. */
static char *target_key(const json_t *record) {
        const char *p, *ns, *n;
        if (!record || kstatus_health_record_target(record, &p, &ns, &n, NULL) < 0)
                return NULL;
        return xasprintf("%s/%s/%s", p, ns, n);
}

static void mark_dirty(struct health *h, const json_t *record) {
        _cleanup_free_ char *k = target_key(record);
        if (k)
                json_object_set_new(h->dirty, k, json_true());
}

static int arm(int fd, int64_t ms) {
        struct itimerspec its = { .it_value = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 } };
        if (ms <= 0)
                its.it_value.tv_nsec = 1;
        return timerfd_settime(fd, 0, &its, NULL);
}

static bool transient(const struct kube_status_error *e) {
        return e->http_code == 0 || e->http_code == 409 || e->http_code == 429 || e->http_code >= 500;
}

static const char *event_type(const char *state) {
        /* As Kratix: only healthy and ready are Normal. */
        return strcmp(state, "healthy") == 0 || strcmp(state, "ready") == 0 ? "Normal" : "Warning";
}

/* POST a core/v1 Event; best effort (a missing Event never blocks health). */
static void post_event(struct health *h, const char *api_version, const char *kind, const char *ns,
                       const char *name, const char *uid, const char *type, const char *reason,
                       const char *message) {
        const char *event_ns = ns && *ns ? ns : "default";
        char now[KSTATUS_TIME_LEN];
        kstatus_time_now(now);
        _cleanup_free_ char *generate = xasprintf("%s.", name);
        _cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/events", event_ns);
        _cleanup_json_ json_t *involved = json_pack("{s:s, s:s, s:s}", "apiVersion", api_version, "kind", kind,
                                                    "name", name);
        if (ns && *ns)
                json_object_set_new(involved, "namespace", json_string(ns));
        if (uid && *uid)
                json_object_set_new(involved, "uid", json_string(uid));
        _cleanup_json_ json_t *body = json_pack(
                "{s:s, s:s, s:{s:s, s:s}, s:O, s:s, s:s, s:s, s:{s:s}, s:s, s:s, s:i, s:s, s:s}", "apiVersion", "v1",
                "kind", "Event", "metadata", "generateName", generate, "namespace", event_ns, "involvedObject",
                involved, "reason", reason, "message", message, "type", type, "source", "component",
                "kstatus-health", "firstTimestamp", now, "lastTimestamp", now, "count", 1, "reportingComponent",
                "kstatus-health", "action", "HealthUpdate");
        struct kube_status_error err = { 0 };
        if (kube_client_create(h->client, path, body, NULL, NULL, &err) < 0)
                log_debug("event", "cannot record event %s on %s/%s: %s", reason, event_ns, name, err.message);
        kube_status_error_done(&err);
}

/* A problem with one record: one log line and one Event on the record per
 * resourceVersion, however often it is looked at again. */
static void report_record(struct health *h, const json_t *record, const char *reason, const char *fmt, ...)
        _printf_(4, 5);
static void report_record(struct health *h, const json_t *record, const char *reason, const char *fmt, ...) {
        _cleanup_free_ char *key = record_key(record);
        const char *rv = meta(record, "resourceVersion");
        const char *done = json_string_value(json_object_get(h->reported, key));
        if (done && strcmp(done, rv) == 0)
                return;
        json_object_set_new(h->reported, key, json_string(rv));
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (!msg)
                return;
        log_warning("record", "healthrecord \"%s\": %s", key, msg);
        post_event(h, "platform.kratix.io/v1alpha1", "HealthRecord", meta(record, "namespace"),
                   meta(record, "name"), meta(record, "uid"), "Warning", reason, msg);
}

static void check_record(struct health *h, const json_t *record) {
        const char *p, *ns, *n;
        struct kstatus_error err = { 0 };
        if (kstatus_health_record_target(record, &p, &ns, &n, &err) < 0)
                report_record(h, record, "InvalidHealthRecord", "ignored: %s", err.message);
}

/* ---- Promises → resource types --------------------------------------------- */

static void promise_api_done(struct promise_api *p) {
        free(p->name);
        free(p->why);
        free(p->qualified);
        kube_resource_done(&p->res);
}

static void promises_clear(struct health *h) {
        for (size_t i = 0; i < h->n_promises; i++)
                promise_api_done(&h->promises[i]);
        free(h->promises);
        h->promises = NULL;
        h->n_promises = 0;
}

/* Fill p from a Promise object: spec.api is the CRD Kratix installs. */
static void promise_api_read(struct promise_api *p, const json_t *promise) {
        json_t *crd = json_object_get(json_object_get(json_object_get(promise, "spec"), "api"), "spec");
        const char *group = json_string_value(json_object_get(crd, "group"));
        json_t *names = json_object_get(crd, "names");
        const char *plural = json_string_value(json_object_get(names, "plural"));
        const char *version = NULL;
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(crd, "versions"), i, v) {
                const char *n = json_string_value(json_object_get(v, "name"));
                if (n && (!version || json_is_true(json_object_get(v, "storage"))))
                        version = n;
        }
        if (!group || !plural || !version) {
                p->missing = true;
                p->why = xasprintf("promise \"%s\" has no spec.api with a group, names.plural and a version",
                                   p->name);
                return;
        }
        const char *kind = json_string_value(json_object_get(names, "kind"));
        const char *singular = json_string_value(json_object_get(names, "singular"));
        const char *scope = json_string_value(json_object_get(crd, "scope"));
        p->res = (struct kube_resource){
                .group = xstrdup(group), .version = xstrdup(version), .resource = xstrdup(plural),
                .kind = xstrdup(kind ? kind : plural), .singular = xstrdup(singular ? singular : ""),
                .namespaced = !scope || strcmp(scope, "Cluster") != 0,
        };
        p->qualified = kube_resource_qualified(&p->res);
}

static struct promise_api *promise_add(struct health *h, const char *name, const json_t *promise,
                                       const char *why) {
        h->promises = xrealloc(h->promises, (h->n_promises + 1) * sizeof(*h->promises));
        struct promise_api *p = &h->promises[h->n_promises++];
        *p = (struct promise_api){ .name = xstrdup(name) };
        if (promise)
                promise_api_read(p, promise);
        else {
                p->missing = true;
                p->why = xstrdup(why);
        }
        return p;
}

static struct promise_api *promise_find(struct health *h, const char *name) {
        for (size_t i = 0; i < h->n_promises; i++)
                if (strcmp(h->promises[i].name, name) == 0)
                        return &h->promises[i];
        return NULL;
}

/* The Promise's resource type, read once and cached until the next resync.
 * NULL when it cannot be known now (logged). */
static struct promise_api *promise_get(struct health *h, const char *name) {
        struct promise_api *p = promise_find(h, name);
        if (p)
                return p;
        _cleanup_free_ char *esc = kube_escape(name);
        _cleanup_free_ char *path = xasprintf(PROMISES_PATH "/%s", esc);
        _cleanup_json_ json_t *obj = NULL;
        struct kube_status_error err = { 0 };
        int r = kube_client_get(h->client, path, &obj, &err);
        if (r == -ENOENT) {
                _cleanup_free_ char *why = xasprintf("promise \"%s\" not found", name);
                p = promise_add(h, name, NULL, why);
        }
        else if (r < 0) {
                log_warning("promise", "cannot read promise \"%s\": %s", name, err.message);
                kube_status_error_done(&err);
                return NULL;
        } else
                p = promise_add(h, name, obj, NULL);
        kube_status_error_done(&err);
        return p;
}

/* Forget a Promise that was missing, so a record change looks again. */
static void promise_forget_missing(struct health *h, const char *name) {
        struct promise_api *p = promise_find(h, name);
        if (!p || !p->missing)
                return;
        size_t i = (size_t)(p - h->promises);
        promise_api_done(p);
        memmove(p, p + 1, (h->n_promises - i - 1) * sizeof(*p));
        h->n_promises--;
}

/* ---- writing one resource ----------------------------------------------- */

struct write_ctx {
        struct health *h;
        struct promise_api *p;
        const char *path;          /* the object's path */
        const json_t *records;     /* the records that name it */
        const char *ns, *name;
        char *prev_state;          /* the state written before (healthStatus's or healthRecord's) */
        const char *state;         /* the state written */
        char *uid;
};

/* The body for obj as it is now, NULL when it is up to date. */
static json_t *plan(struct write_ctx *w, const json_t *obj) {
        json_t *status = json_object_get(obj, "status");
        free(w->prev_state);
        const char *form = w->h->health_status ? "healthStatus" : "healthRecord";
        const char *prev = json_string_value(json_object_get(json_object_get(status, form), "state"));
        w->prev_state = prev ? xstrdup(prev) : NULL;
        free(w->uid);
        w->uid = xstrdup(meta(obj, "uid"));
        struct kstatus_health_target t = {
                .namespace = w->p->res.namespaced ? w->ns : "",
                .name = w->name,
                .records = w->records,
                .all_records = w->h->health_status ? w->h->live : NULL,
        };
        json_t *patch = kstatus_health_status_patch(status, &t, &w->state);
        if (!patch)
                return NULL;
        /* The patch names only the keys this controller writes, so what
         * another writer (Kratix's controller) stored under other keys stays.
         * The resourceVersion makes a write that raced another writer a 409:
         * recompute() then reads again and plans from what is there. */
        return json_pack("{s:{s:s}, s:o}", "metadata", "resourceVersion", meta(obj, "resourceVersion"), "status",
                         patch);
}

static int recompute(struct kube_client *c, void *userdata, json_t **body, struct kube_status_error *err) {
        struct write_ctx *w = userdata;
        _cleanup_json_ json_t *obj = NULL;
        int r = kube_client_get(c, w->path, &obj, err);
        if (r < 0)
                return r;
        *body = plan(w, obj);
        return *body ? 1 : 0;
}

static int send_patch(struct write_ctx *w, const json_t *body, struct kube_status_error *err) {
        struct kube_retry_policy policy = { .deadline_ms = w->h->deadline_ms, .recompute = recompute,
                                            .userdata = w };
        return kube_client_patch(w->h->client, w->path, w->p->main_resource ? NULL : "status", KUBE_PATCH_MERGE,
                                 body, &policy, NULL, err);
}

/* Reconcile one resource. obj: the object when just listed (borrowed), else
 * NULL to GET it. Returns 0 (done, or nothing can be done until the records
 * change) or -EAGAIN (try again later). */
static int reconcile(struct health *h, const char *key, const json_t *records, const json_t *obj) {
        _cleanup_free_ char *copy = xstrdup(key);
        char *ns = strchr(copy, '/');
        char *name = ns ? strchr(ns + 1, '/') : NULL;
        if (!name)
                return 0;
        *ns++ = '\0';
        *name++ = '\0';
        const char *promise = copy;

        struct promise_api *p = promise_get(h, promise);
        if (!p)
                return -EAGAIN;
        size_t i;
        json_t *rec;
        if (p->missing) {
                json_array_foreach(records, i, rec) report_record(h, rec, "PromiseNotFound", "%s", p->why);
                return 0;
        }
        _cleanup_free_ char *path = kube_resource_path(&p->res, ns, name, NULL);
        _cleanup_json_ json_t *fetched = NULL;
        struct kube_status_error err = { 0 };
        if (!obj) {
                int r = kube_client_get(h->client, path, &fetched, &err);
                if (r == -ENOENT) {
                        kube_status_error_done(&err);
                        if (json_object_get(h->seen, key)) {
                                /* It existed and is gone: its records will follow. */
                                log_debug("skip", "%s \"%s/%s\" is gone", p->qualified, ns, name);
                                json_object_del(h->seen, key);
                                return 0;
                        }
                        json_array_foreach(records, i, rec)
                                report_record(h, rec, "ResourceNotFound", "%s \"%s\" not found in namespace \"%s\"",
                                              p->qualified, name, ns);
                        return 0;
                }
                if (r < 0) {
                        log_warning("read", "cannot read %s \"%s/%s\": %s", p->qualified, ns, name, err.message);
                        r = transient(&err) ? -EAGAIN : 0;
                        kube_status_error_done(&err);
                        return r;
                }
                obj = fetched;
        }
        json_object_set_new(h->seen, key, json_true());

        struct write_ctx w = { .h = h, .p = p, .path = path, .records = records, .ns = ns, .name = name };
        _cleanup_json_ json_t *body = plan(&w, obj);
        int r = 0;
        if (!body) {
                log_debug("skip", "%s \"%s/%s\" is up to date", p->qualified, ns, name);
                goto out;
        }
        r = send_patch(&w, body, &err);
        if (r == -ENOENT && !p->main_resource) {
                /* No /status: a CRD without the status subresource, or the object went away. */
                _cleanup_json_ json_t *again = NULL;
                struct kube_status_error gerr = { 0 };
                if (kube_client_get(h->client, path, &again, &gerr) == 0) {
                        log_info("write", "%s has no status subresource; writing status on the object", p->qualified);
                        p->main_resource = true;
                        kube_status_error_done(&err);
                        json_decref(body);
                        body = plan(&w, again);
                        r = body ? send_patch(&w, body, &err) : KUBE_NOTHING_TO_DO;
                }
                kube_status_error_done(&gerr);
        }
        if (r == -ENOENT) {
                log_debug("skip", "%s \"%s/%s\" is gone", p->qualified, ns, name);
                json_object_del(h->seen, key);
                r = 0;
        } else if (r < 0) {
                log_warning("write", "cannot write health of %s \"%s/%s\": %s", p->qualified, ns, name,
                            err.message);
                r = transient(&err) ? -EAGAIN : 0;
        } else if (r == KUBE_NOTHING_TO_DO) {
                r = 0;
        } else {
                h->writes++;
                log_info("write", "%s \"%s/%s\": %s %s (%zu record%s)", p->qualified, ns, name,
                         h->health_status ? "health" : "healthRecord", w.state ? w.state : "removed",
                         json_array_size(records), json_array_size(records) == 1 ? "" : "s");
                /* Kratix's controller posts its own Events about healthStatus:
                 * only a controller writing that aggregate posts them. */
                if (h->health_status && w.state && (!w.prev_state || strcmp(w.prev_state, w.state) != 0)) {
                        _cleanup_free_ char *msg = xasprintf("Health state is %s", w.state);
                        _cleanup_free_ char *api_version = xasprintf("%s/%s", p->res.group, p->res.version);
                        post_event(h, api_version, p->res.kind, p->res.namespaced ? ns : NULL, name, w.uid,
                                   event_type(w.state), "HealthRecord", msg);
                }
        }
out:
        kube_status_error_done(&err);
        free(w.prev_state);
        free(w.uid);
        return r;
}

/* target key → array of the records that name it (valid ones, not being deleted). */
static json_t *index_records(struct health *h) {
        json_t *index = json_object();
        const char *k;
        json_t *rec;
        json_object_foreach(h->records, k, rec) {
                if (*meta(rec, "deletionTimestamp"))
                        continue;
                _cleanup_free_ char *t = target_key(rec);
                if (!t)
                        continue;
                json_t *list = json_object_get(index, t);
                if (!list) {
                        list = json_array();
                        json_object_set_new(index, t, list);
                }
                json_array_append(list, rec);
        }
        return index;
}

/* Reconcile every dirty resource; listed (may be NULL) maps target keys to
 * objects just listed. */
static void reconcile_dirty(struct health *h, const json_t *listed) {
        if (json_object_size(h->dirty) == 0)
                return;
        _cleanup_json_ json_t *index = index_records(h);
        _cleanup_json_ json_t *empty = json_array();
        h->live = json_array();
        const char *rk;
        json_t *rec;
        json_object_foreach(h->records, rk, rec) {
                if (!*meta(rec, "deletionTimestamp"))
                        json_array_append(h->live, rec);
        }
        _cleanup_json_ json_t *dirty = TAKE_PTR(h->dirty);
        h->dirty = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(dirty, k, v) {
                json_t *recs = json_object_get(index, k);
                if (reconcile(h, k, recs ? recs : empty, json_object_get(listed, k)) == -EAGAIN)
                        json_object_set_new(h->retry, k, json_true());
                else
                        json_object_del(h->retry, k);
        }
        if (json_object_size(h->retry) > 0) {
                h->retry_ms = h->retry_ms ? (h->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : h->retry_ms * 2) : 1000;
                arm(h->retry_fd, h->retry_ms);
        } else
                h->retry_ms = 0;
        json_decref(TAKE_PTR(h->live));
}

/* ---- the record store ------------------------------------------------------ */

static void store_put(struct health *h, const json_t *record) {
        _cleanup_free_ char *key = record_key(record);
        json_t *old = json_object_get(h->records, key);
        if (old && json_equal(json_object_get(old, "data"), json_object_get(record, "data")) &&
            !*meta(old, "deletionTimestamp") == !*meta(record, "deletionTimestamp")) {
                json_object_set(h->records, key, (json_t *)record);
                return; /* labels or annotations: health is the same */
        }
        mark_dirty(h, old);
        json_object_set(h->records, key, (json_t *)record);
        mark_dirty(h, record);
        check_record(h, record);
        const char *p = json_string_value(
                json_object_get(json_object_get(json_object_get(record, "data"), "promiseRef"), "name"));
        if (p)
                promise_forget_missing(h, p);
}

static void store_delete(struct health *h, const json_t *record) {
        _cleanup_free_ char *key = record_key(record);
        json_t *old = json_object_get(h->records, key);
        mark_dirty(h, old ? old : record);
        json_object_del(h->records, key);
        json_object_del(h->reported, key);
}

/* Replace the store with a fresh List: what changed meanwhile, deletions
 * included, is marked dirty. */
static void store_replace(struct health *h, const json_t *list) {
        const char *k;
        json_t *rec;
        json_object_foreach(h->records, k, rec) mark_dirty(h, rec);
        json_object_clear(h->records);
        size_t i;
        json_array_foreach(json_object_get(list, "items"), i, rec) {
                _cleanup_free_ char *key = record_key(rec);
                json_object_set(h->records, key, rec);
                mark_dirty(h, rec);
                check_record(h, rec);
        }
        /* Reports of records that no longer exist are forgotten. */
        void *tmp;
        json_object_foreach_safe(h->reported, tmp, k, rec) {
                if (!json_object_get(h->records, k))
                        json_object_del(h->reported, k);
        }
}

static int on_watch_event(const char *type, const json_t *obj, void *userdata) {
        struct health *h = userdata;
        if (strcmp(type, "RELIST") == 0) {
                log_info("watch", "relisted %zu healthrecords after the watch expired",
                         json_array_size(json_object_get(obj, "items")));
                store_replace(h, obj);
        } else if (strcmp(type, "DELETED") == 0) {
                log_debug("watch", "healthrecord \"%s/%s\" deleted", meta(obj, "namespace"), meta(obj, "name"));
                store_delete(h, obj);
        } else {
                log_debug("watch", "healthrecord \"%s/%s\" %s", meta(obj, "namespace"), meta(obj, "name"),
                          strcmp(type, "ADDED") == 0 ? "added" : "modified");
                store_put(h, obj);
        }
        return 0;
}

/* ---- listing: start and resync --------------------------------------------- */

static char *records_path(const struct health *h) {
        if (!h->namespace)
                return xstrdup("/apis/platform.kratix.io/v1alpha1/healthrecords");
        _cleanup_free_ char *esc = kube_escape(h->namespace);
        return xasprintf("/apis/platform.kratix.io/v1alpha1/namespaces/%s/healthrecords", esc);
}

/* Read every Promise's resource type again, and list each type's resources:
 * those showing health, and those named by a record, go into *listed and are
 * marked dirty. Keeps what was learnt about status subresources. */
static int sweep(struct health *h, json_t *listed, const json_t *index) {
        _cleanup_json_ json_t *promises = NULL;
        struct kube_status_error err = { 0 };
        int r = kube_client_list(h->client, PROMISES_PATH, 500, NULL, NULL, &promises, &err);
        if (r < 0) {
                log_warning("list", "cannot list promises: %s", err.message);
                kube_status_error_done(&err);
                return r;
        }
        struct promise_api *old = TAKE_PTR(h->promises);
        size_t n_old = h->n_promises;
        h->n_promises = 0;
        size_t i;
        json_t *pr;
        json_array_foreach(json_object_get(promises, "items"), i, pr) {
                struct promise_api *p = promise_add(h, meta(pr, "name"), pr, NULL);
                for (size_t j = 0; j < n_old; j++)
                        if (!p->missing && !old[j].missing && strcmp(old[j].name, p->name) == 0 &&
                            strcmp(old[j].qualified, p->qualified) == 0)
                                p->main_resource = old[j].main_resource;
        }
        for (size_t j = 0; j < n_old; j++)
                promise_api_done(&old[j]);
        free(old);

        for (i = 0; i < h->n_promises; i++) {
                struct promise_api *p = &h->promises[i];
                /* A cluster-scoped object carries no namespace to match a
                 * record's resourceRef by, so only records lead to those. */
                if (p->missing || !p->res.namespaced)
                        continue;
                _cleanup_free_ char *path = kube_resource_path(&p->res, h->namespace, NULL, NULL);
                _cleanup_json_ json_t *list = NULL;
                if (kube_client_list(h->client, path, 500, NULL, NULL, &list, &err) < 0) {
                        log_warning("list", "cannot list %s: %s", p->qualified, err.message);
                        kube_status_error_done(&err);
                        continue;
                }
                size_t j;
                json_t *obj;
                json_array_foreach(json_object_get(list, "items"), j, obj) {
                        json_t *status = json_object_get(obj, "status");
                        _cleanup_free_ char *key = xasprintf("%s/%s/%s", p->name, meta(obj, "namespace"),
                                                             meta(obj, "name"));
                        if (!json_object_get(status, "healthStatus") && !json_object_get(status, "healthRecord") &&
                            !json_object_get(index, key))
                                continue;
                        json_object_set(listed, key, obj);
                        json_object_set_new(h->dirty, key, json_true());
                }
        }
        return 0;
}

static void watch_stop(struct health *h) {
        if (!h->watch)
                return;
        (void)epoll_ctl(h->epoll_fd, EPOLL_CTL_DEL, kube_watch_fd(h->watch), NULL);
        kube_watch_free(TAKE_PTR(h->watch));
}

static void restart_later(struct health *h) {
        watch_stop(h);
        h->started = false;
        h->retry_ms = h->retry_ms ? (h->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : h->retry_ms * 2) : 1000;
        arm(h->retry_fd, h->retry_ms);
}

/* List the records, put every resource right, and watch from there. */
static void start(struct health *h) {
        _cleanup_free_ char *path = records_path(h);
        _cleanup_json_ json_t *list = NULL;
        struct kube_status_error err = { 0 };
        int r = kube_client_list(h->client, path, 500, NULL, NULL, &list, &err);
        if (r < 0) {
                log_warning("list", "cannot list healthrecords: %s", err.message);
                kube_status_error_done(&err);
                restart_later(h);
                return;
        }
        store_replace(h, list);
        log_info("list", "%zu healthrecords%s%s", json_object_size(h->records), h->namespace ? " in namespace " : "",
                 h->namespace ? h->namespace : "");
        _cleanup_json_ json_t *listed = json_object();
        _cleanup_json_ json_t *index = index_records(h);
        (void)sweep(h, listed, index);
        reconcile_dirty(h, listed);

        const char *rv = json_string_value(json_object_get(json_object_get(list, "metadata"), "resourceVersion"));
        struct kstatus_error kerr = { 0 };
        if (kube_watch_new(h->client, path, rv, on_watch_event, h, &h->watch, &kerr) < 0 ||
            epoll_ctl(h->epoll_fd, EPOLL_CTL_ADD, kube_watch_fd(h->watch),
                      &(struct epoll_event){ .events = EPOLLIN, .data.u32 = SRC_WATCH }) < 0) {
                log_warning("watch", "cannot watch healthrecords: %s", kerr.message[0] ? kerr.message : strerror(errno));
                restart_later(h);
                return;
        }
        h->started = true;
        if (json_object_size(h->retry) == 0)
                h->retry_ms = 0;
        log_info("watch", "watching healthrecords from resourceVersion %s", rv ? rv : "(none)");
}

/* Every resource again: health someone else changed, records deleted while
 * a resource could not be read, Promises created since. */
static void resync(struct health *h) {
        log_info("resync", "re-reading %zu healthrecords and the resources of every promise",
                 json_object_size(h->records));
        _cleanup_json_ json_t *listed = json_object();
        _cleanup_json_ json_t *index = index_records(h);
        const char *k;
        json_t *v;
        json_object_foreach(index, k, v) json_object_set_new(h->dirty, k, json_true());
        (void)sweep(h, listed, index);
        reconcile_dirty(h, listed);
}

static void on_retry(struct health *h) {
        if (!h->started) {
                start(h);
                return;
        }
        const char *k;
        json_t *v;
        json_object_foreach(h->retry, k, v) json_object_set_new(h->dirty, k, json_true());
        json_object_clear(h->retry);
        reconcile_dirty(h, NULL);
}

static void on_watch(struct health *h) {
        struct kube_status_error err = { 0 };
        int r = kube_watch_process(h->watch, &err);
        if (r < 0) {
                log_warning("watch", "watch of healthrecords failed: %s; listing again", err.message);
                kube_status_error_done(&err);
                /* What was seen so far still counts. */
                reconcile_dirty(h, NULL);
                restart_later(h);
                return;
        }
        reconcile_dirty(h, NULL);
}

/* ---- the loop --------------------------------------------------------------- */

static int loop_setup(struct health *h) {
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGPIPE);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        sigdelset(&mask, SIGPIPE);
        h->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        h->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        h->resync_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        h->retry_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (h->epoll_fd < 0 || h->signal_fd < 0 || h->resync_fd < 0 || h->retry_fd < 0)
                return -errno;
        int fds[] = { h->signal_fd, h->resync_fd, h->retry_fd };
        int tags[] = { SRC_SIGNAL, SRC_RESYNC, SRC_RETRY };
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                if (epoll_ctl(h->epoll_fd, EPOLL_CTL_ADD, fds[i],
                              &(struct epoll_event){ .events = EPOLLIN, .data.u32 = (uint32_t)tags[i] }) < 0)
                        return -errno;
        if (h->resync_ms > 0) {
                struct itimerspec its = {
                        .it_value = { .tv_sec = h->resync_ms / 1000, .tv_nsec = (h->resync_ms % 1000) * 1000000 },
                        .it_interval = { .tv_sec = h->resync_ms / 1000, .tv_nsec = (h->resync_ms % 1000) * 1000000 },
                };
                if (timerfd_settime(h->resync_fd, 0, &its, NULL) < 0)
                        return -errno;
        }
        return 0;
}

static int run(struct health *h) {
        int r = loop_setup(h);
        if (r < 0)
                return log_error_errno(r, "start", "cannot set up the event loop: %s", strerror(-r));
        start(h);
        for (;;) {
                struct epoll_event evs[8];
                int n = epoll_wait(h->epoll_fd, evs, ELEMENTSOF(evs), -1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(errno, "loop", "epoll_wait: %s", strerror(errno));
                }
                for (int i = 0; i < n; i++) {
                        uint64_t ticks;
                        switch (evs[i].data.u32) {
                        case SRC_SIGNAL: {
                                struct signalfd_siginfo si;
                                if (read(h->signal_fd, &si, sizeof(si)) == sizeof(si)) {
                                        log_info("stop", "received %s; %u status writes made",
                                                 si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM", h->writes);
                                        return 0;
                                }
                                break;
                        }
                        case SRC_WATCH:
                                if (h->watch)
                                        on_watch(h);
                                break;
                        case SRC_RESYNC:
                                if (read(h->resync_fd, &ticks, sizeof(ticks)) == sizeof(ticks) && h->started)
                                        resync(h);
                                break;
                        case SRC_RETRY:
                                if (read(h->retry_fd, &ticks, sizeof(ticks)) == sizeof(ticks))
                                        on_retry(h);
                                break;
                        }
                }
        }
}

/* ---- configuration ---------------------------------------------------------- */

/* 0 to run, 1 when done (--help), <0 on a usage error (printed). */
static int parse_args(struct health *h, int argc, char **argv) {
        enum { O_RESYNC = 1000, O_DEADLINE, O_KUBECONFIG, O_CONTEXT, O_REQTIMEOUT, O_LOGFMT, O_HELP, O_HEALTH_STATUS };
        static const struct option options[] = {
                { "all-namespaces", no_argument, NULL, 'A' },
                { "namespace", required_argument, NULL, 'n' },
                { "health-status", no_argument, NULL, O_HEALTH_STATUS },
                { "resync", required_argument, NULL, O_RESYNC },
                { "deadline", required_argument, NULL, O_DEADLINE },
                { "kubeconfig", required_argument, NULL, O_KUBECONFIG },
                { "context", required_argument, NULL, O_CONTEXT },
                { "request-timeout", required_argument, NULL, O_REQTIMEOUT },
                { "log-format", required_argument, NULL, O_LOGFMT },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, O_HELP },
                {},
        };
        enum log_format lf = LOG_FORMAT_TEXT;
        enum log_level ll = LOG_LEVEL_INFO;
        bool all = false;
        int c;
        opterr = 0;
        optind = 1;
        while ((c = getopt_long(argc, argv, "An:vh", options, NULL)) >= 0) {
                switch (c) {
                case 'A': all = true; break;
                case 'n': set_str(&h->namespace, optarg); break;
                case O_HEALTH_STATUS: h->health_status = true; break;
                case O_RESYNC:
                        if (parse_duration_arg("resync", optarg, &h->resync_ms) < 0)
                                return -EINVAL;
                        break;
                case O_DEADLINE:
                        if (parse_duration_arg("deadline", optarg, &h->deadline_ms) < 0)
                                return -EINVAL;
                        break;
                case O_KUBECONFIG: set_str(&h->kubeconfig, optarg); break;
                case O_CONTEXT: set_str(&h->context, optarg); break;
                case O_REQTIMEOUT:
                        if (parse_duration_arg("request-timeout", optarg, &h->request_timeout_ms) < 0)
                                return -EINVAL;
                        break;
                case O_LOGFMT:
                        if (log_format_from_string(optarg, &lf) < 0)
                                return config_error("invalid argument \"%s\" for \"--log-format\": want text or json",
                                                    optarg);
                        break;
                case 'v': ll = LOG_LEVEL_DEBUG; break;
                case O_HELP:
                case 'h': fputs(usage, stdout); return 1;
                case ':': return config_error("flag needs an argument: %s", argv[optind - 1]);
                default: return config_error("unknown flag: %s", argv[optind - 1]);
                }
        }
        if (optind < argc)
                return config_error("unexpected argument \"%s\"", argv[optind]);
        if (all && h->namespace)
                return config_error("--all-namespaces and --namespace cannot be used together");
        if (h->namespace && !*h->namespace)
                return config_error("a namespace must not be empty");
        log_setup(lf, ll);
        return 0;
}

static void health_done(struct health *h) {
        watch_stop(h);
        kube_client_free(h->client);
        kube_config_free(h->config);
        json_decref(h->records);
        json_decref(h->dirty);
        json_decref(h->retry);
        json_decref(h->seen);
        json_decref(h->reported);
        promises_clear(h);
        free(h->namespace);
        free(h->kubeconfig);
        free(h->context);
        int fds[] = { h->epoll_fd, h->signal_fd, h->resync_fd, h->retry_fd };
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                if (fds[i] >= 0)
                        close(fds[i]);
}

int health_main(int argc, char **argv) {
        struct health h = {
                .resync_ms = 10 * 60 * 1000, .deadline_ms = 10000, .request_timeout_ms = 10000,
                .records = json_object(), .dirty = json_object(), .retry = json_object(), .seen = json_object(),
                .reported = json_object(), .epoll_fd = -1, .signal_fd = -1, .resync_fd = -1, .retry_fd = -1,
        };
        int r = parse_args(&h, argc, argv);
        if (r != 0) {
                health_done(&h);
                return r > 0 ? EXIT_OK : EXIT_CONFIG;
        }
        /* In a Pod the service account; elsewhere a kubeconfig as kubectl reads it. */
        struct kube_config_options opts = {
                .source = KUBE_CONFIG_IN_CLUSTER_FIRST, .kubeconfig = h.kubeconfig, .context = h.context,
        };
        struct kstatus_error err = { 0 };
        struct kube_client_options copts = {
                .request_timeout_ms = h.request_timeout_ms, .user_agent = "kstatus-health/" KSTATUS_VERSION,
        };
        if (kube_config_load(&opts, &h.config, &err) < 0 || kube_client_new(h.config, &copts, &h.client, &err) < 0) {
                /* The whole line kubectl prints for the same problem. */
                fprintf(stderr, "%s\n", err.message);
                health_done(&h);
                return EXIT_CONFIG;
        }
        log_info("start", "kstatus-sidecar health v%s: healthrecords in %s%s%s, resync %s", KSTATUS_VERSION,
                 h.namespace ? "namespace \"" : "all namespaces", h.namespace ? h.namespace : "",
                 h.namespace ? "\"" : "", h.resync_ms > 0 ? "on" : "off");
        r = run(&h);
        health_done(&h);
        return r < 0 ? 1 : EXIT_OK;
}
