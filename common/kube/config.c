#include "kube/config.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "kube/internal.h"
#include "status.h"
#include "yaml-json.h"

#define DEFAULT_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* strerror as Go prints it: "no such file or directory". */
static char *go_strerror(int e) {
        char *s = xstrdup(strerror(e));
        if (s[0] >= 'A' && s[0] <= 'Z')
                s[0] = (char)(s[0] - 'A' + 'a');
        return s;
}

static const char *env(const struct kube_config_options *o, const char *name) {
        const char *v = o->getenv ? o->getenv(name) : getenv(name);
        return v && *v ? v : NULL;
}

void kube_config_free(struct kube_config *c) {
        if (!c)
                return;
        free(c->server);
        free(c->ca_file);
        free(c->ca_data);
        free(c->tls_server_name);
        free(c->proxy_url);
        if (c->token) {
                explicit_bzero(c->token, strlen(c->token));
                free(c->token);
        }
        free(c->token_file);
        free(c->username);
        if (c->password) {
                explicit_bzero(c->password, strlen(c->password));
                free(c->password);
        }
        free(c->client_cert_file);
        free(c->client_cert_data);
        free(c->client_key_file);
        if (c->client_key_data) {
                explicit_bzero(c->client_key_data, strlen(c->client_key_data));
                free(c->client_key_data);
        }
        if (c->exec) {
                free(c->exec->api_version);
                free(c->exec->command);
                for (char **p = c->exec->args; p && *p; p++)
                        free(*p);
                free(c->exec->args);
                for (char **p = c->exec->env; p && *p; p++)
                        free(*p);
                free(c->exec->env);
                free(c->exec->interactive_mode);
                free(c->exec->install_hint);
                free(c->exec);
        }
        free(c->impersonate_user);
        free(c->impersonate_uid);
        for (char **p = c->impersonate_groups; p && *p; p++)
                free(*p);
        free(c->impersonate_groups);
        json_decref(c->impersonate_extra);
        free(c->user);
        free(c->namespace);
        free(c->context);
        free(c);
}

/* The merged kubeconfig: for each of clusters, contexts and users, the first
 * file that names an entry wins; current-context comes from the first file
 * that sets it (kubectl's loading rules). Paths are made absolute against the
 * file they come from. */
struct merged {
        json_t *clusters, *contexts, *users; /* name → entry (with "_dir") */
        char *current_context;
};

static void merged_done(struct merged *m) {
        json_decref(m->clusters);
        json_decref(m->contexts);
        json_decref(m->users);
        free(m->current_context);
}

static int merge_file(struct merged *m, const char *path, bool must_exist, struct kstatus_error *err) {
        _cleanup_free_ char *buf = NULL;
        size_t len;
        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
        int r = kstatus_read_file(path, false, 16u << 20, &buf, &len, &e);
        if (r == -ENOENT && !must_exist)
                return 0;
        if (r < 0)
                return r == -ENOENT ? kstatus_error_set(err, ENOENT, 0, 0, "stat %s: no such file or directory", path)
                                    : kstatus_error_set(err, -r, 0, 0, "error loading config file \"%s\": %s", path,
                                                        e.message);
        struct kstatus_limits lim = KSTATUS_LIMITS_DEFAULT;
        lim.max_file_bytes = lim.max_result_bytes = 16u << 20;
        lim.max_memory_bytes = 0; /* a kubeconfig, not a status: its size bounds it, as before */
        _cleanup_json_ json_t *doc = NULL;
        if (kstatus_document_parse(buf, len, &lim, &doc, &e) < 0) {
                return kstatus_error_set(err, EINVAL, 0, 0, "error loading config file \"%s\": yaml: line %d: %s", path,
                                         e.line, e.message);
        }
        /* Relative paths in a kubeconfig are relative to its directory,
         * made absolute as kubectl does. */
        _cleanup_free_ char *cwd = path[0] == '/' ? NULL : getcwd(NULL, 0);
        _cleanup_free_ char *dir = cwd ? xasprintf("%s/%s", cwd, path) : xstrdup(path);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir)
                *slash = '\0';
        else
                strcpy(dir, slash ? "/" : ".");

        const char *cc = json_string_value(json_object_get(doc, "current-context"));
        if (cc && *cc && !m->current_context)
                m->current_context = xstrdup(cc);

        struct {
                const char *list, *item;
                json_t *into;
        } kinds[] = {
                { "clusters", "cluster", m->clusters },
                { "contexts", "context", m->contexts },
                { "users", "user", m->users },
        };
        for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
                size_t i;
                json_t *entry;
                json_array_foreach(json_object_get(doc, kinds[k].list), i, entry) {
                        const char *name = json_string_value(json_object_get(entry, "name"));
                        json_t *body = json_object_get(entry, kinds[k].item);
                        if (!name || json_object_get(kinds[k].into, name))
                                continue;
                        json_t *copy = json_is_object(body) ? json_deep_copy(body) : json_object();
                        json_object_set_new(copy, "_dir", json_string(dir));
                        json_object_set_new(kinds[k].into, name, copy);
                }
        }
        return 0;
}

static char *abs_path(const json_t *entry, const char *key) {
        const char *p = json_string_value(json_object_get(entry, key));
        if (!p || !*p)
                return NULL;
        if (p[0] == '/')
                return xstrdup(p);
        return xasprintf("%s/%s", json_string_value(json_object_get(entry, "_dir")), p);
}

static int decode_data(const json_t *entry, const char *key, char **ret, struct kstatus_error *err) {
        const char *b64 = json_string_value(json_object_get(entry, key));
        *ret = NULL;
        if (!b64 || !*b64)
                return 0;
        char *out;
        size_t len;
        if (kstatus_base64_decode(b64, strlen(b64), &out, &len) < 0)
                return kstatus_error_set(err, EINVAL, 0, 0, "%s is not valid base64", key);
        *ret = out;
        return 0;
}

static char *dup_str(const json_t *o, const char *key) {
        const char *v = json_string_value(json_object_get(o, key));
        return v && *v ? xstrdup(v) : NULL;
}

static int load_exec(const json_t *e, const char *user, struct kube_exec_config **ret, struct kstatus_error *err) {
        const char *command = json_string_value(json_object_get(e, "command"));
        const char *api = json_string_value(json_object_get(e, "apiVersion"));
        const char *mode = json_string_value(json_object_get(e, "interactiveMode"));
        if (!command || !*command)
                return kstatus_error_set(err, EINVAL, 0, 0, "exec plugin: command must be specified");
        /* client-go's checks, in its words. */
        if (!api || (strcmp(api, "client.authentication.k8s.io/v1") != 0 &&
                     strcmp(api, "client.authentication.k8s.io/v1beta1") != 0))
                return kstatus_error_set(err, EINVAL, 0, 0, "exec plugin: invalid apiVersion \"%s\"", api ? api : "");
        if (strcmp(api, "client.authentication.k8s.io/v1") == 0 && (!mode || !*mode))
                return kstatus_error_set(err, EINVAL, 0, 0,
                                         "interactiveMode must be specified for %s to use exec authentication plugin",
                                         user);
        if (mode && *mode && strcmp(mode, "Never") != 0 && strcmp(mode, "IfAvailable") != 0 &&
            strcmp(mode, "Always") != 0)
                return kstatus_error_set(err, EINVAL, 0, 0, "exec plugin: invalid interactive mode: %s", mode);
        struct kube_exec_config *x = xcalloc(1, sizeof(*x));
        x->api_version = dup_str(e, "apiVersion");
        x->command = xstrdup(command);
        x->interactive_mode = dup_str(e, "interactiveMode");
        x->install_hint = dup_str(e, "installHint");
        json_t *args = json_object_get(e, "args");
        x->args = xcalloc(json_array_size(args) + 1, sizeof(char *));
        size_t i, n = 0;
        json_t *a;
        json_array_foreach(args, i, a) {
                if (json_is_string(a))
                        x->args[n++] = xstrdup(json_string_value(a));
        }
        json_t *envs = json_object_get(e, "env");
        x->env = xcalloc(json_array_size(envs) + 1, sizeof(char *));
        n = 0;
        json_array_foreach(envs, i, a) {
                const char *name = json_string_value(json_object_get(a, "name"));
                const char *value = json_string_value(json_object_get(a, "value"));
                if (name)
                        x->env[n++] = xasprintf("%s=%s", name, value ? value : "");
        }
        *ret = x;
        return 0;
}

static int load_in_cluster(const struct kube_config_options *o, struct kube_config **ret, struct kstatus_error *err) {
        const char *host = env(o, "KUBERNETES_SERVICE_HOST"), *port = env(o, "KUBERNETES_SERVICE_PORT");
        const char *dir = o->service_account_dir ? o->service_account_dir : DEFAULT_SA_DIR;
        if ((!host || !port) && o->source == KUBE_CONFIG_IN_CLUSTER_ONLY)
                return kstatus_error_set(err, ENOENT, 0, 0,
                                         "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and "
                                         "KUBERNETES_SERVICE_PORT must be defined");
        if (!host || !port)
                return kstatus_error_set(err, ENOENT, 0, 0,
                                         "no kubeconfig and not in a cluster: set KUBECONFIG or use --kubeconfig");
        struct kube_config *c = xcalloc(1, sizeof(*c));
        int r;
        c->in_cluster = true;
        /* An IPv6 service address needs brackets. */
        c->server = strchr(host, ':') ? xasprintf("https://[%s]:%s", host, port) : xasprintf("https://%s:%s", host, port);
        c->token_file = xasprintf("%s/token", dir);
        c->ca_file = xasprintf("%s/ca.crt", dir);
        if (access(c->token_file, R_OK) < 0) {
                int e = errno;
                _cleanup_free_ char *why = go_strerror(e);
                r = kstatus_error_set(err, e, 0, 0, "in-cluster: open %s: %s", c->token_file, why);
                kube_config_free(c);
                return r;
        }
        _cleanup_free_ char *ns_file = xasprintf("%s/namespace", dir);
        _cleanup_free_ char *ns = NULL;
        size_t len;
        if (o->namespace && *o->namespace)
                c->namespace = xstrdup(o->namespace);
        else if (kstatus_read_file(ns_file, false, 256, &ns, &len, NULL) == 0) {
                ns[strcspn(ns, "\r\n")] = '\0';
                c->namespace = xstrdup(*ns ? ns : "default");
        } else
                c->namespace = xstrdup("default");
        *ret = c;
        return 0;
}

static int load(const struct kube_config_options *o, struct kube_config **ret, struct kstatus_error *err);

int kube_config_load(const struct kube_config_options *o, struct kube_config **ret, struct kstatus_error *err) {
        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
        int r = load(o, ret, &e);
        if (r < 0 && err) {
                /* The whole line kubectl prints. */
                if (str_has_prefix(e.message, "Error in configuration: "))
                        kstatus_error_move(err, &e);
                else
                        kstatus_error_set(err, -r, 0, 0, "error: %s", e.message);
        }
        return r;
}

/* Merge the kubeconfig files kubectl would read: --kubeconfig, else the
 * KUBECONFIG list (files that do not exist are skipped, as kubectl does), else
 * ~/.kube/config. *any: a file was there. */
static int merge_sources(const struct kube_config_options *o, struct merged *m, bool *any, struct kstatus_error *err) {
        *any = false;
        if (o->kubeconfig) {
                *any = true;
                return merge_file(m, o->kubeconfig, true, err);
        }
        if (env(o, "KUBECONFIG")) {
                _cleanup_free_ char *list = xstrdup(env(o, "KUBECONFIG"));
                char *save = NULL;
                int r = 0;
                for (char *p = strtok_r(list, ":", &save); p && r == 0; p = strtok_r(NULL, ":", &save)) {
                        if (access(p, F_OK) == 0)
                                *any = true;
                        r = merge_file(m, p, false, err);
                }
                return r;
        }
        if (!env(o, "HOME"))
                return 0;
        _cleanup_free_ char *home = xasprintf("%s/.kube/config", env(o, "HOME"));
        if (access(home, F_OK) < 0)
                return 0;
        *any = true;
        return merge_file(m, home, true, err);
}

/* The context, cluster and user the options and current-context choose. */
struct choice {
        const char *context, *cluster_name, *user_name;
        json_t *ctx, *cluster, *user; /* borrowed from the merged files */
};

static int choose(const struct kube_config_options *o, const struct merged *m, struct choice *ch,
                  struct kstatus_error *err) {
        ch->context = o->context ? o->context : m->current_context;
        ch->ctx = ch->context ? json_object_get(m->contexts, ch->context) : NULL;
        if (ch->context && !ch->ctx)
                return kstatus_error_set(err, ENOENT, 0, 0,
                                         "Error in configuration: context was not found for specified context: %s",
                                         ch->context);
        ch->cluster_name = o->cluster ? o->cluster : json_string_value(json_object_get(ch->ctx, "cluster"));
        ch->user_name = o->user ? o->user : json_string_value(json_object_get(ch->ctx, "user"));
        if (!ch->cluster_name)
                return kstatus_error_set(err, ENOENT, 0, 0,
                                         "no context chosen: set current-context in the kubeconfig or use --context");
        ch->cluster = json_object_get(m->clusters, ch->cluster_name);
        if (!ch->cluster)
                return kstatus_error_set(err, ENOENT, 0, 0, "no server found for cluster \"%s\"", ch->cluster_name);
        ch->user = ch->user_name ? json_object_get(m->users, ch->user_name) : NULL;
        if (o->user && !ch->user)
                return kstatus_error_set(err, ENOENT, 0, 0, "auth info \"%s\" does not exist", o->user);
        return 0;
}

static int from_cluster(struct kube_config *c, const struct choice *ch, struct kstatus_error *err) {
        c->server = dup_str(ch->cluster, "server");
        if (!c->server)
                return kstatus_error_set(err, EINVAL, 0, 0, "no server found for cluster \"%s\"", ch->cluster_name);
        c->insecure = json_is_true(json_object_get(ch->cluster, "insecure-skip-tls-verify"));
        c->tls_server_name = dup_str(ch->cluster, "tls-server-name");
        c->proxy_url = dup_str(ch->cluster, "proxy-url");
        c->disable_compression = json_is_true(json_object_get(ch->cluster, "disable-compression"));
        c->ca_file = abs_path(ch->cluster, "certificate-authority");
        int r = decode_data(ch->cluster, "certificate-authority-data", &c->ca_data, err);
        if (r < 0)
                return r;
        if (c->ca_file && access(c->ca_file, R_OK) < 0) {
                int e = errno;
                _cleanup_free_ char *why = go_strerror(e);
                return kstatus_error_set(err, e, 0, 0, "unable to read certificate-authority %s for %s due to open %s: %s",
                                         c->ca_file, ch->cluster_name, c->ca_file, why);
        }
        if (c->insecure && (c->ca_file || c->ca_data))
                return kstatus_error_set(err, EINVAL, 0, 0,
                                         "specifying a root certificates file with the insecure flag is not allowed");
        return 0;
}

/* client-go's checks and words for the files a user names. */
static int check_user_files(const struct kube_config *c, const char *user_name, struct kstatus_error *err) {
        const char *files[] = { c->client_cert_file, c->client_key_file, c->token_file };
        const char *what[] = { "client-cert", "client-key", NULL };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                if (!files[i] || access(files[i], R_OK) == 0)
                        continue;
                int e = errno;
                _cleanup_free_ char *why = go_strerror(e);
                if (what[i])
                        return kstatus_error_set(err, e, 0, 0, "unable to read %s %s for %s due to open %s: %s", what[i],
                                                 files[i], user_name, files[i], why);
                return kstatus_error_set(err, e, 0, 0, "open %s: %s", files[i], why);
        }
        return 0;
}

bool kube_has_control(const char *s) {
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

bool kube_server_is_tls(const char *server) {
        return strncasecmp(server, "https://", strlen("https://")) == 0;
}

void kube_config_drop_plain_http_credentials(struct kube_config *c) {
        if (!c || !c->server || kube_server_is_tls(c->server))
                return;
        struct kube_config *creds = xcalloc(1, sizeof(*creds));
        creds->token = TAKE_PTR(c->token);
        creds->token_file = TAKE_PTR(c->token_file);
        creds->username = TAKE_PTR(c->username);
        creds->password = TAKE_PTR(c->password);
        creds->client_cert_file = TAKE_PTR(c->client_cert_file);
        creds->client_cert_data = TAKE_PTR(c->client_cert_data);
        creds->client_key_file = TAKE_PTR(c->client_key_file);
        creds->client_key_data = TAKE_PTR(c->client_key_data);
        creds->exec = TAKE_PTR(c->exec);
        kube_config_free(creds); /* wipes what is secret */
}

/* A control character in a credential would reach the wire as a header line
 * of its own. */
static int check_credentials(const struct kube_config *c, const char *user_name, struct kstatus_error *err) {
        const char *values[] = { c->token, c->username, c->password };
        const char *what[] = { "token", "username", "password" };
        for (size_t i = 0; i < ELEMENTSOF(values); i++)
                if (values[i] && kube_has_control(values[i]))
                        return kstatus_error_set(err, EINVAL, 0, 0, "the %s of user \"%s\" contains a control character",
                                                 what[i], user_name);
        return 0;
}

static int from_user(struct kube_config *c, const json_t *user, const char *user_name, struct kstatus_error *err) {
        c->token = dup_str(user, "token");
        c->token_file = abs_path(user, "tokenFile");
        c->username = dup_str(user, "username");
        c->password = dup_str(user, "password");
        c->client_cert_file = abs_path(user, "client-certificate");
        c->client_key_file = abs_path(user, "client-key");
        int r;
        if ((r = decode_data(user, "client-certificate-data", &c->client_cert_data, err)) < 0 ||
            (r = decode_data(user, "client-key-data", &c->client_key_data, err)) < 0)
                return r;
        json_t *exec = json_object_get(user, "exec");
        if (json_is_object(exec) && (r = load_exec(exec, user_name, &c->exec, err)) < 0)
                return r;
        if ((r = check_credentials(c, user_name, err)) < 0)
                return r;
        return check_user_files(c, user_name, err);
}

/* The user's impersonation fields, as client-go's ClientConfig reads them
 * whatever the server's scheme: as, as-uid, as-groups (strings), as-user-extra
 * (key → list of strings). Other value types are skipped. */
static void from_user_impersonation(struct kube_config *c, const json_t *user) {
        c->impersonate_user = dup_str(user, "as");
        c->impersonate_uid = dup_str(user, "as-uid");
        json_t *groups = json_object_get(user, "as-groups");
        if (json_array_size(groups) > 0) {
                c->impersonate_groups = xcalloc(json_array_size(groups) + 1, sizeof(char *));
                size_t i, n = 0;
                json_t *g;
                json_array_foreach(groups, i, g) {
                        if (json_is_string(g))
                                c->impersonate_groups[n++] = xstrdup(json_string_value(g));
                }
        }
        json_t *extra = json_object_get(user, "as-user-extra");
        if (!json_is_object(extra) || json_object_size(extra) == 0)
                return;
        c->impersonate_extra = json_object();
        const char *key;
        json_t *values;
        json_object_foreach(extra, key, values) {
                json_t *list = json_array();
                size_t i;
                json_t *v;
                json_array_foreach(values, i, v) {
                        if (json_is_string(v))
                                json_array_append(list, v);
                }
                json_object_set_new(c->impersonate_extra, key, list);
        }
}

static int load(const struct kube_config_options *o, struct kube_config **ret, struct kstatus_error *err) {
        /* In a Pod (the service host is set) the service account wins for
         * IN_CLUSTER_FIRST; ONLY never reads a kubeconfig. */
        if (o->source == KUBE_CONFIG_IN_CLUSTER_ONLY ||
            (o->source == KUBE_CONFIG_IN_CLUSTER_FIRST && env(o, "KUBERNETES_SERVICE_HOST")))
                return load_in_cluster(o, ret, err);
        _cleanup_(merged_done) struct merged m = { .clusters = json_object(), .contexts = json_object(),
                                                   .users = json_object() };
        bool any;
        int r = merge_sources(o, &m, &any, err);
        if (r < 0)
                return r;
        if (!any || (json_object_size(m.contexts) == 0 && json_object_size(m.clusters) == 0 && !o->cluster))
                return load_in_cluster(o, ret, err);
        struct choice ch = { 0 };
        if ((r = choose(o, &m, &ch, err)) < 0)
                return r;
        _cleanup_(kube_config_freep) struct kube_config *c = xcalloc(1, sizeof(*c));
        c->context = ch.context ? xstrdup(ch.context) : NULL;
        if ((r = from_cluster(c, &ch, err)) < 0)
                return r;
        /* As client-go's ClientConfig: the user's credentials only for a
         * server spoken to over TLS. */
        if (ch.user && kube_server_is_tls(c->server) && (r = from_user(c, ch.user, ch.user_name, err)) < 0)
                return r;
        if (ch.user)
                from_user_impersonation(c, ch.user);
        c->user = ch.user_name ? xstrdup(ch.user_name) : NULL;
        /* `-n ''` is no namespace given (kubectl). */
        const char *ns = o->namespace && *o->namespace ? o->namespace : json_string_value(json_object_get(ch.ctx, "namespace"));
        c->namespace = xstrdup(ns && *ns ? ns : "default");
        *ret = TAKE_PTR(c);
        return 0;
}

int kube_config_contexts(const struct kube_config_options *o, json_t **ret, struct kstatus_error *err) {
        _cleanup_(merged_done) struct merged m = { .clusters = json_object(), .contexts = json_object(),
                                                   .users = json_object() };
        bool any;
        int r = merge_sources(o, &m, &any, err);
        if (r < 0)
                return r;
        json_t *names = json_array();
        const char *name;
        json_t *v;
        json_object_foreach(m.contexts, name, v) json_array_append_new(names, json_string(name));
        *ret = names;
        return 0;
}
