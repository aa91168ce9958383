/* sidecar.h - the state of one kstatus-sidecar: what it reports on, what it
 * has pushed, and the event loop's file descriptors. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "merge.h"
#include "pipeline.h"
#include "yaml-json.h"

struct api;

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
        int64_t debounce_ms;
        int64_t max_debounce_ms;
        int64_t final_deadline_ms;
        int64_t request_timeout_ms;
        int64_t poll_ms;      /* --poll: stat status.yaml this often instead of inotify; 0 = inotify */
        bool once;
        bool live;            /* push while the pipeline runs (default) */
        /* kube client options */
        char *kubeconfig;
        char *context;
};

struct sidecar {
        struct sidecar_config cfg;
        struct api *api;
        json_t *start;        /* status at pipeline start */
        json_t *server;       /* last known status on the server */
        json_t *pushed;       /* what we own (kstatus_plan_patch's owned) */
        json_t *unsure;       /* what failed pushes carried: maybe applied, answer lost */
        json_t *last_good;    /* the last file that parsed and validated */
        char *last_error;     /* the last refusal, reported once */
        int kratix_owned;     /* 1: this sidecar writes what Kratix owns; 0: it does not; -1: cannot tell yet */
        int last;             /* 1: the workflow's last pipeline; 0: not; -1: cannot tell */
        char *uid;            /* metadata.uid, for Events */
        char *resource_version; /* of the last object the server returned */
        unsigned pushes;
        unsigned refusals;
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
int64_t sidecar_now_ms(void);             /* CLOCK_MONOTONIC */
void sidecar_sleep_ms(int64_t ms);
int64_t sidecar_backoff_ms(unsigned attempt); /* full jitter, 100 ms doubling to 5 s */
int sidecar_start(struct sidecar *s);           /* read start status, set "in progress" conditions */
int sidecar_push_live(struct sidecar *s);       /* one live push of the current file; <0 to retry later */
/* The final write: status.yaml's keys always, the workflow conditions the outcome gives; 0 acknowledged. */
int sidecar_finish(struct sidecar *s, enum pipeline_outcome outcome, const char *why);
/* Send {"status": patch} as a merge patch, with the resourceVersion read when precondition. */
struct api_error;
int sidecar_send_patch(struct sidecar *s, const json_t *patch, bool precondition, struct api_error *aerr);
void sidecar_event(struct sidecar *s, const char *type, const char *reason, const char *fmt, ...) _printf_(4, 5);

/* kratix.c: what the sidecar learns about its pipeline from its Pod and from Kratix's objects. */
/* Who writes what Kratix owns (--workflow-conditions), from the sidecar's own Pod. */
void sidecar_decide_owner(struct sidecar *s);
/* Whether this is the workflow's last pipeline: IS_LAST_PIPELINE, KSTATUS_PIPELINE_INDEX/COUNT,
 * the PromiseRevision the resource is bound to, the live Promise only when there is none. */
void sidecar_locate(struct sidecar *s);
/* Read workflow-control.yaml (missing: nothing asked). <0 with *ret_error (new string) when invalid. */
struct kstatus_workflow_control;
int sidecar_read_control(struct sidecar *s, struct kstatus_workflow_control *ret, char **ret_error);
/* How the pipeline ended (the Pod's container states, or the signal outside a Pod), then the final write. */
int sidecar_final(struct sidecar *s, bool signal_failed, const char *why);

/* loop.c */
int sidecar_run(struct sidecar *s);
/* Block the signals the loop reads from its signalfd. Called before
 * sidecar_start(), so a SIGTERM that arrives while the sidecar is still
 * starting (reading the resource through faults) waits for the loop, which
 * then makes the final write, instead of ending the process. */
int sidecar_block_signals(void);
