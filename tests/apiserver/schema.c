/* schema.c - a CRD's structural schema applied to custom resources as
 * kube-apiserver applies it, written from k8s.io/apiextensions-apiserver
 * (pkg/apiserver/schema/pruning, defaulting/prunenulls.go, objectmeta,
 * pkg/apiserver/validation) and k8s.io/kube-openapi pkg/validation
 * (validate, errors) as vendored by Kubernetes 1.32:
 *
 * - pruning: fields the schema does not name are dropped at any depth, but
 *   not under x-kubernetes-preserve-unknown-fields (whose named properties
 *   are still pruned); x-kubernetes-embedded-resource (and the root) keep
 *   apiVersion, kind and metadata; the root's metadata is not pruned here;
 * - then nulls the schema does not allow (not nullable, no default) are
 *   dropped where an object holds them; null list elements stay;
 * - validation: type (x-kubernetes-int-or-string is integer or string; an
 *   integral number is an integer, an integer is a number), format (string
 *   formats date-time, date, byte, uuid; the type/format check kube-openapi
 *   does on non-strings), nullable, enum, required, min/max length, items,
 *   properties and value bounds, the apiVersion and kind of embedded
 *   resources; each failure is a field error worded as kube-apiserver
 *   words it (field.Error.ErrorBody).
 *
 * - defaulting: absent properties, and nulls the schema does not allow,
 *   get the schema's default (defaulting/algorithm.go), before validation.
 *
 * Ratcheting (CRDValidationRatcheting, on by default in 1.32): on update, a
 * value equal to the old object's value at the same place is not
 * validated again. Lists are not correlated (kube correlates only map and
 * set lists). Not done: CEL rules, pattern, multipleOf,
 * uniqueItems, the other string formats (accepted as they are). */
#include <math.h>
#include <regex.h>
#include <string.h>

#include "schema.h"
#include "server.h"

static bool flag(const json_t *s, const char *key) {
        return json_is_true(json_object_get(s, key));
}

/* ---- pruning ---- */

static bool is_meta_field(const char *k) {
        return strcmp(k, "apiVersion") == 0 || strcmp(k, "kind") == 0 || strcmp(k, "metadata") == 0;
}

/* The schema for member k of an object of schema s, or NULL. */
static const json_t *member_schema(const json_t *s, const char *k) {
        const json_t *p = json_object_get(json_object_get(s, "properties"), k);
        if (p)
                return p;
        const json_t *ap = json_object_get(s, "additionalProperties");
        return json_is_object(ap) ? ap : NULL;
}

static bool has_additional(const json_t *s) {
        return json_is_object(json_object_get(s, "additionalProperties"));
}

static void prune(json_t *x, const json_t *s, bool root);

/* skipPrune: under x-kubernetes-preserve-unknown-fields, only what the
 * schema names is pruned. */
static void skip_prune(json_t *x, const json_t *s) {
        if (json_is_object(x)) {
                const char *k;
                json_t *v;
                json_object_foreach(x, k, v) {
                        if (flag(s, "x-kubernetes-embedded-resource") && is_meta_field(k))
                                continue;
                        const json_t *ms = member_schema(s, k);
                        if (ms)
                                prune(v, ms, false);
                }
        } else if (json_is_array(x)) {
                size_t i;
                json_t *v;
                const json_t *items = json_object_get(s, "items");
                json_array_foreach(x, i, v) if (items) skip_prune(v, items);
        }
}

static void prune(json_t *x, const json_t *s, bool root) {
        if (s && flag(s, "x-kubernetes-preserve-unknown-fields")) {
                skip_prune(x, s);
                return;
        }
        bool embedded = root || flag(s, "x-kubernetes-embedded-resource");
        if (json_is_object(x)) {
                const char *k;
                json_t *v;
                void *tmp;
                json_object_foreach_safe(x, tmp, k, v) {
                        if (embedded && is_meta_field(k))
                                continue;
                        const json_t *ms = s ? member_schema(s, k) : NULL;
                        if (ms)
                                prune(v, ms, false);
                        else
                                json_object_del(x, k);
                }
        } else if (json_is_array(x)) {
                size_t i;
                json_t *v;
                const json_t *items = s ? json_object_get(s, "items") : NULL;
                json_array_foreach(x, i, v) prune(v, items, false);
        }
}

/* PruneNonNullableNullsWithoutDefaults. */
static void prune_nulls(json_t *x, const json_t *s) {
        if (json_is_object(x)) {
                const char *k;
                json_t *v;
                void *tmp;
                json_object_foreach_safe(x, tmp, k, v) {
                        const json_t *ms = s ? member_schema(s, k) : NULL;
                        if (json_is_null(v) && ms && !flag(ms, "nullable") && !json_object_get(ms, "default"))
                                json_object_del(x, k);
                        else
                                prune_nulls(v, ms);
                }
        } else if (json_is_array(x)) {
                size_t i;
                json_t *v;
                const json_t *items = s ? json_object_get(s, "items") : NULL;
                json_array_foreach(x, i, v) prune_nulls(v, items);
        }
}

/* A null where the schema s does not allow one, and s has a default. */
static bool defaults_null(const json_t *v, const json_t *s) {
        return json_is_null(v) && s && !flag(s, "nullable") && json_object_get(s, "default");
}

/* defaulting.Default: absent properties (and disallowed nulls) with a
 * default get it, at any depth. */
static void apply_defaults(json_t *x, const json_t *s) {
        if (!s)
                return;
        const char *k;
        json_t *v;
        if (json_is_object(x)) {
                json_t *props = json_object_get(s, "properties");
                json_object_foreach(props, k, v) {
                        const json_t *d = json_object_get(v, "default");
                        json_t *cur = json_object_get(x, k);
                        if (d && (!cur || defaults_null(cur, v)))
                                json_object_set_new(x, k, json_deep_copy(d));
                }
                json_object_foreach(x, k, v) {
                        const json_t *ms = member_schema(s, k);
                        if (!json_object_get(props, k) && defaults_null(v, ms)) {
                                json_object_set_new(x, k, json_deep_copy(json_object_get(ms, "default")));
                                v = json_object_get(x, k);
                        }
                        apply_defaults(v, ms);
                }
        } else if (json_is_array(x)) {
                const json_t *items = json_object_get(s, "items");
                size_t i;
                json_array_foreach(x, i, v) {
                        if (defaults_null(v, items))
                                json_array_set_new(x, i, json_deep_copy(json_object_get(items, "default")));
                        apply_defaults(json_array_get(x, i), items);
                }
        }
}

void schema_prune(const json_t *schema, json_t *obj) {
        prune(obj, schema, true);
        prune_nulls(obj, schema);
        apply_defaults(obj, schema);
}

/* ---- validation ---- */

struct vctx {
        json_t *causes; /* [{reason, message, field}] */
};

/* field.Error's ErrorBody for a bad value: strings quoted as Go's %q,
 * numbers and booleans as %v. */
static char *value_repr(const json_t *v) {
        if (!v || json_is_null(v))
                return xstrdup("\"null\"");
        if (json_is_string(v) || json_is_number(v) || json_is_boolean(v))
                return json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
        return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS); /* Go would print a %#v map; rare */
}

static void add_cause(struct vctx *c, const char *reason, const char *field, char *body) {
        json_array_append_new(c->causes, json_pack("{s:s, s:s, s:s}", "reason", reason, "message", body, "field",
                                                   field));
        free(body);
}

static void type_invalid(struct vctx *c, const char *path, const char *want, const char *actual) {
        /* errors.InvalidType with a string value, as field.TypeInvalid. */
        add_cause(c, "FieldValueTypeInvalid", path,
                  xasprintf("Invalid value: \"%s\": %s in body must be of type %s: \"%s\"", actual, path, want, actual));
}

static const char *json_type_name(const json_t *v) {
        switch (json_typeof(v)) {
        case JSON_OBJECT: return "object";
        case JSON_ARRAY: return "array";
        case JSON_STRING: return "string";
        case JSON_INTEGER: return "integer";
        case JSON_REAL: return "number";
        case JSON_TRUE:
        case JSON_FALSE: return "boolean";
        default: return "null";
        }
}

/* The types a schema allows, joined with "," as kube-openapi prints them;
 * "" when it names none. New string. */
static char *schema_types(const json_t *s) {
        if (flag(s, "x-kubernetes-int-or-string"))
                return xstrdup("integer,string");
        const char *t = json_string_value(json_object_get(s, "type"));
        return xstrdup(t ? t : "");
}

static bool types_contain(const char *types, const char *t) {
        size_t n = strlen(t);
        for (const char *p = types; *p;) {
                size_t m = strcspn(p, ",");
                if (m == n && strncmp(p, t, n) == 0)
                        return true;
                p += m + (p[m] == ',');
        }
        return false;
}

static bool integral(const json_t *v) {
        double d = json_real_value(v);
        return isfinite(d) && d == floor(d);
}

/* typeValidator.Validate; false when the value has the wrong type. */
static bool check_type(struct vctx *c, const json_t *v, const json_t *s, const char *path) {
        _cleanup_free_ char *types = schema_types(s);
        const char *format = json_string_value(json_object_get(s, "format"));
        if (!types[0] && !format)
                return true;
        if (json_is_null(v)) {
                if (types[0] && !flag(s, "nullable")) {
                        type_invalid(c, path, types, "null");
                        return false;
                }
                return true;
        }
        const char *actual = json_type_name(v);
        bool float_int = json_is_real(v) && integral(v) && types_contain(types, "integer");
        bool int_float = json_is_integer(v) && types_contain(types, "number");
        if (format && format[0] && !json_is_string(v) && !json_is_array(v)) {
                /* The Go value's own format: int64 and float64 from JSON. */
                const char *vf = json_is_integer(v) ? "int64" : json_is_real(v) ? "float64" : "";
                bool lower = (strcmp(format, "int64") == 0 && strcmp(vf, "int32") == 0) ||
                             (strcmp(format, "double") == 0 && strcmp(vf, "float") == 0);
                if (!(types_contain(types, actual) || strcmp(vf, format) == 0 || float_int || int_float || lower)) {
                        type_invalid(c, path, format, vf);
                        return false;
                }
        }
        if (!types[0])
                return true;
        if (!(types_contain(types, actual) || float_int || int_float)) {
                type_invalid(c, path, types, actual);
                return false;
        }
        return true;
}

static bool matches(const char *re, const char *s) {
        regex_t r;
        if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB | REG_ICASE) != 0)
                return true;
        bool ok = regexec(&r, s, 0, NULL, 0) == 0;
        regfree(&r);
        return ok;
}

/* strfmt's IsDate (time.Parse "2006-01-02") and IsDateTime. */
static bool is_date(const char *s) {
        int y, m, d, n = 0;
        if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || s[4] != '-' || s[7] != '-')
                return false;
        static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        return m >= 1 && m <= 12 && d >= 1 && d <= (m == 2 && !leap ? 28 : mdays[m - 1]);
}

static bool is_date_time(const char *s) {
        if (strlen(s) < 4)
                return false;
        /* strings.Split(strings.ToLower(s), "t"): the date, then the time. */
        const char *t = strpbrk(s, "tT");
        if (!t)
                return false;
        _cleanup_free_ char *date = xstrndup(s, (size_t)(t - s));
        size_t tn = strcspn(t + 1, "tT");
        _cleanup_free_ char *time_part = xstrndup(t + 1, tn);
        if (!is_date(date) || !matches("^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$",
                                       time_part))
                return false;
        return strncmp(time_part, "23", 2) <= 0 && strncmp(time_part + 3, "59", 2) <= 0 &&
               strncmp(time_part + 6, "59", 2) <= 0;
}

/* formatValidator for the formats checked here; others pass. */
static void check_format(struct vctx *c, const char *v, const char *format, const char *path) {
        bool ok = true;
        if (strcmp(format, "date-time") == 0 || strcmp(format, "datetime") == 0)
                ok = is_date_time(v);
        else if (strcmp(format, "date") == 0)
                ok = is_date(v);
        else if (strcmp(format, "byte") == 0)
                ok = matches("^(([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?)$", v);
        else if (strcmp(format, "uuid") == 0)
                ok = matches("^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", v);
        if (ok)
                return;
        json_t *js = json_string(v);
        _cleanup_free_ char *repr = value_repr(js);
        json_decref(js);
        add_cause(c, "FieldValueTypeInvalid", path,
                  xasprintf("Invalid value: %s: %s in body must be of type %s: %s", repr, path, format, repr));
}

static bool enum_has(const json_t *values, const json_t *v) {
        size_t i;
        json_t *e;
        json_array_foreach(values, i, e) {
                if (json_equal(e, v) ||
                    (json_is_number(e) && json_is_number(v) && json_number_value(e) == json_number_value(v)))
                        return true;
        }
        return false;
}

/* commonValidator: field.NotSupported with the allowed values quoted. */
static void check_enum(struct vctx *c, const json_t *v, const json_t *s, const char *path) {
        const json_t *values = json_object_get(s, "enum");
        if (json_array_size(values) == 0 || enum_has(values, v))
                return;
        _cleanup_free_ char *repr = value_repr(v);
        char *body = xasprintf("Unsupported value: %s: supported values: ", repr);
        size_t i;
        json_t *e;
        json_array_foreach(values, i, e) {
                _cleanup_free_ char *ev = json_is_string(e) ? xstrdup(json_string_value(e))
                                                            : json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
                json_t *q = json_string(ev);
                _cleanup_free_ char *quoted = json_dumps(q, JSON_ENCODE_ANY);
                json_decref(q);
                char *next = xasprintf("%s%s%s", body, i ? ", " : "", quoted);
                free(body);
                body = next;
        }
        add_cause(c, "FieldValueNotSupported", path, body);
}

/* stringValidator's lengths (in runes, as Go's utf8.RuneCountInString). */
static void check_string(struct vctx *c, const json_t *v, const json_t *s, const char *path) {
        size_t runes = 0;
        for (const unsigned char *p = (const unsigned char *)json_string_value(v); *p; p++)
                runes += (*p & 0xC0) != 0x80;
        const json_t *max = json_object_get(s, "maxLength"), *min = json_object_get(s, "minLength");
        _cleanup_free_ char *repr = value_repr(v);
        if (json_is_integer(max) && runes > (size_t)json_integer_value(max))
                add_cause(c, "FieldValueTooLong", path,
                          xasprintf("Too long: may not be more than %lld bytes", (long long)json_integer_value(max)));
        else if (json_is_integer(min) && runes < (size_t)json_integer_value(min))
                add_cause(c, "FieldValueInvalid", path,
                          xasprintf("Invalid value: %s: %s in body should be at least %lld chars long", repr, path,
                                    (long long)json_integer_value(min)));
        const char *format = json_string_value(json_object_get(s, "format"));
        if (format)
                check_format(c, json_string_value(v), format, path);
}

/* numberValidator's bounds (Minimum, Maximum and their exclusive forms). */
static void check_number(struct vctx *c, const json_t *v, const json_t *s, const char *path) {
        double d = json_number_value(v);
        const json_t *max = json_object_get(s, "maximum"), *min = json_object_get(s, "minimum");
        _cleanup_free_ char *repr = value_repr(v);
        if (json_is_number(max)) {
                bool excl = flag(s, "exclusiveMaximum");
                if (excl ? d >= json_number_value(max) : d > json_number_value(max))
                        add_cause(c, "FieldValueInvalid", path,
                                  xasprintf("Invalid value: %s: %s in body should be less than %s%g", repr, path,
                                            excl ? "" : "or equal to ", json_number_value(max)));
        }
        if (json_is_number(min)) {
                bool excl = flag(s, "exclusiveMinimum");
                if (excl ? d <= json_number_value(min) : d < json_number_value(min))
                        add_cause(c, "FieldValueInvalid", path,
                                  xasprintf("Invalid value: %s: %s in body should be greater than %s%g", repr, path,
                                            excl ? "" : "or equal to ", json_number_value(min)));
        }
}

static void validate(struct vctx *c, const json_t *v, const json_t *old, const json_t *s, const char *path);

static char *child_path(const char *path, const char *k) {
        return path[0] ? xasprintf("%s.%s", path, k) : xstrdup(k);
}

/* objectMeta's validateEmbeddedResource, for an embedded resource below
 * the root. */
static void check_embedded(struct vctx *c, const json_t *v, const char *path) {
        static const char *const keys[] = { "apiVersion", "kind" };
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                _cleanup_free_ char *p = child_path(path, keys[i]);
                const json_t *f = json_object_get(v, keys[i]);
                _cleanup_free_ char *repr = value_repr(f);
                if (!f)
                        add_cause(c, "FieldValueRequired", p, xstrdup("Required value"));
                else if (!json_is_string(f))
                        add_cause(c, "FieldValueInvalid", p, xasprintf("Invalid value: %s: must be a string", repr));
                else if (!json_string_length(f))
                        add_cause(c, "FieldValueInvalid", p, xstrdup("Invalid value: \"\": must not be empty"));
        }
}

/* objectValidator: additionalProperties, then properties, then required. */
static void check_object(struct vctx *c, const json_t *v, const json_t *old, const json_t *s, const char *path) {
        const json_t *props = json_object_get(s, "properties");
        const char *k;
        json_t *x;
        if (has_additional(s))
                json_object_foreach((json_t *)v, k, x) {
                        if (json_object_get(props, k))
                                continue;
                        _cleanup_free_ char *p = child_path(path, k);
                        validate(c, x, json_object_get(old, k), json_object_get(s, "additionalProperties"), p);
                }
        json_object_foreach((json_t *)props, k, x) {
                const json_t *val = json_object_get(v, k);
                if (!val)
                        continue;
                _cleanup_free_ char *p = child_path(path, k);
                validate(c, val, json_object_get(old, k), x, p);
        }
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(s, "required"), i, r) {
                const char *name = json_string_value(r);
                if (name && !json_object_get(v, name)) {
                        _cleanup_free_ char *p = child_path(path, name);
                        add_cause(c, "FieldValueRequired", p, xstrdup("Required value"));
                }
        }
}

static void check_array(struct vctx *c, const json_t *v, const json_t *s, const char *path) {
        const json_t *items = json_object_get(s, "items");
        const json_t *max = json_object_get(s, "maxItems"), *min = json_object_get(s, "minItems");
        size_t n = json_array_size(v);
        if (json_is_integer(max) && n > (size_t)json_integer_value(max))
                add_cause(c, "FieldValueTooMany", path,
                          xasprintf("Too many: %zu: must have at most %lld items", n, (long long)json_integer_value(max)));
        if (json_is_integer(min) && n < (size_t)json_integer_value(min))
                add_cause(c, "FieldValueInvalid", path,
                          xasprintf("Invalid value: %zu: %s in body should have at least %lld items", n, path,
                                    (long long)json_integer_value(min)));
        if (!json_is_object(items))
                return;
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
                _cleanup_free_ char *p = xasprintf("%s[%zu]", path, i);
                validate(c, e, NULL, items, p); /* lists are not correlated for ratcheting */
        }
}

static void validate(struct vctx *c, const json_t *v, const json_t *old, const json_t *s, const char *path) {
        if (!s || (old && json_equal(v, old)))
                return; /* no schema; or unchanged: ratcheted */
        check_type(c, v, s, path);
        if (json_is_null(v)) {
                check_enum(c, v, s, path);
                return;
        }
        if (json_is_string(v))
                check_string(c, v, s, path);
        else if (json_is_number(v))
                check_number(c, v, s, path);
        else if (json_is_array(v))
                check_array(c, v, s, path);
        check_enum(c, v, s, path);
        if (json_is_object(v)) {
                if (path[0] && flag(s, "x-kubernetes-embedded-resource"))
                        check_embedded(c, v, path);
                check_object(c, v, old, s, path);
        }
}

json_t *schema_validate(const json_t *schema, const json_t *obj, const json_t *old) {
        struct vctx c = { .causes = json_array() };
        validate(&c, obj, old, schema, "");
        if (json_array_size(c.causes) == 0) {
                json_decref(c.causes);
                return NULL;
        }
        return c.causes;
}

char *schema_causes_message(const json_t *causes) {
        /* field.ErrorList.ToAggregate: duplicates dropped, one error as it
         * is, several as [a, b]. */
        json_t *seen = json_object();
        char *out = xstrdup("");
        size_t i, n = 0;
        json_t *cause;
        json_array_foreach(causes, i, cause) {
                _cleanup_free_ char *msg = xasprintf("%s: %s", json_string_value(json_object_get(cause, "field")),
                                                     json_string_value(json_object_get(cause, "message")));
                if (json_object_get(seen, msg))
                        continue;
                json_object_set_new(seen, msg, json_true());
                char *next = xasprintf("%s%s%s", out, n++ ? ", " : "", msg);
                free(out);
                out = next;
        }
        json_decref(seen);
        if (n > 1) {
                char *b = xasprintf("[%s]", out);
                free(out);
                out = b;
        }
        return out;
}
