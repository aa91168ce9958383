/* The API client against a scripted HTTP server in the test process
 * (libmicrohttpd on 127.0.0.1, a port chosen at run time): error wording,
 * every retry class with an injected clock, connection reuse, pagination,
 * token rotation, exec plugins, watches (resume, relist on 410) and the
 * discovery cache. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kube/client.h"
#include "kube/discovery.h"
#include "kube/internal.h"
#include "kube/watch.h"
#include "util.h"

/* ---- the scripted server ---- */

struct canned {
        int code;         /* 0: drop the connection without an answer */
        const char *body;
        int retry_after;  /* seconds, -1: no header */
        const char *stream[4]; /* for watches: lines sent, then the stream ends */
        bool endless;          /* a chunked body that never ends (bounded at 1 GiB) */
};

#define MAX_LOG 64
static struct {
        struct MHD_Daemon *d;
        unsigned port;
        pthread_mutex_t lock;
        const struct canned *script;
        size_t n_script, next;
        /* What arrived. */
        char *method[MAX_LOG], *url[MAX_LOG], *auth[MAX_LOG], *body[MAX_LOG], *ctype[MAX_LOG];
        size_t n_log;
        /* Route mode (discovery): url → body. */
        const char *(*route)(const char *url);
} srv = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct upload {
        char *data;
        size_t len;
};

struct stream_state {
        const char *const *lines;
        size_t i;
};

static size_t endless_sent;

static ssize_t endless_cb(void *cls, uint64_t pos, char *buf, size_t max) {
        (void)cls;
        if (pos >= (1ull << 30))
                return MHD_CONTENT_READER_END_OF_STREAM;
        memset(buf, ' ', max);
        __atomic_add_fetch(&endless_sent, max, __ATOMIC_RELAXED);
        return (ssize_t)max;
}

static ssize_t stream_cb(void *cls, uint64_t pos, char *buf, size_t max) {
        (void)pos;
        struct stream_state *s = cls;
        const char *line = s->i < 4 ? s->lines[s->i] : NULL;
        if (!line)
                return MHD_CONTENT_READER_END_OF_STREAM;
        size_t n = strlen(line);
        if (n + 1 > max)
                return MHD_CONTENT_READER_END_WITH_ERROR;
        memcpy(buf, line, n);
        buf[n] = '\n';
        s->i++;
        return (ssize_t)(n + 1);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                               const char *version, const char *upload_data, size_t *upload_size, void **con_cls) {
        (void)cls;
        (void)version;
        struct upload *up = *con_cls;
        if (!up) {
                *con_cls = xcalloc(1, sizeof(struct upload));
                return MHD_YES;
        }
        if (*upload_size) {
                up->data = xrealloc(up->data, up->len + *upload_size + 1);
                memcpy(up->data + up->len, upload_data, *upload_size);
                up->len += *upload_size;
                up->data[up->len] = '\0';
                *upload_size = 0;
                return MHD_YES;
        }
        /* The full URL, query included, for the log. */
        const char *q_watch = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "watch");
        const char *q_rv = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "resourceVersion");
        const char *q_cont = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "continue");
        const char *q_limit = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
        char *full = xasprintf("%s%s%s%s%s%s%s%s%s", url, q_watch ? " watch" : "", q_rv ? " rv=" : "", q_rv ? q_rv : "",
                               q_limit ? " limit=" : "", q_limit ? q_limit : "", q_cont ? " continue=" : "",
                               q_cont ? q_cont : "", "");
        const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
        const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
        pthread_mutex_lock(&srv.lock);
        if (srv.n_log < MAX_LOG) {
                srv.method[srv.n_log] = xstrdup(method);
                srv.url[srv.n_log] = full;
                srv.auth[srv.n_log] = auth ? xstrdup(auth) : NULL;
                srv.ctype[srv.n_log] = ct ? xstrdup(ct) : NULL;
                srv.body[srv.n_log] = up->data ? xstrdup(up->data) : NULL;
                srv.n_log++;
        } else
                free(full);
        struct canned fallback = { .code = 500, .body = "script exhausted", .retry_after = -1 };
        struct canned one = fallback;
        const char *const *stream = NULL;
        if (srv.route) {
                const char *b = srv.route(url);
                one = (struct canned){ .code = b ? 200 : 404, .body = b ? b : "", .retry_after = -1 };
        } else if (srv.next < srv.n_script) {
                stream = srv.script[srv.next].stream; /* static: outlives the response */
                one = srv.script[srv.next++];
        }
        pthread_mutex_unlock(&srv.lock);

        if (one.code == 0)
                return MHD_NO; /* drop the connection */
        struct MHD_Response *resp;
        if (one.endless)
                resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, endless_cb, NULL, NULL);
        else if (one.stream[0]) {
                struct stream_state *s = xcalloc(1, sizeof(*s));
                s->lines = stream;
                resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_cb, s, free);
        } else
                resp = MHD_create_response_from_buffer(strlen(one.body), (void *)one.body, MHD_RESPMEM_MUST_COPY);
        MHD_add_response_header(resp, "Content-Type", "application/json");
        if (one.retry_after >= 0) {
                char v[16];
                snprintf(v, sizeof(v), "%d", one.retry_after);
                MHD_add_response_header(resp, "Retry-After", v);
        }
        enum MHD_Result ret = MHD_queue_response(conn, (unsigned)one.code, resp);
        MHD_destroy_response(resp);
        return ret;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
        (void)cls;
        (void)conn;
        (void)toe;
        struct upload *up = *con_cls;
        if (up) {
                free(up->data);
                free(up);
        }
        *con_cls = NULL;
}

static void server_start(const struct canned *script, size_t n) {
        srv.script = script;
        srv.n_script = n;
        srv.next = 0;
        srv.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, handler, NULL,
                                 MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_SOCK_ADDR,
                                 &(struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) },
                                 MHD_OPTION_END);
        cr_assert_not_null(srv.d, "cannot start the test server");
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv.d, MHD_DAEMON_INFO_BIND_PORT);
        srv.port = info->port;
}

static void server_stop(void) {
        if (srv.d)
                MHD_stop_daemon(srv.d);
        srv.d = NULL;
        for (size_t i = 0; i < srv.n_log; i++) {
                free(srv.method[i]);
                free(srv.url[i]);
                free(srv.auth[i]);
                free(srv.body[i]);
                free(srv.ctype[i]);
        }
        srv.n_log = 0;
        srv.route = NULL;
}

static size_t served(void) {
        pthread_mutex_lock(&srv.lock);
        size_t n = srv.n_log;
        pthread_mutex_unlock(&srv.lock);
        return n;
}

/* ---- a fake clock: sleeping moves time, nothing waits ---- */

static struct {
        int64_t now;
        int64_t slept[32];
        size_t n_slept;
        uint32_t rnd;
} fake;

static int64_t fake_now(void *u) {
        (void)u;
        return fake.now;
}

static void fake_sleep(void *u, int64_t ms) {
        (void)u;
        if (fake.n_slept < ELEMENTSOF(fake.slept))
                fake.slept[fake.n_slept++] = ms;
        fake.now += ms;
}

static uint32_t fake_random(void *u) {
        (void)u;
        return fake.rnd;
}

/* ---- a client for the server ---- */

static struct kube_config cfg;
static struct kube_client *client;

/* A client of the test server, with options o (NULL: the defaults). */
static struct kube_client *client_new(const char *token, const struct kube_client_options *o) {
        memset(&cfg, 0, sizeof(cfg));
        cfg.server = xasprintf("http://127.0.0.1:%u", srv.port);
        cfg.token = token ? xstrdup(token) : NULL;
        cfg.namespace = xstrdup("default");
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kube_client_new(&cfg, o, &client, &err), 0, "%s", err.message);
        return client;
}

/* The same, on the fake clock. */
static struct kube_client *connect_with(const char *token) {
        client_new(token, NULL);
        memset(&fake, 0, sizeof(fake));
        kube_client_set_clock(client, &(struct kube_clock){ .now_ms = fake_now, .sleep_ms = fake_sleep,
                                                            .random = fake_random });
        return client;
}

static void teardown(void) {
        kube_client_free(client);
        client = NULL;
        free(cfg.server);
        free(cfg.token);
        free(cfg.token_file);
        free(cfg.namespace);
        free(cfg.username);
        free(cfg.password);
        memset(&cfg, 0, sizeof(cfg));
        server_stop();
}

#define NOT_FOUND                                                                                                  \
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"databases.example.promise." \
        "syntasso.io \\\"x\\\" not found\",\"reason\":\"NotFound\",\"code\":404}"
#define CONFLICT                                                                                                   \
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"Operation cannot be "      \
        "fulfilled on databases.example.promise.syntasso.io \\\"x\\\": the object has been modified\","            \
        "\"reason\":\"Conflict\",\"code\":409}"
#define UNAVAILABLE "{\"kind\":\"Status\",\"message\":\"down for a moment\",\"reason\":\"ServiceUnavailable\",\"code\":503}"
#define OK_OBJ "{\"kind\":\"Database\",\"metadata\":{\"name\":\"x\",\"resourceVersion\":\"7\"}}"

/* ---- error wording ---- */

Test(kube_errors, formatted_as_kubectl_does) {
        char *reason = NULL;
        char *m = kube_format_server_error(404, NOT_FOUND, strlen(NOT_FOUND), &reason);
        cr_assert_str_eq(m, "Error from server (NotFound): databases.example.promise.syntasso.io \"x\" not found");
        cr_assert_str_eq(reason, "NotFound");
        free(m);
        free(reason);
        const char *unauth = "{\"kind\":\"Status\",\"message\":\"Unauthorized\",\"reason\":\"Unauthorized\",\"code\":401}";
        m = kube_format_server_error(401, unauth, strlen(unauth), NULL);
        cr_assert_str_eq(m, "error: You must be logged in to the server (Unauthorized)");
        free(m);
        m = kube_format_server_error(500, "boom", 4, NULL);
        cr_assert_str_eq(m, "Error from server (InternalError): an error on the server (\"boom\") has prevented the "
                            "request from succeeding");
        free(m);
        m = kube_format_server_error(503, NULL, 0, NULL);
        cr_assert_str_eq(m, "Error from server (ServiceUnavailable): the server is currently unable to handle the request");
        free(m);
        m = kube_format_server_error(404, "<html>", 6, NULL);
        cr_assert_str_eq(m, "Error from server (NotFound): the server could not find the requested resource");
        free(m);
        m = kube_format_server_error(418, "", 0, &reason);
        cr_assert_str_eq(m, "Error from server: the server responded with the status code 418 but did not return more "
                            "information");
        free(m);
        free(reason);
        const char *invalid = "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"Database.example.promise.syntasso.io "
                              "\\\"a\\\" is invalid: metadata.name: Invalid value: \\\"\\\": field is immutable\",\"reason\":"
                              "\"Invalid\",\"code\":422,\"details\":{\"name\":\"a\",\"kind\":\"Database\",\"causes\":[{\"reason\":"
                              "\"FieldValueInvalid\",\"message\":\"Invalid value: \\\"\\\": field is immutable\",\"field\":"
                              "\"metadata.name\"}]}}";
        m = kube_format_server_error(422, invalid, strlen(invalid), NULL);
        cr_assert_str_eq(m, "The Database \"a\" is invalid: metadata.name: Invalid value: \"\": field is immutable");
        free(m);
        const char *two = "{\"kind\":\"Status\",\"reason\":\"Invalid\",\"message\":\"x\",\"details\":{\"name\":\"a\","
                          "\"kind\":\"Database\",\"causes\":[{\"field\":\"spec.a\",\"message\":\"m1\"},{\"field\":"
                          "\"spec.b\",\"message\":\"m2\"}]}}";
        m = kube_format_server_error(422, two, strlen(two), NULL);
        cr_assert_str_eq(m, "The Database \"a\" is invalid: \n* spec.a: m1\n* spec.b: m2");
        free(m);
        const char *noreason = "{\"kind\":\"Status\",\"message\":\"something odd\",\"code\":400}";
        m = kube_format_server_error(400, noreason, strlen(noreason), NULL);
        cr_assert_str_eq(m, "Error from server: something odd");
        free(m);
}

/* apimachinery's IsValidPathSegmentName, in its words. */
Test(kube_names, path_segments_as_client_go_checks_them) {
        const char *cases[][2] = { { "example", NULL },
                                   { "x?y", NULL },
                                   { ".", "[may not be '.']" },
                                   { "..", "[may not be '..']" },
                                   { "a/b", "[may not contain '/']" },
                                   { "a%2Fb", "[may not contain '%']" },
                                   { "a%/b", "[may not contain '/' may not contain '%']" } };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *got = kube_path_segment_problems(cases[i][0]);
                if (cases[i][1])
                        cr_assert(got && strcmp(got, cases[i][1]) == 0, "%s: got %s", cases[i][0], got ? got : "NULL");
                else
                        cr_assert_null(got, "%s: got %s", cases[i][0], got);
                free(got);
        }
}

/* A server's 12 MB message must not become a 12 MB error line. */
Test(kube_errors, a_huge_message_is_capped) {
        size_t n = 12u << 20;
        char *msg = xmalloc(n + 1);
        memset(msg, 'a', n);
        msg[n] = '\0';
        memcpy(msg + 4094, "\xc3\xa9", 2); /* é across the cut stays whole */
        char *body = xasprintf("{\"kind\":\"Status\",\"reason\":\"BadRequest\",\"message\":\"%s\"}", msg);
        char *m = kube_format_server_error(400, body, strlen(body), NULL);
        cr_assert_lt(strlen(m), 8192, "an error line of %zu bytes", strlen(m));
        cr_assert(strncmp(m, "Error from server (BadRequest): aaa", 35) == 0, "%.60s", m);
        char *want = xasprintf("... (%zu more bytes)", n - 4096);
        cr_assert(strstr(m, want), "the cut is marked: %s", m + strlen(m) - 40);
        cr_assert(strstr(m, "\xc3\xa9...") || strstr(m, "aa..."), "cut on a UTF-8 boundary");
        free(want);
        free(m);
        free(body);
        free(msg);
}

/* An answer past the client's limit is refused with the limit named, and an
 * endless chunked body is stopped there: the body held never passes it. */
Test(kube_client, an_endless_body_stops_at_the_limit, .fini = teardown) {
        static const struct canned s[] = { { .code = 200, .body = "", .retry_after = -1, .endless = true },
                                           { 200, "[1,2,3]", -1, { 0 } } };
        server_start(s, ELEMENTSOF(s));
        struct kube_client_options o = { .max_response_bytes = 1u << 20 };
        client_new(NULL, &o);
        json_t *v = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kube_client_get(client, "/endless", &v, &err), -E2BIG);
        cr_assert_str_eq(err.message, "error: the server's answer is larger than 1 MiB");
        cr_assert_null(v);
        kstatus_error_done(&err);
        /* Stopped near the limit: the server got no further than socket buffers allow. */
        cr_assert_lt(__atomic_load_n(&endless_sent, __ATOMIC_RELAXED), 64u << 20, "%zu bytes sent", endless_sent);
        /* A small answer still goes through the same client. */
        cr_assert_eq(kube_client_get(client, "/small", &v, &err), 0, "%s", err.message);
        json_decref(v);
}

/* A counting allocator for jansson: the heap its blocks take as glibc's
 * malloc hands them out (a chunk of the request plus its 8-byte header,
 * rounded up to 16, at least 32), now and at most. The chunk size is computed,
 * not asked of the allocator, so the figure is the same under ASan, whose
 * malloc_usable_size() is the bare request. Each block carries its request
 * size in front of it. */
static size_t heap_now, heap_peak;

static size_t glibc_chunk(size_t n) {
        size_t c = (n + 8 + 15) & ~(size_t)15;
        return c < 32 ? 32 : c;
}

static void *counting_malloc(size_t n) {
        size_t *p = malloc(n + 16);
        if (!p)
                return NULL;
        p[0] = n;
        heap_now += glibc_chunk(n);
        if (heap_now > heap_peak)
                heap_peak = heap_now;
        return (char *)p + 16;
}

static void counting_free(void *q) {
        if (!q)
                return;
        size_t *p = (size_t *)((char *)q - 16);
        heap_now -= glibc_chunk(p[0]);
        free(p);
}

/* open, then n times item (its # replaced by the item's index) joined by
 * commas, then close. */
static char *repeated(const char *open, const char *item, size_t n, const char *close) {
        char *s = xstrdup(open);
        const char *hash = strchr(item, '#');
        int head = hash ? (int)(hash - item) : (int)strlen(item);
        for (size_t i = 0; i < n; i++) {
                char *joined = hash ? xasprintf("%s%s%.*s%zu%s", s, i ? "," : "", head, item, i, hash + 1)
                                    : xasprintf("%s%s%s", s, i ? "," : "", item);
                free(s);
                s = joined;
        }
        char *all = xasprintf("%s%s", s, close);
        free(s);
        return all;
}

/* The estimate is never under the heap jansson really takes at its peak
 * while parsing (the oracle: jansson's own allocations, counted) and at most
 * 1.5 times it, for the dearest values, the cheapest, long strings, deep
 * nesting, and the shapes statuses and objects take. */
Test(kube_client, the_memory_estimate_follows_what_jansson_allocates) {
        char *texts[] = {
                repeated("[", "{}", 4000, "]"),
                repeated("[", "[]", 4000, "]"),
                repeated("[", "0", 4000, "]"),
                repeated("[", "true", 4000, "]"),
                repeated("[", "-1.5e+3", 4000, "]"),
                repeated("[", "\"s#\"", 4000, "]"),
                repeated("{", "\"k#\":\"value\"", 4000, "}"),
                repeated("{", "\"k#\":1", 4000, "}"),
                repeated("[", "{\"metadata\":{\"name\":\"r#\",\"namespace\":\"default\",\"labels\":{\"app\":\"x\"}},"
                              "\"spec\":{\"size\":3,\"tls\":true},\"status\":{\"conditions\":[{\"type\":\"Ready\","
                              "\"status\":\"True\",\"message\":\"all good\"}]}}", 500, "]"),
                repeated("[", "\"\\u00e9\\n\\\"#\"", 4000, "]"),
                repeated("{\"a\":\"", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 1000, "\"}"),
                NULL,
        };
        /* And 1000 levels of nesting. */
        char *deep = xmalloc(7000);
        size_t k = 0;
        for (int i = 0; i < 1000; i++)
                k += (size_t)sprintf(deep + k, "{\"a\":");
        k += (size_t)sprintf(deep + k, "1");
        for (int i = 0; i < 1000; i++)
                deep[k++] = '}';
        deep[k] = '\0';
        texts[ELEMENTSOF(texts) - 1] = deep;
        json_set_alloc_funcs(counting_malloc, counting_free);
        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                heap_now = heap_peak = 0;
                json_t *v = json_loads(texts[i], 0, NULL);
                cr_assert_not_null(v, "%.60s", texts[i]);
                size_t peak = heap_peak, est = 0;
                json_decref(v);
                cr_assert_eq(kube_json_estimate_memory(texts[i], strlen(texts[i]), SIZE_MAX, &est), 0);
                cr_log_info("%.40s: estimated %zu, jansson took %zu at most (%.2f)", texts[i], est, peak,
                            (double)est / (double)peak);
                cr_expect_geq(est, peak, "%.60s: estimated %zu, jansson took %zu", texts[i], est, peak);
                cr_expect_leq(est * 2, peak * 3, "%.60s: estimated %zu, jansson took %zu", texts[i], est, peak);
                /* At the estimate it passes; one byte under, it is refused. */
                cr_assert_eq(kube_json_estimate_memory(texts[i], strlen(texts[i]), est, NULL), 0);
                cr_assert_eq(kube_json_estimate_memory(texts[i], strlen(texts[i]), est - 1, NULL), -E2BIG);
                free(texts[i]);
        }
        json_set_alloc_funcs(malloc, free);
        size_t got = 1;
        cr_assert_eq(kube_json_estimate_memory("", 0, 0, &got), 0);
        cr_assert_eq(got, 0);
}

/* A caller that passes no place for the answer gets none built: a 2xx body
 * that is not JSON, or past the memory limit, is not even looked at (the
 * sidecar's final write); with a place for it, the same bodies are refused. */
Test(kube_client, an_answer_nobody_asked_for_is_not_parsed, .fini = teardown) {
        static const struct canned s[] = { { 200, "[{},{},{},{}]", -1, { 0 } }, { 200, "not json", -1, { 0 } },
                                           { 200, "not json", -1, { 0 } } };
        server_start(s, ELEMENTSOF(s));
        struct kube_client_options o = { .max_response_memory = 1000 };
        client_new(NULL, &o);
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        json_t *body = json_pack("{s:s}", "a", "b");
        cr_assert_eq(kube_client_patch(client, "/p", NULL, KUBE_PATCH_MERGE, body, NULL, NULL, &err), 0, "%s",
                     err.message);
        cr_assert_eq(kube_client_patch(client, "/p", NULL, KUBE_PATCH_MERGE, body, NULL, NULL, &err), 0, "%s",
                     err.message);
        json_t *v = NULL;
        cr_assert_eq(kube_client_patch(client, "/p", NULL, KUBE_PATCH_MERGE, body, NULL, &v, &err), -EBADMSG);
        cr_assert_eq(err.http_code, 200);
        cr_assert_null(v);
        json_decref(body);
}

/* A 2xx answer cut at the size limit still says the request was done: a
 * caller that wants no answer gets 0, one that wants it -E2BIG with the
 * code, so that a stored write is told from a refused one. */
Test(kube_client, a_success_cut_at_the_size_limit_keeps_its_code, .fini = teardown) {
        static char big[2048];
        memset(big, ' ', sizeof(big) - 3);
        big[0] = '[';
        big[sizeof(big) - 3] = ']';
        static const struct canned s[] = { { 200, big, -1, { 0 } }, { 200, big, -1, { 0 } } };
        server_start(s, ELEMENTSOF(s));
        struct kube_client_options o = { .max_response_bytes = 1024 };
        client_new(NULL, &o);
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        json_t *body = json_pack("{s:s}", "a", "b");
        cr_assert_eq(kube_client_patch(client, "/p", NULL, KUBE_PATCH_MERGE, body, NULL, NULL, &err), 0, "%s",
                     err.message);
        json_t *v = NULL;
        cr_assert_eq(kube_client_patch(client, "/p", NULL, KUBE_PATCH_MERGE, body, NULL, &v, &err), -E2BIG);
        cr_assert_eq(err.http_code, 200);
        cr_assert_str_eq(err.message, "error: the server's answer is larger than 1 KiB");
        cr_assert_null(v);
        json_decref(body);
}

/* An answer whose tree would take more memory than the client allows is
 * refused before it is parsed, the limit named (4 empty objects: ~1184
 * bytes); one under it (3 numbers: ~304) goes through. */
Test(kube_client, an_answer_past_the_memory_limit_is_refused, .fini = teardown) {
        static const struct canned s[] = { { 200, "[{},{},{},{}]", -1, { 0 } }, { 200, "[1,2,3]", -1, { 0 } } };
        server_start(s, ELEMENTSOF(s));
        struct kube_client_options o = { .max_response_memory = 1000 };
        client_new(NULL, &o);
        json_t *v = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kube_client_get(client, "/many", &v, &err), -E2BIG);
        cr_assert_str_eq(err.message, "error: the server's answer would take more than 1000 bytes once parsed");
        cr_assert_null(v);
        kstatus_error_done(&err);
        cr_assert_eq(kube_client_get(client, "/four", &v, &err), 0, "%s", err.message);
        cr_assert_eq(json_array_size(v), 3);
        json_decref(v);
}

/* ---- requests ---- */

Test(kube_client, get_reuses_one_connection_and_sends_the_token, .fini = teardown) {
        static const struct canned s[] = { { 200, OK_OBJ, -1, { 0 } }, { 200, OK_OBJ, -1, { 0 } },
                                           { 404, NOT_FOUND, -1, { 0 } } };
        server_start(s, ELEMENTSOF(s));
        connect_with("secret-token-x");
        json_t *obj = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kube_client_get(client, "/apis/g/v1/namespaces/a/databases/x", &obj, &err), 0);
        cr_assert_str_eq(json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")), "x");
        json_decref(obj);
        cr_assert_eq(kube_client_get(client, "/x", NULL, &err), 0);
        cr_assert_eq(kube_client_get(client, "/y", &obj, &err), -ENOENT);
        cr_assert_eq(err.http_code, 404);
        cr_assert_str_eq(err.reason, "NotFound");
        cr_assert_str_eq(err.message,
                         "Error from server (NotFound): databases.example.promise.syntasso.io \"x\" not found");
        cr_assert_null(strstr(err.message, "secret-token-x"));
        kstatus_error_done(&err);
        unsigned requests, connections;
        kube_client_counters(client, &requests, &connections);
        cr_assert_eq(requests, 3);
        cr_assert_eq(connections, 1, "keep-alive: one connection for three requests, got %u", connections);
        cr_assert_str_eq(srv.auth[0], "Bearer secret-token-x");
        cr_assert_str_eq(srv.method[0], "GET");
        cr_assert_str_eq(srv.url[0], "/apis/g/v1/namespaces/a/databases/x");
}

Test(kube_client, patch_and_create_send_their_content_types, .fini = teardown) {
        static const struct canned s[] = { { 200, OK_OBJ, -1, { 0 } }, { 200, OK_OBJ, -1, { 0 } },
                                           { 201, "{}", -1, { 0 } } };
        server_start(s, ELEMENTSOF(s));
        connect_with(NULL);
        cfg.username = xstrdup("admin");
        cfg.password = xstrdup("hunter2");
        json_t *body = json_pack("{s:{s:s}}", "status", "message", "hi");
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kube_client_patch(client, "/apis/g/v1/namespaces/a/databases/x", "status", KUBE_PATCH_MERGE,
                                       body, NULL, NULL, &err), 0);
        json_t *ops = json_pack("[{s:s, s:s, s:s}]", "op", "replace", "path", "/status/message", "value", "yo");
        cr_assert_eq(kube_client_patch(client, "/p", NULL, KUBE_PATCH_JSON, ops, NULL, NULL, &err), 0);
        cr_assert_eq(kube_client_create(client, "/api/v1/namespaces/a/events", body, NULL, NULL, &err), 0);
        cr_assert_str_eq(srv.method[0], "PATCH");
        cr_assert_str_eq(srv.url[0], "/apis/g/v1/namespaces/a/databases/x/status");
        cr_assert_str_eq(srv.ctype[0], "application/merge-patch+json");
        cr_assert_str_eq(srv.body[0], "{\"status\":{\"message\":\"hi\"}}");
        cr_assert_str_eq(srv.ctype[1], "application/json-patch+json");
        cr_assert_str_eq(srv.method[2], "POST");
        cr_assert_str_eq(srv.ctype[2], "application/json");
        /* Basic auth: "admin:hunter2". */
        cr_assert_str_eq(srv.auth[0], "Basic YWRtaW46aHVudGVyMg==");
        json_decref(body);
        json_decref(ops);
}

Test(kube_client, token_file_is_reread_when_it_changes, .fini = teardown) {
        static const struct canned s[] = { { 200, "{}", -1, { 0 } }, { 200, "{}", -1, { 0 } },
                                           { 200, "{}", -1, { 0 } } };
        server_start(s, ELEMENTSOF(s));
        char dir[] = "/tmp/kstatus-token.XXXXXX";
        cr_assert_not_null(mkdtemp(dir));
        char *path = xasprintf("%s/token", dir);
        FILE *f = fopen(path, "w");
        fputs("first-token\n", f);
        fclose(f);
        connect_with(NULL);
        cfg.token_file = xstrdup(path);
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kube_client_get(client, "/a", NULL, &err), 0);
        cr_assert_eq(kube_client_get(client, "/a", NULL, &err), 0);
        /* The kubelet rotates a projected token by replacing the file. */
        char *tmp = xasprintf("%s/token.new", dir);
        f = fopen(tmp, "w");
        fputs("second-token-longer", f);
        fclose(f);
        cr_assert_eq(rename(tmp, path), 0);
        cr_assert_eq(kube_client_get(client, "/a", NULL, &err), 0);
        cr_assert_str_eq(srv.auth[0], "Bearer first-token");
        cr_assert_str_eq(srv.auth[1], "Bearer first-token");
        cr_assert_str_eq(srv.auth[2], "Bearer second-token-longer");
        unlink(path);
        rmdir(dir);
        free(path);
        free(tmp);
}

/* A rotated token with a line break inside would reach the wire as a header
 * of its own: refused, nothing sent. */
Test(kube_client, token_file_with_a_control_character_is_refused, .fini = teardown) {
        static const struct canned s[] = { { 200, "{}", -1, { 0 } } };
        server_start(s, ELEMENTSOF(s));
        char dir[] = "/tmp/kstatus-token.XXXXXX";
        cr_assert_not_null(mkdtemp(dir));
        char *path = xasprintf("%s/token", dir);
        FILE *f = fopen(path, "w");
        fputs("secret-token\r\nX-Injected: 1\n", f);
        fclose(f);
        connect_with(NULL);
        cfg.token_file = xstrdup(path);
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_lt(kube_client_get(client, "/a", NULL, &err), 0);
        char *want = xasprintf("token file \"%s\" contains a control character", path);
        cr_assert(strstr(err.message, want), "got \"%s\"", err.message);
        cr_assert_null(strstr(err.message, "secret-token"));
        cr_assert_eq(served(), 0, "nothing was sent");
        kstatus_error_done(&err);
        unlink(path);
        rmdir(dir);
        free(want);
        free(path);
}

/* A credential set after loading (kubectl kstatus --token, --username) is
 * checked too, before anything is sent. */
Test(kube_client, a_credential_with_a_control_character_is_never_sent, .fini = teardown) {
        static const struct canned s[] = { { 200, "{}", -1, { 0 } }, { 200, "{}", -1, { 0 } } };
        server_start(s, ELEMENTSOF(s));
        connect_with("secret-token\r\nX-Injected: 1");
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_lt(kube_client_get(client, "/a", NULL, &err), 0);
        cr_assert_str_eq(err.message, "Unable to connect to the server: the bearer token contains a control character");
        kstatus_error_done(&err);
        free(cfg.token);
        cfg.token = NULL;
        cfg.username = xstrdup("admin");
        cfg.password = xstrdup("hunter2\n");
        cr_assert_lt(kube_client_get(client, "/a", NULL, &err), 0);
        cr_assert_str_eq(err.message, "Unable to connect to the server: the password contains a control character");
        kstatus_error_done(&err);
        cr_assert_eq(served(), 0, "nothing was sent");
}

Test(kube_client, proxy_url_is_used, .fini = teardown) {
        static const struct canned s[] = { { 200, "{}", -1, { 0 } } };
        server_start(s, ELEMENTSOF(s));
        /* The scripted server plays the proxy: the request names the real server. */
        memset(&cfg, 0, sizeof(cfg));
        cfg.server = xstrdup("http://kstatus-api.invalid:8080");
        cfg.namespace = xstrdup("default");
        char *proxy = xasprintf("http://127.0.0.1:%u", srv.port);
        cfg.proxy_url = proxy;
        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
        cr_assert_eq(kube_client_new(&cfg, NULL, &client, &e), 0, "%s", e.message);
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kube_client_get(client, "/api/v1/namespaces", NULL, &err), 0, "%s", err.message);
        cr_assert_eq(served(), 1);
        cr_assert(strstr(srv.url[0], "kstatus-api.invalid:8080/api/v1/namespaces"), "the proxy saw %s", srv.url[0]);
        kube_client_free(client);
        client = NULL;
        cfg.proxy_url = NULL;
        free(proxy);
}

/* As Go's ProxyFromEnvironment under kubectl: loopback servers are reached
 * directly, whatever HTTPS_PROXY and HTTP_PROXY say. The proxies named here
 * refuse connections, so a request through them would fail. */
Test(kube_client, loopback_bypasses_environment_proxies, .fini = teardown) {
        static const struct canned s[] = { { 200, "{}", -1, { 0 } }, { 200, "{}", -1, { 0 } } };
        server_start(s, ELEMENTSOF(s));
        unsetenv("NO_PROXY");
        unsetenv("no_proxy");
        setenv("HTTPS_PROXY", "http://127.0.0.1:1", 1);
        setenv("HTTP_PROXY", "http://127.0.0.1:1", 1);
        setenv("http_proxy", "http://127.0.0.1:1", 1);
        const char *hosts[] = { "127.0.0.1", "localhost" };
        for (size_t i = 0; i < ELEMENTSOF(hosts); i++) {
                memset(&cfg, 0, sizeof(cfg));
                cfg.server = xasprintf("http://%s:%u", hosts[i], srv.port);
                cfg.namespace = xstrdup("default");
                _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
                cr_assert_eq(kube_client_new(&cfg, NULL, &client, &e), 0, "%s", e.message);
                _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
                cr_assert_eq(kube_client_get(client, "/api", NULL, &err), 0, "%s: %s", hosts[i], err.message);
                kube_client_free(client);
                client = NULL;
                free(cfg.server);
                free(cfg.namespace);
                memset(&cfg, 0, sizeof(cfg));
        }
        cr_assert_eq(served(), 2);
}

static const char *page_route(const char *url) {
        (void)url;
        return NULL;
}

Test(kube_client, list_follows_continue, .fini = teardown) {
        static const struct canned s[] = {
                { 200, "{\"kind\":\"DatabaseList\",\"metadata\":{\"resourceVersion\":\"10\",\"continue\":\"c1\"},"
                       "\"items\":[{\"n\":1},{\"n\":2}]}", -1, { 0 } },
                { 200, "{\"kind\":\"DatabaseList\",\"metadata\":{\"resourceVersion\":\"10\",\"continue\":\"c 2\"},"
                       "\"items\":[{\"n\":3},{\"n\":4}]}", -1, { 0 } },
                { 200, "{\"kind\":\"DatabaseList\",\"metadata\":{\"resourceVersion\":\"11\"},\"items\":[{\"n\":5}]}",
                  -1, { 0 } },
        };
        (void)page_route;
        server_start(s, ELEMENTSOF(s));
        connect_with(NULL);
        json_t *list = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kube_client_list(client, "/apis/g/v1/databases?labelSelector=a%3Db", 2, NULL, NULL, &list, &err), 0,
                     "%s", err.message);
        cr_assert_eq(json_array_size(json_object_get(list, "items")), 5);
        cr_assert_eq(json_integer_value(json_object_get(json_array_get(json_object_get(list, "items"), 4), "n")), 5);
        cr_assert_str_eq(json_string_value(json_object_get(json_object_get(list, "metadata"), "resourceVersion")), "11");
        cr_assert_null(json_object_get(json_object_get(list, "metadata"), "continue"));
        cr_assert_str_eq(srv.url[0], "/apis/g/v1/databases limit=2");
        cr_assert_str_eq(srv.url[1], "/apis/g/v1/databases limit=2 continue=c1");
        cr_assert_str_eq(srv.url[2], "/apis/g/v1/databases limit=2 continue=c 2", "continue tokens are escaped");
        json_decref(list);
}

Test(kube_client, list_restarts_once_when_the_continue_token_expires, .fini = teardown) {
        static const struct canned s[] = {
                { 200, "{\"metadata\":{\"resourceVersion\":\"10\",\"continue\":\"c1\"},\"items\":[{\"n\":1}]}", -1, { 0 } },
                { 410, "{\"kind\":\"Status\",\"reason\":\"Expired\",\"message\":\"The provided continue parameter is too "
                       "old\",\"code\":410}", -1, { 0 } },
                { 200, "{\"metadata\":{\"resourceVersion\":\"12\",\"continue\":\"c2\"},\"items\":[{\"n\":1}]}", -1, { 0 } },
                { 200, "{\"metadata\":{\"resourceVersion\":\"12\"},\"items\":[{\"n\":2}]}", -1, { 0 } },
                { 200, "{\"metadata\":{\"resourceVersion\":\"13\",\"continue\":\"c3\"},\"items\":[]}", -1, { 0 } },
                { 410, "{\"kind\":\"Status\",\"reason\":\"Expired\",\"message\":\"too old\",\"code\":410}", -1, { 0 } },
                { 200, "{\"metadata\":{\"resourceVersion\":\"14\",\"continue\":\"c4\"},\"items\":[]}", -1, { 0 } },
                { 410, "{\"kind\":\"Status\",\"reason\":\"Expired\",\"message\":\"too old again\",\"code\":410}", -1, { 0 } },
        };
        server_start(s, ELEMENTSOF(s));
        connect_with(NULL);
        json_t *list = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kube_client_list(client, "/d", 1, NULL, NULL, &list, &err), 0, "%s", err.message);
        cr_assert_eq(json_array_size(json_object_get(list, "items")), 2, "items of the restarted list only");
        cr_assert_str_eq(json_string_value(json_object_get(json_object_get(list, "metadata"), "resourceVersion")), "12");
        json_decref(list);
        cr_assert_eq(served(), 4);
        /* Expired twice in one list: an error. */
        cr_assert_eq(kube_client_list(client, "/d", 1, NULL, NULL, &list, &err), -EUCLEAN);
        cr_assert_str_eq(err.message, "Error from server (Expired): too old again");
        kstatus_error_done(&err);
}

static int pages_seen;

static int count_page(const json_t *page, void *userdata) {
        (void)page;
        pages_seen++;
        return pages_seen == *(int *)userdata ? 7 : 0;
}

Test(kube_client, list_pages_to_a_callback, .fini = teardown) {
        static const struct canned s[] = {
                { 200, "{\"metadata\":{\"continue\":\"c1\"},\"items\":[{\"n\":1}]}", -1, { 0 } },
                { 200, "{\"metadata\":{\"continue\":\"c2\"},\"items\":[{\"n\":2}]}", -1, { 0 } },
                { 200, "{\"metadata\":{},\"items\":[{\"n\":3}]}", -1, { 0 } },
        };
        server_start(s, ELEMENTSOF(s));
        connect_with(NULL);
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int stop_at = 2;
        pages_seen = 0;
        cr_assert_eq(kube_client_list(client, "/d", 1, count_page, &stop_at, NULL, &err), 7, "the callback stops it");
        cr_assert_eq(pages_seen, 2);
        cr_assert_eq(served(), 2, "no page is fetched after the callback stopped");
}

/* ---- retries ---- */

static int recompute_calls;
static int recompute_answer;

static int recompute(struct kube_client *c, void *userdata, json_t **body, struct kstatus_error *err) {
        (void)c;
        (void)userdata;
        (void)err;
        recompute_calls++;
        if (recompute_answer == 0)
                return 0;
        *body = json_pack("{s:{s:s}, s:i}", "metadata", "resourceVersion", "8", "round", recompute_calls);
        return 1;
}

Test(kube_retry, conflict_recomputes_and_writes_once, .fini = teardown) {
        static const struct canned s[] = { { 409, CONFLICT, -1, { 0 } }, { 200, OK_OBJ, -1, { 0 } } };
        server_start(s, ELEMENTSOF(s));
        connect_with(NULL);
        recompute_calls = 0;
        recompute_answer = 1;
        json_t *body = json_pack("{s:{s:s}}", "metadata", "resourceVersion", "7");
        struct kube_retry_policy p = { .deadline_ms = 60000, .recompute = recompute };
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        json_t *ret = NULL;
        cr_assert_eq(kube_client_patch(client, "/x", "status", KUBE_PATCH_MERGE, body, &p, &ret, &err), 0, "%s",
                     err.message);
        cr_assert_eq(recompute_calls, 1);
        cr_assert_eq(err.attempts, 2);
        cr_assert_eq(served(), 2);
        cr_assert_str_eq(srv.body[1], "{\"metadata\":{\"resourceVersion\":\"8\"},\"round\":1}", "the recomputed body");
        cr_assert_eq(fake.n_slept, 0, "a conflict is re-read at once");
        json_decref(ret);
        json_decref(body);
}

Test(kube_retry, conflict_with_nothing_left_to_do, .fini = teardown) {
        static const struct canned s[] = { { 409, CONFLICT, -1, { 0 } } };
        server_start(s, ELEMENTSOF(s));
        connect_with(NULL);
        recompute_calls = 0;
        recompute_answer = 0;
        json_t *body = json_object();
        struct kube_retry_policy p = { .deadline_ms = 60000, .recompute = recompute };
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kube_client_patch(client, "/x", NULL, KUBE_PATCH_MERGE, body, &p, NULL, &err), KUBE_NOTHING_TO_DO);
        cr_assert_eq(served(), 1);
        /* Without a recompute callback a conflict is an error. */
        p.recompute = NULL;
        srv.next = 0;
        cr_assert_eq(kube_client_patch(client, "/x", NULL, KUBE_PATCH_MERGE, body, &p, NULL, &err), -ESTALE);
        cr_assert(str_has_prefix(err.message, "Error from server (Conflict): Operation cannot be fulfilled"), "%s",
                  err.message);
        kstatus_error_done(&err);
        json_decref(body);
}

Test(kube_retry, retry_after_is_honoured, .fini = teardown) {
        static const struct canned s[] = { { 429, "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\","
                                                   "\"message\":\"slow down\",\"code\":429}", 3, { 0 } },
                                           { 503, UNAVAILABLE, 1, { 0 } },
                                           { 200, OK_OBJ, -1, { 0 } } };
        server_start(s, ELEMENTSOF(s));
        connect_with(NULL);
        json_t *body = json_object();
        struct kube_retry_policy p = { .deadline_ms = 60000 };
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kube_client_patch(client, "/x", NULL, KUBE_PATCH_MERGE, body, &p, NULL, &err), 0);
        cr_assert_eq(fake.n_slept, 2);
        cr_assert_eq(fake.slept[0], 3000);
        cr_assert_eq(fake.slept[1], 1000);
        cr_assert_eq(served(), 3);
        json_decref(body);
}

Test(kube_retry, server_errors_back_off_exponentially_with_jitter, .fini = teardown) {
        static const struct canned s[] = { { 500, "boom", -1, { 0 } }, { 502, "", -1, { 0 } },
                                           { 503, UNAVAILABLE, -1, { 0 } }, { 504, "", -1, { 0 } },
                                           { 200, OK_OBJ, -1, { 0 } } };
        server_start(s, ELEMENTSOF(s));
        connect_with(NULL);
        fake.rnd = 0xFFFFFFFFu; /* the top of each jitter window... */
        json_t *body = json_object();
        struct kube_retry_policy p = { .deadline_ms = 60000 };
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kube_client_patch(client, "/x", NULL, KUBE_PATCH_MERGE, body, &p, NULL, &err), 0);
        cr_assert_eq(fake.n_slept, 4);
        /* ...is rnd % (backoff + 1): 100, 200, 400, 800 windows. */
        int64_t windows[] = { 100, 200, 400, 800 };
        for (size_t i = 0; i < 4; i++)
                cr_assert_eq(fake.slept[i], (int64_t)(0xFFFFFFFFu % (uint64_t)(windows[i] + 1)), "sleep %zu: %ld", i,
                             (long)fake.slept[i]);
        for (size_t i = 0; i < 4; i++)
                cr_assert_leq(fake.slept[i], windows[i]);
        cr_assert_eq(served(), 5);
        json_decref(body);
}

Test(kube_retry, backoff_is_capped, .fini = teardown) {
        static struct canned s[12];
        for (size_t i = 0; i < 11; i++)
                s[i] = (struct canned){ 500, "", -1, { 0 } };
        s[11] = (struct canned){ 200, OK_OBJ, -1, { 0 } };
        server_start(s, ELEMENTSOF(s));
        connect_with(NULL);
        fake.rnd = 0xFFFFFFFFu;
        json_t *body = json_object();
        struct kube_retry_policy p = { .deadline_ms = 3600000, .initial_backoff_ms = 100, .max_backoff_ms = 1000 };
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kube_client_patch(client, "/x", NULL, KUBE_PATCH_MERGE, body, &p, NULL, &err), 0);
        for (size_t i = 0; i < fake.n_slept; i++)
                cr_assert_leq(fake.slept[i], 1000);
        cr_assert_eq(served(), 12);
        json_decref(body);
}

/* An event loop's write: a 409 is still recomputed at once, a failure that
 * needs a wait comes back without sleeping, and kube_retry_wait_ms() gives
 * the same wait the policy would have slept. */
Test(kube_retry, no_sleep_returns_what_needs_a_wait, .fini = teardown) {
        static const struct canned s[] = { { 409, CONFLICT, -1, { 0 } }, { 500, "boom", -1, { 0 } } };
        server_start(s, ELEMENTSOF(s));
        connect_with(NULL);
        recompute_calls = 0;
        recompute_answer = 1;
        fake.rnd = 0; /* even a backoff of 0 ms is the loop's to wait */
        json_t *body = json_object();
        struct kube_retry_policy p = { .deadline_ms = 60000, .no_sleep = true, .recompute = recompute };
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kube_client_patch(client, "/x", NULL, KUBE_PATCH_MERGE, body, &p, NULL, &err), -EIO);
        cr_assert_eq(recompute_calls, 1, "the 409 was recomputed");
        cr_assert_eq(served(), 2);
        cr_assert_eq(fake.n_slept, 0, "nothing slept");
        cr_assert_eq(err.http_code, 500);
        fake.rnd = 0xFFFFFFFFu;
        cr_assert_eq(kube_retry_wait_ms(client, &p, 0, &err), (int64_t)(0xFFFFFFFFu % 101u));
        cr_assert_eq(kube_retry_wait_ms(client, &p, 3, &err), (int64_t)(0xFFFFFFFFu % 801u));
        cr_assert_eq(kube_retry_wait_ms(client, &p, 30, &err), (int64_t)(0xFFFFFFFFu % 5001u), "capped at 5 s");
        err.http_code = 429;
        err.retry_after_ms = 2000;
        cr_assert_eq(kube_retry_wait_ms(client, &p, 3, &err), 2000, "Retry-After wins");
        kstatus_error_done(&err);
        json_decref(body);
}

static int flaky_recompute(struct kube_client *c, void *userdata, json_t **body, struct kstatus_error *err) {
        (void)c;
        (void)userdata;
        if (recompute_calls++ == 0) {
                return kstatus_error_set_http(err, EAGAIN, 503, "ServiceUnavailable", xstrdup("re-read failed"));
        }
        *body = json_pack("{s:i}", "round", recompute_calls);
        return 1;
}

static int retries_told;

static void count_retry(void *userdata, const struct kstatus_error *err, int64_t wait_ms) {
        (void)userdata;
        (void)err;
        (void)wait_ms;
        retries_told++;
}

/* A recompute whose re-read fails transiently is waited out like a failed
 * attempt: the stale body gets its 409 again and the recompute runs again. */
Test(kube_retry, a_transient_recompute_failure_is_retried, .fini = teardown) {
        static const struct canned s[] = { { 409, CONFLICT, -1, { 0 } }, { 409, CONFLICT, -1, { 0 } },
                                           { 200, OK_OBJ, -1, { 0 } } };
        server_start(s, ELEMENTSOF(s));
        connect_with(NULL);
        recompute_calls = 0;
        retries_told = 0;
        fake.rnd = 50;
        json_t *body = json_object();
        struct kube_retry_policy p = { .deadline_ms = 60000, .recompute = flaky_recompute, .on_retry = count_retry };
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kube_client_patch(client, "/x", NULL, KUBE_PATCH_MERGE, body, &p, NULL, &err), 0, "%s",
                     err.message);
        cr_assert_eq(recompute_calls, 2);
        cr_assert_eq(served(), 3);
        cr_assert_str_eq(srv.body[2], "{\"round\":2}");
        cr_assert_eq(fake.n_slept, 1, "one backoff, after the failed re-read");
        cr_assert_eq(fake.slept[0], 50);
        cr_assert_eq(retries_told, 2, "told before each retry");
        json_decref(body);
}

Test(kube_retry, dropped_connection_then_success_writes_once, .fini = teardown) {
        static const struct canned s[] = { { 0, NULL, -1, { 0 } }, { 200, OK_OBJ, -1, { 0 } } };
        server_start(s, ELEMENTSOF(s));
        connect_with(NULL);
        json_t *body = json_object();
        struct kube_retry_policy p = { .deadline_ms = 60000 };
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kube_client_patch(client, "/x", NULL, KUBE_PATCH_MERGE, body, &p, NULL, &err), 0);
        cr_assert_eq(err.attempts, 2);
        cr_assert_eq(served(), 2);
        json_decref(body);
}

Test(kube_retry, the_deadline_ends_it_with_a_clear_error, .fini = teardown) {
        static struct canned s[40];
        for (size_t i = 0; i < ELEMENTSOF(s); i++)
                s[i] = (struct canned){ 503, UNAVAILABLE, -1, { 0 } };
        server_start(s, ELEMENTSOF(s));
        connect_with(NULL);
        fake.rnd = 0xFFFFFFFFu;
        json_t *body = json_object();
        struct kube_retry_policy p = { .deadline_ms = 2000 };
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kube_client_patch(client, "/x", NULL, KUBE_PATCH_MERGE, body, &p, NULL, &err), -EAGAIN);
        cr_assert_eq(err.http_code, 503);
        cr_assert(str_has_prefix(err.message, "Error from server (ServiceUnavailable): down for a moment (gave up after "),
                  "%s", err.message);
        cr_assert(strstr(err.message, "deadline 2.0s"), "%s", err.message);
        cr_assert_leq(fake.now, 2000, "no sleep past the deadline");
        cr_assert_eq((size_t)err.attempts, served(), "every attempt was one request");
        cr_assert_geq(err.attempts, 4);
        kstatus_error_done(&err);
        /* A Retry-After beyond the deadline is not waited for. */
        static const struct canned late[] = { { 429, "", 30, { 0 } } };
        server_stop();
        server_start(late, 1);
        kube_client_free(client);
        free(cfg.server);
        free(cfg.namespace);
        connect_with(NULL);
        p.deadline_ms = 10000;
        cr_assert_eq(kube_client_patch(client, "/x", NULL, KUBE_PATCH_MERGE, body, &p, NULL, &err), -EAGAIN);
        cr_assert_eq(fake.n_slept, 0);
        cr_assert_eq(served(), 1);
        kstatus_error_done(&err);
        json_decref(body);
}

/* A budget shared by many calls (the sidecar's shutdown) ends the retries
 * before the policy's own deadline, and bounds each attempt. */
static int64_t budget_until_1500(void *u) {
        (void)u;
        return fake.now < 1500 ? 1500 - fake.now : 0;
}

Test(kube_retry, a_shared_budget_ends_it_before_the_deadline, .fini = teardown) {
        static struct canned s[40];
        for (size_t i = 0; i < ELEMENTSOF(s); i++)
                s[i] = (struct canned){ 503, UNAVAILABLE, -1, { 0 } };
        server_start(s, ELEMENTSOF(s));
        connect_with(NULL);
        fake.rnd = 0xFFFFFFFFu;
        json_t *body = json_object();
        struct kube_retry_policy p = { .deadline_ms = 60000, .budget_ms = budget_until_1500 };
        struct kstatus_error err = { 0 };
        cr_assert_eq(kube_client_patch(client, "/x", NULL, KUBE_PATCH_MERGE, body, &p, NULL, &err), -EAGAIN);
        cr_assert(strstr(err.message, "(gave up after ") && strstr(err.message, " attempts: out of time)"), "%s",
                  err.message);
        cr_assert_leq(fake.now, 1500, "no sleep past the budget");
        cr_assert_geq(err.attempts, 3);
        kstatus_error_done(&err);
        json_decref(body);
}

Test(kube_retry, client_errors_are_not_retried, .fini = teardown) {
        static const struct canned s[] = { { 404, NOT_FOUND, -1, { 0 } },
                                           { 422, "{\"kind\":\"Status\",\"reason\":\"Invalid\",\"message\":\"bad\"}", -1,
                                             { 0 } } };
        server_start(s, ELEMENTSOF(s));
        connect_with(NULL);
        json_t *body = json_object();
        struct kube_retry_policy p = { .deadline_ms = 60000 };
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kube_client_patch(client, "/x", NULL, KUBE_PATCH_MERGE, body, &p, NULL, &err), -ENOENT);
        cr_assert_eq(err.attempts, 1);
        cr_assert_eq(kube_client_patch(client, "/x", NULL, KUBE_PATCH_MERGE, body, &p, NULL, &err), -EIO);
        cr_assert_str_eq(err.message, "Error from server (Invalid): bad");
        cr_assert_eq(served(), 2);
        cr_assert_eq(fake.n_slept, 0);
        kstatus_error_done(&err);
        json_decref(body);
}

Test(kube_retry, connection_refused, .fini = teardown) {
        /* A port that was just free: start and stop a server on it. */
        server_start(NULL, 0);
        unsigned port = srv.port;
        server_stop();
        srv.port = port;
        connect_with(NULL);
        json_t *body = json_object();
        struct kube_retry_policy p = { .deadline_ms = 1000 };
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        fake.rnd = 0xFFFFFFFFu;
        cr_assert_eq(kube_client_patch(client, "/x", NULL, KUBE_PATCH_MERGE, body, &p, NULL, &err), -ECONNREFUSED);
        char *want = xasprintf("The connection to the server 127.0.0.1:%u was refused - did you specify the right host "
                               "or port? (gave up after ", port);
        cr_assert(str_has_prefix(err.message, want), "%s", err.message);
        cr_assert_gt(err.attempts, 1, "refused connections are retried");
        cr_assert_eq(err.http_code, 0);
        free(want);
        kstatus_error_done(&err);
        cr_assert_eq(kube_client_get(client, "/x", NULL, &err), -ECONNREFUSED);
        want = xasprintf("The connection to the server 127.0.0.1:%u was refused - did you specify the right host or "
                         "port?", port);
        cr_assert_str_eq(err.message, want);
        free(want);
        kstatus_error_done(&err);
        json_decref(body);
}

/* ---- exec plugins ---- */

static char *plugin_dir;

static char *write_plugin(const char *name, const char *script) {
        if (!plugin_dir) {
                plugin_dir = xstrdup("/tmp/kstatus-exec.XXXXXX");
                cr_assert_not_null(mkdtemp(plugin_dir));
        }
        char *path = xasprintf("%s/%s", plugin_dir, name);
        FILE *f = fopen(path, "w");
        fputs(script, f);
        fclose(f);
        chmod(path, 0755);
        return path;
}

static struct kube_exec_config exec_cfg;
static char *exec_args[2];

static void use_plugin(const char *command, const char *api) {
        exec_cfg = (struct kube_exec_config){ .api_version = (char *)api, .command = (char *)command, .args = exec_args,
                                              .env = exec_args, .interactive_mode = (char *)"Never" };
        cfg.exec = &exec_cfg;
}

#define CRED(tok, exp)                                                                                             \
        "#!/bin/sh\necho run >> \"$0.runs\"\ncase \"$KUBERNETES_EXEC_INFO\" in *'\"interactive\":false'*) ;; "      \
        "*) exit 9;; esac\nprintf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\"," \
        "\"status\":{\"token\":\"" tok "\"" exp "}}'\n"

static int runs(const char *plugin) {
        char *p = xasprintf("%s.runs", plugin);
        FILE *f = fopen(p, "r");
        int n = 0, ch;
        while (f && (ch = fgetc(f)) != EOF)
                n += ch == '\n';
        if (f)
                fclose(f);
        free(p);
        return n;
}

Test(kube_exec, credential_cached_until_it_expires, .fini = teardown) {
        static const struct canned s[] = { { 200, "{}", -1, { 0 } }, { 200, "{}", -1, { 0 } },
                                           { 200, "{}", -1, { 0 } }, { 200, "{}", -1, { 0 } } };
        server_start(s, ELEMENTSOF(s));
        char *good = write_plugin("good", CRED("exec-token", ",\"expirationTimestamp\":\"2999-01-01T00:00:00Z\""));
        connect_with(NULL);
        use_plugin(good, "client.authentication.k8s.io/v1");
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kube_client_get(client, "/a", NULL, &err), 0, "%s", err.message);
        cr_assert_eq(kube_client_get(client, "/a", NULL, &err), 0, "%s", err.message);
        cr_assert_eq(runs(good), 1, "a credential valid until 2999 is cached");
        cr_assert_str_eq(srv.auth[1], "Bearer exec-token");
        kube_client_free(client);
        /* Expired credentials: used for the request at hand, the plugin runs again for the next. */
        char *expired = write_plugin("expired", CRED("old-token", ",\"expirationTimestamp\":\"2020-01-01T00:00:00Z\""));
        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
        cr_assert_eq(kube_client_new(&cfg, NULL, &client, &e), 0);
        use_plugin(expired, "client.authentication.k8s.io/v1");
        cr_assert_eq(kube_client_get(client, "/a", NULL, &err), 0, "%s", err.message);
        cr_assert_eq(kube_client_get(client, "/a", NULL, &err), 0, "%s", err.message);
        cr_assert_eq(runs(expired), 2, "an expired credential is not cached");
        cr_assert_str_eq(srv.auth[3], "Bearer old-token");
        free(good);
        free(expired);
}

Test(kube_exec, rerun_on_401, .fini = teardown) {
        static const struct canned s[] = {
                { 401, "{\"kind\":\"Status\",\"reason\":\"Unauthorized\",\"message\":\"Unauthorized\",\"code\":401}", -1,
                  { 0 } },
                { 200, "{}", -1, { 0 } } };
        server_start(s, ELEMENTSOF(s));
        char *p = write_plugin("rotating", CRED("tok", ""));
        connect_with(NULL);
        use_plugin(p, "client.authentication.k8s.io/v1");
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kube_client_get(client, "/a", NULL, &err), 0, "%s", err.message);
        cr_assert_eq(runs(p), 2, "the plugin runs again after a 401");
        cr_assert_eq(served(), 2);
        free(p);
}

Test(kube_exec, failures_in_client_go_words, .fini = teardown) {
        server_start(NULL, 0);
        connect_with(NULL);
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        exec_cfg = (struct kube_exec_config){ .api_version = (char *)"client.authentication.k8s.io/v1beta1",
                                              .command = (char *)"kstatus-no-such-plugin", .args = exec_args,
                                              .env = exec_args, .install_hint = (char *)"install it with: apt install x" };
        cfg.exec = &exec_cfg;
        cr_assert_eq(kube_client_get(client, "/a", NULL, &err), -EPERM);
        cr_assert_str_eq(err.message,
                         "Unable to connect to the server: getting credentials: exec: executable kstatus-no-such-plugin "
                         "not found\n\nIt looks like you are trying to use a client-go credential plugin that is not "
                         "installed.\n\nTo learn more about this feature, consult the documentation available at:\n"
                         "      https://kubernetes.io/docs/reference/access-authn-authz/authentication/"
                         "#client-go-credential-plugins\n\ninstall it with: apt install x");
        cr_assert_eq(err.http_code, 0);
        cr_assert_eq(served(), 0, "no request without a credential");
        char *fail = write_plugin("fail", "#!/bin/sh\nexit 3\n");
        use_plugin(fail, "client.authentication.k8s.io/v1");
        cr_assert_eq(kube_client_get(client, "/a", NULL, &err), -EPERM);
        char *want = xasprintf("Unable to connect to the server: getting credentials: exec: executable %s failed with "
                               "exit code 3", fail);
        cr_assert_str_eq(err.message, want);
        free(want);
        char *wrong = write_plugin("wrong", "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\","
                                            "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t\"}}'\n");
        use_plugin(wrong, "client.authentication.k8s.io/v1");
        cr_assert_eq(kube_client_get(client, "/a", NULL, &err), -EPERM);
        cr_assert(strstr(err.message, "exec plugin is configured to use API version client.authentication.k8s.io/v1, "
                                      "plugin returned version client.authentication.k8s.io/v1beta1"),
                  "%s", err.message);
        char *empty = write_plugin("empty", "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1\","
                                            "\"kind\":\"ExecCredential\",\"status\":{}}'\n");
        use_plugin(empty, "client.authentication.k8s.io/v1");
        cr_assert_eq(kube_client_get(client, "/a", NULL, &err), -EPERM);
        cr_assert(strstr(err.message, "exec plugin didn't return a token or cert/key pair"), "%s", err.message);
        /* A token with a line break would be a header of its own. */
        char *crlf = write_plugin("crlf", "#!/bin/sh\nprintf '%s\\n' '{\"apiVersion\":\"client.authentication.k8s.io/v1\","
                                          "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t\\r\\nX-Injected: 1\"}}'\n");
        use_plugin(crlf, "client.authentication.k8s.io/v1");
        cr_assert_eq(kube_client_get(client, "/a", NULL, &err), -EPERM);
        cr_assert(strstr(err.message, "exec plugin returned a token with a control character"), "%s", err.message);
        cr_assert_eq(served(), 0, "no request with a hostile credential");
        kstatus_error_done(&err);
        free(crlf);
        free(fail);
        free(wrong);
        free(empty);
}

/* ---- watches ---- */

static int events_seen;
static char seen[8][64];

static int on_event(const char *type, const json_t *obj, void *userdata) {
        (void)userdata;
        const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
        if (strcmp(type, "RELIST") == 0)
                name = json_string_value(json_object_get(json_array_get(json_object_get(obj, "items"), 0), "n"));
        if (events_seen < 8)
                snprintf(seen[events_seen], sizeof(seen[0]), "%s %s", type, name ? name : "?");
        events_seen++;
        return strcmp(type, "DELETED") == 0 ? 42 : 0;
}

#define EV(type, name, rv) "{\"type\":\"" type "\",\"object\":{\"metadata\":{\"name\":\"" name "\",\"resourceVersion\":\"" rv "\"}}}"

Test(kube_watch, resumes_and_relists_on_410, .fini = teardown) {
        static const struct canned s[] = {
                /* The first stream: two events, a bookmark, then the server ends it. */
                { 200, "", -1, { EV("ADDED", "a", "2"), EV("MODIFIED", "a", "3"),
                                 "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"5\"}}}" } },
                /* Resumed from 5: too old. */
                { 200, "", -1, { "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\","
                                 "\"message\":\"too old resource version: 5 (9)\"}}" } },
                /* The relist. */
                { 200, "{\"kind\":\"List\",\"metadata\":{\"resourceVersion\":\"9\"},\"items\":[{\"n\":\"b\"}]}", -1,
                  { 0 } },
                /* Watching on from the List's resourceVersion. */
                { 200, "", -1, { EV("DELETED", "b", "10") } },
        };
        server_start(s, ELEMENTSOF(s));
        connect_with("watch-token");
        events_seen = 0;
        struct kube_watch *w = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
        cr_assert_eq(kube_watch_new(client, "/apis/g/v1/namespaces/a/databases", NULL, on_event, NULL, &w, &e), 0, "%s",
                     e.message);
        cr_assert_geq(kube_watch_fd(w), 0);
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int r = kube_watch_run(w, 10000, &err);
        cr_assert_eq(r, 42, "the callback's answer ends the watch: %d %s", r, err.message ? err.message : "");
        cr_assert_eq(events_seen, 4);
        cr_assert_str_eq(seen[0], "ADDED a");
        cr_assert_str_eq(seen[1], "MODIFIED a");
        cr_assert_str_eq(seen[2], "RELIST b");
        cr_assert_str_eq(seen[3], "DELETED b");
        cr_assert_eq(served(), 4);
        cr_assert_str_eq(srv.url[0], "/apis/g/v1/namespaces/a/databases watch");
        cr_assert_str_eq(srv.url[1], "/apis/g/v1/namespaces/a/databases watch rv=5", "resumed after the bookmark");
        cr_assert_str_eq(srv.url[2], "/apis/g/v1/namespaces/a/databases limit=500", "relisted");
        cr_assert_str_eq(srv.url[3], "/apis/g/v1/namespaces/a/databases watch rv=9");
        cr_assert_str_eq(srv.auth[0], "Bearer watch-token");
        cr_assert_eq(kube_watch_connects(w), 3);
        cr_assert_str_eq(kube_watch_resource_version(w), "10");
        kube_watch_free(w);
}

Test(kube_watch, forbidden_is_an_error_and_timeout_times_out, .fini = teardown) {
        static const struct canned s[] = {
                { 403, "{\"kind\":\"Status\",\"reason\":\"Forbidden\",\"message\":\"databases is forbidden: User "
                       "\\\"x\\\" cannot watch resource \\\"databases\\\"\",\"code\":403}", -1, { 0 } },
        };
        server_start(s, ELEMENTSOF(s));
        connect_with(NULL);
        struct kube_watch *w = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
        cr_assert_eq(kube_watch_new(client, "/d", "7", on_event, NULL, &w, &e), 0);
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kube_watch_run(w, 10000, &err), -EACCES);
        cr_assert_str_eq(err.message, "Error from server (Forbidden): databases is forbidden: User \"x\" cannot watch "
                                      "resource \"databases\"");
        kstatus_error_done(&err);
        kube_watch_free(w);
}

/* A watch event whose tree would take more memory than the client allows
 * (~1928 bytes, against ~1540 for the first) ends the watch with the limit
 * named; the events before it were delivered. */
Test(kube_watch, an_event_past_the_memory_limit_ends_the_watch, .fini = teardown) {
        static const struct canned s[] = {
                { 200, "", -1, { EV("ADDED", "x", "4"),
                                 "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"x\"},\"a\":[0,0,0,0,0,0,0]}}" } },
        };
        server_start(s, ELEMENTSOF(s));
        struct kube_client_options o = { .max_response_memory = 1700 };
        client_new(NULL, &o);
        events_seen = 0;
        struct kube_watch *w = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kube_watch_new(client, "/d", "3", on_event, NULL, &w, &err), 0, "%s", err.message);
        cr_assert_eq(kube_watch_run(w, 10000, &err), -E2BIG);
        cr_assert_str_eq(err.message, "error: a watch event would take more than 1700 bytes once parsed");
        cr_assert_eq(events_seen, 1);
        cr_assert_str_eq(seen[0], "ADDED x");
        kube_watch_free(w);
}

/* The sidecar's way: the watch's fd in the caller's own epoll set. */
Test(kube_watch, driven_from_an_external_epoll_loop, .fini = teardown) {
        static const struct canned s[] = {
                { 200, "", -1, { EV("ADDED", "x", "4"), EV("DELETED", "x", "5") } },
        };
        server_start(s, ELEMENTSOF(s));
        connect_with(NULL);
        events_seen = 0;
        struct kube_watch *w = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
        cr_assert_eq(kube_watch_new(client, "/d", "3", on_event, NULL, &w, &e), 0, "%s", e.message);
        int ep = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 99 };
        cr_assert_eq(epoll_ctl(ep, EPOLL_CTL_ADD, kube_watch_fd(w), &ev), 0);
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int r = 0, loops = 0;
        while (r == 0 && loops++ < 1000) {
                struct epoll_event got;
                int n = epoll_wait(ep, &got, 1, 5000);
                cr_assert_eq(n, 1, "the watch's fd became readable");
                cr_assert_eq(got.data.u32, 99);
                r = kube_watch_process(w, &err);
        }
        cr_assert_eq(r, 42, "%d", r);
        cr_assert_eq(events_seen, 2);
        cr_assert_str_eq(seen[0], "ADDED x");
        cr_assert_str_eq(seen[1], "DELETED x");
        cr_assert_str_eq(srv.url[0], "/d watch rv=3");
        close(ep);
        kube_watch_free(w);
}

/* ---- discovery against a server, and its disk cache ---- */

static const char *discovery_route(const char *url) {
        if (strcmp(url, "/api") == 0)
                return "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"]}";
        if (strcmp(url, "/api/v1") == 0)
                return "{\"kind\":\"APIResourceList\",\"groupVersion\":\"v1\",\"resources\":["
                       "{\"name\":\"pods\",\"singularName\":\"pod\",\"namespaced\":true,\"kind\":\"Pod\",\"shortNames\":[\"po\"]},"
                       "{\"name\":\"pods/status\",\"singularName\":\"\",\"namespaced\":true,\"kind\":\"Pod\"}]}";
        if (strcmp(url, "/apis") == 0)
                return "{\"kind\":\"APIGroupList\",\"groups\":[{\"name\":\"example.promise.syntasso.io\",\"versions\":["
                       "{\"groupVersion\":\"example.promise.syntasso.io/v1\",\"version\":\"v1\"}],"
                       "\"preferredVersion\":{\"groupVersion\":\"example.promise.syntasso.io/v1\",\"version\":\"v1\"}}]}";
        if (strcmp(url, "/apis/example.promise.syntasso.io/v1") == 0)
                return "{\"kind\":\"APIResourceList\",\"resources\":[{\"name\":\"databases\",\"singularName\":\"\","
                       "\"namespaced\":true,\"kind\":\"Database\",\"shortNames\":[\"db\"]}]}";
        return NULL;
}

Test(kube_discovery, cached_on_disk_and_refreshed_on_a_miss, .fini = teardown) {
        server_start(NULL, 0);
        srv.route = discovery_route;
        connect_with(NULL);
        char dir[] = "/tmp/kstatus-cache.XXXXXX";
        cr_assert_not_null(mkdtemp(dir));
        struct kube_discovery_options o = { .cache_dir = dir };
        struct kube_discovery *d = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        struct kube_resource r = { 0 };
        cr_assert_eq(kube_discovery_new(client, &o, &d, &e), 0);
        cr_assert_eq(kube_discovery_resolve(d, "Database", &r, NULL, &err), 0, "%s", err.message);
        cr_assert_str_eq(r.resource, "databases");
        cr_assert_str_eq(r.singular, "database", "singular from the kind when the server leaves it empty");
        kube_resource_done(&r);
        cr_assert_eq(kube_discovery_requests(d), 4);
        kube_discovery_free(d);
        /* A second run: everything from the disk cache. */
        size_t before = served();
        cr_assert_eq(kube_discovery_new(client, &o, &d, &e), 0);
        cr_assert_eq(kube_discovery_resolve(d, "db", &r, NULL, &err), 0);
        cr_assert_str_eq(r.group, "example.promise.syntasso.io");
        kube_resource_done(&r);
        cr_assert_eq(kube_discovery_resolve(d, "po", &r, NULL, &err), 0);
        kube_resource_done(&r);
        cr_assert_eq(kube_discovery_requests(d), 0);
        cr_assert_eq(served(), before, "a warm cache costs no discovery requests");
        /* A miss refreshes once, then it is an error in kubectl's words. */
        cr_assert_eq(kube_discovery_resolve(d, "foo", &r, NULL, &err), -ENOENT);
        cr_assert_str_eq(err.message, "error: the server doesn't have a resource type \"foo\"");
        cr_assert_eq(kube_discovery_requests(d), 4);
        cr_assert_eq(kube_discovery_resolve(d, "bar.example.com", &r, NULL, &err), -ENOENT);
        cr_assert_str_eq(err.message, "error: the server doesn't have a resource type \"bar\"");
        cr_assert_eq(kube_discovery_requests(d), 4, "only one refresh per discovery object");
        kstatus_error_done(&err);
        kube_discovery_free(d);
        /* An expired cache is fetched again. */
        o.ttl_ms = 1;
        char *file = xasprintf("%s/kstatus/http___127.0.0.1_%u/discovery.json", dir, srv.port);
        struct stat st;
        cr_assert_eq(stat(file, &st), 0, "cache file %s", file);
        struct timespec old[2] = { { .tv_sec = st.st_mtim.tv_sec - 10 }, { .tv_sec = st.st_mtim.tv_sec - 10 } };
        cr_assert_eq(utimensat(AT_FDCWD, file, old, 0), 0);
        cr_assert_eq(kube_discovery_new(client, &o, &d, &e), 0);
        cr_assert_eq(kube_discovery_resolve(d, "pods", &r, NULL, &err), 0);
        kube_resource_done(&r);
        cr_assert_eq(kube_discovery_requests(d), 4);
        kube_discovery_free(d);
        unlink(file);
        free(file);
        char *sub = xasprintf("%s/kstatus/http___127.0.0.1_%u", dir, srv.port);
        rmdir(sub);
        free(sub);
        sub = xasprintf("%s/kstatus", dir);
        rmdir(sub);
        free(sub);
        rmdir(dir);
}
