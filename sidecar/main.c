/* kstatus-sidecar: carries /kratix/metadata/status.yaml into the resource's
 * status, live and when the pipeline ends (docs/BEHAVIOUR.md §3-§6).
 * main.c parses the configuration; loop.c waits; push.c writes. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "health.h"
#include "log.h"
#include "options.h"
#include "sidecar.h"
#include "status.h"
#include "version.h"

enum { EXIT_DONE = 0, EXIT_WRITE_FAILED = 1, EXIT_CONFIG = 2 };

static const char usage[] =
        "kstatus-sidecar watches a Kratix pipeline's /kratix/metadata/status.yaml and patches the\n"
        "resource's status with it, live and when the pipeline ends.\n"
        "\n"
        "Usage:\n"
        "  kstatus-sidecar [options]\n"
        "  kstatus-sidecar health [options]   reflect HealthRecords on resources (see health --help)\n"
        "\n"
        "The resource comes from KRATIX_OBJECT_GROUP/VERSION/NAME/NAMESPACE, KRATIX_CRD_PLURAL and\n"
        "KRATIX_CLUSTER_SCOPED (Kratix sets them), else from /kratix/input/object.yaml; flags override both.\n"
        "\n"
        "Options:\n"
        "      --group=GROUP            API group of the resource\n"
        "      --api-version=VERSION    API version of the resource\n"
        "      --resource=PLURAL        resource (plural) of the resource\n"
        "      --name=NAME              name of the resource\n"
        "  -n, --namespace=NS           namespace of the resource\n"
        "      --cluster-scoped         the resource is cluster-scoped\n"
        "      --pipeline=NAME          pipeline name (KRATIX_PIPELINE_NAME)\n"
        "      --pipeline-index=N       0-based place of this pipeline (KSTATUS_PIPELINE_INDEX)\n"
        "      --pipeline-count=N       pipelines in the workflow (KSTATUS_PIPELINE_COUNT)\n"
        "      --metadata-dir=DIR       where status.yaml is written (KSTATUS_METADATA_DIR, /kratix/metadata)\n"
        "      --input-dir=DIR          where object.yaml is (KSTATUS_INPUT_DIR, /kratix/input)\n"
        "      --merge=deep|shallow     how status.yaml merges (KSTATUS_MERGE, deep)\n"
        "      --workflow-conditions=auto|on|off\n"
        "                               who writes ConfigureWorkflowCompleted and the message resets Kratix owns\n"
        "                               (KSTATUS_WORKFLOW_CONDITIONS): auto, the default, leaves them to Kratix in\n"
        "                               a Pod with Kratix's status-writer and writes them as Kratix would elsewhere\n"
        "      --debounce=DURATION      wait before pushing a removed or polled file (50ms); a complete\n"
        "                               write is pushed at once\n"
        "      --max-debounce=DURATION  longest delay of a live push (2s)\n"
        "      --deadline=DURATION      how long the final write may retry (60s)\n"
        "      --no-live                only write when the pipeline ends\n"
        "      --poll=DURATION          check status.yaml this often instead of watching it with inotify\n"
        "                               (used by itself when inotify is out of instances or watches)\n"
        "      --once                   apply status.yaml once, as the final write, and exit\n"
        "      --kubeconfig=FILE        kubeconfig outside a cluster (default: KUBECONFIG as kubectl reads it)\n"
        "      --context=NAME           kubeconfig context\n"
        "      --request-timeout=DURATION  give up on one request after DURATION (10s)\n"
        "      --log-format=text|json   log line format (text)\n"
        "  -v, --verbose                log debug events too\n"
        "      --max-file-size=SIZE, --max-depth=N, --max-nodes=N, --max-status-size=SIZE\n"
        "                               status.yaml limits (1Mi, 64, 100000, 1Mi)\n"
        "      --version                print the version\n";

static char *env_dup(const char *name) {
        const char *v = getenv(name);
        return v && *v ? xstrdup(v) : NULL;
}

static int workflow_conditions_from_string(const char *v, enum workflow_conditions *ret) {
        static const char *const names[] = { [WORKFLOW_CONDITIONS_AUTO] = "auto", [WORKFLOW_CONDITIONS_ON] = "on",
                                              [WORKFLOW_CONDITIONS_OFF] = "off" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcmp(v, names[i]) == 0) {
                        *ret = (enum workflow_conditions)i;
                        return 0;
                }
        return -EINVAL;
}

static int parse_count(const char *what, const char *v, int *ret) {
        int64_t n;
        if (parse_int64(v, 0, 10000, &n) < 0)
                return config_error("invalid %s \"%s\": want a number from 0 to 10000", what, v);
        *ret = (int)n;
        return 0;
}

/* The resource from object.yaml when the environment does not name it. */
static int object_from_input(struct sidecar_config *cfg) {
        _cleanup_free_ char *path = xasprintf("%s/object.yaml", cfg->input_dir);
        _cleanup_free_ char *buf = NULL;
        size_t len;
        struct kstatus_error err = { 0 };
        if (kstatus_read_file(path, true, 16u << 20, &buf, &len, &err) < 0)
                return -ENOENT;
        _cleanup_json_ json_t *obj = NULL;
        struct kstatus_limits lim = KSTATUS_LIMITS_DEFAULT;
        lim.max_file_bytes = lim.max_result_bytes = 16u << 20;
        if (kstatus_document_parse(buf, len, &lim, &obj, &err) < 0) {
                _cleanup_free_ char *m = kstatus_error_format(&err, path);
                return config_error("%s", m);
        }
        const char *api_version = json_string_value(json_object_get(obj, "apiVersion"));
        json_t *meta = json_object_get(obj, "metadata");
        if (api_version && !cfg->object.version) {
                const char *slash = strchr(api_version, '/');
                if (slash) {
                        if (!cfg->object.group)
                                cfg->object.group = xstrndup(api_version, (size_t)(slash - api_version));
                        cfg->object.version = xstrdup(slash + 1);
                } else {
                        if (!cfg->object.group)
                                cfg->object.group = xstrdup("");
                        cfg->object.version = xstrdup(api_version);
                }
        }
        if (!cfg->object.kind)
                set_str(&cfg->object.kind, json_string_value(json_object_get(obj, "kind")));
        if (!cfg->object.name)
                set_str(&cfg->object.name, json_string_value(json_object_get(meta, "name")));
        if (!cfg->object.namespace)
                set_str(&cfg->object.namespace, json_string_value(json_object_get(meta, "namespace")));
        return 0;
}

static int parse_config(int argc, char **argv, struct sidecar_config *cfg) {
        *cfg = (struct sidecar_config){
                .pipeline_index = -1, .pipeline_count = -1, .is_last = -1, .mode = KSTATUS_MERGE_DEEP,
                .limits = KSTATUS_LIMITS_DEFAULT, .debounce_ms = 50, .max_debounce_ms = 2000,
                .final_deadline_ms = 60000, .request_timeout_ms = 10000, .live = true,
        };
        cfg->object.group = env_dup("KRATIX_OBJECT_GROUP");
        cfg->object.version = env_dup("KRATIX_OBJECT_VERSION");
        cfg->object.name = env_dup("KRATIX_OBJECT_NAME");
        cfg->object.namespace = env_dup("KRATIX_OBJECT_NAMESPACE");
        cfg->object.resource = env_dup("KRATIX_CRD_PLURAL");
        cfg->object.kind = env_dup("KRATIX_OBJECT_KIND");
        const char *cs = getenv("KRATIX_CLUSTER_SCOPED");
        cfg->object.cluster_scoped = cs && strcmp(cs, "true") == 0;
        cfg->pipeline = env_dup("KRATIX_PIPELINE_NAME");
        cfg->promise = env_dup("KRATIX_PROMISE_NAME");
        cfg->workflow_type = env_dup("KRATIX_WORKFLOW_TYPE");
        cfg->pod_name = env_dup("POD_NAME");
        cfg->pod_namespace = env_dup("POD_NAMESPACE");
        cfg->container_name = env_dup("KSTATUS_CONTAINER_NAME");
        cfg->metadata_dir = env_dup("KSTATUS_METADATA_DIR");
        cfg->input_dir = env_dup("KSTATUS_INPUT_DIR");
        const char *action = getenv("KRATIX_WORKFLOW_ACTION");
        if (action && strcmp(action, "delete") == 0)
                cfg->action = ACTION_DELETE;
        else if (action && *action && strcmp(action, "configure") != 0)
                return config_error("invalid KRATIX_WORKFLOW_ACTION \"%s\": want configure or delete", action);
        const char *v;
        if ((v = getenv("KSTATUS_PIPELINE_INDEX")) && *v && parse_count("KSTATUS_PIPELINE_INDEX", v, &cfg->pipeline_index) < 0)
                return -EINVAL;
        if ((v = getenv("KSTATUS_PIPELINE_COUNT")) && *v && parse_count("KSTATUS_PIPELINE_COUNT", v, &cfg->pipeline_count) < 0)
                return -EINVAL;
        if ((v = getenv("KSTATUS_MERGE")) && *v && kstatus_merge_mode_from_string(v, &cfg->mode) < 0)
                return config_error("invalid KSTATUS_MERGE \"%s\": want deep or shallow", v);
        if ((v = getenv("KSTATUS_WORKFLOW_CONDITIONS")) && *v &&
            workflow_conditions_from_string(v, &cfg->workflow_conditions) < 0)
                return config_error("invalid KSTATUS_WORKFLOW_CONDITIONS \"%s\": want auto, on or off", v);
        /* As Kratix reads them: exactly "true" is true. */
        if ((v = getenv("IS_LAST_PIPELINE")) && *v)
                cfg->is_last = strcmp(v, "true") == 0;
        cfg->dry_run = (v = getenv("KRATIX_DRY_RUN")) && strcmp(v, "true") == 0;

        enum { O_GROUP = 1000, O_VERSION, O_RESOURCE, O_NAME, O_CLUSTER, O_PIPELINE, O_INDEX, O_COUNT, O_META, O_INPUT,
               O_MERGE, O_WFCOND, O_DEBOUNCE, O_MAXDEB, O_DEADLINE, O_NOLIVE, O_POLL, O_ONCE, O_KUBECONFIG, O_CONTEXT, O_REQTIMEOUT, O_LOGFMT,
               O_MAXFILE, O_MAXDEPTH, O_MAXNODES, O_MAXSTATUS, O_VERSIONFLAG, O_HELP };
        static const struct option options[] = {
                { "group", required_argument, NULL, O_GROUP },
                { "api-version", required_argument, NULL, O_VERSION },
                { "resource", required_argument, NULL, O_RESOURCE },
                { "name", required_argument, NULL, O_NAME },
                { "namespace", required_argument, NULL, 'n' },
                { "cluster-scoped", no_argument, NULL, O_CLUSTER },
                { "pipeline", required_argument, NULL, O_PIPELINE },
                { "pipeline-index", required_argument, NULL, O_INDEX },
                { "pipeline-count", required_argument, NULL, O_COUNT },
                { "metadata-dir", required_argument, NULL, O_META },
                { "input-dir", required_argument, NULL, O_INPUT },
                { "merge", required_argument, NULL, O_MERGE },
                { "workflow-conditions", required_argument, NULL, O_WFCOND },
                { "debounce", required_argument, NULL, O_DEBOUNCE },
                { "max-debounce", required_argument, NULL, O_MAXDEB },
                { "deadline", required_argument, NULL, O_DEADLINE },
                { "no-live", no_argument, NULL, O_NOLIVE },
                { "poll", required_argument, NULL, O_POLL },
                { "once", no_argument, NULL, O_ONCE },
                { "kubeconfig", required_argument, NULL, O_KUBECONFIG },
                { "context", required_argument, NULL, O_CONTEXT },
                { "request-timeout", required_argument, NULL, O_REQTIMEOUT },
                { "log-format", required_argument, NULL, O_LOGFMT },
                { "verbose", no_argument, NULL, 'v' },
                { "max-file-size", required_argument, NULL, O_MAXFILE },
                { "max-depth", required_argument, NULL, O_MAXDEPTH },
                { "max-nodes", required_argument, NULL, O_MAXNODES },
                { "max-status-size", required_argument, NULL, O_MAXSTATUS },
                { "version", no_argument, NULL, O_VERSIONFLAG },
                { "help", no_argument, NULL, O_HELP },
                {},
        };
        enum log_format lf = LOG_FORMAT_TEXT;
        enum log_level ll = LOG_LEVEL_INFO;
        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "n:vh", options, NULL)) >= 0) {
                int64_t n;
                size_t size;
                switch (c) {
                case O_GROUP: set_str(&cfg->object.group, optarg); break;
                case O_VERSION: set_str(&cfg->object.version, optarg); break;
                case O_RESOURCE: set_str(&cfg->object.resource, optarg); break;
                case O_NAME: set_str(&cfg->object.name, optarg); break;
                case 'n': set_str(&cfg->object.namespace, optarg); break;
                case O_CLUSTER: cfg->object.cluster_scoped = true; break;
                case O_PIPELINE: set_str(&cfg->pipeline, optarg); break;
                case O_INDEX:
                        if (parse_count("--pipeline-index", optarg, &cfg->pipeline_index) < 0)
                                return -EINVAL;
                        break;
                case O_COUNT:
                        if (parse_count("--pipeline-count", optarg, &cfg->pipeline_count) < 0)
                                return -EINVAL;
                        break;
                case O_META: set_str(&cfg->metadata_dir, optarg); break;
                case O_INPUT: set_str(&cfg->input_dir, optarg); break;
                case O_MERGE:
                        if (kstatus_merge_mode_from_string(optarg, &cfg->mode) < 0)
                                return config_error("invalid argument \"%s\" for \"--merge\": want deep or shallow", optarg);
                        break;
                case O_WFCOND:
                        if (workflow_conditions_from_string(optarg, &cfg->workflow_conditions) < 0)
                                return config_error("invalid argument \"%s\" for \"--workflow-conditions\": want "
                                                    "auto, on or off", optarg);
                        break;
                case O_DEBOUNCE:
                        if (parse_duration_arg("debounce", optarg, &cfg->debounce_ms) < 0)
                                return -EINVAL;
                        break;
                case O_MAXDEB:
                        if (parse_duration_arg("max-debounce", optarg, &cfg->max_debounce_ms) < 0)
                                return -EINVAL;
                        break;
                case O_DEADLINE:
                        if (parse_duration_arg("deadline", optarg, &cfg->final_deadline_ms) < 0)
                                return -EINVAL;
                        break;
                case O_NOLIVE: cfg->live = false; break;
                case O_POLL:
                        if (parse_duration_arg("poll", optarg, &cfg->poll_ms) < 0)
                                return -EINVAL;
                        if (cfg->poll_ms <= 0)
                                return config_error("invalid argument \"%s\" for \"--poll\": want a duration above 0", optarg);
                        break;
                case O_ONCE: cfg->once = true; break;
                case O_KUBECONFIG: set_str(&cfg->kubeconfig, optarg); break;
                case O_CONTEXT: set_str(&cfg->context, optarg); break;
                case O_REQTIMEOUT:
                        if (parse_duration_arg("request-timeout", optarg, &cfg->request_timeout_ms) < 0)
                                return -EINVAL;
                        break;
                case O_LOGFMT:
                        if (log_format_from_string(optarg, &lf) < 0)
                                return config_error("invalid argument \"%s\" for \"--log-format\": want text or json", optarg);
                        break;
                case 'v': ll = LOG_LEVEL_DEBUG; break;
                case O_MAXFILE:
                case O_MAXSTATUS:
                        if (parse_size(optarg, &size) < 0 || size == 0)
                                return config_error("invalid size \"%s\": want a size such as 1Mi", optarg);
                        if (c == O_MAXFILE)
                                cfg->limits.max_file_bytes = size;
                        else
                                cfg->limits.max_result_bytes = size;
                        break;
                case O_MAXDEPTH:
                case O_MAXNODES:
                        if (parse_int64(optarg, 1, 100000000, &n) < 0)
                                return config_error("invalid number \"%s\"", optarg);
                        if (c == O_MAXDEPTH)
                                cfg->limits.max_depth = (unsigned)n;
                        else
                                cfg->limits.max_nodes = (size_t)n;
                        break;
                case O_VERSIONFLAG:
                        printf("kstatus-sidecar version v%s (commit %s)\n", KSTATUS_VERSION, KSTATUS_COMMIT);
                        return 1;
                case O_HELP:
                case 'h':
                        fputs(usage, stdout);
                        return 1;
                case ':':
                        return config_error("flag needs an argument: %s", argv[optind - 1]);
                default:
                        return config_error("unknown flag: %s", argv[optind - 1]);
                }
        }
        if (optind < argc)
                return config_error("unexpected argument \"%s\"", argv[optind]);
        log_setup(lf, ll);

        if (!cfg->metadata_dir)
                cfg->metadata_dir = xstrdup("/kratix/metadata");
        if (!cfg->input_dir)
                cfg->input_dir = xstrdup("/kratix/input");
        cfg->status_file = xasprintf("%s/status.yaml", cfg->metadata_dir);
        if (!cfg->workflow_type)
                cfg->workflow_type = xstrdup("resource");
        if (!cfg->container_name)
                cfg->container_name = xstrdup("kstatus-sidecar");
        if (!cfg->object.name || !cfg->object.version)
                (void)object_from_input(cfg);
        if (!cfg->object.name)
                return config_error("no resource to report on: set KRATIX_OBJECT_NAME (Kratix does) or --name, or "
                                    "provide %s/object.yaml",
                                    cfg->input_dir);
        if (!cfg->object.version)
                return config_error("no API version for \"%s\": set KRATIX_OBJECT_VERSION or --api-version",
                                    cfg->object.name);
        if (!cfg->object.group)
                cfg->object.group = xstrdup("");
        if (!cfg->object.resource && !cfg->object.kind)
                return config_error("no resource type for \"%s\": set KRATIX_CRD_PLURAL or --resource",
                                    cfg->object.name);
        if (!cfg->object.cluster_scoped && !cfg->object.namespace)
                cfg->object.namespace = xstrdup("default");
        if ((cfg->pipeline_index >= 0) != (cfg->pipeline_count >= 0))
                return config_error("KSTATUS_PIPELINE_INDEX and KSTATUS_PIPELINE_COUNT must be set together");
        if (cfg->pipeline_index >= 0 && cfg->pipeline_index >= cfg->pipeline_count)
                return config_error("pipeline index %d is not below the pipeline count %d", cfg->pipeline_index,
                                    cfg->pipeline_count);
        if (cfg->max_debounce_ms < cfg->debounce_ms)
                cfg->max_debounce_ms = cfg->debounce_ms;
        if (!cfg->once && access(cfg->metadata_dir, F_OK) < 0) {
                _cleanup_free_ char *parent = xstrdup(cfg->metadata_dir);
                char *slash = strrchr(parent, '/');
                if (slash && slash != parent)
                        *slash = '\0';
                if (access(parent, F_OK) < 0)
                        return config_error("metadata directory \"%s\" does not exist, nor its parent",
                                            cfg->metadata_dir);
        }
        return 0;
}

void sidecar_config_clear(struct sidecar_config *cfg) {
        kstatus_object_ref_clear(&cfg->object);
        free(cfg->metadata_dir);
        free(cfg->input_dir);
        free(cfg->status_file);
        free(cfg->pipeline);
        free(cfg->promise);
        free(cfg->workflow_type);
        free(cfg->pod_name);
        free(cfg->pod_namespace);
        free(cfg->container_name);
        free(cfg->kubeconfig);
        free(cfg->context);
}

void sidecar_done(struct sidecar *s) {
        api_free(s->api);
        json_decref(s->start);
        json_decref(s->server);
        json_decref(s->pushed);
        json_decref(s->unsure);
        json_decref(s->last_good);
        free(s->last_error);
        free(s->uid);
        free(s->resource_version);
        sidecar_config_clear(&s->cfg);
}

/* kube's messages are kubectl's whole line ("error: …", "Error from server …"); others get the prefix. */
static void print_error_line(const char *message) {
        bool prefixed = strncmp(message, "error: ", 7) == 0 || strncmp(message, "Error ", 6) == 0;
        fprintf(stderr, "%s%s\n", prefixed ? "" : "error: ", message);
}

/* Only the kind is known (object.yaml without KRATIX_CRD_PLURAL): ask discovery
 * for the plural and the scope, as kubectl would. */
static int resolve_resource(struct sidecar *s) {
        struct kstatus_object_ref *o = &s->cfg.object;
        _cleanup_(kube_status_error_done) struct kube_status_error aerr = { 0 };
        bool namespaced;
        int r = api_resolve_kind(s->api, o->group, o->version, o->kind, &o->resource, &namespaced, &aerr);
        if (r < 0) {
                print_error_line(aerr.message);
                return r;
        }
        if (!namespaced) {
                o->cluster_scoped = true;
                free(o->namespace);
                o->namespace = NULL;
        }
        return 0;
}

int main(int argc, char **argv) {
        if (argc > 1 && strcmp(argv[1], "health") == 0) return health_main(argc - 1, argv + 1);
        struct sidecar s = { .kratix_owned = -1, .last = -1 };
        srandom((unsigned)time(NULL) ^ (unsigned)getpid());
        int r = parse_config(argc, argv, &s.cfg);
        if (r != 0) {
                sidecar_config_clear(&s.cfg);
                return r > 0 ? EXIT_DONE : EXIT_CONFIG;
        }
        struct kstatus_error err = { 0 };
        if (api_new(&s.cfg, &s.api, &err) < 0) {
                print_error_line(err.message);
                sidecar_done(&s);
                return EXIT_CONFIG;
        }
        if (!s.cfg.object.resource && resolve_resource(&s) < 0) {
                sidecar_done(&s);
                return EXIT_CONFIG;
        }
        /* --once is a short foreground job: Ctrl-C still stops it at once. */
        if (!s.cfg.once && (r = sidecar_block_signals()) < 0) {
                log_error_errno(r, "start", "cannot block signals");
                sidecar_done(&s);
                return EXIT_CONFIG;
        }
        r = sidecar_start(&s);
        if (r < 0) {
                sidecar_done(&s);
                return EXIT_CONFIG;
        }
        if (s.cfg.once)
                r = sidecar_finish(&s, OUTCOME_SUCCEEDED, NULL);
        else
                r = sidecar_run(&s);
        sidecar_done(&s);
        return r < 0 ? EXIT_WRITE_FAILED : EXIT_DONE;
}
