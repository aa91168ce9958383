/* table.c - server-side printing: the meta.k8s.io/v1 Table kubectl asks for,
 * with a CRD's additionalPrinterColumns evaluated here (a JSONPath subset)
 * and built-in kinds printed like the real server prints them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server.h"

/* ---- JSONPath subset ---- */

static const json_t *eval(const json_t *v, const char *p);

/* Compare a filter operand with a value: "v" or 'v' string, number, true/false. */
static bool filter_match(const json_t *elem, const char *expr, size_t len) {
        /* expr: @.a.b=="v" (also != ) */
        _cleanup_free_ char *e = xstrndup(expr, len);
        char *op = strstr(e, "==");
        bool negate = false;
        if (!op) {
                op = strstr(e, "!=");
                negate = true;
        }
        if (!op || e[0] != '@')
                return false;
        *op = '\0';
        char *lhs = e + 1, *rhs = op + 2;
        while (*rhs == ' ')
                rhs++;
        for (char *end = lhs + strlen(lhs); end > lhs && end[-1] == ' ';)
                *--end = '\0';
        const json_t *got = lhs[0] ? eval(elem, lhs) : elem;
        bool eq;
        size_t rl = strlen(rhs);
        while (rl && rhs[rl - 1] == ' ')
                rhs[--rl] = '\0';
        if (rl >= 2 && (rhs[0] == '"' || rhs[0] == '\'') && rhs[rl - 1] == rhs[0]) {
                rhs[rl - 1] = '\0';
                eq = json_is_string(got) && strcmp(json_string_value(got), rhs + 1) == 0;
        } else if (strcmp(rhs, "true") == 0 || strcmp(rhs, "false") == 0) {
                eq = json_is_boolean(got) && json_is_true(got) == (rhs[0] == 't');
        } else {
                char *end;
                double d = strtod(rhs, &end);
                eq = *end == '\0' && json_is_number(got) && json_number_value(got) == d;
        }
        return negate ? !eq : eq;
}

/* Evaluate path p (starting with '.' or '[', or empty) on v. */
static const json_t *eval(const json_t *v, const char *p) {
        if (!v)
                return NULL;
        if (*p == '\0')
                return v;
        if (*p == '.') {
                p++;
                size_t n = strcspn(p, ".[");
                if (n == 0)
                        return eval(v, p);
                _cleanup_free_ char *key = xstrndup(p, n);
                return eval(json_object_get(v, key), p + n);
        }
        if (*p == '[') {
                const char *close;
                if (p[1] == '?') {
                        /* [?(expr)] : the closing ")]" ends it. */
                        close = strstr(p, ")]");
                        if (!close || p[2] != '(')
                                return NULL;
                        const char *expr = p + 3;
                        size_t i;
                        json_t *elem;
                        if (!json_is_array(v))
                                return NULL;
                        json_array_foreach(v, i, elem) {
                                if (filter_match(elem, expr, close - expr)) {
                                        const json_t *r = eval(elem, close + 2);
                                        if (r)
                                                return r;
                                }
                        }
                        return NULL;
                }
                close = strchr(p, ']');
                if (!close)
                        return NULL;
                _cleanup_free_ char *inner = xstrndup(p + 1, close - p - 1);
                size_t il = strlen(inner);
                if (il >= 2 && (inner[0] == '\'' || inner[0] == '"') && inner[il - 1] == inner[0]) {
                        inner[il - 1] = '\0';
                        return eval(json_object_get(v, inner + 1), close + 1);
                }
                if (strcmp(inner, "*") == 0) {
                        size_t i;
                        json_t *elem;
                        json_array_foreach(v, i, elem) {
                                const json_t *r = eval(elem, close + 1);
                                if (r)
                                        return r;
                        }
                        return NULL;
                }
                int64_t idx;
                if (parse_int64(inner, INT32_MIN, INT32_MAX, &idx) < 0 || !json_is_array(v))
                        return NULL;
                if (idx < 0)
                        idx += (int64_t)json_array_size(v);
                if (idx < 0)
                        return NULL;
                return eval(json_array_get(v, (size_t)idx), close + 1);
        }
        return NULL;
}

const json_t *jsonpath_first(const json_t *obj, const char *path) {
        /* Printer columns may be written "{.a.b}" or ".a.b". */
        size_t n = strlen(path);
        if (n >= 2 && path[0] == '{' && path[n - 1] == '}') {
                _cleanup_free_ char *inner = xstrndup(path + 1, n - 2);
                return eval(obj, inner);
        }
        return eval(obj, path);
}

/* ---- ages ---- */

static time_t parse_rfc3339(const char *s) {
        struct tm tm = { 0 };
        const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!end)
                return (time_t)-1;
        return timegm(&tm);
}

/* k8s.io/apimachinery/pkg/util/duration.HumanDuration. */
static char *human_duration(int64_t secs) {
        if (secs < -1)
                return xstrdup("<invalid>");
        if (secs < 0)
                return xstrdup("0s");
        if (secs < 120)
                return xasprintf("%llds", (long long)secs);
        int64_t minutes = secs / 60;
        if (minutes < 10)
                return secs % 60 ? xasprintf("%lldm%llds", (long long)minutes, (long long)(secs % 60))
                                 : xasprintf("%lldm", (long long)minutes);
        if (minutes < 180)
                return xasprintf("%lldm", (long long)minutes);
        int64_t hours = secs / 3600;
        if (hours < 8)
                return minutes % 60 ? xasprintf("%lldh%lldm", (long long)hours, (long long)(minutes % 60))
                                    : xasprintf("%lldh", (long long)hours);
        if (hours < 48)
                return xasprintf("%lldh", (long long)hours);
        if (hours < 24 * 8)
                return hours % 24 ? xasprintf("%lldd%lldh", (long long)(hours / 24), (long long)(hours % 24))
                                  : xasprintf("%lldd", (long long)(hours / 24));
        if (hours < 24 * 365 * 2)
                return xasprintf("%lldd", (long long)(hours / 24));
        if (hours < 24 * 365 * 8) {
                int64_t dy = (hours / 24) % 365;
                return dy ? xasprintf("%lldy%lldd", (long long)(hours / 24 / 365), (long long)dy)
                          : xasprintf("%lldy", (long long)(hours / 24 / 365));
        }
        return xasprintf("%lldy", (long long)(hours / 24 / 365));
}

char *age_since(const char *timestamp, time_t now) {
        if (!timestamp)
                return xstrdup("<unknown>");
        time_t t = parse_rfc3339(timestamp);
        if (t == (time_t)-1)
                return xstrdup("<unknown>");
        return human_duration((int64_t)(now - t));
}

/* ---- columns ---- */

static json_t *column(const char *name, const char *type, const char *format, const char *description,
                      int priority) {
        return json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", name, "type", type, "format", format, "description",
                         description, "priority", priority);
}

static const char name_doc[] = "Name must be unique within a namespace. Is required when creating resources, "
                               "although some resources may allow a client to request the generation of an "
                               "appropriate name automatically. Name is primarily intended for creation "
                               "idempotence and configuration definition. Cannot be updated. More info: "
                               "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
static const char age_doc[] = "CreationTimestamp is a timestamp representing the server time when this object "
                              "was created. It is not guaranteed to be set in happens-before order across "
                              "separate operations. Clients may not set this value. It is represented in "
                              "RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for "
                              "lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/"
                              "api-conventions.md#metadata";

json_t *table_columns(const struct rtype *t) {
        json_t *cols = json_array();
        json_array_append_new(cols, column("Name", "string", "name", name_doc, 0));
        switch (t->table) {
        case TABLE_DEFAULT:
                if (t->columns && json_array_size(t->columns) > 0) {
                        size_t i;
                        json_t *c;
                        json_array_foreach(t->columns, i, c) {
                                const char *type = json_string_value(json_object_get(c, "type"));
                                const char *format = json_string_value(json_object_get(c, "format"));
                                const char *desc = json_string_value(json_object_get(c, "description"));
                                json_array_append_new(
                                        cols, column(json_string_value(json_object_get(c, "name")),
                                                     type ? type : "string", format ? format : "",
                                                     desc ? desc : "", (int)json_integer_value(
                                                                               json_object_get(c, "priority"))));
                        }
                        return cols;
                }
                break;
        case TABLE_POD:
                json_array_append_new(cols, column("Ready", "string", "", "The aggregate readiness state of this "
                                                                            "pod for accepting traffic.", 0));
                json_array_append_new(cols, column("Status", "string", "", "The aggregate status of the "
                                                                             "containers in this pod.", 0));
                json_array_append_new(cols, column("Restarts", "string", "", "The number of times the "
                                                                               "containers in this pod have been "
                                                                               "restarted and when the last "
                                                                               "container in this pod has "
                                                                               "restarted.", 0));
                json_array_append_new(cols, column("Age", "string", "", age_doc, 0));
                json_array_append_new(cols, column("IP", "string", "", "IP address allocated to the pod. "
                                                                       "Routable at least within the cluster. "
                                                                       "Empty if not yet allocated.", 1));
                json_array_append_new(cols, column("Node", "string", "", "NodeName is a request to schedule this "
                                                                         "pod onto a specific node.", 1));
                json_array_append_new(cols, column("Nominated Node", "string", "", "nominatedNodeName is set "
                                                                                   "only when this pod "
                                                                                   "preempts other pods on the "
                                                                                   "node.", 1));
                json_array_append_new(cols, column("Readiness Gates", "string", "", "If specified, all "
                                                                                    "readiness gates will be "
                                                                                    "evaluated for pod "
                                                                                    "readiness.", 1));
                return cols;
        case TABLE_NAMESPACE:
                json_array_append_new(cols, column("Status", "string", "", "The status of the namespace", 0));
                break;
        case TABLE_CONFIGMAP:
                json_array_append_new(cols, column("Data", "string", "", "Data contains the configuration data.",
                                                   0));
                break;
        case TABLE_SECRET:
                json_array_append_new(cols, column("Type", "string", "", "The type of the secret", 0));
                json_array_append_new(cols, column("Data", "string", "", "Data contains the secret data.", 0));
                break;
        case TABLE_SERVICEACCOUNT:
                json_array_append_new(cols, column("Secrets", "string", "", "Secrets is a list of the secrets "
                                                                            "in the same namespace that pods "
                                                                            "running using this ServiceAccount "
                                                                            "are allowed to use.", 0));
                break;
        case TABLE_ROLEBINDING:
                json_array_append_new(cols, column("Role", "string", "", "RoleRef can reference a Role in the "
                                                                         "current namespace or a ClusterRole in "
                                                                         "the global namespace.", 0));
                json_array_append_new(cols, column("Age", "string", "", age_doc, 0));
                json_array_append_new(cols, column("Users", "string", "", "Users in the binding", 1));
                json_array_append_new(cols, column("Groups", "string", "", "Groups in the binding", 1));
                json_array_append_new(cols, column("ServiceAccounts", "string", "", "ServiceAccounts in the "
                                                                                    "binding", 1));
                return cols;
        case TABLE_CREATED_AT:
                json_array_append_new(cols, column("Created At", "date", "", age_doc, 0));
                return cols;
        case TABLE_EVENT:
                json_array_clear(cols);
                json_array_append_new(cols, column("Last Seen", "string", "", "Time when this Event was last "
                                                                              "seen", 0));
                json_array_append_new(cols, column("Type", "string", "", "Type of this event (Normal, "
                                                                         "Warning), new types could be added in "
                                                                         "the future.", 0));
                json_array_append_new(cols, column("Reason", "string", "", "This should be a short, machine "
                                                                           "understandable string that gives "
                                                                           "the reason for this event being "
                                                                           "generated.", 0));
                json_array_append_new(cols, column("Object", "string", "", "The object this Event is about.",
                                                   0));
                json_array_append_new(cols, column("Subobject", "string", "", "The subobject this Event is "
                                                                              "about.", 1));
                json_array_append_new(cols, column("Source", "string", "", "The component reporting this "
                                                                           "event.", 1));
                json_array_append_new(cols, column("Message", "string", "", "A human-readable description of "
                                                                            "the status of this operation.", 0));
                json_array_append_new(cols, column("First Seen", "string", "", "The first time at which the "
                                                                               "event was recorded.", 1));
                json_array_append_new(cols, column("Count", "string", "", "The number of times this event has "
                                                                          "occurred.", 1));
                json_array_append_new(cols, column("Name", "string", "name", name_doc, 1));
                return cols;
        }
        json_array_append_new(cols, column("Age", "string", "", age_doc, 0));
        return cols;
}

/* ---- rows ---- */

static const char *str_at(const json_t *obj, const char *path) {
        return json_string_value(jsonpath_first(obj, path));
}

/* A CRD column's cell, as apiextensions-apiserver's table convertor makes it. */
static json_t *crd_cell(const json_t *obj, const json_t *col, time_t now) {
        const char *path = json_string_value(json_object_get(col, "jsonPath"));
        const char *type = json_string_value(json_object_get(col, "type"));
        const json_t *v = path ? jsonpath_first(obj, path) : NULL;
        if (!v || json_is_null(v))
                return json_null();
        if (!type || strcmp(type, "string") == 0) {
                if (json_is_string(v))
                        return json_string(json_string_value(v));
                if (json_is_integer(v))
                        return json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
                if (json_is_real(v))
                        return json_sprintf("%g", json_real_value(v));
                if (json_is_boolean(v))
                        return json_string(json_is_true(v) ? "true" : "false");
                char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
                json_t *r = json_string(s);
                free(s);
                return r;
        }
        if (strcmp(type, "integer") == 0)
                return json_is_number(v) ? json_integer((json_int_t)json_number_value(v)) : json_null();
        if (strcmp(type, "number") == 0)
                return json_is_number(v) ? json_real(json_number_value(v)) : json_null();
        if (strcmp(type, "boolean") == 0)
                return json_is_boolean(v) ? json_incref((json_t *)v) : json_null();
        if (strcmp(type, "date") == 0) {
                if (!json_is_string(v))
                        return json_null();
                char *age = age_since(json_string_value(v), now);
                json_t *r = json_string(age);
                free(age);
                return r;
        }
        return json_null();
}

static void pod_cells(json_t *cells, const json_t *pod, const char *age) {
        const json_t *spec = json_object_get(pod, "spec"), *status = json_object_get(pod, "status");
        size_t total = json_array_size(json_object_get(spec, "containers")), ready = 0, i;
        int64_t restarts = 0;
        const char *reason = json_string_value(json_object_get(status, "reason"));
        if (!reason)
                reason = json_string_value(json_object_get(status, "phase"));
        if (!reason)
                reason = "Pending";
        json_t *cs;
        /* Init containers first: a waiting or failed one names the state. */
        json_array_foreach(json_object_get(status, "initContainerStatuses"), i, cs) {
                const json_t *st = json_object_get(cs, "state");
                restarts += json_integer_value(json_object_get(cs, "restartCount"));
                const json_t *term = json_object_get(st, "terminated");
                if (term && json_integer_value(json_object_get(term, "exitCode")) == 0)
                        continue;
                if (json_is_true(json_object_get(cs, "started")) &&
                    json_object_get(st, "running")) /* a native sidecar keeps running */
                        continue;
                const char *r2 = str_at(st, ".waiting.reason");
                if (term)
                        r2 = json_string_value(json_object_get(term, "reason"));
                static _Thread_local char buf[64];
                snprintf(buf, sizeof(buf), "Init:%zu/%zu", i,
                         json_array_size(json_object_get(spec, "initContainers")));
                reason = r2 && strcmp(r2, "PodInitializing") != 0 ? r2 : buf;
                break;
        }
        json_array_foreach(json_object_get(status, "containerStatuses"), i, cs) {
                restarts += json_integer_value(json_object_get(cs, "restartCount"));
                const json_t *st = json_object_get(cs, "state");
                if (json_is_true(json_object_get(cs, "ready")) && json_object_get(st, "running"))
                        ready++;
                const char *w = str_at(st, ".waiting.reason");
                const char *t = str_at(st, ".terminated.reason");
                if (w && w[0])
                        reason = w;
                else if (t && t[0])
                        reason = t;
        }
        if (json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp"))
                reason = "Terminating";
        json_array_append_new(cells, json_sprintf("%zu/%zu", ready, total));
        json_array_append_new(cells, json_string(reason));
        json_array_append_new(cells, json_sprintf("%lld", (long long)restarts));
        json_array_append_new(cells, json_string(age));
        const char *ip = json_string_value(json_object_get(status, "podIP"));
        const char *node = json_string_value(json_object_get(spec, "nodeName"));
        const char *nominated = json_string_value(json_object_get(status, "nominatedNodeName"));
        json_array_append_new(cells, json_string(ip ? ip : "<none>"));
        json_array_append_new(cells, json_string(node ? node : "<none>"));
        json_array_append_new(cells, json_string(nominated ? nominated : "<none>"));
        json_array_append_new(cells, json_string("<none>"));
}

static char *subjects_of(const json_t *obj, const char *kind) {
        size_t i;
        json_t *s;
        char *out = NULL;
        json_array_foreach(json_object_get(obj, "subjects"), i, s) {
                const char *k = json_string_value(json_object_get(s, "kind"));
                const char *n = json_string_value(json_object_get(s, "name"));
                const char *ns = json_string_value(json_object_get(s, "namespace"));
                if (!k || !n || strcmp(k, kind) != 0)
                        continue;
                char *item = strcmp(kind, "ServiceAccount") == 0 ? xasprintf("%s/%s", ns ? ns : "", n) : xstrdup(n);
                char *next = out ? xasprintf("%s, %s", out, item) : xstrdup(item);
                free(item);
                free(out);
                out = next;
        }
        return out;
}

json_t *table_row(const struct rtype *t, json_t *obj, const char *include_object, time_t now) {
        json_t *cells = json_array();
        const json_t *meta = json_object_get(obj, "metadata");
        const char *name = json_string_value(json_object_get(meta, "name"));
        _cleanup_free_ char *age = age_since(json_string_value(json_object_get(meta, "creationTimestamp")), now);

        if (t->table != TABLE_EVENT)
                json_array_append_new(cells, json_string(name ? name : ""));
        switch (t->table) {
        case TABLE_DEFAULT:
                if (t->columns && json_array_size(t->columns) > 0) {
                        size_t i;
                        json_t *c;
                        json_array_foreach(t->columns, i, c) json_array_append_new(cells, crd_cell(obj, c, now));
                        goto done;
                }
                break;
        case TABLE_POD:
                pod_cells(cells, obj, age);
                goto done;
        case TABLE_NAMESPACE: {
                const char *phase = str_at(obj, ".status.phase");
                json_array_append_new(cells, json_string(phase ? phase : "Active"));
                break;
        }
        case TABLE_CONFIGMAP:
                json_array_append_new(cells, json_integer((json_int_t)(json_object_size(json_object_get(obj, "data")) +
                                                                       json_object_size(json_object_get(obj, "binaryData")))));
                break;
        case TABLE_SECRET: {
                const char *type = json_string_value(json_object_get(obj, "type"));
                json_array_append_new(cells, json_string(type ? type : "Opaque"));
                json_array_append_new(cells, json_integer((json_int_t)json_object_size(json_object_get(obj, "data"))));
                break;
        }
        case TABLE_SERVICEACCOUNT:
                json_array_append_new(cells, json_integer((json_int_t)json_array_size(json_object_get(obj, "secrets"))));
                break;
        case TABLE_ROLEBINDING: {
                const char *rk = str_at(obj, ".roleRef.kind"), *rn = str_at(obj, ".roleRef.name");
                json_array_append_new(cells, json_sprintf("%s/%s", rk ? rk : "", rn ? rn : ""));
                json_array_append_new(cells, json_string(age));
                const char *kinds[] = { "User", "Group", "ServiceAccount" };
                for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                        char *s = subjects_of(obj, kinds[i]);
                        json_array_append_new(cells, json_string(s ? s : ""));
                        free(s);
                }
                goto done;
        }
        case TABLE_CREATED_AT: {
                const char *ts = json_string_value(json_object_get(meta, "creationTimestamp"));
                json_array_append_new(cells, json_string(ts ? ts : ""));
                goto done;
        }
        case TABLE_EVENT: {
                const char *last = str_at(obj, ".lastTimestamp");
                const char *first = str_at(obj, ".firstTimestamp");
                if (!last)
                        last = str_at(obj, ".eventTime");
                if (!last)
                        last = json_string_value(json_object_get(meta, "creationTimestamp"));
                _cleanup_free_ char *last_age = age_since(last, now);
                _cleanup_free_ char *first_age = age_since(first ? first : last, now);
                const char *type = str_at(obj, ".type"), *reason = str_at(obj, ".reason");
                const char *ik = str_at(obj, ".involvedObject.kind"), *in = str_at(obj, ".involvedObject.name");
                const char *fp = str_at(obj, ".involvedObject.fieldPath"), *src = str_at(obj, ".source.component");
                const char *msg = str_at(obj, ".message");
                const json_t *count = json_object_get(obj, "count");
                json_array_append_new(cells, json_string(last_age));
                json_array_append_new(cells, json_string(type ? type : ""));
                json_array_append_new(cells, json_string(reason ? reason : ""));
                _cleanup_free_ char *lower = xstrdup(ik ? ik : "");
                for (char *p = lower; *p; p++)
                        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
                json_array_append_new(cells, json_sprintf("%s/%s", lower, in ? in : ""));
                json_array_append_new(cells, json_string(fp ? fp : ""));
                json_array_append_new(cells, json_string(src ? src : ""));
                json_array_append_new(cells, json_string(msg ? msg : ""));
                json_array_append_new(cells, json_string(first_age));
                json_array_append_new(cells, json_sprintf("%lld", (long long)(count ? json_integer_value(count) : 1)));
                json_array_append_new(cells, json_string(name ? name : ""));
                goto done;
        }
        }
        json_array_append_new(cells, json_string(age));
done:;
        json_t *row = json_pack("{s:o}", "cells", cells);
        if (include_object && strcmp(include_object, "Object") == 0)
                json_object_set(row, "object", obj);
        else if (!include_object || strcmp(include_object, "None") != 0)
                json_object_set_new(row, "object",
                                    json_pack("{s:s, s:s, s:O}", "kind", "PartialObjectMetadata", "apiVersion",
                                              "meta.k8s.io/v1", "metadata", meta ? meta : json_object()));
        return row;
}
