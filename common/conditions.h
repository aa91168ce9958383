/* conditions.h - Kubernetes-style status conditions (docs/BEHAVIOUR.md §4).
 *
 * kstatus_conditions_set() has meta.SetStatusCondition's semantics (status.yaml's
 * own conditions); kstatus_conditions_mark() has cluster-api's conditions.Set
 * semantics, which Kratix uses for the workflow conditions. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "util.h"

#define KSTATUS_COND_CONFIGURE "ConfigureWorkflowCompleted"
#define KSTATUS_COND_DELETE "DeleteWorkflowCompleted"

#define KSTATUS_REASON_IN_PROGRESS "PipelinesInProgress"
#define KSTATUS_MESSAGE_IN_PROGRESS "Pipelines are still in progress"
#define KSTATUS_REASON_SUCCEEDED "PipelinesExecutedSuccessfully"
#define KSTATUS_MESSAGE_SUCCEEDED "Pipelines completed"
#define KSTATUS_REASON_CONFIGURE_FAILED "ConfigureWorkflowFailed"
#define KSTATUS_MESSAGE_CONFIGURE_FAILED_PREFIX "A Configure Pipeline has failed: "
#define KSTATUS_REASON_DELETE_IN_PROGRESS "DeleteWorkflowInProgress"
#define KSTATUS_MESSAGE_DELETE_IN_PROGRESS "The Delete Pipeline is in progress"
#define KSTATUS_REASON_DELETE_FAILED "DeleteWorkflowFailed"
#define KSTATUS_MESSAGE_DELETE_FAILED "The Delete Pipeline has failed"

/* RFC 3339 UTC time with whole seconds ("2024-08-21T10:27:45Z"). */
#define KSTATUS_TIME_LEN 21
void kstatus_time_format(int64_t unix_seconds, char buf[static KSTATUS_TIME_LEN]);
void kstatus_time_now(char buf[static KSTATUS_TIME_LEN]);
/* Parse RFC 3339 (any offset, optional fraction) to Unix seconds; 0 or -EINVAL. */
int kstatus_time_parse(const char *s, int64_t *ret);

/* True for condition types status.yaml may not set (kstatus owns them), in any letter case. */
bool kstatus_condition_type_is_owned(const char *type);

/* A new condition object (new reference) with only the fields Kratix's schema
 * keeps: type, status, reason and message (lastTransitionTime is set when it
 * is marked). reason and message may be NULL. */
json_t *kstatus_condition_new(const char *type, const char *status, const char *reason, const char *message);

/* The condition of `type` in `conditions` (an array, may be NULL); borrowed or NULL. */
json_t *kstatus_conditions_find(const json_t *conditions, const char *type);

/* Upsert `cond` (borrowed; must have a string type) into `conditions` (an
 * array, modified in place) with meta.SetStatusCondition semantics; `now`
 * stamps lastTransitionTime when the status changes and `cond` carries none.
 * Returns true when the array changed. */
bool kstatus_conditions_set(json_t *conditions, const json_t *cond, const char *now);

/* Set `cond` (borrowed) in `conditions` (an array, modified in place) as
 * Kratix does, with cluster-api's conditions.Set: an existing condition of
 * the same type is replaced, with lastTransitionTime `now`, only when its
 * status, reason or message differ, and kept exactly as it is otherwise; a
 * new type is added (with `now` unless `cond` carries a time); the list is
 * then sorted by type, Ready first. Returns true when the array changed. */
bool kstatus_conditions_mark(json_t *conditions, const json_t *cond, const char *now);

/* Remove the condition of `type`; true when one was removed. */
bool kstatus_conditions_remove(json_t *conditions, const char *type);

/* Check one condition as status.yaml may write it: an object with a non-empty
 * string `type`, `status` True/False/Unknown, a CamelCase `reason` when
 * present, string `message`, RFC 3339 `lastTransitionTime`, integer
 * `observedGeneration`. On failure fills err (message names the field). */
int kstatus_condition_validate(const json_t *cond, struct kstatus_error *err);
