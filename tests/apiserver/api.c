/* api.c - the Kubernetes API: routing, discovery, CRUD with the real
 * server's semantics (resourceVersion, generation, the /status split,
 * finalizers, Status errors), lists with selectors and pages, and watches. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "api.h"
#include "schema.h"
#include "server.h"
#include "yaml-json.h"

struct api_config api_config = { .bookmark_ms = 1000 };

/* ---- replies ---- */

static void reply_json(struct reply *out, int code, json_t *value) {
        out->code = code;
        out->body = json_dumps(value, JSON_COMPACT);
        out->len = out->body ? strlen(out->body) : 0;
        json_decref(value);
}

static const char *reason_for(int code) {
        switch (code) {
        case 400: return "BadRequest";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "NotFound";
        case 405: return "MethodNotAllowed";
        case 406: return "NotAcceptable";
        case 409: return "Conflict";
        case 410: return "Expired";
        case 413: return "RequestEntityTooLarge";
        case 415: return "UnsupportedMediaType";
        case 422: return "Invalid";
        case 429: return "TooManyRequests";
        case 500: return "InternalError";
        case 503: return "ServiceUnavailable";
        case 504: return "Timeout";
        default: return "";
        }
}

/* A metav1.Status failure; details stolen (may be NULL). */
static json_t *status_new(int code, const char *reason, json_t *details, const char *fmt, ...) _printf_(4, 5);
static json_t *status_new(int code, const char *reason, json_t *details, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *msg;
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        va_end(ap);
        json_t *s = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion", "v1",
                              "metadata", "status", "Failure", "message", msg, "reason",
                              reason ? reason : reason_for(code), "code", code);
        if (!reason && !reason_for(code)[0])
                json_object_del(s, "reason");
        if (details)
                json_object_set_new(s, "details", details);
        free(msg);
        return s;
}

#define reply_status(out, code, reason, details, ...) \
        reply_json((out), (code), status_new((code), (reason), (details), __VA_ARGS__))

static json_t *details_for(const struct rtype *t, const char *name) {
        json_t *d = json_object();
        if (name)
                json_object_set_new(d, "name", json_string(name));
        if (t->group[0])
                json_object_set_new(d, "group", json_string(t->group));
        json_object_set_new(d, "kind", json_string(t->plural));
        return d;
}

static void reply_not_found(struct reply *out, const struct rtype *t, const char *name) {
        _cleanup_free_ char *res = rtype_resource_name(t);
        reply_status(out, 404, NULL, details_for(t, name), "%s \"%s\" not found", res, name);
}

static void reply_no_resource(struct reply *out) {
        reply_status(out, 404, NULL, json_object(), "the server could not find the requested resource");
}

static void reply_conflict(struct reply *out, const struct rtype *t, const char *name) {
        _cleanup_free_ char *res = rtype_resource_name(t);
        reply_status(out, 409, "Conflict", details_for(t, name),
                     "Operation cannot be fulfilled on %s \"%s\": the object has been modified; please apply your "
                     "changes to the latest version and try again", res, name);
}

/* 422 Invalid with one cause. */
static void reply_invalid(struct reply *out, const struct rtype *t, const char *name, const char *field,
                          const char *cause_reason, const char *detail) {
        _cleanup_free_ char *qkind = t->group[0] ? xasprintf("%s.%s", t->kind, t->group) : xstrdup(t->kind);
        json_t *details = json_pack("{s:s, s:s, s:[{s:s, s:s, s:s}]}", "name", name ? name : "", "kind",
                                    t->kind, "causes", "reason", cause_reason, "message", detail, "field", field);
        if (t->group[0])
                json_object_set_new(details, "group", json_string(t->group));
        reply_status(out, 422, "Invalid", details, "%s \"%s\" is invalid: %s: %s", qkind, name ? name : "", field,
                     detail);
}

/* 422 Invalid with the causes a schema validation found (stolen). */
static void reply_invalid_causes(struct reply *out, const struct rtype *t, const char *name, json_t *causes) {
        _cleanup_free_ char *qkind = t->group[0] ? xasprintf("%s.%s", t->kind, t->group) : xstrdup(t->kind);
        _cleanup_free_ char *msg = schema_causes_message(causes);
        json_t *details = json_pack("{s:s, s:s, s:o}", "name", name ? name : "", "kind", t->kind, "causes", causes);
        if (t->group[0])
                json_object_set_new(details, "group", json_string(t->group));
        reply_status(out, 422, "Invalid", details, "%s \"%s\" is invalid: %s", qkind, name ? name : "", msg);
}

/* ---- helpers ---- */

static const char *query(struct MHD_Connection *c, const char *key) {
        return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

static const char *header(struct MHD_Connection *c, const char *key) {
        return MHD_lookup_connection_value(c, MHD_HEADER_KIND, key);
}

static bool query_true(struct MHD_Connection *c, const char *key) {
        const char *v = query(c, key);
        return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

static json_t *meta_of(const json_t *obj) {
        return json_object_get(obj, "metadata");
}

static const char *meta_str(const json_t *obj, const char *key) {
        return json_string_value(json_object_get(meta_of(obj), key));
}

static char *object_key(const struct rtype *t, const char *ns, const char *name) {
        return t->namespaced ? xasprintf("%s/%s", ns, name) : xstrdup(name);
}

static bool wants_table(struct MHD_Connection *c) {
        const char *accept = header(c, "Accept");
        return accept && strstr(accept, "as=Table") != NULL;
}

static bool is_rfc1123_label(const char *s, size_t n) {
        if (n == 0 || n > 63)
                return false;
        for (size_t i = 0; i < n; i++) {
                char ch = s[i];
                bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
                if (!alnum && !(ch == '-' && i > 0 && i < n - 1))
                        return false;
        }
        return true;
}

static bool is_rfc1123_subdomain(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 253)
                return false;
        for (const char *p = s;;) {
                size_t m = strcspn(p, ".");
                if (!is_rfc1123_label(p, m))
                        return false;
                if (p[m] == '\0')
                        return true;
                p += m + 1;
        }
}

static const char subdomain_msg[] =
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
        "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
static const char label_msg[] =
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
        "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

/* Validate metadata.name for t; on failure fills out and returns false. */
static bool validate_name(struct reply *out, const struct rtype *t, const char *name) {
        bool label = !t->group[0] && strcmp(t->plural, "namespaces") == 0;
        bool ok = label ? is_rfc1123_label(name, strlen(name)) : is_rfc1123_subdomain(name);
        if (ok)
                return true;
        size_t limit = label ? 63 : 253;
        _cleanup_free_ char *detail = strlen(name) > limit
                                              ? xasprintf("Invalid value: \"%s\": must be no more than %zu characters",
                                                          name, limit)
                                              : xasprintf("Invalid value: \"%s\": %s", name,
                                                          label ? label_msg : subdomain_msg);
        reply_invalid(out, t, name, "metadata.name", "FieldValueInvalid", detail);
        return false;
}

/* Parse a request body as a JSON object; on failure fills out. New reference. */
static json_t *parse_body(struct reply *out, const char *body, size_t len) {
        json_error_t e;
        json_t *v = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &e) : NULL;
        if (!v) {
                reply_status(out, 400, NULL, NULL, "couldn't get version/kind; json parse error: %s",
                             body ? e.text : "unexpected end of JSON input");
                return NULL;
        }
        if (!json_is_object(v)) {
                bool array = json_is_array(v);
                json_decref(v);
                reply_status(out, 400, NULL, NULL,
                             "couldn't get version/kind; json parse error: json: cannot unmarshal %s into Go value "
                             "of type struct { APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string "
                             "\"json:\\\"kind,omitempty\\\"\" }", array ? "array" : "value");
                return NULL;
        }
        return v;
}

/* Check apiVersion/kind of a body against t (filling them in when absent). */
static bool check_kind(struct reply *out, const struct rtype *t, json_t *obj) {
        const char *kind = json_string_value(json_object_get(obj, "kind"));
        const char *av = json_string_value(json_object_get(obj, "apiVersion"));
        _cleanup_free_ char *want_av = rtype_api_version(t);
        if (kind && strcmp(kind, t->kind) != 0) {
                reply_status(out, 400, NULL, NULL, "the kind in the request body (%s) does not match the "
                             "resource (%s)", kind, t->kind);
                return false;
        }
        if (av && strcmp(av, want_av) != 0) {
                reply_status(out, 400, NULL, NULL, "the API version in the data (%s) does not match the expected "
                             "API version (%s)", av, want_av);
                return false;
        }
        json_object_set_new(obj, "kind", json_string(t->kind));
        json_object_set_new(obj, "apiVersion", json_string(want_av));
        if (!json_is_object(meta_of(obj)))
                json_object_set_new(obj, "metadata", json_object());
        return true;
}

static struct rtype *namespaces_type(void) {
        return store_find_type("", "v1", "namespaces");
}

static bool namespace_exists(const char *ns) {
        struct rtype *nt = namespaces_type();
        return nt && json_object_get(nt->objects, ns) != NULL;
}

/* Store obj (stolen) under key, emit an event; locked. */
static void store_put(struct rtype *t, const char *key, json_t *obj, const char *event) {
        json_t *old = json_incref(json_object_get(t->objects, key));
        if (!old)
                t->sorted_valid = false;
        json_object_set(t->objects, key, obj);
        store_emit(t, event, obj, old);
        json_decref(old);
        json_decref(obj);
}

static void set_rv(json_t *obj, uint64_t rv) {
        json_object_set_new(meta_of(obj), "resourceVersion", json_sprintf("%llu", (unsigned long long)rv));
}

/* Delete key now: a new rv, the DELETED event carries it. Returns the
 * object as deleted (new reference). Locked. */
static json_t *store_remove(struct rtype *t, const char *key);

/* ---- CRDs ---- */

static int crd_check(const json_t *crd, const char **ret_field, char **ret_detail) {
        const json_t *spec = json_object_get(crd, "spec");
        const json_t *names = json_object_get(spec, "names");
        const char *group = json_string_value(json_object_get(spec, "group"));
        const char *plural = json_string_value(json_object_get(names, "plural"));
        const char *kind = json_string_value(json_object_get(names, "kind"));
        const char *scope = json_string_value(json_object_get(spec, "scope"));
        const char *name = meta_str(crd, "name");
        const json_t *versions = json_object_get(spec, "versions");
#define FAIL(f, ...)                                     \
        do {                                             \
                *ret_field = (f);                        \
                *ret_detail = xasprintf(__VA_ARGS__);    \
                return -EINVAL;                          \
        } while (0)
        if (!group || !group[0])
                FAIL("spec.group", "Required value");
        if (!strchr(group, '.') || !is_rfc1123_subdomain(group))
                FAIL("spec.group", "Invalid value: \"%s\": should be a domain with at least one dot", group);
        if (!plural || !plural[0])
                FAIL("spec.names.plural", "Required value");
        if (!is_rfc1123_label(plural, strlen(plural)))
                FAIL("spec.names.plural", "Invalid value: \"%s\": %s", plural, label_msg);
        if (!kind || !kind[0])
                FAIL("spec.names.kind", "Required value");
        _cleanup_free_ char *want_name = xasprintf("%s.%s", plural, group);
        if (!name || strcmp(name, want_name) != 0)
                FAIL("metadata.name", "Invalid value: \"%s\": must be spec.names.plural+\".\"+spec.group",
                     name ? name : "");
        if (!scope || (strcmp(scope, "Namespaced") != 0 && strcmp(scope, "Cluster") != 0))
                FAIL("spec.scope", "Unsupported value: \"%s\": supported values: \"Cluster\", \"Namespaced\"",
                     scope ? scope : "");
        if (!json_is_array(versions) || json_array_size(versions) == 0)
                FAIL("spec.versions", "Invalid value: null: must have exactly one version marked as storage "
                                      "version");
        size_t i, storage = 0;
        json_t *v;
        json_array_foreach(versions, i, v) {
                const char *vn = json_string_value(json_object_get(v, "name"));
                if (!vn || !is_rfc1123_label(vn, strlen(vn)))
                        FAIL("spec.versions[0].name", "Invalid value: \"%s\": %s", vn ? vn : "", label_msg);
                if (!json_is_boolean(json_object_get(v, "served")))
                        FAIL("spec.versions[0].served", "Required value");
                storage += json_is_true(json_object_get(v, "storage"));
                if (!json_is_object(json_object_get(json_object_get(v, "schema"), "openAPIV3Schema")))
                        FAIL("spec.versions[0].schema.openAPIV3Schema", "Required value: schemas are required");
                const json_t *cols = json_object_get(v, "additionalPrinterColumns");
                size_t j;
                json_t *col;
                json_array_foreach(cols, j, col) {
                        const char *cn = json_string_value(json_object_get(col, "name"));
                        const char *ct = json_string_value(json_object_get(col, "type"));
                        const char *cp = json_string_value(json_object_get(col, "jsonPath"));
                        if (!cn || !cn[0])
                                FAIL("spec.versions[0].additionalPrinterColumns[0].name", "Required value");
                        if (!ct || (strcmp(ct, "string") && strcmp(ct, "integer") && strcmp(ct, "number") &&
                                    strcmp(ct, "boolean") && strcmp(ct, "date")))
                                FAIL("spec.versions[0].additionalPrinterColumns[0].type",
                                     "Unsupported value: \"%s\": supported values: \"boolean\", \"date\", "
                                     "\"integer\", \"number\", \"string\"", ct ? ct : "");
                        if (!cp || cp[0] != '.')
                                FAIL("spec.versions[0].additionalPrinterColumns[0].jsonPath",
                                     "Invalid value: \"%s\": must be a simple json path starting with .",
                                     cp ? cp : "");
                }
        }
        if (storage != 1)
                FAIL("spec.versions", "Invalid value: %zu: must have exactly one version marked as storage version",
                     storage);
#undef FAIL
        return 0;
}

static json_t *crd_status(const json_t *crd, const json_t *old_status) {
        const json_t *spec = json_object_get(crd, "spec");
        const json_t *names = json_object_get(spec, "names");
        json_t *accepted = json_deep_copy(names);
        if (!json_object_get(accepted, "singular"))
                json_object_set_new(accepted, "singular",
                                    json_string(json_string_value(json_object_get(names, "plural"))));
        if (!json_object_get(accepted, "listKind"))
                json_object_set_new(accepted, "listKind",
                                    json_sprintf("%sList", json_string_value(json_object_get(names, "kind"))));
        _cleanup_free_ char *now = now_rfc3339();
        const json_t *old_conds = json_object_get(old_status, "conditions");
        json_t *stored = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(spec, "versions"), i, v) if (json_is_true(json_object_get(v, "storage")))
                json_array_append(stored, json_object_get(v, "name"));
        if (old_conds)
                return json_pack("{s:o, s:O, s:o}", "acceptedNames", accepted, "conditions", old_conds,
                                 "storedVersions", stored);
        return json_pack("{s:o, s:[{s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s}], s:o}", "acceptedNames",
                         accepted, "conditions", "type", "NamesAccepted", "status", "True", "lastTransitionTime",
                         now, "reason", "NoConflicts", "message", "no conflicts found", "type", "Established",
                         "status", "True", "lastTransitionTime", now, "reason", "InitialNamesAccepted", "message",
                         "the initial names have been accepted", "storedVersions", stored);
}

/* Make the CRD's versions servable (locked). */
static void crd_register(const json_t *crd) {
        const json_t *spec = json_object_get(crd, "spec");
        const json_t *names = json_object_get(spec, "names");
        const char *group = json_string_value(json_object_get(spec, "group"));
        const char *plural = json_string_value(json_object_get(names, "plural"));
        const char *singular = json_string_value(json_object_get(names, "singular"));
        const char *kind = json_string_value(json_object_get(names, "kind"));
        const char *list_kind = json_string_value(json_object_get(names, "listKind"));
        const char *crd_name = meta_str(crd, "name");
        bool namespaced = strcmp(json_string_value(json_object_get(spec, "scope")), "Namespaced") == 0;

        for (struct rtype *t = store_types; t; t = t->next)
                if (t->crd_name && strcmp(t->crd_name, crd_name) == 0)
                        t->served = false;
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(spec, "versions"), i, v) {
                if (!json_is_true(json_object_get(v, "served")))
                        continue;
                const char *version = json_string_value(json_object_get(v, "name"));
                struct rtype *t = NULL;
                for (struct rtype *x = store_types; x; x = x->next)
                        if (strcmp(x->group, group) == 0 && strcmp(x->version, version) == 0 &&
                            strcmp(x->plural, plural) == 0)
                                t = x;
                if (!t) {
                        t = xcalloc(1, sizeof(*t));
                        t->objects = json_object();
                        t->group = xstrdup(group);
                        t->version = xstrdup(version);
                        t->plural = xstrdup(plural);
                        struct rtype **tail = &store_types;
                        while (*tail)
                                tail = &(*tail)->next;
                        *tail = t;
                }
                free(t->singular);
                free(t->kind);
                free(t->list_kind);
                free(t->crd_name);
                t->singular = xstrdup(singular ? singular : plural);
                t->kind = xstrdup(kind);
                t->list_kind = list_kind ? xstrdup(list_kind) : xasprintf("%sList", kind);
                t->crd_name = xstrdup(crd_name);
                t->namespaced = namespaced;
                t->status_sub = json_object_get(json_object_get(v, "subresources"), "status") != NULL;
                t->has_generation = true;
                t->strategic = false;
                t->unconditional_update = false;
                t->served = true;
                t->table = TABLE_DEFAULT;
                json_decref(t->short_names);
                json_decref(t->categories);
                json_decref(t->columns);
                json_decref(t->schema);
                t->schema = json_deep_copy(json_object_get(json_object_get(v, "schema"), "openAPIV3Schema"));
                const json_t *sn = json_object_get(names, "shortNames"), *cat = json_object_get(names, "categories");
                t->short_names = json_is_array(sn) ? json_deep_copy(sn) : json_array();
                t->categories = json_is_array(cat) ? json_deep_copy(cat) : json_array();
                const json_t *cols = json_object_get(v, "additionalPrinterColumns");
                /* Without printer columns a CRD shows Age, as apiextensions defaults it. */
                t->columns = json_is_array(cols) && json_array_size(cols) > 0
                                     ? json_deep_copy(cols)
                                     : json_pack("[{s:s, s:s, s:s}]", "name", "Age", "type", "date", "jsonPath",
                                                 ".metadata.creationTimestamp");
        }
}

/* The CRD is gone: its objects go too, its types stop being served (locked). */
static void crd_unregister(const char *crd_name) {
        for (struct rtype *t = store_types; t; t = t->next) {
                if (!t->crd_name || strcmp(t->crd_name, crd_name) != 0)
                        continue;
                size_t n;
                const char **keys = rtype_sorted_keys(t, &n);
                _cleanup_free_ char **copy = xcalloc(n ? n : 1, sizeof(char *));
                for (size_t i = 0; i < n; i++)
                        copy[i] = xstrdup(keys[i]);
                for (size_t i = 0; i < n; i++) {
                        json_decref(store_remove(t, copy[i]));
                        free(copy[i]);
                }
                t->served = false;
        }
}

static bool is_crd_type(const struct rtype *t) {
        return strcmp(t->group, "apiextensions.k8s.io") == 0 && strcmp(t->plural, "customresourcedefinitions") == 0;
}

static bool is_core(const struct rtype *t, const char *plural) {
        return !t->group[0] && strcmp(t->plural, plural) == 0;
}

static json_t *store_remove(struct rtype *t, const char *key) {
        json_t *obj = json_incref(json_object_get(t->objects, key));
        if (!obj)
                return NULL;
        json_t *gone = json_deep_copy(obj);
        json_decref(obj);
        set_rv(gone, ++store_rv);
        json_object_del(t->objects, key);
        t->sorted_valid = false;
        store_emit(t, "DELETED", gone, NULL);
        if (is_crd_type(t))
                crd_unregister(meta_str(gone, "name"));
        if (is_core(t, "namespaces")) {
                /* Namespace deletion takes everything in it (without the
                 * real server's Terminating phase). */
                _cleanup_free_ char *prefix = xasprintf("%s/", meta_str(gone, "name"));
                for (struct rtype *x = store_types; x; x = x->next) {
                        if (!x->namespaced)
                                continue;
                        size_t n;
                        const char **keys = rtype_sorted_keys(x, &n);
                        json_t *doomed = json_array();
                        for (size_t i = 0; i < n; i++)
                                if (str_has_prefix(keys[i], prefix))
                                        json_array_append_new(doomed, json_string(keys[i]));
                        size_t i;
                        json_t *k;
                        json_array_foreach(doomed, i, k) json_decref(store_remove(x, json_string_value(k)));
                        json_decref(doomed);
                }
        }
        return gone;
}

/* ---- discovery ---- */

static json_t *resource_list(const char *group, const char *version) {
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
        }
        if (!any) {
                json_decref(resources);
                return NULL;
        }
        _cleanup_free_ char *gv = group[0] ? xasprintf("%s/%s", group, version) : xstrdup(version);
        return json_pack("{s:s, s:s, s:s, s:o}", "kind", "APIResourceList", "apiVersion", "v1", "groupVersion", gv,
                         "resources", resources);
}

static json_t *api_group(const char *group) {
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

static json_t *api_groups(void) {
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

static void do_openapi_v3(const char *rest, struct reply *out) {
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

/* ---- reads ---- */

struct list_opts {
        struct selector *labels, *fields;
        const char *ns; /* NULL: all namespaces */
        bool table;
        const char *include_object;
};

static bool object_matches(const struct list_opts *o, const struct rtype *t, const json_t *obj) {
        if (o->ns && t->namespaced) {
                const char *ns = meta_str(obj, "namespace");
                if (!ns || strcmp(ns, o->ns) != 0)
                        return false;
        }
        return label_selector_match(o->labels, obj) && field_selector_match(o->fields, obj);
}

static json_t *table_new(const struct rtype *t, json_t *rows, uint64_t rv, bool columns, const char *cont) {
        json_t *tbl = json_pack("{s:s, s:s, s:{s:s++}}", "kind", "Table", "apiVersion", "meta.k8s.io/v1", "metadata",
                                "resourceVersion", "", "", "");
        set_rv(tbl, rv);
        if (cont)
                json_object_set_new(meta_of(tbl), "continue", json_string(cont));
        if (columns)
                json_object_set_new(tbl, "columnDefinitions", table_columns(t));
        json_object_set_new(tbl, "rows", rows);
        return tbl;
}

static void do_list(struct MHD_Connection *c, struct rtype *t, struct list_opts *o, struct reply *out) {
        int64_t limit = 0;
        const char *limit_s = query(c, "limit"), *cont = query(c, "continue");
        if (limit_s && parse_int64(limit_s, 0, INT64_MAX, &limit) < 0) {
                reply_status(out, 400, NULL, NULL, "invalid limit \"%s\"", limit_s);
                return;
        }
        json_t *items = json_array();
        char *next = NULL;
        uint64_t rv;
        pthread_mutex_lock(&store_lock);
        rv = store_rv;
        const char *by_name = field_selector_name(o->fields);
        if (by_name && (o->ns || !t->namespaced)) {
                /* kubectl wait and get -w NAME: a direct lookup. */
                _cleanup_free_ char *key = object_key(t, o->ns, by_name);
                json_t *obj = json_object_get(t->objects, key);
                if (obj && object_matches(o, t, obj))
                        json_array_append(items, obj);
        } else {
                size_t n;
                const char **keys = rtype_sorted_keys(t, &n);
                size_t lo = 0, hi = n;
                _cleanup_free_ char *prefix = o->ns && t->namespaced ? xasprintf("%s/", o->ns) : NULL;
                const char *start = cont ? cont : prefix;
                if (start) /* first key > continue token, or >= "ns/" */
                        while (lo < hi) {
                                size_t mid = (lo + hi) / 2;
                                int cmp = strcmp(keys[mid], start);
                                if (cmp < 0 || (cont && cmp == 0))
                                        lo = mid + 1;
                                else
                                        hi = mid;
                        }
                for (size_t i = lo; i < n; i++) {
                        if (prefix && !str_has_prefix(keys[i], prefix))
                                break; /* keys are sorted: the namespace's run is over */
                        json_t *obj = json_object_get(t->objects, keys[i]);
                        if (!object_matches(o, t, obj))
                                continue;
                        if (limit > 0 && (int64_t)json_array_size(items) == limit) {
                                /* More to come: the token is the last key returned. */
                                json_t *last = json_array_get(items, json_array_size(items) - 1);
                                next = object_key(t, meta_str(last, "namespace"), meta_str(last, "name"));
                                break;
                        }
                        json_array_append(items, obj);
                }
        }
        pthread_mutex_unlock(&store_lock);

        if (o->table) {
                time_t now = time(NULL);
                json_t *rows = json_array();
                size_t i;
                json_t *obj;
                json_array_foreach(items, i, obj) json_array_append_new(rows, table_row(t, obj, o->include_object, now));
                json_decref(items);
                reply_json(out, 200, table_new(t, rows, rv, true, next));
        } else {
                _cleanup_free_ char *av = rtype_api_version(t);
                json_t *list = json_pack("{s:s, s:s, s:{s:s++}, s:o}", "kind", t->list_kind, "apiVersion", av,
                                         "metadata", "resourceVersion", "", "", "", "items", items);
                set_rv(list, rv);
                if (next)
                        json_object_set_new(meta_of(list), "continue", json_string(next));
                reply_json(out, 200, list);
        }
        free(next);
}

/* ---- watch ---- */

struct watch {
        struct MHD_Connection *conn;
        struct rtype *t;
        struct list_opts o;
        uint64_t since;
        bool bookmarks;
        bool columns_sent;
        bool done;
        struct timespec deadline;
        struct timespec next_bookmark;
        char *buf;
        size_t len, off, cap;
        json_t *pending; /* [type, object] pairs collected under the lock */
};

static void wbuf_append(struct watch *w, const char *s, size_t n) {
        if (w->len + n + 1 > w->cap) {
                w->cap = (w->len + n + 1) * 2;
                w->buf = xrealloc(w->buf, w->cap);
        }
        memcpy(w->buf + w->len, s, n);
        w->len += n;
}

static void watch_write_event(struct watch *w, const char *type, json_t *obj) {
        json_t *ev;
        if (w->o.table && strcmp(type, "ERROR") != 0 && strcmp(type, "BOOKMARK") != 0) {
                json_t *rows = json_array();
                json_array_append_new(rows, table_row(w->t, obj, w->o.include_object, time(NULL)));
                const char *rv = meta_str(obj, "resourceVersion");
                int64_t n = 0;
                if (rv)
                        (void)parse_int64(rv, 0, INT64_MAX, &n);
                ev = json_pack("{s:s, s:o}", "type", type, "object",
                               table_new(w->t, rows, (uint64_t)n, !w->columns_sent, NULL));
                w->columns_sent = true;
        } else
                ev = json_pack("{s:s, s:O}", "type", type, "object", obj);
        char *s = json_dumps(ev, JSON_COMPACT);
        wbuf_append(w, s, strlen(s));
        wbuf_append(w, "\n", 1);
        free(s);
        json_decref(ev);
}

static void collect_event(const struct event *ev, void *userdata) {
        struct watch *w = userdata;
        if (ev->rt != w->t)
                return;
        /* As the real server's watch cache: an object that starts or stops
         * matching the selectors is ADDED or DELETED for this watcher. */
        bool now = object_matches(&w->o, w->t, ev->object);
        bool before = ev->old && object_matches(&w->o, w->t, ev->old);
        const char *type = ev->type;
        if (strcmp(type, "MODIFIED") == 0) {
                if (!now && !before)
                        return;
                type = now && before ? "MODIFIED" : now ? "ADDED" : "DELETED";
        } else if (!now)
                return;
        json_array_append_new(w->pending, json_pack("[s, O]", type, ev->object));
}

static bool ts_before(const struct timespec *a, const struct timespec *b) {
        return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void ts_add_ms(struct timespec *ts, int64_t ms) {
        ts->tv_sec += ms / 1000;
        ts->tv_nsec += (ms % 1000) * 1000000L;
        if (ts->tv_nsec >= 1000000000L) {
                ts->tv_sec++;
                ts->tv_nsec -= 1000000000L;
        }
}

/* Has the client gone away? (A closed socket reads as EOF.) */
static bool client_gone(struct watch *w) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(w->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci)
                return false;
        struct pollfd p = { .fd = ci->connect_fd, .events = POLLIN | POLLRDHUP };
        if (poll(&p, 1, 0) <= 0)
                return false;
        if (p.revents & (POLLRDHUP | POLLHUP | POLLERR))
                return true;
        char ch;
        return recv(ci->connect_fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

ssize_t watch_read(void *cls, uint64_t pos, char *buf, size_t max) {
        struct watch *w = cls;
        while (w->off == w->len) {
                w->off = w->len = 0;
                if (w->done || server_stopping)
                        return MHD_CONTENT_READER_END_OF_STREAM;
                struct timespec now;
                clock_gettime(CLOCK_MONOTONIC, &now);
                if (!ts_before(&now, &w->deadline))
                        return MHD_CONTENT_READER_END_OF_STREAM;
                /* An outage cuts open streams too; a client that left frees its thread. */
                if (outage_active() || client_gone(w))
                        return MHD_CONTENT_READER_END_WITH_ERROR;

                pthread_mutex_lock(&store_lock);
                w->since = store_events_since(w->since, collect_event, w);
                if (json_array_size(w->pending) == 0) {
                        struct timespec until = now;
                        ts_add_ms(&until, 1000);
                        if (ts_before(&w->deadline, &until))
                                until = w->deadline;
                        if (w->bookmarks && ts_before(&w->next_bookmark, &until))
                                until = w->next_bookmark;
                        pthread_cond_timedwait(&store_cond, &store_lock, &until);
                        w->since = store_events_since(w->since, collect_event, w);
                }
                uint64_t rv = store_rv;
                pthread_mutex_unlock(&store_lock);

                size_t i;
                json_t *pair;
                json_array_foreach(w->pending, i, pair)
                        watch_write_event(w, json_string_value(json_array_get(pair, 0)), json_array_get(pair, 1));
                json_array_clear(w->pending);

                clock_gettime(CLOCK_MONOTONIC, &now);
                if (w->bookmarks && !ts_before(&now, &w->next_bookmark)) {
                        _cleanup_free_ char *av = rtype_api_version(w->t);
                        json_t *bm = json_pack("{s:s, s:s, s:{s:s++}}", "kind", w->t->kind, "apiVersion", av,
                                               "metadata", "resourceVersion", "", "", "");
                        set_rv(bm, w->since > rv ? w->since : rv);
                        watch_write_event(w, "BOOKMARK", bm);
                        json_decref(bm);
                        w->next_bookmark = now;
                        ts_add_ms(&w->next_bookmark, api_config.bookmark_ms);
                }
        }
        size_t n = w->len - w->off < max ? w->len - w->off : max;
        memcpy(buf, w->buf + w->off, n);
        w->off += n;
        return (ssize_t)n;
}

void watch_free(void *cls) {
        struct watch *w = cls;
        if (!w)
                return;
        selector_free(w->o.labels);
        selector_free(w->o.fields);
        free((char *)w->o.ns);
        free((char *)w->o.include_object);
        json_decref(w->pending);
        free(w->buf);
        free(w);
}

static void do_watch(struct MHD_Connection *c, struct rtype *t, struct list_opts *o, struct reply *out) {
        struct watch *w = xcalloc(1, sizeof(*w));
        w->conn = c;
        w->t = t;
        w->o = *o;
        w->o.ns = o->ns ? xstrdup(o->ns) : NULL;
        w->o.include_object = o->include_object ? xstrdup(o->include_object) : NULL;
        o->labels = o->fields = NULL; /* moved */
        w->pending = json_array();
        w->bookmarks = query_true(c, "allowWatchBookmarks");

        int64_t timeout = 1800;
        const char *ts = query(c, "timeoutSeconds");
        if (ts && parse_int64(ts, 0, INT32_MAX, &timeout) < 0)
                timeout = 1800;
        clock_gettime(CLOCK_MONOTONIC, &w->deadline);
        w->next_bookmark = w->deadline;
        ts_add_ms(&w->next_bookmark, api_config.bookmark_ms);
        ts_add_ms(&w->deadline, timeout * 1000);

        const char *rv_s = query(c, "resourceVersion");
        int64_t rv = 0;
        if (rv_s && rv_s[0] && parse_int64(rv_s, 0, INT64_MAX, &rv) < 0) {
                watch_free(w);
                reply_status(out, 400, NULL, NULL, "resourceVersion: Invalid value: \"%s\": must be a number",
                             rv_s);
                return;
        }
        pthread_mutex_lock(&store_lock);
        uint64_t oldest = store_oldest_resumable();
        if (rv > 0 && (uint64_t)rv < oldest) {
                pthread_mutex_unlock(&store_lock);
                json_t *st = status_new(410, "Expired", NULL, "too old resource version: %lld (%llu)",
                                        (long long)rv, (unsigned long long)oldest);
                watch_write_event(w, "ERROR", st);
                json_decref(st);
                w->done = true;
        } else if (rv == 0) {
                /* No resourceVersion: the current state as ADDED events, then changes. */
                size_t n;
                const char **keys = rtype_sorted_keys(t, &n);
                for (size_t i = 0; i < n; i++) {
                        json_t *obj = json_object_get(t->objects, keys[i]);
                        if (object_matches(&w->o, t, obj))
                                json_array_append_new(w->pending, json_pack("[s, O]", "ADDED", obj));
                }
                w->since = store_rv;
                pthread_mutex_unlock(&store_lock);
                size_t i;
                json_t *pair;
                json_array_foreach(w->pending, i, pair)
                        watch_write_event(w, "ADDED", json_array_get(pair, 1));
                json_array_clear(w->pending);
        } else {
                w->since = (uint64_t)rv;
                pthread_mutex_unlock(&store_lock);
        }
        out->code = 200;
        out->watch = w;
}

static void do_get(struct rtype *t, const char *ns, const char *name, const struct list_opts *o,
                   struct reply *out) {
        _cleanup_free_ char *key = object_key(t, ns, name);
        pthread_mutex_lock(&store_lock);
        json_t *obj = json_incref(json_object_get(t->objects, key));
        uint64_t rv = store_rv;
        pthread_mutex_unlock(&store_lock);
        if (!obj) {
                reply_not_found(out, t, name);
                return;
        }
        if (o->table) {
                json_t *rows = json_array();
                json_array_append_new(rows, table_row(t, obj, o->include_object, time(NULL)));
                json_decref(obj);
                reply_json(out, 200, table_new(t, rows, rv, true, NULL));
                return;
        }
        reply_json(out, 200, obj);
}

/* ---- writes ---- */

/* Everything but metadata and (when split off) status: what bumps generation. */
static bool spec_changed(const struct rtype *t, const json_t *a, const json_t *b) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)a, k, v) {
                if (strcmp(k, "metadata") == 0 || (t->status_sub && strcmp(k, "status") == 0) ||
                    strcmp(k, "apiVersion") == 0 || strcmp(k, "kind") == 0)
                        continue;
                if (!json_equal(v, json_object_get(b, k)))
                        return true;
        }
        json_object_foreach((json_t *)b, k, v) {
                if (strcmp(k, "metadata") == 0 || (t->status_sub && strcmp(k, "status") == 0) ||
                    strcmp(k, "apiVersion") == 0 || strcmp(k, "kind") == 0)
                        continue;
                if (!json_object_get(a, k))
                        return true;
        }
        return false;
}

/* A Secret's stringData is write-only: fold it into data, base64-encoded. */
static void secret_fold_string_data(json_t *obj) {
        json_t *sd = json_object_get(obj, "stringData");
        if (!json_is_object(sd)) {
                json_object_del(obj, "stringData");
                return;
        }
        json_t *data = json_object_get(obj, "data");
        if (!json_is_object(data)) {
                data = json_object();
                json_object_set_new(obj, "data", data);
        }
        const char *k;
        json_t *v;
        json_object_foreach(sd, k, v) {
                const char *text = json_string_value(v);
                if (!text)
                        continue;
                gnutls_datum_t in = { .data = (unsigned char *)text, .size = (unsigned)strlen(text) }, enc;
                if (in.size == 0)
                        json_object_set_new(data, k, json_string(""));
                else if (gnutls_base64_encode2(&in, &enc) >= 0) {
                        json_object_set_new(data, k, json_stringn((const char *)enc.data, enc.size));
                        gnutls_free(enc.data);
                }
        }
        json_object_del(obj, "stringData");
}

static bool is_dry_run(struct MHD_Connection *c) {
        const char *d = c ? query(c, "dryRun") : NULL;
        return d && d[0];
}

static void do_create(struct MHD_Connection *c, struct rtype *t, const char *ns, const char *body, size_t len,
                      struct reply *out) {
        _cleanup_json_ json_t *obj = parse_body(out, body, len);
        if (!obj || !check_kind(out, t, obj))
                return;
        json_t *meta = meta_of(obj);
        const char *name = json_string_value(json_object_get(meta, "name"));
        const char *gen_name = json_string_value(json_object_get(meta, "generateName"));
        _cleanup_free_ char *generated = NULL;
        if ((!name || !name[0]) && gen_name && gen_name[0]) {
                _cleanup_free_ char *u = uuid_new();
                generated = xasprintf("%s%.5s", gen_name, u);
                name = generated;
                json_object_set_new(meta, "name", json_string(name));
        }
        if (!name || !name[0]) {
                reply_invalid(out, t, "", "metadata.name", "FieldValueRequired",
                              "Required value: name or generateName is required");
                return;
        }
        if (!validate_name(out, t, name))
                return;
        if (t->schema)
                schema_prune(t->schema, obj); /* as the request is decoded: before anything else */
        const char *body_ns = json_string_value(json_object_get(meta, "namespace"));
        if (t->namespaced) {
                if (body_ns && body_ns[0] && strcmp(body_ns, ns) != 0) {
                        reply_status(out, 400, NULL, NULL, "the namespace of the provided object does not match "
                                     "the namespace sent on the request");
                        return;
                }
                json_object_set_new(meta, "namespace", json_string(ns));
        } else
                json_object_del(meta, "namespace");

        if (is_crd_type(t)) {
                const char *field = NULL;
                _cleanup_free_ char *detail = NULL;
                if (crd_check(obj, &field, &detail) < 0) {
                        reply_invalid(out, t, name, field, "FieldValueInvalid", detail);
                        return;
                }
        }

        _cleanup_free_ char *now = now_rfc3339();
        _cleanup_free_ char *uid = uuid_new();
        json_object_set_new(meta, "uid", json_string(uid));
        json_object_set_new(meta, "creationTimestamp", json_string(now));
        json_object_del(meta, "deletionTimestamp");
        json_object_del(meta, "deletionGracePeriodSeconds");
        json_object_del(meta, "managedFields");
        if (t->has_generation)
                json_object_set_new(meta, "generation", json_integer(1));
        else
                json_object_del(meta, "generation");
        if (t->crd_name && t->status_sub)
                json_object_del(obj, "status"); /* create ignores status, like the real server */
        if (is_crd_type(t))
                json_object_set_new(obj, "status", crd_status(obj, NULL));
        if (is_core(t, "namespaces"))
                json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Active"));
        if (is_core(t, "pods") && !json_object_get(json_object_get(obj, "status"), "phase")) {
                if (!json_is_object(json_object_get(obj, "status")))
                        json_object_set_new(obj, "status", json_object());
                json_object_set_new(json_object_get(obj, "status"), "phase", json_string("Pending"));
        }
        if (is_core(t, "secrets")) {
                secret_fold_string_data(obj);
                if (!json_string_value(json_object_get(obj, "type")) ||
                    !json_string_value(json_object_get(obj, "type"))[0])
                        json_object_set_new(obj, "type", json_string("Opaque"));
        }
        if (is_core(t, "events")) {
                if (!json_object_get(obj, "firstTimestamp") && !json_object_get(obj, "eventTime"))
                        json_object_set_new(obj, "firstTimestamp", json_string(now));
                if (!json_object_get(obj, "lastTimestamp") && !json_object_get(obj, "eventTime"))
                        json_object_set_new(obj, "lastTimestamp", json_string(now));
        }

        if (t->schema) {
                json_t *causes = schema_validate(t->schema, obj, NULL);
                if (causes) {
                        reply_invalid_causes(out, t, name, causes);
                        return;
                }
        }

        _cleanup_free_ char *key = object_key(t, ns, name);
        pthread_mutex_lock(&store_lock);
        if (t->namespaced && !namespace_exists(ns)) {
                pthread_mutex_unlock(&store_lock);
                reply_status(out, 404, NULL, json_pack("{s:s, s:s}", "name", ns, "kind", "namespaces"),
                             "namespaces \"%s\" not found", ns);
                return;
        }
        if (json_object_get(t->objects, key)) {
                pthread_mutex_unlock(&store_lock);
                _cleanup_free_ char *res = rtype_resource_name(t);
                reply_status(out, 409, "AlreadyExists", details_for(t, name), "%s \"%s\" already exists", res,
                             name);
                return;
        }
        if (is_dry_run(c)) {
                pthread_mutex_unlock(&store_lock);
                reply_json(out, 201, json_incref(obj));
                return;
        }
        set_rv(obj, ++store_rv);
        if (is_crd_type(t))
                crd_register(obj);
        store_put(t, key, json_incref(obj), "ADDED");
        pthread_mutex_unlock(&store_lock);
        reply_json(out, 201, json_incref(obj));
}

/* Turn `incoming` (what the client wants, stolen) into the stored object
 * that replaces `old` (borrowed) and commit it (locked). subresource:
 * "status" or NULL. Returns the reply. */
static void commit_update(struct MHD_Connection *c, struct rtype *t, const char *key, json_t *old, json_t *incoming,
                          const char *sub, struct reply *out) {
        _cleanup_json_ json_t *next = NULL;
        if (t->schema)
                schema_prune(t->schema, incoming);
        if (sub) {
                /* /status: keep everything but status (and nothing else). */
                next = json_deep_copy(old);
                json_t *st = json_object_get(incoming, "status");
                if (st)
                        json_object_set(next, "status", st);
                else
                        json_object_del(next, "status");
                if (is_core(t, "pods") || is_core(t, "namespaces")) {
                        /* The real pod status strategy also keeps labels/annotations as sent? No: old. */
                }
        } else {
                next = json_incref(incoming);
                if (t->status_sub) {
                        json_t *st = json_object_get(old, "status");
                        if (st)
                                json_object_set(next, "status", st);
                        else
                                json_object_del(next, "status");
                }
                if (is_crd_type(t))
                        json_object_set_new(next, "status",
                                            crd_status(next, json_object_get(old, "status")));
                json_t *meta = meta_of(next), *ometa = meta_of(old);
                static const char *const kept[] = { "name", "namespace", "uid", "creationTimestamp",
                                                    "deletionTimestamp", "deletionGracePeriodSeconds",
                                                    "generation", "resourceVersion" };
                for (size_t i = 0; i < ELEMENTSOF(kept); i++) {
                        json_t *v = json_object_get(ometa, kept[i]);
                        if (v)
                                json_object_set(meta, kept[i], v);
                        else
                                json_object_del(meta, kept[i]);
                }
                json_object_del(meta, "managedFields");
                if (t->has_generation && spec_changed(t, old, next))
                        json_object_set_new(meta, "generation",
                                            json_integer(json_integer_value(json_object_get(ometa, "generation")) + 1));
        }
        json_decref(incoming);

        if (is_crd_type(t) && !sub) {
                const char *field = NULL;
                _cleanup_free_ char *detail = NULL;
                if (crd_check(next, &field, &detail) < 0) {
                        reply_invalid(out, t, meta_str(old, "name"), field, "FieldValueInvalid", detail);
                        return;
                }
        }

        if (t->schema) {
                json_t *causes = schema_validate(t->schema, next, old);
                if (causes) {
                        reply_invalid_causes(out, t, meta_str(old, "name"), causes);
                        return;
                }
        }

        json_object_set(meta_of(next), "resourceVersion", json_object_get(meta_of(old), "resourceVersion"));
        if (json_equal(next, old)) {
                /* A no-op write changes nothing, not even the resourceVersion. */
                reply_json(out, 200, json_incref(old));
                return;
        }
        if (is_dry_run(c)) {
                reply_json(out, 200, json_incref(next));
                return;
        }
        set_rv(next, ++store_rv);
        if (is_crd_type(t))
                crd_register(next);
        json_t *fins = json_object_get(meta_of(next), "finalizers");
        if (json_object_get(meta_of(next), "deletionTimestamp") && json_array_size(fins) == 0) {
                /* The last finalizer is gone: the deletion completes. */
                store_put(t, key, json_incref(next), "MODIFIED");
                json_decref(store_remove(t, key));
                reply_json(out, 200, json_incref(next));
                return;
        }
        store_put(t, key, json_incref(next), "MODIFIED");
        reply_json(out, 200, json_incref(next));
}

static void do_update(struct MHD_Connection *c, struct rtype *t, const char *ns, const char *name, const char *sub,
                      const char *body, size_t len, struct reply *out) {
        json_t *obj = parse_body(out, body, len);
        if (!obj)
                return;
        if (!check_kind(out, t, obj)) {
                json_decref(obj);
                return;
        }
        const char *body_name = meta_str(obj, "name");
        if (!body_name || strcmp(body_name, name) != 0) {
                reply_status(out, 400, NULL, NULL, "the name of the object (%s) does not match the name on the URL "
                             "(%s)", body_name ? body_name : "", name);
                json_decref(obj);
                return;
        }
        _cleanup_free_ char *key = object_key(t, ns, name);
        pthread_mutex_lock(&store_lock);
        json_t *old = json_object_get(t->objects, key);
        const char *want_rv = meta_str(obj, "resourceVersion");
        if (!old) {
                pthread_mutex_unlock(&store_lock);
                json_decref(obj);
                reply_not_found(out, t, name);
                return;
        }
        if ((!want_rv || !want_rv[0]) && !t->unconditional_update) {
                pthread_mutex_unlock(&store_lock);
                json_decref(obj);
                reply_invalid(out, t, name, "metadata.resourceVersion", "FieldValueInvalid",
                              "Invalid value: 0x0: must be specified for an update");
                return;
        }
        if (want_rv && want_rv[0] && strcmp(want_rv, meta_str(old, "resourceVersion")) != 0) {
                pthread_mutex_unlock(&store_lock);
                json_decref(obj);
                reply_conflict(out, t, name);
                return;
        }
        json_incref(old);
        commit_update(c, t, key, old, obj, sub, out);
        pthread_mutex_unlock(&store_lock);
        json_decref(old);
}

static void do_patch(struct MHD_Connection *c, struct rtype *t, const char *ns, const char *name, const char *sub,
                     const char *body, size_t len, struct reply *out) {
        const char *ct = header(c, "Content-Type");
        _cleanup_free_ char *type = xstrndup(ct ? ct : "", ct ? strcspn(ct, "; ") : 0);
        bool merge = strcmp(type, "application/merge-patch+json") == 0;
        bool json_patch = strcmp(type, "application/json-patch+json") == 0;
        bool strategic = strcmp(type, "application/strategic-merge-patch+json") == 0 && t->strategic;
        if (!merge && !json_patch && !strategic) {
                reply_status(out, 415, NULL, NULL,
                             "the body of the request was in an unknown format - accepted media types include: "
                             "application/json-patch+json, application/merge-patch+json%s",
                             t->strategic ? ", application/strategic-merge-patch+json" : "");
                return;
        }
        json_error_t e;
        _cleanup_json_ json_t *patch = body ? json_loadb(body, len, 0, &e) : NULL;
        if (!patch) {
                reply_status(out, 400, NULL, NULL, "error decoding patch: %s",
                             body ? e.text : "unexpected end of JSON input");
                return;
        }
        if ((merge || strategic) && !json_is_object(patch)) {
                reply_status(out, 400, NULL, NULL, "Invalid JSON Patch");
                return;
        }
        _cleanup_free_ char *key = object_key(t, ns, name);
        pthread_mutex_lock(&store_lock);
        json_t *old = json_incref(json_object_get(t->objects, key));
        if (!old) {
                pthread_mutex_unlock(&store_lock);
                reply_not_found(out, t, name);
                return;
        }
        json_t *next = NULL;
        if (json_patch) {
                struct kstatus_error err = { 0 };
                int r = json_patch_apply(old, patch, &next, &err);
                if (r < 0) {
                        pthread_mutex_unlock(&store_lock);
                        json_decref(old);
                        if (r == -EBADMSG)
                                reply_status(out, 400, NULL, NULL, "%s", err.message);
                        else
                                reply_status(out, 422, NULL, NULL, "%s", err.message);
                        return;
                }
        } else if (strategic)
                next = strategic_merge_patch(old, patch);
        else
                next = apiserver_merge_patch(old, patch);
        if (!json_is_object(next) || !json_is_object(meta_of(next))) {
                pthread_mutex_unlock(&store_lock);
                json_decref(old);
                json_decref(next);
                reply_status(out, 422, NULL, NULL, "the patch removed the object's metadata");
                return;
        }
        const char *want_rv = meta_str(next, "resourceVersion");
        if (want_rv && strcmp(want_rv, meta_str(old, "resourceVersion")) != 0) {
                pthread_mutex_unlock(&store_lock);
                json_decref(old);
                json_decref(next);
                reply_conflict(out, t, name);
                return;
        }
        const char *nn = meta_str(next, "name");
        if (!nn || strcmp(nn, name) != 0) {
                pthread_mutex_unlock(&store_lock);
                json_decref(old);
                json_decref(next);
                reply_invalid(out, t, name, "metadata.name", "FieldValueInvalid",
                              "Invalid value: \"\": field is immutable");
                return;
        }
        commit_update(c, t, key, old, next, sub, out);
        pthread_mutex_unlock(&store_lock);
        json_decref(old);
}

static void do_delete(struct MHD_Connection *c, struct rtype *t, const char *ns, const char *name,
                      struct reply *out) {
        _cleanup_free_ char *key = object_key(t, ns, name);
        pthread_mutex_lock(&store_lock);
        json_t *old = json_object_get(t->objects, key);
        if (!old) {
                pthread_mutex_unlock(&store_lock);
                reply_not_found(out, t, name);
                return;
        }
        if (is_dry_run(c)) {
                reply_json(out, 200, json_incref(old));
                pthread_mutex_unlock(&store_lock);
                return;
        }
        if (json_array_size(json_object_get(meta_of(old), "finalizers")) > 0) {
                /* Finalizers hold the object: mark it and wait for them to go. */
                if (json_object_get(meta_of(old), "deletionTimestamp")) {
                        reply_json(out, 200, json_incref(old));
                        pthread_mutex_unlock(&store_lock);
                        return;
                }
                json_t *next = json_deep_copy(old);
                _cleanup_free_ char *now = now_rfc3339();
                json_object_set_new(meta_of(next), "deletionTimestamp", json_string(now));
                json_object_set_new(meta_of(next), "deletionGracePeriodSeconds", json_integer(0));
                set_rv(next, ++store_rv);
                store_put(t, key, json_incref(next), "MODIFIED");
                pthread_mutex_unlock(&store_lock);
                reply_json(out, 200, next);
                return;
        }
        json_t *gone = store_remove(t, key);
        pthread_mutex_unlock(&store_lock);
        reply_json(out, 200, gone);
}

static void do_delete_collection(struct MHD_Connection *c, struct rtype *t, struct list_opts *o,
                                 struct reply *out) {
        json_t *items = json_array();
        pthread_mutex_lock(&store_lock);
        size_t n;
        const char **keys = rtype_sorted_keys(t, &n);
        json_t *doomed = json_array();
        for (size_t i = 0; i < n; i++)
                if (object_matches(o, t, json_object_get(t->objects, keys[i])))
                        json_array_append_new(doomed, json_string(keys[i]));
        size_t i;
        json_t *k;
        json_array_foreach(doomed, i, k) {
                json_t *obj = json_object_get(t->objects, json_string_value(k));
                if (json_array_size(json_object_get(meta_of(obj), "finalizers")) > 0) {
                        if (!json_object_get(meta_of(obj), "deletionTimestamp")) {
                                json_t *next = json_deep_copy(obj);
                                _cleanup_free_ char *now = now_rfc3339();
                                json_object_set_new(meta_of(next), "deletionTimestamp", json_string(now));
                                set_rv(next, ++store_rv);
                                store_put(t, json_string_value(k), json_incref(next), "MODIFIED");
                                json_array_append_new(items, next);
                        }
                } else
                        json_array_append_new(items, store_remove(t, json_string_value(k)));
        }
        json_decref(doomed);
        uint64_t rv = store_rv;
        pthread_mutex_unlock(&store_lock);
        _cleanup_free_ char *av = rtype_api_version(t);
        json_t *list = json_pack("{s:s, s:s, s:{}, s:o}", "kind", t->list_kind, "apiVersion", av, "metadata",
                                 "items", items);
        set_rv(list, rv);
        reply_json(out, 200, list);
}

/* ---- control endpoint ---- */

static void do_control(const char *method, const char *what, const char *body, size_t len, struct reply *out) {
        json_error_t e;
        if (strcmp(what, "faults") == 0) {
                if (strcmp(method, "GET") == 0) {
                        reply_json(out, 200, json_pack("{s:o}", "faults", faults_list()));
                } else if (strcmp(method, "DELETE") == 0) {
                        faults_clear();
                        reply_json(out, 200, json_pack("{s:o}", "faults", faults_list()));
                } else if (strcmp(method, "POST") == 0) {
                        _cleanup_json_ json_t *spec = body ? json_loadb(body, len, 0, &e) : NULL;
                        struct kstatus_error err = { 0 };
                        if (!spec || faults_add(spec, &err) < 0)
                                reply_status(out, 400, NULL, NULL, "%s", spec ? err.message : "invalid JSON body");
                        else
                                reply_json(out, 200, json_pack("{s:o}", "faults", faults_list()));
                } else
                        reply_status(out, 405, NULL, NULL, "use GET, POST or DELETE");
                return;
        }
        if (strcmp(what, "counters") == 0) {
                if (strcmp(method, "DELETE") == 0)
                        counters_reset();
                reply_json(out, 200, counters_get());
                return;
        }
        if (strcmp(what, "outage") == 0 && strcmp(method, "POST") == 0) {
                _cleanup_json_ json_t *spec = body ? json_loadb(body, len, 0, &e) : NULL;
                json_t *s = json_object_get(spec, "seconds");
                if (!json_is_number(s) || json_number_value(s) < 0 || json_number_value(s) > 3600) {
                        reply_status(out, 400, NULL, NULL, "outage needs {\"seconds\": N} with 0 <= N <= 3600");
                        return;
                }
                /* Reply first: the outage starts once this answer is out (see main.c). */
                outage_start((int64_t)(json_number_value(s) * 1000));
                reply_json(out, 200, json_pack("{s:f}", "seconds", json_number_value(s)));
                return;
        }
        reply_status(out, 404, NULL, NULL, "unknown control endpoint \"%s\"", what);
}

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
        if (!t || (ns && !t->namespaced) || (sub && (strcmp(sub, "status") != 0 || !t->status_sub))) {
                reply_no_resource(out);
                return;
        }
        if (t->namespaced && name && !ns) {
                reply_no_resource(out);
                return;
        }

        struct list_opts o = { .ns = ns, .table = wants_table(c), .include_object = query(c, "includeObject") };
        struct kstatus_error err = { 0 };
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

/* ---- preloading CRDs ---- */

static int preload_file(const char *path) {
        FILE *f = fopen(path, "re");
        if (!f) {
                fprintf(stderr, "error: cannot open \"%s\": %m\n", path);
                return -errno;
        }
        char *buf = NULL;
        size_t cap = 0;
        ssize_t n = getdelim(&buf, &cap, '\0', f);
        fclose(f);
        if (n < 0) {
                free(buf);
                return -EIO;
        }
        json_t *docs = NULL;
        struct kstatus_error err = { 0 };
        int r = kstatus_yaml_parse_stream(buf, (size_t)n, NULL, &docs, &err);
        free(buf);
        if (r < 0) {
                _cleanup_free_ char *msg = kstatus_error_format(&err, path);
                fprintf(stderr, "error: %s\n", msg);
                return r;
        }
        size_t i;
        json_t *doc;
        pthread_mutex_lock(&store_lock);
        struct rtype *crds = store_find_type("apiextensions.k8s.io", "v1", "customresourcedefinitions");
        pthread_mutex_unlock(&store_lock);
        json_array_foreach(docs, i, doc) {
                _cleanup_free_ char *body = json_dumps(doc, JSON_COMPACT);
                struct reply out = { 0 };
                /* The same path as a POST: same validation, same status. */
                do_create(NULL, crds, NULL, body, strlen(body), &out);
                if (out.code != 201) {
                        fprintf(stderr, "error: \"%s\": %.*s\n", path, (int)out.len, out.body);
                        r = -EINVAL;
                }
                free(out.body);
        }
        json_decref(docs);
        return r;
}

static int cmp_cstr(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int api_preload_crds(const char *path) {
        DIR *d = opendir(path);
        if (!d)
                return errno == ENOTDIR ? preload_file(path) : (fprintf(stderr, "error: cannot open \"%s\": %m\n",
                                                                        path), -errno);
        char **files = NULL;
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!str_has_suffix(de->d_name, ".yaml") && !str_has_suffix(de->d_name, ".json"))
                        continue;
                files = xrealloc(files, (n + 1) * sizeof(char *));
                files[n++] = xasprintf("%s/%s", path, de->d_name);
        }
        closedir(d);
        qsort(files, n, sizeof(char *), cmp_cstr);
        int r = 0;
        for (size_t i = 0; i < n; i++) {
                if (r == 0)
                        r = preload_file(files[i]);
                free(files[i]);
        }
        free(files);
        return r;
}

void api_handle_internal_create(const char *group, const char *version, const char *plural, const char *ns,
                                const char *body, struct reply *out) {
        memset(out, 0, sizeof(*out));
        pthread_mutex_lock(&store_lock);
        struct rtype *t = store_find_type(group, version, plural);
        pthread_mutex_unlock(&store_lock);
        if (!t) {
                reply_no_resource(out);
                return;
        }
        do_create(NULL, t, ns, body, strlen(body), out);
}
