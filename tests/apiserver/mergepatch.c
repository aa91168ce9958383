/* mergepatch.c - JSON merge patch as kube-apiserver applies it: the
 * MergePatch of gopkg.in/evanphx/json-patch.v4 (merge.go), written from that
 * code and independently of libkstatus's merge (a test server using the
 * product's merge would test nothing).
 *
 * Where it differs from a bare RFC 7386: a value the patch brings in whole
 * (no object to merge into) has its object members that are null removed at
 * any depth, inside arrays too (pruneNulls / pruneAryNulls), while null
 * elements of arrays stay; but an array (or scalar) replacing an existing
 * object is taken as it is, nulls and all (merge() returns the patch
 * unpruned when only the current value is an object). */
#include <string.h>

#include "server.h"

static void prune_nulls(json_t *v);

/* pruneDocNulls: drop null members, recurse into the rest. */
static void prune_doc_nulls(json_t *doc) {
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(doc, tmp, k, v) {
                if (json_is_null(v))
                        json_object_del(doc, k);
                else
                        prune_nulls(v);
        }
}

/* pruneNulls: objects lose their null members; arrays keep null elements
 * but their objects are pruned (pruneAryNulls). */
static void prune_nulls(json_t *v) {
        size_t i;
        json_t *e;
        if (json_is_object(v))
                prune_doc_nulls(v);
        else if (json_is_array(v))
                json_array_foreach(v, i, e) prune_nulls(e);
}

/* mergeDocs and merge(): patch's members onto doc, our own copy, in place. */
static void merge_docs(json_t *doc, const json_t *patch) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)patch, k, v) {
                if (json_is_null(v)) {
                        json_object_del(doc, k);
                        continue;
                }
                json_t *cur = json_object_get(doc, k);
                if (json_is_object(cur) && json_is_object(v)) {
                        merge_docs(cur, v);
                        continue;
                }
                json_t *val = json_deep_copy(v);
                /* merge() returns an array or scalar replacing an object
                 * unpruned; anything replacing a non-object is pruned. */
                if (!json_is_object(cur))
                        prune_nulls(val);
                json_object_set_new(doc, k, val);
        }
}

json_t *apiserver_merge_patch(const json_t *doc, const json_t *patch) {
        if (!json_is_object(patch)) {
                /* Not a document: an array patch becomes the result, pruned. */
                json_t *out = json_deep_copy(patch);
                prune_nulls(out);
                return out;
        }
        if (!json_is_object(doc)) {
                json_t *out = json_deep_copy(patch);
                prune_doc_nulls(out);
                return out;
        }
        json_t *out = json_deep_copy(doc);
        merge_docs(out, patch);
        return out;
}
