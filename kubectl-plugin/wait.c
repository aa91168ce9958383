#include "wait.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conditions.h"
#include "util.h"

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
        } else if (str_has_prefix(spec, "message=")) {
                w.kind = WAIT_MESSAGE;
                w.value = xstrdup(spec + strlen("message="));
        } else {
                snprintf(err, err_size,
                         "unrecognized condition: \"%s\"; want delete, create, condition=NAME[=VALUE], health=STATE "
                         "or message=TEXT",
                         spec);
                return -EINVAL;
        }
        *ret = w;
        return 0;
}

void wait_for_clear(struct wait_for *w) {
        free(w->name);
        free(w->value);
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
