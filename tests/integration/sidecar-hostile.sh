#!/usr/bin/env bash
# kstatus-sidecar against an unlucky cluster (issue 20): the resource deleted
# and re-created while its pipeline runs (docs/BEHAVIOUR.md §6), another
# writer adding under a key status.yaml names (§3), its own Pod unreadable
# when the pipeline ends (§5), an API server that stalls (one shutdown budget,
# §5) or answers without end (the response limit, §6).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-sidecar.sh"
. "$(dirname "$0")/lib-hostile.sh"

start_apiserver
apiserver_install_crds
create_seed_objects
status_of() { kubectl get iam example -o json | jq -c "$1"; }

# --- a re-created resource is not written by the old pipeline ---------------
# The last pipeline starts on one IAM "example"; the operator deletes it and
# creates another of the same name before the pipeline ends. The old
# pipeline's result and "Pipelines completed" must not land on the new one.
start_sidecar populate-vault 1 2 --no-live
old_uid=$(kubectl get iam example -o jsonpath='{.metadata.uid}')
wait_until "the old pipeline marked its object in progress" '"False"' \
        status_of '.status.conditions[]? | select(.type == "ConfigureWorkflowCompleted") | .status'
kubectl delete iam example >/dev/null
kubectl apply -f "$KSTATUS_TEST_DATA/seed/iam.yaml" >/dev/null
new_uid=$(kubectl get iam example -o jsonpath='{.metadata.uid}')
ok "the resource was re-created with a new uid" test -n "$new_uid" -a "$new_uid" != "$old_uid"
printf 'message: "from the old pipeline"\n' >"$PIPE_DIR/metadata/status.yaml"
kill -TERM "$SIDECAR_PID"
wait "$SIDECAR_PID"
SIDECAR_RC=$?
is "$SIDECAR_RC" 1 "the final write onto a re-created resource fails (exit 1)"
like "$(cat "$PIPE_DIR/sidecar.log")" "was deleted and re-created" "the log says why nothing was written"
is "$(status_of .status.message)" null "the new resource does not get the old pipeline's message"
is "$(status_of '[.status.conditions[]? | select(.type == "ConfigureWorkflowCompleted")] | length')" 0 \
        "nor its workflow conditions"
is "$(kubectl get iam example -o jsonpath='{.metadata.uid}')" "$new_uid" "the new resource is still there"

# --- what another writer adds under a key status.yaml names is kept ---------
# The pipeline pushes iam.password live; an operator adds iam.note; the next
# live push and the final write both keep it (docs/BEHAVIOUR.md §3).
kubectl patch iam example --subresource=status --type=merge -p '{"status":{"iam":{"user":"admin"}}}' >/dev/null
start_sidecar populate-vault 1 2
printf 'iam: {password: x}\n' >"$PIPE_DIR/metadata/status.yaml"
wait_until "the live push lands" '"x"' status_of .status.iam.password
kubectl patch iam example --subresource=status --type=merge -p '{"status":{"iam":{"note":"rotated by ops"}}}' >/dev/null
pushes=$(pushes_logged)
printf 'iam: {password: second}\n' >"$PIPE_DIR/metadata/status.yaml"
wait_until "the second live push is sent" "$((pushes + 1))" pushes_logged
is "$(status_of .status.iam)" '{"note":"rotated by ops","password":"second","user":"admin"}' \
        "the live push keeps the operator's iam.note"
printf 'iam: {password: third}\n' >"$PIPE_DIR/metadata/status.yaml"
stop_sidecar TERM
is "$SIDECAR_RC" 0 "the sidecar exits 0"
is "$(status_of .status.iam)" '{"note":"rotated by ops","password":"third","user":"admin"}' \
        "the final write keeps the operator's iam.note too"

# --- a failed read of its own Pod is never an answer -------------------------
# The pipeline container failed. One 503 on the Pod's GET at the end is
# retried: the workflow is reported failed. A Pod that stays unreadable past
# the deadline: neither success nor failure is reported.
cwc() { status_of '.status.conditions[]? | select(.type=="ConfigureWorkflowCompleted") | {status,reason}'; }
failed_pod() {
        kubectl delete pod "$1" --ignore-not-found --wait=false >/dev/null
        kubectl create -f - >/dev/null <<JSON
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"$1","namespace":"default"},
 "spec":{"restartPolicy":"Never","initContainers":[{"name":"kstatus-sidecar","image":"k","restartPolicy":"Always"},
   {"name":"create-db","image":"c"}],"containers":[{"name":"status-writer","image":"s"}]},
 "status":{"phase":"Running","initContainerStatuses":[{"name":"kstatus-sidecar","state":{"running":{}}},
   {"name":"create-db","state":{"terminated":{"exitCode":1,"reason":"Error"}}}],
   "containerStatuses":[{"name":"status-writer","state":{"waiting":{}}}]}}
JSON
}
for faults in 1 -1; do
        kubectl patch iam example --subresource=status --type=json \
                -p '[{"op":"add","path":"/status","value":{"message":"Pending"}}]' >/dev/null
        failed_pod "failed-$faults"
        POD_NAME="failed-$faults" POD_NAMESPACE=default IS_LAST_PIPELINE=true \
                start_sidecar "failed$faults" "" "" --workflow-conditions=on --deadline=2s
        printf 'iam: {user: failed}\n' >"$PIPE_DIR/metadata/status.yaml"
        wait_until "pod GET fails $faults: the live push lands" '"failed"' status_of .status.iam.user
        apiserver_fault "{\"verb\":\"GET\",\"path\":\"/api/v1/namespaces/default/pods/failed-$faults\",\"code\":503,\"count\":$faults}"
        stop_sidecar TERM
        apiserver_clear_faults
        if [ "$faults" = 1 ]; then
                is "$(cwc)" '{"status":"False","reason":"ConfigureWorkflowFailed"}' \
                        "one 503 reading its Pod: retried, the failed pipeline is reported failed"
        else
                is "$(cwc | jq -r .status)" False "a Pod unreadable to the deadline: the failed pipeline is not reported a success"
                is "$(cwc | jq -r .reason)" PipelinesInProgress "nor a failure it cannot tell"
                like "$(cat "$PIPE_DIR/sidecar.log")" 'cannot tell how the pipeline ended' "the log says why"
                is "$(status_of .status.iam.user)" '"failed"' "status.yaml's keys are still written"
        fi
done

# Re-created before the sidecar's first read: object.yaml names the object
# Kratix started the pipeline for. Not a configuration error (exit 2): a
# write that cannot be made (exit 1), and nothing written.
old_uid=$(kubectl get iam example -o jsonpath='{.metadata.uid}')
kubectl get iam example -o yaml >"$TEST_TMP/old-object.yaml"
kubectl delete iam example >/dev/null
kubectl apply -f "$KSTATUS_TEST_DATA/seed/iam.yaml" >/dev/null
PIPE_DIR=$TEST_TMP/pipelines/recreated-early
mkdir -p "$PIPE_DIR/input" "$PIPE_DIR/metadata"
cp "$TEST_TMP/old-object.yaml" "$PIPE_DIR/input/object.yaml"
printf 'message: "from the old pipeline"\n' >"$PIPE_DIR/metadata/status.yaml"
rc=0
env KRATIX_WORKFLOW_ACTION=configure KRATIX_WORKFLOW_TYPE=resource KRATIX_PROMISE_NAME=iam \
        KRATIX_PIPELINE_NAME=populate-vault KRATIX_OBJECT_KIND=IAM KRATIX_OBJECT_GROUP=example.promise.syntasso.io \
        KRATIX_OBJECT_VERSION=v1 KRATIX_OBJECT_NAME=example KRATIX_OBJECT_NAMESPACE=default KRATIX_CRD_PLURAL=iams \
        KSTATUS_PIPELINE_INDEX=1 KSTATUS_PIPELINE_COUNT=2 KSTATUS_METADATA_DIR="$PIPE_DIR/metadata" \
        KSTATUS_INPUT_DIR="$PIPE_DIR/input" "$SIDECAR" --once >"$PIPE_DIR/sidecar.log" 2>&1 || rc=$?
is "$rc" 1 "re-created before the start: exit 1, not a configuration error"
like "$(cat "$PIPE_DIR/sidecar.log")" "was deleted and re-created" "the log says so"
is "$(status_of .status)" null "and the new resource gets no status"

# --- one shutdown budget under a stalled API server --------------------------
# --deadline=4s, --request-timeout=2s. Every request stalls past the request
# timeout; a live push is in flight when the pipeline ends, status.yaml and
# workflow-control.yaml are refused at the end (two Events), the Pod cannot be
# read. Everything after SIGTERM shares the one budget: the sidecar is gone
# within --deadline plus the one request in flight (6 s; 2 s of slack for a
# loaded machine: each budget of its own took 14 s).
elapsed_ms() { echo $(((${EPOCHREALTIME/./} - $1) / 1000)); }
status_path=/apis/example.promise.syntasso.io/v1/namespaces/default/iams/example/status
POD_NAME=stalled POD_NAMESPACE=default IS_LAST_PIPELINE=true \
        start_sidecar stalled "" "" --workflow-conditions=on --deadline=4s --request-timeout=2s
printf 'iam: {user: one}\n' >"$PIPE_DIR/metadata/status.yaml"
wait_until "stalled API: the first live push lands" '"one"' status_of .status.iam.user
apiserver_fault '{"latencyMs":20000}'
patches=$(apiserver_count PATCH "$status_path")
printf 'iam: {user: two}\n' >"$PIPE_DIR/metadata/status.yaml"
wait_until "a live push is in flight" "$((patches + 1))" apiserver_count PATCH "$status_path"
printf 'kratix: {x: 1}\n' >"$PIPE_DIR/metadata/status.yaml"
printf 'suspend: maybe\n' >"$PIPE_DIR/metadata/workflow-control.yaml"
t0=${EPOCHREALTIME/./}
kill -TERM "$SIDECAR_PID"
wait "$SIDECAR_PID"
rc=$?
took=$(elapsed_ms "$t0")
apiserver_clear_faults
ok "SIGTERM to exit under a stalled API: ${took} ms, within --deadline 4s + one 2s request" [ "$took" -lt 8000 ]
is "$rc" 1 "the final write that could not be made exits 1"
like "$(cat "$PIPE_DIR/sidecar.log")" 'final write to .* failed: .*gave up' "the log says the final write gave up"

# A transient failure reading the object at the start is retried within the
# deadline, then exit 1: an unavailable API is no configuration error (2).
apiserver_fault '{"verb":"GET","path":"/apis/example.promise.syntasso.io/v1/namespaces/default/iams/example","code":503}'
for mode in --once live; do
        rc=0
        t0=${EPOCHREALTIME/./}
        PIPE_DIR=$TEST_TMP/pipelines/start-503 && mkdir -p "$PIPE_DIR/metadata" "$PIPE_DIR/input"
        env KRATIX_OBJECT_GROUP=example.promise.syntasso.io KRATIX_OBJECT_VERSION=v1 KRATIX_OBJECT_NAME=example \
                KRATIX_OBJECT_NAMESPACE=default KRATIX_CRD_PLURAL=iams KSTATUS_METADATA_DIR="$PIPE_DIR/metadata" \
                KSTATUS_INPUT_DIR="$PIPE_DIR/input" "$SIDECAR" --deadline=2s ${mode/live/} \
                >"$PIPE_DIR/sidecar.log" 2>&1 || rc=$?
        took=$(elapsed_ms "$t0")
        is "$rc" 1 "$mode: 503 to the deadline at the start: exit 1, not a configuration error"
        ok "$mode: it ends by the deadline (${took} ms)" [ "$took" -lt 4000 ]
        like "$(cat "$PIPE_DIR/sidecar.log")" 'cannot read .*gave up after ([2-9]|[1-9][0-9]+) attempts: deadline 2\.0s' \
                "$mode: the log says it retried until the deadline"
done
apiserver_clear_faults
rc=0
env KRATIX_OBJECT_GROUP=example.promise.syntasso.io KRATIX_OBJECT_VERSION=v1 KRATIX_OBJECT_NAME=missing \
        KRATIX_OBJECT_NAMESPACE=default KRATIX_CRD_PLURAL=iams KSTATUS_METADATA_DIR="$PIPE_DIR/metadata" \
        KSTATUS_INPUT_DIR="$PIPE_DIR/input" "$SIDECAR" --once >"$PIPE_DIR/sidecar.log" 2>&1 || rc=$?
is "$rc" 2 "a resource that does not exist is still a configuration error (exit 2)"

# --- what the sidecar writes quoting a pipeline's text is escaped ------------
# kubectl describe prints condition messages and Events raw, kubectl logs prints
# log lines raw: a pipeline's name or a refused file's text must not drive the
# user's terminal (ESC, BEL, C1 CSI, U+202E right-to-left override).
hostile_text=$'x\e]0;pwned\a\u202e\u009b31m'
kubectl patch iam example --subresource=status --type=json -p '[{"op":"add","path":"/status","value":{}}]' >/dev/null
start_sidecar escape "" "" --workflow-conditions=on --pipeline="$hostile_text"
# YAML itself refuses C0 and C1 controls: the file's type carries the bidi ones.
jq -n --arg t $'x\u202e\u200by' '{conditions: [{type: $t, status: "True", message: 1}]}' >"$PIPE_DIR/metadata/status.yaml"
wait_until "the refusal is logged" 1 grep -c 'refuse' "$PIPE_DIR/sidecar.log"
stop_sidecar USR1
msg=$(status_of '.status.conditions[]? | select(.type == "ConfigureWorkflowCompleted") | .message')
is "$msg" '"A Configure Pipeline has failed: x\\x1b]0;pwned\\x07\\u202e\\xc2\\x9b31m"' \
        "the failed condition quotes the pipeline's name escaped"
# shellcheck disable=SC2317 # called through ok
lacks() { ! LC_ALL=C grep -q -- "$1" "$2"; }
ok "no escape, BEL, C1 or bidi character in the sidecar's log" \
        lacks $'[\x1b\x07]\\|\xc2\x9b\\|\xe2\x80\xae\\|\xe2\x80\x8b' "$PIPE_DIR/sidecar.log"
like "$(cat "$PIPE_DIR/sidecar.log")" 'condition "x\\u202e\\u200by": message must be a string' \
        "the log quotes the refused type escaped"

# --- names that would change the request's path -------------------------------
# As kubectl: '/', '%', '.' and '..' refused before any request (exit 2, in
# client-go's words); any other character is escaped, so '?' cannot start a
# query that makes "example?x=1" read and write "example".
once_named() { # NAME NAMESPACE: run --once on that resource; sets rc
        rc=0
        env KRATIX_OBJECT_GROUP=example.promise.syntasso.io KRATIX_OBJECT_VERSION=v1 KRATIX_OBJECT_NAME="$1" \
                KRATIX_OBJECT_NAMESPACE="$2" KRATIX_CRD_PLURAL=iams KSTATUS_METADATA_DIR="$PIPE_DIR/metadata" \
                KSTATUS_INPUT_DIR="$PIPE_DIR/input" "$SIDECAR" --once >"$PIPE_DIR/sidecar.log" 2>&1 || rc=$?
}
PIPE_DIR=$TEST_TMP/pipelines/names && mkdir -p "$PIPE_DIR/metadata" "$PIPE_DIR/input"
printf 'message: "written through a crafted name"\n' >"$PIPE_DIR/metadata/status.yaml"
kubectl patch iam example --subresource=status --type=merge -p '{"status":{"message":"untouched"}}' >/dev/null
before=$(apiserver_counters | jq .total)
once_named 'example/status?x=' default
is "$rc" 2 "a name with '/': a configuration error (exit 2)"
is "$(cat "$PIPE_DIR/sidecar.log")" "error: invalid resource name \"example/status?x=\": [may not contain '/']" \
        "in client-go's words"
once_named example 'default/iams/example/status?x='
is "$(cat "$PIPE_DIR/sidecar.log")" "error: invalid namespace \"default/iams/example/status?x=\": [may not contain '/']" \
        "a namespace with '/' too"
once_named .. default
is "$(cat "$PIPE_DIR/sidecar.log")" "error: invalid resource name \"..\": [may not be '..']" "and '..'"
is "$(apiserver_counters | jq .total)" "$before" "no request was sent for a refused name"
# object.yaml's name is checked as the environment's is.
printf 'apiVersion: example.promise.syntasso.io/v1\nkind: IAM\nmetadata: {name: "a%%2Fb", namespace: default}\n' \
        >"$PIPE_DIR/input/object.yaml"
rc=0
env KRATIX_CRD_PLURAL=iams KSTATUS_METADATA_DIR="$PIPE_DIR/metadata" KSTATUS_INPUT_DIR="$PIPE_DIR/input" \
        "$SIDECAR" --once >"$PIPE_DIR/sidecar.log" 2>&1 || rc=$?
is "$rc:$(cat "$PIPE_DIR/sidecar.log")" "2:error: invalid resource name \"a%2Fb\": [may not contain '%']" \
        "object.yaml's name with '%': exit 2"
rm -f "$PIPE_DIR/input/object.yaml"
once_named 'example?x=1' default
is "$rc" 2 "a name with '?' is escaped: no such resource (exit 2)"
like "$(cat "$PIPE_DIR/sidecar.log")" 'iams.example.promise.syntasso.io "example\?x=1" not found' "the server was asked for it"
is "$(status_of .status.message)" '"untouched"' "and \"example\" was not written"

# --- a status at status.yaml's limits is written and read back -----------------
# 99 997 short strings under one key: 100 000 nodes (the document, its map and
# list count), 999 975 bytes of YAML and 999 971 of JSON, inside --max-nodes,
# --max-file-size and --max-status-size. The sidecar reads back every answer
# it gets (~9 MiB once parsed): it takes them inside its
# --max-response-memory (16Mi), and no write is reported failed. It holds at
# most status.yaml's tree and the server's at once (docs/BEHAVIOUR.md §6), so
# it stays inside the 32 MiB injection gives it: live, at the final write
# after live pushes, and with --once. What a memory limit cannot take back is
# the anonymous memory: the peak RSS less the binary's and libraries' file
# pages (RssFile: ~10 MiB in a development build, 6.2 MiB for the release
# image's sidecar, whose whole peak here is ~25 MiB); it must stay under
# 24 MiB, leaving 8 MiB of the limit for those pages and the kernel's.
# /usr/bin/time measures the live sidecar (SIGTERM goes to its child).
big_status() { awk 'BEGIN { print "big:"; for (i = 0; i < 99997; i++) printf "- s%06d\n", i }'; }
status_kib() { sed -n "s/^$2:[[:space:]]*\\([0-9]*\\) kB\$/\\1/p" "/proc/$1/status"; } # PID FIELD
# anon_under FILE DESCRIPTION: the peak RSS in FILE less the file pages is under 24 MiB.
anon_under() {
        local peak
        peak=$(peak_kib "$1")
        printf 'peak %s\n' "$((peak - file_kib))" >"$1.anon"
        rss_under "$1.anon" $((24 * 1024)) "$2: anonymous memory under 24 MiB (peak RSS $peak KiB less $file_kib KiB of file pages)"
}
rss_checks "$SIDECAR"
kubectl patch iam example --subresource=status --type=json -p '[{"op":"add","path":"/status","value":{}}]' >/dev/null
SIDECAR_WRAPPER="/usr/bin/time -f peak%M -o $TEST_TMP/at-limits-live.time" start_sidecar at-limits 0 2
sidecar_child=$(pgrep -P "$SIDECAR_PID")
at_exit "kill -9 $sidecar_child 2>/dev/null"
big_status >"$PIPE_DIR/metadata/status.yaml.tmp"
is "$(wc -c <"$PIPE_DIR/metadata/status.yaml.tmp")" 999975 "status.yaml at the limits: 999 975 bytes"
mv "$PIPE_DIR/metadata/status.yaml.tmp" "$PIPE_DIR/metadata/status.yaml"
wait_until "status.yaml at the limits is pushed" 1 pushes_logged || sed 's/^/#   /' "$PIPE_DIR/sidecar.log"
is "$(status_of '.status.big | length')" 99997 "all 99 997 values are on the resource"
is "$(kubectl get iam example -o json | jq -c .status.big | wc -c)" 999972 "999 971 bytes of JSON"
file_kib=$(status_kib "$sidecar_child" RssFile)
printf 'peak %s\n' "$(status_kib "$sidecar_child" VmHWM)" >"$TEST_TMP/at-limits-push.time"
anon_under "$TEST_TMP/at-limits-push.time" "the live push and its answer"
pushes=$(pushes_logged)
# Every value rewritten (the server's status then shares nothing with the
# new file), then one changed for the final write.
big_status | sed 's/^- s/- r/' >"$PIPE_DIR/metadata/status.yaml"
wait_until "a second live push at the limits, every value new" "$((pushes + 1))" pushes_logged
big_status | sed -e 's/^- s/- r/' -e 's/^- r000001$/- final/' >"$PIPE_DIR/metadata/status.yaml"
kill -TERM "$sidecar_child"
wait "$SIDECAR_PID"
SIDECAR_RC=$?
is "$SIDECAR_RC" 0 "the final write at the limits: exit 0"
# shellcheck disable=SC2317 # called through ok
lacks_error() { ! grep -q "once parsed\|failed" "$1"; }
ok "no write reported failed, no answer refused" lacks_error "$PIPE_DIR/sidecar.log"
is "$(status_of '[(.status.big | length), .status.big[0], .status.big[1]]')" '[99997,"r000000","final"]' \
        "the final write landed"
is "$(status_of '.status.conditions[]? | select(.type == "ConfigureWorkflowCompleted") | .status')" '"False"' \
        "the first of two pipelines leaves the workflow in progress"
anon_under "$TEST_TMP/at-limits-live.time" "live pushes and the final write"
# --once: the start read, status.yaml (every value new), the final write.
big_status | sed 's/^- s/- t/' >"$PIPE_DIR/metadata/status.yaml"
rc=0
env -u KUBECONFIG /usr/bin/time -f 'peak %M' -o "$TEST_TMP/at-limits-once.time" "$SIDECAR" --once \
        --kubeconfig "$KUBECONFIG" --group example.promise.syntasso.io --api-version v1 --resource iams \
        --name example -n default --metadata-dir "$PIPE_DIR/metadata" --input-dir "$PIPE_DIR/input" \
        >"$PIPE_DIR/once.log" 2>&1 || rc=$?
is "$rc" 0 "--once at the limits: exit 0 ($(tail -1 "$PIPE_DIR/once.log"))"
is "$(status_of '.status.big[99996]')" '"t099996"' "its final write landed"
anon_under "$TEST_TMP/at-limits-once.time" "--once at the limits"
kubectl patch iam example --subresource=status --type=json -p '[{"op":"add","path":"/status","value":{}}]' >/dev/null

# --- a status.yaml dearer in memory than the sidecar can hold is refused ----
# 60 000 empty maps are 300 kB and 60 002 nodes, inside --max-nodes, but
# ~15 MiB once parsed, in the sidecar as in every answer holding it: pushed,
# no sidecar could read the object back within --max-response-memory and
# every final write after would fail. It is refused as any invalid
# status.yaml is (docs/BEHAVIOUR.md §2): the last good status stays.
start_sidecar too-dear 0 2
printf 'message: good\n' >"$PIPE_DIR/metadata/status.yaml"
wait_until "a good status is pushed first" '"good"' status_of .status.message
awk 'BEGIN { print "big:"; for (i = 0; i < 60000; i++) print "- {}" }' >"$PIPE_DIR/metadata/status.yaml.tmp"
mv "$PIPE_DIR/metadata/status.yaml.tmp" "$PIPE_DIR/metadata/status.yaml"
# shellcheck disable=SC2317 # called through wait_for
refused() { grep -q 'refuse: ' "$PIPE_DIR/sidecar.log"; }
wait_for "60 000 empty maps are refused" refused
like "$(grep 'refuse: ' "$PIPE_DIR/sidecar.log")" \
        'refuse: status.yaml:[0-9]+:[0-9]+: status would take more than 12582912 bytes of memory \(limit max-status-memory\); keeping the last good status' \
        "the refusal names the limit and the place"
stop_sidecar TERM
is "$SIDECAR_RC" 0 "the final write uses the last good status: exit 0"
is "$(status_of '[.status.message, .status.big]')" '["good",null]' "the resource keeps the last good status"
printf 'message: next\n' >"$PIPE_DIR/metadata/status.yaml"
rc=0
env -u KUBECONFIG "$SIDECAR" --once --kubeconfig "$KUBECONFIG" --group example.promise.syntasso.io --api-version v1 \
        --resource iams --name example -n default --metadata-dir "$PIPE_DIR/metadata" --input-dir "$PIPE_DIR/input" \
        >"$PIPE_DIR/once.log" 2>&1 || rc=$?
is "$rc:$(status_of .status.message)" '0:"next"' "the next pipeline's sidecar reads the object and writes"
awk 'BEGIN { print "big:"; for (i = 0; i < 60000; i++) print "- {}" }' >"$PIPE_DIR/metadata/status.yaml"
rc=0
env -u KUBECONFIG "$SIDECAR" --once --max-status-memory=32Mi --kubeconfig "$KUBECONFIG" \
        --group example.promise.syntasso.io --api-version v1 --resource iams --name example -n default \
        --metadata-dir "$PIPE_DIR/metadata" --input-dir "$PIPE_DIR/input" >"$PIPE_DIR/once.log" 2>&1 || rc=$?
is "$rc:$(status_of '.status.big | length')" '0:60000' "--max-status-memory=32Mi takes them"
kubectl patch iam example --subresource=status --type=json -p '[{"op":"add","path":"/status","value":{}}]' >/dev/null

# Below it (--max-response-memory=4Mi) the patch's answer is refused, but the
# server stored the write (200): it is a push made, not a failed one. The
# final write, which must read the object first, then fails, and says why.
start_sidecar under-limit 0 2 --max-response-memory=4Mi
big_status >"$PIPE_DIR/metadata/status.yaml.tmp"
mv "$PIPE_DIR/metadata/status.yaml.tmp" "$PIPE_DIR/metadata/status.yaml"
wait_until "a push whose answer is refused is a push made" 1 pushes_logged
like "$(cat "$PIPE_DIR/sidecar.log")" 'status written, but the answer was not read: .*would take more than 4 MiB once parsed' \
        "the log says the answer was not read, and why"
is "$(grep -c 'push failed' "$PIPE_DIR/sidecar.log")" 0 "the push is not reported failed"
is "$(status_of '.status.big | length')" 99997 "the values are on the resource"
echo "# the live sidecar's VmHWM, the answer refused: $(status_kib "$SIDECAR_PID" VmHWM) KiB"
stop_sidecar TERM
is "$SIDECAR_RC" 1 "the final write cannot read the object: exit 1"
like "$(cat "$PIPE_DIR/sidecar.log")" 'final write to .* failed: .*would take more than 4 MiB once parsed' \
        "the log names the memory limit"
rm "$PIPE_DIR/metadata/status.yaml"
kubectl patch iam example --subresource=status --type=json -p '[{"op":"add","path":"/status","value":{}}]' >/dev/null

# --- answers past the response limit ------------------------------------------
# tests/tools/hostile-http answers every request with a 60 MB object, or a
# chunked body that never ends. The sidecar takes at most 4 MiB (its
# --max-response-size default), names the limit, and its peak RSS stays under
# the 32 MiB memory limit injection gives it.
pushd "$TEST_TMP" >/dev/null || exit 1
rss_checks "$SIDECAR"
for mode in object endless; do
        size=$((60 << 20))
        [ "$mode" = endless ] && size=$((1 << 30))
        hostile "$mode" "$size"
        rc=0
        env -u KUBECONFIG /usr/bin/time -f 'peak %M' -o "$mode.time" "$SIDECAR" --once --kubeconfig "$mode.kubeconfig" \
                --group example.promise.syntasso.io --api-version v1 --resource iams --name example -n default \
                --metadata-dir "$PIPE_DIR/metadata" --input-dir "$PIPE_DIR/input" >"$mode.log" 2>&1 || rc=$?
        is "$rc" 1 "a 60 MB $mode answer: exit 1"
        like "$(cat "$mode.log")" "the server's answer is larger than 4 MiB" "the $mode answer: the error names the limit"
        rss_under "$mode.time" $((32 * 1024)) "the $mode answer: peak RSS under 32 MiB"
done

# Under 4 MiB, but made of tiny values jansson expands ~80x: [0,0,…], [{},{},…],
# and objects nested 1000 deep ([{"a":{"a":…}},…]). The sidecar estimates the
# memory their trees would take before parsing and takes at most 16 MiB
# (--max-response-memory); without that it peaked at 337 MiB ([{},…]) and
# 222 MiB (nested).
for mode in zeros empties deep; do
        hostile "$mode" $(((4 << 20) - 64))
        rc=0
        env -u KUBECONFIG /usr/bin/time -f 'peak %M' -o "$mode.time" "$SIDECAR" --once --kubeconfig "$mode.kubeconfig" \
                --group example.promise.syntasso.io --api-version v1 --resource iams --name example -n default \
                --metadata-dir "$PIPE_DIR/metadata" --input-dir "$PIPE_DIR/input" >"$mode.log" 2>&1 || rc=$?
        is "$rc" 1 "a 4 MiB $mode answer: exit 1"
        like "$(cat "$mode.log")" "the server's answer would take more than 16 MiB once parsed" \
                "the $mode answer: the error names the limit"
        rss_under "$mode.time" $((32 * 1024)) "the $mode answer: peak RSS under 32 MiB"
done
# Under the limit: 60 000 empty objects (the dearest value, ~256 bytes each)
# are taken, inside 32 MiB.
hostile empties $((60000 * 3))
env -u KUBECONFIG /usr/bin/time -f 'peak %M' -o limit.time "$SIDECAR" --once --kubeconfig empties.kubeconfig \
        --group example.promise.syntasso.io --api-version v1 --resource iams --name example -n default \
        --metadata-dir "$PIPE_DIR/metadata" --input-dir "$PIPE_DIR/input" >limit.log 2>&1
is "$(grep -c "once parsed" limit.log)" 0 "60 000 empty objects are taken: $(head -1 limit.log)"
rss_under limit.time $((32 * 1024)) "and parsed inside 32 MiB"
popd >/dev/null || exit 1

done_testing
