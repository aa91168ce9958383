/* kube-args.h - what the commands that talk to the API share: kubectl's global
 * flags, the client and discovery built from them, resource arguments as
 * kubectl reads them (TYPE NAME..., TYPE/NAME...), colour and terminal width,
 * and the printing of API errors. */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "kube/client.h"
#include "kube/config.h"
#include "kube/discovery.h"
#include "plugin.h"

struct kube_args {
        struct kube_config_options config; /* --kubeconfig, --context, --cluster, --user, -n */
        const char *server;                /* -s/--server */
        const char *token;                 /* --token */
        const char *certificate_authority; /* --certificate-authority */
        const char *client_certificate, *client_key;
        const char *tls_server_name;
        const char *username, *password;
        bool insecure;                     /* --insecure-skip-tls-verify */
        bool all_namespaces;               /* -A */
        const char *selector;              /* -l */
        int64_t request_timeout_ms;        /* --request-timeout; 0 none */
        const char *color;                 /* --color=auto|always|never */
        const char *as, *as_uid;           /* --as, --as-uid (--as-group: kube_args_finish) */
        bool disable_compression;          /* --disable-compression */
        bool match_server_version;         /* --match-server-version */
        const char *cache_dir;             /* --cache-dir: where the discovery cache lives */
};

/* Option ids 2000..2099 are ours. */
#define KUBE_ARGS_SHORT "n:Al:s:"
#define KUBE_ARGS_OPTIONS                                                       \
        { "kubeconfig", required_argument, NULL, 2000 },                       \
        { "context", required_argument, NULL, 2001 },                          \
        { "cluster", required_argument, NULL, 2002 },                          \
        { "user", required_argument, NULL, 2003 },                             \
        { "namespace", required_argument, NULL, 'n' },                         \
        { "all-namespaces", no_argument, NULL, 'A' },                          \
        { "selector", required_argument, NULL, 'l' },                          \
        { "server", required_argument, NULL, 's' },                            \
        { "token", required_argument, NULL, 2004 },                            \
        { "insecure-skip-tls-verify", optional_argument, NULL, 2005 },         \
        { "certificate-authority", required_argument, NULL, 2006 },            \
        { "client-certificate", required_argument, NULL, 2007 },               \
        { "client-key", required_argument, NULL, 2008 },                       \
        { "tls-server-name", required_argument, NULL, 2009 },                  \
        { "username", required_argument, NULL, 2010 },                         \
        { "password", required_argument, NULL, 2011 },                         \
        { "request-timeout", required_argument, NULL, 2012 },                  \
        { "color", required_argument, NULL, 2013 },                            \
        { "as", required_argument, NULL, 2014 },                               \
        { "as-group", required_argument, NULL, 2015 },                         \
        { "as-uid", required_argument, NULL, 2016 },                           \
        { "warnings-as-errors", optional_argument, NULL, 2017 },               \
        { "disable-compression", optional_argument, NULL, 2018 },              \
        { "match-server-version", optional_argument, NULL, 2019 },             \
        { "cache-dir", required_argument, NULL, 2020 },                        \
        { "profile", required_argument, NULL, 2021 },                          \
        { "profile-output", required_argument, NULL, 2022 },                   \
        { "log-flush-frequency", required_argument, NULL, 2023 },              \
        { "vmodule", required_argument, NULL, 2024 }

#define KUBE_ARGS_USAGE                                                                                        \
        "Global options (as kubectl's):\n"                                                                     \
        "  -n, --namespace=NS                 the namespace (default: the context's)\n"                        \
        "  -A, --all-namespaces               every namespace\n"                                               \
        "  -l, --selector=SELECTOR            a label selector (=, ==, !=, in, notin, exists)\n"               \
        "      --kubeconfig=FILE              the kubeconfig to use\n"                                          \
        "      --context=NAME, --cluster=NAME, --user=NAME\n"                                                  \
        "  -s, --server=URL                   the API server\n"                                                \
        "      --token=TOKEN                  a bearer token\n"                                                \
        "      --insecure-skip-tls-verify     do not check the server's certificate\n"                         \
        "      --certificate-authority=FILE, --client-certificate=FILE, --client-key=FILE, --tls-server-name\n" \
        "      --username=U, --password=P     basic authentication\n"                                          \
        "      --request-timeout=DURATION     give up on one request after this long (0: never)\n"             \
        "      --color=auto|always|never      colour (default auto: a terminal without NO_COLOR)\n"             \
        "      --as=USER, --as-group=GROUP (repeatable), --as-uid=UID   impersonate (Impersonate-* headers)\n"  \
        "      --warnings-as-errors           a warning from the server fails the command (exit 1)\n"         \
        "      --disable-compression          ask for answers uncompressed\n"                                 \
        "      --match-server-version         refuse a server whose /version is not the client's\n"           \
        "      --cache-dir=DIR                the discovery cache's directory (default ~/.kube/cache)\n"      \
        "      --profile=none, --profile-output, --log-flush-frequency, --vmodule   accepted (no Go runtime, no log)\n"

/* Handle one of KUBE_ARGS_OPTIONS as flags_next() returned it (plugin.h): 1
 * handled, 0 not ours, -1 invalid (printed). */
int kube_args_option(struct kube_args *a, int opt, const char *arg);

/* At the end of the process (main): with --warnings-as-errors, a command
 * that succeeded (rc 0) after the server sent warnings fails as kubectl's
 * does ("error: 1 warning received", exit 1); frees what the global flags
 * kept (the --as-group list, the warnings seen). Returns the exit code. */
int kube_args_finish(int rc);

struct kube_session {
        struct kube_config *config;
        struct kube_client *client;
        struct kube_discovery *discovery;
        const char *namespace; /* -n or the context's (borrowed from config) */
};

/* Load the configuration and make the client and discovery. Prints the error
 * as kubectl does and returns an exit code (EXIT_API) on failure, 0 on success. */
int kube_session_open(const struct kube_args *a, struct kube_session *s);
void kube_session_close(struct kube_session *s);

/* Print an API error (escaped) and return EXIT_API. Resets err. */
int api_error(struct kstatus_error *err);

/* One resource type and the names asked for. */
struct target {
        struct kube_resource res;
        char *qualified; /* databases.example.promise.syntasso.io */
        char **names;    /* NULL-terminated; empty: every object (selector) */
        size_t n_names;
};

struct targets {
        struct target *items;
        size_t n;
};

/* api_error() for a LIST of t: a 400 or 404 worded as kubectl words it
 * ("Unable to find \"GROUP/VERSION, Resource=PLURAL\" that match label selector
 * \"S\", field selector \"F\": …", or "Unable to list …" without selectors). */
int api_list_error(const struct target *t, const char *label_selector, const char *field_selector,
                   struct kstatus_error *err);

/* Read the resource arguments as kubectl does: "TYPE [NAME...]" or
 * "TYPE/NAME [TYPE/NAME...]", TYPE resolved through discovery (kubectl's
 * short-name warning goes to stderr). Prints errors; returns 0 or an exit code. */
int targets_parse(struct kube_session *s, char **args, int n, struct targets *ret);
void targets_free(struct targets *t);

/* kubectl's refusals of names with -A or -l: prints and returns EXIT_USAGE,
 * or 0 with *ret_named telling whether any target names objects. */
int targets_check_named(const struct targets *t, const struct kube_args *a, bool *ret_named);
/* kubectl's "No resources found[ in NS namespace.]" on stderr. */
void print_no_resources(const struct kube_session *s, const struct kube_args *a, const struct targets *t);

/* "database.example.promise.syntasso.io/NAME": how kubectl names an object in
 * "condition met" and -o name. New string. */
char *object_ref(const struct kube_resource *r, const char *name);

/* Colour for stdout after --color and NO_COLOR. */
bool use_color(const char *mode);
/* Width of the terminal on stdout, 0 when not a terminal ($COLUMNS wins). */
int terminal_width(void);
/* Unix seconds now; KSTATUS_NOW (tests only) pins it for golden files. */
int64_t plugin_now(void);

/* Whether the --color value is valid. */
bool color_mode_valid(const char *mode);

struct kube_watch;
/* Drive several watches until a callback stops one (its non-zero value is
 * returned), one fails (negative errno, err filled) or timeout_ms passes
 * (negative: never): -ETIMEDOUT. */
int watch_all(struct kube_watch *const *ws, size_t n, int64_t timeout_ms, struct kstatus_error *err);

/* The collection path of t in namespace ns (NULL: all) with the query parts
 * that are not NULL: labelSelector, fieldSelector (values unescaped). New string. */
char *collection_query(const struct target *t, const char *ns, const char *label_selector, const char *field_selector);
