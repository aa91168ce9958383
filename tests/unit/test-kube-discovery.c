/* Name resolution as kubectl does it, on a fixed discovery document
 * (tests/data/kubeconfig/discovery-resources.json: core, apps, two groups
 * serving "databases", a short name claimed twice, a group whose preferred
 * version is not the first it lists). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "kube/discovery.h"
#include "util.h"

static json_t *resources(void) {
        char *path = xasprintf("%s/kubeconfig/discovery-resources.json", getenv("KSTATUS_TEST_DATA"));
        json_error_t e;
        json_t *doc = json_load_file(path, 0, &e);
        cr_assert_not_null(doc, "%s: %s", path, e.text);
        free(path);
        return doc;
}

static void resolves(const char *arg, const char *group, const char *version, const char *resource,
                     bool namespaced, const char *warning) {
        json_t *doc = resources();
        struct kube_resource r = { 0 };
        char *w = NULL;
        cr_assert_eq(kube_discovery_resolve_in(doc, arg, &r, &w), 0, "\"%s\" did not resolve", arg);
        cr_assert_str_eq(r.group, group, "%s", arg);
        cr_assert_str_eq(r.version, version, "%s", arg);
        cr_assert_str_eq(r.resource, resource, "%s", arg);
        cr_assert_eq(r.namespaced, namespaced, "%s", arg);
        if (warning)
                cr_assert(w && strcmp(w, warning) == 0, "%s: warning \"%s\", want \"%s\"", arg, w ? w : "(none)",
                          warning);
        else
                cr_assert_null(w, "%s: unexpected warning \"%s\"", arg, w);
        free(w);
        kube_resource_done(&r);
        json_decref(doc);
}

static void unknown(const char *arg) {
        json_t *doc = resources();
        struct kube_resource r = { 0 };
        cr_assert_eq(kube_discovery_resolve_in(doc, arg, &r, NULL), -ENOENT, "\"%s\" resolved", arg);
        json_decref(doc);
}

#define G "example.promise.syntasso.io"

Test(discovery, every_way_kubectl_names_a_resource) {
        resolves("databases", G, "v1", "databases", true, NULL);
        resolves("database", G, "v1", "databases", true, NULL);
        resolves("Database", G, "v1", "databases", true, NULL);
        resolves("DATABASES", G, "v1", "databases", true, NULL);
        resolves("databases." G, G, "v1", "databases", true, NULL);
        resolves("database." G, G, "v1", "databases", true, NULL);
        resolves("database.v1." G, G, "v1", "databases", true, NULL);
        resolves("databases.v1alpha1." G, G, "v1alpha1", "databases", true, NULL);
}

Test(discovery, core_and_apps) {
        resolves("pods", "", "v1", "pods", true, NULL);
        resolves("po", "", "v1", "pods", true, NULL);
        resolves("Pod", "", "v1", "pods", true, NULL);
        resolves("namespaces", "", "v1", "namespaces", false, NULL);
        resolves("ns", "", "v1", "namespaces", false, NULL);
        resolves("deploy", "apps", "v1", "deployments", true, NULL);
        resolves("deployments.apps", "apps", "v1", "deployments", true, NULL);
        resolves("deployment.v1.apps", "apps", "v1", "deployments", true, NULL);
}

Test(discovery, first_group_in_discovery_order_wins) {
        /* Both groups serve "databases": kubectl's priority mapper takes the
         * first group /apis lists, and its preferred version. */
        resolves("databases", G, "v1", "databases", true, NULL);
        resolves("databases.other.example.com", "other.example.com", "v2", "databases", false, NULL);
        /* A short name claimed twice: the first wins, with kubectl's warning. */
        resolves("db", G, "v1", "databases", true,
                 "short name \"db\" could also match lower priority resource databases.other.example.com");
        /* Within a group, a short name only matches that group. */
        resolves("db.other.example.com", "other.example.com", "v2", "databases", false, NULL);
}

Test(discovery, preferred_version_first) {
        /* widgets.tools.example.com lists v1beta1 first but prefers v1. */
        resolves("widgets", "tools.example.com", "v1", "widgets", true, NULL);
        resolves("widgets.v1beta1.tools.example.com", "tools.example.com", "v1beta1", "widgets", true, NULL);
}

Test(discovery, unknown_names) {
        unknown("foo");
        unknown("databases.nowhere.example.com");
        unknown("database.v9." G);
        unknown("pods/status"); /* subresources are not resource types */
        unknown("");
}

Test(discovery, paths) {
        struct kube_resource db = { .group = "example.promise.syntasso.io", .version = "v1", .resource = "databases",
                                    .namespaced = true };
        struct kube_resource ns = { .group = "", .version = "v1", .resource = "namespaces", .namespaced = false };
        char *p = kube_resource_path(&db, "team-a", "x", "status");
        cr_assert_str_eq(p, "/apis/example.promise.syntasso.io/v1/namespaces/team-a/databases/x/status");
        free(p);
        p = kube_resource_path(&db, NULL, NULL, NULL);
        cr_assert_str_eq(p, "/apis/example.promise.syntasso.io/v1/databases", "all namespaces");
        free(p);
        p = kube_resource_path(&ns, "ignored", "kube system", NULL);
        cr_assert_str_eq(p, "/api/v1/namespaces/kube%20system", "cluster-scoped; names escaped");
        free(p);
        p = kube_resource_qualified(&db);
        cr_assert_str_eq(p, "databases.example.promise.syntasso.io");
        free(p);
        p = kube_resource_qualified(&ns);
        cr_assert_str_eq(p, "namespaces");
        free(p);
}
