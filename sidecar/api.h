/* api.h - the few API calls the sidecar makes, over the common/kube client.
 * Every call goes through kube_client_write(), the library's one retry policy
 * (one backoff, one notion of transient: kube_error_is_transient()). Each
 * returns 0 or a negative errno with err describing the failure in kubectl's
 * words (never a credential). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "kube/client.h"
#include "sidecar.h"

int api_new(const struct sidecar_config *cfg, struct api **ret, struct kstatus_error *err);
void api_free(struct api *api);
/* Bound every later call by what budget_ms(userdata) returns (ms; <0 while no
 * budget applies): the sidecar's one shutdown deadline. */
void api_set_budget(struct api *api, int64_t (*budget_ms)(void *userdata), void *userdata);
/* The client, for kube_retry_wait_ms() and recompute callbacks (borrowed). */
struct kube_client *api_client(struct api *api);

/* GET path, riding out transient faults for up to deadline_ms (0: one
 * attempt); *ret a new reference. */
int api_get(struct api *api, const char *path, int64_t deadline_ms, json_t **ret, struct kstatus_error *err);
/* PATCH path with a JSON merge patch under policy; *ret (may be NULL) gets the
 * new object (new reference). Returns KUBE_NOTHING_TO_DO when the policy's
 * recompute said so. */
int api_merge_patch(struct api *api, const char *path, const json_t *patch, const struct kube_retry_policy *policy,
                    json_t **ret, struct kstatus_error *err);
/* POST a core/v1 Event about the object (one attempt); failures are returned, never fatal. */
int api_create_event(struct api *api, const struct kstatus_object_ref *obj, const char *uid, const char *type,
                     const char *reason, const char *message, struct kstatus_error *err);
/* The plural and scope of group/version kind, from discovery. */
int api_resolve_kind(struct api *api, const char *group, const char *version, const char *kind, char **ret_plural,
                     bool *ret_namespaced, struct kstatus_error *err);
/* Requests made and connections opened so far. */
void api_counters(const struct api *api, unsigned *requests, unsigned *connections);
