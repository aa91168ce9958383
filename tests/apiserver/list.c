/* list.c - lists (selectors, namespaces, pages, Tables) and watch streams. */
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "api-internal.h"

/* ---- reads ---- */

bool object_matches(const struct list_opts *o, const struct rtype *t, const json_t *obj) {
        if (o->ns && t->namespaced) {
                const char *ns = meta_str(obj, "namespace");
                if (!ns || strcmp(ns, o->ns) != 0)
                        return false;
        }
        return label_selector_match(o->labels, obj) && field_selector_match(o->fields, obj);
}

json_t *table_new(const struct rtype *t, json_t *rows, uint64_t rv, bool columns, const char *cont) {
        json_t *tbl = json_pack("{s:s, s:s, s:{s:s++}}", "kind", "Table", "apiVersion", "meta.k8s.io/v1", "metadata",
                                "resourceVersion", "", "", "");
        set_rv(tbl, rv);
        if (cont)
                json_object_set_new(meta_of(tbl), "continue", json_string(cont));
        if (columns)
                json_object_set_new(tbl, "columnDefinitions", table_columns(t));
        json_object_set_new(tbl, "rows", rows);
        return tbl;
}

void do_list(struct MHD_Connection *c, struct rtype *t, struct list_opts *o, struct reply *out) {
        int64_t limit = 0;
        const char *limit_s = query(c, "limit"), *cont = query(c, "continue");
        if (limit_s && parse_int64(limit_s, 0, INT64_MAX, &limit) < 0) {
                reply_status(out, 400, NULL, NULL, "invalid limit \"%s\"", limit_s);
                return;
        }
        json_t *items = json_array();
        char *next = NULL;
        uint64_t rv;
        pthread_mutex_lock(&store_lock);
        rv = store_rv;
        const char *by_name = field_selector_name(o->fields);
        if (by_name && (o->ns || !t->namespaced)) {
                /* kubectl wait and get -w NAME: a direct lookup. */
                _cleanup_free_ char *key = object_key(t, o->ns, by_name);
                json_t *obj = json_object_get(t->objects, key);
                if (obj && object_matches(o, t, obj))
                        json_array_append(items, obj);
        } else {
                size_t n;
                const char **keys = rtype_sorted_keys(t, &n);
                size_t lo = 0, hi = n;
                _cleanup_free_ char *prefix = o->ns && t->namespaced ? xasprintf("%s/", o->ns) : NULL;
                const char *start = cont ? cont : prefix;
                if (start) /* first key > continue token, or >= "ns/" */
                        while (lo < hi) {
                                size_t mid = (lo + hi) / 2;
                                int cmp = strcmp(keys[mid], start);
                                if (cmp < 0 || (cont && cmp == 0))
                                        lo = mid + 1;
                                else
                                        hi = mid;
                        }
                for (size_t i = lo; i < n; i++) {
                        if (prefix && !str_has_prefix(keys[i], prefix))
                                break; /* keys are sorted: the namespace's run is over */
                        json_t *obj = json_object_get(t->objects, keys[i]);
                        if (!object_matches(o, t, obj))
                                continue;
                        if (limit > 0 && (int64_t)json_array_size(items) == limit) {
                                /* More to come: the token is the last key returned. */
                                json_t *last = json_array_get(items, json_array_size(items) - 1);
                                next = object_key(t, meta_str(last, "namespace"), meta_str(last, "name"));
                                break;
                        }
                        json_array_append(items, obj);
                }
        }
        pthread_mutex_unlock(&store_lock);

        if (o->table) {
                time_t now = time(NULL);
                json_t *rows = json_array();
                size_t i;
                json_t *obj;
                json_array_foreach(items, i, obj) json_array_append_new(rows, table_row(t, obj, o->include_object, now));
                json_decref(items);
                reply_json(out, 200, table_new(t, rows, rv, true, next));
        } else {
                _cleanup_free_ char *av = rtype_api_version(t);
                json_t *list = json_pack("{s:s, s:s, s:{s:s++}, s:o}", "kind", t->list_kind, "apiVersion", av,
                                         "metadata", "resourceVersion", "", "", "", "items", items);
                set_rv(list, rv);
                if (next)
                        json_object_set_new(meta_of(list), "continue", json_string(next));
                reply_json(out, 200, list);
        }
        free(next);
}

/* ---- watch ---- */

struct watch {
        struct MHD_Connection *conn;
        struct rtype *t;
        struct list_opts o;
        uint64_t since;
        bool bookmarks;
        bool columns_sent;
        bool done;
        struct timespec deadline;
        struct timespec next_bookmark;
        char *buf;
        size_t len, off, cap;
        json_t *pending; /* [type, object] pairs collected under the lock */
};

static void wbuf_append(struct watch *w, const char *s, size_t n) {
        if (w->len + n + 1 > w->cap) {
                w->cap = (w->len + n + 1) * 2;
                w->buf = xrealloc(w->buf, w->cap);
        }
        memcpy(w->buf + w->len, s, n);
        w->len += n;
}

static void watch_write_event(struct watch *w, const char *type, json_t *obj) {
        json_t *ev;
        if (w->o.table && strcmp(type, "ERROR") != 0 && strcmp(type, "BOOKMARK") != 0) {
                json_t *rows = json_array();
                json_array_append_new(rows, table_row(w->t, obj, w->o.include_object, time(NULL)));
                const char *rv = meta_str(obj, "resourceVersion");
                int64_t n = 0;
                if (rv)
                        (void)parse_int64(rv, 0, INT64_MAX, &n);
                ev = json_pack("{s:s, s:o}", "type", type, "object",
                               table_new(w->t, rows, (uint64_t)n, !w->columns_sent, NULL));
                w->columns_sent = true;
        } else
                ev = json_pack("{s:s, s:O}", "type", type, "object", obj);
        char *s = json_dumps(ev, JSON_COMPACT);
        wbuf_append(w, s, strlen(s));
        wbuf_append(w, "\n", 1);
        free(s);
        json_decref(ev);
}

static void collect_event(const struct event *ev, void *userdata) {
        struct watch *w = userdata;
        if (ev->rt != w->t)
                return;
        /* As the real server's watch cache: an object that starts or stops
         * matching the selectors is ADDED or DELETED for this watcher. */
        bool now = object_matches(&w->o, w->t, ev->object);
        bool before = ev->old && object_matches(&w->o, w->t, ev->old);
        const char *type = ev->type;
        if (strcmp(type, "MODIFIED") == 0) {
                if (!now && !before)
                        return;
                type = now && before ? "MODIFIED" : now ? "ADDED" : "DELETED";
        } else if (!now)
                return;
        json_array_append_new(w->pending, json_pack("[s, O]", type, ev->object));
}

bool ts_before(const struct timespec *a, const struct timespec *b) {
        return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

void ts_add_ms(struct timespec *ts, int64_t ms) {
        ts->tv_sec += ms / 1000;
        ts->tv_nsec += (ms % 1000) * 1000000L;
        if (ts->tv_nsec >= 1000000000L) {
                ts->tv_sec++;
                ts->tv_nsec -= 1000000000L;
        }
}

bool connection_gone(struct MHD_Connection *conn) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci)
                return false;
        struct pollfd p = { .fd = ci->connect_fd, .events = POLLIN | POLLRDHUP };
        if (poll(&p, 1, 0) <= 0)
                return false;
        if (p.revents & (POLLRDHUP | POLLHUP | POLLERR))
                return true;
        char ch;
        return recv(ci->connect_fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

ssize_t watch_read(void *cls, uint64_t pos, char *buf, size_t max) {
        struct watch *w = cls;
        while (w->off == w->len) {
                w->off = w->len = 0;
                if (w->done || server_stopping)
                        return MHD_CONTENT_READER_END_OF_STREAM;
                struct timespec now;
                clock_gettime(CLOCK_MONOTONIC, &now);
                if (!ts_before(&now, &w->deadline))
                        return MHD_CONTENT_READER_END_OF_STREAM;
                /* An outage cuts open streams too; a client that left frees its thread. */
                if (outage_active() || connection_gone(w->conn))
                        return MHD_CONTENT_READER_END_WITH_ERROR;

                pthread_mutex_lock(&store_lock);
                w->since = store_events_since(w->since, collect_event, w);
                if (json_array_size(w->pending) == 0) {
                        struct timespec until = now;
                        ts_add_ms(&until, 1000);
                        if (ts_before(&w->deadline, &until))
                                until = w->deadline;
                        if (w->bookmarks && ts_before(&w->next_bookmark, &until))
                                until = w->next_bookmark;
                        pthread_cond_timedwait(&store_cond, &store_lock, &until);
                        w->since = store_events_since(w->since, collect_event, w);
                }
                uint64_t rv = store_rv;
                pthread_mutex_unlock(&store_lock);

                size_t i;
                json_t *pair;
                json_array_foreach(w->pending, i, pair)
                        watch_write_event(w, json_string_value(json_array_get(pair, 0)), json_array_get(pair, 1));
                json_array_clear(w->pending);

                clock_gettime(CLOCK_MONOTONIC, &now);
                if (w->bookmarks && !ts_before(&now, &w->next_bookmark)) {
                        _cleanup_free_ char *av = rtype_api_version(w->t);
                        json_t *bm = json_pack("{s:s, s:s, s:{s:s++}}", "kind", w->t->kind, "apiVersion", av,
                                               "metadata", "resourceVersion", "", "", "");
                        set_rv(bm, w->since > rv ? w->since : rv);
                        watch_write_event(w, "BOOKMARK", bm);
                        json_decref(bm);
                        w->next_bookmark = now;
                        ts_add_ms(&w->next_bookmark, api_config.bookmark_ms);
                }
        }
        size_t n = w->len - w->off < max ? w->len - w->off : max;
        memcpy(buf, w->buf + w->off, n);
        w->off += n;
        return (ssize_t)n;
}

void watch_free(void *cls) {
        struct watch *w = cls;
        if (!w)
                return;
        selector_free(w->o.labels);
        selector_free(w->o.fields);
        free((char *)w->o.ns);
        free((char *)w->o.include_object);
        json_decref(w->pending);
        free(w->buf);
        free(w);
}

void do_watch(struct MHD_Connection *c, struct rtype *t, struct list_opts *o, struct reply *out) {
        struct watch *w = xcalloc(1, sizeof(*w));
        w->conn = c;
        w->t = t;
        w->o = *o;
        w->o.ns = o->ns ? xstrdup(o->ns) : NULL;
        w->o.include_object = o->include_object ? xstrdup(o->include_object) : NULL;
        o->labels = o->fields = NULL; /* moved */
        w->pending = json_array();
        w->bookmarks = query_true(c, "allowWatchBookmarks");

        int64_t timeout = 1800;
        const char *ts = query(c, "timeoutSeconds");
        if (ts && parse_int64(ts, 0, INT32_MAX, &timeout) < 0)
                timeout = 1800;
        clock_gettime(CLOCK_MONOTONIC, &w->deadline);
        w->next_bookmark = w->deadline;
        ts_add_ms(&w->next_bookmark, api_config.bookmark_ms);
        ts_add_ms(&w->deadline, timeout * 1000);

        const char *rv_s = query(c, "resourceVersion");
        int64_t rv = 0;
        if (rv_s && rv_s[0] && parse_int64(rv_s, 0, INT64_MAX, &rv) < 0) {
                watch_free(w);
                reply_status(out, 400, NULL, NULL, "resourceVersion: Invalid value: \"%s\": must be a number",
                             rv_s);
                return;
        }
        pthread_mutex_lock(&store_lock);
        uint64_t oldest = store_oldest_resumable();
        if (rv > 0 && (uint64_t)rv < oldest) {
                pthread_mutex_unlock(&store_lock);
                json_t *st = status_new(410, "Expired", NULL, "too old resource version: %lld (%llu)",
                                        (long long)rv, (unsigned long long)oldest);
                watch_write_event(w, "ERROR", st);
                json_decref(st);
                w->done = true;
        } else if (rv == 0) {
                /* No resourceVersion: the current state as ADDED events, then changes. */
                size_t n;
                const char **keys = rtype_sorted_keys(t, &n);
                for (size_t i = 0; i < n; i++) {
                        json_t *obj = json_object_get(t->objects, keys[i]);
                        if (object_matches(&w->o, t, obj))
                                json_array_append_new(w->pending, json_pack("[s, O]", "ADDED", obj));
                }
                w->since = store_rv;
                pthread_mutex_unlock(&store_lock);
                size_t i;
                json_t *pair;
                json_array_foreach(w->pending, i, pair)
                        watch_write_event(w, "ADDED", json_array_get(pair, 1));
                json_array_clear(w->pending);
        } else {
                w->since = (uint64_t)rv;
                pthread_mutex_unlock(&store_lock);
        }
        out->code = 200;
        out->watch = w;
}
