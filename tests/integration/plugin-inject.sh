#!/usr/bin/env bash
# kubectl kstatus inject: the Kratix pipeline Job, idempotence, streams, RBAC, errors.
. "$(dirname "$0")/lib.sh"
cd "$TEST_TMP"
job=$KSTATUS_TEST_DATA/inject/kratix-pipeline-job.yaml

kubectl kstatus inject -f "$job" -o json >once.json
ok "inject reads the Kratix pipeline Job" test -s once.json
is "$(jq -r '[.spec.template.spec.initContainers[].name] | join(",")' once.json)" \
        "reader,kstatus-sidecar,create-db,work-writer" "the sidecar is a native sidecar right after reader"
is "$(jq -r '.spec.template.spec.initContainers[1].restartPolicy' once.json)" Always "restartPolicy Always"
is "$(jq -c '[.spec.template.spec.initContainers[1].env[].name]' once.json)" \
        '["KRATIX_WORKFLOW_ACTION","KRATIX_WORKFLOW_TYPE","KRATIX_PROMISE_NAME","KRATIX_PIPELINE_NAME","KRATIX_OBJECT_KIND","KRATIX_OBJECT_GROUP","KRATIX_OBJECT_VERSION","KRATIX_OBJECT_NAME","KRATIX_OBJECT_NAMESPACE","KRATIX_CRD_PLURAL","KRATIX_CLUSTER_SCOPED","POD_NAME","POD_NAMESPACE","KSTATUS_CONTAINER_NAME"]' \
        "the pipeline's KRATIX_* variables and the downward API"
is "$(jq -c '.spec.template.spec.initContainers[1].volumeMounts' once.json)" \
        '[{"mountPath":"/kratix/metadata","name":"shared-metadata","readOnly":true},{"mountPath":"/kratix/input","name":"shared-input","readOnly":true}]' \
        "shared-metadata and shared-input mounted read-only"
is "$(jq -c '.spec.template.spec.initContainers[1].securityContext' once.json)" \
        '{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]},"readOnlyRootFilesystem":true,"runAsNonRoot":true,"seccompProfile":{"type":"RuntimeDefault"}}' \
        "a locked-down securityContext"
is "$(jq -c '[.spec.template.spec.volumes[].name]' once.json)" '["shared-input","shared-output","shared-metadata"]' \
        "no volume is added when Kratix's exists"

kubectl kstatus inject -f "$job" >once.yaml
kubectl kstatus inject <once.yaml >twice.yaml
ok "running inject twice changes nothing" cmp once.yaml twice.yaml
json_is "$(kubectl kstatus lint --max-nodes=1000000 once.yaml 2>&1)" "$(cat once.json)" "yaml and json outputs agree"

printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n---\n' >stream.yaml
cat "$job" >>stream.yaml
out=$(kubectl kstatus inject -f stream.yaml)
is "$(grep -c '^kind:' <<<"$out")" 2 "a stream keeps every object"
like "$out" 'kind: ConfigMap' "other objects pass through"

out=$(kubectl kstatus inject --rbac -f "$job" -o json)
is "$(jq -r '.items[].kind' <<<"$out" | tr '\n' ' ')" "Job Role RoleBinding ClusterRole ClusterRoleBinding " "--rbac adds the RBAC"
is "$(jq -c '.items[1].rules[0]' <<<"$out")" \
        '{"apiGroups":["example.promise.syntasso.io"],"resources":["iams/status"],"verbs":["get","patch"]}' \
        "the Role grants patch on the status subresource"
is "$(jq -r '.items[2].subjects[0].name' <<<"$out")" iam-resource-configure-create-user "bound to the pipeline's ServiceAccount"
# Another Promise's pipeline in the same namespace gets its own Role and binding.
sed -e 's/iams/databases/g' -e 's/iam-resource-configure-create-user/database-resource-configure-create-user/' \
        -e 's/kratix-iam-example/kratix-database-example/' "$job" >other-job.yaml
other=$(kubectl kstatus inject --rbac -f other-job.yaml -o json)
is "$( (jq -r '.items[] | select(.kind=="Role" or .kind=="RoleBinding") | .metadata.name' <<<"$out";
        jq -r '.items[] | select(.kind=="Role" or .kind=="RoleBinding") | .metadata.name' <<<"$other") | sort -u | wc -l)" 4 \
        "two Promises' pipelines in one namespace get distinct Roles and RoleBindings"

: >empty.yaml
fails_with 1 "an empty input is an error" kubectl kstatus inject -f empty.yaml
is "$(kubectl kstatus inject -f empty.yaml 2>&1)" "error: empty.yaml: no objects to inject into" "and says so"
printf 'a: [\n' >bad.yaml
like "$(kubectl kstatus inject -f bad.yaml 2>&1)" '^error: bad.yaml:2:1: ' "a YAML error names the line"
fails_with 2 "an unexpected argument is a usage error" kubectl kstatus inject pod.yaml
printf 'kind: Pod\nspec: {containers: [{name: a}]}\n' >pod.yaml
fails_with 1 "--rbac without the Kratix variables is an error" kubectl kstatus inject --rbac -f pod.yaml
done_testing
