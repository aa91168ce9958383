/* watch.h - a Kubernetes watch as a stream of events, drivable from an
 * external epoll loop (the sidecar's) or blocking (the plugin's get -w/wait
 * and the health controller).
 *
 * The watch resumes from the last resourceVersion it saw when the stream
 * ends or drops (with backoff and jitter when it cannot reconnect), and when
 * the server says the resourceVersion is too old (410 Gone, as an HTTP answer
 * or an ERROR event) it lists the collection again and hands the List over as
 * one "RELIST" event before watching on from the List's resourceVersion.
 * BOOKMARK events move the resume point and are not handed over.
 *
 * It uses its own connection (the client's handle stays free for requests)
 * and the client's credentials, re-applied at every reconnect. */
#pragma once

#include <stdint.h>

#include <jansson.h>

#include "kube/client.h"

struct kube_watch;

/* Called per event: type is "ADDED", "MODIFIED", "DELETED" or "RELIST"
 * (object then a List), object borrowed. Return 0 to go on; anything else
 * stops the watch and is returned by kube_watch_process()/kube_watch_run(). */
typedef int (*kube_watch_fn)(const char *type, const json_t *object, void *userdata);

/* Start watching the collection path (may carry a query such as
 * "?labelSelector=..." or "?fieldSelector=metadata.name%3Dx") from
 * resource_version (NULL or "": the server's current state first, as ADDED
 * events). Returns 0 or a negative errno with err filled. */
int kube_watch_new(struct kube_client *c, const char *path, const char *resource_version, kube_watch_fn fn,
                   void *userdata, struct kube_watch **ret, struct kstatus_error *err);
void kube_watch_free(struct kube_watch *w);

/* One file descriptor (an epoll set of the watch's sockets and timers) that
 * becomes readable when kube_watch_process() has work. Borrowed. */
int kube_watch_fd(const struct kube_watch *w);

/* Do what is ready without blocking. Returns 0 to go on, the callback's
 * non-zero value when it stopped the watch, or a negative errno with err
 * filled for an error that retrying cannot fix (401, 403, 404, a relist that
 * failed). */
int kube_watch_process(struct kube_watch *w, struct kstatus_error *err);

/* Block until the callback stops the watch, an error, or timeout_ms
 * (negative: none) passes: then -ETIMEDOUT. */
int kube_watch_run(struct kube_watch *w, int64_t timeout_ms, struct kstatus_error *err);

/* The resourceVersion the watch would resume from (borrowed, may be NULL). */
const char *kube_watch_resource_version(const struct kube_watch *w);

/* How many times the watch connected (tests: resume and relist). */
unsigned kube_watch_connects(const struct kube_watch *w);
