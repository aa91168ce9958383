/* reply.c - Status replies worded as kube-apiserver words them, and the
 * request and object helpers every handler uses. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <microhttpd.h>

#include "api-internal.h"
#include "schema.h"

/* ---- replies ---- */

void reply_json(struct reply *out, int code, json_t *value) {
        out->code = code;
        out->body = json_dumps(value, JSON_COMPACT);
        out->len = out->body ? strlen(out->body) : 0;
        json_decref(value);
}

const char *status_reason_for(int code) {
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
json_t *status_new(int code, const char *reason, json_t *details, const char *fmt, ...) _printf_(4, 5);
json_t *status_new(int code, const char *reason, json_t *details, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *msg;
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        va_end(ap);
        json_t *s = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion", "v1",
                              "metadata", "status", "Failure", "message", msg, "reason",
                              reason ? reason : status_reason_for(code), "code", code);
        if (!reason && !status_reason_for(code)[0])
                json_object_del(s, "reason");
        if (details)
                json_object_set_new(s, "details", details);
        free(msg);
        return s;
}

#define reply_status(out, code, reason, details, ...) \
        reply_json((out), (code), status_new((code), (reason), (details), __VA_ARGS__))

json_t *details_for(const struct rtype *t, const char *name) {
        json_t *d = json_object();
        if (name)
                json_object_set_new(d, "name", json_string(name));
        if (t->group[0])
                json_object_set_new(d, "group", json_string(t->group));
        json_object_set_new(d, "kind", json_string(t->plural));
        return d;
}

void reply_not_found(struct reply *out, const struct rtype *t, const char *name) {
        _cleanup_free_ char *res = rtype_resource_name(t);
        reply_status(out, 404, NULL, details_for(t, name), "%s \"%s\" not found", res, name);
}

void reply_no_resource(struct reply *out) {
        reply_status(out, 404, NULL, json_object(), "the server could not find the requested resource");
}

void reply_conflict(struct reply *out, const struct rtype *t, const char *name) {
        _cleanup_free_ char *res = rtype_resource_name(t);
        reply_status(out, 409, "Conflict", details_for(t, name),
                     "Operation cannot be fulfilled on %s \"%s\": the object has been modified; please apply your "
                     "changes to the latest version and try again", res, name);
}

/* 422 Invalid with one cause. */
void reply_invalid(struct reply *out, const struct rtype *t, const char *name, const char *field,
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
void reply_invalid_causes(struct reply *out, const struct rtype *t, const char *name, json_t *causes) {
        _cleanup_free_ char *qkind = t->group[0] ? xasprintf("%s.%s", t->kind, t->group) : xstrdup(t->kind);
        _cleanup_free_ char *msg = schema_causes_message(causes);
        json_t *details = json_pack("{s:s, s:s, s:o}", "name", name ? name : "", "kind", t->kind, "causes", causes);
        if (t->group[0])
                json_object_set_new(details, "group", json_string(t->group));
        reply_status(out, 422, "Invalid", details, "%s \"%s\" is invalid: %s", qkind, name ? name : "", msg);
}

/* ---- helpers ---- */

const char *query(struct MHD_Connection *c, const char *key) {
        return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

const char *header(struct MHD_Connection *c, const char *key) {
        return MHD_lookup_connection_value(c, MHD_HEADER_KIND, key);
}

bool query_true(struct MHD_Connection *c, const char *key) {
        const char *v = query(c, key);
        return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

json_t *meta_of(const json_t *obj) {
        return json_object_get(obj, "metadata");
}

const char *meta_str(const json_t *obj, const char *key) {
        return json_string_value(json_object_get(meta_of(obj), key));
}

char *object_key(const struct rtype *t, const char *ns, const char *name) {
        return t->namespaced ? xasprintf("%s/%s", ns, name) : xstrdup(name);
}

bool wants_table(struct MHD_Connection *c) {
        const char *accept = header(c, "Accept");
        return accept && strstr(accept, "as=Table") != NULL;
}

bool is_rfc1123_label(const char *s, size_t n) {
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

bool is_rfc1123_subdomain(const char *s) {
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
const char label_msg[] =
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
        "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

/* Validate metadata.name for t; on failure fills out and returns false. */
bool validate_name(struct reply *out, const struct rtype *t, const char *name) {
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
json_t *parse_body(struct reply *out, const char *body, size_t len) {
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
bool check_kind(struct reply *out, const struct rtype *t, json_t *obj) {
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

bool namespace_exists(const char *ns) {
        struct rtype *nt = namespaces_type();
        return nt && json_object_get(nt->objects, ns) != NULL;
}

/* Store obj (stolen) under key, emit an event; locked. */
void store_put(struct rtype *t, const char *key, json_t *obj, const char *event) {
        json_t *old = json_incref(json_object_get(t->objects, key));
        if (!old)
                t->sorted_valid = false;
        json_object_set(t->objects, key, obj);
        store_emit(t, event, obj, old);
        json_decref(old);
        json_decref(obj);
}

void set_rv(json_t *obj, uint64_t rv) {
        json_object_set_new(meta_of(obj), "resourceVersion", json_sprintf("%llu", (unsigned long long)rv));
}
