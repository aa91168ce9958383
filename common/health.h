/* health.h - HealthRecords reflected on resources (CONTRACT §7), as pure
 * functions: the controller (`kstatus-sidecar health`) and the plugin's
 * describe both use them. */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "util.h"

/* The states, least desirable first: unhealthy < degraded < unknown < healthy < ready. */
int kstatus_health_rank(const char *state); /* 1..5, or 0 for an unknown word */

/* Check a HealthRecord object: data.resourceRef {name, namespace}, data.state
 * one of the five, data.lastRun an integer when present, data.details a map
 * when present. 0 or -EINVAL with err naming the field. */
int kstatus_health_record_check(const json_t *record, struct kstatus_error *err);

/* What a HealthRecord reports on, for the controller: kstatus_health_record_check()
 * plus data.promiseRef.name, which says which kind of resource resourceRef
 * names. On success *promise, *namespace (resourceRef.namespace, else the
 * record's own) and *name are borrowed from record. 0 or -EINVAL with err. */
int kstatus_health_record_target(const json_t *record, const char **promise, const char **namespace,
                                 const char **name, struct kstatus_error *err);

/* True when a valid record's data.resourceRef names (namespace, name). */
bool kstatus_health_record_matches(const json_t *record, const char *namespace, const char *name);

/* The health status fragment for one resource from `records` (an array of
 * HealthRecord objects, borrowed; invalid and unrelated ones are skipped):
 *   {"healthStatus": {"state": S, "healthRecords": [{state, lastRun, details, source{name,namespace}}…]},
 *    "healthRecord": {state, lastRun, details}}   (the newest record; null when there is none)
 * healthRecords are ordered by source namespace/name. Returns a new reference. */
json_t *kstatus_health_project(const json_t *records, const char *namespace, const char *name);

/* The merge patch for a resource's status (borrowed; NULL or not an object
 * means none) that makes it show `records` (borrowed array; only those that
 * kstatus_health_record_matches (namespace, name) count), or NULL when it
 * shows them already. Only what health owns is compared and written:
 * healthStatus.state, healthStatus.healthRecords and healthRecord; other keys
 * under healthStatus (Kratix's expectedPromiseVersion, ...) are left alone.
 * A resource with no records and no health in its status gets nothing
 * (Kratix writes health only once a record exists); one whose records are all
 * gone gets {state: ready, healthRecords: []} and loses healthRecord. Nulls in
 * details are dropped, as the API server drops them from a merge patch, so
 * a write always stores exactly what the next comparison expects.
 * Returns a new reference; *state (may be NULL) gets the aggregate
 * state (static string) when a patch is returned. */
json_t *kstatus_health_status_patch(const json_t *status, const json_t *records, const char *namespace,
                                    const char *name, const char **state);
