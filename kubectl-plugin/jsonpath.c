/* jsonpath.c - client-go's util/jsonpath (parser.go, jsonpath.go) in C: the
 * same parser states, the same evaluation of each node over a list of values,
 * the same error messages. Values are jansson values; Go's nil is JSON null. */
#include "jsonpath.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "yaml-json.h"

enum jp_kind {
        JP_LIST,
        JP_TEXT,
        JP_FIELD,
        JP_ARRAY,
        JP_FILTER,
        JP_INT,
        JP_FLOAT,
        JP_BOOL,
        JP_WILDCARD,
        JP_RECURSIVE,
        JP_UNION,
        JP_IDENTIFIER,
};

struct jp_param {
        bool known, derived;
        int64_t value;
};

struct jp_node {
        enum jp_kind kind;
        char *text;             /* FIELD, IDENTIFIER; FILTER: the operator */
        json_t *constant;       /* TEXT, INT, FLOAT, BOOL */
        struct jp_param params[3];
        struct jp_node **nodes; /* LIST: its nodes; UNION: lists; FILTER: left, right */
        size_t n;
};

struct jsonpath {
        struct jp_node *root;
        const json_t **literals; /* the quoted and plain text of the template, not escaped */
        size_t n_literals;
};

static struct jp_node *node_new(enum jp_kind kind) {
        struct jp_node *n = xcalloc(1, sizeof(*n));
        n->kind = kind;
        return n;
}

static void node_free(struct jp_node *n) {
        if (!n)
                return;
        for (size_t i = 0; i < n->n; i++)
                node_free(n->nodes[i]);
        free(n->nodes);
        free(n->text);
        json_decref(n->constant);
        free(n);
}

static void append(struct jp_node *list, struct jp_node *n) {
        list->nodes = xrealloc(list->nodes, (list->n + 1) * sizeof(*list->nodes));
        list->nodes[list->n++] = n;
}

static struct jp_node *constant(enum jp_kind kind, json_t *v) {
        struct jp_node *n = node_new(kind);
        n->constant = v;
        return n;
}

void jsonpath_free(struct jsonpath *jp) {
        if (!jp)
                return;
        node_free(jp->root);
        free(jp->literals);
        free(jp);
}

/* ---- parser (parser.go) ---- */

#define JP_EOF (-1)

struct parser {
        const char *input;
        size_t len, pos, start, width;
        unsigned nesting;
        struct jp_node *root;
        struct kstatus_error *err;
};

static int perr(struct parser *p, const char *fmt, ...) _printf_(2, 3);
static int perr(struct parser *p, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        kstatus_error_setv(p->err, EINVAL, 0, 0, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* One UTF-8 code point (Go's utf8.DecodeRuneInString: a bad byte is U+FFFD, width 1). */
static int32_t next(struct parser *p) {
        if (p->pos >= p->len) {
                p->width = 0;
                return JP_EOF;
        }
        const unsigned char *s = (const unsigned char *)p->input + p->pos;
        size_t left = p->len - p->pos, w = s[0] < 0x80 ? 1 : s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
        int32_t r = w == 1 ? s[0] : w == 2 ? s[0] & 0x1f : w == 3 ? s[0] & 0x0f : s[0] & 0x07;
        bool ok = w && w <= left;
        for (size_t i = 1; ok && i < w; i++) {
                ok = (s[i] & 0xc0) == 0x80;
                r = (r << 6) | (s[i] & 0x3f);
        }
        if (!ok) {
                w = 1;
                r = 0xfffd;
        }
        p->width = w;
        p->pos += w;
        return r;
}

static void backup(struct parser *p) {
        p->pos -= p->width;
}

static int32_t peek(struct parser *p) {
        int32_t r = next(p);
        backup(p);
        return r;
}

static char *consume(struct parser *p) {
        char *v = xstrndup(p->input + p->start, p->pos - p->start);
        p->start = p->pos;
        return v;
}

static void skip(struct parser *p) {
        p->start = p->pos;
}

static bool has_prefix(const struct parser *p, const char *prefix) {
        size_t n = strlen(prefix);
        return p->len - p->pos >= n && memcmp(p->input + p->pos, prefix, n) == 0;
}

static bool is_digit(int32_t r) {
        return r >= '0' && r <= '9';
}

/* unicode.IsLetter, with every non-ASCII code point counted as one. */
static bool is_alnum(int32_t r) {
        return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || is_digit(r) || r >= 0x80;
}

static bool is_terminator(int32_t r) {
        return r == ' ' || r == '\t' || r == '\r' || r == '\n' || r == JP_EOF || (r >= 0 && strchr(".,[]$@{}", r) && r);
}

static int parse_text_into(const char *text, unsigned nesting, struct jp_node **ret, struct kstatus_error *err);

/* parseAction: "{" text "}" parsed on its own; its first action's list. */
static int parse_action(struct parser *p, const char *prefix, const char *text, size_t n, const char *suffix,
                        struct jp_node **ret) {
        if (p->nesting + 1 > JSONPATH_MAX_NESTING)
                return perr(p, "jsonpath nested deeper than %u", JSONPATH_MAX_NESTING);
        _cleanup_free_ char *s = xasprintf("{%s%.*s%s}", prefix, (int)n, text, suffix);
        struct jp_node *root = NULL;
        int r = parse_text_into(s, p->nesting + 1, &root, p->err);
        if (r < 0)
                return r;
        /* Nodes[0] is the list the leading "{" opened. */
        *ret = root->nodes[0];
        root->nodes[0] = node_new(JP_LIST);
        node_free(root);
        return 0;
}

static int parse_field(struct parser *p, struct jp_node *cur) {
        skip(p);
        for (;;) {
                int32_t r = next(p);
                if (r == '\\')
                        next(p);
                else if (is_terminator(r)) {
                        backup(p);
                        break;
                }
        }
        char *value = consume(p);
        if (strcmp(value, "*") == 0) {
                free(value);
                append(cur, node_new(JP_WILDCARD));
                return 0;
        }
        char *o = value;
        for (const char *s = value; *s; s++)
                if (*s != '\\')
                        *o++ = *s;
        *o = '\0';
        struct jp_node *n = node_new(JP_FIELD);
        n->text = value;
        append(cur, n);
        return 0;
}

static int parse_identifier(struct parser *p, struct jp_node *cur) {
        while (!is_terminator(next(p)))
                ;
        backup(p);
        char *value = consume(p);
        if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0) {
                append(cur, constant(JP_BOOL, json_boolean(value[0] == 't')));
                free(value);
                return 0;
        }
        struct jp_node *n = node_new(JP_IDENTIFIER);
        n->text = value;
        append(cur, n);
        return 0;
}

static int parse_recursive(struct parser *p, struct jp_node *cur) {
        if (cur->n && cur->nodes[cur->n - 1]->kind == JP_RECURSIVE)
                return perr(p, "invalid multiple recursive descent");
        p->pos += 2;
        skip(p);
        append(cur, node_new(JP_RECURSIVE));
        return is_alnum(peek(p)) ? parse_field(p, cur) : 0;
}

static int parse_number(struct parser *p, struct jp_node *cur) {
        int32_t r = peek(p);
        if (r == '+' || r == '-')
                next(p);
        do
                r = next(p);
        while (r == '.' || is_digit(r));
        backup(p);
        _cleanup_free_ char *value = consume(p);
        char *end;
        errno = 0;
        long long i = strtoll(value, &end, 10);
        if (*value && !*end && errno == 0 && value[strspn(value, "+-")]) {
                append(cur, constant(JP_INT, json_integer(i)));
                return 0;
        }
        errno = 0;
        double d = strtod(value, &end);
        if (*value && !*end && errno == 0 && strpbrk(value, "0123456789")) {
                append(cur, constant(JP_FLOAT, json_real(d)));
                return 0;
        }
        return perr(p, "cannot parse number %s", value);
}

/* -?[0-9]* at s[*i]; returns whether any of it is there. */
static void scan_index(const char *s, size_t *i) {
        if (s[*i] == '-')
                (*i)++;
        while (is_digit(s[*i]))
                (*i)++;
}

/* ^(-?\d*)(:-?\d*)?(:-?\d*)?$ : the three groups (NULL when absent). */
static bool slice_groups(const char *s, char *groups[3]) {
        size_t i = 0, b = 0;
        scan_index(s, &i);
        groups[0] = xstrndup(s, i);
        for (int g = 1; g < 3; g++) {
                if (s[i] != ':')
                        continue;
                b = ++i;
                scan_index(s, &i);
                groups[g] = xstrndup(s + b, i - b);
        }
        return s[i] == '\0';
}

static int parse_slice(struct parser *p, struct jp_node *cur, const char *text) {
        char *groups[3] = { 0 };
        struct jp_node *n = node_new(JP_ARRAY);
        int r = 0;
        if (!slice_groups(text, groups))
                r = perr(p, "invalid array index %s", text);
        for (int i = 0; i < 3 && r == 0; i++) {
                const char *v = groups[i];
                if (v && *v) {
                        if (parse_int64(v, INT64_MIN, INT64_MAX, &n->params[i].value) < 0)
                                r = perr(p, "array index %s is not a number", v);
                        n->params[i].known = true;
                } else if (i == 0 || v) {
                        n->params[i].known = false; /* "" first, or ":" with nothing after it */
                } else if (i == 1) {
                        n->params[1] = (struct jp_param){ .known = true, .derived = true,
                                                          .value = n->params[0].value + 1 };
                }
        }
        for (int i = 0; i < 3; i++)
                free(groups[i]);
        if (r < 0) {
                node_free(n);
                return r;
        }
        append(cur, n);
        return 0;
}

static int parse_union(struct parser *p, struct jp_node *cur, const char *text) {
        struct jp_node *u = node_new(JP_UNION);
        const char *s = text;
        for (;;) {
                size_t n = strcspn(s, ",");
                const char *b = s, *e = s + n;
                while (b < e && *b == ' ')
                        b++;
                while (e > b && e[-1] == ' ')
                        e--;
                struct jp_node *list;
                int r = parse_action(p, "[", b, (size_t)(e - b), "]", &list);
                if (r < 0) {
                        node_free(u);
                        return r;
                }
                append(u, list);
                if (!s[n])
                        break;
                s += n + 1;
        }
        append(cur, u);
        return 0;
}

static int parse_array(struct parser *p, struct jp_node *cur) {
        for (;;) {
                int32_t r = next(p);
                if (r == JP_EOF || r == '\n')
                        return perr(p, "unterminated array");
                if (r == ']')
                        break;
        }
        _cleanup_free_ char *all = consume(p);
        _cleanup_free_ char *text = xstrndup(all + 1, strlen(all) - 2);
        if (strcmp(text, "*") == 0)
                text[0] = ':';
        if (strchr(text, ','))
                return parse_union(p, cur, text);
        size_t n = strlen(text);
        if (n >= 2 && text[0] == '\'' && text[n - 1] == '\'' && !memchr(text + 1, '\'', n - 2)) {
                struct jp_node *list;
                int r = parse_action(p, ".", text + 1, n - 2, "", &list);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < list->n; i++)
                        append(cur, TAKE_PTR(list->nodes[i]));
                list->n = 0;
                node_free(list);
                return 0;
        }
        return parse_slice(p, cur, text);
}

static bool is_op(char c) {
        return c && strchr("!<>=", c);
}

static int parse_filter(struct parser *p, struct jp_node *cur) {
        p->pos += 3;
        skip(p);
        bool begin = false, end = false;
        int32_t pair = 0;
        for (;;) {
                int32_t r = next(p);
                if (r == JP_EOF || r == '\n')
                        return perr(p, "unterminated filter");
                if (r == '"' || r == '\'') {
                        if (!begin) {
                                begin = true;
                                pair = r;
                                continue;
                        }
                        if (p->input[p->pos - 2] != '\\' && r == pair)
                                end = true;
                } else if (r == ')' && begin == end)
                        break;
        }
        if (next(p) != ']')
                return perr(p, "unclosed array expect ]");
        _cleanup_free_ char *all = consume(p);
        size_t n = strlen(all) - 2;
        /* ^([^!<>=]+)([!<>=]+)(.+?)$ */
        size_t left = 0, op = 0;
        while (left < n && !is_op(all[left]))
                left++;
        while (left + op < n && is_op(all[left + op]))
                op++;
        if (left + op == n && op >= 2)
                op--; /* the value takes the last operator character */
        struct jp_node *f = node_new(JP_FILTER);
        struct jp_node *l = NULL, *r = NULL;
        int k;
        if (left == 0 || op == 0 || left + op >= n) {
                k = parse_action(p, "", all, n, "", &l);
                if (k == 0) {
                        r = node_new(JP_LIST);
                        f->text = xstrdup("exists");
                }
        } else {
                k = parse_action(p, "", all, left, "", &l);
                if (k == 0)
                        k = parse_action(p, "", all + left + op, n - left - op, "", &r);
                f->text = xstrndup(all + left, op);
        }
        if (l)
                append(f, l);
        if (r)
                append(f, r);
        if (k < 0) {
                node_free(f);
                return k;
        }
        append(cur, f);
        return 0;
}

static int hexval(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void put_rune(struct kstatus_buf *b, uint32_t c) {
        char u[4];
        size_t n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
        if (n == 1)
                u[0] = (char)c;
        else {
                for (size_t i = n - 1; i > 0; i--, c >>= 6)
                        u[i] = (char)(0x80 | (c & 0x3f));
                u[0] = (char)((n == 2 ? 0xc0 : n == 3 ? 0xe0 : 0xf0) | c);
        }
        kstatus_buf_put(b, u, n);
}

/* \xHH, \ooo, \uHHHH or \UHHHHHHHH at p (the backslash); false: invalid syntax. */
static bool unquote_numeric(const char **s, struct kstatus_buf *b) {
        const char *p = *s;
        char c = p[1];
        bool octal = c >= '0' && c <= '7', byte = c == 'x' || octal;
        int digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : octal ? 3 : 0;
        int base = octal ? 8 : 16;
        const char *d = octal ? p + 1 : p + 2;
        uint32_t v = 0;
        if (!digits)
                return false;
        for (int i = 0; i < digits; i++) {
                int h = d[i] ? hexval(d[i]) : -1;
                if (h < 0 || h >= base)
                        return false;
                v = v * (uint32_t)base + (uint32_t)h;
        }
        if (byte && v > 255)
                return false;
        if (!byte && (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)))
                return false;
        if (byte) {
                char ch = (char)v;
                kstatus_buf_put(b, &ch, 1);
        } else
                put_rune(b, v);
        *s = d + digits;
        return true;
}

/* One strconv.UnquoteChar step at *s; false: invalid syntax. */
static bool unquote_char(const char **s, char quote, struct kstatus_buf *b) {
        static const char simple[] = "a\ab\bf\fn\nr\rt\tv\v\\\\";
        const char *p = *s;
        if (*p == quote)
                return false;
        if (*p != '\\') {
                kstatus_buf_put(b, p, 1);
                *s = p + 1;
                return true;
        }
        char c = p[1];
        const char *m = c ? strchr(simple, c) : NULL;
        if (m && (m - simple) % 2 == 0) {
                kstatus_buf_put(b, m + 1, 1);
                *s = p + 2;
                return true;
        }
        if (c == quote) {
                kstatus_buf_put(b, &c, 1);
                *s = p + 2;
                return true;
        }
        return unquote_numeric(s, b);
}

static int parse_quote(struct parser *p, struct jp_node *cur, int32_t end) {
        for (;;) {
                int32_t r = next(p);
                if (r == JP_EOF || r == '\n')
                        return perr(p, "unterminated quoted string");
                if (r == end && p->input[p->pos - 2] != '\\')
                        break;
        }
        _cleanup_free_ char *value = consume(p);
        _cleanup_free_ char *inner = xstrndup(value + 1, strlen(value) - 2);
        struct kstatus_buf b = { 0 };
        kstatus_buf_put(&b, "", 0);
        for (const char *s = inner; *s;)
                if (!unquote_char(&s, (char)end, &b)) {
                        free(b.data);
                        return perr(p, "unquote string %s error invalid syntax", value);
                }
        append(cur, constant(JP_TEXT, json_stringn_nocheck(b.data ? b.data : "", b.len)));
        free(b.data);
        return 0;
}

/* One step of parseInsideAction: 1 when the action closed, 0 to go on. */
static int inside_action(struct parser *p, struct jp_node *cur) {
        if (has_prefix(p, "}")) {
                p->pos++;
                skip(p);
                return 1;
        }
        if (has_prefix(p, "[?("))
                return parse_filter(p, cur);
        if (has_prefix(p, ".."))
                return parse_recursive(p, cur);
        int32_t r = next(p);
        if (r == JP_EOF || r == '\r' || r == '\n')
                return perr(p, "unclosed action");
        if (r == ' ' || r == '@' || r == '$') {
                skip(p);
                return 0;
        }
        if (r == '[')
                return parse_array(p, cur);
        if (r == '"' || r == '\'')
                return parse_quote(p, cur, r);
        if (r == '.')
                return parse_field(p, cur);
        if (r == '+' || r == '-' || is_digit(r) || is_alnum(r)) {
                backup(p);
                return r == '+' || r == '-' || is_digit(r) ? parse_number(p, cur) : parse_identifier(p, cur);
        }
        if (r >= 0x20 && r < 0x7f)
                return perr(p, "unrecognized character in action: U+%04X '%c'", (unsigned)r, (char)r);
        return perr(p, "unrecognized character in action: U+%04X", (unsigned)r);
}

static int parse_text_into(const char *text, unsigned nesting, struct jp_node **ret, struct kstatus_error *err) {
        struct parser p = { .input = text, .len = strlen(text), .nesting = nesting, .root = node_new(JP_LIST),
                            .err = err };
        int r = 0;
        while (r == 0) {
                /* parseText: up to the next "{" */
                const char *brace = memchr(p.input + p.pos, '{', p.len - p.pos);
                p.pos = brace ? (size_t)(brace - p.input) : p.len;
                if (p.pos > p.start) {
                        _cleanup_free_ char *t = consume(&p);
                        append(p.root, constant(JP_TEXT, json_stringn_nocheck(t, strlen(t))));
                }
                if (!brace)
                        break;
                p.pos++;
                skip(&p);
                struct jp_node *action = node_new(JP_LIST);
                append(p.root, action);
                while ((r = inside_action(&p, action)) == 0)
                        ;
                if (r > 0)
                        r = 0;
        }
        if (r < 0) {
                node_free(p.root);
                return r;
        }
        *ret = p.root;
        return 0;
}

static void collect_literals(struct jsonpath *jp, const struct jp_node *n) {
        if (n->kind == JP_TEXT) {
                jp->literals = xrealloc(jp->literals, (jp->n_literals + 1) * sizeof(*jp->literals));
                jp->literals[jp->n_literals++] = n->constant;
        }
        for (size_t i = 0; i < n->n; i++)
                collect_literals(jp, n->nodes[i]);
}

int jsonpath_parse(const char *text, struct jsonpath **ret, struct kstatus_error *err) {
        if (strlen(text) > JSONPATH_MAX_TEXT)
                return kstatus_error_set(err, EINVAL, 0, 0, "jsonpath longer than %u bytes", JSONPATH_MAX_TEXT);
        struct jp_node *root;
        int r = parse_text_into(text, 0, &root, err);
        if (r < 0)
                return r;
        struct jsonpath *jp = xcalloc(1, sizeof(*jp));
        jp->root = root;
        collect_literals(jp, root);
        *ret = jp;
        return 0;
}

/* ---- evaluation (jsonpath.go) ---- */

struct eval {
        bool allow_missing;
        int begin_range, in_range, end_range;
        struct jp_node *const *last_end; /* the {end} that closed the last range */
        struct kstatus_error *err;
};

static int eerr(struct eval *e, const char *fmt, ...) _printf_(2, 3);
static int eerr(struct eval *e, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        kstatus_error_setv(e->err, EINVAL, 0, 0, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* Go's name of a value's type, for "x is not array or slice". */
static const char *go_type(const json_t *v) {
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return "map[string]interface {}";
        case JSON_STRING:
                return "string";
        case JSON_INTEGER:
                return "int64";
        case JSON_REAL:
                return "float64";
        default:
                return "bool";
        }
}

static int cmp_key(const void *a, const void *b) {
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The members of a map in key order, the elements of a list, the bytes of a string. */
static void children(const json_t *v, json_t *out) {
        if (json_is_object(v)) {
                size_t n = json_object_size(v), i = 0;
                _cleanup_free_ const char **keys = xcalloc(n + 1, sizeof(char *));
                const char *k;
                json_t *x;
                json_object_foreach((json_t *)v, k, x) keys[i++] = k;
                qsort(keys, n, sizeof(char *), cmp_key);
                for (i = 0; i < n; i++)
                        json_array_append(out, json_object_get(v, keys[i]));
        } else if (json_is_array(v)) {
                json_array_extend(out, (json_t *)v);
        } else if (json_is_string(v)) {
                const unsigned char *s = (const unsigned char *)json_string_value(v);
                for (size_t i = 0; i < json_string_length(v); i++)
                        json_array_append_new(out, json_integer(s[i]));
        }
}

static int walk(struct eval *e, const json_t *in, const struct jp_node *node, json_t **ret);

static int eval_list(struct eval *e, const json_t *in, const struct jp_node *list, json_t **ret) {
        json_t *cur = json_incref((json_t *)in);
        for (size_t i = 0; i < list->n; i++) {
                json_t *nxt = NULL;
                int r = walk(e, cur, list->nodes[i], &nxt);
                json_decref(cur);
                if (r < 0)
                        return r;
                cur = nxt;
        }
        *ret = cur;
        return 0;
}

static int eval_field(struct eval *e, const json_t *in, const struct jp_node *node, json_t *out) {
        if (json_array_size(in) == 0)
                return 0;
        size_t i;
        json_t *v;
        json_array_foreach(in, i, v) {
                json_t *x = json_is_object(v) ? json_object_get(v, node->text) : NULL;
                if (x)
                        json_array_append(out, x);
        }
        if (json_array_size(out) == 0 && !e->allow_missing)
                return eerr(e, "%s is not found", node->text);
        return 0;
}

/* Resolve a slice's bounds on a list of len elements, as evalArray does:
 * 1 to take p[0]..p[1] by *step, 0 when nothing is asked for, <0 an error. */
static int slice_bounds(struct eval *e, struct jp_param p[3], int64_t len, int64_t *step) {
        if (!p[0].known)
                p[0].value = 0;
        if (p[0].value < 0)
                p[0].value += len;
        if (!p[1].known)
                p[1].value = len;
        if (p[1].value < 0 || (p[1].value == 0 && p[1].derived))
                p[1].value += len;
        if (p[1].value == p[0].value)
                return 0; /* zero elements asked for: Go returns what it has so far */
        if (p[0].value >= len || p[0].value < 0)
                return eerr(e, "array index out of bounds: index %" PRId64 ", length %" PRId64, p[0].value, len);
        if (p[1].value > len || p[1].value < 0)
                return eerr(e, "array index out of bounds: index %" PRId64 ", length %" PRId64, p[1].value - 1, len);
        if (p[0].value > p[1].value)
                return eerr(e, "starting index %" PRId64 " is greater than ending index %" PRId64, p[0].value,
                            p[1].value);
        *step = 1;
        if (p[2].known) {
                if (p[2].value <= 0)
                        return eerr(e, "step must be > 0");
                *step = p[2].value;
        }
        return 1;
}

static int eval_array(struct eval *e, const json_t *in, const struct jp_node *node, json_t *out) {
        size_t i;
        json_t *v;
        json_array_foreach(in, i, v) {
                if (json_is_null(v))
                        continue;
                if (!json_is_array(v))
                        return eerr(e, "%s is not array or slice", go_type(v));
                struct jp_param p[3] = { node->params[0], node->params[1], node->params[2] };
                int64_t step;
                int r = slice_bounds(e, p, (int64_t)json_array_size(v), &step);
                if (r <= 0)
                        return r;
                for (int64_t k = p[0].value; k < p[1].value; k += step) {
                        json_array_append(out, json_array_get(v, (size_t)k));
                        if (p[1].value - k <= step)
                                break;
                }
        }
        return 0;
}

static int eval_union(struct eval *e, const json_t *in, const struct jp_node *node, json_t *out) {
        for (size_t i = 0; i < node->n; i++) {
                json_t *part;
                int r = eval_list(e, in, node->nodes[i], &part);
                if (r < 0)
                        return r;
                json_array_extend(out, part);
                json_decref(part);
        }
        return 0;
}

static void eval_recursive(const json_t *in, json_t *out) {
        size_t i;
        json_t *v;
        json_array_foreach(in, i, v) {
                _cleanup_json_ json_t *kids = json_array();
                children(v, kids);
                if (json_array_size(kids)) {
                        json_array_append(out, v);
                        eval_recursive(kids, out);
                }
        }
}

enum kind { K_INVALID, K_BOOL, K_INT, K_FLOAT, K_STRING };

static enum kind basic_kind(const json_t *v) {
        return json_is_boolean(v) ? K_BOOL : json_is_integer(v) ? K_INT : json_is_real(v) ? K_FLOAT
                                           : json_is_string(v)  ? K_STRING : K_INVALID;
}

/* text/template's lt and eq on two basic values: <0, 0, >0 in *ret (less
 * only for ordered kinds), or the error text. */
static const char *compare(const json_t *a, const json_t *b, bool want_order, int *ret) {
        enum kind ka = basic_kind(a), kb = basic_kind(b);
        if (ka == K_INVALID || kb == K_INVALID)
                return "invalid type for comparison";
        if (ka != kb)
                return "incompatible types for comparison";
        switch (ka) {
        case K_BOOL:
                if (want_order)
                        return "invalid type for comparison";
                *ret = json_is_true(a) != json_is_true(b);
                return NULL;
        case K_INT:
                *ret = json_integer_value(a) < json_integer_value(b) ? -1 : json_integer_value(a) > json_integer_value(b);
                return NULL;
        case K_FLOAT:
                *ret = json_real_value(a) < json_real_value(b) ? -1 : json_real_value(a) == json_real_value(b) ? 0 : 1;
                return NULL;
        default: {
                size_t la = json_string_length(a), lb = json_string_length(b);
                int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
                *ret = c ? c : la < lb ? -1 : la > lb;
                return NULL;
        }
        }
}

/* The operator's verdict on left OP right; false with *error set on a bad comparison. */
static bool apply_op(const char *op, const json_t *l, const json_t *r, const char **error) {
        int c = 0;
        bool eq = strcmp(op, "==") == 0 || strcmp(op, "!=") == 0;
        if (!eq && strcmp(op, "<") && strcmp(op, ">") && strcmp(op, "<=") && strcmp(op, ">=")) {
                *error = "unrecognized filter operator";
                return false;
        }
        *error = compare(l, r, !eq, &c);
        if (*error)
                return false;
        return strcmp(op, "==") == 0   ? c == 0
               : strcmp(op, "!=") == 0 ? c != 0
               : strcmp(op, "<") == 0  ? c < 0
               : strcmp(op, ">") == 0  ? c > 0
               : strcmp(op, "<=") == 0 ? c <= 0
                                       : c >= 0;
}

/* Evaluate one side of a filter on one element: the value, or NULL (none). */
static int filter_side(struct eval *e, const json_t *elem, const struct jp_node *side, json_t **ret) {
        _cleanup_json_ json_t *in = json_pack("[O]", elem);
        _cleanup_json_ json_t *got = NULL;
        int r = eval_list(e, in, side, &got);
        if (r < 0)
                return r;
        if (json_array_size(got) > 1)
                return eerr(e, "can only compare one element at a time");
        *ret = json_incref(json_array_get(got, 0));
        return 0;
}

static int eval_filter(struct eval *e, const json_t *in, const struct jp_node *node, json_t *out) {
        size_t i, k;
        json_t *v, *elem;
        json_array_foreach(in, i, v) {
                if (!json_is_array(v)) {
                        _cleanup_free_ char *s = jsonpath_sprint(v);
                        return eerr(e, "%s is not array or slice and cannot be filtered", s);
                }
                json_array_foreach(v, k, elem) {
                        if (strcmp(node->text, "exists") == 0) {
                                _cleanup_json_ json_t *in1 = json_pack("[O]", elem), *got = NULL;
                                if (eval_list(e, in1, node->nodes[0], &got) == 0 && json_array_size(got))
                                        json_array_append(out, elem);
                                continue;
                        }
                        _cleanup_json_ json_t *l = NULL, *r = NULL;
                        int rc = filter_side(e, elem, node->nodes[0], &l);
                        if (rc == 0 && l)
                                rc = filter_side(e, elem, node->nodes[1], &r);
                        if (rc < 0)
                                return rc;
                        if (!l || !r)
                                continue;
                        const char *error = NULL;
                        bool pass = apply_op(node->text, l, r, &error);
                        if (error && strcmp(error, "unrecognized filter operator") == 0)
                                return eerr(e, "%s %s", error, node->text);
                        if (error)
                                return eerr(e, "%s", error);
                        if (pass)
                                json_array_append(out, elem);
                }
        }
        return 0;
}

static int eval_identifier(struct eval *e, const json_t *in, const struct jp_node *node, json_t *out) {
        if (strcmp(node->text, "range") == 0) {
                e->begin_range++;
                json_array_extend(out, (json_t *)in);
                return 0;
        }
        if (strcmp(node->text, "end") == 0) {
                if (e->in_range <= 0)
                        return eerr(e, "not in range, nothing to end");
                e->end_range++;
                return 0;
        }
        return eerr(e, "unrecognized identifier %s", node->text);
}

static int walk(struct eval *e, const json_t *in, const struct jp_node *node, json_t **ret) {
        if (node->kind == JP_LIST)
                return eval_list(e, in, node, ret);
        json_t *out = json_array();
        int r = 0;
        switch (node->kind) {
        case JP_TEXT:
                json_array_append(out, node->constant);
                break;
        case JP_INT:
        case JP_FLOAT:
        case JP_BOOL:
                for (size_t i = 0; i < json_array_size(in); i++)
                        json_array_append(out, node->constant);
                break;
        case JP_FIELD:
                r = eval_field(e, in, node, out);
                break;
        case JP_ARRAY:
                r = eval_array(e, in, node, out);
                break;
        case JP_FILTER:
                r = eval_filter(e, in, node, out);
                break;
        case JP_WILDCARD: {
                size_t i;
                json_t *v;
                json_array_foreach(in, i, v) children(v, out);
                break;
        }
        case JP_RECURSIVE:
                eval_recursive(in, out);
                break;
        case JP_UNION:
                r = eval_union(e, in, node, out);
                break;
        default:
                r = eval_identifier(e, in, node, out);
        }
        if (r < 0) {
                json_decref(out);
                return r;
        }
        *ret = out;
        return 0;
}

/* FindResults over nodes[0..n): appends one array per piece to full. */
static int find_results(struct eval *e, const json_t *data, struct jp_node *const *nodes, size_t n, json_t *full) {
        _cleanup_json_ json_t *cur = json_pack("[O]", data);
        for (size_t i = 0; i < n; i++) {
                _cleanup_json_ json_t *results = NULL;
                int r = walk(e, cur, nodes[i], &results);
                if (r < 0)
                        return r;
                if (e->end_range > 0 && e->end_range <= e->in_range) {
                        e->end_range--;
                        e->last_end = &nodes[i];
                        break;
                }
                if (e->begin_range == 0) {
                        json_array_append(full, results);
                        continue;
                }
                e->begin_range--;
                e->in_range++;
                size_t k;
                json_t *v;
                json_array_foreach(results, k, v) if ((r = find_results(e, v, nodes + i + 1, n - i - 1, full)) < 0) return r;
                if (json_array_size(results) == 0) {
                        _cleanup_json_ json_t *discard = json_array();
                        if ((r = find_results(e, json_null(), nodes + i + 1, n - i - 1, discard)) < 0)
                                return r;
                }
                e->in_range--;
                for (k = i + 1; k < n; k++)
                        if (&nodes[k] == e->last_end) {
                                i = k;
                                break;
                        }
        }
        return 0;
}

int jsonpath_find(const struct jsonpath *jp, const json_t *data, bool allow_missing, json_t **ret,
                  struct kstatus_error *err) {
        struct eval e = { .allow_missing = allow_missing, .err = err };
        json_t *full = json_array();
        int r = find_results(&e, data ? data : json_null(), jp->root->nodes, jp->root->n, full);
        if (r < 0) {
                json_decref(full);
                return r;
        }
        *ret = full;
        return 0;
}

static void put_str(struct kstatus_buf *b, const char *s) {
        kstatus_buf_put(b, s, strlen(s));
}

static bool is_literal(const struct jsonpath *jp, const json_t *v) {
        for (size_t i = 0; i < jp->n_literals; i++)
                if (jp->literals[i] == v)
                        return true;
        return false;
}

/* fmt.Fprint of a scalar; maps and lists go through json.Marshal instead. */
static void put_scalar(struct kstatus_buf *b, const json_t *v) {
        char num[64];
        switch (json_typeof(v)) {
        case JSON_STRING:
                kstatus_buf_put(b, json_string_value(v), json_string_length(v));
                return;
        case JSON_INTEGER:
                snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                put_str(b, num);
                return;
        case JSON_REAL:
                kstatus_go_float(json_real_value(v), num, sizeof(num));
                put_str(b, num);
                return;
        case JSON_TRUE:
        case JSON_FALSE:
                put_str(b, json_is_true(v) ? "true" : "false");
                return;
        default:
                put_str(b, "null");
        }
}

int jsonpath_execute(const struct jsonpath *jp, const json_t *data, bool allow_missing, bool as_json, bool escape,
                     struct kstatus_buf *out, struct kstatus_error *err) {
        _cleanup_json_ json_t *full = NULL;
        int r = jsonpath_find(jp, data, allow_missing, &full, err);
        if (r < 0)
                return r;
        kstatus_buf_put(out, "", 0);
        size_t i, k;
        json_t *results, *v;
        json_array_foreach(full, i, results) {
                if (as_json) {
                        _cleanup_free_ char *text = kstatus_json_dump(results, false);
                        put_str(out, text);
                        continue;
                }
                json_array_foreach(results, k, v) {
                        if (json_is_object(v) || json_is_array(v)) {
                                _cleanup_free_ char *text = kstatus_json_dump(v, true);
                                kstatus_buf_put(out, text, strlen(text) - 1); /* without its "\n" */
                        } else if (escape && json_is_string(v) && !is_literal(jp, v)) {
                                _cleanup_free_ char *safe = kstatus_escape_terminal(json_string_value(v));
                                put_str(out, safe);
                        } else
                                put_scalar(out, v);
                        if (k + 1 < json_array_size(results))
                                put_str(out, " ");
                }
        }
        return 0;
}

static void sprint(struct kstatus_buf *b, const json_t *v) {
        if (json_is_null(v)) {
                put_str(b, "<nil>");
        } else if (json_is_array(v)) {
                put_str(b, "[");
                for (size_t i = 0; i < json_array_size(v); i++) {
                        if (i)
                                put_str(b, " ");
                        sprint(b, json_array_get(v, i));
                }
                put_str(b, "]");
        } else if (json_is_object(v)) {
                _cleanup_json_ json_t *vals = json_array();
                children(v, vals);
                size_t n = json_object_size(v), i = 0;
                _cleanup_free_ const char **keys = xcalloc(n + 1, sizeof(char *));
                const char *k;
                json_t *x;
                json_object_foreach((json_t *)v, k, x) keys[i++] = k;
                qsort(keys, n, sizeof(char *), cmp_key);
                put_str(b, "map[");
                for (i = 0; i < n; i++) {
                        if (i)
                                put_str(b, " ");
                        put_str(b, keys[i]);
                        put_str(b, ":");
                        sprint(b, json_array_get(vals, i));
                }
                put_str(b, "]");
        } else
                put_scalar(b, v);
}

char *jsonpath_sprint(const json_t *v) {
        struct kstatus_buf b = { 0 };
        kstatus_buf_put(&b, "", 0);
        sprint(&b, v);
        return b.data;
}

int jsonpath_relaxed(const char *expr, char **ret, struct kstatus_error *err) {
        /* ^\{\.?([^{}]+)\}$|^\.?([^{}]+)$ */
        size_t n = strlen(expr);
        if (n == 0) {
                *ret = xstrdup("");
                return 0;
        }
        const char *b = expr, *e = expr + n;
        if (n >= 2 && b[0] == '{' && e[-1] == '}') {
                b++;
                e--;
        }
        if (b < e && *b == '.')
                b++;
        bool ok = b < e;
        for (const char *p = b; p < e; p++)
                ok &= *p != '{' && *p != '}';
        if (!ok)
                return kstatus_error_set(err, EINVAL, 0, 0,
                                         "unexpected path string, expected a 'name1.name2' or '.name1.name2' or "
                                         "'{name1.name2}' or '{.name1.name2}'");
        *ret = xasprintf("{.%.*s}", (int)(e - b), b);
        return 0;
}
