#include <string.h>

#include "conditions.h"
#include "merge.h"
#include "plugin.h"
#include "status.h"
#include "workflow.h"

const char merge_usage[] =
        "Preview the status of a resource after pipelines wrote these status files, in order, exactly as the\n"
        "sidecar merges them: nested maps merge, lists and scalars are replaced, `key: null` deletes, conditions\n"
        "merge by type, and the last pipeline wins. With --workflow=configure (the default) the workflow\n"
        "conditions are set as the sidecar sets them for a run of these pipelines.\n"
        "\n"
        "Usage:\n"
        "  kubectl kstatus merge [options] FILE...\n"
        "\n"
        "Examples:\n"
        "  # The seed's two pipelines\n"
        "  kubectl kstatus merge create-user/status.yaml populate-vault/status.yaml\n"
        "\n"
        "  # Start from the resource as it is now\n"
        "  kubectl get database example -o yaml | kubectl kstatus merge --base - status.yaml\n"
        "\n"
        "Options:\n"
        "      --base=FILE               the starting point: a whole object (its .status is used) or a bare\n"
        "                                status map, YAML or JSON; - for stdin (default: empty)\n"
        "      --merge=deep|shallow      deep (default) merges nested maps; shallow replaces top-level keys\n"
        "                                whole, like Kratix's status-writer\n"
        "      --workflow=configure|none set the ConfigureWorkflowCompleted condition as a run would (default\n"
        "                                configure)\n"
        "  -o, --output=yaml|json        output format (default yaml)\n" LIMIT_USAGE;

/* A whole object has apiVersion/kind/metadata; anything else is a bare status. */
static json_t *status_of(json_t *doc) {
        bool object = json_object_get(doc, "apiVersion") || json_object_get(doc, "kind") ||
                      json_object_get(doc, "metadata");
        if (!object)
                return json_incref(doc);
        json_t *s = json_object_get(doc, "status");
        return json_is_object(s) ? json_incref(s) : json_object();
}

int cmd_merge(int argc, char **argv) {
        static const struct option options[] = {
                { "base", required_argument, NULL, 'b' },
                { "merge", required_argument, NULL, 'm' },
                { "workflow", required_argument, NULL, 'w' },
                { "output", required_argument, NULL, 'o' },
                LIMIT_OPTIONS,
                {},
        };
        struct kstatus_limits lim = KSTATUS_LIMITS_DEFAULT;
        enum output_format format = OUTPUT_YAML;
        enum kstatus_merge_mode mode = KSTATUS_MERGE_DEEP;
        const char *base_path = NULL;
        bool workflow = true;
        int c;
        _cleanup_(flags_done) struct flags fl = { 0 };
        while ((c = flags_next(&fl, argc, argv, "o:", options)) >= 0) {
                switch (c) {
                case 'b':
                        base_path = optarg;
                        break;
                case 'm':
                        if (kstatus_merge_mode_from_string(optarg, &mode) < 0)
                                return usage_error("invalid argument \"%s\" for \"--merge\": want deep or shallow",
                                                   optarg);
                        break;
                case 'w':
                        if (strcmp(optarg, "configure") == 0)
                                workflow = true;
                        else if (strcmp(optarg, "none") == 0)
                                workflow = false;
                        else
                                return usage_error(
                                        "invalid argument \"%s\" for \"--workflow\": want configure or none", optarg);
                        break;
                case 'o':
                        if (parse_output_format(optarg, true, &format) < 0)
                                return output_format_error(optarg);
                        break;
                case '?':
                        return EXIT_USAGE;
                default:
                        if (parse_limit_option(c, optarg, &lim) < 0)
                                return EXIT_USAGE;
                        break;
                }
        }
        if (optind >= argc)
                return usage_error("at least one status file is required: kubectl kstatus merge FILE...");

        int stdin_users = base_path && strcmp(base_path, "-") == 0;
        for (int i = optind; i < argc; i++)
                stdin_users += strcmp(argv[i], "-") == 0;
        if (stdin_users > 1)
                return usage_error("standard input (-) can be read only once");

        _cleanup_json_ json_t *status = NULL;
        if (base_path) {
                _cleanup_json_ json_t *doc = NULL;
                if (load_document(base_path, &lim, false, &doc) < 0)
                        return EXIT_FAILED;
                status = status_of(doc);
        } else
                status = json_object();

        char now[KSTATUS_TIME_LEN];
        kstatus_time_now(now);

        if (workflow) {
                json_t *next = kstatus_workflow_apply(status, KSTATUS_WORKFLOW_CONFIGURE_STARTED, NULL, now);
                json_decref(status);
                status = next;
        }
        for (int i = optind; i < argc; i++) {
                _cleanup_json_ json_t *file = NULL;
                if (load_document(argv[i], &lim, true, &file) < 0)
                        return EXIT_FAILED;
                json_t *next = kstatus_merge_status(status, file, mode, now);
                json_decref(status);
                status = next;
        }
        if (workflow) {
                json_t *next = kstatus_workflow_apply(status, KSTATUS_WORKFLOW_CONFIGURE_SUCCEEDED, NULL, now);
                json_decref(status);
                status = next;
        }
        return print_json_value(status, format);
}
