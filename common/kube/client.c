/* client.c - a struct kube_client: where requests go (tls-server-name
 * included), its one curl handle, counters. Errors are in errors.c, handle
 * settings and credentials in setup.c, requests in request.c, retries in
 * retry.c. */
#include "kube/client.h"

#include <errno.h>
#include <string.h>

#include <curl/curl.h>

#include "kube/internal.h"

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
        c->resp.limit = c->opts.max_response_bytes;
        if (!c->opts.max_response_memory)
                c->opts.max_response_memory = MAX_RESPONSE_MEMORY;
        c->resp.on_warning = c->opts.on_warning;
        c->resp.warning_userdata = c->opts.warning_userdata;
        kube_identity_setup(c);
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
        curl_slist_free_all(c->identity);
        free(c->identity_error);
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

int kube_client_http_version(const struct kube_client *c) {
        return c->http_version;
}

void kube_client_counters(const struct kube_client *c, unsigned *requests, unsigned *connections) {
        if (requests)
                *requests = c->requests;
        if (connections)
                *connections = c->connections;
}
