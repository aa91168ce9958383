/* api.c - the sidecar's few API calls over the common/kube client. Retries
 * are the library's (kube_client_write); a status write that must be
 * re-planned after a 409 brings its own recompute (push.c). */
#include <errno.h>
#include <string.h>

#include "api.h"
#include "conditions.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/discovery.h"
#include "log.h"
#include "version.h"

struct api {
        struct kube_config *config;
        struct kube_client *client;
        int64_t (*budget_ms)(void *userdata); /* what the shutdown budget leaves (api_set_budget) */
        void *budget_userdata;
};

void api_set_budget(struct api *api, int64_t (*budget_ms)(void *userdata), void *userdata) {
        api->budget_ms = budget_ms;
        api->budget_userdata = userdata;
}

int api_new(const struct sidecar_config *cfg, struct api **ret, struct kstatus_error *err) {
        /* In a Pod the service account; elsewhere (tests, the demo, a laptop) a
         * kubeconfig exactly as kubectl reads it, KUBECONFIG list included. */
        struct kube_config_options opts = {
                .source = KUBE_CONFIG_IN_CLUSTER_FIRST,
                .kubeconfig = cfg->kubeconfig,
                .context = cfg->context,
        };
        _cleanup_free_ struct api *api = xcalloc(1, sizeof(struct api));
        int r = kube_config_load(&opts, &api->config, err);
        if (r < 0)
                return r;
        struct kube_client_options copts = {
                .request_timeout_ms = cfg->request_timeout_ms,
                .user_agent = "kstatus-sidecar/" KSTATUS_VERSION,
                .max_response_bytes = cfg->max_response_bytes,
                .max_response_memory = cfg->max_response_memory,
        };
        r = kube_client_new(api->config, &copts, &api->client, err);
        if (r < 0) {
                kube_config_free(api->config);
                return r;
        }
        *ret = TAKE_PTR(api);
        return 0;
}

void api_free(struct api *api) {
        if (!api)
                return;
        kube_client_free(api->client);
        kube_config_free(api->config);
        free(api);
}

void api_counters(const struct api *api, unsigned *requests, unsigned *connections) {
        kube_client_counters(api->client, requests, connections);
}

struct kube_client *api_client(struct api *api) {
        return api->client;
}

static void log_retry(void *userdata, const struct kstatus_error *err, int64_t wait_ms) {
        log_warning("api", "cannot read %s: %s; retrying in %lld ms", (const char *)userdata, err->message,
                    (long long)wait_ms);
}

int api_get(struct api *api, const char *path, int64_t deadline_ms, json_t **ret, struct kstatus_error *err) {
        struct kube_retry_policy policy = { .deadline_ms = deadline_ms, .on_retry = log_retry, .userdata = (void *)path,
                                            .budget_ms = api->budget_ms, .budget_userdata = api->budget_userdata };
        return kube_client_write(api->client, "GET", path, NULL, NULL, &policy, ret, err);
}

int api_merge_patch(struct api *api, const char *path, const json_t *patch, const struct kube_retry_policy *policy,
                    json_t **ret, struct kstatus_error *err) {
        struct kube_retry_policy p = *policy;
        p.budget_ms = api->budget_ms;
        p.budget_userdata = api->budget_userdata;
        return kube_client_patch(api->client, path, NULL, KUBE_PATCH_MERGE, patch, &p, ret, err);
}

int api_create_event(struct api *api, const struct kstatus_object_ref *obj, const char *uid, const char *type,
                     const char *reason, const char *message, struct kstatus_error *err) {
        /* Events about a cluster-scoped object live in "default", as kubectl's recorder puts them. */
        const char *ns = obj->namespace && *obj->namespace ? obj->namespace : "default";
        _cleanup_free_ char *api_version = *obj->group ? xasprintf("%s/%s", obj->group, obj->version)
                                                       : xstrdup(obj->version);
        _cleanup_free_ char *generate = xasprintf("%s.", obj->name);
        _cleanup_free_ char *ns_q = kube_escape(ns);
        _cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/events", ns_q);
        char now[KSTATUS_TIME_LEN];
        kstatus_time_now(now);

        _cleanup_json_ json_t *involved = json_pack("{s:s, s:s}", "apiVersion", api_version, "name", obj->name);
        if (obj->kind)
                json_object_set_new(involved, "kind", json_string(obj->kind));
        if (obj->namespace && *obj->namespace)
                json_object_set_new(involved, "namespace", json_string(obj->namespace));
        if (uid)
                json_object_set_new(involved, "uid", json_string(uid));
        /* kubectl describe prints Event messages raw: a quoted condition type
         * must not drive the user's terminal. */
        _cleanup_free_ char *safe = kstatus_escape_terminal(message);
        /* Event messages are capped by the API server at 1 KiB; cut on a UTF-8 boundary. */
        size_t len = strlen(safe);
        if (len > 1024) {
                len = 1024;
                while (len > 0 && ((unsigned char)safe[len] & 0xC0) == 0x80)
                        len--;
        }
        _cleanup_json_ json_t *body = json_pack(
                "{s:s, s:s, s:{s:s, s:s}, s:O, s:s, s:s%, s:s, s:{s:s}, s:s, s:s, s:i, s:s, s:s}", "apiVersion", "v1",
                "kind", "Event", "metadata", "generateName", generate, "namespace", ns, "involvedObject", involved,
                "reason", reason, "message", safe, len, "type", type, "source", "component", "kstatus-sidecar",
                "firstTimestamp", now, "lastTimestamp", now, "count", 1, "reportingComponent", "kstatus-sidecar",
                "action", "StatusUpdate");
        if (!body)
                return -ENOMEM;
        /* One attempt, within what the shutdown budget leaves. */
        struct kube_retry_policy once = { .budget_ms = api->budget_ms, .budget_userdata = api->budget_userdata };
        return kube_client_create(api->client, path, body, &once, NULL, err);
}

int api_resolve_kind(struct api *api, const char *group, const char *version, const char *kind, char **ret_plural,
                     bool *ret_namespaced, struct kstatus_error *err) {
        /* No disk cache: one lookup at start, and a Pod's root filesystem is read-only. */
        struct kube_discovery_options opts = { .cache_dir = "" };
        _cleanup_(kube_discovery_freep) struct kube_discovery *d = NULL;
        int r = kube_discovery_new(api->client, &opts, &d, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *api_version = group && *group ? xasprintf("%s/%s", group, version) : xstrdup(version);
        struct kube_resource res = { 0 };
        r = kube_discovery_resolve_kind(d, api_version, kind, &res, err);
        if (r < 0)
                return r;
        *ret_plural = TAKE_PTR(res.resource);
        *ret_namespaced = res.namespaced;
        kube_resource_done(&res);
        return 0;
}
