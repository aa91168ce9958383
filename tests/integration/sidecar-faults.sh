#!/usr/bin/env bash
# kstatus-sidecar when things go wrong: a flaky API server (429/503/500/409,
# dropped connections, an outage around the final write), a failing pipeline,
# invalid and hostile status files, another writer, start-up errors.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-sidecar.sh"

start_apiserver
apiserver_install_crds
create_seed_objects
status_of() { kubectl get iam example -o json | jq -c "$1"; }

# --- one request per push, nothing when nothing changed ---------------------
# --verbose: a push that changes nothing says so (debug), which the check below waits for.
start_sidecar create-user 0 2 --verbose
printf 'message: step 1\nprogress: {a: 1}\n' >"$PIPE_DIR/metadata/status.yaml"
wait_until "a live push lands" '"step 1"' status_of .status.message
apiserver_reset_counters
pushes=$(pushes_logged)
printf 'message: step 2\nprogress: {a: 1}\n' >"$PIPE_DIR/metadata/status.yaml"
# Count before anything of ours (kubectl) talks to the server.
# The push is logged once its PATCH is answered, and nothing follows it.
wait_until "the sidecar logs the second push" "$((pushes + 1))" pushes_logged
counters=$(apiserver_counters)
is "$(jq '.byVerb.PATCH // 0' <<<"$counters")" 1 "one push is one PATCH request"
is "$(jq '.total - (.byVerb.PATCH // 0)' <<<"$counters")" 0 "and no other request"
is "$(status_of .status.message)" '"step 2"' "the second push landed"
apiserver_reset_counters
unchanged=$(grep -c 'status.yaml changed nothing' "$PIPE_DIR/sidecar.log")
cp "$PIPE_DIR/metadata/status.yaml" "$PIPE_DIR/metadata/status.yaml.new" && mv "$PIPE_DIR/metadata/status.yaml.new" "$PIPE_DIR/metadata/status.yaml"
wait_until "the sidecar read the rewritten file" "$((unchanged + 1))" grep -c 'status.yaml changed nothing' "$PIPE_DIR/sidecar.log"
is "$(apiserver_counters | jq '.total')" 0 "rewriting the same content sends nothing"

# --- many writes, torn writes: the final state is exact ----------------------
for i in $(seq 1 50); do
        printf 'message: "write %d"\nprogress: {count: %d}\n' "$i" "$i" >"$PIPE_DIR/metadata/status.yaml"
done
# A torn write: the file is written in two halves with a pause between.
printf 'message: "half' >"$PIPE_DIR/metadata/status.yaml"
wait_for "the torn half is read (and refused)" grep -q 'refuse: status.yaml:1:' "$PIPE_DIR/sidecar.log"
printf 'message: "final"\nprogress:\n  count: 51\n' >"$PIPE_DIR/metadata/status.yaml"
stop_sidecar TERM
is "$SIDECAR_RC" 0 "many writes: the sidecar exits 0"
is "$(status_of '{message: .status.message, progress: .status.progress}')" '{"message":"final","progress":{"count":51}}' \
        "many writes and a torn write: the final state is exact"
like "$(cat "$PIPE_DIR/sidecar.log")" 'refuse: status.yaml:1:' "the torn write was refused with its line and column"

# --- faults around the final write ------------------------------------------
# The earlier pipeline left iam.user; every fault case must keep it.
kubectl patch iam example --subresource=status --type=merge -p '{"status":{"iam":{"user":"admin"}}}' >/dev/null
for fault in '{"verb":"PATCH","code":503,"count":3,"retryAfter":1}' \
             '{"verb":"PATCH","code":429,"count":2,"retryAfter":1}' \
             '{"verb":"PATCH","code":500,"count":3}' \
             '{"verb":"PATCH","code":409,"count":2}' \
             '{"verb":"PATCH","drop":true,"count":2}' \
             '{"verb":"GET","code":503,"count":2}'; do
        start_sidecar populate-vault 1 2 --no-live
        printf 'message: "after %s"\niam: {password: x}\n' "$(jq -r '.code // "drop"' <<<"$fault")" >"$PIPE_DIR/metadata/status.yaml"
        apiserver_fault "$fault"
        apiserver_reset_counters
        stop_sidecar TERM
        is "$SIDECAR_RC" 0 "fault $fault: the final write eventually succeeds"
        is "$(status_of .status.message)" "\"after $(jq -r '.code // "drop"' <<<"$fault")\"" "fault $fault: final state exact"
        is "$(status_of .status.iam.user)" '"admin"' "fault $fault: iam.user from the earlier pipeline survives"
done

# The final write goes out before the loop's descriptors are closed: closing
# an inotify descriptor waits for a kernel SRCU grace period (16 ms measured),
# which the final status would otherwise wait for.
start_sidecar populate-vault 1 2 --no-live
printf 'message: "not delayed by the teardown"\n' >"$PIPE_DIR/metadata/status.yaml"
apiserver_fault '{"verb":"PATCH","latencyMs":1500,"count":1}'
apiserver_reset_counters
kill -TERM "$SIDECAR_PID"
wait_until "the final write's PATCH has reached the server (held there 1.5 s)" 1 apiserver_count PATCH \
        /apis/example.promise.syntasso.io/v1/namespaces/default/iams/example/status
is "$(grep -l '^inotify' /proc/"$SIDECAR_PID"/fdinfo/* 2>/dev/null | wc -l)" 1 \
        "while the final write is in flight, the inotify descriptor is still open"
wait "$SIDECAR_PID"
is "$?" 0 "and the delayed final write succeeds"
apiserver_clear_faults

# An outage (connections refused) around the final write.
start_sidecar populate-vault 1 2 --no-live --deadline=30s
printf 'message: after outage\n' >"$PIPE_DIR/metadata/status.yaml"
apiserver_outage 10
stop_sidecar TERM
is "$SIDECAR_RC" 0 "a 10 s outage around the final write: the write lands after it"
is "$(status_of .status.message)" '"after outage"' "outage: final state exact"

# A write that can never succeed fails clearly at the deadline, exit 1.
start_sidecar populate-vault 1 2 --no-live --deadline=2s
printf 'message: never\n' >"$PIPE_DIR/metadata/status.yaml"
apiserver_fault '{"verb":"PATCH","code":503,"count":1000}'
kill -TERM "$SIDECAR_PID"; wait "$SIDECAR_PID"; rc=$?
is "$rc" 1 "a final write that never succeeds exits 1 at the deadline"
like "$(tail -1 "$PIPE_DIR/sidecar.log")" 'final write to iams.example.promise.syntasso.io/example failed' \
        "and says so in one line"
apiserver_clear_faults

# --- another writer replaces a key shallowly mid-pipeline --------------------
kubectl patch iam example --subresource=status --type=merge -p '{"status":{"iam":{"user":"admin"},"db":{"host":"a","port":1}}}' >/dev/null
start_sidecar populate-vault 1 2
printf 'db:\n  port: 2\n' >"$PIPE_DIR/metadata/status.yaml"
wait_until "the live push merged db.port" '{"host":"a","port":2}' status_of .status.db
kubectl patch iam example --subresource=status --type=merge -p '{"status":{"db":null}}' >/dev/null
kubectl patch iam example --subresource=status --type=merge -p '{"status":{"db":{"port":9}}}' >/dev/null
stop_sidecar TERM
is "$(status_of .status.db)" '{"host":"a","port":2}' "another writer's shallow replace is repaired by the final write"

# --- a failing pipeline -------------------------------------------------------
start_sidecar populate-vault 1 2
printf 'message: half way\n' >"$PIPE_DIR/metadata/status.yaml"
wait_until "the failing pipeline's live push lands" '"half way"' status_of .status.message
stop_sidecar USR1
is "$SIDECAR_RC" 0 "a failed pipeline: the sidecar still exits 0 once it has recorded it"
is "$(status_of '.status.conditions[] | select(.type=="ConfigureWorkflowCompleted") | {status,reason,message}')" \
        '{"status":"False","reason":"ConfigureWorkflowFailed","message":"A Configure Pipeline has failed: populate-vault"}' \
        "a failed pipeline sets ConfigureWorkflowFailed naming it"
is "$(status_of .status.message)" '"half way"' "a failed pipeline's live pushes stay"

# --- invalid and hostile status files ---------------------------------------
kubectl patch iam example --subresource=status --type=merge -p '{"status":{"message":"good"}}' >/dev/null
start_sidecar populate-vault 1 2
printf 'message: "ok"\n' >"$PIPE_DIR/metadata/status.yaml"
wait_until "a valid file is pushed" '"ok"' status_of .status.message
printf 'kratix:\n  x: 1\n' >"$PIPE_DIR/metadata/status.yaml"
wait_for "the invalid file is read (and refused)" grep -q 'keeping the last good status' "$PIPE_DIR/sidecar.log"
is "$(status_of .status.message)" '"ok"' "an invalid file is not pushed; the last good state stays"
like "$(kubectl get events --field-selector involvedObject.name=example -o json | jq -r '.items[].reason' | sort -u | tr '\n' ' ')" \
        'StatusRefused' "the refusal is a Warning event on the resource"
# A symlink to a secret must not leak into status.
echo 'message: TOKEN-SECRET-VALUE' >"$TEST_TMP/token"
rm "$PIPE_DIR/metadata/status.yaml"
ln -s "$TEST_TMP/token" "$PIPE_DIR/metadata/status.yaml"
touch -h "$PIPE_DIR/metadata/status.yaml"
mv "$PIPE_DIR/metadata/status.yaml" "$PIPE_DIR/metadata/s2" && mv "$PIPE_DIR/metadata/s2" "$PIPE_DIR/metadata/status.yaml"
wait_for "the symlink is read (and refused)" grep -q 'symbolic link' "$PIPE_DIR/sidecar.log"
stop_sidecar TERM
ok "a symlinked status.yaml is never followed" bash -c "! kubectl get iam example -o json | grep -q TOKEN-SECRET-VALUE"
like "$(cat "$PIPE_DIR/sidecar.log")" 'symbolic link' "the symlink is refused in the log"

# --- start-up errors: one line, exit 2 -----------------------------------------
out=$(env -i PATH="$PATH" HOME="$HOME" KUBECONFIG="$KUBECONFIG" "$SIDECAR" --input-dir="$TEST_TMP/none" 2>&1); rc=$?
is "$rc" 2 "no resource: exit 2"
is "$(printf '%s\n' "$out" | grep -c .)" 1 "no resource: one line"
like "$out" '^error: no resource to report on' "no resource: says what is missing"
out=$(env -i PATH="$PATH" HOME="$HOME" KRATIX_OBJECT_NAME=example KRATIX_OBJECT_VERSION=v1 KRATIX_CRD_PLURAL=iams \
        KRATIX_OBJECT_GROUP=example.promise.syntasso.io KSTATUS_METADATA_DIR=/nonexistent/dir/x KUBECONFIG="$KUBECONFIG" \
        "$SIDECAR" 2>&1); rc=$?
is "$rc" 2 "no metadata directory: exit 2"
like "$out" 'metadata directory "/nonexistent/dir/x" does not exist' "no metadata directory: says which"
out=$(env -i PATH="$PATH" HOME="$TEST_TMP" KRATIX_OBJECT_NAME=example KRATIX_OBJECT_VERSION=v1 KRATIX_CRD_PLURAL=iams \
        KRATIX_OBJECT_GROUP=example.promise.syntasso.io KSTATUS_METADATA_DIR="$TEST_TMP" KUBECONFIG=/nonexistent \
        "$SIDECAR" 2>&1); rc=$?
is "$rc" 2 "no credentials: exit 2"
is "$(printf '%s\n' "$out" | grep -c .)" 1 "no credentials: one line"
like "$out" '^error: no kubeconfig and not in a cluster' "no credentials: says so, with one error: prefix"
fails_with 2 "an unknown flag: exit 2" "$SIDECAR" --frobnicate

# A permanent error stops at once with one line instead of retrying to the deadline:
# a kubeconfig whose CA is not the server's (TLS verification fails).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TEST_TMP/other.key" \
        -out "$TEST_TMP/other.crt" -subj /CN=other-ca -days 1 2>/dev/null
kubectl config view --raw -o json | jq --arg ca "$(base64 -w0 <"$TEST_TMP/other.crt")" \
        '.clusters[0].cluster["certificate-authority-data"] = $ca | del(.clusters[0].cluster["certificate-authority"])' \
        >"$TEST_TMP/other-ca.json"
t0=${EPOCHREALTIME/./}
out=$(env -i PATH="$PATH" HOME="$TEST_TMP" KRATIX_OBJECT_NAME=example KRATIX_OBJECT_VERSION=v1 KRATIX_CRD_PLURAL=iams \
        KRATIX_OBJECT_GROUP=example.promise.syntasso.io KSTATUS_METADATA_DIR="$TEST_TMP" \
        KUBECONFIG="$TEST_TMP/other-ca.json" "$SIDECAR" --deadline=60s 2>&1); rc=$?
elapsed_ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
is "$rc" 2 "a CA that is not the server's: exit 2"
ok "a CA that is not the server's: it gives up at once (${elapsed_ms} ms, deadline 60 s)" [ "$elapsed_ms" -lt 1000 ]
is "$(printf '%s\n' "$out" | grep -c .)" 1 "a CA that is not the server's: one line"
like "$out" 'cannot read iams.example.promise.syntasso.io/example: Unable to connect to the server: ' \
        "a CA that is not the server's: it says it cannot connect, naming the resource"
done_testing
