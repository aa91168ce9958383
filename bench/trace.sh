#!/usr/bin/env bash
# bench/trace.sh - `kubectl kstatus trace` of a resource with 10 Works and 30
# WorkPlacements (3 Destinations) against the kubectl commands a user would
# otherwise run to see the same (the object, its Promise, its ResourceBinding
# and PromiseRevision, Jobs, Pods, Works, WorkPlacements and Destinations, each
# listed with the label selector they would have to know), in the same run on
# the same test API server, discovery caches warm. Prints median wall time and
# API requests per run, and the ratios. Not a test: nothing fails on noise.
#
#   bench/trace.sh [RUNS]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_prepare jq curl

runs=${1:-20}
. "$root/tests/integration/lib.sh"
. "$root/tests/integration/lib-apiserver.sh"
. "$root/tests/integration/lib-sidecar.sh"
exec 3>&1 1>/dev/null # lib.sh's TAP output is not wanted here

start_apiserver
apiserver_install_crds
create_seed_objects
kubectl label iam example kratix.io/promise-name=iam >/dev/null
# 3 Destinations, 10 Works of the resource, each placed on all 3.
{
        for d in 1 2 3; do
                jq -nc --arg n "worker-$d" '{apiVersion: "platform.kratix.io/v1alpha1", kind: "Destination",
                        metadata: {name: $n}, spec: {path: $n, stateStoreRef: {kind: "GitStateStore", name: "default"}}}'
        done
        echo '{"apiVersion": "platform.kratix.io/v1alpha1", "kind": "PromiseRevision", "metadata": {"name": "iam-v1",
                "labels": {"kratix.io/promise-name": "iam"}}, "spec": {"version": "v1", "promiseRef": {"name": "iam"}, "promiseSpec": {}}}'
        echo '{"apiVersion": "platform.kratix.io/v1alpha1", "kind": "ResourceBinding", "metadata": {"name": "example-iam",
                "namespace": "default", "labels": {"kratix.io/promise-name": "iam", "kratix.io/resource-name": "example"}},
                "spec": {"version": "v1", "promiseRef": {"name": "iam"}, "resourceRef": {"name": "example", "namespace": "default"}}}'
        for w in $(seq 1 10); do
                jq -nc --arg n "iam-example-p$w" --arg p "p$w" '{apiVersion: "platform.kratix.io/v1alpha1", kind: "Work",
                        metadata: {name: $n, namespace: "default", labels: {"kratix.io/promise-name": "iam",
                          "kratix.io/resource-name": "example", "kratix.io/pipeline-name": $p, "kratix.io/work-type": "resource"}},
                        spec: {promiseName: "iam", resourceName: "example", workloadGroups: [{id: "default", directory: "."}]}}'
                for d in 1 2 3; do
                        jq -nc --arg n "iam-example-p$w.default-worker-$d" --arg w "iam-example-p$w" --arg d "worker-$d" '
                                {apiVersion: "platform.kratix.io/v1alpha1", kind: "WorkPlacement",
                                 metadata: {name: $n, namespace: "default", labels: {"kratix.io/work": $w,
                                   "kratix.io/targetDestinationName": $d}},
                                 spec: {targetDestinationName: $d, promiseName: "iam", resourceName: "example", id: "default"}}'
                done
        done
} | kubectl create -f - >/dev/null

works=$(kubectl get works -l kratix.io/promise-name=iam,kratix.io/resource-name=example -o jsonpath='{.items[*].metadata.name}')
# What a user runs instead of trace.
by_hand() {
        local sel=kratix.io/resource-name=example,kratix.io/promise-name=iam
        kubectl get iam example -o yaml
        kubectl get promise iam
        kubectl get resourcebindings -l kratix.io/promise-name=iam,kratix.io/resource-name=example
        kubectl get promiserevisions -l kratix.io/promise-name=iam
        kubectl get jobs -l "$sel"
        kubectl get pods -l "$sel"
        kubectl get works -l "$sel"
        kubectl get workplacements -l "kratix.io/work in (${works// /,})"
        kubectl get destinations
}

# measure CMD... → "median_ms requests_per_run" (discovery caches warmed by a first run).
measure() {
        local i t0 t1 times=() reqs
        "$@" >/dev/null 2>&1
        apiserver_reset_counters
        for i in $(seq 1 "$runs"); do
                t0=${EPOCHREALTIME/./}
                "$@" >/dev/null 2>&1 || true
                t1=${EPOCHREALTIME/./}
                times+=($((t1 - t0)))
        done
        reqs=$(apiserver_counters | jq -r .total)
        printf '%s %s\n' "$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1000 }')" \
                "$(awk -v r="$reqs" -v n="$runs" 'BEGIN { printf "%.1f", r / n }')"
}

read -r t_ms t_req < <(measure kubectl-kstatus trace iam/example)
read -r tk_ms _ < <(measure kubectl kstatus trace iam/example)
read -r h_ms h_req < <(measure by_hand)

row() { printf '%-66s %10s %10s %8s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }
exec 1>&3
printf '%-66s %10s %10s %8s\n' "metric ($runs runs, median; 10 Works, 30 WorkPlacements)" kstatus kubectl ratio
row "trace vs 9 kubectl commands: wall (ms)" "$t_ms" "$h_ms"
row "trace via kubectl's plugin exec vs 9 kubectl commands: wall (ms)" "$tk_ms" "$h_ms"
row "trace vs 9 kubectl commands: API requests per run" "$t_req" "$h_req"
