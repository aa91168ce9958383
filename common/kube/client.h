/* client.h - talking to the Kubernetes API (docs/BEHAVIOUR.md §6).
 *
 * A struct kube_client carries everything (no global state): one curl easy
 * handle reused for every request (keep-alive, HTTP/2 where the server offers
 * it over TLS), the credentials of a struct kube_config, the exec plugin's
 * cached credential and an injectable clock for the retry loop.
 *
 * Failures are described in a struct kstatus_error (util.h): the errno, the
 * HTTP code and reason when the server answered (0 and NULL when it did not:
 * connection error, timeout, credentials), and a message worded as kubectl words it:
 *   Error from server (NotFound): databases.example.promise.syntasso.io "x" not found
 *   error: You must be logged in to the server (Unauthorized)
 *   The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?
 *   Unable to connect to the server: <why>
 * Credentials never appear in them. Library code: nothing here prints. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "kube/config.h"
#include "util.h"

struct kube_client;

/* The clock the retry loop uses; tests inject one to run fast and see every
 * sleep. Any member NULL: the real one (CLOCK_MONOTONIC, nanosleep, random()). */
struct kube_clock {
        int64_t (*now_ms)(void *userdata);
        void (*sleep_ms)(void *userdata, int64_t ms);
        uint32_t (*random)(void *userdata);
        void *userdata;
};

struct kube_client_options {
        int64_t request_timeout_ms; /* --request-timeout per request; 0: none (connect still times out at 30 s) */
        const char *user_agent;     /* NULL: "kstatus/<version>" */
        size_t max_response_bytes;  /* an answer (object or list page) past this is refused; 0: 64 MiB */
        /* An answer (object, list page or watch event) whose parsed tree
         * would take more heap than this is refused before it is parsed (an
         * estimate from its text: objects, arrays, strings and keys, numbers,
         * literals, each weighted by what jansson takes): what bounds the
         * memory its tree takes, which its size alone does not. 0: 512 MiB. */
        size_t max_response_memory;
        /* Told each warning a server sends (a `Warning: 299 AGENT "TEXT"`
         * header, parsed as client-go parses them; other codes and empty
         * texts are dropped, as client-go's warning writer drops them). The
         * text is the server's, unescaped: the caller escapes it before a
         * terminal sees it. NULL: warnings are ignored. */
        void (*on_warning)(void *userdata, const char *text);
        void *warning_userdata;
};

/* Create a client for config (borrowed: it must outlive the client).
 * opts may be NULL. Returns 0 or a negative errno with err filled. */
int kube_client_new(const struct kube_config *config, const struct kube_client_options *opts,
                    struct kube_client **ret, struct kstatus_error *err);
void kube_client_free(struct kube_client *c);
static inline void kube_client_freep(struct kube_client **c) { kube_client_free(*c); }

void kube_client_set_clock(struct kube_client *c, const struct kube_clock *clock);

/* Change the per-request timeout (kube_client_options.request_timeout_ms) for
 * the requests that follow: a command with one deadline gives each request
 * only what is left of it. */
void kube_client_set_request_timeout(struct kube_client *c, int64_t ms);

/* "host:port" of the server, for messages (borrowed). */
const char *kube_client_host(const struct kube_client *c);

/* Number of HTTP requests made so far and of TCP/TLS connections opened (to
 * check "one request per push" and connection reuse). */
void kube_client_counters(const struct kube_client *c, unsigned *requests, unsigned *connections);

/* The HTTP version of the last answer: 10 (HTTP/1.0), 11, 20 (HTTP/2 agreed
 * by ALPN) or 30; 0 before any answer. To check what was negotiated. */
int kube_client_http_version(const struct kube_client *c);

/* One request, no retries. path starts with "/" and may carry a query.
 * body may be NULL; content_type NULL means application/json.
 * Returns 0 for a 2xx answer with the parsed body in *ret (new reference;
 * json_null() for an empty body), else a negative errno; with ret NULL the
 * answer's body is not parsed (a status write whose answer the caller does
 * not need costs no tree):
 * -ENOENT 404, -EEXIST 409 AlreadyExists, -ESTALE 409 Conflict, -EACCES 401/403,
 * -EAGAIN 429/503, -EIO other HTTP errors, -ECONNREFUSED, -ETIMEDOUT, -ECONNRESET
 * or -EHOSTUNREACH when there was no answer, -EPERM when no credential could be
 * obtained; err (may be NULL) describes it. */
int kube_client_request(struct kube_client *c, const char *method, const char *path, const char *content_type,
                        const json_t *body, json_t **ret, struct kstatus_error *err);

/* GET path; *ret a new reference. */
int kube_client_get(struct kube_client *c, const char *path, json_t **ret, struct kstatus_error *err);

/* Called with each piece of a streamed answer as it arrives (data borrowed,
 * not NUL-terminated, pieces cut anywhere); return 0 to go on, non-zero to
 * stop (returned by kube_client_stream). */
typedef int (*kube_stream_fn)(const char *data, size_t len, void *userdata);

/* GET path and hand a 2xx body over to fn as it comes, without keeping it
 * (pods/log, text; follow=true streams until the server ends it). no_timeout:
 * no --request-timeout on the transfer (a followed log). Returns 0 when the
 * answer ended, fn's non-zero value when it stopped, or a negative errno as
 * kube_client_request (an error answer is collected, bounded, for err). */
int kube_client_stream(struct kube_client *c, const char *path, bool no_timeout, kube_stream_fn fn, void *userdata,
                       struct kstatus_error *err);

/* Called per page of a LIST (page borrowed); return 0 to go on, non-zero to
 * stop (returned by kube_client_list). */
typedef int (*kube_page_fn)(const json_t *page, void *userdata);

/* LIST path (a collection, may carry a query such as "?labelSelector=a%3Db"),
 * limit items per request (0: no limit), following metadata.continue.
 * With page_fn each page is handed over as it comes and *ret is untouched (ret
 * may be NULL); without, the pages are joined into one List object in *ret
 * (new reference): items of every page, metadata.resourceVersion of the last
 * (what a watch resumes from). A 410 Gone while paging (the continue token
 * expired) restarts the list from the beginning once, as kubectl does; with
 * page_fn the pages before it are then handed over again. */
int kube_client_list(struct kube_client *c, const char *path, unsigned limit, kube_page_fn page_fn, void *userdata,
                     json_t **ret, struct kstatus_error *err);

enum kube_patch_type {
        KUBE_PATCH_MERGE,      /* application/merge-patch+json */
        KUBE_PATCH_JSON,       /* application/json-patch+json */
        KUBE_PATCH_STRATEGIC,  /* application/strategic-merge-patch+json (built-in types only) */
};

const char *kube_patch_content_type(enum kube_patch_type type);

/* Retry policy for writes (docs/BEHAVIOUR.md §6), the one every program uses:
 *   409 Conflict     → recompute() re-reads and returns a new body, or says there is nothing to do
 *   429, 503         → wait Retry-After seconds (else backoff)
 *   other 5xx, no answer (refused, reset, timeout) → exponential backoff with full jitter
 *   anything else    → returned at once with the server's message
 * all bounded by deadline_ms from the first attempt; a wait that would pass
 * the deadline is not started. */
struct kube_retry_policy {
        int64_t deadline_ms;        /* 0: one attempt, no retries */
        int64_t initial_backoff_ms; /* 0: 100 */
        int64_t max_backoff_ms;     /* 0: 5000 */
        /* An event loop cannot sleep: retry at once what needs no wait (a 409
         * through recompute), and return a failure that needs a wait; the
         * caller schedules it after kube_retry_wait_ms(). */
        bool no_sleep;
        /* Returns 1 with a new body (new reference) in *body, 0 when nothing is
         * left to write, or a negative errno (and fills err) to give up; a
         * transient one (kube_error_is_transient) is waited out like a failed
         * attempt and the write retried. NULL: a 409 is returned like any other
         * error. */
        int (*recompute)(struct kube_client *c, void *userdata, json_t **body, struct kstatus_error *err);
        /* Told before each wait (may be NULL): for a log line. */
        void (*on_retry)(void *userdata, const struct kstatus_error *err, int64_t wait_ms);
        void *userdata;
        /* What is left of a time budget the caller shares among many calls
         * (may be NULL; it returns ms, or <0 while none applies): every
         * attempt ends by it, even the one attempt of a deadline_ms of 0, and
         * a wait that would pass it is not started. */
        int64_t (*budget_ms)(void *budget_userdata);
        void *budget_userdata;
};
#define KUBE_NOTHING_TO_DO 1

/* The one notion of "worth retrying" the retry policy uses: 429 and 5xx, or no
 * answer because the connection was refused, reset or timed out, or the host
 * did not resolve. A TLS verification failure, a rejected credential (401/403),
 * 404 or 422 are permanent. (A 409 is the caller's: see recompute.) r is the
 * negative errno the call returned. */
bool kube_error_is_transient(int r, const struct kstatus_error *e);

/* How long to wait before retry number attempt (0-based) after the
 * transient failure err: its Retry-After for 429 and 503, else full jitter in
 * [0, min(initial << attempt, max)] from the client's clock. */
int64_t kube_retry_wait_ms(struct kube_client *c, const struct kube_retry_policy *policy, unsigned attempt,
                           const struct kstatus_error *err);

/* Send a write (method PATCH, POST, PUT or DELETE; or a GET that should ride
 * out faults, body NULL) under policy (NULL: one attempt). Returns 0 with the server's answer in *ret (new reference; ret
 * may be NULL), KUBE_NOTHING_TO_DO when recompute() said so, or a negative
 * errno with err describing the last failure; err->attempts counts requests.
 * When the deadline ends the retries the message says so. */
int kube_client_write(struct kube_client *c, const char *method, const char *path, const char *content_type,
                      const json_t *body, const struct kube_retry_policy *policy, json_t **ret,
                      struct kstatus_error *err);

/* PATCH path (the object's path) or path + "/" + subresource (subresource may
 * be NULL), body borrowed. As kube_client_write. */
int kube_client_patch(struct kube_client *c, const char *path, const char *subresource, enum kube_patch_type type,
                      const json_t *body, const struct kube_retry_policy *policy, json_t **ret,
                      struct kstatus_error *err);

/* POST body to the collection path (e.g. /api/v1/namespaces/ns/events). */
int kube_client_create(struct kube_client *c, const char *path, const json_t *body,
                       const struct kube_retry_policy *policy, json_t **ret, struct kstatus_error *err);

/* Format a server answer as kubectl does, into a new string: code is the HTTP
 * status, body the response text (may be NULL or not JSON). *reason (may be
 * NULL) gets a new string or NULL. Exposed for tests and for callers that
 * build their own requests. */
char *kube_format_server_error(int code, const char *body, size_t len, char **reason);

/* Percent-encode s for a query value or path segment (new string). */
char *kube_escape(const char *s);

/* What makes name unfit to be a path segment (a namespace or object name), in
 * client-go's words ("[may not contain '/']", new string), or NULL if fit:
 * kubectl refuses such names before they reach a URL. */
char *kube_path_segment_problems(const char *name);
