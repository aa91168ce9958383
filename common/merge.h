/* merge.h - how status.yaml lands on a resource's status (docs/BEHAVIOUR.md §3).
 *
 * Deep mode (default): RFC 7386 JSON merge patch of status.yaml onto the
 * status the pipeline started from: maps merge recursively, lists and scalars
 * are replaced, `key: null` deletes the key. Shallow mode is today's Kratix
 * status-writer: top-level keys are replaced whole. In both modes `conditions`
 * merges by `type` (conditions.h).
 *
 * kstatus_plan_patch() is the one place that decides what is sent: live
 * pushes, the final write and the plugin's `merge` preview all go through it,
 * so the preview shows exactly what the sidecar will store.
 *
 * Trees are shared, not copied: every function here returns a tree that may
 * share values (subtrees) with its arguments, taking references to them.
 * Trees given to and returned by these functions are read only; a caller
 * that must change one builds a new container (json_copy is shallow) and
 * replaces members, never changing a value in place. At docs/BEHAVIOUR.md
 * §2's limits every deep copy costs ~10 MiB of the sidecar's 32. */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "util.h"

enum kstatus_merge_mode {
        KSTATUS_MERGE_DEEP,
        KSTATUS_MERGE_SHALLOW,
};

/* "deep" / "shallow" → mode; 0 or -EINVAL. */
int kstatus_merge_mode_from_string(const char *s, enum kstatus_merge_mode *ret);
const char *kstatus_merge_mode_to_string(enum kstatus_merge_mode mode);

/* RFC 7386 MergePatch(target, patch) as kube-apiserver applies it
 * (evanphx/json-patch v4): a value that replaces a non-object (or nothing)
 * loses the null members of its objects at any depth, lists included (null
 * list elements stay); a list or scalar that replaces an object is kept as
 * sent. target may be NULL (absent). Returns a new reference; NULL when the
 * result is "absent" (patch is null). */
json_t *kstatus_merge_patch(const json_t *target, const json_t *patch);

/* The merge patch that turns `from` into `to` (both may be NULL: absent).
 * Returns a new reference, or NULL when they are equal. `to` must hold no
 * nulls inside objects (merge results never do). */
json_t *kstatus_merge_diff(const json_t *from, const json_t *to);

/* `value` with every null member of every object removed, inside lists too;
 * null list elements stay (what a merge patch stores of a value it brings in
 * whole). Returns a new reference: `value` itself when it holds no such
 * null, else a new tree sharing every part that holds none. */
json_t *kstatus_merge_strip_nulls(const json_t *value);

/* tree with every value equal to the one at the same path in `with` (same
 * keys in the same order, same elements, scalars written alike) replaced by
 * `with`'s, so that equal parts of two trees are stored once: a file re-read
 * after a push, the server's answer holding what was pushed. Returns a new
 * reference (`with` itself when the trees are equal). tree's containers are
 * changed in place, each member replaced by an equal one: tree must be one
 * its caller just built. `with` may be NULL. */
json_t *kstatus_share_equal(json_t *tree, const json_t *with);

struct kstatus_plan {
        /* All borrowed; NULL means {}. */
        const json_t *start;  /* status when the pipeline started */
        const json_t *pushed; /* `owned` returned by the last successful plan, or NULL */
        const json_t *server; /* status now on the server (last known for live pushes) */
        const json_t *file;   /* validated status.yaml (kstatus_status_validate) */
        enum kstatus_merge_mode mode;
        const char *now;      /* RFC 3339 time for new condition transitions */
};

/* Decide the merge patch that makes the server satisfy the final-state
 * invariant for `file` (docs/BEHAVIOUR.md §3): for every top-level key K the
 * file names, status[K] == merge(restore(server[K], start[K]), file[K]), with
 * what `pushed` wrote under K taken out of server[K] first (deep mode; shallow:
 * file[K] whole), so what another writer added under K is kept
 * (conditions: upserted by type into
 * what the server has); keys an earlier push owned that the file no longer
 * names go back to start[K] (or away); nothing else is touched.
 *
 * On success returns 0, *ret_patch a new reference to the patch or NULL when
 * the server already satisfies it, and *ret_owned a new reference recording
 * what this pipeline now owns (pass it as `pushed` next time, once the patch
 * was acknowledged): the paths it wrote, every value but maps and conditions
 * reduced to true (a plan asks where an earlier push wrote, not what). */
int kstatus_plan_patch(const struct kstatus_plan *plan, json_t **ret_patch, json_t **ret_owned,
                       struct kstatus_error *err);

/* Preview helper for `kubectl kstatus merge`: status after one pipeline wrote
 * `file` onto `status` (kstatus_plan_patch with start = server = status, then
 * the patch applied as the API server applies it). Returns a new reference. */
json_t *kstatus_merge_status(const json_t *status, const json_t *file, enum kstatus_merge_mode mode,
                             const char *now);
