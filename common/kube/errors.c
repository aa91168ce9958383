/* errors.c - failures as kubectl words them: a server's Status (or a bare
 * HTTP code), a transfer that got no answer, and the errno and the one notion
 * of "transient" the retry policy (retry.c) uses. */
#include "kube/client.h"

#include <errno.h>
#include <string.h>

#include <curl/curl.h>

#include "kube/internal.h"

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

/* A Status's reason and message; client-go's generic message when it has none. */
static void status_words(const json_t *status, int code, const char **reason, const char **message) {
        *reason = json_string_value(json_object_get(status, "reason"));
        *message = json_string_value(json_object_get(status, "message"));
        if (*reason && !**reason)
                *reason = NULL;
        if (!*message || !**message) {
                const char *r2, *m2;
                generic_response(code, &r2, &m2);
                *message = m2 ? m2 : "unknown";
        }
}

/* A body that is not a Status, for a 500 or a code client-go has no words
 * for: kubectl quotes what the server said (Go %q). */
static char *format_raw(int code, const char *reason, const char *body, size_t len, char **ret_reason) {
        if (!reason) {
                if (ret_reason)
                        *ret_reason = xstrdup("Unknown");
                return xasprintf("Error from server: the server responded with the status code %d but did not "
                                 "return more information",
                                 code);
        }
        _cleanup_free_ char *text = xstrndup(body ? body : "", body ? (len > 256 ? 256 : len) : 0);
        _cleanup_json_ json_t *q = json_string(*text ? text : "unknown");
        _cleanup_free_ char *quoted = q ? json_dumps(q, JSON_ENCODE_ANY) : xstrdup("\"unknown\"");
        if (ret_reason)
                *ret_reason = xstrdup(reason);
        return xasprintf("Error from server (%s): an error on the server (%s) has prevented the request from "
                         "succeeding",
                         reason, quoted);
}

/* A server's message past this many bytes is cut: an error is one line a
 * person reads, not a copy of whatever the server sent. */
#define MAX_ERROR_MESSAGE 4096

/* s, cut at MAX_ERROR_MESSAGE on a UTF-8 boundary, the cut marked (new string). */
static char *capped(const char *s) {
        size_t n = strlen(s);
        if (n <= MAX_ERROR_MESSAGE)
                return xstrdup(s);
        size_t len = MAX_ERROR_MESSAGE;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
                len--;
        return xasprintf("%.*s... (%zu more bytes)", (int)len, s, n - len);
}

static char *format_words(const json_t *status, const char *reason, const char *raw_message) {
        if (reason && strcmp(reason, "Invalid") == 0) {
                _cleanup_free_ char *s = format_invalid(json_object_get(status, "details"));
                if (s)
                        return capped(s);
        }
        _cleanup_free_ char *message = capped(raw_message);
        if (reason && strcmp(reason, "Unauthorized") == 0)
                return xasprintf("error: You must be logged in to the server (%s)", message);
        if (reason)
                return xasprintf("Error from server (%s): %s", reason, message);
        return xasprintf("Error from server: %s", message);
}

char *kube_format_server_error(int code, const char *body, size_t len, char **ret_reason) {
        _cleanup_json_ json_t *status = body && len ? json_loadb(body, len, 0, NULL) : NULL;
        const char *reason = NULL, *message = NULL;
        if (ret_reason)
                *ret_reason = NULL;
        const char *kind = json_string_value(json_object_get(status, "kind"));
        if (kind && strcmp(kind, "Status") == 0)
                status_words(status, code, &reason, &message);
        else {
                generic_response(code, &reason, &message);
                if (code == 500 || !reason)
                        return format_raw(code, reason, body, len, ret_reason);
        }
        if (ret_reason && reason)
                *ret_reason = xstrdup(reason);
        return format_words(status, reason, message);
}

#ifdef KSTATUS_CURL_MBEDTLS
/* libcurl on mbedTLS (release builds: scripts/lib/tls-curl.sh) names a
 * failed verification by mbedTLS's flag; said as libcurl on OpenSSL says it,
 * so the message does not depend on the build. */
static const char *const verify_texts[][2] = {
        { "BADCERT_NOT_TRUSTED", "SSL certificate problem: unable to get local issuer certificate" },
        { "BADCERT_CN_MISMATCH", "SSL: no alternative certificate subject name matches target host name" },
        { "BADCERT_EXPIRED", "SSL certificate problem: certificate has expired" },
        { "BADCERT_FUTURE", "SSL certificate problem: certificate is not yet valid" },
        { "BADCERT_REVOKED", "SSL certificate problem: certificate revoked" },
};
#elif defined(KSTATUS_CURL_WOLFSSL)
/* libcurl on wolfSSL names a failed verification by wolfSSL's error text,
 * an expired certificate as a failed handshake and an unknown CA as a bad CA
 * file: said as libcurl on OpenSSL says it. */
static const char *const verify_texts[][2] = {
        { "CA signer not available", "SSL certificate problem: unable to get local issuer certificate" },
        { "do not match", "SSL: no alternative certificate subject name matches target host name" },
        { "ASN date error, current date after", "SSL certificate problem: certificate has expired" },
        { "ASN date error, current date before", "SSL certificate problem: certificate is not yet valid" },
};
#endif

static const char *verify_text(const char *why) {
#if defined(KSTATUS_CURL_MBEDTLS) || defined(KSTATUS_CURL_WOLFSSL)
        for (size_t i = 0; i < ELEMENTSOF(verify_texts); i++)
                if (strstr(why, verify_texts[i][0]))
                        return verify_texts[i][1];
#endif
        return why;
}

/* A transfer that got no HTTP answer, as kubectl words it. */
int kube_transport_error(struct kube_client *c, CURLcode cc, long os_errno, const char *errbuf, bool too_big,
                         struct kstatus_error *err) {
        _cleanup_free_ char *text = xstrdup(errbuf && *errbuf ? errbuf : curl_easy_strerror(cc));
        size_t n = strlen(text);
        while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\n'))
                text[--n] = '\0';
        bool tls = cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_SSL_CACERT_BADFILE;
        const char *why = tls ? verify_text(text) : text;
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
                if (os_errno == ECONNRESET || os_errno == EPIPE || strstr(why, "SSL_ERROR_SYSCALL") ||
                    strstr(why, "(-0x7280)") /* mbedTLS: MBEDTLS_ERR_SSL_CONN_EOF */) {
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
                        _cleanup_free_ char *limit = kube_format_size(kube_response_limit(&c->resp));
                        msg = xasprintf("error: the server's answer is larger than %s", limit);
                        break;
                }
                /* fall through */
        default:
                r = -EPROTO;
                msg = xasprintf("Unable to connect to the server: %s", why);
        }
        return kstatus_error_set_http(err, -r, 0, NULL, msg);
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

bool kube_error_is_transient(int r, const struct kstatus_error *e) {
        if (e->http_code == 0)
                return r == -ECONNREFUSED || r == -ECONNRESET || r == -ETIMEDOUT || r == -EHOSTUNREACH;
        return e->http_code == 429 || e->http_code >= 500;
}
