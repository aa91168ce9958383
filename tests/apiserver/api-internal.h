/* api-internal.h - what the API's handler files share (api.c routes, reply.c,
 * crd.c, discovery.c, list.c, object.c, control.c, preload.c). Not used
 * outside tests/apiserver/'s API layer; main.c sees only api.h.
 *
 * "Locked" below means: called with store_lock held. Replies: each handler
 * fills a struct reply (a complete body or a stream) and never fails. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "api.h"
#include "server.h"

struct MHD_Connection;

/* ---- replies (reply.c) ---- */

/* Reply with value (stolen) as JSON. */
void reply_json(struct reply *out, int code, json_t *value);
/* A metav1.Status failure; details stolen (may be NULL); reason NULL: the
 * usual one for code. New reference. */
json_t *status_new(int code, const char *reason, json_t *details, const char *fmt, ...) _printf_(4, 5);
#define reply_status(out, code, reason, details, ...) \
        reply_json((out), (code), status_new((code), (reason), (details), __VA_ARGS__))
/* Status details naming an object of t (new reference). */
json_t *details_for(const struct rtype *t, const char *name);
void reply_not_found(struct reply *out, const struct rtype *t, const char *name);
void reply_no_resource(struct reply *out);
void reply_conflict(struct reply *out, const struct rtype *t, const char *name);
/* 422 Invalid with one cause. */
void reply_invalid(struct reply *out, const struct rtype *t, const char *name, const char *field,
                   const char *cause_reason, const char *detail);
/* 422 Invalid with the causes a schema validation found (stolen). */
void reply_invalid_causes(struct reply *out, const struct rtype *t, const char *name, json_t *causes);

/* ---- request and object helpers (reply.c) ---- */

/* A query parameter or header of the request (borrowed, NULL when absent). */
const char *query(struct MHD_Connection *c, const char *key);
const char *header(struct MHD_Connection *c, const char *key);
bool query_true(struct MHD_Connection *c, const char *key);
json_t *meta_of(const json_t *obj);
const char *meta_str(const json_t *obj, const char *key);
/* "ns/name" or "name": the key objects are stored under (new string). */
char *object_key(const struct rtype *t, const char *ns, const char *name);
bool wants_table(struct MHD_Connection *c);
bool is_rfc1123_label(const char *s, size_t n);
bool is_rfc1123_subdomain(const char *s);
extern const char label_msg[];
/* Validate metadata.name for t; on failure fills out and returns false. */
bool validate_name(struct reply *out, const struct rtype *t, const char *name);
/* Parse a request body as a JSON object; on failure fills out. New reference. */
json_t *parse_body(struct reply *out, const char *body, size_t len);
/* Check apiVersion/kind of a body against t (filling them in when absent). */
bool check_kind(struct reply *out, const struct rtype *t, json_t *obj);
/* Locked. */
bool namespace_exists(const char *ns);
/* Store obj (stolen) under key, emit an event; locked. */
void store_put(struct rtype *t, const char *key, json_t *obj, const char *event);
void set_rv(json_t *obj, uint64_t rv);

/* ---- CRDs and deletion (crd.c) ---- */

/* 0, or -EINVAL with the field and a detail (new string) for a 422. */
int crd_check(const json_t *crd, const char **ret_field, char **ret_detail);
/* The status the server gives a CRD (new reference). */
json_t *crd_status(const json_t *crd, const json_t *old_status);
/* Make the CRD's versions servable (locked). */
void crd_register(const json_t *crd);
bool is_crd_type(const struct rtype *t);
bool is_core(const struct rtype *t, const char *plural);
/* Delete key now: a new rv, the DELETED event carries it. Returns the
 * object as deleted (new reference). Locked. */
json_t *store_remove(struct rtype *t, const char *key);

/* ---- discovery (discovery.c), all locked ---- */

/* APIResourceList, APIGroup, APIGroupList (new references; NULL: none). */
json_t *resource_list(const char *group, const char *version);
json_t *api_group(const char *group);
json_t *api_groups(void);
/* /openapi/v3 (rest "") and /openapi/v3/REST; takes the lock itself. */
void do_openapi_v3(const char *rest, struct reply *out);

/* ---- lists and watches (list.c) ---- */

struct list_opts {
        struct selector *labels, *fields;
        const char *ns; /* NULL: all namespaces */
        bool table;
        const char *include_object;
};

bool object_matches(const struct list_opts *o, const struct rtype *t, const json_t *obj);
/* A meta.k8s.io Table of rows (stolen). New reference. */
json_t *table_new(const struct rtype *t, json_t *rows, uint64_t rv, bool columns, const char *cont);
void do_list(struct MHD_Connection *c, struct rtype *t, struct list_opts *o, struct reply *out);
/* Takes o's selectors (moved: o->labels and o->fields are NULL after). */
void do_watch(struct MHD_Connection *c, struct rtype *t, struct list_opts *o, struct reply *out);
/* Has the client of a streaming answer gone away? (A closed socket reads as EOF.) */
bool connection_gone(struct MHD_Connection *conn);
bool ts_before(const struct timespec *a, const struct timespec *b);
void ts_add_ms(struct timespec *ts, int64_t ms);

/* ---- one object (object.c); c may be NULL (start-up objects) ---- */

void do_get(struct rtype *t, const char *ns, const char *name, const struct list_opts *o, struct reply *out);
void do_create(struct MHD_Connection *c, struct rtype *t, const char *ns, const char *body, size_t len,
               struct reply *out);
void do_update(struct MHD_Connection *c, struct rtype *t, const char *ns, const char *name, const char *sub,
               const char *body, size_t len, struct reply *out);
void do_patch(struct MHD_Connection *c, struct rtype *t, const char *ns, const char *name, const char *sub,
              const char *body, size_t len, struct reply *out);
void do_delete(struct MHD_Connection *c, struct rtype *t, const char *ns, const char *name, struct reply *out);
void do_delete_collection(struct MHD_Connection *c, struct rtype *t, struct list_opts *o, struct reply *out);

/* ---- the control API (control.c) ---- */

/* /_kstatus/WHAT: faults, counters, outage, logs. */
void do_control(const char *method, const char *what, const char *body, size_t len, struct reply *out);

/* ---- pods/log (logs.c) ---- */

/* GET .../namespaces/NS/pods/NAME/log, as kube-apiserver and the kubelet answer it. */
void logs_get(struct MHD_Connection *c, const char *ns, const char *name, struct reply *out);
/* POST /_kstatus/logs: feed, restart or close a container's log. */
void logs_control(const char *method, const char *body, size_t len, struct reply *out);
/* The Pod with this uid is gone: so are its logs (locked). */
void logs_forget_pod(const char *uid);
