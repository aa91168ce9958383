/* health.h - HealthRecords reflected on resources (docs/BEHAVIOUR.md §7), as pure
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

/* True when a valid record's data.resourceRef names (namespace, name); a
 * resourceRef without a namespace names one in the record's own namespace
 * (kstatus's reading, for status.healthRecord). */
bool kstatus_health_record_matches(const json_t *record, const char *namespace, const char *name);

/* Kratix's HealthRecord controller's matching, for status.healthStatus: a
 * valid record counts when its data.resourceRef name and namespace equal
 * (namespace, name) as written (a missing namespace is ""), whichever
 * Promise it names (it must name one: Kratix's CRD requires promiseRef). For a cluster-scoped
 * resource the records still name a namespace (the CRD requires one): the
 * health controller passes the record's own. */
bool kstatus_health_record_matches_exactly(const json_t *record, const char *namespace, const char *name);

/* The health of one resource from `records` (an array of HealthRecord
 * objects, borrowed; invalid and unrelated ones are skipped):
 *   {"healthStatus": {"state": S, "healthRecords": [{state, lastRun, details, source{name,namespace}}…]},
 *    "healthRecord": {state, lastRun, details}}   (the newest record; null when there is none)
 * healthStatus is Kratix's projection: the records that match exactly
 * (kstatus_health_record_matches_exactly), in the order Kratix lists them
 * (by namespace/name as one key), lastRun 0 when unset, the least desirable
 * state (ready when there is none). healthRecord is the seed's form, the
 * newest (largest lastRun) of the records kstatus_health_record_matches.
 * Returns a new reference. */
json_t *kstatus_health_project(const json_t *records, const char *namespace, const char *name);

/* What `kstatus-sidecar health` reflects on one resource. */
struct kstatus_health_target {
        const char *namespace; /* the resource's; "" when cluster-scoped */
        const char *name;
        const json_t *records; /* the records that name it, for healthRecord (borrowed array) */
        /* Every live record, for healthStatus (Kratix matches on resourceRef
         * alone); NULL to leave healthStatus to Kratix's own controller. */
        const json_t *all_records;
};

/* The merge patch for a resource's status (borrowed; NULL or not an object
 * means none) that makes it show its records, or NULL when it shows them
 * already. It names only what it writes: healthRecord, and with all_records
 * healthStatus.state and healthStatus.healthRecords (other keys under
 * healthStatus, Kratix's expectedPromiseVersion, ..., are left alone), so
 * healthStatus written by Kratix's controller is never touched by default.
 * A resource with no records and none of that health in its status gets
 * nothing; one whose records are all gone loses healthRecord and gets
 * healthStatus {state: ready, healthRecords: []}. Nulls in details are
 * dropped, as the API server drops them from a merge patch, so a write always
 * stores exactly what the next comparison expects.
 * Returns a new reference; *state (may be NULL) gets, when a patch is
 * returned, the state written (static string): healthStatus.state with
 * all_records, else healthRecord.state (NULL when it is removed). */
json_t *kstatus_health_status_patch(const json_t *status, const struct kstatus_health_target *t,
                                    const char **state);
