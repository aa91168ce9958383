/* headers.c - what the client adds to requests and reads from answers
 * besides credentials: client-go's impersonation headers
 * (transport/round_trippers.go) and the server's Warning headers
 * (apimachinery's ParseWarningHeaders). */
#include "kube/client.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "kube/internal.h"

/* Go's httpguts.ValidHeaderFieldValue: no control character but tab. */
static bool header_value_ok(const char *v) {
        for (; *v; v++)
                if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
                        return false;
        return true;
}

/* net/http's token characters (RFC 7230), '%' excluded: headerKeyEscape
 * %-encodes every other byte of an extra's key. */
static bool token_byte(unsigned char b) {
        return b < 0x80 && b > 0x20 && !strchr("\"(),/:;<=>?@[\\]{}%", b) && b != 0x7f;
}

static char ascii_case(unsigned char c, bool upper) {
        if (upper && c >= 'a' && c <= 'z')
                return (char)(c - 'a' + 'A');
        if (!upper && c >= 'A' && c <= 'Z')
                return (char)(c - 'A' + 'a');
        return (char)c;
}

/* "Impersonate-Extra-" + the key escaped as client-go's headerKeyEscape, in
 * Go's canonical form (textproto.CanonicalMIMEHeaderKey), as Go sends it. */
static char *extra_header_name(const char *key) {
        size_t n = strlen(key);
        char *name = xmalloc(strlen("Impersonate-Extra-") + 3 * n + 1);
        char *p = stpcpy(name, "Impersonate-Extra-");
        bool upper = true;
        for (const unsigned char *k = (const unsigned char *)key; *k; k++) {
                if (!token_byte(*k)) {
                        p += sprintf(p, "%%%02X", *k);
                        upper = false;
                        continue;
                }
                *p++ = ascii_case(*k, upper);
                upper = *k == '-';
        }
        *p = '\0';
        return name;
}

/* Appends "NAME: VALUE" (curl's "NAME;" for an empty value, which it would
 * otherwise drop), or notes Go's refusal of the value. */
static void add_identity(struct kube_client *c, const char *name, const char *value) {
        if (c->identity_error)
                return;
        if (!header_value_ok(value)) {
                c->identity_error = xasprintf("net/http: invalid header field value for \"%s\"", name);
                return;
        }
        _cleanup_free_ char *line = *value ? xasprintf("%s: %s", name, value) : xasprintf("%s;", name);
        c->identity = curl_slist_append(c->identity, line);
}

void kube_identity_setup(struct kube_client *c) {
        const struct kube_config *cfg = c->config;
        /* As client-go: nothing without a user to impersonate. */
        if (!cfg->impersonate_user || !*cfg->impersonate_user)
                return;
        add_identity(c, "Impersonate-User", cfg->impersonate_user);
        if (cfg->impersonate_uid && *cfg->impersonate_uid)
                add_identity(c, "Impersonate-Uid", cfg->impersonate_uid);
        for (char **g = cfg->impersonate_groups; g && *g; g++)
                add_identity(c, "Impersonate-Group", *g);
        const char *key;
        json_t *values;
        json_object_foreach(cfg->impersonate_extra, key, values) {
                _cleanup_free_ char *name = extra_header_name(key);
                size_t i;
                json_t *v;
                json_array_foreach(values, i, v) add_identity(c, name, json_string_value(v));
        }
}

/* The length of the UTF-8 sequence lead starts, 0 when it starts none. */
static size_t utf8_length(unsigned char lead) {
        if (lead < 0x80)
                return 1;
        if ((lead & 0xe0) == 0xc0)
                return 2;
        if ((lead & 0xf0) == 0xe0)
                return 3;
        return (lead & 0xf8) == 0xf0 ? 4 : 0;
}

/* unicode.IsControl over valid UTF-8: C0, DEL and C1 (U+0080–U+009F). Invalid
 * UTF-8 counts as bad too, as Go's utf8.ValidString check. */
static bool warning_text_ok(const char *s) {
        const unsigned char *p = (const unsigned char *)s;
        while (*p) {
                size_t len = utf8_length(*p);
                if (len == 0 || (len == 2 && *p < 0xc2))
                        return false;
                for (size_t i = 1; i < len; i++)
                        if ((p[i] & 0xc0) != 0x80)
                                return false;
                if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] < 0xa0))
                        return false;
                p += len;
        }
        return true;
}

static const char *skip_space(const char *s) {
        while (*s == ' ' || *s == '\t')
                s++;
        return s;
}

/* One `CODE AGENT "TEXT" ["DATE"]` from s: *text (new) and the rest after an
 * optional comma in *rest, or -1 when it is malformed. */
static int parse_one_warning(const char *s, int *code, char **text, const char **rest) {
        s = skip_space(s);
        if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2]) ||
            s[3] != ' ')
                return -1;
        *code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
        const char *agent = s + 4, *sp = strchr(agent, ' ');
        if (!sp || sp == agent)
                return -1;
        for (const char *a = agent; a < sp; a++)
                if ((unsigned char)*a < 0x20 || *a == 0x7f)
                        return -1;
        const char *q = sp + 1;
        if (*q != '"')
                return -1;
        _cleanup_free_ char *t = xmalloc(strlen(q));
        size_t n = 0;
        bool escaping = false;
        for (q++;; q++) {
                if (!*q)
                        return -1; /* no closing quote */
                if (*q == '\\' && !escaping) {
                        escaping = true;
                        continue;
                }
                if (*q == '"' && !escaping)
                        break;
                t[n++] = *q;
                escaping = false;
        }
        t[n] = '\0';
        q = skip_space(q + 1);
        if (*q == '"') {
                const char *end = strchr(q + 1, '"'); /* the date */
                if (!end)
                        return -1;
                q = skip_space(end + 1);
        }
        if (*q && *q != ',')
                return -1;
        if (!warning_text_ok(t))
                return -1;
        *rest = *q ? skip_space(q + 1) : q;
        *text = TAKE_PTR(t);
        return 0;
}

void kube_parse_warnings(const char *value, void (*fn)(void *userdata, const char *text), void *userdata) {
        const char *s = skip_space(value);
        while (*s) {
                int code;
                _cleanup_free_ char *text = NULL;
                if (parse_one_warning(s, &code, &text, &s) < 0)
                        return;
                if (code == 299 && *text)
                        fn(userdata, text);
        }
}
