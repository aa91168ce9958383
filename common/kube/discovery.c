#include "kube/discovery.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kube/internal.h"
#include "status.h"

#define DEFAULT_TTL_MS (6 * 3600 * 1000LL)

struct kube_discovery {
        struct kube_client *c;
        char *cache_file; /* NULL: no disk cache */
        int64_t ttl_ms;
        json_t *resources; /* priority order */
        bool fresh;        /* fetched from the server by this object */
        unsigned requests;
};

void kube_resource_done(struct kube_resource *r) {
        if (!r)
                return;
        free(r->group);
        free(r->version);
        free(r->resource);
        free(r->kind);
        free(r->singular);
        *r = (struct kube_resource){ 0 };
}

char *kube_resource_path(const struct kube_resource *r, const char *namespace, const char *name,
                         const char *subresource) {
        _cleanup_free_ char *prefix = r->group && *r->group ? xasprintf("/apis/%s/%s", r->group, r->version)
                                                            : xasprintf("/api/%s", r->version);
        _cleanup_free_ char *ns = r->namespaced && namespace ? kube_escape(namespace) : NULL;
        _cleanup_free_ char *n = name ? kube_escape(name) : NULL;
        return xasprintf("%s%s%s/%s%s%s%s%s", prefix, ns ? "/namespaces/" : "", ns ? ns : "", r->resource,
                         n ? "/" : "", n ? n : "", subresource ? "/" : "", subresource ? subresource : "");
}

char *kube_resource_qualified(const struct kube_resource *r) {
        if (!r->group || !*r->group)
                return xstrdup(r->resource);
        return xasprintf("%s.%s", r->resource, r->group);
}

static const char *sv(const json_t *o, const char *key) {
        const char *v = json_string_value(json_object_get(o, key));
        return v ? v : "";
}

static void fill(const json_t *e, struct kube_resource *ret) {
        *ret = (struct kube_resource){
                .group = xstrdup(sv(e, "group")),
                .version = xstrdup(sv(e, "version")),
                .resource = xstrdup(sv(e, "resource")),
                .kind = xstrdup(sv(e, "kind")),
                .singular = xstrdup(sv(e, "singular")),
                .namespaced = json_is_true(json_object_get(e, "namespaced")),
        };
}

static bool has_short_name(const json_t *e, const char *name) {
        size_t i;
        json_t *s;
        json_array_foreach(json_object_get(e, "shortNames"), i, s) {
                if (json_is_string(s) && strcmp(json_string_value(s), name) == 0)
                        return true;
        }
        return false;
}

/* kubectl's shortcut expander, then its priority mapper: the first entry in
 * discovery order whose plural or singular is res, within group and version
 * when given. */
static const json_t *match(const json_t *resources, const char *res, const char *group, const char *version,
                           char **warning) {
        size_t i;
        json_t *e;
        const json_t *short_hit = NULL;
        json_array_foreach(resources, i, e) {
                if (group && strcmp(sv(e, "group"), group) != 0)
                        continue;
                if (!has_short_name(e, res))
                        continue;
                if (!short_hit)
                        short_hit = e;
                else if (warning && !*warning && (strcmp(sv(e, "group"), sv(short_hit, "group")) != 0 ||
                                                  strcmp(sv(e, "resource"), sv(short_hit, "resource")) != 0)) {
                        const char *g = sv(e, "group");
                        *warning = xasprintf("short name \"%s\" could also match lower priority resource %s%s%s", res,
                                             sv(e, "resource"), *g ? "." : "", g);
                }
        }
        if (short_hit) {
                res = sv(short_hit, "resource");
                group = sv(short_hit, "group");
        }
        json_array_foreach(resources, i, e) {
                if (group && strcmp(sv(e, "group"), group) != 0)
                        continue;
                if (version && strcmp(sv(e, "version"), version) != 0)
                        continue;
                if (strcmp(sv(e, "resource"), res) == 0 || strcmp(sv(e, "singular"), res) == 0)
                        return e;
        }
        return NULL;
}

int kube_discovery_resolve_in(const json_t *resources, const char *arg, struct kube_resource *ret, char **warning) {
        _cleanup_free_ char *lower = xstrdup(arg);
        for (char *p = lower; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        if (warning)
                *warning = NULL;
        const json_t *e = NULL;
        /* resource.version.group first, then resource.group (schema.ParseResourceArg). */
        char *d1 = strchr(lower, '.');
        char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
        if (d2) {
                _cleanup_free_ char *res = xstrndup(lower, (size_t)(d1 - lower));
                _cleanup_free_ char *ver = xstrndup(d1 + 1, (size_t)(d2 - d1 - 1));
                e = match(resources, res, d2 + 1, ver, warning);
        }
        if (!e && d1) {
                _cleanup_free_ char *res = xstrndup(lower, (size_t)(d1 - lower));
                e = match(resources, res, d1 + 1, NULL, warning);
        }
        if (!e && !d1)
                e = match(resources, lower, NULL, NULL, warning);
        if (!e) {
                if (warning) {
                        free(*warning);
                        *warning = NULL;
                }
                return -ENOENT;
        }
        fill(e, ret);
        return 0;
}

/* ---- fetching and caching ---- */

void kube_discovery_add_resources(json_t *into, const char *group, const char *version, const json_t *list) {
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(list, "resources"), i, r) {
                const char *name = json_string_value(json_object_get(r, "name"));
                if (!name || strchr(name, '/'))
                        continue; /* a subresource */
                const char *kind = sv(r, "kind");
                const char *singular = sv(r, "singularName");
                _cleanup_free_ char *lk = xstrdup(kind);
                for (char *p = lk; *p; p++)
                        *p = (char)tolower((unsigned char)*p);
                json_t *sn = json_object_get(r, "shortNames");
                json_t *short_names = json_is_array(sn) ? json_incref(sn) : json_array();
                json_array_append_new(into, json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:o}", "group", group, "version",
                                                      version, "resource", name, "kind", kind, "singular",
                                                      *singular ? singular : lk, "namespaced",
                                                      json_is_true(json_object_get(r, "namespaced")), "shortNames",
                                                      short_names));
        }
}

static int get(struct kube_discovery *d, const char *path, json_t **ret, struct kstatus_error *err) {
        d->requests++;
        return kube_client_get(d->c, path, ret, err);
}

static int fetch(struct kube_discovery *d, json_t **ret, struct kstatus_error *err) {
        _cleanup_json_ json_t *first = json_array(), *later = json_array();
        _cleanup_json_ json_t *api = NULL, *apis = NULL;
        int r = get(d, "/api", &api, err);
        if (r < 0)
                return r;
        size_t i, j;
        json_t *v, *g;
        json_array_foreach(json_object_get(api, "versions"), i, v) {
                if (!json_is_string(v))
                        continue;
                _cleanup_free_ char *path = xasprintf("/api/%s", json_string_value(v));
                _cleanup_json_ json_t *list = NULL;
                if ((r = get(d, path, &list, err)) < 0)
                        return r;
                kube_discovery_add_resources(i == 0 ? first : later, "", json_string_value(v), list);
        }
        if ((r = get(d, "/apis", &apis, err)) < 0)
                return r;
        json_array_foreach(json_object_get(apis, "groups"), i, g) {
                const char *name = sv(g, "name");
                const char *pref = sv(json_object_get(g, "preferredVersion"), "version");
                json_array_foreach(json_object_get(g, "versions"), j, v) {
                        const char *ver = sv(v, "version");
                        _cleanup_free_ char *path = xasprintf("/apis/%s/%s", name, ver);
                        _cleanup_json_ json_t *list = NULL;
                        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
                        /* A group that fails (an aggregated API that is down)
                         * is left out, as kubectl does with partial discovery. */
                        if (get(d, path, &list, &e) < 0) {
                                if (e.http_code == 0) {
                                        kstatus_error_move(err, &e);
                                        return -EIO;
                                }
                                continue;
                        }
                        kube_discovery_add_resources(strcmp(ver, pref) == 0 ? first : later, name, ver, list);
                }
        }
        json_array_extend(first, later);
        *ret = TAKE_PTR(first);
        return 0;
}

static void save(struct kube_discovery *d) {
        if (!d->cache_file)
                return;
        /* mkdir -p the directory; a cache that cannot be written is no error. */
        _cleanup_free_ char *dir = xstrdup(d->cache_file);
        for (char *p = dir + 1; *p; p++)
                if (*p == '/') {
                        *p = '\0';
                        (void)mkdir(dir, 0750);
                        *p = '/';
                }
        _cleanup_free_ char *tmp = xasprintf("%s.%d.tmp", d->cache_file, (int)getpid());
        _cleanup_json_ json_t *doc = json_pack("{s:s, s:O}", "kind", "kstatusDiscoveryCache", "resources", d->resources);
        if (json_dump_file(doc, tmp, JSON_COMPACT) == 0) {
                if (rename(tmp, d->cache_file) < 0)
                        (void)unlink(tmp);
        } else
                (void)unlink(tmp);
}

static void load_cache(struct kube_discovery *d) {
        struct stat st;
        if (!d->cache_file || stat(d->cache_file, &st) < 0)
                return;
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t age_ms = ((int64_t)now.tv_sec - st.st_mtim.tv_sec) * 1000;
        if (age_ms < 0 || age_ms > d->ttl_ms)
                return;
        _cleanup_free_ char *buf = NULL;
        size_t len;
        if (kstatus_read_file(d->cache_file, false, 32u << 20, &buf, &len, NULL) < 0)
                return;
        d->resources = kube_discovery_parse_cache(buf, len);
}

json_t *kube_discovery_parse_cache(const char *buf, size_t len) {
        _cleanup_json_ json_t *doc = json_loadb(buf, len, 0, NULL);
        json_t *res = json_object_get(doc, "resources");
        return json_is_array(res) ? json_incref(res) : NULL;
}

static char *cache_path(struct kube_client *c, const struct kube_discovery_options *o) {
        const char *dir = o ? o->cache_dir : NULL;
        _cleanup_free_ char *owned = NULL;
        if (dir && !*dir)
                return NULL;
        if (!dir) {
                const char *env = getenv("KUBECACHEDIR");
                const char *home = getenv("HOME");
                if (env && *env)
                        dir = env;
                else if (home && *home)
                        dir = owned = xasprintf("%s/.kube/cache", home);
                else
                        return NULL;
        }
        /* One directory per server, named as kubectl names its own. */
        _cleanup_free_ char *host = xstrdup(c->base);
        for (char *p = host; *p; p++)
                if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
                        *p = '_';
        return xasprintf("%s/kstatus/%s/discovery.json", dir, host);
}

int kube_discovery_new(struct kube_client *c, const struct kube_discovery_options *opts, struct kube_discovery **ret,
                       struct kstatus_error *err) {
        (void)err;
        struct kube_discovery *d = xcalloc(1, sizeof(*d));
        d->c = c;
        d->ttl_ms = opts && opts->ttl_ms > 0 ? opts->ttl_ms : DEFAULT_TTL_MS;
        d->cache_file = cache_path(c, opts);
        *ret = d;
        return 0;
}

void kube_discovery_free(struct kube_discovery *d) {
        if (!d)
                return;
        json_decref(d->resources);
        free(d->cache_file);
        free(d);
}

unsigned kube_discovery_requests(const struct kube_discovery *d) {
        return d->requests;
}

static int refresh(struct kube_discovery *d, struct kstatus_error *err) {
        json_t *res = NULL;
        int r = fetch(d, &res, err);
        if (r < 0)
                return r;
        json_decref(d->resources);
        d->resources = res;
        d->fresh = true;
        save(d);
        return 0;
}

static int ensure(struct kube_discovery *d, struct kstatus_error *err) {
        if (!d->resources)
                load_cache(d);
        if (!d->resources)
                return refresh(d, err);
        return 0;
}

static int not_found(const char *arg, struct kstatus_error *err) {
        _cleanup_free_ char *res = xstrndup(arg, strcspn(arg, "."));
        return kstatus_error_set(err, ENOENT, 0, 0, "error: the server doesn't have a resource type \"%s\"", res);
}

int kube_discovery_resolve(struct kube_discovery *d, const char *arg, struct kube_resource *ret, char **warning,
                           struct kstatus_error *err) {
        int r = ensure(d, err);
        if (r < 0)
                return r;
        r = kube_discovery_resolve_in(d->resources, arg, ret, warning);
        if (r == -ENOENT && !d->fresh) {
                /* Not in the cache: maybe created since. Ask the server once. */
                if ((r = refresh(d, err)) < 0)
                        return r;
                r = kube_discovery_resolve_in(d->resources, arg, ret, warning);
        }
        if (r == -ENOENT)
                return not_found(arg, err);
        return r;
}

static const json_t *find_kind(const json_t *resources, const char *group, const char *version, const char *kind) {
        size_t i;
        json_t *e;
        json_array_foreach(resources, i, e) {
                if (strcmp(sv(e, "group"), group) == 0 && strcmp(sv(e, "version"), version) == 0 &&
                    strcmp(sv(e, "kind"), kind) == 0)
                        return e;
        }
        return NULL;
}

int kube_discovery_resolve_kind(struct kube_discovery *d, const char *api_version, const char *kind,
                                struct kube_resource *ret, struct kstatus_error *err) {
        const char *slash = strchr(api_version, '/');
        _cleanup_free_ char *group = slash ? xstrndup(api_version, (size_t)(slash - api_version)) : xstrdup("");
        const char *version = slash ? slash + 1 : api_version;
        int r = ensure(d, err);
        if (r < 0)
                return r;
        const json_t *e = find_kind(d->resources, group, version, kind);
        if (!e && !d->fresh) {
                if ((r = refresh(d, err)) < 0)
                        return r;
                e = find_kind(d->resources, group, version, kind);
        }
        if (!e)
                return kstatus_error_set(err, ENOENT, 0, 0, "error: no matches for kind \"%s\" in version \"%s\"",
                                         kind, api_version);
        fill(e, ret);
        return 0;
}

int kube_discovery_resources(struct kube_discovery *d, const json_t **ret, struct kstatus_error *err) {
        int r = ensure(d, err);
        if (r < 0)
                return r;
        *ret = d->resources;
        return 0;
}
