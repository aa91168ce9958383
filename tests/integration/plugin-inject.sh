#!/usr/bin/env bash
# kubectl kstatus inject: the Kratix pipeline Job, idempotence, streams, RBAC, errors.
. "$(dirname "$0")/lib.sh"
cd "$TEST_TMP" || exit 1
job=$KSTATUS_TEST_DATA/inject/kratix-pipeline-job.yaml

kubectl kstatus inject -f "$job" -o json >once.json
ok "inject reads the Kratix pipeline Job" test -s once.json
is "$(jq -r '[.spec.template.spec.initContainers[].name] | join(",")' once.json)" \
        "reader,kstatus-sidecar,create-db,work-writer" "the sidecar is a native sidecar right after reader"
is "$(jq -r '.spec.template.spec.initContainers[1].restartPolicy' once.json)" Always "restartPolicy Always"
is "$(jq -c '[.spec.template.spec.initContainers[1].env[].name]' once.json)" \
        '["KRATIX_WORKFLOW_ACTION","KRATIX_WORKFLOW_TYPE","KRATIX_PROMISE_NAME","KRATIX_PIPELINE_NAME","KRATIX_OBJECT_KIND","KRATIX_OBJECT_GROUP","KRATIX_OBJECT_VERSION","KRATIX_OBJECT_NAME","KRATIX_OBJECT_NAMESPACE","KRATIX_CRD_PLURAL","KRATIX_CLUSTER_SCOPED","IS_LAST_PIPELINE","POD_NAME","POD_NAMESPACE","KSTATUS_CONTAINER_NAME"]' \
        "the pipeline's KRATIX_* variables, status-writer's IS_LAST_PIPELINE and the downward API"
is "$(jq -c '.spec.template.spec.initContainers[1].env[] | select(.name == "IS_LAST_PIPELINE")' once.json)" \
        "$(jq -c '.spec.template.spec.containers[] | select(.name == "status-writer") | .env[] | select(.name == "IS_LAST_PIPELINE")' once.json)" \
        "IS_LAST_PIPELINE is status-writer's, copied as it is"
sed 's/{name: IS_LAST_PIPELINE, value: "false"}/{name: IS_LAST_PIPELINE, value: "true"}/' "$job" >last-job.yaml
is "$(kubectl kstatus inject -f last-job.yaml -o json | jq -r '.spec.template.spec.initContainers[1].env[] | select(.name == "IS_LAST_PIPELINE") | .value')" \
        true "the last pipeline's Job gives the sidecar IS_LAST_PIPELINE=true"
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
# pipelineNamespace: the Job runs in "pipelines", the resource is in "default".
sed -e 's/^  namespace: default$/  namespace: pipelines/' "$job" >elsewhere-job.yaml
grep -q '^  namespace: pipelines$' elsewhere-job.yaml || echo "# the fixture's Job namespace line changed: update this test"
out=$(kubectl kstatus inject --rbac -f elsewhere-job.yaml -o json)
is "$(jq -r '.items[] | select(.kind == "Role" or .kind == "RoleBinding") | "\(.kind) \(.metadata.namespace)"' <<<"$out" | tr '\n' ',')" \
        "Role default,RoleBinding default,Role pipelines,RoleBinding pipelines," \
        "a pipeline in another namespace: a Role and binding where the resource is, and where the Pod is"
is "$(jq -c '[.items[] | select(.kind == "Role" and .metadata.namespace == "default") | .rules[].resources[]]' <<<"$out")" \
        '["iams/status","iams","events"]' "in the resource's namespace: the resource, its status and Events"
is "$(jq -c '[.items[] | select(.kind == "Role" and .metadata.namespace == "pipelines") | .rules[] | {resources, verbs}]' <<<"$out")" \
        '[{"resources":["pods"],"verbs":["get"]},{"resources":["jobs"],"verbs":["get"]}]' \
        "in the pipeline's namespace: only get on its Pod and its Job"
is "$(jq -c '[.items[] | select(.kind == "RoleBinding") | .subjects[] | "\(.namespace)/\(.name)"] | unique' <<<"$out")" \
        '["pipelines/iam-resource-configure-create-user"]' "both bound to the pipeline's ServiceAccount in its namespace"

: >empty.yaml
fails_with 1 "an empty input is an error" kubectl kstatus inject -f empty.yaml
is "$(kubectl kstatus inject -f empty.yaml 2>&1)" "error: empty.yaml: no objects to inject into" "and says so"
printf 'a: [\n' >bad.yaml
like "$(kubectl kstatus inject -f bad.yaml 2>&1)" '^error: bad.yaml:2:1: ' "a YAML error names the line"
fails_with 2 "an unexpected argument is a usage error" kubectl kstatus inject pod.yaml
printf 'kind: Pod\nspec: {containers: [{name: a}]}\n' >pod.yaml
fails_with 1 "--rbac without the Kratix variables is an error" kubectl kstatus inject --rbac -f pod.yaml
done_testing
