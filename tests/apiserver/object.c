/* object.c - one object: get, create, update (PUT), patch and delete, with the
 * real server's semantics (resourceVersion, generation, the /status split,
 * finalizers, schema pruning and validation). */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>

#include "api-internal.h"
#include "schema.h"

/* ---- reads ---- */

void do_get(struct rtype *t, const char *ns, const char *name, const struct list_opts *o,
                   struct reply *out) {
        _cleanup_free_ char *key = object_key(t, ns, name);
        pthread_mutex_lock(&store_lock);
        json_t *obj = json_incref(json_object_get(t->objects, key));
        uint64_t rv = store_rv;
        pthread_mutex_unlock(&store_lock);
        if (!obj) {
                reply_not_found(out, t, name);
                return;
        }
        if (o->table) {
                json_t *rows = json_array();
                json_array_append_new(rows, table_row(t, obj, o->include_object, time(NULL)));
                json_decref(obj);
                reply_json(out, 200, table_new(t, rows, rv, true, NULL));
                return;
        }
        reply_json(out, 200, obj);
}

/* ---- writes ---- */

/* Everything but metadata and (when split off) status: what bumps generation. */
static bool spec_changed(const struct rtype *t, const json_t *a, const json_t *b) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)a, k, v) {
                if (strcmp(k, "metadata") == 0 || (t->status_sub && strcmp(k, "status") == 0) ||
                    strcmp(k, "apiVersion") == 0 || strcmp(k, "kind") == 0)
                        continue;
                if (!json_equal(v, json_object_get(b, k)))
                        return true;
        }
        json_object_foreach((json_t *)b, k, v) {
                if (strcmp(k, "metadata") == 0 || (t->status_sub && strcmp(k, "status") == 0) ||
                    strcmp(k, "apiVersion") == 0 || strcmp(k, "kind") == 0)
                        continue;
                if (!json_object_get(a, k))
                        return true;
        }
        return false;
}

/* A Secret's stringData is write-only: fold it into data, base64-encoded. */
static void secret_fold_string_data(json_t *obj) {
        json_t *sd = json_object_get(obj, "stringData");
        if (!json_is_object(sd)) {
                json_object_del(obj, "stringData");
                return;
        }
        json_t *data = json_object_get(obj, "data");
        if (!json_is_object(data)) {
                data = json_object();
                json_object_set_new(obj, "data", data);
        }
        const char *k;
        json_t *v;
        json_object_foreach(sd, k, v) {
                const char *text = json_string_value(v);
                if (!text)
                        continue;
                gnutls_datum_t in = { .data = (unsigned char *)text, .size = (unsigned)strlen(text) }, enc;
                if (in.size == 0)
                        json_object_set_new(data, k, json_string(""));
                else if (gnutls_base64_encode2(&in, &enc) >= 0) {
                        json_object_set_new(data, k, json_stringn((const char *)enc.data, enc.size));
                        gnutls_free(enc.data);
                }
        }
        json_object_del(obj, "stringData");
}

static bool is_dry_run(struct MHD_Connection *c) {
        const char *d = c ? query(c, "dryRun") : NULL;
        return d && d[0];
}

void do_create(struct MHD_Connection *c, struct rtype *t, const char *ns, const char *body, size_t len,
                      struct reply *out) {
        _cleanup_json_ json_t *obj = parse_body(out, body, len);
        if (!obj || !check_kind(out, t, obj))
                return;
        json_t *meta = meta_of(obj);
        const char *name = json_string_value(json_object_get(meta, "name"));
        const char *gen_name = json_string_value(json_object_get(meta, "generateName"));
        _cleanup_free_ char *generated = NULL;
        if ((!name || !name[0]) && gen_name && gen_name[0]) {
                _cleanup_free_ char *u = uuid_new();
                generated = xasprintf("%s%.5s", gen_name, u);
                name = generated;
                json_object_set_new(meta, "name", json_string(name));
        }
        if (!name || !name[0]) {
                reply_invalid(out, t, "", "metadata.name", "FieldValueRequired",
                              "Required value: name or generateName is required");
                return;
        }
        if (!validate_name(out, t, name))
                return;
        if (t->schema)
                schema_prune(t->schema, obj); /* as the request is decoded: before anything else */
        const char *body_ns = json_string_value(json_object_get(meta, "namespace"));
        if (t->namespaced) {
                if (body_ns && body_ns[0] && strcmp(body_ns, ns) != 0) {
                        reply_status(out, 400, NULL, NULL, "the namespace of the provided object does not match "
                                     "the namespace sent on the request");
                        return;
                }
                json_object_set_new(meta, "namespace", json_string(ns));
        } else
                json_object_del(meta, "namespace");

        if (is_crd_type(t)) {
                const char *field = NULL;
                _cleanup_free_ char *detail = NULL;
                if (crd_check(obj, &field, &detail) < 0) {
                        reply_invalid(out, t, name, field, "FieldValueInvalid", detail);
                        return;
                }
        }

        _cleanup_free_ char *now = now_rfc3339();
        _cleanup_free_ char *uid = uuid_new();
        json_object_set_new(meta, "uid", json_string(uid));
        json_object_set_new(meta, "creationTimestamp", json_string(now));
        json_object_del(meta, "deletionTimestamp");
        json_object_del(meta, "deletionGracePeriodSeconds");
        json_object_del(meta, "managedFields");
        if (t->has_generation)
                json_object_set_new(meta, "generation", json_integer(1));
        else
                json_object_del(meta, "generation");
        if (t->crd_name && t->status_sub)
                json_object_del(obj, "status"); /* create ignores status, like the real server */
        if (is_crd_type(t))
                json_object_set_new(obj, "status", crd_status(obj, NULL));
        if (is_core(t, "namespaces"))
                json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Active"));
        if (is_core(t, "pods") && !json_object_get(json_object_get(obj, "status"), "phase")) {
                if (!json_is_object(json_object_get(obj, "status")))
                        json_object_set_new(obj, "status", json_object());
                json_object_set_new(json_object_get(obj, "status"), "phase", json_string("Pending"));
        }
        if (is_core(t, "secrets")) {
                secret_fold_string_data(obj);
                if (!json_string_value(json_object_get(obj, "type")) ||
                    !json_string_value(json_object_get(obj, "type"))[0])
                        json_object_set_new(obj, "type", json_string("Opaque"));
        }
        if (is_core(t, "events")) {
                if (!json_object_get(obj, "firstTimestamp") && !json_object_get(obj, "eventTime"))
                        json_object_set_new(obj, "firstTimestamp", json_string(now));
                if (!json_object_get(obj, "lastTimestamp") && !json_object_get(obj, "eventTime"))
                        json_object_set_new(obj, "lastTimestamp", json_string(now));
        }

        if (t->schema) {
                json_t *causes = schema_validate(t->schema, obj, NULL);
                if (causes) {
                        reply_invalid_causes(out, t, name, causes);
                        return;
                }
        }

        _cleanup_free_ char *key = object_key(t, ns, name);
        pthread_mutex_lock(&store_lock);
        if (t->namespaced && !namespace_exists(ns)) {
                pthread_mutex_unlock(&store_lock);
                reply_status(out, 404, NULL, json_pack("{s:s, s:s}", "name", ns, "kind", "namespaces"),
                             "namespaces \"%s\" not found", ns);
                return;
        }
        if (json_object_get(t->objects, key)) {
                pthread_mutex_unlock(&store_lock);
                _cleanup_free_ char *res = rtype_resource_name(t);
                reply_status(out, 409, "AlreadyExists", details_for(t, name), "%s \"%s\" already exists", res,
                             name);
                return;
        }
        if (is_dry_run(c)) {
                pthread_mutex_unlock(&store_lock);
                reply_json(out, 201, json_incref(obj));
                return;
        }
        set_rv(obj, ++store_rv);
        if (is_crd_type(t))
                crd_register(obj);
        store_put(t, key, json_incref(obj), "ADDED");
        pthread_mutex_unlock(&store_lock);
        reply_json(out, 201, json_incref(obj));
}

/* Turn `incoming` (what the client wants, stolen) into the stored object
 * that replaces `old` (borrowed) and commit it (locked). subresource:
 * "status" or NULL. Returns the reply. */
static void commit_update(struct MHD_Connection *c, struct rtype *t, const char *key, json_t *old, json_t *incoming,
                          const char *sub, struct reply *out) {
        _cleanup_json_ json_t *next = NULL;
        if (t->schema)
                schema_prune(t->schema, incoming);
        if (sub) {
                /* /status: keep everything but status (and nothing else). */
                next = json_deep_copy(old);
                json_t *st = json_object_get(incoming, "status");
                if (st)
                        json_object_set(next, "status", st);
                else
                        json_object_del(next, "status");
                if (is_core(t, "pods") || is_core(t, "namespaces")) {
                        /* The real pod status strategy also keeps labels/annotations as sent? No: old. */
                }
        } else {
                next = json_incref(incoming);
                if (t->status_sub) {
                        json_t *st = json_object_get(old, "status");
                        if (st)
                                json_object_set(next, "status", st);
                        else
                                json_object_del(next, "status");
                }
                if (is_crd_type(t))
                        json_object_set_new(next, "status",
                                            crd_status(next, json_object_get(old, "status")));
                json_t *meta = meta_of(next), *ometa = meta_of(old);
                static const char *const kept[] = { "name", "namespace", "uid", "creationTimestamp",
                                                    "deletionTimestamp", "deletionGracePeriodSeconds",
                                                    "generation", "resourceVersion" };
                for (size_t i = 0; i < ELEMENTSOF(kept); i++) {
                        json_t *v = json_object_get(ometa, kept[i]);
                        if (v)
                                json_object_set(meta, kept[i], v);
                        else
                                json_object_del(meta, kept[i]);
                }
                json_object_del(meta, "managedFields");
                if (t->has_generation && spec_changed(t, old, next))
                        json_object_set_new(meta, "generation",
                                            json_integer(json_integer_value(json_object_get(ometa, "generation")) + 1));
        }
        json_decref(incoming);

        if (is_crd_type(t) && !sub) {
                const char *field = NULL;
                _cleanup_free_ char *detail = NULL;
                if (crd_check(next, &field, &detail) < 0) {
                        reply_invalid(out, t, meta_str(old, "name"), field, "FieldValueInvalid", detail);
                        return;
                }
        }

        if (t->schema) {
                json_t *causes = schema_validate(t->schema, next, old);
                if (causes) {
                        reply_invalid_causes(out, t, meta_str(old, "name"), causes);
                        return;
                }
        }

        json_object_set(meta_of(next), "resourceVersion", json_object_get(meta_of(old), "resourceVersion"));
        if (json_equal(next, old)) {
                /* A no-op write changes nothing, not even the resourceVersion. */
                reply_json(out, 200, json_incref(old));
                return;
        }
        if (is_dry_run(c)) {
                reply_json(out, 200, json_incref(next));
                return;
        }
        set_rv(next, ++store_rv);
        if (is_crd_type(t))
                crd_register(next);
        json_t *fins = json_object_get(meta_of(next), "finalizers");
        if (json_object_get(meta_of(next), "deletionTimestamp") && json_array_size(fins) == 0) {
                /* The last finalizer is gone: the deletion completes. */
                store_put(t, key, json_incref(next), "MODIFIED");
                json_decref(store_remove(t, key));
                reply_json(out, 200, json_incref(next));
                return;
        }
        store_put(t, key, json_incref(next), "MODIFIED");
        reply_json(out, 200, json_incref(next));
}

void do_update(struct MHD_Connection *c, struct rtype *t, const char *ns, const char *name, const char *sub,
                      const char *body, size_t len, struct reply *out) {
        json_t *obj = parse_body(out, body, len);
        if (!obj)
                return;
        if (!check_kind(out, t, obj)) {
                json_decref(obj);
                return;
        }
        const char *body_name = meta_str(obj, "name");
        if (!body_name || strcmp(body_name, name) != 0) {
                reply_status(out, 400, NULL, NULL, "the name of the object (%s) does not match the name on the URL "
                             "(%s)", body_name ? body_name : "", name);
                json_decref(obj);
                return;
        }
        _cleanup_free_ char *key = object_key(t, ns, name);
        pthread_mutex_lock(&store_lock);
        json_t *old = json_object_get(t->objects, key);
        const char *want_rv = meta_str(obj, "resourceVersion");
        if (!old) {
                pthread_mutex_unlock(&store_lock);
                json_decref(obj);
                reply_not_found(out, t, name);
                return;
        }
        if ((!want_rv || !want_rv[0]) && !t->unconditional_update) {
                pthread_mutex_unlock(&store_lock);
                json_decref(obj);
                reply_invalid(out, t, name, "metadata.resourceVersion", "FieldValueInvalid",
                              "Invalid value: 0x0: must be specified for an update");
                return;
        }
        if (want_rv && want_rv[0] && strcmp(want_rv, meta_str(old, "resourceVersion")) != 0) {
                pthread_mutex_unlock(&store_lock);
                json_decref(obj);
                reply_conflict(out, t, name);
                return;
        }
        json_incref(old);
        commit_update(c, t, key, old, obj, sub, out);
        pthread_mutex_unlock(&store_lock);
        json_decref(old);
}

void do_patch(struct MHD_Connection *c, struct rtype *t, const char *ns, const char *name, const char *sub,
                     const char *body, size_t len, struct reply *out) {
        const char *ct = header(c, "Content-Type");
        _cleanup_free_ char *type = xstrndup(ct ? ct : "", ct ? strcspn(ct, "; ") : 0);
        bool merge = strcmp(type, "application/merge-patch+json") == 0;
        bool json_patch = strcmp(type, "application/json-patch+json") == 0;
        bool strategic = strcmp(type, "application/strategic-merge-patch+json") == 0 && t->strategic;
        if (!merge && !json_patch && !strategic) {
                reply_status(out, 415, NULL, NULL,
                             "the body of the request was in an unknown format - accepted media types include: "
                             "application/json-patch+json, application/merge-patch+json%s",
                             t->strategic ? ", application/strategic-merge-patch+json" : "");
                return;
        }
        json_error_t e;
        _cleanup_json_ json_t *patch = body ? json_loadb(body, len, 0, &e) : NULL;
        if (!patch) {
                reply_status(out, 400, NULL, NULL, "error decoding patch: %s",
                             body ? e.text : "unexpected end of JSON input");
                return;
        }
        if ((merge || strategic) && !json_is_object(patch)) {
                reply_status(out, 400, NULL, NULL, "Invalid JSON Patch");
                return;
        }
        _cleanup_free_ char *key = object_key(t, ns, name);
        pthread_mutex_lock(&store_lock);
        json_t *old = json_incref(json_object_get(t->objects, key));
        if (!old) {
                pthread_mutex_unlock(&store_lock);
                reply_not_found(out, t, name);
                return;
        }
        json_t *next = NULL;
        if (json_patch) {
                _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
                int r = json_patch_apply(old, patch, &next, &err);
                if (r < 0) {
                        pthread_mutex_unlock(&store_lock);
                        json_decref(old);
                        if (r == -EBADMSG)
                                reply_status(out, 400, NULL, NULL, "%s", err.message);
                        else
                                reply_status(out, 422, NULL, NULL, "%s", err.message);
                        return;
                }
        } else if (strategic)
                next = strategic_merge_patch(old, patch);
        else
                next = apiserver_merge_patch(old, patch);
        if (!json_is_object(next) || !json_is_object(meta_of(next))) {
                pthread_mutex_unlock(&store_lock);
                json_decref(old);
                json_decref(next);
                reply_status(out, 422, NULL, NULL, "the patch removed the object's metadata");
                return;
        }
        const char *want_rv = meta_str(next, "resourceVersion");
        if (want_rv && strcmp(want_rv, meta_str(old, "resourceVersion")) != 0) {
                pthread_mutex_unlock(&store_lock);
                json_decref(old);
                json_decref(next);
                reply_conflict(out, t, name);
                return;
        }
        const char *nn = meta_str(next, "name");
        if (!nn || strcmp(nn, name) != 0) {
                pthread_mutex_unlock(&store_lock);
                json_decref(old);
                json_decref(next);
                reply_invalid(out, t, name, "metadata.name", "FieldValueInvalid",
                              "Invalid value: \"\": field is immutable");
                return;
        }
        /* A patch naming another uid (the object was deleted and created again
         * since the writer read it) is refused as ValidateObjectMetaUpdate
         * refuses it: the uid is immutable. */
        const char *nuid = meta_str(next, "uid"), *ouid = meta_str(old, "uid");
        if (nuid && ouid && strcmp(nuid, ouid) != 0) {
                _cleanup_free_ char *detail = xasprintf("Invalid value: \"%s\": field is immutable", nuid);
                pthread_mutex_unlock(&store_lock);
                json_decref(old);
                json_decref(next);
                reply_invalid(out, t, name, "metadata.uid", "FieldValueInvalid", detail);
                return;
        }
        commit_update(c, t, key, old, next, sub, out);
        pthread_mutex_unlock(&store_lock);
        json_decref(old);
}

void do_delete(struct MHD_Connection *c, struct rtype *t, const char *ns, const char *name,
                      struct reply *out) {
        _cleanup_free_ char *key = object_key(t, ns, name);
        pthread_mutex_lock(&store_lock);
        json_t *old = json_object_get(t->objects, key);
        if (!old) {
                pthread_mutex_unlock(&store_lock);
                reply_not_found(out, t, name);
                return;
        }
        if (is_dry_run(c)) {
                reply_json(out, 200, json_incref(old));
                pthread_mutex_unlock(&store_lock);
                return;
        }
        if (json_array_size(json_object_get(meta_of(old), "finalizers")) > 0) {
                /* Finalizers hold the object: mark it and wait for them to go. */
                if (json_object_get(meta_of(old), "deletionTimestamp")) {
                        reply_json(out, 200, json_incref(old));
                        pthread_mutex_unlock(&store_lock);
                        return;
                }
                json_t *next = json_deep_copy(old);
                _cleanup_free_ char *now = now_rfc3339();
                json_object_set_new(meta_of(next), "deletionTimestamp", json_string(now));
                json_object_set_new(meta_of(next), "deletionGracePeriodSeconds", json_integer(0));
                set_rv(next, ++store_rv);
                store_put(t, key, json_incref(next), "MODIFIED");
                pthread_mutex_unlock(&store_lock);
                reply_json(out, 200, next);
                return;
        }
        json_t *gone = store_remove(t, key);
        pthread_mutex_unlock(&store_lock);
        reply_json(out, 200, gone);
}

void do_delete_collection(struct MHD_Connection *c, struct rtype *t, struct list_opts *o,
                                 struct reply *out) {
        json_t *items = json_array();
        pthread_mutex_lock(&store_lock);
        size_t n;
        const char **keys = rtype_sorted_keys(t, &n);
        json_t *doomed = json_array();
        for (size_t i = 0; i < n; i++)
                if (object_matches(o, t, json_object_get(t->objects, keys[i])))
                        json_array_append_new(doomed, json_string(keys[i]));
        size_t i;
        json_t *k;
        json_array_foreach(doomed, i, k) {
                json_t *obj = json_object_get(t->objects, json_string_value(k));
                if (json_array_size(json_object_get(meta_of(obj), "finalizers")) > 0) {
                        if (!json_object_get(meta_of(obj), "deletionTimestamp")) {
                                json_t *next = json_deep_copy(obj);
                                _cleanup_free_ char *now = now_rfc3339();
                                json_object_set_new(meta_of(next), "deletionTimestamp", json_string(now));
                                set_rv(next, ++store_rv);
                                store_put(t, json_string_value(k), json_incref(next), "MODIFIED");
                                json_array_append_new(items, next);
                        }
                } else
                        json_array_append_new(items, store_remove(t, json_string_value(k)));
        }
        json_decref(doomed);
        uint64_t rv = store_rv;
        pthread_mutex_unlock(&store_lock);
        _cleanup_free_ char *av = rtype_api_version(t);
        json_t *list = json_pack("{s:s, s:s, s:{}, s:o}", "kind", t->list_kind, "apiVersion", av, "metadata",
                                 "items", items);
        set_rv(list, rv);
        reply_json(out, 200, list);
}
