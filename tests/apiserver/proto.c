/* proto.c - decode the Kubernetes protobuf request bodies kubectl's typed
 * generators send (kubectl create namespace|configmap|secret|serviceaccount|
 * role|rolebinding|clusterrole|clusterrolebinding) into the JSON the rest of
 * the server speaks. Responses are always JSON (kubectl accepts both).
 *
 * The envelope is "k8s\0" + runtime.Unknown{typeMeta, raw}; raw is the
 * kind's message. Field numbers come from k8s.io/api's generated.proto;
 * fields not listed here are skipped. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>

#include "server.h"

enum ftype { F_STRING, F_BYTES, F_INT, F_BOOL, F_MSG, F_MAP_SS, F_MAP_SB, F_TIME };

struct msgdef;
struct fielddef {
        int num;
        const char *name;
        enum ftype type;
        bool repeated;
        const struct msgdef *msg;
};
struct msgdef {
        const struct fielddef *f;
        size_t n;
};
#define MSG(name, ...)                                                      \
        static const struct fielddef name##_f[] = { __VA_ARGS__ };          \
        static const struct msgdef name = { name##_f, ELEMENTSOF(name##_f) }

MSG(owner_ref, { 1, "kind", F_STRING, false, NULL }, { 3, "name", F_STRING, false, NULL },
    { 4, "uid", F_STRING, false, NULL }, { 5, "apiVersion", F_STRING, false, NULL },
    { 6, "controller", F_BOOL, false, NULL }, { 7, "blockOwnerDeletion", F_BOOL, false, NULL });
MSG(object_meta, { 1, "name", F_STRING, false, NULL }, { 2, "generateName", F_STRING, false, NULL },
    { 3, "namespace", F_STRING, false, NULL }, { 5, "uid", F_STRING, false, NULL },
    { 6, "resourceVersion", F_STRING, false, NULL }, { 7, "generation", F_INT, false, NULL },
    { 8, "creationTimestamp", F_TIME, false, NULL }, { 11, "labels", F_MAP_SS, false, NULL },
    { 12, "annotations", F_MAP_SS, false, NULL }, { 13, "ownerReferences", F_MSG, true, &owner_ref },
    { 14, "finalizers", F_STRING, true, NULL });
MSG(configmap, { 1, "metadata", F_MSG, false, &object_meta }, { 2, "data", F_MAP_SS, false, NULL },
    { 3, "binaryData", F_MAP_SB, false, NULL }, { 4, "immutable", F_BOOL, false, NULL });
MSG(secret, { 1, "metadata", F_MSG, false, &object_meta }, { 2, "data", F_MAP_SB, false, NULL },
    { 3, "type", F_STRING, false, NULL }, { 4, "stringData", F_MAP_SS, false, NULL },
    { 5, "immutable", F_BOOL, false, NULL });
MSG(ns_spec, { 1, "finalizers", F_STRING, true, NULL });
MSG(ns_status, { 1, "phase", F_STRING, false, NULL });
MSG(namespace, { 1, "metadata", F_MSG, false, &object_meta }, { 2, "spec", F_MSG, false, &ns_spec },
    { 3, "status", F_MSG, false, &ns_status });
MSG(object_ref, { 1, "kind", F_STRING, false, NULL }, { 2, "namespace", F_STRING, false, NULL },
    { 3, "name", F_STRING, false, NULL }, { 4, "uid", F_STRING, false, NULL },
    { 5, "apiVersion", F_STRING, false, NULL }, { 6, "resourceVersion", F_STRING, false, NULL },
    { 7, "fieldPath", F_STRING, false, NULL });
MSG(local_ref, { 1, "name", F_STRING, false, NULL });
MSG(service_account, { 1, "metadata", F_MSG, false, &object_meta }, { 2, "secrets", F_MSG, true, &object_ref },
    { 3, "imagePullSecrets", F_MSG, true, &local_ref }, { 4, "automountServiceAccountToken", F_BOOL, false, NULL });
MSG(policy_rule, { 1, "verbs", F_STRING, true, NULL }, { 2, "apiGroups", F_STRING, true, NULL },
    { 3, "resources", F_STRING, true, NULL }, { 4, "resourceNames", F_STRING, true, NULL },
    { 5, "nonResourceURLs", F_STRING, true, NULL });
MSG(role, { 1, "metadata", F_MSG, false, &object_meta }, { 2, "rules", F_MSG, true, &policy_rule });
MSG(subject, { 1, "kind", F_STRING, false, NULL }, { 2, "apiGroup", F_STRING, false, NULL },
    { 3, "name", F_STRING, false, NULL }, { 4, "namespace", F_STRING, false, NULL });
MSG(role_ref, { 1, "apiGroup", F_STRING, false, NULL }, { 2, "kind", F_STRING, false, NULL },
    { 3, "name", F_STRING, false, NULL });
MSG(role_binding, { 1, "metadata", F_MSG, false, &object_meta }, { 2, "subjects", F_MSG, true, &subject },
    { 3, "roleRef", F_MSG, false, &role_ref });
MSG(type_meta, { 1, "apiVersion", F_STRING, false, NULL }, { 2, "kind", F_STRING, false, NULL });

static const struct {
        const char *kind;
        const struct msgdef *msg;
} kinds[] = {
        { "ConfigMap", &configmap },          { "Secret", &secret },
        { "Namespace", &namespace },          { "ServiceAccount", &service_account },
        { "Role", &role },                    { "ClusterRole", &role },
        { "RoleBinding", &role_binding },     { "ClusterRoleBinding", &role_binding },
};

struct reader {
        const uint8_t *p, *end;
};

static int read_varint(struct reader *r, uint64_t *ret) {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
                if (r->p >= r->end)
                        return -EBADMSG;
                uint8_t b = *r->p++;
                v |= (uint64_t)(b & 0x7f) << shift;
                if (!(b & 0x80)) {
                        *ret = v;
                        return 0;
                }
        }
        return -EBADMSG;
}

static int read_bytes(struct reader *r, const uint8_t **ret, size_t *ret_len) {
        uint64_t n;
        int e = read_varint(r, &n);
        if (e < 0)
                return e;
        if (n > (uint64_t)(r->end - r->p))
                return -EBADMSG;
        *ret = r->p;
        *ret_len = (size_t)n;
        r->p += n;
        return 0;
}

static int skip_field(struct reader *r, unsigned wire) {
        uint64_t v;
        const uint8_t *b;
        size_t n;
        switch (wire) {
        case 0:
                return read_varint(r, &v);
        case 1:
                if (r->end - r->p < 8)
                        return -EBADMSG;
                r->p += 8;
                return 0;
        case 2:
                return read_bytes(r, &b, &n);
        case 5:
                if (r->end - r->p < 4)
                        return -EBADMSG;
                r->p += 4;
                return 0;
        default:
                return -EBADMSG;
        }
}

static int decode_msg(const uint8_t *p, size_t len, const struct msgdef *m, json_t *out);

static json_t *bytes_to_base64(const uint8_t *b, size_t n) {
        gnutls_datum_t in = { .data = (unsigned char *)b, .size = (unsigned)n }, enc;
        if (n == 0)
                return json_string("");
        if (gnutls_base64_encode2(&in, &enc) < 0)
                return NULL;
        json_t *s = json_stringn((const char *)enc.data, enc.size);
        gnutls_free(enc.data);
        return s;
}

/* A map entry {key = 1, value = 2} into obj. */
static int decode_map_entry(const uint8_t *p, size_t len, bool bytes_value, json_t *obj) {
        struct reader r = { p, p + len };
        json_t *key = NULL, *value = NULL;
        int e = 0;
        while (e == 0 && r.p < r.end) {
                uint64_t tag;
                const uint8_t *b;
                size_t n;
                if ((e = read_varint(&r, &tag)) < 0)
                        break;
                if ((tag & 7) != 2) {
                        e = skip_field(&r, tag & 7);
                        continue;
                }
                if ((e = read_bytes(&r, &b, &n)) < 0)
                        break;
                if (tag >> 3 == 1) {
                        json_decref(key);
                        key = json_stringn((const char *)b, n);
                } else if (tag >> 3 == 2) {
                        json_decref(value);
                        value = bytes_value ? bytes_to_base64(b, n) : json_stringn((const char *)b, n);
                }
        }
        if (e == 0 && key && json_string_value(key))
                json_object_set(obj, json_string_value(key), value ? value : json_string(""));
        else if (e == 0)
                e = -EBADMSG;
        json_decref(key);
        json_decref(value);
        return e;
}

static json_t *decode_time(const uint8_t *p, size_t len) {
        struct reader r = { p, p + len };
        uint64_t secs = 0, tag, v;
        while (r.p < r.end) {
                if (read_varint(&r, &tag) < 0)
                        return NULL;
                if ((tag & 7) == 0 && read_varint(&r, &v) == 0) {
                        if (tag >> 3 == 1)
                                secs = v;
                } else if ((tag & 7) != 0 && skip_field(&r, tag & 7) < 0)
                        return NULL;
        }
        time_t t = (time_t)secs;
        struct tm tm;
        gmtime_r(&t, &tm);
        return json_sprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                            tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int decode_msg(const uint8_t *p, size_t len, const struct msgdef *m, json_t *out) {
        struct reader r = { p, p + len };
        while (r.p < r.end) {
                uint64_t tag;
                int e = read_varint(&r, &tag);
                if (e < 0)
                        return e;
                unsigned num = (unsigned)(tag >> 3), wire = (unsigned)(tag & 7);
                const struct fielddef *f = NULL;
                for (size_t i = 0; i < m->n; i++)
                        if ((unsigned)m->f[i].num == num)
                                f = &m->f[i];
                if (!f || (wire != 0 && wire != 2)) {
                        if ((e = skip_field(&r, wire)) < 0)
                                return e;
                        continue;
                }
                json_t *v = NULL;
                if (wire == 0) {
                        uint64_t x;
                        if ((e = read_varint(&r, &x)) < 0)
                                return e;
                        if (f->type == F_BOOL)
                                v = json_boolean(x != 0);
                        else if (f->type == F_INT)
                                v = json_integer((json_int_t)x);
                        else
                                continue;
                } else {
                        const uint8_t *b;
                        size_t n;
                        if ((e = read_bytes(&r, &b, &n)) < 0)
                                return e;
                        switch (f->type) {
                        case F_STRING:
                                v = json_stringn((const char *)b, n);
                                break;
                        case F_BYTES:
                                v = bytes_to_base64(b, n);
                                break;
                        case F_TIME:
                                v = decode_time(b, n);
                                break;
                        case F_MSG:
                                v = json_object();
                                if ((e = decode_msg(b, n, f->msg, v)) < 0) {
                                        json_decref(v);
                                        return e;
                                }
                                break;
                        case F_MAP_SS:
                        case F_MAP_SB: {
                                json_t *map = json_object_get(out, f->name);
                                if (!map) {
                                        map = json_object();
                                        json_object_set_new(out, f->name, map);
                                }
                                if ((e = decode_map_entry(b, n, f->type == F_MAP_SB, map)) < 0)
                                        return e;
                                continue;
                        }
                        default:
                                continue;
                        }
                }
                if (!v)
                        return -EBADMSG; /* not UTF-8, or out of memory */
                if (f->repeated) {
                        json_t *a = json_object_get(out, f->name);
                        if (!a) {
                                a = json_array();
                                json_object_set_new(out, f->name, a);
                        }
                        json_array_append_new(a, v);
                } else
                        json_object_set_new(out, f->name, v);
        }
        return 0;
}

int proto_decode_object(const char *body, size_t len, json_t **ret, struct kstatus_error *err) {
        static const uint8_t magic[4] = { 'k', '8', 's', 0 };
        if (len < 4 || memcmp(body, magic, 4) != 0)
                return kstatus_error_set(err, EBADMSG, 0, 0, "provided value is not a protobuf message: no "
                                         "\"k8s\\x00\" prefix");
        /* runtime.Unknown: typeMeta = 1, raw = 2. */
        struct reader r = { (const uint8_t *)body + 4, (const uint8_t *)body + len };
        const uint8_t *raw = NULL;
        size_t raw_len = 0;
        json_t *tm = json_object();
        int e = 0;
        while (e == 0 && r.p < r.end) {
                uint64_t tag;
                const uint8_t *b;
                size_t n;
                if ((e = read_varint(&r, &tag)) < 0)
                        break;
                if ((tag & 7) != 2) {
                        e = skip_field(&r, tag & 7);
                        continue;
                }
                if ((e = read_bytes(&r, &b, &n)) < 0)
                        break;
                if (tag >> 3 == 1)
                        e = decode_msg(b, n, &type_meta, tm);
                else if (tag >> 3 == 2) {
                        raw = b;
                        raw_len = n;
                }
        }
        const char *kind = json_string_value(json_object_get(tm, "kind"));
        const struct msgdef *m = NULL;
        for (size_t i = 0; kind && i < ELEMENTSOF(kinds); i++)
                if (strcmp(kinds[i].kind, kind) == 0)
                        m = kinds[i].msg;
        if (e < 0 || !raw || !m) {
                int r2 = kstatus_error_set(err, e < 0 ? EBADMSG : ENOTSUP, 0, 0,
                                           e < 0 ? "unable to decode the protobuf body"
                                                 : "protobuf bodies for kind \"%s\" are not supported; send JSON",
                                           kind ? kind : "");
                json_decref(tm);
                return r2;
        }
        json_t *obj = json_object();
        json_object_set(obj, "apiVersion", json_object_get(tm, "apiVersion"));
        json_object_set(obj, "kind", json_object_get(tm, "kind"));
        json_decref(tm);
        if ((e = decode_msg(raw, raw_len, m, obj)) < 0) {
                json_decref(obj);
                return kstatus_error_set(err, EBADMSG, 0, 0, "unable to decode the protobuf body");
        }
        *ret = obj;
        return 0;
}
