#!/usr/bin/env bash
# describe/get/wait when things go wrong: kubectl's error lines and exit codes,
# global flags, ambiguous names, big and hostile statuses, thousands of objects.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
cd "$TEST_TMP" || exit 1
start_apiserver || exit 1
apiserver_install_crds
kubectl create -f - >/dev/null <<'EOT'
apiVersion: example.promise.syntasso.io/v1
kind: Database
metadata: {name: example, namespace: default}
spec: {}
EOT

# Not found, unknown types: kubectl's words and exit code (1).
for cmd in describe get; do
        is "$(kubectl kstatus $cmd db nope 2>&1)" "$(kubectl $cmd db nope 2>&1)" "$cmd: NotFound as kubectl words it"
        is "$(kubectl kstatus $cmd frobs 2>&1)" "$(kubectl get frobs 2>&1)" "$cmd: an unknown type as kubectl words it"
        fails_with 1 "$cmd: not found exits 1, as kubectl" kubectl kstatus $cmd db nope
done

# Credentials: 401 from a wrong token, 403 from the server.
for cmd in "1 describe db example" "1 get db" "4 wait db/example --for=delete --timeout=1s"; do
        # shellcheck disable=SC2086
        out=$(kubectl kstatus ${cmd#* } --token=wrong 2>&1); rc=$?
        is "$rc:$out" "${cmd%% *}:error: You must be logged in to the server (Unauthorized)" \
                "$(echo "$cmd" | cut -d' ' -f2): a wrong token is kubectl's 401 line, exit ${cmd%% *}"
done
is "$(kubectl kstatus get db --token=wrong 2>&1)" "$(kubectl get db --token=wrong 2>&1)" "the same line as kubectl for 401"
apiserver_fault '{"verb":"GET","path":"/apis/example.promise.syntasso.io/v1/namespaces/default/databases","code":403,"count":2}'
out=$(kubectl kstatus get db 2>&1); rc=$?
like "$rc:$out" '^1:Error from server' "403 is kubectl's error line, exit 1 as kubectl's"
is "$out" "$(kubectl get db 2>&1)" "the same line as kubectl for 403"
apiserver_clear_faults

# Global flags: --server/--token/--insecure-skip-tls-verify without a kubeconfig, --context, refused connections.
ok "-s, --token, --insecure-skip-tls-verify work without a kubeconfig" \
        env KUBECONFIG="$TEST_TMP/none" kubectl kstatus get db -s "$APISERVER_URL" --token "$APISERVER_TOKEN" --insecure-skip-tls-verify
is "$(kubectl kstatus get db --context nope 2>&1)" "$(kubectl get db --context nope 2>&1)" "--context that does not exist: kubectl's line"
is "$(kubectl kstatus get db -s https://127.0.0.1:1 2>&1)" "$(kubectl get db -s https://127.0.0.1:1 2>&1 | tail -n 1)" \
        "a refused connection: kubectl's line"
fails_with 1 "a refused connection exits 1, as kubectl" kubectl kstatus describe db example -s https://127.0.0.1:1
apiserver_fault '{"verb":"GET","path":"/apis/example.promise.syntasso.io/v1/namespaces/default/databases/example","latencyMs":3000,"count":1}'
out=$(kubectl kstatus describe db example --request-timeout=1s 2>&1); rc=$?
is "$rc" 1 "--request-timeout gives up on a slow server, exit 1"
apiserver_clear_faults
fails_with 1 "an unknown flag exits 1, as kubectl" kubectl kstatus get db --frobnicate
is "$(kubectl kstatus get db --frobnicate 2>&1)" "$(kubectl get db --frobnicate 2>&1 | sed 's/kubectl get/kubectl kstatus get/')" \
        "an unknown flag as kubectl words it"
fails_with 1 "a bad -o exits 1" kubectl kstatus get db -o table
fails_with 1 "--color=sometimes exits 1" kubectl kstatus describe db example --color=sometimes
fails_with 1 "names with -A is an error, exit 1" kubectl kstatus get db example -A

# Ambiguous names: two groups serve the short name "db"; kubectl's warning and choice.
kubectl apply -f - >/dev/null <<'EOT'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: databases.aaa.example.com}
spec:
  group: aaa.example.com
  names: {kind: Database, plural: databases, singular: database, shortNames: [db]}
  scope: Namespaced
  versions:
  - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
EOT
rm -rf "$HOME/.kube/cache" # discovery caches of both, so both see the new group
ours=$(kubectl kstatus get db 2>&1 >/dev/null | grep -i warning)
theirs=$(kubectl get db 2>&1 >/dev/null | grep -i warning | sed 's/^Warning: //; s/^W[0-9]* [0-9:.]* *[0-9]* [a-z_]*\.go:[0-9]*\] //')
like "$ours" 'short name "db"' "an ambiguous short name warns"
like "$ours" "${theirs:-short name}" "with kubectl's words"
is "$(kubectl kstatus get db -o name 2>/dev/null)" "$(kubectl get db -o name 2>/dev/null)" "and picks what kubectl picks"
is "$(kubectl kstatus get databases.example.promise.syntasso.io -o name)" "database.example.promise.syntasso.io/example" \
        "resource.group names one of them"

# Hostile strings: escapes, newlines, C1 controls, 10 000-character lines.
long=$(head -c 10000 /dev/zero | tr '\0' x)
hostile=$(jq -cn --arg long "$long" '{status:{message:"\u001b[31mred\u001b[0m\nsecond line\u009b2J\u0007",
        conditions:[{type:"Ready",status:"False",reason:"Evil\u001b]0;title\u0007",message:$long,
        lastTransitionTime:"2024-08-21T10:30:51Z"}], note:"tab\there"}}')
kubectl patch db example --subresource=status --type merge -p "$hostile" >/dev/null
for cmd in "describe db example" "get db" "get db -o wide" "describe db example -o wide"; do
        # shellcheck disable=SC2086
        out=$(kubectl kstatus $cmd 2>&1)
        is "$(printf '%s' "$out" | LC_ALL=C grep -c $'[\x01-\x08\x0b-\x1f\x7f]')" 0 "$cmd: no control characters reach the terminal"
        is "$(printf '%s' "$out" | LC_ALL=C grep -c $'\xc2\x9b')" 0 "$cmd: no C1 controls either"
done
like "$(kubectl kstatus describe db example)" 'Message: +\\x1b\[31mred\\x1b\[0m\\nsecond line\\xc2\\x9b2J\\x07' "escapes are shown, not obeyed"
like "$(kubectl kstatus describe db example)" "Ready +False +Evil.* x{10000}$" "a 10 000-character message is printed whole off a terminal"
is "$(COLUMNS=80 kubectl kstatus describe db example | awk 'length($0) > 80' | wc -l)" 0 "a terminal of 80 columns cuts it to fit"
is "$(kubectl kstatus describe db example -o json | jq -r '.conditions[0].message | length')" 10000 "-o json keeps the data as it is"

# A status over 1 MiB.
head -c 1200000 /dev/zero | tr '\0' y | jq -Rsc '{status:{message:"big", blob:.}}' >big.json
kubectl patch db example --subresource=status --type merge --patch-file big.json >/dev/null
out=$(kubectl kstatus describe db example -o json); rc=$?
is "$rc:$(jq -r '.status.blob | length' <<<"$out")" "0:1200000" "a status over 1 MiB is shown whole"
like "$(kubectl kstatus get db example)" '^example +big ' "and get lists it"

# Thousands of resources.
N=3000
{
        for i in $(seq 1 $N); do
                printf 'url = "%s/apis/example.promise.syntasso.io/v1/namespaces/default/databases"\n' "$APISERVER_URL"
                printf 'data = "{\\"apiVersion\\":\\"example.promise.syntasso.io/v1\\",\\"kind\\":\\"Database\\",\\"metadata\\":{\\"name\\":\\"db-%05d\\",\\"labels\\":{\\"bulk\\":\\"yes\\"}},\\"spec\\":{}}"\n' "$i"
                printf 'header = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\n' "$APISERVER_TOKEN"
                printf 'cacert = "%s"\nsilent\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' "$APISERVER_CA"
                [ "$i" -lt $N ] && echo next
        done
} >bulk.cfg
is "$(curl -K bulk.cfg | sort | uniq -c | sed 's/^ *//')" "$N 201" "$N resources created"
start=$(date +%s%N)
is "$(kubectl kstatus get db -l bulk=yes --no-headers | wc -l)" $N "get lists $N resources"
echo "# get of $N: $((($(date +%s%N) - start) / 1000000)) ms"
apiserver_reset_counters
start=$(date +%s%N)
is "$(kubectl kstatus describe db -l bulk=yes | grep -c '^Name:')" $N "describe -l describes $N resources"
echo "# describe of $N: $((($(date +%s%N) - start) / 1000000)) ms"
like "$(apiserver_counters | jq -r .total)" '^(1[0-9]|[5-9])$' "with a handful of requests (pages of 500), not one per object"
is "$(kubectl kstatus wait db -l bulk=yes --for=delete --timeout=0 2>&1 | tail -1)" \
        "condition not met for databases/db-0$N" "wait --timeout=0 over $N checks once and names each, in kubectl's words"
done_testing
