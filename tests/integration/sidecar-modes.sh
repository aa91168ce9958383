#!/usr/bin/env bash
# kstatus-sidecar in its other situations: the metadata directory created late,
# --once, success or failure read from its own Pod (including a kubelet that
# reports late), delete workflows, "Pending" → "Resource requested", SIGTERM
# while a push is in flight, a file over a limit.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-sidecar.sh"

start_apiserver
apiserver_install_crds
create_seed_objects
status_of() { kubectl get iam example -o json | jq -c "$1"; }
condition() { status_of ".status.conditions[]? | select(.type==\"$1\") | {status,reason,message}"; }
set_status() { kubectl patch iam example --subresource=status --type=merge -p "{\"status\":$1}" >/dev/null; }
reset_status() { # drop conditions and keys the earlier cases left
        kubectl patch iam example --subresource=status --type=json -p '[{"op":"replace","path":"/status","value":{}}]' >/dev/null
}

# --- the metadata directory appears after the sidecar started --------------
start_sidecar_late() { # like start_sidecar, without creating metadata/
        PIPE_DIR=$TEST_TMP/pipelines/late
        rm -rf "$PIPE_DIR"; mkdir -p "$PIPE_DIR/input"
        kubectl get iams example -o yaml >"$PIPE_DIR/input/object.yaml"
        env KRATIX_WORKFLOW_ACTION=configure KRATIX_PROMISE_NAME=iam KRATIX_PIPELINE_NAME=late \
                KRATIX_OBJECT_GROUP=example.promise.syntasso.io KRATIX_OBJECT_VERSION=v1 KRATIX_OBJECT_NAME=example \
                KRATIX_OBJECT_NAMESPACE=default KRATIX_CRD_PLURAL=iams \
                KSTATUS_PIPELINE_INDEX=1 KSTATUS_PIPELINE_COUNT=2 \
                KSTATUS_METADATA_DIR="$PIPE_DIR/metadata" KSTATUS_INPUT_DIR="$PIPE_DIR/input" \
                "$SIDECAR" --debounce=50ms >"$PIPE_DIR/sidecar.log" 2>&1 &
        SIDECAR_PID=$!
        at_exit "kill -9 $SIDECAR_PID 2>/dev/null"
}
start_sidecar_late
wait_until "the sidecar starts without its metadata directory" 1 grep -c 'does not exist yet' "$PIPE_DIR/sidecar.log"
mkdir "$PIPE_DIR/metadata"
printf 'message: late directory\n' >"$PIPE_DIR/metadata/status.yaml"
wait_until "a status.yaml in a directory created late is pushed" '"late directory"' status_of .status.message
stop_sidecar TERM
is "$SIDECAR_RC" 0 "late directory: exit 0"

# --- --once: apply the file as the final write and exit ---------------------
reset_status
mkdir -p "$TEST_TMP/once/metadata"
printf 'message: once\niam: {user: once}\n' >"$TEST_TMP/once/metadata/status.yaml"
out=$(env KRATIX_OBJECT_GROUP=example.promise.syntasso.io KRATIX_OBJECT_VERSION=v1 KRATIX_OBJECT_NAME=example \
        KRATIX_OBJECT_NAMESPACE=default KRATIX_CRD_PLURAL=iams KRATIX_PIPELINE_NAME=once \
        KSTATUS_PIPELINE_INDEX=0 KSTATUS_PIPELINE_COUNT=1 KSTATUS_INPUT_DIR="$TEST_TMP/none" \
        "$SIDECAR" --once --metadata-dir="$TEST_TMP/once/metadata" 2>&1); rc=$?
is "$rc" 0 "--once exits 0 after the write"
is "$(status_of '{message: .status.message, iam: .status.iam}')" '{"message":"once","iam":{"user":"once"}}' \
        "--once applied status.yaml"
is "$(condition ConfigureWorkflowCompleted)" \
        '{"status":"True","reason":"PipelinesExecutedSuccessfully","message":"Pipelines completed"}' \
        "--once as the only pipeline completes the workflow"

# --- only /kratix/input/object.yaml: the plural and scope come from discovery --
mkdir -p "$TEST_TMP/objonly/input" "$TEST_TMP/objonly/metadata"
kubectl get iam example -o yaml >"$TEST_TMP/objonly/input/object.yaml"
printf 'message: from object.yaml alone\n' >"$TEST_TMP/objonly/metadata/status.yaml"
out=$(env -i PATH="$PATH" HOME="$HOME" KUBECONFIG="$KUBECONFIG" "$SIDECAR" --once \
        --input-dir="$TEST_TMP/objonly/input" --metadata-dir="$TEST_TMP/objonly/metadata" 2>&1); rc=$?
is "$rc" 0 "with only object.yaml the sidecar finds the resource through discovery"
[ "$rc" = 0 ] || printf '%s\n' "$out" | sed 's/^/# /'
is "$(status_of .status.message)" '"from object.yaml alone"' "and writes its status"

# --- success and failure read from the sidecar's own Pod ---------------------
# make_pod NAME STATE_JSON: a Pod whose pipeline container is in STATE_JSON; restartPolicy
# Never, so a non-zero exit is final (under OnFailure the kubelet would restart it).
make_pod() {
        kubectl delete pod "$1" --ignore-not-found >/dev/null
        kubectl create -f - >/dev/null <<EOF
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"$1","namespace":"default"},
 "spec":{"restartPolicy":"Never","containers":[{"name":"pipeline","image":"x"},{"name":"kstatus-sidecar","image":"y"}]},
 "status":{"phase":"Running","containerStatuses":[
   {"name":"pipeline","state":$2},
   {"name":"kstatus-sidecar","state":{"running":{}}}]}}
EOF
}
reset_status
make_pod pipe-ok '{"terminated":{"exitCode":0,"reason":"Completed"}}'
POD_NAME=pipe-ok POD_NAMESPACE=default start_sidecar populate-vault 1 2
printf 'message: from a pod\n' >"$PIPE_DIR/metadata/status.yaml"
stop_sidecar TERM
is "$SIDECAR_RC" 0 "in a Pod whose pipeline exited 0: exit 0"
is "$(condition ConfigureWorkflowCompleted)" \
        '{"status":"True","reason":"PipelinesExecutedSuccessfully","message":"Pipelines completed"}' \
        "a Pod whose pipeline exited 0 completes the workflow"

reset_status
make_pod pipe-bad '{"terminated":{"exitCode":3,"reason":"Error"}}'
POD_NAME=pipe-bad POD_NAMESPACE=default start_sidecar populate-vault 1 2
printf 'message: half way\n' >"$PIPE_DIR/metadata/status.yaml"
stop_sidecar TERM
is "$SIDECAR_RC" 0 "in a Pod whose pipeline failed: the failure is recorded, exit 0"
is "$(condition ConfigureWorkflowCompleted)" \
        '{"status":"False","reason":"ConfigureWorkflowFailed","message":"A Configure Pipeline has failed: populate-vault"}' \
        "SIGTERM with a failed container in the Pod sets ConfigureWorkflowFailed"
like "$(cat "$PIPE_DIR/sidecar.log")" 'container pipeline: Error \(exit code 3\)' "the log names the container and its exit"
is "$(status_of .status.message)" '"half way"' "the failed pipeline's status stays"

# The kubelet reports the container's end after stopping the sidecar.
reset_status
make_pod pipe-late '{"running":{}}'
POD_NAME=pipe-late POD_NAMESPACE=default start_sidecar populate-vault 1 2
kill -TERM "$SIDECAR_PID"
wait_for "the sidecar waits for the kubelet's report" grep -q 'waiting for the kubelet' "$PIPE_DIR/sidecar.log"
kubectl patch pod pipe-late --subresource=status --type=merge -p \
        '{"status":{"containerStatuses":[{"name":"pipeline","state":{"terminated":{"exitCode":0,"reason":"Completed"}}},{"name":"kstatus-sidecar","state":{"running":{}}}]}}' >/dev/null
wait "$SIDECAR_PID"; rc=$?
is "$rc" 0 "a late kubelet report: exit 0"
is "$(condition ConfigureWorkflowCompleted | jq -r .status)" True "the sidecar waited for the Pod to show the pipeline ended"
like "$(cat "$PIPE_DIR/sidecar.log")" 'waiting for the kubelet' "and said it was waiting"

# --- delete workflows ----------------------------------------------------------
reset_status
ACTION=delete start_sidecar delete-user 0 1
wait_until "a delete pipeline marks DeleteWorkflowCompleted in progress" \
        '{"status":"False","reason":"DeleteWorkflowInProgress","message":"The Delete Pipeline is in progress"}' \
        condition DeleteWorkflowCompleted
stop_sidecar USR1
is "$(condition DeleteWorkflowCompleted)" \
        '{"status":"False","reason":"DeleteWorkflowFailed","message":"The Delete Pipeline has failed"}' \
        "a failed delete pipeline sets DeleteWorkflowFailed"
is "$(condition ConfigureWorkflowCompleted)" '' "a delete pipeline leaves ConfigureWorkflowCompleted alone"

# --- "Pending" becomes "Resource requested" when the last pipeline ends -------
reset_status
set_status '{"message":"Pending"}'
start_sidecar populate-vault 1 2
printf 'iam: {password: x}\n' >"$PIPE_DIR/metadata/status.yaml"
stop_sidecar TERM
is "$(status_of .status.message)" '"Resource requested"' "Pending becomes Resource requested after the last pipeline"

# --- SIGTERM while a live push is in flight -------------------------------------
reset_status
start_sidecar populate-vault 1 2
apiserver_fault '{"verb":"PATCH","latencyMs":1500,"count":1}'
apiserver_reset_counters
printf 'message: in flight\niam: {password: v1}\n' >"$PIPE_DIR/metadata/status.yaml"
wait_until "the push has reached the server and waits for its answer" 1 apiserver_count PATCH \
        /apis/example.promise.syntasso.io/v1/namespaces/default/iams/example/status
printf 'message: after the signal\niam: {password: v2}\n' >"$PIPE_DIR/metadata/status.yaml"
stop_sidecar TERM
is "$SIDECAR_RC" 0 "SIGTERM during a push: exit 0"
is "$(status_of '{message: .status.message, iam: .status.iam}')" '{"message":"after the signal","iam":{"password":"v2"}}' \
        "SIGTERM during a push: the final state is the last file"
apiserver_clear_faults

# --- SIGKILL mid-pipeline, restarted as the kubelet would: converges ------------
reset_status
set_status '{"iam":{"user":"admin"}}'
start_sidecar populate-vault 1 2
printf 'message: step 1\niam: {password: v1}\nprogress: {done: 1}\n' >"$PIPE_DIR/metadata/status.yaml"
wait_until "the push before the kill lands" '"step 1"' status_of .status.message
kill -9 "$SIDECAR_PID"; wait "$SIDECAR_PID" 2>/dev/null
printf 'message: step 2\niam: {password: v2}\nprogress: {done: 2, total: 2}\n' >"$PIPE_DIR/metadata/status.yaml"
restart_sidecar
wait_until "the restarted sidecar pushes the file written while it was down" '"step 2"' status_of .status.message
stop_sidecar TERM
is "$SIDECAR_RC" 0 "after SIGKILL and a restart: exit 0"
is "$(status_of '{message: .status.message, iam: .status.iam, progress: .status.progress}')" \
        '{"message":"step 2","iam":{"password":"v2","user":"admin"},"progress":{"done":2,"total":2}}' \
        "after SIGKILL and a restart the final state is exact (iam.user from the earlier pipeline kept)"
is "$(condition ConfigureWorkflowCompleted | jq -r .status)" True "and the workflow completes"

# --- without inotify: --poll, and the fallback when inotify is used up ---------
reset_status
start_sidecar populate-vault 1 2 --poll=100ms
like "$(cat "$PIPE_DIR/sidecar.log")" 'info watch: checking .*/status.yaml every 100 ms' "--poll checks the file instead of watching it"
printf 'message: polled 1\n' >"$PIPE_DIR/metadata/status.yaml"
wait_until "--poll: a write is pushed live" '"polled 1"' status_of .status.message
printf 'message: polled 2\n' >"$PIPE_DIR/new.yaml"
mv "$PIPE_DIR/new.yaml" "$PIPE_DIR/metadata/status.yaml"
wait_until "--poll: a rename into place is pushed live" '"polled 2"' status_of .status.message
printf 'message: polled final\n' >"$PIPE_DIR/metadata/status.yaml"
stop_sidecar TERM
is "$(status_of .status.message)" '"polled final"' "--poll: the final write carries the last file"
fails_with 2 "--poll=0 is a usage error" "$SIDECAR" --poll=0
is "$("$SIDECAR" --poll=0 2>&1)" 'error: invalid argument "0" for "--poll": want a duration above 0' "in one line"
is "$("$SIDECAR" --poll=soon 2>&1)" 'error: invalid argument "soon" for "--poll": want a duration such as 500ms or 2s' \
        "--poll=soon: a usage error naming the flag"
fails_with 2 "--max-status-memory=lots is a usage error" "$SIDECAR" --max-status-memory=lots
is "$("$SIDECAR" --max-status-memory=lots 2>&1)" \
        'error: invalid argument "lots" for "--max-status-memory": want a size such as 1Mi' "naming the flag, in one line"

# The shim makes inotify fail as on a node whose user (every container running
# as the same UID) has used up fs.inotify.max_user_instances or max_user_watches.
shim=$KSTATUS_BUILD_DIR/tests/integration/no-inotify.so
for limit in instances watches; do
        reset_status
        LD_PRELOAD=$shim KSTATUS_SHIM_INOTIFY=$limit \
                ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
                start_sidecar populate-vault 1 2
        like "$(cat "$PIPE_DIR/sidecar.log")" \
                "warning watch: cannot watch .* with inotify: no inotify $limit left for this user; checking .*/status.yaml every 1000 ms instead \(raise fs.inotify.max_user_$limit on the node\)" \
                "out of inotify $limit: the sidecar says so in one line and checks the file instead"
        printf 'message: without inotify %s\n' "$limit" >"$PIPE_DIR/metadata/status.yaml"
        wait_until "out of inotify $limit: a write is still pushed live" "\"without inotify $limit\"" status_of .status.message
        printf 'message: final without inotify %s\n' "$limit" >"$PIPE_DIR/metadata/status.yaml"
        stop_sidecar TERM
        is "$SIDECAR_RC" 0 "out of inotify $limit: exit 0"
        is "$(status_of .status.message)" "\"final without inotify $limit\"" "out of inotify $limit: the final state is exact"
done

# --- a file over a limit is refused; the last good state stays -----------------
reset_status
start_sidecar populate-vault 1 2 --max-file-size=200
printf 'message: small\n' >"$PIPE_DIR/metadata/status.yaml"
wait_until "a file under the limit is pushed" '"small"' status_of .status.message
{ printf 'message: big\nblob: '; head -c 300 /dev/zero | tr '\0' x; echo; } >"$PIPE_DIR/metadata/status.yaml"
stop_sidecar TERM
is "$(status_of .status.message)" '"small"' "a file over --max-file-size is never pushed; the last good state is final"
like "$(cat "$PIPE_DIR/sidecar.log")" 'refuse: status.yaml: file is 320 bytes, over the limit of 200 bytes' "the refusal is logged with the limit"
like "$(kubectl get events --field-selector involvedObject.name=example,reason=StatusRefused -o json | jq -r '.items[].message')" \
        'the final write uses the last good status' "the final write reports the refusal in an Event"
done_testing
