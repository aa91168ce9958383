#!/usr/bin/env bash
# Hostile names and namespaces, as kubectl treats them: a name that would
# change the request's path is refused before any request (kubectl's words),
# `-n ''` means the kubeconfig's namespace, and the access log shows what
# reached the server.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
cd "$TEST_TMP" || exit 1
start_apiserver || exit 1
apiserver_install_crds
kubectl create namespace team >/dev/null
kubectl create -f - >/dev/null <<'EOT'
apiVersion: example.promise.syntasso.io/v1
kind: Database
metadata: {name: in-team, namespace: team}
spec: {}
EOT
DB=/apis/example.promise.syntasso.io/v1

# ---- names that would change the URL's path ----
hostile_ns='default/databases/example/status?x='
mark=$(apiserver_mark)
want=$(kubectl get db -n "$hostile_ns" 2>&1)
like "$want" 'may not contain' "kubectl refuses the namespace: $want"
got=$(kubectl kstatus get db -n "$hostile_ns" 2>&1)
is "$got" "error: $want" "get: a namespace with '/' refused in kubectl's words"
kubectl get db -n "$hostile_ns" >/dev/null 2>&1; want_rc=$?
kubectl kstatus get db -n "$hostile_ns" >/dev/null 2>&1; got_rc=$?
is "$got_rc" "$want_rc" "get: the refused namespace exits $want_rc as kubectl's get does"
for ns in .. 'a%2fb' 'a%/b'; do
        want=$(kubectl get db -n "$ns" 2>&1)
        is "$(kubectl kstatus describe db -n "$ns" 2>&1)" "error: $want" "describe: namespace \"$ns\" refused as kubectl does"
done
for name in .. . 'a%2Fb'; do
        is "$(kubectl kstatus get db "$name" 2>&1)" "$(kubectl get db "$name" 2>&1)" \
                "get: name \"$name\" refused as kubectl does"
done
is "$(kubectl kstatus wait db/.. --for=condition=Ready --timeout=1s 2>&1)" \
        "$(kubectl wait db/.. --for=condition=Ready --timeout=1s 2>&1)" "wait: name \"..\" refused as kubectl does"
is "$(tail -n +"$((mark + 1))" "$APISERVER_ACCESS_LOG" | grep -c "/namespaces/")" 0 \
        "no request was sent for a refused name"
# A name kubectl accepts is escaped, not refused: '?' stays in the path.
mark=$(apiserver_mark)
is "$(kubectl kstatus get db 'x?y' 2>&1)" "$(kubectl get db 'x?y' 2>&1)" "a name with '?' is a NotFound, as kubectl's"
like "$(tail -n +"$((mark + 1))" "$APISERVER_ACCESS_LOG")" "$DB/namespaces/default/databases/x[?]y 404" \
        "the name with '?' stayed in the path"

# ---- -n '' is the kubeconfig's namespace ----
kubectl config set-context --current --namespace=team >/dev/null
is "$(kubectl kstatus get db -n '' -o name 2>&1)" "$(kubectl get db -n '' -o name 2>&1)" "get -n '': the context's namespace, as kubectl"
like "$(kubectl kstatus get db -n '' -o name 2>&1)" in-team "get -n '' lists the context's namespace (team)"

done_testing
