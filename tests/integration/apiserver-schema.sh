#!/usr/bin/env bash
# kstatus-test-apiserver enforces a CRD's structural schema as kube-apiserver
# does, checked with real kubectl: unknown fields pruned (kept under
# x-kubernetes-preserve-unknown-fields, typed fields below it still pruned),
# bad values refused with a 422 worded as kube-apiserver words it (the
# expected texts are written from k8s.io/kube-openapi's and apimachinery's
# messages, not from the server), a /status write changing only status and a
# main-resource write never changing it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
cd "$TEST_TMP" || exit 1

start_apiserver || exit 1
ok "the Widget CRD applies" kubectl apply -f "$KSTATUS_SOURCE_DIR/tests/data/schema-widgets.yaml"
widgets=/apis/test.kstatus.io/v1/namespaces/default/widgets

# ---- pruning ----
cat >w.yaml <<'YAML'
apiVersion: test.kstatus.io/v1
kind: Widget
metadata: {name: w, labels: {app: x}}
spec:
  size: small
  unknown: dropped
  typed: {a: kept, extra: dropped}
  free: {anything: {deep: kept}, typedChild: {b: true, extra: dropped}}
  labels: {k: v}
  template:
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: t}
    junk: dropped
    spec: {x: kept, y: dropped}
  plain: null
status: {message: ignored on create}
YAML
# --validate=false: kubectl's default (Strict) asks a real server to refuse
# unknown fields; pruning is what happens without it.
ok "kubectl apply of a Widget with unknown fields" kubectl apply --validate=false -f w.yaml
kubectl get widget w -o json >w.json
json_is "$(jq -c .spec w.json)" \
        '{"size":"small","typed":{"a":"kept"},"free":{"anything":{"deep":"kept"},"typedChild":{"b":true}},
          "labels":{"k":"v"},"mode":"auto","template":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"t"},"spec":{"x":"kept"}}}' \
        "unknown fields pruned at any depth, preserve-unknown-fields kept, a non-nullable null dropped, a default set"
is "$(jq -c .status w.json)" "null" "create ignores status"
is "$(jq -r .metadata.labels.app w.json)" "x" "metadata is not pruned by the schema"

# ---- a /status write changes only status ----
ok "kubectl patch --subresource=status" kubectl patch widget w --subresource=status --type merge \
        -p '{"spec":{"size":"large"},"status":{"message":"hi","observedGeneration":1,"extra":{"a":1},
             "conditions":[{"type":"Ready","status":"True","reason":"R","message":"m",
                            "lastTransitionTime":"2024-05-01T10:00:00Z","observedGeneration":1}]}}'
kubectl get widget w -o json >w.json
is "$(jq -r .spec.size w.json)" "small" "a status write does not change spec"
json_is "$(jq -c .status w.json)" \
        '{"message":"hi","observedGeneration":1,"extra":{"a":1},
          "conditions":[{"type":"Ready","status":"True","reason":"R","message":"m","lastTransitionTime":"2024-05-01T10:00:00Z"}]}' \
        "status stored, a condition's unknown observedGeneration pruned, other status keys kept"
ok "kubectl patch of the main resource" kubectl patch widget w --type merge -p '{"spec":{"size":"large"},"status":{"message":"nope"}}'
kubectl get widget w -o json >w.json
is "$(jq -r .spec.size w.json)/$(jq -r .status.message w.json)" "large/hi" "a main-resource write changes spec, never status"

# ---- validation: kubectl prints kube-apiserver's words ----
out=$(kubectl patch widget w --subresource=status --type merge -p '{"status":{"message":5}}' 2>&1)
is "$out" 'The Widget "w" is invalid: status.message: Invalid value: "integer": status.message in body must be of type string: "integer"' \
        "a wrongly typed status value: 422 worded as kube-apiserver"
code=$(apiserver_curl -o body.json -w '%{http_code}' -X PATCH -H 'Content-Type: application/merge-patch+json' \
        --data '{"status":{"message":5}}' "$widgets/w/status")
is "$code $(jq -r '.reason + " " + (.details.causes[0] | .reason + " " + .field)' body.json)" \
        "422 Invalid FieldValueTypeInvalid status.message" "as a 422 Invalid Status with details.causes"
is "$(jq -r .message body.json)" \
        'Widget.test.kstatus.io "w" is invalid: status.message: Invalid value: "integer": status.message in body must be of type string: "integer"' \
        "the Status message names the kind with its group"

apiserver_curl -o body.json -X PATCH -H 'Content-Type: application/merge-patch+json' \
        --data '{"status":{"message":true,"observedGeneration":"one"}}' "$widgets/w/status"
like "$(jq -r .message body.json)" '^Widget.test.kstatus.io "w" is invalid: \[.*, .*\]$' "several errors aggregate as [a, b]"
is "$(jq -r '[.details.causes[].message] | sort | join("\n")' body.json)" \
        'Invalid value: "boolean": status.message in body must be of type string: "boolean"
Invalid value: "string": status.observedGeneration in body must be of type integer: "string"' "one cause per error"
out=$(kubectl patch widget w --subresource=status --type merge -p '{"status":{"message":true,"observedGeneration":"one"}}' 2>&1)
like "$out" '^The Widget "w" is invalid: $' "kubectl prints several causes one a line (header)"
like "$out" '\* status.observedGeneration: Invalid value: "string": status.observedGeneration in body must be of type integer: "string"' \
        "kubectl prints several causes one a line (a cause)"

bad() { # PATCH-BODY WANT DESCRIPTION: kubectl patch of the main resource fails with WANT
        local out
        out=$(kubectl patch widget w --type merge -p "$1" 2>&1)
        is "$out" "The Widget \"w\" is invalid: $2" "$3"
}
bad '{"spec":{"size":"huge"}}' 'spec.size: Unsupported value: "huge": supported values: "small", "large"' "enum"
bad '{"spec":{"size":null}}' 'spec.size: Required value' "required"
bad '{"spec":{"since":"yesterday"}}' \
        'spec.since: Invalid value: "yesterday": spec.since in body must be of type date-time: "yesterday"' "format date-time"
ok "a date-time with a fraction and an offset" kubectl patch widget w --type merge -p '{"spec":{"since":"2024-05-01T10:00:00.5+02:00"}}'
# kube-openapi's typeValidator checks a non-string against the format first:
# a float64 is not an int32.
bad '{"spec":{"count":1.5}}' 'spec.count: Invalid value: "float64": spec.count in body must be of type int32: "float64"' \
        "an integer with a format"
ok "an integer where a number is asked" kubectl patch widget w --type merge -p '{"spec":{"ratio":2,"count":3}}'
bad '{"spec":{"port":true}}' \
        'spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"' "int-or-string"
ok "int-or-string takes both" kubectl patch widget w --type merge -p '{"spec":{"port":"http"}}'
bad '{"spec":{"labels":{"k":1}}}' 'spec.labels.k: Invalid value: "integer": spec.labels.k in body must be of type string: "integer"' \
        "additionalProperties"
bad '{"spec":{"template":{"kind":null}}}' 'spec.template.kind: Required value' "an embedded resource needs a kind"
bad '{"status":{},"spec":{"typed":"flat"}}' 'spec.typed: Invalid value: "string": spec.typed in body must be of type object: "string"' \
        "an object"
out=$(kubectl patch widget w --subresource=status --type merge -p '{"status":{"conditions":[{"type":"A"}]}}' 2>&1)
is "$out" 'The Widget "w" is invalid: status.conditions[0].status: Required value' "required inside a list item"

# A PUT body with null for a nullable field keeps it; for a non-nullable one it is dropped.
kubectl get widget w -o json | jq '.spec.note = null | .spec.plain = null' >put.json
ok "kubectl replace with nulls" kubectl replace -f put.json
is "$(kubectl get widget w -o json | jq -c '[.spec | has("note"), has("plain")]')" "[true,false]" \
        "nullable null kept, non-nullable null dropped"

is "$(kubectl get widget w -o json | jq -c '[.spec.size, .status.message]')" '["large","hi"]' "nothing refused was stored"
done_testing
