# shellcheck shell=bash
# lib-plugin.sh - objects for the plugin's API tests. Source after lib-apiserver.sh
# and start_apiserver + apiserver_install_crds.
#
#   plugin_fixture        # Database "example" with a seed-like status, its pipeline
#                         # Pods, Events and a HealthRecord; exports T0 (its
#                         # creationTimestamp, Unix seconds) and KSTATUS_NOW = T0 + 7230
#   iso OFFSET            # RFC 3339 of T0 + OFFSET seconds
#
# Ages in goldens are then fixed: everything is dated relative to T0 and the
# plugin's clock is pinned (KSTATUS_NOW, read only by the plugin's tests).

iso() { date -u -d "@$((T0 + $1))" +%Y-%m-%dT%H:%M:%SZ; }

created_of() { # TYPE NAME [NS]
        date -u -d "$(kubectl get "$1" "$2" -n "${3:-default}" -o jsonpath='{.metadata.creationTimestamp}')" +%s
}

plugin_fixture() {
        kubectl create -f - >/dev/null <<'EOT' || return 1
apiVersion: example.promise.syntasso.io/v1
kind: Database
metadata:
  name: example
  namespace: default
  labels: {kratix.io/promise-name: database, team: platform}
spec: {size: 10Gi}
EOT
        T0=$(created_of database example)
        export T0 KSTATUS_NOW=$((T0 + 7230))
        local uid
        uid=$(kubectl get db example -o jsonpath='{.metadata.uid}')
        kubectl patch db example --subresource=status --type merge -p "$(cat <<EOT
{"status":{
  "message":"Database provisioned with size 10Gi",
  "observedGeneration":1,
  "conditions":[
    {"type":"ConfigureWorkflowCompleted","status":"True","reason":"PipelinesExecutedSuccessfully",
     "message":"Pipelines completed","lastTransitionTime":"$(iso 7050)"},
    {"type":"Reconciled","status":"Unknown","reason":"WorksPending","message":"","lastTransitionTime":"$(iso 7100)"},
    {"type":"Ready","status":"False","reason":"Degraded","message":"replica lag over 5 s","lastTransitionTime":"$(iso 7200)"}],
  "healthStatus":{"state":"degraded","healthRecords":[{"state":"degraded","lastRun":$((T0 + 7000)),
     "details":{"latencyMs":900},"source":{"name":"db-health","namespace":"default"}}]},
  "connection":{"host":"db.example.com","port":5432,"users":["admin","reader"]},
  "kratix":{"workflows":{"pipelines":[
     {"name":"create-db","phase":"Succeeded","lastTransitionTime":"$(iso 6900)"},
     {"name":"populate-vault","phase":"Succeeded","lastTransitionTime":"$(iso 7050)"}]}}}}
EOT
)" >/dev/null || return 1
        local p
        for p in create-db populate-vault; do
                kubectl create -f - >/dev/null <<EOT || return 1
apiVersion: v1
kind: Pod
metadata:
  name: kratix-database-example-$p-abcde
  namespace: default
  labels: {kratix.io/promise-name: database, kratix.io/resource-name: example, kratix.io/pipeline-name: $p,
           kratix.io/workflow-type: resource, kratix.io/workflow-action: configure}
spec: {containers: [{name: $p, image: $p:v1}]}
status:
  phase: $([ $p = create-db ] && echo Succeeded || echo Failed)
  containerStatuses:
  - name: $p
    image: $p:v1
    imageID: ""
    ready: false
    restartCount: 0
    state: {terminated: {exitCode: $([ $p = create-db ] && echo 0 || echo 2), reason: $([ $p = create-db ] && echo Completed || echo Error)}}
EOT
        done
        # A pipeline Pod of another resource with the same name in another Promise: not related.
        kubectl create -f - >/dev/null <<'EOT' || return 1
apiVersion: v1
kind: Pod
metadata:
  name: kratix-cache-example-configure-zzzzz
  namespace: default
  labels: {kratix.io/promise-name: cache, kratix.io/resource-name: example}
spec: {containers: [{name: c, image: c}]}
EOT
        local i reason type msg
        for i in 1 2; do
                if [ $i = 1 ]; then type=Normal reason=PipelineStarted msg="Configure Pipeline started: create-db"
                else type=Warning reason=StatusRefused msg="status.yaml:3:7: found character that cannot start any token"; fi
                apiserver_curl -f -X POST -H 'Content-Type: application/json' --data "$(jq -cn \
                        --arg name "example.$i" --arg uid "$uid" --arg type "$type" --arg reason "$reason" \
                        --arg msg "$msg" --arg t "$(iso $((6800 + i * 100)))" '{apiVersion:"v1",kind:"Event",
                        metadata:{name:$name,namespace:"default"},involvedObject:{apiVersion:"example.promise.syntasso.io/v1",
                        kind:"Database",name:"example",namespace:"default",uid:$uid},type:$type,reason:$reason,
                        message:$msg,count:1,firstTimestamp:$t,lastTimestamp:$t,source:{component:"kstatus-sidecar"}}')" \
                        /api/v1/namespaces/default/events >/dev/null || return 1
        done
        kubectl create -f - >/dev/null <<EOT || return 1
apiVersion: platform.kratix.io/v1alpha1
kind: HealthRecord
metadata: {name: db-health, namespace: default}
data:
  promiseRef: {name: database}
  resourceRef: {name: example, namespace: default}
  state: healthy
  lastRun: $((T0 + 7200))
  details: {latencyMs: 12}
EOT
}

# create_suspended_iam: IAM "suspended", a workflow Kratix suspended
# (workflow-control.yaml's retryAfter on the last pipeline): status-writer did
# not complete it, the pipeline's phase is Suspended with attempts and
# nextRetryAt, and the object carries Kratix's label. Needs iso (T0).
create_suspended_iam() {
kubectl create -f - >/dev/null <<'EOT'
apiVersion: example.promise.syntasso.io/v1
kind: IAM
metadata: {name: suspended, namespace: default, labels: {kratix.io/workflow-suspended: "true"}}
spec: {}
EOT
        kubectl patch iam suspended --subresource=status --type merge -p "{\"status\":{\"message\":\"Pending\",
  \"conditions\":[{\"type\":\"ConfigureWorkflowCompleted\",\"status\":\"False\",\"reason\":\"PipelinesInProgress\",
   \"message\":\"Pipelines are still in progress\",\"lastTransitionTime\":\"$(iso 7000)\"}],
  \"kratix\":{\"workflows\":{\"suspendedGeneration\":1,\"pipelines\":[
   {\"name\":\"create-user\",\"phase\":\"Succeeded\",\"lastTransitionTime\":\"$(iso 6900)\"},
   {\"name\":\"populate-vault\",\"phase\":\"Suspended\",\"message\":\"vault is sealed\",\"attempts\":3,
    \"nextRetryAt\":\"$(iso 7530)\",\"lastTransitionTime\":\"$(iso 7000)\"}]}}}}" >/dev/null
}
