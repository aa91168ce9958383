# kratix.sh - a Kratix stand-in: performs Kratix's writes, in Kratix's order,
# with Kratix's methods, against an API server, so kstatus is tested (and
# demonstrated) beside the writers it must never fight. Written from Kratix's
# code at syntasso/kratix ae170e22 (docs/KRATIX.md says which file does what);
# it is a test tool, not a port, and shares no code with kstatus: curl for
# HTTP, jq (tests/kratix/kratix.jq) for every status computation.
#
# Source it from bash, then:
#   kx_init                     # reads KUBECONFIG's server, token and CA (or KX_URL/KX_TOKEN/KX_CA)
#   kx_resource NS PLURAL NAME  # the resource the workflow runs for (KX_GROUP, KX_VERSION,
#                               # KX_KIND, KX_PROMISE, KX_WORKFLOW_TYPE=resource|promise)
#   kx_configure CMD...         # a Configure workflow: one pipeline per CMD (a bash snippet that
#                               # is the pipeline's container; KX_PIPELINES names them)
#   kx_health_controller_start  # Kratix's HealthRecord controller, in the background
#
# Each pipeline Pod is processes: reader, the pipeline's container, work-writer
# and status-writer, plus the kstatus sidecar as a native sidecar when
# KX_SIDECAR is set (the binary; KX_SIDECAR_ARGS extra flags). The stand-in
# plays the Job controller and the kubelet too: it creates the Job and the Pod
# objects and reports container states in the Pod's status.
#
# Knobs (environment, read per call):
#   KX_BACKOFF_LIMIT      Job backoffLimit (Kubernetes' default 6: Kratix sets none)
#   KX_DRY_RUN=true       KRATIX_DRY_RUN on every container
#   KX_PIPELINE_NS        pipelineNamespace: Pods and Jobs run there
#   KX_EVICT=CONTAINER    evict the first Pod while CONTAINER runs (the Job controller
#                         makes a new one)
#   KX_SUSPEND_JOB=CONTAINER  suspend the Job while CONTAINER runs (manual
#                         reconciliation): the Pod is deleted, the workflow stops
#   KX_STATUS_WRITER_FAIL=1   status-writer exits 1 every time (a broken adapter)
#   KX_SIDECAR_TERM_FIRST=1   SIGTERM the sidecar before the Pod's status says the
#                         containers ended (the kubelet's status update is asynchronous)
#   KX_DESTINATIONS="A B" the Destinations the scheduler places each Work on (default
#                         KX_DESTINATION, else worker-1; kx_destination creates them)
#   KX_MISPLACED="A"      placements on these Destinations are misplaced (kratix.io/misplaced)
#   KX_WRITE_FAIL=("A=message")  the WorkPlacement controller's write to A's state store fails
#   KX_HOLD_FAILED=FILE   a container that failed for good waits (CrashLoopBackOff, the Pod
#                         still there) until FILE exists before the Job controller fails the Job
#
# Every write is logged to $KX_DIR/writes.log as "WRITER METHOD PATH CODE RV",
# and requests carry User-Agent "kratix-<writer>" (the server's access log shows them).

KX_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

kx_now() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# _kx_jq [jq options...] FILTER: jq with kratix.jq's functions (the filter comes last).
_kx_jq() { jq -L "$KX_LIB_DIR" "${@:1:$#-1}" "include \"kratix\"; ${*: -1}"; }

kx_init() {
        : "${KX_DIR:?KX_DIR must name a directory for the Pods and logs}"
        mkdir -p "$KX_DIR"
        if [ -z "${KX_URL:-}" ]; then
                KX_URL=$(kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.server}')
                KX_TOKEN=$(kubectl config view --minify --raw -o jsonpath='{.users[0].user.token}')
                local ca
                ca=$(kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
                KX_CA=
                if [ -n "$ca" ]; then
                        KX_CA=${KX_DIR:?}/ca.crt
                        base64 -d <<<"$ca" >"$KX_CA"
                fi
        fi
        : >>"$KX_DIR/writes.log"
        export KX_URL KX_TOKEN KX_CA KX_DIR
}

# kx_req WRITER METHOD PATH [BODY]: one request; sets KX_CODE (HTTP code,
# 000 when no answer came) and KX_BODY (the answer). Not in a subshell.
kx_req() {
        local writer=$1 method=$2 path=$3 body=${4:-}
        local out=$KX_DIR/answer.$BASHPID
        local args=(-sS -X "$method" -H "Authorization: Bearer $KX_TOKEN" -A "kratix-$writer" -o "$out"
                -w '%{http_code}')
        [ -n "${KX_CA:-}" ] && args+=(--cacert "$KX_CA")
        if [ -n "$body" ]; then
                local ct=application/json
                [ "$method" = PATCH ] && ct=application/merge-patch+json
                args+=(-H "Content-Type: $ct" --data-binary @-)
        fi
        KX_CODE=$(curl "${args[@]}" "$KX_URL$path" <<<"$body" 2>/dev/null) || KX_CODE=000
        KX_BODY=$(cat "$out" 2>/dev/null)
        rm -f "$out"
        if [ "$method" != GET ]; then
                # The version this write made; "-" when it made none: an update that
                # changes nothing keeps the resourceVersion it was sent with.
                local rv=- sent=
                [ "$method" = PUT ] && sent=$(jq -r '.metadata.resourceVersion // ""' <<<"$body" 2>/dev/null)
                [ "${KX_CODE:0:1}" = 2 ] && rv=$(jq -r '.metadata.resourceVersion // "-"' <<<"$KX_BODY" 2>/dev/null)
                [ -n "$sent" ] && [ "$rv" = "$sent" ] && rv=-
                echo "$writer $method $path $KX_CODE ${rv:--}" >>"$KX_DIR/writes.log"
        fi
}

# yaml_to_json FILE: a YAML mapping as JSON, converted by kubectl as Kratix's
# sigs.k8s.io/yaml does (kubectl patch --local applies the file as a merge
# patch to an empty object of an unknown kind, offline). "{}" for a missing or
# empty file; exit 1 for a file that is not a YAML mapping.
kx_yaml_to_json() {
        [ -s "$1" ] || { echo '{}'; return 0; }
        local base=$KX_DIR/yaml-base.json
        [ -f "$base" ] || echo '{"apiVersion":"kx.invalid/v1","kind":"Doc","metadata":{"name":"d"}}' >"$base"
        KUBECONFIG=/dev/null kubectl patch --local -f "$base" --type merge --patch-file "$1" -o json 2>/dev/null |
                jq -c 'del(.apiVersion, .kind, .metadata)'
}

# ---- the resource the workflow runs for ----

# kx_resource NS PLURAL NAME: namespaced resources; for a promise workflow
# (KX_WORKFLOW_TYPE=promise) pass "" promises PROMISE.
kx_resource() {
        KX_NS=$1 KX_PLURAL=$2 KX_NAME=$3
        : "${KX_WORKFLOW_TYPE:=resource}"
        if [ "$KX_WORKFLOW_TYPE" = promise ]; then
                KX_GROUP=platform.kratix.io KX_VERSION=v1alpha1 KX_KIND=Promise KX_PROMISE=$KX_NAME
                KX_OBJ_PATH=/apis/platform.kratix.io/v1alpha1/promises/$KX_NAME
        else
                : "${KX_GROUP:=example.promise.syntasso.io}" "${KX_VERSION:=v1}" "${KX_KIND:=IAM}" "${KX_PROMISE:=iam}"
                KX_OBJ_PATH=/apis/$KX_GROUP/$KX_VERSION/namespaces/$KX_NS/$KX_PLURAL/$KX_NAME
        fi
}

# kx_status_update WRITER [jq args...] FILTER: Kratix's controller writing status
# (Status().Update: PUT of the whole object with the resourceVersion it read).
# FILTER maps the status; $now is bound. Nothing is sent when nothing changes.
# On 409 controller-runtime requeues: re-read and recompute.
kx_status_update() {
        local writer=$1 filter=${*: -1} try new
        set -- "${@:2:$#-2}"
        for try in $(seq 1 20); do
                kx_req "$writer" GET "$KX_OBJ_PATH"
                [ "$KX_CODE" = 200 ] || { echo "kratix: GET $KX_OBJ_PATH: $KX_CODE $KX_BODY" >&2; return 1; }
                new=$(_kx_jq --arg now "$(kx_now)" "$@" "(.status // {}) as \$old
                        | .status = ((.status // {}) | $filter)
                        | if .status == \$old then empty else . end" <<<"$KX_BODY") || return 1
                [ -z "$new" ] && return 0
                kx_req "$writer" PUT "$KX_OBJ_PATH/status" "$new"
                case $KX_CODE in
                200) return 0 ;;
                409) continue ;;
                *) echo "kratix: PUT $KX_OBJ_PATH/status: $KX_CODE $KX_BODY" >&2; return 1 ;;
                esac
        done
        return 1
}

# kx_event TYPE REASON MESSAGE: an Event on the resource, as Kratix's recorder.
kx_event() {
        local ns=${KX_NS:-default} uid
        kx_req controller GET "$KX_OBJ_PATH"
        uid=$(jq -r '.metadata.uid // ""' <<<"$KX_BODY" 2>/dev/null)
        kx_req controller POST "/api/v1/namespaces/$ns/events" "$(jq -nc --arg ns "$ns" --arg type "$1" --arg uid "$uid" \
                --arg reason "$2" --arg msg "$3" --arg kind "$KX_KIND" --arg name "$KX_NAME" \
                --arg av "$KX_GROUP/$KX_VERSION" --arg now "$(kx_now)" '{apiVersion: "v1", kind: "Event",
                metadata: {generateName: "\($name).", namespace: $ns}, type: $type, reason: $reason, message: $msg,
                involvedObject: {apiVersion: $av, kind: $kind, name: $name, uid: $uid,
                  namespace: (if $ns == "" then null else $ns end)},
                source: {component: "kratix-platform-controller-manager"}, firstTimestamp: $now, lastTimestamp: $now,
                count: 1, reportingComponent: "kratix-platform-controller-manager"}')" >/dev/null
}

# ---- a pipeline Pod: the Job controller and the kubelet ----

_kx_pod_ns() { echo "${KX_PIPELINE_NS:-${KX_NS:-kratix-platform-system}}"; }

# The KRATIX_* environment of every container (pipeline_factory.go defaultEnvVars).
_kx_env() { # PIPELINE
        local av=$KX_GROUP
        echo "KRATIX_WORKFLOW_ACTION=configure"
        echo "KRATIX_WORKFLOW_TYPE=$KX_WORKFLOW_TYPE"
        echo "KRATIX_PROMISE_NAME=$KX_PROMISE"
        echo "KRATIX_PIPELINE_NAME=$1"
        echo "KRATIX_OBJECT_KIND=$KX_KIND"
        echo "KRATIX_OBJECT_GROUP=$av"
        echo "KRATIX_OBJECT_VERSION=$KX_VERSION"
        echo "KRATIX_OBJECT_NAME=$KX_NAME"
        echo "KRATIX_OBJECT_NAMESPACE=${KX_NS:-}"
        echo "KRATIX_CRD_PLURAL=$KX_PLURAL"
        echo "KRATIX_CLUSTER_SCOPED=$([ -z "${KX_NS:-}" ] && echo true || echo false)"
        [ "${KX_DRY_RUN:-}" = true ] && echo "KRATIX_DRY_RUN=true"
        return 0
}

# _kx_pod_object POD JOB PIPELINE IS_LAST: the Pod the Job controller makes
# from the Job Kratix's pipeline factory generates (containers, env, volumes,
# labels), with the kstatus sidecar first when KX_SIDECAR is set, as the
# admission policies inject it.
_kx_pod_object() {
        local env
        env=$(_kx_env "$3" | jq -Rn '[inputs | capture("^(?<name>[^=]*)=(?<value>.*)$")]')
        jq -nc --arg pod "$1" --arg job "$2" --arg pipeline "$3" --arg last "$4" --arg ns "$(_kx_pod_ns)" \
                --arg promise "$KX_PROMISE" --arg resource "$KX_NAME" --arg type "$KX_WORKFLOW_TYPE" \
                --argjson env "$env" --arg sidecar "${KX_SIDECAR:+1}" '
        {name: "shared-input", mountPath: "/kratix/input"} as $in
        | {name: "shared-output", mountPath: "/kratix/output"} as $out
        | {name: "shared-metadata", mountPath: "/kratix/metadata"} as $meta
        | {allowPrivilegeEscalation: false, capabilities: {drop: ["ALL"]}, privileged: false,
           runAsNonRoot: true, seccompProfile: {type: "RuntimeDefault"}} as $sc
        | {apiVersion: "v1", kind: "Pod",
           metadata: {name: $pod, namespace: $ns, finalizers: ["kx.invalid/kubelet"],
             labels: ({"kratix.io/pipeline-name": $pipeline, "kratix.io/promise-name": $promise,
               "kratix.io/workflow-type": $type, "kratix.io/workflow-action": "configure",
               "app.kubernetes.io/managed-by": "Kratix", "batch.kubernetes.io/job-name": $job, "job-name": $job}
               + (if $type == "resource" then {"kratix.io/resource-name": $resource} else {} end)),
             ownerReferences: [{apiVersion: "batch/v1", kind: "Job", name: $job, uid: "00000000-0000-0000-0000-000000000000",
               controller: true, blockOwnerDeletion: true}]},
           spec: {restartPolicy: "OnFailure", serviceAccountName: "\($promise)-\($type)-configure-\($pipeline)",
             initContainers: ((if $sidecar == "1" then [{name: "kstatus-sidecar", image: "kstatus-sidecar",
                 restartPolicy: "Always", volumeMounts: [$meta, ($in + {readOnly: true})],
                 env: ($env + [{name: "IS_LAST_PIPELINE", value: $last},
                   {name: "POD_NAME", valueFrom: {fieldRef: {fieldPath: "metadata.name"}}},
                   {name: "POD_NAMESPACE", valueFrom: {fieldRef: {fieldPath: "metadata.namespace"}}}])}] else [] end)
               + [{name: "reader", image: "pipeline-adapter", args: ["reader"], env: $env,
                   volumeMounts: [$in, $out], securityContext: $sc},
                  {name: "pipeline", image: "\($pipeline):v0.1.0", env: $env,
                   volumeMounts: [($in + {readOnly: true}), $out, $meta]},
                  {name: "work-writer", image: "pipeline-adapter", args: ["work-creator"],
                   volumeMounts: [{name: "shared-output", mountPath: "/work-creator-files/input"},
                     {name: "shared-metadata", mountPath: "/work-creator-files/metadata"}], securityContext: $sc}]),
             containers: [{name: "status-writer", image: "pipeline-adapter", args: ["update-status"],
               env: ([{name: "IS_LAST_PIPELINE", value: $last}] + $env),
               volumeMounts: [{name: "shared-metadata", mountPath: "/work-creator-files/metadata"}],
               securityContext: $sc}],
             volumes: [{name: "shared-input", emptyDir: {}}, {name: "shared-output", emptyDir: {}},
               {name: "shared-metadata", emptyDir: {}}]},
           status: {phase: "Pending"}}'
}

# The kubelet's view of the Pod: $KX_POD_DIR/status.json, sent with
# _kx_status_push (PATCH of pods/status, as the kubelet's status manager).
_kx_status_init() { # names of init containers, then "--", regular containers
        local init=() regular=() seen=
        for c in "$@"; do
                if [ "$c" = -- ]; then seen=1; elif [ -n "$seen" ]; then regular+=("$c"); else init+=("$c"); fi
        done
        jq -nc '{phase: "Pending", initContainerStatuses: [], containerStatuses: []}' >"$KX_POD_DIR/status.json"
        for c in "${init[@]}"; do _kx_cs_add initContainerStatuses "$c"; done
        for c in "${regular[@]}"; do _kx_cs_add containerStatuses "$c"; done
}
_kx_cs_add() {
        _kx_status_edit --arg list "$1" --arg c "$2" '.[$list] += [{name: $c, image: $c, imageID: "",
                ready: false, started: false, restartCount: 0,
                state: {waiting: {reason: "PodInitializing"}}}]'
}
_kx_status_edit() { # jq args... FILTER
        local tmp=$KX_POD_DIR/status.json.tmp
        jq -c "$@" "$KX_POD_DIR/status.json" >"$tmp" && mv "$tmp" "$KX_POD_DIR/status.json"
}
# _kx_cs NAME running|completed|failed EXIT|waiting REASON|restart: one container's state.
_kx_cs() {
        local now
        now=$(kx_now)
        _kx_status_edit --arg c "$1" --arg s "$2" --arg x "${3:-0}" --arg now "$now" '
          def upd: if .name != $c then . else
            if $s == "running" then .state = {running: {startedAt: $now}} | .started = true | .ready = true
              | .containerID = "containerd://\(.name)-\(.restartCount)"
            elif $s == "terminated" then .state = {terminated: {exitCode: ($x | tonumber),
                reason: (if $x == "0" then "Completed" else "Error" end), startedAt: (.state.running.startedAt // $now),
                finishedAt: $now, containerID: (.containerID // "containerd://\(.name)")}} | .ready = false | .started = false
            elif $s == "restart" then .lastState = .state | .restartCount += 1
              | .state = {waiting: {reason: "CrashLoopBackOff", message: "back-off restarting failed container"}}
            else .state = {waiting: {reason: $x}} end end;
          .initContainerStatuses |= map(upd) | .containerStatuses |= map(upd)'
}
_kx_status_push() {
        kx_req kubelet PATCH "/api/v1/namespaces/$(_kx_pod_ns)/pods/$KX_POD/status" \
                "$(jq -c '{status: .}' "$KX_POD_DIR/status.json")"
        [ "$KX_CODE" = 200 ] || echo "kratix: kubelet: PATCH pod status: $KX_CODE $KX_BODY" >&2
}

# The sidecar, as the kubelet starts a native sidecar: before the other init
# containers, "started" once it logs that it watches.
_kx_sidecar_start() { # PIPELINE IS_LAST
        local log=$KX_POD_DIR/sidecar.log starts
        : >>"$log"
        starts=$(grep -c 'watch: ' "$log")
        # shellcheck disable=SC2046 # one word per KEY=VALUE line
        env $(_kx_env "$1") IS_LAST_PIPELINE="$2" POD_NAME="$KX_POD" POD_NAMESPACE="$(_kx_pod_ns)" \
                KSTATUS_METADATA_DIR="$KX_POD_DIR/metadata" KSTATUS_INPUT_DIR="$KX_POD_DIR/input" \
                ${KX_SIDECAR_WRAPPER:-} "$KX_SIDECAR" ${KX_SIDECAR_ARGS:-} >>"$log" 2>&1 &
        KX_SIDECAR_PID=$!
        echo "$KX_SIDECAR_PID" >>"$KX_DIR/sidecar.pids"
        local i
        for i in $(seq 1 200); do
                [ "$(grep -c 'watch: ' "$log")" -gt "$starts" ] && { _kx_cs kstatus-sidecar running; return 0; }
                kill -0 "$KX_SIDECAR_PID" 2>/dev/null || break
                sleep 0.05
        done
        echo "kratix: the sidecar did not start:" >&2
        sed 's/^/kratix:   /' "$log" >&2
        return 1
}
# The kubelet stops a native sidecar after the regular containers (or when the
# Pod is deleted or evicted): SIGTERM, then the grace period (75 s as inject sets).
_kx_sidecar_stop() {
        [ -n "${KX_SIDECAR_PID:-}" ] || return 0
        kill -TERM "$KX_SIDECAR_PID" 2>/dev/null
        local rc i
        for i in $(seq 1 1500); do
                kill -0 "$KX_SIDECAR_PID" 2>/dev/null || break
                sleep 0.05
        done
        kill -KILL "$KX_SIDECAR_PID" 2>/dev/null
        wait "$KX_SIDECAR_PID"
        rc=$?
        echo "$rc" >"$KX_POD_DIR/sidecar.rc"
        KX_SIDECAR_RC=$rc
        _kx_ship_log kstatus-sidecar "$KX_POD_DIR/sidecar.log"
        KX_SIDECAR_PID=
        _kx_cs kstatus-sidecar terminated "$rc"
}

# ---- the containers Kratix puts in every pipeline Pod ----

# reader (work-creator/lib/reader.go): the object as it is now, into /kratix/input.
_kx_reader() {
        kx_req reader GET "$KX_OBJ_PATH"
        [ "$KX_CODE" = 200 ] || return 1
        printf '%s\n' "$KX_BODY" >"$KX_POD_DIR/input/object.yaml"
        # What Kratix's reader prints (its log, as kubectl logs shows it).
        echo "Object file written to: /kratix/input/object.yaml head of file:"
        head -c 500 "$KX_POD_DIR/input/object.yaml"
        echo
}

# work-writer (work-creator/lib/work_creator.go): a Work for what the pipeline
# put in /kratix/output (labels from resourceutil.GetWorkLabels), then Kratix's
# scheduler (internal/controller/scheduler.go) places it: one WorkPlacement per
# Destination of KX_DESTINATIONS, and the Work's status.
_kx_work_writer() { # PIPELINE
        [ -n "$(ls -A "$KX_POD_DIR/output" 2>/dev/null)" ] || return 0
        local ns=$(_kx_pod_ns) work
        work="$KX_PROMISE-$KX_NAME-$1"
        [ "$KX_WORKFLOW_TYPE" = promise ] && work="$KX_PROMISE-$1"
        local files
        files=$(cd "$KX_POD_DIR/output" && for f in *; do jq -n --arg p "$f" --rawfile c "$f" '{filepath: $p, content: $c}'; done | jq -sc .)
        kx_req work-writer POST "/apis/platform.kratix.io/v1alpha1/namespaces/$ns/works" "$(jq -nc --arg n "$work" \
                --arg ns "$ns" --arg promise "$KX_PROMISE" --arg r "$KX_NAME" --arg p "$1" --argjson files "$files" \
                --arg type "$KX_WORKFLOW_TYPE" --arg rns "$([ -n "${KX_PIPELINE_NS:-}" ] && echo "${KX_NS:-}")" '
                {apiVersion: "platform.kratix.io/v1alpha1", kind: "Work",
                 metadata: {name: $n, namespace: $ns, labels: ({"kratix.io/promise-name": $promise,
                   "kratix.io/pipeline-name": $p, "kratix.io/work-type": $type}
                   + (if $type == "resource" then {"kratix.io/resource-name": $r} else {} end)
                   + (if $rns != "" then {"kratix.io/resource-namespace": $rns} else {} end))},
                 spec: ({promiseName: $promise, workloadGroups: [{id: "default", directory: ".", workloads: $files}]}
                   + (if $type == "resource" then {resourceName: $r} else {} end))}')"
        [ "$KX_CODE" = 201 ] || [ "$KX_CODE" = 409 ] || return 1
        echo "Work created workName=$work" # work-creator's logger.Info
        local dest misplaced=
        for dest in ${KX_DESTINATIONS:-${KX_DESTINATION:-worker-1}}; do
                _kx_place "$ns" "$work" "$1" "$dest" || return 1
                case " ${KX_MISPLACED:-} " in *" $dest "*) misplaced=1 ;; esac
        done
        _kx_work_status "$ns" "$work" "$misplaced"
}

# The scheduler's WorkPlacement (named as the stand-in always has: WORK.default-DEST)
# and its status, then the WorkPlacement controller's write to the state store:
# KX_MISPLACED (Destinations whose labels no longer match: kratix.io/misplaced)
# and KX_WRITE_FAIL ("DEST=message": the state store refused the write).
_kx_place() { # NS WORK PIPELINE DEST
        local ns=$1 work=$2 dest=$4 path misplaced=false fail=
        case " ${KX_MISPLACED:-} " in *" $dest "*) misplaced=true ;; esac
        local f
        for f in "${KX_WRITE_FAIL[@]}"; do [ "${f%%=*}" = "$dest" ] && fail=${f#*=}; done
        kx_req scheduler POST "/apis/platform.kratix.io/v1alpha1/namespaces/$ns/workplacements" "$(jq -nc \
                --arg n "$work.default-$dest" --arg ns "$ns" --arg work "$work" --arg p "$3" \
                --arg dest "$dest" --arg promise "$KX_PROMISE" --arg r "$KX_NAME" --argjson m "$misplaced" '
                {apiVersion: "platform.kratix.io/v1alpha1", kind: "WorkPlacement",
                 metadata: {name: $n, namespace: $ns, labels: ({"kratix.io/work": $work, "kratix.io/promise-name": $promise,
                   "kratix.io/workload-group-id": "default", "kratix.io/targetDestinationName": $dest,
                   "kratix.io/pipeline-name": $p} + (if $m then {"kratix.io/misplaced": "true"} else {} end))},
                 spec: {targetDestinationName: $dest, promiseName: $promise, resourceName: $r, id: "default",
                   generation: 1, workloads: []}}')"
        [ "$KX_CODE" = 201 ] || [ "$KX_CODE" = 409 ] || return 1
        path=/apis/platform.kratix.io/v1alpha1/namespaces/$ns/workplacements/$work.default-$dest
        kx_req scheduler GET "$path"
        kx_req scheduler PUT "$path/status" "$(jq -c --argjson m "$misplaced" --arg now "$(kx_now)" '.status.conditions =
                (if $m then [{type: "Ready", status: "False", reason: "Misplaced", message: "Misplaced"},
                   {type: "ScheduleSucceeded", status: "False", reason: "DestinationSelectorMismatch",
                    message: "Target destination no longer matches destinationSelectors"}]
                 else [{type: "ScheduleSucceeded", status: "True", reason: "ScheduledToDestination",
                    message: "Scheduled to correct Destination"},
                   {type: "Ready", status: "False", reason: "ScheduledToDestination", message: "Pending"}] end)
                | .status.conditions[].lastTransitionTime = $now' <<<"$KX_BODY")"
        [ "$misplaced" = true ] && return 0
        kx_req workplacement-controller GET "$path"
        kx_req workplacement-controller PUT "$path/status" "$(jq -c --arg fail "$fail" --arg now "$(kx_now)" '
                def set(c): .status.conditions = ([.status.conditions[] | select(.type != c.type)] + [c + {lastTransitionTime: $now}]);
                if $fail != "" then set({type: "WriteSucceeded", status: "False", reason: "WorkloadsFailedWrite", message: $fail})
                  | set({type: "Ready", status: "False", reason: "WorkloadsFailedWrite", message: "Failing"})
                else set({type: "WriteSucceeded", status: "True", reason: "WorkloadsWrittenToStateStore",
                    message: "Workloads written to State Store"})
                  | set({type: "Ready", status: "True", reason: "WorkloadsWrittenToTargetDestination", message: "Ready"})
                  | .status.versionID = "0123456789abcdef0123456789abcdef01234567" end' <<<"$KX_BODY")"
}

# The scheduler's Work status (updateWorkStatus): counts and Ready/ScheduleSucceeded.
_kx_work_status() { # NS WORK MISPLACED
        local path=/apis/platform.kratix.io/v1alpha1/namespaces/$1/works/$2 n
        n=$(wc -w <<<"${KX_DESTINATIONS:-${KX_DESTINATION:-worker-1}}")
        kx_req scheduler GET "$path"
        kx_req scheduler PUT "$path/status" "$(jq -c --arg m "$3" --argjson n "$n" --arg now "$(kx_now)" '
                .status.workPlacements = 1 | .status.workPlacementsCreated = 1
                | .status.conditions = (if $m != "" then
                    [{type: "ScheduleSucceeded", status: "False", reason: "DestinationSelectorMismatch",
                      message: "Target destination no longer matches destinationSelectors for workloadGroups: [default]"},
                     {type: "Ready", status: "False", reason: "Misplaced", message: "Misplaced"}]
                  else [{type: "ScheduleSucceeded", status: "True", reason: "AllWorkplacementsScheduled",
                      message: "All workplacements scheduled successfully"},
                     {type: "Ready", status: "True", reason: "AllWorkplacementsScheduled", message: "Ready"}] end)
                | .status.conditions[].lastTransitionTime = $now' <<<"$KX_BODY")"
}

# kx_destination NAME [REASON MESSAGE]: a Destination as its controller leaves
# it (destination_controller.go): Ready True/DestinationReady, or with a
# reason Ready False (StateStoreNotReady, StateStoreNotFound, ...).
kx_destination() {
        local path=/apis/platform.kratix.io/v1alpha1/destinations
        kx_req destination-controller POST "$path" "$(jq -nc --arg n "$1" '{apiVersion: "platform.kratix.io/v1alpha1",
                kind: "Destination", metadata: {name: $n, labels: {environment: "dev"}},
                spec: {path: $n, stateStoreRef: {kind: "GitStateStore", name: "default"}}}')"
        [ "$KX_CODE" = 201 ] || [ "$KX_CODE" = 409 ] || return 1
        kx_req destination-controller GET "$path/$1"
        kx_req destination-controller PUT "$path/$1/status" "$(jq -c --arg r "${2:-}" --arg m "${3:-}" --arg now "$(kx_now)" '
                .status.conditions = [if $r == "" then {type: "Ready", status: "True", reason: "DestinationReady",
                    message: "Destination is ready"} else {type: "Ready", status: "False", reason: $r, message: $m} end
                  | .lastTransitionTime = $now]' <<<"$KX_BODY")"
        [ "$KX_CODE" = 200 ]
}

# kx_promise_label: Kratix's resource controller labels a resource with its
# Promise (setPromiseLabels, a PUT of the object) before anything else.
kx_promise_label() {
        kx_req controller GET "$KX_OBJ_PATH"
        kx_req controller PUT "$KX_OBJ_PATH" "$(jq -c --arg p "$KX_PROMISE" '.metadata.labels["kratix.io/promise-name"] = $p' <<<"$KX_BODY")"
        [ "$KX_CODE" = 200 ]
}

# A Go time.ParseDuration in jq: "1h2m3.5s", "300ms"; exit 1 when invalid.
_kx_go_duration() {
        jq -en --arg d "$1" '
          def unit: {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600};
          ($d | test("^[-+]?(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$") or $d == "0") as $ok
          | if $ok | not then error("invalid duration \"\($d)\"") else
            ($d | ltrimstr("+") | ltrimstr("-")) as $abs
            | ([$abs | scan("([0-9.]+)(ns|us|µs|μs|ms|s|m|h)") | (.[0] | tonumber) * unit[.[1]]] | add // 0)
            * (if ($d | startswith("-")) then -1 else 1 end) end' 2>/dev/null
}

# status-writer (work-creator/cmd/update_status.go): GET, shallow merge of
# status.yaml, completion when IS_LAST_PIPELINE and workflow-control.yaml asks
# for neither suspend nor retry, the suspend label and pipeline phase, the dry
# run message, then one PUT of the whole object with the resourceVersion it
# read: a 409 fails the container (no retry inside).
_kx_status_writer() { # PIPELINE IS_LAST
        local pipeline=$1 last=$2 meta=$KX_POD_DIR/metadata
        [ "${KX_STATUS_WRITER_FAIL:-}" = 1 ] && { echo "failed to create Kubernetes client: stand-in fault"; return 1; }
        kx_req status-writer GET "$KX_OBJ_PATH"
        [ "$KX_CODE" = 200 ] || { echo "failed to get existing object: $KX_CODE"; return 1; }
        local obj=$KX_BODY incoming control
        incoming=$(kx_yaml_to_json "$meta/status.yaml") || { echo "failed to load incoming status"; return 1; }
        [ -n "$incoming" ] || { echo "failed to load incoming status"; return 1; }
        if jq -e 'has("kratix")' <<<"$incoming" >/dev/null; then
                echo "'kratix' is a kratix managed status field that cannot be updated via workflows"
                return 1
        fi
        if [ "$KX_WORKFLOW_TYPE" = promise ] && jq -e 'keys - ["message"] | length > 0' <<<"$incoming" >/dev/null; then
                echo "Warning: promise workflow status has unsupported keys: $(jq -r 'keys - ["message"] | join(", ")' <<<"$incoming") in status.yaml; only 'message' can be updated in Promise status."
        fi
        local status
        status=$(_kx_jq -c --argjson in "$incoming" '(.status // {}) | merge_statuses($in)' <<<"$obj")
        control=null
        if [ -e "$meta/workflow-control.yaml" ]; then
                control=$(kx_yaml_to_json "$meta/workflow-control.yaml") || control=
                [ -n "$control" ] || { echo "failed to unmarshal the workflow control file"; return 1; }
                # Kratix unmarshals into {suspend bool, message string, retryAfter string}: a wrong type fails.
                jq -e '(.suspend // false | type == "boolean") and (.message // "" | type == "string")
                        and (.retryAfter // "" | type == "string")' <<<"$control" >/dev/null ||
                        { echo "failed to unmarshal the workflow control file"; return 1; }
        fi
        local suspend retry
        suspend=$(jq -r '.suspend // false' <<<"$control")
        retry=$(jq -r '.retryAfter // ""' <<<"$control")
        if [ "$last" = true ] && [ "$suspend" != true ] && [ -z "$retry" ]; then
                status=$(_kx_jq -c --arg t "$KX_WORKFLOW_TYPE" --arg now "$(kx_now)" 'mark_completed($t; $now)' <<<"$status")
        fi
        if [ "$suspend" != true ] && [ -z "$retry" ]; then
                status=$(_kx_jq -c --arg p "$pipeline" 'clear_suspension($p)' <<<"$status")
        else
                local retry_at=""
                if [ -n "$retry" ]; then
                        local secs
                        secs=$(_kx_go_duration "$retry") ||
                                { echo "Error: failed to parse retryAfter duration specified in the workflow-control.yaml file: \"$retry\""; return 1; }
                        retry_at=$(date -u -d "@$(( $(date +%s) + ${secs%.*} ))" +%Y-%m-%dT%H:%M:%SZ)
                fi
                obj=$(jq -c '.metadata.labels["kratix.io/workflow-suspended"] = "true"' <<<"$obj")
                kx_req status-writer PUT "$KX_OBJ_PATH" "$obj"
                [ "$KX_CODE" = 200 ] || { echo "failed to update object labels: $KX_CODE"; return 1; }
                obj=$KX_BODY
                status=$(_kx_jq -c --arg p "$pipeline" --arg m "$(jq -r '.message // ""' <<<"$control")" \
                        --arg r "$retry_at" --argjson g "$(jq '.metadata.generation // 0' <<<"$obj")" \
                        'if .kratix.workflows.pipelines == null then error("missing status.kratix.workflows.pipelines")
                         else mark_suspended($p; $m; $r; $g) end' <<<"$status") || return 1
        fi
        [ "${KX_DRY_RUN:-}" = true ] && status=$(jq -c '.message = "Dry run executed"' <<<"$status")
        kx_req status-writer PUT "$KX_OBJ_PATH/status" "$(jq -c --argjson s "$status" '.status = $s' <<<"$obj")"
        [ "$KX_CODE" = 200 ] || { echo "failed to update status: $KX_CODE $(jq -r '.message // empty' <<<"$KX_BODY" 2>/dev/null)"; return 1; }
}

# kx_status_writer POD_DIR PIPELINE IS_LAST: status-writer alone, for a Pod run
# elsewhere (POD_DIR/metadata holds status.yaml and workflow-control.yaml; the
# resource is kx_resource's). Exit 0 when its PUT was stored, 1 as the
# container fails (its message on stderr).
kx_status_writer() {
        local KX_POD_DIR=$1 out rc
        out=$(_kx_status_writer "$2" "$3" 2>&1)
        rc=$?
        [ "$rc" = 0 ] || printf 'status-writer: %s\n' "$out" >&2
        return "$rc"
}

# ---- Jobs, Pods and the workflow ----

# _kx_container NAME CMD...: the kubelet runs one container of the Pod, restarting
# it on failure (restartPolicy OnFailure) until the Job's backoffLimit is used
# up. Returns 0 when it completed, 1 when the Job failed, 2 when the Pod was
# stopped early (evicted, or deleted because the Job was suspended).
_kx_container() {
        local name=$1 rc
        shift
        while :; do
                if [ "${KX_EVICT:-}" = "$name" ] && [ "$KX_POD_ATTEMPT" = 1 ]; then
                        _kx_cs "$name" running; _kx_status_push
                        _kx_evict "$name"
                        return 2
                fi
                if [ "${KX_SUSPEND_JOB:-}" = "$name" ]; then
                        _kx_cs "$name" running; _kx_status_push
                        _kx_suspend_job "$name"
                        return 2
                fi
                _kx_cs "$name" running
                [ "$name" = status-writer ] && _kx_status_edit '.phase = "Running"'
                _kx_status_push
                "$@" >"$KX_POD_DIR/$name.run.log" 2>&1
                rc=$?
                _kx_ship_log "$name" "$KX_POD_DIR/$name.run.log"
                cat "$KX_POD_DIR/$name.run.log" >>"$KX_POD_DIR/$name.log"
                if [ "$rc" = 0 ]; then _kx_cs "$name" terminated 0; return 0; fi
                KX_FAILURES=$((KX_FAILURES + 1))
                _kx_cs "$name" terminated "$rc"
                _kx_status_push
                if [ "$KX_FAILURES" -gt "${KX_BACKOFF_LIMIT:-6}" ]; then
                        _kx_cs "$name" restart; _kx_cs "$name" waiting CrashLoopBackOff
                        if [ -n "${KX_HOLD_FAILED:-}" ]; then
                                _kx_status_push
                                : >"$KX_HOLD_FAILED.held"
                                while [ ! -e "$KX_HOLD_FAILED" ]; do sleep 0.05; done
                        fi
                        _kx_job_failed
                        return 1
                fi
                _kx_cs "$name" restart
                _kx_status_push
                _kx_ship_log "$name" /dev/null restart # the failed run becomes the previous one
        done
}

# The kubelet keeps each container's output: the test API server serves it as
# pods/log (POST /_kstatus/logs), so `kubectl logs` works on the stand-in's Pods.
# With "restart": the kubelet restarts the container, its current run (empty, open) begins.
_kx_ship_log() { # CONTAINER FILE [restart]
        local body restart=false
        [ "${3:-}" = restart ] && restart=true
        body=$(jq -nc --arg ns "$(_kx_pod_ns)" --arg pod "$KX_POD" --arg c "$1" --rawfile t "$2" \
                --argjson restart "$restart" \
                '{namespace: $ns, pod: $pod, container: $c, text: $t, restart: $restart, close: ($restart | not)}')
        local args=(-sS -o /dev/null -X POST -H "Authorization: Bearer $KX_TOKEN" -H "Content-Type: application/json"
                --data-binary @-)
        [ -n "${KX_CA:-}" ] && args+=(--cacert "$KX_CA")
        curl "${args[@]}" "$KX_URL/_kstatus/logs" <<<"$body" 2>/dev/null || true
}

_kx_pipeline_cmd() { # the pipeline's own container: a bash snippet
        # shellcheck disable=SC2046
        env $(_kx_env "$KX_PIPELINE") METADATA="$KX_POD_DIR/metadata" OUTPUT="$KX_POD_DIR/output" \
                INPUT="$KX_POD_DIR/input" bash -c "$KX_PIPELINE_CMD"
}

_kx_delete_pod() { # the Pod is deleted gracefully: the kubelet stops what runs, then it goes
        local ns=$(_kx_pod_ns)
        kx_req job-controller DELETE "/api/v1/namespaces/$ns/pods/$KX_POD"
        _kx_sidecar_stop
        _kx_status_push
        kx_req kubelet PATCH "/api/v1/namespaces/$ns/pods/$KX_POD" '{"metadata":{"finalizers":null}}'
}

_kx_job_status() { # FILTER: the Job controller's status write
        local ns=$(_kx_pod_ns) path
        path=/apis/batch/v1/namespaces/$ns/jobs/$KX_JOB
        kx_req job-controller GET "$path"
        kx_req job-controller PUT "$path/status" "$(jq -c --arg now "$(kx_now)" "$1" <<<"$KX_BODY")"
}

# backoffLimit used up: the Job controller (1.31+) marks the Job FailureTarget,
# deletes its Pod, then marks it Failed.
_kx_job_failed() {
        _kx_job_status '.status.conditions = [{type: "FailureTarget", status: "True", reason: "BackoffLimitExceeded",
                message: "Job has reached the specified backoff limit", lastTransitionTime: $now}]'
        _kx_delete_pod
        _kx_job_status '.status.conditions += [{type: "Failed", status: "True", reason: "BackoffLimitExceeded",
                message: "Job has reached the specified backoff limit", lastTransitionTime: $now}]
                | .status.failed = 1 | .status.active = 0'
}

# Eviction (node pressure): the kubelet kills the Pod, marks it Failed/Evicted
# with a DisruptionTarget condition; the Job controller makes a new Pod.
_kx_evict() { # CONTAINER (running)
        _kx_status_edit --arg now "$(kx_now)" '.phase = "Failed" | .reason = "Evicted"
                | .message = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi."
                | .conditions = [{type: "DisruptionTarget", status: "True", reason: "TerminationByKubelet",
                    message: "The node was low on resource: memory.", lastTransitionTime: $now}]'
        _kx_status_push
        _kx_sidecar_stop
        _kx_cs "$1" terminated 137
        _kx_status_push
        KX_FAILURES=$((KX_FAILURES + 1))
        kx_req kubelet PATCH "/api/v1/namespaces/$(_kx_pod_ns)/pods/$KX_POD" '{"metadata":{"finalizers":null}}'
}

# Manual reconciliation (reconciler.go suspendJob): the controller suspends the
# running Job; the Job controller deletes its Pods.
_kx_suspend_job() {
        local ns=$(_kx_pod_ns)
        kx_req controller PATCH "/apis/batch/v1/namespaces/$ns/jobs/$KX_JOB" '{"spec":{"suspend":true}}'
        _kx_delete_pod
        _kx_job_status '.status.conditions = [{type: "Suspended", status: "True", reason: "JobSuspended",
                message: "Job suspended", lastTransitionTime: $now}] | .status.active = 0'
}

# kx_run_job PIPELINE INDEX COUNT CMD: the Job for one pipeline, its Pods until one
# succeeds or the Job fails. 0 succeeded, 1 failed, 2 suspended (manual reconciliation).
kx_run_job() {
        KX_PIPELINE=$1 KX_PIPELINE_CMD=$4
        local index=$2 count=$3 last=false ns hash
        ns=$(_kx_pod_ns)
        [ "$index" = $((count - 1)) ] && last=true
        hash=$(printf '%s' "$KX_NAME$KX_PIPELINE$RANDOM$BASHPID" | md5sum | cut -c1-5)
        # pipelineJobName: kratix-PROMISE[-RESOURCE[-NAMESPACE]]-PIPELINE-<5 hex>
        if [ "$KX_WORKFLOW_TYPE" = promise ]; then KX_JOB=kratix-$KX_PROMISE-$KX_PIPELINE-$hash
        elif [ -n "${KX_PIPELINE_NS:-}" ]; then KX_JOB=kratix-$KX_PROMISE-$KX_NAME-$KX_NS-$KX_PIPELINE-$hash
        else KX_JOB=kratix-$KX_PROMISE-$KX_NAME-$KX_PIPELINE-$hash; fi
        kx_req controller POST "/apis/batch/v1/namespaces/$ns/jobs" "$(jq -nc --arg n "$KX_JOB" --arg ns "$ns" \
                --arg p "$KX_PIPELINE" --arg promise "$KX_PROMISE" --arg r "$KX_NAME" --argjson b "${KX_BACKOFF_LIMIT:-6}" \
                --arg type "$KX_WORKFLOW_TYPE" '
                {apiVersion: "batch/v1", kind: "Job", metadata: {name: $n, namespace: $ns,
                  labels: ({"kratix.io/pipeline-name": $p, "kratix.io/promise-name": $promise,
                    "kratix.io/workflow-type": $type, "kratix.io/workflow-action": "configure",
                    "app.kubernetes.io/managed-by": "Kratix"}
                    + (if $type == "resource" then {"kratix.io/resource-name": $r} else {} end))},
                 spec: {backoffLimit: $b, template: {spec: {restartPolicy: "OnFailure", containers: []}}},
                 status: {}}')"
        [ "$KX_CODE" = 201 ] || { echo "kratix: create Job: $KX_CODE $KX_BODY" >&2; return 1; }
        KX_FAILURES=0 KX_POD_ATTEMPT=0
        local rc
        while :; do
                KX_POD_ATTEMPT=$((KX_POD_ATTEMPT + 1))
                _kx_run_pod "$index" "$last"
                rc=$?
                [ "$rc" = 3 ] && continue   # evicted: the Job controller makes a new Pod
                return "$rc"
        done
}

_kx_run_pod() { # INDEX IS_LAST -> 0 ok, 1 Job failed, 2 Job suspended, 3 evicted
        local last=$2 ns
        ns=$(_kx_pod_ns)
        KX_POD=$KX_JOB-$(printf '%s' "$RANDOM$KX_POD_ATTEMPT" | md5sum | cut -c1-5)
        KX_POD_DIR=$KX_DIR/pods/$KX_POD
        mkdir -p "$KX_POD_DIR/input" "$KX_POD_DIR/output" "$KX_POD_DIR/metadata"
        kx_req job-controller POST "/api/v1/namespaces/$ns/pods" "$(_kx_pod_object "$KX_POD" "$KX_JOB" "$KX_PIPELINE" "$last")"
        [ "$KX_CODE" = 201 ] || { echo "kratix: create Pod: $KX_CODE $KX_BODY" >&2; return 1; }
        local init=(reader pipeline work-writer)
        [ -n "${KX_SIDECAR:-}" ] && init=(kstatus-sidecar "${init[@]}")
        _kx_status_init "${init[@]}" -- status-writer
        KX_SIDECAR_PID=
        if [ -n "${KX_SIDECAR:-}" ]; then _kx_sidecar_start "$KX_PIPELINE" "$last" || return 1; fi
        _kx_status_push
        local rc
        _kx_container reader _kx_reader; rc=$?
        [ "$rc" = 0 ] && { _kx_container pipeline _kx_pipeline_cmd; rc=$?; }
        [ "$rc" = 0 ] && { _kx_container work-writer _kx_work_writer "$KX_PIPELINE"; rc=$?; }
        [ "$rc" = 0 ] && { _kx_container status-writer _kx_status_writer "$KX_PIPELINE" "$last"; rc=$?; }
        if [ "$rc" = 2 ] && [ "${KX_EVICT:-}" != "" ] && [ "$KX_POD_ATTEMPT" = 1 ]; then
                [ "$KX_FAILURES" -gt "${KX_BACKOFF_LIMIT:-6}" ] && { _kx_job_failed; return 1; }
                return 3
        fi
        [ "$rc" = 0 ] || return "$rc"
        # The regular container ended: the kubelet reports it and stops the sidecar.
        if [ "${KX_SIDECAR_TERM_FIRST:-}" = 1 ] && [ -n "$KX_SIDECAR_PID" ]; then
                kill -TERM "$KX_SIDECAR_PID"
                _kx_status_push
        else
                _kx_status_push
        fi
        _kx_sidecar_stop
        _kx_status_edit '.phase = "Succeeded"'
        _kx_status_push
        kx_req kubelet PATCH "/api/v1/namespaces/$ns/pods/$KX_POD" '{"metadata":{"finalizers":null}}'
        _kx_job_status '.status.conditions = [{type: "SuccessCriteriaMet", status: "True", reason: "CompletionsReached",
                message: "Reached expected number of succeeded pods", lastTransitionTime: $now},
                {type: "Complete", status: "True", reason: "CompletionsReached",
                message: "Reached expected number of succeeded pods", lastTransitionTime: $now}]
                | .status.succeeded = 1 | .status.active = 0 | .status.completionTime = $now'
        return 0
}

# kx_configure CMD...: Kratix's controller running a Configure workflow, one
# pipeline per CMD (names from KX_PIPELINES, default pipeline-0...): the
# pipelines' list and counters, then for each pipeline the starting status,
# its Job, and the counters and phase when it ends; the failed condition when a
# Job fails; at the end (not suspended) observedGeneration, the last successful
# time, WorksSucceeded and Reconciled. Returns 0 completed, 1 a pipeline failed,
# 2 a Job was suspended (manual reconciliation), 3 the workflow was suspended.
kx_configure() {
        local n=$# names i rc
        local -a cmds=("$@") pipelines
        read -r -a pipelines <<<"${KX_PIPELINES:-}"
        for ((i = ${#pipelines[@]}; i < n; i++)); do pipelines[i]=pipeline-$i; done
        names=$(printf '%s\n' "${pipelines[@]:0:n}" | jq -Rn '[inputs]')
        kx_status_update controller --argjson names "$names" --argjson n "$n" '
                ensure_pipelines($names; $now)
                | if .workflows == $n and .workflowsSucceeded != null then . else counters($n; 0; 0) end' || return 1
        for ((i = 0; i < n; i++)); do
                kx_event Normal PipelineStarted "Configure Pipeline started: ${pipelines[i]}"
                kx_status_update controller --arg p "${pipelines[i]}" 'pipeline_starting($p; $now)' || return 1
                kx_run_job "${pipelines[i]}" "$i" "$n" "${cmds[i]}"
                rc=$?
                # A suspended workflow (status-writer's label) is not reconciled any further
                # (dynamic_resource_request_controller.go): a Warning Event and Reconciled Suspended.
                kx_req controller GET "$KX_OBJ_PATH"
                if [ "$rc" = 0 ] && [ "$(jq -r '.metadata.labels["kratix.io/workflow-suspended"] // ""' <<<"$KX_BODY")" = true ]; then
                        kx_event Warning WorkflowSuspended "'kratix.io/workflow-suspended' label set to 'true' for resource request; skipping reconciliation"
                        kx_status_update controller 'reconciled_suspended($now)'
                        return 3
                fi
                case $rc in
                0) kx_status_update controller --arg p "${pipelines[i]}" --argjson done $((i + 1)) '
                        .workflowsSucceeded = $done | pipeline_phase($p; "Succeeded"; $now)' || return 1 ;;
                1) kx_status_update controller --arg p "${pipelines[i]}" '
                        cwc_failed($p; $now) | reconciled_failing("ConfigureWorkflowFailed"; $now)
                        | .workflowsFailed = 1 | pipeline_phase($p; "Failed"; $now)' || return 1
                   kx_event Warning ConfigureWorkflowFailed "A $KX_WORKFLOW_TYPE/configure Pipeline has failed: ${pipelines[i]}"
                   return 1 ;;
                2) return 2 ;;
                *) return 1 ;;
                esac
        done
        kx_req controller GET "$KX_OBJ_PATH"
        local gen
        gen=$(jq '.metadata.generation // 1' <<<"$KX_BODY")
        kx_status_update controller --argjson g "$gen" --arg dry "${KX_DRY_RUN:-}" '
                .observedGeneration = $g
                | (cond("ConfigureWorkflowCompleted").lastTransitionTime) as $t
                | (if $t != null then .lastSuccessfulConfigureWorkflowTime = $t
                   | .kratix.workflows.lastSuccessfulConfigureWorkflowTime = $t else . end)
                | works_succeeded($now)
                | if $dry == "true" then reconciled_dry_run($now) else reconciled_true($now) end' || return 1
        kx_event Normal ReconcileSucceeded "Successfully reconciled"
        return 0
}

# ---- the HealthRecord controller (internal/controller/healthrecord_controller.go) ----

# kx_health_reconcile NS RECORD: on any HealthRecord change: the Promise named by
# promiseRef (must exist), the resource of the Promise's API named by
# resourceRef, every record whose resourceRef names it (name+namespace only),
# healthStatus projected, an Event when the state differs, and a Status().Update
# whether or not anything changed.
kx_health_reconcile() {
        local ns=$1 name=$2 rec promise plural group version api path state
        kx_req health GET "/apis/platform.kratix.io/v1alpha1/namespaces/$ns/healthrecords/$name"
        [ "$KX_CODE" = 200 ] || return 0
        rec=$KX_BODY
        kx_req health GET "/apis/platform.kratix.io/v1alpha1/promises/$(jq -r .data.promiseRef.name <<<"$rec")"
        [ "$KX_CODE" = 200 ] || return 0
        promise=$KX_BODY
        api=$(jq -c '.spec.api' <<<"$promise")
        group=$(jq -r .spec.group <<<"$api"); plural=$(jq -r .spec.names.plural <<<"$api")
        version=$(jq -r '[.spec.versions[] | select(.storage)][0].name // .spec.versions[0].name' <<<"$api")
        path=/apis/$group/$version/namespaces/$(jq -r .data.resourceRef.namespace <<<"$rec")/$plural/$(jq -r .data.resourceRef.name <<<"$rec")
        local try
        for try in $(seq 1 10); do
                kx_req health GET "/apis/platform.kratix.io/v1alpha1/healthrecords"
                local records=$KX_BODY
                kx_req health GET "$path"
                [ "$KX_CODE" = 200 ] || return 0
                local obj=$KX_BODY new
                new=$(_kx_jq -c --argjson rec "$rec" --argjson all "$records" '
                        [$all.items[] | select(.data.resourceRef.name == $rec.data.resourceRef.name
                          and .data.resourceRef.namespace == $rec.data.resourceRef.namespace)] as $mine
                        | .status = ((.status // {}) + {healthStatus: health_status($mine)})' <<<"$obj")
                state=$(jq -r '.status.healthStatus.state // ""' <<<"$obj")
                kx_req health PUT "$path/status" "$new"
                [ "$KX_CODE" = 409 ] && continue
                if [ "$state" != "$(jq -r .data.state <<<"$rec")" ]; then
                        local s
                        s=$(jq -r .data.state <<<"$rec")
                        KX_KIND=$(jq -r .spec.names.kind <<<"$api") KX_NAME=$(jq -r .metadata.name <<<"$obj") \
                                KX_NS=$(jq -r .metadata.namespace <<<"$obj") KX_GROUP=$group KX_VERSION=$version KX_OBJ_PATH=$path \
                                kx_event "$([ "$s" = healthy ] || [ "$s" = ready ] && echo Normal || echo Warning)" \
                                HealthRecord "Health state is $s"
                fi
                return 0
        done
}

# kx_health_controller_start: watch HealthRecords and reconcile each change
# (stopped with kx_health_controller_stop; KX_HEALTH_PID).
kx_health_controller_start() {
        (
                local args=(-sSN -H "Authorization: Bearer $KX_TOKEN" -A kratix-health)
                [ -n "${KX_CA:-}" ] && args+=(--cacert "$KX_CA")
                curl "${args[@]}" "$KX_URL/apis/platform.kratix.io/v1alpha1/healthrecords?watch=true" 2>/dev/null |
                        jq --unbuffered -r 'select(.type == "ADDED" or .type == "MODIFIED")
                                | "\(.object.metadata.namespace) \(.object.metadata.name)"' |
                        while read -r ns name; do
                                kx_health_reconcile "$ns" "$name"
                                echo "reconciled $ns/$name" >>"$KX_DIR/health.log"
                        done
        ) &
        KX_HEALTH_PID=$!
}
kx_health_controller_stop() {
        [ -n "${KX_HEALTH_PID:-}" ] && pkill -P "$KX_HEALTH_PID" 2>/dev/null
        kill "${KX_HEALTH_PID:-}" 2>/dev/null
        wait "${KX_HEALTH_PID:-}" 2>/dev/null
        KX_HEALTH_PID=
}
