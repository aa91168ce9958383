/* preload.c - CRDs and objects created at start, before the server listens. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api-internal.h"
#include "yaml-json.h"

/* ---- preloading CRDs ---- */

static int preload_file(const char *path) {
        FILE *f = fopen(path, "re");
        if (!f) {
                fprintf(stderr, "error: cannot open \"%s\": %m\n", path);
                return -errno;
        }
        char *buf = NULL;
        size_t cap = 0;
        ssize_t n = getdelim(&buf, &cap, '\0', f);
        fclose(f);
        if (n < 0) {
                free(buf);
                return -EIO;
        }
        json_t *docs = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int r = kstatus_yaml_parse_stream(buf, (size_t)n, NULL, &docs, &err);
        free(buf);
        if (r < 0) {
                _cleanup_free_ char *msg = kstatus_error_format(&err, path);
                fprintf(stderr, "error: %s\n", msg);
                return r;
        }
        size_t i;
        json_t *doc;
        pthread_mutex_lock(&store_lock);
        struct rtype *crds = store_find_type("apiextensions.k8s.io", "v1", "customresourcedefinitions");
        pthread_mutex_unlock(&store_lock);
        json_array_foreach(docs, i, doc) {
                _cleanup_free_ char *body = json_dumps(doc, JSON_COMPACT);
                struct reply out = { 0 };
                /* The same path as a POST: same validation, same status. */
                do_create(NULL, crds, NULL, body, strlen(body), &out);
                if (out.code != 201) {
                        fprintf(stderr, "error: \"%s\": %.*s\n", path, (int)out.len, out.body);
                        r = -EINVAL;
                }
                free(out.body);
        }
        json_decref(docs);
        return r;
}

static int cmp_cstr(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int api_preload_crds(const char *path) {
        DIR *d = opendir(path);
        if (!d)
                return errno == ENOTDIR ? preload_file(path) : (fprintf(stderr, "error: cannot open \"%s\": %m\n",
                                                                        path), -errno);
        char **files = NULL;
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!str_has_suffix(de->d_name, ".yaml") && !str_has_suffix(de->d_name, ".json"))
                        continue;
                files = xrealloc(files, (n + 1) * sizeof(char *));
                files[n++] = xasprintf("%s/%s", path, de->d_name);
        }
        closedir(d);
        qsort(files, n, sizeof(char *), cmp_cstr);
        int r = 0;
        for (size_t i = 0; i < n; i++) {
                if (r == 0)
                        r = preload_file(files[i]);
                free(files[i]);
        }
        free(files);
        return r;
}

void api_handle_internal_create(const char *group, const char *version, const char *plural, const char *ns,
                                const char *body, struct reply *out) {
        memset(out, 0, sizeof(*out));
        pthread_mutex_lock(&store_lock);
        struct rtype *t = store_find_type(group, version, plural);
        pthread_mutex_unlock(&store_lock);
        if (!t) {
                reply_no_resource(out);
                return;
        }
        do_create(NULL, t, ns, body, strlen(body), out);
}
