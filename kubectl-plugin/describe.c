/* describe.c - the describe model and its text rendering. No I/O besides the
 * FILE it renders to, so golden tests cover it without a server. */
#include "describe.h"

#include <string.h>

#include "conditions.h"
#include "health.h"
#include "plugin.h"
#include "util.h"

void human_duration(int64_t s, char buf[static 32]) {
        if (s < -1) {
                snprintf(buf, 32, "<invalid>");
                return;
        }
        if (s < 0)
                s = 0;
        if (s < 120) {
                snprintf(buf, 32, "%llds", (long long)s);
                return;
        }
        int64_t m = s / 60, h = s / 3600, d = h / 24;
        if (m < 10) {
                if (s % 60)
                        snprintf(buf, 32, "%lldm%llds", (long long)m, (long long)(s % 60));
                else
                        snprintf(buf, 32, "%lldm", (long long)m);
        } else if (m < 180)
                snprintf(buf, 32, "%lldm", (long long)m);
        else if (h < 8) {
                if (m % 60)
                        snprintf(buf, 32, "%lldh%lldm", (long long)h, (long long)(m % 60));
                else
                        snprintf(buf, 32, "%lldh", (long long)h);
        } else if (h < 48)
                snprintf(buf, 32, "%lldh", (long long)h);
        else if (h < 24 * 8) {
                if (h % 24)
                        snprintf(buf, 32, "%lldd%lldh", (long long)d, (long long)(h % 24));
                else
                        snprintf(buf, 32, "%lldd", (long long)d);
        } else if (h < 24 * 365 * 2)
                snprintf(buf, 32, "%lldd", (long long)d);
        else if (h < 24 * 365 * 8) {
                if (d % 365)
                        snprintf(buf, 32, "%lldy%lldd", (long long)(d / 365), (long long)(d % 365));
                else
                        snprintf(buf, 32, "%lldy", (long long)(d / 365));
        } else
                snprintf(buf, 32, "%lldy", (long long)(d / 365));
}

static const char *str(const json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

/* Age of an RFC 3339 time as a string (new reference), or NULL. */
static json_t *age_of(const char *when, int64_t now) {
        int64_t t;
        if (!when || kstatus_time_parse(when, &t) < 0)
                return NULL;
        char buf[32];
        human_duration(now - t, buf);
        return json_string(buf);
}

static void set_opt(json_t *o, const char *key, json_t *v) {
        if (v)
                json_object_set_new(o, key, v);
}

/* The pipeline that suspended the workflow (phase Suspended in Kratix's
 * status.kratix.workflows.pipelines), or NULL. Borrowed. */
static const json_t *suspended_pipeline(const json_t *status) {
        json_t *list = json_object_get(json_object_get(json_object_get(status, "kratix"), "workflows"), "pipelines");
        size_t i;
        json_t *p;
        json_array_foreach(list, i, p) {
                const char *phase = str(p, "phase");
                if (phase && strcmp(phase, "Suspended") == 0)
                        return p;
        }
        return NULL;
}

/* "in 4m", "4m ago" or NULL, for a time a pipeline will be retried at. New reference. */
static json_t *retry_in(const char *when, int64_t now) {
        int64_t t;
        if (!when || kstatus_time_parse(when, &t) < 0)
                return NULL;
        char buf[32];
        human_duration(t >= now ? t - now : now - t, buf);
        return json_sprintf(t >= now ? "in %s" : "%s ago", buf);
}

json_t *describe_workflow(const json_t *status, int64_t now) {
        json_t *conds = json_object_get(status, "conditions");
        json_t *w = json_object();
        const char *action = "configure";
        json_t *c = kstatus_conditions_find(conds, KSTATUS_COND_DELETE);
        if (c)
                action = "delete";
        else
                c = kstatus_conditions_find(conds, KSTATUS_COND_CONFIGURE);
        json_object_set_new(w, "action", json_string(action));
        const char *since = str(c, "lastTransitionTime");
        char age[32] = "?";
        int64_t t;
        if (since && kstatus_time_parse(since, &t) == 0)
                human_duration(now - t, age);
        const char *state = "Unknown", *pipeline = NULL;
        _cleanup_free_ char *text = NULL;
        const char *reason = str(c, "reason"), *cstatus = str(c, "status"), *message = str(c, "message");
        if (!c)
                text = xasprintf("no %s workflow has reported yet", action);
        else if (cstatus && strcmp(cstatus, "True") == 0) {
                state = "Completed";
                text = xasprintf("%s workflow completed %s ago", action, age);
        } else if (reason && (strcmp(reason, KSTATUS_REASON_CONFIGURE_FAILED) == 0 ||
                              strcmp(reason, KSTATUS_REASON_DELETE_FAILED) == 0)) {
                state = "Failed";
                const char *colon = message ? strrchr(message, ':') : NULL;
                pipeline = colon ? colon + 1 + (colon[1] == ' ') : NULL;
                if (pipeline && *pipeline)
                        text = xasprintf("failed in pipeline %s %s ago", pipeline, age);
                else
                        text = xasprintf("%s workflow failed %s ago", action, age);
        } else if (suspended_pipeline(status)) {
                /* Kratix's status-writer does not complete a workflow whose
                 * last pipeline asked to suspend or retry. */
                state = "Suspended";
                pipeline = str(suspended_pipeline(status), "name");
                _cleanup_json_ json_t *in = retry_in(str(suspended_pipeline(status), "nextRetryAt"), now);
                text = in ? xasprintf("%s workflow suspended by pipeline %s, retry %s", action, pipeline ? pipeline : "?",
                                      json_string_value(in))
                          : xasprintf("%s workflow suspended by pipeline %s", action, pipeline ? pipeline : "?");
        } else if (cstatus && strcmp(cstatus, "False") == 0) {
                state = "InProgress";
                text = xasprintf("%s workflow in progress for %s", action, age);
        } else
                text = xasprintf("%s workflow state unknown (%s)", action, reason ? reason : "no reason");
        json_object_set_new(w, "state", json_string(state));
        if (since)
                json_object_set_new(w, "since", json_string(since));
        if (pipeline && *pipeline)
                json_object_set_new(w, "pipeline", json_string(pipeline));
        json_object_set_new(w, "text", json_string(text));
        return w;
}

/* Kratix's status.kratix.workflows.pipelines[] ({name, phase, message,
 * nextRetryAt, attempts, lastTransitionTime}), the only list it writes. */
static json_t *pipelines_of(const json_t *status, int64_t now) {
        json_t *list = json_object_get(json_object_get(json_object_get(status, "kratix"), "workflows"), "pipelines");
        json_t *out = json_array();
        size_t i;
        json_t *p;
        json_array_foreach(list, i, p) {
                json_t *e = json_object();
                set_opt(e, "name", json_incref(json_object_get(p, "name")));
                set_opt(e, "phase", json_incref(json_object_get(p, "phase")));
                set_opt(e, "lastTransitionTime", json_incref(json_object_get(p, "lastTransitionTime")));
                set_opt(e, "age", age_of(str(p, "lastTransitionTime"), now));
                set_opt(e, "message", json_incref(json_object_get(p, "message")));
                set_opt(e, "attempts", json_incref(json_object_get(p, "attempts")));
                set_opt(e, "nextRetryAt", json_incref(json_object_get(p, "nextRetryAt")));
                set_opt(e, "nextRetryIn", retry_in(str(p, "nextRetryAt"), now));
                json_array_append_new(out, e);
        }
        return out;
}

/* {label, pipeline, message, attempts, nextRetryAt, nextRetryIn} when Kratix
 * suspended the workflow (the object's kratix.io/workflow-suspended label, a
 * pipeline in phase Suspended), else NULL. New reference. */
static json_t *suspension_of(const json_t *obj, int64_t now) {
        const char *label = str(json_object_get(json_object_get(obj, "metadata"), "labels"),
                                "kratix.io/workflow-suspended");
        bool labelled = label && strcmp(label, "true") == 0;
        const json_t *p = suspended_pipeline(json_object_get(obj, "status"));
        if (!labelled && !p)
                return NULL;
        json_t *s = json_pack("{s:b}", "label", labelled);
        if (p) {
                set_opt(s, "pipeline", json_incref(json_object_get(p, "name")));
                set_opt(s, "message", json_incref(json_object_get(p, "message")));
                set_opt(s, "attempts", json_incref(json_object_get(p, "attempts")));
                set_opt(s, "nextRetryAt", json_incref(json_object_get(p, "nextRetryAt")));
                set_opt(s, "nextRetryIn", retry_in(str(p, "nextRetryAt"), now));
        }
        return s;
}

/* {state, lastRun, lastRunAge} of a healthRecord. New reference. */
static json_t *newest_record(const json_t *r, int64_t now) {
        json_t *e = json_object();
        set_opt(e, "state", json_incref(json_object_get(r, "state")));
        json_t *lr = json_object_get(r, "lastRun");
        set_opt(e, "lastRun", json_incref(lr));
        if (json_is_integer(lr)) {
                char buf[32];
                human_duration(now - json_integer_value(lr), buf);
                json_object_set_new(e, "lastRunAge", json_string(buf));
        }
        return e;
}

static json_t *health_of(const json_t *status, const json_t *records, const char *ns, const char *name,
                         int64_t now) {
        json_t *h = json_object();
        json_t *list = json_array();
        const char *source = "none", *state = NULL;
        json_t *projected = NULL;
        bool live = false;
        size_t i;
        json_t *r;
        json_array_foreach(records, i, r) live |= kstatus_health_record_matches(r, ns, name);
        if (live) {
                projected = kstatus_health_project(records, ns, name);
                source = "records";
        }
        json_t *hs = projected ? json_object_get(projected, "healthStatus") : json_object_get(status, "healthStatus");
        json_t *legacy = json_object_get(status, "healthRecord");
        if (json_is_object(hs)) {
                if (!projected)
                        source = "status";
                state = str(hs, "state");
                json_array_foreach(json_object_get(hs, "healthRecords"), i, r) {
                        json_t *e = json_object();
                        json_t *src = json_object_get(r, "source");
                        if (src)
                                json_object_set_new(e, "source", json_sprintf("%s/%s", str(src, "namespace") ?: "",
                                                                              str(src, "name") ?: ""));
                        set_opt(e, "state", json_incref(json_object_get(r, "state")));
                        set_opt(e, "lastRun", json_incref(json_object_get(r, "lastRun")));
                        json_t *lr = json_object_get(r, "lastRun");
                        if (json_is_integer(lr)) {
                                char buf[32];
                                human_duration(now - json_integer_value(lr), buf);
                                json_object_set_new(e, "lastRunAge", json_string(buf));
                        }
                        set_opt(e, "details", json_incref(json_object_get(r, "details")));
                        json_array_append_new(list, e);
                }
        } else if (json_is_object(legacy)) {
                source = "status";
                state = str(legacy, "state");
                json_t *e = json_object();
                set_opt(e, "state", json_incref(json_object_get(legacy, "state")));
                set_opt(e, "lastRun", json_incref(json_object_get(legacy, "lastRun")));
                set_opt(e, "details", json_incref(json_object_get(legacy, "details")));
                json_array_append_new(list, e);
        }
        json_object_set_new(h, "state", state ? json_string(state) : json_null());
        json_object_set_new(h, "source", json_string(source));
        json_object_set_new(h, "records", list);
        /* Both forms: Kratix's healthStatus above, the seed's healthRecord here. */
        json_t *newest = projected ? json_object_get(projected, "healthRecord") : legacy;
        if (json_is_object(hs) && json_is_object(newest))
                json_object_set_new(h, "healthRecord", newest_record(newest, now));
        json_decref(projected);
        return h;
}

/* The first container (init containers first) that ended with a non-zero
 * exit code, now or before its last restart, as "container c: Reason (exit
 * code N)"; NULL when none did. */
static char *failed_container(const json_t *st) {
        static const char *const lists[] = { "initContainerStatuses", "containerStatuses" };
        for (size_t l = 0; l < ELEMENTSOF(lists); l++) {
                size_t j;
                json_t *cs;
                json_array_foreach(json_object_get(st, lists[l]), j, cs) {
                        json_t *t = json_object_get(json_object_get(cs, "state"), "terminated");
                        if (!t)
                                t = json_object_get(json_object_get(cs, "lastState"), "terminated");
                        json_int_t code = json_integer_value(json_object_get(t, "exitCode"));
                        if (t && code != 0)
                                return xasprintf("container %s: %s (exit code %lld)", str(cs, "name") ?: "?",
                                                 str(t, "reason") ?: "Error", (long long)code);
                }
        }
        return NULL;
}

/* A Pod's phase; failed when it failed or one of its containers did. */
static const char *pod_state(const json_t *st, bool *failed, char **reason) {
        const char *state = str(st, "phase") ? str(st, "phase") : "Unknown";
        *reason = failed_container(st);
        *failed = strcmp(state, "Failed") == 0 || *reason;
        return state;
}

/* A Job: Complete or Failed from its True conditions, else Running. */
static const char *job_state(const json_t *st, bool *failed, char **reason) {
        const char *state = "Running";
        size_t j;
        json_t *c;
        json_array_foreach(json_object_get(st, "conditions"), j, c) {
                const char *t = str(c, "type");
                if (!t || strcmp(str(c, "status") ?: "", "True") != 0)
                        continue;
                if (strcmp(t, "Complete") == 0)
                        state = "Complete";
                else if (strcmp(t, "Failed") == 0) {
                        state = "Failed";
                        *failed = true;
                        if (!*reason && str(c, "message"))
                                *reason = xstrdup(str(c, "message"));
                }
        }
        return state;
}

static json_t *related_one(const json_t *o, int64_t now) {
        const char *kind = str(o, "kind");
        json_t *meta = json_object_get(o, "metadata");
        json_t *st = json_object_get(o, "status");
        json_t *e = json_object();
        json_object_set_new(e, "kind", json_string(kind ? kind : "?"));
        set_opt(e, "name", json_incref(json_object_get(meta, "name")));
        set_opt(e, "pipeline",
                json_incref(json_object_get(json_object_get(meta, "labels"), "kratix.io/pipeline-name")));
        set_opt(e, "age", age_of(str(meta, "creationTimestamp"), now));
        const char *state = "Unknown";
        bool failed = false;
        _cleanup_free_ char *reason = NULL;
        if (kind && strcmp(kind, "Pod") == 0)
                state = pod_state(st, &failed, &reason);
        else if (kind && strcmp(kind, "Job") == 0)
                state = job_state(st, &failed, &reason);
        json_object_set_new(e, "state", json_string(state));
        json_object_set_new(e, "failed", json_boolean(failed));
        if (reason)
                json_object_set_new(e, "reason", json_string(reason));
        return e;
}

static json_t *related_of(const json_t *related, int64_t now) {
        json_t *out = json_array();
        size_t i;
        json_t *o;
        json_array_foreach(related, i, o) json_array_append_new(out, related_one(o, now));
        return out;
}

static json_t *events_of(const json_t *events, int64_t now) {
        json_t *out = json_array();
        size_t i;
        json_t *ev;
        json_array_foreach(events, i, ev) {
                json_t *e = json_object();
                set_opt(e, "type", json_incref(json_object_get(ev, "type")));
                set_opt(e, "reason", json_incref(json_object_get(ev, "reason")));
                const char *when = str(ev, "lastTimestamp") ?: str(ev, "eventTime") ?:
                                   str(json_object_get(ev, "metadata"), "creationTimestamp");
                set_opt(e, "age", age_of(when, now));
                set_opt(e, "count", json_incref(json_object_get(ev, "count")));
                json_t *src = json_object_get(ev, "source");
                const char *from = str(src, "component") ?: str(ev, "reportingComponent");
                if (from)
                        json_object_set_new(e, "from", json_string(from));
                set_opt(e, "message", json_incref(json_object_get(ev, "message")));
                json_array_append_new(out, e);
        }
        return out;
}

json_t *describe_model(const struct describe_input *in) {
        const json_t *obj = in->object;
        json_t *meta = json_object_get(obj, "metadata");
        json_t *status = json_object_get(obj, "status");
        json_t *m = json_object();
        set_opt(m, "kind", json_incref(json_object_get(obj, "kind")));
        set_opt(m, "apiVersion", json_incref(json_object_get(obj, "apiVersion")));
        set_opt(m, "name", json_incref(json_object_get(meta, "name")));
        set_opt(m, "namespace", json_incref(json_object_get(meta, "namespace")));
        set_opt(m, "created", json_incref(json_object_get(meta, "creationTimestamp")));
        set_opt(m, "age", age_of(str(meta, "creationTimestamp"), in->now));
        json_t *gen = json_object_get(meta, "generation");
        json_t *og = json_object_get(status, "observedGeneration");
        set_opt(m, "generation", json_incref(gen));
        set_opt(m, "observedGeneration", json_incref(og));
        json_object_set_new(m, "stale", json_boolean(json_is_integer(gen) && json_is_integer(og) &&
                                                      json_integer_value(og) < json_integer_value(gen)));
        json_t *msg = json_object_get(status, "message");
        json_object_set_new(m, "message", msg ? json_incref(msg) : json_null());
        json_object_set_new(m, "workflow", describe_workflow(status, in->now));
        set_opt(m, "suspended", suspension_of(obj, in->now));

        json_t *conds = json_array();
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(status, "conditions"), i, c) {
                json_t *e = json_object();
                set_opt(e, "type", json_incref(json_object_get(c, "type")));
                set_opt(e, "status", json_incref(json_object_get(c, "status")));
                set_opt(e, "reason", json_incref(json_object_get(c, "reason")));
                set_opt(e, "message", json_incref(json_object_get(c, "message")));
                set_opt(e, "lastTransitionTime", json_incref(json_object_get(c, "lastTransitionTime")));
                set_opt(e, "age", age_of(str(c, "lastTransitionTime"), in->now));
                set_opt(e, "observedGeneration", json_incref(json_object_get(c, "observedGeneration")));
                json_array_append_new(conds, e);
        }
        json_object_set_new(m, "conditions", conds);
        json_object_set_new(m, "health", health_of(status, in->records, str(meta, "namespace"), str(meta, "name"),
                                                   in->now));
        json_object_set_new(m, "pipelines", pipelines_of(status, in->now));

        json_t *rest = json_is_object(status) ? json_deep_copy(status) : json_object();
        static const char *const shown[] = { "message", "conditions", "healthStatus", "healthRecord", "kratix",
                                             "observedGeneration" };
        for (i = 0; i < ELEMENTSOF(shown); i++)
                json_object_del(rest, shown[i]);
        json_object_set_new(m, "status", rest);
        json_object_set_new(m, "related", related_of(in->related, in->now));
        if (in->placement)
                json_object_set(m, "placement", (json_t *)in->placement);
        json_object_set_new(m, "events", events_of(in->events, in->now));
        return m;
}

/* ---- text rendering ---- */

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_GREEN "\033[32m"
#define C_RED "\033[31m"
#define C_YELLOW "\033[33m"

static void put_escaped(FILE *out, const char *s) {
        _cleanup_free_ char *e = escape_for_terminal(s ? s : "");
        fputs(e, out);
}

static void heading(FILE *out, const struct render_options *o, const char *label) {
        fprintf(out, "%s%s%s", o->color ? C_BOLD : "", label, o->color ? C_RESET : "");
}

static void field(FILE *out, const struct render_options *o, const char *label, const char *value) {
        heading(out, o, label);
        fprintf(out, "%*s", (int)(14 - strlen(label)), "");
        put_escaped(out, value);
        fputc('\n', out);
}

static const char *status_color(const char *status) {
        if (!status)
                return C_YELLOW;
        if (strcmp(status, "True") == 0)
                return C_GREEN;
        if (strcmp(status, "False") == 0)
                return C_RED;
        return C_YELLOW;
}

static const char *health_color(const char *state) {
        int r = kstatus_health_rank(state);
        return r >= 4 ? C_GREEN : r == 3 ? C_YELLOW : C_RED;
}

/* A table: rows of escaped cells, padded to each column's width; the last
 * column is never padded (messages are not cut). colors[i] colours column
 * `color_col` of row i when not NULL. */
struct table {
        size_t cols, rows;
        char **cells; /* rows * cols */
        const char **colors;
        size_t color_col;
};

static void table_init(struct table *t, size_t cols) {
        *t = (struct table){ .cols = cols, .color_col = (size_t)-1 };
}

static void table_add(struct table *t, const char *const *row, const char *color) {
        t->cells = xrealloc(t->cells, (t->rows + 1) * t->cols * sizeof(char *));
        t->colors = xrealloc(t->colors, (t->rows + 1) * sizeof(char *));
        for (size_t c = 0; c < t->cols; c++)
                t->cells[t->rows * t->cols + c] = escape_for_terminal(row[c] ? row[c] : "");
        t->colors[t->rows] = color;
        t->rows++;
}

static size_t display_width(const char *s) {
        size_t w = 0;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if ((*p & 0xc0) != 0x80)
                        w++;
        return w;
}

static void table_print(FILE *out, struct table *t, const struct render_options *o, int indent) {
        size_t *width = xcalloc(t->cols, sizeof(size_t));
        for (size_t r = 0; r < t->rows; r++)
                for (size_t c = 0; c < t->cols; c++) {
                        size_t w = display_width(t->cells[r * t->cols + c]);
                        if (w > width[c])
                                width[c] = w;
                }
        for (size_t r = 0; r < t->rows; r++) {
                fprintf(out, "%*s", indent, "");
                size_t used = (size_t)indent, end = t->cols;
                while (end > 1 && !t->cells[r * t->cols + end - 1][0])
                        end--; /* no padding before empty trailing cells */
                for (size_t c = 0; c < end; c++) {
                        const char *cell = t->cells[r * t->cols + c];
                        bool colored = o->color && t->colors[r] && c == t->color_col;
                        bool last = c == end - 1;
                        if (last && !o->wide && o->width > 0 && used + display_width(cell) > (size_t)o->width &&
                            (size_t)o->width > used + 4) {
                                /* Only a terminal too narrow for the message cuts it. */
                                size_t room = (size_t)o->width - used - 3, bytes = 0, w = 0;
                                while (cell[bytes] && w < room) {
                                        bytes++;
                                        while ((cell[bytes] & 0xc0) == 0x80)
                                                bytes++;
                                        w++;
                                }
                                fprintf(out, "%.*s...", (int)bytes, cell);
                                break;
                        }
                        fprintf(out, "%s%s%s", colored ? t->colors[r] : "", cell, colored ? C_RESET : "");
                        if (!last) {
                                size_t pad = width[c] - display_width(cell) + 2;
                                fprintf(out, "%*s", (int)pad, "");
                                used += width[c] + 2;
                        }
                }
                fputc('\n', out);
        }
        for (size_t i = 0; i < t->rows * t->cols; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t->colors);
        free(width);
}

/* The age, or with --absolute-time the time itself; "-" when unknown. Borrowed from e. */
static const char *when(const json_t *e, const char *time_key, const struct render_options *o) {
        const char *v = o->absolute_time ? str(e, time_key) : str(e, "age");
        return v ? v : "-";
}

static void render_tree(FILE *out, const json_t *v, int indent, const struct render_options *o);

static void render_scalar(FILE *out, const json_t *v) {
        if (json_is_string(v))
                put_escaped(out, json_string_value(v));
        else {
                _cleanup_free_ char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
                fputs(s ? s : "", out);
        }
}

static void render_tree(FILE *out, const json_t *v, int indent, const struct render_options *o) {
        if (json_is_object(v)) {
                /* Keys sorted, as kubectl prints maps. */
                size_t n = json_object_size(v), i = 0;
                const char **keys = xcalloc(n + 1, sizeof(char *));
                const char *k;
                json_t *x;
                json_object_foreach((json_t *)v, k, x) keys[i++] = k;
                for (size_t a = 1; a < n; a++)
                        for (size_t b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
                                const char *t = keys[b];
                                keys[b] = keys[b - 1];
                                keys[b - 1] = t;
                        }
                for (i = 0; i < n; i++) {
                        x = json_object_get(v, keys[i]);
                        fprintf(out, "%*s", indent, "");
                        put_escaped(out, keys[i]);
                        fputc(':', out);
                        if ((json_is_object(x) && json_object_size(x)) || (json_is_array(x) && json_array_size(x))) {
                                fputc('\n', out);
                                render_tree(out, x, indent + 2, o);
                        } else {
                                fputc(' ', out);
                                if (json_is_object(x))
                                        fputs("{}", out);
                                else if (json_is_array(x))
                                        fputs("[]", out);
                                else
                                        render_scalar(out, x);
                                fputc('\n', out);
                        }
                }
                free(keys);
        } else if (json_is_array(v)) {
                size_t i;
                json_t *x;
                json_array_foreach(v, i, x) {
                        fprintf(out, "%*s%zu.", indent, "", i + 1);
                        if ((json_is_object(x) && json_object_size(x)) || (json_is_array(x) && json_array_size(x))) {
                                fputc('\n', out);
                                render_tree(out, x, indent + 3, o);
                        } else {
                                fputc(' ', out);
                                render_scalar(out, x);
                                fputc('\n', out);
                        }
                }
        }
}

/* The suspended workflow called out under Workflow: the pipeline that asked
 * for it, its message, the retry, the label Kratix put on the object. */
static void render_suspension(FILE *out, const json_t *s, const struct render_options *o) {
        if (!s)
                return;
        heading(out, o, "Suspended:");
        fputs(o->color ? "    " C_YELLOW : "    ", out);
        const char *pipeline = str(s, "pipeline"), *message = str(s, "message");
        fputs("by ", out);
        if (pipeline) {
                fputs("pipeline ", out);
                put_escaped(out, pipeline);
        } else
                fputs("Kratix", out);
        if (message) {
                fputs(" (\"", out);
                put_escaped(out, message);
                fputs("\")", out);
        }
        json_t *attempts = json_object_get(s, "attempts");
        const char *retry = o->absolute_time ? str(s, "nextRetryAt") : str(s, "nextRetryIn");
        if (retry) {
                fputs(o->absolute_time ? ", next retry at " : ", next retry ", out);
                put_escaped(out, retry);
        }
        if (json_is_integer(attempts))
                fprintf(out, " (attempt %lld)", (long long)json_integer_value(attempts));
        if (json_is_true(json_object_get(s, "label")))
                fputs("; labelled kratix.io/workflow-suspended=true", out);
        fputs(o->color ? C_RESET "\n" : "\n", out);
}

/* ATTEMPTS and NEXT RETRY appear when a pipeline has them (a retryAfter). */
static void render_pipelines(FILE *out, const json_t *pipes, const struct render_options *o) {
        bool retries = false;
        size_t i;
        json_t *p;
        json_array_foreach(pipes, i, p) retries |= json_object_get(p, "attempts") || json_object_get(p, "nextRetryAt");
        struct table t;
        table_init(&t, retries ? 6 : 4);
        t.color_col = 1;
        if (retries)
                table_add(&t, (const char *[]){ "NAME", "PHASE", o->absolute_time ? "LAST TRANSITION" : "AGE",
                                                "ATTEMPTS", "NEXT RETRY", "MESSAGE" },
                          NULL);
        else
                table_add(&t, (const char *[]){ "NAME", "PHASE", o->absolute_time ? "LAST TRANSITION" : "AGE", "MESSAGE" },
                          NULL);
        json_array_foreach(pipes, i, p) {
                char attempts[32] = "-";
                const char *age = when(p, "lastTransitionTime", o);
                const char *phase = str(p, "phase");
                const char *color = phase && strcmp(phase, "Suspended") == 0 ? C_YELLOW
                                    : phase && strcmp(phase, "Failed") == 0  ? C_RED
                                                                             : NULL;
                if (!retries) {
                        table_add(&t, (const char *[]){ str(p, "name"), phase, age, str(p, "message") }, color);
                        continue;
                }
                if (json_is_integer(json_object_get(p, "attempts")))
                        snprintf(attempts, sizeof(attempts), "%lld", (long long)json_integer_value(json_object_get(p, "attempts")));
                const char *retry = o->absolute_time ? str(p, "nextRetryAt") : str(p, "nextRetryIn");
                table_add(&t, (const char *[]){ str(p, "name"), phase, age, attempts, retry ? retry : "-", str(p, "message") },
                          color);
        }
        table_print(out, &t, o, 2);
}

/* Name, namespace, kind, age and generation. */
static void render_header(FILE *out, const json_t *m, const struct render_options *o) {
        field(out, o, "Name:", str(m, "name"));
        if (str(m, "namespace"))
                field(out, o, "Namespace:", str(m, "namespace"));
        _cleanup_free_ char *kind = xasprintf("%s (%s)", str(m, "kind") ?: "?", str(m, "apiVersion") ?: "?");
        field(out, o, "Kind:", kind);
        field(out, o, "Age:", when(m, "created", o));
        json_t *gen = json_object_get(m, "generation"), *og = json_object_get(m, "observedGeneration");
        if (!json_is_integer(gen))
                return;
        _cleanup_free_ char *text =
                !json_is_integer(og)
                        ? xasprintf("%lld", (long long)json_integer_value(gen))
                        : xasprintf("%lld (status observed generation %lld%s)", (long long)json_integer_value(gen),
                                    (long long)json_integer_value(og),
                                    json_is_true(json_object_get(m, "stale")) ? ": STALE, the spec changed since" : "");
        field(out, o, "Generation:", text);
}

/* MESSAGE, the workflow's verdict and a suspension. */
static void render_message(FILE *out, const json_t *m, const struct render_options *o) {
        json_t *msg = json_object_get(m, "message");
        heading(out, o, "Message:");
        fputs("      ", out);
        if (json_is_string(msg))
                put_escaped(out, json_string_value(msg));
        else
                fputs("<none>", out);
        fputc('\n', out);
        json_t *wf = json_object_get(m, "workflow");
        const char *ws = str(wf, "state");
        heading(out, o, "Workflow:");
        fputs("     ", out);
        if (o->color)
                fputs(strcmp(ws, "Completed") == 0 ? C_GREEN : strcmp(ws, "Failed") == 0 ? C_RED : C_YELLOW, out);
        put_escaped(out, str(wf, "text"));
        fputs(o->color ? C_RESET "\n" : "\n", out);
        render_suspension(out, json_object_get(m, "suspended"), o);
}

static void render_conditions(FILE *out, const json_t *conds, const struct render_options *o) {
        fputc('\n', out);
        heading(out, o, "Conditions:");
        if (!json_array_size(conds)) {
                fputs(" <none>\n", out);
                return;
        }
        fputc('\n', out);
        struct table t;
        table_init(&t, 5);
        t.color_col = 1;
        table_add(&t, (const char *[]){ "TYPE", "STATUS", "REASON", o->absolute_time ? "LAST TRANSITION" : "AGE",
                                        "MESSAGE" },
                  NULL);
        size_t i;
        json_t *c;
        json_array_foreach(conds, i, c) {
                table_add(&t, (const char *[]){ str(c, "type"), str(c, "status"), str(c, "reason"),
                                                when(c, "lastTransitionTime", o),
                                                str(c, "message") },
                          status_color(str(c, "status")));
        }
        table_print(out, &t, o, 2);
}

static void render_health_records(FILE *out, const json_t *recs, const struct render_options *o) {
        if (!json_array_size(recs))
                return;
        struct table t;
        table_init(&t, 4);
        t.color_col = 1;
        table_add(&t, (const char *[]){ "SOURCE", "STATE", "LAST RUN", "DETAILS" }, NULL);
        size_t i;
        json_t *r;
        json_array_foreach(recs, i, r) {
                _cleanup_free_ char *details = json_dumps(json_object_get(r, "details"), JSON_COMPACT | JSON_SORT_KEYS);
                table_add(&t, (const char *[]){ str(r, "source") ?: "-", str(r, "state"), str(r, "lastRunAge") ?: "-",
                                                details ? details : "" },
                          health_color(str(r, "state")));
        }
        table_print(out, &t, o, 2);
}

/* The seed's status.healthRecord: the newest record, as the status holds it. */
static void render_newest_record(FILE *out, const json_t *newest, const struct render_options *o) {
        if (!newest)
                return;
        fputs("  Newest record (healthRecord): ", out);
        fputs(o->color ? health_color(str(newest, "state")) : "", out);
        put_escaped(out, str(newest, "state"));
        fputs(o->color ? C_RESET : "", out);
        if (str(newest, "lastRunAge")) {
                fputs(", last run ", out);
                put_escaped(out, str(newest, "lastRunAge"));
                fputs(" ago", out);
        }
        fputc('\n', out);
}

static void render_health(FILE *out, const json_t *h, const struct render_options *o) {
        fputc('\n', out);
        heading(out, o, "Health:");
        const char *hstate = str(h, "state");
        if (!hstate) {
                fputs("       <none>\n", out);
                return;
        }
        fprintf(out, "       %s", o->color ? health_color(hstate) : "");
        put_escaped(out, hstate);
        fprintf(out, "%s (from %s)\n", o->color ? C_RESET : "",
                strcmp(str(h, "source"), "records") == 0 ? "live HealthRecords" : "status");
        render_health_records(out, json_object_get(h, "records"), o);
        render_newest_record(out, json_object_get(h, "healthRecord"), o);
}

/* A section that only appears when there is something in it: a blank line, its heading, its body. */
static bool section(FILE *out, const struct render_options *o, const char *title, bool present) {
        if (!present)
                return false;
        fputc('\n', out);
        heading(out, o, title);
        fputc('\n', out);
        return true;
}

static void render_related(FILE *out, const json_t *rel, const struct render_options *o) {
        if (!section(out, o, "Related:", json_array_size(rel) > 0))
                return;
        struct table t;
        table_init(&t, 4);
        t.color_col = 1;
        table_add(&t, (const char *[]){ "OBJECT", "STATE", "AGE", "DETAILS" }, NULL);
        size_t i;
        json_t *r;
        json_array_foreach(rel, i, r) {
                _cleanup_free_ char *name = xasprintf("%s/%s", str(r, "kind"), str(r, "name") ?: "?");
                bool failed = json_is_true(json_object_get(r, "failed"));
                _cleanup_free_ char *details =
                        failed ? xasprintf("FAILED%s%s", str(r, "reason") ? ": " : "", str(r, "reason") ?: "")
                               : xstrdup(str(r, "pipeline") ? str(r, "pipeline") : "");
                table_add(&t, (const char *[]){ name, str(r, "state"), str(r, "age") ?: "-", details },
                          failed ? C_RED : NULL);
        }
        table_print(out, &t, o, 2);
}

/* Where the Works landed: each Destination with its state, failing placements
 * with their message; "none" when a completed workflow wrote no output. */
static void render_placement(FILE *out, const json_t *m, const struct render_options *o) {
        const json_t *p = json_object_get(m, "placement");
        const json_t *dests = json_object_get(p, "destinations");
        const char *ws = str(json_object_get(m, "workflow"), "state");
        if (!p || (!json_array_size(dests) && !(ws && strcmp(ws, "Completed") == 0)))
                return;
        fputc('\n', out);
        if (!json_array_size(dests)) {
                field(out, o, "Placement:", json_is_true(json_object_get(p, "output"))
                                                    ? "none: no WorkPlacement yet"
                                                    : "none: the pipelines wrote nothing to /kratix/output");
                return;
        }
        heading(out, o, "Placement:");
        fputc('\n', out);
        struct table t;
        table_init(&t, 4);
        t.color_col = 1;
        table_add(&t, (const char *[]){ "DESTINATION", "STATUS", "WORK", "MESSAGE" }, NULL);
        size_t i;
        json_t *d;
        json_array_foreach(dests, i, d) {
                const char *s = str(d, "status");
                bool bad = s && (strcmp(s, "Failed") == 0 || strcmp(s, "Misplaced") == 0);
                bool ok = s && strcmp(s, "Ready") == 0;
                _cleanup_free_ char *msg = bad ? xasprintf("%s%s%s", str(d, "reason") ?: "", str(d, "message") ? ": " : "",
                                                           str(d, "message") ?: "")
                                               : xstrdup("");
                table_add(&t, (const char *[]){ str(d, "name"), s, str(d, "work"), msg },
                          bad ? C_RED : ok ? C_GREEN : C_YELLOW);
        }
        table_print(out, &t, o, 2);
}

/* kubectl describe's Events table; no section at all with --show-events=false (evs NULL). */
static void render_events(FILE *out, const json_t *evs, const struct render_options *o) {
        if (!evs)
                return;
        fputc('\n', out);
        heading(out, o, "Events:");
        if (!json_array_size(evs)) {
                fputs("       <none>\n", out);
                return;
        }
        fputc('\n', out);
        struct table t;
        table_init(&t, 5);
        t.color_col = 0;
        table_add(&t, (const char *[]){ "Type", "Reason", "Age", "From", "Message" }, NULL);
        table_add(&t, (const char *[]){ "----", "------", "----", "----", "-------" }, NULL);
        size_t i;
        json_t *e;
        json_array_foreach(evs, i, e) {
                table_add(&t, (const char *[]){ str(e, "type"), str(e, "reason"), str(e, "age") ?: "-",
                                                str(e, "from") ?: "", str(e, "message") },
                          str(e, "type") && strcmp(str(e, "type"), "Warning") == 0 ? C_YELLOW : NULL);
        }
        table_print(out, &t, o, 2);
}

void describe_render(FILE *out, const json_t *m, const struct render_options *o) {
        render_header(out, m, o);
        render_message(out, m, o);
        render_conditions(out, json_object_get(m, "conditions"), o);
        render_health(out, json_object_get(m, "health"), o);
        json_t *pipes = json_object_get(m, "pipelines");
        if (section(out, o, "Pipelines:", json_array_size(pipes) > 0))
                render_pipelines(out, pipes, o);
        json_t *rest = json_object_get(m, "status");
        if (section(out, o, "Status:", json_object_size(rest) > 0))
                render_tree(out, rest, 2, o);
        render_related(out, json_object_get(m, "related"), o);
        render_placement(out, m, o);
        render_events(out, json_object_get(m, "events"), o);
}
