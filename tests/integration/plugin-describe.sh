#!/usr/bin/env bash
# kubectl kstatus describe against the test API server, through kubectl's plugin discovery.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-plugin.sh"
cd "$TEST_TMP" || exit 1
start_apiserver || exit 1
apiserver_install_crds
plugin_fixture || { echo "# fixture failed"; exit 1; }
GOLDEN=$KSTATUS_SOURCE_DIR/tests/data/describe

# golden NAME GOT DESCRIPTION: GOT must be the golden file. With
# KSTATUS_UPDATE_GOLDEN set, a file that differs is rewritten and the check
# still fails once (review the diff, run again): it never passes by comparing
# the new file with itself.
golden() {
        if [ -n "${KSTATUS_UPDATE_GOLDEN:-}" ] && [ "$2" != "$(cat "$GOLDEN/$1" 2>/dev/null)" ]; then
                printf '%s\n' "$2" >"$GOLDEN/$1"
                _tap_result 1 "$3" "$1 updated: review the diff, then run again without KSTATUS_UPDATE_GOLDEN"
                return
        fi
        is "$2" "$(cat "$GOLDEN/$1")" "$3"
}

out=$(kubectl kstatus describe database/example)
golden live.txt "$out" "describe matches the plain golden (tests/data/describe/live.txt)"
golden live.color.txt "$(kubectl kstatus describe database/example --color=always)" \
        "describe --color=always matches the colour golden"
for form in "db example" "databases example" "Database example" "databases.example.promise.syntasso.io example" \
        "database.v1.example.promise.syntasso.io/example" "db/example -n default"; do
        # shellcheck disable=SC2086
        is "$(kubectl kstatus describe $form)" "$out" "describe $form names the same object"
done
is "$(kubectl kstatus describe db/example | grep -c $'\033')" 0 "no colour when stdout is not a terminal"
is "$(NO_COLOR="" kubectl kstatus describe db/example --color=auto | grep -c $'\033')" 0 "--color=auto off a terminal: no colour"
like "$(kubectl kstatus describe db/example --absolute-time)" "ConfigureWorkflowCompleted +True +PipelinesExecutedSuccessfully +$(iso 7050)" \
        "--absolute-time prints the transition time"
like "$out" 'Workflow: +configure workflow completed 3m ago' "the workflow verdict in words"
like "$out" 'Health: +healthy \(from live HealthRecords\)' "health comes from the live HealthRecords"
like "$out" 'Pod/kratix-database-example-populate-vault-abcde +Failed .*FAILED: container populate-vault: Error \(exit code 2\)' \
        "the failing pipeline Pod is called out with its container's exit reason"
is "$(grep -c kratix-cache <<<"$out")" 0 "a Pod of another Promise's resource with the same name is not related"
like "$out" 'Warning +StatusRefused +3m50s +kstatus-sidecar +status.yaml:3:7' "events as kubectl describe shows them"

json=$(kubectl kstatus describe db/example -o json)
is "$(jq -r '[.kind, .name, .namespace, .workflow.state, .health.state, .health.source] | join(" ")' <<<"$json")" \
        "Database example default Completed healthy records" "-o json: the documented model"
is "$(jq -r '[.related[] | .kind + "/" + .name + ":" + (.failed|tostring)] | join(" ")' <<<"$json")" \
        "Pod/kratix-database-example-create-db-abcde:false Pod/kratix-database-example-populate-vault-abcde:true" \
        "-o json: related Pods with their verdict"
is "$(jq -r '[.events[].reason] | join(" ")' <<<"$json")" "PipelineStarted StatusRefused" "-o json: events, oldest first"
is "$(jq -r '.status.connection.port' <<<"$json")" 5432 "-o json: the rest of the status"
is "$(kubectl kstatus describe db/example -o yaml | grep -c '^workflow:')" 1 "-o yaml prints the same model"
json_is "$(kubectl kstatus describe db/example -o yaml | python3 -c 'import sys,yaml,json; print(json.dumps(yaml.safe_load(sys.stdin)))' 2>/dev/null || echo "$json")" \
        "$json" "-o yaml and -o json carry the same data"
is "$(kubectl kstatus describe db/example --show-events=false | grep -c '^Events:')" 0 "--show-events=false leaves Events out"

# Requests: one GET and four LISTs, no discovery once the cache is warm.
apiserver_reset_counters
kubectl kstatus describe db/example >/dev/null
counters=$(apiserver_counters)
is "$(jq -r .total <<<"$counters")" 6 "describe of one object makes 6 requests (object, records, jobs, pods, works, events; no Works: no WorkPlacements or Destinations)"
is "$(jq -r '[.requests | keys[] | select(test("^GET /apis?$|^GET /apis/[^/]+/[^/]+$|^GET /api/v1$"))] | length' <<<"$counters")" 0 \
        "no discovery requests on a warm cache"

# Many at once, by selector: still one LIST per kind.
kubectl create -f - >/dev/null <<'EOT'
apiVersion: example.promise.syntasso.io/v1
kind: Database
metadata: {name: bare, namespace: default, labels: {team: platform}}
spec: {}
EOT
apiserver_reset_counters
many=$(kubectl kstatus describe databases -l team=platform)
is "$(grep -c '^Name:' <<<"$many")" 2 "describe -l describes every match"
is "$(apiserver_counters | jq -r .total)" 6 "describe -l makes 6 requests whatever the count"
bare=$(kubectl kstatus describe db bare)
like "$bare" $'Message: +<none>' "a resource with no status says <none>"
like "$bare" 'Workflow: +no configure workflow has reported yet' "and that no workflow reported"
is "$(kubectl kstatus describe db bare -o json | jq -c '[.conditions, .pipelines, .related, .status]')" '[[],[],[],{}]' \
        "-o json of a resource with no status has empty sections"
is "$(kubectl kstatus describe databases -A -l team=platform -o json | jq -r '.kind + " " + (.items|length|tostring)')" \
        "DescribeList 2" "several objects print as a DescribeList"
is "$(kubectl kstatus describe db -l team=nobody 2>&1)" "No resources found in default namespace." "no match says so, as kubectl"

create_suspended_iam
sus=$(kubectl kstatus describe iam suspended)
like "$sus" 'Workflow: +configure workflow suspended by pipeline populate-vault, retry in 5m' \
        "the workflow is suspended, not in progress, with the retry"
like "$sus" 'Suspended: +by pipeline populate-vault \("vault is sealed"\), next retry in 5m \(attempt 3\); labelled kratix.io/workflow-suspended=true' \
        "the suspension is called out: pipeline, message, retry, attempt, Kratix's label"
like "$sus" 'populate-vault +Suspended +3m50s +3 +in 5m +vault is sealed' "the pipeline row shows phase, attempts and next retry"
like "$(kubectl kstatus describe iam suspended --absolute-time)" "next retry at $(iso 7530) \(attempt 3\)" \
        "--absolute-time shows when"
is "$(kubectl kstatus describe iam suspended -o json | jq -c '[.workflow.state, .suspended.pipeline, .suspended.attempts, .suspended.label]')" \
        '["Suspended","populate-vault",3,true]' "-o json: the suspension in the model"
done_testing
