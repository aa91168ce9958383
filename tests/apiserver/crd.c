/* crd.c - CustomResourceDefinitions: checking one, its status, making its
 * versions servable and taking them away again; deleting objects (which a
 * CRD or namespace deletion cascades through). */
#include <errno.h>
#include <string.h>

#include "api-internal.h"

/* ---- CRDs ---- */

int crd_check(const json_t *crd, const char **ret_field, char **ret_detail) {
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

json_t *crd_status(const json_t *crd, const json_t *old_status) {
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
void crd_register(const json_t *crd) {
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

bool is_crd_type(const struct rtype *t) {
        return strcmp(t->group, "apiextensions.k8s.io") == 0 && strcmp(t->plural, "customresourcedefinitions") == 0;
}

bool is_core(const struct rtype *t, const char *plural) {
        return !t->group[0] && strcmp(t->plural, plural) == 0;
}

json_t *store_remove(struct rtype *t, const char *key) {
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
        if (is_core(t, "pods"))
                logs_forget_pod(meta_str(gone, "uid"));
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
