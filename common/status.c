#include "status.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conditions.h"

static int open_no_follow(const char *path) {
#ifdef SYS_openat2
        struct open_how how = {
                .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW,
                .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
        if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
                return fd;
#endif
        /* Kernels before 5.6 (or a seccomp filter refusing openat2): the last
         * component at least must not be a symlink. */
        return open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
}

int kstatus_read_file(const char *path, bool no_follow, size_t max_bytes, char **ret, size_t *ret_len,
                      struct kstatus_error *err) {
        _cleanup_close_ int fd = -1;
        if (strcmp(path, "-") == 0)
                fd = dup(STDIN_FILENO);
        else if (no_follow)
                fd = open_no_follow(path);
        else
                fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                int e = errno;
                if (e == ENOENT)
                        return kstatus_error_set(err, ENOENT, 0, 0, "no such file or directory");
                if (e == ELOOP || e == EXDEV)
                        return kstatus_error_set(err, ELOOP, 0, 0, "is a symbolic link; refusing to follow it");
                return kstatus_error_set(err, e, 0, 0, "cannot open: %s", strerror(e));
        }

        struct stat st;
        if (fstat(fd, &st) < 0)
                return kstatus_error_set(err, errno, 0, 0, "cannot stat: %s", strerror(errno));
        if (S_ISDIR(st.st_mode))
                return kstatus_error_set(err, EISDIR, 0, 0, "is a directory");
        bool regular = S_ISREG(st.st_mode);
        if (!regular && strcmp(path, "-") != 0)
                return kstatus_error_set(err, EINVAL, 0, 0, "not a regular file");
        if (regular && (size_t)st.st_size > max_bytes)
                return kstatus_error_set(err, E2BIG, 0, 0,
                                         "file is %jd bytes, over the limit of %zu bytes (max-file-size)",
                                         (intmax_t)st.st_size, max_bytes);

        /* Reading a pipe or stdin: blocking is what the user asked for. */
        if (!regular) {
                int flags = fcntl(fd, F_GETFL);
                if (flags >= 0)
                        (void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
        }

        size_t cap = regular ? (size_t)st.st_size + 1 : 4096, len = 0;
        _cleanup_free_ char *buf = xmalloc(cap + 1);
        for (;;) {
                if (len == cap) {
                        if (cap > max_bytes)
                                return kstatus_error_set(err, E2BIG, 0, 0,
                                                         "file is over the limit of %zu bytes (max-file-size)",
                                                         max_bytes);
                        cap *= 2;
                        buf = xrealloc(buf, cap + 1);
                }
                ssize_t n = read(fd, buf + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return kstatus_error_set(err, errno, 0, 0, "cannot read: %s", strerror(errno));
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        if (len > max_bytes)
                return kstatus_error_set(err, E2BIG, 0, 0,
                                         "file is %zu bytes, over the limit of %zu bytes (max-file-size)", len,
                                         max_bytes);
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

/* Report one problem; returns 1 so callers can count. */
_printf_(3, 4) static int problem(kstatus_problem_fn fn, void *userdata, const char *fmt, ...) {
        struct kstatus_error e = { 0 };
        va_list ap;
        va_start(ap, fmt);
        kstatus_error_setv(&e, EINVAL, 0, 0, fmt, ap);
        va_end(ap);
        if (fn)
                fn(&e, userdata);
        return 1;
}

int kstatus_status_check(const json_t *status, kstatus_problem_fn fn, void *userdata) {
        if (!json_is_object(status))
                return problem(fn, userdata, "status must be a mapping of keys to values, not %s",
                               json_is_array(status) ? "a list" : "a scalar");
        int n = 0;
        if (json_object_get(status, "kratix"))
                n += problem(fn, userdata,
                             "\"kratix\" is a kratix managed status field that cannot be updated via workflows");

        json_t *message = json_object_get(status, "message");
        if (message && !json_is_string(message) && !json_is_null(message))
                n += problem(fn, userdata, "\"message\" must be a string (quote it: message: \"...\")");

        json_t *conds = json_object_get(status, "conditions");
        if (!conds || json_is_null(conds))
                return n;
        if (!json_is_array(conds))
                return n + problem(fn, userdata, "\"conditions\" must be a list");
        size_t i;
        json_t *c;
        json_array_foreach(conds, i, c) {
                struct kstatus_error e = { 0 };
                if (kstatus_condition_validate(c, &e) < 0) {
                        n += problem(fn, userdata, "conditions[%zu]: %s", i, e.message);
                        continue;
                }
                const char *type = json_string_value(json_object_get(c, "type"));
                if (kstatus_condition_type_is_owned(type))
                        n += problem(fn, userdata,
                                     "conditions[%zu]: condition type \"%s\" is set by kstatus and cannot be written "
                                     "by a pipeline",
                                     i, type);
                for (size_t j = 0; j < i; j++) {
                        const char *other = json_string_value(json_object_get(json_array_get(conds, j), "type"));
                        if (other && strcmp(other, type) == 0) {
                                n += problem(fn, userdata, "conditions[%zu]: condition type \"%s\" appears twice", i,
                                             type);
                                break;
                        }
                }
        }
        return n;
}

static void keep_first(const struct kstatus_error *e, void *userdata) {
        struct kstatus_error *first = userdata;
        if (!first->message[0])
                *first = *e;
}

int kstatus_status_validate(const json_t *status, struct kstatus_error *err) {
        struct kstatus_error first = { 0 };
        if (kstatus_status_check(status, keep_first, &first) == 0)
                return 0;
        if (err)
                *err = first;
        return -EINVAL;
}

int kstatus_document_parse(const char *buf, size_t len, const struct kstatus_limits *lim, json_t **ret,
                           struct kstatus_error *err) {
        json_t *doc = NULL;
        int r = kstatus_yaml_parse(buf, len, lim, &doc, err);
        if (r < 0)
                return r;
        if (json_is_null(doc)) {
                json_decref(doc);
                doc = json_object();
        }
        if (!json_is_object(doc)) {
                const char *what = json_is_array(doc) ? "a list" : "a scalar";
                json_decref(doc);
                return kstatus_error_set(err, EINVAL, 1, 1, "the document must be a mapping of keys to values, not %s",
                                         what);
        }
        *ret = doc;
        return 0;
}

int kstatus_status_parse(const char *buf, size_t len, const struct kstatus_limits *lim, json_t **ret,
                         struct kstatus_error *err) {
        _cleanup_json_ json_t *doc = NULL;
        int r = kstatus_document_parse(buf, len, lim, &doc, err);
        if (r < 0)
                return r;
        r = kstatus_status_validate(doc, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(doc);
        return 0;
}
