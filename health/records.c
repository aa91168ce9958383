/* records.c - the HealthRecords kept in memory from a LIST and the watch that
 * follows it. A record change marks the resources it names (before and after
 * the change) dirty; a problem with a record is reported once per
 * resourceVersion. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conditions.h"
#include "health.h" /* common/health.h, the projection */
#include "internal.h"
#include "log.h"

const char *health_meta(const json_t *obj, const char *key) {
        const char *v = json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
        return v ? v : "";
}

static char *record_key(const json_t *record) {
        return xasprintf("%s/%s", health_meta(record, "namespace"), health_meta(record, "name"));
}

char *health_target_key(const json_t *record) {
        const char *p, *ns, *n;
        if (!record || kstatus_health_record_target(record, &p, &ns, &n, NULL) < 0)
                return NULL;
        return xasprintf("%s/%s/%s", p, ns, n);
}

static void mark_dirty(struct health *h, const json_t *record) {
        _cleanup_free_ char *k = health_target_key(record);
        if (k)
                json_object_set_new(h->dirty, k, json_true());
}

void health_post_event(struct health *h, const char *api_version, const char *kind, const char *ns,
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
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        if (kube_client_create(h->client, path, body, NULL, NULL, &err) < 0)
                log_debug("event", "cannot record event %s on %s/%s: %s", reason, event_ns, name, err.message);
        kstatus_error_done(&err);
}

void health_report_record(struct health *h, const json_t *record, const char *reason, const char *fmt, ...) {
        _cleanup_free_ char *key = record_key(record);
        const char *rv = health_meta(record, "resourceVersion");
        const char *done = json_string_value(json_object_get(h->reported, key));
        if (done && strcmp(done, rv) == 0)
                return;
        json_object_set_new(h->reported, key, json_string(rv));
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = xvasprintf(fmt, ap);
        va_end(ap);
        log_warning("record", "healthrecord \"%s\": %s", key, msg);
        health_post_event(h, "platform.kratix.io/v1alpha1", "HealthRecord", health_meta(record, "namespace"),
                          health_meta(record, "name"), health_meta(record, "uid"), "Warning", reason, msg);
}

static void check_record(struct health *h, const json_t *record) {
        const char *p, *ns, *n;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        if (kstatus_health_record_target(record, &p, &ns, &n, &err) < 0)
                health_report_record(h, record, "InvalidHealthRecord", "ignored: %s", err.message);
}

json_t *health_index_records(const struct health *h) {
        json_t *index = json_object();
        const char *k;
        json_t *rec;
        json_object_foreach(h->records, k, rec) {
                if (*health_meta(rec, "deletionTimestamp"))
                        continue;
                _cleanup_free_ char *t = health_target_key(rec);
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

static void store_put(struct health *h, const json_t *record) {
        _cleanup_free_ char *key = record_key(record);
        json_t *old = json_object_get(h->records, key);
        if (old && json_equal(json_object_get(old, "data"), json_object_get(record, "data")) &&
            !*health_meta(old, "deletionTimestamp") == !*health_meta(record, "deletionTimestamp")) {
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
                health_promise_forget_missing(h, p);
}

static void store_delete(struct health *h, const json_t *record) {
        _cleanup_free_ char *key = record_key(record);
        json_t *old = json_object_get(h->records, key);
        mark_dirty(h, old ? old : record);
        json_object_del(h->records, key);
        json_object_del(h->reported, key);
}

void health_store_replace(struct health *h, const json_t *list) {
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

int health_on_watch_event(const char *type, const json_t *obj, void *userdata) {
        struct health *h = userdata;
        if (strcmp(type, "RELIST") == 0) {
                log_info("watch", "relisted %zu healthrecords after the watch expired",
                         json_array_size(json_object_get(obj, "items")));
                health_store_replace(h, obj);
        } else if (strcmp(type, "DELETED") == 0) {
                log_debug("watch", "healthrecord \"%s/%s\" deleted", health_meta(obj, "namespace"),
                          health_meta(obj, "name"));
                store_delete(h, obj);
        } else {
                log_debug("watch", "healthrecord \"%s/%s\" %s", health_meta(obj, "namespace"),
                          health_meta(obj, "name"), strcmp(type, "ADDED") == 0 ? "added" : "modified");
                store_put(h, obj);
        }
        return 0;
}
