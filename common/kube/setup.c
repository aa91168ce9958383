/* setup.c - a curl handle's settings: TLS (the CA, client certificates,
 * the system trust store), proxy, timeouts and the response callbacks, once
 * per handle; credentials (bearer token, rotated token file, exec plugin,
 * basic auth) before every request, because tokens rotate. */
#include "kube/client.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#ifdef KSTATUS_CURL_MBEDTLS
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#endif
#ifdef KSTATUS_CURL_WOLFSSL
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#endif

#include "kube/internal.h"
#include "status.h"
#include "yaml-json.h"

static size_t on_header(char *data, size_t size, size_t n, void *userdata) {
        struct kube_response *resp = userdata;
        size_t len = size * n;
        static const char warning[] = "warning:";
        if (resp->on_warning && len > sizeof(warning) - 1 && strncasecmp(data, warning, sizeof(warning) - 1) == 0) {
                _cleanup_free_ char *v = xstrndup(data + sizeof(warning) - 1, len - (sizeof(warning) - 1));
                v[strcspn(v, "\r\n")] = '\0';
                kube_parse_warnings(v, resp->on_warning, resp->warning_userdata);
                return len;
        }
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
        size_t limit = kube_response_limit(resp);
        if (len > limit - resp->len) {
                resp->too_big = true;
                return 0;
        }
        if (resp->len + len + 1 > resp->cap) {
                /* Doubling, but never past what the limit allows. */
                size_t want = (resp->len + len + 1) * 2;
                resp->cap = want < limit + 1 ? want : limit + 1;
                resp->data = xrealloc(resp->data, resp->cap);
        }
        memcpy(resp->data + resp->len, data, len);
        resp->len += len;
        resp->data[resp->len] = '\0';
        return len;
}

void kube_response_reset(struct kube_response *resp) {
        free(resp->data);
        *resp = (struct kube_response){ .limit = resp->limit, .retry_after_ms = -1, .sink = resp->sink,
                                        .sink_userdata = resp->sink_userdata, .on_warning = resp->on_warning,
                                        .warning_userdata = resp->warning_userdata };
}

size_t kube_response_limit(const struct kube_response *resp) {
        return resp->limit ? resp->limit : MAX_RESPONSE_BYTES;
}

char *kube_format_size(size_t n) {
        if (n >= (1u << 20) && n % (1u << 20) == 0)
                return xasprintf("%zu MiB", n >> 20);
        if (n >= 1024 && n % 1024 == 0)
                return xasprintf("%zu KiB", n >> 10);
        return xasprintf("%zu bytes", n);
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

/* Setting many options in a row: every one is set, the first failure is
 * kept and reported once at the end, so a run of settings reads straight. */
struct curl_opts {
        CURL *h;
        CURLcode cc;
        const char *failed; /* the option that failed first */
};

static void opt_keep(struct curl_opts *o, CURLcode cc, const char *name) {
        if (cc != CURLE_OK && o->cc == CURLE_OK) {
                o->cc = cc;
                o->failed = name;
        }
}

static void opt_long(struct curl_opts *o, CURLoption opt, const char *name, long v) {
        opt_keep(o, curl_easy_setopt(o->h, opt, v), name);
}

static void opt_ptr(struct curl_opts *o, CURLoption opt, const char *name, const void *v) {
        opt_keep(o, curl_easy_setopt(o->h, opt, v), name);
}

static void opt_off(struct curl_opts *o, CURLoption opt, const char *name, curl_off_t v) {
        opt_keep(o, curl_easy_setopt(o->h, opt, v), name);
}

#define OPT_LONG(o, opt, v) opt_long((o), (opt), #opt, (long)(v))
#define OPT_PTR(o, opt, v) opt_ptr((o), (opt), #opt, (v))
#define OPT_OFF(o, opt, v) opt_off((o), (opt), #opt, (curl_off_t)(v))

static int opts_result(const struct curl_opts *o, struct kstatus_error *err) {
        if (o->cc == CURLE_OK)
                return 0;
        return kstatus_error_set(err, EINVAL, 0, 0, "cannot set %s: %s", o->failed, curl_easy_strerror(o->cc));
}

/* PEM text as a blob curl copies. mbedTLS reads a key as PEM only when its
 * length counts the terminating NUL, which libcurl 7.88 adds for a
 * certificate blob but not for a key blob: with mbedTLS the key's carries it. */
static void opt_pem(struct curl_opts *o, CURLoption blob_opt, CURLoption type_opt, const char *name, const char *pem) {
        size_t len = strlen(pem);
#ifdef KSTATUS_CURL_MBEDTLS
        if (blob_opt == CURLOPT_SSLKEY_BLOB)
                len++;
#endif
        struct curl_blob blob = { .data = (void *)pem, .len = len, .flags = CURL_BLOB_COPY };
        opt_ptr(o, blob_opt, name, &blob);
        opt_ptr(o, type_opt, name, "PEM");
}

/* The client certificate and key: the exec plugin's, else the kubeconfig's data or files. */
static void setup_client_cert(const struct kube_client *c, struct curl_opts *o) {
        const struct kube_config *cfg = c->config;
#ifdef KSTATUS_CURL_WOLFSSL
        return; /* on_ssl_config loads them: libcurl on wolfSSL ignores blobs */
#endif
        const char *cert_data = c->exec_cred.cert ? c->exec_cred.cert : cfg->client_cert_data;
        const char *key_data = c->exec_cred.key ? c->exec_cred.key : cfg->client_key_data;
        if (cert_data)
                opt_pem(o, CURLOPT_SSLCERT_BLOB, CURLOPT_SSLCERTTYPE, "CURLOPT_SSLCERT_BLOB", cert_data);
        else if (cfg->client_cert_file)
                OPT_PTR(o, CURLOPT_SSLCERT, cfg->client_cert_file);
        if (key_data)
                opt_pem(o, CURLOPT_SSLKEY_BLOB, CURLOPT_SSLKEYTYPE, "CURLOPT_SSLKEY_BLOB", key_data);
        else if (cfg->client_key_file)
                OPT_PTR(o, CURLOPT_SSLKEY, cfg->client_key_file);
}

static void curl_url_cleanupp(CURLU **u) {
        curl_url_cleanup(*u);
}

/* The host of a URL, an IPv6 address without its brackets (curl_free it);
 * NULL if the URL has none. */
static char *url_host(const char *url) {
        _cleanup_(curl_url_cleanupp) CURLU *u = curl_url();
        char *host = NULL;
        if (!u || curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
                return NULL;
        size_t n = strlen(host);
        if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
                memmove(host, host + 1, n - 2);
                host[n - 2] = '\0';
        }
        return host;
}

#ifdef KSTATUS_CURL_MBEDTLS
/* mbedTLS 2.28, the TLS library of release builds' libcurl
 * (scripts/lib/tls-curl.sh), matches the server's name only against a
 * certificate's DNS names, so a server addressed by IP (in a Pod,
 * KUBERNETES_SERVICE_HOST) would always fail with BADCERT_CN_MISMATCH. As
 * Go's crypto/x509: an IP address matches an iPAddress subject alternative
 * name of the same bytes. The rest of the verification stays mbedTLS's. */
static int verify_ip_san(void *userdata, mbedtls_x509_crt *crt, int depth, uint32_t *flags) {
        const struct kube_client *c = userdata;
        if (depth != 0 || !(*flags & MBEDTLS_X509_BADCERT_CN_MISMATCH))
                return 0;
        char *host = url_host(c->base);
        unsigned char ip[16];
        size_t ip_len = 0;
        if (host && inet_pton(AF_INET, host, ip) == 1)
                ip_len = 4;
        else if (host && inet_pton(AF_INET6, host, ip) == 1)
                ip_len = 16;
        curl_free(host);
        for (const mbedtls_x509_sequence *san = &crt->subject_alt_names; ip_len && san && san->buf.p; san = san->next)
                if (san->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_IP_ADDRESS) &&
                    san->buf.len == ip_len && memcmp(san->buf.p, ip, ip_len) == 0) {
                        *flags &= ~(uint32_t)MBEDTLS_X509_BADCERT_CN_MISMATCH;
                        break;
                }
        return 0;
}

/* libcurl 7.88 leaves mbedTLS at its widest: TLS 1.0 up, every cipher suite
 * and curve built in, and a certificate profile that accepts SHA-1
 * signatures and 1024-bit RSA. Narrowed to what Debian's OpenSSL accepts
 * (TLS 1.2, SHA-2, RSA >= 2048: mbedTLS's default profile) and to the
 * forward-secret AEAD suites and curves a kube-apiserver offers
 * (docs/SECURITY.md). mbedTLS 2.28 has no TLS 1.3. */
static const int mbedtls_suites[] = {
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,       MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,       MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        0,
};
static const mbedtls_ecp_group_id mbedtls_curves[] = {
        MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_SECP521R1,
        MBEDTLS_ECP_DP_NONE,
};

static CURLcode on_ssl_config(CURL *h, void *ssl_config, void *userdata) {
        mbedtls_ssl_config *conf = ssl_config;
        mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
        mbedtls_ssl_conf_ciphersuites(conf, mbedtls_suites);
        mbedtls_ssl_conf_curves(conf, mbedtls_curves);
        mbedtls_ssl_conf_cert_profile(conf, &mbedtls_x509_crt_profile_default);
        mbedtls_ssl_conf_verify(conf, verify_ip_san, userdata);
        return CURLE_OK;
}
#endif

#ifdef KSTATUS_CURL_WOLFSSL
/* libcurl 7.88 on wolfSSL (release builds: scripts/lib/tls-curl.sh) takes
 * neither a CA blob nor a CA directory (CURLE_NOT_BUILT_IN) and ignores
 * client certificate and key blobs, so the kubeconfig's CA data,
 * $SSL_CERT_DIR (every file in it, not a hashed lookup) and the client
 * certificate and key (data or files) are loaded into wolfSSL's context here. Narrowed as with mbedTLS to what Debian's OpenSSL accepts and
 * a kube-apiserver offers (docs/SECURITY.md): TLS 1.2 up, forward-secret AEAD
 * suites, kubectl's four curves, RSA keys of 2048 bits up. */
static const char wolfssl_suites[] =
        "TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:TLS13-CHACHA20-POLY1305-SHA256:"
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
        "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
static int wolfssl_groups[] = { WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1, WOLFSSL_ECC_SECP384R1, WOLFSSL_ECC_SECP521R1 };

static bool wolfssl_pem(int r) {
        return r == WOLFSSL_SUCCESS;
}

static CURLcode on_ssl_config(CURL *h, void *ssl_ctx, void *userdata) {
        const struct kube_client *c = userdata;
        const struct kube_config *cfg = c->config;
        WOLFSSL_CTX *ctx = ssl_ctx;
        const char *cert = c->exec_cred.cert ? c->exec_cred.cert : cfg->client_cert_data;
        const char *key = c->exec_cred.key ? c->exec_cred.key : cfg->client_key_data;
        (void)h;
        if (!wolfssl_pem(wolfSSL_CTX_SetMinVersion(ctx, WOLFSSL_TLSV1_2)) ||
            !wolfssl_pem(wolfSSL_CTX_set_cipher_list(ctx, wolfssl_suites)) ||
            !wolfssl_pem(wolfSSL_CTX_set_groups(ctx, wolfssl_groups, (int)ELEMENTSOF(wolfssl_groups))) ||
            !wolfssl_pem(wolfSSL_CTX_SetMinRsaKey_Sz(ctx, 2048)))
                return CURLE_SSL_CIPHER;
        if (cfg->ca_data && !wolfssl_pem(wolfSSL_CTX_load_verify_buffer(ctx, (const unsigned char *)cfg->ca_data,
                                                                         (long)strlen(cfg->ca_data), WOLFSSL_FILETYPE_PEM)))
                return CURLE_SSL_CACERT_BADFILE;
        const char *dir = getenv("SSL_CERT_DIR");
        if (!cfg->ca_data && !cfg->ca_file && !cfg->insecure && dir && *dir)
                wolfSSL_CTX_load_verify_locations_ex(ctx, NULL, dir, WOLFSSL_LOAD_FLAG_IGNORE_ERR);
        if (cert ? !wolfssl_pem(wolfSSL_CTX_use_certificate_chain_buffer(ctx, (const unsigned char *)cert,
                                                                          (long)strlen(cert)))
                 : cfg->client_cert_file && !wolfssl_pem(wolfSSL_CTX_use_certificate_chain_file(ctx, cfg->client_cert_file)))
                return CURLE_SSL_CERTPROBLEM;
        if (key ? !wolfssl_pem(wolfSSL_CTX_use_PrivateKey_buffer(ctx, (const unsigned char *)key, (long)strlen(key),
                                                                  WOLFSSL_FILETYPE_PEM))
                : cfg->client_key_file &&
                          !wolfssl_pem(wolfSSL_CTX_use_PrivateKey_file(ctx, cfg->client_key_file, WOLFSSL_FILETYPE_PEM)))
                return CURLE_SSL_CERTPROBLEM;
        return CURLE_OK;
}
#endif

/* Whom to trust: the kubeconfig's CA, else the system's store. Verification
 * stays on unless the kubeconfig turns it off. */
static void setup_ca(const struct kube_client *c, struct curl_opts *o) {
        const struct kube_config *cfg = c->config;
        OPT_LONG(o, CURLOPT_SSL_VERIFYPEER, cfg->insecure ? 0L : 1L);
        OPT_LONG(o, CURLOPT_SSL_VERIFYHOST, cfg->insecure ? 0L : 2L);
#if defined(KSTATUS_CURL_MBEDTLS) || defined(KSTATUS_CURL_WOLFSSL)
        opt_keep(o, curl_easy_setopt(o->h, CURLOPT_SSL_CTX_FUNCTION, on_ssl_config), "CURLOPT_SSL_CTX_FUNCTION");
        OPT_PTR(o, CURLOPT_SSL_CTX_DATA, c);
#endif
#ifdef KSTATUS_CURL_WOLFSSL
        /* No CA directory (tls-curl.sh builds it without one); the CA data is
         * on_ssl_config's, and no default bundle beside it. */
        OPT_PTR(o, CURLOPT_CAINFO, cfg->ca_data || cfg->insecure ? NULL : cfg->ca_file ? cfg->ca_file : system_ca_file());
        return;
#endif
        /* The kubeconfig's CA is the only one trusted, as with kubectl: not
         * also the directory libcurl was built with (Debian's:
         * /etc/ssl/certs), which it would otherwise add. */
        if (cfg->ca_data) {
                struct curl_blob blob = { .data = cfg->ca_data, .len = strlen(cfg->ca_data), .flags = CURL_BLOB_COPY };
                OPT_PTR(o, CURLOPT_CAINFO_BLOB, &blob);
                OPT_PTR(o, CURLOPT_CAPATH, NULL);
                return;
        }
        if (cfg->ca_file) {
                OPT_PTR(o, CURLOPT_CAINFO, cfg->ca_file);
                OPT_PTR(o, CURLOPT_CAPATH, NULL);
                return;
        }
        if (cfg->insecure)
                return;
        const char *bundle = system_ca_file(), *dir = getenv("SSL_CERT_DIR");
        if (bundle)
                OPT_PTR(o, CURLOPT_CAINFO, bundle);
        if (dir && *dir)
                OPT_PTR(o, CURLOPT_CAPATH, dir);
}

/* Go's ProxyFromEnvironment never proxies "localhost" or a loopback address. */
static bool server_is_loopback(const char *server) {
        char *host = url_host(server);
        if (!host)
                return false;
        struct in_addr a4;
        struct in6_addr a6;
        bool loopback = strcasecmp(host, "localhost") == 0 ||
                        (inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127) ||
                        (inet_pton(AF_INET6, host, &a6) == 1 &&
                         (IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127)));
        curl_free(host);
        return loopback;
}

static void setup_route(const struct kube_client *c, struct curl_opts *o) {
        if (c->connect_to)
                OPT_PTR(o, CURLOPT_CONNECT_TO, c->connect_to);
        /* A kubeconfig's proxy-url is used for every host, as kubectl's
         * http.ProxyURL; the environment's proxies never for loopback. */
        if (!c->config->proxy_url && server_is_loopback(c->config->server))
                OPT_PTR(o, CURLOPT_PROXY, "");
        if (c->config->proxy_url) {
                OPT_PTR(o, CURLOPT_PROXY, c->config->proxy_url);
                /* As kubectl's SOCKS5 dialer: no authentication or a username
                 * and password, never GSS-API (which release builds do not
                 * carry: common/kube/curl-static.c). */
                OPT_LONG(o, CURLOPT_SOCKS5_AUTH, CURLAUTH_BASIC);
        }
}

/* Settings every handle of this client shares: TLS, proxy, timeouts. Auth is
 * set per request (kube_apply_auth) because tokens rotate. */
int kube_handle_setup(struct kube_client *c, CURL *h, char *errbuf, struct kube_response *resp,
                      struct kstatus_error *err) {
        struct curl_opts o = { .h = h };
        OPT_LONG(&o, CURLOPT_NOSIGNAL, 1L);
        OPT_PTR(&o, CURLOPT_ERRORBUFFER, errbuf);
        OPT_PTR(&o, CURLOPT_USERAGENT, c->user_agent);
        OPT_PTR(&o, CURLOPT_PROTOCOLS_STR, "http,https");
        OPT_LONG(&o, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
        OPT_LONG(&o, CURLOPT_CONNECTTIMEOUT_MS, 30000L);
        OPT_LONG(&o, CURLOPT_TCP_KEEPALIVE, 1L);
        OPT_OFF(&o, CURLOPT_MAXFILESIZE_LARGE, kube_response_limit(resp));
        opt_keep(&o, curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body), "CURLOPT_WRITEFUNCTION");
        OPT_PTR(&o, CURLOPT_WRITEDATA, resp);
        opt_keep(&o, curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header), "CURLOPT_HEADERFUNCTION");
        OPT_PTR(&o, CURLOPT_HEADERDATA, resp);
        /* Compressed answers unless the cluster (or --disable-compression) opts out. */
        OPT_PTR(&o, CURLOPT_ACCEPT_ENCODING, c->config->disable_compression ? NULL : "");
        setup_ca(c, &o);
        setup_client_cert(c, &o);
        setup_route(c, &o);
        return opts_result(&o, err);
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
        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
        int r = kstatus_read_file(c->config->token_file, false, 64 * 1024, &buf, &len, &e);
        if (r < 0)
                return kstatus_error_set(err, -r, 0, 0, "cannot read token file \"%s\": %s", c->config->token_file,
                                         e.message);
        while (len > 0 && isspace((unsigned char)buf[len - 1]))
                buf[--len] = '\0';
        if (memchr(buf, '\0', len) || kube_has_control(buf)) {
                explicit_bzero(buf, len);
                return kstatus_error_set(err, EINVAL, 0, 0, "token file \"%s\" contains a control character",
                                         c->config->token_file);
        }
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

/* The bearer token for the next request: the token file's (re-read when it
 * changes), the kubeconfig's, or the exec plugin's (NULL: none). */
static int bearer_token(struct kube_client *c, CURL *h, const char **ret, struct kstatus_error *err) {
        const struct kube_config *cfg = c->config;
        *ret = NULL;
        if (cfg->token_file) {
                int r = refresh_file_token(c, err);
                *ret = c->file_token;
                return r < 0 ? r : 0;
        }
        if (cfg->token) {
                *ret = cfg->token;
                return 0;
        }
        if (!cfg->exec)
                return 0;
        int r = kube_exec_credential(c, err);
        if (r < 0)
                return r;
        /* r > 0: the plugin ran, and may have given a new client certificate. */
        if (r > 0 && (r = kube_handle_setup_tls(c, h, err)) < 0)
                return r;
        *ret = c->exec_cred.token;
        return 0;
}

/* Set the credentials for the next request on h. */
int kube_apply_auth(struct kube_client *c, CURL *h, struct kstatus_error *err) {
        const struct kube_config *cfg = c->config;
        const char *bearer;
        int r = bearer_token(c, h, &bearer, err);
        if (r < 0)
                return r;
        /* Flags set credentials after the kubeconfig's were checked: a
         * control character would be a header line of its own. */
        const char *values[] = { bearer, cfg->username, cfg->password };
        const char *what[] = { "bearer token", "username", "password" };
        for (size_t i = 0; i < ELEMENTSOF(values); i++)
                if (values[i] && kube_has_control(values[i]))
                        return kstatus_error_set(err, EINVAL, 0, 0, "the %s contains a control character", what[i]);
        struct curl_opts o = { .h = h };
        if (bearer && *bearer) {
                OPT_PTR(&o, CURLOPT_XOAUTH2_BEARER, bearer);
                OPT_LONG(&o, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
        } else if (cfg->username && cfg->password) {
                OPT_PTR(&o, CURLOPT_USERNAME, cfg->username);
                OPT_PTR(&o, CURLOPT_PASSWORD, cfg->password);
                OPT_LONG(&o, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        }
        return opts_result(&o, err);
}

int kube_handle_setup_tls(struct kube_client *c, CURL *h, struct kstatus_error *err) {
        struct curl_opts o = { .h = h };
        if (c->exec_cred.cert)
                opt_pem(&o, CURLOPT_SSLCERT_BLOB, CURLOPT_SSLCERTTYPE, "CURLOPT_SSLCERT_BLOB", c->exec_cred.cert);
        if (c->exec_cred.key)
                opt_pem(&o, CURLOPT_SSLKEY_BLOB, CURLOPT_SSLKEYTYPE, "CURLOPT_SSLKEY_BLOB", c->exec_cred.key);
        return opts_result(&o, err);
}
