#!/usr/bin/env bash
# common/kube against kstatus-test-apiserver over TLS with a bearer token:
# requests, kubectl's error wording (checked against kubectl itself), TLS
# verification, tokenFile, discovery and its disk cache, pagination over one
# connection, watches with resume and relist.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
cd "$TEST_TMP" || exit 1

KC=${KUBE_CLIENT:-$KSTATUS_BUILD_DIR/tests/tools/kube-client} # KUBE_CLIENT: e.g. a valgrind wrapper
start_apiserver --watch-history 10 || exit 1
apiserver_install_crds
DB=/apis/example.promise.syntasso.io/v1/namespaces/default/databases

# ---- requests over TLS with the token ----
out=$("$KC" get /api/v1/namespaces/default 2>err)
is "$(jq -r .metadata.name <<<"$out")" default "GET over TLS with the kubeconfig's CA data and token"
like "$(cat err)" 'requests: 1 connections: 1' "one request, one connection"

for n in a b c d e; do
        printf 'apiVersion: example.promise.syntasso.io/v1\nkind: Database\nmetadata: {name: %s, namespace: default}\nspec: {}\n' $n
        echo ---
done >dbs.yaml
kubectl apply -f dbs.yaml >/dev/null
apiserver_reset_counters
out=$("$KC" list $DB 2 2>err)
is "$(jq -r '[.items[].metadata.name] | join(" ")' <<<"$out")" "a b c d e" "LIST with limit 2 joins three pages"
is "$(apiserver_count GET $DB)" 3 "three LIST requests"
like "$(cat err)" 'requests: 3 connections: 1' "the pages share one connection (keep-alive)"
is "$(jq -r .metadata.continue <<<"$out")" null "the joined list has no continue token"

# ---- errors read like kubectl's ----
want=$(kubectl get db nope 2>&1)
is "$("$KC" get $DB/nope 2>&1 | head -1)" "$want" "NotFound in kubectl's words: $want"
fails_with 1 "a failed GET exits 1" "$KC" get $DB/nope
want=$(kubectl get --raw /nope 2>&1 | tail -1)
is "$("$KC" get /nope 2>&1 | head -1)" "$want" "a 404 without a Status as kubectl words it"
is "$("$KC" patch $DB/a - merge '{"metadata":{"name":"other"}}' 2>&1 | head -1)" \
        "$(kubectl patch db a --type=merge -p '{"metadata":{"name":"other"}}' 2>&1)" "Invalid as kubectl words it"

jq --arg t wrong '.users[0].user.token = $t' <(kubectl config view --raw -o json) >wrong-token.json
is "$(KUBECONFIG=wrong-token.json "$KC" get $DB/a 2>&1 | head -1)" \
        "error: You must be logged in to the server (Unauthorized)" "a wrong token: kubectl's 401 message"
like "$(KUBECONFIG=wrong-token.json "$KC" get $DB/a 2>&1)" '^[^w]*$' "the wrong token is not in the message"

# Refused: port 1 of the loopback, where nothing listens.
jq --arg s "https://127.0.0.1:1" '.clusters[0].cluster.server = $s' <(kubectl config view --raw -o json) >refused.json
want=$(KUBECONFIG=refused.json kubectl get ns 2>&1 | tail -1)
is "$(KUBECONFIG=refused.json "$KC" get /api/v1/namespaces 2>&1 | head -1)" "$want" "connection refused: $want"

# ---- configuration errors, line for line as kubectl prints them ----
for flags in "--context nope" "--user ghost" "--cluster nowhere" "--kubeconfig $TEST_TMP/nonexistent"; do
        # shellcheck disable=SC2086
        is "$("$KC" $flags get /api/v1/namespaces 2>&1 | head -1)" "$(kubectl $flags get ns 2>&1 | tail -1)" \
                "kubectl's words for $flags"
done
jq '.clusters[0].cluster."certificate-authority" = "missing-ca.crt" | del(.clusters[0].cluster."certificate-authority-data")' \
        <(kubectl config view --raw -o json) >missing-ca.json
is "$(KUBECONFIG=missing-ca.json "$KC" get /api/v1/namespaces 2>&1 | head -1)" \
        "$(KUBECONFIG=missing-ca.json kubectl get ns 2>&1 | tail -1)" "kubectl's words for an unreadable CA file"

# ---- TLS verification ----
jq 'del(.clusters[0].cluster."certificate-authority-data")' <(kubectl config view --raw -o json) >no-ca.json
out=$(KUBECONFIG=no-ca.json "$KC" get /api/v1/namespaces/default 2>&1)
like "$out" '^Unable to connect to the server: .*(certificate|SSL)' "without the CA the server is not trusted"
jq '.clusters[0].cluster."insecure-skip-tls-verify" = true' no-ca.json >insecure.json
ok "insecure-skip-tls-verify turns verification off" env KUBECONFIG=insecure.json "$KC" get /api/v1/namespaces/default
cp "$APISERVER_CA" ca.crt
jq '.clusters[0].cluster."certificate-authority" = "ca.crt"' no-ca.json >ca-file.json
ok "certificate-authority as a file, relative to the kubeconfig" env KUBECONFIG=ca-file.json "$KC" get /api/v1/namespaces/default
# No CA in the kubeconfig: the system's trust store, found as kubectl finds it.
ok "no CA in the kubeconfig: \$SSL_CERT_FILE is the trust store (as for kubectl)" \
        env SSL_CERT_FILE=ca.crt KUBECONFIG=no-ca.json "$KC" get /api/v1/namespaces/default
ok "kubectl agrees" env SSL_CERT_FILE=ca.crt KUBECONFIG=no-ca.json kubectl get ns default
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -out other.crt \
        -subj /CN=other-ca -days 1 2>/dev/null
like "$(SSL_CERT_FILE=other.crt KUBECONFIG=no-ca.json "$KC" get /api/v1/namespaces/default 2>&1)" \
        '^Unable to connect to the server: ' "\$SSL_CERT_FILE with another CA: not trusted"
mkdir -p certdir && cp ca.crt certdir/ && openssl rehash certdir 2>/dev/null
ok "\$SSL_CERT_DIR adds a hashed directory of CAs" \
        env SSL_CERT_FILE=other.crt SSL_CERT_DIR=certdir KUBECONFIG=no-ca.json "$KC" get /api/v1/namespaces/default
jq '.clusters[0].cluster."tls-server-name" = "localhost"' ca-file.json >tls-name.json
ok "tls-server-name: verify the certificate for another name than the URL's (localhost)" \
        env KUBECONFIG=tls-name.json "$KC" get /api/v1/namespaces/default
jq '.clusters[0].cluster."tls-server-name" = "not-the-server.example"' ca-file.json >bad-name.json
like "$(KUBECONFIG=bad-name.json "$KC" get /api/v1/namespaces/default 2>&1)" '^Unable to connect to the server: ' \
        "a tls-server-name the certificate does not carry is refused"

# ---- tokenFile, re-read when it changes ----
printf '%s\n' "$APISERVER_TOKEN" >token
jq 'del(.users[0].user.token) | .users[0].user.tokenFile = "token"' <(kubectl config view --raw -o json) >token-file.json
ok "tokenFile" env KUBECONFIG=token-file.json "$KC" get /api/v1/namespaces/default
echo wrong >token
like "$(KUBECONFIG=token-file.json "$KC" get /api/v1/namespaces/default 2>&1)" 'You must be logged in' \
        "tokenFile is read at request time"

# ---- discovery and its cache ----
apiserver_reset_counters
out=$("$KC" resolve db Database databases databases.example.promise.syntasso.io database.v1.example.promise.syntasso.io pods 2>&1)
is "$(grep -c '^example.promise.syntasso.io v1 databases Database namespaced$' <<<"$out")" 5 \
        "db, Database, databases, databases.<group>, database.v1.<group> all map to databases"
like "$out" 'core v1 pods Pod namespaced' "pods in the core group"
first=$(apiserver_counters | jq .total)
like "$first" '^[1-9]' "the first run discovers ($first requests)"
apiserver_reset_counters
out=$("$KC" resolve db pods 2>&1)
like "$out" 'discovery requests: 0' "a second run costs no discovery requests"
is "$(apiserver_counters | jq .total)" 0 "the server saw none"
ls "$HOME"/.kube/cache/kstatus/*/discovery.json >/dev/null 2>&1
ok "the cache lives under ~/.kube/cache/kstatus" test $? = 0
out=$("$KC" resolve foo 2>&1)
is "$(head -1 <<<"$out")" "$(kubectl get foo 2>&1)" "an unknown name, in kubectl's words"
like "$out" "discovery requests: $first" "a miss refreshes the cache once"
KUBECACHEDIR=$TEST_TMP/cache "$KC" resolve db >/dev/null 2>&1
ok "KUBECACHEDIR moves the cache" test -n "$(ls "$TEST_TMP"/cache/kstatus/*/discovery.json 2>/dev/null)"

# Two groups serve "databases" and claim "db": the first group in discovery
# order wins, with kubectl's warning; compared with kubectl itself.
cat >aaa-crd.yaml <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: databases.aaa.example.com}
spec:
  group: aaa.example.com
  names: {kind: Database, listKind: DatabaseList, plural: databases, singular: database, shortNames: [db]}
  scope: Cluster
  versions:
  - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
EOF
kubectl apply -f aaa-crd.yaml >/dev/null
rm -rf "$HOME/.kube/cache/discovery"
kubectl_out=$(kubectl get db -v=6 2>&1)
kubectl_group=$(sed -n 's|.*GET https://[^/]*/apis/\([^/]*\)/v1/.*databases?limit=500.*|\1|p' <<<"$kubectl_out" | head -1)
out=$(KUBECACHEDIR=$TEST_TMP/cache2 "$KC" resolve db 2>&1)
is "$(awk '/ (namespaced|cluster)$/ {print $1}' <<<"$out")" "$kubectl_group" "db resolves to the group kubectl picks ($kubectl_group)"
is "$(grep '^Warning' <<<"$out")" "$(grep '^Warning' <<<"$kubectl_out" | head -1)" "and with kubectl's warning"
is "$(KUBECACHEDIR=$TEST_TMP/cache2 "$KC" resolve databases.aaa.example.com 2>/dev/null | head -1)" \
        "aaa.example.com v1 databases Database cluster" "resource.group picks the other one"

# ---- watch ----
rv=$("$KC" list $DB 0 2>/dev/null | jq -r .metadata.resourceVersion)
watches0=$(apiserver_count GET $DB)
("$KC" --request-timeout 10000 watch $DB "$rv" 2 >watch.out 2>watch.err &
 echo $! >watch.pid)
for _ in $(seq 1 100); do [ "$(apiserver_count GET $DB)" -gt "$watches0" ] && break; sleep 0.1; done
ok "the watch has reached the server" [ "$(apiserver_count GET $DB)" -gt "$watches0" ]
kubectl patch db a --type=merge -p '{"spec":{"n":1}}' >/dev/null
kubectl delete db b >/dev/null
for i in $(seq 1 100); do grep -q connects watch.out && break; sleep 0.1; done
is "$(head -2 watch.out | tr '\n' ,)" "MODIFIED a,DELETED b," "a watch from a resourceVersion streams what changed"

# The server keeps 10 events: watching from the old resourceVersion is 410 Gone → relist.
for i in $(seq 1 12); do kubectl patch db c --type=merge -p "{\"spec\":{\"n\":$i}}" >/dev/null; done
"$KC" --request-timeout 10000 watch $DB "$rv" 2 >relist.out 2>relist.err &
wpid=$!
for i in $(seq 1 50); do grep -q RELIST relist.out && break; sleep 0.1; done
kubectl patch db d --type=merge -p '{"spec":{"n":1}}' >/dev/null
wait $wpid
is "$(head -2 relist.out | tr '\n' ,)" "RELIST list,MODIFIED d," "410 Gone: relist, then watch on from the list"
is "$(sed -n 's/^connects: //p' relist.out)" 2 "the watch connected twice (before and after the relist)"

done_testing
