/* status.h - reading and checking status.yaml exactly as the sidecar applies
 * it (CONTRACT §2, §3). `kubectl kstatus lint` and the sidecar share this, so
 * what lint accepts is what the sidecar pushes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util.h"
#include "yaml-json.h"

/* Read a whole file into a new NUL-terminated buffer (*ret, *ret_len).
 * no_follow: refuse symlinks in any path component (openat2
 * RESOLVE_NO_SYMLINKS, else O_NOFOLLOW on the last one) — the sidecar reads
 * files a pipeline container controls, and a symlink to the service-account
 * token must not end up in status. The file must be a regular file no larger
 * than max_bytes. Returns 0, -ENOENT when it does not exist, or another
 * negative errno with err filled (-E2BIG over the limit, -ELOOP a symlink,
 * -EISDIR/-EINVAL not a regular file). */
int kstatus_read_file(const char *path, bool no_follow, size_t max_bytes, char **ret, size_t *ret_len,
                      struct kstatus_error *err);

/* Called once per problem found by kstatus_status_check(). */
typedef void (*kstatus_problem_fn)(const struct kstatus_error *problem, void *userdata);

/* Check a parsed status document and report every problem to fn (may be
 * NULL). Returns the number of problems. */
int kstatus_status_check(const json_t *status, kstatus_problem_fn fn, void *userdata);

/* Check a parsed status document: a mapping, no top-level `kratix` key, valid
 * conditions whose types kstatus does not own, a string `message`.
 * Returns 0 or -EINVAL with err describing the first problem. */
int kstatus_status_validate(const json_t *status, struct kstatus_error *err);

/* Parse and validate status.yaml text. An empty document is {}.
 * Returns 0 and a new reference in *ret, or a negative errno with err filled
 * (line and column for parse errors). */
int kstatus_status_parse(const char *buf, size_t len, const struct kstatus_limits *lim, json_t **ret,
                         struct kstatus_error *err);

/* Parse without validating: a YAML/JSON document that must be a mapping
 * (empty → {}). Used for --base and object.yaml. New reference in *ret. */
int kstatus_document_parse(const char *buf, size_t len, const struct kstatus_limits *lim, json_t **ret,
                           struct kstatus_error *err);
