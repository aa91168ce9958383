/* config.h - where the API server is and how to authenticate, read exactly
 * as kubectl reads it (docs/BEHAVIOUR.md §6): a KUBECONFIG list merged with kubectl's
 * precedence, or --kubeconfig, contexts, clusters and users chosen by flags,
 * or the in-cluster service account.
 *
 * Credentials live only in struct kube_config; nothing here logs. */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "util.h"

/* Where credentials come from. */
enum kube_config_source {
        KUBE_CONFIG_AUTO = 0,         /* kubectl's rule: a kubeconfig when there is one, else in-cluster */
        KUBE_CONFIG_IN_CLUSTER_FIRST, /* the sidecar's: in a Pod the service account, else a kubeconfig */
        KUBE_CONFIG_IN_CLUSTER_ONLY,
};

struct kube_config_options {
        enum kube_config_source source;
        const char *kubeconfig; /* --kubeconfig: only this file */
        const char *context;    /* --context */
        const char *cluster;    /* --cluster */
        const char *user;       /* --user */
        const char *namespace;  /* -n */
        /* For tests: where the service account is mounted, and the
         * environment (NULL: getenv). */
        const char *service_account_dir;
        const char *(*getenv)(const char *name);
};

struct kube_exec_config {
        char *api_version;
        char *command;
        char **args;  /* NULL-terminated */
        char **env;   /* "NAME=value", NULL-terminated */
        char *interactive_mode; /* Never, IfAvailable, Always */
        char *install_hint;     /* shown when the command is missing */
};

struct kube_config {
        char *server;            /* https://host:port */
        char *ca_file;           /* certificate-authority (absolute) */
        char *ca_data;           /* certificate-authority-data, decoded PEM */
        bool insecure;           /* insecure-skip-tls-verify */
        char *tls_server_name;
        char *proxy_url;
        char *token;             /* a bearer token */
        char *token_file;        /* re-read when it changes (projected tokens rotate) */
        char *username, *password;
        char *client_cert_file, *client_cert_data;
        char *client_key_file, *client_key_data;
        struct kube_exec_config *exec;
        /* Impersonation (the user's as, as-uid, as-groups, as-user-extra;
         * kubectl's --as, --as-uid, --as-group), sent as Impersonate-*
         * headers on every request, over HTTP too, as client-go does. */
        char *impersonate_user;
        char *impersonate_uid;
        char **impersonate_groups; /* NULL-terminated, NULL: none */
        json_t *impersonate_extra; /* key → array of strings (new reference), NULL: none */
        bool disable_compression;  /* the cluster's disable-compression: no Accept-Encoding */
        char *user;              /* the kubeconfig user chosen, NULL: none */
        char *namespace;         /* -n, else the context's, else "default" */
        char *context;           /* the context used, NULL in-cluster */
        bool in_cluster;
};

/* Load the configuration. Returns 0 and a new config in *ret, or a negative
 * errno with the whole line kubectl prints for the same problem in err,
 * prefix included ("Error in configuration: context was not found for
 * specified context: x", "error: stat /x: no such file or directory"):
 * callers print it as it is. */
int kube_config_load(const struct kube_config_options *opts, struct kube_config **ret, struct kstatus_error *err);

void kube_config_free(struct kube_config *config);
/* As client-go's ClientConfig, which reads a user's credentials only for a
 * server spoken to over TLS: when config's server is not https://, drop (and
 * wipe) every credential it holds. For what is set after loading, as the
 * plugin's --server, --token, --username and --password are. */
void kube_config_drop_plain_http_credentials(struct kube_config *config);

/* The names of the contexts the kubeconfig(s) opts selects define, as a new
 * array (for completion of --context); errors as kube_config_load. */
int kube_config_contexts(const struct kube_config_options *opts, json_t **ret, struct kstatus_error *err);
static inline void kube_config_freep(struct kube_config **c) { kube_config_free(*c); }
