#!/usr/bin/env bash
# kstatus-test-apiserver error classes: malformed bodies, unknown kinds,
# oversized bodies, invalid names, bad patches, stale resourceVersions and
# malformed CRDs get the status codes and Status bodies the real server gives.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
cd "$TEST_TMP" || exit 1

start_apiserver || exit 1
apiserver_install_crds
dbs=/apis/example.promise.syntasso.io/v1/namespaces/default/databases

# request METHOD PATH [curl args...]: prints "CODE REASON" and keeps the body in body.json.
request() {
        local method=$1 path=$2; shift 2
        local code
        code=$(apiserver_curl -o body.json -w '%{http_code}' -X "$method" "$@" "$path")
        printf '%s %s' "$code" "$(jq -r '.reason // empty' body.json 2>/dev/null)"
}
json=(-H 'Content-Type: application/json')
merge=(-H 'Content-Type: application/merge-patch+json')
jpatch=(-H 'Content-Type: application/json-patch+json')

db='{"apiVersion":"example.promise.syntasso.io/v1","kind":"Database","metadata":{"name":"orders"},"spec":{}}'
is "$(request POST $dbs "${json[@]}" --data "$db")" "201 " "a good create is 201"

# ---- malformed bodies ----
is "$(request POST $dbs "${json[@]}" --data '{"apiVersion": ')" "400 BadRequest" "truncated JSON is 400 BadRequest"
is "$(jq -r .kind body.json)/$(jq -r .status body.json)/$(jq -r .code body.json)" "Status/Failure/400" "as a Status object"
is "$(request POST $dbs "${json[@]}" --data '[1,2]')" "400 BadRequest" "a JSON array is 400"
is "$(request POST $dbs "${json[@]}" --data '{"apiVersion":"example.promise.syntasso.io/v1","kind":"IAM","metadata":{"name":"x"}}')" \
        "400 BadRequest" "a body of another kind is 400"
is "$(request POST $dbs "${json[@]}" --data '{"apiVersion":"v1","kind":"Database","metadata":{"name":"x"}}')" \
        "400 BadRequest" "a body of another apiVersion is 400"
is "$(request POST /api/v1/namespaces/default/configmaps -H 'Content-Type: application/vnd.kubernetes.protobuf' --data 'nonsense')" \
        "415 UnsupportedMediaType" "an undecodable protobuf body is 415"

# ---- unknown kinds and paths ----
is "$(request GET /apis/example.promise.syntasso.io/v1/namespaces/default/widgets)" "404 NotFound" "an unknown resource is 404"
is "$(jq -r .message body.json)" "the server could not find the requested resource" "with the real server's message"
is "$(request GET /apis/nosuch.example.com/v1)" "404 NotFound" "an unknown group/version is 404"
is "$(request GET /api/v1/namespaces/default/databases)" "404 NotFound" "a kind in the wrong group is 404"
is "$(request GET /apis/platform.kratix.io/v1alpha1/namespaces/default/promises)" "404 NotFound" \
        "a cluster-scoped kind under a namespace is 404"
is "$(request GET $dbs/orders/scale)" "404 NotFound" "an unknown subresource is 404"
is "$(request GET /apis/platform.kratix.io/v1alpha1/namespaces/default/healthrecords/x/status)" "404 NotFound" \
        "/status of a kind without the status subresource is 404"
is "$(request GET $dbs/missing)" "404 NotFound" "a missing object is 404"
is "$(jq -c '{message, details}' body.json)" \
        '{"message":"databases.example.promise.syntasso.io \"missing\" not found","details":{"name":"missing","group":"example.promise.syntasso.io","kind":"databases"}}' \
        "NotFound names the resource like the real server"
cat >widget.yaml <<'EOF'
apiVersion: example.promise.syntasso.io/v1
kind: Widget
metadata:
  name: w
EOF
like "$(kubectl apply -f widget.yaml 2>&1)" 'no matches for kind "Widget" in version "example.promise.syntasso.io/v1"' \
        "kubectl apply of an unknown kind: no matches for kind"

# ---- oversized bodies ----
head -c $((3 * 1024 * 1024 + 10)) /dev/zero | tr '\0' 'a' >big.txt
is "$(request POST $dbs "${json[@]}" --data-binary @big.txt)" "413 RequestEntityTooLarge" "a body over 3 MiB is 413"
is "$(jq -r .message body.json)" "Request entity too large: limit is 3145728" "with the real server's message"

# ---- invalid names ----
bad='{"apiVersion":"example.promise.syntasso.io/v1","kind":"Database","metadata":{"name":"Bad_Name"},"spec":{}}'
is "$(request POST $dbs "${json[@]}" --data "$bad")" "422 Invalid" "an invalid name is 422 Invalid"
is "$(jq -r '.details.causes[0].field + " " + .details.causes[0].reason + " " + .details.kind' body.json)" \
        "metadata.name FieldValueInvalid Database" "with a cause naming metadata.name"
cat >bad.yaml <<'EOF'
apiVersion: example.promise.syntasso.io/v1
kind: Database
metadata:
  name: Bad_Name
spec: {}
EOF
is "$(kubectl create -f bad.yaml 2>&1)" "The Database \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')" \
        "kubectl prints the real server's invalid-name message"
long=$(printf 'a%.0s' $(seq 1 254))
is "$(request POST $dbs "${json[@]}" --data "{\"apiVersion\":\"example.promise.syntasso.io/v1\",\"kind\":\"Database\",\"metadata\":{\"name\":\"$long\"}}")" \
        "422 Invalid" "a name over 253 characters is 422"
is "$(request POST /api/v1/namespaces "${json[@]}" --data '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a.b"}}')" \
        "422 Invalid" "a namespace name must be a DNS label"
is "$(request POST $dbs "${json[@]}" --data '{"apiVersion":"example.promise.syntasso.io/v1","kind":"Database","metadata":{}}')" \
        "422 Invalid" "a missing name is 422"
is "$(jq -r .details.causes[0].message body.json)" "Required value: name or generateName is required" "Required value"
is "$(request POST $dbs "${json[@]}" --data '{"apiVersion":"example.promise.syntasso.io/v1","kind":"Database","metadata":{"generateName":"gen-"}}')" \
        "201 " "generateName makes a name"
like "$(jq -r .metadata.name body.json)" '^gen-[a-z0-9]{5}$' "gen- plus five characters"
is "$(request POST $dbs "${json[@]}" --data '{"apiVersion":"example.promise.syntasso.io/v1","kind":"Database","metadata":{"name":"x","namespace":"other"}}')" \
        "400 BadRequest" "a namespace that differs from the URL's is 400"

# ---- conflicts ----
is "$(request POST $dbs "${json[@]}" --data "$db")" "409 AlreadyExists" "creating twice is 409 AlreadyExists"
is "$(jq -r .message body.json)" 'databases.example.promise.syntasso.io "orders" already exists' "AlreadyExists message"
apiserver_curl -f "$dbs/orders" >cur.json
stale=$(jq -c '.metadata.resourceVersion = "1" | .spec.size = "big"' cur.json)
is "$(request PUT $dbs/orders "${json[@]}" --data "$stale")" "409 Conflict" "a PUT with a stale resourceVersion is 409"
is "$(jq -r .message body.json)" \
        'Operation cannot be fulfilled on databases.example.promise.syntasso.io "orders": the object has been modified; please apply your changes to the latest version and try again' \
        "with the real server's Conflict message"
is "$(request PATCH $dbs/orders "${merge[@]}" --data '{"metadata":{"resourceVersion":"1"},"spec":{"a":1}}')" "409 Conflict" \
        "a merge patch with a stale resourceVersion is 409"
is "$(request PUT $dbs/orders "${json[@]}" --data "$(jq -c 'del(.metadata.resourceVersion) | .spec.size = "big"' cur.json)")" \
        "422 Invalid" "a PUT without resourceVersion on a custom resource is 422"
is "$(request PUT $dbs/orders "${json[@]}" --data "$(jq -c '.spec.size = "big"' cur.json)")" "200 " \
        "a PUT with the current resourceVersion succeeds"
is "$(request PUT $dbs/orders "${json[@]}" --data "$(jq -c '.spec.size = "huge"' cur.json)")" "409 Conflict" \
        "the same resourceVersion is stale after that write"
kubectl get db orders -o yaml >orders.yaml
kubectl patch db orders --type merge -p '{"spec":{"size":"x"}}' >/dev/null
like "$(kubectl replace -f orders.yaml 2>&1)" 'Error from server \(Conflict\): error when replacing "orders.yaml": Operation cannot be fulfilled on databases.example.promise.syntasso.io "orders"' \
        "kubectl replace with a stale object reports the Conflict"

# ---- bad patches ----
is "$(request PATCH $dbs/orders "${merge[@]}" --data '{"spec":')" "400 BadRequest" "a merge patch that is not JSON is 400"
is "$(request PATCH $dbs/orders "${merge[@]}" --data '[1]')" "400 BadRequest" "a merge patch that is not an object is 400"
is "$(request PATCH $dbs/orders "${jpatch[@]}" --data '{"op":"add"}')" "400 BadRequest" "a JSON patch that is not a list is 400"
is "$(request PATCH $dbs/orders "${jpatch[@]}" --data '[{"op":"frobnicate","path":"/spec"}]')" "400 BadRequest" \
        "a JSON patch with an unknown op is 400"
is "$(request PATCH $dbs/orders "${jpatch[@]}" --data '[{"op":"remove","path":"/spec/nothing"}]')" "422 Invalid" \
        "a JSON patch that does not apply is 422"
is "$(request PATCH $dbs/orders "${jpatch[@]}" --data '[{"op":"test","path":"/spec/size","value":"y"}]')" "422 Invalid" \
        "a failing JSON patch test is 422"
is "$(request PATCH $dbs/orders -H 'Content-Type: application/strategic-merge-patch+json' --data '{"spec":{}}')" \
        "415 UnsupportedMediaType" "strategic merge patch on a custom resource is 415, as on a real server"
is "$(request PATCH $dbs/orders -H 'Content-Type: application/apply-patch+yaml' --data 'spec: {}')" \
        "415 UnsupportedMediaType" "server-side apply is refused with 415 (not implemented)"
like "$(kubectl patch db orders --type json -p '[{"op":"replace","path":"/spec/missing/x","value":1}]' 2>&1)" \
        '^The request is invalid: replace operation does not apply' "kubectl shows the 422 for a patch that does not apply"
is "$(kubectl get db orders -o jsonpath='{.spec.size}')" x "failed patches changed nothing"

# ---- malformed CRDs ----
crd() { # name group plural kind extra-json
        jq -n --arg n "$1" --arg g "$2" --arg p "$3" --arg k "$4" --argjson extra "${5:-{\}}" '{
                apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: {name: $n},
                spec: ({group: $g, scope: "Namespaced", names: {plural: $p, kind: $k},
                        versions: [{name: "v1", served: true, storage: true,
                                    schema: {openAPIV3Schema: {type: "object"}}}]} * $extra)}'
}
crds=/apis/apiextensions.k8s.io/v1/customresourcedefinitions
is "$(request POST $crds "${json[@]}" --data "$(crd things.example.com example.com things Thing)")" "201 " "a minimal CRD is accepted"
is "$(request POST $crds "${json[@]}" --data "$(crd wrong.example.com example.com gadgets Gadget)")" "422 Invalid" \
        "a CRD whose name is not plural.group is 422"
is "$(jq -r .details.causes[0].field body.json)" "metadata.name" "naming metadata.name"
is "$(request POST $crds "${json[@]}" --data "$(crd gadgets.example.com example.com gadgets Gadget '{"scope":"Global"}')")" \
        "422 Invalid" "a CRD with a bad scope is 422"
is "$(request POST $crds "${json[@]}" --data "$(crd gadgets.example.com example.com gadgets Gadget '{"versions":[{"name":"v1","served":true,"storage":true}]}')")" \
        "422 Invalid" "a CRD version without a schema is 422"
is "$(request POST $crds "${json[@]}" --data "$(crd gadgets.example.com example.com gadgets Gadget '{"versions":[{"name":"v1","served":true,"storage":false,"schema":{"openAPIV3Schema":{"type":"object"}}}]}')")" \
        "422 Invalid" "a CRD without a storage version is 422"
is "$(request POST $crds "${json[@]}" --data "$(crd gadgets.example.com example.com gadgets Gadget '{"versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object"}},"additionalPrinterColumns":[{"name":"X","type":"text","jsonPath":".x"}]}]}')")" \
        "422 Invalid" "a printer column with an unknown type is 422"
is "$(request GET /apis/example.com/v1 | cut -d' ' -f1)" 200 "only the good CRD's group is served"
is "$(jq -r '[.resources[].name] | join(",")' body.json)" "things" "with its one resource"

# ---- selectors ----
is "$(request GET "$dbs?labelSelector=a%20in%20(b" )" "400 BadRequest" "a malformed label selector is 400"
is "$(request GET "$dbs?fieldSelector=spec.size%3Dx")" "400 BadRequest" "an unsupported field selector is 400"
is "$(jq -r .message body.json)" "field label not supported: spec.size" "with the real server's message"

done_testing
