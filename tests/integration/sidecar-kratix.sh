#!/usr/bin/env bash
# kstatus-sidecar beside Kratix (docs/BEHAVIOUR.md §4, §5): --workflow-conditions,
# workflow-control.yaml, the last pipeline (IS_LAST_PIPELINE, then the
# PromiseRevision the resource is bound to, then the live Promise), the Pod's
# outcome (status-writer counted, a Pod stopped early not a failure), the
# condition rules Kratix follows, dry runs and promise workflows, and a
# pipeline running in another namespace. Pods are created with kubectl, playing
# the kubelet, as in sidecar-modes.sh.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-sidecar.sh"

start_apiserver
apiserver_install_crds
create_seed_objects
status_of() { kubectl get iam example -o json | jq -c "$1"; }
condition() { status_of ".status.conditions[]? | select(.type==\"$1\") | {status,reason,message}"; }
cwc() { condition ConfigureWorkflowCompleted; }
log_of() { cat "$PIPE_DIR/sidecar.log"; }
# reset STATUS_JSON: the status Kratix leaves when it starts a pipeline (message Pending).
reset() {
        local status=${1:-'{"message":"Pending"}'}
        kubectl patch iam example --subresource=status --type=json \
                -p "[{\"op\":\"add\",\"path\":\"/status\",\"value\":$status}]" >/dev/null
}
# events REASON: the messages of the Events with that reason in namespace default, one a line.
events() { kubectl get events -n "${2:-default}" -o json | jq -r ".items[] | select(.reason==\"$1\") | .message"; }
# run_pipeline NAME [sidecar args...]: start, write status.yaml (and $CONTROL as
# workflow-control.yaml), SIGTERM, wait. $INDEX/$COUNT: KSTATUS_PIPELINE_INDEX/COUNT.
run_pipeline() {
        local name=$1; shift
        start_sidecar "$name" "${INDEX:-}" "${COUNT:-}" "$@" || return 1
        printf 'iam: {user: %s}\n' "$name" >"$PIPE_DIR/metadata/status.yaml"
        [ -z "${CONTROL:-}" ] || printf '%s' "$CONTROL" >"$PIPE_DIR/metadata/workflow-control.yaml"
        wait_until "$name: the live push lands" "\"$name\"" status_of .status.iam.user
        stop_sidecar TERM
}
# kratix_pod NAME RESTART_POLICY WRITER_STATE [EXTRA_METADATA] [PIPELINE_STATE] [POD_STATUS_EXTRA]:
# a Pod shaped as Kratix's pipeline factory makes it (reader, the sidecar, a pipeline
# container, work-writer as init containers; status-writer the only container).
kratix_pod() {
        local name=$1 policy=$2 writer=$3 meta=${4:-} pipe=${5:-'{"terminated":{"exitCode":0,"reason":"Completed"}}'}
        local extra=${6:-} ns=${POD_NS:-default}
        kubectl delete pod "$name" -n "$ns" --ignore-not-found --wait=false >/dev/null
        kubectl create -f - >/dev/null <<EOF
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"$name","namespace":"$ns"$meta},
 "spec":{"restartPolicy":"$policy","initContainers":[{"name":"reader","image":"a"},
   {"name":"kstatus-sidecar","image":"k","restartPolicy":"Always"},{"name":"create-db","image":"c"},
   {"name":"work-writer","image":"w"}],"containers":[{"name":"status-writer","image":"s"}]},
 "status":{"phase":"Running"$extra,
   "initContainerStatuses":[{"name":"reader","state":{"terminated":{"exitCode":0,"reason":"Completed"}}},
     {"name":"kstatus-sidecar","state":{"running":{}}},{"name":"create-db","state":$pipe},
     {"name":"work-writer","state":{"terminated":{"exitCode":0,"reason":"Completed"}}}],
   "containerStatuses":[{"name":"status-writer","state":$writer}]}}
EOF
}
DONE='{"terminated":{"exitCode":0,"reason":"Completed"}}'
FIVE='["lastTransitionTime","message","reason","status","type"]'

# --- beside Kratix's status-writer (auto): Kratix's conditions are left alone ----
reset
kratix_pod kratix-ok OnFailure "$DONE"
POD_NAME=kratix-ok POD_NAMESPACE=default IS_LAST_PIPELINE=true run_pipeline beside
is "$SIDECAR_RC" 0 "auto beside status-writer: exit 0"
like "$(log_of)" 'pod "kratix-ok" runs Kratix.s status-writer: leaving ConfigureWorkflowCompleted and the message to Kratix' \
        "auto: the sidecar says it leaves Kratix's conditions to Kratix"
is "$(cwc)" "" "auto beside status-writer: no ConfigureWorkflowCompleted, not even in progress"
is "$(status_of .status.message)" '"Pending"' "auto beside status-writer: the message reset is left to Kratix"
is "$(status_of .status.iam.user)" '"beside"' "auto beside status-writer: status.yaml's keys are written"

# --workflow-conditions=on writes them anyway, exactly as Kratix would.
reset
POD_NAME=kratix-ok POD_NAMESPACE=default IS_LAST_PIPELINE=true run_pipeline forced --workflow-conditions=on
is "$(cwc)" '{"status":"True","reason":"PipelinesExecutedSuccessfully","message":"Pipelines completed"}' \
        "--workflow-conditions=on beside status-writer completes the workflow"
is "$(status_of '.status.conditions[0] | keys')" "$FIVE" "the condition has exactly Kratix's five fields"
is "$(status_of .status.message)" '"Resource requested"' "and turns Pending into Resource requested"

# Outside a Pod with off: nothing Kratix owns; and the environment variable.
reset
KSTATUS_WORKFLOW_CONDITIONS=off IS_LAST_PIPELINE=true run_pipeline nobody
is "$(cwc)$(status_of .status.message)" '"Pending"' "KSTATUS_WORKFLOW_CONDITIONS=off: no condition, no message reset"
out=$(KSTATUS_WORKFLOW_CONDITIONS=sometimes "$SIDECAR" --name=example --api-version=v1 --resource=iams 2>&1); rc=$?
is "$rc" 2 "an invalid KSTATUS_WORKFLOW_CONDITIONS is a usage error"
is "$out" 'error: invalid KSTATUS_WORKFLOW_CONDITIONS "sometimes": want auto, on or off' "named in one line"
out=$("$SIDECAR" --workflow-conditions=maybe --name=example --api-version=v1 --resource=iams 2>&1)
is "$out" 'error: invalid argument "maybe" for "--workflow-conditions": want auto, on or off' "so is the flag"

# A Pod that cannot be read: say so once, touch nothing Kratix owns.
reset
POD_NAME=no-such-pod POD_NAMESPACE=default IS_LAST_PIPELINE=true run_pipeline unreadable
is "$SIDECAR_RC" 0 "an unreadable Pod: the final write still lands, exit 0"
is "$(grep -c 'cannot read pod "no-such-pod"' "$PIPE_DIR/sidecar.log")" 2 \
        "it says at start and at the end that it cannot read its Pod"
like "$(log_of)" 'cannot tell whether Kratix.s status-writer runs beside this sidecar: leaving the conditions Kratix owns alone' \
        "at start: it leaves Kratix's conditions alone"
is "$(cwc)$(status_of .status.message)" '"Pending"' "an unreadable Pod: no condition, no message reset"
is "$(status_of .status.iam.user)" '"unreadable"' "an unreadable Pod: status.yaml's keys are written"

# --- workflow-control.yaml on the last pipeline ---------------------------------
reset
CONTROL=$'suspend: true\nmessage: waiting for approval\n' IS_LAST_PIPELINE=true run_pipeline suspended
is "$(cwc | jq -r .reason)" PipelinesInProgress "suspend on the last pipeline: the workflow is not completed"
is "$(status_of .status.message)" '"Pending"' "suspend: the message stays Pending"
like "$(log_of)" 'workflow-control.yaml asks to suspend: the workflow is not complete' "suspend: one log line says why"
reset
CONTROL=$'retryAfter: 1h2m3.5s\n' IS_LAST_PIPELINE=true run_pipeline retried
is "$(cwc | jq -r .reason)" PipelinesInProgress "retryAfter on the last pipeline: the workflow is not completed"
like "$(log_of)" 'workflow-control.yaml asks to retry after 1h2m3.5s' "retryAfter: one log line says why"
reset
CONTROL=$'suspend: false\nretryAfter: ""\n' IS_LAST_PIPELINE=true run_pipeline proceeding
is "$(cwc | jq -r .status)" True "suspend: false and an empty retryAfter complete the workflow"
reset
CONTROL=$'retryAfter: 5 minutes\n' IS_LAST_PIPELINE=true run_pipeline badretry
is "$(grep 'refuse' "$PIPE_DIR/sidecar.log" | sed 's/^[^ ]* //')" \
        'warning refuse: workflow-control.yaml: retryAfter "5 minutes" is not a duration such as 30s or 5m; the workflow is not completed' \
        "an invalid retryAfter is refused in one line naming the file"
is "$(cwc | jq -r .reason)" PipelinesInProgress "an invalid workflow-control.yaml: the workflow is not completed"
is "$(status_of .status.iam.user)" '"badretry"' "an invalid workflow-control.yaml: status.yaml's keys are written"
is "$(events WorkflowControlRefused)" \
        'workflow-control.yaml: retryAfter "5 minutes" is not a duration such as 30s or 5m; the workflow is not completed' \
        "an invalid workflow-control.yaml is a Warning Event on the resource"
reset
CONTROL=$'suspend: true\n  message: [\n' IS_LAST_PIPELINE=true run_pipeline badyaml
like "$(grep 'refuse' "$PIPE_DIR/sidecar.log")" 'refuse: workflow-control.yaml:2:[0-9]+: ' \
        "a YAML error in workflow-control.yaml names the line and column"
is "$(cwc | jq -r .reason)" PipelinesInProgress "a YAML error: the workflow is not completed"

# --- which pipeline is the last -------------------------------------------------
reset
IS_LAST_PIPELINE=false run_pipeline notlast
is "$(cwc | jq -r .reason)" PipelinesInProgress "IS_LAST_PIPELINE=false: in progress, not completed"
reset
IS_LAST_PIPELINE=true INDEX=0 COUNT=2 run_pipeline islast
is "$(cwc | jq -r .status)" True "IS_LAST_PIPELINE=true wins over KSTATUS_PIPELINE_INDEX/COUNT"

# From Kratix's objects. The live Promise (the seed's) lists create-user, populate-vault;
# the revisions say otherwise, so the test sees which one was read.
for crd in promiserevisions resourcebindings; do
        kubectl get crd "$crd.platform.kratix.io" >/dev/null 2>&1 && continue
        kind=$([ "$crd" = promiserevisions ] && echo PromiseRevision || echo ResourceBinding)
        scope=$([ "$crd" = promiserevisions ] && echo Cluster || echo Namespaced)
        kubectl create -f - >/dev/null <<EOF
{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
 "metadata":{"name":"$crd.platform.kratix.io"},
 "spec":{"group":"platform.kratix.io","scope":"$scope",
  "names":{"plural":"$crd","singular":"${crd%s}","kind":"$kind","listKind":"${kind}List"},
  "versions":[{"name":"v1alpha1","served":true,"storage":true,"subresources":{"status":{}},
   "schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}
EOF
done
wait_for "the PromiseRevision and ResourceBinding APIs are served" kubectl get promiserevisions,resourcebindings
# revision NAME VERSION LATEST PIPELINES...
revision() {
        local name=$1 version=$2 latest=$3; shift 3
        local list; list=$(printf '%s\n' "$@" | jq -R '{metadata: {name: .}}' | jq -sc .)
        kubectl apply -f - >/dev/null <<EOF
{"apiVersion":"platform.kratix.io/v1alpha1","kind":"PromiseRevision",
 "metadata":{"name":"$name","labels":{"kratix.io/promise-name":"iam"}},
 "spec":{"version":"$version","promiseRef":{"name":"iam"},"promiseSpec":{"workflows":{"resource":{"configure":$list}}}}}
EOF
        kubectl patch promiserevision "$name" --subresource=status --type=merge -p "{\"status\":{\"latest\":$latest}}" >/dev/null
}
revision iam-v1 v1 false create-user populate-vault
revision iam-v2 v2 true populate-vault audit
reset
run_pipeline populate-vault
like "$(log_of)" 'pipeline populate-vault \(not the last of its workflow\)' \
        "no binding: the latest PromiseRevision says populate-vault is not the last (the live Promise would say it is)"
is "$(cwc | jq -r .reason)" PipelinesInProgress "so the workflow is in progress, not completed"
kubectl apply -f - >/dev/null <<EOF
{"apiVersion":"platform.kratix.io/v1alpha1","kind":"ResourceBinding",
 "metadata":{"name":"example-iam","namespace":"default","labels":{"kratix.io/promise-name":"iam","kratix.io/resource-name":"example"}},
 "spec":{"version":"v1","promiseRef":{"name":"iam"},"resourceRef":{"name":"example","namespace":"default"}}}
EOF
reset
run_pipeline populate-vault
like "$(log_of)" 'pipeline populate-vault \(the last of its workflow\)' \
        "a ResourceBinding pinned to v1: that revision's pipelines decide"
is "$(cwc | jq -r .status)" True "the bound revision's last pipeline completes the workflow"
kubectl delete resourcebinding example-iam >/dev/null
reset '{"message":"Pending","promiseVersion":"v1"}'
run_pipeline populate-vault
like "$(log_of)" 'pipeline populate-vault \(the last of its workflow\)' \
        "no binding but status.promiseVersion v1: revision v1 decides"
kubectl delete promiserevisions --all >/dev/null
reset
run_pipeline populate-vault
like "$(log_of)" 'pipeline populate-vault \(the last of its workflow\)' "no PromiseRevision at all: the live Promise decides"
reset
run_pipeline lonely
like "$(log_of)" 'warning start: promise of "iam" does not list pipeline "lonely" under resource.configure' \
        "a pipeline no Promise lists: one line says so"
like "$(log_of)" 'cannot tell whether this is the last pipeline; leaving the workflow conditions alone' \
        "and that it cannot tell whether it is the last"
is "$(cwc)" "" "and the workflow condition is left alone"

# --- the Pod's outcome -------------------------------------------------------------
# status-writer's own failure (restartPolicy Never: no restart left) is the pipeline's.
reset
kratix_pod writer-failed Never '{"terminated":{"exitCode":1,"reason":"Error"}}'
POD_NAME=writer-failed POD_NAMESPACE=default IS_LAST_PIPELINE=true run_pipeline writerfail --workflow-conditions=on
is "$(cwc)" '{"status":"False","reason":"ConfigureWorkflowFailed","message":"A Configure Pipeline has failed: writerfail"}' \
        "status-writer exiting 1 with no restart left fails the workflow"
like "$(events PipelineFailed)" 'pipeline writerfail failed: container status-writer: Error \(exit code 1\)' \
        "the PipelineFailed Event names status-writer"
is "$(status_of .status.iam.user)" '"writerfail"' "a failed pipeline's pushes stay"
# Beside Kratix (auto), the failure is Kratix's to write.
reset
POD_NAME=writer-failed POD_NAMESPACE=default IS_LAST_PIPELINE=true run_pipeline writerfail2
is "$(cwc)" "" "auto beside status-writer: the failed condition is left to Kratix"

# Evicted: not a failure.
reset
kratix_pod evicted Never '{"waiting":{}}' "" '{"terminated":{"exitCode":137,"reason":"Error"}}' \
        ',"reason":"Evicted","message":"The node was low on resource: memory."'
kubectl patch pod evicted --subresource=status --type=merge -p '{"status":{"phase":"Failed"}}' >/dev/null
POD_NAME=evicted POD_NAMESPACE=default IS_LAST_PIPELINE=true run_pipeline evicted --workflow-conditions=on
is "$SIDECAR_RC" 0 "an evicted Pod: exit 0"
is "$(cwc | jq -r .reason)" PipelinesInProgress "an evicted Pod is not a failed workflow (nor a completed one)"
is "$(status_of .status.iam.user)" '"evicted"' "an evicted Pod: status.yaml's keys are written"
like "$(log_of)" 'stopped early, not a failure: evicted: The node was low on resource: memory.' "the log says why"
like "$(events PipelineStopped)" 'pipeline evicted stopped early: evicted' "a PipelineStopped Event, not PipelineFailed"
# DisruptionTarget.
reset
kratix_pod disrupted OnFailure '{"waiting":{}}' "" '{"running":{}}' \
        ',"conditions":[{"type":"DisruptionTarget","status":"True","reason":"PreemptionByScheduler"}]'
POD_NAME=disrupted POD_NAMESPACE=default IS_LAST_PIPELINE=true run_pipeline disrupted --workflow-conditions=on
is "$(cwc | jq -r .reason)" PipelinesInProgress "a disrupted Pod (DisruptionTarget) is not a failed workflow"
# Kratix suspends the Job (manual reconciliation): the Pod is deleted, its containers killed.
reset
kratix_pod suspended-job Never '{"waiting":{}}' ',"finalizers":["kstatus.test/hold"]' \
        '{"terminated":{"exitCode":143,"reason":"Error"}}'
kubectl delete pod suspended-job --wait=false >/dev/null
POD_NAME=suspended-job POD_NAMESPACE=default IS_LAST_PIPELINE=true run_pipeline jobsuspended --workflow-conditions=on
is "$(cwc | jq -r .reason)" PipelinesInProgress "a Pod deleted because its Job was suspended is not a failed workflow"
like "$(log_of)" 'stopped early, not a failure: the Pod is being deleted' "the log says the Pod was deleted"
kubectl patch pod suspended-job --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null
# OnFailure: status-writer crashed until the Job's backoffLimit was used up; the Job controller
# marks the Job FailureTarget and deletes the Pod: a failure. Deleted with its suspended Job: not.
# job_pod CASE JOB_CONDITION SUSPEND: a Job in that state and its Pod, deleted (a finalizer holds it).
job_pod() {
        kubectl create -f - >/dev/null <<EOF
{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"job-$1","namespace":"default"},
 "spec":{"suspend":$3,"backoffLimit":1,"template":{"spec":{"restartPolicy":"OnFailure","containers":[{"name":"c","image":"i"}]}}}}
EOF
        kubectl patch job "job-$1" --subresource=status --type=merge -p "{\"status\":{\"conditions\":[{\"type\":\"$2\",
                \"status\":\"True\",\"reason\":\"R\",\"message\":\"m\",\"lastTransitionTime\":\"2030-01-01T00:00:00Z\",
                \"lastProbeTime\":\"2030-01-01T00:00:00Z\"}]}}" >/dev/null
        kratix_pod "pod-$1" OnFailure \
                '{"waiting":{"reason":"CrashLoopBackOff"}},"lastState":{"terminated":{"exitCode":1,"reason":"Error"}}' \
                ",\"finalizers\":[\"kstatus.test/hold\"],\"ownerReferences\":[{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"name\":\"job-$1\",\"uid\":\"u\"}]"
        kubectl delete pod "pod-$1" --wait=false >/dev/null
}
reset
job_pod backoff FailureTarget false
POD_NAME=pod-backoff POD_NAMESPACE=default IS_LAST_PIPELINE=true run_pipeline backoff --workflow-conditions=on
like "$(log_of)" 'pipeline backoff failed: container status-writer: Error \(exit code 1\); its Job.s backoffLimit is used up' \
        "a Pod deleted after its Job used up backoffLimit: status-writer failed for good, and the log says so"
is "$(cwc | jq -r .reason)" ConfigureWorkflowFailed "so the workflow failed"
reset
job_pod suspend Suspended true
POD_NAME=pod-suspend POD_NAMESPACE=default IS_LAST_PIPELINE=true run_pipeline suspend --workflow-conditions=on
like "$(log_of)" 'stopped early, not a failure: the Pod is being deleted .*after container status-writer failed \(Error \(exit code 1\)\)' \
        "deleted with its suspended Job while status-writer was being restarted: stopped early, not a failure"
is "$(cwc | jq -r .reason)" PipelinesInProgress "so the workflow did not fail"
kubectl patch pod pod-backoff pod-suspend --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null

# OnFailure: a crashing container is being restarted; SIGTERM then is not a failure.
reset
kratix_pod crashloop OnFailure '{"waiting":{}}' "" \
        '{"waiting":{"reason":"CrashLoopBackOff"}},"lastState":{"terminated":{"exitCode":3,"reason":"Error"}}'
POD_NAME=crashloop POD_NAMESPACE=default IS_LAST_PIPELINE=true run_pipeline crashloop --workflow-conditions=on
is "$(cwc | jq -r .reason)" PipelinesInProgress "OnFailure: a container being restarted when the Pod stops is not a failure"
like "$(log_of)" 'stopped while container create-db was being restarted after Error \(exit code 3\)' "the log says so"

# The kubelet reports the pipeline's end only after the sidecar was stopped:
# the final write looks at the Pod again (a timer in the event loop) until it does.
reset
kratix_pod late Never '{"running":{}}' "" '{"running":{}}'
POD_NAME=late POD_NAMESPACE=default IS_LAST_PIPELINE=true start_sidecar late "" "" --workflow-conditions=on
printf 'iam: {user: late}\n' >"$PIPE_DIR/metadata/status.yaml"
wait_until "late: the live push lands" '"late"' status_of .status.iam.user
kill -TERM "$SIDECAR_PID"
wait_for "late: the sidecar waits for the kubelet to report the containers" grep -q 'still shows the pipeline running' \
        "$PIPE_DIR/sidecar.log"
kubectl patch pod late --subresource=status --type=merge -p "{\"status\":{\"initContainerStatuses\":[
        {\"name\":\"reader\",\"state\":$DONE},{\"name\":\"kstatus-sidecar\",\"state\":{\"running\":{}}},
        {\"name\":\"create-db\",\"state\":$DONE},{\"name\":\"work-writer\",\"state\":$DONE}],
        \"containerStatuses\":[{\"name\":\"status-writer\",\"state\":$DONE}]}}" >/dev/null
wait "$SIDECAR_PID"
is "$?" 0 "late: the sidecar exits 0"
is "$(cwc | jq -r .reason)" PipelinesExecutedSuccessfully "late: the Pod's later report is what the final write takes"

# --- conditions as Kratix writes them ------------------------------------------------
reset '{"message":"Pending","conditions":[{"type":"Zeta","status":"True","reason":"Z","message":"","lastTransitionTime":"2020-01-01T00:00:00Z"},
        {"type":"ConfigureWorkflowCompleted","status":"False","reason":"PipelinesInProgress","message":"another message","lastTransitionTime":"2020-01-01T00:00:00Z"},
        {"type":"Reconciled","status":"Unknown","reason":"WorkflowPending","message":"","lastTransitionTime":"2020-01-01T00:00:00Z"}]}'
IS_LAST_PIPELINE=false run_pipeline rules
is "$(status_of '[.status.conditions[].type]')" '["ConfigureWorkflowCompleted","Reconciled","Zeta"]' \
        "the conditions are sorted by type"
like "$(status_of '.status.conditions[0].lastTransitionTime')" '"20[3-9][0-9]-|"202[1-9]-' \
        "a changed message moves lastTransitionTime (status and reason were the same)"
is "$(status_of '.status.conditions[1:] | map(.lastTransitionTime) | unique')" '["2020-01-01T00:00:00Z"]' \
        "the conditions of other writers keep their times"
ltt=$(status_of '.status.conditions[0].lastTransitionTime')
IS_LAST_PIPELINE=false run_pipeline rules2
is "$(status_of '.status.conditions[0].lastTransitionTime')" "$ltt" "the same state again keeps lastTransitionTime"
is "$(status_of '.status.conditions[0] | keys')" "$FIVE" "no observedGeneration, five fields"

# --- dry run and promise workflows ----------------------------------------------------
reset
KRATIX_DRY_RUN=true IS_LAST_PIPELINE=false run_pipeline dryrun
is "$(status_of .status.message)" '"Dry run executed"' "a dry run's pipeline sets Dry run executed, last or not"
reset
KRATIX_DRY_RUN=true IS_LAST_PIPELINE=true run_pipeline dryrunlast
is "$(status_of .status.message)" '"Dry run executed"' "a dry run's last pipeline: Dry run executed"
is "$(cwc | jq -r .status)" True "a dry run completes the workflow as status-writer does"
# Beside status-writer in a dry run, the message is status-writer's ("Dry run executed"):
# the sidecar pushes status.yaml's other keys, never its message.
reset
KRATIX_DRY_RUN=true POD_NAME=kratix-ok POD_NAMESPACE=default IS_LAST_PIPELINE=true \
        start_sidecar drybeside "" ""
printf 'message: mine\niam: {user: drybeside}\n' >"$PIPE_DIR/metadata/status.yaml"
wait_until "dry run beside status-writer: the other keys are pushed" '"drybeside"' status_of .status.iam.user
stop_sidecar TERM
is "$(status_of .status.message)" '"Pending"' "dry run beside status-writer: status.yaml's message is never written"
reset
WORKFLOW_TYPE=promise IS_LAST_PIPELINE=true run_pipeline promisewf
is "$(status_of .status.message)" '"Promise configured"' "a promise workflow's completion says Promise configured"

# --- live pushes: a complete write is pushed at once, bursts coalesced ------------------
# With a 30 s debounce, a complete write must still land at once (the debounce is
# only for removals and polling); the old loop held it back for the debounce.
reset
start_sidecar prompt "" "" --debounce=30s --max-debounce=30s
printf 'iam: {user: prompt}\n' >"$PIPE_DIR/metadata/status.yaml"
wait_until "a complete write is pushed at once although the debounce is 30 s" '"prompt"' status_of .status.iam.user
# A burst of 200 complete writes: every one is a complete version, the last one wins,
# and they cost fewer pushes than writes (writes that arrive during a push are one push).
before=$(pushes_logged)
for i in $(seq 1 200); do printf 'iam: {user: burst%d}\n' "$i" >"$PIPE_DIR/metadata/status.yaml"; done
wait_until "after a burst the last version is on the resource" '"burst200"' status_of .status.iam.user
burst_pushes=$(( $(pushes_logged) - before ))
ok "a burst of 200 writes is coalesced ($burst_pushes pushes)" [ "$burst_pushes" -lt 200 ]
stop_sidecar TERM

# --- the pipeline runs in another namespace (pipelineNamespace) ------------------------
kubectl create namespace pipelines >/dev/null 2>&1
reset
POD_NS=pipelines kratix_pod elsewhere OnFailure "$DONE"
POD_NAME=elsewhere POD_NAMESPACE=pipelines IS_LAST_PIPELINE=true run_pipeline elsewhere --workflow-conditions=on
is "$(cwc | jq -r .status)" True "a Pod in another namespace is read there and completes the workflow"
is "$(kubectl get events -n default -o json | jq -r '.items[] | select(.message | test("pipeline elsewhere finished")) |
        "\(.involvedObject.kind)/\(.involvedObject.namespace)/\(.involvedObject.name)"')" "IAM/default/example" \
        "its Event is in the resource's namespace, about the resource"
is "$(kubectl get events -n pipelines -o json | jq '.items | length')" 0 "and none in the pipeline's namespace"

done_testing
