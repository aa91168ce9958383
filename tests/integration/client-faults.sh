#!/usr/bin/env bash
# Writes through common/kube under every fault class the test API server can
# inject (docs/BEHAVIOUR.md §6): each write either succeeds exactly once or fails with
# a clear error at its deadline, and the server's counters show every attempt.
#
# The write appends a marker to status.log with a JSON patch that carries
# metadata.resourceVersion (kube-client append-once), so "exactly once" is
# visible: a write applied twice leaves the marker twice.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
cd "$TEST_TMP" || exit 1

KC=${KUBE_CLIENT:-$KSTATUS_BUILD_DIR/tests/tools/kube-client} # KUBE_CLIENT: e.g. a valgrind wrapper
# The access log stamps every request once answered: when a slow one is over.
start_apiserver --access-log "$TEST_TMP/access.log" || exit 1
apiserver_install_crds
DB=/apis/example.promise.syntasso.io/v1/namespaces/default/databases
printf 'apiVersion: example.promise.syntasso.io/v1\nkind: Database\nmetadata: {name: f, namespace: default}\nspec: {}\n' |
        kubectl apply -f - >/dev/null
kubectl patch db f --subresource=status --type=merge -p '{"status":{"log":[]}}' >/dev/null

marker_count() { # MARKER
        kubectl get db f -o json | jq --arg m "$1" '[.status.log[] | select(. == $m)] | length'
}

# write NAME FAULT_JSON|- [kube-client options]: inject, append marker NAME, report.
write() {
        local name=$1 fault=$2; shift 2
        apiserver_clear_faults
        apiserver_reset_counters
        [ "$fault" = - ] || apiserver_fault "$fault"
        local start=$SECONDS
        out=$("$KC" "$@" append-once $DB/f "$name" 2>err)
        rc=$?
        elapsed=$((SECONDS - start))
        apiserver_clear_faults
        patches=$(apiserver_count PATCH $DB/f/status)
        attempts=$(jq -r .attempts <<<"$out" 2>/dev/null)
        [ -n "$attempts" ] && [ "$attempts" != null ] || attempts=$(sed -n 's/^attempts: //p' err)
}

S=$DB/f/status

write m-ok -
is "$rc/$(jq -r .result <<<"$out")/$attempts/$patches" "0/written/1/1" "no fault: one PATCH"

write m-409 "{\"verb\":\"PATCH\",\"path\":\"$S\",\"code\":409,\"count\":1}" --deadline 20000
is "$rc/$(jq -r .result <<<"$out")/$attempts/$(jq -r .recomputes <<<"$out")" "0/written/2/1" \
        "409: re-read, recompute, write again"
is "$patches/$(marker_count m-409)" "2/1" "409: two PATCHes, the marker once"

write m-429 "{\"verb\":\"PATCH\",\"path\":\"$S\",\"code\":429,\"count\":2,\"retryAfter\":1}" --deadline 20000
is "$rc/$attempts/$patches/$(marker_count m-429)" "0/3/3/1" "429 twice: Retry-After honoured, then written once"
ok "429: waited Retry-After (1 s) twice (took ${elapsed}s)" test "$elapsed" -ge 2

write m-503 "{\"verb\":\"PATCH\",\"path\":\"$S\",\"code\":503,\"count\":2,\"retryAfter\":1}" --deadline 20000
is "$rc/$attempts/$patches/$(marker_count m-503)" "0/3/3/1" "503 with Retry-After: written once"

write m-500 "{\"verb\":\"PATCH\",\"path\":\"$S\",\"code\":500,\"count\":3}" --deadline 20000
is "$rc/$attempts/$patches/$(marker_count m-500)" "0/4/4/1" "500 three times: backoff, then written once"
ok "500: backoff is short at first (took ${elapsed}s)" test "$elapsed" -le 3

write m-502 "{\"verb\":\"PATCH\",\"path\":\"$S\",\"code\":502,\"count\":1}" --deadline 20000
is "$rc/$attempts/$patches/$(marker_count m-502)" "0/2/2/1" "502: written once"

# The server applies the write and then drops the connection half-way through
# its answer: the retry carries the old resourceVersion, gets 409, re-reads,
# finds the marker and stops.
write m-drop "{\"verb\":\"PATCH\",\"path\":\"$S\",\"drop\":true,\"count\":1}" --deadline 20000
is "$rc/$(jq -r .result <<<"$out")/$attempts/$patches" "0/nothing-to-do/2/2" \
        "dropped answer: retried, 409, re-read: nothing left to do"
is "$(marker_count m-drop)" 1 "dropped answer: the marker once"
# Without the resourceVersion the same fault applies the write twice: the
# precondition is what makes it exactly once.
write m-drop-blind "{\"verb\":\"PATCH\",\"path\":\"$S\",\"drop\":true,\"count\":1}" --deadline 20000 --no-precondition
is "$rc/$(marker_count m-drop-blind)" "0/2" "without resourceVersion a dropped answer duplicates the write"

# Slow answer: the attempt times out (the server still applies it later).
answered() { grep -c " PATCH $S " "$TEST_TMP/access.log"; }
answered0=$(answered)
write m-slow "{\"verb\":\"PATCH\",\"path\":\"$S\",\"latencyMs\":2500,\"count\":1}" --deadline 20000 --request-timeout 1000
# The timed-out attempt is still held by the server: the marker count means something once it is answered.
for _ in $(seq 1 100); do [ "$(answered)" -ge $((answered0 + attempts)) ] && break; sleep 0.1; done
is "$(answered)" "$((answered0 + attempts))" "slow: the server answered every attempt, the timed-out one too"
is "$rc/$(marker_count m-slow)" "0/1" "a timed-out attempt: retried, the marker once ($attempts attempts)"
ok "slow: more than one attempt" test "$attempts" -ge 2

# Connections refused for 2 s.
apiserver_clear_faults
apiserver_reset_counters
apiserver_outage 2
start=$SECONDS
out=$("$KC" --deadline 20000 append-once $DB/f m-outage 2>err)
rc=$?
elapsed=$((SECONDS - start))
is "$rc/$(jq -r .result <<<"$out")/$(marker_count m-outage)" "0/written/1" "outage: retried until it ended, written once"
ok "outage: the write waited it out (${elapsed}s, $(jq -r .attempts <<<"$out") attempts)" test "$elapsed" -ge 1

# ---- failures at the deadline, with a clear error ----
write m-down "{\"verb\":\"PATCH\",\"path\":\"$S\",\"code\":503}" --deadline 2000
is "$rc" 1 "503 forever: fails"
like "$(head -1 err)" '^Error from server \(ServiceUnavailable\): injected fault \(gave up after [0-9]+ attempts: deadline 2\.0s\)$' \
        "503 forever: the server's message and the deadline"
is "$patches" "$attempts" "503 forever: every attempt reached the server ($attempts)"
ok "503 forever: several attempts" test "$attempts" -ge 3
ok "503 forever: stopped at the deadline (${elapsed}s)" test "$elapsed" -le 3
is "$(marker_count m-down)" 0 "503 forever: nothing written"

write m-500-down "{\"verb\":\"PATCH\",\"path\":\"$S\",\"code\":500}" --deadline 1500
like "$(head -1 err)" '^Error from server \(InternalError\): injected fault \(gave up after [0-9]+ attempts: deadline 1\.5s\)$' \
        "500 forever: fails at the deadline with the server's message"

apiserver_outage 5
start=$SECONDS
"$KC" --deadline 1500 append-once $DB/f m-reset >/dev/null 2>err
rc=$?
elapsed=$((SECONDS - start))
is "$rc" 1 "an outage longer than the deadline: fails"
# The server's outage accepts and resets connections.
like "$(head -1 err)" '^Unable to connect to the server: .* \(gave up after [0-9]+ attempts: deadline 1\.5s\)$' \
        "reset until the deadline: the connection error and the deadline"
ok "outage: stopped at the deadline (${elapsed}s)" test "$elapsed" -le 3
for i in $(seq 1 100); do apiserver_curl -f /version >/dev/null 2>&1 && break; sleep 0.1; done

jq --arg s "https://127.0.0.1:1" '.clusters[0].cluster.server = $s' <(kubectl config view --raw -o json) >refused.json
KUBECONFIG=refused.json "$KC" --deadline 1000 append-once $DB/f m-refused >/dev/null 2>err
is "$?" 1 "nothing listening: fails"
like "$(head -1 err)" '^The connection to the server 127\.0\.0\.1:1 was refused - did you specify the right host or port\? \(gave up after [0-9]+ attempts: deadline 1\.0s\)$' \
        "refused until the deadline: kubectl's words and the deadline"
like "$(sed -n 's/^attempts: //p' err)" '^([3-9]|[1-9][0-9]+)$' "refused: retried with backoff ($(sed -n 's/^attempts: //p' err) attempts)"

# ---- errors that are not retried ----
write m-404 "{\"verb\":\"PATCH\",\"path\":\"$S\",\"code\":404,\"count\":5}" --deadline 20000
is "$rc/$attempts/$patches" "1/1/1" "404: one attempt, not retried"
# The injected Status has no reason: kubectl then says just "Error from server".
is "$(head -1 err)" "Error from server: injected fault" "404: the server's message, as kubectl words a Status without reason"
write m-403 "{\"verb\":\"PATCH\",\"path\":\"$S\",\"code\":403,\"count\":5}" --deadline 20000
is "$rc/$attempts/$patches" "1/1/1" "403: one attempt, not retried"

is "$(kubectl get db f -o json | jq -c '.status.log | group_by(.) | map(select(length > 1)) | map(.[0])')" \
        '["m-drop-blind"]' "only the write without resourceVersion was ever applied twice"

done_testing
