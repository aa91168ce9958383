#include "health.h"
#include "merge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const states[] = { "unhealthy", "degraded", "unknown", "healthy", "ready" };

int kstatus_health_rank(const char *state) {
        if (!state)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(states); i++)
                if (strcmp(state, states[i]) == 0)
                        return (int)i + 1;
        return 0;
}

int kstatus_health_record_check(const json_t *record, struct kstatus_error *err) {
        json_t *data = json_object_get(record, "data");
        if (!json_is_object(data))
                return kstatus_error_set(err, EINVAL, 0, 0, "record has no \"data\"");
        json_t *ref = json_object_get(data, "resourceRef");
        if (!json_is_object(ref))
                return kstatus_error_set(err, EINVAL, 0, 0, "record has no \"data.resourceRef\"");
        if (!json_is_string(json_object_get(ref, "name")) || !json_string_length(json_object_get(ref, "name")))
                return kstatus_error_set(err, EINVAL, 0, 0, "record has no \"data.resourceRef.name\"");
        json_t *ns = json_object_get(ref, "namespace");
        if (ns && !json_is_string(ns))
                return kstatus_error_set(err, EINVAL, 0, 0, "\"data.resourceRef.namespace\" is not a string");
        const char *state = json_string_value(json_object_get(data, "state"));
        if (!state)
                return kstatus_error_set(err, EINVAL, 0, 0, "record has no \"data.state\"");
        if (!kstatus_health_rank(state))
                return kstatus_error_set(err, EINVAL, 0, 0,
                                         "unknown state \"%s\": want unhealthy, degraded, unknown, healthy or ready",
                                         state);
        json_t *last = json_object_get(data, "lastRun");
        if (last && !json_is_null(last) && !json_is_integer(last))
                return kstatus_error_set(err, EINVAL, 0, 0, "\"data.lastRun\" must be a Unix time in seconds");
        json_t *details = json_object_get(data, "details");
        if (details && !json_is_null(details) && !json_is_object(details))
                return kstatus_error_set(err, EINVAL, 0, 0, "\"data.details\" must be a mapping");
        return 0;
}

int kstatus_health_record_target(const json_t *record, const char **promise, const char **namespace,
                                 const char **name, struct kstatus_error *err) {
        int r = kstatus_health_record_check(record, err);
        if (r < 0)
                return r;
        json_t *data = json_object_get(record, "data");
        const char *p = json_string_value(json_object_get(json_object_get(data, "promiseRef"), "name"));
        if (!p || !*p)
                return kstatus_error_set(err, EINVAL, 0, 0, "record has no \"data.promiseRef.name\"");
        json_t *ref = json_object_get(data, "resourceRef");
        const char *ns = json_string_value(json_object_get(ref, "namespace"));
        if (!ns || !*ns)
                ns = json_string_value(json_object_get(json_object_get(record, "metadata"), "namespace"));
        *promise = p;
        *namespace = ns ? ns : "";
        *name = json_string_value(json_object_get(ref, "name"));
        return 0;
}

bool kstatus_health_record_matches(const json_t *record, const char *namespace, const char *name) {
        if (kstatus_health_record_check(record, NULL) < 0)
                return false;
        json_t *ref = json_object_get(json_object_get(record, "data"), "resourceRef");
        const char *n = json_string_value(json_object_get(ref, "name"));
        /* A record without a namespace refers to its own namespace, as Kratix reads it. */
        const char *ns = json_string_value(json_object_get(ref, "namespace"));
        if (!ns || !*ns)
                ns = json_string_value(json_object_get(json_object_get(record, "metadata"), "namespace"));
        return n && strcmp(n, name) == 0 && strcmp(ns ? ns : "", namespace ? namespace : "") == 0;
}

bool kstatus_health_record_matches_exactly(const json_t *record, const char *namespace, const char *name) {
        const char *promise, *target_ns, *target_name;
        /* Kratix's CRD requires promiseRef: a record without one cannot exist there. */
        if (kstatus_health_record_target(record, &promise, &target_ns, &target_name, NULL) < 0)
                return false;
        json_t *ref = json_object_get(json_object_get(record, "data"), "resourceRef");
        const char *n = json_string_value(json_object_get(ref, "name"));
        const char *ns = json_string_value(json_object_get(ref, "namespace"));
        return n && strcmp(n, name) == 0 && strcmp(ns ? ns : "", namespace ? namespace : "") == 0;
}

static const char *meta_str(const json_t *record, const char *key) {
        const char *v = json_string_value(json_object_get(json_object_get(record, "metadata"), key));
        return v ? v : "";
}

/* Kratix lists HealthRecords in the API server's order: by the storage key
 * "<namespace>/<name>" as one string (so "a-b/x" comes before "a/y"). */
static int by_source(const void *a, const void *b) {
        const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
        _cleanup_free_ char *kx = xasprintf("%s/%s", meta_str(x, "namespace"), meta_str(x, "name"));
        _cleanup_free_ char *ky = xasprintf("%s/%s", meta_str(y, "namespace"), meta_str(y, "name"));
        return strcmp(kx, ky);
}

/* {state, healthRecords} as Kratix's getHealthDataAndStates builds it. New reference. */
static json_t *project_health_status(const json_t *records, const char *namespace, const char *name) {
        size_t n = 0, i;
        json_t *r;
        _cleanup_free_ const json_t **matched = xcalloc(json_array_size(records) + 1, sizeof(*matched));
        json_array_foreach(records, i, r) {
                if (kstatus_health_record_matches_exactly(r, namespace, name))
                        matched[n++] = r;
        }
        qsort(matched, n, sizeof(*matched), by_source);

        const char *state = "ready";
        json_t *list = json_array();
        for (i = 0; i < n; i++) {
                json_t *data = json_object_get(matched[i], "data");
                const char *s = json_string_value(json_object_get(data, "state"));
                if (kstatus_health_rank(s) < kstatus_health_rank(state))
                        state = s;
                json_t *last = json_object_get(data, "lastRun");
                json_t *entry = json_pack("{s:s, s:I, s:{s:s, s:s}}", "state", s, "lastRun",
                                          json_is_integer(last) ? json_integer_value(last) : (json_int_t)0, "source",
                                          "name", meta_str(matched[i], "name"), "namespace",
                                          meta_str(matched[i], "namespace"));
                /* details without null members at any depth: the API server
                 * prunes them from a merge patch (evanphx/json-patch's
                 * pruneNulls), so they could never be read back. */
                json_t *details = json_object_get(data, "details");
                if (json_is_object(details))
                        json_object_set_new(entry, "details", kstatus_merge_strip_nulls(details));
                json_array_append_new(list, entry);
        }
        return json_pack("{s:s, s:o}", "state", state, "healthRecords", list);
}

/* The seed's healthRecord: the newest matching record's {state, lastRun,
 * details}, or NULL. New reference. */
static json_t *project_health_record(const json_t *records, const char *namespace, const char *name) {
        const json_t *newest = NULL;
        json_int_t newest_run = 0;
        size_t i;
        json_t *r;
        json_array_foreach(records, i, r) {
                if (!kstatus_health_record_matches(r, namespace, name))
                        continue;
                json_int_t run = json_integer_value(json_object_get(json_object_get(r, "data"), "lastRun"));
                if (!newest || run > newest_run || (run == newest_run && by_source(&r, &newest) < 0)) {
                        newest = r;
                        newest_run = run;
                }
        }
        if (!newest)
                return NULL;
        json_t *data = json_object_get(newest, "data");
        json_t *out = json_pack("{s:s}", "state", json_string_value(json_object_get(data, "state")));
        if (json_is_integer(json_object_get(data, "lastRun")))
                json_object_set(out, "lastRun", json_object_get(data, "lastRun"));
        if (json_is_object(json_object_get(data, "details")))
                json_object_set_new(out, "details", kstatus_merge_strip_nulls(json_object_get(data, "details")));
        return out;
}

json_t *kstatus_health_project(const json_t *records, const char *namespace, const char *name) {
        json_t *legacy = project_health_record(records, namespace, name);
        return json_pack("{s:o, s:o}", "healthStatus", project_health_status(records, namespace, name),
                         "healthRecord", legacy ? legacy : json_null());
}

/* What the status holds of what health writes, in the projection's shape. */
static json_t *owned_part(const json_t *status, bool health_status) {
        json_t *out = json_object();
        json_t *hs = json_object_get(status, "healthStatus");
        if (health_status && json_is_object(hs)) {
                json_t *part = json_object();
                if (json_object_get(hs, "state"))
                        json_object_set(part, "state", json_object_get(hs, "state"));
                if (json_object_get(hs, "healthRecords"))
                        json_object_set(part, "healthRecords", json_object_get(hs, "healthRecords"));
                json_object_set_new(out, "healthStatus", part);
        } else if (health_status && hs)
                json_object_set(out, "healthStatus", hs);
        if (json_object_get(status, "healthRecord"))
                json_object_set(out, "healthRecord", json_object_get(status, "healthRecord"));
        return out;
}

static bool any_match(const json_t *records, bool exactly, const char *namespace, const char *name) {
        size_t i;
        json_t *r;
        json_array_foreach(records, i, r) {
                if (exactly ? kstatus_health_record_matches_exactly(r, namespace, name)
                            : kstatus_health_record_matches(r, namespace, name))
                        return true;
        }
        return false;
}

json_t *kstatus_health_status_patch(const json_t *status, const struct kstatus_health_target *t,
                                    const char **state) {
        if (!json_is_object(status))
                status = NULL;
        bool with_hs = t->all_records != NULL;
        bool legacy_any = any_match(t->records, false, t->namespace, t->name);
        bool hs_any = with_hs && any_match(t->all_records, true, t->namespace, t->name);
        bool shown = json_object_get(status, "healthRecord") || (with_hs && json_object_get(status, "healthStatus"));
        if (!legacy_any && !hs_any && !shown)
                return NULL;

        _cleanup_json_ json_t *want = json_object();
        json_t *legacy = project_health_record(t->records, t->namespace, t->name);
        if (legacy)
                json_object_set_new(want, "healthRecord", legacy);
        if (with_hs)
                json_object_set_new(want, "healthStatus", project_health_status(t->all_records, t->namespace, t->name));
        _cleanup_json_ json_t *have = owned_part(status, with_hs);
        json_t *patch = kstatus_merge_diff(have, want);
        if (patch && state) {
                json_t *from = with_hs ? json_object_get(want, "healthStatus") : legacy;
                int rank = kstatus_health_rank(json_string_value(json_object_get(from, "state")));
                *state = rank ? states[rank - 1] : NULL;
        }
        return patch;
}
