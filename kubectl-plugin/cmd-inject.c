#include <string.h>

#include "image.h"
#include "inject.h"
#include "pipeline.h"
#include "plugin.h"
#include "status.h"
#include "version.h"

const char inject_usage[] =
        "Add kstatus-sidecar to Pods, Jobs, Deployments (and the other Pod-template kinds) read from a file or\n"
        "standard input, and write them back: a native sidecar (init container with restartPolicy Always) after\n"
        "Kratix's reader, with the pipeline's KRATIX_* variables (and status-writer's IS_LAST_PIPELINE),\n"
        "POD_NAME/POD_NAMESPACE from the downward API, and the shared-metadata volume mounted read-only at\n"
        "/kratix/metadata; the Pod's terminationGracePeriodSeconds is raised to 75 (time for the final write).\n"
        "Other objects pass through unchanged. Running it twice changes nothing.\n"
        "\n"
        "Usage:\n"
        "  kubectl kstatus inject [options] [-f FILE]\n"
        "\n"
        "Examples:\n"
        "  kubectl kstatus inject -f pipeline-job.yaml | kubectl create -f -\n"
        "  kubectl kstatus inject --rbac -f pipeline-pod.yaml\n"
        "\n"
        "A Job that exists cannot be injected: its Pod template is immutable, and Kratix creates and starts\n"
        "its pipeline Jobs itself. In a cluster, inject at admission (deploy/policies); use inject on\n"
        "manifests before they are applied.\n"
        "\n"
        "Options:\n"
        "  -f, --filename=FILE     read from FILE instead of standard input (- for stdin)\n"
        "      --image=IMAGE       the sidecar image (default " KSTATUS_SIDECAR_IMAGE ")\n"
        "      --merge=deep|shallow  how the sidecar merges status.yaml (default deep)\n"
        "      --rbac              also write the Roles, RoleBindings, ClusterRole and ClusterRoleBinding it needs\n"
        "                          (in the resource's namespace too when the pipeline runs in another)\n"
        "  -o, --output=yaml|json  output format (default yaml)\n";

static const char *env_value(json_t *container, const char *name) {
        return json_string_value(json_object_get(kstatus_find_named(json_object_get(container, "env"), name, NULL),
                                                 "value"));
}

static bool has_object(json_t *list, json_t *obj) {
        size_t i;
        json_t *o;
        json_array_foreach(list, i, o) {
                if (json_equal(o, obj))
                        return true;
        }
        return false;
}

/* The RBAC the sidecar injected into spec (the Pod spec of obj) needs, added to
 * rbac_out once. <0 after printing an error. */
static int add_rbac(const json_t *obj, json_t *spec, json_t *rbac_out) {
        json_t *sidecar = kstatus_find_named(json_object_get(spec, "initContainers"), "kstatus-sidecar", NULL), *c;
        size_t i;
        const json_t *meta = json_object_get(obj, "metadata");
        const char *group = env_value(sidecar, "KRATIX_OBJECT_GROUP");
        const char *plural = env_value(sidecar, "KRATIX_CRD_PLURAL");
        if (!group || !plural) {
                const char *name = json_string_value(json_object_get(meta, "name"));
                fprintf(stderr, "error: --rbac needs KRATIX_OBJECT_GROUP and KRATIX_CRD_PLURAL in the pipeline "
                                "containers of \"%s\"\n",
                        name ? name : "?");
                return -1;
        }
        const char *ns = json_string_value(json_object_get(meta, "namespace"));
        const char *sa = json_string_value(json_object_get(spec, "serviceAccountName"));
        _cleanup_json_ json_t *objs = inject_rbac(ns ? ns : "default", sa ? sa : "default",
                                                  env_value(sidecar, "KRATIX_OBJECT_NAMESPACE"), group, plural);
        json_array_foreach(objs, i, c) {
                if (!has_object(rbac_out, c))
                        json_array_append(rbac_out, c);
        }
        return 0;
}

/* Inject into one object; append it (and RBAC) to out. <0 after printing an error. */
static int inject_object(json_t *obj, const struct inject_options *opts, bool rbac, json_t *out, json_t *rbac_out) {
        if (json_is_object(obj) && strcmp(json_string_value(json_object_get(obj, "kind")) ?: "", "List") == 0) {
                size_t i;
                json_t *item;
                json_array_foreach(json_object_get(obj, "items"), i, item) {
                        if (inject_object(item, opts, rbac, out, rbac_out) < 0)
                                return -1;
                }
                return 0;
        }
        json_t *spec = json_is_object(obj) ? inject_pod_spec(obj) : NULL;
        if (spec) {
                inject_pod_spec_sidecar(spec, opts);
                if (rbac && add_rbac(obj, spec, rbac_out) < 0)
                        return -1;
        }
        json_array_append(out, obj);
        return 0;
}

int cmd_inject(int argc, char **argv) {
        static const struct option options[] = {
                { "filename", required_argument, NULL, 'f' },
                { "image", required_argument, NULL, 'i' },
                { "merge", required_argument, NULL, 'm' },
                { "rbac", no_argument, NULL, 'r' },
                { "output", required_argument, NULL, 'o' },
                {},
        };
        const char *path = "-";
        struct inject_options opts = { .image = KSTATUS_SIDECAR_IMAGE };
        bool rbac = false;
        enum output_format format = OUTPUT_YAML;
        int c;
        _cleanup_(flags_done) struct flags fl = { 0 };
        while ((c = flags_next(&fl, argc, argv, "f:o:", options)) >= 0) {
                switch (c) {
                case 'f':
                        path = optarg;
                        break;
                case 'i':
                        if (!*optarg)
                                return usage_error("--image must not be empty");
                        opts.image = optarg;
                        break;
                case 'm':
                        if (strcmp(optarg, "deep") != 0 && strcmp(optarg, "shallow") != 0)
                                return usage_error("invalid argument \"%s\" for \"--merge\": want deep or shallow", optarg);
                        opts.merge = optarg;
                        break;
                case 'r':
                        rbac = flag_true(optarg);
                        break;
                case 'o':
                        if (parse_output_format(optarg, true, &format) < 0)
                                return output_format_error(optarg);
                        break;
                default:
                        return EXIT_USAGE;
                }
        }
        if (optind < argc)
                return usage_error("unexpected argument \"%s\"; use -f FILE", argv[optind]);

        struct kstatus_limits lim = KSTATUS_LIMITS_DEFAULT;
        lim.max_file_bytes = lim.max_result_bytes = 64u << 20;
        lim.max_memory_bytes = 0; /* manifests, not a status: their size bounds them */
        lim.max_nodes = 10000000;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        _cleanup_free_ char *buf = NULL;
        size_t len;
        const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
        _cleanup_json_ json_t *docs = NULL;
        if (kstatus_read_file(path, false, lim.max_file_bytes, &buf, &len, &err) < 0 ||
            kstatus_yaml_parse_stream(buf, len, &lim, &docs, &err) < 0) {
                _cleanup_free_ char *msg = kstatus_error_format(&err, name);
                _cleanup_free_ char *safe = escape_for_terminal(msg);
                return fail("%s", safe);
        }
        if (json_array_size(docs) == 0)
                return fail("%s: no objects to inject into", name);

        _cleanup_json_ json_t *out = json_array(), *rbac_out = json_array();
        size_t i;
        json_t *doc;
        json_array_foreach(docs, i, doc) {
                if (!json_is_object(doc))
                        return fail("%s: document %zu is not an object", name, i + 1);
                if (inject_object(doc, &opts, rbac, out, rbac_out) < 0)
                        return EXIT_FAILED;
        }
        json_array_extend(out, rbac_out);

        if (format == OUTPUT_JSON) {
                if (json_array_size(out) == 1)
                        print_json_value(json_array_get(out, 0), format);
                else {
                        _cleanup_json_ json_t *list = json_pack("{s:s, s:s, s:O, s:{}}", "apiVersion", "v1", "kind",
                                                               "List", "items", out, "metadata");
                        print_json_value(list, format);
                }
                return 0;
        }
        json_array_foreach(out, i, doc) {
                if (i)
                        fputs("---\n", stdout);
                print_json_value(doc, OUTPUT_YAML);
        }
        return 0;
}
