/* kubectl kstatus logs: the logs of a resource's pipeline Pods, found by the
 * labels Kratix puts on them (docs/KRATIX.md), each line prefixed
 * "[pipeline/container]". Containers in the order they ran: the init
 * containers (reader, the Promise's, work-writer) then status-writer; a native
 * sidecar (an init container with restartPolicy Always) only when -c names it.
 *
 * Requests: one GET of the resource, one LIST of its Pods, one pods/log GET
 * per container shown. -f streams each container as it runs, waits with a
 * watch for the next container to start and for the next pipeline's Pod, and
 * ends after the last pipeline (IS_LAST_PIPELINE on status-writer) or a Pod
 * that ended without completing (a failed or suspended Job). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kube-args.h"
#include "kube/watch.h"

const char logs_usage[] =
        "Print the logs of a resource's pipeline Pods, every line prefixed [pipeline/container], containers in\n"
        "the order they ran (reader, the pipeline's containers, work-writer, status-writer).\n"
        "\n"
        "Usage:\n"
        "  kubectl kstatus logs TYPE/NAME [--pipeline NAME] [-c CONTAINER] [-f] [options]\n"
        "\n"
        "Examples:\n"
        "  kubectl kstatus logs iam/example\n"
        "  kubectl kstatus logs iam/example --pipeline create-user -c pipeline --tail 20\n"
        "  kubectl kstatus logs database example -f\n"
        "\n"
        "Options:\n"
        "      --pipeline=NAME                only this pipeline's Pods\n"
        "  -c, --container=NAME               only this container (a native sidecar too)\n"
        "  -f, --follow                       stream the logs as the pipelines run, the next pipeline's too\n"
        "  -p, --previous                     the previous run of each container that restarted\n"
        "      --tail=N                       the last N lines of each container (default -1: all)\n"
        "      --since=DURATION               only lines newer than DURATION (5s, 2m, 3h)\n"
        "      --all-runs                     every Pod of every run, oldest first (default: the latest per pipeline)\n" KUBE_ARGS_USAGE;

struct logs_args {
        struct kube_args kube;
        const char *pipeline, *container;
        bool follow, previous, all_runs;
        int64_t tail;    /* -1: all */
        int64_t since_s; /* 0: no limit */
};

struct logs {
        const struct logs_args *a;
        struct kube_session *s;
        const char *ns;      /* where the Pods are (borrowed) */
        char *selector;      /* the Pods' label selector */
        json_t *object;      /* the resource */
        json_t *seen;        /* Pod uid -> true: shown (follow) */
        bool color, done;    /* done: follow has nothing more to wait for */
        unsigned n_prefixes; /* prefixes printed, for their colours */
        int rc;
};

static void logs_done(struct logs *l) {
        free(l->selector);
        json_decref(l->object);
        json_decref(l->seen);
}

static const char *meta_str(const json_t *o, const char *key) {
        return json_string_value(json_object_get(json_object_get(o, "metadata"), key));
}

static const char *label(const json_t *o, const char *key) {
        return json_string_value(json_object_get(json_object_get(json_object_get(o, "metadata"), "labels"), key));
}

static const char *str_or(const json_t *o, const char *key, const char *dflt) {
        const char *s = json_string_value(json_object_get(o, key));
        return s ? s : dflt;
}

/* ---- lines out ---- */

/* One container's stream cut into lines, each printed escaped after its prefix. */
struct line_out {
        const char *prefix, *color;
        char *partial;
        size_t len;
};

#define MAX_LINE_BYTES (1u << 20) /* a longer line is printed in pieces */

/* Text with NULs: each part escaped, the NULs as \x00. */
static void print_escaped(const char *s, size_t len) {
        for (size_t start = 0;;) {
                const char *nul = memchr(s + start, '\0', len - start);
                size_t end = nul ? (size_t)(nul - s) : len;
                _cleanup_free_ char *part = xstrndup(s + start, end - start);
                _cleanup_free_ char *safe = escape_for_terminal(part);
                fputs(safe, stdout);
                if (!nul)
                        return;
                fputs("\\x00", stdout);
                start = end + 1;
        }
}

static void print_line(const struct line_out *o, const char *s, size_t len) {
        if (o->color)
                printf("%s%s\033[0m ", o->color, o->prefix);
        else
                printf("%s ", o->prefix);
        print_escaped(s, len);
        putchar('\n');
}

static int line_feed(const char *data, size_t len, void *userdata) {
        struct line_out *o = userdata;
        o->partial = xrealloc(o->partial, o->len + len + 1);
        memcpy(o->partial + o->len, data, len);
        o->len += len;
        size_t start = 0;
        for (;;) {
                const char *nl = memchr(o->partial + start, '\n', o->len - start);
                if (!nl && o->len - start < MAX_LINE_BYTES)
                        break;
                size_t end = nl ? (size_t)(nl - o->partial) : o->len;
                print_line(o, o->partial + start, end - start);
                start = nl ? end + 1 : end;
        }
        memmove(o->partial, o->partial + start, o->len - start);
        o->len -= start;
        /* A follower sees each line when it comes; EPIPE (| head) ends the stream. */
        return flush_stdout() == -EPIPE ? -EPIPE : 0;
}

static void line_flush(struct line_out *o) {
        if (o->len > 0)
                print_line(o, o->partial, o->len);
        free(o->partial);
        o->partial = NULL;
        o->len = 0;
}

/* ---- containers ---- */

static const char *const prefix_colors[] = { "\033[32m", "\033[33m", "\033[34m", "\033[35m", "\033[36m", "\033[31m" };

/* The container's status in pod (borrowed) or NULL. */
static const json_t *container_status(const json_t *pod, const char *name) {
        static const char *const lists[] = { "initContainerStatuses", "containerStatuses" };
        for (size_t k = 0; k < ELEMENTSOF(lists); k++) {
                size_t i;
                json_t *cs;
                json_array_foreach(json_object_get(json_object_get(pod, "status"), lists[k]), i, cs) {
                        if (strcmp(str_or(cs, "name", ""), name) == 0)
                                return cs;
                }
        }
        return NULL;
}

static bool has_run(const json_t *cs) {
        const json_t *state = json_object_get(cs, "state");
        return json_object_get(state, "running") || json_object_get(state, "terminated") ||
               json_object_get(json_object_get(cs, "lastState"), "terminated");
}

static int64_t restart_count(const json_t *cs) {
        return json_integer_value(json_object_get(cs, "restartCount"));
}

static char *log_path(const struct logs *l, const char *pod, const char *container, bool follow) {
        _cleanup_free_ char *ns = kube_escape(l->ns), *p = kube_escape(pod), *c = kube_escape(container);
        _cleanup_free_ char *tail = l->a->tail >= 0 ? xasprintf("&tailLines=%lld", (long long)l->a->tail) : NULL;
        _cleanup_free_ char *since = l->a->since_s > 0 ? xasprintf("&sinceSeconds=%lld", (long long)l->a->since_s)
                                                        : NULL;
        return xasprintf("/api/v1/namespaces/%s/pods/%s/log?container=%s%s%s%s%s", ns, p, c, follow ? "&follow=true" : "",
                         l->a->previous ? "&previous=true" : "", tail ? tail : "", since ? since : "");
}

/* Print one container's log (streamed to its end with follow). 0, or an exit
 * code after printing the server's error. */
static int stream_container(struct logs *l, const json_t *pod, const char *container, bool follow) {
        const char *pipeline = label(pod, "kratix.io/pipeline-name");
        _cleanup_free_ char *prefix = xasprintf("[%s/%s]", pipeline ? pipeline : meta_str(pod, "name"), container);
        _cleanup_free_ char *safe = escape_for_terminal(prefix);
        struct line_out o = { .prefix = safe,
                              .color = l->color ? prefix_colors[l->n_prefixes++ % ELEMENTSOF(prefix_colors)] : NULL };
        _cleanup_free_ char *path = log_path(l, meta_str(pod, "name"), container, follow);
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int r = kube_client_stream(l->s->client, path, follow, line_feed, &o, &err);
        line_flush(&o);
        if (r == -EPIPE) {
                l->done = true;
                return 0;
        }
        if (r < 0) {
                (void)flush_stdout();
                (void)api_error(&err);
                return EXIT_FAILED; /* kubectl logs exits 1 */
        }
        return 0;
}

/* The containers to show, in the order they run: init containers but native
 * sidecars, then the regular ones; only -c's when given. New array of names. */
static json_t *pod_containers(const struct logs *l, const json_t *pod) {
        static const char *const lists[] = { "initContainers", "containers" };
        json_t *names = json_array();
        for (size_t k = 0; k < ELEMENTSOF(lists); k++) {
                size_t i;
                json_t *c;
                json_array_foreach(json_object_get(json_object_get(pod, "spec"), lists[k]), i, c) {
                        const char *name = str_or(c, "name", "");
                        bool sidecar = strcmp(str_or(c, "restartPolicy", ""), "Always") == 0;
                        if (l->a->container ? strcmp(name, l->a->container) == 0 : !sidecar)
                                json_array_append_new(names, json_string(name));
                }
        }
        return names;
}

/* Without -f: a container that has not run. Quiet when it only waits for the
 * ones before it (the pipeline is running); else the server's reason, as
 * kubectl logs shows it. Returns 0 or an exit code. */
static int not_started(struct logs *l, const json_t *pod, const char *container, bool earlier_ran) {
        const json_t *waiting = json_object_get(json_object_get(container_status(pod, container), "state"), "waiting");
        const char *reason = str_or(waiting, "reason", "");
        if (!l->a->container && earlier_ran &&
            (strcmp(reason, "PodInitializing") == 0 || strcmp(reason, "ContainerCreating") == 0))
                return 0;
        return stream_container(l, pod, container, false);
}

/* Print pod's containers as they are now. */
static int show_pod(struct logs *l, const json_t *pod) {
        _cleanup_json_ json_t *names = pod_containers(l, pod);
        if (l->a->container && json_array_size(names) == 0) {
                l->rc = stream_container(l, pod, l->a->container, false); /* the server says it is not valid */
                return 0;
        }
        bool earlier_ran = false;
        size_t i;
        json_t *n;
        json_array_foreach(names, i, n) {
                const char *container = json_string_value(n);
                const json_t *cs = container_status(pod, container);
                int rc;
                if (l->a->previous && !l->a->container &&
                    !json_object_get(json_object_get(cs, "lastState"), "terminated"))
                        continue; /* never restarted: no previous run to show */
                if (!has_run(cs)) {
                        rc = not_started(l, pod, container, earlier_ran);
                        if (rc)
                                l->rc = rc;
                        return 0; /* the containers after it have not run either */
                }
                earlier_ran = true;
                rc = stream_container(l, pod, container, false);
                if (rc)
                        l->rc = rc;
                if (l->done)
                        return 0;
        }
        return 0;
}

/* ---- the Pods ---- */

/* Is this Pod one of the resource's pipeline runs? The namespace label only
 * when the Pod runs elsewhere (pipelineNamespace). */
static bool pod_of(const json_t *pod, const json_t *obj) {
        const char *rns = label(pod, "kratix.io/resource-namespace"), *ns = meta_str(obj, "namespace");
        return !rns || !ns || strcmp(rns, ns) == 0;
}

/* The pipeline's place in the resource's status.kratix.workflows.pipelines (the
 * order Kratix runs them); unknown ones after. */
static size_t pipeline_index(const json_t *obj, const char *pipeline) {
        const json_t *pipelines = json_object_get(
                json_object_get(json_object_get(json_object_get(obj, "status"), "kratix"), "workflows"), "pipelines");
        size_t i;
        json_t *p;
        json_array_foreach(pipelines, i, p) {
                if (pipeline && strcmp(str_or(p, "name", ""), pipeline) == 0)
                        return i;
        }
        return SIZE_MAX;
}

static int pod_cmp_time(const json_t *a, const json_t *b) {
        const char *ta = meta_str(a, "creationTimestamp"), *tb = meta_str(b, "creationTimestamp");
        int r = strcmp(ta ? ta : "", tb ? tb : "");
        return r ? r : strcmp(meta_str(a, "name") ?: "", meta_str(b, "name") ?: "");
}

static int by_time(const void *x, const void *y, void *obj) {
        (void)obj;
        return pod_cmp_time(*(json_t *const *)x, *(json_t *const *)y);
}

static int by_pipeline(const void *x, const void *y, void *obj) {
        const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
        size_t ia = pipeline_index(obj, label(a, "kratix.io/pipeline-name"));
        size_t ib = pipeline_index(obj, label(b, "kratix.io/pipeline-name"));
        if (ia != ib)
                return ia < ib ? -1 : 1;
        return pod_cmp_time(a, b);
}

/* The Pods to show, in order (new array): every one oldest first with
 * --all-runs, else the newest of each pipeline in the pipelines' order. */
static json_t *select_pods(const struct logs *l, const json_t *list) {
        size_t n = 0, i;
        json_t *pod;
        json_t **v = xcalloc(json_array_size(json_object_get(list, "items")) + 1, sizeof(json_t *));
        json_array_foreach(json_object_get(list, "items"), i, pod) {
                if (pod_of(pod, l->object))
                        v[n++] = pod;
        }
        qsort_r(v, n, sizeof(json_t *), l->a->all_runs ? by_time : by_pipeline, l->object);
        json_t *out = json_array();
        for (i = 0; i < n; i++) {
                const char *p = label(v[i], "kratix.io/pipeline-name");
                const char *next = i + 1 < n ? label(v[i + 1], "kratix.io/pipeline-name") : NULL;
                const json_t *prev = json_array_get(out, json_array_size(out) - 1);
                /* Sorted by pipeline then time: the last of a pipeline's Pods is its newest; one
                 * older than the pipeline before it is from an earlier run. */
                if (l->a->all_runs)
                        json_array_append(out, v[i]);
                else if ((!next || !p || strcmp(p, next) != 0) && (!prev || pod_cmp_time(prev, v[i]) <= 0))
                        json_array_append(out, v[i]);
        }
        free(v);
        return out;
}

static char *pods_path(const struct logs *l, const char *field_selector) {
        _cleanup_free_ char *ns = kube_escape(l->ns), *ls = kube_escape(l->selector);
        _cleanup_free_ char *fs = field_selector ? kube_escape(field_selector) : NULL;
        return xasprintf("/api/v1/namespaces/%s/pods?labelSelector=%s%s%s", ns, ls, fs ? "&fieldSelector=" : "",
                         fs ? fs : "");
}

/* ---- following ---- */

enum { WAIT_NEXT = 1, WAIT_STREAM, WAIT_ENDED };

/* What a follower of container does next, the Pod as it is now: stream a run
 * not yet streamed (restartCount above streamed, -1: none), go on to the next
 * container (the run streamed ended well), stop (the Pod ended or went), or
 * wait (0). container NULL: only whether the Pod ended. */
static int pod_verdict(const json_t *pod, const char *container, int64_t streamed) {
        if (container) {
                const json_t *cs = container_status(pod, container);
                const json_t *state = json_object_get(cs, "state");
                const json_t *term = json_object_get(state, "terminated");
                if (term && restart_count(cs) == streamed && json_integer_value(json_object_get(term, "exitCode")) == 0)
                        return WAIT_NEXT;
                if ((json_object_get(state, "running") || term) && restart_count(cs) > streamed)
                        return WAIT_STREAM;
        }
        const char *phase = str_or(json_object_get(pod, "status"), "phase", "");
        if (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0 || meta_str(pod, "deletionTimestamp"))
                return WAIT_ENDED;
        return 0;
}

struct pod_wait {
        const char *container;
        int64_t streamed;
        json_t *pod; /* as last seen (new reference); NULL: gone */
};

static int on_pod_event(const char *type, const json_t *object, void *userdata) {
        struct pod_wait *w = userdata;
        if (strcmp(type, "RELIST") == 0)
                object = json_array_get(json_object_get(object, "items"), 0);
        json_decref(w->pod);
        w->pod = NULL;
        if (strcmp(type, "DELETED") == 0 || !object)
                return WAIT_ENDED;
        w->pod = json_incref((json_t *)object);
        return pod_verdict(w->pod, w->container, w->streamed);
}

static int watch_error(struct kstatus_error *e) {
        _cleanup_free_ char *safe = escape_for_terminal(e->message);
        fprintf(stderr, "error: %s\n", safe);
        return EXIT_FAILED;
}

/* Wait until pod_verdict() says what to do; *pod (replaced) as it is then, NULL
 * when gone. Returns a WAIT_ value or, negated, an exit code. */
static int wait_pod(struct logs *l, json_t **pod, const char *container, int64_t streamed) {
        struct pod_wait w = { .container = container, .streamed = streamed };
        _cleanup_free_ char *ns = kube_escape(l->ns), *name = kube_escape(meta_str(*pod, "name"));
        _cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/pods/%s", ns, name);
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int r = kube_client_get(l->s->client, path, &w.pod, &err);
        if (r < 0 && r != -ENOENT)
                return -api_error(&err);
        kstatus_error_done(&err);
        int v = r == -ENOENT ? WAIT_ENDED : pod_verdict(w.pod, container, streamed);
        if (!v) {
                _cleanup_free_ char *fs = xasprintf("metadata.name=%s", meta_str(*pod, "name"));
                _cleanup_free_ char *watch_path = pods_path(l, fs);
                struct kube_watch *kw = NULL;
                _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
                if (kube_watch_new(l->s->client, watch_path, meta_str(w.pod, "resourceVersion"), on_pod_event, &w,
                                   &kw, &e) < 0)
                        v = -watch_error(&e);
                else {
                        v = kube_watch_run(kw, -1, &err);
                        v = v < 0 ? -api_error(&err) : v;
                        kube_watch_free(kw);
                }
        }
        json_decref(*pod);
        *pod = w.pod;
        return v;
}

/* Follow one container through its runs. A WAIT_ value or, negated, an exit code. */
static int follow_container(struct logs *l, json_t **pod, const char *container) {
        int64_t streamed = -1;
        int v = pod_verdict(*pod, container, streamed);
        for (;;) {
                if (v == WAIT_STREAM) {
                        int64_t run = restart_count(container_status(*pod, container));
                        int rc = stream_container(l, *pod, container, true);
                        if (rc || l->done)
                                return rc ? -rc : WAIT_ENDED;
                        streamed = run;
                } else if (v)
                        return v;
                v = wait_pod(l, pod, container, streamed);
                if (!*pod)
                        return v < 0 ? v : WAIT_ENDED;
        }
}

static bool completed(const json_t *pod) {
        const json_t *term = json_object_get(json_object_get(container_status(pod, "status-writer"), "state"),
                                             "terminated");
        return term && json_integer_value(json_object_get(term, "exitCode")) == 0;
}

/* Kratix sets IS_LAST_PIPELINE on status-writer only. */
static bool last_pipeline(const json_t *pod) {
        size_t i, j;
        json_t *c, *e;
        json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), i, c) {
                json_array_foreach(json_object_get(c, "env"), j, e) {
                        if (strcmp(str_or(e, "name", ""), "IS_LAST_PIPELINE") == 0)
                                return strcmp(str_or(e, "value", ""), "true") == 0;
                }
        }
        return false;
}

/* Follow every container of pod, then decide whether another Pod is to come:
 * not after the last pipeline, nor after a Pod that ended without completing
 * (failed or suspended Job), but after an evicted one (it is replaced). */
static int follow_pod(struct logs *l, const json_t *first) {
        json_t *pod = json_incref((json_t *)first);
        _cleanup_json_ json_t *names = pod_containers(l, pod);
        json_object_set_new(l->seen, meta_str(pod, "uid") ?: "", json_true());
        size_t i;
        json_t *n;
        int v = 0;
        json_array_foreach(names, i, n) {
                v = follow_container(l, &pod, json_string_value(n));
                if (v != WAIT_NEXT)
                        break;
        }
        if (v >= 0 && v != WAIT_ENDED && pod && !l->done)
                v = wait_pod(l, &pod, NULL, -1);
        bool evicted = pod && strcmp(str_or(json_object_get(pod, "status"), "reason", ""), "Evicted") == 0;
        if (v < 0 || !pod || (completed(pod) ? last_pipeline(pod) || l->a->pipeline : !evicted))
                l->done = true;
        json_decref(pod);
        return v < 0 ? -v : 0;
}

struct next_pod {
        const struct logs *l;
        json_t *pod;
};

static int on_new_pod(const char *type, const json_t *object, void *userdata) {
        struct next_pod *np = userdata;
        const json_t *items = strcmp(type, "RELIST") == 0 ? json_object_get(object, "items") : NULL;
        size_t i, n = items ? json_array_size(items) : 1;
        if (strcmp(type, "DELETED") == 0)
                return 0;
        for (i = 0; i < n; i++) {
                const json_t *pod = items ? json_array_get(items, i) : object;
                if (pod_of(pod, np->l->object) && !json_object_get(np->l->seen, meta_str(pod, "uid") ?: "")) {
                        np->pod = json_incref((json_t *)pod);
                        return 1;
                }
        }
        return 0;
}

/* Wait for a Pod not shown yet (the next pipeline's, or a replacement), from
 * resource version rv. New reference, or NULL after printing an error. */
static json_t *wait_next_pod(struct logs *l, const char *rv, int *rc) {
        struct next_pod np = { .l = l };
        _cleanup_free_ char *path = pods_path(l, NULL);
        struct kube_watch *kw = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error e = { 0 };
        if (kube_watch_new(l->s->client, path, rv, on_new_pod, &np, &kw, &e) < 0) {
                *rc = watch_error(&e);
                return NULL;
        }
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        if (kube_watch_run(kw, -1, &err) < 0)
                *rc = EXIT_FAILED, (void)api_error(&err);
        kube_watch_free(kw);
        return np.pod;
}

/* ---- the command ---- */

/* The resource and its Pods' selector. 0 or an exit code. */
static int find_object(struct logs *l, const struct target *t) {
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        _cleanup_free_ char *path = kube_resource_path(&t->res, l->s->namespace, t->names[0], NULL);
        int r = kube_client_get(l->s->client, path, &l->object, &err);
        if (r < 0) {
                (void)api_error(&err);
                return EXIT_FAILED;
        }
        const char *ns = meta_str(l->object, "namespace");
        l->ns = ns ? ns : l->s->namespace;
        const char *promise = label(l->object, "kratix.io/promise-name");
        l->selector = xasprintf("kratix.io/resource-name=%s%s%s%s%s", t->names[0],
                                promise ? ",kratix.io/promise-name=" : "", promise ? promise : "",
                                l->a->pipeline ? ",kratix.io/pipeline-name=" : "", l->a->pipeline ? l->a->pipeline : "");
        return 0;
}

static void no_pods(const struct logs *l) {
        _cleanup_free_ char *safe = escape_for_terminal(l->ns);
        fprintf(stderr, "No resources found in %s namespace.\n", safe);
}

static int run_logs(struct logs *l, const struct target *t) {
        int rc = find_object(l, t);
        if (rc)
                return rc;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        _cleanup_free_ char *path = pods_path(l, NULL);
        _cleanup_json_ json_t *list = NULL;
        if (kube_client_list(l->s->client, path, 500, NULL, NULL, &list, &err) < 0) {
                (void)api_error(&err);
                return EXIT_FAILED;
        }
        _cleanup_json_ json_t *pods = select_pods(l, list);
        size_t i;
        json_t *pod;
        json_array_foreach(json_object_get(list, "items"), i, pod) json_object_set_new(l->seen, meta_str(pod, "uid") ?: "",
                                                                                          json_true());
        if (json_array_size(pods) == 0 && !l->a->follow) {
                no_pods(l);
                return 0;
        }
        json_array_foreach(pods, i, pod) {
                rc = l->a->follow ? follow_pod(l, pod) : show_pod(l, pod);
                if (rc || l->done)
                        return rc ? rc : l->rc;
        }
        const char *rv = json_string_value(json_object_get(json_object_get(list, "metadata"), "resourceVersion"));
        while (l->a->follow && !l->done && !rc) {
                _cleanup_json_ json_t *next = wait_next_pod(l, rv, &rc);
                if (next)
                        rc = follow_pod(l, next);
                rv = NULL; /* a watch from the current state: every Pod seen so far is marked */
        }
        return rc ? rc : l->rc;
}

/* One option of logs' own; 1 handled, 0 not ours, -1 invalid (printed). */
static int logs_option(struct logs_args *a, int opt, const char *arg) {
        int64_t ms;
        switch (opt) {
        case 'c':
                a->container = arg;
                return 1;
        case 'f':
                a->follow = flag_true(arg);
                return 1;
        case 'p':
                a->previous = flag_true(arg);
                return 1;
        case 3100:
                a->pipeline = arg;
                return 1;
        case 3101:
                if (parse_int64(arg, -1, INT64_MAX, &a->tail) == 0)
                        return 1;
                break;
        case 3102:
                /* kubectl: a duration of at least a second, rounded up to whole seconds */
                if (parse_duration_ms(arg, &ms) == 0 && ms > 0) {
                        a->since_s = (ms + 999) / 1000;
                        return 1;
                }
                break;
        case 3103:
                a->all_runs = flag_true(arg);
                return 1;
        default:
                return kube_args_option(&a->kube, opt, arg);
        }
        _cleanup_free_ char *safe = escape_for_terminal(arg);
        usage_error("invalid argument \"%s\" for \"--%s\" flag: %s", safe, opt == 3101 ? "tail" : "since",
                    opt == 3101 ? "want a number of lines (-1: all)" : "want a duration such as 5s, 2m or 3h");
        return -1;
}

static int run_logs_command(int argc, char **argv) {
        static const struct option options[] = {
                { "container", required_argument, NULL, 'c' }, { "follow", no_argument, NULL, 'f' },
                { "previous", no_argument, NULL, 'p' },       { "pipeline", required_argument, NULL, 3100 },
                { "tail", required_argument, NULL, 3101 },    { "since", required_argument, NULL, 3102 },
                { "all-runs", no_argument, NULL, 3103 },      KUBE_ARGS_OPTIONS,
                {},
        };
        struct logs_args a = { .tail = -1 };
        int c;
        _cleanup_(flags_done) struct flags fl = { 0 };
        while ((c = flags_next(&fl, argc, argv, KUBE_ARGS_SHORT "c:fp", options)) >= 0) {
                if (c == '?')
                        return EXIT_USAGE;
                if (logs_option(&a, c, optarg) < 0)
                        return EXIT_USAGE;
        }
        if (a.kube.all_namespaces || a.kube.selector)
                return usage_error("logs takes one resource by name: TYPE/NAME, not -A or -l");
        if (optind >= argc)
                return usage_error("you must specify a resource, e.g. \"kubectl kstatus logs iam/example\"");
        _cleanup_(kube_session_close) struct kube_session s = { 0 };
        int rc = kube_session_open(&a.kube, &s);
        if (rc)
                return rc;
        _cleanup_(targets_free) struct targets ts = { 0 };
        rc = targets_parse(&s, argv + optind, argc - optind, &ts);
        if (rc)
                return rc;
        if (ts.n != 1 || ts.items[0].n_names != 1)
                return usage_error("logs takes exactly one resource: TYPE/NAME or TYPE NAME");
        _cleanup_(logs_done) struct logs l = { .a = &a, .s = &s, .seen = json_object(), .color = use_color(a.kube.color) };
        return run_logs(&l, &ts.items[0]);
}

int cmd_logs(int argc, char **argv) {
        /* As kubectl logs (and get, describe): 1 for every error, a bad flag,
         * a type discovery does not know or a log that cannot be read. */
        return run_logs_command(argc, argv) ? EXIT_FAILED : EXIT_MET;
}
