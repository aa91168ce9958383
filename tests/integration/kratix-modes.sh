#!/usr/bin/env bash
# Kratix's other workflow shapes beside the stand-in: a dry run (status-writer
# owns the message), a Promise workflow (the Promise's status keeps only what
# its schema types), and pipelines in another namespace (pipelineNamespace).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-sidecar.sh"
. "$(dirname "$0")/lib-kratix.sh"

kratix_setup
sidecars_exit_0() {
        local rc
        for rc in "$KX_DIR"/pods/*/sidecar.rc; do is "$(cat "$rc")" 0 "$1 ($(basename "$(dirname "$rc")"))"; done
        rm -rf "$KX_DIR/pods"
}

# ---- a dry run: status-writer sets "Dry run executed", Kratix "Dry run completed" ----
KX_DRY_RUN=true kx_configure "$(seed_pipeline 1)" "$(seed_pipeline 2)"
is "$?" 0 "the dry run completes"
status=$(kratix_status)
is "$(jq -r .message <<<"$status")" "Dry run executed" "the message is status-writer's dry-run message, not put back by kstatus"
json_is "$(jq -c '.conditions[] | select(.type == "Reconciled") | {status, reason}' <<<"$status")" \
        '{"status":"True","reason":"DryRunSucceeded"}' "Reconciled says the dry run succeeded"
json_is "$(jq -c .iam <<<"$status")" '{"password":"<vault-ref>","user":"admin"}' "the other keys are merged as usual"
report=$(kratix_writers)
is "$(jq -c '.kstatus_condition_changes + .kstatus_kratix_key_changes' <<<"$report")" "[]" "kstatus wrote nothing Kratix owns"
is "$(jq -c '[.change_backs[] | select(.path == ["message"] and .value != "Pending")]' <<<"$report")" "[]" \
        "nobody set the message back and forth"
sidecars_exit_0 "the sidecar exits 0 in a dry run"

# ---- a Promise workflow: only message survives in a Promise's status ----
kubectl create namespace kratix-platform-system >/dev/null
KX_WORKFLOW_TYPE=promise KX_PIPELINES=promise-configure
KX_WORKFLOW_TYPE=promise kx_resource "" promises iam
KX_WORKFLOW_TYPE=promise kx_configure "printf 'message: promise ready\nendpoint: https://iam.example\n' >\"\$METADATA/status.yaml\""
is "$?" 0 "the promise workflow completes"
json_is "$(kubectl get promise iam -o json | jq -c '.status | {message, endpoint}')" \
        '{"message":"promise ready","endpoint":null}' "the Promise keeps the message; the untyped key is pruned"
like "$(cat "$KX_DIR"/pods/*/status-writer.log)" "only 'message' can be updated in Promise status" \
        "status-writer warns, as Kratix's does"
log=$(cat "$KX_DIR"/pods/*/sidecar.log)
is "$(grep -c 'push: sent' <<<"$log")" "$(grep -c 'push: sent' <<<"$log" | awk '$1 <= 3')" \
        "the sidecar does not keep pushing a key the schema prunes (at most 3 pushes)"
sidecars_exit_0 "the sidecar exits 0 in a promise workflow"
KX_WORKFLOW_TYPE=resource KX_PIPELINES="create-user populate-vault"
KX_GROUP=example.promise.syntasso.io KX_VERSION=v1 KX_KIND=IAM KX_PROMISE=iam
kx_resource default iams example

# ---- pipelineNamespace: Pods run in "pipelines", the resource is in default ----
kubectl create namespace pipelines >/dev/null
KX_PIPELINE_NS=pipelines kx_configure "$(seed_pipeline 1)" "$(seed_pipeline 2)"
is "$?" 0 "the workflow completes with its pipelines in another namespace"
is "$(kubectl get pods -n pipelines -o name | wc -l | tr -d ' ')" 2 "the pipeline Pods ran in namespace pipelines"
json_is "$(kratix_status | jq -c .iam)" '{"password":"<vault-ref>","user":"admin"}' "the status is merged as usual"
events=$(kubectl get events -n default -o json | jq -c '[.items[] | select(.source.component == "kstatus-sidecar"
        and .involvedObject.kind == "IAM")
        | .involvedObject | {kind, name, namespace}] | unique')
json_is "$events" '[{"kind":"IAM","name":"example","namespace":"default"}]' \
        "the sidecar's Events are in the resource's namespace, about the resource"
is "$(kubectl get events -n pipelines -o json | jq '[.items[] | select(.source.component == "kstatus-sidecar")] | length')" 0 \
        "none in the pipelines' namespace"
sidecars_exit_0 "the sidecars exit 0"
done_testing
