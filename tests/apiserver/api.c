/* api.c - the Kubernetes API over HTTP: a request is routed here to the
 * handlers of reply.c, crd.c, discovery.c, list.c, object.c, control.c. */
#include <string.h>

#include <microhttpd.h>

#include "api-internal.h"

struct api_config api_config = { .bookmark_ms = 1000, .max_log_bytes = 4u * 1024 * 1024 };

/* ---- routing ---- */

void api_handle(struct MHD_Connection *c, const char *method, const char *url, const char *body, size_t len,
                bool too_big, struct reply *out) {
        memset(out, 0, sizeof(*out));
        if (str_has_prefix(url, "/_kstatus/")) {
                do_control(method, url + strlen("/_kstatus/"), body, len, out);
                return;
        }
        if (too_big) {
                reply_status(out, 413, NULL, NULL, "Request entity too large: limit is %u", API_MAX_BODY);
                return;
        }
        if (strcmp(url, "/version") == 0) {
                reply_json(out, 200, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "major", "1",
                                               "minor", "32", "gitVersion", "v1.32.0-kstatus", "gitCommit",
                                               "0000000000000000000000000000000000000000", "gitTreeState", "clean",
                                               "buildDate", "2025-01-01T00:00:00Z", "goVersion", "go1.23.0",
                                               "compiler", "gc", "platform", "linux/amd64"));
                return;
        }
        if (strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0 || strcmp(url, "/livez") == 0) {
                out->code = 200;
                out->body = xstrdup("ok");
                out->len = 2;
                return;
        }
        if (strcmp(url, "/openapi/v2") == 0) {
                /* An empty OpenAPI v2 document (an empty protobuf message):
                 * kubectl's client-side validation then skips kinds it does
                 * not know, as it does for a real server's unknown kinds. */
                out->code = 200;
                out->body = xstrdup("");
                out->len = 0;
                out->content_type = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
                return;
        }
        if (strcmp(url, "/openapi/v3") == 0 || str_has_prefix(url, "/openapi/v3/")) {
                do_openapi_v3(url[11] ? url + 12 : "", out);
                return;
        }
        if (strcmp(url, "/api") == 0 || strcmp(url, "/api/") == 0) {
                reply_json(out, 200, json_pack("{s:s, s:[s], s:[{s:s, s:s}]}", "kind", "APIVersions", "versions",
                                               "v1", "serverAddressByClientCIDRs", "clientCIDR", "0.0.0.0/0",
                                               "serverAddress", api_config.server_url ? api_config.server_url : ""));
                return;
        }
        if (strcmp(url, "/apis") == 0 || strcmp(url, "/apis/") == 0) {
                pthread_mutex_lock(&store_lock);
                json_t *g = api_groups();
                pthread_mutex_unlock(&store_lock);
                reply_json(out, 200, g);
                return;
        }

        /* Split the path. */
        _cleanup_free_ char *copy = xstrdup(url);
        char *seg[16];
        size_t n = 0;
        for (char *save = NULL, *p = strtok_r(copy, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
                if (n == ELEMENTSOF(seg)) {
                        reply_no_resource(out);
                        return;
                }
                seg[n++] = p;
        }
        const char *group, *version;
        size_t i;
        if (n >= 2 && strcmp(seg[0], "api") == 0) {
                group = "";
                version = seg[1];
                i = 2;
        } else if (n >= 2 && strcmp(seg[0], "apis") == 0) {
                group = seg[1];
                if (n == 2) {
                        pthread_mutex_lock(&store_lock);
                        json_t *g = api_group(group);
                        pthread_mutex_unlock(&store_lock);
                        if (g)
                                reply_json(out, 200, g);
                        else
                                reply_no_resource(out);
                        return;
                }
                version = seg[2];
                i = 3;
        } else {
                reply_no_resource(out);
                return;
        }
        if (i == n) {
                if (strcmp(method, "GET") != 0) {
                        reply_status(out, 405, NULL, NULL, "the server does not allow this method on the "
                                     "requested resource");
                        return;
                }
                pthread_mutex_lock(&store_lock);
                json_t *l = resource_list(group, version);
                pthread_mutex_unlock(&store_lock);
                if (l)
                        reply_json(out, 200, l);
                else
                        reply_no_resource(out);
                return;
        }
        const char *ns = NULL;
        if (strcmp(seg[i], "namespaces") == 0 && n - i >= 3 &&
            !(group[0] == '\0' && n - i == 3 && (strcmp(seg[i + 2], "status") == 0 ||
                                                 strcmp(seg[i + 2], "finalize") == 0))) {
                ns = seg[i + 1];
                i += 2;
        }
        const char *resource = seg[i];
        const char *name = n - i >= 2 ? seg[i + 1] : NULL;
        const char *sub = n - i >= 3 ? seg[i + 2] : NULL;
        if (n - i > 3) {
                reply_no_resource(out);
                return;
        }

        pthread_mutex_lock(&store_lock);
        struct rtype *t = store_find_type(group, version, resource);
        pthread_mutex_unlock(&store_lock);
        if (t && ns && name && sub && strcmp(sub, "log") == 0 && is_core(t, "pods")) {
                if (strcmp(method, "GET") == 0)
                        logs_get(c, ns, name, out);
                else
                        reply_status(out, 405, NULL, NULL, "the server does not allow this method on the requested "
                                     "resource");
                return;
        }
        if (!t || (ns && !t->namespaced) || (sub && (strcmp(sub, "status") != 0 || !t->status_sub))) {
                reply_no_resource(out);
                return;
        }
        if (t->namespaced && name && !ns) {
                reply_no_resource(out);
                return;
        }

        struct list_opts o = { .ns = ns, .table = wants_table(c), .include_object = query(c, "includeObject") };
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        if (label_selector_parse(query(c, "labelSelector"), &o.labels, &err) < 0) {
                reply_status(out, 400, NULL, NULL, "unable to parse requirement: %s", err.message);
                return;
        }
        if (field_selector_parse(t, query(c, "fieldSelector"), &o.fields, &err) < 0) {
                selector_free(o.labels);
                reply_status(out, 400, NULL, NULL, "%s", err.message);
                return;
        }

        const char *ct = header(c, "Content-Type");
        _cleanup_free_ char *converted = NULL;
        if (body && ct && str_has_prefix(ct, "application/vnd.kubernetes.protobuf")) {
                /* kubectl's typed generators send protobuf: turn it into JSON. */
                json_t *obj = NULL;
                if (proto_decode_object(body, len, &obj, &err) < 0) {
                        selector_free(o.labels);
                        selector_free(o.fields);
                        reply_status(out, 415, NULL, NULL, "%s", err.message);
                        return;
                }
                converted = json_dumps(obj, JSON_COMPACT);
                json_decref(obj);
                body = converted;
                len = strlen(converted);
        }
        if (!name) {
                if (strcmp(method, "GET") == 0) {
                        if (query_true(c, "watch"))
                                do_watch(c, t, &o, out);
                        else
                                do_list(c, t, &o, out);
                } else if (strcmp(method, "POST") == 0) {
                        if (t->namespaced && !ns)
                                reply_no_resource(out);
                        else
                                do_create(c, t, ns, body, len, out);
                } else if (strcmp(method, "DELETE") == 0)
                        do_delete_collection(c, t, &o, out);
                else
                        reply_status(out, 405, NULL, NULL, "the server does not allow this method on the "
                                     "requested resource");
        } else if (strcmp(method, "GET") == 0)
                do_get(t, ns, name, &o, out);
        else if (strcmp(method, "PUT") == 0)
                do_update(c, t, ns, name, sub, body, len, out);
        else if (strcmp(method, "PATCH") == 0)
                do_patch(c, t, ns, name, sub, body, len, out);
        else if (strcmp(method, "DELETE") == 0 && !sub)
                do_delete(c, t, ns, name, out);
        else
                reply_status(out, 405, NULL, NULL, "the server does not allow this method on the requested "
                             "resource");
        selector_free(o.labels);
        selector_free(o.fields);
}
