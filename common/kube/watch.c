#include "kube/watch.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "kube/internal.h"

#define MAX_EVENT_BYTES (16u << 20)
#define MAX_ERROR_BODY (64u << 10)

struct kube_watch {
        struct kube_client *c;
        char *path;
        char *rv;
        kube_watch_fn fn;
        void *userdata;
        CURLM *multi;
        CURL *h;
        bool attached;
        int epfd, timerfd, retryfd;
        char errbuf[CURL_ERROR_SIZE];
        struct kube_response resp;
        char *line;
        size_t line_len, line_cap;
        long code;
        bool got_line;
        bool gone;        /* 410: relist */
        bool too_big;
        bool too_many;    /* an event's tree would take more memory than the client allows */
        int stop;         /* the callback's non-zero answer */
        json_t *error_status; /* an ERROR event other than 410 */
        char *err_body;
        size_t err_len;
        int64_t backoff_ms;
        unsigned connects;
};

static void arm(int fd, int64_t ms) {
        struct itimerspec its = { 0 };
        if (ms >= 0) {
                its.it_value.tv_sec = ms / 1000;
                its.it_value.tv_nsec = (ms % 1000) * 1000000;
                if (ms == 0)
                        its.it_value.tv_nsec = 1; /* 0 would disarm it */
        }
        (void)timerfd_settime(fd, 0, &its, NULL);
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp) {
        (void)e;
        (void)socketp;
        struct kube_watch *w = userp;
        if (what == CURL_POLL_REMOVE) {
                (void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, s, NULL);
                return 0;
        }
        struct epoll_event ev = {
                .events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u),
                .data.fd = s,
        };
        if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, s, &ev) < 0 && errno == ENOENT)
                (void)epoll_ctl(w->epfd, EPOLL_CTL_ADD, s, &ev);
        return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp) {
        (void)m;
        struct kube_watch *w = userp;
        arm(w->timerfd, timeout_ms);
        return 0;
}

/* The most heap one event's tree may take: the client's limit. */
static size_t max_memory(const struct kube_watch *w) {
        return w->c ? w->c->opts.max_response_memory : MAX_RESPONSE_MEMORY;
}

/* One line of the stream: {"type": ..., "object": ...}. Returns false to
 * end the transfer. */
static bool handle_line(struct kube_watch *w, const char *text, size_t len) {
        while (len > 0 && (text[len - 1] == '\r' || text[len - 1] == ' '))
                len--;
        if (len == 0)
                return true;
        w->got_line = true;
        if (kube_json_estimate_memory(text, len, max_memory(w), NULL) < 0) {
                w->too_many = true;
                return false;
        }
        _cleanup_json_ json_t *ev = json_loadb(text, len, 0, NULL);
        const char *type = json_string_value(json_object_get(ev, "type"));
        json_t *obj = json_object_get(ev, "object");
        if (!type || !json_is_object(obj))
                return true; /* not an event: skip it, as client-go's decoder would fail only this one */
        if (strcmp(type, "ERROR") == 0) {
                json_int_t code = json_integer_value(json_object_get(obj, "code"));
                if (code == 410) {
                        w->gone = true;
                        return false;
                }
                json_decref(w->error_status);
                w->error_status = json_incref(obj);
                return false;
        }
        const char *rv = json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
        if (rv && *rv) {
                free(w->rv);
                w->rv = xstrdup(rv);
        }
        if (strcmp(type, "BOOKMARK") == 0)
                return true;
        int r = w->fn(type, obj, w->userdata);
        if (r != 0) {
                w->stop = r;
                return false;
        }
        return true;
}

static size_t on_data(const char *data, size_t len, void *userdata) {
        struct kube_watch *w = userdata;
        if (w->code == 0 && curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &w->code) != CURLE_OK)
                w->code = 0;
        if (w->code != 200) {
                /* An error answer: keep (the start of) it for the message. */
                size_t take = w->err_len + len > MAX_ERROR_BODY ? MAX_ERROR_BODY - w->err_len : len;
                w->err_body = xrealloc(w->err_body, w->err_len + take + 1);
                memcpy(w->err_body + w->err_len, data, take);
                w->err_len += take;
                w->err_body[w->err_len] = '\0';
                return len;
        }
        for (size_t i = 0; i < len;) {
                const char *nl = memchr(data + i, '\n', len - i);
                size_t n = nl ? (size_t)(nl - (data + i)) : len - i;
                if (w->line_len + n > MAX_EVENT_BYTES) {
                        w->too_big = true;
                        return 0;
                }
                if (w->line_len + n + 1 > w->line_cap) {
                        w->line_cap = (w->line_len + n + 1) * 2;
                        w->line = xrealloc(w->line, w->line_cap);
                }
                memcpy(w->line + w->line_len, data + i, n);
                w->line_len += n;
                i += n;
                if (nl) {
                        i++;
                        bool go_on = handle_line(w, w->line, w->line_len);
                        w->line_len = 0;
                        if (!go_on)
                                return 0;
                }
        }
        return len;
}

size_t kube_watch_feed(struct kube_watch *w, const char *data, size_t len) {
        return on_data(data, len, w);
}

struct kube_watch *kube_watch_decoder_new(kube_watch_fn fn, void *userdata) {
        struct kube_watch *w = xcalloc(1, sizeof(*w));
        w->fn = fn;
        w->userdata = userdata;
        w->epfd = w->timerfd = w->retryfd = -1;
        w->code = 200; /* on_data asks curl only while this is 0 */
        return w;
}

static int start_stream(struct kube_watch *w, struct kstatus_error *err) {
        struct kube_client *c = w->c;
        w->code = 0;
        w->got_line = false;
        w->gone = false;
        w->too_big = false;
        w->too_many = false;
        w->line_len = 0;
        free(w->err_body);
        w->err_body = NULL;
        w->err_len = 0;
        w->errbuf[0] = '\0';
        kube_response_reset(&w->resp);
        int r = kube_apply_auth(c, w->h, err);
        if (r < 0)
                return r;
        if (c->identity_error)
                return kstatus_error_set(err, EINVAL, 0, 0, "%s", c->identity_error);
        /* The client's impersonation headers (it outlives its watches). */
        CURLcode hc = curl_easy_setopt(w->h, CURLOPT_HTTPHEADER, c->identity);
        if (hc != CURLE_OK)
                return kstatus_error_set(err, EINVAL, 0, 0, "cannot set the watch's headers: %s", curl_easy_strerror(hc));
        const char *sep = strchr(w->path, '?') ? "&" : "?";
        _cleanup_free_ char *rv = w->rv ? kube_escape(w->rv) : NULL;
        _cleanup_free_ char *url = xasprintf("%s%s%swatch=1&allowWatchBookmarks=true%s%s", c->base, w->path, sep,
                                             rv ? "&resourceVersion=" : "", rv ? rv : "");
        CURLcode cc = curl_easy_setopt(w->h, CURLOPT_URL, url);
        if (cc == CURLE_OK)
                cc = curl_easy_setopt(w->h, CURLOPT_HTTPGET, 1L);
        if (cc != CURLE_OK)
                return kstatus_error_set(err, EINVAL, 0, 0, "cannot set the watch URL: %s", curl_easy_strerror(cc));
        CURLMcode mc = curl_multi_add_handle(w->multi, w->h);
        if (mc != CURLM_OK)
                return kstatus_error_set(err, EINVAL, 0, 0, "cannot start the watch: %s", curl_multi_strerror(mc));
        w->attached = true;
        w->connects++;
        c->requests++;
        return 0;
}

int kube_watch_new(struct kube_client *c, const char *path, const char *resource_version, kube_watch_fn fn,
                   void *userdata, struct kube_watch **ret, struct kstatus_error *err) {
        struct kube_watch *w = xcalloc(1, sizeof(*w));
        w->c = c;
        w->path = xstrdup(path);
        w->rv = resource_version && *resource_version ? xstrdup(resource_version) : NULL;
        w->fn = fn;
        w->userdata = userdata;
        w->epfd = w->timerfd = w->retryfd = -1;
        w->resp.retry_after_ms = -1;
        w->resp.sink = on_data;
        w->resp.sink_userdata = w;
        w->resp.on_warning = c->opts.on_warning;
        w->resp.warning_userdata = c->opts.warning_userdata;
        int r;
        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        w->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        w->retryfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (w->epfd < 0 || w->timerfd < 0 || w->retryfd < 0) {
                r = kstatus_error_set(err, errno, 0, 0, "cannot create the watch's descriptors: %s", strerror(errno));
                goto fail;
        }
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = w->timerfd };
        struct epoll_event ev2 = { .events = EPOLLIN, .data.fd = w->retryfd };
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->timerfd, &ev) < 0 ||
            epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->retryfd, &ev2) < 0) {
                r = kstatus_error_set(err, errno, 0, 0, "cannot create the watch's descriptors: %s", strerror(errno));
                goto fail;
        }
        w->multi = curl_multi_init();
        w->h = curl_easy_init();
        if (!w->multi || !w->h) {
                r = kstatus_error_set(err, ENOMEM, 0, 0, "cannot create curl handles");
                goto fail;
        }
        if (curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
            curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w) != CURLM_OK ||
            curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, on_timer) != CURLM_OK ||
            curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w) != CURLM_OK) {
                r = kstatus_error_set(err, EINVAL, 0, 0, "cannot set up the watch's curl multi handle");
                goto fail;
        }
        r = kube_handle_setup(c, w->h, w->errbuf, &w->resp, err);
        if (r < 0)
                goto fail;
        /* A watch runs as long as it runs: only the connection times out. */
        if (curl_easy_setopt(w->h, CURLOPT_TIMEOUT_MS, 0L) != CURLE_OK ||
            curl_easy_setopt(w->h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)0) != CURLE_OK) {
                r = kstatus_error_set(err, EINVAL, 0, 0, "cannot set up the watch's curl handle");
                goto fail;
        }
        r = start_stream(w, err);
        if (r < 0)
                goto fail;
        *ret = w;
        return 0;
fail:
        kube_watch_free(w);
        return r;
}

void kube_watch_free(struct kube_watch *w) {
        if (!w)
                return;
        if (w->attached)
                curl_multi_remove_handle(w->multi, w->h);
        if (w->h)
                curl_easy_cleanup(w->h);
        if (w->multi)
                curl_multi_cleanup(w->multi);
        if (w->epfd >= 0)
                close(w->epfd);
        if (w->timerfd >= 0)
                close(w->timerfd);
        if (w->retryfd >= 0)
                close(w->retryfd);
        kube_response_reset(&w->resp);
        json_decref(w->error_status);
        free(w->err_body);
        free(w->line);
        free(w->path);
        free(w->rv);
        free(w);
}

int kube_watch_fd(const struct kube_watch *w) {
        return w->epfd;
}

const char *kube_watch_resource_version(const struct kube_watch *w) {
        return w->rv;
}

unsigned kube_watch_connects(const struct kube_watch *w) {
        return w->connects;
}

static void retry_later(struct kube_watch *w, int64_t retry_after_ms) {
        int64_t wait;
        if (retry_after_ms >= 0)
                wait = retry_after_ms;
        else {
                w->backoff_ms = w->backoff_ms ? (w->backoff_ms * 2 > 5000 ? 5000 : w->backoff_ms * 2) : 100;
                wait = (int64_t)(w->c->clock.random(w->c->clock.userdata) % (uint64_t)(w->backoff_ms + 1));
        }
        arm(w->retryfd, wait);
}

static int relist(struct kube_watch *w, struct kstatus_error *err) {
        _cleanup_json_ json_t *list = NULL;
        int r = kube_client_list(w->c, w->path, 500, NULL, NULL, &list, err);
        if (r < 0)
                return r;
        const char *rv = json_string_value(json_object_get(json_object_get(list, "metadata"), "resourceVersion"));
        free(w->rv);
        w->rv = rv && *rv ? xstrdup(rv) : NULL;
        r = w->fn("RELIST", list, w->userdata);
        if (r != 0)
                return r;
        return 0;
}

static int stream_done(struct kube_watch *w, CURLcode result, struct kstatus_error *err) {
        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
        int64_t retry_after = w->resp.retry_after_ms;
        curl_multi_remove_handle(w->multi, w->h);
        w->attached = false;
        if (w->stop)
                return w->stop;
        if (w->code == 0 && curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &w->code) != CURLE_OK)
                w->code = 0;
        if (w->error_status) {
                _cleanup_free_ char *text = json_dumps(w->error_status, JSON_COMPACT);
                _cleanup_free_ char *reason = NULL;
                json_int_t code = json_integer_value(json_object_get(w->error_status, "code"));
                char *msg = kube_format_server_error((int)code, text, strlen(text), &reason);
                int r = kube_http_errno((int)code, reason);
                kstatus_error_set_http(err, r, (int)code, reason, msg);
                json_decref(TAKE_PTR(w->error_status));
                if (code >= 500 || code == 429) {
                        retry_later(w, -1);
                        return 0;
                }
                return r;
        }
        if (w->gone || w->code == 410) {
                int r = relist(w, err);
                if (r != 0)
                        return r;
                w->backoff_ms = 0;
                r = start_stream(w, &e);
                if (r < 0)
                        goto fail;
                return 0;
        }
        if (w->code == 200 || (result != CURLE_OK && w->code == 0)) {
                /* The stream ended (server timeout, dropped connection):
                 * resume from the last resourceVersion; at once when it
                 * delivered something, else after a backoff. */
                if (w->too_big)
                        return kstatus_error_set(err, E2BIG, 0, 0, "error: a watch event is larger than 16 MiB");
                if (w->too_many) {
                        _cleanup_free_ char *limit = kube_format_size(max_memory(w));
                        return kstatus_error_set(err, E2BIG, 0, 0,
                                                 "error: a watch event would take more than %s once parsed", limit);
                }
                if (w->got_line) {
                        w->backoff_ms = 0;
                        int r = start_stream(w, &e);
                        if (r < 0)
                                goto fail;
                } else
                        retry_later(w, -1);
                return 0;
        }
        if (w->code == 429 || w->code >= 500) {
                retry_later(w, retry_after);
                return 0;
        }
        char *reason = NULL; /* no cleanup attribute: `goto fail` jumps past it */
        char *msg = kube_format_server_error((int)w->code, w->err_body, w->err_len, &reason);
        int r = kube_http_errno((int)w->code, reason);
        kstatus_error_set_http(err, r, (int)w->code, reason, msg);
        free(reason);
        return r;
fail:
        return kstatus_error_set(err, EPERM, 0, 0, "Unable to connect to the server: %s", e.message);
}

int kube_watch_process(struct kube_watch *w, struct kstatus_error *err) {
        struct epoll_event evs[8];
        int running = 0;
        int n = epoll_wait(w->epfd, evs, ELEMENTSOF(evs), 0);
        if (n < 0 && errno != EINTR) {
                int e = errno;
                return kstatus_error_set(err, e, 0, 0, "error: epoll_wait: %s", strerror(e));
        }
        for (int i = 0; i < n; i++) {
                int fd = evs[i].data.fd;
                uint64_t ticks;
                if (fd == w->timerfd) {
                        (void)!read(fd, &ticks, sizeof(ticks));
                        curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
                } else if (fd == w->retryfd) {
                        (void)!read(fd, &ticks, sizeof(ticks));
                        if (!w->attached) {
                                _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
                                if (start_stream(w, &e) < 0)
                                        return kstatus_error_set(err, EPERM, 0, 0,
                                                                 "Unable to connect to the server: %s", e.message);
                        }
                } else {
                        int mask = ((evs[i].events & EPOLLIN) ? CURL_CSELECT_IN : 0) |
                                   ((evs[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                                   ((evs[i].events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
                        curl_multi_socket_action(w->multi, fd, mask, &running);
                }
        }
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(w->multi, &left))) {
                if (msg->msg != CURLMSG_DONE)
                        continue;
                int r = stream_done(w, msg->data.result, err);
                if (r != 0)
                        return r;
        }
        return 0;
}

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int kube_watch_run(struct kube_watch *w, int64_t timeout_ms, struct kstatus_error *err) {
        int64_t end = timeout_ms >= 0 ? now_ms() + timeout_ms : -1;
        for (;;) {
                int wait = -1;
                if (end >= 0) {
                        int64_t left = end - now_ms();
                        if (left <= 0)
                                return kstatus_error_set(err, ETIMEDOUT, 0, 0,
                                                         "error: timed out waiting for the condition");
                        wait = left > 1000000 ? 1000000 : (int)left;
                }
                struct pollfd p = { .fd = w->epfd, .events = POLLIN };
                int n = poll(&p, 1, wait);
                if (n < 0 && errno != EINTR) {
                        int e = errno;
                        return kstatus_error_set(err, e, 0, 0, "error: poll: %s", strerror(e));
                }
                if (n > 0) {
                        int r = kube_watch_process(w, err);
                        if (r != 0)
                                return r;
                }
        }
}
