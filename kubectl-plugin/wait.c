#include "wait.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conditions.h"
#include "jsonpath.h"
#include "util.h"

/* kubectl's splitJSONPathInput: split at "=", but "==" stays (a filter's). */
static char **split_jsonpath(const char *s, size_t *ret_n) {
        char **parts = NULL;
        size_t n = 0;
        struct kstatus_buf b = { 0 };
        kstatus_buf_put(&b, "", 0);
        for (;; s++) {
                if (*s == '=' && s[1] == '=') {
                        kstatus_buf_put(&b, "==", 2);
                        s++;
                        continue;
                }
                if (*s && *s != '=') {
                        kstatus_buf_put(&b, s, 1);
                        continue;
                }
                parts = xrealloc(parts, (n + 1) * sizeof(char *));
                parts[n++] = b.data;
                b = (struct kstatus_buf){ 0 };
                kstatus_buf_put(&b, "", 0);
                if (!*s)
                        break;
        }
        free(b.data);
        *ret_n = n;
        return parts;
}

static int parse_jsonpath(const char *input, struct wait_for *w, char *err, size_t err_size) {
        size_t n;
        char **parts = split_jsonpath(input, &n);
        _cleanup_free_ char *relaxed = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
        int r = -EINVAL;
        if (n > 2)
                snprintf(err, err_size, "jsonpath wait format must be --for=jsonpath='{.status.readyReplicas}'=3 or "
                                        "--for=jsonpath='{.status.readyReplicas}'");
        else if (jsonpath_relaxed(parts[0], &relaxed, &e) < 0)
                snprintf(err, err_size, "%s", e.message);
        else if (!*relaxed)
                snprintf(err, err_size, "jsonpath expression cannot be empty");
        else if (n == 2 && !parts[1][strspn(parts[1], "'\"")])
                snprintf(err, err_size, "jsonpath wait has to have a value after equal sign, like "
                                        "--for=jsonpath='{.status.readyReplicas}'=3");
        else if (jsonpath_parse(relaxed, &w->jp, &e) < 0)
                snprintf(err, err_size, "%s", e.message);
        else
                r = 0;
        if (r == 0 && n == 2) {
                /* strings.Trim(value, `'"`) */
                const char *v = parts[1] + strspn(parts[1], "'\"");
                size_t len = strlen(v);
                while (len && strchr("'\"", v[len - 1]))
                        len--;
                w->value = xstrndup(v, len);
        }
        for (size_t i = 0; i < n; i++)
                free(parts[i]);
        free(parts);
        return r;
}

static bool jsonpath_met(const struct wait_for *w, const json_t *obj) {
        _cleanup_json_ json_t *found = NULL;
        if (jsonpath_find(w->jp, obj, true, &found, NULL) < 0)
                return false;
        json_t *first = json_array_get(found, 0);
        if (json_array_size(first) == 0 || json_array_size(found) > 1 || json_array_size(first) > 1)
                return false;
        if (!w->value)
                return true;
        json_t *v = json_array_get(first, 0);
        if (json_is_object(v) || json_is_array(v))
                return false;
        _cleanup_free_ char *s = jsonpath_sprint(v);
        /* strings.TrimSpace on both sides */
        const char *a = s + strspn(s, " \t\n\r\v\f"), *b = w->value + strspn(w->value, " \t\n\r\v\f");
        size_t la = strlen(a), lb = strlen(b);
        while (la && strchr(" \t\n\r\v\f", a[la - 1]))
                la--;
        while (lb && strchr(" \t\n\r\v\f", b[lb - 1]))
                lb--;
        return la == lb && memcmp(a, b, la) == 0;
}

int wait_for_parse(const char *spec, struct wait_for *ret, char *err, size_t err_size) {
        struct wait_for w = { 0 };
        if (strcmp(spec, "delete") == 0) {
                w.kind = WAIT_DELETE;
        } else if (strcmp(spec, "create") == 0) {
                w.kind = WAIT_CREATE;
        } else if (str_has_prefix(spec, "condition=")) {
                const char *rest = spec + strlen("condition=");
                const char *eq = strchr(rest, '=');
                w.kind = WAIT_CONDITION;
                w.name = eq ? xstrndup(rest, (size_t)(eq - rest)) : xstrdup(rest);
                w.value = xstrdup(eq ? eq + 1 : "True");
                if (!*w.name || !*w.value) {
                        wait_for_clear(&w);
                        snprintf(err, err_size, "invalid --for condition: \"%s\"; want condition=NAME[=VALUE]", spec);
                        return -EINVAL;
                }
        } else if (str_has_prefix(spec, "health=")) {
                w.kind = WAIT_HEALTH;
                w.value = xstrdup(spec + strlen("health="));
                static const char *const states[] = { "unhealthy", "degraded", "unknown", "healthy", "ready" };
                bool known = false;
                for (size_t i = 0; i < ELEMENTSOF(states); i++)
                        known |= strcmp(w.value, states[i]) == 0;
                if (!known) {
                        snprintf(err, err_size,
                                 "invalid --for health state \"%s\": want unhealthy, degraded, unknown, healthy or "
                                 "ready",
                                 w.value);
                        wait_for_clear(&w);
                        return -EINVAL;
                }
        } else if (str_has_prefix(spec, "jsonpath=")) {
                w.kind = WAIT_JSONPATH;
                if (parse_jsonpath(spec + strlen("jsonpath="), &w, err, err_size) < 0) {
                        wait_for_clear(&w);
                        return -EINVAL;
                }
        } else if (str_has_prefix(spec, "message=")) {
                w.kind = WAIT_MESSAGE;
                w.value = xstrdup(spec + strlen("message="));
        } else {
                snprintf(err, err_size,
                         "unrecognized condition: \"%s\"; want delete, create, condition=NAME[=VALUE], health=STATE, "
                         "message=TEXT or jsonpath='{EXPR}'[=VALUE]",
                         spec);
                return -EINVAL;
        }
        *ret = w;
        return 0;
}

void wait_for_clear(struct wait_for *w) {
        free(w->name);
        free(w->value);
        jsonpath_free(w->jp);
        *w = (struct wait_for){ 0 };
}

/* kubectl wait's lookup: the first condition whose type matches without case. */
static json_t *condition_find(json_t *conditions, const char *type) {
        size_t i;
        json_t *c;
        json_array_foreach(conditions, i, c) {
                const char *t = json_string_value(json_object_get(c, "type"));
                if (t && strcasecmp(t, type) == 0)
                        return c;
        }
        return NULL;
}

bool wait_for_met(const struct wait_for *w, const json_t *obj) {
        if (w->kind == WAIT_DELETE)
                return obj == NULL;
        if (w->kind == WAIT_CREATE)
                return obj != NULL;
        if (!obj)
                return false;
        json_t *status = json_object_get(obj, "status");
        switch (w->kind) {
        case WAIT_CONDITION: {
                json_t *c = condition_find(json_object_get(status, "conditions"), w->name);
                const char *s = json_string_value(json_object_get(c, "status"));
                if (!s || strcasecmp(s, w->value) != 0)
                        return false;
                /* Kratix records the generation it reconciled at the top of
                 * status; its schema prunes a condition's own observedGeneration. */
                json_t *og = json_object_get(status, "observedGeneration");
                json_t *gen = json_object_get(json_object_get(obj, "metadata"), "generation");
                if (json_is_integer(og) && json_is_integer(gen) && json_integer_value(og) != json_integer_value(gen))
                        return false;
                return true;
        }
        case WAIT_HEALTH: {
                const char *s = json_string_value(json_object_get(json_object_get(status, "healthStatus"), "state"));
                if (!s)
                        s = json_string_value(json_object_get(json_object_get(status, "healthRecord"), "state"));
                return s && strcmp(s, w->value) == 0;
        }
        case WAIT_MESSAGE: {
                const char *s = json_string_value(json_object_get(status, "message"));
                return s && strcmp(s, w->value) == 0;
        }
        case WAIT_JSONPATH:
                return jsonpath_met(w, obj);
        default:
                return false;
        }
}

bool wait_workflow_failed(const json_t *obj, const char **ret_message) {
        json_t *conds = json_object_get(json_object_get(obj, "status"), "conditions");
        const char *types[] = { KSTATUS_COND_CONFIGURE, KSTATUS_COND_DELETE };
        const char *reasons[] = { KSTATUS_REASON_CONFIGURE_FAILED, KSTATUS_REASON_DELETE_FAILED };
        for (size_t i = 0; i < 2; i++) {
                json_t *c = kstatus_conditions_find(conds, types[i]);
                const char *s = json_string_value(json_object_get(c, "status"));
                const char *r = json_string_value(json_object_get(c, "reason"));
                if (s && r && strcmp(s, "False") == 0 && strcmp(r, reasons[i]) == 0) {
                        if (ret_message)
                                *ret_message = json_string_value(json_object_get(c, "message"));
                        return true;
                }
        }
        return false;
}
