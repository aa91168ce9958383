/* Shell completion. `__complete ARGS... PARTIAL` answers in cobra's protocol
 * (one candidate a line, then ":<directive>"), which is what kubectl expects
 * from a kubectl_complete-kstatus executable; `completion SHELL` prints a
 * script for bash, zsh or fish that asks the same question. */
#include <stdlib.h>
#include <string.h>

#include "kube-args.h"

/* cobra's ShellCompDirective values */
enum { DIRECTIVE_DEFAULT = 0, DIRECTIVE_NO_FILE = 4 };

const char completion_usage[] =
        "Print a shell completion script for kubectl-kstatus.\n"
        "\n"
        "Usage:\n"
        "  kubectl kstatus completion bash|zsh|fish\n"
        "\n"
        "Examples:\n"
        "  source <(kubectl kstatus completion bash)\n"
        "  kubectl kstatus completion fish > ~/.config/fish/completions/kubectl-kstatus.fish\n"
        "\n"
        "For `kubectl kstatus <TAB>` through kubectl's own completion, put kubectl_complete-kstatus (shipped\n"
        "beside the plugin) on PATH.\n";

struct flag_values {
        const char *command; /* NULL: any */
        const char *flag;
        const char *const *values;
};

static const char *const outputs[] = { "json", "yaml", NULL };
static const char *const modes[] = { "deep", "shallow", NULL };
static const char *const workflows[] = { "configure", "none", NULL };
static const char *const shells[] = { "bash", "zsh", "fish", NULL };
static const char *const get_outputs[] = { "wide",           "json",
                                           "yaml",           "name",
                                           "kstatus-json",   "kstatus-yaml",
                                           "jsonpath=",      "jsonpath-file=",
                                           "jsonpath-as-json=", "custom-columns=",
                                           "custom-columns-file=", "go-template=",
                                           "go-template-file=", NULL };
static const char *const describe_outputs[] = { "json", "yaml", "wide", NULL };
static const char *const colors[] = { "auto", "always", "never", NULL };
static const char *const fors[] = { "condition=ConfigureWorkflowCompleted", "condition=", "health=healthy",
                                    "health=ready", "message=", "delete", "create", "jsonpath=", NULL };
static const char *const containers[] = { "reader", "pipeline", "work-writer", "status-writer", "kstatus-sidecar",
                                          NULL };

static const struct flag_values flag_values[] = {
        { "get", "-o", get_outputs },      { "get", "--output", get_outputs },
        { "describe", "-o", describe_outputs }, { "describe", "--output", describe_outputs },
        { NULL, "-o", outputs },           { NULL, "--output", outputs },
        { NULL, "--color", colors },       { "wait", "--for", fors },
        { "merge", "--merge", modes },     { "inject", "--merge", modes },
        { "merge", "--workflow", workflows }, { "logs", "-c", containers },
        { "logs", "--container", containers },
};

#define KUBE_FLAGS "--namespace", "--all-namespaces", "--selector", "--context", "--kubeconfig", "--request-timeout", "--color"
static const char *const command_flags[][20] = {
        { "describe", "--output", "--absolute-time", "--show-events", KUBE_FLAGS, NULL },
        { "get", "--output", "--no-headers", "--watch", "--all-kratix", KUBE_FLAGS, NULL },
        { "wait", "--for", "--timeout", "--any", KUBE_FLAGS, NULL },
        { "logs", "--pipeline", "--container", "--follow", "--previous", "--tail", "--since", "--all-runs",
          "--namespace", "--context", "--kubeconfig", "--request-timeout", "--color", NULL },
        { "trace", "--output", KUBE_FLAGS, NULL },
        { "lint", "--output", "--quiet", "--max-file-size", "--max-depth", "--max-nodes", "--max-status-size",
          "--max-status-memory", NULL },
        { "merge", "--base", "--merge", "--workflow", "--output", "--max-file-size", "--max-depth", NULL },
        { "inject", "--filename", "--image", "--merge", "--rbac", "--output", NULL },
        { "version", "--output", NULL },
};

/* The commands whose arguments are TYPE[/NAME] [NAME...] (how many names: 0 any). */
static const struct {
        const char *command;
        int max_names;
} resource_commands[] = { { "describe", 0 }, { "get", 0 }, { "wait", 0 }, { "logs", 1 }, { "trace", 1 } };

/* Flags that take the next word as their value (unless given as --flag=value). */
static const char *const value_flags[] = { "-n", "--namespace", "-l", "--selector", "--context", "--kubeconfig",
                                           "--cluster", "--user", "-s", "--server", "--token", "--request-timeout",
                                           "--color", "-o", "--output", "--for", "--timeout", "--pipeline", "-c",
                                           "--container", "--tail", "--since", "--certificate-authority",
                                           "--client-certificate", "--client-key", "--tls-server-name",
                                           "--username", "--password", "--as", "--as-group", "--as-uid",
                                           "--cache-dir", "--profile", "--profile-output",
                                           "--log-flush-frequency", "--vmodule", NULL };

static bool in_list(const char *const *list, const char *s) {
        for (; *list; list++)
                if (strcmp(*list, s) == 0)
                        return true;
        return false;
}

static void candidates(const char *const *list, const char *partial) {
        for (; *list; list++)
                if (str_has_prefix(*list, partial))
                        puts(*list);
}

static int directive(int d) {
        printf(":%d\n", d);
        return 0;
}

/* ---- from the cluster, as kubectl's completion asks it ---- */

/* The global flags among the words typed (kubectl hands them all over). */
static void words_kube_args(char **words, int n, struct kube_args *k) {
        static const struct option options[] = { KUBE_ARGS_OPTIONS, {} };
        for (int i = 0; i < n; i++) {
                const char *w = words[i], *eq = strchr(w, '=');
                if (w[0] != '-')
                        continue; /* -A too: kubectl's completion lists the namespace's names */
                _cleanup_free_ char *name = eq ? xstrndup(w, (size_t)(eq - w)) : xstrdup(w);
                const char *value = eq ? eq + 1 : i + 1 < n ? words[i + 1] : NULL;
                int id = strcmp(name, "-n") == 0 ? 'n' : strcmp(name, "-s") == 0 ? 's' : 0;
                for (size_t o = 0; !id && options[o].name; o++)
                        if (str_has_prefix(name, "--") && strcmp(name + 2, options[o].name) == 0 &&
                            options[o].has_arg == required_argument)
                                id = options[o].val;
                if (!id || !value)
                        continue;
                (void)kube_args_option(k, id, value);
                if (!eq)
                        i++;
        }
        if (!k->request_timeout_ms)
                k->request_timeout_ms = 5000; /* kubectl's completion: --request-timeout=5s */
}

static int by_string(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Print the names in list (new array of strings), sorted, that start with prefix + partial. */
static void print_sorted(json_t *list, const char *prefix, const char *partial, const char *const *exclude) {
        size_t n = json_array_size(list), i;
        const char **v = xcalloc(n + 1, sizeof(char *));
        for (i = 0; i < n; i++)
                v[i] = json_string_value(json_array_get(list, i));
        qsort(v, n, sizeof(char *), by_string);
        for (i = 0; i < n; i++) {
                if (!v[i] || (i > 0 && strcmp(v[i], v[i - 1]) == 0) || (exclude && in_list(exclude, v[i])))
                        continue;
                _cleanup_free_ char *word = xasprintf("%s%s", prefix, v[i]);
                _cleanup_free_ char *safe = escape_for_terminal(word);
                if (str_has_prefix(word, partial))
                        puts(safe);
        }
        free(v);
}

static json_t *item_names(const json_t *list) {
        json_t *names = json_array();
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(list, "items"), i, x) {
                const char *name = json_string_value(json_object_get(json_object_get(x, "metadata"), "name"));
                if (name)
                        json_array_append_new(names, json_string(name));
        }
        return names;
}

static void complete_namespaces(struct kube_session *s, const char *partial) {
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        _cleanup_json_ json_t *list = NULL;
        if (kube_client_list(s->client, "/api/v1/namespaces", 500, NULL, NULL, &list, &err) < 0) {
                kstatus_error_done(&err);
                return;
        }
        _cleanup_json_ json_t *names = item_names(list);
        print_sorted(names, "", partial, NULL);
}

/* Resource types as `kubectl api-resources -o name` names them, sorted by group then name. */
static void complete_types(struct kube_session *s, const char *partial) {
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        const json_t *resources;
        if (kube_discovery_resources(s->discovery, &resources, &err) < 0) {
                kstatus_error_done(&err);
                return;
        }
        _cleanup_json_ json_t *core = json_array(), *grouped = json_array();
        size_t i;
        json_t *r;
        json_array_foreach(resources, i, r) {
                const char *group = json_string_value(json_object_get(r, "group"));
                const char *res = json_string_value(json_object_get(r, "resource"));
                if (!group || !res)
                        continue;
                if (*group)
                        json_array_append_new(grouped, json_sprintf("%s\x01%s", group, res));
                else
                        json_array_append_new(core, json_string(res));
        }
        print_sorted(core, "", partial, NULL);
        /* "group\x01resource" sorts by group, then resource: print as resource.group. */
        size_t n = json_array_size(grouped);
        const char **v = xcalloc(n + 1, sizeof(char *));
        for (i = 0; i < n; i++)
                v[i] = json_string_value(json_array_get(grouped, i));
        qsort(v, n, sizeof(char *), by_string);
        for (i = 0; i < n; i++) {
                if (i > 0 && strcmp(v[i], v[i - 1]) == 0)
                        continue;
                const char *sep = strchr(v[i], '\x01');
                _cleanup_free_ char *word = xasprintf("%s.%.*s", sep + 1, (int)(sep - v[i]), v[i]);
                _cleanup_free_ char *safe = escape_for_terminal(word);
                if (str_has_prefix(word, partial))
                        puts(safe);
        }
        free(v);
}

/* Names of objects of type (as typed) in -n's namespace, each after prefix. */
static void complete_names(struct kube_session *s, const char *type, const char *prefix,
                           const char *partial, const char *const *exclude) {
        struct kube_resource res = { 0 };
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        if (kube_discovery_resolve(s->discovery, type, &res, NULL, &err) < 0) {
                kstatus_error_done(&err);
                return;
        }
        _cleanup_free_ char *path = kube_resource_path(&res, s->namespace, NULL, NULL);
        kube_resource_done(&res);
        _cleanup_json_ json_t *list = NULL;
        if (kube_client_list(s->client, path, 500, NULL, NULL, &list, &err) < 0) {
                kstatus_error_done(&err);
                return;
        }
        _cleanup_json_ json_t *names = item_names(list);
        print_sorted(names, prefix, partial, exclude);
}

static void complete_contexts(const struct kube_args *k, const char *partial) {
        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
        _cleanup_json_ json_t *names = NULL;
        if (kube_config_contexts(&k->config, &names, &e) == 0)
                print_sorted(names, "", partial, NULL);
}

/* Positional words (not flags, not flag values) of words[0..n). New array of borrowed pointers. */
static const char **positionals(char **words, int n, size_t *ret_n) {
        const char **out = xcalloc((size_t)n + 1, sizeof(char *));
        size_t k = 0;
        for (int i = 0; i < n; i++) {
                if (words[i][0] != '-')
                        out[k++] = words[i];
                else if (!strchr(words[i], '=') && in_list(value_flags, words[i]))
                        i++;
        }
        *ret_n = k;
        return out;
}

/* TYPE[/NAME] [NAME...]: types, TYPE/names, or names of the type given. */
static void complete_resource_args(char **words, int n, int max_names, const char *partial) {
        struct kube_args k = { 0 };
        words_kube_args(words, n, &k);
        size_t np;
        _cleanup_free_ const char **pos = positionals(words, n, &np);
        const char *slash = strchr(partial, '/');
        if (np > 0 && (strchr(pos[0], '/') || (max_names && np > (size_t)max_names)))
                return;
        _cleanup_(kube_session_close) struct kube_session s = { 0 };
        /* An error goes to stderr, which the shell scripts and kubectl do not show. */
        if (kube_session_open(&k, &s))
                return;
        if (np == 0 && slash) {
                _cleanup_free_ char *type = xstrndup(partial, (size_t)(slash - partial));
                _cleanup_free_ char *prefix = xasprintf("%s/", type);
                complete_names(&s, type, prefix, partial, NULL);
        } else if (np == 0)
                complete_types(&s, partial);
        else
                complete_names(&s, pos[0], "", partial, pos + 1);
}

static void complete_cluster_value(char **words, int n, const char *flag, const char *partial) {
        struct kube_args k = { 0 };
        words_kube_args(words, n, &k);
        if (strcmp(flag, "--context") == 0) {
                complete_contexts(&k, partial);
                return;
        }
        _cleanup_(kube_session_close) struct kube_session s = { 0 };
        if (kube_session_open(&k, &s) == 0)
                complete_namespaces(&s, partial);
}

/* The value of flag (prev word, or --flag= in partial) for command. true when flag takes values we know. */
static bool complete_flag_value(const char *command, char **words, int n, const char *flag, const char *partial) {
        if (strcmp(flag, "-n") == 0 || strcmp(flag, "--namespace") == 0 || strcmp(flag, "--context") == 0) {
                complete_cluster_value(words, n, strcmp(flag, "--context") == 0 ? "--context" : "-n", partial);
                return true;
        }
        for (size_t i = 0; i < ELEMENTSOF(flag_values); i++) {
                if ((!flag_values[i].command || strcmp(flag_values[i].command, command) == 0) &&
                    strcmp(flag_values[i].flag, flag) == 0) {
                        candidates(flag_values[i].values, partial);
                        return true;
                }
        }
        return false;
}

static int resource_command_names(const char *command) {
        for (size_t i = 0; i < ELEMENTSOF(resource_commands); i++)
                if (strcmp(resource_commands[i].command, command) == 0)
                        return resource_commands[i].max_names;
        return -1;
}

int cmd_complete(int argc, char **argv, const char *const *commands) {
        /* argv[0] = "__complete", argv[1..argc-2] = words so far, argv[argc-1] = partial word */
        const char *partial = argc > 1 ? argv[argc - 1] : "";
        int words = argc - 2;
        if (words <= 0) {
                candidates(commands, partial);
                return directive(DIRECTIVE_NO_FILE);
        }
        const char *command = argv[1];
        char **rest = argv + 2;
        int n_rest = words - 1;
        const char *prev = argv[argc - 2];
        const char *eq = str_has_prefix(partial, "--") ? strchr(partial, '=') : NULL;
        if (eq) { /* --flag=partial: the value, as cobra completes it */
                _cleanup_free_ char *flag = xstrndup(partial, (size_t)(eq - partial));
                if (complete_flag_value(command, rest, n_rest, flag, eq + 1))
                        return directive(DIRECTIVE_NO_FILE);
        }
        if (words > 1 && complete_flag_value(command, rest, n_rest, prev, partial))
                return directive(DIRECTIVE_NO_FILE);
        if (strcmp(command, "completion") == 0) {
                if (words == 1)
                        candidates(shells, partial);
                return directive(DIRECTIVE_NO_FILE);
        }
        if (partial[0] == '-') {
                for (size_t i = 0; i < ELEMENTSOF(command_flags); i++)
                        if (strcmp(command_flags[i][0], command) == 0)
                                candidates(&command_flags[i][1], partial);
                return directive(DIRECTIVE_NO_FILE);
        }
        int max_names = resource_command_names(command);
        if (max_names >= 0) {
                complete_resource_args(rest, n_rest, max_names, partial);
                return directive(DIRECTIVE_NO_FILE);
        }
        /* lint, merge, inject and --base/-f take files. */
        return directive(DIRECTIVE_DEFAULT);
}

int cmd_completion(int argc, char **argv) {
        if (argc != 2)
                return usage_error("completion takes one shell: bash, zsh or fish");
        const char *shell = argv[1];
        if (strcmp(shell, "bash") == 0 || strcmp(shell, "zsh") == 0) {
                if (strcmp(shell, "zsh") == 0)
                        fputs("#compdef kubectl-kstatus\nautoload -U +X bashcompinit && bashcompinit\n", stdout);
                fputs("_kubectl_kstatus() {\n"
                      "    local cur=${COMP_WORDS[COMP_CWORD]} out directive\n"
                      "    out=$(kubectl-kstatus __complete \"${COMP_WORDS[@]:1:COMP_CWORD}\" 2>/dev/null) || return\n"
                      "    directive=${out##*:}\n"
                      "    out=${out%:*}\n"
                      "    COMPREPLY=($(compgen -W \"$out\" -- \"$cur\"))\n"
                      "    if [ \"$directive\" = 0 ]; then COMPREPLY+=($(compgen -f -- \"$cur\")); fi\n"
                      "}\n"
                      "complete -o default -F _kubectl_kstatus kubectl-kstatus\n",
                      stdout);
                return 0;
        }
        if (strcmp(shell, "fish") == 0) {
                fputs("function __kubectl_kstatus_complete\n"
                      "    set -l words (commandline -opc)[2..-1]\n"
                      "    kubectl-kstatus __complete $words (commandline -ct) 2>/dev/null | string match -v -r '^:'\n"
                      "end\n"
                      "complete -c kubectl-kstatus -a '(__kubectl_kstatus_complete)'\n",
                      stdout);
                return 0;
        }
        _cleanup_free_ char *safe = escape_for_terminal(shell);
        return usage_error("unsupported shell \"%s\": want bash, zsh or fish", safe);
}
