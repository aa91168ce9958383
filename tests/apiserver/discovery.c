/* discovery.c - discovery documents (/api, /apis, group and version lists)
 * and the OpenAPI v3 stubs kubectl reads. */
#include <string.h>
#include <strings.h>

#include "api-internal.h"

/* ---- discovery ---- */

json_t *resource_list(const char *group, const char *version) {
        json_t *resources = json_array();
        bool any = false;
        for (struct rtype *t = store_types; t; t = t->next) {
                if (!t->served || strcmp(t->group, group) != 0 || strcmp(t->version, version) != 0)
                        continue;
                any = true;
                json_t *r = json_pack("{s:s, s:s, s:b, s:s, s:[s,s,s,s,s,s,s,s]}", "name", t->plural,
                                      "singularName", t->singular, "namespaced", t->namespaced, "kind", t->kind,
                                      "verbs", "create", "delete", "deletecollection", "get", "list", "patch",
                                      "update", "watch");
                if (json_array_size(t->short_names))
                        json_object_set(r, "shortNames", t->short_names);
                if (json_array_size(t->categories))
                        json_object_set(r, "categories", t->categories);
                json_array_append_new(resources, r);
                if (t->status_sub) {
                        _cleanup_free_ char *sub = xasprintf("%s/status", t->plural);
                        json_array_append_new(resources,
                                              json_pack("{s:s, s:s, s:b, s:s, s:[s,s,s]}", "name", sub,
                                                        "singularName", "", "namespaced", t->namespaced, "kind",
                                                        t->kind, "verbs", "get", "patch", "update"));
                }
                if (is_core(t, "pods")) /* as kube-apiserver lists it: get only */
                        json_array_append_new(resources,
                                              json_pack("{s:s, s:s, s:b, s:s, s:[s]}", "name", "pods/log",
                                                        "singularName", "", "namespaced", true, "kind", "Pod",
                                                        "verbs", "get"));
        }
        if (!any) {
                json_decref(resources);
                return NULL;
        }
        _cleanup_free_ char *gv = group[0] ? xasprintf("%s/%s", group, version) : xstrdup(version);
        return json_pack("{s:s, s:s, s:s, s:o}", "kind", "APIResourceList", "apiVersion", "v1", "groupVersion", gv,
                         "resources", resources);
}

json_t *api_group(const char *group) {
        json_t *versions = json_array();
        for (struct rtype *t = store_types; t; t = t->next) {
                if (!t->served || strcmp(t->group, group) != 0)
                        continue;
                bool seen = false;
                size_t i;
                json_t *v;
                json_array_foreach(versions, i, v) seen |= strcmp(json_string_value(json_object_get(v, "version")),
                                                                  t->version) == 0;
                if (!seen)
                        json_array_append_new(versions, json_pack("{s:s++, s:s}", "groupVersion", group, "/",
                                                                  t->version, "version", t->version));
        }
        if (json_array_size(versions) == 0) {
                json_decref(versions);
                return NULL;
        }
        return json_pack("{s:s, s:s, s:s, s:o, s:O}", "kind", "APIGroup", "apiVersion", "v1", "name", group,
                         "versions", versions, "preferredVersion", json_array_get(versions, 0));
}

json_t *api_groups(void) {
        json_t *groups = json_array(), *seen = json_object();
        for (struct rtype *t = store_types; t; t = t->next) {
                if (!t->served || !t->group[0] || json_object_get(seen, t->group))
                        continue;
                json_object_set_new(seen, t->group, json_true());
                json_t *g = api_group(t->group);
                json_object_del(g, "kind");
                json_object_del(g, "apiVersion");
                json_array_append_new(groups, g);
        }
        json_decref(seen);
        return json_pack("{s:s, s:s, s:o}", "kind", "APIGroupList", "apiVersion", "v1", "groups", groups);
}

/* ---- OpenAPI v3 ----
 *
 * Just enough for kubectl: it reads /openapi/v3 to learn that the server
 * validates fields itself (a PATCH operation per kind with the
 * fieldValidation query parameter) and then sends fieldValidation=Strict.
 * No schemas are published, so kubectl falls back to its built-in ones for
 * strategic merge patches. */

static json_t *openapi_gv_doc(const char *group, const char *version) {
        json_t *paths = json_object();
        for (struct rtype *t = store_types; t; t = t->next) {
                if (!t->served || strcmp(t->group, group) != 0 || strcmp(t->version, version) != 0)
                        continue;
                _cleanup_free_ char *path = xasprintf("/%s%s/%s%s/%s/{name}", group[0] ? "apis/" : "api",
                                                      group[0] ? group : "", version,
                                                      t->namespaced ? "/namespaces/{namespace}" : "", t->plural);
                json_object_set_new(
                        paths, path,
                        json_pack("{s:{s:{s:s, s:s, s:s}, s:[{s:s, s:s, s:{s:s}}], s:{s:{s:s}}}}", "patch",
                                  "x-kubernetes-group-version-kind", "group", group, "version", version, "kind",
                                  t->kind, "parameters", "name", "fieldValidation", "in", "query", "schema", "type",
                                  "string", "responses", "200", "description", "OK"));
        }
        if (json_object_size(paths) == 0) {
                json_decref(paths);
                return NULL;
        }
        return json_pack("{s:s, s:{s:s, s:s}, s:o}", "openapi", "3.0.0", "info", "title", "Kubernetes", "version",
                         "v1.32.0", "paths", paths);
}

static uint64_t fnv1a(const char *s) {
        uint64_t h = 1469598103934665603ULL;
        for (; *s; s++)
                h = (h ^ (uint8_t)*s) * 1099511628211ULL;
        return h;
}

void do_openapi_v3(const char *rest, struct reply *out) {
        pthread_mutex_lock(&store_lock);
        if (!rest[0]) {
                json_t *paths = json_object();
                for (struct rtype *t = store_types; t; t = t->next) {
                        if (!t->served)
                                continue;
                        _cleanup_free_ char *gv = t->group[0] ? xasprintf("apis/%s/%s", t->group, t->version)
                                                              : xasprintf("api/%s", t->version);
                        if (json_object_get(paths, gv))
                                continue;
                        json_t *doc = openapi_gv_doc(t->group, t->version);
                        _cleanup_free_ char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
                        json_decref(doc);
                        json_object_set_new(paths, gv,
                                            json_pack("{s:s++}", "serverRelativeURL", "/openapi/v3/", gv, ""));
                        json_t *entry = json_object_get(paths, gv);
                        _cleanup_free_ char *url = xasprintf("/openapi/v3/%s?hash=%016llX", gv,
                                                             (unsigned long long)fnv1a(text));
                        json_object_set_new(entry, "serverRelativeURL", json_string(url));
                }
                pthread_mutex_unlock(&store_lock);
                reply_json(out, 200, json_pack("{s:o}", "paths", paths));
                return;
        }
        json_t *doc = NULL;
        _cleanup_free_ char *copy = xstrdup(rest);
        char *a = strtok(copy, "/"), *b = strtok(NULL, "/"), *c = strtok(NULL, "/");
        if (a && strcmp(a, "api") == 0 && b && !c)
                doc = openapi_gv_doc("", b);
        else if (a && strcmp(a, "apis") == 0 && b && c && !strtok(NULL, "/"))
                doc = openapi_gv_doc(b, c);
        pthread_mutex_unlock(&store_lock);
        if (doc)
                reply_json(out, 200, doc);
        else
                reply_no_resource(out);
}
