/* loop.c - the controller's one epoll loop, no threads: signalfd, the
 * watch's fd, a resync timer and a retry timer.
 *
 * At start the records are listed and watched from there (the watch resumes
 * after a dropped stream and hands over a fresh list after 410 Gone); after
 * each batch of events every dirty resource is reconciled. At start and at
 * every resync the resources of every Promise are listed too, so health left
 * behind by records deleted while the controller was not running is put
 * right, and the listed objects save a GET each.
 *
 * With --leader-elect all of that waits until this replica holds the Lease
 * (lease.c, on a timer of its own in the same loop), and stops when it loses
 * it. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "internal.h"
#include "log.h"

enum { SRC_SIGNAL = 1, SRC_WATCH, SRC_RESYNC, SRC_RETRY, SRC_LEASE };

#define RETRY_MAX_MS 30000

void health_retry_later(struct health *h) {
        h->retry_ms = h->retry_ms ? (h->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : h->retry_ms * 2) : 1000;
        (void)kstatus_timerfd_arm(h->retry_fd, h->retry_ms);
}

static char *records_path(const struct health *h) {
        if (!h->namespace)
                return xstrdup("/apis/platform.kratix.io/v1alpha1/healthrecords");
        _cleanup_free_ char *esc = kube_escape(h->namespace);
        return xasprintf("/apis/platform.kratix.io/v1alpha1/namespaces/%s/healthrecords", esc);
}

void health_watch_stop(struct health *h) {
        if (!h->watch)
                return;
        (void)epoll_ctl(h->epoll_fd, EPOLL_CTL_DEL, kube_watch_fd(h->watch), NULL);
        kube_watch_free(TAKE_PTR(h->watch));
}

static void restart_later(struct health *h) {
        health_watch_stop(h);
        h->started = false;
        health_retry_later(h);
}

/* Every resource the records or the Promises' lists name, reconciled. */
static void reconcile_all(struct health *h) {
        _cleanup_json_ json_t *listed = json_object();
        _cleanup_json_ json_t *index = health_index_records(h);
        const char *k;
        json_t *v;
        json_object_foreach(index, k, v) json_object_set_new(h->dirty, k, json_true());
        (void)health_sweep(h, listed, index);
        health_reconcile_dirty(h, listed);
}

static int watch_from(struct health *h, const char *path, const char *rv) {
        _cleanup_(kstatus_error_done) struct kstatus_error kerr = { 0 };
        if (kube_watch_new(h->client, path, rv, health_on_watch_event, h, &h->watch, &kerr) < 0 ||
            epoll_ctl(h->epoll_fd, EPOLL_CTL_ADD, kube_watch_fd(h->watch),
                      &(struct epoll_event){ .events = EPOLLIN, .data.u32 = SRC_WATCH }) < 0) {
                log_warning("watch", "cannot watch healthrecords: %s", kerr.message ? kerr.message : strerror(errno));
                return -1;
        }
        log_info("watch", "watching healthrecords from resourceVersion %s", rv ? rv : "(none)");
        return 0;
}

/* List the records, put every resource right, and watch from there. */
static void start(struct health *h) {
        _cleanup_free_ char *path = records_path(h);
        _cleanup_json_ json_t *list = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int r = kube_client_list(h->client, path, 500, NULL, NULL, &list, &err);
        if (r < 0) {
                log_warning("list", "cannot list healthrecords: %s", err.message);
                kstatus_error_done(&err);
                restart_later(h);
                return;
        }
        health_store_replace(h, list);
        log_info("list", "%zu healthrecords%s%s", json_object_size(h->records), h->namespace ? " in namespace " : "",
                 h->namespace ? h->namespace : "");
        reconcile_all(h);
        if (h->lease.enabled && !h->lease.leader)
                return; /* lost the Lease meanwhile */
        const char *rv = json_string_value(json_object_get(json_object_get(list, "metadata"), "resourceVersion"));
        if (watch_from(h, path, rv) < 0) {
                restart_later(h);
                return;
        }
        h->started = true;
        if (json_object_size(h->retry) == 0)
                h->retry_ms = 0;
}

/* Every resource again: health someone else changed, records deleted while
 * a resource could not be read, Promises created since. */
static void resync(struct health *h) {
        log_info("resync", "re-reading %zu healthrecords and the resources of every promise",
                 json_object_size(h->records));
        reconcile_all(h);
}

void health_start_writing(struct health *h) {
        start(h);
}

void health_stop_writing(struct health *h) {
        health_watch_stop(h);
        h->started = false;
        json_object_clear(h->dirty);
        json_object_clear(h->retry);
        h->retry_ms = 0;
        (void)kstatus_timerfd_disarm(h->retry_fd);
}

static void on_retry(struct health *h) {
        if (h->lease.enabled && !h->lease.leader)
                return;
        if (!h->started) {
                start(h);
                return;
        }
        const char *k;
        json_t *v;
        json_object_foreach(h->retry, k, v) json_object_set_new(h->dirty, k, json_true());
        json_object_clear(h->retry);
        health_reconcile_dirty(h, NULL);
}

static void on_watch(struct health *h) {
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        if (kube_watch_process(h->watch, &err) >= 0) {
                health_reconcile_dirty(h, NULL);
                return;
        }
        log_warning("watch", "watch of healthrecords failed: %s; listing again", err.message);
        kstatus_error_done(&err);
        /* What was seen so far still counts. */
        health_reconcile_dirty(h, NULL);
        restart_later(h);
}

static int loop_setup(struct health *h) {
        h->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (h->epoll_fd < 0)
                return -errno;
        h->signal_fd = kstatus_stop_signalfd();
        h->resync_fd = kstatus_timerfd_new();
        h->retry_fd = kstatus_timerfd_new();
        int fds[] = { h->signal_fd, h->resync_fd, h->retry_fd, h->lease.enabled ? h->lease.fd : -EBADF };
        int tags[] = { SRC_SIGNAL, SRC_RESYNC, SRC_RETRY, SRC_LEASE };
        for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
                if (fds[i] == -EBADF)
                        continue;
                if (fds[i] < 0)
                        return fds[i];
                if (epoll_ctl(h->epoll_fd, EPOLL_CTL_ADD, fds[i],
                              &(struct epoll_event){ .events = EPOLLIN, .data.u32 = (uint32_t)tags[i] }) < 0)
                        return -errno;
        }
        return h->resync_ms > 0 ? kstatus_timerfd_arm(h->resync_fd, h->resync_ms) : 0;
}

/* Handle one ready source; true when the controller is to stop. */
static bool dispatch(struct health *h, uint32_t source) {
        uint64_t ticks;
        struct signalfd_siginfo si;
        switch (source) {
        case SRC_SIGNAL:
                if (read(h->signal_fd, &si, sizeof(si)) != sizeof(si))
                        return false;
                log_info("stop", "received %s; %u status writes made", si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM",
                         h->writes);
                health_lease_release(h);
                return true;
        case SRC_WATCH:
                if (h->watch)
                        on_watch(h);
                return false;
        case SRC_RESYNC:
                if (read(h->resync_fd, &ticks, sizeof(ticks)) != sizeof(ticks))
                        return false;
                (void)kstatus_timerfd_arm(h->resync_fd, h->resync_ms);
                if (h->started)
                        resync(h);
                return false;
        case SRC_RETRY:
                if (read(h->retry_fd, &ticks, sizeof(ticks)) == sizeof(ticks))
                        on_retry(h);
                return false;
        case SRC_LEASE:
                if (read(h->lease.fd, &ticks, sizeof(ticks)) == sizeof(ticks))
                        health_lease_tick(h);
                return false;
        }
        return false;
}

int health_run(struct health *h) {
        int r = loop_setup(h);
        if (r < 0)
                return log_error_errno(r, "start", "cannot set up the event loop: %s", strerror(-r));
        if (h->lease.enabled) {
                log_info("leader", "%s attempting to acquire lease \"%s/%s\"", h->lease.identity, h->lease.namespace,
                         h->lease.name);
                health_lease_tick(h);
        } else
                start(h);
        for (;;) {
                struct epoll_event evs[8];
                int n = epoll_wait(h->epoll_fd, evs, ELEMENTSOF(evs), -1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return log_error_errno(errno, "loop", "epoll_wait: %s", strerror(errno));
                for (int i = 0; i < n; i++)
                        if (dispatch(h, evs[i].data.u32))
                                return 0;
        }
}
