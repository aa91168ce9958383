# shellcheck shell=bash
# health-lib.sh - run `kstatus-sidecar health` against the test API server
# with the fixtures of tests/data/health. Source after lib.sh,
# lib-apiserver.sh and lib-sidecar.sh (for wait_until).
#
#   health_setup                      CRDs, namespace team-a, Promises, resources
#   start_health [args...]            sets HEALTH_PID, logs to $HEALTH_LOG
#   stop_health [SIGNAL]              sets HEALTH_RC
#   hr NAME NS RNAME RNS STATE [LASTRUN] [PROMISE]   apply a HealthRecord (hr_yaml: print it)
#   health_of KIND NS NAME            "<aggregate>/<records>/<newest state>" from the resource's status
#   health_json KIND NS NAME          the status's health as compact JSON (sorted keys)
#   health_resyncs                    how many resyncs the controller has begun (its log)
#   wait_resyncs DESCRIPTION N        wait until N whole resyncs have run from now (10 s at most)
#   wait_apiserver_back DESCRIPTION   wait until the server answers again after apiserver_outage

SIDECAR=${SIDECAR:-$KSTATUS_BUILD_DIR/sidecar/kstatus-sidecar}
HEALTH_LOG=$TEST_TMP/health.log

health_setup() {
        kubectl create namespace team-a >/dev/null
        kubectl apply -f "$KSTATUS_TEST_DATA/health/caches-crd.yaml" >/dev/null
        kubectl apply -f "$KSTATUS_TEST_DATA/health/promise-database.yaml" \
                -f "$KSTATUS_TEST_DATA/health/promise-cache.yaml" >/dev/null
        kubectl apply -f "$KSTATUS_TEST_DATA/health/resources.yaml" >/dev/null
}

start_health() {
        ${HEALTH_WRAPPER:-} "$SIDECAR" health "$@" >>"$HEALTH_LOG" 2>&1 &
        HEALTH_PID=$!
        at_exit "kill -9 $HEALTH_PID 2>/dev/null"
        local _
        for _ in $(seq 1 100); do
                [ "$(grep -c 'watching healthrecords from' "$HEALTH_LOG" 2>/dev/null)" -gt "${_health_starts:-0}" ] &&
                        { _health_starts=$((${_health_starts:-0} + 1)); return 0; }
                kill -0 "$HEALTH_PID" 2>/dev/null || break
                sleep 0.05
        done
        echo "# health controller did not start:"; sed 's/^/#   /' "$HEALTH_LOG"
        return 1
}

health_resyncs() { grep -c 'resync: re-reading' "$HEALTH_LOG"; }

# wait_resyncs DESCRIPTION N: one loop does everything, so once N + 1 resyncs
# have begun after now, N have run to their end, writes and reports included.
wait_resyncs() {
        local want=$(($(health_resyncs) + $2 + 1))
        wait_for "$1" bash -c "[ \$(grep -c 'resync: re-reading' '$HEALTH_LOG') -ge $want ]"
}

wait_apiserver_back() { wait_for "$1" apiserver_curl -f /healthz; }

stop_health() {
        kill -"${1:-TERM}" "$HEALTH_PID"
        wait "$HEALTH_PID"
        # shellcheck disable=SC2034 # the exit code, for the tests
        HEALTH_RC=$?
}

# hr_yaml NAME NS RNAME RNS STATE [LASTRUN] [PROMISE]: one HealthRecord document.
hr_yaml() {
        cat <<EOF
---
apiVersion: platform.kratix.io/v1alpha1
kind: HealthRecord
metadata:
  name: $1
  namespace: $2
data:
  promiseRef:
    name: ${7:-database}
  resourceRef:
    name: $3
    namespace: $4
  state: $5
  lastRun: ${6:-1}
  details:
    record: $1
EOF
}

# hr NAME NS RNAME RNS STATE [LASTRUN] [PROMISE]: apply one HealthRecord.
hr() { hr_yaml "$@" | kubectl apply -f - >/dev/null; }

health_of() {
        kubectl get "$1" -n "$2" "$3" -o json |
                jq -r '.status | "\(.healthStatus.state // "-")/\(.healthStatus.healthRecords // [] | length)/\(.healthRecord.state // "-")"'
}

health_json() {
        kubectl get "$1" -n "$2" "$3" -o json | jq -S -c '{healthStatus: .status.healthStatus, healthRecord: .status.healthRecord}'
}

# health_events KIND NS NAME: "Type:message" of the HealthRecord events on the object, oldest first.
health_events() {
        kubectl get events -n "$2" --field-selector "involvedObject.kind=$1,involvedObject.name=$3,reason=HealthRecord" \
                -o json | jq -r '.items | sort_by(.metadata.resourceVersion | tonumber) | .[] | "\(.type):\(.message)"'
}
