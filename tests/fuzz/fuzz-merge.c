/* libFuzzer target: the final-state plan. Input: four NUL-separated YAML
 * documents (start, pushed, server, file). Checks, when nothing was pushed
 * before, the invariant of docs/BEHAVIOUR.md §3: after the patch every key K
 * the file names equals merge(restore(server[K], start[K]), file[K]) (deep;
 * shallow: file[K]), with restore written here, not taken from the code under
 * test; and, for any input, that planning again from there sends nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merge.h"
#include "status.h"
#include "yaml-json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *doc(const char **p, const char *end) {
        const char *nul = memchr(*p, '\0', (size_t)(end - *p));
        size_t n = nul ? (size_t)(nul - *p) : (size_t)(end - *p);
        struct kstatus_limits lim = KSTATUS_LIMITS_DEFAULT;
        lim.max_nodes = 2000;
        json_t *v = NULL;
        if (kstatus_document_parse(*p, n, &lim, &v, NULL) < 0)
                v = NULL;
        *p += n + (nul ? 1 : 0);
        return v;
}

/* restore(c, s): c with every map path of s that c lacks put back (a c that
 * is no map lacks them all); where s holds a non-map value, c's. New
 * reference (NULL when both are NULL). */
static json_t *restore(const json_t *c, const json_t *s) {
        if (!c || json_is_null(c))
                return s ? json_deep_copy(s) : NULL;
        if (!json_is_object(s))
                return json_deep_copy(c);
        if (!json_is_object(c))
                return json_deep_copy(s);
        json_t *r = json_deep_copy(c);
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)s, k, v) {
                json_object_set_new(r, k, restore(json_object_get(c, k), v));
        }
        return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *p = (const char *)data, *end = p + size;
        json_t *start = doc(&p, end), *pushed = doc(&p, end), *server = doc(&p, end), *file = doc(&p, end);
        if (!start || !pushed || !server || !file || kstatus_status_validate(file, NULL) < 0)
                goto out;
        json_object_del(pushed, "conditions");
        for (int mode = 0; mode < 2; mode++) {
                struct kstatus_plan plan = { .start = start, .pushed = pushed, .server = server, .file = file,
                                             .mode = mode ? KSTATUS_MERGE_SHALLOW : KSTATUS_MERGE_DEEP,
                                             .now = "2030-01-01T00:00:00Z" };
                json_t *patch = NULL, *owned = NULL;
                if (kstatus_plan_patch(&plan, &patch, &owned, NULL) < 0)
                        abort();
                json_t *after = patch ? kstatus_merge_patch(server, patch) : json_incref(server);
                const char *k;
                json_t *v;
                json_object_foreach(file, k, v) {
                        if (strcmp(k, "conditions") == 0 || json_object_size(pushed) > 0)
                                continue;
                        json_t *base = restore(json_object_get(server, k), json_object_get(start, k));
                        json_t *merged = mode ? json_incref(v) : kstatus_merge_patch(base, v);
                        json_decref(base);
                        json_t *want = merged && !json_is_null(merged) ? kstatus_merge_strip_nulls(merged) : NULL;
                        json_decref(merged);
                        json_t *got = json_object_get(after, k);
                        if (!((!want && !got) || (want && got && json_equal(want, got))))
                                abort();
                        json_decref(want);
                }
                plan.pushed = owned;
                plan.server = after;
                json_t *again = NULL, *owned2 = NULL;
                if (kstatus_plan_patch(&plan, &again, &owned2, NULL) < 0 || again)
                        abort();
                json_decref(owned2);
                json_decref(after);
                json_decref(patch);
                json_decref(owned);
        }
out:
        json_decref(start);
        json_decref(pushed);
        json_decref(server);
        json_decref(file);
        return 0;
}
