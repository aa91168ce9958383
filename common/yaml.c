/* yaml.c - YAML text to jansson values with the semantics of sigs.k8s.io/yaml
 * (go-yaml v2 resolution: YAML 1.1 scalars), driven by libyaml's event
 * parser so that limits are enforced while parsing and aliases are counted,
 * not expanded. */
#include "yaml-json.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <yaml.h>

#include "json-cost.h"

struct anchor {
        json_t *value;
        size_t nodes;    /* nodes the anchored value expands to */
        size_t bytes;    /* its approximate JSON size */
        size_t memory;   /* the memory its expansion takes (json-cost.h) */
        unsigned height; /* collections nested in it, itself included: 0 for a scalar */
};

struct builder {
        bool in_key; /* resolving a mapping key: .inf and .nan are allowed there */
        yaml_parser_t parser;
        const struct kstatus_limits *lim;
        struct kstatus_error *err;
        struct anchor *anchors;
        size_t n_anchors;
        json_t *anchor_index; /* name → index in anchors: no linear search per alias */
        unsigned height;      /* of the node parse_node() built last */
        bool aliased;         /* the document shares values through aliases */
        size_t nodes;
        size_t bytes;
        size_t memory; /* what the tree takes (json-cost.h), aliases expanded */
};

static int fail_at(struct builder *b, yaml_mark_t mark, int code, const char *fmt, ...) _printf_(4, 5);
static int fail_at(struct builder *b, yaml_mark_t mark, int code, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        kstatus_error_setv(b->err, code, (int)mark.line + 1, (int)mark.column + 1, fmt, ap);
        va_end(ap);
        return -code;
}

static int parser_error(struct builder *b) {
        yaml_parser_t *p = &b->parser;
        yaml_mark_t mark = p->problem_mark;
        /* The problem alone, as go-yaml reports it ("found character that
         * cannot start any token"); libyaml's context adds only noise. */
        return fail_at(b, mark, EINVAL, "%s", p->problem ? p->problem : "invalid YAML");
}

static int next_event(struct builder *b, yaml_event_t *ev) {
        if (!yaml_parser_parse(&b->parser, ev))
                return parser_error(b);
        return 0;
}

/* Count nodes, bytes and memory as they are created (aliases count their expansion). */
static int account(struct builder *b, yaml_mark_t mark, size_t nodes, size_t bytes, size_t memory) {
        b->nodes += nodes;
        b->bytes += bytes;
        b->memory += memory;
        if (b->nodes > b->lim->max_nodes)
                return fail_at(b, mark, E2BIG,
                               "document expands to more than %zu nodes (limit max-nodes); aliases are not expanded "
                               "past it",
                               b->lim->max_nodes);
        if (b->bytes > b->lim->max_result_bytes)
                return fail_at(b, mark, E2BIG, "status is larger than %zu bytes as JSON (limit max-status-size)",
                               b->lim->max_result_bytes);
        /* 100 000 empty maps are 500 kB of YAML and ~24 MiB of tree. */
        if (b->lim->max_memory_bytes && b->memory > b->lim->max_memory_bytes)
                return fail_at(b, mark, E2BIG,
                               "status would take more than %zu bytes of memory (limit max-status-memory)",
                               b->lim->max_memory_bytes);
        return 0;
}

/* What a scalar's value takes in a tree, its slot in its container included. */
static size_t scalar_cost(const json_t *v) {
        switch (json_typeof(v)) {
        case JSON_STRING: return COST_STRING + json_string_length(v) + COST_SLOT;
        case JSON_INTEGER:
        case JSON_REAL: return COST_NUMBER + COST_SLOT;
        default: return COST_SLOT;
        }
}

/* ---- scalar resolution (go-yaml v2 resolve.go) ---- */

static bool in_list(const char *s, const char *const *list) {
        for (; *list; list++)
                if (strcmp(s, *list) == 0)
                        return true;
        return false;
}

static const char *const null_words[] = { "", "~", "null", "Null", "NULL", NULL };
static const char *const true_words[] = { "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", NULL };
static const char *const false_words[] = { "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", NULL };
static const char *const inf_words[] = { ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", NULL };
static const char *const nan_words[] = { ".nan", ".NaN", ".NAN", NULL };

/* Go's base prefixes for base 0: 0x, 0o, 0b, or a leading 0 for octal.
 * Moves *p past the prefix. */
static int go_int_base(const char **p) {
        const char *s = *p;
        if (s[0] != '0' || !s[1])
                return 10;
        char c = (char)tolower((unsigned char)s[1]);
        int base = c == 'x' ? 16 : c == 'o' ? 8 : c == 'b' ? 2 : 0;
        *p += base ? 2 : 1;
        return base ? base : 8;
}

/* The whole of p as digits of base into *ret; false when a character is not
 * one or the value overflows a uint64. */
static bool parse_digits(const char *p, int base, uint64_t *ret) {
        uint64_t v = 0;
        for (; *p; p++) {
                int d = isdigit((unsigned char)*p)   ? *p - '0'
                        : isalpha((unsigned char)*p) ? tolower((unsigned char)*p) - 'a' + 10
                                                     : base;
                if (d >= base || v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
                        return false;
                v = v * (uint64_t)base + (uint64_t)d;
        }
        *ret = v;
        return true;
}

/* Go's strconv.ParseInt/ParseUint with base 0 on text without underscores.
 * Returns 1 for an int64, 2 for a uint64 beyond int64, 0 when not an integer. */
static int parse_go_int(const char *s, int64_t *ret_i, uint64_t *ret_u) {
        const char *p = s;
        bool neg = *p == '-';
        if (*p == '+' || *p == '-')
                p++;
        int base = go_int_base(&p);
        uint64_t v;
        if (!*p || !parse_digits(p, base, &v))
                return 0;
        if (neg) {
                if (v > (uint64_t)INT64_MAX + 1)
                        return 0;
                *ret_i = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
                return 1;
        }
        if (v <= INT64_MAX) {
                *ret_i = (int64_t)v;
                return 1;
        }
        *ret_u = v;
        return 2;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool is_yaml_float(const char *s) {
        const char *p = s;
        if (*p == '+' || *p == '-')
                p++;
        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char)*p))
                        return false;
                while (isdigit((unsigned char)*p))
                        p++;
        } else {
                if (!isdigit((unsigned char)*p))
                        return false;
                while (isdigit((unsigned char)*p))
                        p++;
                if (*p == '.') {
                        p++;
                        while (isdigit((unsigned char)*p))
                                p++;
                }
        }
        if (*p == 'e' || *p == 'E') {
                p++;
                if (*p == '+' || *p == '-')
                        p++;
                if (!isdigit((unsigned char)*p))
                        return false;
                while (isdigit((unsigned char)*p))
                        p++;
        }
        return *p == '\0';
}

/* A float as Go's encoding/json would write it, read back as kubectl does:
 * integral values below 1e21 come back as integers. */
static json_t *number_from_double(double d) {
        /* Go writes integral floats below 1e21 without an exponent, in their
         * shortest digits; kubectl reads such text back as an int64 when it
         * fits. Do the same round trip. */
        if (d == floor(d) && fabs(d) < 1e21) {
                char shortest[64];
                for (int prec = 1; prec <= 17; prec++) {
                        snprintf(shortest, sizeof(shortest), "%.*e", prec - 1, d);
                        if (strtod(shortest, NULL) == d)
                                break;
                }
                char text[64];
                snprintf(text, sizeof(text), "%.0f", strtod(shortest, NULL));
                /* %.0f prints the exact binary value; rebuild Go's digits instead. */
                int exp10 = atoi(strchr(shortest, 'e') + 1);
                char digits[32];
                size_t nd = 0;
                for (const char *p = shortest; *p && *p != 'e'; p++)
                        if (isdigit((unsigned char)*p))
                                digits[nd++] = *p;
                size_t o = 0;
                if (d < 0)
                        text[o++] = '-';
                for (int i = 0; i <= exp10 && o + 1 < sizeof(text); i++)
                        text[o++] = (size_t)i < nd ? digits[i] : '0';
                text[o] = '\0';
                errno = 0;
                char *end;
                long long v = strtoll(text, &end, 10);
                if (errno == 0 && *end == '\0')
                        return json_integer((json_int_t)v);
        }
        return json_real(d);
}

static json_t *uint_value(uint64_t u) {
        /* Beyond int64, kubectl's unstructured reading makes it a float64. */
        return json_real((double)u);
}

enum resolved { R_VALUE, R_MERGE, R_INF, R_NAN };

/* Resolve a plain scalar. Returns a new reference in *ret or R_INF/R_NAN. */
static enum resolved resolve_plain(const char *s, json_t **ret) {
        /* Most scalars are plain words: only these first characters can
         * start a null, bool, merge key, infinity or NaN. */
        if (!strchr("~nNyYtTfFoO<.+-", s[0]))
                goto number;
        if (in_list(s, null_words)) {
                *ret = json_null();
                return R_VALUE;
        }
        if (in_list(s, true_words)) {
                *ret = json_true();
                return R_VALUE;
        }
        if (in_list(s, false_words)) {
                *ret = json_false();
                return R_VALUE;
        }
        if (strcmp(s, "<<") == 0)
                return R_MERGE;
        if (in_list(s, inf_words))
                return R_INF;
        if (in_list(s, nan_words))
                return R_NAN;
number:;
        char c = s[0];
        if (c == '+' || c == '-' || c == '.' || isdigit((unsigned char)c)) {
                _cleanup_free_ char *plain = xmalloc(strlen(s) + 1);
                char *o = plain;
                for (const char *p = s; *p; p++)
                        if (*p != '_')
                                *o++ = *p;
                *o = '\0';
                int64_t i;
                uint64_t u;
                int k = parse_go_int(plain, &i, &u);
                if (k == 1) {
                        *ret = json_integer(i);
                        return R_VALUE;
                }
                if (k == 2) {
                        *ret = uint_value(u);
                        return R_VALUE;
                }
                if (is_yaml_float(plain)) {
                        double d = strtod(plain, NULL);
                        /* ParseFloat's range error leaves go-yaml with a string. */
                        if (!isinf(d)) {
                                *ret = number_from_double(d);
                                return R_VALUE;
                        }
                }
        }
        *ret = json_stringn(s, strlen(s));
        return R_VALUE;
}

bool kstatus_yaml_plain_is_string(const char *s) {
        json_t *v = NULL;
        enum resolved r = resolve_plain(s, &v);
        bool is = r == R_VALUE && json_is_string(v);
        json_decref(v);
        return is;
}

static bool tag_is(const yaml_char_t *tag, const char *suffix) {
        if (!tag)
                return false;
        const char *t = (const char *)tag;
        if (str_has_prefix(t, "tag:yaml.org,2002:"))
                return strcmp(t + strlen("tag:yaml.org,2002:"), suffix) == 0;
        return false;
}

/* Base64 as go-yaml's !!binary: decoded, and kept when the bytes are text. */
static json_t *decode_binary(const char *text, size_t len) {
        _cleanup_free_ char *out = NULL;
        size_t n;
        if (kstatus_base64_decode(text, len, &out, &n) < 0)
                return NULL;
        return json_stringn(out, n); /* NULL when not valid UTF-8 */
}

/* go-yaml's name for the type a plain scalar resolved to. */
static const char *resolved_kind(const json_t *v) {
        return json_is_integer(v)   ? "int"
               : json_is_real(v)    ? "float"
               : json_is_boolean(v) ? "bool"
               : json_is_null(v)    ? "null"
                                    : "str";
}

/* An explicit core tag must agree with what the text resolves to (v); on
 * disagreement v is released and go-yaml's words are the error:
 * cannot decode !!float `3.5` as a !!int */
static int check_core_tag(struct builder *b, const yaml_event_t *ev, json_t *v) {
        const yaml_char_t *t = ev->data.scalar.tag;
        bool typed = tag_is(t, "int") || tag_is(t, "float") || tag_is(t, "bool") || tag_is(t, "null");
        bool ok = !typed || (tag_is(t, "int") && json_is_integer(v)) || (tag_is(t, "float") && json_is_number(v)) ||
                  (tag_is(t, "bool") && json_is_boolean(v)) || (tag_is(t, "null") && json_is_null(v));
        if (ok)
                return 0;
        const char *kind = resolved_kind(v);
        json_decref(v);
        return fail_at(b, ev->start_mark, EINVAL, "cannot decode !!%s `%s` as a !!%s", kind,
                       (const char *)ev->data.scalar.value, (const char *)t + strlen("tag:yaml.org,2002:"));
}

/* Quoted (unless a core tag other than !!str says otherwise), explicitly
 * !!str, or an unknown or local tag (!foo): the scalar is a string. */
static bool scalar_is_string(const yaml_event_t *ev, bool core) {
        const yaml_char_t *tag = ev->data.scalar.tag;
        bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        if (tag && !core)
                return true;
        if (core && tag_is(tag, "str"))
                return true;
        return !plain && !core;
}

static int scalar_value(struct builder *b, yaml_event_t *ev, json_t **ret, bool *ret_merge) {
        const char *text = (const char *)ev->data.scalar.value;
        size_t len = ev->data.scalar.length;
        const char *tag = (const char *)ev->data.scalar.tag;
        *ret_merge = false;

        bool core = tag && str_has_prefix(tag, "tag:yaml.org,2002:");
        if (core && tag_is(ev->data.scalar.tag, "binary")) {
                *ret = decode_binary(text, len);
                if (!*ret)
                        return fail_at(b, ev->start_mark, EINVAL, "!!binary value is not base64 text");
                return 0;
        }
        if (scalar_is_string(ev, core)) {
                *ret = json_stringn(text, len);
                return 0;
        }
        json_t *v = NULL;
        enum resolved r = resolve_plain(text, &v);
        if (r == R_MERGE) {
                *ret_merge = true;
                return 0;
        }
        if ((r == R_INF || r == R_NAN) && b->in_key) {
                /* sigs.k8s.io/yaml names float keys .inf, -.inf and .nan. */
                *ret = json_string(r == R_NAN ? ".nan" : text[0] == '-' ? "-.inf" : ".inf");
                return 0;
        }
        if (r == R_INF || r == R_NAN)
                return fail_at(b, ev->start_mark, EINVAL, "%s is not a number JSON can hold (%s)", text,
                               r == R_INF ? "infinity" : "NaN");
        if (core && check_core_tag(b, ev, v) < 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

static struct anchor *find_anchor(struct builder *b, const yaml_char_t *name) {
        json_t *i = b->anchor_index ? json_object_get(b->anchor_index, (const char *)name) : NULL;
        return i ? &b->anchors[json_integer_value(i)] : NULL;
}

/* Remember an anchored node; a later anchor of the same name replaces it. */
static void add_anchor(struct builder *b, const yaml_char_t *name, json_t *value, size_t nodes, size_t bytes,
                       size_t memory, unsigned height) {
        struct anchor *a = find_anchor(b, name);
        if (!a) {
                if (!b->anchor_index)
                        b->anchor_index = json_object();
                /* Doubling keeps a document of many anchors linear. */
                if ((b->n_anchors & (b->n_anchors - 1)) == 0)
                        b->anchors = xrealloc(b->anchors, (b->n_anchors ? b->n_anchors * 2 : 1) * sizeof(*b->anchors));
                a = &b->anchors[b->n_anchors];
                *a = (struct anchor){ 0 };
                /* Anchor names are ASCII (libyaml's scanner), so valid keys. */
                json_object_set_new(b->anchor_index, (const char *)name, json_integer((json_int_t)b->n_anchors++));
        }
        json_decref(a->value);
        *a = (struct anchor){ json_incref(value), nodes, bytes, memory, height };
}

static int parse_node(struct builder *b, yaml_event_t *ev, unsigned depth, json_t **ret, bool *ret_merge);

/* A mapping key as sigs.k8s.io/yaml turns it into a JSON object key. */
static int key_string(struct builder *b, yaml_mark_t mark, json_t *key, char **ret) {
        if (json_is_string(key))
                *ret = xstrndup(json_string_value(key), json_string_length(key));
        else if (json_is_integer(key))
                *ret = xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(key));
        else if (json_is_true(key))
                *ret = xstrdup("true");
        else if (json_is_false(key))
                *ret = xstrdup("false");
        else if (json_is_real(key)) {
                /* strconv.FormatFloat(f, 'g', -1, 32): the shortest float32 form. */
                float f = (float)json_real_value(key);
                for (int prec = 1; prec <= 9; prec++) {
                        *ret = xasprintf("%.*g", prec, (double)f);
                        if (strtof(*ret, NULL) == f)
                                break;
                        free(*ret);
                        *ret = NULL;
                }
                if (!*ret)
                        *ret = xasprintf("%.9g", (double)f);
        }
        else if (json_is_null(key))
                return fail_at(b, mark, EINVAL, "a mapping key cannot be null");
        else
                return fail_at(b, mark, EINVAL, "a mapping key must be a scalar, not a %s",
                               json_is_array(key) ? "sequence" : "mapping");
        return 0;
}

/* Merge `src` (a mapping, or a sequence of mappings) under `<<` as go-yaml v2
 * does, which kubectl follows: the merged keys are set when `<<` is met (so
 * they override keys written before it, and keys after it override them),
 * and in a sequence the earlier mappings win over the later ones. */
static int apply_merge(struct builder *b, yaml_mark_t mark, json_t *obj, json_t *src) {
        if (json_is_object(src)) {
                const char *k;
                json_t *v;
                json_object_foreach(src, k, v) json_object_set(obj, k, v);
                return 0;
        }
        if (json_is_array(src)) {
                for (size_t i = json_array_size(src); i > 0; i--) {
                        json_t *m = json_array_get(src, i - 1);
                        if (!json_is_object(m))
                                return fail_at(b, mark, EINVAL, "map merge requires map or sequence of maps as the value");
                        apply_merge(b, mark, obj, m);
                }
                return 0;
        }
        return fail_at(b, mark, EINVAL, "map merge requires map or sequence of maps as the value");
}

/* obj[key] = value (key and value taken over), the key as a string. A
 * repeated key: the last one wins, as with kubectl. */
static int set_pair(struct builder *b, yaml_mark_t kmark, json_t *obj, json_t *key, json_t *value) {
        char *k = NULL;
        int r = key_string(b, kmark, key, &k);
        json_decref(key);
        if (r < 0) {
                json_decref(value);
                return r;
        }
        size_t klen = strlen(k);
        r = account(b, kmark, 0, klen + 4, COST_KEY + klen);
        if (r >= 0)
                json_object_set_new(obj, k, value);
        else
                json_decref(value);
        free(k);
        return r;
}

static int parse_mapping(struct builder *b, yaml_event_t *start, unsigned depth, json_t **ret) {
        json_t *obj = json_object();
        unsigned height = 0;
        int r = 0;
        for (;;) {
                yaml_event_t kev;
                if ((r = next_event(b, &kev)) < 0)
                        break;
                if (kev.type == YAML_MAPPING_END_EVENT) {
                        yaml_event_delete(&kev);
                        break;
                }
                yaml_mark_t kmark = kev.start_mark;
                json_t *key = NULL;
                bool merge = false;
                b->in_key = kev.type == YAML_SCALAR_EVENT;
                r = parse_node(b, &kev, depth, &key, &merge);
                b->in_key = false;
                yaml_event_delete(&kev);
                if (r < 0)
                        break;
                yaml_event_t vev;
                if ((r = next_event(b, &vev)) < 0) {
                        json_decref(key);
                        break;
                }
                json_t *value = NULL;
                bool vmerge = false;
                r = parse_node(b, &vev, depth, &value, &vmerge);
                unsigned h = b->height;
                /* A merge flattens: its map (or the sequence and its maps) is
                 * not a level of the result, the merged values are. */
                if (r >= 0 && merge)
                        h = json_is_array(value) ? (h > 2 ? h - 2 : 0) : (h > 1 ? h - 1 : 0);
                if (h > height)
                        height = h;
                yaml_event_delete(&vev);
                if (r < 0) {
                        json_decref(key);
                        break;
                }
                if (merge) {
                        r = apply_merge(b, kmark, obj, value);
                        json_decref(value);
                        if (r < 0)
                                break;
                        continue;
                }
                if ((r = set_pair(b, kmark, obj, key, value)) < 0)
                        break;
        }
        if (r < 0) {
                json_decref(obj);
                return r;
        }
        (void)start;
        b->height = height + 1;
        *ret = obj;
        return 0;
}

static int parse_sequence(struct builder *b, unsigned depth, json_t **ret) {
        json_t *arr = json_array();
        unsigned height = 0;
        for (;;) {
                yaml_event_t ev;
                int r = next_event(b, &ev);
                if (r < 0) {
                        json_decref(arr);
                        return r;
                }
                if (ev.type == YAML_SEQUENCE_END_EVENT) {
                        yaml_event_delete(&ev);
                        break;
                }
                json_t *v = NULL;
                bool merge = false;
                r = parse_node(b, &ev, depth, &v, &merge);
                if (b->height > height)
                        height = b->height;
                yaml_mark_t mark = ev.start_mark;
                yaml_event_delete(&ev);
                if (r >= 0 && merge) {
                        v = json_string("<<");
                        (void)mark;
                }
                if (r < 0) {
                        json_decref(arr);
                        return r;
                }
                json_array_append_new(arr, v);
                b->bytes += 1;
        }
        b->height = height + 1;
        *ret = arr;
        return 0;
}

/* depth: how many collections enclose this node. */
static int parse_node(struct builder *b, yaml_event_t *ev, unsigned depth, json_t **ret, bool *ret_merge) {
        *ret_merge = false;
        if ((ev->type == YAML_SEQUENCE_START_EVENT || ev->type == YAML_MAPPING_START_EVENT) &&
            depth + 1 > b->lim->max_depth)
                return fail_at(b, ev->start_mark, E2BIG, "document nests deeper than %u levels (limit max-depth)",
                               b->lim->max_depth);
        size_t nodes0 = b->nodes, bytes0 = b->bytes, memory0 = b->memory;
        const yaml_char_t *anchor = NULL;
        json_t *v = NULL;
        int r;
        switch (ev->type) {
        case YAML_ALIAS_EVENT: {
                struct anchor *a = find_anchor(b, ev->data.alias.anchor);
                if (!a)
                        return fail_at(b, ev->start_mark, EINVAL, "unknown anchor '%s' referenced",
                                       (const char *)ev->data.alias.anchor);
                /* An alias nests its anchor's value here: the depth limit holds for the expansion too. */
                if (depth + a->height > b->lim->max_depth)
                        return fail_at(b, ev->start_mark, E2BIG,
                                       "document nests deeper than %u levels (limit max-depth)", b->lim->max_depth);
                /* Counted before it is copied: an alias bomb stops here, in
                 * time linear in the text, without expanding anything. */
                r = account(b, ev->start_mark, a->nodes, a->bytes, a->memory);
                if (r < 0)
                        return r;
                /* Shared while parsing (nothing here modifies a finished
                 * node); unshare() copies once the whole document is in. */
                *ret = json_incref(a->value);
                b->aliased = true;
                b->height = a->height;
                return 0;
        }
        case YAML_SCALAR_EVENT:
                anchor = ev->data.scalar.anchor;
                r = account(b, ev->start_mark, 1, ev->data.scalar.length + 2, 0);
                if (r < 0)
                        return r;
                r = scalar_value(b, ev, &v, ret_merge);
                if (r < 0)
                        return r;
                /* A key's memory is its member's (set_pair), not a value's. */
                if (!*ret_merge && !b->in_key && (r = account(b, ev->start_mark, 0, 0, scalar_cost(v))) < 0) {
                        json_decref(v);
                        return r;
                }
                b->height = 0;
                if (*ret_merge)
                        return 0;
                break;
        case YAML_SEQUENCE_START_EVENT:
                anchor = ev->data.sequence_start.anchor;
                r = account(b, ev->start_mark, 1, 2, COST_ARRAY + COST_SLOT);
                if (r < 0)
                        return r;
                r = parse_sequence(b, depth + 1, &v);
                if (r < 0)
                        return r;
                break;
        case YAML_MAPPING_START_EVENT:
                anchor = ev->data.mapping_start.anchor;
                r = account(b, ev->start_mark, 1, 2, COST_OBJECT + COST_SLOT);
                if (r < 0)
                        return r;
                r = parse_mapping(b, ev, depth + 1, &v);
                if (r < 0)
                        return r;
                break;
        default:
                return fail_at(b, ev->start_mark, EINVAL, "unexpected YAML event");
        }
        if (anchor)
                add_anchor(b, anchor, v, b->nodes - nodes0, b->bytes - bytes0, b->memory - memory0, b->height);
        *ret = v;
        return 0;
}

static void builder_done(struct builder *b) {
        for (size_t i = 0; i < b->n_anchors; i++)
                json_decref(b->anchors[i].value);
        free(b->anchors);
        json_decref(b->anchor_index);
        b->anchors = NULL;
        b->anchor_index = NULL;
        b->n_anchors = 0;
}

/* Replace a document that shares values through aliases by a copy that
 * shares nothing, so that callers may modify it. The copy is made only
 * after the document passed the node limit, which bounds its cost; an
 * alias bomb is refused before anything is copied. */
static int unshare(struct builder *b, json_t **doc) {
        if (!b->aliased || !*doc)
                return 0;
        b->aliased = false;
        json_t *copy = json_deep_copy(*doc);
        if (!copy)
                return kstatus_error_set(b->err, ENOMEM, 0, 0, "out of memory copying aliased values");
        json_decref(*doc);
        *doc = copy;
        return 0;
}

/* One document (stream == NULL) or every document appended to `stream`. */
/* What libyaml is not asked to see: a file over the limit, a NUL byte
 * (libyaml stops at one; say where it is instead). */
static int check_input(const char *buf, size_t len, const struct kstatus_limits *lim, struct kstatus_error *err) {
        if (len > lim->max_file_bytes)
                return kstatus_error_set(err, E2BIG, 0, 0, "file is %zu bytes, over the limit of %zu bytes (max-file-size)",
                                         len, lim->max_file_bytes);
        const char *nul = memchr(buf, '\0', len);
        if (!nul)
                return 0;
        int line = 1, col = 1;
        for (const char *p = buf; p < nul; p++) {
                if (*p == '\n')
                        line++, col = 1;
                else
                        col++;
        }
        return kstatus_error_set(err, EINVAL, line, col, "control characters are not allowed (NUL byte)");
}

/* One top-level event into *doc (and, in a stream, each finished document
 * into stream). Returns 0 to go on, 1 at the end of the stream, or <0. */
static int top_event(struct builder *b, yaml_event_t *ev, json_t *stream, json_t **doc, int *docs) {
        int r = 0;
        switch (ev->type) {
        case YAML_STREAM_END_EVENT:
                return 1;
        case YAML_STREAM_START_EVENT:
                return 0;
        case YAML_DOCUMENT_START_EVENT:
                if (++*docs > 1 && !stream)
                        return fail_at(b, ev->start_mark, EINVAL,
                                       "more than one YAML document (a status file holds one)");
                return 0;
        case YAML_DOCUMENT_END_EVENT:
                if (!stream)
                        return 0;
                r = unshare(b, doc);
                /* Empty documents (a stray ---) are skipped, as kubectl does. */
                if (r >= 0 && *doc)
                        json_array_append_new(stream, *doc);
                else
                        json_decref(*doc);
                *doc = NULL;
                return r < 0 ? r : 0;
        default: {
                bool merge = false;
                r = parse_node(b, ev, 0, doc, &merge);
                if (r >= 0 && merge)
                        *doc = json_string("<<");
                return r < 0 ? r : 0;
        }
        }
}

static int parse_text(const char *buf, size_t len, const struct kstatus_limits *lim, json_t **ret, json_t *stream,
                      struct kstatus_error *err) {
        struct kstatus_limits defaults = KSTATUS_LIMITS_DEFAULT;
        if (!lim)
                lim = &defaults;
        int r = check_input(buf, len, lim, err);
        if (r < 0)
                return r;

        struct builder b = { .lim = lim, .err = err };
        if (!yaml_parser_initialize(&b.parser))
                return kstatus_error_set(err, ENOMEM, 0, 0, "cannot initialise the YAML parser");
        yaml_parser_set_input_string(&b.parser, (const unsigned char *)buf, len);

        json_t *doc = NULL;
        int docs = 0;
        while (r == 0) {
                yaml_event_t ev;
                if ((r = next_event(&b, &ev)) < 0)
                        break;
                r = top_event(&b, &ev, stream, &doc, &docs);
                yaml_event_delete(&ev);
        }
        if (r > 0)
                r = 0;
        builder_done(&b);
        yaml_parser_delete(&b.parser);
        if (r < 0) {
                json_decref(doc);
                return r;
        }
        if (stream) {
                *ret = NULL;
                return 0;
        }
        if (!doc)
                doc = json_null();
        /* The running estimate is close; the encoder has the last word. It
         * is only needed near the limit: no value's JSON is over six times
         * its estimate (a control character becomes \u00XX). */
        size_t exact = b.bytes <= lim->max_result_bytes / 6
                               ? 0
                               : json_dumpb(doc, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
        if (exact > lim->max_result_bytes) {
                json_decref(doc);
                return kstatus_error_set(err, E2BIG, 0, 0,
                                         "status is %zu bytes as JSON, over the limit of %zu (limit max-status-size)",
                                         exact, lim->max_result_bytes);
        }
        r = unshare(&b, &doc);
        if (r < 0) {
                json_decref(doc);
                return r;
        }
        *ret = doc;
        return 0;
}

int kstatus_yaml_parse(const char *buf, size_t len, const struct kstatus_limits *lim, json_t **ret,
                       struct kstatus_error *err) {
        return parse_text(buf, len, lim, ret, NULL, err);
}

int kstatus_yaml_parse_stream(const char *buf, size_t len, const struct kstatus_limits *lim, json_t **ret,
                              struct kstatus_error *err) {
        json_t *docs = json_array();
        json_t *unused = NULL;
        int r = parse_text(buf, len, lim, &unused, docs, err);
        if (r < 0) {
                json_decref(docs);
                return r;
        }
        *ret = docs;
        return 0;
}
