#include <getopt.h>
#include <string.h>

#include "plugin.h"
#include "status.h"

const char lint_usage[] =
        "Check a status.yaml exactly as the sidecar will: YAML syntax (as Kubernetes converts it), the limits,\n"
        "the protected \"kratix\" key and the conditions. Prints the status the sidecar would send, as JSON,\n"
        "or every problem with its line and column. Exits 1 when the file is invalid.\n"
        "\n"
        "Usage:\n"
        "  kubectl kstatus lint [options] FILE|-\n"
        "\n"
        "Examples:\n"
        "  # Check what a pipeline wrote\n"
        "  kubectl kstatus lint /kratix/metadata/status.yaml\n"
        "\n"
        "Options:\n"
        "  -o, --output=json|yaml        print the status in this format (default json)\n"
        "  -q, --quiet                   print nothing on success\n" LIMIT_USAGE;

struct report {
        const char *file;
        int count;
};

static void report_problem(const struct kstatus_error *e, void *userdata) {
        struct report *r = userdata;
        _cleanup_free_ char *msg = kstatus_error_format(e, r->file);
        _cleanup_free_ char *safe = escape_for_terminal(msg);
        fprintf(stderr, "error: %s\n", safe);
        r->count++;
}

int cmd_lint(int argc, char **argv) {
        static const struct option options[] = {
                { "output", required_argument, NULL, 'o' },
                { "quiet", no_argument, NULL, 'q' },
                LIMIT_OPTIONS,
                {},
        };
        struct kstatus_limits lim = KSTATUS_LIMITS_DEFAULT;
        enum output_format format = OUTPUT_JSON;
        bool quiet = false;
        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+o:q", options, NULL)) >= 0) {
                switch (c) {
                case 'o':
                        if (parse_output_format(optarg, true, &format) < 0)
                                return output_format_error(optarg);
                        break;
                case 'q':
                        quiet = true;
                        break;
                case '?':
                        return usage_error("unknown flag: %s", argv[optind - 1]);
                case ':':
                        return usage_error("flag needs an argument: %s", argv[optind - 1]);
                default: {
                        int r = parse_limit_option(c, optarg, &lim);
                        if (r < 0)
                                return EXIT_USAGE;
                        break;
                }
                }
        }
        if (optind >= argc)
                return usage_error("a status file is required: kubectl kstatus lint FILE");
        if (argc - optind > 1)
                return usage_error("lint takes one file, got %d", argc - optind);
        const char *path = argv[optind];
        const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;

        _cleanup_json_ json_t *doc = NULL;
        if (load_document(path, &lim, false, &doc) < 0)
                return EXIT_FAILED;

        struct report rep = { .file = name };
        kstatus_status_check(doc, report_problem, &rep);
        if (rep.count > 0)
                return EXIT_FAILED;
        if (!quiet)
                print_json_value(doc, format);
        return 0;
}
