/* api.h - the Kubernetes API over HTTP: routing, CRUD, discovery, watch. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

struct MHD_Connection;

/* What a request produced: a complete body, or a watch stream. */
struct reply {
        int code;
        char *body; /* owned */
        size_t len;
        int retry_after; /* seconds; 0: no Retry-After header */
        const char *content_type; /* static; NULL: application/json */
        struct watch *watch; /* owned; a streaming body when set */
        /* Another streaming body (pods/log?follow=true): owned by stream_free. */
        void *stream;
        ssize_t (*stream_read)(void *cls, uint64_t pos, char *buf, size_t max);
        void (*stream_free)(void *cls);
        bool api; /* an API request (not /_kstatus/): carries the --warning headers */
};

struct api_config {
        const char *token;   /* required bearer token */
        int bookmark_ms;     /* interval of BOOKMARK events */
        char *server_url;    /* for /api's serverAddressByClientCIDRs */
        size_t max_log_bytes; /* kept per container run (pods/log); the oldest lines go first */
};

extern struct api_config api_config;

/* Handle one complete request. body may be NULL. too_big: the body went over
 * the limit and was discarded. */
/* The metav1.Status reason kube-apiserver gives an HTTP code ("Invalid" for
 * 422, ...), "" for none. Static string. */
const char *status_reason_for(int code);

void api_handle(struct MHD_Connection *c, const char *method, const char *url, const char *body, size_t len,
                bool too_big, struct reply *out);

/* The watch stream's content reader and destructor (libmicrohttpd callbacks). */
ssize_t watch_read(void *cls, uint64_t pos, char *buf, size_t max);
void watch_free(void *cls);

/* Create an object without a request (start-up objects); out as for api_handle. */
void api_handle_internal_create(const char *group, const char *version, const char *plural, const char *ns,
                                const char *body, struct reply *out);

/* Load CRDs (YAML or JSON, multi-document) from a file or each .yaml or .json file
 * of a directory at start. 0 or a negative errno with a message on stderr. */
int api_preload_crds(const char *path);

/* Free every container log (at exit, once no connection is left). */
void logs_free(void);

#define API_MAX_BODY (3u * 1024 * 1024)
