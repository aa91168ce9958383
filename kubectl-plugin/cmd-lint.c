#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"
#include "status.h"

const char lint_usage[] =
        "Check a status.yaml exactly as the sidecar will: YAML syntax (as Kubernetes converts it), the limits,\n"
        "the keys Kratix owns and types (\"kratix\", \"message\", the counters) and the conditions. Prints the\n"
        "status the sidecar would send, as JSON, or every problem with its line and column. Warns about what\n"
        "the API server or Kratix would not keep. Exits 1 when the file is invalid.\n"
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
        "  -q, --quiet                   print nothing on success\n"
        "      --workflow-type=resource|promise  whose status the file is for: a Promise's keeps only \"message\"\n"
        "                                (default: $KRATIX_WORKFLOW_TYPE, else resource)\n" LIMIT_USAGE;

enum { OPT_WORKFLOW_TYPE = 2000 };

static void report_problem(enum kstatus_problem_level level, const struct kstatus_error *e, void *userdata) {
        const char *file = userdata;
        _cleanup_free_ char *msg = kstatus_error_format(e, file);
        _cleanup_free_ char *safe = escape_for_terminal(msg);
        fprintf(stderr, "%s: %s\n", level == KSTATUS_PROBLEM_ERROR ? "error" : "warning", safe);
}

/* --workflow-type: *promise true for promise. 0, or -EINVAL after printing the usage error. */
static int parse_workflow_type(const char *s, bool *promise) {
        if (strcmp(s, "promise") == 0 || strcmp(s, "resource") == 0) {
                *promise = strcmp(s, "promise") == 0;
                return 0;
        }
        usage_error("invalid argument \"%s\" for \"--workflow-type\": want resource or promise", s);
        return -EINVAL;
}

/* Read and parse FILE, keeping its text for positions. */
static int load(const char *path, const char *name, const struct kstatus_limits *lim, char **text, size_t *len,
                json_t **doc) {
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int r = kstatus_read_file(path, false, lim->max_file_bytes, text, len, &err);
        if (r >= 0)
                r = kstatus_document_parse(*text, *len, lim, doc, &err);
        if (r < 0) {
                _cleanup_free_ char *msg = kstatus_error_format(&err, name);
                _cleanup_free_ char *safe = escape_for_terminal(msg);
                fprintf(stderr, "error: %s\n", safe);
        }
        return r;
}

int cmd_lint(int argc, char **argv) {
        static const struct option options[] = {
                { "output", required_argument, NULL, 'o' },
                { "quiet", no_argument, NULL, 'q' },
                { "workflow-type", required_argument, NULL, OPT_WORKFLOW_TYPE },
                LIMIT_OPTIONS,
                {},
        };
        struct kstatus_limits lim = KSTATUS_LIMITS_DEFAULT;
        enum output_format format = OUTPUT_JSON;
        bool quiet = false, promise = false;
        const char *env_type = getenv("KRATIX_WORKFLOW_TYPE");
        if (env_type && *env_type && parse_workflow_type(env_type, &promise) < 0)
                return EXIT_USAGE;
        int c;
        _cleanup_(flags_done) struct flags fl = { 0 };
        while ((c = flags_next(&fl, argc, argv, "o:q", options)) >= 0) {
                switch (c) {
                case 'o':
                        if (parse_output_format(optarg, true, &format) < 0)
                                return output_format_error(optarg);
                        break;
                case 'q':
                        quiet = flag_true(optarg);
                        break;
                case OPT_WORKFLOW_TYPE:
                        if (parse_workflow_type(optarg, &promise) < 0)
                                return EXIT_USAGE;
                        break;
                case '?':
                        return EXIT_USAGE;
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
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        if (load(path, name, &lim, &text, &len, &doc) < 0)
                return EXIT_FAILED;

        struct kstatus_check_options opts = { .text = text, .len = len, .promise = promise };
        if (kstatus_status_check(doc, &opts, report_problem, (void *)name) > 0)
                return EXIT_FAILED;
        return quiet ? 0 : print_json_value(doc, format);
}
