/* kstatus-test-apiserver - an in-memory Kubernetes-compatible API server for
 * tests, benchmarks and the demo. Real kubectl works against it.
 *
 * main.c: options, the self-signed CA and serving certificate, the
 * kubeconfig, libmicrohttpd (one thread per connection, TLS via GnuTLS),
 * authentication, fault injection at the HTTP layer, and shutdown. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "api.h"
#include "server.h"
#include "status.h"

static const char *arg_address = "127.0.0.1";
static int64_t arg_port = 0;
static bool arg_insecure;
static char *arg_token;
static const char *arg_kubeconfig;
static const char *arg_ca_file;
static const char *arg_crds;
static int64_t arg_history = 10000;
static bool arg_quiet;
static json_t *arg_warnings; /* --warning: Warning header values every API answer carries */
static int access_log_fd = -1; /* --access-log: one stamped line per request answered */
static const char *arg_client_ca;
static const char *arg_client_cert_dir;

static char *tls_key_pem, *tls_cert_pem, *tls_ca_pem;
/* CAs whose client certificates authenticate a request (PEM, concatenated);
 * NULL: the server does not ask for client certificates. */
static char *client_trust_pem;

/* ---- TLS material ---- */

static int check_gnutls(int r, const char *what) {
        if (r < 0)
                fprintf(stderr, "error: %s: %s\n", what, gnutls_strerror(r));
        return r;
}

static int crt_common(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, const char *cn) {
        uint8_t serial[16];
        time_t now = time(NULL);
        int r;
        if ((r = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial))) < 0)
                return r;
        serial[0] &= 0x7f; /* a positive serial number */
        if ((r = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
            (r = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
            (r = gnutls_x509_crt_set_activation_time(crt, now - 3600)) < 0 ||
            (r = gnutls_x509_crt_set_expiration_time(crt, now + 365 * 24 * 3600)) < 0 ||
            (r = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn))) < 0 ||
            (r = gnutls_x509_crt_set_key(crt, key)) < 0)
                return r;
        return 0;
}

static int export_pem(gnutls_datum_t *d, char **ret) {
        char *s = xmalloc(d->size + 1);
        memcpy(s, d->data, d->size);
        s[d->size] = '\0';
        gnutls_free(d->data);
        *ret = s;
        return 0;
}

static void key_crt_done(gnutls_x509_privkey_t key, gnutls_x509_crt_t crt) {
        gnutls_x509_crt_deinit(crt);
        gnutls_x509_privkey_deinit(key);
}

/* A self-signed ECDSA CA. */
static int make_ca(const char *cn, gnutls_x509_privkey_t *ret_key, gnutls_x509_crt_t *ret_crt) {
        gnutls_x509_privkey_t key = NULL;
        gnutls_x509_crt_t crt = NULL;
        uint8_t id[64];
        size_t id_len = sizeof(id);
        int r;
        if ((r = gnutls_x509_privkey_init(&key)) < 0 || (r = gnutls_x509_crt_init(&crt)) < 0 ||
            (r = gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
                                              GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0 ||
            (r = crt_common(crt, key, cn)) < 0 || (r = gnutls_x509_crt_set_basic_constraints(crt, 1, -1)) < 0 ||
            (r = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN |
                                                            GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
            (r = gnutls_x509_crt_get_key_id(crt, 0, id, &id_len)) < 0 ||
            (r = gnutls_x509_crt_set_subject_key_id(crt, id, id_len)) < 0 ||
            (r = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0) {
                key_crt_done(key, crt);
                return r;
        }
        *ret_key = key;
        *ret_crt = crt;
        return 0;
}

/* A leaf certificate signed by ca: a serving one (SANs 127.0.0.1, ::1,
 * localhost) or a client one (CN is the user, organization its group). */
static int make_leaf(gnutls_x509_crt_t ca, gnutls_x509_privkey_t ca_key, const char *cn, const char *org,
                     bool server, gnutls_x509_privkey_t *ret_key, gnutls_x509_crt_t *ret_crt) {
        gnutls_x509_privkey_t key = NULL;
        gnutls_x509_crt_t crt = NULL;
        uint8_t ip4[4] = { 127, 0, 0, 1 }, ip6[16] = { [15] = 1 };
        uint8_t id[64];
        size_t id_len = sizeof(id);
        int r;
        if ((r = gnutls_x509_privkey_init(&key)) < 0 || (r = gnutls_x509_crt_init(&crt)) < 0 ||
            (r = gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
                                              GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0 ||
            (r = crt_common(crt, key, cn)) < 0 || (r = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
            (r = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_ENCIPHERMENT)) <
                    0 ||
            (r = gnutls_x509_crt_set_key_purpose_oid(crt, server ? GNUTLS_KP_TLS_WWW_SERVER : GNUTLS_KP_TLS_WWW_CLIENT,
                                                     0)) < 0)
                goto fail;
        if (org && (r = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, org, strlen(org))) < 0)
                goto fail;
        if (server &&
            ((r = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip4, sizeof(ip4),
                                                       GNUTLS_FSAN_APPEND)) < 0 ||
             (r = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip6, sizeof(ip6),
                                                       GNUTLS_FSAN_APPEND)) < 0 ||
             (r = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
                                                       GNUTLS_FSAN_APPEND)) < 0))
                goto fail;
        if ((r = gnutls_x509_crt_get_subject_key_id(ca, id, &id_len, NULL)) < 0 ||
            (r = gnutls_x509_crt_set_authority_key_id(crt, id, id_len)) < 0 ||
            (r = gnutls_x509_crt_sign2(crt, ca, ca_key, GNUTLS_DIG_SHA256, 0)) < 0)
                goto fail;
        *ret_key = key;
        *ret_crt = crt;
        return 0;
fail:
        key_crt_done(key, crt);
        return r;
}

static int export_crt(gnutls_x509_crt_t crt, char **ret) {
        gnutls_datum_t d;
        int r = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d);
        return r < 0 ? r : export_pem(&d, ret);
}

static int export_key(gnutls_x509_privkey_t key, char **ret) {
        gnutls_datum_t d;
        int r = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &d);
        return r < 0 ? r : export_pem(&d, ret);
}

/* A throwaway CA and a serving certificate for 127.0.0.1, ::1 and localhost. */
static int make_certificates(void) {
        gnutls_x509_privkey_t ca_key = NULL, key = NULL;
        gnutls_x509_crt_t ca = NULL, crt = NULL;
        int r;
        if ((r = make_ca("kstatus-test-ca", &ca_key, &ca)) < 0 ||
            (r = make_leaf(ca, ca_key, "kstatus-test-apiserver", NULL, true, &key, &crt)) < 0 ||
            (r = export_crt(ca, &tls_ca_pem)) < 0 || (r = export_crt(crt, &tls_cert_pem)) < 0 ||
            (r = export_key(key, &tls_key_pem)) < 0)
                check_gnutls(r, "cannot make the TLS certificates");
        key_crt_done(key, crt);
        key_crt_done(ca_key, ca);
        return r < 0 ? -EIO : 0;
}

static char *base64(const char *s) {
        gnutls_datum_t in = { .data = (unsigned char *)s, .size = (unsigned)strlen(s) }, out;
        if (gnutls_base64_encode2(&in, &out) < 0)
                abort();
        char *r = xstrndup((const char *)out.data, out.size);
        gnutls_free(out.data);
        return r;
}

/* Write atomically (temp file + rename) so a reader never sees half a file. */
static int write_file_mode(const char *path, const char *text, mode_t mode) {
        _cleanup_free_ char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
        if (!f) {
                fprintf(stderr, "error: cannot write \"%s\": %m\n", tmp);
                if (fd >= 0)
                        close(fd);
                return -errno;
        }
        fputs(text, f);
        if (fclose(f) != 0 || rename(tmp, path) < 0) {
                fprintf(stderr, "error: cannot write \"%s\": %m\n", path);
                unlink(tmp);
                return -EIO;
        }
        return 0;
}

static int write_file(const char *path, const char *text) {
        return write_file_mode(path, text, 0644);
}

/* --write-client-cert DIR: a client CA (trusted from now on) and a client
 * certificate and key signed by it, as DIR/ca.crt, DIR/client.crt and
 * DIR/client.key. The user is kstatus-test-user in group system:masters, as
 * kubeadm's admin.conf has it (this server does not look at either). */
static int write_client_certs(const char *dir) {
        gnutls_x509_privkey_t ca_key = NULL, key = NULL;
        gnutls_x509_crt_t ca = NULL, crt = NULL;
        _cleanup_free_ char *ca_pem = NULL, *crt_pem = NULL, *key_pem = NULL;
        int r;
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
                fprintf(stderr, "error: cannot create \"%s\": %m\n", dir);
                return -errno;
        }
        if ((r = make_ca("kstatus-test-client-ca", &ca_key, &ca)) < 0 ||
            (r = make_leaf(ca, ca_key, "kstatus-test-user", "system:masters", false, &key, &crt)) < 0 ||
            (r = export_crt(ca, &ca_pem)) < 0 || (r = export_crt(crt, &crt_pem)) < 0 ||
            (r = export_key(key, &key_pem)) < 0)
                check_gnutls(r, "cannot make the client certificates");
        key_crt_done(key, crt);
        key_crt_done(ca_key, ca);
        if (r < 0)
                return -EIO;
        _cleanup_free_ char *ca_path = xasprintf("%s/ca.crt", dir), *crt_path = xasprintf("%s/client.crt", dir),
                            *key_path = xasprintf("%s/client.key", dir);
        if ((r = write_file(ca_path, ca_pem)) < 0 || (r = write_file(crt_path, crt_pem)) < 0 ||
            (r = write_file_mode(key_path, key_pem, 0600)) < 0)
                return r;
        char *trust = xasprintf("%s%s", client_trust_pem ? client_trust_pem : "", ca_pem);
        free(client_trust_pem);
        client_trust_pem = trust;
        return 0;
}

/* --client-ca FILE: PEM certificates, at least one. */
static int load_client_ca(const char *path) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
        if (kstatus_read_file(path, false, 4 * 1024 * 1024, &text, &len, &e) < 0) {
                fprintf(stderr, "error: cannot read --client-ca \"%s\": %s\n", path, e.message);
                return -EINVAL;
        }
        gnutls_x509_crt_t *crts = NULL;
        unsigned n = 0;
        gnutls_datum_t d = { .data = (unsigned char *)text, .size = (unsigned)len };
        int r = gnutls_x509_crt_list_import2(&crts, &n, &d, GNUTLS_X509_FMT_PEM, 0);
        for (unsigned i = 0; r >= 0 && i < n; i++)
                gnutls_x509_crt_deinit(crts[i]);
        gnutls_free(crts);
        if (r < 0 || n == 0) {
                fprintf(stderr, "error: invalid --client-ca \"%s\": %s\n", path,
                        r < 0 && r != GNUTLS_E_NO_CERTIFICATE_FOUND ? gnutls_strerror(r) : "no PEM certificate in it");
                return -EINVAL;
        }
        char *trust = xasprintf("%s%s", client_trust_pem ? client_trust_pem : "", text);
        free(client_trust_pem);
        client_trust_pem = trust;
        return 0;
}

static int write_kubeconfig(const char *path, const char *url) {
        _cleanup_free_ char *cluster = NULL;
        if (arg_insecure)
                cluster = xasprintf("    server: %s\n", url);
        else {
                _cleanup_free_ char *ca = base64(tls_ca_pem);
                cluster = xasprintf("    server: %s\n    certificate-authority-data: %s\n", url, ca);
        }
        _cleanup_free_ char *text = xasprintf("apiVersion: v1\n"
                                              "kind: Config\n"
                                              "clusters:\n"
                                              "- name: kstatus-test\n"
                                              "  cluster:\n"
                                              "%s"
                                              "contexts:\n"
                                              "- name: kstatus-test\n"
                                              "  context:\n"
                                              "    cluster: kstatus-test\n"
                                              "    namespace: default\n"
                                              "    user: kstatus-test\n"
                                              "current-context: kstatus-test\n"
                                              "preferences: {}\n"
                                              "users:\n"
                                              "- name: kstatus-test\n"
                                              "  user:\n"
                                              "    token: %s\n",
                                              cluster, arg_token);
        return write_file(path, text);
}

/* ---- HTTP ---- */

struct request {
        char *body;
        size_t len, cap;
        bool too_big;
        bool counted;
};

static void request_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                              enum MHD_RequestTerminationCode toe) {
        struct request *r = *con_cls;
        if (r) {
                free(r->body);
                free(r);
        }
        *con_cls = NULL;
}

/* A response that stops half-way: the connection drops mid-body. */
struct dropper {
        char *body;
        size_t len;
};

static ssize_t drop_read(void *cls, uint64_t pos, char *buf, size_t max) {
        struct dropper *d = cls;
        size_t half = d->len / 2;
        if (pos >= half)
                return MHD_CONTENT_READER_END_WITH_ERROR;
        size_t n = half - pos < max ? half - pos : max;
        memcpy(buf, d->body + pos, n);
        return (ssize_t)n;
}

static void drop_free(void *cls) {
        struct dropper *d = cls;
        free(d->body);
        free(d);
}

static enum MHD_Result queue(struct MHD_Connection *c, struct reply *rep, bool drop) {
        struct MHD_Response *resp;
        if (rep->watch)
                resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, watch_read, rep->watch,
                                                         watch_free);
        else if (rep->stream)
                resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, rep->stream_read, rep->stream,
                                                         rep->stream_free);
        else if (drop) {
                struct dropper *d = xcalloc(1, sizeof(*d));
                d->body = rep->body;
                d->len = rep->len;
                rep->body = NULL;
                resp = MHD_create_response_from_callback(d->len ? d->len : 2, 4096, drop_read, d, drop_free);
        } else {
                resp = MHD_create_response_from_buffer(rep->len, rep->body, MHD_RESPMEM_MUST_FREE);
                rep->body = NULL;
        }
        if (!resp) {
                free(rep->body);
                return MHD_NO;
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                rep->content_type ? rep->content_type : "application/json");
        MHD_add_response_header(resp, "Cache-Control", "no-cache, private");
        size_t wi;
        json_t *wv;
        if (rep->api)
                json_array_foreach(arg_warnings, wi, wv) MHD_add_response_header(resp, "Warning", json_string_value(wv));
        if (rep->retry_after > 0) {
                char ra[32];
                snprintf(ra, sizeof(ra), "%d", rep->retry_after);
                MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
        }
        enum MHD_Result r = MHD_queue_response(c, (unsigned)rep->code, resp);
        MHD_destroy_response(resp);
        return r;
}

/* The headers a test checks: Impersonate-* as kube-apiserver reads them (one
 * user and uid, every Impersonate-Group, Impersonate-Extra-KEY with KEY
 * lowercased and %-decoded, every value) and Accept-Encoding. */
static enum MHD_Result collect_headers(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        json_t *entry = cls;
        static const char extra[] = "impersonate-extra-";
        if (!value)
                value = "";
        if (strcasecmp(key, "Impersonate-User") == 0)
                json_object_set_new(entry, "user", json_string(value));
        else if (strcasecmp(key, "Impersonate-Uid") == 0)
                json_object_set_new(entry, "uid", json_string(value));
        else if (strcasecmp(key, "Impersonate-Group") == 0)
                json_array_append_new(json_object_get(entry, "groups"), json_string(value));
        else if (strcasecmp(key, "Accept-Encoding") == 0)
                json_object_set_new(entry, "acceptEncoding", json_string(value));
        else if (strncasecmp(key, extra, sizeof(extra) - 1) == 0) {
                _cleanup_free_ char *k = xstrdup(key + sizeof(extra) - 1);
                for (char *p = k; *p; p++)
                        *p = (char)tolower((unsigned char)*p);
                MHD_http_unescape(k);
                json_t *extras = json_object_get(entry, "extra");
                if (!json_object_get(extras, k))
                        json_object_set_new(extras, k, json_array());
                json_array_append_new(json_object_get(extras, k), json_string(value));
        }
        return MHD_YES;
}

static void record_headers(struct MHD_Connection *c, const char *method, const char *url) {
        json_t *entry = json_pack("{s:s, s:s, s:[], s:{}}", "verb", method, "path", url, "groups", "extra");
        MHD_get_connection_values(c, MHD_HEADER_KIND, collect_headers, entry);
        headers_record(entry);
}

static bool token_ok(struct MHD_Connection *c) {
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        if (!auth || !str_has_prefix(auth, "Bearer "))
                return false;
        const char *tok = auth + 7;
        size_t a = strlen(tok), b = strlen(arg_token);
        /* Constant time: the length leaks, the content does not. */
        unsigned diff = a != b;
        for (size_t i = 0; i < a && i < b; i++)
                diff |= (unsigned)(tok[i] ^ arg_token[i]);
        return diff == 0;
}

/* A client certificate that chains to a --client-ca (or --write-client-cert)
 * CA and may be used for TLS clients (no extended key usage, or clientAuth).
 * libmicrohttpd asked for it in the handshake (GNUTLS_CERT_REQUEST, because of
 * MHD_OPTION_HTTPS_MEM_TRUST) but does not verify it: as kube-apiserver, a bad
 * or missing one is not a handshake failure, the request is just not
 * authenticated by it. */
static bool client_cert_ok(struct MHD_Connection *c) {
        if (!client_trust_pem)
                return false;
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        if (!ci || !ci->tls_session)
                return false;
        gnutls_typed_vdata_st purpose = { .type = GNUTLS_DT_KEY_PURPOSE_OID,
                                          .data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT };
        unsigned status = 0;
        if (gnutls_certificate_verify_peers((gnutls_session_t)ci->tls_session, &purpose, 1, &status) < 0)
                return false; /* none sent, or not X.509 */
        return status == 0;
}

/* Authenticated by the bearer token or by a client certificate, as
 * kube-apiserver's union of authenticators: either is enough. */
static bool authorized(struct MHD_Connection *c) {
        return token_ok(c) || client_cert_ok(c);
}

/* The reason of an injected failure: the codes a client acts on by reason.
 * Others (404 among them) go without one, so tests see a client word a
 * Status that has none. */
static const char *fault_reason(int code) {
        switch (code) {
        case 409: case 422: case 429: case 500: case 503: case 504:
                return status_reason_for(code);
        default:
                return "";
        }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
        struct request *req = *con_cls;
        if (!req) {
                req = xcalloc(1, sizeof(*req));
                *con_cls = req;
                return MHD_YES;
        }
        if (*upload_data_size) {
                if (req->len + *upload_data_size > API_MAX_BODY)
                        req->too_big = true; /* read and discard the rest */
                else {
                        if (req->len + *upload_data_size + 1 > req->cap) {
                                req->cap = (req->len + *upload_data_size + 1) * 2;
                                req->body = xrealloc(req->body, req->cap);
                        }
                        memcpy(req->body + req->len, upload_data, *upload_data_size);
                        req->len += *upload_data_size;
                }
                *upload_data_size = 0;
                return MHD_YES;
        }

        /* An outage resets connections that were already open, too. */
        if (outage_active())
                return MHD_NO;

        struct reply rep = { 0 };
        /* kubectl never sends a bearer token over plain HTTP, so a plain-HTTP
         * server lets requests without one through; a wrong one is still 401. */
        bool anonymous_ok = arg_insecure &&
                            !MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        if (!anonymous_ok && !authorized(c)) {
                rep.code = 401;
                rep.body = xstrdup("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                                   "\"message\":\"Unauthorized\",\"reason\":\"Unauthorized\",\"code\":401}");
                rep.len = strlen(rep.body);
                return queue(c, &rep, false);
        }

        bool control = str_has_prefix(url, "/_kstatus/");
        struct fault_action fa = { 0 };
        if (!control) {
                counters_count(method, url);
                faults_check(method, url, &fa);
                record_headers(c, method, url);
        }
        if (fa.latency_ms > 0)
                usleep((useconds_t)fa.latency_ms * 1000);
        if (fa.code) {
                json_t *st = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion", "v1",
                                       "metadata", "status", "Failure", "message",
                                       fa.code == 429 ? "Too many requests, please try again later."
                                                      : "injected fault",
                                       "reason", fault_reason(fa.code), "code", fa.code);
                if (!fault_reason(fa.code)[0])
                        json_object_del(st, "reason");
                if (fa.retry_after)
                        json_object_set_new(st, "details", json_pack("{s:i}", "retryAfterSeconds", fa.retry_after));
                rep.code = fa.code;
                rep.body = json_dumps(st, JSON_COMPACT);
                rep.len = strlen(rep.body);
                rep.retry_after = fa.retry_after;
                json_decref(st);
                return queue(c, &rep, fa.drop);
        }
        api_handle(c, method, url, req->body, req->len, req->too_big, &rep);
        rep.api = !control;
        if (!arg_quiet)
                fprintf(stderr, "%s %s %d\n", method, url, rep.code);
        if (access_log_fd >= 0) {
                /* Stamped once the store holds the change: when any reader can see it. */
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                char line[512];
                int n = snprintf(line, sizeof(line), "%lld.%06ld %s %s %d\n", (long long)ts.tv_sec, ts.tv_nsec / 1000,
                                 method, url, rep.code);
                /* One write(2) per line with O_APPEND: lines from several threads never mix. A
                 * failed write (a full disk) only loses stamps: the log is a benchmark aid. */
                if (n > 0 && (size_t)n < sizeof(line))
                        (void)!write(access_log_fd, line, (size_t)n);
        }
        return queue(c, &rep, fa.drop && !rep.watch && !rep.stream);
}

static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t addrlen) {
        return outage_active() ? MHD_NO : MHD_YES;
}

/* ---- main ---- */

static void usage(FILE *f) {
        fputs("usage: kstatus-test-apiserver [options]\n"
              "  --address ADDR          listen on ADDR (127.0.0.1 or ::1; default 127.0.0.1)\n"
              "  --port N                port (0: choose one and print it; default 0)\n"
              "  --insecure-http         plain HTTP instead of HTTPS (requests without a token\n"
              "                          are then let through: kubectl sends none over HTTP)\n"
              "  --token TOKEN           bearer token clients must send (default: generated)\n"
              "  --write-kubeconfig FILE write a kubeconfig for this server\n"
              "  --write-ca FILE         write the CA certificate (PEM)\n"
              "  --client-ca FILE        ask for client certificates and accept those signed\n"
              "                          by a CA in FILE (PEM), as well as the token\n"
              "  --write-client-cert DIR make a client CA (accepted as by --client-ca) and a\n"
              "                          client certificate: DIR/ca.crt, client.crt, client.key\n"
              "  --crds PATH             load CRD manifests (a file or a directory of *.yaml)\n"
              "  --fault JSON            add a fault rule at start (repeatable; see README.md)\n"
              "  --watch-history N       events kept for watch resumption (default 10000)\n"
              "  --bookmark-interval D   BOOKMARK interval for watches that ask (default 1s)\n"
              "  --quiet                 do not log requests\n"
              "  --warning TEXT          every API answer carries the header Warning: 299 - \"TEXT\" (repeatable)\n"
              "  --access-log FILE       append \"SECONDS.MICROSECONDS METHOD URL CODE\" for each\n"
              "                          request, stamped when it has been handled\n"
              "  --max-log-bytes SIZE    log kept per container run for pods/log (default 4Mi);\n"
              "                          the oldest lines go first\n",
              f);
}

int main(int argc, char **argv) {
        enum { ARG_ADDRESS = 0x100, ARG_PORT, ARG_INSECURE, ARG_TOKEN, ARG_KUBECONFIG, ARG_CA, ARG_CRDS, ARG_FAULT,
               ARG_HISTORY, ARG_BOOKMARK, ARG_QUIET, ARG_CLIENT_CA, ARG_CLIENT_CERT, ARG_ACCESS_LOG, ARG_MAX_LOG,
               ARG_WARNING };
        static const struct option options[] = {
                { "address", required_argument, NULL, ARG_ADDRESS },
                { "port", required_argument, NULL, ARG_PORT },
                { "insecure-http", no_argument, NULL, ARG_INSECURE },
                { "token", required_argument, NULL, ARG_TOKEN },
                { "write-kubeconfig", required_argument, NULL, ARG_KUBECONFIG },
                { "write-ca", required_argument, NULL, ARG_CA },
                { "client-ca", required_argument, NULL, ARG_CLIENT_CA },
                { "write-client-cert", required_argument, NULL, ARG_CLIENT_CERT },
                { "crds", required_argument, NULL, ARG_CRDS },
                { "fault", required_argument, NULL, ARG_FAULT },
                { "watch-history", required_argument, NULL, ARG_HISTORY },
                { "bookmark-interval", required_argument, NULL, ARG_BOOKMARK },
                { "quiet", no_argument, NULL, ARG_QUIET },
                { "access-log", required_argument, NULL, ARG_ACCESS_LOG },
                { "max-log-bytes", required_argument, NULL, ARG_MAX_LOG },
                { "warning", required_argument, NULL, ARG_WARNING },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_json_ json_t *faults = json_array();
        struct MHD_Daemon *d = NULL;
        char *url = NULL;
        bool store_ready = false;
        int rc = 0;
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case ARG_ADDRESS:
                        arg_address = optarg;
                        break;
                case ARG_PORT:
                        if (parse_int64(optarg, 0, 65535, &arg_port) < 0) {
                                fprintf(stderr, "error: invalid port \"%s\"\n", optarg);
                                { rc = 2; goto out; }
                        }
                        break;
                case ARG_INSECURE:
                        arg_insecure = true;
                        break;
                case ARG_TOKEN:
                        free(arg_token);
                        arg_token = xstrdup(optarg);
                        break;
                case ARG_KUBECONFIG:
                        arg_kubeconfig = optarg;
                        break;
                case ARG_CA:
                        arg_ca_file = optarg;
                        break;
                case ARG_CRDS:
                        arg_crds = optarg;
                        break;
                case ARG_CLIENT_CA:
                        arg_client_ca = optarg;
                        break;
                case ARG_CLIENT_CERT:
                        arg_client_cert_dir = optarg;
                        break;
                case ARG_FAULT: {
                        json_error_t e;
                        json_t *f = json_loads(optarg, 0, &e);
                        if (!f) {
                                fprintf(stderr, "error: invalid --fault \"%s\": %s\n", optarg, e.text);
                                { rc = 2; goto out; }
                        }
                        json_array_append_new(faults, f);
                        break;
                }
                case ARG_HISTORY:
                        if (parse_int64(optarg, 1, 10000000, &arg_history) < 0) {
                                fprintf(stderr, "error: invalid --watch-history \"%s\"\n", optarg);
                                { rc = 2; goto out; }
                        }
                        break;
                case ARG_BOOKMARK: {
                        int64_t ms;
                        if (parse_duration_ms(optarg, &ms) < 0 || ms <= 0 || ms > INT32_MAX) {
                                fprintf(stderr, "error: invalid --bookmark-interval \"%s\"\n", optarg);
                                { rc = 2; goto out; }
                        }
                        api_config.bookmark_ms = (int)ms;
                        break;
                }
                case ARG_QUIET:
                        arg_quiet = true;
                        break;
                case ARG_ACCESS_LOG:
                        if (access_log_fd >= 0)
                                close(access_log_fd);
                        access_log_fd = open(optarg, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
                        if (access_log_fd < 0) {
                                fprintf(stderr, "error: cannot open --access-log \"%s\": %s\n", optarg, strerror(errno));
                                { rc = 2; goto out; }
                        }
                        break;
                case ARG_MAX_LOG:
                        if (parse_size(optarg, &api_config.max_log_bytes) < 0 || api_config.max_log_bytes == 0) {
                                fprintf(stderr, "error: invalid --max-log-bytes \"%s\"\n", optarg);
                                { rc = 2; goto out; }
                        }
                        break;
                case ARG_WARNING: {
                        /* As kube-apiserver sends one: 299 - "TEXT", with " and \ escaped. */
                        _cleanup_free_ char *q = xmalloc(2 * strlen(optarg) + 1);
                        char *p = q;
                        for (const char *t = optarg; *t; t++) {
                                if (*t == '"' || *t == '\\')
                                        *p++ = '\\';
                                *p++ = *t;
                        }
                        *p = '\0';
                        if (!arg_warnings)
                                arg_warnings = json_array();
                        json_array_append_new(arg_warnings, json_sprintf("299 - \"%s\"", q));
                        break;
                }
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        { rc = 2; goto out; }
                }
        }
        if (optind < argc) {
                fprintf(stderr, "error: unexpected argument \"%s\"\n", argv[optind]);
                { rc = 2; goto out; }
        }

        struct sockaddr_storage ss = { 0 };
        socklen_t sslen;
        bool v6 = strchr(arg_address, ':') != NULL;
        if (v6) {
                struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
                s6->sin6_family = AF_INET6;
                s6->sin6_port = htons((uint16_t)arg_port);
                if (inet_pton(AF_INET6, arg_address, &s6->sin6_addr) != 1) {
                        fprintf(stderr, "error: invalid address \"%s\"\n", arg_address);
                        { rc = 2; goto out; }
                }
                sslen = sizeof(*s6);
        } else {
                struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
                s4->sin_family = AF_INET;
                s4->sin_port = htons((uint16_t)arg_port);
                if (inet_pton(AF_INET, arg_address, &s4->sin_addr) != 1) {
                        fprintf(stderr, "error: invalid address \"%s\"\n", arg_address);
                        { rc = 2; goto out; }
                }
                sslen = sizeof(*s4);
        }
        (void)sslen;

        {
                /* In a block: `goto out` must not jump past a cleanup variable. */
                _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
                if (faults_add(faults, &err) < 0) {
                        fprintf(stderr, "error: invalid --fault: %s\n", err.message);
                        { rc = 2; goto out; }
                }
        }


        if (!arg_token) {
                uint8_t b[16];
                if (gnutls_rnd(GNUTLS_RND_NONCE, b, sizeof(b)) < 0)
                        { rc = 1; goto out; }
                arg_token = xmalloc(33);
                for (size_t i = 0; i < sizeof(b); i++)
                        snprintf(arg_token + 2 * i, 3, "%02x", b[i]);
        }
        if (!arg_insecure && make_certificates() < 0)
                { rc = 1; goto out; }
        if (arg_insecure && (arg_client_ca || arg_client_cert_dir)) {
                fprintf(stderr, "error: client certificates need TLS: --insecure-http cannot be used with "
                                "--client-ca or --write-client-cert\n");
                { rc = 2; goto out; }
        }
        if (arg_client_ca && load_client_ca(arg_client_ca) < 0)
                { rc = 2; goto out; }
        if (arg_client_cert_dir && write_client_certs(arg_client_cert_dir) < 0)
                { rc = 1; goto out; }

        store_init((size_t)arg_history);
        store_ready = true;
        {
                /* The namespaces every cluster has. */
                const char *const nss[] = { "default", "kube-system", "kube-public", "kube-node-lease" };
                for (size_t i = 0; i < ELEMENTSOF(nss); i++) {
                        struct reply out = { 0 };
                        _cleanup_free_ char *body = xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
                                                              "\"metadata\":{\"name\":\"%s\"}}", nss[i]);
                        api_handle_internal_create("", "v1", "namespaces", NULL, body, &out);
                        free(out.body);
                }
        }
        if (arg_crds && api_preload_crds(arg_crds) < 0)
                { rc = 1; goto out; }

        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        /* Block before any thread starts so only sigwait() sees them. */
        pthread_sigmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);

        unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
        /* libmicrohttpd's own log reports every client that hangs up on a watch. */
        if (!arg_quiet)
                flags |= MHD_USE_ERROR_LOG;
        if (v6)
                flags |= MHD_USE_IPv6;
        if (!arg_insecure)
                flags |= MHD_USE_TLS;
        if (arg_insecure)
                d = MHD_start_daemon(flags, 0, accept_policy, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &ss,
                                     MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0, MHD_OPTION_END);
        else
                /* MHD_OPTION_HTTPS_MEM_TRUST with NULL ends the list like MHD_OPTION_END: no client certificates. */
                d = MHD_start_daemon(flags, 0, accept_policy, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &ss,
                                     MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0, MHD_OPTION_HTTPS_MEM_KEY,
                                     tls_key_pem, MHD_OPTION_HTTPS_MEM_CERT, tls_cert_pem,
                                     client_trust_pem ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, client_trust_pem,
                                     MHD_OPTION_END);
        if (!d) {
                fprintf(stderr, "error: cannot listen on %s port %lld\n", arg_address, (long long)arg_port);
                { rc = 1; goto out; }
        }
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        unsigned port = info ? info->port : (unsigned)arg_port;
        url = xasprintf("%s://%s%s%s:%u", arg_insecure ? "http" : "https", v6 ? "[" : "",
                                             arg_address, v6 ? "]" : "", port);
        api_config.token = arg_token;
        api_config.server_url = xasprintf("%s%s%s:%u", v6 ? "[" : "", arg_address, v6 ? "]" : "", port);

        if (arg_kubeconfig && write_kubeconfig(arg_kubeconfig, url) < 0)
                rc = 1;
        if (rc == 0 && arg_ca_file && !arg_insecure && write_file(arg_ca_file, tls_ca_pem) < 0)
                rc = 1;
        if (rc == 0) {
                /* Ready when this line is out: the socket listens, files are written. */
                printf("serving on %s\n", url);
                fflush(stdout);
                int sig;
                sigwait(&mask, &sig);
                if (!arg_quiet)
                        fprintf(stderr, "received %s, stopping\n", strsignal(sig));
        }

        server_stopping = true;
        pthread_mutex_lock(&store_lock);
        pthread_cond_broadcast(&store_cond);
        pthread_mutex_unlock(&store_lock);
        MHD_stop_daemon(d);
out:
        free(url);
        if (access_log_fd >= 0)
                close(access_log_fd);
        if (store_ready)
                store_free();
        faults_free();
        logs_free();
        free(api_config.server_url);
        free(arg_token);
        json_decref(arg_warnings);
        free(tls_key_pem);
        free(tls_cert_pem);
        free(tls_ca_pem);
        free(client_trust_pem);
        return rc;
}
