#!/usr/bin/env bash
# kstatus-test-apiserver with real kubectl over TLS and a token: discovery,
# CRDs, custom resources, Tables, output formats, selectors, pages, patches,
# describe and the core kinds.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
cd "$TEST_TMP" || exit 1

start_apiserver || exit 1
like "$APISERVER_URL" '^https://127\.0\.0\.1:[0-9]+$' "serves HTTPS on 127.0.0.1 and a chosen port"

# ---- authentication ----
code=$(curl -s -o unauth.json -w '%{http_code}' --cacert "$APISERVER_CA" "$APISERVER_URL/api/v1/namespaces")
is "$code" 401 "a request without the token gets 401"
is "$(jq -r .reason unauth.json)" Unauthorized "the 401 body is a Status with reason Unauthorized"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$APISERVER_CA" -H 'Authorization: Bearer wrong' \
        "$APISERVER_URL/version")
is "$code" 401 "a wrong token gets 401"
fails_with 1 "kubectl with a wrong token fails" \
        kubectl --token=wrong --kubeconfig=/dev/null --server="$APISERVER_URL" --certificate-authority="$APISERVER_CA" get ns
is "$(kubectl --token=wrong --kubeconfig=/dev/null --server="$APISERVER_URL" --certificate-authority="$APISERVER_CA" get ns 2>&1 | tail -1)" \
        "error: You must be logged in to the server (the server has asked for the client to provide credentials)" \
        "kubectl says it must be logged in"

# ---- discovery ----
like "$(kubectl version -o json | jq -r .serverVersion.gitVersion)" '^v1\.32\.' "kubectl version sees a 1.32 server"
is "$(kubectl get ns -o name | sort | tr '\n' ' ')" \
        "namespace/default namespace/kube-node-lease namespace/kube-public namespace/kube-system " \
        "the usual namespaces exist"
like "$(kubectl api-resources --no-headers | grep -w pods)" 'pods +po +v1 +true +Pod' "api-resources lists pods with a short name"
fails_with 1 "an unknown kind is unknown to kubectl" kubectl get databases
like "$(kubectl get databases 2>&1)" "the server doesn't have a resource type \"databases\"" "kubectl's message for unknown kinds"

# ---- CRDs ----
out=$(kubectl apply -f "$KSTATUS_SOURCE_DIR/tests/data/crds/" 2>&1)
crds=$(printf '%s\n' "$KSTATUS_SOURCE_DIR"/tests/data/crds/*.yaml | sed 's|.*/||; s|\.yaml$||' | sort)
is "$(grep -c created <<<"$out")" "$(wc -l <<<"$crds")" "kubectl apply creates every CRD of tests/data/crds"
is "$(kubectl get crd -o name | sed 's|.*/||' | sort)" "$crds" "the CRDs are listed"
ok "the CRD is Established" kubectl wait --for=condition=Established crd/databases.example.promise.syntasso.io --timeout=5s
like "$(kubectl api-resources --no-headers | grep -w databases)" \
        'databases +db +example\.promise\.syntasso\.io/v1 +true +Database' "the new kind is discoverable at once, with its short name"
like "$(kubectl api-resources --no-headers --namespaced=false | grep -w promises)" 'promises .*false +Promise' \
        "Promise is cluster-scoped"
is "$(kubectl apply -f "$KSTATUS_SOURCE_DIR/tests/data/crds/databases.example.promise.syntasso.io.yaml")" \
        "customresourcedefinition.apiextensions.k8s.io/databases.example.promise.syntasso.io unchanged" \
        "re-applying a CRD changes nothing"

# ---- custom resources ----
cat >db.yaml <<'EOF'
apiVersion: example.promise.syntasso.io/v1
kind: Database
metadata:
  name: orders
  namespace: default
  labels:
    team: shop
spec:
  size: small
EOF
is "$(kubectl apply -f db.yaml)" "database.example.promise.syntasso.io/orders created" "kubectl apply creates a Database"
is "$(kubectl apply -f db.yaml)" "database.example.promise.syntasso.io/orders unchanged" "a second apply is a no-op"
rv1=$(kubectl get db orders -o jsonpath='{.metadata.resourceVersion}')
kubectl create -f - >/dev/null <<'EOF'
apiVersion: example.promise.syntasso.io/v1
kind: Database
metadata:
  name: with-status
spec: {}
status:
  message: ignored on create
EOF
is "$(kubectl get db with-status -o jsonpath='{.metadata.name}/{.status}')" "with-status/" \
        "create ignores status when the status subresource is on"
kubectl delete db with-status >/dev/null
is "$(kubectl get db orders -o jsonpath='{.metadata.generation}')" 1 "generation starts at 1"
like "$(kubectl get db orders -o jsonpath='{.metadata.uid}')" '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' \
        "uid is a UUID"
like "$(kubectl get db orders -o jsonpath='{.metadata.creationTimestamp}')" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' \
        "creationTimestamp is RFC 3339"
sed -i 's/size: small/size: large/' db.yaml
is "$(kubectl apply -f db.yaml)" "database.example.promise.syntasso.io/orders configured" "apply with a spec change patches"
is "$(kubectl get db orders -o jsonpath='{.metadata.generation}')" 2 "a spec change bumps generation"
rv2=$(kubectl get db orders -o jsonpath='{.metadata.resourceVersion}')
ok "resourceVersion grows on every write ($rv1 -> $rv2)" test "$rv2" -gt "$rv1"

kubectl create -f - >/dev/null <<'EOF'
apiVersion: example.promise.syntasso.io/v1
kind: Database
metadata:
  name: users
  labels:
    team: identity
spec:
  size: small
EOF
kubectl create ns other >/dev/null
kubectl create -n other -f - >/dev/null <<'EOF'
apiVersion: example.promise.syntasso.io/v1
kind: Database
metadata:
  name: billing
  labels:
    team: shop
spec: {}
EOF
sed '/namespace: default/d' db.yaml >db-nons.yaml
fails_with 1 "creating in a missing namespace fails" kubectl create -n nowhere -f db-nons.yaml
like "$(kubectl create -n nowhere -f db-nons.yaml 2>&1)" 'namespaces "nowhere" not found' "with NotFound for the namespace"

# ---- status subresource ----
is "$(kubectl patch db orders --subresource=status --type merge \
        -p '{"status":{"message":"Resource requested","conditions":[{"type":"Reconciled","status":"True","message":"Reconciled ok"}]},"spec":{"size":"tiny"}}')" \
        "database.example.promise.syntasso.io/orders patched" "patch --subresource=status"
is "$(kubectl get db orders -o jsonpath='{.spec.size}/{.status.message}/{.metadata.generation}')" "large/Resource requested/2" \
        "a /status write sets status only and keeps generation"
kubectl patch db orders --type merge -p '{"spec":{"size":"medium"},"status":{"message":"nope"}}' >/dev/null
is "$(kubectl get db orders -o jsonpath='{.spec.size}/{.status.message}/{.metadata.generation}')" "medium/Resource requested/3" \
        "a main-resource write ignores status and bumps generation"
kubectl patch db orders --type merge -p '{"metadata":{"labels":{"tier":"gold"}}}' >/dev/null
is "$(kubectl get db orders -o jsonpath='{.metadata.generation}')" 3 "a metadata-only change keeps generation"
kubectl patch db orders --subresource=status --type json \
        -p '[{"op":"add","path":"/status/conditions/-","value":{"type":"Ready","status":"False"}}]' >/dev/null
is "$(kubectl get db orders -o jsonpath='{.status.conditions[*].type}')" "Reconciled Ready" "patch --type json on /status"
is "$(kubectl patch db orders --type merge -p '{"spec":{"size":"medium"}}')" \
        "database.example.promise.syntasso.io/orders patched (no change)" "a no-op patch is reported as no change"

# ---- get: Tables and formats ----
is "$(kubectl get db)" "NAME     MESSAGE              STATUS
orders   Resource requested   Reconciled ok
users                         " "kubectl get prints the CRD's printer columns from the server's Table"
is "$(kubectl get db -o wide --no-headers | wc -l)" 2 "-o wide works"
is "$(kubectl get db -A)" "NAMESPACE   NAME      MESSAGE              STATUS
default     orders    Resource requested   Reconciled ok
default     users                          
other       billing                        " "-A lists every namespace"
is "$(kubectl get db -l team=shop -A -o name)" "database.example.promise.syntasso.io/orders
database.example.promise.syntasso.io/billing" "-l selects by label"
is "$(kubectl get db -l 'team in (identity),!tier' -o name)" "database.example.promise.syntasso.io/users" \
        "set-based label selectors"
is "$(kubectl get db --field-selector metadata.name=users -o name)" "database.example.promise.syntasso.io/users" \
        "--field-selector metadata.name"
is "$(kubectl get db -A --field-selector metadata.namespace=other -o name)" "database.example.promise.syntasso.io/billing" \
        "--field-selector metadata.namespace"
like "$(kubectl get db --field-selector spec.size=large 2>&1)" 'field label not supported: spec.size' \
        "an unsupported field selector is refused like the real server"
is "$(kubectl get db -A --chunk-size=1 -o name | wc -l)" 3 "--chunk-size pages through everything"
is "$(kubectl get db -A --chunk-size=1 -v=6 2>&1 | grep -c 'limit=1')" 3 "with one request per page"
is "$(kubectl get db orders -o jsonpath='{.metadata.name} {.spec.size}')" "orders medium" "-o jsonpath"
is "$(kubectl get db orders -o json | jq -r '.kind + " " + .apiVersion')" "Database example.promise.syntasso.io/v1" "-o json"
like "$(kubectl get db orders -o yaml)" 'kind: Database' "-o yaml"
is "$(kubectl get db,iam -o name)" "database.example.promise.syntasso.io/orders
database.example.promise.syntasso.io/users" "-o name over two kinds"
is "$(kubectl get kratix -o name)" "database.example.promise.syntasso.io/orders
database.example.promise.syntasso.io/users" "the kratix category"
like "$(kubectl get db nosuch 2>&1)" 'Error from server \(NotFound\): databases.example.promise.syntasso.io "nosuch" not found' \
        "a missing object is NotFound"

# HealthRecord: no status subresource, printer column .data.state and Age.
kubectl apply -f - >/dev/null <<'EOF'
apiVersion: platform.kratix.io/v1alpha1
kind: HealthRecord
metadata:
  name: orders-health
data:
  promiseRef: {name: database}
  resourceRef: {name: orders, namespace: default}
  state: healthy
  status: {kept: true}
EOF
like "$(kubectl get healthrecords)" '^NAME +STATUS +AGE
orders-health +healthy +[0-9]+s$' "HealthRecord Table: Status and Age"
kubectl apply -f - >/dev/null <<'EOF'
apiVersion: platform.kratix.io/v1alpha1
kind: Promise
metadata:
  name: database
spec: {}
EOF
is "$(kubectl get promises -o name)" "promise.platform.kratix.io/database" "a cluster-scoped Promise"
kubectl patch promise database --subresource=status --type merge -p '{"status":{"status":"Available","kind":"Database","workflows":0,"workflowsFailed":0,"workflowsSucceeded":0}}' >/dev/null
like "$(kubectl get promise database)" 'database +Available +Database' "Promise printer columns"

# ---- describe ----
out=$(kubectl describe db orders)
like "$out" 'Name: +orders' "describe a custom resource: name"
like "$out" 'Message: +Resource requested' "describe shows status"
like "$out" 'Events: +<none>' "describe lists (no) events"
kubectl create -f - >/dev/null <<EOF
apiVersion: v1
kind: Event
metadata:
  name: orders.1
involvedObject:
  apiVersion: example.promise.syntasso.io/v1
  kind: Database
  name: orders
  namespace: default
  uid: $(kubectl get db orders -o jsonpath='{.metadata.uid}')
reason: PipelineStarted
message: "Configure Pipeline started: create-db"
type: Normal
source: {component: kratix}
EOF
like "$(kubectl describe db orders)" 'Normal +PipelineStarted +.*Configure Pipeline started: create-db' \
        "describe shows the resource's events (field selector on involvedObject)"
is "$(kubectl get events --field-selector involvedObject.name=users -o name)" "" "events of another object are filtered out"

# ---- core kinds ----
cat >pod.yaml <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: pipeline
  labels: {app: pipeline}
spec:
  initContainers:
  - name: kstatus
    image: kstatus:dev
    restartPolicy: Always
  containers:
  - name: main
    image: busybox
status:
  phase: Running
EOF
is "$(kubectl apply -f pod.yaml)" "pod/pipeline created" "a Pod is created with its status"
kubectl patch pod pipeline --subresource=status --type merge -p '{"status":{"containerStatuses":[{"name":"main","ready":true,"restartCount":2,"state":{"running":{"startedAt":"2026-01-01T00:00:00Z"}}}],"initContainerStatuses":[{"name":"kstatus","ready":true,"started":true,"restartCount":0,"state":{"running":{"startedAt":"2026-01-01T00:00:00Z"}}}]}}' >/dev/null
like "$(kubectl get pod pipeline)" '^NAME +READY +STATUS +RESTARTS +AGE
pipeline +1/1 +Running +2 +[0-9]+s$' "the Pod Table: NAME READY STATUS RESTARTS AGE"
like "$(kubectl get pod pipeline -o wide)" 'IP +NODE +NOMINATED NODE +READINESS GATES' "-o wide adds the priority columns"
is "$(kubectl get pod pipeline -o jsonpath='{.status.initContainerStatuses[0].name}')" kstatus \
        "patch --subresource=status sets container statuses"
sed -i 's/image: busybox/image: busybox:2/' pod.yaml
is "$(kubectl apply -f pod.yaml)" "pod/pipeline configured" "apply (strategic merge patch) on a Pod"
is "$(kubectl get pod pipeline -o jsonpath='{.spec.containers[0].image}/{.spec.initContainers[0].image}')" "busybox:2/kstatus:dev" \
        "the container list merged by name"
like "$(kubectl describe pod pipeline)" 'Image: +busybox:2' "describe a Pod"
ok "create a ConfigMap" kubectl create configmap cfg --from-literal=a=1 --from-literal=b=2
ok "create a Secret" kubectl create secret generic sec --from-literal=token=x
ok "create a ServiceAccount" kubectl create serviceaccount runner
ok "create a Role" kubectl create role reader --verb=get,list --resource=pods
ok "create a RoleBinding" kubectl create rolebinding reader --role=reader --serviceaccount=default:runner
like "$(kubectl get configmap cfg)" 'cfg +2 +' "ConfigMap Table: DATA"
like "$(kubectl get secret sec)" 'sec +Opaque +1 +' "Secret Table: TYPE DATA"
like "$(kubectl get rolebinding reader -o wide)" 'reader +Role/reader .* default/runner' "RoleBinding Table"
is "$(kubectl get secret sec -o jsonpath='{.data.token}' | base64 -d)" x "a Secret keeps its data"
like "$(kubectl get events)" 'PipelineStarted' "Event Table"

# ---- delete ----
is "$(kubectl delete db users)" 'database.example.promise.syntasso.io "users" deleted' "kubectl delete (waits for the watch)"
fails_with 1 "it is gone" kubectl get db users
kubectl patch db orders --type merge -p '{"metadata":{"finalizers":["example.com/keep"]}}' >/dev/null
is "$(kubectl delete db orders --wait=false)" 'database.example.promise.syntasso.io "orders" deleted' "delete with a finalizer"
like "$(kubectl get db orders -o jsonpath='{.metadata.deletionTimestamp}')" '^20' "the object stays with a deletionTimestamp"
kubectl patch db orders --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null
fails_with 1 "removing the last finalizer deletes it" kubectl get db orders
is "$(kubectl delete ns other)" 'namespace "other" deleted' "delete a namespace"
is "$(kubectl get db -A -o name)" "" "its objects went with it"
is "$(kubectl delete crd databases.example.promise.syntasso.io)" \
        'customresourcedefinition.apiextensions.k8s.io "databases.example.promise.syntasso.io" deleted' "delete a CRD"
is "$(kubectl api-resources --no-headers | grep -c -w databases)" 0 "its kind is gone from discovery"
fails_with 1 "and kubectl cannot list it any more" kubectl get databases.example.promise.syntasso.io

done_testing
