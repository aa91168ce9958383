/* lease.c - leader election with a coordination.k8s.io/v1 Lease, as
 * client-go's tools/leaderelection does it (docs/BEHAVIOUR.md §7).
 *
 * A candidate tries every retry period (with client-go's jitter: up to 2.2
 * times it) to take the Lease: it creates it when there is none, and takes it
 * over when it names no holder or its holder has not renewed it for
 * leaseDurationSeconds by this replica's own clock (the time it last saw the
 * Lease change, never the times written in it). The leader renews it every
 * retry period; every update is a PUT carrying the resourceVersion last read,
 * so of two replicas racing for it one gets 409 Conflict. A leader that has
 * not renewed for the renew deadline, or finds another holder, stops writing
 * at once and is a candidate again; on SIGTERM it releases the Lease (holder
 * cleared, duration 1 s, as client-go's ReleaseOnCancel) so that another
 * takes over at its next try instead of after the lease duration.
 *
 * The requests go through their own client, whose request timeout is at most
 * the lease duration minus the renew deadline: a renewal that hangs ends
 * before another replica may take the Lease. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "kube/config.h"
#include "log.h"
#include "version.h"

#define JITTER_FACTOR 1.2 /* client-go's leaderelection.JitterFactor */

/* The time now as a metav1.MicroTime ("2026-12-05T23:30:33.123456Z"). */
static char *micro_time_now(void) {
        struct timespec ts;
        struct tm tm;
        char buf[32];
        (void)clock_gettime(CLOCK_REALTIME, &ts);
        (void)gmtime_r(&ts.tv_sec, &tm);
        (void)strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
        return xasprintf("%s.%06ldZ", buf, ts.tv_nsec / 1000);
}

static const char *spec_str(const json_t *spec, const char *key) {
        const char *s = json_string_value(json_object_get(spec, key));
        return s ? s : "";
}

static json_int_t spec_int(const json_t *spec, const char *key) {
        return json_integer_value(json_object_get(spec, key));
}

static json_t *observed_spec(const struct health_lease *l) {
        return json_object_get(l->observed, "spec");
}

/* client-go's IsLeader: the Lease last observed names this replica. */
static bool names_me(const struct health_lease *l) {
        return strcmp(spec_str(observed_spec(l), "holderIdentity"), l->identity) == 0;
}

/* client-go's isLeaseValid: observed less than leaseDurationSeconds ago. */
static bool observed_valid(const struct health_lease *l, int64_t now) {
        return l->observed_ms + spec_int(observed_spec(l), "leaseDurationSeconds") * 1000 > now;
}

/* Take lease (a new reference) as the one last read or written; the time it
 * was observed moves only when its spec changed. */
static void observe(struct health_lease *l, json_t *lease) {
        if (!l->observed || !json_equal(json_object_get(lease, "spec"), observed_spec(l))) {
                l->observed_ms = kstatus_monotonic_ms();
                const char *was = spec_str(observed_spec(l), "holderIdentity");
                const char *holder = spec_str(json_object_get(lease, "spec"), "holderIdentity");
                if (strcmp(was, holder) != 0 && *holder && strcmp(holder, l->identity) != 0)
                        log_info("leader", "lease \"%s/%s\" is held by \"%s\"", l->namespace, l->name, holder);
        }
        json_decref(l->observed);
        l->observed = lease;
}

static json_t *record(const char *holder, int64_t seconds, const char *acquired,
                      const char *renewed, json_int_t transitions) {
        return json_pack("{s:s, s:I, s:s, s:s, s:I}", "holderIdentity", holder, "leaseDurationSeconds",
                         (json_int_t)seconds, "acquireTime", acquired, "renewTime", renewed, "leaseTransitions",
                         transitions);
}

/* PUT the Lease last observed with spec (taken over), from its resourceVersion. */
static int update(struct health_lease *l, json_t *spec, struct kstatus_error *err) {
        _cleanup_json_ json_t *body = json_deep_copy(l->observed);
        json_object_set_new(body, "spec", spec);
        json_t *answer = NULL;
        int r = kube_client_request(l->client, "PUT", l->path, NULL, body, &answer, err);
        if (r < 0)
                return r;
        observe(l, answer);
        return 1;
}

static int create(struct health_lease *l, json_t *spec, struct kstatus_error *err) {
        _cleanup_json_ json_t *body = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o}", "apiVersion",
                                                "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name",
                                                l->name, "namespace", l->namespace, "spec", spec);
        _cleanup_free_ char *ns = kube_escape(l->namespace);
        _cleanup_free_ char *path = xasprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases", ns);
        json_t *answer = NULL;
        int r = kube_client_request(l->client, "POST", path, NULL, body, &answer, err);
        if (r == -EEXIST)
                return 0; /* another replica created it first */
        if (r < 0)
                return r;
        observe(l, answer);
        return 1;
}

/* client-go's tryAcquireOrRenew: 1 when this replica holds the Lease now, 0
 * when another does, or a negative errno (err says why). */
static int try_acquire_or_renew(struct health_lease *l, struct kstatus_error *err) {
        int64_t seconds = l->duration_ms / 1000;
        _cleanup_free_ char *now = micro_time_now();
        /* 1. The leader's fast path: update what it last wrote. */
        if (l->observed && names_me(l) && observed_valid(l, kstatus_monotonic_ms())) {
                json_t *old = observed_spec(l);
                int r = update(l, record(l->identity, seconds, spec_str(old, "acquireTime"), now,
                                         spec_int(old, "leaseTransitions")), err);
                if (r > 0)
                        return r;
                log_debug("leader", "cannot renew lease \"%s/%s\" optimistically: %s", l->namespace, l->name,
                          err->message);
                kstatus_error_done(err);
        }
        /* 2. Read it, or create it. */
        json_t *got = NULL;
        int r = kube_client_get(l->client, l->path, &got, err);
        if (r == -ENOENT) {
                kstatus_error_done(err);
                return create(l, record(l->identity, seconds, now, now, 0), err);
        }
        if (r < 0)
                return r;
        observe(l, got);
        /* 3. Held by another, not expired: wait. */
        json_t *old = observed_spec(l);
        if (*spec_str(old, "holderIdentity") && observed_valid(l, kstatus_monotonic_ms()) && !names_me(l))
                return 0;
        /* 4. Take it over (or renew it on the slow path). */
        bool mine = names_me(l);
        return update(l, record(l->identity, seconds, mine ? spec_str(old, "acquireTime") : now, now,
                                spec_int(old, "leaseTransitions") + (mine ? 0 : 1)), err);
}

/* The next try: the leader every retry period, a candidate with jitter. */
static void arm_next(struct health *h) {
        struct health_lease *l = &h->lease;
        int64_t wait = l->retry_period_ms;
        if (!l->leader) {
                uint32_t rnd = 0;
                if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
                        rnd = 0;
                wait += (int64_t)((double)l->retry_period_ms * JITTER_FACTOR * ((double)rnd / UINT32_MAX));
        }
        (void)kstatus_timerfd_arm(l->fd, wait);
}

static void lose(struct health *h, const char *why) {
        struct health_lease *l = &h->lease;
        l->leader = false;
        log_warning("leader", "%s lost lease \"%s/%s\": %s; stopped writing", l->identity, l->namespace, l->name,
                    why);
        health_stop_writing(h);
}

void health_lease_tick(struct health *h) {
        struct health_lease *l = &h->lease;
        int64_t start = kstatus_monotonic_ms();
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int r = try_acquire_or_renew(l, &err);
        if (r > 0) {
                l->renewed_ms = start;
                if (!l->leader) {
                        l->leader = true;
                        log_info("leader", "%s acquired lease \"%s/%s\" (transitions %" JSON_INTEGER_FORMAT
                                 "); writing from now on", l->identity, l->namespace, l->name,
                                 spec_int(observed_spec(l), "leaseTransitions"));
                        health_start_writing(h);
                }
        } else if (l->leader && r == 0)
                lose(h, "another replica holds it");
        else if (l->leader && kstatus_monotonic_ms() - l->renewed_ms >= l->renew_deadline_ms) {
                _cleanup_free_ char *why = xasprintf("not renewed within the renew deadline: %s", err.message);
                lose(h, why);
        } else if (r < 0)
                log_warning("leader", "cannot %s lease \"%s/%s\": %s", l->leader ? "renew" : "acquire",
                            l->namespace, l->name, err.message);
        kstatus_error_done(&err);
        arm_next(h);
}

bool health_may_write(struct health *h) {
        struct health_lease *l = &h->lease;
        if (!l->enabled)
                return true;
        /* A long pass of writes renews on the way, as the leader's own
         * goroutine would in client-go. */
        if (l->leader && kstatus_monotonic_ms() - l->renewed_ms >= l->retry_period_ms)
                health_lease_tick(h);
        return l->leader && kstatus_monotonic_ms() - l->renewed_ms < l->renew_deadline_ms;
}

void health_lease_release(struct health *h) {
        struct health_lease *l = &h->lease;
        if (!l->enabled || !l->leader)
                return;
        l->leader = false;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        /* client-go retries a conflict; a bounded number of times here. */
        for (int attempt = 0; attempt < 3; attempt++) {
                kstatus_error_done(&err);
                json_t *got = NULL;
                int r = kube_client_get(l->client, l->path, &got, &err);
                if (r < 0)
                        break;
                observe(l, got);
                if (!names_me(l)) {
                        log_info("leader", "lease \"%s/%s\" is no longer %s's: nothing to release", l->namespace,
                                 l->name, l->identity);
                        return;
                }
                _cleanup_free_ char *now = micro_time_now();
                r = update(l, record("", 1, now, now, spec_int(observed_spec(l), "leaseTransitions")), &err);
                if (r > 0) {
                        log_info("leader", "%s released lease \"%s/%s\"", l->identity, l->namespace, l->name);
                        return;
                }
                if (r != -ESTALE)
                        break;
        }
        log_warning("leader", "cannot release lease \"%s/%s\": %s", l->namespace, l->name, err.message);
        kstatus_error_done(&err);
}

/* This replica's holderIdentity: its Pod's name (the hostname in a Pod) and a
 * random suffix, as controller-runtime makes it, so that a restarted Pod is
 * a new holder. */
static char *make_identity(void) {
        char host[256] = "";
        if (gethostname(host, sizeof(host) - 1) < 0 || !*host)
                strcpy(host, "kstatus-health");
        uint64_t rnd = 0;
        if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
                rnd = (uint64_t)kstatus_monotonic_ms() ^ (uint64_t)getpid() << 32;
        return xasprintf("%s_%016llx", host, (unsigned long long)rnd);
}

int health_lease_setup(struct health *h, struct kstatus_error *err) {
        struct health_lease *l = &h->lease;
        if (!l->enabled)
                return 0;
        if (!l->namespace)
                l->namespace = xstrdup(h->config->namespace ? h->config->namespace : "default");
        l->identity = make_identity();
        _cleanup_free_ char *ns = kube_escape(l->namespace), *name = kube_escape(l->name);
        l->path = xasprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s", ns, name);
        int64_t timeout = l->duration_ms - l->renew_deadline_ms;
        struct kube_client_options opts = {
                .request_timeout_ms = h->conn.request_timeout_ms > 0 && h->conn.request_timeout_ms < timeout
                                              ? h->conn.request_timeout_ms
                                              : timeout,
                .user_agent = "kstatus-health/" KSTATUS_VERSION,
        };
        int r = kube_client_new(h->config, &opts, &l->client, err);
        if (r < 0)
                return r;
        l->fd = kstatus_timerfd_new();
        return l->fd < 0 ? l->fd : 0;
}

void health_lease_done(struct health_lease *l) {
        kube_client_free(l->client);
        json_decref(l->observed);
        free(l->name);
        free(l->namespace);
        free(l->identity);
        free(l->path);
        if (l->fd >= 0)
                close(l->fd);
}
