/* kube-args.c - kubectl's global flags, the session built from them and
 * resource arguments, shared by describe, get and wait. */
#include "kube-args.h"

#include "kube/watch.h"

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
                        _cleanup_free_ char *safe = escape_for_terminal(arg);
                        usage_error("invalid argument \"%s\" for \"--request-timeout\": want a duration such as 5s, "
                                    "1m or 0",
                                    safe);
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
                return 0;
        }
}

static void replace(char **field, const char *value) {
        free(*field);
        *field = value ? xstrdup(value) : NULL;
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
        /* `-n ''` is no namespace given (kubectl). */
        if (a->config.namespace && *a->config.namespace)
                replace(&c->namespace, a->config.namespace);
        if (!c->namespace)
                c->namespace = xstrdup("default");
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
        struct kube_client_options o = { .request_timeout_ms = a->request_timeout_ms };
        r = kube_client_new(s->config, &o, &s->client, &e);
        if (r < 0) {
                _cleanup_free_ char *safe = escape_for_terminal(e.message);
                fprintf(stderr, "error: %s\n", safe);
                kube_session_close(s);
                return EXIT_API;
        }
        r = kube_discovery_new(s->client, NULL, &s->discovery, &e);
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
