/* kubectl-kstatus: the kubectl plugin. main() dispatches through a command
 * table (git's builtin table, systemd's verbs); each command lives in
 * cmd-<name>.c and parses its own flags. */
#include <errno.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kube-args.h"
#include "plugin.h"
#include "status.h"

static const struct plugin_command commands[] = {
        { "completion", "Print a shell completion script (bash, zsh or fish)", cmd_completion, completion_usage },
        { "describe", "Show the status, conditions, health, pipelines and events of resources", cmd_describe,
          describe_usage },
        { "get", "List resources with their message, workflow verdict and health", cmd_get, get_usage },
        { "inject", "Add kstatus-sidecar to Pods, Jobs or manifests on stdin", cmd_inject, inject_usage },
        { "lint", "Check a status.yaml as the sidecar will, and print what it would send", cmd_lint, lint_usage },
        { "logs", "Print the logs of a resource's pipeline Pods, prefixed pipeline/container", cmd_logs, logs_usage },
        { "merge", "Preview the status after pipelines wrote these status files in order", cmd_merge, merge_usage },
        { "trace", "Show the tree from a resource to its Destinations; point at what failed", cmd_trace, trace_usage },
        { "wait", "Wait for a condition, health, message or deletion; fail fast when the workflow fails", cmd_wait,
          wait_usage },
        { "version", "Print the version and the commit it was built from", cmd_version, version_usage },
};

static void print_help(FILE *f) {
        fputs("kstatus shows and manages the status Kratix pipelines report on resources.\n"
              "\n"
              "Usage:\n"
              "  kubectl kstatus COMMAND [options]\n"
              "\n"
              "Commands:\n",
              f);
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
        fputs("\nUse \"kubectl kstatus COMMAND --help\" for more information about a command.\n", f);
}

/* "error: <message>" on stderr; returns code. */
_printf_(2, 0) static int report(int code, const char *fmt, va_list ap) {
        fputs("error: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        return code;
}

int usage_error(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = report(EXIT_USAGE, fmt, ap);
        va_end(ap);
        return r;
}

int fail(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = report(EXIT_FAILED, fmt, ap);
        va_end(ap);
        return r;
}

int parse_output_format(const char *s, bool allow_yaml, enum output_format *ret) {
        if (strcmp(s, "json") == 0)
                *ret = OUTPUT_JSON;
        else if (allow_yaml && strcmp(s, "yaml") == 0)
                *ret = OUTPUT_YAML;
        else
                return -EINVAL;
        return 0;
}

int printer_error(const char *s, const char *allowed) {
        _cleanup_free_ char *safe = escape_for_terminal(s);
        return usage_error("unable to match a printer suitable for the output format \"%s\", allowed formats are: %s",
                           safe, allowed);
}

int output_format_error(const char *s) {
        return printer_error(s, "json,yaml");
}

int parse_output_wide(const char *s, bool *wide, enum output_format *format) {
        if (strcmp(s, "wide") == 0)
                *wide = true;
        else if (parse_output_format(s, true, format) < 0)
                return printer_error(s, "json,yaml,wide");
        return 0;
}

int parse_limit_option(int opt, const char *arg, struct kstatus_limits *lim) {
        size_t size;
        int64_t n;
        switch (opt) {
        case 1001:
        case 1004:
        case 1005:
                if (parse_size(arg, &size) < 0 || size == 0) {
                        usage_error("invalid argument \"%s\" for \"--%s\": want a size such as 1Mi", arg,
                                    opt == 1001 ? "max-file-size" : opt == 1004 ? "max-status-size" : "max-status-memory");
                        return -1;
                }
                if (opt == 1001)
                        lim->max_file_bytes = size;
                else if (opt == 1004)
                        lim->max_result_bytes = size;
                else
                        lim->max_memory_bytes = size;
                return 1;
        case 1002:
        case 1003:
                if (parse_int64(arg, 1, opt == 1002 ? 10000 : 100000000, &n) < 0) {
                        usage_error("invalid argument \"%s\" for \"--%s\": want a positive number", arg,
                                    opt == 1002 ? "max-depth" : "max-nodes");
                        return -1;
                }
                if (opt == 1002)
                        lim->max_depth = (unsigned)n;
                else
                        lim->max_nodes = (size_t)n;
                return 1;
        default:
                return 0;
        }
}

int print_json_value(const json_t *value, enum output_format format) {
        _cleanup_free_ char *text = NULL;
        if (format == OUTPUT_YAML) {
                _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
                if (kstatus_yaml_dump(value, &text, &err) < 0) {
                        _cleanup_free_ char *safe = escape_for_terminal(err.message);
                        return fail("%s", safe);
                }
        } else
                text = kstatus_json_dump(value, false);
        fputs(text, stdout);
        return 0;
}

int load_document(const char *path, const struct kstatus_limits *lim, bool validate_status, json_t **ret) {
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        _cleanup_free_ char *buf = NULL;
        size_t len;
        const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;

        int r = kstatus_read_file(path, false, lim->max_file_bytes, &buf, &len, &err);
        if (r < 0) {
                _cleanup_free_ char *msg = kstatus_error_format(&err, name);
                fprintf(stderr, "error: %s\n", msg);
                return r;
        }
        r = validate_status ? kstatus_status_parse(buf, len, lim, ret, &err)
                            : kstatus_document_parse(buf, len, lim, ret, &err);
        if (r < 0) {
                _cleanup_free_ char *msg = kstatus_error_format(&err, name);
                _cleanup_free_ char *safe = escape_for_terminal(msg);
                fprintf(stderr, "error: %s\n", safe);
        }
        return r;
}

/* Why the last flush of stdout failed: glibc drops what a failed fflush()
 * could not write, so a later flush succeeds and only ferror() remains. */
static int stdout_errno;

int flush_stdout(void) {
        if (fflush(stdout) != 0) {
                stdout_errno = errno;
                return -stdout_errno;
        }
        return ferror(stdout) ? -(stdout_errno ? stdout_errno : EIO) : 0;
}

/* Everything printed must have reached stdout, as git's run_builtin()
 * checks: a full disk or a closed descriptor is an error, not a success.
 * EPIPE is the reader's choice to stop (`| head`), as git treats it. */
static int finish_stdout(int code) {
        int r = flush_stdout();
        /* Closing a descriptor that was never open (>&-) loses nothing once the flush succeeded. */
        if (fclose(stdout) != 0 && r == 0 && errno != EBADF)
                r = -errno;
        if (r == 0 || r == -EPIPE)
                return code;
        fprintf(stderr, "error: unable to write to standard output: %s\n", strerror(-r));
        return code == EXIT_MET ? EXIT_FAILED : code;
}

static int run(int argc, char **argv) {
        if (argc < 2)
                return print_help(stderr), EXIT_USAGE;

        const char *name = argv[1];
        if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
                if (argc > 2 && strcmp(name, "help") == 0)
                        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                                if (strcmp(commands[i].name, argv[2]) == 0)
                                        return fputs(commands[i].usage, stdout), 0;
                print_help(stdout);
                return 0;
        }
        if (strcmp(name, "__complete") == 0) {
                const char *names[ELEMENTSOF(commands) + 1];
                for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                        names[i] = commands[i].name;
                names[ELEMENTSOF(commands)] = NULL;
                return cmd_complete(argc - 1, argv + 1, names);
        }
        if (strcmp(name, "--version") == 0)
                return cmd_version(1, (char *[]){ "version", NULL });

        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                if (strcmp(commands[i].name, name) != 0)
                        continue;
                for (int a = 2; a < argc; a++) {
                        if (strcmp(argv[a], "--") == 0)
                                break;
                        if (strcmp(argv[a], "-h") == 0 || strcmp(argv[a], "--help") == 0) {
                                fputs(commands[i].usage, stdout);
                                return 0;
                        }
                }
                return commands[i].run(argc - 1, argv + 1);
        }
        _cleanup_free_ char *safe = escape_for_terminal(name);
        return usage_error("unknown command \"%s\" for \"kubectl kstatus\"; see 'kubectl kstatus --help'", safe);
}

int main(int argc, char **argv) {
        setlocale(LC_CTYPE, "");
        return finish_stdout(kube_args_finish(run(argc, argv)));
}
