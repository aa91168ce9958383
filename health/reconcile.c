/* reconcile.c - putting one resource's health right, and every dirty one.
 *
 * A resource's wanted health is computed from all the records that name it
 * (kstatus_health_status_patch) and written only when it differs from what
 * its status shows. The patch names only the keys this controller writes and
 * carries the resourceVersion it was planned from, so a write that raced
 * another writer (Kratix's controller) is a 409, read again and planned
 * again. */
#include <errno.h>
#include <string.h>

#include "health.h" /* common/health.h, the projection */
#include "internal.h"
#include "log.h"

/* One resource being reconciled. */
struct target {
        struct health *h;
        struct promise_api *p;
        const char *key;           /* "promise/ns/name" */
        const char *ns, *name;
        char *path;                /* the object's path */
        const json_t *records;     /* the records that name it */
        char *prev_state;          /* the state written before (healthStatus's or healthRecord's) */
        const char *state;         /* the state written */
        char *uid;
};

/* The body for obj as it is now, NULL when it is up to date. */
static json_t *plan(struct target *t, const json_t *obj) {
        json_t *status = json_object_get(obj, "status");
        free(t->prev_state);
        const char *form = t->h->health_status ? "healthStatus" : "healthRecord";
        const char *prev = json_string_value(json_object_get(json_object_get(status, form), "state"));
        t->prev_state = prev ? xstrdup(prev) : NULL;
        free(t->uid);
        t->uid = xstrdup(health_meta(obj, "uid"));
        struct kstatus_health_target ht = {
                /* A cluster-scoped resource's records still name a namespace
                 * (Kratix's CRD requires one): Kratix groups them by it too. */
                .namespace = t->ns,
                .name = t->name,
                .records = t->records,
                .all_records = t->h->health_status ? t->h->live : NULL,
        };
        json_t *patch = kstatus_health_status_patch(status, &ht, &t->state);
        if (!patch)
                return NULL;
        return json_pack("{s:{s:s}, s:o}", "metadata", "resourceVersion", health_meta(obj, "resourceVersion"),
                         "status", patch);
}

static int recompute(struct kube_client *c, void *userdata, json_t **body, struct kstatus_error *err) {
        struct target *t = userdata;
        _cleanup_json_ json_t *obj = NULL;
        int r = kube_client_get(c, t->path, &obj, err);
        if (r < 0)
                return r;
        *body = plan(t, obj);
        return *body ? 1 : 0;
}

static int send_patch(struct target *t, const json_t *body, struct kstatus_error *err) {
        struct kube_retry_policy policy = { .deadline_ms = t->h->deadline_ms, .recompute = recompute,
                                            .userdata = t };
        return kube_client_patch(t->h->client, t->path, t->p->main_resource ? NULL : "status", KUBE_PATCH_MERGE,
                                 body, &policy, NULL, err);
}

/* 0 (done, or nothing to do until something changes) or -EAGAIN (try again
 * later) for a request that failed with r, by the library's one notion of
 * transient: a TLS verification failure, 401/403, 404 or 422 is not retried.
 * A conflict that outlasted the write's deadline is tried again too: the
 * recompute that resolves a 409 is this controller's. */
static int outcome(int r, const struct kstatus_error *err) {
        return kube_error_is_transient(r, err) || err->http_code == 409 ? -EAGAIN : 0;
}

/* Report msg on every record naming t (each once per resourceVersion). */
static void report_all(struct target *t, const char *reason, const char *msg) {
        size_t i;
        json_t *rec;
        json_array_foreach(t->records, i, rec) health_report_record(t->h, rec, reason, "%s", msg);
}

/* GET the object into *ret. 1 with the object, or 0 / -EAGAIN as reconcile. */
static int read_target(struct target *t, json_t **ret) {
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int r = kube_client_get(t->h->client, t->path, ret, &err);
        if (r == -ENOENT) {
                if (json_object_get(t->h->seen, t->key)) {
                        /* It existed and is gone: its records will follow. */
                        log_debug("skip", "%s \"%s/%s\" is gone", t->p->qualified, t->ns, t->name);
                        json_object_del(t->h->seen, t->key);
                } else {
                        _cleanup_free_ char *msg = xasprintf("%s \"%s\" not found in namespace \"%s\"",
                                                             t->p->qualified, t->name, t->ns);
                        report_all(t, "ResourceNotFound", msg);
                }
                r = 0;
        } else if (r < 0) {
                log_warning("read", "cannot read %s \"%s/%s\": %s", t->p->qualified, t->ns, t->name, err.message);
                r = outcome(r, &err);
        } else
                r = 1;
        kstatus_error_done(&err);
        return r;
}

static const char *event_type(const char *state) {
        /* As Kratix: only healthy and ready are Normal. */
        return strcmp(state, "healthy") == 0 || strcmp(state, "ready") == 0 ? "Normal" : "Warning";
}

static void written(struct target *t) {
        struct health *h = t->h;
        struct promise_api *p = t->p;
        h->writes++;
        size_t n = json_array_size(t->records);
        log_info("write", "%s \"%s/%s\": %s %s (%zu record%s)", p->qualified, t->ns, t->name,
                 h->health_status ? "health" : "healthRecord", t->state ? t->state : "removed", n, n == 1 ? "" : "s");
        /* Kratix's controller posts its own Events about healthStatus: only a
         * controller writing that aggregate posts them. */
        if (!h->health_status || !t->state || (t->prev_state && strcmp(t->prev_state, t->state) == 0))
                return;
        _cleanup_free_ char *msg = xasprintf("Health state is %s", t->state);
        _cleanup_free_ char *api_version = xasprintf("%s/%s", p->res.group, p->res.version);
        health_post_event(h, api_version, p->res.kind, p->res.namespaced ? t->ns : NULL, t->name, t->uid,
                          event_type(t->state), "HealthRecord", msg);
}

/* A 404 on /status: a CRD without the status subresource, or the object went
 * away. When the object is there, write status on the object from now on. */
static int write_main_resource(struct target *t, struct kstatus_error *err) {
        _cleanup_json_ json_t *again = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error gerr = { 0 };
        int r = -ENOENT;
        if (kube_client_get(t->h->client, t->path, &again, &gerr) == 0) {
                log_info("write", "%s has no status subresource; writing status on the object", t->p->qualified);
                t->p->main_resource = true;
                kstatus_error_done(err);
                _cleanup_json_ json_t *body = plan(t, again);
                r = body ? send_patch(t, body, err) : KUBE_NOTHING_TO_DO;
        }
        kstatus_error_done(&gerr);
        return r;
}

/* Write obj's health when it differs. 0 or -EAGAIN as reconcile. */
static int write_target(struct target *t, const json_t *obj) {
        json_object_set_new(t->h->seen, t->key, json_true());
        _cleanup_json_ json_t *body = plan(t, obj);
        if (!body) {
                log_debug("skip", "%s \"%s/%s\" is up to date", t->p->qualified, t->ns, t->name);
                return 0;
        }
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int r = send_patch(t, body, &err);
        if (r == -ENOENT && !t->p->main_resource)
                r = write_main_resource(t, &err);
        if (r == -ENOENT) {
                log_debug("skip", "%s \"%s/%s\" is gone", t->p->qualified, t->ns, t->name);
                json_object_del(t->h->seen, t->key);
                r = 0;
        } else if (r < 0) {
                log_warning("write", "cannot write health of %s \"%s/%s\": %s", t->p->qualified, t->ns, t->name,
                            err.message);
                r = outcome(r, &err);
        } else if (r == KUBE_NOTHING_TO_DO)
                r = 0;
        else
                written(t);
        kstatus_error_done(&err);
        return r;
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
        struct promise_api *p = health_promise_get(h, copy);
        if (!p)
                return -EAGAIN;
        struct target t = { .h = h, .p = p, .key = key, .ns = ns, .name = name, .records = records };
        if (p->missing) {
                report_all(&t, "PromiseNotFound", p->why);
                return 0;
        }
        t.path = kube_resource_path(&p->res, ns, name, NULL);
        _cleanup_json_ json_t *fetched = NULL;
        int r = obj ? 1 : read_target(&t, &fetched);
        if (r > 0)
                r = write_target(&t, obj ? obj : fetched);
        free(t.path);
        free(t.prev_state);
        free(t.uid);
        return r;
}

void health_reconcile_dirty(struct health *h, const json_t *listed) {
        if (json_object_size(h->dirty) == 0)
                return;
        _cleanup_json_ json_t *index = health_index_records(h);
        _cleanup_json_ json_t *empty = json_array();
        h->live = json_array();
        const char *k;
        json_t *v;
        json_object_foreach(h->records, k, v) {
                if (!*health_meta(v, "deletionTimestamp"))
                        json_array_append(h->live, v);
        }
        _cleanup_json_ json_t *dirty = TAKE_PTR(h->dirty);
        h->dirty = json_object();
        json_object_foreach(dirty, k, v) {
                /* A replica that lost the Lease stops here; the next leader lists everything again. */
                if (!health_may_write(h))
                        continue;
                json_t *recs = json_object_get(index, k);
                if (reconcile(h, k, recs ? recs : empty, json_object_get(listed, k)) == -EAGAIN)
                        json_object_set_new(h->retry, k, json_true());
                else
                        json_object_del(h->retry, k);
        }
        if (json_object_size(h->retry) > 0)
                health_retry_later(h);
        else
                h->retry_ms = 0;
        json_decref(TAKE_PTR(h->live));
}

/* For a cluster-scoped type: object name → the target keys naming it
 * ("promise/<any namespace>/name": a record's key carries the namespace it
 * gave or its own, which a cluster-scoped object does not have). */
static json_t *keys_by_name(const struct promise_api *p, const json_t *index) {
        json_t *by_name = json_object();
        _cleanup_free_ char *prefix = xasprintf("%s/", p->name);
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)index, k, v) {
                const char *rest = str_has_prefix(k, prefix) ? k + strlen(prefix) : NULL;
                const char *name = rest ? strchr(rest, '/') : NULL;
                if (!name)
                        continue;
                json_t *keys = json_object_get(by_name, name + 1);
                if (!keys)
                        json_object_set_new(by_name, name + 1, keys = json_array());
                json_array_append_new(keys, json_string(k));
        }
        return by_name;
}

/* The target keys obj is reconciled under (new array): its own for a
 * namespaced object; for a cluster-scoped one those of the records naming
 * it, else (no record names it) "promise//name" to clear what it shows —
 * unless the controller sees one namespace only, where records elsewhere may
 * name it. */
static json_t *object_keys(struct health *h, const struct promise_api *p, const json_t *obj, const json_t *by_name) {
        if (!p->res.namespaced) {
                json_t *keys = json_object_get(by_name, health_meta(obj, "name"));
                if (keys)
                        return json_incref(keys);
                if (h->namespace)
                        return json_array();
        }
        return json_pack("[s++++]", p->name, "/", health_meta(obj, "namespace"), "/", health_meta(obj, "name"));
}

/* List one Promise's resources: those showing health, and those a record
 * names, go into listed and are marked dirty. */
static void sweep_promise(struct health *h, const struct promise_api *p, json_t *listed, const json_t *index) {
        _cleanup_free_ char *path = kube_resource_path(&p->res, h->namespace, NULL, NULL);
        _cleanup_json_ json_t *list = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        if (kube_client_list(h->client, path, 500, NULL, NULL, &list, &err) < 0) {
                log_warning("list", "cannot list %s: %s", p->qualified, err.message);
                kstatus_error_done(&err);
                return;
        }
        _cleanup_json_ json_t *by_name = p->res.namespaced ? NULL : keys_by_name(p, index);
        size_t i, j;
        json_t *obj, *key;
        json_array_foreach(json_object_get(list, "items"), i, obj) {
                json_t *status = json_object_get(obj, "status");
                bool shows = json_object_get(status, "healthStatus") || json_object_get(status, "healthRecord");
                _cleanup_json_ json_t *keys = object_keys(h, p, obj, by_name);
                json_array_foreach(keys, j, key) {
                        const char *k = json_string_value(key);
                        if (!shows && !json_object_get(index, k))
                                continue;
                        json_object_set(listed, k, obj);
                        json_object_set_new(h->dirty, k, json_true());
                }
        }
}

int health_sweep(struct health *h, json_t *listed, const json_t *index) {
        int r = health_promises_reload(h);
        if (r < 0)
                return r;
        for (size_t i = 0; i < h->n_promises; i++) {
                const struct promise_api *p = &h->promises[i];
                if (!p->missing)
                        sweep_promise(h, p, listed, index);
        }
        return 0;
}
