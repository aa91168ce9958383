#!/usr/bin/env bash
# kstatus-test-apiserver fault injection and request counters: status codes
# with Retry-After (and kubectl retrying them), fractions, latency, dropped
# connections, outages, start-up faults, and counts by verb and path.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
cd "$TEST_TMP" || exit 1

start_apiserver --fault '{"verb":"GET","path":"/api/v1/namespaces/kube-public","code":500,"count":1}' ||
        exit 1
apiserver_install_crds
kubectl create -f - >/dev/null <<'EOF'
apiVersion: example.promise.syntasso.io/v1
kind: Database
metadata:
  name: orders
spec: {}
EOF
db=/apis/example.promise.syntasso.io/v1/namespaces/default/databases/orders

# code PATH [curl args...]: the HTTP status code, 000 when the connection failed.
code() {
        local path=$1; shift
        apiserver_curl -o /dev/null -w '%{http_code}' "$@" "$path" 2>/dev/null
}

# ---- start-up faults ----
is "$(code /api/v1/namespaces/kube-public)" 500 "a --fault given at start fires"
is "$(code /api/v1/namespaces/kube-public)" 200 "once (count 1)"

# ---- counters ----
apiserver_reset_counters
is "$(apiserver_counters | jq -c .)" '{"total":0,"byVerb":{},"requests":{}}' "counters reset to zero"
kubectl patch db orders --subresource=status --type merge -p '{"status":{"message":"hi"}}' >/dev/null
is "$(apiserver_count PATCH $db/status)" 1 "one kubectl patch is one PATCH request on /status"
is "$(apiserver_counters | jq -r .byVerb.PATCH)" 1 "counted by verb"
apiserver_counters >/dev/null
apiserver_fault '{"verb":"DELETE","path":"/nothing","code":500}'
apiserver_clear_faults
is "$(apiserver_counters | jq -r .total)" "$(apiserver_counters | jq -r .total)" "control requests are not counted"
is "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$APISERVER_CA" "$APISERVER_URL/_kstatus/counters")" 401 \
        "the control endpoint needs the token too"

# ---- status codes with Retry-After ----
apiserver_fault '{"verb":"PATCH","path":"/apis/example.promise.syntasso.io/*/status","code":503,"count":2,"retryAfter":1}'
is "$(apiserver_curl /_kstatus/faults | jq -c '.faults[0] | [.verb, .code, .count]')" '["PATCH",503,2]' "the rule is listed"
apiserver_curl -s -D headers.txt -o body.json -X PATCH -H 'Content-Type: application/merge-patch+json' \
        --data '{"status":{"message":"x"}}' "$db/status"
like "$(head -1 headers.txt)" ' 503' "a matching request fails with 503"
like "$(tr -d '\r' <headers.txt)" 'Retry-After: 1' "with Retry-After"
is "$(jq -r '.kind + " " + .reason' body.json)" "Status ServiceUnavailable" "and a Status body"
is "$(code $db -X PATCH -H 'Content-Type: application/merge-patch+json' --data '{}')" 200 "a non-matching path is untouched"
apiserver_reset_counters
start=$(date +%s%N)
is "$(kubectl patch db orders --subresource=status --type merge -p '{"status":{"message":"retried"}}')" \
        "database.example.promise.syntasso.io/orders patched" "kubectl retries the remaining 503 after Retry-After"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$(apiserver_count PATCH $db/status)" 2 "one failed and one good request were counted"
ok "kubectl waited about Retry-After (${ms} ms)" test "$ms" -ge 900
is "$(apiserver_curl /_kstatus/faults | jq -c .faults)" "[]" "a spent rule is removed"

apiserver_fault '{"verb":"PATCH","code":429,"count":1,"retryAfter":1}'
is "$(code $db -X PATCH -H 'Content-Type: application/merge-patch+json' --data '{}')" 429 "429 Too Many Requests"
apiserver_fault '{"verb":"PUT","code":409,"count":1}'
is "$(code $db -X PUT -H 'Content-Type: application/json' --data "$(apiserver_curl $db)")" 409 "an injected 409"
apiserver_fault '{"path":"/apis/example.promise.syntasso.io/v1/namespaces/default/databases/orders","code":500,"count":1}'
is "$(code $db)" 500 "a prefix path without verb matches any verb"

# ---- fractions ----
apiserver_fault '{"verb":"GET","path":"/version","code":503,"fraction":0.5}'
urls=()
for _ in $(seq 1 200); do urls+=("$APISERVER_URL/version"); done
codes=$(curl -s --cacert "$APISERVER_CA" -H "Authorization: Bearer $APISERVER_TOKEN" -o /dev/null -w '%{http_code}\n' "${urls[@]}")
failed=$(grep -c 503 <<<"$codes")
ok "fraction 0.5 fails about half of 200 requests ($failed)" test "$failed" -ge 60 -a "$failed" -le 140
apiserver_clear_faults

# ---- latency ----
apiserver_fault '{"verb":"GET","path":"/version","latencyMs":300}'
start=$(date +%s%N)
is "$(code /version)" 200 "a latency rule still answers"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
ok "after the added latency (${ms} ms)" test "$ms" -ge 300
apiserver_clear_faults

# ---- dropped connections ----
apiserver_fault '{"verb":"GET","path":"/apis/example.promise.syntasso.io/v1/namespaces/default/databases/orders","drop":true,"count":1}'
apiserver_curl -o partial.json "$db" 2>/dev/null
rc=$?
ok "a dropped response fails the client (curl exit $rc)" test "$rc" -ne 0
ok "after part of the body" test -s partial.json
ok "the next request works" apiserver_curl -f -o /dev/null "$db"

# ---- outages ----
mark=$(apiserver_mark)
apiserver_curl -N -o watch.out "/apis/example.promise.syntasso.io/v1/namespaces/default/databases?watch=1&timeoutSeconds=30" \
        2>/dev/null &
watch_pid=$!
at_exit "kill $watch_pid 2>/dev/null"
apiserver_wait_access "$mark" 1 GET /apis/example.promise.syntasso.io/v1/namespaces/default/databases # the watch is open
start=$(date +%s%N)
apiserver_outage 1
rc=0; apiserver_curl -o /dev/null "$db" 2>/dev/null || rc=$?
ok "during an outage connections are refused or reset (curl exit $rc)" test "$rc" -ne 0
rc=0; curl -s --cacert "$APISERVER_CA" -o /dev/null "$APISERVER_URL/version" 2>/dev/null || rc=$?
ok "new connections too (curl exit $rc)" test "$rc" -ne 0
wait "$watch_pid"
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
ok "an open watch is cut by the outage (curl exit $rc after ${ms} ms)" test "$rc" -ne 0 -a "$ms" -lt 5000
like "$(head -c 200 watch.out)" '"type":"ADDED"' "after it had streamed events"
ok "after the window the server answers again" poll 5 apiserver_curl -f -o /dev/null "$db"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
ok "not before the 1 s window ended (${ms} ms)" test "$ms" -ge 1000 -a "$ms" -lt 5000
ok "kubectl works again" kubectl get db orders

# ---- stopping ----
kill -TERM "$APISERVER_PID"
# shellcheck disable=SC2317 # called by name (poll, wait_for, wait_until)
server_gone() { ! kill -0 "$APISERVER_PID" 2>/dev/null; }
poll 5 server_gone
fails_with 1 "SIGTERM stops the server within 5 s" kill -0 "$APISERVER_PID"
wait "$APISERVER_PID"
is "$?" 0 "and it exits 0"

done_testing
