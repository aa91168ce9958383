/* libFuzzer target: a kubeconfig as kubectl reads it. The input is written to
 * a file (kube_config_load reads paths, as kubectl does) and loaded with and
 * without --context/--cluster/--user/-n; no environment, no service account,
 * so only the file decides. Checks: every failure says why, and a success
 * has a server. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kube/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];
static int fd = -1;

static const char *no_env(const char *name) {
        (void)name;
        return NULL;
}

static void load(const char *context, const char *cluster, const char *user, const char *ns) {
        struct kube_config_options o = {
                .source = KUBE_CONFIG_AUTO,
                .kubeconfig = path,
                .context = context,
                .cluster = cluster,
                .user = user,
                .namespace = ns,
                .service_account_dir = "/nonexistent-kstatus-fuzz",
                .getenv = no_env,
        };
        struct kube_config *c = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int r = kube_config_load(&o, &c, &err);
        if (r < 0) {
                if (c || !err.message || !err.message[0])
                        abort();
                return;
        }
        if (!c || !c->server || !c->namespace)
                abort();
        kube_config_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (fd < 0) {
                const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
                snprintf(path, sizeof(path), "%s/kstatus-fuzz-kubeconfig.XXXXXX", dir);
                fd = mkstemp(path);
                if (fd < 0)
                        abort();
        }
        if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
                abort();
        load(NULL, NULL, NULL, NULL);
        load("a", NULL, NULL, "team");
        load(NULL, "c1", "token-user", NULL);
        return 0;
}
