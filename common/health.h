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

/* True when a valid record's data.resourceRef names (namespace, name). */
bool kstatus_health_record_matches(const json_t *record, const char *namespace, const char *name);

/* The health status fragment for one resource from `records` (an array of
 * HealthRecord objects, borrowed; invalid and unrelated ones are skipped):
 *   {"healthStatus": {"state": S, "healthRecords": [{state, lastRun, details, source{name,namespace}}…]},
 *    "healthRecord": {state, lastRun, details}}   (the newest record; null when there is none)
 * healthRecords are ordered by source namespace/name. Returns a new reference. */
json_t *kstatus_health_project(const json_t *records, const char *namespace, const char *name);
