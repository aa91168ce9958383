/* gotemplate.c - a subset of Go's text/template (see gotemplate.h): a
 * recursive-descent parser to a small tree, and an evaluator over jansson
 * values with Go's truth, comparison and printing rules. */
#include "gotemplate.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "jsonpath.h"
#include "yaml-json.h"

enum arg_kind { A_DOT, A_FIELD, A_VAR, A_CONST, A_NIL, A_FUNC, A_PIPE };

struct pipe;

struct arg {
        enum arg_kind kind;
        char *name;          /* A_VAR: "$x"; A_FUNC: the function */
        char **fields;       /* .a.b after the operand */
        size_t n_fields;
        json_t *constant;    /* A_CONST */
        struct pipe *pipe;   /* A_PIPE */
};

struct cmd {
        struct arg *args;
        size_t n;
};

struct pipe {
        char *vars[2];
        size_t n_vars;
        bool assign; /* "=" rather than ":=" */
        struct cmd *cmds;
        size_t n;
};

enum node_kind { N_TEXT, N_ACTION, N_IF, N_RANGE, N_WITH };

struct node;
struct list {
        struct node **nodes;
        size_t n;
};

struct node {
        enum node_kind kind;
        char *text;
        struct pipe *pipe;
        struct list body, otherwise;
};

struct gotemplate {
        struct list root;
};

/* ---- freeing ---- */

static void pipe_free(struct pipe *p);

static void list_free(struct list *l) {
        for (size_t i = 0; i < l->n; i++) {
                struct node *n = l->nodes[i];
                free(n->text);
                pipe_free(n->pipe);
                list_free(&n->body);
                list_free(&n->otherwise);
                free(n);
        }
        free(l->nodes);
}

static void pipe_free(struct pipe *p) {
        if (!p)
                return;
        for (size_t c = 0; c < p->n; c++) {
                for (size_t a = 0; a < p->cmds[c].n; a++) {
                        struct arg *x = &p->cmds[c].args[a];
                        free(x->name);
                        for (size_t f = 0; f < x->n_fields; f++)
                                free(x->fields[f]);
                        free(x->fields);
                        json_decref(x->constant);
                        pipe_free(x->pipe);
                }
                free(p->cmds[c].args);
        }
        free(p->cmds);
        free(p->vars[0]);
        free(p->vars[1]);
        free(p);
}

void gotemplate_free(struct gotemplate *t) {
        if (!t)
                return;
        list_free(&t->root);
        free(t);
}

/* ---- parser ---- */

struct parser {
        const char *s;
        size_t pos;
        unsigned depth;
        bool trim_next; /* the last action ended with " -}}" */
        struct kstatus_error *err;
};

static int line_of(const struct parser *p) {
        int line = 1;
        for (size_t i = 0; i < p->pos && p->s[i]; i++)
                line += p->s[i] == '\n';
        return line;
}

static int perr(struct parser *p, const char *fmt, ...) _printf_(2, 3);
static int perr(struct parser *p, const char *fmt, ...) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return kstatus_error_set(p->err, EINVAL, 0, 0, "template: output:%d: %s", line_of(p), msg);
}

static void skip_space(struct parser *p) {
        while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' || p->s[p->pos] == '\r')
                p->pos++;
}

/* At the end of an action: "}}" or " -}}" (trims the text after). */
static bool at_close(struct parser *p) {
        skip_space(p);
        return strncmp(p->s + p->pos, "}}", 2) == 0 ||
               (strncmp(p->s + p->pos, "-}}", 3) == 0 && p->pos > 0 && isspace((unsigned char)p->s[p->pos - 1]));
}

static int expect_close(struct parser *p) {
        if (!at_close(p))
                return perr(p, "unexpected \"%c\" in command", p->s[p->pos] ? p->s[p->pos] : ' ');
        p->trim_next = p->s[p->pos] == '-';
        p->pos += p->trim_next ? 3 : 2;
        return 0;
}

static bool ident_char(char c) {
        return isalnum((unsigned char)c) || c == '_';
}

static char *ident(struct parser *p) {
        size_t b = p->pos;
        while (ident_char(p->s[p->pos]))
                p->pos++;
        return xstrndup(p->s + b, p->pos - b);
}

/* .a.b.c after an operand. */
static void fields(struct parser *p, struct arg *a) {
        while (p->s[p->pos] == '.' && ident_char(p->s[p->pos + 1])) {
                p->pos++;
                a->fields = xrealloc(a->fields, (a->n_fields + 1) * sizeof(char *));
                a->fields[a->n_fields++] = ident(p);
        }
}

static int string_literal(struct parser *p, struct arg *a) {
        char q = p->s[p->pos++];
        struct kstatus_buf b = { 0 };
        kstatus_buf_put(&b, "", 0);
        for (;;) {
                char c = p->s[p->pos++];
                if (!c || (c == '\n' && q == '"')) {
                        free(b.data);
                        return perr(p, "unterminated quoted string");
                }
                if (c == q)
                        break;
                if (c == '\\' && q == '"') {
                        char e = p->s[p->pos++];
                        const char *m = strchr("n\nt\tr\r\\\\\"\"", e);
                        if (!e || !m || (m - "n\nt\tr\r\\\\\"\"") % 2) {
                                free(b.data);
                                return perr(p, "invalid syntax");
                        }
                        c = m[1];
                }
                kstatus_buf_put(&b, &c, 1);
        }
        a->kind = A_CONST;
        a->constant = json_stringn_nocheck(b.data, b.len);
        free(b.data);
        return 0;
}

static int number_literal(struct parser *p, struct arg *a) {
        size_t b = p->pos;
        if (p->s[p->pos] == '-' || p->s[p->pos] == '+')
                p->pos++;
        while (isalnum((unsigned char)p->s[p->pos]) || p->s[p->pos] == '.' ||
               ((p->s[p->pos] == '-' || p->s[p->pos] == '+') && tolower((unsigned char)p->s[p->pos - 1]) == 'e'))
                p->pos++;
        _cleanup_free_ char *text = xstrndup(p->s + b, p->pos - b);
        int64_t i;
        char *end;
        a->kind = A_CONST;
        if (parse_int64(text, INT64_MIN, INT64_MAX, &i) == 0) {
                a->constant = json_integer(i);
                return 0;
        }
        double d = strtod(text, &end);
        if (*end || !isfinite(d))
                return perr(p, "bad number syntax: \"%s\"", text);
        a->constant = json_real(d);
        return 0;
}

static const char *const functions[] = { "index", "len",   "not",   "and",     "or",           "eq", "ne",
                                         "lt",    "le",    "gt",    "ge",      "print",        "printf",
                                         "println", "base64decode" };

static int parse_pipe(struct parser *p, struct pipe **ret, bool in_parens);

static int operand(struct parser *p, struct arg *a) {
        char c = p->s[p->pos];
        if (c == '.') {
                a->kind = ident_char(p->s[p->pos + 1]) ? A_FIELD : A_DOT;
                if (a->kind == A_DOT)
                        p->pos++;
        } else if (c == '$') {
                p->pos++;
                _cleanup_free_ char *name = ident(p);
                a->kind = A_VAR;
                a->name = xasprintf("$%s", name);
        } else if (c == '"' || c == '`') {
                return string_literal(p, a);
        } else if (isdigit((unsigned char)c) || ((c == '-' || c == '+') && isdigit((unsigned char)p->s[p->pos + 1]))) {
                return number_literal(p, a);
        } else if (c == '(') {
                p->pos++;
                a->kind = A_PIPE;
                int r = parse_pipe(p, &a->pipe, true);
                if (r < 0)
                        return r;
                p->pos++; /* ")" */
        } else if (ident_char(c)) {
                char *name = ident(p);
                if (strcmp(name, "true") == 0 || strcmp(name, "false") == 0) {
                        a->kind = A_CONST;
                        a->constant = json_boolean(name[0] == 't');
                        free(name);
                        return 0;
                }
                a->kind = strcmp(name, "nil") == 0 ? A_NIL : A_FUNC;
                bool known = a->kind == A_NIL;
                for (size_t i = 0; i < ELEMENTSOF(functions); i++)
                        known |= strcmp(name, functions[i]) == 0;
                a->name = name;
                if (!known)
                        return perr(p, "function \"%s\" not defined", name);
                return 0;
        } else if (!c) {
                return perr(p, "unexpected EOF");
        } else
                return perr(p, "bad character U+%04X '%c'", (unsigned char)c, c);
        fields(p, a);
        return 0;
}

/* $x := / $x = / $i, $e := at the start of a pipeline. */
static void declarations(struct parser *p, struct pipe *pp) {
        size_t save = p->pos;
        char *vars[2] = { 0 };
        size_t n = 0;
        while (n < 2 && p->s[p->pos] == '$') {
                p->pos++;
                _cleanup_free_ char *name = ident(p);
                vars[n++] = xasprintf("$%s", name);
                skip_space(p);
                if (p->s[p->pos] != ',')
                        break;
                p->pos++;
                skip_space(p);
        }
        bool decl = n && strncmp(p->s + p->pos, ":=", 2) == 0, assign = n == 1 && p->s[p->pos] == '=' &&
                                                                           p->s[p->pos + 1] != '=';
        if (!decl && !assign) {
                free(vars[0]);
                free(vars[1]);
                p->pos = save;
                return;
        }
        p->pos += decl ? 2 : 1;
        pp->vars[0] = vars[0];
        pp->vars[1] = vars[1];
        pp->n_vars = n;
        pp->assign = assign;
}

static bool at_pipe_end(struct parser *p, bool in_parens) {
        skip_space(p);
        return in_parens ? p->s[p->pos] == ')' : at_close(p);
}

/* One command: operands up to "|", the action's end or ")". */
static int parse_cmd(struct parser *p, struct cmd *c, bool in_parens) {
        for (;;) {
                if (at_pipe_end(p, in_parens) || p->s[p->pos] == '|')
                        break;
                if (!p->s[p->pos])
                        return perr(p, "unexpected EOF");
                c->args = xrealloc(c->args, (c->n + 1) * sizeof(struct arg));
                c->args[c->n] = (struct arg){ 0 };
                int r = operand(p, &c->args[c->n++]);
                if (r < 0)
                        return r;
        }
        return c->n ? 0 : perr(p, "missing value for command");
}

static int parse_pipe(struct parser *p, struct pipe **ret, bool in_parens) {
        if (++p->depth > GOTEMPLATE_MAX_NESTING)
                return perr(p, "nested deeper than %u", GOTEMPLATE_MAX_NESTING);
        struct pipe *pp = xcalloc(1, sizeof(*pp));
        skip_space(p);
        declarations(p, pp);
        int r;
        for (;;) {
                pp->cmds = xrealloc(pp->cmds, (pp->n + 1) * sizeof(struct cmd));
                pp->cmds[pp->n] = (struct cmd){ 0 };
                r = parse_cmd(p, &pp->cmds[pp->n++], in_parens);
                if (r < 0 || p->s[p->pos] != '|')
                        break;
                p->pos++;
        }
        p->depth--;
        if (r < 0) {
                pipe_free(pp);
                return r;
        }
        *ret = pp;
        return 0;
}

enum term { T_EOF, T_END, T_ELSE, T_ELSE_IF, T_ELSE_WITH };

static bool keyword(struct parser *p, const char *kw) {
        size_t n = strlen(kw);
        if (strncmp(p->s + p->pos, kw, n) != 0 || ident_char(p->s[p->pos + n]))
                return false;
        p->pos += n;
        return true;
}

static struct node *add_node(struct list *l, enum node_kind kind) {
        struct node *n = xcalloc(1, sizeof(*n));
        n->kind = kind;
        l->nodes = xrealloc(l->nodes, (l->n + 1) * sizeof(*l->nodes));
        l->nodes[l->n++] = n;
        return n;
}

static int parse_list(struct parser *p, struct list *l, enum term *term);

/* The rest of {{if|range|with PIPE}} BODY [{{else}} BODY] {{end}}, the
 * keyword read; {{else if}} and {{else with}} nest a node that shares the {{end}}. */
static int parse_control(struct parser *p, struct list *l, enum node_kind kind) {
        if (++p->depth > GOTEMPLATE_MAX_NESTING)
                return perr(p, "nested deeper than %u", GOTEMPLATE_MAX_NESTING);
        struct node *n = add_node(l, kind);
        enum term t;
        int r = parse_pipe(p, &n->pipe, false);
        if (r == 0)
                r = expect_close(p);
        if (r == 0)
                r = parse_list(p, &n->body, &t);
        if (r == 0 && (t == T_ELSE_IF || t == T_ELSE_WITH))
                r = parse_control(p, &n->otherwise, t == T_ELSE_IF ? N_IF : N_WITH);
        else if (r == 0 && t == T_ELSE) {
                r = parse_list(p, &n->otherwise, &t);
                if (r == 0 && t != T_END)
                        r = perr(p, t == T_EOF ? "unexpected EOF" : "expected end; found {{else}}");
        } else if (r == 0 && t != T_END)
                r = perr(p, "unexpected EOF");
        p->depth--;
        return r;
}

/* Text up to the next action, trimmed as the markers ask. */
static void text_node(struct parser *p, struct list *l, const char *brace) {
        size_t b = p->pos, e = brace ? (size_t)(brace - p->s) : strlen(p->s);
        if (p->trim_next)
                while (b < e && isspace((unsigned char)p->s[b]))
                        b++;
        if (brace && brace[2] == '-' && isspace((unsigned char)brace[3]))
                while (e > b && isspace((unsigned char)p->s[e - 1]))
                        e--;
        p->trim_next = false;
        if (e > b)
                add_node(l, N_TEXT)->text = xstrndup(p->s + b, e - b);
        p->pos = brace ? (size_t)(brace - p->s) + 2 : strlen(p->s);
        if (brace && brace[2] == '-' && isspace((unsigned char)brace[3]))
                p->pos++;
}

/* One action after "{{": 1 when it ended the list (*term set), 0 to go on. */
static int action(struct parser *p, struct list *l, enum term *term) {
        skip_space(p);
        if (strncmp(p->s + p->pos, "/*", 2) == 0) {
                const char *end = strstr(p->s + p->pos + 2, "*/");
                if (!end)
                        return perr(p, "unclosed comment");
                p->pos = (size_t)(end - p->s) + 2;
                return expect_close(p);
        }
        if (keyword(p, "end")) {
                *term = T_END;
                return expect_close(p) < 0 ? -EINVAL : 1;
        }
        if (keyword(p, "else")) {
                skip_space(p);
                *term = keyword(p, "if") ? T_ELSE_IF : keyword(p, "with") ? T_ELSE_WITH : T_ELSE;
                if (*term == T_ELSE && expect_close(p) < 0)
                        return -EINVAL;
                return 1;
        }
        if (keyword(p, "if"))
                return parse_control(p, l, N_IF);
        if (keyword(p, "range"))
                return parse_control(p, l, N_RANGE);
        if (keyword(p, "with"))
                return parse_control(p, l, N_WITH);
        struct node *n = add_node(l, N_ACTION);
        int r = parse_pipe(p, &n->pipe, false);
        return r < 0 ? r : expect_close(p);
}

static int parse_list(struct parser *p, struct list *l, enum term *term) {
        for (;;) {
                const char *brace = strstr(p->s + p->pos, "{{");
                text_node(p, l, brace);
                if (!brace) {
                        *term = T_EOF;
                        return 0;
                }
                int r = action(p, l, term);
                if (r < 0)
                        return r;
                if (r > 0)
                        return 0;
        }
}

int gotemplate_parse(const char *text, struct gotemplate **ret, struct kstatus_error *err) {
        if (strlen(text) > GOTEMPLATE_MAX_TEXT)
                return kstatus_error_set(err, EINVAL, 0, 0, "template longer than %u bytes", GOTEMPLATE_MAX_TEXT);
        struct parser p = { .s = text, .err = err };
        struct gotemplate *t = xcalloc(1, sizeof(*t));
        enum term term;
        int r = parse_list(&p, &t->root, &term);
        if (r == 0 && term != T_EOF)
                r = perr(&p, "unexpected {{%s}}", term == T_END ? "end" : "else");
        if (r < 0) {
                gotemplate_free(t);
                return r;
        }
        *ret = t;
        return 0;
}

/* ---- evaluation ---- */

struct var {
        char *name;
        json_t *value; /* NULL: no value */
};

struct exec {
        struct var *vars;
        size_t n;
        struct kstatus_buf *out;
        struct kstatus_error *err;
};

static int xerr(struct exec *x, const char *fmt, ...) _printf_(2, 3);
static int xerr(struct exec *x, const char *fmt, ...) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return kstatus_error_set(x->err, EINVAL, 0, 0, "template: output: %s", msg);
}

static void push_var(struct exec *x, const char *name, json_t *value) {
        x->vars = xrealloc(x->vars, (x->n + 1) * sizeof(*x->vars));
        x->vars[x->n++] = (struct var){ .name = xstrdup(name), .value = value };
}

static void pop_vars(struct exec *x, size_t mark) {
        while (x->n > mark) {
                x->n--;
                free(x->vars[x->n].name);
                json_decref(x->vars[x->n].value);
        }
}

static const char *go_type(const json_t *v) {
        return json_is_object(v) ? "map[string]interface {}" : json_is_array(v) ? "[]interface {}"
               : json_is_string(v) ? "string" : json_is_integer(v) ? "int" : json_is_real(v) ? "float64"
               : json_is_boolean(v) ? "bool" : "interface {}";
}

static bool truth(const json_t *v) {
        switch (v ? json_typeof(v) : JSON_NULL) {
        case JSON_TRUE:
                return true;
        case JSON_INTEGER:
                return json_integer_value(v) != 0;
        case JSON_REAL:
                return json_real_value(v) != 0;
        case JSON_STRING:
                return json_string_length(v) > 0;
        case JSON_ARRAY:
                return json_array_size(v) > 0;
        case JSON_OBJECT:
                return json_object_size(v) > 0;
        default:
                return false;
        }
}

/* .a.b on v (v's reference taken over); *ret NULL when a key is missing. */
static int apply_fields(struct exec *x, json_t *v, char *const *fields, size_t n, json_t **ret) {
        for (size_t i = 0; i < n && v; i++) {
                if (json_is_null(v)) {
                        json_decref(v);
                        return xerr(x, "nil pointer evaluating interface {}.%s", fields[i]);
                }
                if (!json_is_object(v)) {
                        int r = xerr(x, "can't evaluate field %s in type %s", fields[i], go_type(v));
                        json_decref(v);
                        return r;
                }
                json_t *next = json_incref(json_object_get(v, fields[i]));
                json_decref(v);
                v = next;
        }
        *ret = v;
        return 0;
}

static int eval_pipe(struct exec *x, const struct pipe *pp, const json_t *dot, json_t **ret);
static int call(struct exec *x, const char *name, json_t **args, size_t n, json_t **ret);

static int eval_arg(struct exec *x, const struct arg *a, const json_t *dot, json_t **ret) {
        json_t *v = NULL;
        int r = 0;
        switch (a->kind) {
        case A_DOT:
        case A_FIELD:
                v = json_incref((json_t *)dot);
                break;
        case A_VAR: {
                size_t i = x->n;
                while (i > 0 && strcmp(x->vars[i - 1].name, a->name) != 0)
                        i--;
                if (i == 0)
                        return xerr(x, "undefined variable: %s", a->name);
                v = json_incref(x->vars[i - 1].value);
                break;
        }
        case A_CONST:
                v = json_incref(a->constant);
                break;
        case A_NIL:
                v = json_null();
                break;
        case A_PIPE:
                r = eval_pipe(x, a->pipe, dot, &v);
                break;
        case A_FUNC:
                r = call(x, a->name, NULL, 0, &v);
                break;
        }
        if (r < 0)
                return r;
        return apply_fields(x, v, a->fields, a->n_fields, ret);
}

static int eval_cmd(struct exec *x, const struct cmd *c, const json_t *dot, json_t *final, bool has_final,
                    json_t **ret) {
        const struct arg *first = &c->args[0];
        if (first->kind != A_FUNC) {
                if (c->n > 1 || has_final)
                        return xerr(x, "can't give argument to non-function %s",
                                    first->kind == A_FIELD ? first->fields[0] : first->name ? first->name : ".");
                if (first->kind == A_NIL)
                        return xerr(x, "nil is not a command");
                return eval_arg(x, first, dot, ret);
        }
        size_t n = c->n - 1 + has_final;
        json_t **args = xcalloc(n + 1, sizeof(json_t *));
        int r = 0;
        for (size_t i = 1; i < c->n && r == 0; i++)
                r = eval_arg(x, &c->args[i], dot, &args[i - 1]);
        if (has_final)
                args[n - 1] = json_incref(final);
        if (r == 0)
                r = call(x, first->name, args, n, ret);
        for (size_t i = 0; i < n; i++)
                json_decref(args[i]);
        free(args);
        return r;
}

static void set_var(struct exec *x, const char *name, json_t *value, bool assign) {
        for (size_t i = x->n; assign && i > 0; i--)
                if (strcmp(x->vars[i - 1].name, name) == 0) {
                        json_decref(x->vars[i - 1].value);
                        x->vars[i - 1].value = value;
                        return;
                }
        push_var(x, name, value);
}

/* The pipeline's value, its variables not set (range sets them itself). */
static int pipe_value(struct exec *x, const struct pipe *pp, const json_t *dot, json_t **ret) {
        json_t *v = NULL;
        for (size_t i = 0; i < pp->n; i++) {
                json_t *next = NULL;
                int r = eval_cmd(x, &pp->cmds[i], dot, v, i > 0, &next);
                json_decref(v);
                if (r < 0)
                        return r;
                v = next;
        }
        *ret = v;
        return 0;
}

static int eval_pipe(struct exec *x, const struct pipe *pp, const json_t *dot, json_t **ret) {
        int r = pipe_value(x, pp, dot, ret);
        if (r == 0 && pp->n_vars == 1)
                set_var(x, pp->vars[0], json_incref(*ret), pp->assign);
        return r;
}

/* fmt.Print of one value: "<no value>" for none, maps and lists as Go prints them. */
static void print_value(struct kstatus_buf *b, const json_t *v) {
        if (!v) {
                kstatus_buf_put(b, "<no value>", 10);
                return;
        }
        _cleanup_free_ char *s = jsonpath_sprint(v);
        kstatus_buf_put(b, s, strlen(s));
}

enum kind { K_INVALID, K_BOOL, K_INT, K_FLOAT, K_STRING };

static enum kind basic_kind(const json_t *v) {
        return !v ? K_INVALID : json_is_boolean(v) ? K_BOOL : json_is_integer(v) ? K_INT : json_is_real(v) ? K_FLOAT
                                : json_is_string(v) ? K_STRING : K_INVALID;
}

/* text/template's eq and lt: -1, 0, 1 in *c, or an error message. */
static const char *compare(const json_t *a, const json_t *b, bool order, int *c) {
        enum kind ka = basic_kind(a), kb = basic_kind(b);
        if (ka == K_INVALID || kb == K_INVALID || (order && ka == K_BOOL))
                return "invalid type for comparison";
        if (ka != kb)
                return "incompatible types for comparison";
        if (ka == K_BOOL)
                *c = json_is_true(a) != json_is_true(b);
        else if (ka == K_INT)
                *c = (json_integer_value(a) > json_integer_value(b)) - (json_integer_value(a) < json_integer_value(b));
        else if (ka == K_FLOAT)
                *c = (json_real_value(a) > json_real_value(b)) - (json_real_value(a) < json_real_value(b));
        else {
                int k = strcmp(json_string_value(a), json_string_value(b));
                *c = (k > 0) - (k < 0);
        }
        return NULL;
}

static int fn_compare(struct exec *x, const char *name, json_t **args, size_t n, json_t **ret) {
        if (n < 2)
                return xerr(x, "error calling %s: missing argument for comparison", name);
        bool eq = strcmp(name, "eq") == 0, result = false;
        for (size_t i = 1; i < n && !result; i++) { /* eq: any of them; the others take two */
                int c = 0;
                const char *e = compare(args[0], args[i], !eq && strcmp(name, "ne") != 0, &c);
                if (e)
                        return xerr(x, "error calling %s: %s", name, e);
                result = strcmp(name, "eq") == 0   ? c == 0
                         : strcmp(name, "ne") == 0 ? c != 0
                         : strcmp(name, "lt") == 0 ? c < 0
                         : strcmp(name, "le") == 0 ? c <= 0
                         : strcmp(name, "gt") == 0 ? c > 0
                                                   : c >= 0;
                if (!eq)
                        break;
        }
        *ret = json_boolean(result);
        return 0;
}

static int fn_index(struct exec *x, json_t **args, size_t n, json_t **ret) {
        json_t *v = n ? json_incref(args[0]) : NULL;
        for (size_t i = 1; i < n; i++) {
                json_t *k = args[i], *next;
                if (!v || json_is_null(v)) {
                        json_decref(v);
                        return xerr(x, "error calling index: index of untyped nil");
                }
                if (json_is_object(v) && json_is_string(k))
                        next = json_incref(json_object_get(v, json_string_value(k)));
                else if (json_is_array(v) && json_is_integer(k)) {
                        json_int_t idx = json_integer_value(k);
                        if (idx < 0 || (size_t)idx >= json_array_size(v)) {
                                json_decref(v);
                                return xerr(x, "error calling index: index out of range: %lld", (long long)idx);
                        }
                        next = json_incref(json_array_get(v, (size_t)idx));
                } else {
                        int r = xerr(x, "error calling index: cannot index %s with %s", go_type(v), go_type(k));
                        json_decref(v);
                        return r;
                }
                json_decref(v);
                v = next;
        }
        *ret = v;
        return 0;
}

static int fn_len(struct exec *x, json_t **args, size_t n, json_t **ret) {
        json_t *v = n == 1 ? args[0] : NULL;
        if (json_is_string(v))
                *ret = json_integer((json_int_t)json_string_length(v));
        else if (json_is_array(v))
                *ret = json_integer((json_int_t)json_array_size(v));
        else if (json_is_object(v))
                *ret = json_integer((json_int_t)json_object_size(v));
        else
                return xerr(x, "error calling len: len of %s", v ? go_type(v) : "nil pointer");
        return 0;
}

/* fmt.Sprint / Sprintln: Sprint puts a space between operands when neither is a string. */
static int fn_print(json_t **args, size_t n, bool ln, json_t **ret) {
        struct kstatus_buf b = { 0 };
        kstatus_buf_put(&b, "", 0);
        for (size_t i = 0; i < n; i++) {
                if (i && (ln || (!json_is_string(args[i - 1]) && !json_is_string(args[i]))))
                        kstatus_buf_put(&b, " ", 1);
                print_value(&b, args[i]);
        }
        if (ln)
                kstatus_buf_put(&b, "\n", 1);
        *ret = json_stringn_nocheck(b.data, b.len);
        free(b.data);
        return 0;
}

/* fmt.Sprintf with %s, %v, %d, %q and %%. */
static int fn_printf(struct exec *x, json_t **args, size_t n, json_t **ret) {
        if (n == 0 || !json_is_string(args[0]))
                return xerr(x, "error calling printf: the format must be a string");
        struct kstatus_buf b = { 0 };
        kstatus_buf_put(&b, "", 0);
        size_t k = 1;
        for (const char *f = json_string_value(args[0]); *f; f++) {
                if (*f != '%' || !f[1]) {
                        kstatus_buf_put(&b, f, 1);
                        continue;
                }
                char verb = *++f;
                json_t *v = verb == '%' ? NULL : k < n ? args[k++] : NULL;
                _cleanup_free_ char *s = NULL;
                if (verb == '%')
                        s = xstrdup("%");
                else if (k > n || (!v && verb != '%'))
                        s = xasprintf("%%!%c(MISSING)", verb);
                else if (verb == 'd' && json_is_integer(v))
                        s = xasprintf("%lld", (long long)json_integer_value(v));
                else if (verb == 'q' && json_is_string(v)) {
                        _cleanup_json_ json_t *q = json_incref(v);
                        char *t = kstatus_json_dump(q, true);
                        t[strlen(t) - 1] = '\0';
                        s = t;
                } else if (verb == 's' || verb == 'v')
                        s = jsonpath_sprint(v);
                else {
                        _cleanup_free_ char *inner = jsonpath_sprint(v);
                        s = xasprintf("%%!%c(%s=%s)", verb, go_type(v), inner);
                }
                kstatus_buf_put(&b, s, strlen(s));
        }
        *ret = json_stringn_nocheck(b.data, b.len);
        free(b.data);
        return 0;
}

static int fn_base64decode(struct exec *x, json_t **args, size_t n, json_t **ret) {
        if (n != 1 || !json_is_string(args[0]))
                return xerr(x, "error calling base64decode: wrong argument");
        char *data;
        size_t len;
        if (kstatus_base64_decode(json_string_value(args[0]), json_string_length(args[0]), &data, &len) < 0)
                return xerr(x, "error calling base64decode: base64 decode failed: illegal base64 data");
        *ret = json_stringn_nocheck(data, len);
        free(data);
        return 0;
}

static int call(struct exec *x, const char *name, json_t **args, size_t n, json_t **ret) {
        if (strcmp(name, "index") == 0)
                return fn_index(x, args, n, ret);
        if (strcmp(name, "len") == 0)
                return fn_len(x, args, n, ret);
        if (strcmp(name, "print") == 0 || strcmp(name, "println") == 0)
                return fn_print(args, n, name[5] == 'l', ret);
        if (strcmp(name, "printf") == 0)
                return fn_printf(x, args, n, ret);
        if (strcmp(name, "base64decode") == 0)
                return fn_base64decode(x, args, n, ret);
        if (strcmp(name, "not") == 0) {
                if (n != 1)
                        return xerr(x, "wrong number of args for not: want 1 got %zu", n);
                *ret = json_boolean(!truth(args[0]));
                return 0;
        }
        if (strcmp(name, "and") == 0 || strcmp(name, "or") == 0) {
                /* the first argument that decides, else the last */
                size_t i = 0;
                while (i + 1 < n && truth(args[i]) == (name[0] == 'a'))
                        i++;
                if (n == 0)
                        return xerr(x, "wrong number of args for %s: want at least 1 got 0", name);
                *ret = json_incref(args[i]);
                return 0;
        }
        return fn_compare(x, name, args, n, ret);
}

static int exec_list(struct exec *x, const struct list *l, const json_t *dot);

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A map's keys in order (text/template ranges over a map so); an empty array otherwise. */
static json_t *sorted_keys(const json_t *v) {
        size_t n = json_object_size(v), i = 0;
        _cleanup_free_ const char **keys = xcalloc(n + 1, sizeof(char *));
        const char *k;
        json_t *m, *ret = json_array();
        json_object_foreach((json_t *)v, k, m) keys[i++] = k;
        qsort(keys, n, sizeof(char *), cmp_str);
        for (i = 0; i < n; i++)
                json_array_append_new(ret, json_string(keys[i]));
        return ret;
}

static int exec_range(struct exec *x, const struct node *n, const json_t *dot) {
        _cleanup_json_ json_t *v = NULL;
        int r = pipe_value(x, n->pipe, dot, &v);
        if (r < 0)
                return r;
        size_t count = json_is_array(v) ? json_array_size(v) : json_is_object(v) ? json_object_size(v) : 0;
        if (v && !json_is_null(v) && !json_is_array(v) && !json_is_object(v))
                return xerr(x, "range can't iterate over %s", go_type(v));
        _cleanup_json_ json_t *keys = sorted_keys(v);
        for (size_t i = 0; i < count && r == 0; i++) {
                json_t *key = json_is_object(v) ? json_array_get(keys, i) : NULL;
                json_t *elem = key ? json_object_get(v, json_string_value(key)) : json_array_get(v, i);
                size_t mark = x->n;
                if (n->pipe->n_vars == 1)
                        push_var(x, n->pipe->vars[0], json_incref(elem));
                if (n->pipe->n_vars == 2) {
                        push_var(x, n->pipe->vars[0], key ? json_incref(key) : json_integer((json_int_t)i));
                        push_var(x, n->pipe->vars[1], json_incref(elem));
                }
                r = exec_list(x, &n->body, elem);
                pop_vars(x, mark);
        }
        if (r == 0 && count == 0)
                r = exec_list(x, &n->otherwise, dot);
        return r;
}

static int exec_node(struct exec *x, const struct node *n, const json_t *dot) {
        if (n->kind == N_TEXT) {
                kstatus_buf_put(x->out, n->text, strlen(n->text));
                return 0;
        }
        if (n->kind == N_RANGE)
                return exec_range(x, n, dot);
        size_t mark = x->n;
        _cleanup_json_ json_t *v = NULL;
        int r = eval_pipe(x, n->pipe, dot, &v);
        if (r < 0)
                return r;
        if (n->kind == N_ACTION) {
                if (n->pipe->n_vars == 0)
                        print_value(x->out, v);
                return 0; /* a declaration lives to the end of the enclosing block */
        }
        if (truth(v))
                r = exec_list(x, &n->body, n->kind == N_WITH ? v : dot);
        else
                r = exec_list(x, &n->otherwise, dot);
        pop_vars(x, mark);
        return r;
}

static int exec_list(struct exec *x, const struct list *l, const json_t *dot) {
        size_t mark = x->n;
        int r = 0;
        for (size_t i = 0; i < l->n && r == 0; i++)
                r = exec_node(x, l->nodes[i], dot);
        pop_vars(x, mark);
        return r;
}

int gotemplate_execute(const struct gotemplate *t, const json_t *data, struct kstatus_buf *out,
                       struct kstatus_error *err) {
        json_t *root = (json_t *)data;
        struct exec x = { .out = out, .err = err };
        kstatus_buf_put(out, "", 0);
        push_var(&x, "$", json_incref(root));
        int r = exec_list(&x, &t->root, root);
        pop_vars(&x, 0);
        free(x.vars);
        return r;
}
