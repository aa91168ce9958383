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
        int64_t generation;   /* metadata.generation, -1 unknown */
        char *uid;            /* metadata.uid, for Events */
        char *resource_version; /* of the last object the server returned */
        unsigned pushes;
        unsigned refusals;
};

void sidecar_config_clear(struct sidecar_config *cfg);
void sidecar_done(struct sidecar *s);

/* push.c */
int sidecar_start(struct sidecar *s);           /* read start status, set "in progress" conditions */
int sidecar_push_live(struct sidecar *s);       /* one live push of the current file; <0 to retry later */
int sidecar_finish(struct sidecar *s, bool failed, const char *why); /* the final write; 0 acknowledged */

/* main.c: decide success from the Pod (or the signal outside a Pod) and write the final status. */
int sidecar_final(struct sidecar *s, bool failed, const char *why);

/* loop.c */
int sidecar_run(struct sidecar *s);
/* Block the signals the loop reads from its signalfd. Called before
 * sidecar_start(), so a SIGTERM that arrives while the sidecar is still
 * starting (reading the resource through faults) waits for the loop, which
 * then makes the final write, instead of ending the process. */
int sidecar_block_signals(void);
