/* curl-static.c - the LDAP, GSS-API and RTMP entry points that Debian's
 * libcurl.a refers to, for release builds that link libcurl statically
 * (meson -Dstatic_deps=true).
 *
 * Debian builds libcurl with LDAP, Kerberos/SPNEGO and RTMP. Linked as a
 * shared library that costs every process that loads it the OpenLDAP, GnuTLS,
 * p11-kit and MIT Kerberos stacks (about 25 libraries, 1.1 MiB of private
 * relocation data and GnuTLS's constructor). Their static archives either do
 * not exist in Debian (libgssapi_krb5, libp11-kit) or drag in Berkeley DB and
 * SQL clients (libsasl2), so a static link cannot include them either.
 *
 * kstatus never reaches that code: every handle is limited to
 * CURLOPT_PROTOCOLS_STR "http,https" (no ldap://, rtmp://), authenticates
 * with Bearer or Basic only, and limits SOCKS5 proxies to no authentication
 * or username/password (CURLOPT_SOCKS5_AUTH), so libcurl never starts a
 * GSS-API exchange. These definitions only satisfy the linker; should one be
 * reached all the same, it fails the way the real library reports an
 * unsupported request and libcurl turns that into an ordinary error.
 *
 * Only the signatures' shapes matter here (this file must not need the LDAP,
 * GSS-API or librtmp headers, which the cross toolchain does not have). */
#include <stddef.h>
#include <stdint.h>

/* --- OpenLDAP (libcurl's lib/openldap.c) --- */
enum { LDAP_NOT_SUPPORTED = -12, LDAP_URL_ERR_BADSCHEME = 3 };

int ldap_init_fd(int fd, int proto, const char *url, void **ld) {
        (void)fd, (void)proto, (void)url;
        if (ld)
                *ld = NULL;
        return LDAP_NOT_SUPPORTED;
}

int ldap_url_parse(const char *url, void **desc) {
        (void)url;
        if (desc)
                *desc = NULL;
        return LDAP_URL_ERR_BADSCHEME;
}

int ldap_pvt_url_scheme2proto(const char *scheme) {
        (void)scheme;
        return -1;
}

const char *ldap_err2string(int err) {
        (void)err;
        return "LDAP is not supported by this build";
}

int ldap_set_option(void *ld, int option, const void *value) {
        (void)ld, (void)option, (void)value;
        return LDAP_NOT_SUPPORTED;
}

int ldap_get_option(void *ld, int option, void *value) {
        (void)ld, (void)option, (void)value;
        return LDAP_NOT_SUPPORTED;
}

int ldap_start_tls(void *ld, void *sctrls, void *cctrls, int *msgid) {
        (void)ld, (void)sctrls, (void)cctrls, (void)msgid;
        return LDAP_NOT_SUPPORTED;
}

int ldap_sasl_bind(void *ld, const char *dn, const char *mech, void *cred, void *sctrls, void *cctrls,
                   int *msgid) {
        (void)ld, (void)dn, (void)mech, (void)cred, (void)sctrls, (void)cctrls, (void)msgid;
        return LDAP_NOT_SUPPORTED;
}

int ldap_search_ext(void *ld, const char *base, int scope, const char *filter, char **attrs, int attrsonly,
                    void *sctrls, void *cctrls, void *timeout, int sizelimit, int *msgid) {
        (void)ld, (void)base, (void)scope, (void)filter, (void)attrs, (void)attrsonly;
        (void)sctrls, (void)cctrls, (void)timeout, (void)sizelimit, (void)msgid;
        return LDAP_NOT_SUPPORTED;
}

int ldap_result(void *ld, int msgid, int all, void *timeout, void **result) {
        (void)ld, (void)msgid, (void)all, (void)timeout;
        if (result)
                *result = NULL;
        return -1;
}

int ldap_parse_result(void *ld, void *res, int *errcode, char **matcheddn, char **errmsg, char ***referrals,
                      void ***sctrls, int freeit) {
        (void)ld, (void)res, (void)matcheddn, (void)errmsg, (void)referrals, (void)sctrls, (void)freeit;
        if (errcode)
                *errcode = LDAP_NOT_SUPPORTED;
        return LDAP_NOT_SUPPORTED;
}

int ldap_parse_sasl_bind_result(void *ld, void *res, void **servercred, int freeit) {
        (void)ld, (void)res, (void)servercred, (void)freeit;
        return LDAP_NOT_SUPPORTED;
}

int ldap_msgtype(void *msg) {
        (void)msg;
        return -1;
}

int ldap_get_dn_ber(void *ld, void *entry, void **berout, void *dn) {
        (void)ld, (void)entry, (void)berout, (void)dn;
        return LDAP_NOT_SUPPORTED;
}

int ldap_get_attribute_ber(void *ld, void *entry, void *ber, void *attr, void **vals) {
        (void)ld, (void)entry, (void)ber, (void)attr, (void)vals;
        return LDAP_NOT_SUPPORTED;
}

int ldap_abandon_ext(void *ld, int msgid, void *sctrls, void *cctrls) {
        (void)ld, (void)msgid, (void)sctrls, (void)cctrls;
        return LDAP_NOT_SUPPORTED;
}

int ldap_unbind_ext(void *ld, void *sctrls, void *cctrls) {
        (void)ld, (void)sctrls, (void)cctrls;
        return 0;
}

int ldap_msgfree(void *msg) {
        (void)msg;
        return 0;
}

void ldap_memfree(void *p) { (void)p; }
void ldap_free_urldesc(void *desc) { (void)desc; }
void ber_free(void *ber, int freebuf) { (void)ber, (void)freebuf; }
void ber_memfree(void *p) { (void)p; }
void ber_memvfree(void **vec) { (void)vec; }
void ber_bvfree(void *bv) { (void)bv; }
int ber_sockbuf_add_io(void *sb, void *sbio, int layer, void *arg) {
        (void)sb, (void)sbio, (void)layer, (void)arg;
        return -1;
}

/* --- GSS-API (libcurl's SPNEGO, Kerberos and SOCKS5-GSSAPI code) --- */
typedef uint32_t OM_uint32;
enum { GSS_S_FAILURE = 13u << 16 };
void *GSS_C_NT_HOSTBASED_SERVICE;

#define GSS_FAIL(minor)                 \
        do {                            \
                if (minor)              \
                        *(minor) = 0;   \
                return GSS_S_FAILURE;   \
        } while (0)

OM_uint32 gss_import_name(OM_uint32 *minor, const void *buf, const void *type, void **name) {
        (void)buf, (void)type, (void)name;
        GSS_FAIL(minor);
}

OM_uint32 gss_init_sec_context(OM_uint32 *minor, void *cred, void **ctx, void *target, void *mech,
                               OM_uint32 flags, OM_uint32 time, void *bindings, void *input,
                               void **actual_mech, void *output, OM_uint32 *ret_flags, OM_uint32 *ret_time) {
        (void)cred, (void)ctx, (void)target, (void)mech, (void)flags, (void)time, (void)bindings;
        (void)input, (void)actual_mech, (void)output, (void)ret_flags, (void)ret_time;
        GSS_FAIL(minor);
}

OM_uint32 gss_delete_sec_context(OM_uint32 *minor, void **ctx, void *output) {
        (void)ctx, (void)output;
        GSS_FAIL(minor);
}

OM_uint32 gss_display_name(OM_uint32 *minor, void *name, void *buf, void **type) {
        (void)name, (void)buf, (void)type;
        GSS_FAIL(minor);
}

OM_uint32 gss_display_status(OM_uint32 *minor, OM_uint32 status, int type, void *mech, OM_uint32 *ctx,
                             void *buf) {
        (void)status, (void)type, (void)mech, (void)buf;
        if (ctx)
                *ctx = 0;
        GSS_FAIL(minor);
}

OM_uint32 gss_inquire_context(OM_uint32 *minor, void *ctx, void **src, void **targ, OM_uint32 *lifetime,
                              void **mech, OM_uint32 *flags, int *local, int *open) {
        (void)ctx, (void)src, (void)targ, (void)lifetime, (void)mech, (void)flags, (void)local, (void)open;
        GSS_FAIL(minor);
}

OM_uint32 gss_release_buffer(OM_uint32 *minor, void *buf) {
        (void)buf;
        if (minor)
                *minor = 0;
        return 0;
}

OM_uint32 gss_release_name(OM_uint32 *minor, void **name) {
        (void)name;
        if (minor)
                *minor = 0;
        return 0;
}

OM_uint32 gss_wrap(OM_uint32 *minor, void *ctx, int conf, OM_uint32 qop, void *in, int *state, void *out) {
        (void)ctx, (void)conf, (void)qop, (void)in, (void)state, (void)out;
        GSS_FAIL(minor);
}

OM_uint32 gss_unwrap(OM_uint32 *minor, void *ctx, void *in, void *out, int *state, OM_uint32 *qop) {
        (void)ctx, (void)in, (void)out, (void)state, (void)qop;
        GSS_FAIL(minor);
}

/* --- librtmp (libcurl's lib/curl_rtmp.c) --- */
void *RTMP_Alloc(void) { return NULL; }
void RTMP_Init(void *r) { (void)r; }
void RTMP_Free(void *r) { (void)r; }
void RTMP_Close(void *r) { (void)r; }
int RTMP_SetupURL(void *r, char *url) {
        (void)r, (void)url;
        return 0;
}

int RTMP_Connect1(void *r, void *packet) {
        (void)r, (void)packet;
        return 0;
}

int RTMP_ConnectStream(void *r, int seek) {
        (void)r, (void)seek;
        return 0;
}

void RTMP_SetBufferMS(void *r, int size) { (void)r, (void)size; }
int RTMP_Read(void *r, char *buf, int size) {
        (void)r, (void)buf, (void)size;
        return -1;
}

int RTMP_Write(void *r, const char *buf, int size) {
        (void)r, (void)buf, (void)size;
        return -1;
}
