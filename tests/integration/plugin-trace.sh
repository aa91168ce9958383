#!/usr/bin/env bash
# kubectl kstatus trace (and describe's Placement section) beside the Kratix
# stand-in: Works, WorkPlacements and Destinations as Kratix's scheduler and
# controllers write them; real kubectl is the oracle for what exists.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-sidecar.sh"
. "$(dirname "$0")/lib-kratix.sh"

kratix_setup "$@" || { echo "# setup failed"; exit 1; }
KX_SIDECAR= # the sidecar is not what is traced
GOLDEN=$KSTATUS_SOURCE_DIR/tests/data/trace
{ kx_destination worker-1 && kx_destination worker-2; } || { echo "# destinations failed"; exit 1; }

# golden NAME GOT DESCRIPTION: as plugin-describe.sh (KSTATUS_UPDATE_GOLDEN rewrites, and fails once).
golden() {
        if [ -n "${KSTATUS_UPDATE_GOLDEN:-}" ] && [ "$2" != "$(cat "$GOLDEN/$1" 2>/dev/null)" ]; then
                mkdir -p "$GOLDEN"
                printf '%s\n' "$2" >"$GOLDEN/$1"
                _tap_result 1 "$3" "$1 updated: review the diff, then run again without KSTATUS_UPDATE_GOLDEN"
                return
        fi
        is "$2" "$(cat "$GOLDEN/$1")" "$3"
}
# Job and Pod names end in random hashes: fixed for the goldens.
stable() { sed -E 's/-[0-9a-f]{5}(-[0-9a-f]{5})?\b/-xxxxx\1/g; s/-xxxxx-[0-9a-f]{5}/-xxxxx-xxxxx/g'; }

# new_iam NAME: an IAM of the seed's Promise, the stand-in pointed at it and labelled as Kratix labels it.
new_iam() {
        kubectl get iam "$1" >/dev/null 2>&1 || kubectl create -f - >/dev/null <<EOT || return 1
apiVersion: example.promise.syntasso.io/v1
kind: IAM
metadata: {name: $1, namespace: default}
spec: {team: platform}
EOT
        kx_resource default iams "$1"
        kx_promise_label
}
# writes_output MESSAGE: a pipeline that reports MESSAGE and writes a manifest to /kratix/output.
writes_output() {
        printf '%s' "printf 'message: %s\n' '$1' >\"\$METADATA/status.yaml\"
                printf 'kind: ConfigMap\napiVersion: v1\nmetadata: {name: %s}\n' \"\$KRATIX_PIPELINE_NAME\" >\"\$OUTPUT/cm.yaml\""
}
trace_rc() { kubectl kstatus trace "$@" >/dev/null 2>&1; echo $?; }

# The revision example is bound to (Kratix's ResourceBinding and PromiseRevision).
kubectl create -f - >/dev/null <<'EOT' || echo "# binding failed"
apiVersion: platform.kratix.io/v1alpha1
kind: PromiseRevision
metadata: {name: iam-v0.1.0, labels: {kratix.io/promise-name: iam}}
spec: {version: v0.1.0, promiseRef: {name: iam}, promiseSpec: {}}
---
apiVersion: platform.kratix.io/v1alpha1
kind: ResourceBinding
metadata: {name: example-iam, namespace: default, labels: {kratix.io/promise-name: iam, kratix.io/resource-name: example}}
spec: {version: v0.1.0, promiseRef: {name: iam}, resourceRef: {name: example, namespace: default}}
EOT

# ---- a healthy resource on two Destinations ----
KX_DESTINATIONS="worker-1 worker-2"
new_iam example && kx_configure "$(seed_pipeline 1)" "$(seed_pipeline 2)"
is "$?" 0 "the stand-in ran the seed's workflow"
out=$(kubectl kstatus trace iam/example)
is "$?" 0 "trace of a healthy resource exits 0"
golden healthy.txt "$(stable <<<"$out")" "trace matches the plain golden (tests/data/trace/healthy.txt)"
golden healthy.color.txt "$(kubectl kstatus trace iam/example --color=always | stable)" "--color=always matches the colour golden"
is "$(grep -c $'\033' <<<"$out")" 0 "no colour off a terminal"
json=$(kubectl kstatus trace iam/example -o json)
is "$(jq -r '[.. | objects | select(.kind == "WorkPlacement") | .name] | sort | join(" ")' <<<"$json")" \
        "$(kubectl get workplacements -l kratix.io/promise-name=iam -o jsonpath='{.items[*].metadata.name}' | tr ' ' '\n' |
           grep '^iam-example-' | sort | tr '\n' ' ' | sed 's/ $//')" \
        "-o json: every WorkPlacement kubectl lists for the resource's Works"
is "$(jq -r '[.root.children[] | select(.kind == "Work") | .children[] | .children[0] | .name + ":" + .status] | join(" ")' <<<"$json")" \
        "worker-1:Ready worker-2:Ready worker-1:Ready worker-2:Ready" "-o json: each Work on both Destinations, Ready"
is "$(jq -r '[.kind, .status, (.output|tostring), (.failing|length|tostring)] | join(" ")' <<<"$json")" "Trace Ready true 0" \
        "-o json: the documented top level"
like "$(stable <<<"$out")" 'Promise/iam +Ready +
│  └─ PromiseRevision/iam-v0.1.0 +Ready +Bound: version v0.1.0, bound by its ResourceBinding' "the Promise and the revision the resource is bound to"
is "$(jq -r '[.root.children[] | select(.kind == "Pipeline")][0] | [.children[0].children[0].children[] | .name] | join(" ")' <<<"$json")" \
        "reader pipeline work-writer status-writer" "-o json: each Pod's containers in the order they ran"
like "$(kubectl kstatus trace iam/example -o wide)" 'NAME +STATUS +AGE +GENERATION +ID +MESSAGE' "-o wide adds age, generation and id"
like "$(kubectl kstatus trace iam/example -o wide)" 'WorkPlacement/iam-example-create-user.default-worker-1 +Ready +[0-9]+s +1 +default ' \
        "-o wide: a WorkPlacement's work generation and workload group id"
is "$(kubectl kstatus trace iam/example -o yaml | grep -c '^kind: Trace')" 1 "-o yaml prints the same model"
desc=$(kubectl kstatus describe iam/example)
like "$desc" $'Placement:\n +DESTINATION +STATUS +WORK +MESSAGE' "describe has a Placement section"
is "$(grep -cE '^  worker-[12] +Ready +iam-example-' <<<"$desc")" 4 "describe: each Destination the Works landed on, Ready"

# Requests: one GET each of the object and its Promise, one LIST per kind.
apiserver_reset_counters
kubectl kstatus trace iam/example >/dev/null
is "$(apiserver_counters | jq -r .total)" 9 \
        "trace makes 9 requests: the object, its Promise, and one LIST each of 7 kinds"
is "$(apiserver_counters | jq -r '[.requests | keys[] | select(test("^GET /apis?$|^GET /apis/[^/]+/[^/]+$|^GET /api/v1$"))] | length')" 0 \
        "no discovery requests on a warm cache"

# ---- one placement failing ----
KX_WRITE_FAIL=("worker-2=git push: remote rejected (permission denied)")
new_iam failing && kx_configure "$(writes_output "made")"
out=$(kubectl kstatus trace iam/failing)
is "$?" 3 "a failing placement: exit 3"
golden failing.txt "$(stable <<<"$out")" "the failing placement matches its golden"
like "$out" 'Failing:
  IAM/failing > Work/iam-failing-create-user > WorkPlacement/iam-failing-create-user.default-worker-2: Failed: WorkloadsFailedWrite: git push: remote rejected \(permission denied\)' \
        "the path to the failing WorkPlacement with its message"
like "$(kubectl kstatus describe iam/failing)" 'worker-2 +Failed +iam-failing-create-user +WorkloadsFailedWrite: git push: remote rejected' \
        "describe calls out the failing placement with its message"
KX_WRITE_FAIL=()

# ---- a misplaced Work ----
KX_MISPLACED=worker-2
new_iam misplaced && kx_configure "$(writes_output "made")"
out=$(kubectl kstatus trace iam/misplaced)
is "$?" 3 "a misplaced Work: exit 3"
like "$out" 'WorkPlacement/iam-misplaced-create-user.default-worker-2 +Misplaced +DestinationSelectorMismatch: Target destination no longer matches destinationSelectors' \
        "the misplaced WorkPlacement (kratix.io/misplaced) with Kratix's reason"
like "$out" 'Work/iam-misplaced-create-user +Misplaced' "its Work is Misplaced, as Kratix's scheduler says"
is "$(kubectl kstatus trace iam/misplaced -o json | jq -c '[.failing[] | .path[-1]]')" \
        '["WorkPlacement/iam-misplaced-create-user.default-worker-2"]' "-o json: the misplaced placement is the failing node"
KX_MISPLACED=

# ---- a Destination that is not ready ----
kx_destination worker-3 StateStoreNotFound "GitStateStore/default: not found"
KX_DESTINATIONS="worker-1 worker-3"
new_iam unready && kx_configure "$(writes_output "made")"
out=$(kubectl kstatus trace iam/unready)
is "$?" 3 "a Destination that is not ready: exit 3"
like "$out" 'Destination/worker-3 +Failed +StateStoreNotFound: GitStateStore/default: not found' "the Destination's readiness and why"
like "$(kubectl kstatus describe iam/unready)" 'worker-3 +Failed +iam-unready-create-user +StateStoreNotFound: GitStateStore/default: not found' \
        "describe: the Destination that is not ready"
KX_DESTINATIONS="worker-1 worker-2"

# ---- no output ----
new_iam quiet && kx_configure "printf 'message: nothing to write\n' >\"\$METADATA/status.yaml\""
out=$(kubectl kstatus trace iam/quiet)
is "$?" 0 "no output is no failure"
like "$out" 'No output: the pipelines wrote nothing to /kratix/output' "trace says the pipelines wrote nothing"
like "$(kubectl kstatus describe iam/quiet)" 'Placement: +none: the pipelines wrote nothing to /kratix/output' \
        "describe says so too"

# ---- a failed pipeline: the container, then the Job ----
new_iam broken
rm -f "$TEST_TMP/go" "$TEST_TMP/go.held"
KX_BACKOFF_LIMIT=0 KX_HOLD_FAILED=$TEST_TMP/go kx_configure "echo 'vault: connection refused' >&2; exit 3" &
cfg=$!
poll 60 test -e "$TEST_TMP/go.held"
out=$(kubectl kstatus trace iam/broken)
is "$?" 3 "a container that failed for good: exit 3"
like "$out" 'Failing:
  IAM/broken > Pipeline/create-user > Job/kratix-iam-broken-create-user-[0-9a-f]{5} > Pod/kratix-iam-broken-create-user-[0-9a-f]{5}-[0-9a-f]{5} > Container/pipeline: Failed: CrashLoopBackOff: Error \(exit code 3\), restarts: 1' \
        "trace points at the container, with its exit code"
golden broken.txt "$(stable <<<"$out")" "the failed container matches its golden"
touch "$TEST_TMP/go"
wait "$cfg"
out=$(kubectl kstatus trace iam/broken)
is "$?" 3 "once the Job failed: exit 3"
like "$out" 'Job/kratix-iam-broken-create-user-[0-9a-f]{5} +Failed +BackoffLimitExceeded: Job has reached the specified backoff limit; its Pods are gone' \
        "the Job's failure, and that its Pods are gone"
like "$out" 'IAM/broken +Failed +ConfigureWorkflowFailed: failed in pipeline create-user' "the resource failed, in Kratix's words"

# ---- pipelines in another namespace (pipelineNamespace) ----
kubectl create namespace pipelines >/dev/null
kubectl patch promise iam --type merge -p '{"spec":{"workflows":{"config":{"pipelineNamespace":"pipelines"}}}}' >/dev/null
new_iam elsewhere && KX_PIPELINE_NS=pipelines kx_configure "$(writes_output "made")"
json=$(kubectl kstatus trace iam/elsewhere -o json)
is "$(jq -r '[.. | objects | select(.kind == "Job" or .kind == "Work") | .namespace] | unique | join(" ")' <<<"$json")" "pipelines" \
        "Jobs and Works found in the Promise's pipelineNamespace"
is "$(jq -r '.status' <<<"$json")" Ready "and all Ready"
is "$(kubectl kstatus describe iam/elsewhere | grep -c '^Placement:')" 0 \
        "describe does not claim \"no output\" when the pipelines ran in another namespace"
kubectl patch promise iam --type json -p '[{"op":"remove","path":"/spec/workflows/config"}]' >/dev/null

# ---- a Promise's own workflow and its Works ----
kubectl create namespace kratix-platform-system >/dev/null
(
        KX_WORKFLOW_TYPE=promise KX_PIPELINES=promise-configure
        kx_resource "" promises iam
        kx_configure "$(writes_output "promise ready")"
) || echo "# the promise workflow failed"
json=$(kubectl kstatus trace promise/iam -o json)
is "$(jq -r '[.root.children[] | .kind + "/" + .name + "@" + (.namespace // "")] | join(" ")' <<<"$json" | stable)" \
        "Pipeline/promise-configure@ Work/iam-promise-configure@kratix-platform-system" \
        "trace promise/NAME: the promise workflow's pipeline and its Work, in kratix-platform-system"
is "$(jq -r '[.. | objects | select(.kind == "Destination") | .name] | join(" ")' <<<"$json")" "worker-1 worker-2" \
        "and where it was placed"
is "$(kubectl get works -n kratix-platform-system -l kratix.io/promise-name=iam,kratix.io/work-type=promise -o name)" \
        "work.platform.kratix.io/iam-promise-configure" "kubectl finds the same Work by Kratix's labels"

# ---- hostile strings ----
KX_WRITE_FAIL=($'worker-2=evil \033]0;pwned\007\033[2J message\u202e')
new_iam hostile && kx_configure "printf 'message: \"\\\\e[31mred\\\\u202e\"\n' >\"\$METADATA/status.yaml\"; echo x >\"\$OUTPUT/x.yaml\""
KX_WRITE_FAIL=()
out=$(kubectl kstatus trace iam/hostile)
is "$(printf '%s' "$out" | tr -d '\n' | grep -c $'[\033\007]')" 0 "no control character from the cluster reaches the terminal"
is "$(printf '%s' "$out" | grep -c $'\u202e')" 0 "nor a bidirectional override"
like "$out" 'evil \\x1b\]0;pwned\\x07' "they are shown escaped"
is "$(kubectl kstatus trace iam/hostile --color=always | grep -c $'\033\\]0;')" 0 "not even with colour"

# ---- usage ----
is "$(kubectl kstatus trace iam 2>&1)" 'error: trace follows one resource: name exactly one, e.g. "kubectl kstatus trace iam/example"' \
        "a type alone is refused"
is "$(trace_rc iam/nosuch)" 1 "a missing resource is an API error: exit 1, as kubectl"
like "$(kubectl kstatus trace iam/nosuch 2>&1)" 'Error from server \(NotFound\): iams.example.promise.syntasso.io "nosuch" not found' \
        "worded as kubectl"
done_testing
