/* internal.h - what the client's files (client.c, errors.c, setup.c,
 * request.c, retry.c), exec.c, watch.c and discovery.c share. Not for use
 * outside common/kube/. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include "kube/client.h"
#include "kube/watch.h"

/* Answers larger than this are refused: a List of custom resources is far
 * smaller, and a runaway server must not exhaust the sidecar's memory. */
#define MAX_RESPONSE_BYTES (64u << 20)

/* The most heap jansson may take for one answer's tree when
 * kube_client_options.max_response_memory is 0: a List page of 10 000 Kratix
 * resources takes ~25 MiB. */
#define MAX_RESPONSE_MEMORY ((size_t)512 << 20)

/* Estimate the bytes of heap jansson would allocate for the tree of the JSON
 * text (len bytes): objects, arrays, strings and keys (with their lengths),
 * numbers and literals, each weighted by what jansson takes for it, in one
 * linear pass that does not validate. Returns 0 with the estimate in *ret (may
 * be NULL), or -E2BIG as soon as it passes max_bytes (json-bound.c). */
int kube_json_estimate_memory(const char *text, size_t len, size_t max_bytes, size_t *ret);

/* One response being received. With sink set the body is streamed to it
 * (watch) instead of collected. */
struct kube_response {
        char *data;
        size_t len, cap;
        size_t limit; /* the largest body taken; 0: MAX_RESPONSE_BYTES */
        bool too_big;
        int64_t retry_after_ms;
        size_t (*sink)(const char *data, size_t len, void *userdata);
        void *sink_userdata;
        void (*on_warning)(void *userdata, const char *text); /* kube_client_options' */
        void *warning_userdata;
};

void kube_response_reset(struct kube_response *resp);

/* The largest body resp takes. */
size_t kube_response_limit(const struct kube_response *resp);

/* "64 MiB", "512 KiB" or "1000 bytes" (new string). */
char *kube_format_size(size_t n);

/* A credential from an exec plugin (client.authentication.k8s.io). */
struct kube_exec_cred {
        bool valid;
        char *token;
        char *cert, *key; /* PEM */
        int64_t expires_s; /* wall clock seconds; 0: no expiry given */
};

struct kube_client {
        const struct kube_config *config;
        struct kube_client_options opts;
        char *user_agent;
        char *base; /* scheme://host:port[/prefix] requests go to */
        char *host; /* host:port, for messages */
        struct curl_slist *connect_to;
        CURL *curl;
        char errbuf[CURL_ERROR_SIZE];
        struct kube_response resp;
        int64_t attempt_timeout_ms;
        struct kube_clock clock;
        char *file_token;
        struct stat token_stat;
        struct kube_exec_cred exec_cred;
        unsigned exec_runs; /* how often the plugin ran (tests) */
        unsigned requests, connections;
        int http_version; /* of the last answer, as kube_client_http_version() */
        struct curl_slist *identity; /* the Impersonate-* header lines */
        char *identity_error;        /* why they cannot be sent (Go's words), NULL: they can */
};

int kube_handle_setup(struct kube_client *c, CURL *h, char *errbuf, struct kube_response *resp,
                      struct kstatus_error *err);
int kube_handle_setup_tls(struct kube_client *c, CURL *h, struct kstatus_error *err);
int kube_apply_auth(struct kube_client *c, CURL *h, struct kstatus_error *err);
int kube_transport_error(struct kube_client *c, CURLcode cc, long os_errno, const char *errbuf, bool too_big,
                         struct kstatus_error *err);
int kube_http_errno(int code, const char *reason);
void kube_secret_free(char *s);

/* The Impersonate-* header lines of c's config into c->identity, or Go's
 * refusal of a value with a control character into c->identity_error. */
void kube_identity_setup(struct kube_client *c);

/* The warnings of one Warning header value (client-go's
 * ParseWarningHeaders): fn is called with the text of each 299 warning that
 * is not empty; a malformed warning ends the parse of that header. */
void kube_parse_warnings(const char *value, void (*fn)(void *userdata, const char *text), void *userdata);

/* Whether s holds a C0 control character or DEL: such a credential would
 * reach the wire as a header line of its own. */
bool kube_has_control(const char *s);

/* Whether server (a kubeconfig's server URL) is spoken to over TLS. */
bool kube_server_is_tls(const char *server);

/* Make sure c->exec_cred holds a credential that has not expired, running
 * the plugin when needed. Returns 0 when the cached one is still good, 1 when
 * the plugin ran (client certificates may have changed), or a negative errno
 * with err holding client-go's words ("getting credentials: exec: ..."). */
int kube_exec_credential(struct kube_client *c, struct kstatus_error *err);
void kube_exec_cred_clear(struct kube_exec_cred *cred);

/* Decode a plugin's stdout (out, len; wiped after parsing) into *cred, which
 * must be clear. Returns 1 or a negative errno with client-go's words in err. */
int kube_exec_cred_parse(const struct kube_exec_config *x, char *out, size_t len, struct kube_exec_cred *cred,
                         struct kstatus_error *err);

/* The parsers of server answers, on their own for the fuzz targets
 * (tests/fuzz/) and unit tests. */

/* Append the resources of one APIResourceList (subresources skipped) to
 * into, in the shape the discovery cache keeps. */
void kube_discovery_add_resources(json_t *into, const char *group, const char *version, const json_t *list);
/* The resources array of a discovery cache file, or NULL when it is not one
 * (new reference). */
json_t *kube_discovery_parse_cache(const char *buf, size_t len);

/* A watch with no connection: kube_watch_feed() hands it the bytes of a
 * stream body (newline-delimited JSON events) as curl would. Free with
 * kube_watch_free(). */
struct kube_watch *kube_watch_decoder_new(kube_watch_fn fn, void *userdata);
/* Returns len to go on, or 0 when the stream must end (an ERROR event, the
 * callback stopped it, an event over 16 MiB). */
size_t kube_watch_feed(struct kube_watch *w, const char *data, size_t len);
