/* status.h - reading and checking status.yaml exactly as the sidecar applies
 * it (docs/BEHAVIOUR.md §2, §3). `kubectl kstatus lint` and the sidecar share this, so
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

/* What kstatus_status_check() reports: an error (the sidecar refuses the
 * file, lint exits 1) or a warning (the file is pushed, but the API server or
 * Kratix will not keep all of it). */
enum kstatus_problem_level {
        KSTATUS_PROBLEM_ERROR,
        KSTATUS_PROBLEM_WARNING,
};

/* Called once per problem found by kstatus_status_check(); problem->line and
 * ->column locate it in the text when the check was given one, else are 0. */
typedef void (*kstatus_problem_fn)(enum kstatus_problem_level level, const struct kstatus_error *problem,
                                   void *userdata);

/* How to check: the text the document was parsed from (for line and column;
 * NULL for none) and what kind of object the status is for. */
struct kstatus_check_options {
        const char *text;
        size_t len;
        bool promise; /* a Promise's status keeps only `message` (a warning, as status-writer warns) */
};

/* Check a parsed status document as Kratix's generated schema and its
 * status-writer take it, and report every problem to fn (may be NULL):
 * errors for a document that is not a mapping, the top-level `kratix` key and
 * the other keys Kratix owns (observedGeneration and the workflow counters,
 * integers the API server would answer 422 for when mistyped), a `message`
 * that is not a string, invalid conditions and condition types kstatus owns;
 * warnings for condition fields the API server prunes (anything but type,
 * status, reason, message, lastTransitionTime) and, for a Promise, keys
 * other than `message`. opts may be NULL. Returns the number of errors. */
int kstatus_status_check(const json_t *status, const struct kstatus_check_options *opts, kstatus_problem_fn fn,
                         void *userdata);

/* kstatus_status_check() without text or warnings: 0 or -EINVAL with err
 * describing the first error. */
int kstatus_status_validate(const json_t *status, struct kstatus_error *err);

/* Parse and validate status.yaml text. An empty document is {}.
 * Returns 0 and a new reference in *ret, or a negative errno with err filled
 * (line and column for parse errors and for the first error found). */
int kstatus_status_parse(const char *buf, size_t len, const struct kstatus_limits *lim, json_t **ret,
                         struct kstatus_error *err);

/* Parse without validating: a YAML/JSON document that must be a mapping
 * (empty → {}). Used for --base and object.yaml. New reference in *ret. */
int kstatus_document_parse(const char *buf, size_t len, const struct kstatus_limits *lim, json_t **ret,
                           struct kstatus_error *err);
