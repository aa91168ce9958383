/* exec credential plugins (client.authentication.k8s.io/v1 and v1beta1), run
 * and cached as client-go does: the credential is kept until its
 * expirationTimestamp (an expired one is used for the request at hand and the
 * plugin runs again next time), and dropped when the server answers 401. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kube/internal.h"

extern char **environ;

#define MAX_PLUGIN_OUTPUT (1u << 20)

void kube_exec_cred_clear(struct kube_exec_cred *cred) {
        kube_secret_free(cred->token);
        kube_secret_free(cred->key);
        free(cred->cert);
        *cred = (struct kube_exec_cred){ 0 };
}

/* RFC 3339 as the plugin writes it ("2026-01-02T15:04:05Z", fractions and
 * offsets allowed) to seconds since the epoch; -1 when unreadable. */
static int64_t parse_rfc3339(const char *s) {
        struct tm tm = { 0 };
        const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!p)
                return -1;
        if (*p == '.')
                for (p++; *p >= '0' && *p <= '9'; p++)
                        ;
        int64_t t = (int64_t)timegm(&tm);
        if (*p == 'Z' || *p == 'z')
                return p[1] ? -1 : t;
        int hh, mm;
        char sign;
        if (sscanf(p, "%c%2d:%2d", &sign, &hh, &mm) != 3 || (sign != '+' && sign != '-'))
                return -1;
        int64_t off = (int64_t)hh * 3600 + mm * 60;
        return sign == '+' ? t - off : t + off;
}

static const char install_help[] =
        "\n\nIt looks like you are trying to use a client-go credential plugin that is not installed.\n\n"
        "To learn more about this feature, consult the documentation available at:\n"
        "      https://kubernetes.io/docs/reference/access-authn-authz/authentication/#client-go-credential-plugins";

/* Go's exec.LookPath: a command with a slash is used as it is, else the
 * first executable file of that name in PATH. Looked up here rather than
 * left to posix_spawnp so "not found" is told apart from a plugin that
 * exits 127. */
static char *look_path(const char *command) {
        if (strchr(command, '/'))
                return access(command, X_OK) == 0 ? xstrdup(command) : NULL;
        const char *path = getenv("PATH");
        _cleanup_free_ char *copy = xstrdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
        char *save = NULL;
        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                char *full = xasprintf("%s/%s", *dir ? dir : ".", command);
                struct stat st;
                if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0)
                        return full;
                free(full);
        }
        return NULL;
}

static bool env_overridden(const char *entry, char *const *x_env) {
        for (size_t j = 0; x_env && x_env[j]; j++) {
                size_t nl = strcspn(x_env[j], "=");
                if (strncmp(entry, x_env[j], nl) == 0 && entry[nl] == '=')
                        return true;
        }
        return false;
}

/* The plugin's environment: ours, then the kubeconfig's, then
 * KUBERNETES_EXEC_INFO (info, borrowed like the rest). A new array. */
static char **plugin_env(const struct kube_exec_config *x, char *info) {
        size_t n_env = 0, n_x = 0, k = 0;
        while (environ && environ[n_env])
                n_env++;
        while (x->env && x->env[n_x])
                n_x++;
        char **envp = xcalloc(n_env + n_x + 2, sizeof(char *));
        for (size_t i = 0; i < n_env; i++)
                if (!str_has_prefix(environ[i], "KUBERNETES_EXEC_INFO=") && !env_overridden(environ[i], x->env))
                        envp[k++] = environ[i];
        for (size_t j = 0; j < n_x; j++)
                envp[k++] = x->env[j];
        envp[k++] = info;
        envp[k] = NULL;
        return envp;
}

static char **plugin_argv(const struct kube_exec_config *x) {
        size_t n_args = 0;
        while (x->args && x->args[n_args])
                n_args++;
        char **argv = xcalloc(n_args + 2, sizeof(char *));
        argv[0] = x->command;
        for (size_t i = 0; i < n_args; i++)
                argv[i + 1] = x->args[i];
        return argv;
}

static int not_found(const struct kube_exec_config *x, struct kstatus_error *err) {
        _cleanup_free_ char *hint = x->install_hint ? xasprintf("\n\n%s", x->install_hint) : NULL;
        return kstatus_error_set(err, ENOENT, 0, 0, "getting credentials: exec: executable %s not found%s%s",
                                 x->command, install_help, hint ? hint : "");
}

/* Start the plugin with its stdout on a pipe: *ret_fd to read it from. */
static int spawn_plugin(const struct kube_exec_config *x, bool interactive, pid_t *ret_pid, int *ret_fd,
                        struct kstatus_error *err) {
        _cleanup_free_ char *exe = look_path(x->command);
        if (!exe)
                return not_found(x, err);
        const char *api = x->api_version ? x->api_version : "client.authentication.k8s.io/v1beta1";
        _cleanup_free_ char *info = xasprintf(
                "KUBERNETES_EXEC_INFO={\"kind\":\"ExecCredential\",\"apiVersion\":\"%s\",\"spec\":{\"interactive\":%s}}",
                api, interactive ? "true" : "false");
        _cleanup_free_ char **envp = plugin_env(x, info);
        _cleanup_free_ char **argv = plugin_argv(x);
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return kstatus_error_set(err, errno, 0, 0, "getting credentials: exec: %s", strerror(errno));
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
        if (!interactive)
                posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        int r = posix_spawn(ret_pid, exe, &fa, NULL, argv, envp);
        posix_spawn_file_actions_destroy(&fa);
        close(pipefd[1]);
        if (r != 0) {
                close(pipefd[0]);
                if (r == ENOENT || r == EACCES || r == ENOEXEC)
                        return not_found(x, err);
                return kstatus_error_set(err, r, 0, 0, "getting credentials: exec: %s", strerror(r));
        }
        *ret_fd = pipefd[0];
        return 0;
}

/* Read fd to its end into *out (NUL-terminated): false when it passed
 * MAX_PLUGIN_OUTPUT. The chunk held a credential: it is wiped. */
static bool read_output(int fd, struct kstatus_buf *out) {
        char chunk[4096];
        bool fits = true;
        for (;;) {
                ssize_t got = read(fd, chunk, sizeof(chunk));
                if (got < 0 && errno == EINTR)
                        continue;
                if (got <= 0)
                        break;
                kstatus_buf_put(out, chunk, (size_t)got);
                if (out->len > MAX_PLUGIN_OUTPUT) {
                        fits = false;
                        break;
                }
        }
        explicit_bzero(chunk, sizeof(chunk));
        return fits;
}

static int run_plugin(const struct kube_exec_config *x, bool interactive, char **ret, size_t *ret_len,
                      struct kstatus_error *err) {
        pid_t pid = 0;
        int fd = -1;
        int r = spawn_plugin(x, interactive, &pid, &fd, err);
        if (r < 0)
                return r;
        struct kstatus_buf out = { 0 };
        bool fits = read_output(fd, &out);
        close(fd);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (fits && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                *ret = out.data ? out.data : xstrdup("");
                *ret_len = out.len;
                return 0;
        }
        if (out.data)
                explicit_bzero(out.data, out.len);
        free(out.data);
        if (!fits)
                return kstatus_error_set(err, E2BIG, 0, 0, "getting credentials: exec: executable %s wrote more than 1 MiB",
                                         x->command);
        return kstatus_error_set(err, EPERM, 0, 0, "getting credentials: exec: executable %s failed with exit code %d",
                                 x->command, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int kube_exec_credential(struct kube_client *c, struct kstatus_error *err) {
        const struct kube_exec_config *x = c->config->exec;
        struct kube_exec_cred *cred = &c->exec_cred;
        if (cred->valid && (cred->expires_s == 0 || (int64_t)time(NULL) < cred->expires_s))
                return 0;
        kube_exec_cred_clear(cred);

        const char *mode = x->interactive_mode ? x->interactive_mode : "IfAvailable";
        bool tty = isatty(STDIN_FILENO);
        if (strcmp(mode, "Always") == 0 && !tty)
                return kstatus_error_set(err, EPERM, 0, 0,
                                         "getting credentials: exec plugin cannot support interactive mode: "
                                         "standard input is not a terminal");
        bool interactive = strcmp(mode, "Never") != 0 && tty;

        _cleanup_free_ char *out = NULL;
        size_t len = 0;
        c->exec_runs++;
        int r = run_plugin(x, interactive, &out, &len, err);
        if (r < 0)
                return r;
        return kube_exec_cred_parse(x, out, len, cred, err);
}

int kube_exec_cred_parse(const struct kube_exec_config *x, char *out, size_t len, struct kube_exec_cred *cred,
                         struct kstatus_error *err) {
        json_error_t je;
        json_t *doc = json_loadb(out, len, 0, &je);
        explicit_bzero(out, len);
        _cleanup_json_ json_t *cleanup = doc;
        if (!json_is_object(doc))
                return kstatus_error_set(err, EINVAL, 0, 0, "getting credentials: decoding stdout: %s",
                                         doc ? "not an object" : je.text);
        const char *kind = json_string_value(json_object_get(doc, "kind"));
        const char *api = json_string_value(json_object_get(doc, "apiVersion"));
        const char *want = x->api_version ? x->api_version : "client.authentication.k8s.io/v1beta1";
        if (!kind || strcmp(kind, "ExecCredential") != 0 || !api)
                return kstatus_error_set(err, EINVAL, 0, 0,
                                         "getting credentials: decoding stdout: no kind \"ExecCredential\" is registered");
        if (strcmp(api, want) != 0)
                return kstatus_error_set(err, EINVAL, 0, 0,
                                         "getting credentials: exec plugin is configured to use API version %s, "
                                         "plugin returned version %s",
                                         want, api);
        json_t *st = json_object_get(doc, "status");
        if (!json_is_object(st))
                return kstatus_error_set(err, EINVAL, 0, 0,
                                         "getting credentials: exec plugin didn't return a status field");
        const char *token = json_string_value(json_object_get(st, "token"));
        const char *cert = json_string_value(json_object_get(st, "clientCertificateData"));
        const char *key = json_string_value(json_object_get(st, "clientKeyData"));
        if ((cert && *cert) != (key && *key))
                return kstatus_error_set(err, EINVAL, 0, 0,
                                         "getting credentials: exec plugin returned only certificate or key, not both");
        if (!(token && *token) && !(cert && *cert))
                return kstatus_error_set(err, EINVAL, 0, 0,
                                         "getting credentials: exec plugin didn't return a token or cert/key pair");
        if (token && kube_has_control(token))
                return kstatus_error_set(err, EINVAL, 0, 0,
                                         "getting credentials: exec plugin returned a token with a control character");
        const char *exp = json_string_value(json_object_get(st, "expirationTimestamp"));
        int64_t expires = 0;
        if (exp && *exp) {
                expires = parse_rfc3339(exp);
                if (expires < 0)
                        return kstatus_error_set(err, EINVAL, 0, 0,
                                                 "getting credentials: decoding stdout: invalid expirationTimestamp \"%s\"",
                                                 exp);
                /* An already expired credential still serves this request;
                 * the plugin runs again for the next one. */
                if (expires == 0)
                        expires = 1;
        }
        cred->token = token && *token ? xstrdup(token) : NULL;
        cred->cert = cert && *cert ? xstrdup(cert) : NULL;
        cred->key = key && *key ? xstrdup(key) : NULL;
        cred->expires_s = expires;
        cred->valid = true;
        /* Wipe the parsed copy too. */
        json_t *t = json_object_get(st, "token");
        if (token)
                explicit_bzero((char *)json_string_value(t), strlen(token));
        if (key)
                explicit_bzero((char *)json_string_value(json_object_get(st, "clientKeyData")), strlen(key));
        return 1;
}
