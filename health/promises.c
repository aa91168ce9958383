/* promises.c - the Promise cache: which resource type a Promise's records
 * name, read from its spec.api (the CRD Kratix installs) once, and again at
 * every resync. A Promise that is missing is remembered as missing (so its
 * records are reported once) until a record of it changes. */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "log.h"

static void promise_api_done(struct promise_api *p) {
        free(p->name);
        free(p->why);
        free(p->qualified);
        kube_resource_done(&p->res);
}

void health_promises_clear(struct health *h) {
        for (size_t i = 0; i < h->n_promises; i++)
                promise_api_done(&h->promises[i]);
        free(h->promises);
        h->promises = NULL;
        h->n_promises = 0;
}

/* The version Kratix serves a resource at: the storage version, else the first. */
static const char *crd_version(const json_t *crd) {
        const char *version = NULL;
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(crd, "versions"), i, v) {
                const char *n = json_string_value(json_object_get(v, "name"));
                if (n && (!version || json_is_true(json_object_get(v, "storage"))))
                        version = n;
        }
        return version;
}

/* Fill p from a Promise object: spec.api is the CRD Kratix installs. */
static void promise_api_read(struct promise_api *p, const json_t *promise) {
        json_t *crd = json_object_get(json_object_get(json_object_get(promise, "spec"), "api"), "spec");
        const char *group = json_string_value(json_object_get(crd, "group"));
        json_t *names = json_object_get(crd, "names");
        const char *plural = json_string_value(json_object_get(names, "plural"));
        const char *version = crd_version(crd);
        if (!group || !plural || !version) {
                p->missing = true;
                p->why = xasprintf("promise \"%s\" has no spec.api with a group, names.plural and a version",
                                   p->name);
                return;
        }
        const char *kind = json_string_value(json_object_get(names, "kind"));
        const char *singular = json_string_value(json_object_get(names, "singular"));
        const char *scope = json_string_value(json_object_get(crd, "scope"));
        p->res = (struct kube_resource){
                .group = xstrdup(group), .version = xstrdup(version), .resource = xstrdup(plural),
                .kind = xstrdup(kind ? kind : plural), .singular = xstrdup(singular ? singular : ""),
                .namespaced = !scope || strcmp(scope, "Cluster") != 0,
        };
        p->qualified = kube_resource_qualified(&p->res);
}

static struct promise_api *promise_add(struct health *h, const char *name, const json_t *promise,
                                       const char *why) {
        h->promises = xrealloc(h->promises, (h->n_promises + 1) * sizeof(*h->promises));
        struct promise_api *p = &h->promises[h->n_promises++];
        *p = (struct promise_api){ .name = xstrdup(name) };
        if (promise)
                promise_api_read(p, promise);
        else {
                p->missing = true;
                p->why = xstrdup(why);
        }
        return p;
}

static struct promise_api *promise_find(struct health *h, const char *name) {
        for (size_t i = 0; i < h->n_promises; i++)
                if (strcmp(h->promises[i].name, name) == 0)
                        return &h->promises[i];
        return NULL;
}

struct promise_api *health_promise_get(struct health *h, const char *name) {
        struct promise_api *p = promise_find(h, name);
        if (p)
                return p;
        _cleanup_free_ char *esc = kube_escape(name);
        _cleanup_free_ char *path = xasprintf(PROMISES_PATH "/%s", esc);
        _cleanup_json_ json_t *obj = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int r = kube_client_get(h->client, path, &obj, &err);
        if (r == -ENOENT) {
                _cleanup_free_ char *why = xasprintf("promise \"%s\" not found", name);
                p = promise_add(h, name, NULL, why);
        } else if (r < 0)
                log_warning("promise", "cannot read promise \"%s\": %s", name, err.message);
        else
                p = promise_add(h, name, obj, NULL);
        kstatus_error_done(&err);
        return p;
}

void health_promise_forget_missing(struct health *h, const char *name) {
        struct promise_api *p = promise_find(h, name);
        if (!p || !p->missing)
                return;
        size_t i = (size_t)(p - h->promises);
        promise_api_done(p);
        memmove(p, p + 1, (h->n_promises - i - 1) * sizeof(*p));
        h->n_promises--;
}

/* Was p's resource type known before without a status subresource? */
static bool learnt_main_resource(const struct promise_api *p, const struct promise_api *old, size_t n_old) {
        for (size_t j = 0; j < n_old; j++)
                if (!p->missing && !old[j].missing && strcmp(old[j].name, p->name) == 0 &&
                    strcmp(old[j].qualified, p->qualified) == 0)
                        return old[j].main_resource;
        return false;
}

int health_promises_reload(struct health *h) {
        _cleanup_json_ json_t *promises = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int r = kube_client_list(h->client, PROMISES_PATH, 500, NULL, NULL, &promises, &err);
        if (r < 0) {
                log_warning("list", "cannot list promises: %s", err.message);
                kstatus_error_done(&err);
                return r;
        }
        struct promise_api *old = TAKE_PTR(h->promises);
        size_t n_old = h->n_promises;
        h->n_promises = 0;
        size_t i;
        json_t *pr;
        json_array_foreach(json_object_get(promises, "items"), i, pr) {
                struct promise_api *p = promise_add(h, health_meta(pr, "name"), pr, NULL);
                p->main_resource = learnt_main_resource(p, old, n_old);
        }
        for (size_t j = 0; j < n_old; j++)
                promise_api_done(&old[j]);
        free(old);
        return 0;
}
