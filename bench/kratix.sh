#!/usr/bin/env bash
# bench/kratix.sh - kstatus beside Kratix, counted: RUNS runs of the seed's two
# pipelines, each through the Kratix stand-in (tests/kratix/kratix.sh: Kratix's
# controller, the Pod's reader, work-writer and status-writer with its GET,
# shallow merge and PUT) with kstatus-sidecar injected, every pipeline writing
# status.yaml every 50 ms before its final file. For every run, from the
# stand-in's write log and every version of the resource (a watch), it counts:
#   - status-writer PUTs answered 409 (a write landed in its GET->PUT window:
#     in this flow no other writer runs then, so each is kstatus's),
#   - change-backs: a write that sets a key or condition back to a value after
#     another writer replaced it, except the two the design expects (the final
#     write's repair of what status-writer's shallow merge dropped, and
#     Kratix's reset of message to Pending at each pipeline start),
#   - kstatus writes to anything Kratix owns (conditions, status.kratix, counters),
#   - whether the final status is exactly the seed's.
# Prints one line per figure and a summary. Not a test: CI runs it small
# through tests/integration/kratix-runs.sh.
#
#   bench/kratix.sh [RUNS] [PARALLEL]     (default 200 runs, 2 at a time)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
runs=${1:-200}
parallel=${2:-2}
# A test runs it small on its own build (KSTATUS_BUILD_DIR set): use that one.
if [ -z "${KSTATUS_BUILD_DIR:-}" ]; then
        bench_prepare jq curl
else
        export KSTATUS_SOURCE_DIR=$root KSTATUS_TEST_DATA=$root/tests/data
fi
. "$root/tests/integration/lib.sh"
. "$root/tests/integration/lib-apiserver.sh"
. "$root/tests/integration/lib-sidecar.sh"
. "$root/tests/kratix/kratix.sh"
set +eu # the test library is written for scripts without them

start_apiserver --access-log "$TEST_TMP/access.log" >&2 || die "the test API server did not start"
apiserver_install_crds
kubectl apply -f "$KSTATUS_TEST_DATA/seed/promise.yaml" >/dev/null
seed=$KSTATUS_TEST_DATA/seed
pipe() { # FILE: a pipeline container writing every 50 ms, then FILE
        # shellcheck disable=SC2028 # the \n is for the printf in the script this prints
        echo "for i in 1 2 3 4 5; do printf 'message: %s step %s\n' \$KRATIX_PIPELINE_NAME \$i >\"\$METADATA/status.yaml\"; sleep 0.05; done
              cp '$1' \"\$METADATA/status.yaml\""
}

# run_one I: one run on resource kx-I; writes $TEST_TMP/runs/I/result.json.
run_one() {
        local name dir
        name=$(printf 'kx-%04d' "$1")
        dir=$TEST_TMP/runs/$1
        mkdir -p "$dir"
        kubectl create -f - >/dev/null <<EOF
apiVersion: example.promise.syntasso.io/v1
kind: IAM
metadata: {name: $name, namespace: default}
spec: {team: bench}
EOF
        kubectl get iam "$name" -w -o json >"$dir/versions.json" 2>/dev/null &
        local watch=$!
        export KX_DIR=$dir/kx
        kx_init
        KX_SIDECAR=$KSTATUS_BUILD_DIR/sidecar/kstatus-sidecar KX_PIPELINES="create-user populate-vault"
        kx_resource default iams "$name"
        kx_configure "$(pipe "$seed/create-user.status.yaml")" "$(pipe "$seed/populate-vault.status.yaml")"
        local rc=$? rv i
        rv=$(kubectl get iam "$name" -o jsonpath='{.metadata.resourceVersion}')
        for i in $(seq 1 200); do
                jq -e --arg rv "$rv" 'select(.metadata.resourceVersion == $rv)' "$dir/versions.json" >/dev/null 2>&1 && break
                sleep 0.05
        done
        kill "$watch" 2>/dev/null
        local report status
        report=$({ cat "$dir/versions.json"
                   awk '$5 != "-" { print $5 }' "$KX_DIR/writes.log" | jq -Rsc '{kratix_rvs: (split("\n") | map(select(. != "")))}'
                 } | jq -nc -f "$root/tests/kratix/writers.jq")
        status=$(kubectl get iam "$name" -o json | jq -c .status)
        jq -nc --argjson r "$report" --argjson s "$status" --argjson rc "$rc" \
                --argjson c409 "$(awk '$1 == "status-writer" && $2 == "PUT" && $4 == 409' "$KX_DIR/writes.log" | wc -l)" \
                --argjson sidecar_rcs "$(cat "$KX_DIR"/pods/*/sidecar.rc | jq -sc .)" '
                {rc: $rc, sw409: $c409, sidecar_rcs: $sidecar_rcs,
                 versions: $r.versions, kstatus_writes: $r.kstatus_writes, kratix_writes: $r.kratix_writes,
                 owned: ($r.kstatus_condition_changes + $r.kstatus_kratix_key_changes | length),
                 change_backs: [$r.change_backs[]
                   | select((.writer == "kstatus" and .path == ["iam", "user"]) | not)
                   | select((.writer == "kratix" and .path == ["message"] and .value == "Pending") | not)],
                 repairs: [$r.change_backs[] | select(.writer == "kstatus" and .path == ["iam", "user"])] | length,
                 exact: (($s | {iam, message}) == {iam: {user: "admin", password: "<vault-ref>"},
                           message: "User created and vault secret created"}
                         and ([$s.conditions[] | select(.type == "ConfigureWorkflowCompleted" and .status == "True")] | length) == 1
                         and ([$s.conditions[] | select(.type == "Reconciled" and .status == "True")] | length) == 1
                         and ([$s.conditions[] | keys | length] | unique) == [5])}' >"$dir/result.json"
}

t0=$SECONDS
for ((i = 1; i <= runs; i++)); do
        run_one "$i" &
        while [ "$(jobs -rp | wc -l)" -ge $((parallel + 1)) ]; do wait -n; done   # +1: the API server
done
wait_runs() { local p; for p in $(jobs -rp); do [ "$p" = "$APISERVER_PID" ] || wait "$p"; done; }
wait_runs
elapsed=$((SECONDS - t0))

cat "$TEST_TMP"/runs/*/result.json | jq -s --argjson elapsed "$elapsed" '{
        runs: length,
        completed: [.[] | select(.rc == 0)] | length,
        exact: [.[] | select(.exact)] | length,
        status_writer_409: ([.[].sw409] | add),
        change_backs: ([.[].change_backs | length] | add),
        change_back_examples: ([.[].change_backs[]] | unique | .[:5]),
        kstatus_writes_to_kratix_keys: ([.[].owned] | add),
        repairs_of_status_writer_shallow_merge: ([.[].repairs] | add),
        sidecar_exits_nonzero: ([.[].sidecar_rcs[] | select(. != 0)] | length),
        kstatus_writes_per_run: (([.[].kstatus_writes] | add) / length),
        kratix_writes_per_run: (([.[].kratix_writes] | add) / length),
        seconds: $elapsed}' >"$TEST_TMP/summary.json"
cat "$TEST_TMP/summary.json"
jq -r '"\(.runs) runs: final state exact in \(.exact) of \(.runs); status-writer 409s \(.status_writer_409); change-backs \(.change_backs); kstatus writes to Kratix-owned keys \(.kstatus_writes_to_kratix_keys); repairs \(.repairs_of_status_writer_shallow_merge); \(.seconds) s"' "$TEST_TMP/summary.json"
