/* kube-client - drive common/kube from the integration tests (not installed).
 *
 *   kube-client [options] get PATH...        (one JSON line per PATH, in order)
 *   kube-client [options] list PATH LIMIT
 *   kube-client [options] resolve NAME...
 *   kube-client [options] patch PATH SUBRESOURCE|- merge|json BODY
 *   kube-client [options] create PATH BODY
 *   kube-client [options] append-once PATH MARKER
 *   kube-client [options] watch PATH RESOURCE_VERSION|- COUNT
 *
 * options: --kubeconfig F, --context C, --cluster C, --user U, --namespace N, --deadline MS (retry budget of writes),
 *          --request-timeout MS, --no-precondition (append-once without
 *          resourceVersion)
 *
 * append-once adds MARKER to the object's status.log with a JSON patch that
 * carries metadata.resourceVersion; on 409 it re-reads and stops when MARKER
 * is already there. So a write the server applied but whose answer was lost
 * is not applied twice. Prints {"result":..., "attempts":N}.
 *
 * Errors go to stderr as the library words them; exit 1. The last stderr line
 * is "requests: N connections: N http: V" (V: 1.1, 2, ... of the last answer,
 * - before any). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "kube/client.h"
#include "kube/config.h"
#include "kube/discovery.h"
#include "kube/watch.h"
#include "util.h"

static int64_t arg_deadline_ms = 0;
static int64_t arg_timeout_ms = 0;
static bool arg_no_precondition;

static void print_json(const json_t *v) {
        char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        puts(s);
        free(s);
}

static int fail(struct kstatus_error *err) {
        fprintf(stderr, "%s\n", err->message ? err->message : "error: unknown");
        kstatus_error_done(err);
        return 1;
}

static json_t *parse(const char *text) {
        json_error_t je;
        json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
        if (!v)
                fprintf(stderr, "error: invalid JSON \"%s\": %s\n", text, je.text);
        return v;
}

struct append {
        const char *path;
        const char *marker;
        unsigned recomputes;
};

static bool has_marker(const json_t *obj, const char *marker) {
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(json_object_get(obj, "status"), "log"), i, e) {
                if (json_is_string(e) && strcmp(json_string_value(e), marker) == 0)
                        return true;
        }
        return false;
}

static json_t *append_patch(const json_t *obj, const char *marker) {
        json_t *ops = json_array();
        const char *rv = json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
        if (!arg_no_precondition && rv)
                json_array_append_new(ops, json_pack("{s:s, s:s, s:s}", "op", "replace", "path",
                                                     "/metadata/resourceVersion", "value", rv));
        json_array_append_new(ops, json_pack("{s:s, s:s, s:s}", "op", "add", "path", "/status/log/-", "value", marker));
        return ops;
}

static int recompute(struct kube_client *c, void *userdata, json_t **body, struct kstatus_error *err) {
        struct append *a = userdata;
        a->recomputes++;
        json_t *obj = NULL;
        int r = kube_client_get(c, a->path, &obj, err);
        if (r < 0)
                return r;
        if (has_marker(obj, a->marker)) {
                json_decref(obj);
                return 0;
        }
        *body = append_patch(obj, a->marker);
        json_decref(obj);
        return 1;
}

static int on_event(const char *type, const json_t *obj, void *userdata) {
        int *left = userdata;
        const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
        printf("%s %s\n", type, strcmp(type, "RELIST") == 0 ? "list" : name ? name : "?");
        fflush(stdout);
        return --*left <= 0 ? 1 : 0;
}

static int64_t arg_max_response; /* --max-response BYTES; 0: the client's default */

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "context", required_argument, NULL, 'c' },
                { "kubeconfig", required_argument, NULL, 'k' },
                { "cluster", required_argument, NULL, 'C' },
                { "user", required_argument, NULL, 'u' },
                { "namespace", required_argument, NULL, 'n' },
                { "deadline", required_argument, NULL, 'd' },
                { "request-timeout", required_argument, NULL, 't' },
                { "no-precondition", no_argument, NULL, 'P' },
                { "max-response", required_argument, NULL, 'M' },
                {},
        };
        struct kube_config_options co = { 0 };
        int c;
        while ((c = getopt_long(argc, argv, "+n:", opts, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        co.context = optarg;
                        break;
                case 'n':
                        co.namespace = optarg;
                        break;
                case 'k':
                        co.kubeconfig = optarg;
                        break;
                case 'C':
                        co.cluster = optarg;
                        break;
                case 'u':
                        co.user = optarg;
                        break;
                case 'd':
                        if (parse_int64(optarg, 0, INT64_MAX, &arg_deadline_ms) < 0)
                                return 2;
                        break;
                case 't':
                        if (parse_int64(optarg, 0, INT64_MAX, &arg_timeout_ms) < 0)
                                return 2;
                        break;
                case 'P':
                        arg_no_precondition = true;
                        break;
                case 'M':
                        if (parse_int64(optarg, 0, INT64_MAX, &arg_max_response) < 0)
                                return 2;
                        break;
                default:
                        return 2;
                }
        }
        if (optind >= argc) {
                fprintf(stderr, "usage: kube-client [options] get|list|resolve|patch|create|append-once|watch ...\n");
                return 2;
        }
        const char *cmd = argv[optind];
        char **args = argv + optind + 1;
        int nargs = argc - optind - 1;

        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
        _cleanup_(kube_config_freep) struct kube_config *cfg = NULL;
        if (kube_config_load(&co, &cfg, &e) < 0) {
                fprintf(stderr, "%s\n", e.message);
                return 1;
        }
        struct kube_client_options copts = { .request_timeout_ms = arg_timeout_ms,
                                             .max_response_bytes = (size_t)arg_max_response };
        struct kube_client *client = NULL;
        if (kube_client_new(cfg, &copts, &client, &e) < 0) {
                fprintf(stderr, "error: %s\n", e.message);
                return 1;
        }
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        struct kube_retry_policy policy = { .deadline_ms = arg_deadline_ms };
        json_t *out = NULL;
        int rc = 0, r;
        if (strcmp(cmd, "get") == 0 && nargs >= 1) {
                for (int i = 0; i < nargs && rc == 0; i++) {
                        json_decref(out);
                        out = NULL;
                        r = kube_client_get(client, args[i], &out, &err);
                        rc = r < 0 ? fail(&err) : (print_json(out), 0);
                }
        } else if (strcmp(cmd, "list") == 0 && nargs == 2) {
                int64_t limit;
                if (parse_int64(args[1], 0, 100000, &limit) < 0)
                        return 2;
                r = kube_client_list(client, args[0], (unsigned)limit, NULL, NULL, &out, &err);
                rc = r < 0 ? fail(&err) : (print_json(out), 0);
        } else if (strcmp(cmd, "resolve") == 0 && nargs >= 1) {
                struct kube_discovery *d = NULL;
                (void)kube_discovery_new(client, NULL, &d, &e);
                for (int i = 0; i < nargs && rc == 0; i++) {
                        struct kube_resource res = { 0 };
                        char *warning = NULL;
                        r = kube_discovery_resolve(d, args[i], &res, &warning, &err);
                        if (r < 0) {
                                rc = fail(&err);
                                break;
                        }
                        if (warning)
                                fprintf(stderr, "Warning: %s\n", warning);
                        free(warning);
                        printf("%s %s %s %s %s\n", *res.group ? res.group : "core", res.version, res.resource,
                               res.kind, res.namespaced ? "namespaced" : "cluster");
                        kube_resource_done(&res);
                }
                printf("discovery requests: %u\n", kube_discovery_requests(d));
                kube_discovery_free(d);
        } else if (strcmp(cmd, "patch") == 0 && nargs == 4) {
                json_t *body = parse(args[3]);
                if (!body)
                        return 2;
                enum kube_patch_type type = strcmp(args[2], "json") == 0 ? KUBE_PATCH_JSON : KUBE_PATCH_MERGE;
                r = kube_client_patch(client, args[0], strcmp(args[1], "-") == 0 ? NULL : args[1], type, body, &policy,
                                      &out, &err);
                json_decref(body);
                rc = r < 0 ? fail(&err) : (print_json(out), 0);
        } else if (strcmp(cmd, "create") == 0 && nargs == 2) {
                json_t *body = parse(args[1]);
                if (!body)
                        return 2;
                r = kube_client_create(client, args[0], body, &policy, &out, &err);
                json_decref(body);
                rc = r < 0 ? fail(&err) : (print_json(out), 0);
        } else if (strcmp(cmd, "append-once") == 0 && nargs == 2) {
                struct append a = { .path = args[0], .marker = args[1] };
                json_t *obj = NULL;
                /* The first read rides out faults too, under the same deadline. */
                r = kube_client_write(client, "GET", a.path, NULL, NULL, &policy, &obj, &err);
                if (r < 0) {
                        int attempts = err.attempts;
                        rc = fail(&err);
                        fprintf(stderr, "attempts: %d\n", attempts);
                }
                else {
                        json_t *body = append_patch(obj, a.marker);
                        json_decref(obj);
                        policy.recompute = arg_no_precondition ? NULL : recompute;
                        policy.userdata = &a;
                        _cleanup_free_ char *status_path = xasprintf("%s/status", a.path);
                        r = kube_client_write(client, "PATCH", status_path, kube_patch_content_type(KUBE_PATCH_JSON),
                                              body, &policy, NULL, &err);
                        json_decref(body);
                        if (r < 0) {
                                int attempts = err.attempts;
                                rc = fail(&err);
                                fprintf(stderr, "attempts: %d\n", attempts);
                        } else
                                printf("{\"attempts\":%d,\"recomputes\":%u,\"result\":\"%s\"}\n", err.attempts,
                                       a.recomputes, r == KUBE_NOTHING_TO_DO ? "nothing-to-do" : "written");
                }
        } else if (strcmp(cmd, "watch") == 0 && nargs == 3) {
                int64_t count;
                if (parse_int64(args[2], 1, 100000, &count) < 0)
                        return 2;
                int left = (int)count;
                struct kube_watch *w = NULL;
                if (kube_watch_new(client, args[0], strcmp(args[1], "-") == 0 ? NULL : args[1], on_event, &left, &w,
                                   &e) < 0) {
                        fprintf(stderr, "error: %s\n", e.message);
                        rc = 1;
                } else {
                        r = kube_watch_run(w, arg_timeout_ms ? arg_timeout_ms : 30000, &err);
                        if (r < 0)
                                rc = fail(&err);
                        printf("connects: %u\n", kube_watch_connects(w));
                        kube_watch_free(w);
                }
        } else {
                fprintf(stderr, "error: unknown command or wrong arguments: %s\n", cmd);
                rc = 2;
        }
        unsigned requests, connections;
        kube_client_counters(client, &requests, &connections);
        int v = kube_client_http_version(client);
        char version[16] = "-";
        if (v)
                snprintf(version, sizeof(version), v % 10 ? "%d.%d" : "%d", v / 10, v % 10);
        fprintf(stderr, "requests: %u connections: %u http: %s\n", requests, connections, version);
        json_decref(out);
        kstatus_error_done(&err);
        kube_client_free(client);
        return rc;
}
