/* patch.c - RFC 6902 JSON patch and a simplified strategic merge patch.
 * (JSON merge patch is mergepatch.c.) */
#include <errno.h>
#include <string.h>

#include "server.h"

/* Decode one JSON pointer token (~1 → /, ~0 → ~); new string. */
static char *pointer_token(const char *p, size_t n) {
        char *out = xmalloc(n + 1), *o = out;
        for (size_t i = 0; i < n; i++) {
                if (p[i] == '~' && i + 1 < n && (p[i + 1] == '0' || p[i + 1] == '1')) {
                        *o++ = p[i + 1] == '0' ? '~' : '/';
                        i++;
                } else
                        *o++ = p[i];
        }
        *o = '\0';
        return out;
}

/* Find the parent container of `path` in doc and the last token (new string).
 * Returns the parent (borrowed) or NULL. */
static json_t *resolve_parent(json_t *doc, const char *path, char **ret_last) {
        if (path[0] != '/')
                return NULL;
        json_t *cur = doc;
        const char *p = path + 1;
        for (;;) {
                size_t n = strcspn(p, "/");
                char *tok = pointer_token(p, n);
                if (p[n] == '\0') {
                        *ret_last = tok;
                        return cur;
                }
                if (json_is_object(cur))
                        cur = json_object_get(cur, tok);
                else if (json_is_array(cur)) {
                        int64_t i;
                        cur = parse_int64(tok, 0, INT32_MAX, &i) == 0 ? json_array_get(cur, (size_t)i) : NULL;
                } else
                        cur = NULL;
                free(tok);
                if (!cur)
                        return NULL;
                p += n + 1;
        }
}

static json_t *pointer_get(json_t *doc, const char *path) {
        if (path[0] == '\0')
                return doc;
        _cleanup_free_ char *last = NULL;
        json_t *parent = resolve_parent(doc, path, &last);
        if (!parent)
                return NULL;
        if (json_is_object(parent))
                return json_object_get(parent, last);
        int64_t i;
        if (json_is_array(parent) && parse_int64(last, 0, INT32_MAX, &i) == 0)
                return json_array_get(parent, (size_t)i);
        return NULL;
}

/* Remove at path; returns a new reference to the removed value or NULL. */
static json_t *pointer_remove(json_t *doc, const char *path) {
        _cleanup_free_ char *last = NULL;
        json_t *parent = resolve_parent(doc, path, &last);
        if (!parent)
                return NULL;
        json_t *v = NULL;
        if (json_is_object(parent)) {
                v = json_incref(json_object_get(parent, last));
                if (v)
                        json_object_del(parent, last);
        } else if (json_is_array(parent)) {
                int64_t i;
                if (parse_int64(last, 0, INT32_MAX, &i) == 0 && (size_t)i < json_array_size(parent)) {
                        v = json_incref(json_array_get(parent, (size_t)i));
                        json_array_remove(parent, (size_t)i);
                }
        }
        return v;
}

/* Add value (stolen) at path; replace=true requires the target to exist. */
static int pointer_add(json_t **doc, const char *path, json_t *value, bool replace) {
        if (path[0] == '\0') {
                json_decref(*doc);
                *doc = value;
                return 0;
        }
        _cleanup_free_ char *last = NULL;
        json_t *parent = resolve_parent(*doc, path, &last);
        int r = -EINVAL;
        if (json_is_object(parent)) {
                if (!replace || json_object_get(parent, last))
                        r = json_object_set(parent, last, value);
        } else if (json_is_array(parent)) {
                size_t n = json_array_size(parent);
                int64_t i;
                if (replace) {
                        if (parse_int64(last, 0, INT32_MAX, &i) == 0 && (size_t)i < n)
                                r = json_array_set(parent, (size_t)i, value);
                } else if (strcmp(last, "-") == 0)
                        r = json_array_append(parent, value);
                else if (parse_int64(last, 0, INT32_MAX, &i) == 0 && (size_t)i <= n)
                        r = json_array_insert(parent, (size_t)i, value);
        }
        json_decref(value);
        return r < 0 ? -EINVAL : 0;
}

int json_patch_apply(const json_t *doc, const json_t *patch, json_t **ret, struct kstatus_error *err) {
        if (!json_is_array(patch))
                return kstatus_error_set(err, EBADMSG, 0, 0,
                                         "json: cannot unmarshal object into Go value of type jsonpatch.Patch");
        size_t i;
        json_t *op;
        json_array_foreach(patch, i, op) {
                const char *o = json_string_value(json_object_get(op, "op"));
                const char *path = json_string_value(json_object_get(op, "path"));
                if (!o || !path)
                        return kstatus_error_set(err, EBADMSG, 0, 0, "Unable to get \"%s\": missing value",
                                                 o ? "path" : "op");
                if (strcmp(o, "add") && strcmp(o, "remove") && strcmp(o, "replace") && strcmp(o, "move") &&
                    strcmp(o, "copy") && strcmp(o, "test"))
                        return kstatus_error_set(err, EBADMSG, 0, 0, "Unexpected kind: %s", o);
        }

        json_t *d = json_deep_copy(doc);
        json_array_foreach(patch, i, op) {
                const char *o = json_string_value(json_object_get(op, "op"));
                const char *path = json_string_value(json_object_get(op, "path"));
                const char *from = json_string_value(json_object_get(op, "from"));
                json_t *value = json_object_get(op, "value");
                int r = 0;
                if (strcmp(o, "add") == 0 || strcmp(o, "replace") == 0) {
                        if (!value)
                                r = kstatus_error_set(err, EINVAL, 0, 0, "missing value for %s operation", o);
                        else if (pointer_add(&d, path, json_deep_copy(value), o[0] == 'r') < 0)
                                r = kstatus_error_set(err, EINVAL, 0, 0,
                                                      "%s operation does not apply: doc is missing path: \"%s\": "
                                                      "missing value", o, path);
                } else if (strcmp(o, "remove") == 0) {
                        json_t *v = pointer_remove(d, path);
                        if (!v)
                                r = kstatus_error_set(err, EINVAL, 0, 0,
                                                      "remove operation does not apply: doc is missing path: "
                                                      "\"%s\": missing value", path);
                        json_decref(v);
                } else if (strcmp(o, "move") == 0 || strcmp(o, "copy") == 0) {
                        json_t *v = !from ? NULL
                                          : o[0] == 'm' ? pointer_remove(d, from)
                                                        : json_deep_copy(pointer_get(d, from));
                        if (!v || pointer_add(&d, path, v, false) < 0)
                                r = kstatus_error_set(err, EINVAL, 0, 0,
                                                      "%s operation does not apply: doc is missing from path: "
                                                      "\"%s\": missing value", o, from ? from : "");
                } else { /* test */
                        json_t *v = pointer_get(d, path);
                        if (!v || !value || !json_equal(v, value))
                                r = kstatus_error_set(err, EINVAL, 0, 0,
                                                      "testing value %s failed: test failed", path);
                }
                if (r < 0) {
                        json_decref(d);
                        return r;
                }
        }
        *ret = d;
        return 0;
}

/* ---- strategic merge patch (simplified) ---- */

static const char *merge_key_of(const json_t *elem) {
        static const char *const keys[] = { "name", "type", "containerPort", "mountPath", "ip", "devicePath" };
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (json_object_get(elem, keys[i]))
                        return keys[i];
        return NULL;
}

static json_t *smp(const json_t *target, const json_t *patch);

static json_t *smp_list(const json_t *target, const json_t *patch) {
        /* Lists of objects with a merge key merge element-wise; others replace. */
        const json_t *first = json_array_get(patch, 0);
        const char *key = json_is_object(first) ? merge_key_of(first) : NULL;
        if (!key || !json_is_array(target)) {
                json_t *out = json_array();
                size_t i;
                json_t *e;
                json_array_foreach(patch, i, e) {
                        if (json_is_object(e) && json_object_get(e, "$patch"))
                                continue;
                        json_array_append_new(out, smp(NULL, e));
                }
                return out;
        }
        json_t *out = json_deep_copy(target);
        size_t i, j;
        json_t *e, *t;
        json_array_foreach(patch, i, e) {
                const json_t *kv = json_object_get(e, key);
                const char *directive = json_string_value(json_object_get(e, "$patch"));
                size_t found = (size_t)-1;
                json_array_foreach(out, j, t) if (kv && json_equal(json_object_get(t, key), kv)) {
                        found = j;
                        break;
                }
                if (directive && strcmp(directive, "delete") == 0) {
                        if (found != (size_t)-1)
                                json_array_remove(out, found);
                } else if (found != (size_t)-1)
                        json_array_set_new(out, found, smp(json_array_get(out, found), e));
                else
                        json_array_append_new(out, smp(NULL, e));
        }
        return out;
}

static json_t *smp(const json_t *target, const json_t *patch) {
        if (json_is_array(patch))
                return smp_list(target, patch);
        if (!json_is_object(patch))
                return json_deep_copy(patch);
        const char *directive = json_string_value(json_object_get(patch, "$patch"));
        json_t *out = json_is_object(target) && !(directive && strcmp(directive, "replace") == 0)
                              ? json_deep_copy(target)
                              : json_object();
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)patch, k, v) {
                if (k[0] == '$')
                        continue; /* $patch, $setElementOrder/..., $retainKeys: ordering hints ignored */
                if (json_is_null(v))
                        json_object_del(out, k);
                else
                        json_object_set_new(out, k, smp(json_object_get(out, k), v));
        }
        return out;
}

json_t *strategic_merge_patch(const json_t *target, const json_t *patch) {
        return smp(target, patch);
}
