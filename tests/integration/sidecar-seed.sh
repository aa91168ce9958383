#!/usr/bin/env bash
# kstatus-sidecar against the test API server with real kubectl: the seed's
# two pipelines, live pushes, failures, bad files, symlinks and start-up errors.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-sidecar.sh"

start_apiserver
apiserver_install_crds
create_seed_objects

# kubectl get -w records every transition of the condition while the pipelines run.
kubectl get iam example -w -o jsonpath='{.status.conditions[?(@.type=="ConfigureWorkflowCompleted")].status}{"/"}{.status.message}{"\n"}' \
        >"$TEST_TMP/watch.out" 2>&1 &
watch_pid=$!
at_exit "kill $watch_pid 2>/dev/null"

# Pipeline 1: create-user.
start_sidecar create-user 0 2
wait_until "the first pipeline marks the workflow in progress" PipelinesInProgress \
        kubectl get iam example -o jsonpath='{.status.conditions[?(@.type=="ConfigureWorkflowCompleted")].reason}'
cp "$KSTATUS_TEST_DATA/seed/create-user.status.yaml" "$PIPE_DIR/metadata/status.yaml"
wait_until "a live push is visible before the pipeline ends" admin \
        kubectl get iam example -o jsonpath='{.status.iam.user}'
stop_sidecar TERM
is "$SIDECAR_RC" 0 "pipeline 1: the sidecar exits 0 once the final write is acknowledged"
is "$(kubectl get iam example -o jsonpath='{.status.conditions[?(@.type=="ConfigureWorkflowCompleted")].status}')" False \
        "after the first of two pipelines the workflow is not complete"

# Pipeline 2: populate-vault, started with the status pipeline 1 left (object.yaml).
start_sidecar populate-vault 1 2
cp "$KSTATUS_TEST_DATA/seed/populate-vault.status.yaml" "$PIPE_DIR/metadata/status.yaml"
lists() { apiserver_count GET /apis/example.promise.syntasso.io/v1/namespaces/default/iams; }
lists0=$(lists)
kubectl wait iam/example --for=condition=ConfigureWorkflowCompleted --timeout=30s >"$TEST_TMP/wait.out" 2>&1 &
wait_pid=$!
# kubectl wait lists the object (then watches from that list) before the pipeline ends.
# shellcheck disable=SC2317 # called by wait_until
lists_grew() { [ "$(lists)" -gt "$lists0" ] && echo yes; }
wait_until "kubectl wait has read the resource before the pipeline ends" yes lists_grew
stop_sidecar TERM
is "$SIDECAR_RC" 0 "pipeline 2: the sidecar exits 0"
wait "$wait_pid"
is "$?" 0 "kubectl wait --for=condition=ConfigureWorkflowCompleted returns when the last pipeline ends"
is "$(cat "$TEST_TMP/wait.out")" "iam.example.promise.syntasso.io/example condition met" "kubectl wait says condition met"

status=$(kubectl get iam example -o json | jq -c '.status | del(.conditions[].lastTransitionTime)')
json_is "$status" '{
  "conditions": [{"type":"ConfigureWorkflowCompleted","status":"True","reason":"PipelinesExecutedSuccessfully","message":"Pipelines completed"}],
  "iam": {"password": "<vault-ref>", "user": "admin"},
  "message": "User created and vault secret created"
}' "the end status is the seed's: iam.user and iam.password kept, the last message, the condition True"
like "$(kubectl get iam example)" 'User created and vault secret created' "kubectl get shows the message in the MESSAGE column"

wait_for "kubectl get -w saw the end" grep -q 'User created and vault secret created' "$TEST_TMP/watch.out"
kill "$watch_pid" 2>/dev/null
like "$(tr '\n' ' ' <"$TEST_TMP/watch.out")" 'False/.*True/User created and vault secret created' \
        "kubectl get -w saw the condition go False then True"

# The merge preview agrees with what the sidecar stored.
preview=$(kubectl kstatus merge -o json --workflow=none "$KSTATUS_TEST_DATA/seed/create-user.status.yaml" \
        "$KSTATUS_TEST_DATA/seed/populate-vault.status.yaml" | jq -c '{iam,message}')
json_is "$preview" "$(jq -c '{iam,message}' <<<"$status")" "kubectl kstatus merge previews exactly what the sidecar stored"
done_testing
