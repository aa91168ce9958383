#!/usr/bin/env bash
# The seed's two pipelines beside the Kratix stand-in: Kratix's controller and
# status-writer write what they write, kstatus-sidecar runs in each Pod (auto
# mode: it sees status-writer and leaves Kratix's conditions alone), and the
# end state is the seed's, with iam.user surviving status-writer's shallow merge.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-sidecar.sh"
. "$(dirname "$0")/lib-kratix.sh"

kratix_setup

kubectl wait iam/example --for=condition=ConfigureWorkflowCompleted --timeout=60s >"$TEST_TMP/wait.out" 2>&1 &
wait_pid=$!
kx_configure "$(seed_pipeline 1)" "$(seed_pipeline 2)"
is "$?" 0 "the stand-in runs both pipelines to completion"
wait "$wait_pid"
is "$?" 0 "kubectl wait --for=condition=ConfigureWorkflowCompleted returns"
is "$(cat "$TEST_TMP/wait.out")" "iam.example.promise.syntasso.io/example condition met" "kubectl wait says condition met"

status=$(kratix_status)
json_is "$(jq -c '{iam, message}' <<<"$status")" \
        '{"iam":{"password":"<vault-ref>","user":"admin"},"message":"User created and vault secret created"}' \
        "the end status is the seed's: iam.user survives status-writer's shallow merge, the last message wins"
json_is "$(jq -c '[.conditions[] | {type, status, reason, message}]' <<<"$status")" '[
  {"type":"ConfigureWorkflowCompleted","status":"True","reason":"PipelinesExecutedSuccessfully","message":"Pipelines completed"},
  {"type":"Reconciled","status":"True","reason":"Reconciled","message":"Reconciled"},
  {"type":"WorksSucceeded","status":"True","reason":"WorksSucceeded","message":"All works associated with this resource are ready"}]' \
        "Kratix's conditions, as Kratix writes them"
is "$(jq -c '[.conditions[] | keys | length] | unique' <<<"$status")" "[5]" \
        "every condition has exactly Kratix's five fields (nothing the schema would prune)"
json_is "$(jq -c '{workflows, workflowsSucceeded, workflowsFailed, observedGeneration,
        phases: [.kratix.workflows.pipelines[] | [.name, .phase]]}' <<<"$status")" \
        '{"workflows":2,"workflowsSucceeded":2,"workflowsFailed":0,"observedGeneration":1,
          "phases":[["create-user","Succeeded"],["populate-vault","Succeeded"]]}' \
        "Kratix's counters and pipeline phases are Kratix's"
like "$(kubectl get iam example)" 'example +User created and vault secret created +Reconciled' \
        "kubectl get: MESSAGE from the last pipeline, STATUS from Kratix's Reconciled condition"

for rc in "$KX_DIR"/pods/*/sidecar.rc; do
        is "$(cat "$rc")" 0 "the sidecar in $(basename "$(dirname "$rc")") exits 0"
done
is "$(kratix_count_writes status-writer PUT 409)" 0 "status-writer's PUT never meets a 409"
is "$(kratix_count_writes status-writer PUT 200 /status)" 2 "status-writer wrote once per pipeline, first time"

report=$(kratix_writers)
is "$(jq -c .kstatus_condition_changes <<<"$report")" "[]" "kstatus changed no Kratix condition"
is "$(jq -c .kstatus_kratix_key_changes <<<"$report")" "[]" "kstatus changed no Kratix-owned key"
# Kratix resets message to Pending at every pipeline start, whoever wrote it: by design, not a fight.
is "$(jq -c '[.change_backs[] | select(.writer == "kratix" and . != {writer: "kratix", path: ["message"], value: "Pending"})]' \
        <<<"$report")" "[]" "no Kratix writer had to set a value back after kstatus (but the message reset)"
is "$(jq -c '[.change_backs[] | select(.writer == "kstatus") | .path]' <<<"$report")" '[["iam","user"]]' \
        "kstatus's only change back is the final write's repair of iam.user"
ok "kstatus pushed live while the pipelines ran" test "$(jq .kstatus_writes <<<"$report")" -ge 4
echo "# writers: $(jq -c '{versions, kstatus_writes, kratix_writes}' <<<"$report")"

is "$(kubectl get works -o name | sort | tr '\n' ' ')" \
        "work.platform.kratix.io/iam-example-create-user work.platform.kratix.io/iam-example-populate-vault " \
        "work-writer wrote a Work per pipeline"
like "$(kubectl get workplacements)" 'iam-example-create-user\.default-worker-1' "each scheduled by a WorkPlacement"
out=$(kubectl kstatus describe iam/example 2>&1)
like "$out" 'create-user +Succeeded' "describe shows Kratix's pipeline phases"
done_testing
