#!/usr/bin/env bash
# kubectl kstatus wait against the test API server: kubectl's messages, watches
# (no polling), --any, fail fast and the exit codes of docs/BEHAVIOUR.md §8.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
cd "$TEST_TMP" || exit 1
start_apiserver || exit 1
apiserver_install_crds
for n in a b; do
        kubectl create -f - >/dev/null <<EOT
apiVersion: example.promise.syntasso.io/v1
kind: Database
metadata: {name: $n, namespace: default}
spec: {}
EOT
done
status() { kubectl patch db "$1" --subresource=status --type merge -p "{\"status\":$2}" >/dev/null; }
cond() { # TYPE STATUS REASON MESSAGE [observedGeneration]
        printf '{"type":"%s","status":"%s","reason":"%s","message":"%s","lastTransitionTime":"2024-08-21T10:30:51Z"%s}' \
                "$1" "$2" "$3" "$4" "${5:+,\"observedGeneration\":$5}"
}
DB=/apis/example.promise.syntasso.io/v1/namespaces/default/databases

# bg_wait OUT ARGS...: "kubectl kstatus wait ARGS" in the background (pid in
# $bg, output in OUT), returning once it provably waits: its LIST and its watch
# of the collection were answered and it is still running. A change made then
# can only be seen through the watch.
bg_wait() {
        local out=$1 mark
        shift
        mark=$(apiserver_mark)
        kubectl kstatus wait "$@" >"$out" 2>&1 &
        bg=$!
        apiserver_wait_access "$mark" 2 GET "$DB" && kill -0 "$bg"
}

status a "{\"message\":\"Resource requested\",\"conditions\":[$(cond ConfigureWorkflowCompleted True PipelinesExecutedSuccessfully 'Pipelines completed')]}"
is "$(kubectl kstatus wait db/a --for=condition=ConfigureWorkflowCompleted 2>&1)" \
        "database.example.promise.syntasso.io/a condition met" "a met condition: kubectl's message, at once"
is "$(kubectl kstatus wait db/a --for=condition=ConfigureWorkflowCompleted 2>&1)" \
        "$(kubectl wait db/a --for=condition=ConfigureWorkflowCompleted 2>&1)" "the same words as kubectl wait"
ok "--for=message=TEXT" kubectl kstatus wait db/a --for=message="Resource requested" --timeout=1s

out=$(kubectl kstatus wait db/b --for=condition=ConfigureWorkflowCompleted --timeout=1s 2>&1); rc=$?
is "$rc" 1 "a timeout exits 1"
is "$out" "error: timed out waiting for the condition on databases/b" "the timeout message is kubectl's"
is "$out" "$(kubectl wait db/b --for=condition=ConfigureWorkflowCompleted --timeout=1s 2>&1 | grep -v '^W')" \
        "the same words as kubectl wait on timeout"

# A change while waiting arrives through the watch: one LIST and one watch, no polling.
apiserver_reset_counters
bg_wait wait.out db/b --for=condition=ConfigureWorkflowCompleted --timeout=20s
is "$?" 0 "an unmet condition keeps it waiting"
start=$(date +%s%N)
status b "{\"conditions\":[$(cond ConfigureWorkflowCompleted True PipelinesExecutedSuccessfully "done")]}"
wait "$bg"
rc=$?
took=$((($(date +%s%N) - start) / 1000000))
is "$rc:$(cat wait.out)" "0:database.example.promise.syntasso.io/b condition met" "met when the condition changes"
is "$(apiserver_count GET $DB)" 2 "two requests on the collection while waiting: the LIST and the watch"
like "$took" '^[0-9]+$' "took ${took} ms after the change"

# Fail fast when the workflow fails.
status b "{\"conditions\":[$(cond ConfigureWorkflowCompleted False PipelinesInProgress 'Pipelines are still in progress')]}"
start=$(date +%s)
bg_wait wait.out db/b --for=condition=ConfigureWorkflowCompleted --timeout=60s
is "$?" 0 "a workflow in progress keeps it waiting"
status b "{\"conditions\":[$(cond ConfigureWorkflowCompleted False ConfigureWorkflowFailed 'A Configure Pipeline has failed: populate-vault')]}"
wait "$bg"
is "$?" 3 "a failed workflow exits 3"
is "$(cat wait.out)" "error: the workflow of databases/b failed: A Configure Pipeline has failed: populate-vault" "and says where it failed"
is "$(( $(date +%s) - start < 10 ))" 1 "without waiting out the 60 s timeout"
ok "waiting for the failure itself is not failed fast" \
        kubectl kstatus wait db/b --for=condition=ConfigureWorkflowCompleted=False --timeout=1s

# AND by default, OR with --any; several resources.
status a '{"healthStatus":{"state":"healthy"}}'
fails_with 1 "two --for are AND: one unmet times out" kubectl kstatus wait db/a --for=health=healthy --for=message=nope --timeout=1s
ok "--any: one --for is enough" kubectl kstatus wait db/a --for=health=healthy --for=message=nope --any --timeout=1s
status b '{"conditions":null,"healthStatus":{"state":"healthy"}}'
is "$(kubectl kstatus wait db a b --for=health=healthy 2>&1 | sort)" \
        "$(printf 'database.example.promise.syntasso.io/a condition met\ndatabase.example.promise.syntasso.io/b condition met')" \
        "several names: one line each"
is "$(kubectl kstatus wait db/a database/b --for=health=healthy 2>&1 | wc -l)" 2 "TYPE/NAME forms"

# Kratix's status.observedGeneration (top level): while it is older than the
# spec's generation, a condition does not count; a per-condition one is not read.
kubectl patch db a --type merge -p '{"spec":{"size":"20Gi"}}' >/dev/null
is "$(kubectl get db a -o jsonpath='{.metadata.generation}')" 2 "the spec change made generation 2"
status a "{\"observedGeneration\":1,\"conditions\":[$(cond Ready True Ok ok)]}"
fails_with 1 "a stale status.observedGeneration blocks the condition" kubectl kstatus wait db/a --for=condition=Ready --timeout=1s
status a "{\"observedGeneration\":1,\"conditions\":[$(cond Ready True Ok ok 2)]}"
fails_with 1 "a condition's own observedGeneration does not make it current" kubectl kstatus wait db/a --for=condition=Ready --timeout=1s
status a '{"observedGeneration":2}'
is "$(kubectl kstatus wait db/a --for=condition=Ready --timeout=1s 2>&1)" "database.example.promise.syntasso.io/a condition met" \
        "the condition counts once Kratix records the current generation"
status a "{\"observedGeneration\":null,\"conditions\":[$(cond Ready True Ok ok 1)]}"
ok "without status.observedGeneration the condition counts" kubectl kstatus wait db/a --for=condition=Ready --timeout=1s

# Deletion.
bg_wait wait.out db/b --for=delete --timeout=20s
is "$?" 0 "--for=delete keeps waiting while the object exists"
kubectl delete db b >/dev/null
wait "$bg"
is "$?:$(cat wait.out)" "0:database.example.promise.syntasso.io/b condition met" "--for=delete is met when the object goes"
is "$(kubectl kstatus wait db/b --for=delete 2>&1; echo "rc=$?")" "rc=0" "--for=delete on what does not exist: met, silently (as kubectl)"

# A server that stalls every read: --timeout still ends the wait on time, as kubectl's does.
apiserver_fault "{\"verb\":\"GET\",\"path\":\"$DB\",\"latencyMs\":10000}"
start=$(date +%s%N)
out=$(timeout 30 kubectl kstatus wait db/a --for=condition=Never --timeout=3s 2>&1); rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
apiserver_clear_faults
is "$rc" 1 "a stalled read ends in a timeout, exit 1"
is "$out" "error: timed out waiting for the condition on databases/a" "a stalled read: kubectl's timeout message"
is "$(( ms >= 2900 && ms < 4500 ))" 1 "--timeout=3s against a stalled read returns at about 3 s (took $ms ms)"

# Usage and API errors.
out=$(kubectl kstatus wait db/nope --for=condition=Ready 2>&1); rc=$?
is "$rc:$out" '4:Error from server (NotFound): databases.example.promise.syntasso.io "nope" not found' "a missing object exits 4 with kubectl's NotFound"
fails_with 2 "no --for is a usage error" kubectl kstatus wait db/a
fails_with 2 "a bad --for is a usage error" kubectl kstatus wait db/a --for=bogus
fails_with 2 "a bad health state is a usage error" kubectl kstatus wait db/a --for=health=fine
fails_with 2 "a bad --timeout is a usage error" kubectl kstatus wait db/a --for=delete --timeout=soon
is "$(kubectl kstatus wait db -l team=none --for=condition=Ready 2>&1; echo "rc=$?")" \
        "$(printf 'error: no matching resources found\nrc=1')" "no match for a selector, as kubectl"
fails_with 4 "an unknown type exits 4" kubectl kstatus wait frobs/x --for=delete
done_testing
