/* The YAML converter against the golden corpus made by real kubectl
 * (scripts/gen-yaml-corpus), plus errors, limits and the printers. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "status.h"
#include "util.h"
#include "yaml-json.h"

static char *data_path(const char *rel) {
        const char *dir = getenv("KSTATUS_TEST_DATA");
        cr_assert_not_null(dir, "KSTATUS_TEST_DATA is not set");
        return xasprintf("%s/%s", dir, rel);
}

static char *slurp(const char *path, size_t *len) {
        char *buf = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        if (kstatus_read_file(path, false, 64u << 20, &buf, len, &err) < 0)
                return NULL;
        return buf;
}

/* kstatus_yaml_dump() that must succeed. */
static char *yaml_dump(const json_t *v) {
        char *text = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int r = kstatus_yaml_dump(v, &text, &err);
        cr_assert_eq(r, 0, "kstatus_yaml_dump: %s", err.message);
        cr_assert_not_null(text);
        return text;
}

/* Turn every integer into a real, in place. */
static void reals_only(json_t *v) {
        const char *k;
        json_t *x;
        size_t i;
        if (json_is_object(v)) {
                json_object_foreach(v, k, x) {
                        if (json_is_integer(x))
                                json_object_set_new(v, k, json_real((double)json_integer_value(x)));
                        else
                                reals_only(x);
                }
        } else if (json_is_array(v)) {
                json_array_foreach(v, i, x) {
                        if (json_is_integer(x))
                                json_array_set_new(v, i, json_real((double)json_integer_value(x)));
                        else
                                reals_only(x);
                }
        }
}

/* Cases where we deliberately differ from kubectl: "NNNN-name reason" lines
 * (NNNN-name.yaml.out for the YAML printer). What we do instead is in
 * tests/data/yaml/ours/, and is checked as strictly as kubectl's output. */
static bool is_difference(const char *base) {
        char *path = data_path("yaml/differences.txt");
        size_t len;
        char *text = slurp(path, &len);
        free(path);
        cr_assert_not_null(text, "tests/data/yaml/differences.txt is missing");
        bool found = false;
        size_t n = strlen(base);
        for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
                if (strncmp(line, base, n) == 0 && (line[n] == ' ' || line[n] == '\n'))
                        found = true;
        free(text);
        return found;
}

static char *dumps_sorted(const json_t *v) {
        return v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
}

/* kubectl's JSON for a case: the whole object, header included. kubectl
 * writes floats beyond int64 in full ("9223372036854776000"), which jansson
 * cannot load as an integer: then every number is read as a real. */
static json_t *load_kubectl_json(const char *path, bool *ret_as_reals) {
        json_error_t jerr;
        *ret_as_reals = false;
        json_t *v = json_load_file(path, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        if (!v && access(path, F_OK) == 0) {
                v = json_load_file(path, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &jerr);
                *ret_as_reals = true;
        }
        return v;
}

/* Where kubectl's error is go-yaml's ("yaml: line 6: did not find expected
 * key"), ours must say the same words, on the same line: the case's line is
 * kubectl's less the 4 header lines, and go-yaml reports the line before the
 * problem for parser errors, so ours may be one more (DIFFERENCES.md).
 * "invalid map key" is Go's dump of a value; ours says what the key is. */
static bool same_error(const char *base, const char *kubectl, const struct kstatus_error *err) {
        const char *prefix = "error converting YAML to JSON: yaml: ";
        if (!str_has_prefix(kubectl, prefix) || strstr(kubectl, "invalid map key"))
                return true;
        const char *msg = kubectl + strlen(prefix);
        int line = 0;
        if (sscanf(msg, "line %d: ", &line) == 1)
                msg = strstr(msg, ": ") + 2;
        size_t len = strcspn(msg, "\n");
        bool ok = strlen(err->message) == len && strncmp(err->message, msg, len) == 0;
        if (line)
                ok = ok && (err->line == line - 4 || err->line == line - 3);
        if (!ok)
                cr_log_error("%s: error %d:%d: %s; kubectl: %.*s", base, err->line, err->column, err->message,
                             (int)strcspn(kubectl, "\n"), kubectl);
        return ok;
}

/* The parser: each case's YAML must convert to kubectl's JSON, or fail
 * where kubectl failed, with kubectl's words where they are go-yaml's. */
static bool check_parse(const char *dir, const char *base) {
        char *yaml_path = xasprintf("%s/%s.yaml", dir, base);
        char *json_path = xasprintf("%s/%s.json", dir, base);
        bool difference = is_difference(base);
        if (difference) {
                /* Our own expectation instead: ours/NNNN.json, or ours/NNNN.err
                 * holding a part of our error message. */
                free(json_path);
                json_path = xasprintf("%s/ours/%s.json", dir, base);
        }
        size_t len;
        char *text = slurp(yaml_path, &len);
        cr_assert_not_null(text, "%s", yaml_path);
        json_t *got = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int r = kstatus_yaml_parse(text, len, NULL, &got, &err);
        bool as_reals;
        json_t *want = load_kubectl_json(json_path, &as_reals);
        if (as_reals && got)
                reals_only(got);
        bool ok;
        char *want_err = NULL;
        if (want) {
                if (!difference) {
                        json_object_del(want, "apiVersion");
                        json_object_del(want, "kind");
                        json_object_del(want, "metadata");
                }
                /* kubectl's object of an empty case has no other keys. */
                if (r == 0 && json_is_null(got)) {
                        json_decref(got);
                        got = json_object();
                }
                ok = r == 0 && json_equal(got, want);
        } else if (difference) {
                char *err_path = xasprintf("%s/ours/%s.err", dir, base);
                size_t n;
                want_err = slurp(err_path, &n);
                free(err_path);
                cr_assert_not_null(want_err, "%s is in differences.txt but has no ours/%s.json or .err", base, base);
                want_err[strcspn(want_err, "\n")] = '\0';
                ok = r < 0 && strstr(err.message, want_err);
        } else {
                char *err_path = xasprintf("%s/%s.err", dir, base);
                size_t n;
                char *kerr = slurp(err_path, &n);
                cr_assert_not_null(kerr, "%s has neither .json nor .err", base);
                free(err_path);
                ok = r < 0; /* kubectl refused it: so must we */
                if (ok)
                        ok = same_error(base, kerr, &err);
                free(kerr);
        }
        if (!ok) {
                char *g = dumps_sorted(got), *w = dumps_sorted(want);
                cr_log_error("%s: got %s (%s), want %s", base, g ? g : "an error", r < 0 ? err.message : "ok",
                             w ? w : want_err ? want_err : "an error");
                free(g);
                free(w);
        }
        free(want_err);
        json_decref(got);
        json_decref(want);
        free(text);
        free(yaml_path);
        free(json_path);
        return ok;
}

static bool same_text(const char *base, const char *what, const char *got, const char *want) {
        if (strcmp(got, want) == 0)
                return true;
        size_t i = 0;
        while (got[i] && got[i] == want[i])
                i++;
        cr_log_error("%s: %s differs at byte %zu:\n--- got\n%s--- want\n%s", base, what, i, got, want);
        return false;
}

/* The printers: kubectl's object, printed by us, must be kubectl's bytes
 * (-o json and -o yaml), and the YAML must read back as the same value. */
static bool check_print(const char *dir, const char *base, int *ret_yaml_cases) {
        char *json_path = xasprintf("%s/%s.json", dir, base);
        bool as_reals, ok = true;
        json_t *v = load_kubectl_json(json_path, &as_reals);
        if (!v) {
                free(json_path);
                return true; /* an error case: nothing to print */
        }
        size_t len;
        char *want = slurp(json_path, &len);
        char *got = kstatus_json_dump(v, false);
        ok &= same_text(base, "-o json", got, want);
        free(got);
        free(want);

        char *yaml_base = xasprintf("%s.yaml.out", base);
        char *yaml_path = is_difference(yaml_base) ? xasprintf("%s/ours/%s", dir, yaml_base)
                                                   : xasprintf("%s/%s", dir, yaml_base);
        want = slurp(yaml_path, &len);
        if (want) {
                (*ret_yaml_cases)++;
                got = yaml_dump(v);
                ok &= same_text(base, "-o yaml", got, want);
                json_t *back = NULL;
                _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
                int r = kstatus_yaml_parse(got, strlen(got), NULL, &back, &err);
                if (as_reals && back)
                        reals_only(back);
                if (r < 0 || !json_equal(back, v)) {
                        cr_log_error("%s: the YAML printed does not read back (%s)", base,
                                     r < 0 ? err.message : "differs");
                        ok = false;
                }
                json_decref(back);
                free(got);
                free(want);
        } else {
                /* Only where kubectl -o yaml itself failed (NNNN.yaml.out.err). */
                char *err_path = xasprintf("%s/%s.yaml.out.err", dir, base);
                cr_assert_eq(access(err_path, F_OK), 0, "%s: no %s", base, yaml_path);
                free(err_path);
        }
        free(yaml_base);
        free(yaml_path);
        free(json_path);
        json_decref(v);
        return ok;
}

Test(yaml, golden_corpus_matches_kubectl) {
        char *dir = data_path("yaml");
        DIR *d = opendir(dir);
        cr_assert_not_null(d, "%s: %s", dir, strerror(errno));
        struct dirent *de;
        int cases = 0, parse_failures = 0, print_failures = 0, yaml_cases = 0;
        while ((de = readdir(d))) {
                if (!str_has_suffix(de->d_name, ".yaml"))
                        continue;
                char *base = xstrndup(de->d_name, strlen(de->d_name) - 5);
                parse_failures += !check_parse(dir, base);
                print_failures += !check_print(dir, base, &yaml_cases);
                cases++;
                free(base);
        }
        closedir(d);
        free(dir);
        cr_log_info("%d corpus cases, %d printed as YAML", cases, yaml_cases);
        cr_assert_gt(cases, 400, "the corpus has %d cases", cases);
        cr_assert_gt(yaml_cases, 300, "the corpus has %d -o yaml outputs", yaml_cases);
        cr_assert_eq(parse_failures, 0, "%d of %d corpus cases differ from kubectl", parse_failures, cases);
        cr_assert_eq(print_failures, 0, "%d of %d corpus cases print differently from kubectl", print_failures,
                     cases);
}

static int parse(const char *text, json_t **ret, struct kstatus_error *err) {
        return kstatus_yaml_parse(text, strlen(text), NULL, ret, err);
}

Test(yaml, errors_carry_line_and_column) {
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        json_t *v = NULL;
        cr_assert_eq(parse("a: 1\nb:\n  c: @x\n", &v, &err), -EINVAL);
        cr_assert_eq(err.line, 3);
        cr_assert_eq(err.column, 6);
        cr_assert_str_eq(err.message, "found character that cannot start any token");
        cr_assert_eq(parse("a: .inf\n", &v, &err), -EINVAL);
        cr_assert_eq(err.line, 1);
        cr_assert_eq(err.column, 4);
        cr_assert_eq(parse("a: 1\n---\nb: 2\n", &v, &err), -EINVAL);
        cr_assert_eq(err.line, 2);
        cr_assert(strstr(err.message, "more than one YAML document"));
        cr_assert_eq(kstatus_yaml_parse("a: 1\nb\0: 2", 10, NULL, &v, &err), -EINVAL);
        cr_assert_eq(err.line, 2);
        cr_assert_eq(err.column, 2);
}

Test(yaml, empty_inputs_are_null) {
        const char *empties[] = { "", "\n", "# only a comment\n", "---\n", "---\n...\n" };
        for (size_t i = 0; i < ELEMENTSOF(empties); i++) {
                json_t *v = NULL;
                cr_assert_eq(parse(empties[i], &v, NULL), 0, "%zu", i);
                cr_assert(json_is_null(v), "%zu", i);
                json_decref(v);
        }
}

Test(yaml, limits) {
        struct kstatus_limits lim = KSTATUS_LIMITS_DEFAULT;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        json_t *v = NULL;
        lim.max_depth = 3;
        cr_assert_eq(kstatus_yaml_parse("a: {b: {c: 1}}", 14, &lim, &v, &err), 0);
        json_decref(v);
        cr_assert_eq(kstatus_yaml_parse("a: {b: {c: {d: 1}}}", 19, &lim, &v, &err), -E2BIG);
        cr_assert(strstr(err.message, "(limit max-depth)"), "%s", err.message);
        lim = KSTATUS_LIMITS_DEFAULT;
        lim.max_nodes = 5;
        cr_assert_eq(parse("[1, 2, 3]", &v, &err), 0);
        json_decref(v);
        cr_assert_eq(kstatus_yaml_parse("[1, 2, 3, 4, 5, 6]", 18, &lim, &v, &err), -E2BIG);
        cr_assert(strstr(err.message, "(limit max-nodes)"), "%s", err.message);
        lim = KSTATUS_LIMITS_DEFAULT;
        lim.max_file_bytes = 4;
        cr_assert_eq(kstatus_yaml_parse("a: 12", 5, &lim, &v, &err), -E2BIG);
        cr_assert(strstr(err.message, "(max-file-size)"), "%s", err.message);
        lim = KSTATUS_LIMITS_DEFAULT;
        lim.max_result_bytes = 10;
        cr_assert_eq(kstatus_yaml_parse("a: 123456789", 12, &lim, &v, &err), -E2BIG);
        cr_assert(strstr(err.message, "(limit max-status-size)"), "%s", err.message);
}

/* The memory a status's tree takes is bounded as it is built
 * (docs/BEHAVIOUR.md §2): status.yaml's largest scalar documents fit the
 * default, one as many empty maps (~256 bytes of tree each) does not, and an
 * alias counts what its expansion takes. */
static char *repeat(const char *head, const char *item, size_t n) {
        size_t hl = strlen(head), il = strlen(item);
        char *out = malloc(hl + n * il + 1);
        memcpy(out, head, hl);
        for (size_t i = 0; i < n; i++)
                memcpy(out + hl + i * il, item, il);
        out[hl + n * il] = '\0';
        return out;
}

Test(yaml, memory_limit) {
        struct kstatus_limits lim = KSTATUS_LIMITS_DEFAULT;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        json_t *v = NULL;
        /* 99 997 scalars of 6 characters: a document at --max-nodes (the list, its key and the map count). */
        char *strings = repeat("big:\n", "- s00000\n", 99997);
        cr_assert_eq(kstatus_yaml_parse(strings, strlen(strings), &lim, &v, &err), 0, "%s", err.message);
        cr_assert_eq(json_array_size(json_object_get(v, "big")), 99997);
        json_decref(v);
        v = NULL;
        char *maps = repeat("big:\n", "- {}\n", 60000);
        cr_assert_eq(kstatus_yaml_parse(maps, strlen(maps), &lim, &v, &err), -E2BIG);
        cr_assert_str_eq(err.message,
                         "status would take more than 12582912 bytes of memory (limit max-status-memory)");
        cr_assert_gt(err.line, 40000, "refused where it passed the limit, line %d", err.line);
        cr_assert_lt(err.line, 60001);
        cr_assert_null(v);
        lim.max_memory_bytes = 32u << 20;
        cr_assert_eq(kstatus_yaml_parse(maps, strlen(maps), &lim, &v, &err), 0, "%s", err.message);
        json_decref(v);
        v = NULL;
        /* 10 empty maps anchored, aliased 5 times: 60 maps, ~15 kB. */
        const char *aliased = "a: &x [{}, {}, {}, {}, {}, {}, {}, {}, {}, {}]\nb: [*x, *x, *x, *x, *x]\n";
        lim.max_memory_bytes = 8000;
        cr_assert_eq(kstatus_yaml_parse(aliased, strlen(aliased), &lim, &v, &err), -E2BIG);
        cr_assert(strstr(err.message, "(limit max-status-memory)"), "%s", err.message);
        cr_assert_eq(err.line, 2);
        lim.max_memory_bytes = 0;
        cr_assert_eq(kstatus_yaml_parse(aliased, strlen(aliased), &lim, &v, &err), 0, "0: no memory limit");
        json_decref(v);
        free(maps);
        free(strings);
}

Test(yaml, alias_bomb_is_refused_without_expanding) {
        const char *bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
                           "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                           "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                           "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                           "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                           "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                           "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
                           "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
                           "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        json_t *v = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(parse(bomb, &v, &err), -E2BIG);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        cr_log_info("the alias bomb was refused in %.2f ms", ms);
        /* Expanding would take minutes; refusing takes well under a millisecond (valgrind: ~50x slower). */
        cr_assert_lt(ms, getenv("KSTATUS_VALGRIND") ? 5000.0 : 100.0, "took %.1f ms", ms);
        cr_assert(strstr(err.message, "max-nodes"), "%s", err.message);
}

Test(yaml, one_mebibyte_parses_quickly) {
        size_t n = 1000000;
        char *buf = xmalloc(n + 64);
        size_t len = 0;
        for (int i = 0; len < n - 40; i++)
                len += (size_t)sprintf(buf + len, "k%07d: value number %d\n", i, i);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        json_t *v = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        struct kstatus_limits lim = KSTATUS_LIMITS_DEFAULT;
        lim.max_result_bytes = 4u << 20;
        cr_assert_eq(kstatus_yaml_parse(buf, len, &lim, &v, &err), 0, "%s", err.message);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        cr_log_info("1 MB of YAML parsed in %.1f ms", ms);
        cr_assert_gt(json_object_size(v), 30000);
        json_decref(v);
        free(buf);
}

Test(yaml, invalid_utf8_and_garbage) {
        json_t *v = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_lt(kstatus_yaml_parse("a: \xff\xfe", 5, NULL, &v, &err), 0);
        cr_assert_gt(err.line, 0);
        unsigned char garbage[512];
        for (size_t i = 0; i < sizeof(garbage); i++)
                garbage[i] = (unsigned char)(i * 131 + 7);
        cr_assert_lt(kstatus_yaml_parse((const char *)garbage, sizeof(garbage), NULL, &v, &err), 0);
}

struct dump_case {
        const char *json, *yaml;
};

Test(yaml, dump_like_kubectl) {
        /* Outputs recorded from `kubectl patch --local -o yaml`. */
        static const struct dump_case cases[] = {
                { "{\"a\":\"123\"}", "a: \"123\"\n" },
                { "{\"a\":\"true\"}", "a: \"true\"\n" },
                { "{\"a\":\"x: y\"}", "a: 'x: y'\n" },
                { "{\"a\":\"- x\"}", "a: '- x'\n" },
                { "{\"a\":\"\"}", "a: \"\"\n" },
                { "{\"a\":\"1:20\"}", "a: \"1:20\"\n" },
                { "{\"a\":\"line1\\nline2\"}", "a: |-\n  line1\n  line2\n" },
                { "{\"a\":\"line1\\nline2\\n\"}", "a: |\n  line1\n  line2\n" },
                { "{\"a\":\"#c\"}", "a: '#c'\n" },
                { "{\"a\":\" lead\"}", "a: ' lead'\n" },
                { "{\"a\":\"<b>&\"}", "a: <b>&\n" },
                { "{\"a\":1.5}", "a: 1.5\n" },
                { "{\"a\":0.000001}", "a: 1e-06\n" },
                { "{\"a\":1e21}", "a: 1e+21\n" },
                { "{\"a\":1234567.5}", "a: 1.2345675e+06\n" },
                { "{\"a\":\"\\u00e9\"}", "a: \xc3\xa9\n" },
                { "{\"a\":\"tab\\there\"}", "a: \"tab\\there\"\n" },
                { "{\"a\":[1,{\"b\":2}]}", "a:\n- 1\n- b: 2\n" },
                { "{\"a\":{},\"b\":[],\"c\":null}", "a: {}\nb: []\nc: null\n" },
                { "{\"a\":\"null\",\"b\":\"~\",\"c\":\"yes\",\"d\":\"y\",\"e\":\"0x1F\",\"f\":\"08\"}",
                  "a: \"null\"\nb: \"~\"\nc: \"yes\"\nd: \"y\"\ne: \"0x1F\"\nf: \"08\"\n" },
                { "{\"a\":\"2024-01-01\",\"b\":\"2024-01-01T10:00:00Z\",\"c\":\"2024-1-1\",\"d\":\"2024-01-01 10:00:00\","
                  "\"e\":\"2024-01-01t10:00:00.5+02:00\",\"f\":\"2024-01-01T10:00\",\"g\":\"2024-13-45\"}",
                  "a: \"2024-01-01\"\nb: \"2024-01-01T10:00:00Z\"\nc: \"2024-1-1\"\nd: \"2024-01-01 10:00:00\"\n"
                  "e: \"2024-01-01t10:00:00.5+02:00\"\nf: 2024-01-01T10:00\ng: 2024-13-45\n" },
                { "{\"z\":1,\"a\":{\"y\":2,\"b\":3}}", "a:\n  b: 3\n  \"y\": 2\nz: 1\n" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                json_t *v = J(cases[i].json);
                char *y = yaml_dump(v);
                cr_assert_str_eq(y, cases[i].yaml, "case %zu (%s)", i, cases[i].json);
                /* Round trip: the YAML reads back as the same value. */
                json_t *back = NULL;
                cr_assert_eq(kstatus_yaml_parse(y, strlen(y), NULL, &back, NULL), 0);
                cr_assert(json_equal(back, v), "round trip of %s", cases[i].json);
                json_decref(back);
                free(y);
                json_decref(v);
        }
}

/* Long scalars fold at 80 columns as in kubectl (the corpus's print-long
 * cases hold kubectl's bytes); folded text reads back unchanged. */
Test(yaml, long_strings_fold_and_read_back) {
        char long_text[301];
        memset(long_text, 'x', 300);
        long_text[300] = '\0';
        memcpy(long_text + 100, " and ", 5);
        json_t *v = json_pack("{s:s}", "a", long_text);
        char *y = yaml_dump(v);
        char *want = xasprintf("a: %.*s\n  and %s\n", 100, long_text, long_text + 105);
        cr_assert_str_eq(y, want);
        json_t *back = NULL;
        cr_assert_eq(kstatus_yaml_parse(y, strlen(y), NULL, &back, NULL), 0);
        cr_assert(json_equal(back, v));
        json_decref(back);
        free(want);
        free(y);
        json_decref(v);
}

/* go-yaml's key order: digit runs by value, other characters before
 * letters; and the same output whatever order the keys were added in, even
 * for keys where that order is not transitive (kubectl's varies there). */
Test(yaml, dump_key_order) {
        json_t *v = J("{\"a10\":1,\"a9\":2,\"a\":3,\"_x\":4,\"B\":5,\"item-2\":6,\"item-10\":7,\"\\u00e9\":8,\"~\":9}");
        char *y = yaml_dump(v);
        cr_assert_str_eq(y, "_x: 4\n\"~\": 9\nB: 5\na: 3\na9: 2\na10: 1\nitem-2: 6\nitem-10: 7\n\xc3\xa9: 8\n");
        free(y);
        json_decref(v);

        static const char *const keys[] = { "a10", "a1b", "a01", "a9", "a001", "a2x" };
        char *first = NULL;
        for (size_t rot = 0; rot < ELEMENTSOF(keys); rot++) {
                v = json_object();
                for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                        json_object_set_new(v, keys[(i + rot) % ELEMENTSOF(keys)], json_integer((json_int_t)i));
                json_t *rev = json_object();
                for (size_t i = ELEMENTSOF(keys); i > 0; i--)
                        json_object_set(rev, keys[(i - 1 + rot) % ELEMENTSOF(keys)],
                                        json_object_get(v, keys[(i - 1 + rot) % ELEMENTSOF(keys)]));
                char *a = yaml_dump(v), *b = yaml_dump(rev);
                cr_assert_str_eq(a, b);
                if (!first)
                        first = xstrdup(a);
                /* The values differ per rotation; compare the key order only. */
                char *ka = a, *kf = first;
                for (; *ka && *kf; ka = strchr(ka, '\n') + 1, kf = strchr(kf, '\n') + 1)
                        cr_assert_eq(strcspn(ka, ":"), strcspn(kf, ":"));
                free(a);
                free(b);
                json_decref(rev);
                json_decref(v);
        }
        free(first);
}

/* Floats print as kubectl prints them (as corpus case 0091): through its
 * JSON text, so a float with integer digits stays an integer, and in
 * go-yaml's %g form otherwise. */
Test(yaml, dump_floats_like_kubectl) {
        json_t *v = json_pack("{s:f,s:f,s:f,s:f,s:f,s:f}", "a", 9223372036854775808.0, "b", 3.0, "c", 1e20, "d",
                              1e21, "e", 0.1, "f", -2.5e-7);
        char *y = yaml_dump(v);
        cr_assert_str_eq(y, "a: 9223372036854776000\nb: 3\nc: 1e+20\nd: 1e+21\ne: 0.1\nf: -2.5e-07\n");
        free(y);
        y = kstatus_json_dump(v, true);
        cr_assert_str_eq(y, "{\"a\":9223372036854776000,\"b\":3,\"c\":100000000000000000000,\"d\":1e+21,\"e\":0.1,"
                            "\"f\":-2.5e-7}\n");
        free(y);
        json_decref(v);
}

Test(yaml, json_dump_like_kubectl) {
        json_t *v = J("{\"b\":[1,2],\"a\":{\"x\":0.1,\"y\":1e21,\"z\":1e-7,\"w\":\"<&>\"},\"c\":{},\"d\":[],\"e\":1.5}");
        char *s = kstatus_json_dump(v, false);
        cr_assert_str_eq(s, "{\n    \"a\": {\n        \"w\": \"\\u003c\\u0026\\u003e\",\n        \"x\": 0.1,\n"
                            "        \"y\": 1e+21,\n        \"z\": 1e-7\n    },\n    \"b\": [\n        1,\n        2\n"
                            "    ],\n    \"c\": {},\n    \"d\": [],\n    \"e\": 1.5\n}\n");
        free(s);
        s = kstatus_json_dump(v, true);
        cr_assert_str_eq(s, "{\"a\":{\"w\":\"\\u003c\\u0026\\u003e\",\"x\":0.1,\"y\":1e+21,\"z\":1e-7},\"b\":[1,2],"
                            "\"c\":{},\"d\":[],\"e\":1.5}\n");
        free(s);
        json_decref(v);
}

/* An alias nests its anchor's whole value where it stands: the depth limit
 * counts that too, or a shallow text could build a value too deep for the
 * recursive code after the parser. */
Test(yaml, depth_limit_holds_through_aliases) {
        struct kstatus_limits lim = KSTATUS_LIMITS_DEFAULT;
        lim.max_depth = 4;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        json_t *v = NULL;
        const char *ok = "a: &a {b: {c: 1}}\nx: {y: *a}\n"; /* x.y.b.c: 4 levels */
        cr_assert_eq(kstatus_yaml_parse(ok, strlen(ok), &lim, &v, &err), 0, "%s", err.message);
        json_decref(v);
        const char *deep = "a: &a {b: {c: 1}}\nx: {y: {z: *a}}\n";
        cr_assert_eq(kstatus_yaml_parse(deep, strlen(deep), &lim, &v, &err), -E2BIG);
        cr_assert(strstr(err.message, "(limit max-depth)"), "%s", err.message);
        cr_assert_eq(err.line, 2);
        cr_assert_eq(err.column, 12);
}

/* Aliases are copies: changing one place of the result changes no other. */
Test(yaml, aliases_do_not_share_values) {
        json_t *v = NULL;
        cr_assert_eq(parse("a: &a {k: [1, 2]}\nb: *a\nc:\n  <<: *a\n", &v, NULL), 0);
        json_t *a = json_object_get(v, "a"), *b = json_object_get(v, "b"), *c = json_object_get(v, "c");
        cr_assert(json_equal(a, b));
        cr_assert_neq(a, b);
        cr_assert_neq(json_object_get(a, "k"), json_object_get(c, "k"));
        json_array_append_new(json_object_get(b, "k"), json_integer(3));
        json_object_set_new(c, "new", json_true());
        assert_json_eq(v, "{\"a\":{\"k\":[1,2]},\"b\":{\"k\":[1,2,3]},\"c\":{\"k\":[1,2],\"new\":true}}");
        json_decref(v);

        /* And in a stream, within each document. */
        const char *stream = "a: &a [1]\nb: *a\n---\nc: &c {x: 1}\nd: [*c, *c]\n";
        cr_assert_eq(kstatus_yaml_parse_stream(stream, strlen(stream), NULL, &v, NULL), 0);
        json_array_append_new(json_object_get(json_array_get(v, 0), "b"), json_integer(2));
        json_object_set_new(json_array_get(json_object_get(json_array_get(v, 1), "d"), 0), "y", json_null());
        assert_json_eq(v, "[{\"a\":[1],\"b\":[1,2]},{\"c\":{\"x\":1},\"d\":[{\"x\":1,\"y\":null},{\"x\":1}]}]");
        json_decref(v);
}

static double ms_since(const struct timespec *t0) {
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Many anchors and aliases: looked up by hash, not by a scan per alias. */
Test(yaml, many_anchors_parse_in_linear_time) {
        size_t n = 20000, len = 0;
        char *buf = xmalloc(n * 48 + 64);
        for (size_t i = 0; i < n; i++)
                len += (size_t)sprintf(buf + len, "a%zu: &x%zu v%zu\n", i, i, i);
        for (size_t i = 0; i < n; i++)
                len += (size_t)sprintf(buf + len, "b%zu: *x%zu\n", i, n - 1 - i);
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        json_t *v = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kstatus_yaml_parse(buf, len, NULL, &v, &err), 0, "%s", err.message);
        double ms = ms_since(&t0);
        cr_log_info("%zu anchors and %zu aliases (%zu bytes) parsed in %.1f ms", n, n, len, ms);
        cr_assert_str_eq(json_string_value(json_object_get(v, "b0")), "v19999");
        cr_assert_lt(ms, getenv("KSTATUS_VALGRIND") ? 20000.0 : 1000.0, "took %.1f ms", ms);
        json_decref(v);
        free(buf);
}

Test(yaml, explicit_tags_must_agree) {
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        json_t *v = NULL;
        cr_assert_eq(parse("a: !!int 3.5\n", &v, &err), -EINVAL);
        cr_assert_str_eq(err.message, "cannot decode !!float `3.5` as a !!int");
        cr_assert_eq(err.line, 1);
        cr_assert_eq(err.column, 4);
        cr_assert_eq(parse("a: !!int \"3\"\nb: !!str 3\nc: !foo 4\n", &v, &err), 0, "%s", err.message);
        assert_json_eq(v, "{\"a\":3,\"b\":\"3\",\"c\":\"4\"}");
        json_decref(v);
}

/* A status file of exactly the size limit is accepted with the default
 * limits, quickly; one byte more is refused, naming the limit. */
Test(yaml, one_mebibyte_at_the_default_limits) {
        size_t size = 1u << 20;
        char *buf = xmalloc(size + 2);
        size_t len = (size_t)sprintf(buf, "message: |\n");
        while (len < size) {
                size_t line = size - len < 80 ? size - len : 80;
                memcpy(buf + len, "  ", 2);
                memset(buf + len + 2, 'a' + (char)(len % 26), line - 3 < 80 ? line - 3 : 0);
                buf[len + line - 1] = '\n';
                len += line;
        }
        cr_assert_eq(len, size);
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        json_t *v = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kstatus_yaml_parse(buf, len, NULL, &v, &err), 0, "%s", err.message);
        cr_log_info("a 1 MiB status.yaml parsed in %.1f ms", ms_since(&t0));
        cr_assert_gt(json_string_length(json_object_get(v, "message")), size * 9 / 10);
        json_decref(v);
        buf[len++] = '\n';
        cr_assert_eq(kstatus_yaml_parse(buf, len, NULL, &v, &err), -E2BIG);
        cr_assert(strstr(err.message, "max-file-size"), "%s", err.message);
        free(buf);
}

/* The emitter's refusal is reported, not dropped: a string that is not
 * UTF-8 (jansson's *_nocheck setters let one in) anywhere in the value, as
 * a value or as a key, gives -EINVAL, the emitter's reason, and no text. */
Test(yaml, dump_reports_the_emitters_error) {
        json_t *values[] = {
                json_pack("{s:o}", "a", json_stringn_nocheck("ok \xff", 4)),
                json_pack("{s:[i,{s:o}]}", "a", 1, "b", json_string_nocheck("\xc3(")),
                json_object(),
        };
        json_object_set_new_nocheck(values[2], "\xe2\x82", json_integer(1));
        for (size_t i = 0; i < ELEMENTSOF(values); i++) {
                char *text = (char *)"untouched";
                _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
                cr_assert_eq(kstatus_yaml_dump(values[i], &text, &err), -EINVAL, "value %zu", i);
                cr_assert_str_eq(text, "untouched", "value %zu", i);
                cr_assert_str_eq(err.message, "cannot print YAML: invalid UTF-8 in a string", "value %zu", i);
                json_decref(values[i]);
        }
}

/* A merge key flattens: a chain of 65 "<<" (each map merging the one before)
 * is one level deep, and kubectl parses it. The merged map's own level is not
 * counted in the result's height; its children's are. */
Test(yaml, merge_chains_count_the_flat_result) {
        char *text = xstrdup("a0: &a0 {k0: 0}\n");
        for (int i = 1; i <= 65; i++) {
                char *next = xasprintf("%sa%d: &a%d {<<: *a%d, k%d: %d}\n", text, i, i, i - 1, i, i);
                free(text);
                text = next;
        }
        json_t *v = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        struct kstatus_limits lim = KSTATUS_LIMITS_DEFAULT;
        cr_assert_eq(kstatus_yaml_parse(text, strlen(text), &lim, &v, &err), 0, "%s", err.message);
        json_t *last = json_object_get(v, "a65");
        cr_assert_eq(json_object_size(last), 66);
        cr_assert_eq(json_integer_value(json_object_get(last, "k0")), 0);
        json_decref(v);
        free(text);
        /* What a merge brings still counts: x.y.b.c is 4 levels. */
        lim.max_depth = 3;
        const char *deep = "a: &a {b: {c: 1}}\nx: {y: {<<: *a}}\n";
        cr_assert_eq(kstatus_yaml_parse(deep, strlen(deep), &lim, &v, &err), -E2BIG);
        const char *seq = "a: &a {b: {c: 1}}\nx: {y: {<<: [*a, {d: 2}]}}\n";
        cr_assert_eq(kstatus_yaml_parse(seq, strlen(seq), &lim, &v, &err), -E2BIG);
}
