#!/usr/bin/env bash
# deploy/health/: the Deployment runs the health mode locked down, two
# replicas with leader election and a PodDisruptionBudget, and its RBAC
# grants exactly what the controller uses — checked by running the
# controller against the test API server and mapping every request it made
# to the rule that allows it (the server itself does no RBAC).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-sidecar.sh"
. "$(dirname "$0")/health-lib.sh"

deploy=$KSTATUS_SOURCE_DIR/deploy/health
version=$(meson introspect --projectinfo "$KSTATUS_BUILD_DIR" | jq -r .version)
to_json() { # FILE: its objects as JSON (several documents become one List)
        local out
        out=$(KUBECONFIG=/dev/null kubectl patch --local -f "$1" --type merge -p '{}' -o json 2>&1) || { echo "$out"; return 1; }
        jq -s 'if length == 1 then .[0] else {kind: "List", items: .} end' <<<"$out"
}

# --- the Deployment ----------------------------------------------------------
dep=$(to_json "$deploy/deployment.yaml")
_tap_result $? "deployment.yaml is a Deployment kubectl reads" "$dep"
pod='.spec.template.spec'
c="$pod.containers[0]"
is "$(jq -r "$c.image" <<<"$dep")" "ghcr.io/kstatus/kstatus-sidecar:v$version" "the image is this release's"
is "$(jq -r "$c.args[0]" <<<"$dep")" "health" "it runs the health mode"
is "$(jq -c "[$pod.securityContext.runAsNonRoot, $c.securityContext.readOnlyRootFilesystem,
        $c.securityContext.allowPrivilegeEscalation, $c.securityContext.capabilities.drop]" <<<"$dep")" \
        '[true,true,false,["ALL"]]' "non-root, read-only root filesystem, no privilege escalation, no capabilities"
is "$(jq -c "[$c.resources.requests.cpu, $c.resources.requests.memory, $c.resources.limits.cpu, $c.resources.limits.memory] | map(type)" <<<"$dep")" \
        '["string","string","string","string"]' "requests and limits for CPU and memory"
is "$(jq -r '"\(.spec.replicas) \(.spec.strategy.type) \(.spec.strategy.rollingUpdate.maxUnavailable)"' <<<"$dep")" \
        "2 RollingUpdate 0" "two replicas, rolled one at a time, never fewer"
is "$(jq -r "$c.args | map(select(startswith(\"--leader-elect\"))) | join(\" \")" <<<"$dep")" "--leader-elect=true" \
        "with leader election, client-go's default timings"
pdb=$(to_json "$deploy/pdb.yaml")
_tap_result $? "pdb.yaml is YAML kubectl reads" "$pdb"
is "$(jq -r '"\(.kind) \(.metadata.namespace) \(.spec.maxUnavailable)"' <<<"$pdb")" \
        "PodDisruptionBudget $(jq -r .metadata.namespace <<<"$dep") 1" "a PodDisruptionBudget beside it: one Pod evicted at a time"
is "$(jq -S -c .spec.selector <<<"$pdb")" "$(jq -S -c .spec.selector <<<"$dep")" "selecting the Deployment's Pods"
is "$(jq -S -c "$pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.labelSelector" <<<"$dep")" \
        "$(jq -S -c .spec.selector <<<"$dep")" "the replicas preferably on different nodes"
rbac=$(to_json "$deploy/rbac.yaml")
_tap_result $? "rbac.yaml is YAML kubectl reads" "$rbac"
is "$(jq -r "$pod.serviceAccountName" <<<"$dep")/$(jq -r '.metadata.namespace' <<<"$dep")" \
        "$(jq -r '.items[] | select(.kind == "ServiceAccount") | "\(.metadata.name)/\(.metadata.namespace)"' <<<"$rbac")" \
        "it runs as the ServiceAccount rbac.yaml creates"
# The controller's own flags in the manifest are accepted (against a server below).

# --- RBAC: exactly what the controller does ---------------------------------
start_apiserver
apiserver_install_crds
kubectl create namespace team-a >/dev/null
kubectl create namespace kratix-platform-system >/dev/null
kubectl apply -f "$KSTATUS_TEST_DATA/health/promise-database.yaml" -f "$KSTATUS_TEST_DATA/health/resources.yaml" 2>/dev/null |
        grep -c created >/dev/null
ok "the RBAC objects are accepted by an API server" kubectl apply -f "$deploy/rbac.yaml" --dry-run=server
hr r1 default db-a default degraded 1
hr r2 team-a db-a team-a healthy 1
hr lost default nope default ready 1          # a missing resource: read, reported
hr orphan default db-a default ready 1 gone   # a missing Promise: read, reported
kubectl patch db db-b --subresource=status --type merge -p '{"status":{"healthRecord":{"state":"ready"}}}' >/dev/null
# In a Pod the controller's namespace (its Lease's) is the Pod's: here the context's.
kubectl config set-context --current --namespace=kratix-platform-system >/dev/null
lease_path=/apis/coordination.k8s.io/v1/namespaces/kratix-platform-system/leases/kstatus-health
# Only the controller talks to the server from here until it has settled.
apiserver_reset_counters
manifest_args=$(jq -r "$c.args[1:] | join(\" \")" <<<"$dep")
# shellcheck disable=SC2086 # the manifest's flags, split as the kubelet would
start_health $manifest_args
# start_health returned on "watching healthrecords", logged after the first
# pass (reads, writes, Events); the watch request itself is the second GET of
# the records' path (after the LIST).
wait_for "the controller settled" grep -q 'default/orphan.*promise' "$HEALTH_LOG"
wait_until "and watches the records" 2 apiserver_count GET /apis/platform.kratix.io/v1alpha1/healthrecords
wait_until "and renews its Lease in the Pod's namespace" 1 apiserver_count PUT "$lease_path"
requests=$(apiserver_counters | jq -r '.requests | keys[]')
while read -r line; do echo "# request: $line"; done <<<"$requests"
# "VERB path" → "group resource verb" (a collection GET is list, and watch for healthrecords).
used=$(while read -r verb path; do
        group=; rest=
        case $path in
        /api/v1/*) group=""; rest=${path#/api/v1/} ;;
        /apis/*) rest=${path#/apis/}; group=${rest%%/*}; rest=${rest#*/}; rest=${rest#*/} ;;
        esac
        case $rest in namespaces/*/*) rest=${rest#namespaces/*/} ;; esac
        IFS=/ read -r res name sub <<<"$rest"
        [ -n "$sub" ] && res="$res/$sub"
        case $verb in
        GET) if [ -n "$name" ]; then echo "$group $res get"; else echo "$group $res list"
                [ "$res" = healthrecords ] && echo "$group $res watch"; fi ;;
        PATCH) echo "$group $res patch" ;;
        PUT) echo "$group $res update" ;;
        POST) echo "$group $res create" ;;
        *) echo "$group $res $verb?" ;;
        esac
done <<<"$requests" | sort -u)
granted=$(jq -r '.items[] | select(.kind == "ClusterRole" or .kind == "Role") | .rules[]
        | .apiGroups[] as $g | .resources[] as $r | .verbs[] as $v | "\($g) \($r) \($v)"' <<<"$rbac" | sort -u)
is "$(comm -23 <(echo "$used") <(echo "$granted"))" "" "every request the controller made is granted"
is "$(comm -13 <(echo "$used") <(echo "$granted"))" "" "and nothing it did not use is granted"
# The Lease rules are a Role: in the controller's namespace, get and update on its Lease only.
is "$(grep coordination.k8s.io <<<"$requests" | awk '{print $2}' | sort -u | tr '\n' ' ')" \
        "/apis/coordination.k8s.io/v1/namespaces/kratix-platform-system/leases $lease_path " \
        "every Lease request in the Pod's namespace, for the Lease kstatus-health"
is "$(jq -r '.items[] | select(.kind == "Role") | "\(.metadata.namespace) \(.rules[] | "\(.verbs | join(",")):\(.resourceNames // [] | join(","))")"' <<<"$rbac" | tr '\n' ' ')" \
        "kratix-platform-system create: kratix-platform-system get,update:kstatus-health " \
        "the Role: create (no name can be given), get and update of the Lease kstatus-health only"
is "$(jq -r '[.items[] | select(.kind == "ClusterRole") | .rules[] | select(.apiGroups | index("coordination.k8s.io"))] | length' <<<"$rbac")" 0 \
        "no ClusterRole grants Leases"
is "$(jq -r '[.items[] | select(.kind == "ClusterRole" and .aggregationRule) | .aggregationRule.clusterRoleSelectors[].matchLabels
        | to_entries[] | "\(.key)=\(.value)"] | join(" ")' <<<"$rbac")" "kstatus.io/aggregate-to-health=true" \
        "per-Promise resource permissions aggregate through one label"
stop_health TERM
is "$HEALTH_RC" 0 "the manifest's arguments run and stop cleanly"

done_testing
