#include "kube/client.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "kube/internal.h"
#include "status.h"
#include "yaml-json.h"

/* Answers larger than this are refused: a List of custom resources is far
 * smaller, and a runaway server must not exhaust the sidecar's memory. */
#define MAX_RESPONSE_BYTES (64u << 20)

void kube_status_error_done(struct kube_status_error *err) {
        if (!err)
                return;
        free(err->reason);
        free(err->message);
        *err = (struct kube_status_error){ .retry_after_ms = -1 };
}

void kube_status_error_set(struct kube_status_error *err, int http_code, const char *reason, char *message) {
        if (!err) {
                free(message);
                return;
        }
        int attempts = err->attempts;
        int64_t retry_after = err->retry_after_ms;
        kube_status_error_done(err);
        err->http_code = http_code;
        err->reason = reason ? xstrdup(reason) : NULL;
        err->message = message;
        err->attempts = attempts;
        err->retry_after_ms = retry_after;
}

const char *kube_patch_content_type(enum kube_patch_type type) {
        switch (type) {
        case KUBE_PATCH_JSON:
                return "application/json-patch+json";
        case KUBE_PATCH_STRATEGIC:
                return "application/strategic-merge-patch+json";
        case KUBE_PATCH_MERGE:
        default:
                return "application/merge-patch+json";
        }
}

char *kube_escape(const char *s) {
        size_t n = strlen(s);
        char *out = xmalloc(3 * n + 1), *p = out;
        for (; *s; s++) {
                unsigned char ch = (unsigned char)*s;
                if (isalnum(ch) || strchr("-._~", ch))
                        *p++ = (char)ch;
                else
                        p += sprintf(p, "%%%02X", ch);
        }
        *p = '\0';
        return out;
}

/* client-go's NewGenericServerResponse: the reason and message kubectl shows
 * when the body is not a Status. */
static void generic_response(int code, const char **reason, const char **message) {
        static const struct {
                int code;
                const char *reason, *message;
        } table[] = {
                { 400, "BadRequest", "the server rejected our request for an unknown reason" },
                { 401, "Unauthorized", "the server has asked for the client to provide credentials" },
                { 403, "Forbidden", "the server does not allow access to the requested resource" },
                { 404, "NotFound", "the server could not find the requested resource" },
                { 405, "MethodNotAllowed", "the server does not allow this method on the requested resource" },
                { 406, "NotAcceptable", "the server was unable to respond with a content type that the client supports" },
                { 409, "Conflict", "the server reported a conflict" },
                { 410, "Expired", "the server reported that the resource has expired" },
                { 413, "RequestEntityTooLarge", "the server has rejected the request due to its size" },
                { 415, "UnsupportedMediaType", "the server was unable to respond with a content type that the client supports" },
                { 422, "Invalid", "the server rejected our request due to an error in our request" },
                { 429, "TooManyRequests", "the server has received too many requests and has asked us to try again later" },
                { 500, "InternalError", NULL },
                { 503, "ServiceUnavailable", "the server is currently unable to handle the request" },
                { 504, "Timeout", "the server was unable to return a response in the time allotted, but may still be processing the request" },
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (table[i].code == code) {
                        *reason = table[i].reason;
                        *message = table[i].message;
                        return;
                }
        *reason = NULL;
        *message = NULL;
}

/* kubectl words Invalid from the details: `The Database "a" is invalid:
 * metadata.name: Invalid value: ...`, one cause per line when several. */
static char *format_invalid(const json_t *details) {
        const char *kind = json_string_value(json_object_get(details, "kind"));
        const char *name = json_string_value(json_object_get(details, "name"));
        json_t *causes = json_object_get(details, "causes");
        if (!json_is_object(details))
                return NULL;
        char *s = (kind && *kind) || (name && *name) ? xasprintf("The %s \"%s\" is invalid", kind ? kind : "",
                                                                 name ? name : "")
                                                     : xstrdup("The request is invalid");
        size_t n = json_array_size(causes);
        for (size_t i = 0; i < n; i++) {
                json_t *cause = json_array_get(causes, i);
                const char *field = json_string_value(json_object_get(cause, "field"));
                const char *msg = json_string_value(json_object_get(cause, "message"));
                char *line = field && *field ? xasprintf("%s: %s", field, msg ? msg : "") : xstrdup(msg ? msg : "");
                char *next = n == 1 ? xasprintf("%s: %s", s, line)
                                    : xasprintf("%s%s\n* %s", s, i == 0 ? ": " : "", line);
                free(line);
                free(s);
                s = next;
        }
        return s;
}

char *kube_format_server_error(int code, const char *body, size_t len, char **ret_reason) {
        _cleanup_json_ json_t *status = body && len ? json_loadb(body, len, 0, NULL) : NULL;
        const char *reason = NULL, *message = NULL;
        if (ret_reason)
                *ret_reason = NULL;
        const char *kind = json_string_value(json_object_get(status, "kind"));
        if (kind && strcmp(kind, "Status") == 0) {
                reason = json_string_value(json_object_get(status, "reason"));
                message = json_string_value(json_object_get(status, "message"));
                if (reason && !*reason)
                        reason = NULL;
                if (!message || !*message) {
                        const char *r2, *m2;
                        generic_response(code, &r2, &m2);
                        message = m2 ? m2 : "unknown";
                }
        } else {
                generic_response(code, &reason, &message);
                if (code == 500 || !reason) {
                        /* kubectl quotes what the server said (Go %q). */
                        _cleanup_free_ char *text = xstrndup(body ? body : "", body ? (len > 256 ? 256 : len) : 0);
                        _cleanup_json_ json_t *q = json_string(*text ? text : "unknown");
                        _cleanup_free_ char *quoted = q ? json_dumps(q, JSON_ENCODE_ANY) : xstrdup("\"unknown\"");
                        if (!reason) {
                                if (ret_reason)
                                        *ret_reason = xstrdup("Unknown");
                                return xasprintf("Error from server: the server responded with the status code %d "
                                                 "but did not return more information",
                                                 code);
                        }
                        if (ret_reason)
                                *ret_reason = xstrdup(reason);
                        return xasprintf("Error from server (%s): an error on the server (%s) has prevented the "
                                         "request from succeeding",
                                         reason, quoted);
                }
        }
        if (ret_reason && reason)
                *ret_reason = xstrdup(reason);
        if (reason && strcmp(reason, "Invalid") == 0) {
                char *s = format_invalid(json_object_get(status, "details"));
                if (s)
                        return s;
        }
        if (reason && strcmp(reason, "Unauthorized") == 0)
                return xasprintf("error: You must be logged in to the server (%s)", message);
        if (reason)
                return xasprintf("Error from server (%s): %s", reason, message);
        return xasprintf("Error from server: %s", message);
}

/* ---- the real clock ---- */

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

/* ---- handles ---- */

#define SETOPT(h, opt, val)                                                                             \
        do {                                                                                            \
                CURLcode _cc = curl_easy_setopt((h), (opt), (val));                                     \
                if (_cc != CURLE_OK)                                                                    \
                        return kstatus_error_set(err, EINVAL, 0, 0, "cannot set %s: %s", #opt,          \
                                                 curl_easy_strerror(_cc));                              \
        } while (0)

static size_t on_header(char *data, size_t size, size_t n, void *userdata) {
        struct kube_response *resp = userdata;
        size_t len = size * n;
        static const char name[] = "retry-after:";
        if (len > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
                _cleanup_free_ char *v = xstrndup(data + sizeof(name) - 1, len - (sizeof(name) - 1));
                char *s = v + strspn(v, " \t");
                s[strcspn(s, " \t\r\n")] = '\0';
                int64_t secs;
                /* Only the delta-seconds form: the API server never sends a date. */
                if (parse_int64(s, 0, 24 * 3600, &secs) == 0)
                        resp->retry_after_ms = secs * 1000;
        }
        return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata) {
        struct kube_response *resp = userdata;
        size_t len = size * n;
        if (resp->sink)
                return resp->sink(data, len, resp->sink_userdata);
        if (resp->len + len > MAX_RESPONSE_BYTES) {
                resp->too_big = true;
                return 0;
        }
        if (resp->len + len + 1 > resp->cap) {
                resp->cap = (resp->len + len + 1) * 2;
                resp->data = xrealloc(resp->data, resp->cap);
        }
        memcpy(resp->data + resp->len, data, len);
        resp->len += len;
        resp->data[resp->len] = '\0';
        return len;
}

void kube_response_reset(struct kube_response *resp) {
        free(resp->data);
        *resp = (struct kube_response){ .retry_after_ms = -1, .sink = resp->sink, .sink_userdata = resp->sink_userdata };
}

/* The system's trust store, for a cluster whose kubeconfig names no CA, found
 * as kubectl (Go's crypto/x509) finds it: $SSL_CERT_FILE, else the first
 * bundle in the distributions' usual places. libcurl's built-in default is
 * only Debian's path, which a release binary would carry onto Fedora, SUSE or
 * Alpine hosts. Borrowed; NULL leaves libcurl's default. */
static const char *system_ca_file(void) {
        static const char *const bundles[] = {
                "/etc/ssl/certs/ca-certificates.crt",                /* Debian, Ubuntu, Gentoo */
                "/etc/pki/tls/certs/ca-bundle.crt",                  /* Fedora, RHEL 6 */
                "/etc/ssl/ca-bundle.pem",                            /* openSUSE */
                "/etc/pki/tls/cacert.pem",                           /* OpenELEC */
                "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* CentOS, RHEL 7 */
                "/etc/ssl/cert.pem",                                 /* Alpine */
        };
        const char *env = getenv("SSL_CERT_FILE");
        if (env && *env)
                return env;
        for (size_t i = 0; i < sizeof bundles / sizeof bundles[0]; i++)
                if (access(bundles[i], R_OK) == 0)
                        return bundles[i];
        return NULL;
}

/* Settings every handle of this client shares: TLS, proxy, timeouts. Auth is
 * set per request (apply_auth) because tokens rotate. */
int kube_handle_setup(struct kube_client *c, CURL *h, char *errbuf, struct kube_response *resp,
                      struct kstatus_error *err) {
        const struct kube_config *cfg = c->config;
        SETOPT(h, CURLOPT_NOSIGNAL, 1L);
        SETOPT(h, CURLOPT_ERRORBUFFER, errbuf);
        SETOPT(h, CURLOPT_USERAGENT, c->user_agent);
        SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
        SETOPT(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
        SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, 30000L);
        SETOPT(h, CURLOPT_TCP_KEEPALIVE, 1L);
        SETOPT(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)MAX_RESPONSE_BYTES);
        SETOPT(h, CURLOPT_WRITEFUNCTION, on_body);
        SETOPT(h, CURLOPT_WRITEDATA, resp);
        SETOPT(h, CURLOPT_HEADERFUNCTION, on_header);
        SETOPT(h, CURLOPT_HEADERDATA, resp);
        SETOPT(h, CURLOPT_ACCEPT_ENCODING, "");
        /* Verification stays on unless the kubeconfig turns it off. */
        SETOPT(h, CURLOPT_SSL_VERIFYPEER, cfg->insecure ? 0L : 1L);
        SETOPT(h, CURLOPT_SSL_VERIFYHOST, cfg->insecure ? 0L : 2L);
        if (cfg->ca_data) {
                struct curl_blob blob = { .data = cfg->ca_data, .len = strlen(cfg->ca_data), .flags = CURL_BLOB_COPY };
                SETOPT(h, CURLOPT_CAINFO_BLOB, &blob);
        } else if (cfg->ca_file) {
                SETOPT(h, CURLOPT_CAINFO, cfg->ca_file);
        } else if (!cfg->insecure) {
                const char *bundle = system_ca_file(), *dir = getenv("SSL_CERT_DIR");
                if (bundle)
                        SETOPT(h, CURLOPT_CAINFO, bundle);
                if (dir && *dir)
                        SETOPT(h, CURLOPT_CAPATH, dir);
        }
        const char *cert_data = c->exec_cred.cert ? c->exec_cred.cert : cfg->client_cert_data;
        const char *key_data = c->exec_cred.key ? c->exec_cred.key : cfg->client_key_data;
        if (cert_data) {
                struct curl_blob blob = { .data = (void *)cert_data, .len = strlen(cert_data), .flags = CURL_BLOB_COPY };
                SETOPT(h, CURLOPT_SSLCERT_BLOB, &blob);
                SETOPT(h, CURLOPT_SSLCERTTYPE, "PEM");
        } else if (cfg->client_cert_file)
                SETOPT(h, CURLOPT_SSLCERT, cfg->client_cert_file);
        if (key_data) {
                struct curl_blob blob = { .data = (void *)key_data, .len = strlen(key_data), .flags = CURL_BLOB_COPY };
                SETOPT(h, CURLOPT_SSLKEY_BLOB, &blob);
                SETOPT(h, CURLOPT_SSLKEYTYPE, "PEM");
        } else if (cfg->client_key_file)
                SETOPT(h, CURLOPT_SSLKEY, cfg->client_key_file);
        if (c->connect_to)
                SETOPT(h, CURLOPT_CONNECT_TO, c->connect_to);
        if (cfg->proxy_url) {
                SETOPT(h, CURLOPT_PROXY, cfg->proxy_url);
                /* As kubectl's SOCKS5 dialer: no authentication or a username
                 * and password, never GSS-API (which release builds do not
                 * carry: common/kube/curl-static.c). */
                SETOPT(h, CURLOPT_SOCKS5_AUTH, (long)CURLAUTH_BASIC);
        }
        return 0;
}

/* The bearer token of a tokenFile, re-read when the file changes: projected
 * service-account tokens are rotated by the kubelet. */
static int refresh_file_token(struct kube_client *c, struct kstatus_error *err) {
        struct stat st;
        if (stat(c->config->token_file, &st) < 0)
                return kstatus_error_set(err, errno, 0, 0, "cannot read token file \"%s\": %s",
                                         c->config->token_file, strerror(errno));
        if (c->file_token && st.st_ino == c->token_stat.st_ino && st.st_size == c->token_stat.st_size &&
            st.st_mtim.tv_sec == c->token_stat.st_mtim.tv_sec && st.st_mtim.tv_nsec == c->token_stat.st_mtim.tv_nsec)
                return 0;
        _cleanup_free_ char *buf = NULL;
        size_t len;
        struct kstatus_error e = { 0 };
        int r = kstatus_read_file(c->config->token_file, false, 64 * 1024, &buf, &len, &e);
        if (r < 0)
                return kstatus_error_set(err, -r, 0, 0, "cannot read token file \"%s\": %s", c->config->token_file,
                                         e.message);
        while (len > 0 && isspace((unsigned char)buf[len - 1]))
                buf[--len] = '\0';
        kube_secret_free(c->file_token);
        c->file_token = TAKE_PTR(buf);
        c->token_stat = st;
        return 0;
}

void kube_secret_free(char *s) {
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
}

/* Set the credentials for the next request on h. */
int kube_apply_auth(struct kube_client *c, CURL *h, struct kstatus_error *err) {
        const struct kube_config *cfg = c->config;
        const char *bearer = NULL;
        if (cfg->token_file) {
                int r = refresh_file_token(c, err);
                if (r < 0)
                        return r;
                bearer = c->file_token;
        } else if (cfg->token)
                bearer = cfg->token;
        else if (cfg->exec) {
                int r = kube_exec_credential(c, err);
                if (r < 0)
                        return r;
                if (r > 0) {
                        /* A new client certificate from the plugin. */
                        r = kube_handle_setup_tls(c, h, err);
                        if (r < 0)
                                return r;
                }
                bearer = c->exec_cred.token;
        }
        if (bearer && *bearer) {
                SETOPT(h, CURLOPT_XOAUTH2_BEARER, bearer);
                SETOPT(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        } else if (cfg->username && cfg->password) {
                SETOPT(h, CURLOPT_USERNAME, cfg->username);
                SETOPT(h, CURLOPT_PASSWORD, cfg->password);
                SETOPT(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        }
        return 0;
}

int kube_handle_setup_tls(struct kube_client *c, CURL *h, struct kstatus_error *err) {
        if (c->exec_cred.cert) {
                struct curl_blob blob = { .data = c->exec_cred.cert, .len = strlen(c->exec_cred.cert), .flags = CURL_BLOB_COPY };
                SETOPT(h, CURLOPT_SSLCERT_BLOB, &blob);
                SETOPT(h, CURLOPT_SSLCERTTYPE, "PEM");
        }
        if (c->exec_cred.key) {
                struct curl_blob blob = { .data = c->exec_cred.key, .len = strlen(c->exec_cred.key), .flags = CURL_BLOB_COPY };
                SETOPT(h, CURLOPT_SSLKEY_BLOB, &blob);
                SETOPT(h, CURLOPT_SSLKEYTYPE, "PEM");
        }
        return 0;
}

/* tls-server-name: curl has no separate SNI setting, so the URL names the
 * TLS name and CONNECT_TO sends the connection to the real host. */
static int prepare_base(struct kube_client *c, struct kstatus_error *err) {
        const struct kube_config *cfg = c->config;
        CURLU *u = curl_url();
        if (!u)
                return kstatus_error_set(err, ENOMEM, 0, 0, "out of memory");
        char *host = NULL, *port = NULL, *scheme = NULL, *path = NULL;
        int r = 0;
        if (curl_url_set(u, CURLUPART_URL, cfg->server, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
                r = kstatus_error_set(err, EINVAL, 0, 0, "invalid server \"%s\"", cfg->server);
                goto out;
        }
        if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0) {
                r = kstatus_error_set(err, EINVAL, 0, 0, "invalid server \"%s\": scheme must be https or http",
                                      cfg->server);
                goto out;
        }
        if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
                path = NULL;
        const char *p = path && strcmp(path, "/") != 0 ? path : "";
        size_t plen = strlen(p);
        while (plen > 0 && p[plen - 1] == '/')
                plen--;
        c->host = xasprintf("%s:%s", host, port);
        if (cfg->tls_server_name && strcmp(scheme, "https") == 0) {
                c->base = xasprintf("%s://%s:%s%.*s", scheme, cfg->tls_server_name, port, (int)plen, p);
                _cleanup_free_ char *map = xasprintf("%s:%s:%s:%s", cfg->tls_server_name, port, host, port);
                c->connect_to = curl_slist_append(NULL, map);
        } else
                c->base = xasprintf("%s://%s:%s%.*s", scheme, host, port, (int)plen, p);
out:
        curl_free(scheme);
        curl_free(host);
        curl_free(port);
        curl_free(path);
        curl_url_cleanup(u);
        return r;
}

int kube_client_new(const struct kube_config *config, const struct kube_client_options *opts,
                    struct kube_client **ret, struct kstatus_error *err) {
        static bool curl_ready;
        /* curl_global_init is not thread-safe before 7.84 and is idempotent
         * after; the client is used from one thread. */
        if (!curl_ready) {
                if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                        return kstatus_error_set(err, ENOMEM, 0, 0, "cannot initialise libcurl");
                curl_ready = true;
        }
        struct kube_client *c = xcalloc(1, sizeof(*c));
        c->config = config;
        if (opts)
                c->opts = *opts;
        c->user_agent = xstrdup(opts && opts->user_agent ? opts->user_agent : "kstatus");
        kube_client_set_clock(c, NULL);
        c->resp.retry_after_ms = -1;
        int r = prepare_base(c, err);
        if (r < 0) {
                kube_client_free(c);
                return r;
        }
        c->curl = curl_easy_init();
        if (!c->curl) {
                kube_client_free(c);
                return kstatus_error_set(err, ENOMEM, 0, 0, "cannot create a curl handle");
        }
        r = kube_handle_setup(c, c->curl, c->errbuf, &c->resp, err);
        if (r < 0) {
                kube_client_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

void kube_client_free(struct kube_client *c) {
        if (!c)
                return;
        if (c->curl)
                curl_easy_cleanup(c->curl);
        curl_slist_free_all(c->connect_to);
        kube_response_reset(&c->resp);
        kube_secret_free(c->file_token);
        kube_exec_cred_clear(&c->exec_cred);
        free(c->base);
        free(c->host);
        free(c->user_agent);
        free(c);
}

const char *kube_client_host(const struct kube_client *c) {
        return c->host;
}

/* CURLINFO_HTTP_VERSION's constants as 10, 11, 20, 30. */
static int http_version_number(long v) {
        switch (v) {
        case CURL_HTTP_VERSION_1_0: return 10;
        case CURL_HTTP_VERSION_1_1: return 11;
        case CURL_HTTP_VERSION_2_0: return 20;
        case CURL_HTTP_VERSION_3: return 30;
        default: return 0;
        }
}

int kube_client_http_version(const struct kube_client *c) {
        return c->http_version;
}

void kube_client_counters(const struct kube_client *c, unsigned *requests, unsigned *connections) {
        if (requests)
                *requests = c->requests;
        if (connections)
                *connections = c->connections;
}

/* A transfer that got no HTTP answer, as kubectl words it. */
int kube_transport_error(struct kube_client *c, CURLcode cc, long os_errno, const char *errbuf, bool too_big,
                         struct kube_status_error *err) {
        _cleanup_free_ char *text = xstrdup(errbuf && *errbuf ? errbuf : curl_easy_strerror(cc));
        size_t n = strlen(text);
        while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\n'))
                text[--n] = '\0';
        const char *why = text;
        int r;
        char *msg;
        switch (cc) {
        case CURLE_COULDNT_CONNECT:
                if (os_errno == ECONNREFUSED || strstr(why, "refused")) {
                        r = -ECONNREFUSED;
                        msg = xasprintf("The connection to the server %s was refused - did you specify the right host "
                                        "or port?",
                                        c->host);
                        break;
                }
                r = -EHOSTUNREACH;
                msg = xasprintf("Unable to connect to the server: %s", why);
                break;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                r = -EHOSTUNREACH;
                msg = xasprintf("Unable to connect to the server: %s", why);
                break;
        case CURLE_OPERATION_TIMEDOUT:
                r = -ETIMEDOUT;
                msg = xasprintf("Unable to connect to the server: %s", why);
                break;
        case CURLE_GOT_NOTHING:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                r = -ECONNRESET;
                msg = xasprintf("Unable to connect to the server: %s", why);
                break;
        case CURLE_SSL_CONNECT_ERROR:
                /* The peer closed or reset the connection during the
                 * handshake (a server restarting): worth retrying. Other
                 * handshake failures are not. */
                if (os_errno == ECONNRESET || os_errno == EPIPE || strstr(why, "SSL_ERROR_SYSCALL")) {
                        r = -ECONNRESET;
                        msg = xasprintf("Unable to connect to the server: %s", why);
                        break;
                }
                r = -EPROTO;
                msg = xasprintf("Unable to connect to the server: %s", why);
                break;
        case CURLE_WRITE_ERROR:
        case CURLE_FILESIZE_EXCEEDED:
                if (too_big || cc == CURLE_FILESIZE_EXCEEDED) {
                        r = -E2BIG;
                        msg = xasprintf("error: the server's answer is larger than %u MiB", MAX_RESPONSE_BYTES >> 20);
                        break;
                }
                /* fall through */
        default:
                r = -EPROTO;
                msg = xasprintf("Unable to connect to the server: %s", why);
        }
        kube_status_error_set(err, 0, NULL, msg);
        return r;
}

int kube_http_errno(int code, const char *reason) {
        switch (code) {
        case 404:
                return -ENOENT;
        case 409:
                return reason && strcmp(reason, "AlreadyExists") == 0 ? -EEXIST : -ESTALE;
        case 401:
        case 403:
                return -EACCES;
        case 410:
                return -EUCLEAN; /* Gone: the resourceVersion or continue token expired */
        case 429:
        case 503:
                return -EAGAIN;
        default:
                return -EIO;
        }
}

static int perform(struct kube_client *c, const char *method, const char *path, const char *content_type,
                   const char *body, size_t body_len, long *code, struct kube_status_error *err) {
        CURL *h = c->curl;
        struct kstatus_error e = { 0 };
        int r;
        kube_response_reset(&c->resp);
        c->errbuf[0] = '\0';
        if ((r = kube_apply_auth(c, h, &e)) < 0) {
                /* No credential, no request: kubectl says "Unable to connect". */
                kube_status_error_set(err, 0, NULL, xasprintf("Unable to connect to the server: %s", e.message));
                (void)r;
                return -EPERM;
        }
        _cleanup_free_ char *url = xasprintf("%s%s", c->base, path);
        struct curl_slist *headers = NULL;
        headers = curl_slist_append(headers, "Accept: application/json");
        /* No "Expect: 100-continue" round trip for bodies over 1 KiB. */
        headers = curl_slist_append(headers, "Expect:");
        _cleanup_free_ char *ct = xasprintf("Content-Type: %s", content_type ? content_type : "application/json");
        if (body)
                headers = curl_slist_append(headers, ct);
        CURLcode cc = CURLE_OK;
#define TRY(opt, val)                                                  \
        do {                                                           \
                if (cc == CURLE_OK)                                    \
                        cc = curl_easy_setopt(h, (opt), (val));        \
        } while (0)
        TRY(CURLOPT_URL, url);
        TRY(CURLOPT_HTTPHEADER, headers);
        TRY(CURLOPT_TIMEOUT_MS, (long)c->attempt_timeout_ms);
        if (strcmp(method, "GET") == 0) {
                TRY(CURLOPT_HTTPGET, 1L);
        } else {
                TRY(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
                TRY(CURLOPT_POSTFIELDS, body ? body : "");
                TRY(CURLOPT_CUSTOMREQUEST, method);
        }
#undef TRY
        if (cc == CURLE_OK) {
                c->requests++;
                cc = curl_easy_perform(h);
        } else
                snprintf(c->errbuf, sizeof(c->errbuf), "%s", curl_easy_strerror(cc));
        long conns = 0;
        if (curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns) == CURLE_OK)
                c->connections += (unsigned)conns;
        long version = 0;
        if (cc == CURLE_OK && curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &version) == CURLE_OK)
                c->http_version = http_version_number(version);
        /* Drop what points at this frame before it ends. */
        (void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
        (void)curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
        (void)curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
        curl_slist_free_all(headers);
        if (err)
                err->retry_after_ms = c->resp.retry_after_ms;
        if (cc != CURLE_OK) {
                long os_errno = 0;
                if (curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno) != CURLE_OK)
                        os_errno = 0;
                return kube_transport_error(c, cc, os_errno, c->errbuf, c->resp.too_big, err);
        }
        *code = 0;
        if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code) != CURLE_OK)
                *code = 0;
        return 0;
}

int kube_client_request(struct kube_client *c, const char *method, const char *path, const char *content_type,
                        const json_t *body, json_t **ret, struct kube_status_error *err) {
        _cleanup_free_ char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        if (body && !text) {
                kube_status_error_set(err, 0, NULL, xstrdup("error: cannot encode the request body"));
                return -ENOMEM;
        }
        if (!c->attempt_timeout_ms)
                c->attempt_timeout_ms = c->opts.request_timeout_ms;
        long code = 0;
        int r;
        for (int pass = 0;; pass++) {
                r = perform(c, method, path, content_type, text, text ? strlen(text) : 0, &code, err);
                if (r < 0)
                        return r;
                /* An exec credential the server no longer accepts: ask the
                 * plugin again, once, as client-go does on 401. */
                if (code == 401 && pass == 0 && c->config->exec && !c->config->token && !c->config->token_file &&
                    c->exec_cred.valid) {
                        kube_exec_cred_clear(&c->exec_cred);
                        continue;
                }
                break;
        }
        if (code >= 200 && code < 300) {
                json_t *v;
                if (c->resp.len == 0)
                        v = json_null();
                else {
                        json_error_t je;
                        v = json_loadb(c->resp.data, c->resp.len, JSON_DECODE_ANY, &je);
                        if (!v) {
                                kube_status_error_set(err, (int)code, NULL,
                                                 xasprintf("error: the server's answer is not JSON: %s", je.text));
                                return -EBADMSG;
                        }
                }
                if (ret)
                        *ret = v;
                else
                        json_decref(v);
                return 0;
        }
        char *reason = NULL;
        char *msg = kube_format_server_error((int)code, c->resp.data, c->resp.len, &reason);
        kube_status_error_set(err, (int)code, reason, msg);
        r = kube_http_errno((int)code, reason);
        free(reason);
        return r;
}

int kube_client_get(struct kube_client *c, const char *path, json_t **ret, struct kube_status_error *err) {
        return kube_client_request(c, "GET", path, NULL, NULL, ret, err);
}

int kube_client_list(struct kube_client *c, const char *path, unsigned limit, kube_page_fn page_fn, void *userdata,
                     json_t **ret, struct kube_status_error *err) {
        _cleanup_json_ json_t *all = NULL, *items = NULL;
        _cleanup_free_ char *cont = NULL;
        bool restarted = false;
        const char *sep = strchr(path, '?') ? "&" : "?";
        for (;;) {
                _cleanup_free_ char *q = NULL;
                if (limit && cont) {
                        _cleanup_free_ char *esc = kube_escape(cont);
                        q = xasprintf("%s%slimit=%u&continue=%s", path, sep, limit, esc);
                } else if (limit)
                        q = xasprintf("%s%slimit=%u", path, sep, limit);
                else
                        q = xstrdup(path);
                _cleanup_json_ json_t *page = NULL;
                int r = kube_client_get(c, q, &page, err);
                if (r == -EUCLEAN && cont && !restarted) {
                        /* The continue token expired (410): start over, once. */
                        restarted = true;
                        free(TAKE_PTR(cont));
                        json_decref(TAKE_PTR(all));
                        json_decref(TAKE_PTR(items));
                        continue;
                }
                if (r < 0)
                        return r;
                if (!json_is_object(page)) {
                        kube_status_error_set(err, 200, NULL, xstrdup("error: the server's answer is not a List"));
                        return -EBADMSG;
                }
                if (page_fn) {
                        r = page_fn(page, userdata);
                        if (r != 0)
                                return r;
                } else {
                        if (!all) {
                                all = json_deep_copy(page);
                                items = json_array();
                        }
                        json_array_extend(items, json_object_get(page, "items"));
                        json_object_set(all, "metadata", json_object_get(page, "metadata"));
                }
                const char *next = json_string_value(json_object_get(json_object_get(page, "metadata"), "continue"));
                free(TAKE_PTR(cont));
                if (!limit || !next || !*next)
                        break;
                cont = xstrdup(next);
        }
        if (!page_fn) {
                json_object_set(all, "items", items);
                json_t *meta = json_object_get(all, "metadata");
                if (json_is_object(meta))
                        json_object_del(meta, "continue");
                if (ret)
                        *ret = TAKE_PTR(all);
        }
        return 0;
}

/* ---- writes with retries ---- */

bool kube_error_is_transient(int r, const struct kube_status_error *e) {
        if (e->http_code == 0)
                return r == -ECONNREFUSED || r == -ECONNRESET || r == -ETIMEDOUT || r == -EHOSTUNREACH;
        return e->http_code == 429 || e->http_code >= 500;
}

static char *format_ms(int64_t ms) {
        if (ms < 1000)
                return xasprintf("%" PRId64 "ms", ms);
        return xasprintf("%" PRId64 ".%" PRId64 "s", ms / 1000, (ms % 1000) / 100);
}

int64_t kube_retry_wait_ms(struct kube_client *c, const struct kube_retry_policy *policy, unsigned attempt,
                           const struct kube_status_error *err) {
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

/* Each attempt ends by the deadline too. */
static void attempt_timeout(struct write_state *w) {
        int64_t t = w->c->opts.request_timeout_ms, left = w->p->deadline_ms - elapsed_ms(w);
        if (w->p->deadline_ms > 0 && (t == 0 || left < t))
                t = left > 1 ? left : 1;
        w->c->attempt_timeout_ms = t;
}

/* After failure r: 1 with *wait to retry, 0 to return r (or *r replaced:
 * KUBE_NOTHING_TO_DO, or the recompute's error). */
static int next_step(struct write_state *w, int *r, struct kube_status_error *e, int64_t *wait) {
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
                        return 1;
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

static void gave_up(struct kube_status_error *e, int attempts, int64_t deadline_ms) {
        _cleanup_free_ char *d = format_ms(deadline_ms);
        char *msg = xasprintf("%s (gave up after %d attempts: deadline %s)", e->message ? e->message : "error",
                              attempts, d);
        free(e->message);
        e->message = msg;
}

int kube_client_write(struct kube_client *c, const char *method, const char *path, const char *content_type,
                      const json_t *body, const struct kube_retry_policy *policy, json_t **ret,
                      struct kube_status_error *err) {
        static const struct kube_retry_policy none = { 0 };
        struct write_state w = { .c = c, .p = policy ? policy : &none, .start = c->clock.now_ms(c->clock.userdata),
                                 .body = json_incref((json_t *)body) };
        struct kube_status_error local = { .retry_after_ms = -1 };
        struct kube_status_error *e = err ? err : &local;
        kube_status_error_done(e);
        int r;
        for (int attempt = 1;; attempt++) {
                attempt_timeout(&w);
                e->attempts = attempt;
                e->retry_after_ms = -1;
                r = kube_client_request(c, method, path, content_type, w.body, ret, e);
                c->attempt_timeout_ms = 0;
                int64_t wait;
                if (r == 0 || !next_step(&w, &r, e, &wait))
                        break;
                if (wait > 0 && w.p->no_sleep)
                        break;
                if (elapsed_ms(&w) + wait >= w.p->deadline_ms) {
                        gave_up(e, attempt, w.p->deadline_ms);
                        break;
                }
                if (w.p->on_retry)
                        w.p->on_retry(w.p->userdata, e, wait);
                if (wait > 0)
                        c->clock.sleep_ms(c->clock.userdata, wait);
        }
        if (r >= 0) {
                int attempts = e->attempts;
                kube_status_error_done(e);
                e->attempts = attempts;
        }
        json_decref(w.body);
        if (e == &local)
                kube_status_error_done(&local);
        return r;
}

int kube_client_patch(struct kube_client *c, const char *path, const char *subresource, enum kube_patch_type type,
                      const json_t *body, const struct kube_retry_policy *policy, json_t **ret,
                      struct kube_status_error *err) {
        _cleanup_free_ char *full = subresource ? xasprintf("%s/%s", path, subresource) : xstrdup(path);
        return kube_client_write(c, "PATCH", full, kube_patch_content_type(type), body, policy, ret, err);
}

int kube_client_create(struct kube_client *c, const char *path, const json_t *body,
                       const struct kube_retry_policy *policy, json_t **ret, struct kube_status_error *err) {
        return kube_client_write(c, "POST", path, "application/json", body, policy, ret, err);
}
