#!/usr/bin/env bash
# kstatus-sidecar health and a Promise whose API is cluster-scoped: records
# (in any namespace, resourceRef naming it and that namespace) are shown on the
# cluster-scoped resource; the start and every resync sweep such resources as
# they sweep namespaced ones: health left by records deleted while the
# controller was down, or written by someone else, is put right; an
# up-to-date cluster gets no write; with -n only records of that namespace
# count, so a cluster-scoped resource other namespaces' records name is left
# alone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-sidecar.sh"
. "$(dirname "$0")/health-lib.sh"

start_apiserver
apiserver_install_crds
health_setup
crd_doc() {
        cat <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: clusterdbs.example.promise.syntasso.io
spec:
  group: example.promise.syntasso.io
  names: {kind: ClusterDB, listKind: ClusterDBList, plural: clusterdbs, singular: clusterdb}
  scope: Cluster
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
EOF
}
crd_doc | kubectl apply -f - >/dev/null
{
        printf 'apiVersion: platform.kratix.io/v1alpha1\nkind: Promise\nmetadata: {name: clusterdb}\nspec:\n  api:\n'
        crd_doc | sed 's/^/    /'
        for n in cdb-a cdb-b cdb-c; do
                printf -- '---\napiVersion: example.promise.syntasso.io/v1\nkind: ClusterDB\nmetadata: {name: %s}\nspec: {size: small}\n' "$n"
        done
} | kubectl apply -f - >/dev/null

# chr NAME NS RNAME STATE LASTRUN: a record naming a cluster-scoped ClusterDB
# (Kratix's CRD requires resourceRef.namespace: the record's own).
chr() {
        kubectl apply -f - >/dev/null <<EOF
apiVersion: platform.kratix.io/v1alpha1
kind: HealthRecord
metadata: {name: $1, namespace: $2}
data:
  promiseRef: {name: clusterdb}
  resourceRef: {name: $3, namespace: $2}
  state: $4
  lastRun: $5
EOF
}
cdb_health() {
        kubectl get clusterdb "$1" -o json |
                jq -r '.status | "\(.healthStatus.state // "-")/\(.healthStatus.healthRecords // [] | length)/\(.healthRecord.state // "-")"'
}
CDB=/apis/example.promise.syntasso.io/v1/clusterdbs

start_health --health-status --resync=1s
chr c1 default cdb-a degraded 10
chr c2 team-a cdb-b healthy 10
wait_until "a record in default names cluster-scoped cdb-a" "degraded/1/degraded" cdb_health cdb-a
wait_until "a record in team-a names cluster-scoped cdb-b" "healthy/1/healthy" cdb_health cdb-b
is "$(kubectl get clusterdb cdb-a -o jsonpath='{.status.healthStatus.healthRecords[0].source.namespace}')" default \
        "the record's source is named with its namespace"

# --- resync: health someone else wrote on a cluster-scoped resource ------------
kubectl patch clusterdb cdb-c --subresource=status --type=merge \
        -p '{"status":{"healthRecord":{"state":"unhealthy","lastRun":1}}}' >/dev/null
kubectl patch clusterdb cdb-a --subresource=status --type=merge \
        -p '{"status":{"healthRecord":{"state":"unhealthy","lastRun":1}}}' >/dev/null
wait_until "resync: health on a cluster-scoped resource no record names is cleared" "ready/0/-" cdb_health cdb-c
wait_until "resync: a clobbered cluster-scoped resource is put back" "degraded/1/degraded" cdb_health cdb-a
wait_resyncs "two more resyncs ran" 2
apiserver_reset_counters
wait_resyncs "two resyncs over an up-to-date cluster" 2
is "$(apiserver_counters | jq '.byVerb.PATCH // 0')" 0 "resyncs over up-to-date cluster-scoped resources write nothing"
ok "and they list the cluster-scoped type" test "$(apiserver_count GET "$CDB")" -ge 2

# --- restart: a record deleted while the controller was down -------------------
stop_health TERM
kubectl delete healthrecord c1 >/dev/null
chr c3 team-a cdb-c unknown 20
apiserver_reset_counters
start_health --health-status
wait_until "restart: the record deleted while down is gone from cluster-scoped cdb-a" "ready/0/-" cdb_health cdb-a
wait_until "restart: a record added while down is shown" "unknown/1/unknown" cdb_health cdb-c
is "$(cdb_health cdb-b)" "healthy/1/healthy" "restart: an unchanged one stays"
is "$(apiserver_count PATCH "$CDB/cdb-b/status")" 0 "and is not written"

# --- -n: records of one namespace; other namespaces' cluster-scoped targets are left alone
stop_health TERM
start_health -n team-a --health-status --resync=1s
wait_resyncs "-n team-a: two resyncs" 2
is "$(cdb_health cdb-b)" "healthy/1/healthy" "-n team-a: cdb-b (its record is in team-a) still shown"
is "$(cdb_health cdb-a)" "ready/0/-" "-n team-a: cdb-a, which no record names, left as it was"
chr c1 default cdb-a degraded 30
stop_health TERM
start_health --health-status
wait_until "all namespaces again: cdb-a shows the record in default" "degraded/1/degraded" cdb_health cdb-a
stop_health TERM
apiserver_reset_counters
start_health -n team-a --health-status --resync=1s
wait_resyncs "-n team-a again: two resyncs" 2
is "$(cdb_health cdb-a)" "degraded/1/degraded" "-n team-a does not clear cluster-scoped health other namespaces' records give"
is "$(apiserver_counters | jq '.byVerb.PATCH // 0')" 0 "and writes nothing"

done_testing
