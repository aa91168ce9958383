#include <string.h>

#include "plugin.h"
#include "version.h"

const char version_usage[] =
        "Print the version of kubectl-kstatus and the commit it was built from.\n"
        "\n"
        "Usage:\n"
        "  kubectl kstatus version [-o json|yaml]\n";

int cmd_version(int argc, char **argv) {
        static const struct option options[] = {
                { "output", required_argument, NULL, 'o' },
                {},
        };
        enum output_format format = OUTPUT_DEFAULT;
        int c;
        _cleanup_(flags_done) struct flags fl = { 0 };
        while ((c = flags_next(&fl, argc, argv, "o:", options)) >= 0) {
                switch (c) {
                case 'o':
                        if (parse_output_format(optarg, true, &format) < 0)
                                return output_format_error(optarg);
                        break;
                default:
                        return EXIT_USAGE;
                }
        }
        if (optind < argc)
                return usage_error("unexpected argument \"%s\"", argv[optind]);

        if (format == OUTPUT_DEFAULT) {
                printf("kubectl-kstatus version v%s (commit %s)\n", KSTATUS_VERSION, KSTATUS_COMMIT);
                return 0;
        }
        _cleanup_json_ json_t *v = json_pack("{s:s, s:s}", "version", "v" KSTATUS_VERSION, "commit", KSTATUS_COMMIT);
        return print_json_value(v, format);
}
