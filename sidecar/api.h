/* api.h - the few API calls the sidecar makes, over the common/kube client.
 * Each returns 0 or a negative errno with a kubectl-style message in err
 * (never a credential). http_code is set when the server answered. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "sidecar.h"

struct api_error {
        int http_code;       /* 0: no answer (connection error, timeout) */
        bool transient;      /* worth retrying: kube_error_is_transient(), or a 409 (re-read and recompute) */
        int64_t retry_after_ms; /* from Retry-After, -1 when absent */
        char message[1024];  /* "Error from server (NotFound): …" or the connection error */
};

int api_new(const struct sidecar_config *cfg, struct api **ret, struct kstatus_error *err);
void api_free(struct api *api);

/* GET path; *ret a new reference. */
int api_get(struct api *api, const char *path, json_t **ret, struct api_error *err);
/* PATCH path with a JSON merge patch; *ret (may be NULL) gets the new object (new reference). */
int api_merge_patch(struct api *api, const char *path, const json_t *patch, json_t **ret, struct api_error *err);
/* POST a core/v1 Event about the object; failures are returned, never fatal. */
int api_create_event(struct api *api, const struct kstatus_object_ref *obj, const char *uid, const char *type,
                     const char *reason, const char *message, struct api_error *err);
/* The plural and scope of group/version kind, from discovery. */
int api_resolve_kind(struct api *api, const char *group, const char *version, const char *kind, char **ret_plural,
                     bool *ret_namespaced, struct api_error *err);
/* Requests made and connections opened so far. */
void api_counters(const struct api *api, unsigned *requests, unsigned *connections);
/* Transient: worth retrying: 409 (re-read), 429, 5xx, or no answer because the
 * connection was refused, reset or timed out. A TLS verification failure,
 * 401/403, 404 and 422 are permanent: retrying them only waits out the deadline. */
bool api_error_is_transient(const struct api_error *err);
