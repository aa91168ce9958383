/* discovery.h - from what a user types to a REST resource, as kubectl
 * resolves it: "database", "databases", "db" (a short name), "Database" (the
 * kind), "databases.example.promise.syntasso.io" (resource.group) and
 * "database.v1.example.promise.syntasso.io" (resource.version.group).
 *
 * Discovery (/api, /api/v1, /apis, /apis/<group>/<version>) is cached on disk,
 * per server, under $KUBECACHEDIR/kstatus/ (default ~/.kube/cache/kstatus/)
 * for ttl (default 6 hours, kubectl's), and fetched again once when a name is
 * not found in the cache (a CRD created since). Where several groups serve a
 * name, the first in discovery order wins (core, then the order of /apis;
 * the preferred version first), as kubectl's priority mapper does; when a short
 * name is claimed by more than one resource the winner comes with kubectl's
 * warning. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "kube/client.h"

struct kube_resource {
        char *group;    /* "" for the core group */
        char *version;
        char *resource; /* plural */
        char *kind;
        char *singular;
        bool namespaced;
};

void kube_resource_done(struct kube_resource *r);

/* The API path of the collection (name NULL), of one object, or of its
 * subresource (may be NULL); namespace is ignored for cluster-scoped resources
 * and NULL means all namespaces. A new string. */
char *kube_resource_path(const struct kube_resource *r, const char *namespace, const char *name,
                         const char *subresource);

/* "databases.example.promise.syntasso.io" (just "pods" for the core group):
 * how kubectl names the resource in messages. A new string. */
char *kube_resource_qualified(const struct kube_resource *r);

struct kube_discovery_options {
        const char *cache_dir; /* NULL: $KUBECACHEDIR, else $HOME/.kube/cache; "" disables the disk cache */
        int64_t ttl_ms;        /* 0: 6 hours */
};

struct kube_discovery;

/* c is borrowed and must outlive the discovery object. opts may be NULL. */
int kube_discovery_new(struct kube_client *c, const struct kube_discovery_options *opts, struct kube_discovery **ret,
                       struct kstatus_error *err);
void kube_discovery_free(struct kube_discovery *d);
static inline void kube_discovery_freep(struct kube_discovery **d) { kube_discovery_free(*d); }

/* Resolve arg. Returns 0 and fills *ret (free with kube_resource_done); when
 * warning is not NULL it gets a new string with kubectl's warning or NULL.
 * -ENOENT with "error: the server doesn't have a resource type \"foo\"" in
 * err, or another negative errno when discovery itself failed. */
int kube_discovery_resolve(struct kube_discovery *d, const char *arg, struct kube_resource *ret, char **warning,
                           struct kstatus_error *err);

/* Resolve from a discovery document without any I/O: resources is the
 * array kstatus caches (objects with group, version, resource, kind,
 * singular, namespaced, shortNames, in priority order). For tests and for
 * callers that have a document already. */
int kube_discovery_resolve_in(const json_t *resources, const char *arg, struct kube_resource *ret, char **warning);

/* The resource for an apiVersion ("group/version" or "v1") and kind (as in
 * an object.yaml). Same errors as kube_discovery_resolve. */
int kube_discovery_resolve_kind(struct kube_discovery *d, const char *api_version, const char *kind,
                                struct kube_resource *ret, struct kstatus_error *err);

/* Every resource discovery knows, in priority order (one entry per group,
 * version and resource, in kube_discovery_resolve_in's shape), from the cache
 * when warm: borrowed, valid until d is freed. For completion. */
int kube_discovery_resources(struct kube_discovery *d, const json_t **ret, struct kstatus_error *err);

/* Requests made for discovery so far (0 on a warm cache). */
unsigned kube_discovery_requests(const struct kube_discovery *d);
