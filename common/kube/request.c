/* request.c - one HTTP request and its answer (no retries: retry.c), a GET,
 * and a LIST that follows metadata.continue. */
#include "kube/client.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "kube/internal.h"

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

/* apimachinery's IsValidPathSegmentName, its list printed as Go's %v prints one. */
char *kube_path_segment_problems(const char *name) {
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return xasprintf("[may not be '%s']", name);
        bool slash = strchr(name, '/'), percent = strchr(name, '%');
        if (!slash && !percent)
                return NULL;
        return xasprintf("[%s%s%s]", slash ? "may not contain '/'" : "", slash && percent ? " " : "",
                         percent ? "may not contain '%'" : "");
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

static struct curl_slist *request_headers(const struct kube_client *c, const char *content_type, bool has_body) {
        struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
        for (const struct curl_slist *i = c->identity; i; i = i->next)
                headers = curl_slist_append(headers, i->data);
        /* No "Expect: 100-continue" round trip for bodies over 1 KiB. */
        headers = curl_slist_append(headers, "Expect:");
        if (has_body) {
                _cleanup_free_ char *ct = xasprintf("Content-Type: %s", content_type ? content_type : "application/json");
                headers = curl_slist_append(headers, ct);
        }
        return headers;
}

/* The settings of one request; the first failure ends them. */
static CURLcode set_request(struct kube_client *c, const char *method, const char *url, struct curl_slist *headers,
                            const char *body, size_t body_len) {
        CURL *h = c->curl;
        CURLcode cc = curl_easy_setopt(h, CURLOPT_URL, url);
        if (cc == CURLE_OK)
                cc = curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        if (cc == CURLE_OK)
                cc = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->attempt_timeout_ms);
        if (cc == CURLE_OK && strcmp(method, "GET") == 0)
                return curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        if (cc == CURLE_OK)
                cc = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
        if (cc == CURLE_OK)
                cc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        if (cc == CURLE_OK)
                cc = curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        return cc;
}

/* Count connections, note the HTTP version, and drop what points at the
 * request's frame before it ends. */
static void after_transfer(struct kube_client *c, CURLcode cc) {
        CURL *h = c->curl;
        long conns = 0, version = 0;
        if (curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns) == CURLE_OK)
                c->connections += (unsigned)conns;
        if (cc == CURLE_OK && curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &version) == CURLE_OK)
                c->http_version = http_version_number(version);
        (void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
        (void)curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
        (void)curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
}

static int perform(struct kube_client *c, const char *method, const char *path, const char *content_type,
                   const char *body, size_t body_len, long *code, struct kstatus_error *err) {
        CURL *h = c->curl;
        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
        kube_response_reset(&c->resp);
        c->errbuf[0] = '\0';
        if (kube_apply_auth(c, h, &e) < 0)
                /* No credential, no request: kubectl says "Unable to connect". */
                return kstatus_error_set_http(err, EPERM, 0, NULL,
                                              xasprintf("Unable to connect to the server: %s", e.message));
        if (c->identity_error)
                /* kubectl's words: Go's transport refuses the header. */
                return kstatus_error_set_http(err, EINVAL, 0, NULL,
                                              xasprintf("Unable to connect to the server: %s", c->identity_error));
        _cleanup_free_ char *url = xasprintf("%s%s", c->base, path);
        struct curl_slist *headers = request_headers(c, content_type, body != NULL);
        CURLcode cc = set_request(c, method, url, headers, body, body_len);
        if (cc == CURLE_OK) {
                c->requests++;
                cc = curl_easy_perform(h);
        } else
                snprintf(c->errbuf, sizeof(c->errbuf), "%s", curl_easy_strerror(cc));
        after_transfer(c, cc);
        curl_slist_free_all(headers);
        if (err)
                err->retry_after_ms = c->resp.retry_after_ms;
        /* Known once the status line came, even when the body is then cut. */
        *code = 0;
        if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code) != CURLE_OK)
                *code = 0;
        if (cc != CURLE_OK) {
                long os_errno = 0;
                if (curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno) != CURLE_OK)
                        os_errno = 0;
                return kube_transport_error(c, cc, os_errno, c->errbuf, c->resp.too_big, err);
        }
        return 0;
}

void kube_client_set_request_timeout(struct kube_client *c, int64_t ms) {
        c->opts.request_timeout_ms = ms > 0 ? ms : 0;
        c->attempt_timeout_ms = 0;
}

/* A 2xx answer's body as a tree, its memory bounded before jansson builds
 * it; the text is let go once parsed (up to --max-response-size of it would
 * otherwise stay beside the trees until the next request). */
static int parse_answer(struct kube_client *c, long code, json_t **ret, struct kstatus_error *err) {
        if (kube_json_estimate_memory(c->resp.data, c->resp.len, c->opts.max_response_memory, NULL) < 0) {
                _cleanup_free_ char *limit = kube_format_size(c->opts.max_response_memory);
                return kstatus_error_set_http(
                        err, E2BIG, (int)code, NULL,
                        xasprintf("error: the server's answer would take more than %s once parsed", limit));
        }
        json_error_t je;
        json_t *v = json_loadb(c->resp.data, c->resp.len, JSON_DECODE_ANY, &je);
        if (!v)
                return kstatus_error_set_http(err, EBADMSG, (int)code, NULL,
                                              xasprintf("error: the server's answer is not JSON: %s", je.text));
        kube_response_reset(&c->resp);
        *ret = v;
        return 0;
}

/* A 2xx answer cut at the size limit: the request was done all the same (a
 * write was stored). Nothing lost when the caller wanted no answer; else
 * -E2BIG with the answer's code in err, for it to tell. */
static int answer_too_big(long code, json_t **ret, struct kstatus_error *err) {
        if (!ret) {
                kstatus_error_done(err);
                return 0;
        }
        if (err)
                err->http_code = (int)code;
        return -E2BIG;
}

int kube_client_request(struct kube_client *c, const char *method, const char *path, const char *content_type,
                        const json_t *body, json_t **ret, struct kstatus_error *err) {
        _cleanup_free_ char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        if (body && !text)
                return kstatus_error_set_http(err, ENOMEM, 0, NULL, xstrdup("error: cannot encode the request body"));
        if (!c->attempt_timeout_ms)
                c->attempt_timeout_ms = c->opts.request_timeout_ms;
        long code = 0;
        int r;
        for (int pass = 0;; pass++) {
                r = perform(c, method, path, content_type, text, text ? strlen(text) : 0, &code, err);
                if (r == -E2BIG && code >= 200 && code < 300)
                        return answer_too_big(code, ret, err);
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
        /* The request's text is not needed past here: not beside the answer's tree. */
        free(TAKE_PTR(text));
        if (code >= 200 && code < 300) {
                if (!ret) {
                        kube_response_reset(&c->resp); /* not kept beside the caller's trees either */
                        return 0;
                }
                if (c->resp.len == 0) {
                        *ret = json_null();
                        return 0;
                }
                return parse_answer(c, code, ret, err);
        }
        char *reason = NULL;
        char *msg = kube_format_server_error((int)code, c->resp.data, c->resp.len, &reason);
        r = kube_http_errno((int)code, reason);
        kstatus_error_set_http(err, r, (int)code, reason, msg);
        free(reason);
        return r;
}

int kube_client_get(struct kube_client *c, const char *path, json_t **ret, struct kstatus_error *err) {
        return kube_client_request(c, "GET", path, NULL, NULL, ret, err);
}

int kube_client_list(struct kube_client *c, const char *path, unsigned limit, kube_page_fn page_fn, void *userdata,
                     json_t **ret, struct kstatus_error *err) {
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
                if (!json_is_object(page))
                        return kstatus_error_set_http(err, EBADMSG, 200, NULL,
                                                      xstrdup("error: the server's answer is not a List"));
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

/* ---- a streamed GET (pods/log) ---- */

struct stream {
        struct kube_client *c;
        kube_stream_fn fn;
        void *userdata;
        int stopped;      /* the callback's value */
        char *error;      /* a failed answer's body, collected for its message */
        size_t error_len;
};

#define MAX_STREAM_ERROR_BYTES (64u << 10)

static size_t stream_sink(const char *data, size_t len, void *userdata) {
        struct stream *s = userdata;
        long code = 0;
        if (curl_easy_getinfo(s->c->curl, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code < 200 || code >= 300) {
                /* An error answer is a Status: keep it (bounded) for the message. */
                size_t n = len < MAX_STREAM_ERROR_BYTES - s->error_len ? len : MAX_STREAM_ERROR_BYTES - s->error_len;
                s->error = xrealloc(s->error, s->error_len + n + 1);
                memcpy(s->error + s->error_len, data, n);
                s->error_len += n;
                s->error[s->error_len] = '\0';
                return len;
        }
        int r = s->fn(data, len, s->userdata);
        if (r != 0) {
                s->stopped = r;
                return 0;
        }
        return len;
}

int kube_client_stream(struct kube_client *c, const char *path, bool no_timeout, kube_stream_fn fn, void *userdata,
                       struct kstatus_error *err) {
        struct stream s = { .c = c, .fn = fn, .userdata = userdata };
        int64_t saved_timeout = c->attempt_timeout_ms ? c->attempt_timeout_ms : c->opts.request_timeout_ms;
        c->attempt_timeout_ms = no_timeout ? 0 : saved_timeout;
        c->resp.sink = stream_sink;
        c->resp.sink_userdata = &s;
        long code = 0;
        int r = perform(c, "GET", path, NULL, NULL, 0, &code, err);
        c->resp.sink = NULL;
        c->resp.sink_userdata = NULL;
        c->attempt_timeout_ms = saved_timeout;
        _cleanup_free_ char *body = s.error;
        if (s.stopped) {
                kstatus_error_done(err);
                return s.stopped;
        }
        if (r < 0)
                return r;
        if (code >= 200 && code < 300)
                return 0;
        char *reason = NULL;
        char *msg = kube_format_server_error((int)code, body, s.error_len, &reason);
        r = kube_http_errno((int)code, reason);
        kstatus_error_set_http(err, r, (int)code, reason, msg);
        free(reason);
        return r;
}
