#!/usr/bin/env bash
# kubectl kstatus get against the test API server, through kubectl's plugin discovery.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-plugin.sh"
cd "$TEST_TMP" || exit 1
start_apiserver || exit 1
apiserver_install_crds
plugin_fixture || { echo "# fixture failed"; exit 1; }
GOLDEN=$KSTATUS_SOURCE_DIR/tests/data/get

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

# A second resource mid-workflow, a failed one in another namespace, an IAM.
kubectl create namespace team-b >/dev/null
for spec in "default pending" "team-b broken"; do
        # shellcheck disable=SC2086 # "namespace name" splits into $1 and $2
        set -- $spec
        kubectl create -n "$1" -f - >/dev/null <<EOT
apiVersion: example.promise.syntasso.io/v1
kind: Database
metadata: {name: $2}
spec: {}
EOT
done
kubectl patch db pending --subresource=status --type merge -p "{\"status\":{\"message\":\"Pending\",\"conditions\":[
  {\"type\":\"ConfigureWorkflowCompleted\",\"status\":\"False\",\"reason\":\"PipelinesInProgress\",
   \"message\":\"Pipelines are still in progress\",\"lastTransitionTime\":\"$(iso 7190)\"}]}}" >/dev/null
kubectl patch db broken -n team-b --subresource=status --type merge -p "{\"status\":{\"message\":\"Vault unreachable\",
  \"healthRecord\":{\"state\":\"unhealthy\"},\"conditions\":[
  {\"type\":\"ConfigureWorkflowCompleted\",\"status\":\"False\",\"reason\":\"ConfigureWorkflowFailed\",
   \"message\":\"A Configure Pipeline has failed: populate-vault\",\"lastTransitionTime\":\"$(iso 7000)\"}]}}" >/dev/null
kubectl create -f - >/dev/null <<'EOT'
apiVersion: example.promise.syntasso.io/v1
kind: IAM
metadata: {name: example, namespace: default}
spec: {}
EOT

golden table.txt "$(kubectl kstatus get databases)" "get matches the plain golden"
golden table.color.txt "$(kubectl kstatus get databases --color=always)" "get --color=always matches the colour golden"
golden all-namespaces.txt "$(kubectl kstatus get db -A)" "get -A adds NAMESPACE (golden)"
golden wide.txt "$(kubectl kstatus get db -A -o wide)" "get -o wide adds GENERATION and PIPELINES (golden)"
is "$(kubectl kstatus get db example --no-headers)" "example  Database provisioned with size 10Gi  Completed  degraded  120m" \
        "get NAME --no-headers prints the row alone"
is "$(kubectl kstatus get db -o name)" "$(printf 'database.example.promise.syntasso.io/example\ndatabase.example.promise.syntasso.io/pending')" \
        "-o name as kubectl"
is "$(kubectl kstatus get db -o name)" "$(kubectl get db -o name)" "-o name prints what kubectl prints"
json=$(kubectl kstatus get db -A -o kstatus-json)
is "$(jq -r '[.items[] | .namespace + "/" + .name + "=" + .configured] | join(" ")' <<<"$json")" \
        "default/example=Completed default/pending=InProgress team-b/broken=Failed (populate-vault)" "-o kstatus-json rows carry the verdict"
is "$(kubectl kstatus get db -A -o kstatus-yaml | grep -c '^- age:')" 3 "-o kstatus-yaml prints the same rows"
is "$(kubectl kstatus get db -A -o json)" "$(kubectl get db -A -o json)" "-o json prints the API objects as kubectl does"
is "$(kubectl kstatus get db -l team=platform -o name)" "database.example.promise.syntasso.io/example" "-l selects by label"
is "$(kubectl kstatus get db nope 2>&1)" 'Error from server (NotFound): databases.example.promise.syntasso.io "nope" not found' \
        "a missing name is kubectl's NotFound"
fails_with 1 "a missing name exits 1, as kubectl" kubectl kstatus get db nope
is "$(kubectl kstatus get db -n empty 2>&1)" "No resources found in empty namespace." "an empty namespace says so"

# Narrow terminals cut MESSAGE, never the other columns; -o wide never cuts.
narrow=$(COLUMNS=60 kubectl kstatus get db)
is "$(awk '{ if (length($0) > 60) n++ } END { print n+0 }' <<<"$narrow")" 0 "COLUMNS=60: every line fits"
like "$narrow" '^example +Database provisioned\.\.\. +Completed' "the message is cut with ..."
like "$(COLUMNS=60 kubectl kstatus get db -o wide)" 'Database provisioned with size 10Gi' "-o wide never cuts"

# --all-kratix: every Promise's API.
for p in database:databases:Database iam:iams:IAM; do
        IFS=: read -r name plural kind <<<"$p"
        kubectl create -f - >/dev/null <<EOT
apiVersion: platform.kratix.io/v1alpha1
kind: Promise
metadata: {name: $name}
spec:
  api:
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata: {name: $plural.example.promise.syntasso.io}
    spec: {group: example.promise.syntasso.io, names: {kind: $kind, plural: $plural}}
EOT
done
golden all-kratix.txt "$(kubectl kstatus get --all-kratix -A)" "--all-kratix lists every Promise's resources (golden)"

# -w off a terminal: one line per change.
kubectl kstatus get db -w >watch.out 2>watch.err &
wpid=$!
at_exit "kill $wpid 2>/dev/null"
for i in $(seq 1 50); do [ -s watch.out ] && break; sleep 0.1; done
kubectl patch db pending --subresource=status --type merge -p '{"status":{"message":"Creating the database"}}' >/dev/null
kubectl patch db pending --subresource=status --type merge -p '{"status":{"message":"Resource requested"}}' >/dev/null
kubectl delete db pending >/dev/null
for i in $(seq 1 50); do [ "$(wc -l <watch.out)" -ge 6 ] && break; sleep 0.1; done
kill $wpid 2>/dev/null; wait $wpid 2>/dev/null
is "$(wc -l <watch.out)" 6 "-w: the table (header + 2 rows), then one line per change (3)"
like "$(sed -n 4p watch.out)" '^pending +Creating the database +InProgress' "-w: the first change"
like "$(sed -n 5p watch.out)" '^pending +Resource requested ' "-w: the second change"
is "$(grep -c $'\033' watch.out)" 0 "-w off a terminal draws nothing in place"

# -w on a terminal: the table is redrawn in place.
if command -v script >/dev/null; then
        COLUMNS=100 script -qfc "kubectl kstatus get db -w" /dev/null >tty.out 2>&1 &
        tpid=$!
        at_exit "kill $tpid 2>/dev/null"
        for i in $(seq 1 50); do grep -q example tty.out 2>/dev/null && break; sleep 0.1; done
        kubectl patch db example --subresource=status --type merge -p '{"status":{"message":"Redrawn"}}' >/dev/null
        for i in $(seq 1 50); do grep -q Redrawn tty.out && break; sleep 0.1; done
        kill $tpid 2>/dev/null; wait $tpid 2>/dev/null
        like "$(cat -v tty.out)" '\^\[\[2A\^M\^\[\[JNAME ' "-w on a terminal moves up over the table and clears it"
        like "$(cat -v tty.out | tail -n 3)" '^example +Redrawn +Completed' "and draws it again with the change"
fi

create_suspended_iam
like "$(kubectl kstatus get iam suspended --no-headers)" '^suspended +Pending +Suspended \(populate-vault\) ' \
        "CONFIGURED says the workflow is suspended, and by which pipeline"
like "$(kubectl kstatus get iam suspended -o wide --no-headers)" ' 1/2$' "-o wide counts Kratix's pipelines: 1 of 2 succeeded"
is "$(kubectl kstatus get iam suspended -o kstatus-json | jq -r '.items[0].configured')" "Suspended (populate-vault)" \
        "-o kstatus-json carries the verdict"
done_testing
