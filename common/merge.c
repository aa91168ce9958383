#include "merge.h"

#include <errno.h>
#include <string.h>

#include "conditions.h"

int kstatus_merge_mode_from_string(const char *s, enum kstatus_merge_mode *ret) {
        if (strcmp(s, "deep") == 0)
                *ret = KSTATUS_MERGE_DEEP;
        else if (strcmp(s, "shallow") == 0)
                *ret = KSTATUS_MERGE_SHALLOW;
        else
                return -EINVAL;
        return 0;
}

const char *kstatus_merge_mode_to_string(enum kstatus_merge_mode mode) {
        return mode == KSTATUS_MERGE_SHALLOW ? "shallow" : "deep";
}

/* value without its null members, its values stripped: value itself while
 * nothing changes, else a new object sharing every value that did not (one
 * pass; a status at docs/BEHAVIOUR.md §2's limits is ~10 MiB a copy). */
static json_t *strip_object(const json_t *value) {
        json_t *out = NULL;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)value, k, v) {
                json_t *sub = json_is_null(v) ? NULL : kstatus_merge_strip_nulls(v);
                if (!out && sub == v) {
                        json_decref(sub);
                        continue;
                }
                if (!out) {
                        /* The first change: what came before it is shared. */
                        out = json_object();
                        const char *k2;
                        json_t *v2;
                        json_object_foreach((json_t *)value, k2, v2) {
                                if (k2 == k) /* the same pair: keys are stored in it */
                                        break;
                                json_object_set(out, k2, v2);
                        }
                }
                if (sub)
                        json_object_set_new(out, k, sub);
        }
        return out ? out : json_incref((json_t *)value);
}

/* The same for a list: its null elements stay. */
static json_t *strip_array(const json_t *value) {
        json_t *out = NULL;
        size_t i;
        json_t *e;
        json_array_foreach(value, i, e) {
                json_t *sub = kstatus_merge_strip_nulls(e);
                if (!out && sub == e) {
                        json_decref(sub);
                        continue;
                }
                if (!out) {
                        out = json_array();
                        for (size_t j = 0; j < i; j++)
                                json_array_append(out, json_array_get(value, j));
                }
                json_array_append_new(out, sub);
        }
        return out ? out : json_incref((json_t *)value);
}

json_t *kstatus_merge_strip_nulls(const json_t *value) {
        /* Null elements of lists stay; objects inside lose their null members. */
        if (json_is_array(value))
                return strip_array(value);
        if (json_is_object(value))
                return strip_object(value);
        return json_incref((json_t *)value);
}

/* Whether a and b hold the same keys in the same order (their values are
 * compared by the caller). */
static bool same_keys(const json_t *a, const json_t *b) {
        if (json_object_size(a) != json_object_size(b))
                return false;
        void *ia = json_object_iter((json_t *)a), *ib = json_object_iter((json_t *)b);
        for (; ia && ib; ia = json_object_iter_next((json_t *)a, ia), ib = json_object_iter_next((json_t *)b, ib))
                if (strcmp(json_object_iter_key(ia), json_object_iter_key(ib)) != 0)
                        return false;
        return !ia && !ib;
}

static json_t *share_object(json_t *tree, const json_t *with) {
        bool same = same_keys(tree, with);
        const char *k;
        json_t *v;
        json_object_foreach(tree, k, v) {
                json_t *w = json_object_get(with, k);
                if (!w)
                        continue;
                json_t *next = kstatus_share_equal(v, w);
                same = same && next == w;
                if (next != v)
                        json_object_set_new(tree, k, next); /* the same key: iteration is not disturbed */
                else
                        json_decref(next);
        }
        return json_incref(same ? (json_t *)with : tree);
}

static json_t *share_array(json_t *tree, const json_t *with) {
        bool same = json_array_size(tree) == json_array_size(with);
        size_t i;
        json_t *v;
        json_array_foreach(tree, i, v) {
                json_t *w = json_array_get(with, i);
                if (!w)
                        break;
                json_t *next = kstatus_share_equal(v, w);
                same = same && next == w;
                if (next != v)
                        json_array_set_new(tree, i, next);
                else
                        json_decref(next);
        }
        return json_incref(same ? (json_t *)with : tree);
}

json_t *kstatus_share_equal(json_t *tree, const json_t *with) {
        if (!with || tree == with || json_typeof(tree) != json_typeof(with))
                return json_incref(tree);
        switch (json_typeof(tree)) {
        case JSON_OBJECT:
                return share_object(tree, with);
        case JSON_ARRAY:
                return share_array(tree, with);
        case JSON_REAL: {
                /* Bit for bit: -0.0 equals 0.0 but is written otherwise. */
                double a = json_real_value(tree), b = json_real_value(with);
                return json_incref(memcmp(&a, &b, sizeof(a)) == 0 ? (json_t *)with : tree);
        }
        default:
                return json_incref(json_equal(tree, with) ? (json_t *)with : tree);
        }
}

/* As kube-apiserver merges (evanphx/json-patch v4): a value that replaces
 * a non-object is stored without the null members of its objects, lists
 * included; one that replaces an object is stored as sent. */
json_t *kstatus_merge_patch(const json_t *target, const json_t *patch) {
        if (json_is_null(patch))
                return NULL;
        if (!json_is_object(patch))
                return json_is_object(target) ? json_incref((json_t *)patch) : kstatus_merge_strip_nulls(patch);
        if (!json_is_object(target))
                return kstatus_merge_strip_nulls(patch);

        /* Nothing is copied: what the patch leaves and what it brings are
         * shared (a status at docs/BEHAVIOUR.md §2's limits is ~10 MiB a
         * copy). Keys keep target's order, new ones after. */
        json_t *out = json_object();
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)target, k, v) {
                json_t *p = json_object_get(patch, k);
                if (!p)
                        json_object_set(out, k, v);
                else if (!json_is_null(p))
                        json_object_set_new(out, k, kstatus_merge_patch(v, p));
        }
        json_object_foreach((json_t *)patch, k, v) {
                if (!json_is_null(v) && !json_object_get(target, k))
                        json_object_set_new(out, k, kstatus_merge_patch(NULL, v));
        }
        return out;
}

json_t *kstatus_merge_diff(const json_t *from, const json_t *to) {
        if (!to)
                return from ? json_null() : NULL;
        if (from && json_equal(from, to))
                return NULL;
        if (!json_is_object(from) || !json_is_object(to))
                return json_incref((json_t *)to);

        json_t *out = json_object();
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)from, k, v) {
                if (!json_object_get(to, k))
                        json_object_set_new(out, k, json_null());
        }
        json_object_foreach((json_t *)to, k, v) {
                json_t *d = kstatus_merge_diff(json_object_get(from, k), v);
                if (d)
                        json_object_set_new(out, k, d);
        }
        return out;
}

/* c without what an earlier push of ours wrote (p, maps recursively): what
 * another writer added beside it stays. Returns a new reference, or NULL
 * for "absent"; it may share c's values: read it, never change it. */
static json_t *unpush(const json_t *c, const json_t *p) {
        if (!c || json_is_null(c))
                return NULL;
        if (!p)
                return json_incref((json_t *)c);
        if (!json_is_object(c) || !json_is_object(p))
                return NULL;
        json_t *out = json_object();
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)c, k, v) {
                json_t *sub = unpush(v, json_object_get(p, k));
                if (sub)
                        json_object_set_new(out, k, sub);
        }
        return out;
}

/* restore(c, s): c with every map path of s that c lacks put back (maps
 * recursively; a c that is no map lacks them all; where s holds no map,
 * c). A null in s cannot be stored
 * (a merge patch deletes it) and is left out. New reference, or NULL;
 * it may share c's values: read it, never change it. */
static json_t *restore(const json_t *c, const json_t *s) {
        if (!c || json_is_null(c))
                return s && !json_is_null(s) ? kstatus_merge_strip_nulls(s) : NULL;
        if (!json_is_object(s))
                return json_incref((json_t *)c);
        /* A c that is no map lacks every map path of s: without them the plan
         * would not be stable (the next plan, seeing the map it wrote, would
         * put them back). Found by fuzz-merge. */
        if (!json_is_object(c))
                return kstatus_merge_strip_nulls(s);
        json_t *out = json_copy((json_t *)c); /* shallow: only its members are replaced */
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)s, k, v) {
                json_t *sub = restore(json_object_get(c, k), v);
                if (sub)
                        json_object_set_new(out, k, sub);
        }
        return out;
}

/* What status.yaml asks key K to become (docs/BEHAVIOUR.md §3):
 * merge(restore(C[K], S[K]), F[K]), with what our earlier pushes wrote under
 * K taken out of C[K] first, so a value the file dropped does not linger.
 * Shallow: F[K] whole. Returns a new reference, or NULL for "absent". */
static json_t *desired_value(const json_t *start_value, const json_t *server_value, const json_t *pushed_value,
                             const json_t *file_value, enum kstatus_merge_mode mode) {
        if (mode == KSTATUS_MERGE_SHALLOW)
                return json_is_null(file_value) ? NULL : kstatus_merge_strip_nulls(file_value);
        /* Each step's input is let go once used: at docs/BEHAVIOUR.md §2's
         * limits every copy of a value is ~10 MiB. */
        json_t *mine_out = unpush(server_value, pushed_value);
        json_t *base = restore(mine_out, start_value);
        json_decref(mine_out);
        json_t *merged = kstatus_merge_patch(base, file_value);
        json_decref(base);
        json_t *out = merged ? kstatus_merge_strip_nulls(merged) : NULL;
        json_decref(merged);
        return out;
}

/* The paths of value: its maps with their keys, recursively, every other
 * value (and a map's null member, which deletes) reduced to true. Plans
 * only ask which paths an earlier push wrote (unpush, the keys to give
 * back), never what it wrote: a list at docs/BEHAVIOUR.md §2's limits costs
 * nothing here, and the file it came from is not kept alive by it. */
static json_t *paths_of(const json_t *value) {
        if (!json_is_object(value))
                return json_true();
        json_t *out = json_object();
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)value, k, v) {
                if (!json_is_null(v))
                        json_object_set_new(out, k, paths_of(v));
        }
        return out;
}

/* What a write of file_value under K makes ours: the paths the file names
 * (deep), or the whole value (shallow); null when the write removes K. */
static json_t *owned_value(const json_t *want, const json_t *file_value, enum kstatus_merge_mode mode) {
        if (mode == KSTATUS_MERGE_SHALLOW || json_is_null(file_value))
                return want ? json_true() : json_null();
        return paths_of(file_value);
}

/* The conditions the server should hold: what it has, with every type the
 * file names upserted, and every type an earlier push owned that the file
 * dropped put back as it was at pipeline start (or removed). Sets *ret_owned
 * to the file's conditions (what we now own). Returns a new reference. */
static json_t *desired_conditions(const json_t *start, const json_t *pushed_conds, const json_t *server,
                                  const json_t *file_conds, const char *now) {
        json_t *server_conds = json_object_get(server, "conditions");
        /* A new list sharing the conditions: they are replaced, never changed. */
        json_t *out = json_is_array(server_conds) ? json_copy(server_conds) : json_array();
        json_t *start_conds = json_object_get(start, "conditions");
        size_t i;
        json_t *c;

        json_array_foreach(pushed_conds, i, c) {
                const char *type = json_string_value(json_object_get(c, "type"));
                if (!type || kstatus_conditions_find(file_conds, type))
                        continue;
                json_t *orig = kstatus_conditions_find(start_conds, type);
                if (orig)
                        kstatus_conditions_set(out, orig, now);
                else
                        kstatus_conditions_remove(out, type);
        }
        json_array_foreach(file_conds, i, c) {
                json_t *clean = kstatus_merge_strip_nulls(c);
                kstatus_conditions_set(out, clean, now);
                json_decref(clean);
        }
        return out;
}

int kstatus_plan_patch(const struct kstatus_plan *plan, json_t **ret_patch, json_t **ret_owned,
                       struct kstatus_error *err) {
        json_t *empty = json_object();
        const json_t *start = json_is_object(plan->start) ? plan->start : empty;
        const json_t *pushed = json_is_object(plan->pushed) ? plan->pushed : empty;
        const json_t *server = json_is_object(plan->server) ? plan->server : empty;
        const json_t *file = plan->file ? plan->file : empty;

        if (!json_is_object(file)) {
                json_decref(empty);
                return kstatus_error_set(err, EINVAL, 0, 0, "status must be a mapping");
        }

        json_t *patch = json_object();
        json_t *owned = json_object();
        const char *k;
        json_t *v;

        /* Keys an earlier push owned that the file no longer names go back. */
        json_object_foreach((json_t *)pushed, k, v) {
                if (json_object_get(file, k) || strcmp(k, "conditions") == 0)
                        continue;
                json_t *orig = json_object_get(start, k);
                json_t *want = orig && !json_is_null(orig) ? kstatus_merge_strip_nulls(orig) : NULL;
                json_t *d = kstatus_merge_diff(json_object_get(server, k), want);
                if (d)
                        json_object_set_new(patch, k, d);
                json_decref(want);
        }

        json_t *file_conds = json_object_get(file, "conditions");
        json_t *pushed_conds = json_object_get(pushed, "conditions");
        if (file_conds || pushed_conds) {
                json_t *fc = json_is_array(file_conds) ? file_conds : NULL;
                json_t *want = desired_conditions(start, pushed_conds, server, fc, plan->now);
                json_t *have = json_object_get(server, "conditions");
                if (!have ? json_array_size(want) > 0 : !json_equal(have, want))
                        json_object_set(patch, "conditions", want);
                if (fc)
                        json_object_set_new(owned, "conditions", kstatus_merge_strip_nulls(fc));
                json_decref(want);
        }

        json_object_foreach((json_t *)file, k, v) {
                if (strcmp(k, "conditions") == 0)
                        continue;
                json_t *want = desired_value(json_object_get(start, k), json_object_get(server, k),
                                             json_object_get(pushed, k), v, plan->mode);
                json_t *d = kstatus_merge_diff(json_object_get(server, k), want);
                if (d)
                        json_object_set_new(patch, k, d);
                json_object_set_new(owned, k, owned_value(want, v, plan->mode));
                json_decref(want);
        }

        json_decref(empty);
        if (json_object_size(patch) == 0) {
                json_decref(patch);
                patch = NULL;
        }
        *ret_patch = patch;
        *ret_owned = owned;
        return 0;
}

json_t *kstatus_merge_status(const json_t *status, const json_t *file, enum kstatus_merge_mode mode,
                             const char *now) {
        struct kstatus_plan plan = {
                .start = status, .server = status, .file = file, .mode = mode, .now = now,
        };
        json_t *patch = NULL, *owned = NULL;
        if (kstatus_plan_patch(&plan, &patch, &owned, NULL) < 0)
                return json_incref((json_t *)status);
        json_decref(owned);
        json_t *out = patch ? kstatus_merge_patch(status, patch) : NULL;
        if (!out)
                out = json_is_object(status) ? json_incref((json_t *)status) : json_object();
        json_decref(patch);
        return out;
}
