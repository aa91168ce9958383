/* retry.c - the one retry policy every write uses (docs/BEHAVIOUR.md §6):
 * a 409 recomputed, 429/503 after Retry-After, other transient failures after
 * an exponential backoff with full jitter, all within a deadline, on the
 * client's injectable clock. */
#include "kube/client.h"

#include <errno.h>
#include <inttypes.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "kube/internal.h"

static int64_t real_now_ms(void *userdata) {
        (void)userdata;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void real_sleep_ms(void *userdata, int64_t ms) {
        (void)userdata;
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Jitter must differ between processes (many sidecars retrying against one
 * API server), so not random() unseeded. */
static uint32_t real_random(void *userdata) {
        (void)userdata;
        uint32_t v;
        if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
                return v;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint32_t)ts.tv_nsec ^ (uint32_t)getpid() * 2654435761u;
}

void kube_client_set_clock(struct kube_client *c, const struct kube_clock *clock) {
        c->clock.now_ms = clock && clock->now_ms ? clock->now_ms : real_now_ms;
        c->clock.sleep_ms = clock && clock->sleep_ms ? clock->sleep_ms : real_sleep_ms;
        c->clock.random = clock && clock->random ? clock->random : real_random;
        c->clock.userdata = clock ? clock->userdata : NULL;
}

static char *format_ms(int64_t ms) {
        if (ms < 1000)
                return xasprintf("%" PRId64 "ms", ms);
        return xasprintf("%" PRId64 ".%" PRId64 "s", ms / 1000, (ms % 1000) / 100);
}

int64_t kube_retry_wait_ms(struct kube_client *c, const struct kube_retry_policy *policy, unsigned attempt,
                           const struct kstatus_error *err) {
        if ((err->http_code == 429 || err->http_code == 503) && err->retry_after_ms >= 0)
                return err->retry_after_ms;
        int64_t initial = policy && policy->initial_backoff_ms > 0 ? policy->initial_backoff_ms : 100;
        int64_t max = policy && policy->max_backoff_ms > 0 ? policy->max_backoff_ms : 5000;
        int64_t cap = initial;
        for (unsigned i = 0; i < attempt && cap < max; i++)
                cap *= 2;
        if (cap > max)
                cap = max;
        /* Full jitter: anywhere in [0, cap]. */
        return (int64_t)(c->clock.random(c->clock.userdata) % (uint64_t)(cap + 1));
}

/* One write in progress under a policy. */
struct write_state {
        struct kube_client *c;
        const struct kube_retry_policy *p;
        int64_t start;
        unsigned waits;  /* backoffs so far (the next one's exponent) */
        json_t *body;    /* what the next attempt sends (owned) */
};

static int64_t elapsed_ms(const struct write_state *w) {
        return w->c->clock.now_ms(w->c->clock.userdata) - w->start;
}

/* What the caller's shared budget leaves, <0 when none applies. */
static int64_t budget_left(const struct write_state *w) {
        return w->p->budget_ms ? w->p->budget_ms(w->p->budget_userdata) : -1;
}

/* Each attempt ends by the deadline and the budget too. */
static void attempt_timeout(struct write_state *w) {
        int64_t t = w->c->opts.request_timeout_ms, budget = budget_left(w);
        int64_t left = w->p->deadline_ms > 0 ? w->p->deadline_ms - elapsed_ms(w) : -1;
        if (budget >= 0 && (left < 0 || budget < left))
                left = budget;
        if (left >= 0 && (t == 0 || left < t))
                t = left > 1 ? left : 1;
        w->c->attempt_timeout_ms = t;
}

/* After failure r: 2 to retry at once with a recomputed body, 1 to retry
 * after *wait, 0 to return r (or *r replaced: KUBE_NOTHING_TO_DO, or the
 * recompute's error). */
static int next_step(struct write_state *w, int *r, struct kstatus_error *e, int64_t *wait) {
        const struct kube_retry_policy *p = w->p;
        *wait = 0;
        if (p->deadline_ms <= 0)
                return 0;
        if (e->http_code == 409 && *r == -ESTALE && p->recompute) {
                json_t *next = NULL;
                int rr = p->recompute(w->c, p->userdata, &next, e);
                if (rr == 0) {
                        *r = KUBE_NOTHING_TO_DO;
                        return 0;
                }
                if (rr > 0) {
                        json_decref(w->body);
                        w->body = next;
                        return 2;
                }
                *r = rr;
        }
        if (!kube_error_is_transient(*r, e))
                return 0;
        *wait = kube_retry_wait_ms(w->c, p, w->waits, e);
        if (!((e->http_code == 429 || e->http_code == 503) && e->retry_after_ms >= 0))
                w->waits++; /* Retry-After does not move the backoff on */
        return 1;
}

/* deadline_ms <0: the caller's budget ran out. */
static void gave_up(struct kstatus_error *e, int attempts, int64_t deadline_ms) {
        _cleanup_free_ char *d = deadline_ms >= 0 ? format_ms(deadline_ms) : NULL;
        char *msg = xasprintf("%s (gave up after %d attempts: %s%s)", e->message ? e->message : "error", attempts,
                              d ? "deadline " : "out of time", d ? d : "");
        free(e->message);
        e->message = msg;
}

int kube_client_write(struct kube_client *c, const char *method, const char *path, const char *content_type,
                      const json_t *body, const struct kube_retry_policy *policy, json_t **ret,
                      struct kstatus_error *err) {
        static const struct kube_retry_policy none = { 0 };
        struct write_state w = { .c = c, .p = policy ? policy : &none, .start = c->clock.now_ms(c->clock.userdata),
                                 .body = json_incref((json_t *)body) };
        _cleanup_(kstatus_error_done) struct kstatus_error local = { 0 };
        struct kstatus_error *e = err ? err : &local;
        kstatus_error_done(e);
        int r;
        for (int attempt = 1;; attempt++) {
                attempt_timeout(&w);
                e->attempts = attempt;
                e->retry_after_ms = -1;
                r = kube_client_request(c, method, path, content_type, w.body, ret, e);
                c->attempt_timeout_ms = 0;
                int64_t wait;
                int step = r == 0 ? 0 : next_step(&w, &r, e, &wait);
                /* An event loop waits in its own timer: only a recompute is retried at once. */
                if (step == 0 || (step == 1 && w.p->no_sleep))
                        break;
                if (elapsed_ms(&w) + wait >= w.p->deadline_ms) {
                        gave_up(e, attempt, w.p->deadline_ms);
                        break;
                }
                int64_t budget = budget_left(&w);
                if (budget >= 0 && wait >= budget) {
                        gave_up(e, attempt, -1);
                        break;
                }
                if (w.p->on_retry)
                        w.p->on_retry(w.p->userdata, e, wait);
                if (wait > 0)
                        c->clock.sleep_ms(c->clock.userdata, wait);
        }
        if (r >= 0) {
                int attempts = e->attempts;
                kstatus_error_done(e);
                e->attempts = attempts;
        }
        json_decref(w.body);
        return r;
}

int kube_client_patch(struct kube_client *c, const char *path, const char *subresource, enum kube_patch_type type,
                      const json_t *body, const struct kube_retry_policy *policy, json_t **ret,
                      struct kstatus_error *err) {
        _cleanup_free_ char *full = subresource ? xasprintf("%s/%s", path, subresource) : xstrdup(path);
        return kube_client_write(c, "PATCH", full, kube_patch_content_type(type), body, policy, ret, err);
}

int kube_client_create(struct kube_client *c, const char *path, const json_t *body,
                       const struct kube_retry_policy *policy, json_t **ret, struct kstatus_error *err) {
        return kube_client_write(c, "POST", path, "application/json", body, policy, ret, err);
}
