#!/usr/bin/env bash
# PUT (update) of custom resources and of their /status, as kube-apiserver
# answers it: a stale resourceVersion is 409 Conflict, none at all is 422
# (custom resources do not allow unconditional update); real `kubectl
# replace` and `kubectl replace --subresource=status` work. And merge
# patches are applied as kube-apiserver applies them: every vector of
# tests/data/mergepatch/vectors.json (expected results from real kubectl)
# through a /status PATCH.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
cd "$TEST_TMP" || exit 1

start_apiserver || exit 1
apiserver_install_crds
iams=/apis/example.promise.syntasso.io/v1/namespaces/default/iams
kubectl apply -f - >/dev/null <<'YAML'
apiVersion: example.promise.syntasso.io/v1
kind: IAM
metadata: {name: example}
spec: {user: alice}
YAML

kubectl get iam example -o json >v1.json
jq '.spec.user = "bob"' v1.json >v2.json
ok "kubectl replace with the current resourceVersion" kubectl replace -f v2.json
is "$(kubectl get iam example -o jsonpath='{.spec.user}')" "bob" "stored"
out=$(kubectl replace -f v2.json 2>&1)
is "$out" 'Error from server (Conflict): error when replacing "v2.json": Operation cannot be fulfilled on iams.example.promise.syntasso.io "example": the object has been modified; please apply your changes to the latest version and try again' \
        "a stale resourceVersion: 409 worded as kube-apiserver"

kubectl get iam example -o json | jq '.status = {"message":"hello","x":{"y":1}} | .spec.user = "mallory"' >s.json
ok "kubectl replace --subresource=status" kubectl replace --subresource=status -f s.json
is "$(kubectl get iam example -o json | jq -c '[.spec.user, .status]')" '["bob",{"message":"hello","x":{"y":1}}]' \
        "a status PUT changes only status"
out=$(kubectl replace --subresource=status -f s.json 2>&1)
like "$out" 'Error from server \(Conflict\).*Operation cannot be fulfilled on iams.example.promise.syntasso.io "example": the object has been modified' \
        "a stale status PUT: 409"
kubectl get iam example -o json | jq '.status.message = "no"' >m.json
ok "kubectl replace of the main resource with a status" kubectl replace -f m.json
is "$(kubectl get iam example -o jsonpath='{.status.message}')" "hello" "a main-resource PUT never changes status"

kubectl get iam example -o json | jq 'del(.metadata.resourceVersion)' >norv.json
code=$(apiserver_curl -o body.json -w '%{http_code}' -X PUT -H 'Content-Type: application/json' --data @norv.json "$iams/example")
is "$code $(jq -r .message body.json)" \
        '422 IAM.example.promise.syntasso.io "example" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update' \
        "a PUT without a resourceVersion: 422 as kube-apiserver"
code=$(apiserver_curl -o body.json -w '%{http_code}' -X PUT -H 'Content-Type: application/json' --data @norv.json "$iams/example/status")
is "$code" "422" "a /status PUT without a resourceVersion: 422"

# ---- merge patches as kube-apiserver applies them ----
vectors=$KSTATUS_SOURCE_DIR/tests/data/mergepatch/vectors.json
n=$(jq length "$vectors")
for i in $(seq 0 $((n - 1))); do
        name=$(jq -r ".[$i].name" "$vectors")
        kubectl get iam example -o json | jq --slurpfile v "$vectors" \
                ".status = \$v[0][$i].doc | if .status == null then del(.status) else . end" >put.json
        apiserver_curl -s -o /dev/null -X PUT -H 'Content-Type: application/json' --data @put.json "$iams/example/status"
        got=$(apiserver_curl -s -X PATCH -H 'Content-Type: application/merge-patch+json' \
                --data "$(jq -c "{status: .[$i].patch}" "$vectors")" "$iams/example/status" | jq -c '.status // null')
        json_is "$got" "$(jq -c ".[$i].expected" "$vectors")" "merge patch as kubectl applies it: $name"
done

# A patch naming another uid (the object was deleted and created again since
# the writer read it) is refused: the uid is immutable (ValidateObjectMetaUpdate).
out=$(kubectl patch iam example --subresource=status --type merge \
        -p '{"metadata":{"uid":"00000000-0000-0000-0000-000000000001"},"status":{"message":"stale"}}' 2>&1)
is "$out" 'The IAM "example" is invalid: metadata.uid: Invalid value: "00000000-0000-0000-0000-000000000001": field is immutable' \
        "a status patch carrying another object's uid is refused as kube-apiserver refuses it"
isnt_stale=$(kubectl get iam example -o jsonpath='{.status.message}')
ok "and nothing of it is stored" test "$isnt_stale" != stale
uid=$(kubectl get iam example -o jsonpath='{.metadata.uid}')
ok "a patch carrying the object's own uid goes through" kubectl patch iam example --subresource=status --type merge \
        -p "{\"metadata\":{\"uid\":\"$uid\"},\"status\":{\"message\":\"fresh\"}}"
done_testing
