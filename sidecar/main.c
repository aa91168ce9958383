/* kstatus-sidecar: carries /kratix/metadata/status.yaml into the resource's
 * status, live and when the pipeline ends (docs/BEHAVIOUR.md §3-§6).
 * main.c parses the configuration; loop.c waits; push.c writes. */
#include <errno.h>
#include <stddef.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "kube/client.h"
#include "../health/controller.h"
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
        "      --deadline=DURATION      how long the shutdown may take once the pipeline ended (60s)\n"
        "      --no-live                only write when the pipeline ends\n"
        "      --poll=DURATION          check status.yaml this often instead of watching it with inotify\n"
        "                               (used by itself when inotify is out of instances or watches)\n"
        "      --once                   apply status.yaml once, as the final write, and exit\n"
        "      --kubeconfig=FILE        kubeconfig outside a cluster (default: KUBECONFIG as kubectl reads it)\n"
        "      --context=NAME           kubeconfig context\n"
        "      --request-timeout=DURATION  give up on one request after DURATION (10s)\n"
        "      --log-format=text|json   log line format (text)\n"
        "  -v, --verbose                log debug events too\n"
        "      --max-file-size=SIZE, --max-depth=N, --max-nodes=N, --max-status-size=SIZE,\n"
        "      --max-status-memory=SIZE\n"
        "                               status.yaml limits (1Mi, 64, 100000, 1Mi, 12Mi)\n"
        "      --max-response-size=SIZE the largest answer taken from the API server (4Mi), inside\n"
        "                               the 32Mi memory limit injection gives the sidecar\n"
        "      --max-response-memory=SIZE  the most memory one answer may take once parsed (16Mi), estimated\n"
        "                               before parsing, for the same limit\n"
        "      --version                print the version\n";

/* The resource from object.yaml when the environment does not name it. */
static int object_from_input(struct sidecar_config *cfg) {
        _cleanup_free_ char *path = xasprintf("%s/object.yaml", cfg->input_dir);
        _cleanup_free_ char *buf = NULL;
        size_t len;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        if (kstatus_read_file(path, true, 16u << 20, &buf, &len, &err) < 0)
                return -ENOENT;
        _cleanup_json_ json_t *obj = NULL;
        struct kstatus_limits lim = KSTATUS_LIMITS_DEFAULT;
        lim.max_file_bytes = lim.max_result_bytes = 16u << 20;
        lim.max_memory_bytes = cfg->max_response_memory; /* the object, as an answer is bounded */
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

/* ---- every setting, its flag and its environment variable in one table ---- */

struct setting;
/* Read v (NULL: a flag without argument) into cfg; what names it in messages
 * ("KSTATUS_MERGE \"x\"" or "argument \"x\" for \"--merge\""). 0 or -EINVAL
 * after printing one line. */
typedef int (*setting_fn)(struct sidecar_config *cfg, const struct setting *def, const char *v, const char *what);

struct setting {
        const char *flag; /* long flag; NULL: environment only */
        int short_flag;   /* 'n', 'v' or 0 */
        const char *env;  /* environment variable (empty values are unset); NULL: flag only */
        bool argument;    /* the flag takes a value */
        setting_fn set;
        size_t offset;    /* of the field in struct sidecar_config */
};

#define FIELD(cfg, def, type) ((type *)(void *)((char *)(cfg) + (def)->offset))

static int set_string(struct sidecar_config *cfg, const struct setting *def, const char *v, const char *what) {
        (void)what;
        set_str(FIELD(cfg, def, char *), v);
        return 0;
}

/* A flag without argument, or a variable that is exactly "true" as Kratix reads them. */
static int set_bool(struct sidecar_config *cfg, const struct setting *def, const char *v, const char *what) {
        (void)what;
        *FIELD(cfg, def, bool) = !v || strcmp(v, "true") == 0;
        return 0;
}

static int set_no_live(struct sidecar_config *cfg, const struct setting *def, const char *v, const char *what) {
        (void)def, (void)v, (void)what;
        cfg->live = false;
        return 0;
}

static int set_verbose(struct sidecar_config *cfg, const struct setting *def, const char *v, const char *what) {
        (void)def, (void)v, (void)what;
        cfg->log_level = LOG_LEVEL_DEBUG;
        return 0;
}

static int set_is_last(struct sidecar_config *cfg, const struct setting *def, const char *v, const char *what) {
        (void)def, (void)what;
        cfg->is_last = strcmp(v, "true") == 0;
        return 0;
}

static int set_duration(struct sidecar_config *cfg, const struct setting *def, const char *v, const char *what) {
        if (parse_duration_ms(v, FIELD(cfg, def, int64_t)) < 0)
                return config_error("invalid %s: want a duration such as 500ms or 2s", what);
        return 0;
}

static int set_poll(struct sidecar_config *cfg, const struct setting *def, const char *v, const char *what) {
        int r = set_duration(cfg, def, v, what);
        if (r == 0 && cfg->poll_ms <= 0)
                return config_error("invalid %s: want a duration above 0", what);
        return r;
}

static int set_count(struct sidecar_config *cfg, const struct setting *def, const char *v, const char *what) {
        int64_t n;
        if (parse_int64(v, 0, 10000, &n) < 0)
                return config_error("invalid %s: want a number from 0 to 10000", what);
        *FIELD(cfg, def, int) = (int)n;
        return 0;
}

static int set_size(struct sidecar_config *cfg, const struct setting *def, const char *v, const char *what) {
        size_t size;
        if (parse_size(v, &size) < 0 || size == 0)
                return config_error("invalid %s: want a size such as 1Mi", what);
        *FIELD(cfg, def, size_t) = size;
        return 0;
}

static int set_max_depth(struct sidecar_config *cfg, const struct setting *def, const char *v, const char *what) {
        (void)def;
        int64_t n;
        if (parse_int64(v, 1, 100000000, &n) < 0)
                return config_error("invalid %s: want a number from 1 to 100000000", what);
        cfg->limits.max_depth = (unsigned)n;
        return 0;
}

static int set_max_nodes(struct sidecar_config *cfg, const struct setting *def, const char *v, const char *what) {
        (void)def;
        int64_t n;
        if (parse_int64(v, 1, 100000000, &n) < 0)
                return config_error("invalid %s: want a number from 1 to 100000000", what);
        cfg->limits.max_nodes = (size_t)n;
        return 0;
}

static int set_merge(struct sidecar_config *cfg, const struct setting *def, const char *v, const char *what) {
        (void)def;
        if (kstatus_merge_mode_from_string(v, &cfg->mode) < 0)
                return config_error("invalid %s: want deep or shallow", what);
        return 0;
}

static int set_workflow_conditions(struct sidecar_config *cfg, const struct setting *def, const char *v,
                                   const char *what) {
        (void)def;
        static const char *const names[] = { [WORKFLOW_CONDITIONS_AUTO] = "auto", [WORKFLOW_CONDITIONS_ON] = "on",
                                              [WORKFLOW_CONDITIONS_OFF] = "off" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcmp(v, names[i]) == 0) {
                        cfg->workflow_conditions = (enum workflow_conditions)i;
                        return 0;
                }
        return config_error("invalid %s: want auto, on or off", what);
}

static int set_action(struct sidecar_config *cfg, const struct setting *def, const char *v, const char *what) {
        (void)def;
        if (strcmp(v, "delete") != 0 && strcmp(v, "configure") != 0)
                return config_error("invalid %s: want configure or delete", what);
        cfg->action = strcmp(v, "delete") == 0 ? ACTION_DELETE : ACTION_CONFIGURE;
        return 0;
}

static int set_log_format(struct sidecar_config *cfg, const struct setting *def, const char *v, const char *what) {
        (void)def;
        if (log_format_from_string(v, &cfg->log_format) < 0)
                return config_error("invalid %s: want text or json", what);
        return 0;
}

#define AT(field) offsetof(struct sidecar_config, field)
static const struct setting settings[] = {
        /* The resource: Kratix's environment, or flags. */
        { "group", 0, "KRATIX_OBJECT_GROUP", true, set_string, AT(object.group) },
        { "api-version", 0, "KRATIX_OBJECT_VERSION", true, set_string, AT(object.version) },
        { "resource", 0, "KRATIX_CRD_PLURAL", true, set_string, AT(object.resource) },
        { NULL, 0, "KRATIX_OBJECT_KIND", true, set_string, AT(object.kind) },
        { "name", 0, "KRATIX_OBJECT_NAME", true, set_string, AT(object.name) },
        { "namespace", 'n', "KRATIX_OBJECT_NAMESPACE", true, set_string, AT(object.namespace) },
        { "cluster-scoped", 0, "KRATIX_CLUSTER_SCOPED", false, set_bool, AT(object.cluster_scoped) },
        /* The pipeline and its place in the workflow. */
        { "pipeline", 0, "KRATIX_PIPELINE_NAME", true, set_string, AT(pipeline) },
        { "pipeline-index", 0, "KSTATUS_PIPELINE_INDEX", true, set_count, AT(pipeline_index) },
        { "pipeline-count", 0, "KSTATUS_PIPELINE_COUNT", true, set_count, AT(pipeline_count) },
        { NULL, 0, "IS_LAST_PIPELINE", true, set_is_last, AT(is_last) },
        { NULL, 0, "KRATIX_PROMISE_NAME", true, set_string, AT(promise) },
        { NULL, 0, "KRATIX_WORKFLOW_TYPE", true, set_string, AT(workflow_type) },
        { NULL, 0, "KRATIX_WORKFLOW_ACTION", true, set_action, AT(action) },
        { NULL, 0, "KRATIX_DRY_RUN", true, set_bool, AT(dry_run) },
        { NULL, 0, "POD_NAME", true, set_string, AT(pod_name) },
        { NULL, 0, "POD_NAMESPACE", true, set_string, AT(pod_namespace) },
        { NULL, 0, "KSTATUS_CONTAINER_NAME", true, set_string, AT(container_name) },
        /* Files and what is written. */
        { "metadata-dir", 0, "KSTATUS_METADATA_DIR", true, set_string, AT(metadata_dir) },
        { "input-dir", 0, "KSTATUS_INPUT_DIR", true, set_string, AT(input_dir) },
        { "merge", 0, "KSTATUS_MERGE", true, set_merge, AT(mode) },
        { "workflow-conditions", 0, "KSTATUS_WORKFLOW_CONDITIONS", true, set_workflow_conditions,
          AT(workflow_conditions) },
        /* When. */
        { "debounce", 0, NULL, true, set_duration, AT(debounce_ms) },
        { "max-debounce", 0, NULL, true, set_duration, AT(max_debounce_ms) },
        { "deadline", 0, NULL, true, set_duration, AT(final_deadline_ms) },
        { "no-live", 0, NULL, false, set_no_live, AT(live) },
        { "poll", 0, NULL, true, set_poll, AT(poll_ms) },
        { "once", 0, NULL, false, set_bool, AT(once) },
        /* The API server. */
        { "kubeconfig", 0, NULL, true, set_string, AT(kubeconfig) },
        { "context", 0, NULL, true, set_string, AT(context) },
        { "request-timeout", 0, NULL, true, set_duration, AT(request_timeout_ms) },
        /* Logs and limits. */
        { "log-format", 0, NULL, true, set_log_format, AT(log_format) },
        { "verbose", 'v', NULL, false, set_verbose, AT(log_level) },
        { "max-file-size", 0, NULL, true, set_size, AT(limits.max_file_bytes) },
        { "max-depth", 0, NULL, true, set_max_depth, AT(limits.max_depth) },
        { "max-nodes", 0, NULL, true, set_max_nodes, AT(limits.max_nodes) },
        { "max-status-size", 0, NULL, true, set_size, AT(limits.max_result_bytes) },
        { "max-status-memory", 0, NULL, true, set_size, AT(limits.max_memory_bytes) },
        { "max-response-size", 0, NULL, true, set_size, AT(max_response_bytes) },
        { "max-response-memory", 0, NULL, true, set_size, AT(max_response_memory) },
};
#undef AT

enum { OPT_BASE = 1000, OPT_VERSION = 999, OPT_HELP = 998 };

static int read_environment(struct sidecar_config *cfg) {
        for (size_t i = 0; i < ELEMENTSOF(settings); i++) {
                const char *v = settings[i].env ? getenv(settings[i].env) : NULL;
                if (!v || !*v)
                        continue;
                _cleanup_free_ char *what = xasprintf("%s \"%s\"", settings[i].env, v);
                if (settings[i].set(cfg, &settings[i], v, what) < 0)
                        return -EINVAL;
        }
        return 0;
}

/* getopt_long's table, from the settings (new array). */
static struct option *long_options(void) {
        struct option *o = xcalloc(ELEMENTSOF(settings) + 3, sizeof(*o));
        size_t n = 0;
        for (size_t i = 0; i < ELEMENTSOF(settings); i++)
                if (settings[i].flag)
                        o[n++] = (struct option){ settings[i].flag, settings[i].argument ? required_argument
                                                                                         : no_argument,
                                                  NULL, OPT_BASE + (int)i };
        o[n++] = (struct option){ "version", no_argument, NULL, OPT_VERSION };
        o[n++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
        return o;
}

static const struct setting *setting_of(int c) {
        if (c >= OPT_BASE && c < OPT_BASE + (int)ELEMENTSOF(settings))
                return &settings[c - OPT_BASE];
        for (size_t i = 0; i < ELEMENTSOF(settings); i++)
                if (settings[i].short_flag && settings[i].short_flag == c)
                        return &settings[i];
        return NULL;
}

/* Flags over the environment: 0, 1 when --version or --help was answered, or -EINVAL. */
static int read_flags(int argc, char **argv, struct sidecar_config *cfg) {
        _cleanup_free_ struct option *options = long_options();
        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "n:vh", options, NULL)) >= 0) {
                const struct setting *def = setting_of(c);
                if (def) {
                        _cleanup_free_ char *what = xasprintf("argument \"%s\" for \"--%s\"", optarg ? optarg : "",
                                                              def->flag);
                        if (def->set(cfg, def, optarg, what) < 0)
                                return -EINVAL;
                } else if (c == OPT_VERSION) {
                        printf("kstatus-sidecar version v%s (commit %s)\n", KSTATUS_VERSION, KSTATUS_COMMIT);
                        return 1;
                } else if (c == OPT_HELP || c == 'h') {
                        fputs(usage, stdout);
                        return 1;
                } else if (c == ':')
                        return config_error("flag needs an argument: %s", argv[optind - 1]);
                else
                        return config_error("unknown flag: %s", argv[optind - 1]);
        }
        if (optind < argc)
                return config_error("unexpected argument \"%s\"", argv[optind]);
        return 0;
}

static void fill_defaults(struct sidecar_config *cfg) {
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
        if (cfg->object.name && !cfg->object.group)
                cfg->object.group = xstrdup("");
        if (cfg->object.name && !cfg->object.cluster_scoped && !cfg->object.namespace)
                cfg->object.namespace = xstrdup("default");
        if (cfg->max_debounce_ms < cfg->debounce_ms)
                cfg->max_debounce_ms = cfg->debounce_ms;
}

/* As kubectl and client-go, a name that would change the request's path is
 * refused before any request (docs/BEHAVIOUR.md §6); the rest is escaped. */
static int check_path_segments(const struct sidecar_config *cfg) {
        const struct kstatus_object_ref *o = &cfg->object;
        const struct {
                const char *what, *value;
        } segments[] = {
                { "resource name", o->name },     { "namespace", o->namespace },        { "resource", o->resource },
                { "API group", o->group },        { "API version", o->version },        { "pod name", cfg->pod_name },
                { "pod namespace", cfg->pod_namespace }, { "promise name", cfg->promise },
        };
        for (size_t i = 0; i < ELEMENTSOF(segments); i++) {
                if (!segments[i].value)
                        continue;
                _cleanup_free_ char *problems = kube_path_segment_problems(segments[i].value);
                if (problems) {
                        _cleanup_free_ char *safe = kstatus_escape_terminal(segments[i].value);
                        return config_error("invalid %s \"%s\": %s", segments[i].what, safe, problems);
                }
        }
        return 0;
}

static int check_config(const struct sidecar_config *cfg) {
        if (!cfg->object.name)
                return config_error("no resource to report on: set KRATIX_OBJECT_NAME (Kratix does) or --name, or "
                                    "provide %s/object.yaml",
                                    cfg->input_dir);
        if (!*cfg->object.name)
                return config_error("resource name may not be empty");
        if (check_path_segments(cfg) < 0)
                return -EINVAL;
        if (!cfg->object.version)
                return config_error("no API version for \"%s\": set KRATIX_OBJECT_VERSION or --api-version",
                                    cfg->object.name);
        if (!cfg->object.resource && !cfg->object.kind)
                return config_error("no resource type for \"%s\": set KRATIX_CRD_PLURAL or --resource",
                                    cfg->object.name);
        if ((cfg->pipeline_index >= 0) != (cfg->pipeline_count >= 0))
                return config_error("KSTATUS_PIPELINE_INDEX and KSTATUS_PIPELINE_COUNT must be set together");
        if (cfg->pipeline_index >= 0 && cfg->pipeline_index >= cfg->pipeline_count)
                return config_error("pipeline index %d is not below the pipeline count %d", cfg->pipeline_index,
                                    cfg->pipeline_count);
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

/* The environment, then the flags over it: 0, 1 when --version or --help
 * was answered, or -EINVAL after one line on stderr. */
static int parse_config(int argc, char **argv, struct sidecar_config *cfg) {
        *cfg = (struct sidecar_config){
                .pipeline_index = -1, .pipeline_count = -1, .is_last = -1, .mode = KSTATUS_MERGE_DEEP,
                .limits = KSTATUS_LIMITS_DEFAULT, .debounce_ms = 50, .max_debounce_ms = 2000,
                .final_deadline_ms = 60000, .request_timeout_ms = 10000, .live = true,
                .max_response_bytes = SIDECAR_MAX_RESPONSE_BYTES,
                .max_response_memory = SIDECAR_MAX_RESPONSE_MEMORY,
                .log_format = LOG_FORMAT_TEXT, .log_level = LOG_LEVEL_INFO,
        };
        int r = read_environment(cfg);
        if (r == 0)
                r = read_flags(argc, argv, cfg);
        if (r != 0)
                return r;
        log_setup(cfg->log_format, cfg->log_level);
        fill_defaults(cfg);
        return check_config(cfg);
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
        _cleanup_(kstatus_error_done) struct kstatus_error aerr = { 0 };
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

static int64_t budget_left(void *userdata) {
        return sidecar_budget_left(userdata);
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
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        if (api_new(&s.cfg, &s.api, &err) < 0) {
                print_error_line(err.message);
                sidecar_done(&s);
                return EXIT_CONFIG;
        }
        api_set_budget(s.api, budget_left, &s);
        /* --once is all final write: its budget runs from the start. */
        if (s.cfg.once)
                s.end_ms = kstatus_monotonic_ms();
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
                /* Only what the configuration names wrongly is a configuration
                 * error; an unavailable API or a re-created object is not. */
                return r == -EINVAL ? EXIT_CONFIG : EXIT_WRITE_FAILED;
        }
        if (s.cfg.once)
                r = sidecar_finish(&s, OUTCOME_SUCCEEDED, NULL);
        else
                r = sidecar_run(&s);
        sidecar_done(&s);
        return r < 0 ? EXIT_WRITE_FAILED : EXIT_DONE;
}
