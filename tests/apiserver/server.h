/* server.h - kstatus-test-apiserver internals: the in-memory store, the
 * HTTP layer, Tables, patches and fault injection.
 *
 * Threading: libmicrohttpd runs one thread per connection. All store state
 * (types, objects, the event history) sits behind one mutex, store_lock;
 * stored objects are immutable once published (a write stores a new object),
 * so a reader may keep a reference (json_incref under the lock) and serialize
 * it after unlocking. Watchers sleep on store_cond, broadcast on every event. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include <jansson.h>

#include "util.h"

/* ---- resource types ---- */

enum table_kind {
        TABLE_DEFAULT, /* Name, Age (or the CRD's printer columns) */
        TABLE_POD,
        TABLE_NAMESPACE,
        TABLE_CONFIGMAP,
        TABLE_SECRET,
        TABLE_EVENT,
        TABLE_SERVICEACCOUNT,
        TABLE_ROLEBINDING,
        TABLE_CREATED_AT, /* Name, Created At (CRDs, Roles) */
};

struct rtype {
        char *group; /* "" for the core group */
        char *version;
        char *plural;
        char *singular;
        char *kind;
        char *list_kind;
        bool namespaced;
        bool status_sub;   /* /status subresource enabled */
        bool has_generation;
        bool strategic;    /* built-in kind: strategic merge patch accepted */
        bool unconditional_update; /* PUT without resourceVersion allowed */
        bool served;       /* false once its CRD is gone */
        char *crd_name;    /* owning CRD, or NULL for built-ins */
        json_t *short_names; /* array, owned */
        json_t *categories;  /* array, owned */
        json_t *columns;     /* CRD additionalPrinterColumns (owned) or NULL */
        json_t *schema;      /* CRD version's openAPIV3Schema (owned) or NULL: pruned and validated */
        enum table_kind table;

        json_t *objects;   /* key ("ns/name" or "name") -> object, owned */
        const char **sorted; /* keys in order, valid while sorted_valid */
        size_t n_sorted;
        bool sorted_valid;

        struct rtype *next;
};

extern pthread_mutex_t store_lock;
extern pthread_cond_t store_cond;
extern struct rtype *store_types;
extern uint64_t store_rv;
extern volatile bool server_stopping;

void store_init(size_t history);
void store_free(void);

/* Look up a served type (locked by caller). */
struct rtype *store_find_type(const char *group, const char *version, const char *plural);
/* "group/version" or "v1" for the core group; new string. */
char *rtype_api_version(const struct rtype *t);
/* "plural.group" or "plural"; new string (what errors call the resource). */
char *rtype_resource_name(const struct rtype *t);

/* ---- watch history ---- */

struct event {
        uint64_t rv;
        const char *type; /* "ADDED", "MODIFIED", "DELETED" (static) */
        struct rtype *rt;
        json_t *object;   /* owned reference */
        json_t *old;      /* owned reference to the previous version, or NULL */
};

/* Record an event (locked by caller); object and old (the version it
 * replaces, may be NULL) are borrowed (references are taken). */
void store_emit(struct rtype *t, const char *type, json_t *object, json_t *old);
/* Oldest resourceVersion a watch may resume from, 0 when any is fine. */
uint64_t store_oldest_resumable(void);
/* Events with rv > since, in order: calls fn for each (locked by caller).
 * Returns the rv of the last event visited. */
uint64_t store_events_since(uint64_t since, void (*fn)(const struct event *ev, void *userdata), void *userdata);

/* ---- selectors ---- */

struct selector;
/* Parse a label selector; NULL spec is "everything". 0 or -EINVAL with err. */
int label_selector_parse(const char *spec, struct selector **ret, struct kstatus_error *err);
bool label_selector_match(const struct selector *s, const json_t *obj);
/* Parse a field selector for type t; unsupported fields are an error. */
int field_selector_parse(const struct rtype *t, const char *spec, struct selector **ret,
                         struct kstatus_error *err);
bool field_selector_match(const struct selector *s, const json_t *obj);
void selector_free(struct selector *s);
/* The value of metadata.name in a field selector "metadata.name=x", or NULL (borrowed). */
const char *field_selector_name(const struct selector *s);

/* ---- objects ---- */

/* Borrowed objects of type t, sorted by key (locked by caller). */
const char **rtype_sorted_keys(struct rtype *t, size_t *ret_n);

/* ---- tables and JSONPath ---- */

/* Evaluate the JSONPath subset CRD printer columns use (.a.b, [n],
 * [?(@.k=="v")], ['k']) on obj; returns the first match (borrowed) or NULL. */
const json_t *jsonpath_first(const json_t *obj, const char *path);
/* kubectl's HumanDuration for the time since an RFC 3339 timestamp. */
char *age_since(const char *timestamp, time_t now);
/* Column definitions for type t (new reference). */
json_t *table_columns(const struct rtype *t);
/* One Table row for obj (new reference); include_object: "None", "Metadata", "Object". */
json_t *table_row(const struct rtype *t, json_t *obj, const char *include_object, time_t now);

/* ---- patches ---- */

/* RFC 6902 JSON patch; returns 0 and a new reference in *ret, or a negative
 * errno with err: -EBADMSG the patch is malformed (400), -EINVAL it does not
 * apply (422). */
int json_patch_apply(const json_t *doc, const json_t *patch, json_t **ret, struct kstatus_error *err);
/* Strategic merge patch, simplified: merge patch, where lists of objects
 * merge by their key (name, type, containerPort, mountPath) and $-directives
 * are honoured only for $patch: delete/replace. Returns a new reference. */
json_t *strategic_merge_patch(const json_t *target, const json_t *patch);

/* JSON merge patch as kube-apiserver applies it (evanphx/json-patch v4
 * MergePatch, mergepatch.c); independent of libkstatus. New reference. */
json_t *apiserver_merge_patch(const json_t *doc, const json_t *patch);

/* ---- protobuf ---- */

/* Decode a "k8s\0"-prefixed protobuf body of the kinds kubectl's create
 * generators send into JSON (new reference in *ret). 0, -EBADMSG or -ENOTSUP. */
int proto_decode_object(const char *body, size_t len, json_t **ret, struct kstatus_error *err);

/* ---- faults and counters ---- */

struct fault_action {
        int code;        /* 0: none */
        int retry_after; /* seconds, 0: no header */
        int latency_ms;
        bool drop;       /* close the connection half-way through the response */
};

/* Add rules from a JSON object or array; 0 or -EINVAL with err. */
int faults_add(const json_t *spec, struct kstatus_error *err);
void faults_clear(void);
/* The rules still armed (new reference). */
json_t *faults_list(void);
/* What to do with a request; counts it first. */
void faults_check(const char *method, const char *path, struct fault_action *ret);
void counters_count(const char *method, const char *path);
json_t *counters_get(void); /* new reference */
void counters_reset(void);
/* The headers of each API request (entry stolen: see main.c); the
 * record as {"requests": [...]} (new reference); forget them. */
void headers_record(json_t *entry);
json_t *headers_get(void);
void headers_reset(void);
void outage_start(int64_t ms);
bool outage_active(void);
void faults_free(void);

/* ---- misc ---- */

char *now_rfc3339(void);
char *uuid_new(void);
