/* main.c - `kstatus-sidecar health`, the HealthRecord controller: its flags,
 * set-up and tear-down (controller.h says what it does, loop.c how).
 *
 * By default it writes only status.healthRecord, the seed's form: Kratix's own
 * HealthRecord controller writes status.healthStatus, and two writers of one
 * key would alternate. --health-status (for a Kratix without that controller)
 * writes healthStatus too, as Kratix projects it, with Events when its state
 * changes. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "controller.h"
#include "internal.h"
#include "kube/config.h"
#include "log.h"
#include "version.h"

enum { EXIT_OK = 0, EXIT_CONFIG = 2 };

static const char usage[] =
        "kstatus-sidecar health reflects HealthRecords on the resources they name: status.healthRecord (the\n"
        "newest record). Kratix's own controller writes status.healthStatus; with --health-status this one\n"
        "writes it too, as Kratix would ({state, healthRecords}, the least desirable state wins).\n"
        "\n"
        "Usage:\n"
        "  kstatus-sidecar health [options]\n"
        "\n"
        "Options:\n"
        "  -A, --all-namespaces          watch HealthRecords in every namespace (the default)\n"
        "  -n, --namespace=NS            watch HealthRecords in NS only\n"
        "      --health-status           also write status.healthStatus (for a Kratix without its HealthRecord\n"
        "                                controller), with an Event when its state changes\n"
        "      --resync=DURATION         re-read every resource this often, 0 never (10m)\n"
        "      --deadline=DURATION       how long one status write may retry (10s)\n"
        "      --leader-elect[=true|false]  write only while holding a coordination.k8s.io Lease, so that\n"
        "                                several replicas can run (false: one replica)\n"
        "      --leader-elect-lease-duration=DURATION  how long others wait after the last renewal, whole\n"
        "                                seconds (15s)\n"
        "      --leader-elect-renew-deadline=DURATION  the leader stops writing when it could not renew for\n"
        "                                this long (10s)\n"
        "      --leader-elect-retry-period=DURATION  how often to try to acquire or renew (2s)\n"
        "      --leader-elect-resource-name=NAME  the Lease's name (kstatus-health)\n"
        "      --leader-elect-resource-namespace=NS  the Lease's namespace (default: the Pod's, or the\n"
        "                                kubeconfig context's)\n"
        "      --kubeconfig=FILE         kubeconfig outside a cluster (default: KUBECONFIG as kubectl reads it)\n"
        "      --context=NAME            kubeconfig context\n"
        "      --request-timeout=DURATION  give up on one request after DURATION (10s)\n"
        "      --log-format=text|json    log line format (text)\n"
        "  -v, --verbose                 log debug events too\n";

enum {
        O_RESYNC = 1000, O_DEADLINE, O_HELP, O_HEALTH_STATUS, O_LEADER_ELECT, O_LEASE_DURATION, O_RENEW_DEADLINE,
        O_RETRY_PERIOD, O_LEASE_NAME, O_LEASE_NAMESPACE,
};

static const struct option options[] = {
        { "all-namespaces", no_argument, NULL, 'A' },
        { "namespace", required_argument, NULL, 'n' },
        { "health-status", no_argument, NULL, O_HEALTH_STATUS },
        { "resync", required_argument, NULL, O_RESYNC },
        { "deadline", required_argument, NULL, O_DEADLINE },
        { "help", no_argument, NULL, O_HELP },
        { "leader-elect", optional_argument, NULL, O_LEADER_ELECT },
        { "leader-elect-lease-duration", required_argument, NULL, O_LEASE_DURATION },
        { "leader-elect-renew-deadline", required_argument, NULL, O_RENEW_DEADLINE },
        { "leader-elect-retry-period", required_argument, NULL, O_RETRY_PERIOD },
        { "leader-elect-resource-name", required_argument, NULL, O_LEASE_NAME },
        { "leader-elect-resource-namespace", required_argument, NULL, O_LEASE_NAMESPACE },
        CONNECTION_LONG_OPTIONS,
        {},
};

/* --leader-elect[=BOOL], as pflag reads a bool flag (Go's strconv.ParseBool). */
static int set_bool(const char *flag, const char *arg, bool *ret) {
        static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
        static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };
        bool known = !arg;
        *ret = true;
        for (size_t i = 0; arg && i < ELEMENTSOF(yes); i++) {
                if (strcmp(arg, yes[i]) == 0 || strcmp(arg, no[i]) == 0) {
                        known = true;
                        *ret = strcmp(arg, yes[i]) == 0;
                }
        }
        if (!known)
                return config_error("invalid argument \"%s\" for \"--%s\" flag: strconv.ParseBool: parsing \"%s\": "
                                    "invalid syntax", arg, flag, arg);
        return 0;
}

/* A --leader-elect-* flag; 1 when c is none of them. */
static int set_lease_flag(struct health_lease *l, int c, const char *arg) {
        switch (c) {
        case O_LEADER_ELECT: return set_bool("leader-elect", arg, &l->enabled);
        case O_LEASE_DURATION: return parse_duration_arg("leader-elect-lease-duration", arg, &l->duration_ms);
        case O_RENEW_DEADLINE: return parse_duration_arg("leader-elect-renew-deadline", arg, &l->renew_deadline_ms);
        case O_RETRY_PERIOD: return parse_duration_arg("leader-elect-retry-period", arg, &l->retry_period_ms);
        case O_LEASE_NAME: set_str(&l->name, arg); return 0;
        case O_LEASE_NAMESPACE: set_str(&l->namespace, arg); return 0;
        default: return 1;
        }
}

/* client-go's checks of a LeaderElectionConfig (NewLeaderElector), and a
 * Lease counts whole seconds. */
static int check_lease_flags(const struct health_lease *l) {
        if (!l->enabled)
                return 0;
        if (l->duration_ms < 1000 || l->duration_ms % 1000 != 0)
                return config_error("--leader-elect-lease-duration must be a whole number of seconds, at least 1s");
        if (l->renew_deadline_ms <= 0 || l->retry_period_ms <= 0)
                return config_error("--leader-elect-renew-deadline and --leader-elect-retry-period must be greater "
                                    "than zero");
        if (l->duration_ms <= l->renew_deadline_ms)
                return config_error("--leader-elect-lease-duration must be greater than --leader-elect-renew-deadline");
        if ((double)l->renew_deadline_ms <= 1.2 * (double)l->retry_period_ms)
                return config_error("--leader-elect-renew-deadline must be greater than 1.2 times "
                                    "--leader-elect-retry-period");
        if (!*l->name || (l->namespace && !*l->namespace))
                return config_error("the Lease's name and namespace must not be empty");
        return 0;
}

/* One flag c with its argument (given: the word on the command line). 0, 1
 * when done (--help), <0 on a usage error (printed). */
static int set_flag(struct health *h, bool *all, int c, const char *arg, const char *given) {
        int r = connection_flag(&h->conn, c, arg);
        if (r <= 0)
                return r;
        r = set_lease_flag(&h->lease, c, arg);
        if (r <= 0)
                return r;
        switch (c) {
        case 'A': *all = true; return 0;
        case 'n': set_str(&h->namespace, arg); return 0;
        case O_HEALTH_STATUS: h->health_status = true; return 0;
        case O_RESYNC: return parse_duration_arg("resync", arg, &h->resync_ms);
        case O_DEADLINE: return parse_duration_arg("deadline", arg, &h->deadline_ms);
        case O_HELP:
        case 'h': fputs(usage, stdout); return 1;
        case ':': return config_error("flag needs an argument: %s", given);
        default: return config_error("unknown flag: %s", given);
        }
}

/* 0 to run, 1 when done (--help), <0 on a usage error (printed). */
static int parse_args(struct health *h, int argc, char **argv) {
        bool all = false;
        int c;
        opterr = 0;
        optind = 1;
        while ((c = getopt_long(argc, argv, "An:vh", options, NULL)) >= 0) {
                int r = set_flag(h, &all, c, optarg, argv[optind - 1]);
                if (r != 0)
                        return r;
        }
        if (optind < argc)
                return config_error("unexpected argument \"%s\"", argv[optind]);
        if (all && h->namespace)
                return config_error("--all-namespaces and --namespace cannot be used together");
        if (h->namespace && !*h->namespace)
                return config_error("a namespace must not be empty");
        int r = check_lease_flags(&h->lease);
        if (r < 0)
                return r;
        log_setup(h->conn.log_format, h->conn.log_level);
        return 0;
}

static void health_done(struct health *h) {
        health_watch_stop(h);
        kube_client_free(h->client);
        kube_config_free(h->config);
        health_promises_clear(h);
        health_lease_done(&h->lease);
        free(h->namespace);
        connection_flags_done(&h->conn);
        json_t *maps[] = { h->records, h->dirty, h->retry, h->seen, h->reported };
        for (size_t i = 0; i < ELEMENTSOF(maps); i++)
                json_decref(maps[i]);
        int fds[] = { h->epoll_fd, h->signal_fd, h->resync_fd, h->retry_fd };
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                if (fds[i] >= 0)
                        close(fds[i]);
}

int health_main(int argc, char **argv) {
        struct health h = {
                .resync_ms = 10 * 60 * 1000, .deadline_ms = 10000,
                .conn = { .request_timeout_ms = 10000, .log_format = LOG_FORMAT_TEXT, .log_level = LOG_LEVEL_INFO },
                .records = json_object(), .dirty = json_object(), .retry = json_object(), .seen = json_object(),
                .reported = json_object(), .epoll_fd = -1, .signal_fd = -1, .resync_fd = -1, .retry_fd = -1,
                .lease = { .duration_ms = 15000, .renew_deadline_ms = 10000, .retry_period_ms = 2000, .fd = -1,
                           .name = xstrdup("kstatus-health") },
        };
        int r = parse_args(&h, argc, argv);
        if (r != 0) {
                health_done(&h);
                return r > 0 ? EXIT_OK : EXIT_CONFIG;
        }
        /* In a Pod the service account; elsewhere a kubeconfig as kubectl reads it. */
        struct kube_config_options opts = {
                .source = KUBE_CONFIG_IN_CLUSTER_FIRST, .kubeconfig = h.conn.kubeconfig, .context = h.conn.context,
        };
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        struct kube_client_options copts = {
                .request_timeout_ms = h.conn.request_timeout_ms, .user_agent = "kstatus-health/" KSTATUS_VERSION,
        };
        if (kube_config_load(&opts, &h.config, &err) < 0 || kube_client_new(h.config, &copts, &h.client, &err) < 0 ||
            health_lease_setup(&h, &err) < 0) {
                /* The whole line kubectl prints for the same problem. */
                fprintf(stderr, "%s\n", err.message);
                health_done(&h);
                return EXIT_CONFIG;
        }
        log_info("start", "kstatus-sidecar health v%s: healthrecords in %s%s%s, resync %s, leader election %s",
                 KSTATUS_VERSION, h.namespace ? "namespace \"" : "all namespaces", h.namespace ? h.namespace : "",
                 h.namespace ? "\"" : "", h.resync_ms > 0 ? "on" : "off", h.lease.enabled ? "on" : "off");
        r = health_run(&h);
        health_done(&h);
        return r < 0 ? 1 : EXIT_OK;
}
