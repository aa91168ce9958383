/* store.c - the in-memory store: resource types, objects, the bounded event
 * history watches resume from, and label/field selectors. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <gnutls/crypto.h>

#include "server.h"

pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t store_cond;
struct rtype *store_types;
uint64_t store_rv = 1;
volatile bool server_stopping;

/* A ring of the last `history_cap` events. */
static struct event *history;
static size_t history_cap, history_start, history_len;

static struct rtype *rtype_add(const char *group, const char *version, const char *plural, const char *singular,
                               const char *kind, bool namespaced, bool status_sub, enum table_kind table,
                               const char *short_names, const char *categories) {
        struct rtype *t = xcalloc(1, sizeof(*t));
        t->group = xstrdup(group);
        t->version = xstrdup(version);
        t->plural = xstrdup(plural);
        t->singular = xstrdup(singular);
        t->kind = xstrdup(kind);
        t->list_kind = xasprintf("%sList", kind);
        t->namespaced = namespaced;
        t->status_sub = status_sub;
        t->strategic = true;
        t->unconditional_update = true;
        t->served = true;
        t->table = table;
        t->short_names = json_array();
        t->categories = json_array();
        for (const char *p = short_names; p && *p;) {
                size_t n = strcspn(p, ",");
                json_array_append_new(t->short_names, json_stringn(p, n));
                p += n + (p[n] == ',');
        }
        for (const char *p = categories; p && *p;) {
                size_t n = strcspn(p, ",");
                json_array_append_new(t->categories, json_stringn(p, n));
                p += n + (p[n] == ',');
        }
        t->objects = json_object();
        /* Append so discovery lists types in registration order. */
        struct rtype **tail = &store_types;
        while (*tail)
                tail = &(*tail)->next;
        *tail = t;
        return t;
}

static void rtype_free(struct rtype *t) {
        if (!t)
                return;
        free(t->group);
        free(t->version);
        free(t->plural);
        free(t->singular);
        free(t->kind);
        free(t->list_kind);
        free(t->crd_name);
        json_decref(t->short_names);
        json_decref(t->categories);
        json_decref(t->columns);
        json_decref(t->schema);
        json_decref(t->objects);
        free(t->sorted);
        free(t);
}

void store_init(size_t history_size) {
        pthread_condattr_t a;
        pthread_condattr_init(&a);
        pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
        pthread_cond_init(&store_cond, &a);
        pthread_condattr_destroy(&a);

        history_cap = history_size ? history_size : 1;
        history = xcalloc(history_cap, sizeof(*history));

        rtype_add("", "v1", "namespaces", "namespace", "Namespace", false, true, TABLE_NAMESPACE, "ns", NULL);
        rtype_add("", "v1", "pods", "pod", "Pod", true, true, TABLE_POD, "po", "all");
        rtype_add("", "v1", "events", "event", "Event", true, false, TABLE_EVENT, "ev", NULL);
        rtype_add("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", true, false,
                  TABLE_SERVICEACCOUNT, "sa", NULL);
        rtype_add("", "v1", "secrets", "secret", "Secret", true, false, TABLE_SECRET, NULL, NULL);
        rtype_add("", "v1", "configmaps", "configmap", "ConfigMap", true, false, TABLE_CONFIGMAP, "cm", NULL);
        /* Jobs (the pipelines Kratix creates) and Leases (leader election): stored
         * and served, with no controller behind them; tests play the controllers. */
        struct rtype *jobs = rtype_add("batch", "v1", "jobs", "job", "Job", true, true, TABLE_DEFAULT, NULL, "all");
        jobs->has_generation = true;
        struct rtype *leases = rtype_add("coordination.k8s.io", "v1", "leases", "lease", "Lease", true, false,
                                         TABLE_DEFAULT, NULL, NULL);
        leases->unconditional_update = false; /* as kube's leaseStrategy: a PUT must carry a resourceVersion */
        rtype_add("rbac.authorization.k8s.io", "v1", "roles", "role", "Role", true, false, TABLE_CREATED_AT, NULL,
                  NULL);
        rtype_add("rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", true, false,
                  TABLE_ROLEBINDING, NULL, NULL);
        rtype_add("rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole", false, false,
                  TABLE_CREATED_AT, NULL, NULL);
        rtype_add("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "clusterrolebinding",
                  "ClusterRoleBinding", false, false, TABLE_ROLEBINDING, NULL, NULL);
        struct rtype *crd = rtype_add("apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                      "customresourcedefinition", "CustomResourceDefinition", false, true,
                                      TABLE_CREATED_AT, "crd,crds", "api-extensions");
        crd->has_generation = true;
        crd->strategic = false;
        crd->unconditional_update = false;
}

void store_free(void) {
        while (store_types) {
                struct rtype *t = store_types;
                store_types = t->next;
                rtype_free(t);
        }
        for (size_t i = 0; i < history_len; i++) {
                json_decref(history[(history_start + i) % history_cap].object);
                json_decref(history[(history_start + i) % history_cap].old);
        }
        free(history);
        history = NULL;
        history_len = 0;
        pthread_cond_destroy(&store_cond);
}

struct rtype *store_find_type(const char *group, const char *version, const char *plural) {
        for (struct rtype *t = store_types; t; t = t->next)
                if (t->served && strcmp(t->group, group) == 0 && strcmp(t->version, version) == 0 &&
                    strcmp(t->plural, plural) == 0)
                        return t;
        return NULL;
}

char *rtype_api_version(const struct rtype *t) {
        return t->group[0] ? xasprintf("%s/%s", t->group, t->version) : xstrdup(t->version);
}

char *rtype_resource_name(const struct rtype *t) {
        return t->group[0] ? xasprintf("%s.%s", t->plural, t->group) : xstrdup(t->plural);
}

/* ---- events ---- */

void store_emit(struct rtype *t, const char *type, json_t *object, json_t *old) {
        if (history_len == history_cap) {
                json_decref(history[history_start].object);
                json_decref(history[history_start].old);
                history_start = (history_start + 1) % history_cap;
                history_len--;
        }
        struct event *ev = &history[(history_start + history_len) % history_cap];
        ev->rv = store_rv;
        ev->type = type;
        ev->rt = t;
        ev->object = json_incref(object);
        ev->old = json_incref(old);
        history_len++;
        pthread_cond_broadcast(&store_cond);
}

uint64_t store_oldest_resumable(void) {
        /* Once the ring has dropped an event, a watch must start at or after
         * the rv just before the oldest event kept. */
        if (history_len < history_cap)
                return 0;
        return history[history_start].rv - 1;
}

uint64_t store_events_since(uint64_t since, void (*fn)(const struct event *ev, void *userdata), void *userdata) {
        uint64_t last = since;
        /* Binary search for the first event after `since`: rvs are increasing. */
        size_t lo = 0, hi = history_len;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (history[(history_start + mid) % history_cap].rv <= since)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        for (size_t i = lo; i < history_len; i++) {
                const struct event *ev = &history[(history_start + i) % history_cap];
                fn(ev, userdata);
                last = ev->rv;
        }
        return last;
}

/* ---- sorted keys ---- */

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **rtype_sorted_keys(struct rtype *t, size_t *ret_n) {
        if (!t->sorted_valid) {
                size_t n = json_object_size(t->objects), i = 0;
                free(t->sorted);
                t->sorted = xcalloc(n ? n : 1, sizeof(char *));
                const char *key;
                json_t *v;
                json_object_foreach(t->objects, key, v) t->sorted[i++] = key;
                qsort(t->sorted, n, sizeof(char *), cmp_str);
                t->n_sorted = n;
                t->sorted_valid = true;
        }
        *ret_n = t->n_sorted;
        return t->sorted;
}

/* ---- selectors ---- */

enum sel_op { SEL_EQ, SEL_NE, SEL_IN, SEL_NOTIN, SEL_EXISTS, SEL_NOT_EXISTS };

struct requirement {
        char *key;
        enum sel_op op;
        char **values;
        size_t n_values;
};

struct selector {
        struct requirement *reqs;
        size_t n;
};

void selector_free(struct selector *s) {
        if (!s)
                return;
        for (size_t i = 0; i < s->n; i++) {
                free(s->reqs[i].key);
                for (size_t j = 0; j < s->reqs[i].n_values; j++)
                        free(s->reqs[i].values[j]);
                free(s->reqs[i].values);
        }
        free(s->reqs);
        free(s);
}

static char *strip_dup(const char *p, size_t n) {
        while (n && (*p == ' ' || *p == '\t'))
                p++, n--;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
                n--;
        return xstrndup(p, n);
}

static struct requirement *sel_add(struct selector *s) {
        s->reqs = xrealloc(s->reqs, (s->n + 1) * sizeof(*s->reqs));
        struct requirement *r = &s->reqs[s->n++];
        memset(r, 0, sizeof(*r));
        return r;
}

static void req_add_value(struct requirement *r, char *v) {
        r->values = xrealloc(r->values, (r->n_values + 1) * sizeof(char *));
        r->values[r->n_values++] = v;
}

/* Split at top-level commas (not inside parentheses). */
static int parse_terms(const char *spec, bool labels, struct selector *s, struct kstatus_error *err) {
        const char *p = spec;
        while (*p) {
                size_t n = 0;
                int depth = 0;
                while (p[n] && (depth > 0 || p[n] != ',')) {
                        if (p[n] == '(')
                                depth++;
                        else if (p[n] == ')')
                                depth--;
                        n++;
                }
                _cleanup_free_ char *term = strip_dup(p, n);
                p += n + (p[n] == ',');
                if (!term[0])
                        return kstatus_error_set(err, EINVAL, 0, 0, "found '', expected: identifier");

                struct requirement *r = sel_add(s);
                char *op;
                if (labels && (op = strstr(term, " notin ")) != NULL) {
                        r->op = SEL_NOTIN;
                        r->key = strip_dup(term, op - term);
                        op += 7;
                } else if (labels && (op = strstr(term, " in ")) != NULL) {
                        r->op = SEL_IN;
                        r->key = strip_dup(term, op - term);
                        op += 4;
                } else
                        op = NULL;
                if (r->key) {
                        while (*op == ' ')
                                op++;
                        size_t len = strlen(op);
                        if (*op != '(' || len < 2 || op[len - 1] != ')')
                                return kstatus_error_set(err, EINVAL, 0, 0,
                                                         "unable to parse requirement: found '%s', expected: '('",
                                                         op);
                        const char *v = op + 1, *end = op + len - 1;
                        while (v <= end) {
                                size_t m = strcspn(v, ",)");
                                req_add_value(r, strip_dup(v, m));
                                v += m + 1;
                        }
                        continue;
                }
                if ((op = strstr(term, "!=")) != NULL) {
                        r->op = SEL_NE;
                        r->key = strip_dup(term, op - term);
                        req_add_value(r, strip_dup(op + 2, strlen(op + 2)));
                } else if ((op = strstr(term, "==")) != NULL) {
                        r->op = SEL_EQ;
                        r->key = strip_dup(term, op - term);
                        req_add_value(r, strip_dup(op + 2, strlen(op + 2)));
                } else if ((op = strchr(term, '=')) != NULL) {
                        r->op = SEL_EQ;
                        r->key = strip_dup(term, op - term);
                        req_add_value(r, strip_dup(op + 1, strlen(op + 1)));
                } else if (!labels) {
                        return kstatus_error_set(err, EINVAL, 0, 0, "invalid selector: '%s'; can't understand '%s'",
                                                 spec, term);
                } else if (term[0] == '!') {
                        r->op = SEL_NOT_EXISTS;
                        r->key = strip_dup(term + 1, strlen(term + 1));
                } else {
                        r->op = SEL_EXISTS;
                        r->key = xstrdup(term);
                }
                if (!r->key[0])
                        return kstatus_error_set(err, EINVAL, 0, 0, "unable to parse requirement: empty key in '%s'",
                                                 term);
        }
        return 0;
}

int label_selector_parse(const char *spec, struct selector **ret, struct kstatus_error *err) {
        struct selector *s = xcalloc(1, sizeof(*s));
        int r = spec ? parse_terms(spec, true, s, err) : 0;
        if (r < 0) {
                selector_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

static bool req_match(const struct requirement *r, const char *value) {
        switch (r->op) {
        case SEL_EXISTS:
                return value != NULL;
        case SEL_NOT_EXISTS:
                return value == NULL;
        case SEL_EQ:
        case SEL_IN:
                if (!value)
                        return false;
                for (size_t i = 0; i < r->n_values; i++)
                        if (strcmp(r->values[i], value) == 0)
                                return true;
                return false;
        case SEL_NE:
        case SEL_NOTIN:
                if (!value)
                        return true;
                for (size_t i = 0; i < r->n_values; i++)
                        if (strcmp(r->values[i], value) == 0)
                                return false;
                return true;
        }
        return false;
}

bool label_selector_match(const struct selector *s, const json_t *obj) {
        if (!s || s->n == 0)
                return true;
        const json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
        for (size_t i = 0; i < s->n; i++)
                if (!req_match(&s->reqs[i], json_string_value(json_object_get(labels, s->reqs[i].key))))
                        return false;
        return true;
}

/* Which field labels each kind supports, as the real server's field label
 * conversion funcs do; every kind supports metadata.name and .namespace. */
static bool field_supported(const struct rtype *t, const char *field) {
        static const char *const event_fields[] = {
                "involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
                "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type",
        };
        static const char *const pod_fields[] = {
                "spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName",
        };
        if (strcmp(field, "metadata.name") == 0 || strcmp(field, "metadata.namespace") == 0)
                return true;
        if (!t->group[0] && strcmp(t->plural, "events") == 0) {
                for (size_t i = 0; i < ELEMENTSOF(event_fields); i++)
                        if (strcmp(field, event_fields[i]) == 0)
                                return true;
        } else if (!t->group[0] && strcmp(t->plural, "pods") == 0) {
                for (size_t i = 0; i < ELEMENTSOF(pod_fields); i++)
                        if (strcmp(field, pod_fields[i]) == 0)
                                return true;
        } else if (!t->group[0] && strcmp(t->plural, "secrets") == 0)
                return strcmp(field, "type") == 0;
        else if (!t->group[0] && strcmp(t->plural, "namespaces") == 0)
                return strcmp(field, "status.phase") == 0;
        return false;
}

int field_selector_parse(const struct rtype *t, const char *spec, struct selector **ret,
                         struct kstatus_error *err) {
        struct selector *s = xcalloc(1, sizeof(*s));
        int r = spec ? parse_terms(spec, false, s, err) : 0;
        for (size_t i = 0; r >= 0 && i < s->n; i++)
                if (!field_supported(t, s->reqs[i].key))
                        r = kstatus_error_set(err, EINVAL, 0, 0, "field label not supported: %s", s->reqs[i].key);
        if (r < 0) {
                selector_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

/* A dotted field path's value as the field selector compares it (a string;
 * booleans and numbers as text). Returns a new string or NULL. */
static char *field_value(const json_t *obj, const char *path) {
        const json_t *v = obj;
        /* "source" on events is source.component. */
        if (strcmp(path, "source") == 0)
                path = "source.component";
        _cleanup_free_ char *copy = xstrdup(path);
        for (char *save = NULL, *part = strtok_r(copy, ".", &save); part; part = strtok_r(NULL, ".", &save))
                v = json_object_get(v, part);
        if (json_is_string(v))
                return xstrdup(json_string_value(v));
        if (json_is_true(v))
                return xstrdup("true");
        if (json_is_false(v))
                return xstrdup("false");
        if (json_is_integer(v))
                return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return xstrdup("");
}

bool field_selector_match(const struct selector *s, const json_t *obj) {
        if (!s)
                return true;
        for (size_t i = 0; i < s->n; i++) {
                _cleanup_free_ char *v = field_value(obj, s->reqs[i].key);
                if (!req_match(&s->reqs[i], v))
                        return false;
        }
        return true;
}

const char *field_selector_name(const struct selector *s) {
        for (size_t i = 0; s && i < s->n; i++)
                if (s->reqs[i].op == SEL_EQ && strcmp(s->reqs[i].key, "metadata.name") == 0)
                        return s->reqs[i].values[0];
        return NULL;
}

/* ---- misc ---- */

char *now_rfc3339(void) {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        return xasprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                         tm.tm_hour, tm.tm_min, tm.tm_sec);
}

char *uuid_new(void) {
        uint8_t b[16];
        if (gnutls_rnd(GNUTLS_RND_NONCE, b, sizeof(b)) < 0)
                abort();
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        return xasprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
                         b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}
