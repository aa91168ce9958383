/* sidecar.h - the state of one kstatus-sidecar: what it reports on, what it
 * has pushed, and the event loop's file descriptors. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "log.h"
#include "merge.h"
#include "pipeline.h"
#include "workflow.h"
#include "yaml-json.h"

struct api;

/* The largest API answer the sidecar takes by default: a Kubernetes object is
 * at most 1.5 MiB (etcd's request limit), and the sidecar must stay inside the
 * 32 MiB memory limit injection gives it (docs/BEHAVIOUR.md §6). */
#define SIDECAR_MAX_RESPONSE_BYTES (4u << 20)

/* The most heap one answer's tree may take (--max-response-memory), as
 * estimated from its text before jansson parses it (common/kube/json-bound.c;
 * the answer's size does not bound it: 4 MiB of `[{},{},…]` would be ~300 MiB).
 * A status at status.yaml's limits (100 000 short scalars in 1 MiB) takes
 * ~12 MiB and is taken; the largest answer taken, of the dearest kind (65 000
 * empty objects), keeps the sidecar at ~26 MiB, inside the 32 MiB injection
 * gives it (a status.yaml that large takes the sidecar past it by itself:
 * docs/BEHAVIOUR.md §6). */
#define SIDECAR_MAX_RESPONSE_MEMORY ((size_t)16 << 20)

enum workflow_action { ACTION_CONFIGURE, ACTION_DELETE };

/* --workflow-conditions: who writes what Kratix owns (ConfigureWorkflowCompleted, the message resets). */
enum workflow_conditions {
        WORKFLOW_CONDITIONS_AUTO, /* kstatus, unless the Pod has Kratix's status-writer */
        WORKFLOW_CONDITIONS_ON,   /* kstatus, always */
        WORKFLOW_CONDITIONS_OFF,  /* never kstatus */
};

struct sidecar_config {
        struct kstatus_object_ref object;
        char *metadata_dir;   /* $KSTATUS_METADATA_DIR, default /kratix/metadata */
        char *input_dir;      /* $KSTATUS_INPUT_DIR, default /kratix/input */
        char *status_file;    /* metadata_dir + "/status.yaml" */
        char *pipeline;       /* KRATIX_PIPELINE_NAME */
        char *promise;        /* KRATIX_PROMISE_NAME */
        char *workflow_type;  /* KRATIX_WORKFLOW_TYPE: resource | promise */
        enum workflow_action action;
        char *pod_name;       /* POD_NAME: NULL outside a Pod */
        char *pod_namespace;
        char *container_name; /* our own container, ignored when reading the Pod's outcome */
        int pipeline_index;   /* -1 when unknown */
        int pipeline_count;
        int is_last;          /* IS_LAST_PIPELINE: 1 true, 0 false, -1 unset */
        bool dry_run;         /* KRATIX_DRY_RUN=true */
        enum workflow_conditions workflow_conditions;
        enum kstatus_merge_mode mode;
        struct kstatus_limits limits;
        size_t max_response_bytes; /* the largest API answer taken (--max-response-size) */
        size_t max_response_memory; /* the most heap one answer's tree may take (--max-response-memory) */
        int64_t debounce_ms;
        int64_t max_debounce_ms;
        int64_t final_deadline_ms;
        int64_t request_timeout_ms;
        int64_t poll_ms;      /* --poll: stat status.yaml this often instead of inotify; 0 = inotify */
        bool once;
        bool live;            /* push while the pipeline runs (default) */
        enum log_format log_format;
        enum log_level log_level;
        /* kube client options */
        char *kubeconfig;
        char *context;
};

struct sidecar {
        struct sidecar_config cfg;
        struct api *api;
        json_t *start;        /* status at pipeline start */
        json_t *server;       /* last status read; NULL: unknown (a write in flight or failed): read it first */
        json_t *pushed;       /* what we own (kstatus_plan_patch's owned) */
        json_t *unsure;       /* what failed pushes carried: maybe applied, answer lost */
        json_t *last_good;    /* the last file that parsed and validated */
        char *last_error;     /* the last refusal, reported once */
        int kratix_owned;     /* 1: this sidecar writes what Kratix owns; 0: it does not; -1: cannot tell yet */
        int last;             /* 1: the workflow's last pipeline; 0: not; -1: cannot tell */
        char *uid;            /* metadata.uid: Events, and every write's precondition */
        char *resource_version; /* of the last object the server returned */
        unsigned pushes;
        unsigned refusals;
        unsigned live_failures; /* live pushes failed in a row (the backoff's exponent) */
        int64_t retry_ms;       /* after a live push returned -EAGAIN: when to try again */
        unsigned pod_looks;     /* the final write's looks at the Pod so far */
        int64_t end_ms;         /* monotonic ms when the pipeline's end was first seen; 0 before */
};

void sidecar_config_clear(struct sidecar_config *cfg);
void sidecar_done(struct sidecar *s);

/* How the pipeline ended, as the final write sees it. */
enum pipeline_outcome {
        OUTCOME_SUCCEEDED,
        OUTCOME_FAILED,  /* failed for good */
        OUTCOME_STOPPED, /* stopped early (evicted, Job suspended or deleted): not a failure */
        OUTCOME_UNKNOWN, /* the Pod could not be read: neither success nor failure */
};

/* push.c */
/* Read the start status, set the "in progress" conditions: -EINVAL when the
 * configuration names what the server refuses, -EIDRM when the object was
 * re-created, another <0 when the API could not be read within the budget. */
int sidecar_start(struct sidecar *s);
/* One live push of the current file; -EAGAIN to retry after s->retry_ms. */
int sidecar_push_live(struct sidecar *s);
/* final.c: the final write: status.yaml's keys always, the workflow conditions the outcome gives; 0 acknowledged. */
int sidecar_finish(struct sidecar *s, enum pipeline_outcome outcome, const char *why);
void sidecar_event(struct sidecar *s, const char *type, const char *reason, const char *fmt, ...) _printf_(4, 5);

/* push.c: the one way a status write is planned and sent (final.c too). */
/* One status write: plan() says what to send against s->server, again after
 * every 409. */
struct status_write {
        struct sidecar *s;
        const char *tag;                       /* log tag: start, push, final */
        json_t *file;                          /* push, final: status.yaml's content */
        const enum kstatus_workflow_event *ev; /* start, final: the workflow event it carries */
        bool live;                             /* a live push: guarded only when it carries conditions */
        bool no_answer;                        /* final: the stored object is not read back (no tree of it) */
        bool plan_failed;
        size_t keys;                           /* status keys the last body carried */
        json_t *owned;                         /* set by the plan: what the write owns once stored */
        json_t *sent;                          /* the status patch the last attempt carried */
        /* The status patch (new reference) from s->server to what this write
         * wants, NULL when nothing; <0 with err filled when it cannot be planned. */
        int (*plan)(struct status_write *w, json_t **ret_patch, struct kstatus_error *err);
};
/* Plan w and send it under the library's policy for up to deadline_ms
 * (no_sleep: a failure that needs a wait is returned, for the event loop to
 * schedule). 0 stored, KUBE_NOTHING_TO_DO, or <0 with err filled. */
int sidecar_send_status(struct status_write *w, int64_t deadline_ms, bool no_sleep, struct kstatus_error *err);
/* The plan of a push or the final write: status.yaml's keys (kstatus_plan_patch),
 * then the workflow event if any, as one patch from what the server holds. */
int sidecar_plan_file(struct status_write *w, json_t **ret_patch, struct kstatus_error *err);
/* GET the object into s->server, riding out transient faults for up to deadline_ms (0: one attempt). */
int sidecar_read_object(struct sidecar *s, int64_t deadline_ms, struct kstatus_error *err);
/* Read and check status.yaml: 0 with *ret (new reference; {} when the file is
 * missing), or <0 with *ret_error (new string) saying why it is refused. */
int sidecar_read_status_file(struct sidecar *s, json_t **ret, char **ret_error);

/* kratix.c: what the sidecar learns about its pipeline from its Pod and from Kratix's objects. */
/* Who writes what Kratix owns (--workflow-conditions), from the sidecar's own Pod. */
void sidecar_decide_owner(struct sidecar *s);
/* Whether this is the workflow's last pipeline: IS_LAST_PIPELINE, KSTATUS_PIPELINE_INDEX/COUNT,
 * the PromiseRevision the resource is bound to, the live Promise only when there is none. */
void sidecar_locate(struct sidecar *s);
/* Read workflow-control.yaml (missing: nothing asked). <0 with *ret_error (new string) when invalid. */
struct kstatus_workflow_control;
int sidecar_read_control(struct sidecar *s, struct kstatus_workflow_control *ret, char **ret_error);
/* GET the sidecar's own Pod, riding out transient errors for up to deadline_ms. */
int sidecar_read_pod(struct sidecar *s, int64_t deadline_ms, json_t **ret, struct kstatus_error *err);
/* Set kratix_owned from the Pod's containers (Kratix's status-writer writes what Kratix owns). */
void sidecar_owner_from_pod(struct sidecar *s, const json_t *pod);

/* final.c */
#define SIDECAR_FINAL_PENDING 1
#define SIDECAR_POD_SETTLE_MS 250
/* How the pipeline ended (the Pod's container states, or the signal outside a
 * Pod), then the final write: 0 acknowledged, <0 failed, or
 * SIDECAR_FINAL_PENDING while the Pod still shows the pipeline running: call
 * again after SIDECAR_POD_SETTLE_MS (the event loop's timer). */
int sidecar_final(struct sidecar *s, bool signal_failed, const char *why);

/* loop.c */
int sidecar_run(struct sidecar *s);
/* The one shutdown budget (docs/BEHAVIOUR.md §5): --deadline from the moment
 * the sidecar first sees the pipeline's end (a signal, read by the loop or
 * found pending while it was busy starting or pushing), shared by everything
 * it still sends. ms left (0: spent), or -1 before the end. */
int64_t sidecar_budget_left(struct sidecar *s);
/* Block the signals the loop reads from its signalfd. Called before
 * sidecar_start(), so a SIGTERM that arrives while the sidecar is still
 * starting (reading the resource through faults) waits for the loop, which
 * then makes the final write, instead of ending the process. */
int sidecar_block_signals(void);
