/* loop.c - the sidecar's one event loop: signals, inotify and timers are all
 * file descriptors in one epoll set. Idle, it blocks in epoll_wait with no
 * timeout: no polling, no wakeups. Where inotify is out of instances or
 * watches (a per-user limit shared by every container running as the same
 * UID on a node), or with --poll, a periodic timer stats status.yaml instead. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sidecar.h"

enum { SRC_SIGNAL = 1, SRC_INOTIFY, SRC_DEBOUNCE, SRC_RETRY, SRC_POLL };

/* How often status.yaml is checked when inotify cannot be used and --poll is not given. */
#define FALLBACK_POLL_MS 1000

/* What polling compares: a write, a rename into place or a removal changes it. */
struct file_sig {
        bool exists;
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime, ctime;
};

struct loop {
        int epoll_fd, signal_fd, inotify_fd, debounce_fd, retry_fd;
        int poll_fd;            /* periodic timer while polling, else -1 */
        struct file_sig sig;    /* status.yaml at the last poll */
        int dir_wd;    /* watch on the metadata directory, -1 until it exists */
        int parent_wd; /* watch on its parent while it does not */
        int64_t first_change_ms; /* first change since the last push, 0 none */
        bool complete;           /* a complete write arrived in this batch of events */
        bool stopping;           /* a signal came: the final write is under way */
        bool failed;             /* SIGUSR1: the pipeline failed */
        const char *why;
        bool done;               /* the final write ended with result */
        int result;
};

static struct timespec ms_timespec(int64_t ms) {
        return (struct timespec){ .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
}

static int arm(int fd, int64_t ms) {
        struct itimerspec its = { .it_value = ms_timespec(ms) };
        if (ms <= 0)
                its.it_value.tv_nsec = 1; /* 0 would disarm */
        return timerfd_settime(fd, 0, &its, NULL);
}

static void disarm(int fd) {
        struct itimerspec its = { 0 };
        (void)timerfd_settime(fd, 0, &its, NULL);
}

static int add(int epoll_fd, int fd, int tag) {
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)tag };
        return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

/* Watch the metadata directory, or its parent until the directory appears. */
static int watch_dir(struct loop *l, const struct sidecar_config *cfg) {
        l->dir_wd = inotify_add_watch(l->inotify_fd, cfg->metadata_dir,
                                      IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF |
                                              IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW);
        if (l->dir_wd >= 0) {
                if (l->parent_wd >= 0) {
                        inotify_rm_watch(l->inotify_fd, l->parent_wd);
                        l->parent_wd = -1;
                }
                return 1;
        }
        if (errno != ENOENT)
                return -errno;
        if (l->parent_wd < 0) {
                _cleanup_free_ char *parent = xstrdup(cfg->metadata_dir);
                char *slash = strrchr(parent, '/');
                if (slash == parent)
                        slash[1] = '\0';
                else if (slash)
                        *slash = '\0';
                else
                        strcpy(parent, ".");
                l->parent_wd = inotify_add_watch(l->inotify_fd, parent, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
                if (l->parent_wd < 0)
                        return -errno;
        }
        return 0;
}

static void schedule_push(struct loop *l, const struct sidecar_config *cfg) {
        if (!cfg->live)
                return;
        int64_t now = kstatus_monotonic_ms();
        if (!l->first_change_ms)
                l->first_change_ms = now;
        /* Debounce: wait for quiet, but never longer than max-debounce after the first change. */
        int64_t due = now + cfg->debounce_ms;
        if (due > l->first_change_ms + cfg->max_debounce_ms)
                due = l->first_change_ms + cfg->max_debounce_ms;
        arm(l->debounce_fd, due - now);
}

static bool is_status_file(const struct inotify_event *ev) {
        return ev->len > 0 && strcmp(ev->name, "status.yaml") == 0;
}

static void drain_inotify(struct sidecar *s, struct loop *l) {
        char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
        for (;;) {
                ssize_t n = read(l->inotify_fd, buf, sizeof(buf));
                if (n <= 0)
                        return;
                for (char *p = buf; p < buf + n;) {
                        struct inotify_event *ev = (struct inotify_event *)p;
                        p += sizeof(*ev) + ev->len;
                        if (ev->mask & IN_Q_OVERFLOW) {
                                schedule_push(l, &s->cfg);
                                continue;
                        }
                        if (ev->wd == l->parent_wd) {
                                if (watch_dir(l, &s->cfg) > 0) {
                                        log_info("watch", "%s appeared", s->cfg.metadata_dir);
                                        schedule_push(l, &s->cfg);
                                }
                                continue;
                        }
                        if (ev->wd != l->dir_wd)
                                continue;
                        if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
                                log_warning("watch", "%s went away; waiting for it to come back", s->cfg.metadata_dir);
                                l->dir_wd = -1;
                                (void)watch_dir(l, &s->cfg);
                                continue;
                        }
                        if (!is_status_file(ev))
                                continue;
                        /* A complete write (close after writing, or a rename into place) is
                         * pushed as soon as the events read so far are drained; a removal
                         * waits for the debounce, as an editor's delete-and-recreate would
                         * otherwise push an empty status between two versions. */
                        if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO))
                                l->complete = true;
                        else if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
                                schedule_push(l, &s->cfg);
                }
        }
}

static void do_push(struct sidecar *s, struct loop *l) {
        l->first_change_ms = 0;
        int r = sidecar_push_live(s);
        /* A transient API failure: try again when the library's backoff says;
         * nothing is lost, the next push is planned against what the server
         * acknowledged. */
        if (r == -EAGAIN)
                arm(l->retry_fd, s->retry_ms);
}

static void loop_signals(sigset_t *mask) {
        sigemptyset(mask);
        sigaddset(mask, SIGTERM);
        sigaddset(mask, SIGINT);
        sigaddset(mask, SIGUSR1);
        sigaddset(mask, SIGPIPE);
}

static bool ending_signal_pending(void) {
        sigset_t pending;
        if (sigpending(&pending) < 0)
                return false;
        return sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1 ||
               sigismember(&pending, SIGUSR1) == 1;
}

int64_t sidecar_budget_left(struct sidecar *s) {
        if (!s->end_ms && ending_signal_pending())
                s->end_ms = kstatus_monotonic_ms();
        if (!s->end_ms)
                return -1;
        int64_t left = s->end_ms + s->cfg.final_deadline_ms - kstatus_monotonic_ms();
        return left > 0 ? left : 0;
}

int sidecar_block_signals(void) {
        sigset_t mask;
        loop_signals(&mask);
        return sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ? -errno : 0;
}

static void file_sig(const char *path, struct file_sig *sig) {
        struct stat st;
        *sig = (struct file_sig){ 0 };
        if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return;
        *sig = (struct file_sig){ .exists = true, .dev = st.st_dev, .ino = st.st_ino, .size = st.st_size,
                                  .mtime = st.st_mtim, .ctime = st.st_ctim };
}

static bool file_sig_equal(const struct file_sig *a, const struct file_sig *b) {
        return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
               a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
               a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static void poll_status(struct sidecar *s, struct loop *l) {
        struct file_sig now;
        file_sig(s->cfg.status_file, &now);
        if (file_sig_equal(&now, &l->sig))
                return;
        l->sig = now;
        /* The debounce lets a writer caught mid-write finish; a torn file is
         * refused like any invalid one and the next change is pushed. */
        schedule_push(l, &s->cfg);
}

/* Check status.yaml every interval instead of watching it. `why` is the
 * inotify error that led here, 0 when asked for with --poll. */
static int start_polling(struct loop *l, const struct sidecar_config *cfg, int why) {
        if (l->inotify_fd >= 0) {
                close(l->inotify_fd);
                l->inotify_fd = -1;
                l->dir_wd = l->parent_wd = -1;
        }
        int64_t ms = cfg->poll_ms > 0 ? cfg->poll_ms : FALLBACK_POLL_MS;
        if (why) {
                const char *limit = why == -ENOSPC ? "watches" : "instances";
                log_warning("watch", "cannot watch %s with inotify: no inotify %s left for this user; checking %s "
                            "every %lld ms instead (raise fs.inotify.max_user_%s on the node)",
                            cfg->metadata_dir, limit, cfg->status_file, (long long)ms, limit);
        } else
                log_info("watch", "checking %s every %lld ms", cfg->status_file, (long long)ms);
        if (!cfg->live)
                return 0; /* only the final write: nothing to check until then */
        struct itimerspec its = { .it_interval = ms_timespec(ms), .it_value = ms_timespec(ms) };
        if (timerfd_settime(l->poll_fd, 0, &its, NULL) < 0 || add(l->epoll_fd, l->poll_fd, SRC_POLL) < 0)
                return -errno;
        file_sig(cfg->status_file, &l->sig);
        return 0;
}

static int setup(struct loop *l, const struct sidecar_config *cfg) {
        sigset_t mask;
        loop_signals(&mask);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        sigdelset(&mask, SIGPIPE);
        l->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        l->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        l->debounce_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        l->retry_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        l->poll_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK); /* armed only to poll */
        if (l->epoll_fd < 0 || l->signal_fd < 0 || l->debounce_fd < 0 || l->retry_fd < 0 || l->poll_fd < 0)
                return -errno;
        if (add(l->epoll_fd, l->signal_fd, SRC_SIGNAL) < 0 || add(l->epoll_fd, l->debounce_fd, SRC_DEBOUNCE) < 0 ||
            add(l->epoll_fd, l->retry_fd, SRC_RETRY) < 0)
                return -errno;
        if (cfg->poll_ms > 0)
                return start_polling(l, cfg, 0);

        int r;
        l->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (l->inotify_fd < 0)
                r = -errno;
        else if (add(l->epoll_fd, l->inotify_fd, SRC_INOTIFY) < 0)
                r = -errno;
        else
                r = watch_dir(l, cfg);
        if (r >= 0)
                return 0;
        /* Out of inotify instances (EMFILE) or watches (ENOSPC): limits of the
         * node's user, not of this Pod. Polling still delivers every change. */
        if (r == -EMFILE || r == -ENFILE || r == -ENOSPC || r == -ENOMEM)
                return start_polling(l, cfg, r);
        return r;
}

static void teardown(struct loop *l) {
        int fds[] = { l->epoll_fd, l->signal_fd, l->inotify_fd, l->debounce_fd, l->retry_fd, l->poll_fd };
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                if (fds[i] >= 0)
                        close(fds[i]);
}

static void read_signals(struct sidecar *s, struct loop *l) {
        struct signalfd_siginfo si;
        while (read(l->signal_fd, &si, sizeof(si)) == sizeof(si)) {
                if (l->stopping)
                        continue; /* the final write is under way */
                if (!s->end_ms)
                        s->end_ms = kstatus_monotonic_ms();
                if (si.ssi_signo == SIGUSR1) {
                        l->failed = true;
                        l->why = "SIGUSR1";
                }
                log_info("signal", "received %s; writing the final status",
                         si.ssi_signo == SIGUSR1 ? "SIGUSR1 (pipeline failed)"
                         : si.ssi_signo == SIGINT ? "SIGINT"
                                                  : "SIGTERM");
                l->stopping = true;
        }
}

static bool tick(int fd) {
        uint64_t ticks;
        return read(fd, &ticks, sizeof(ticks)) == sizeof(ticks);
}

/* The final write, one look at the Pod at a time: done, or the timer armed
 * for the next look while the kubelet catches up. */
static void final_step(struct sidecar *s, struct loop *l) {
        int r = sidecar_final(s, l->failed, l->why);
        if (r == SIDECAR_FINAL_PENDING) {
                arm(l->retry_fd, SIDECAR_POD_SETTLE_MS);
                return;
        }
        l->result = r;
        l->done = true;
}

static void dispatch(struct sidecar *s, struct loop *l, uint32_t source) {
        switch (source) {
        case SRC_SIGNAL:
                read_signals(s, l);
                break;
        case SRC_INOTIFY:
                drain_inotify(s, l);
                /* Writes that came while the last push was being sent are
                 * one push now: a burst costs at most one push per send. */
                if (l->complete && s->cfg.live && !l->stopping) {
                        l->complete = false;
                        disarm(l->debounce_fd);
                        do_push(s, l);
                }
                break;
        case SRC_DEBOUNCE:
                if (tick(l->debounce_fd) && !l->stopping)
                        do_push(s, l);
                break;
        case SRC_RETRY:
                /* While stopping, the retry timer paces the looks at the Pod. */
                if (tick(l->retry_fd))
                        l->stopping ? final_step(s, l) : do_push(s, l);
                break;
        case SRC_POLL:
                if (tick(l->poll_fd) && !l->stopping)
                        poll_status(s, l);
                break;
        }
}

int sidecar_run(struct sidecar *s) {
        struct loop l = { .epoll_fd = -1, .signal_fd = -1, .inotify_fd = -1, .debounce_fd = -1, .retry_fd = -1,
                          .poll_fd = -1, .dir_wd = -1, .parent_wd = -1 };
        int r = setup(&l, &s->cfg);
        if (r < 0) {
                teardown(&l);
                return log_error_errno(r, "start", "cannot watch %s: %s", s->cfg.metadata_dir, strerror(-r));
        }
        if (l.inotify_fd >= 0) { /* when polling, start_polling said so */
                if (l.dir_wd < 0)
                        log_info("watch", "%s does not exist yet; waiting for it", s->cfg.metadata_dir);
                else
                        log_info("watch", "watching %s", s->cfg.status_file);
        }

        /* A file written before we started (or before a restart) is pushed at once. */
        if (s->cfg.live && access(s->cfg.status_file, F_OK) == 0)
                do_push(s, &l);

        bool final_started = false;
        while (!l.done) {
                struct epoll_event evs[8];
                int n = epoll_wait(l.epoll_fd, evs, ELEMENTSOF(evs), -1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        l.result = -errno;
                        break;
                }
                for (int i = 0; i < n; i++)
                        dispatch(s, &l, evs[i].data.u32);
                if (l.stopping && !final_started) {
                        final_started = true;
                        disarm(l.debounce_fd);
                        disarm(l.retry_fd);
                        final_step(s, &l);
                }
        }
        /* Only after the final write: closing an inotify descriptor waits for an
         * SRCU grace period in the kernel (16 ms measured), which the status
         * would otherwise wait for. */
        teardown(&l);
        return l.result;
}
