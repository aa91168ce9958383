/* shim-no-inotify.c - preloaded (LD_PRELOAD) into kstatus-sidecar by
 * sidecar-modes.sh to make inotify fail as on a node whose user has used up
 * its inotify instances (KSTATUS_SHIM_INOTIFY=instances: inotify_init1 fails
 * with EMFILE) or watches (=watches: inotify_add_watch fails with ENOSPC).
 * Any other value, or none, passes the calls through. */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>

static bool shim_is(const char *what) {
        const char *m = getenv("KSTATUS_SHIM_INOTIFY");
        return m && strcmp(m, what) == 0;
}

int inotify_init1(int flags) {
        if (shim_is("instances")) {
                errno = EMFILE;
                return -1;
        }
        int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "inotify_init1");
        return real ? real(flags) : (errno = ENOSYS, -1);
}

int inotify_add_watch(int fd, const char *path, uint32_t mask) {
        if (shim_is("watches")) {
                errno = ENOSPC;
                return -1;
        }
        int (*real)(int, const char *, uint32_t) =
                (int (*)(int, const char *, uint32_t))dlsym(RTLD_NEXT, "inotify_add_watch");
        return real ? real(fd, path, mask) : (errno = ENOSYS, -1);
}
