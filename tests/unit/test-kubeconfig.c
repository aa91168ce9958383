/* kubeconfig loading against golden files in tests/data/kubeconfig. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kube/config.h"
#include "util.h"

static const char *fake_env[16][2];

static const char *fake_getenv(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(fake_env) && fake_env[i][0]; i++)
                if (strcmp(fake_env[i][0], name) == 0)
                        return fake_env[i][1];
        return NULL;
}

static char *data(const char *rel) {
        return xasprintf("%s/kubeconfig/%s", getenv("KSTATUS_TEST_DATA"), rel);
}

static struct kube_config *load_ok(const char *kubeconfig_env, struct kube_config_options o) {
        memset(fake_env, 0, sizeof(fake_env));
        fake_env[0][0] = "KUBECONFIG";
        fake_env[0][1] = kubeconfig_env;
        o.getenv = fake_getenv;
        struct kube_config *c = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int r = kube_config_load(&o, &c, &err);
        cr_assert_eq(r, 0, "load failed: %s", err.message);
        return c;
}

static void load_fails(const char *kubeconfig_env, struct kube_config_options o, const char *message) {
        memset(fake_env, 0, sizeof(fake_env));
        fake_env[0][0] = "KUBECONFIG";
        fake_env[0][1] = kubeconfig_env;
        o.getenv = fake_getenv;
        struct kube_config *c = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_lt(kube_config_load(&o, &c, &err), 0, "loaded, wanted: %s", message);
        cr_assert(strcmp(err.message, message) == 0, "got \"%s\", want \"%s\"", err.message, message);
        /* Credentials never appear in errors. */
        cr_assert_null(strstr(err.message, "secret-token"));
        cr_assert_null(strstr(err.message, "hunter2"));
}

Test(kubeconfig, current_context_token_ca_file_relative) {
        char *a = data("a.yaml"), *ca = data("ca.crt");
        struct kube_config *c = load_ok(a, (struct kube_config_options){ 0 });
        cr_assert_str_eq(c->server, "https://a.example:6443");
        cr_assert_str_eq(c->token, "secret-token-a");
        cr_assert_str_eq(c->namespace, "team");
        cr_assert_str_eq(c->context, "a");
        cr_assert_str_eq(c->ca_file, ca, "a relative certificate-authority is relative to its kubeconfig");
        cr_assert_str_eq(c->tls_server_name, "api.a.example");
        cr_assert_not(c->insecure);
        kube_config_free(c);
        free(a);
        free(ca);
}

Test(kubeconfig, list_merge_first_file_wins) {
        char *a = data("a.yaml"), *b = data("b.yaml");
        char *ab = xasprintf("%s:%s", a, b), *ba = xasprintf("%s:%s", b, a);
        struct kube_config *c = load_ok(ab, (struct kube_config_options){ 0 });
        cr_assert_str_eq(c->context, "a", "current-context from the first file that sets it");
        cr_assert_str_eq(c->server, "https://a.example:6443", "cluster c1 from the first file");
        cr_assert_str_eq(c->token, "secret-token-a");
        kube_config_free(c);
        c = load_ok(ba, (struct kube_config_options){ 0 });
        cr_assert_str_eq(c->context, "b");
        cr_assert_str_eq(c->server, "https://b.example");
        cr_assert_str_eq(c->ca_data, "-----BEGIN CERTIFICATE-----\n", "certificate-authority-data is decoded");
        cr_assert_str_eq(c->token, "secret-token-b");
        kube_config_free(c);
        /* b:a — context "a" is b's (first wins), pointing at c2 */
        c = load_ok(ba, (struct kube_config_options){ .context = "basic" });
        cr_assert_str_eq(c->server, "https://10.0.0.1:6443");
        kube_config_free(c);
        free(a);
        free(b);
        free(ab);
        free(ba);
}

Test(kubeconfig, missing_files_in_the_list_are_skipped) {
        char *a = data("a.yaml");
        char *list = xasprintf("/nonexistent/one.yaml:%s:/nonexistent/two.yaml", a);
        struct kube_config *c = load_ok(list, (struct kube_config_options){ 0 });
        cr_assert_str_eq(c->context, "a");
        kube_config_free(c);
        free(list);
        free(a);
}

Test(kubeconfig, every_auth_kind) {
        char *a = data("a.yaml"), *tok = data("token");
        struct kube_config *c = load_ok(a, (struct kube_config_options){ .context = "basic" });
        cr_assert_str_eq(c->username, "admin");
        cr_assert_str_eq(c->password, "hunter2");
        cr_assert(c->insecure);
        cr_assert_str_eq(c->proxy_url, "http://proxy.example:3128");
        cr_assert_str_eq(c->namespace, "default");
        kube_config_free(c);
        c = load_ok(a, (struct kube_config_options){ .context = "tokenfile" });
        cr_assert_str_eq(c->token_file, tok);
        cr_assert_null(c->token);
        kube_config_free(c);
        c = load_ok(a, (struct kube_config_options){ .context = "certs" });
        cr_assert_str_eq(c->client_cert_data, "cert-pem");
        cr_assert_str_eq(c->client_key_data, "key-pem");
        kube_config_free(c);
        c = load_ok(a, (struct kube_config_options){ .context = "exec" });
        cr_assert_not_null(c->exec);
        cr_assert_str_eq(c->exec->command, "get-token");
        cr_assert_str_eq(c->exec->api_version, "client.authentication.k8s.io/v1");
        cr_assert_str_eq(c->exec->args[0], "--cluster");
        cr_assert_str_eq(c->exec->args[1], "c1");
        cr_assert_null(c->exec->args[2]);
        cr_assert_str_eq(c->exec->env[0], "REGION=eu");
        cr_assert_str_eq(c->exec->interactive_mode, "Never");
        kube_config_free(c);
        c = load_ok(a, (struct kube_config_options){ .context = "nouser" });
        cr_assert_null(c->token);
        kube_config_free(c);
        free(a);
        free(tok);
}

Test(kubeconfig, flags_override_the_context) {
        char *a = data("a.yaml"), *b = data("b.yaml");
        char *ab = xasprintf("%s:%s", a, b);
        struct kube_config *c = load_ok(ab, (struct kube_config_options){ .cluster = "c2", .user = "basic-user",
                                                                          .namespace = "override" });
        cr_assert_str_eq(c->server, "https://b.example");
        cr_assert_str_eq(c->username, "admin");
        cr_assert_str_eq(c->namespace, "override");
        kube_config_free(c);
        free(ab);
        free(a);
        free(b);
}

Test(kubeconfig, bad_ones) {
        char *a = data("a.yaml"), *b = data("b.yaml"), *broken = data("broken.yaml");
        char *ab = xasprintf("%s:%s", a, b);
        load_fails(a, (struct kube_config_options){ .context = "nope" },
                   "Error in configuration: context was not found for specified context: nope");
        load_fails(ab, (struct kube_config_options){ .context = "badca" }, "error: unable to read certificate-authority /nonexistent/ca.crt for missing-ca due to open /nonexistent/ca.crt: no such file or directory");
        load_fails(a, (struct kube_config_options){ .user = "ghost" }, "error: auth info \"ghost\" does not exist");
        load_fails(NULL, (struct kube_config_options){ .kubeconfig = "/nonexistent/kubeconfig" },
                   "error: stat /nonexistent/kubeconfig: no such file or directory");
        /* go-yaml says "line 3" here: it points at the line before the problem
         * (tests/data/yaml/DIFFERENCES.md). */
        char *want = xasprintf("error: error loading config file \"%s\": yaml: line 4: did not find expected node content",
                               broken);
        load_fails(broken, (struct kube_config_options){ 0 }, want);
        free(want);
        load_fails(a, (struct kube_config_options){ .cluster = "nowhere" }, "error: no server found for cluster \"nowhere\"");
        free(ab);
        free(a);
        free(b);
        free(broken);
}

Test(kubeconfig, in_cluster) {
        char *sa = data("sa");
        memset(fake_env, 0, sizeof(fake_env));
        fake_env[0][0] = "KUBERNETES_SERVICE_HOST";
        fake_env[0][1] = "10.96.0.1";
        fake_env[1][0] = "KUBERNETES_SERVICE_PORT";
        fake_env[1][1] = "443";
        struct kube_config_options o = { .getenv = fake_getenv, .service_account_dir = sa };
        struct kube_config *c = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kube_config_load(&o, &c, &err), 0, "%s", err.message);
        cr_assert(c->in_cluster);
        cr_assert_str_eq(c->server, "https://10.96.0.1:443");
        cr_assert_str_eq(c->namespace, "team-a");
        cr_assert(str_has_suffix(c->token_file, "/sa/token"));
        cr_assert(str_has_suffix(c->ca_file, "/sa/ca.crt"));
        kube_config_free(c);
        fake_env[0][1] = "fd00::1";
        cr_assert_eq(kube_config_load(&o, &c, &err), 0);
        cr_assert_str_eq(c->server, "https://[fd00::1]:443");
        kube_config_free(c);
        /* Neither a kubeconfig nor a cluster. */
        memset(fake_env, 0, sizeof(fake_env));
        cr_assert_eq(kube_config_load(&o, &c, &err), -ENOENT);
        cr_assert_str_eq(err.message, "error: no kubeconfig and not in a cluster: set KUBECONFIG or use --kubeconfig");
        free(sa);
}

Test(kubeconfig, exec_users_checked_as_client_go_does) {
        char *x = data("exec-bad.yaml");
        load_fails(x, (struct kube_config_options){ 0 },
                   "error: interactiveMode must be specified for v1-no-mode to use exec authentication plugin");
        load_fails(x, (struct kube_config_options){ .context = "bad-api" },
                   "error: exec plugin: invalid apiVersion \"client.authentication.k8s.io/v1alpha1\"");
        load_fails(x, (struct kube_config_options){ .context = "bad-mode" },
                   "error: exec plugin: invalid interactive mode: Sometimes");
        load_fails(x, (struct kube_config_options){ .context = "no-command" }, "error: exec plugin: command must be specified");
        load_fails(x, (struct kube_config_options){ .context = "missing-token-file" },
                   "error: open /nonexistent/token: no such file or directory");
        /* v1beta1 may leave interactiveMode out (IfAvailable). */
        struct kube_config *c = load_ok(x, (struct kube_config_options){ .context = "beta" });
        cr_assert_str_eq(c->exec->api_version, "client.authentication.k8s.io/v1beta1");
        cr_assert_null(c->exec->interactive_mode);
        cr_assert_str_eq(c->exec->install_hint, "brew install get-token");
        cr_assert_null(c->exec->args[0]);
        kube_config_free(c);
        free(x);
}

Test(kubeconfig, relative_kubeconfig_paths_become_absolute) {
        char *dir = data("");
        cr_assert_eq(chdir(dir), 0);
        struct kube_config *c = load_ok("a.yaml", (struct kube_config_options){ 0 });
        char *want = xasprintf("%sca.crt", dir);
        cr_assert_eq(c->ca_file[0], '/', "absolute: %s", c->ca_file);
        char *real_want = realpath(want, NULL), *real_got = realpath(c->ca_file, NULL);
        cr_assert_str_eq(real_got, real_want);
        free(real_want);
        free(real_got);
        free(want);
        kube_config_free(c);
        c = load_ok("./sa/../a.yaml", (struct kube_config_options){ .context = "tokenfile" });
        cr_assert_eq(c->token_file[0], '/');
        cr_assert_eq(access(c->token_file, R_OK), 0, "%s", c->token_file);
        kube_config_free(c);
        free(dir);
}

Test(kubeconfig, in_cluster_namespace_override_and_missing_token) {
        char *sa = data("sa");
        memset(fake_env, 0, sizeof(fake_env));
        fake_env[0][0] = "KUBERNETES_SERVICE_HOST";
        fake_env[0][1] = "10.96.0.1";
        fake_env[1][0] = "KUBERNETES_SERVICE_PORT";
        fake_env[1][1] = "443";
        struct kube_config_options o = { .getenv = fake_getenv, .service_account_dir = sa, .namespace = "other" };
        struct kube_config *c = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        cr_assert_eq(kube_config_load(&o, &c, &err), 0, "%s", err.message);
        cr_assert_str_eq(c->namespace, "other", "-n wins over the namespace file");
        cr_assert_null(c->token, "the token is read at request time (it rotates)");
        kube_config_free(c);
        o.service_account_dir = "/nonexistent/sa";
        cr_assert_lt(kube_config_load(&o, &c, &err), 0);
        cr_assert_str_eq(err.message, "error: in-cluster: open /nonexistent/sa/token: no such file or directory");
        free(sa);
}

Test(kubeconfig, in_cluster_first_or_only) {
        char *sa = data("sa"), *a = data("a.yaml");
        memset(fake_env, 0, sizeof(fake_env));
        fake_env[0][0] = "KUBECONFIG";
        fake_env[0][1] = a;
        struct kube_config_options o = { .getenv = fake_getenv, .service_account_dir = sa,
                                         .source = KUBE_CONFIG_IN_CLUSTER_FIRST };
        struct kube_config *c = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        /* Outside a Pod: the kubeconfig. */
        cr_assert_eq(kube_config_load(&o, &c, &err), 0, "%s", err.message);
        cr_assert_not(c->in_cluster);
        cr_assert_str_eq(c->server, "https://a.example:6443");
        kube_config_free(c);
        /* In a Pod: the service account, though KUBECONFIG is set. */
        fake_env[1][0] = "KUBERNETES_SERVICE_HOST";
        fake_env[1][1] = "10.96.0.1";
        fake_env[2][0] = "KUBERNETES_SERVICE_PORT";
        fake_env[2][1] = "443";
        cr_assert_eq(kube_config_load(&o, &c, &err), 0, "%s", err.message);
        cr_assert(c->in_cluster);
        kube_config_free(c);
        /* kubectl's rule prefers the kubeconfig. */
        o.source = KUBE_CONFIG_AUTO;
        cr_assert_eq(kube_config_load(&o, &c, &err), 0, "%s", err.message);
        cr_assert_not(c->in_cluster);
        kube_config_free(c);
        /* Only in-cluster, outside a Pod. */
        o.source = KUBE_CONFIG_IN_CLUSTER_ONLY;
        fake_env[1][0] = NULL;
        cr_assert_eq(kube_config_load(&o, &c, &err), -ENOENT);
        cr_assert_str_eq(err.message, "error: unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and "
                                      "KUBERNETES_SERVICE_PORT must be defined");
        free(sa);
        free(a);
}

/* A kubeconfig written for one test; returns its path (the caller frees and unlinks). */
static char *write_kubeconfig(const char *text) {
        char *path = xstrdup("/tmp/kstatus-kubeconfig.XXXXXX");
        int fd = mkstemp(path);
        cr_assert_geq(fd, 0);
        cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
        return path;
}

static const char hostile_users[] = "apiVersion: v1\n"
                                    "kind: Config\n"
                                    "current-context: tls\n"
                                    "clusters:\n"
                                    "- {name: tls, cluster: {server: 'https://a.example:6443'}}\n"
                                    "- {name: plain, cluster: {server: 'http://a.example:8080'}}\n"
                                    "- {name: plain-upper, cluster: {server: 'HTTP://a.example:8080'}}\n"
                                    "contexts:\n"
                                    "- {name: tls, context: {cluster: tls, user: token-user, namespace: team}}\n"
                                    "- {name: plain, context: {cluster: plain, user: token-user}}\n"
                                    "- {name: plain-upper, context: {cluster: plain-upper, user: basic-user}}\n"
                                    "- {name: plain-certs, context: {cluster: plain, user: cert-user}}\n"
                                    "- {name: crlf, context: {cluster: tls, user: crlf-user}}\n"
                                    "- {name: del, context: {cluster: tls, user: del-user}}\n"
                                    "- {name: basic-nl, context: {cluster: tls, user: basic-nl-user}}\n"
                                    "users:\n"
                                    "- {name: token-user, user: {token: secret-token-t}}\n"
                                    "- {name: basic-user, user: {username: admin, password: hunter2}}\n"
                                    "- {name: cert-user, user: {client-certificate-data: Y2VydC1wZW0=, "
                                    "client-key-data: a2V5LXBlbQ==}}\n"
                                    "- {name: crlf-user, user: {token: \"secret-token\\r\\nX-Injected: 1\"}}\n"
                                    "- {name: del-user, user: {token: \"secret-token\\x7f\"}}\n"
                                    "- {name: basic-nl-user, user: {username: \"admin\\n\", password: hunter2}}\n";

/* As client-go's ClientConfig: the user's credentials are read only for a
 * server spoken to over TLS, so none goes over plain http. */
Test(kubeconfig, credentials_only_over_tls) {
        char *path = write_kubeconfig(hostile_users);
        struct kube_config *c = load_ok(path, (struct kube_config_options){ 0 });
        cr_assert_str_eq(c->token, "secret-token-t");
        kube_config_free(c);
        c = load_ok(path, (struct kube_config_options){ .context = "plain" });
        cr_assert_null(c->token, "a token for an http:// server");
        kube_config_free(c);
        c = load_ok(path, (struct kube_config_options){ .context = "plain-upper" });
        cr_assert_null(c->username);
        cr_assert_null(c->password, "basic auth for an HTTP:// server");
        kube_config_free(c);
        c = load_ok(path, (struct kube_config_options){ .context = "plain-certs" });
        cr_assert_null(c->client_cert_data);
        cr_assert_null(c->client_key_data);
        kube_config_free(c);
        unlink(path);
        free(path);
}

/* A server set after loading (the plugin's --server) that is plain http
 * drops what the user and the flags gave, as client-go does. */
Test(kubeconfig, credentials_dropped_for_a_server_made_plain_http) {
        char *path = write_kubeconfig(hostile_users);
        struct kube_config *c = load_ok(path, (struct kube_config_options){ 0 });
        kube_config_drop_plain_http_credentials(c);
        cr_assert_str_eq(c->token, "secret-token-t", "https: kept");
        free(c->server);
        c->server = xstrdup("http://127.0.0.1:8080");
        c->username = xstrdup("u");
        c->password = xstrdup("p");
        kube_config_drop_plain_http_credentials(c);
        cr_assert_null(c->token);
        cr_assert_null(c->username);
        cr_assert_null(c->password);
        cr_assert_null(c->exec);
        kube_config_free(c);
        unlink(path);
        free(path);
}

/* A control character in a credential would reach the wire as a header of
 * its own: refused when the kubeconfig is loaded. */
Test(kubeconfig, credentials_with_control_characters_refused) {
        char *path = write_kubeconfig(hostile_users);
        load_fails(path, (struct kube_config_options){ .context = "crlf" },
                   "error: the token of user \"crlf-user\" contains a control character");
        load_fails(path, (struct kube_config_options){ .context = "del" },
                   "error: the token of user \"del-user\" contains a control character");
        load_fails(path, (struct kube_config_options){ .context = "basic-nl" },
                   "error: the username of user \"basic-nl-user\" contains a control character");
        unlink(path);
        free(path);
}

/* kubectl: `-n ''` is no namespace given, so the context's namespace holds. */
Test(kubeconfig, empty_namespace_option_means_the_contexts) {
        char *path = write_kubeconfig(hostile_users);
        struct kube_config *c = load_ok(path, (struct kube_config_options){ .namespace = "" });
        cr_assert_str_eq(c->namespace, "team");
        kube_config_free(c);
        unlink(path);
        free(path);
}

/* client-go's transport.New refuses a CA together with insecure-skip-tls-verify. */
Test(kubeconfig, insecure_with_a_ca_refused) {
        char *ca = data("ca.crt");
        char *text = xasprintf("apiVersion: v1\nkind: Config\ncurrent-context: file\n"
                               "clusters:\n"
                               "- {name: file, cluster: {server: 'https://a.example', insecure-skip-tls-verify: true, "
                               "certificate-authority: '%s'}}\n"
                               "- {name: data, cluster: {server: 'https://a.example', insecure-skip-tls-verify: true, "
                               "certificate-authority-data: Y2VydC1wZW0=}}\n"
                               "contexts:\n"
                               "- {name: file, context: {cluster: file}}\n"
                               "- {name: data, context: {cluster: data}}\n",
                               ca);
        char *path = write_kubeconfig(text);
        load_fails(path, (struct kube_config_options){ 0 },
                   "error: specifying a root certificates file with the insecure flag is not allowed");
        load_fails(path, (struct kube_config_options){ .context = "data" },
                   "error: specifying a root certificates file with the insecure flag is not allowed");
        unlink(path);
        free(path);
        free(text);
        free(ca);
}

Test(kubeconfig, impersonation_over_plain_http) {
        char *f = data("impersonate.yaml");
        struct kube_config *c = load_ok(f, (struct kube_config_options){ 0 });
        cr_assert_null(c->token, "a token only for a TLS server");
        cr_assert_str_eq(c->impersonate_user, "jane", "impersonation whatever the scheme, as client-go");
        cr_assert_str_eq(c->impersonate_uid, "1234");
        cr_assert_not_null(c->impersonate_groups);
        cr_assert_str_eq(c->impersonate_groups[0], "devs");
        cr_assert_str_eq(c->impersonate_groups[1], "a,b");
        cr_assert_null(c->impersonate_groups[2]);
        char *extra = json_dumps(c->impersonate_extra, JSON_SORT_KEYS | JSON_COMPACT);
        cr_assert_str_eq(extra, "{\"Reason/Why\":[\"audit\"],\"scopes\":[\"view\",\"edit\"]}");
        cr_assert_str_eq(c->user, "admin");
        cr_assert(c->disable_compression);
        free(extra);
        kube_config_free(c);
        free(f);
}
