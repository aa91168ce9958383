/* faults.c - fault injection rules, outage windows and request counters.
 * All of it behind its own lock: the store lock is never held here. */
#include <errno.h>
#include <fnmatch.h>
#include <string.h>
#include <time.h>

#include <gnutls/crypto.h>

#include "server.h"

struct rule {
        char *verb;      /* NULL: any */
        char *path;      /* glob if it has * ? [, else a prefix; NULL: any */
        int64_t count;   /* requests still to fail; -1: unlimited */
        double fraction; /* chance that a matching request fails */
        struct fault_action action;
        struct rule *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct rule *rules;
static json_t *counts;   /* "VERB path" -> n */
static json_t *by_verb;  /* "VERB" -> n */
static int64_t total;
static struct timespec outage_until;

static void rule_free(struct rule *r) {
        if (!r)
                return;
        free(r->verb);
        free(r->path);
        free(r);
}

static int rule_add(const json_t *spec, struct kstatus_error *err) {
        if (!json_is_object(spec))
                return kstatus_error_set(err, EINVAL, 0, 0, "fault rule must be a JSON object");
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)spec, k, v) {
                static const char *const known[] = { "verb", "path", "code", "count", "fraction",
                                                     "retryAfter", "latencyMs", "drop" };
                bool ok = false;
                for (size_t i = 0; i < ELEMENTSOF(known); i++)
                        ok |= strcmp(k, known[i]) == 0;
                if (!ok)
                        return kstatus_error_set(err, EINVAL, 0, 0, "unknown fault field \"%s\"", k);
        }
        struct rule *r = xcalloc(1, sizeof(*r));
        const char *verb = json_string_value(json_object_get(spec, "verb"));
        const char *path = json_string_value(json_object_get(spec, "path"));
        r->verb = verb && strcmp(verb, "*") ? xstrdup(verb) : NULL;
        r->path = path ? xstrdup(path) : NULL;
        r->count = json_object_get(spec, "count") ? json_integer_value(json_object_get(spec, "count")) : -1;
        r->fraction = json_object_get(spec, "fraction") ? json_number_value(json_object_get(spec, "fraction")) : 1.0;
        r->action.code = (int)json_integer_value(json_object_get(spec, "code"));
        r->action.retry_after = (int)json_integer_value(json_object_get(spec, "retryAfter"));
        r->action.latency_ms = (int)json_integer_value(json_object_get(spec, "latencyMs"));
        r->action.drop = json_is_true(json_object_get(spec, "drop"));
        if ((r->action.code && (r->action.code < 400 || r->action.code > 599)) || r->fraction < 0 ||
            r->fraction > 1 || r->action.latency_ms < 0 || r->action.retry_after < 0 || r->count == 0) {
                rule_free(r);
                return kstatus_error_set(err, EINVAL, 0, 0,
                                         "invalid fault rule: code must be 400-599, fraction 0-1, count > 0");
        }
        if (!r->action.code && !r->action.drop && !r->action.latency_ms) {
                rule_free(r);
                return kstatus_error_set(err, EINVAL, 0, 0, "fault rule does nothing: give code, drop or latencyMs");
        }
        pthread_mutex_lock(&lock);
        struct rule **tail = &rules;
        while (*tail)
                tail = &(*tail)->next;
        *tail = r;
        pthread_mutex_unlock(&lock);
        return 0;
}

int faults_add(const json_t *spec, struct kstatus_error *err) {
        if (!json_is_array(spec))
                return rule_add(spec, err);
        size_t i;
        json_t *v;
        json_array_foreach(spec, i, v) {
                int r = rule_add(v, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

void faults_clear(void) {
        pthread_mutex_lock(&lock);
        while (rules) {
                struct rule *r = rules;
                rules = r->next;
                rule_free(r);
        }
        pthread_mutex_unlock(&lock);
}

json_t *faults_list(void) {
        json_t *a = json_array();
        pthread_mutex_lock(&lock);
        for (struct rule *r = rules; r; r = r->next) {
                json_t *o = json_pack("{s:s?, s:s?, s:I, s:f, s:i, s:i, s:i, s:b}", "verb", r->verb, "path",
                                      r->path, "count", (json_int_t)r->count, "fraction", r->fraction, "code",
                                      r->action.code, "retryAfter", r->action.retry_after, "latencyMs",
                                      r->action.latency_ms, "drop", r->action.drop);
                json_array_append_new(a, o);
        }
        pthread_mutex_unlock(&lock);
        return a;
}

static bool path_matches(const char *pattern, const char *path) {
        if (!pattern)
                return true;
        if (strpbrk(pattern, "*?["))
                return fnmatch(pattern, path, 0) == 0;
        return str_has_prefix(path, pattern);
}

static double random_unit(void) {
        uint32_t x;
        if (gnutls_rnd(GNUTLS_RND_NONCE, &x, sizeof(x)) < 0)
                return 0;
        return (double)x / 4294967296.0;
}

void faults_check(const char *method, const char *path, struct fault_action *ret) {
        memset(ret, 0, sizeof(*ret));
        pthread_mutex_lock(&lock);
        for (struct rule **p = &rules; *p; p = &(*p)->next) {
                struct rule *r = *p;
                if ((r->verb && strcasecmp(r->verb, method) != 0) || !path_matches(r->path, path))
                        continue;
                if (r->fraction < 1.0 && random_unit() >= r->fraction)
                        continue;
                *ret = r->action;
                if (r->count > 0 && --r->count == 0) {
                        *p = r->next;
                        rule_free(r);
                }
                break;
        }
        pthread_mutex_unlock(&lock);
}

void counters_count(const char *method, const char *path) {
        pthread_mutex_lock(&lock);
        if (!counts) {
                counts = json_object();
                by_verb = json_object();
        }
        _cleanup_free_ char *key = xasprintf("%s %s", method, path);
        json_object_set_new(counts, key, json_integer(json_integer_value(json_object_get(counts, key)) + 1));
        json_object_set_new(by_verb, method, json_integer(json_integer_value(json_object_get(by_verb, method)) + 1));
        total++;
        pthread_mutex_unlock(&lock);
}

json_t *counters_get(void) {
        pthread_mutex_lock(&lock);
        json_t *r = json_pack("{s:I, s:o, s:o}", "total", (json_int_t)total, "byVerb",
                              by_verb ? json_deep_copy(by_verb) : json_object(), "requests",
                              counts ? json_deep_copy(counts) : json_object());
        pthread_mutex_unlock(&lock);
        return r;
}

void counters_reset(void) {
        pthread_mutex_lock(&lock);
        json_decref(counts);
        json_decref(by_verb);
        counts = by_verb = NULL;
        total = 0;
        pthread_mutex_unlock(&lock);
}

void outage_start(int64_t ms) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        pthread_mutex_lock(&lock);
        outage_until.tv_sec = now.tv_sec + ms / 1000;
        outage_until.tv_nsec = now.tv_nsec + (ms % 1000) * 1000000L;
        if (outage_until.tv_nsec >= 1000000000L) {
                outage_until.tv_sec++;
                outage_until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_unlock(&lock);
}

bool outage_active(void) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        pthread_mutex_lock(&lock);
        bool r = now.tv_sec < outage_until.tv_sec ||
                 (now.tv_sec == outage_until.tv_sec && now.tv_nsec < outage_until.tv_nsec);
        pthread_mutex_unlock(&lock);
        return r;
}


void faults_free(void) {
        faults_clear();
        counters_reset();
        headers_reset();
}

/* ---- request headers ---- */

/* Headers of API requests, for tests (GET
 * /_kstatus/headers); bounded, oldest dropped. */
#define MAX_HEADER_RECORDS 1000
static json_t *header_records; /* array of {verb, path, user, uid, groups, extra, acceptEncoding} */

void headers_record(json_t *entry) {
        pthread_mutex_lock(&lock);
        if (!header_records)
                header_records = json_array();
        if (json_array_size(header_records) >= MAX_HEADER_RECORDS)
                json_array_remove(header_records, 0);
        json_array_append_new(header_records, entry);
        pthread_mutex_unlock(&lock);
}

json_t *headers_get(void) {
        pthread_mutex_lock(&lock);
        json_t *r = json_pack("{s:o}", "requests", header_records ? json_deep_copy(header_records) : json_array());
        pthread_mutex_unlock(&lock);
        return r;
}

void headers_reset(void) {
        pthread_mutex_lock(&lock);
        json_decref(header_records);
        header_records = NULL;
        pthread_mutex_unlock(&lock);
}
