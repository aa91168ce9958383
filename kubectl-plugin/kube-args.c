/* kube-args.c - kubectl's global flags, the session built from them and
 * resource arguments, shared by describe, get and wait. */
#include "kube-args.h"

#include "kube/watch.h"
#include "version.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static int parse_request_timeout(const char *arg, int64_t *ret) {
        int64_t n;
        /* kubectl takes a bare number as seconds. */
        if (parse_int64(arg, 0, INT64_MAX / 1000, &n) == 0) {
                *ret = n * 1000;
                return 0;
        }
        return parse_duration_ms(arg, ret);
}

/* What kubectl's global flags keep for the whole process: the --as-group
 * list, --warnings-as-errors and the warnings printed so far (kubectl's
 * warning writer is process-wide too). */
static struct {
        char **as_groups; /* borrowed from argv, NULL-terminated */
        size_t n_as_groups;
        bool warnings_as_errors;
        char **warned; /* texts printed, for kubectl's deduplication */
        size_t n_warned;
        unsigned n_warnings;
} globals;

/* Texts kept for deduplication; past this a warning is still printed. */
#define MAX_WARNINGS_KEPT 1024

/* client-go's warning writer with Deduplicate: "Warning: TEXT" on stderr,
 * "Warning:" yellow on a terminal; the text escaped. */
static void on_warning(void *userdata, const char *text) {
        for (size_t i = 0; i < globals.n_warned; i++)
                if (strcmp(globals.warned[i], text) == 0)
                        return;
        if (globals.n_warned < MAX_WARNINGS_KEPT) {
                globals.warned = xrealloc(globals.warned, (globals.n_warned + 1) * sizeof(char *));
                globals.warned[globals.n_warned++] = xstrdup(text);
        }
        globals.n_warnings++;
        const char *term = getenv("TERM"), *nc = getenv("NO_COLOR");
        bool color = isatty(STDERR_FILENO) && !(term && strcmp(term, "dumb") == 0) && !(nc && *nc);
        _cleanup_free_ char *safe = escape_for_terminal(text);
        fprintf(stderr, "%sWarning:%s %s\n", color ? "\x1b[33;1m" : "", color ? "\x1b[0m" : "", safe);
}

/* How kubectl reports an error its command returned late (a
 * PersistentPreRunE or PersistentPostRunE hook): component-base's cli.Run
 * logs it with klog, `E1206 00:01:32.507311   29833 run.go:72] "command
 * failed" err="TEXT"`, and exits 1. text is ours (no quote to escape). */
static int klog_command_failed(const char *text) {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        localtime_r(&ts.tv_sec, &tm);
        fprintf(stderr, "E%02d%02d %02d:%02d:%02d.%06ld %7d run.go:72] \"command failed\" err=\"%s\"\n", tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000, (int)getpid(), text);
        return EXIT_FAILED;
}

int kube_args_finish(int rc) {
        if (rc == 0 && globals.warnings_as_errors && globals.n_warnings > 0) {
                _cleanup_free_ char *text =
                        xasprintf("%u warning%s received", globals.n_warnings, globals.n_warnings == 1 ? "" : "s");
                rc = klog_command_failed(text);
        }
        for (size_t i = 0; i < globals.n_warned; i++)
                free(globals.warned[i]);
        free(globals.warned);
        free(globals.as_groups);
        globals.warned = globals.as_groups = NULL;
        globals.n_warned = globals.n_as_groups = 0;
        globals.n_warnings = 0;
        globals.warnings_as_errors = false;
        return rc;
}

/* klog's --vmodule: "pattern=N,…" (empty pieces skipped), N a non-negative int32. */
static bool vmodule_valid(const char *value) {
        _cleanup_free_ char *copy = xstrdup(value);
        char *save = NULL;
        for (char *pat = strtok_r(copy, ",", &save); pat; pat = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(pat, '=');
                int64_t n;
                if (!eq || eq == pat || strchr(eq + 1, '=') || parse_int64(eq + 1, 0, INT32_MAX, &n) < 0)
                        return false;
        }
        return true;
}

static int unknown_profile(const char *safe) {
        _cleanup_free_ char *text = xasprintf("unknown profile '%s'", safe);
        klog_command_failed(text);
        return -1;
}

/* The flags kubectl has for its Go runtime and log, which the plugin accepts
 * as kubectl validates them: 1 handled, -1 invalid (printed). */
static int runtime_option(int opt, const char *arg) {
        static const char *const profiles[] = { "none", "cpu", "heap", "goroutine", "threadcreate",
                                                "block", "mutex", "allocs" };
        _cleanup_free_ char *safe = escape_for_terminal(arg);
        int64_t ms;
        switch (opt) {
        case 2021:
                if (strcmp(arg, "none") == 0)
                        return 1;
                for (size_t i = 1; i < ELEMENTSOF(profiles); i++)
                        if (strcmp(arg, profiles[i]) == 0) {
                                fail("--profile=%s is not supported: kubectl kstatus is not a Go program and has no "
                                     "profile to write",
                                     safe);
                                return -1;
                        }
                return unknown_profile(safe);
        case 2023:
                if (parse_duration_ms(arg, &ms) < 0) {
                        flag_value_error("invalid argument \"%s\" for \"--log-flush-frequency\" flag: parse error", arg);
                        return -1;
                }
                return 1;
        case 2024:
                if (!vmodule_valid(arg)) {
                        flag_value_error("invalid argument \"%s\" for \"--vmodule\" flag: syntax error: expect "
                                         "comma-separated list of filename=N",
                                         arg);
                        return -1;
                }
                return 1;
        default: /* 2022 --profile-output: only used with a profile */
                return 1;
        }
}

/* --as, --as-group, --as-uid, --warnings-as-errors, --disable-compression,
 * --match-server-version, --cache-dir and the runtime flags. */
static int more_option(struct kube_args *a, int opt, const char *arg) {
        switch (opt) {
        case 2014:
                a->as = arg;
                return 1;
        case 2015:
                globals.as_groups = xrealloc(globals.as_groups, (globals.n_as_groups + 2) * sizeof(char *));
                globals.as_groups[globals.n_as_groups++] = (char *)arg;
                globals.as_groups[globals.n_as_groups] = NULL;
                return 1;
        case 2016:
                a->as_uid = arg;
                return 1;
        case 2017:
                globals.warnings_as_errors = flag_true(arg);
                return 1;
        case 2018:
                a->disable_compression = flag_true(arg);
                return 1;
        case 2019:
                a->match_server_version = flag_true(arg);
                return 1;
        case 2020:
                a->cache_dir = arg;
                return 1;
        case 2021:
        case 2022:
        case 2023:
        case 2024:
                return runtime_option(opt, arg);
        default:
                return 0;
        }
}

bool color_mode_valid(const char *mode) {
        return strcmp(mode, "auto") == 0 || strcmp(mode, "always") == 0 || strcmp(mode, "never") == 0;
}

int kube_args_option(struct kube_args *a, int opt, const char *arg) {
        switch (opt) {
        case 2000:
                a->config.kubeconfig = arg;
                return 1;
        case 2001:
                a->config.context = arg;
                return 1;
        case 2002:
                a->config.cluster = arg;
                return 1;
        case 2003:
                a->config.user = arg;
                return 1;
        case 'n':
                a->config.namespace = arg;
                return 1;
        case 'A':
                a->all_namespaces = flag_true(arg);
                return 1;
        case 'l':
                a->selector = arg;
                return 1;
        case 's':
                a->server = arg;
                return 1;
        case 2004:
                a->token = arg;
                return 1;
        case 2005:
                a->insecure = flag_true(arg);
                return 1;
        case 2006:
                a->certificate_authority = arg;
                return 1;
        case 2007:
                a->client_certificate = arg;
                return 1;
        case 2008:
                a->client_key = arg;
                return 1;
        case 2009:
                a->tls_server_name = arg;
                return 1;
        case 2010:
                a->username = arg;
                return 1;
        case 2011:
                a->password = arg;
                return 1;
        case 2012:
                if (parse_request_timeout(arg, &a->request_timeout_ms) < 0) {
                        /* kubectl's words (cli-runtime checks the value when it builds the client; kubectl
                         * now and then says "Error: " there, mostly "error: "). */
                        fputs("error: Invalid timeout value. Timeout must be a single integer in seconds, or an "
                              "integer followed by a corresponding time unit (e.g. 1s | 2m | 3h)\n",
                              stderr);
                        return -1;
                }
                return 1;
        case 2013:
                if (!color_mode_valid(arg)) {
                        _cleanup_free_ char *safe = escape_for_terminal(arg);
                        usage_error("invalid argument \"%s\" for \"--color\": want auto, always or never", safe);
                        return -1;
                }
                a->color = arg;
                return 1;
        default:
                return more_option(a, opt, arg);
        }
}

static void replace(char **field, const char *value) {
        free(*field);
        *field = value ? xstrdup(value) : NULL;
}

/* --as, --as-uid and --as-group override the user's as, as-uid and
 * as-groups when given (client-go merges the flags over the kubeconfig's
 * user); --disable-compression adds to the cluster's. */
static void apply_identity_overrides(const struct kube_args *a, struct kube_config *c) {
        if (a->as && *a->as)
                replace(&c->impersonate_user, a->as);
        if (a->as_uid && *a->as_uid)
                replace(&c->impersonate_uid, a->as_uid);
        if (globals.n_as_groups > 0) {
                for (char **g = c->impersonate_groups; g && *g; g++)
                        free(*g);
                free(c->impersonate_groups);
                c->impersonate_groups = xcalloc(globals.n_as_groups + 1, sizeof(char *));
                for (size_t i = 0; i < globals.n_as_groups; i++)
                        c->impersonate_groups[i] = xstrdup(globals.as_groups[i]);
        }
        c->disable_compression |= a->disable_compression;
}

/* Flags override the kubeconfig, as kubectl's ConfigOverrides do. */
static void apply_overrides(const struct kube_args *a, struct kube_config *c) {
        if (a->server)
                replace(&c->server, a->server);
        if (a->token || a->username || a->client_certificate) {
                /* An explicit credential replaces what the kubeconfig's user had. */
                if (c->token)
                        explicit_bzero(c->token, strlen(c->token));
                replace(&c->token, a->token);
                replace(&c->token_file, NULL);
                if (c->exec) {
                        /* kube_config_free knows how to free an exec config. */
                        struct kube_config *t = xcalloc(1, sizeof(*t));
                        t->exec = TAKE_PTR(c->exec);
                        kube_config_free(t);
                }
        }
        if (a->username) {
                replace(&c->username, a->username);
                replace(&c->password, a->password);
        }
        if (a->client_certificate) {
                replace(&c->client_cert_file, a->client_certificate);
                replace(&c->client_cert_data, NULL);
        }
        if (a->client_key) {
                replace(&c->client_key_file, a->client_key);
                replace(&c->client_key_data, NULL);
        }
        if (a->certificate_authority) {
                replace(&c->ca_file, a->certificate_authority);
                replace(&c->ca_data, NULL);
        }
        if (a->tls_server_name)
                replace(&c->tls_server_name, a->tls_server_name);
        if (a->insecure) {
                c->insecure = true;
                /* kubectl drops the CA when --insecure-skip-tls-verify is given. */
                replace(&c->ca_file, NULL);
                replace(&c->ca_data, NULL);
        }
        apply_identity_overrides(a, c);
        /* `-n ''` is no namespace given (kubectl). */
        if (a->config.namespace && *a->config.namespace)
                replace(&c->namespace, a->config.namespace);
        if (!c->namespace)
                c->namespace = xstrdup("default");
}

/* A version.Info as Go's %#v prints it (the field order of apimachinery's
 * version.Info); v is /version's answer. New string. */
static char *go_version_info(const json_t *v) {
        static const char *const fields[][2] = {
                { "Major", "major" }, { "Minor", "minor" }, { "GitVersion", "gitVersion" },
                { "GitCommit", "gitCommit" }, { "GitTreeState", "gitTreeState" }, { "BuildDate", "buildDate" },
                { "GoVersion", "goVersion" }, { "Compiler", "compiler" }, { "Platform", "platform" },
        };
        _cleanup_free_ char *out = xstrdup("version.Info{");
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                const char *value = json_string_value(json_object_get(v, fields[i][1]));
                _cleanup_json_ json_t *quoted = json_string(value ? value : "");
                _cleanup_free_ char *q = json_dumps(quoted, JSON_ENCODE_ANY);
                char *next = xasprintf("%s%s%s:%s", out, i ? ", " : "", fields[i][0], q ? q : "\"\"");
                free(out);
                out = next;
        }
        char *r = xasprintf("%s}", out);
        return r;
}

/* kubectl's --match-server-version (client-go's MatchesServerVersion): the
 * server's gitVersion, gitCommit and gitTreeState must be the client's. The
 * plugin's client version is kstatus's own, which no Kubernetes server has:
 * with the flag every command is refused in kubectl's words once /version
 * was read. Returns 0 or an exit code (printed). */
static int match_server_version(struct kube_client *client) {
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        _cleanup_json_ json_t *server = NULL;
        if (kube_client_get(client, "/version", &server, &err) < 0) {
                _cleanup_free_ char *safe = escape_for_terminal(err.message ? err.message : "request failed");
                fprintf(stderr, "error: couldn't read version from server: %s\n", safe);
                return EXIT_API;
        }
        _cleanup_json_ json_t *mine = json_pack("{s:s, s:s}", "gitVersion", "v" KSTATUS_VERSION, "gitCommit",
                                                KSTATUS_COMMIT);
        const char *keys[] = { "gitVersion", "gitCommit", "gitTreeState" };
        bool same = true;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                const char *x = json_string_value(json_object_get(server, keys[i]));
                const char *y = json_string_value(json_object_get(mine, keys[i]));
                same &= strcmp(x ? x : "", y ? y : "") == 0;
        }
        if (same)
                return 0;
        _cleanup_free_ char *sv = go_version_info(server), *cv = go_version_info(mine);
        _cleanup_free_ char *safe = escape_for_terminal(sv);
        fprintf(stderr, "error: server version (&%s) differs from client version (%s)\n", safe, cv);
        return EXIT_API;
}

int kube_session_open(const struct kube_args *a, struct kube_session *s) {
        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
        *s = (struct kube_session){ 0 };
        int r = kube_config_load(&a->config, &s->config, &e);
        if (r < 0 && a->server && !a->config.kubeconfig && !a->config.context && !a->config.cluster) {
                /* --server alone is a whole configuration for kubectl. */
                s->config = xcalloc(1, sizeof(*s->config));
                r = 0;
        }
        if (r < 0) {
                _cleanup_free_ char *safe = escape_for_terminal(e.message);
                fprintf(stderr, "%s\n", safe);
                return EXIT_API;
        }
        apply_overrides(a, s->config);
        /* --server may have made it plain http: kubectl sends no credential there. */
        kube_config_drop_plain_http_credentials(s->config);
        if (a->certificate_authority && a->insecure) {
                kube_session_close(s);
                return usage_error("specifying a root certificates file with the insecure flag is not allowed");
        }
        _cleanup_free_ char *ns_problems = kube_path_segment_problems(s->config->namespace);
        if (ns_problems) {
                _cleanup_free_ char *safe = escape_for_terminal(s->config->namespace);
                kube_session_close(s);
                return usage_error("invalid namespace \"%s\": %s", safe, ns_problems);
        }
        const struct kube_config *c = s->config;
        if ((c->impersonate_uid || c->impersonate_groups || c->impersonate_extra) && !c->impersonate_user) {
                /* client-go's validation, in its words. */
                _cleanup_free_ char *safe = escape_for_terminal(c->user ? c->user : "");
                fprintf(stderr, "error: requesting uid, groups or user-extra for %s without impersonating a user\n",
                        safe);
                kube_session_close(s);
                return EXIT_API;
        }
        struct kube_client_options o = { .request_timeout_ms = a->request_timeout_ms, .on_warning = on_warning };
        r = kube_client_new(s->config, &o, &s->client, &e);
        if (r < 0) {
                _cleanup_free_ char *safe = escape_for_terminal(e.message);
                fprintf(stderr, "error: %s\n", safe);
                kube_session_close(s);
                return EXIT_API;
        }
        if (a->match_server_version && (r = match_server_version(s->client)) != 0) {
                kube_session_close(s);
                return r;
        }
        struct kube_discovery_options dopts = { .cache_dir = a->cache_dir };
        r = kube_discovery_new(s->client, a->cache_dir ? &dopts : NULL, &s->discovery, &e);
        if (r < 0) {
                _cleanup_free_ char *safe = escape_for_terminal(e.message);
                fprintf(stderr, "error: %s\n", safe);
                kube_session_close(s);
                return EXIT_API;
        }
        s->namespace = s->config->namespace;
        return 0;
}

void kube_session_close(struct kube_session *s) {
        kube_discovery_free(s->discovery);
        kube_client_free(s->client);
        kube_config_free(s->config);
        *s = (struct kube_session){ 0 };
}

int api_error(struct kstatus_error *err) {
        _cleanup_free_ char *safe = escape_for_terminal(err->message ? err->message : "error: request failed");
        fprintf(stderr, "%s\n", safe);
        kstatus_error_done(err);
        return EXIT_API;
}

int api_list_error(const struct target *t, const char *label_selector, const char *field_selector,
                   struct kstatus_error *err) {
        /* cli-runtime's Selector.Visit rewords a 400 or 404 from a LIST, keeping
         * "Error from server (REASON): " in front. */
        _cleanup_free_ char *head = err->reason ? xasprintf("Error from server (%s): ", err->reason) : NULL;
        if ((err->http_code == 400 || err->http_code == 404) && head && err->message &&
            str_has_prefix(err->message, head)) {
                const char *msg = err->message + strlen(head);
                _cleanup_free_ char *gvr = xasprintf("%s/%s, Resource=%s", t->res.group ? t->res.group : "",
                                                     t->res.version, t->res.resource);
                char *text;
                if ((!label_selector || !*label_selector) && (!field_selector || !*field_selector))
                        text = xasprintf("%sUnable to list \"%s\": %s", head, gvr, msg);
                else
                        text = xasprintf("%sUnable to find \"%s\" that match label selector \"%s\", field selector "
                                         "\"%s\": %s",
                                         head, gvr, label_selector ? label_selector : "",
                                         field_selector ? field_selector : "", msg);
                free(err->message);
                err->message = text;
        }
        return api_error(err);
}

int targets_check_named(const struct targets *t, const struct kube_args *a, bool *ret_named) {
        bool named = false;
        for (size_t i = 0; i < t->n; i++)
                named |= t->items[i].n_names > 0;
        if (named && a->all_namespaces)
                return usage_error("a resource cannot be retrieved by name across all namespaces");
        if (named && a->selector)
                return usage_error("when specifying names, no label selector is allowed");
        *ret_named = named;
        return 0;
}

void print_no_resources(const struct kube_session *s, const struct kube_args *a, const struct targets *t) {
        if (a->all_namespaces || t->n == 0 || !t->items[0].res.namespaced) {
                fputs("No resources found\n", stderr);
                return;
        }
        _cleanup_free_ char *safe = escape_for_terminal(s->namespace);
        fprintf(stderr, "No resources found in %s namespace.\n", safe);
}

char *object_ref(const struct kube_resource *r, const char *name) {
        _cleanup_free_ char *kind = xstrdup(r->kind ? r->kind : r->resource);
        for (char *p = kind; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        if (r->group && *r->group)
                return xasprintf("%s.%s/%s", kind, r->group, name);
        return xasprintf("%s/%s", kind, name);
}

static int resolve(struct kube_session *s, const char *type, struct target *t) {
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        _cleanup_free_ char *warning = NULL;
        int r = kube_discovery_resolve(s->discovery, type, &t->res, &warning, &err);
        if (r < 0)
                return api_error(&err);
        if (warning) {
                _cleanup_free_ char *safe = escape_for_terminal(warning);
                fprintf(stderr, "Warning: %s\n", safe);
        }
        t->qualified = kube_resource_qualified(&t->res);
        return 0;
}

static void target_add_name(struct target *t, const char *name) {
        t->names = xrealloc(t->names, (t->n_names + 2) * sizeof(char *));
        t->names[t->n_names++] = xstrdup(name);
        t->names[t->n_names] = NULL;
}

static struct target *targets_append(struct targets *ts) {
        ts->items = xrealloc(ts->items, (ts->n + 1) * sizeof(struct target));
        struct target *t = &ts->items[ts->n++];
        *t = (struct target){ 0 };
        t->names = xcalloc(1, sizeof(char *));
        return t;
}

/* As kubectl, a name that would change the URL's path is refused. */
static int check_names(const struct targets *ts) {
        for (size_t i = 0; i < ts->n; i++)
                for (size_t j = 0; j < ts->items[i].n_names; j++) {
                        const char *name = ts->items[i].names[j];
                        _cleanup_free_ char *problems = kube_path_segment_problems(name);
                        if (problems) {
                                _cleanup_free_ char *safe = escape_for_terminal(name);
                                return usage_error("invalid resource name \"%s\": %s", safe, problems);
                        }
                }
        return 0;
}

int targets_parse(struct kube_session *s, char **args, int n, struct targets *ret) {
        struct targets ts = { 0 };
        int r = 0;
        if (n == 0)
                return usage_error("you must specify the type of resource to get, e.g. \"kubectl kstatus get "
                                   "databases\"");
        bool slash = strchr(args[0], '/') != NULL;
        if (!slash) {
                struct target *t = targets_append(&ts);
                r = resolve(s, args[0], t);
                for (int i = 1; r == 0 && i < n; i++) {
                        if (strchr(args[i], '/')) {
                                r = usage_error("there is no need to specify a resource type as a separate argument "
                                                "when passing arguments in resource/name form (e.g. 'kubectl kstatus "
                                                "get resource/<resource_name>' instead of 'kubectl kstatus get "
                                                "resource resource/<resource_name>'");
                                break;
                        }
                        target_add_name(t, args[i]);
                }
        } else {
                for (int i = 0; r == 0 && i < n; i++) {
                        const char *sl = strchr(args[i], '/');
                        if (!sl || !sl[1] || sl == args[i]) {
                                _cleanup_free_ char *safe = escape_for_terminal(args[i]);
                                r = usage_error("arguments in resource/name form must have a single resource and "
                                                "name: \"%s\"",
                                                safe);
                                break;
                        }
                        _cleanup_free_ char *type = xstrndup(args[i], (size_t)(sl - args[i]));
                        struct target *t = NULL;
                        struct target probe = { 0 };
                        r = resolve(s, type, &probe);
                        if (r)
                                break;
                        for (size_t j = 0; j < ts.n && !t; j++)
                                if (strcmp(ts.items[j].qualified, probe.qualified) == 0)
                                        t = &ts.items[j];
                        if (t) {
                                kube_resource_done(&probe.res);
                                free(probe.qualified);
                        } else {
                                t = targets_append(&ts);
                                free(t->names);
                                probe.names = xcalloc(1, sizeof(char *));
                                *t = probe;
                        }
                        target_add_name(t, sl + 1);
                }
        }
        if (r == 0)
                r = check_names(&ts);
        if (r) {
                targets_free(&ts);
                return r;
        }
        *ret = ts;
        return 0;
}

void targets_free(struct targets *ts) {
        for (size_t i = 0; i < ts->n; i++) {
                struct target *t = &ts->items[i];
                kube_resource_done(&t->res);
                free(t->qualified);
                for (size_t j = 0; j < t->n_names; j++)
                        free(t->names[j]);
                free(t->names);
        }
        free(ts->items);
        *ts = (struct targets){ 0 };
}

bool use_color(const char *mode) {
        if (mode && strcmp(mode, "always") == 0)
                return true;
        if (mode && strcmp(mode, "never") == 0)
                return false;
        const char *nc = getenv("NO_COLOR");
        if (nc && *nc)
                return false;
        return isatty(STDOUT_FILENO);
}

int terminal_width(void) {
        const char *cols = getenv("COLUMNS");
        int64_t n;
        if (cols && parse_int64(cols, 1, 100000, &n) == 0)
                return (int)n;
        struct winsize ws;
        if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
                return ws.ws_col;
        return 0;
}

int64_t plugin_now(void) {
        const char *pin = getenv("KSTATUS_NOW");
        int64_t n;
        if (pin && parse_int64(pin, 0, INT64_MAX, &n) == 0)
                return n;
        return (int64_t)time(NULL);
}

int watch_all(struct kube_watch *const *ws, size_t n, int64_t timeout_ms, struct kstatus_error *err) {
        int64_t end = timeout_ms >= 0 ? kstatus_monotonic_ms() + timeout_ms : -1;
        _cleanup_free_ struct pollfd *p = xcalloc(n ? n : 1, sizeof(struct pollfd));
        for (size_t i = 0; i < n; i++)
                p[i] = (struct pollfd){ .fd = kube_watch_fd(ws[i]), .events = POLLIN };
        for (;;) {
                int wait = -1;
                if (end >= 0) {
                        int64_t left = end - kstatus_monotonic_ms();
                        if (left <= 0)
                                return -ETIMEDOUT;
                        wait = left > 1000000 ? 1000000 : (int)left;
                }
                int k = poll(p, n, wait);
                if (k < 0 && errno != EINTR) {
                        int e = errno;
                        return kstatus_error_set(err, e, 0, 0, "error: poll: %s", strerror(e));
                }
                for (size_t i = 0; k > 0 && i < n; i++) {
                        if (!(p[i].revents & POLLIN))
                                continue;
                        int r = kube_watch_process(ws[i], err);
                        if (r != 0)
                                return r;
                }
        }
}

char *collection_query(const struct target *t, const char *ns, const char *label_selector, const char *field_selector) {
        _cleanup_free_ char *base = kube_resource_path(&t->res, ns, NULL, NULL);
        _cleanup_free_ char *ls = label_selector ? kube_escape(label_selector) : NULL;
        _cleanup_free_ char *fs = field_selector ? kube_escape(field_selector) : NULL;
        return xasprintf("%s%s%s%s%s%s%s", base, ls || fs ? "?" : "", ls ? "labelSelector=" : "", ls ? ls : "",
                         ls && fs ? "&" : "", fs ? "fieldSelector=" : "", fs ? fs : "");
}
