/* internal.h - what the health controller's files share: its state and the
 * functions one file calls in another. Not for use outside health/. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "kube/client.h"
#include "kube/discovery.h"
#include "kube/watch.h"
#include "../sidecar/options.h"
#include "util.h"

#define PROMISES_PATH "/apis/platform.kratix.io/v1alpha1/promises"

/* A Promise's resource type, from its spec.api (a CRD document). */
struct promise_api {
        char *name;
        bool missing;              /* no such Promise, or no usable spec.api */
        char *why;                 /* why it is missing, for the reports */
        struct kube_resource res;
        char *qualified;           /* "databases.example.promise.syntasso.io" */
        bool main_resource;        /* the CRD has no status subresource: write the object itself */
};

/* Leader election (lease.c): the Lease and what this replica saw of it. */
struct health_lease {
        bool enabled;              /* --leader-elect */
        char *name, *namespace;    /* the Lease (namespace NULL until set up: the config's) */
        char *identity;            /* holderIdentity: the hostname (the Pod's name) and a random suffix */
        int64_t duration_ms, renew_deadline_ms, retry_period_ms;
        struct kube_client *client; /* requests bounded by duration - renew deadline */
        char *path;
        json_t *observed;          /* the Lease as last read or written (its resourceVersion) */
        int64_t observed_ms;       /* when its spec was seen to change (monotonic) */
        int64_t renewed_ms;        /* the last successful acquire or renew (monotonic) */
        bool leader;               /* writing: acquired and not lost since */
        int fd;                    /* timerfd: the next try */
};

struct health {
        char *namespace;           /* NULL: all namespaces */
        struct connection_flags conn; /* --kubeconfig, --context, --request-timeout, logging */
        int64_t resync_ms, deadline_ms;
        bool health_status;        /* --health-status: write healthStatus too */

        struct kube_config *config;
        struct kube_client *client;
        struct kube_watch *watch;
        bool started;              /* listed and watching */

        json_t *records;           /* "ns/name" → HealthRecord */
        json_t *live;              /* the records not being deleted (array), while reconciling */
        json_t *dirty;             /* target key "promise/ns/name" → true */
        json_t *retry;             /* targets whose write failed for now */
        json_t *seen;              /* targets whose resource existed once: their vanishing is quiet */
        json_t *reported;          /* "ns/name" of a record → resourceVersion already reported */
        struct promise_api *promises;
        size_t n_promises;
        int64_t retry_ms;

        struct health_lease lease;

        int epoll_fd, signal_fd, resync_fd, retry_fd;
        unsigned writes;
};

/* ---- records.c: the HealthRecords in memory ---- */

/* metadata.<key> of obj, "" when absent (borrowed). */
const char *health_meta(const json_t *obj, const char *key);
/* The key of what a valid record names ("promise/ns/name"), or NULL. New string. */
char *health_target_key(const json_t *record);
/* Target key → array of the records that name it (valid ones, not being deleted). New reference. */
json_t *health_index_records(const struct health *h);
/* Replace the store with a fresh List: what changed meanwhile, deletions included, is marked dirty. */
void health_store_replace(struct health *h, const json_t *list);
/* The watch's event callback (kube_watch_event_fn): userdata is the struct health. */
int health_on_watch_event(const char *type, const json_t *obj, void *userdata);
/* A problem with one record: one log line and one Warning Event per resourceVersion. */
void health_report_record(struct health *h, const json_t *record, const char *reason, const char *fmt, ...)
        _printf_(4, 5);
/* POST a core/v1 Event; best effort (a missing Event never blocks health). */
void health_post_event(struct health *h, const char *api_version, const char *kind, const char *ns,
                       const char *name, const char *uid, const char *type, const char *reason,
                       const char *message);

/* ---- promises.c: the Promise cache ---- */

/* The Promise's resource type, read once and cached until the next resync.
 * NULL when it cannot be known now (logged). */
struct promise_api *health_promise_get(struct health *h, const char *name);
/* Forget a Promise that was missing, so a record change looks again. */
void health_promise_forget_missing(struct health *h, const char *name);
/* Read every Promise again from a LIST, keeping what was learnt about status subresources. */
int health_promises_reload(struct health *h);
void health_promises_clear(struct health *h);

/* ---- reconcile.c: writing resources ---- */

/* Reconcile every dirty resource; listed (may be NULL) maps target keys to objects just listed. */
void health_reconcile_dirty(struct health *h, const json_t *listed);
/* Read every Promise's resource type again and list each type's resources:
 * those showing health, and those index names, go into listed and are marked dirty. */
int health_sweep(struct health *h, json_t *listed, const json_t *index);

/* ---- lease.c: leader election ---- */

/* With --leader-elect: the identity, the Lease's path and its client, the timer. 0 or -errno (err filled). */
int health_lease_setup(struct health *h, struct kstatus_error *err);
void health_lease_done(struct health_lease *l);
/* One try to acquire or renew (the timer's): becoming the leader starts the
 * controller (health_start_writing), losing the Lease stops it. */
void health_lease_tick(struct health *h);
/* Whether a status write may be sent now: always without leader election;
 * with it, only by a leader that renewed within the renew deadline (renewing
 * first when a retry period has passed). */
bool health_may_write(struct health *h);
/* On SIGTERM: a leader gives the Lease up (holder cleared) for the next to take at once. */
void health_lease_release(struct health *h);

/* ---- loop.c: the event loop ---- */

int health_run(struct health *h);
/* Leader election's hooks: list, watch and write from now on; stop at once. */
void health_start_writing(struct health *h);
void health_stop_writing(struct health *h);
/* Arm the retry timer: 1 s, doubling at each retry up to 30 s. */
void health_retry_later(struct health *h);
void health_watch_stop(struct health *h);
