#include <criterion/criterion.h>
#include <errno.h>

#include "health.h"
#include "merge.h"
#include "helpers.h"

#define REC(name, ns, rname, rns, state, run) \
        "{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"" ns "\"},\"data\":{\"promiseRef\":{\"name\":\"psql\"}," \
        "\"resourceRef\":{\"name\":\"" rname "\",\"namespace\":\"" rns "\"},\"state\":\"" state "\",\"lastRun\":" #run "}}"

Test(health, ranks) {
        cr_assert_lt(kstatus_health_rank("unhealthy"), kstatus_health_rank("degraded"));
        cr_assert_lt(kstatus_health_rank("degraded"), kstatus_health_rank("unknown"));
        cr_assert_lt(kstatus_health_rank("unknown"), kstatus_health_rank("healthy"));
        cr_assert_lt(kstatus_health_rank("healthy"), kstatus_health_rank("ready"));
        cr_assert_eq(kstatus_health_rank("Ready"), 0);
        cr_assert_eq(kstatus_health_rank(NULL), 0);
}

Test(health, no_records_is_ready) {
        json_t *recs = J("[]");
        json_t *p = kstatus_health_project(recs, "default", "dev-psql");
        assert_json_eq(p, "{\"healthStatus\":{\"state\":\"ready\",\"healthRecords\":[]},\"healthRecord\":null}");
        json_decref(p);
        json_decref(recs);
}

Test(health, seed_record) {
        json_t *recs = J("[{\"metadata\":{\"name\":\"dev-psql-health\",\"namespace\":\"default\"},\"data\":{"
                         "\"promiseRef\":{\"name\":\"psql\"},\"resourceRef\":{\"name\":\"dev-psql\",\"namespace\":"
                         "\"default\"},\"state\":\"ready\",\"lastRun\":1531958400,\"details\":{\"acceptingConnection\""
                         ":true}}}]");
        json_t *p = kstatus_health_project(recs, "default", "dev-psql");
        assert_json_eq(p, "{\"healthStatus\":{\"state\":\"ready\",\"healthRecords\":[{\"state\":\"ready\",\"lastRun\":"
                          "1531958400,\"details\":{\"acceptingConnection\":true},\"source\":{\"name\":"
                          "\"dev-psql-health\",\"namespace\":\"default\"}}]},\"healthRecord\":{\"state\":\"ready\","
                          "\"lastRun\":1531958400,\"details\":{\"acceptingConnection\":true}}}");
        json_decref(p);
        json_decref(recs);
}

Test(health, least_desirable_wins_and_only_own_records_count) {
        static const char *states[] = { "unhealthy", "degraded", "unknown", "healthy", "ready" };
        for (size_t a = 0; a < 5; a++)
                for (size_t b = 0; b < 5; b++) {
                        char *text = xasprintf("[" REC("r1", "default", "db", "default", "%s", 10) ","
                                               REC("r2", "default", "db", "default", "%s", 20) ","
                                               REC("other", "default", "db2", "default", "unhealthy", 30) ","
                                               REC("otherns", "default", "db", "prod", "unhealthy", 40) "]",
                                               states[a], states[b]);
                        json_t *recs = J(text);
                        json_t *p = kstatus_health_project(recs, "default", "db");
                        const char *want = states[a < b ? a : b];
                        cr_assert_str_eq(json_string_value(json_object_get(json_object_get(p, "healthStatus"), "state")),
                                         want, "%s + %s", states[a], states[b]);
                        cr_assert_eq(json_array_size(json_object_get(json_object_get(p, "healthStatus"), "healthRecords")), 2);
                        /* The legacy field is the newest record (r2). */
                        cr_assert_str_eq(json_string_value(json_object_get(json_object_get(p, "healthRecord"), "state")),
                                         states[b]);
                        json_decref(p);
                        json_decref(recs);
                        free(text);
                }
}

Test(health, invalid_records_are_skipped) {
        struct { const char *rec, *err; } bad[] = {
                { "{\"data\":{\"state\":\"ready\"}}", "record has no \"data.resourceRef\"" },
                { "{\"data\":{\"resourceRef\":{\"namespace\":\"default\"},\"state\":\"ready\"}}",
                  "record has no \"data.resourceRef.name\"" },
                { "{\"data\":{\"resourceRef\":{\"name\":\"db\"},\"state\":\"great\"}}",
                  "unknown state \"great\": want unhealthy, degraded, unknown, healthy or ready" },
                { "{\"data\":{\"resourceRef\":{\"name\":\"db\"},\"state\":\"ready\",\"lastRun\":\"yesterday\"}}",
                  "\"data.lastRun\" must be a Unix time in seconds" },
                { "{\"data\":{\"resourceRef\":{\"name\":\"db\"}}}", "record has no \"data.state\"" },
                { "{}", "record has no \"data\"" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                json_t *r = J(bad[i].rec);
                _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
                cr_assert_eq(kstatus_health_record_check(r, &err), -EINVAL);
                cr_assert_str_eq(err.message, bad[i].err);
                cr_assert_not(kstatus_health_record_matches(r, "default", "db"));
                json_decref(r);
        }
}

Test(health, namespace_defaults_to_the_records_own) {
        json_t *r = J("{\"metadata\":{\"name\":\"h\",\"namespace\":\"team-a\"},\"data\":{\"resourceRef\":{\"name\":\"db\"},"
                      "\"state\":\"healthy\"}}");
        cr_assert(kstatus_health_record_matches(r, "team-a", "db"));
        cr_assert_not(kstatus_health_record_matches(r, "default", "db"));
        json_decref(r);
}

Test(health, target_needs_a_promise) {
        json_t *r = J("{\"metadata\":{\"name\":\"h\",\"namespace\":\"team-a\"},\"data\":{\"promiseRef\":{\"name\":\"psql\"},"
                      "\"resourceRef\":{\"name\":\"db\"},\"state\":\"healthy\"}}");
        const char *p, *ns, *n;
        cr_assert_eq(kstatus_health_record_target(r, &p, &ns, &n, NULL), 0);
        cr_assert_str_eq(p, "psql");
        cr_assert_str_eq(ns, "team-a");
        cr_assert_str_eq(n, "db");
        json_decref(r);

        r = J("{\"metadata\":{\"name\":\"h\",\"namespace\":\"team-a\"},\"data\":{\"resourceRef\":{\"name\":\"db\"},"
              "\"state\":\"healthy\"}}");
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kstatus_health_record_target(r, &p, &ns, &n, &err), -EINVAL);
        cr_assert_str_eq(err.message, "record has no \"data.promiseRef.name\"");
        json_decref(r);
}

/* The patch --health-status writes (healthStatus too). */
static json_t *patch_for(const char *status, const char *records, const char **state) {
        json_t *s = status ? J(status) : NULL;
        json_t *recs = J(records);
        struct kstatus_health_target t = { .namespace = "default", .name = "db", .records = recs, .all_records = recs };
        json_t *p = kstatus_health_status_patch(s, &t, state);
        json_decref(s);
        json_decref(recs);
        return p;
}

Test(health, status_patch_writes_only_changes) {
        const char *one = "[" REC("r1", "default", "db", "default", "degraded", 10) "]";
        const char *state = NULL;
        /* First record: everything is written. */
        json_t *p = patch_for("{\"message\":\"hi\"}", one, &state);
        assert_json_eq(p, "{\"healthStatus\":{\"state\":\"degraded\",\"healthRecords\":[{\"state\":\"degraded\",\"lastRun\":10,"
                          "\"source\":{\"name\":\"r1\",\"namespace\":\"default\"}}]},\"healthRecord\":{\"state\":\"degraded\","
                          "\"lastRun\":10}}");
        cr_assert_str_eq(state, "degraded");
        json_decref(p);
        /* Up to date (other keys under healthStatus are someone else's): nothing. */
        p = patch_for("{\"healthStatus\":{\"state\":\"degraded\",\"expectedPromiseVersion\":\"v2\",\"healthRecords\":"
                      "[{\"state\":\"degraded\",\"lastRun\":10,\"source\":{\"name\":\"r1\",\"namespace\":\"default\"}}]},"
                      "\"healthRecord\":{\"state\":\"degraded\",\"lastRun\":10}}",
                      one, NULL);
        assert_json_eq(p, NULL);
        /* Only the state moved: the patch says so and keeps the other keys. */
        p = patch_for("{\"healthStatus\":{\"state\":\"ready\",\"expectedPromiseVersion\":\"v2\",\"healthRecords\":"
                      "[{\"state\":\"degraded\",\"lastRun\":10,\"source\":{\"name\":\"r1\",\"namespace\":\"default\"}}]},"
                      "\"healthRecord\":{\"state\":\"degraded\",\"lastRun\":10}}",
                      one, NULL);
        assert_json_eq(p, "{\"healthStatus\":{\"state\":\"degraded\"}}");
        json_decref(p);
}

Test(health, status_patch_without_records) {
        /* Never had health: left alone. */
        assert_json_eq(patch_for("{\"message\":\"hi\"}", "[]", NULL), NULL);
        assert_json_eq(patch_for(NULL, "[" REC("x", "default", "other", "default", "ready", 1) "]", NULL), NULL);
        /* Its records are gone: ready with none, and the seed's healthRecord removed. */
        const char *state = NULL;
        json_t *p = patch_for("{\"healthStatus\":{\"state\":\"unhealthy\",\"healthRecords\":[{\"state\":\"unhealthy\"}]},"
                              "\"healthRecord\":{\"state\":\"unhealthy\"}}",
                              "[]", &state);
        assert_json_eq(p, "{\"healthStatus\":{\"state\":\"ready\",\"healthRecords\":[]},\"healthRecord\":null}");
        cr_assert_str_eq(state, "ready");
        json_decref(p);
        /* And once that is written, nothing more. */
        assert_json_eq(patch_for("{\"healthStatus\":{\"state\":\"ready\",\"healthRecords\":[]}}", "[]", NULL), NULL);
        /* A healthStatus someone set to a non-object is replaced. */
        p = patch_for("{\"healthStatus\":\"broken\"}", "[]", NULL);
        assert_json_eq(p, "{\"healthStatus\":{\"state\":\"ready\",\"healthRecords\":[]}}");
        json_decref(p);
}

Test(health, status_patch_drops_null_details) {
        const char *recs = "[{\"metadata\":{\"name\":\"r\",\"namespace\":\"default\"},\"data\":{\"promiseRef\":{\"name\":\"p\"},"
                           "\"resourceRef\":{\"name\":\"db\",\"namespace\":\"default\"},\"state\":\"ready\",\"details\":"
                           "{\"a\":null,\"b\":[{\"c\":null,\"d\":1},null]}}}]";
        json_t *p = patch_for(NULL, recs, NULL);
        assert_json_eq(p, "{\"healthStatus\":{\"state\":\"ready\",\"healthRecords\":[{\"state\":\"ready\",\"details\":"
                          "{\"b\":[{\"d\":1},null]},\"lastRun\":0,\"source\":{\"name\":\"r\",\"namespace\":\"default\"}}]},"
                          "\"healthRecord\":{\"state\":\"ready\",\"details\":{\"b\":[{\"d\":1},null]}}}");
        /* What that patch stores is up to date. */
        json_t *stored = kstatus_merge_patch(NULL, p);
        json_t *recs_j = J(recs);
        struct kstatus_health_target t = { .namespace = "default", .name = "db", .records = recs_j,
                                           .all_records = recs_j };
        assert_json_eq(kstatus_health_status_patch(stored, &t, NULL), NULL);
        json_decref(recs_j);
        json_decref(stored);
        json_decref(p);
}

/* The default: only the seed's healthRecord, and a patch that names nothing else. */
static json_t *record_patch_for(const char *status, const char *records, const char **state) {
        json_t *s = status ? J(status) : NULL;
        json_t *recs = J(records);
        struct kstatus_health_target t = { .namespace = "default", .name = "db", .records = recs };
        json_t *p = kstatus_health_status_patch(s, &t, state);
        json_decref(s);
        json_decref(recs);
        return p;
}

Test(health, default_writes_only_health_record) {
        const char *one = "[" REC("r1", "default", "db", "default", "degraded", 10) "]";
        const char *state = NULL;
        /* Kratix's controller wrote healthStatus (even a different one): left alone. */
        json_t *p = record_patch_for("{\"healthStatus\":{\"state\":\"unhealthy\",\"healthRecords\":[]}}", one, &state);
        assert_json_eq(p, "{\"healthRecord\":{\"state\":\"degraded\",\"lastRun\":10}}");
        cr_assert_str_eq(state, "degraded");
        json_decref(p);
        assert_json_eq(record_patch_for("{\"healthStatus\":{\"state\":\"unhealthy\"},\"healthRecord\":{\"state\":"
                                        "\"degraded\",\"lastRun\":10}}",
                                        one, NULL),
                       NULL);
        /* Only Kratix's healthStatus and no records: nothing to do, even though
         * --health-status would reset it. */
        assert_json_eq(record_patch_for("{\"healthStatus\":{\"state\":\"unhealthy\"}}", "[]", NULL), NULL);
        /* Records gone: healthRecord removed, healthStatus still not named. */
        state = "x";
        p = record_patch_for("{\"healthStatus\":{\"state\":\"unhealthy\"},\"healthRecord\":{\"state\":\"degraded\"}}", "[]",
                             &state);
        assert_json_eq(p, "{\"healthRecord\":null}");
        cr_assert_null(state);
        json_decref(p);
}

#define REC_P(name, ns, promise, rname, rns_member, state) \
        "{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"" ns "\"},\"data\":{\"promiseRef\":{\"name\":\"" promise \
        "\"},\"resourceRef\":{\"name\":\"" rname "\"" rns_member "},\"state\":\"" state "\"}}"

Test(health, health_status_is_kratix_projection) {
        /* Kratix's getHealthDataAndStates: every record whose resourceRef name
         * and namespace are the resource's as written (any Promise; a missing
         * namespace is "", not the record's own), listed by "namespace/name",
         * lastRun 0 when unset. healthRecord keeps kstatus's reading. */
        json_t *recs = J("[" REC_P("z", "a", "database", "db", ",\"namespace\":\"default\"", "healthy") ","
                         REC_P("y", "a-b", "cache", "db", ",\"namespace\":\"default\"", "degraded") ","
                         REC_P("x", "default", "database", "db", "", "unhealthy") ","
                         REC_P("w", "default", "database", "other", ",\"namespace\":\"default\"", "unhealthy") "]");
        json_t *p = kstatus_health_project(recs, "default", "db");
        assert_json_eq(json_object_get(p, "healthStatus"),
                       "{\"state\":\"degraded\",\"healthRecords\":["
                       "{\"state\":\"degraded\",\"lastRun\":0,\"source\":{\"name\":\"y\",\"namespace\":\"a-b\"}},"
                       "{\"state\":\"healthy\",\"lastRun\":0,\"source\":{\"name\":\"z\",\"namespace\":\"a\"}}]}");
        json_decref(p);
        json_decref(recs);
}

Test(health, health_record_is_the_newest_first_by_source_on_a_tie) {
        json_t *recs = J("[" REC("b", "default", "db", "default", "degraded", 10) ","
                         REC("a", "default", "db", "default", "healthy", 10) ","
                         REC("c", "default", "db", "default", "unknown", 5) "]");
        json_t *p = kstatus_health_project(recs, "default", "db");
        assert_json_eq(json_object_get(p, "healthRecord"), "{\"state\":\"healthy\",\"lastRun\":10}");
        json_decref(p);
        json_decref(recs);
}
