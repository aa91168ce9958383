#include "conditions.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void kstatus_time_format(int64_t unix_seconds, char buf[static KSTATUS_TIME_LEN]) {
        time_t t = (time_t)unix_seconds;
        struct tm tm;
        if (!gmtime_r(&t, &tm) || strftime(buf, KSTATUS_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, KSTATUS_TIME_LEN, "1970-01-01T00:00:00Z");
}

void kstatus_time_now(char buf[static KSTATUS_TIME_LEN]) {
        kstatus_time_format((int64_t)time(NULL), buf);
}

static int digits(const char **p, int n, int *ret) {
        int v = 0;
        for (int i = 0; i < n; i++) {
                if (!isdigit((unsigned char)**p))
                        return -EINVAL;
                v = v * 10 + (**p - '0');
                (*p)++;
        }
        *ret = v;
        return 0;
}

int kstatus_time_parse(const char *s, int64_t *ret) {
        struct tm tm = { 0 };
        int year, mon, day, hour, min, sec;
        const char *p = s;
        if (digits(&p, 4, &year) < 0 || *p++ != '-' || digits(&p, 2, &mon) < 0 || *p++ != '-' ||
            digits(&p, 2, &day) < 0 || (*p != 'T' && *p != 't'))
                return -EINVAL;
        p++;
        if (digits(&p, 2, &hour) < 0 || *p++ != ':' || digits(&p, 2, &min) < 0 || *p++ != ':' ||
            digits(&p, 2, &sec) < 0)
                return -EINVAL;
        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char)*p))
                        return -EINVAL;
                while (isdigit((unsigned char)*p))
                        p++;
        }
        int offset = 0;
        if (*p == 'Z' || *p == 'z')
                p++;
        else if (*p == '+' || *p == '-') {
                int sign = *p == '-' ? -1 : 1, oh, om;
                p++;
                if (digits(&p, 2, &oh) < 0 || *p++ != ':' || digits(&p, 2, &om) < 0 || oh > 23 || om > 59)
                        return -EINVAL;
                offset = sign * (oh * 3600 + om * 60);
        } else
                return -EINVAL;
        if (*p || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
                return -EINVAL;
        tm.tm_year = year - 1900;
        tm.tm_mon = mon - 1;
        tm.tm_mday = day;
        tm.tm_hour = hour;
        tm.tm_min = min;
        tm.tm_sec = sec;
        time_t t = timegm(&tm);
        /* timegm normalises 31 February into March: refuse dates that moved. */
        struct tm check;
        if (!gmtime_r(&t, &check) || check.tm_mday != day || check.tm_mon != mon - 1)
                if (sec != 60)
                        return -EINVAL;
        *ret = (int64_t)t - offset;
        return 0;
}

bool kstatus_condition_type_is_owned(const char *type) {
        /* kubectl wait matches types case-insensitively and takes the first
         * match, so "deleteworkflowcompleted" would stand in for ours. */
        return strcasecmp(type, KSTATUS_COND_CONFIGURE) == 0 || strcasecmp(type, KSTATUS_COND_DELETE) == 0;
}

json_t *kstatus_condition_new(const char *type, const char *status, const char *reason, const char *message) {
        json_t *c = json_object();
        json_object_set_new(c, "type", json_string(type));
        json_object_set_new(c, "status", json_string(status));
        if (reason)
                json_object_set_new(c, "reason", json_string(reason));
        if (message)
                json_object_set_new(c, "message", json_string(message));
        return c;
}

static const char *cond_type(const json_t *c) {
        return json_string_value(json_object_get(c, "type"));
}

static ssize_t find_index(const json_t *conditions, const char *type) {
        size_t i;
        json_t *c;
        if (!json_is_array(conditions))
                return -1;
        json_array_foreach(conditions, i, c) {
                const char *t = cond_type(c);
                if (t && strcmp(t, type) == 0)
                        return (ssize_t)i;
        }
        return -1;
}

json_t *kstatus_conditions_find(const json_t *conditions, const char *type) {
        ssize_t i = find_index(conditions, type);
        return i < 0 ? NULL : json_array_get(conditions, (size_t)i);
}

bool kstatus_conditions_set(json_t *conditions, const json_t *cond, const char *now) {
        const char *type = cond_type(cond);
        if (!type || !json_is_array(conditions))
                return false;

        json_t *next = json_deep_copy(cond);
        ssize_t i = find_index(conditions, type);
        json_t *existing = i < 0 ? NULL : json_array_get(conditions, (size_t)i);

        const char *old_status = existing ? json_string_value(json_object_get(existing, "status")) : NULL;
        const char *new_status = json_string_value(json_object_get(next, "status"));
        bool status_changed = !existing || !old_status || !new_status || strcmp(old_status, new_status) != 0;
        json_t *old_time = existing ? json_object_get(existing, "lastTransitionTime") : NULL;

        if (!status_changed && old_time)
                /* Same status: the transition has not happened again. */
                json_object_set(next, "lastTransitionTime", old_time);
        else if (!json_is_string(json_object_get(next, "lastTransitionTime")))
                json_object_set_new(next, "lastTransitionTime", json_string(now));

        if (existing && json_equal(existing, next)) {
                json_decref(next);
                return false;
        }
        if (existing)
                json_array_set_new(conditions, (size_t)i, next);
        else
                json_array_append_new(conditions, next);
        return true;
}

static bool same_field(const json_t *a, const json_t *b, const char *key) {
        /* A field left out is "", as Go's struct fields are. */
        const char *x = json_string_value(json_object_get(a, key)) ?: "";
        const char *y = json_string_value(json_object_get(b, key)) ?: "";
        return strcmp(x, y) == 0;
}

/* cluster-api's hasSameState (Severity is not in Kratix's schema). */
static bool same_state(const json_t *a, const json_t *b) {
        return same_field(a, b, "status") && same_field(a, b, "reason") && same_field(a, b, "message");
}

/* cluster-api's lexicographicLess: Ready first, then by type. */
static bool cond_less(const json_t *a, const json_t *b) {
        const char *x = cond_type(a) ?: "", *y = cond_type(b) ?: "";
        return (strcmp(x, "Ready") == 0 || strcmp(x, y) < 0) && strcmp(y, "Ready") != 0;
}

/* Insertion sort in place: lists are a handful of conditions, and it is stable. */
static void sort_conditions(json_t *conditions) {
        size_t n = json_array_size(conditions);
        for (size_t i = 1; i < n; i++) {
                json_t *c = json_incref(json_array_get(conditions, i));
                size_t j = i;
                while (j > 0 && cond_less(c, json_array_get(conditions, j - 1)))
                        j--;
                if (j != i) {
                        json_array_remove(conditions, i);
                        json_array_insert(conditions, j, c);
                }
                json_decref(c);
        }
}

bool kstatus_conditions_mark(json_t *conditions, const json_t *cond, const char *now) {
        const char *type = cond_type(cond);
        if (!type || !json_is_array(conditions))
                return false;
        _cleanup_json_ json_t *before = json_deep_copy(conditions);
        ssize_t i = find_index(conditions, type);
        json_t *existing = i < 0 ? NULL : json_array_get(conditions, (size_t)i);
        if (!existing || !same_state(existing, cond)) {
                json_t *next = json_deep_copy(cond);
                if (existing || !json_is_string(json_object_get(next, "lastTransitionTime")))
                        json_object_set_new(next, "lastTransitionTime", json_string(now));
                if (existing)
                        json_array_set_new(conditions, (size_t)i, next);
                else
                        json_array_append_new(conditions, next);
        }
        sort_conditions(conditions);
        return !json_equal(before, conditions);
}

bool kstatus_conditions_remove(json_t *conditions, const char *type) {
        ssize_t i = find_index(conditions, type);
        if (i < 0)
                return false;
        json_array_remove(conditions, (size_t)i);
        return true;
}

static bool is_camel_reason(const char *s) {
        /* metav1.Condition's reason pattern: ^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$ */
        size_t n = strlen(s);
        if (n == 0 || n > 1024 || !isalpha((unsigned char)s[0]))
                return false;
        for (size_t i = 1; i < n; i++) {
                unsigned char ch = (unsigned char)s[i];
                if (!isalnum(ch) && ch != '_' && ch != ',' && ch != ':')
                        return false;
        }
        unsigned char last = (unsigned char)s[n - 1];
        return isalnum(last) || last == '_';
}

int kstatus_condition_validate(const json_t *cond, struct kstatus_error *err) {
        if (!json_is_object(cond))
                return kstatus_error_set(err, EINVAL, 0, 0, "condition is not a mapping");
        json_t *type = json_object_get(cond, "type");
        if (!json_is_string(type) || json_string_length(type) == 0)
                return kstatus_error_set(err, EINVAL, 0, 0, "condition has no \"type\"");
        const char *t = json_string_value(type);
        if (json_string_length(type) > 316)
                return kstatus_error_set(err, EINVAL, 0, 0, "condition type is longer than 316 characters");

        json_t *status = json_object_get(cond, "status");
        const char *s = json_string_value(status);
        if (!status || json_is_null(status))
                return kstatus_error_set(err, EINVAL, 0, 0, "condition \"%s\" has no \"status\"", t);
        if (!s) /* status: true unquoted is a boolean */
                return kstatus_error_set(err, EINVAL, 0, 0,
                                         "condition \"%s\": status must be the string \"True\", \"False\" or "
                                         "\"Unknown\" (quote it in YAML)",
                                         t);
        if (strcmp(s, "True") != 0 && strcmp(s, "False") != 0 && strcmp(s, "Unknown") != 0)
                return kstatus_error_set(err, EINVAL, 0, 0,
                                         "condition \"%s\": status must be \"True\", \"False\" or \"Unknown\"", t);

        json_t *reason = json_object_get(cond, "reason");
        if (reason && !json_is_null(reason) && (!json_is_string(reason) || !is_camel_reason(json_string_value(reason))))
                return kstatus_error_set(err, EINVAL, 0, 0,
                                         "condition \"%s\": reason must be a CamelCase word such as \"Provisioned\"", t);

        json_t *message = json_object_get(cond, "message");
        if (message && !json_is_null(message) && !json_is_string(message))
                return kstatus_error_set(err, EINVAL, 0, 0, "condition \"%s\": message must be a string", t);

        json_t *ltt = json_object_get(cond, "lastTransitionTime");
        int64_t when;
        if (ltt && !json_is_null(ltt) &&
            (!json_is_string(ltt) || kstatus_time_parse(json_string_value(ltt), &when) < 0))
                return kstatus_error_set(err, EINVAL, 0, 0,
                                         "condition \"%s\": lastTransitionTime must be an RFC 3339 time such as "
                                         "\"2024-08-21T10:27:45Z\"",
                                         t);

        json_t *og = json_object_get(cond, "observedGeneration");
        if (og && !json_is_null(og) && (!json_is_integer(og) || json_integer_value(og) < 0))
                return kstatus_error_set(err, EINVAL, 0, 0,
                                         "condition \"%s\": observedGeneration must be a non-negative integer", t);
        return 0;
}
