# shellcheck shell=bash
# lib-sidecar.sh - run kstatus-sidecar beside a "pipeline" as a Pod would:
# the KRATIX_* environment, /kratix/input/object.yaml and a metadata directory.
# Source after lib.sh and lib-apiserver.sh.

SIDECAR=$KSTATUS_BUILD_DIR/sidecar/kstatus-sidecar

# The seed's Promise (two configure pipelines) and an IAM resource "example".
create_seed_objects() {
        kubectl apply -f "$KSTATUS_TEST_DATA/seed/promise.yaml" >/dev/null
        kubectl apply -f "$KSTATUS_TEST_DATA/seed/iam.yaml" >/dev/null
}

# wait_for DESCRIPTION CMD...: retry CMD for up to 10 s, then record the result.
# CMD is run again each time: pass a command, not "$(...)" (expanded once).
wait_for() {
        local d=$1; shift
        local _
        for _ in $(seq 1 100); do
                if "$@" >/dev/null 2>&1; then _tap_result 0 "$d"; return 0; fi
                sleep 0.1
        done
        _tap_result 1 "$d" "timed out: $*"
}

# wait_until DESCRIPTION WANT CMD...: retry until CMD prints WANT (10 s), then
# record the result, showing what it printed last.
wait_until() {
        local d=$1 want=$2; shift 2
        local _ got
        for _ in $(seq 1 100); do
                got=$("$@" 2>&1)
                if [ "$got" = "$want" ]; then _tap_result 0 "$d"; return 0; fi
                sleep 0.1
        done
        _tap_result 1 "$d" "timed out: $* printed '$got', want '$want'"
}

# pushes_logged: how many live pushes the running sidecar has logged.
pushes_logged() { grep -c 'push: sent' "$PIPE_DIR/sidecar.log"; }

# start_sidecar PIPELINE INDEX COUNT [extra sidecar args...]: sets PIPE_DIR, SIDECAR_PID.
start_sidecar() {
        local name=$1
        PIPE_DIR=$TEST_TMP/pipelines/$name
        rm -rf "$PIPE_DIR"
        mkdir -p "$PIPE_DIR/input" "$PIPE_DIR/metadata"
        kubectl get "${OBJ_RESOURCE:-iams}" "${OBJ_NAME:-example}" -o yaml >"$PIPE_DIR/input/object.yaml"
        : >"$PIPE_DIR/sidecar.log"
        SIDECAR_ARGS=("$@")
        _launch_sidecar
}

# restart_sidecar: start the last sidecar again on the same directories, as
# the kubelet restarts a native sidecar that died.
restart_sidecar() {
        _launch_sidecar
}

_launch_sidecar() {
        local name=${SIDECAR_ARGS[0]} index=${SIDECAR_ARGS[1]} count=${SIDECAR_ARGS[2]}
        local starts
        starts=$(grep -c 'watch: ' "$PIPE_DIR/sidecar.log")
        # shellcheck disable=SC2086 # SIDECAR_WRAPPER is a command line (valgrind -q ...)
        env KRATIX_WORKFLOW_ACTION="${ACTION:-configure}" KRATIX_WORKFLOW_TYPE="${WORKFLOW_TYPE:-resource}" \
                KRATIX_PROMISE_NAME=iam KRATIX_PIPELINE_NAME="$name" \
                KRATIX_OBJECT_KIND=IAM KRATIX_OBJECT_GROUP=example.promise.syntasso.io KRATIX_OBJECT_VERSION=v1 \
                KRATIX_OBJECT_NAME="${OBJ_NAME:-example}" KRATIX_OBJECT_NAMESPACE=default \
                KRATIX_CRD_PLURAL="${OBJ_RESOURCE:-iams}" KRATIX_CLUSTER_SCOPED=false \
                KSTATUS_PIPELINE_INDEX="$index" KSTATUS_PIPELINE_COUNT="$count" \
                KSTATUS_METADATA_DIR="$PIPE_DIR/metadata" KSTATUS_INPUT_DIR="$PIPE_DIR/input" \
                ${SIDECAR_WRAPPER:-} "$SIDECAR" --debounce=50ms "${SIDECAR_ARGS[@]:3}" >>"$PIPE_DIR/sidecar.log" 2>&1 &
        SIDECAR_PID=$!
        at_exit "kill -9 $SIDECAR_PID 2>/dev/null"
        # Started once it logs that it watches: 5 s, or 30 s under a wrapper
        # (valgrind starts it ten times slower, more on a busy machine).
        local _ tries=100
        [ -n "${SIDECAR_WRAPPER:-}" ] && tries=600
        for _ in $(seq 1 "$tries"); do
                [ "$(grep -c 'watch: ' "$PIPE_DIR/sidecar.log")" -gt "$starts" ] && return 0
                kill -0 "$SIDECAR_PID" 2>/dev/null || break
                sleep 0.05
        done
        echo "# sidecar did not start:"; sed 's/^/#   /' "$PIPE_DIR/sidecar.log"
        return 1
}

# stop_sidecar SIGNAL: signal it and wait; sets SIDECAR_RC.
stop_sidecar() {
        kill -"$1" "$SIDECAR_PID"
        wait "$SIDECAR_PID"
        SIDECAR_RC=$?
        [ "$SIDECAR_RC" = 0 ] || { echo "# sidecar log:"; sed 's/^/#   /' "$PIPE_DIR/sidecar.log"; }
}
