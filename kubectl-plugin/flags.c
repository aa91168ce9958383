/* flags.c - command-line flags as kubectl reads them (spf13/pflag's
 * parseArgs), driven by the commands' getopt_long tables: `-n NS`, `-nNS`,
 * `-n=NS`, `--flag=value`, `--flag value`, booleans as `--flag`,
 * `--flag=false` or `-A=false`, shorthand groups (`-Ao json`), flags after
 * positional arguments, `--` ending the flags, and kubectl's wording for each
 * mistake. kubectl's global `-v, --v=LEVEL` is accepted by every command and
 * ignored: the plugin has no debug log for it to raise. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"

/* flags_next() goes on to the next argument (a -v it has taken care of). */
#define FLAG_SKIP (-2)

static int flag_failf(const struct flags *f, const char *fmt, ...) _printf_(2, 3);

/* "Error: …" and cobra's pointer to the help, as kubectl prints a flag error. */
static int flag_failf(const struct flags *f, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        _cleanup_free_ char *safe = escape_for_terminal(msg ? msg : "bad flag");
        _cleanup_free_ char *cmd = escape_for_terminal(f->argv[0]);
        fprintf(stderr, "Error: %s\nSee 'kubectl kstatus %s --help' for usage.\n", safe, cmd);
        return '?';
}

/* The flags flags_next() is reading, for flag_value_error() to name the
 * command; NULL once it has returned -1. */
static const struct flags *parsing;

int flag_value_error(const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        _cleanup_free_ char *safe = escape_for_terminal(msg ? msg : "bad flag");
        if (!parsing) {
                fprintf(stderr, "Error: %s\n", safe);
                return '?';
        }
        return flag_failf(parsing, "%s", safe);
}

int flag_parse_bool(const char *s, bool *ret) {
        /* Go's strconv.ParseBool. */
        static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
        static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };
        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcmp(s, yes[i]) == 0)
                        return *ret = true, 0;
                if (strcmp(s, no[i]) == 0)
                        return *ret = false, 0;
        }
        return -EINVAL;
}

bool flag_true(const char *arg) {
        return !arg || strcmp(arg, "true") == 0;
}

static const struct option *long_by_name(const struct flags *f, const char *name, size_t len) {
        for (const struct option *o = f->longopts; o && o->name; o++)
                if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
                        return o;
        return NULL;
}

static const struct option *long_by_val(const struct flags *f, int val) {
        for (const struct option *o = f->longopts; o && o->name; o++)
                if (o->val == val)
                        return o;
        return NULL;
}

/* pflag names a flag "-A, --all-namespaces" when it has a shorthand. */
static char *flag_display(const struct flags *f, int val, const char *long_name) {
        const char *s = val > 0 && val < 128 ? strchr(f->shortopts, val) : NULL;
        const struct option *o = long_name ? NULL : long_by_val(f, val);
        if (!long_name && o)
                long_name = o->name;
        if (s && long_name)
                return xasprintf("-%c, --%s", val, long_name);
        if (s)
                return xasprintf("-%c", val);
        return xasprintf("--%s", long_name);
}

/* A value given to a boolean flag: becomes optarg "true" or "false". */
static int take_bool(struct flags *f, int val, const char *long_name, const char *value) {
        bool b;
        if (flag_parse_bool(value, &b) < 0) {
                _cleanup_free_ char *name = flag_display(f, val, long_name);
                return flag_failf(f, "invalid argument \"%s\" for \"%s\" flag: strconv.ParseBool: parsing \"%s\": "
                                  "invalid syntax",
                                  value, name, value);
        }
        optarg = (char *)(b ? "true" : "false");
        return val;
}

/* kubectl's klog -v: an int32, accepted and otherwise ignored. */
static int take_verbosity(struct flags *f, const char *value) {
        int64_t n;
        if (parse_int64(value, INT32_MIN, INT32_MAX, &n) == 0)
                return 0;
        const char *digits = value + (*value == '-' || *value == '+');
        bool number = *digits && strspn(digits, "0123456789") == strlen(digits);
        return flag_failf(f, "invalid argument \"%s\" for \"-v, --v\" flag: strconv.ParseInt: parsing \"%s\": %s", value,
                          value, number ? "value out of range" : "invalid syntax");
}

static int next_arg(struct flags *f, const char **ret) {
        if (f->next >= f->argc)
                return -ENOENT;
        *ret = f->argv[f->next++];
        return 0;
}

static int parse_long(struct flags *f, const char *s) {
        const char *name = s + 2;
        if (!*name || *name == '-' || *name == '=')
                return flag_failf(f, "bad flag syntax: %s", s);
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const struct option *o = long_by_name(f, name, len);
        const char *value = eq ? eq + 1 : NULL;
        if (!o && len == 1 && name[0] == 'v') {
                if (!value && next_arg(f, &value) < 0)
                        return flag_failf(f, "flag needs an argument: %s", s);
                return take_verbosity(f, value) ? '?' : FLAG_SKIP;
        }
        if (!o)
                return flag_failf(f, "unknown flag: --%.*s", (int)len, name);
        if (o->has_arg != required_argument) {
                optarg = (char *)"true";
                return value ? take_bool(f, o->val, o->name, value) : o->val;
        }
        if (!value && next_arg(f, &value) < 0)
                return flag_failf(f, "flag needs an argument: %s", s);
        optarg = (char *)value;
        return o->val;
}

/* One letter of a shorthand group; f->cluster points at it. */
static int parse_short(struct flags *f) {
        const char *group = f->cluster;
        char c = group[0];
        const char *spec = c != ':' && c != '+' && c != '-' ? strchr(f->shortopts, c) : NULL;
        f->cluster = group[1] ? group + 1 : NULL;
        if (!spec && c != 'v')
                return flag_failf(f, "unknown shorthand flag: '%c' in -%s", c, group);
        bool takes_value = spec ? spec[1] == ':' : true;
        const char *value = NULL;
        if (group[1] == '=' && group[2]) {
                value = group + 2; /* -n=NS, -A=false */
                f->cluster = NULL;
        } else if (!takes_value) {
                optarg = (char *)"true";
                return c;
        } else if (group[1]) {
                value = group + 1; /* -nNS */
                f->cluster = NULL;
        } else if (next_arg(f, &value) < 0)
                return flag_failf(f, "flag needs an argument: '%c' in -%s", c, group);
        if (!spec)
                return take_verbosity(f, value) ? '?' : FLAG_SKIP;
        if (!takes_value)
                return take_bool(f, c, NULL, value);
        optarg = (char *)value;
        return c;
}

/* Put the positional arguments, in order, at argv[optind..argc-1]; the
 * flags, their values and "--" go before them. */
static void finish(struct flags *f) {
        _cleanup_free_ char **sorted = xcalloc((size_t)f->argc, sizeof(char *));
        _cleanup_free_ bool *positional = xcalloc((size_t)f->argc, sizeof(bool));
        for (int j = 0; j < f->n_args; j++)
                positional[f->args[j]] = true;
        int k = 0;
        for (int i = 1; i < f->argc; i++)
                if (!positional[i])
                        sorted[k++] = f->argv[i];
        optind = 1 + k;
        for (int j = 0; j < f->n_args; j++)
                sorted[k++] = f->argv[f->args[j]];
        memcpy(f->argv + 1, sorted, (size_t)k * sizeof(char *));
}

static void add_positional(struct flags *f, int index) {
        f->args = xrealloc(f->args, ((size_t)f->n_args + 1) * sizeof(int));
        f->args[f->n_args++] = index;
}

int flags_next(struct flags *f, int argc, char **argv, const char *shortopts, const struct option *longopts) {
        if (!f->argv) {
                *f = (struct flags){ .argc = argc, .argv = argv, .shortopts = shortopts ? shortopts : "",
                                     .longopts = longopts, .next = 1 };
        }
        parsing = f;
        for (;;) {
                optarg = NULL;
                int r;
                if (f->cluster)
                        r = parse_short(f);
                else if (f->next >= f->argc) {
                        finish(f);
                        parsing = NULL;
                        return -1;
                } else {
                        int i = f->next++;
                        const char *s = argv[i];
                        if (s[0] != '-' || !s[1]) {
                                add_positional(f, i);
                                continue;
                        }
                        if (strcmp(s, "--") == 0) {
                                while (f->next < f->argc)
                                        add_positional(f, f->next++);
                                continue;
                        }
                        if (s[1] == '-')
                                r = parse_long(f, s);
                        else {
                                f->cluster = s + 1;
                                r = parse_short(f);
                        }
                }
                if (r != FLAG_SKIP)
                        return r;
        }
}

void flags_done(struct flags *f) {
        free(f->args);
        f->args = NULL;
}
