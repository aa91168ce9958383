#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "helpers.h"
#include "merge.h"

/* RFC 7386 Appendix A, every vector. NULL result means "null" (absent). */
struct vector {
        const char *original, *patch, *result;
};

static const struct vector rfc7386[] = {
        { "{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
        { "{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}" },
        { "{\"a\":\"b\"}", "{\"a\":null}", "{}" },
        { "{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}" },
        { "{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
        { "{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}" },
        { "{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}" },
        { "{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}" },
        { "[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]" },
        { "{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]" },
        { "{\"a\":\"foo\"}", "null", NULL },
        { "{\"a\":\"foo\"}", "\"bar\"", "\"bar\"" },
        { "{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}" },
        { "[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}" },
        { "{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}" },
};

/* Criterion runs each parameter in a re-executed child (a PIE loads at
 * another address), so parameters are indices, not pointers. */
static size_t indices[64];

static struct criterion_test_params index_params(size_t n) {
        for (size_t i = 0; i < n; i++)
                indices[i] = i;
        return cr_make_param_array(size_t, indices, n);
}

ParameterizedTestParameters(merge, rfc7386_appendix_a) {
        return index_params(ELEMENTSOF(rfc7386));
}

ParameterizedTest(size_t *idx, merge, rfc7386_appendix_a) {
        const struct vector *v = &rfc7386[*idx];
        json_t *orig = J(v->original), *patch = J(v->patch);
        json_t *got = kstatus_merge_patch(orig, patch);
        assert_json_eq(got, v->result);
        /* The inputs are not modified. */
        assert_json_eq(orig, v->original);
        json_decref(got);
        json_decref(orig);
        json_decref(patch);
}

/* tests/data/mergepatch/vectors.json: each case's patch applied by real
 * kubectl (`patch --local --type merge`, the json-patch library
 * kube-apiserver uses; tests/data/mergepatch/gen.sh), so what the plugin
 * previews and the sidecar plans is what the server stores. */
Test(merge, agrees_with_kubectl) {
        _cleanup_free_ char *path = xasprintf("%s/mergepatch/vectors.json", getenv("KSTATUS_TEST_DATA"));
        json_error_t e;
        json_t *vectors = json_load_file(path, 0, &e);
        cr_assert_not_null(vectors, "%s: %s", path, e.text);
        cr_assert_gt(json_array_size(vectors), 10);
        size_t i;
        json_t *v;
        json_array_foreach(vectors, i, v) {
                const char *name = json_string_value(json_object_get(v, "name"));
                json_t *doc = json_object_get(v, "doc"), *expected = json_object_get(v, "expected");
                json_t *got = kstatus_merge_patch(json_is_null(doc) ? NULL : doc, json_object_get(v, "patch"));
                bool same = json_is_null(expected) ? got == NULL : got && json_equal(got, expected);
                _cleanup_free_ char *g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) : xstrdup("null");
                _cleanup_free_ char *x = json_dumps(expected, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
                cr_expect(same, "%s: got %s, kubectl %s", name, g, x);
                json_decref(got);
        }
        json_decref(vectors);
}

Test(merge, diff_round_trips) {
        static const char *pairs[][2] = {
                { "{}", "{}" },
                { "{\"a\":1}", "{\"a\":2}" },
                { "{\"a\":{\"b\":1,\"c\":2}}", "{\"a\":{\"b\":1}}" },
                { "{\"a\":{\"b\":1}}", "{\"a\":[1]}" },
                { "{\"a\":[1,2]}", "{\"a\":[1,2,3]}" },
                { "{\"x\":1,\"y\":{\"z\":{\"w\":true}}}", "{\"y\":{\"z\":{\"w\":false,\"v\":\"s\"}}}" },
        };
        for (size_t i = 0; i < ELEMENTSOF(pairs); i++) {
                json_t *a = J(pairs[i][0]), *b = J(pairs[i][1]);
                json_t *d = kstatus_merge_diff(a, b);
                if (json_equal(a, b))
                        cr_assert_null(d, "pair %zu: equal values need no patch", i);
                json_t *applied = d ? kstatus_merge_patch(a, d) : json_incref(a);
                assert_json_eq(applied, pairs[i][1]);
                json_decref(applied);
                json_decref(d);
                json_decref(a);
                json_decref(b);
        }
}

Test(merge, diff_is_minimal) {
        json_t *a = J("{\"keep\":{\"deep\":1},\"change\":{\"x\":1,\"y\":2}}");
        json_t *b = J("{\"keep\":{\"deep\":1},\"change\":{\"x\":1,\"y\":3}}");
        json_t *d = kstatus_merge_diff(a, b);
        assert_json_eq(d, "{\"change\":{\"y\":3}}");
        json_decref(d);
        json_decref(a);
        json_decref(b);
}

Test(merge, mode_names) {
        enum kstatus_merge_mode m;
        cr_assert_eq(kstatus_merge_mode_from_string("deep", &m), 0);
        cr_assert_eq(m, KSTATUS_MERGE_DEEP);
        cr_assert_eq(kstatus_merge_mode_from_string("shallow", &m), 0);
        cr_assert_eq(m, KSTATUS_MERGE_SHALLOW);
        cr_assert_lt(kstatus_merge_mode_from_string("Deep", &m), 0);
        cr_assert_str_eq(kstatus_merge_mode_to_string(KSTATUS_MERGE_SHALLOW), "shallow");
}

/* The final-state invariant, as a table of scenarios: what the pipeline
 * started from, what it last pushed, what the server holds now (after other
 * writers), the file; the patch expected and the status after applying it. */
struct scenario {
        const char *name;
        enum kstatus_merge_mode mode;
        const char *start, *pushed, *server, *file;
        const char *patch; /* NULL: nothing to send */
        const char *after; /* server status after the patch */
};

#define T0 "2024-08-21T10:27:45Z"
#define NOW "2030-01-01T00:00:00Z"
#define CWC_FALSE                                                                                            \
        "{\"type\":\"ConfigureWorkflowCompleted\",\"status\":\"False\",\"reason\":\"PipelinesInProgress\","   \
        "\"message\":\"Pipelines are still in progress\",\"lastTransitionTime\":\"" T0 "\"}"

static const struct scenario scenarios[] = {
        { "seed second pipeline", KSTATUS_MERGE_DEEP,
          "{\"conditions\":[" CWC_FALSE "],\"iam\":{\"user\":\"admin\"},\"message\":\"User created\"}", NULL,
          "{\"conditions\":[" CWC_FALSE "],\"iam\":{\"user\":\"admin\"},\"message\":\"User created\"}",
          "{\"message\":\"User created and vault secret created\",\"iam\":{\"password\":\"<vault-ref>\"}}",
          "{\"message\":\"User created and vault secret created\",\"iam\":{\"password\":\"<vault-ref>\"}}",
          "{\"conditions\":[" CWC_FALSE "],\"iam\":{\"user\":\"admin\",\"password\":\"<vault-ref>\"},"
          "\"message\":\"User created and vault secret created\"}" },
        { "nothing to do", KSTATUS_MERGE_DEEP, "{\"a\":{\"b\":1}}", "{\"a\":{\"b\":1}}", "{\"a\":{\"b\":1}}",
          "{\"a\":{\"b\":1}}", NULL, "{\"a\":{\"b\":1}}" },
        { "empty file touches nothing", KSTATUS_MERGE_DEEP, "{\"a\":1}", NULL, "{\"a\":1,\"b\":2}", "{}", NULL,
          "{\"a\":1,\"b\":2}" },
        { "another writer replaced a key shallowly", KSTATUS_MERGE_DEEP, "{\"iam\":{\"user\":\"admin\"}}",
          "{\"iam\":{\"user\":\"admin\",\"password\":\"x\"}}", "{\"iam\":{\"password\":\"x\"}}",
          "{\"iam\":{\"password\":\"x\"}}", "{\"iam\":{\"user\":\"admin\"}}",
          "{\"iam\":{\"user\":\"admin\",\"password\":\"x\"}}" },
        { "another writer's keys are kept", KSTATUS_MERGE_DEEP, "{}", "{\"mine\":1}",
          "{\"mine\":1,\"theirs\":{\"a\":1}}", "{\"mine\":2}", "{\"mine\":2}",
          "{\"mine\":2,\"theirs\":{\"a\":1}}" },
        { "a key an earlier push introduced goes away", KSTATUS_MERGE_DEEP, "{\"message\":\"x\"}",
          "{\"tmp\":1,\"message\":\"a\"}", "{\"tmp\":1,\"message\":\"a\"}", "{\"message\":\"b\"}",
          "{\"tmp\":null,\"message\":\"b\"}", "{\"message\":\"b\"}" },
        { "a key an earlier push changed goes back to its start value", KSTATUS_MERGE_DEEP,
          "{\"x\":{\"a\":1}}", "{\"x\":{\"a\":1,\"b\":2}}", "{\"x\":{\"a\":1,\"b\":2}}", "{}",
          "{\"x\":{\"b\":null}}", "{\"x\":{\"a\":1}}" },
        { "null deletes", KSTATUS_MERGE_DEEP, "{\"a\":1,\"b\":2}", NULL, "{\"a\":1,\"b\":2}", "{\"a\":null}",
          "{\"a\":null}", "{\"b\":2}" },
        { "null inside a map deletes that member", KSTATUS_MERGE_DEEP, "{\"a\":{\"x\":1,\"y\":2}}", NULL,
          "{\"a\":{\"x\":1,\"y\":2}}", "{\"a\":{\"x\":null,\"z\":3}}", "{\"a\":{\"x\":null,\"z\":3}}",
          "{\"a\":{\"y\":2,\"z\":3}}" },
        { "null for a key that is not there", KSTATUS_MERGE_DEEP, "{}", NULL, "{}", "{\"a\":null}", NULL, "{}" },
        { "lists are replaced", KSTATUS_MERGE_DEEP, "{\"l\":[1,2,3]}", NULL, "{\"l\":[1,2,3]}",
          "{\"l\":[4]}", "{\"l\":[4]}", "{\"l\":[4]}" },
        { "a map replaces a scalar", KSTATUS_MERGE_DEEP, "{\"v\":\"s\"}", NULL, "{\"v\":\"s\"}",
          "{\"v\":{\"k\":1}}", "{\"v\":{\"k\":1}}", "{\"v\":{\"k\":1}}" },
        { "shallow replaces a top-level key whole", KSTATUS_MERGE_SHALLOW, "{\"iam\":{\"user\":\"admin\"}}", NULL,
          "{\"iam\":{\"user\":\"admin\"}}", "{\"iam\":{\"password\":\"x\"}}",
          "{\"iam\":{\"user\":null,\"password\":\"x\"}}", "{\"iam\":{\"password\":\"x\"}}" },
        { "shallow keeps keys the file does not name", KSTATUS_MERGE_SHALLOW, "{\"a\":1,\"b\":{\"c\":1}}", NULL,
          "{\"a\":1,\"b\":{\"c\":1}}", "{\"a\":2}", "{\"a\":2}", "{\"a\":2,\"b\":{\"c\":1}}" },
        { "a condition is added by type", KSTATUS_MERGE_DEEP, "{\"conditions\":[" CWC_FALSE "]}", NULL,
          "{\"conditions\":[" CWC_FALSE "]}",
          "{\"conditions\":[{\"type\":\"DatabaseReady\",\"status\":\"True\",\"reason\":\"Up\"}]}",
          "{\"conditions\":[" CWC_FALSE ",{\"type\":\"DatabaseReady\",\"status\":\"True\",\"reason\":\"Up\","
          "\"lastTransitionTime\":\"" NOW "\"}]}",
          "{\"conditions\":[" CWC_FALSE ",{\"type\":\"DatabaseReady\",\"status\":\"True\",\"reason\":\"Up\","
          "\"lastTransitionTime\":\"" NOW "\"}]}" },
        { "a condition keeps its transition time while its status holds", KSTATUS_MERGE_DEEP, "{}", NULL,
          "{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"A\",\"lastTransitionTime\":\"" T0
          "\"}," CWC_FALSE "]}",
          "{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"B\"}]}",
          "{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"B\",\"lastTransitionTime\":\"" T0
          "\"}," CWC_FALSE "]}",
          "{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"B\",\"lastTransitionTime\":\"" T0
          "\"}," CWC_FALSE "]}" },
        { "a condition's time moves when its status changes", KSTATUS_MERGE_DEEP, "{}", NULL,
          "{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"" T0 "\"}]}",
          "{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}",
          "{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\",\"lastTransitionTime\":\"" NOW "\"}]}",
          "{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\",\"lastTransitionTime\":\"" NOW "\"}]}" },
        { "a condition an earlier push added goes away", KSTATUS_MERGE_DEEP, "{\"conditions\":[" CWC_FALSE "]}",
          "{\"conditions\":[{\"type\":\"Tmp\",\"status\":\"True\"}]}",
          "{\"conditions\":[" CWC_FALSE ",{\"type\":\"Tmp\",\"status\":\"True\",\"lastTransitionTime\":\"" T0
          "\"}]}",
          "{}", "{\"conditions\":[" CWC_FALSE "]}", "{\"conditions\":[" CWC_FALSE "]}" },
        { "an unchanged condition sends nothing", KSTATUS_MERGE_DEEP, "{}", NULL,
          "{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"" T0 "\"}]}",
          "{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}", NULL,
          "{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"" T0 "\"}]}" },
        { "a null inside the start value is not written back (found by fuzz-merge)", KSTATUS_MERGE_DEEP,
          "{\"iam\":{\"stale\":null}}", NULL, "{\"iam\":{\"password\":\"x\"}}", "{\"iam\":{\"password\":\"y\"}}",
          "{\"iam\":{\"password\":\"y\"}}", "{\"iam\":{\"password\":\"y\"}}" },
        /* restore(C, S): where both hold a value, the server's (another writer's) wins. */
        { "start status from object.yaml differs from the server's", KSTATUS_MERGE_DEEP,
          "{\"db\":{\"host\":\"a\",\"port\":1}}", NULL, "{\"db\":{\"host\":\"b\"},\"other\":true}",
          "{\"db\":{\"port\":2}}", "{\"db\":{\"port\":2}}",
          "{\"db\":{\"host\":\"b\",\"port\":2},\"other\":true}" },
        { "a nested key another writer added under a key the file names is kept", KSTATUS_MERGE_DEEP,
          "{\"iam\":{\"user\":\"admin\"}}", "{\"iam\":{\"password\":\"x\"}}",
          "{\"iam\":{\"user\":\"admin\",\"password\":\"x\",\"note\":\"ops\"}}", "{\"iam\":{\"password\":\"y\"}}",
          "{\"iam\":{\"password\":\"y\"}}", "{\"iam\":{\"user\":\"admin\",\"password\":\"y\",\"note\":\"ops\"}}" },
        { "a nested key an earlier push wrote and the file dropped goes", KSTATUS_MERGE_DEEP,
          "{\"iam\":{\"user\":\"admin\"}}", "{\"iam\":{\"password\":\"x\",\"tmp\":1}}",
          "{\"iam\":{\"user\":\"admin\",\"password\":\"x\",\"tmp\":1}}", "{\"iam\":{\"password\":\"x\"}}",
          "{\"iam\":{\"tmp\":null}}", "{\"iam\":{\"user\":\"admin\",\"password\":\"x\"}}" },
};

ParameterizedTestParameters(merge, final_state_invariant) {
        return index_params(ELEMENTSOF(scenarios));
}

/* A tree's text, keys in its own order: what a change in place would alter. */
static char *text_of(const json_t *v) {
        return v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("(absent)");
}

ParameterizedTest(size_t *idx, merge, final_state_invariant) {
        const struct scenario *s = &scenarios[*idx];
        json_t *start = J(s->start), *pushed = s->pushed ? J(s->pushed) : NULL, *server = J(s->server),
               *file = J(s->file);
        /* Plans share their inputs' values (merge.h): none may change. */
        char *before[] = { text_of(start), text_of(pushed), text_of(server), text_of(file) };
        struct kstatus_plan plan = {
                .start = start, .pushed = pushed, .server = server, .file = file, .mode = s->mode, .now = NOW,
        };
        json_t *patch = NULL, *owned = NULL;
        cr_assert_eq(kstatus_plan_patch(&plan, &patch, &owned, NULL), 0, "%s", s->name);
        cr_log_info("%s", s->name);
        assert_json_eq(patch, s->patch);
        json_t *after = patch ? kstatus_merge_patch(server, patch) : json_incref(server);
        assert_json_eq(after, s->after);

        /* Applying again, from the state it produced, sends nothing. */
        json_t *patch2 = NULL, *owned2 = NULL;
        plan.pushed = owned;
        plan.server = after;
        cr_assert_eq(kstatus_plan_patch(&plan, &patch2, &owned2, NULL), 0);
        assert_json_eq(patch2, NULL);

        const json_t *inputs[] = { start, pushed, server, file };
        for (size_t i = 0; i < ELEMENTSOF(inputs); i++) {
                char *now = text_of(inputs[i]);
                cr_assert_str_eq(now, before[i], "%s: input %zu changed", s->name, i);
                free(now);
                free(before[i]);
        }
        json_decref(owned2);
        json_decref(after);
        json_decref(patch);
        json_decref(owned);
        json_decref(start);
        json_decref(pushed);
        json_decref(server);
        json_decref(file);
}

Test(merge, live_pushes_then_final_write_end_exact) {
        /* A pipeline writes three versions; the final state depends only on the last. */
        json_t *start = J("{\"message\":\"Pending\",\"keep\":1}");
        json_t *server = json_deep_copy(start), *pushed = NULL;
        const char *versions[] = {
                "{\"message\":\"step 1\",\"progress\":{\"a\":1}}",
                "{\"message\":\"step 2\",\"progress\":{\"b\":2},\"scratch\":true}",
                "{\"message\":\"done\",\"progress\":{\"c\":3}}",
        };
        for (size_t i = 0; i < ELEMENTSOF(versions); i++) {
                json_t *file = J(versions[i]);
                struct kstatus_plan plan = { .start = start, .pushed = pushed, .server = server, .file = file,
                                             .now = NOW };
                json_t *patch = NULL, *owned = NULL;
                cr_assert_eq(kstatus_plan_patch(&plan, &patch, &owned, NULL), 0);
                json_t *next = patch ? kstatus_merge_patch(server, patch) : json_incref(server);
                json_decref(server);
                server = next;
                json_decref(pushed);
                pushed = owned;
                json_decref(patch);
                json_decref(file);
        }
        assert_json_eq(server, "{\"message\":\"done\",\"keep\":1,\"progress\":{\"c\":3}}");
        json_decref(server);
        json_decref(pushed);
        json_decref(start);
}

/* Plans one write from server and applies it as the API server would. */
static json_t *write_once(const json_t *start, json_t **pushed, const json_t *server, const char *file_text) {
        json_t *file = J(file_text);
        struct kstatus_plan plan = { .start = start, .pushed = *pushed, .server = server, .file = file, .now = NOW };
        json_t *patch = NULL, *owned = NULL;
        cr_assert_eq(kstatus_plan_patch(&plan, &patch, &owned, NULL), 0);
        json_t *next = patch ? kstatus_merge_patch(server, patch) : json_incref((json_t *)server);
        json_decref(*pushed);
        *pushed = owned;
        json_decref(patch);
        json_decref(file);
        return next;
}

/* merge(restore(C[K], S[K]), F[K]): an operator adds iam.note between two
 * writes under a key status.yaml names; both the next live push and the
 * final write keep it, and agree. */
Test(merge, another_writers_nested_key_survives_every_write) {
        json_t *start = J("{\"iam\":{\"user\":\"admin\"}}"), *pushed = NULL;
        json_t *server = write_once(start, &pushed, start, "{\"iam\":{\"password\":\"x\"}}");
        assert_json_eq(server, "{\"iam\":{\"user\":\"admin\",\"password\":\"x\"}}");
        json_t *note = J("{\"iam\":{\"note\":\"rotated by ops\"}}");
        json_t *operator = kstatus_merge_patch(server, note);
        json_decref(note);
        json_decref(server);
        json_t *live = write_once(start, &pushed, operator, "{\"iam\":{\"password\":\"y\"}}");
        assert_json_eq(live, "{\"iam\":{\"user\":\"admin\",\"password\":\"y\",\"note\":\"rotated by ops\"}}");
        json_t *final = write_once(start, &pushed, live, "{\"iam\":{\"password\":\"y\"}}");
        assert_json_eq(final, "{\"iam\":{\"user\":\"admin\",\"password\":\"y\",\"note\":\"rotated by ops\"}}");
        /* A final write that names another value still keeps the note. */
        json_t *other = write_once(start, &pushed, final, "{\"iam\":{\"password\":\"z\"}}");
        assert_json_eq(other, "{\"iam\":{\"user\":\"admin\",\"password\":\"z\",\"note\":\"rotated by ops\"}}");
        json_decref(other);
        json_decref(final);
        json_decref(live);
        json_decref(operator);
        json_decref(pushed);
        json_decref(start);
}

Test(merge, plan_rejects_non_mapping) {
        json_t *file = J("[1]");
        struct kstatus_plan plan = { .file = file, .now = NOW };
        json_t *patch = NULL, *owned = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_lt(kstatus_plan_patch(&plan, &patch, &owned, &err), 0);
        cr_assert_str_eq(err.message, "status must be a mapping");
        json_decref(file);
}

Test(merge, preview_seed_example) {
        json_t *s0 = json_object();
        json_t *f1 = J("{\"iam\":{\"user\":\"admin\"},\"message\":\"User created, next step is to create vault secret "
                       "for user\"}");
        json_t *f2 = J("{\"message\":\"User created and vault secret created\",\"iam\":{\"password\":\"<vault-ref>\"}}");
        json_t *s1 = kstatus_merge_status(s0, f1, KSTATUS_MERGE_DEEP, NOW);
        json_t *s2 = kstatus_merge_status(s1, f2, KSTATUS_MERGE_DEEP, NOW);
        assert_json_eq(s2, "{\"iam\":{\"user\":\"admin\",\"password\":\"<vault-ref>\"},"
                           "\"message\":\"User created and vault secret created\"}");
        json_t *sh = kstatus_merge_status(s1, f2, KSTATUS_MERGE_SHALLOW, NOW);
        assert_json_eq(sh, "{\"iam\":{\"password\":\"<vault-ref>\"},"
                           "\"message\":\"User created and vault secret created\"}");
        json_decref(sh);
        json_decref(s2);
        json_decref(s1);
        json_decref(f2);
        json_decref(f1);
        json_decref(s0);
}

Test(merge, strip_nulls_shares_what_holds_no_null) {
        json_t *v = J("{\"a\":{\"b\":[1,{\"c\":2}]},\"d\":\"x\"}");
        json_t *out = kstatus_merge_strip_nulls(v);
        cr_assert_eq(out, v, "nothing to strip: the value itself");
        json_decref(out);

        json_t *w = J("{\"keep\":{\"deep\":[1,2]},\"drop\":{\"n\":null,\"m\":1},\"list\":[null,{\"z\":null}]}");
        out = kstatus_merge_strip_nulls(w);
        assert_json_eq(out, "{\"keep\":{\"deep\":[1,2]},\"drop\":{\"m\":1},\"list\":[null,{}]}");
        cr_assert_neq(out, w);
        cr_assert_eq(json_object_get(out, "keep"), json_object_get(w, "keep"), "an untouched member is shared");
        assert_json_eq(w, "{\"keep\":{\"deep\":[1,2]},\"drop\":{\"n\":null,\"m\":1},\"list\":[null,{\"z\":null}]}");
        json_decref(out);
        json_decref(w);
        json_decref(v);
}

Test(merge, share_equal_takes_equal_parts_from_the_other_tree) {
        json_t *with = J("{\"big\":[\"a\",\"b\",\"c\"],\"map\":{\"x\":1,\"y\":{\"z\":true}},\"n\":2}");
        json_t *tree = J("{\"big\":[\"a\",\"B\",\"c\"],\"map\":{\"x\":1,\"y\":{\"z\":true}},\"n\":3}");
        json_t *out = kstatus_share_equal(tree, with);
        cr_assert_eq(out, tree, "the trees differ: tree itself");
        assert_json_eq(out, "{\"big\":[\"a\",\"B\",\"c\"],\"map\":{\"x\":1,\"y\":{\"z\":true}},\"n\":3}");
        cr_assert_eq(json_object_get(out, "map"), json_object_get(with, "map"), "an equal map is shared");
        json_t *big = json_object_get(out, "big");
        cr_assert_eq(json_array_get(big, 0), json_array_get(json_object_get(with, "big"), 0), "equal elements are shared");
        cr_assert_neq(json_array_get(big, 1), json_array_get(json_object_get(with, "big"), 1));
        assert_json_eq(with, "{\"big\":[\"a\",\"b\",\"c\"],\"map\":{\"x\":1,\"y\":{\"z\":true}},\"n\":2}");
        json_decref(out);
        json_decref(tree);

        json_t *same = J("{\"big\":[\"a\",\"b\",\"c\"],\"map\":{\"x\":1,\"y\":{\"z\":true}},\"n\":2}");
        out = kstatus_share_equal(same, with);
        cr_assert_eq(out, with, "equal trees: the other one");
        json_decref(out);
        json_decref(same);
        json_decref(with);
}

Test(merge, share_equal_keeps_key_order_and_how_numbers_are_written) {
        json_t *with = J("{\"m\":{\"a\":1,\"b\":2},\"r\":0.0,\"i\":1}");
        json_t *tree = J("{\"m\":{\"b\":2,\"a\":1},\"r\":-0.0,\"i\":1.0}");
        json_t *out = kstatus_share_equal(tree, with);
        char *text = json_dumps(out, JSON_COMPACT);
        cr_assert_str_eq(text, "{\"m\":{\"b\":2,\"a\":1},\"r\":-0.0,\"i\":1.0}", "written as before: %s", text);
        cr_assert_eq(json_object_get(json_object_get(out, "m"), "a"), json_object_get(json_object_get(with, "m"), "a"),
                     "the members of a map in another order are still shared");
        free(text);
        json_decref(out);
        json_decref(tree);
        json_decref(with);
}
