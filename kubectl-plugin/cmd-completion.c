/* Shell completion. `__complete ARGS... PARTIAL` answers in cobra's protocol
 * (one candidate a line, then ":<directive>"), which is what kubectl expects
 * from a kubectl_complete-kstatus executable; `completion SHELL` prints a
 * script for bash, zsh or fish that asks the same question. */
#include <string.h>

#include "plugin.h"

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
static const char *const get_outputs[] = { "wide", "json", "yaml", "name", NULL };
static const char *const describe_outputs[] = { "json", "yaml", "wide", NULL };
static const char *const colors[] = { "auto", "always", "never", NULL };
static const char *const fors[] = { "condition=ConfigureWorkflowCompleted", "condition=", "health=healthy",
                                    "health=ready", "message=", "delete", NULL };

static const struct flag_values flag_values[] = {
        { "get", "-o", get_outputs },      { "get", "--output", get_outputs },
        { "describe", "-o", describe_outputs }, { "describe", "--output", describe_outputs },
        { NULL, "-o", outputs },           { NULL, "--output", outputs },
        { NULL, "--color", colors },       { "wait", "--for", fors },
        { "merge", "--merge", modes },     { "inject", "--merge", modes },
        { "merge", "--workflow", workflows },
};

#define KUBE_FLAGS "--namespace", "--all-namespaces", "--selector", "--context", "--kubeconfig", "--request-timeout", "--color"
static const char *const command_flags[][16] = {
        { "describe", "--output", "--absolute-time", "--show-events", KUBE_FLAGS, NULL },
        { "get", "--output", "--no-headers", "--watch", "--all-kratix", KUBE_FLAGS, NULL },
        { "wait", "--for", "--timeout", "--any", KUBE_FLAGS, NULL },
        { "trace", "--output", KUBE_FLAGS, NULL },
        { "lint", "--output", "--quiet", "--max-file-size", "--max-depth", "--max-nodes", "--max-status-size", NULL },
        { "merge", "--base", "--merge", "--workflow", "--output", "--max-file-size", "--max-depth", NULL },
        { "inject", "--filename", "--image", "--merge", "--rbac", "--output", NULL },
        { "version", "--output", NULL },
};

static void candidates(const char *const *list, const char *partial) {
        for (; *list; list++)
                if (str_has_prefix(*list, partial))
                        puts(*list);
}

int cmd_complete(int argc, char **argv, const char *const *commands) {
        /* argv[0] = "__complete", argv[1..argc-2] = words so far, argv[argc-1] = partial word */
        const char *partial = argc > 1 ? argv[argc - 1] : "";
        int words = argc - 2;
        if (words <= 0) {
                candidates(commands, partial);
                printf(":%d\n", DIRECTIVE_NO_FILE);
                return 0;
        }
        const char *command = argv[1];
        const char *prev = argv[argc - 2];
        for (size_t i = 0; i < ELEMENTSOF(flag_values); i++) {
                if ((!flag_values[i].command || strcmp(flag_values[i].command, command) == 0) &&
                    strcmp(flag_values[i].flag, prev) == 0) {
                        candidates(flag_values[i].values, partial);
                        printf(":%d\n", DIRECTIVE_NO_FILE);
                        return 0;
                }
        }
        if (strcmp(command, "completion") == 0) {
                if (words == 1)
                        candidates(shells, partial);
                printf(":%d\n", DIRECTIVE_NO_FILE);
                return 0;
        }
        if (partial[0] == '-') {
                for (size_t i = 0; i < ELEMENTSOF(command_flags); i++)
                        if (strcmp(command_flags[i][0], command) == 0)
                                candidates(&command_flags[i][1], partial);
                printf(":%d\n", DIRECTIVE_NO_FILE);
                return 0;
        }
        if (strcmp(command, "describe") == 0 || strcmp(command, "get") == 0 || strcmp(command, "wait") == 0 ||
            strcmp(command, "trace") == 0) {
                /* Resource types and names come from the cluster; kubectl's own completion knows them. */
                printf(":%d\n", DIRECTIVE_NO_FILE);
                return 0;
        }
        /* lint, merge, inject and --base/-f take files. */
        printf(":%d\n", DIRECTIVE_DEFAULT);
        return 0;
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
