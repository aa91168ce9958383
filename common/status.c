#include "status.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <yaml.h>

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

/* ---- where a value is in the text ------------------------------------------ */

/* One step of a path into the document: a mapping key, or (key NULL) a list index. */
struct seg {
        const char *key;
        size_t index;
};

static int next_event(yaml_parser_t *p, yaml_event_t *ev) {
        return yaml_parser_parse(p, ev) ? 0 : -EINVAL;
}

/* Consume the rest of the node that started with `first` (already read). */
static int skip_node(yaml_parser_t *p, const yaml_event_t *first) {
        if (first->type != YAML_MAPPING_START_EVENT && first->type != YAML_SEQUENCE_START_EVENT)
                return 0;
        for (size_t depth = 1; depth > 0;) {
                yaml_event_t ev;
                if (next_event(p, &ev) < 0)
                        return -EINVAL;
                if (ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT)
                        depth++;
                else if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT)
                        depth--;
                else if (ev.type == YAML_STREAM_END_EVENT)
                        depth = 0;
                yaml_event_delete(&ev);
        }
        return 0;
}

/* Follow path[0..n) into the node that starts with `node`; *mark is the
 * deepest step found (a key's position for a key, the item's for an index).
 * Stops reading as soon as the answer is known. 1 when the whole path was
 * found, 0 when only part of it (aliases and merge keys are not followed). */
static int locate(yaml_parser_t *p, const yaml_event_t *node, const struct seg *path, size_t n, yaml_mark_t *mark) {
        if (n == 0)
                return 1;
        bool is_map = node->type == YAML_MAPPING_START_EVENT, is_seq = node->type == YAML_SEQUENCE_START_EVENT;
        if ((path->key && !is_map) || (!path->key && !is_seq))
                return 0;
        for (size_t i = 0;; i++) {
                yaml_event_t ev;
                if (next_event(p, &ev) < 0)
                        return 0;
                if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT ||
                    ev.type == YAML_STREAM_END_EVENT) {
                        yaml_event_delete(&ev);
                        return 0;
                }
                bool match = is_seq ? i == path->index
                                    : ev.type == YAML_SCALAR_EVENT && strcmp((char *)ev.data.scalar.value, path->key) == 0;
                yaml_event_t value = ev;
                if (is_map) {
                        /* ev is the key: step over a non-scalar key, read the value. */
                        yaml_mark_t key_mark = ev.start_mark;
                        int r = skip_node(p, &ev);
                        yaml_event_delete(&ev);
                        if (r < 0 || next_event(p, &value) < 0)
                                return 0;
                        if (match)
                                *mark = key_mark;
                } else if (match)
                        *mark = ev.start_mark;
                if (match) {
                        int r = locate(p, &value, path + 1, n - 1, mark);
                        yaml_event_delete(&value);
                        return r;
                }
                int r = skip_node(p, &value);
                yaml_event_delete(&value);
                if (r < 0)
                        return 0;
        }
}

/* The 1-based line and column of path in text, as far as it can be followed;
 * 0:0 when text is NULL or does not parse. */
static void position(const char *text, size_t len, const struct seg *path, size_t n, int *line, int *column) {
        *line = *column = 0;
        if (!text)
                return;
        yaml_parser_t p;
        if (!yaml_parser_initialize(&p))
                return;
        yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
        yaml_event_t ev;
        yaml_mark_t mark = { 0 };
        bool found = false;
        /* Up to the document's root node. */
        while (!found && next_event(&p, &ev) == 0) {
                yaml_event_type_t t = ev.type;
                if (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT || t == YAML_SCALAR_EVENT) {
                        mark = ev.start_mark;
                        locate(&p, &ev, path, n, &mark);
                        found = true;
                }
                yaml_event_delete(&ev);
                if (t == YAML_STREAM_END_EVENT)
                        break;
        }
        yaml_parser_delete(&p);
        if (found) {
                *line = (int)mark.line + 1;
                *column = (int)mark.column + 1;
        }
}

/* ---- the checks ---------------------------------------------------------------- */

struct checker {
        const struct kstatus_check_options *opts;
        kstatus_problem_fn fn;
        void *userdata;
        int errors;
};

/* Report one problem at path[0..n). */
_printf_(5, 6) static void problem(struct checker *c, enum kstatus_problem_level level, const struct seg *path,
                                   size_t n, const char *fmt, ...) {
        if (level == KSTATUS_PROBLEM_ERROR)
                c->errors++;
        if (!c->fn)
                return;
        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
        va_list ap;
        va_start(ap, fmt);
        kstatus_error_setv(&e, EINVAL, 0, 0, fmt, ap);
        va_end(ap);
        if (c->opts)
                position(c->opts->text, c->opts->len, path, n, &e.line, &e.column);
        c->fn(level, &e, c->userdata);
}

/* Keys Kratix's controller writes (docs/BEHAVIOUR.md §4); its generated schema
 * types the last four as int64, so a mistyped one fails the whole write. */
static const char *const kratix_owned[] = { "kratix", "observedGeneration", "workflows", "workflowsSucceeded",
                                            "workflowsFailed" };

/* The condition fields Kratix's generated schema keeps; the API server prunes the rest. */
static const char *const condition_fields[] = { "type", "status", "reason", "message", "lastTransitionTime" };

static bool in_list(const char *const *list, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(list[i], s) == 0)
                        return true;
        return false;
}

static void check_condition(struct checker *c, const json_t *conds, size_t i) {
        json_t *cond = json_array_get(conds, i);
        struct seg at[] = { { .key = "conditions" }, { .index = i }, { NULL, 0 } };
        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
        if (kstatus_condition_validate(cond, &e) < 0)
                return problem(c, KSTATUS_PROBLEM_ERROR, at, 2, "conditions[%zu]: %s", i, e.message);
        const char *type = json_string_value(json_object_get(cond, "type"));
        if (kstatus_condition_type_is_owned(type)) {
                at[2].key = "type";
                problem(c, KSTATUS_PROBLEM_ERROR, at, 3,
                        "conditions[%zu]: condition type \"%s\" is set by kstatus and cannot be written by a pipeline",
                        i, type);
        }
        for (size_t j = 0; j < i; j++) {
                const char *other = json_string_value(json_object_get(json_array_get(conds, j), "type"));
                if (other && strcmp(other, type) == 0) {
                        problem(c, KSTATUS_PROBLEM_ERROR, at, 2, "conditions[%zu]: condition type \"%s\" appears twice",
                                i, type);
                        break;
                }
        }
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)cond, k, v) {
                if (in_list(condition_fields, ELEMENTSOF(condition_fields), k))
                        continue;
                at[2].key = k;
                problem(c, KSTATUS_PROBLEM_WARNING, at, 3,
                        "conditions[%zu]: field \"%s\" is not kept: the API server prunes every condition field but "
                        "type, status, reason, message and lastTransitionTime",
                        i, k);
        }
}

static void check_keys(struct checker *c, const json_t *status) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)status, k, v) {
                struct seg at = { .key = k };
                if (in_list(kratix_owned, ELEMENTSOF(kratix_owned), k))
                        problem(c, KSTATUS_PROBLEM_ERROR, &at, 1,
                                "\"%s\" is a kratix managed status field that cannot be updated via workflows%s", k,
                                strcmp(k, "kratix") == 0 || json_is_integer(v) || json_is_null(v)
                                        ? ""
                                        : "; it is an integer in Kratix's schema, so the API server would refuse the whole write");
                else if (strcmp(k, "message") == 0 && !json_is_string(v) && !json_is_null(v))
                        problem(c, KSTATUS_PROBLEM_ERROR, &at, 1,
                                "\"message\" must be a string (quote it: message: \"...\")");
                else if (c->opts && c->opts->promise && strcmp(k, "message") != 0)
                        problem(c, KSTATUS_PROBLEM_WARNING, &at, 1,
                                "\"%s\" is not kept: only \"message\" can be updated in a Promise's status", k);
        }
}

int kstatus_status_check(const json_t *status, const struct kstatus_check_options *opts, kstatus_problem_fn fn,
                         void *userdata) {
        struct checker c = { .opts = opts, .fn = fn, .userdata = userdata };
        if (!json_is_object(status)) {
                problem(&c, KSTATUS_PROBLEM_ERROR, NULL, 0, "status must be a mapping of keys to values, not %s",
                        json_is_array(status) ? "a list" : "a scalar");
                return c.errors;
        }
        check_keys(&c, status);
        json_t *conds = json_object_get(status, "conditions");
        if (!conds || json_is_null(conds))
                return c.errors;
        if (!json_is_array(conds)) {
                problem(&c, KSTATUS_PROBLEM_ERROR, &(struct seg){ .key = "conditions" }, 1,
                        "\"conditions\" must be a list");
                return c.errors;
        }
        for (size_t i = 0; i < json_array_size(conds); i++)
                check_condition(&c, conds, i);
        return c.errors;
}

static void keep_first(enum kstatus_problem_level level, const struct kstatus_error *e, void *userdata) {
        struct kstatus_error *first = userdata;
        if (level == KSTATUS_PROBLEM_ERROR && !first->message)
                kstatus_error_set(first, e->errnum, e->line, e->column, "%s", e->message);
}

static int validate_text(const json_t *status, const char *text, size_t len, struct kstatus_error *err) {
        _cleanup_(kstatus_error_done) struct kstatus_error first = { 0 };
        struct kstatus_check_options opts = { .text = text, .len = len };
        if (kstatus_status_check(status, &opts, keep_first, &first) == 0)
                return 0;
        kstatus_error_move(err, &first);
        return -EINVAL;
}

int kstatus_status_validate(const json_t *status, struct kstatus_error *err) {
        return validate_text(status, NULL, 0, err);
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
        r = validate_text(doc, buf, len, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(doc);
        return 0;
}
