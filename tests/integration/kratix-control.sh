#!/usr/bin/env bash
# workflow-control.yaml beside the Kratix stand-in: a last pipeline that asks to
# suspend or to retry does not complete the workflow (Kratix's status-writer
# says so; kstatus must not say otherwise), and an invalid file fails the
# pipeline with a clear error, losing nothing already stored.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-sidecar.sh"
. "$(dirname "$0")/lib-kratix.sh"

kratix_setup

# ---- suspend on the last pipeline ----
kx_configure "$(seed_pipeline 1)" "$(seed_pipeline 2)
        printf 'suspend: true\nmessage: waiting for approval\n' >\"\$METADATA/workflow-control.yaml\""
is "$?" 3 "the stand-in stops: the workflow is suspended"
status=$(kratix_status)
json_is "$(jq -c '.conditions[] | select(.type == "ConfigureWorkflowCompleted") | {status, reason}' <<<"$status")" \
        '{"status":"False","reason":"PipelinesInProgress"}' "a suspended workflow is not complete"
json_is "$(jq -c '.kratix.workflows.pipelines[1] | {name, phase, message}' <<<"$status")" \
        '{"name":"populate-vault","phase":"Suspended","message":"waiting for approval"}' "Kratix marks the pipeline Suspended"
is "$(kubectl get iam example -o jsonpath='{.metadata.labels.kratix\.io/workflow-suspended}')" true \
        "Kratix labels the resource kratix.io/workflow-suspended"
json_is "$(jq -c '{iam, message}' <<<"$status")" \
        '{"iam":{"password":"<vault-ref>","user":"admin"},"message":"User created and vault secret created"}' \
        "the status.yaml keys are still merged deeply"
fails_with 1 "kubectl wait for ConfigureWorkflowCompleted times out on a suspended workflow" \
        kubectl wait iam/example --for=condition=ConfigureWorkflowCompleted --timeout=1s
fails_with 1 "kubectl kstatus wait times out too (neither met nor failed)" \
        kubectl kstatus wait iam/example --for=condition=ConfigureWorkflowCompleted --timeout=1s
like "$(kubectl kstatus describe iam/example)" 'Suspended' "describe calls out the suspended pipeline"
report=$(kratix_writers)
is "$(jq -c .kstatus_condition_changes <<<"$report")" "[]" "kstatus changed no Kratix condition"
is "$(jq -c .kstatus_kratix_key_changes <<<"$report")" "[]" "kstatus changed no Kratix-owned key"
for rc in "$KX_DIR"/pods/*/sidecar.rc; do is "$(cat "$rc")" 0 "the sidecar exits 0 ($(basename "$(dirname "$rc")"))"; done

# ---- retryAfter on the last pipeline (Kratix removes the label to resume; a new run here) ----
kubectl label iam example kratix.io/workflow-suspended- >/dev/null
rm -rf "$KX_DIR/pods"
kx_configure "$(seed_pipeline 1)" "$(seed_pipeline 2)
        printf 'retryAfter: 5m\n' >\"\$METADATA/workflow-control.yaml\""
is "$?" 3 "retryAfter: the workflow waits for its retry"
status=$(kratix_status)
is "$(jq -r '.conditions[] | select(.type == "ConfigureWorkflowCompleted") | .status' <<<"$status")" False \
        "a workflow waiting to retry is not complete"
json_is "$(jq -c '.kratix.workflows.pipelines[1] | {phase, attempts, retry: (.nextRetryAt != null)}' <<<"$status")" \
        '{"phase":"Suspended","attempts":1,"retry":true}' "Kratix records the attempt and the next retry"
like "$(kubectl kstatus describe iam/example)" 'retry' "describe shows the next retry"
report=$(kratix_writers)
is "$(jq -c .kstatus_condition_changes <<<"$report")" "[]" "kstatus changed no Kratix condition"
for rc in "$KX_DIR"/pods/*/sidecar.rc; do is "$(cat "$rc")" 0 "the sidecar exits 0 ($(basename "$(dirname "$rc")"))"; done

# ---- an invalid workflow-control.yaml ----
kubectl label iam example kratix.io/workflow-suspended- >/dev/null
rm -rf "$KX_DIR/pods"
before=$(kratix_status | jq -c '.iam')
KX_BACKOFF_LIMIT=1 kx_configure "$(seed_pipeline 1)" "$(seed_pipeline 2)
        printf 'suspend: true\nretryAfter: soon\n' >\"\$METADATA/workflow-control.yaml\""
is "$?" 1 "status-writer fails on retryAfter: soon; the Job fails"
status=$(kratix_status)
json_is "$(jq -c '.conditions[] | select(.type == "ConfigureWorkflowCompleted") | {status, reason, message}' <<<"$status")" \
        '{"status":"False","reason":"ConfigureWorkflowFailed","message":"A Configure Pipeline has failed: populate-vault"}' \
        "Kratix reports the pipeline failed"
is "$(jq -c '.iam' <<<"$status")" "$before" "nothing already stored is lost"
log=$(cat "$KX_DIR"/pods/*/sidecar.log)
like "$log" 'workflow-control\.yaml.*(retryAfter|soon)' "the sidecar says what is wrong with workflow-control.yaml"
like "$(kubectl get events --field-selector involvedObject.name=example -o jsonpath='{range .items[*]}{.type} {.message}{"\n"}{end}')" \
        'Warning .*workflow-control\.yaml' "and a Warning Event on the resource"
fails_with 3 "kubectl kstatus wait fails fast on the failed workflow" \
        kubectl kstatus wait iam/example --for=condition=ConfigureWorkflowCompleted --timeout=10s
done_testing
