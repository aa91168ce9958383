#!/usr/bin/env bash
# Failures beside the Kratix stand-in. A pipeline that fails for good is
# Kratix's to report (ConfigureWorkflowFailed); a Pod stopped early (evicted,
# or deleted because Kratix suspended its Job for manual reconciliation) is not
# a failure at all. Either way the sidecar makes its final write of the
# status.yaml keys, writes no Kratix condition, and exits 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-sidecar.sh"
. "$(dirname "$0")/lib-kratix.sh"

kratix_setup

sidecars_exit_0() { # DESCRIPTION
        local rc
        for rc in "$KX_DIR"/pods/*/sidecar.rc; do is "$(cat "$rc")" 0 "$1 ($(basename "$(dirname "$rc")"))"; done
        rm -rf "$KX_DIR/pods"
}
no_kstatus_conditions() { # DESCRIPTION
        local report
        report=$(kratix_writers)
        is "$(jq -c '.kstatus_condition_changes + .kstatus_kratix_key_changes' <<<"$report")" "[]" "$1"
}
cwc() { kratix_status | jq -c '.conditions[] | select(.type == "ConfigureWorkflowCompleted") | {status, reason}'; }

# ---- a pipeline container that fails every time ----
KX_BACKOFF_LIMIT=1 kx_configure "printf 'message: half done\nprogress:\n  step: 1\n' >\"\$METADATA/status.yaml\"; exit 1" "true"
is "$?" 1 "the Job fails once backoffLimit is used up"
json_is "$(cwc)" '{"status":"False","reason":"ConfigureWorkflowFailed"}' "Kratix reports the failed workflow"
json_is "$(kratix_status | jq -c .progress)" '{"step":1}' "the failed pipeline's live pushes stay"
sidecars_exit_0 "the sidecar of the failed pipeline exits 0 once its final write is stored"
no_kstatus_conditions "kstatus wrote no Kratix condition for the failure"
fails_with 3 "kubectl kstatus wait fails fast (exit 3) on the failed workflow" \
        kubectl kstatus wait iam/example --for=condition=ConfigureWorkflowCompleted --timeout=10s

# ---- status-writer fails for good (its PUT is refused every time) ----
KX_STATUS_WRITER_FAIL=1 KX_BACKOFF_LIMIT=1 kx_configure "$(seed_pipeline 1)" "true"
is "$?" 1 "status-writer failing twice fails the Job"
like "$(cat "$KX_DIR"/pods/*/sidecar.log)" 'status-writer' "the sidecar's log names status-writer as what failed"
sidecars_exit_0 "the sidecar exits 0 when status-writer failed"
json_is "$(kratix_status | jq -c .iam)" '{"user":"admin"}' "the sidecar's writes landed though status-writer's never did"

# ---- a file kstatus refuses (a condition's time the API server would refuse): nothing stored is lost ----
bad="printf 'iam:\n  password: x\nconditions:\n- {type: Ready, status: \"True\", reason: R, message: m, lastTransitionTime: yesterday}\n' >\"\$METADATA/status.yaml\""
KX_BACKOFF_LIMIT=1 kx_configure "$(seed_pipeline 1)" "$bad"
is "$?" 1 "status-writer's PUT is refused (422): the Job fails"
json_is "$(kratix_status | jq -c .iam)" '{"user":"admin"}' "what the first pipeline stored is still there"
like "$(cat "$KX_DIR"/pods/*populate-vault*/sidecar.log)" 'refuse: status\.yaml:4:3: .*lastTransitionTime' \
        "the sidecar refuses the file in one line naming file:line:col"
sidecars_exit_0 "the sidecar exits 0 (its final write keeps the last good state)"

# ---- the API server refuses the sidecar's writes (422): one line, no retry loop ----
apiserver_fault '{"verb":"PATCH","path":"/apis/example.promise.syntasso.io/v1/namespaces/default/iams/example/status","code":422,"count":1000}'
t0=$SECONDS
kx_configure "$(seed_pipeline 1)" "$(seed_pipeline 2)"
is "$?" 0 "Kratix's own writes (PUTs) go through: the workflow completes"
apiserver_clear_faults
ok "the sidecars do not retry a refused write to their deadline" test $((SECONDS - t0)) -lt 50
log=$(cat "$KX_DIR"/pods/*/sidecar.log)
like "$log" '422|[Ii]nvalid' "the sidecar's log says the server refused the write"
# create-user's final write had nothing to do (status-writer's PUT had stored the same keys);
# populate-vault's had to repair iam.user, and was refused.
is "$(cat "$KX_DIR"/pods/*create-user*/sidecar.rc)" 0 "a sidecar whose final state was already stored exits 0"
is "$(cat "$KX_DIR"/pods/*populate-vault*/sidecar.rc)" 1 "a sidecar whose final write is refused exits 1"
like "$(cat "$KX_DIR"/pods/*populate-vault*/sidecar.log)" 'final write .*failed: Error from server \(Invalid\)' \
        "in one line with the server's reason"
rm -rf "$KX_DIR/pods"

# ---- an evicted Pod: the Job controller makes a new one, the workflow completes ----
kubectl label iam example kratix.io/workflow-suspended- >/dev/null 2>&1
KX_EVICT=pipeline kx_configure "$(seed_pipeline 1)" "$(seed_pipeline 2)"
is "$?" 0 "an evicted Pod is replaced and the workflow completes"
is "$(find "$KX_DIR/pods" -mindepth 1 -maxdepth 1 -name '*create-user*' | wc -l)" 2 "create-user ran in a second Pod after the eviction"
json_is "$(cwc)" '{"status":"True","reason":"PipelinesExecutedSuccessfully"}' "the workflow is complete"
sidecars_exit_0 "every sidecar exits 0, the evicted one included"
evicted=$(dirname "$(grep -l '"Evicted"' "$KX_DIR"/pods/*/status.json)")
unlike_fail=$(grep -Ei 'fail' "$evicted/sidecar.log" | grep -vi 'failed to' || true)
is "$unlike_fail" "" "the evicted Pod's sidecar reports no failure"
no_kstatus_conditions "kstatus wrote no Kratix condition"

# ---- a Job suspended for manual reconciliation: its Pod is deleted mid-run ----
kstatus_failure_events() {
        kubectl get events --field-selector involvedObject.name=example -o json |
                jq '[.items[] | select(.source.component == "kstatus-sidecar" and .type == "Warning"
                        and (.message | test("fail"; "i")))] | length'
}
before=$(kstatus_failure_events)
KX_SUSPEND_JOB=pipeline kx_configure "$(seed_pipeline 1)" "$(seed_pipeline 2)"
is "$?" 2 "the stand-in stops: the Job was suspended"
sidecars_exit_0 "the sidecar of the deleted Pod exits 0"
is "$(kstatus_failure_events)" "$before" "no kstatus Event calls the stopped Pod a failure"
no_kstatus_conditions "kstatus wrote no Kratix condition"
done_testing
