#!/usr/bin/env bash
# kstatus-test-apiserver watches: kubectl get -w and kubectl wait against
# real status changes, resumption by resourceVersion, 410 Expired, bookmarks,
# timeoutSeconds, field selectors and finalizers.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
cd "$TEST_TMP" || exit 1

# A short event history so "too old" is reachable, and quick bookmarks.
start_apiserver --watch-history 20 --bookmark-interval 200ms || exit 1
apiserver_install_crds
dbs=/apis/example.promise.syntasso.io/v1/namespaces/default/databases

new_db() {
        kubectl create -f - >/dev/null <<EOF
apiVersion: example.promise.syntasso.io/v1
kind: Database
metadata:
  name: $1
spec: {}
EOF
}
new_db orders

# bg_wait OUT ARGS...: run "kubectl wait ARGS" in the background (its pid in
# $bg, its output in OUT) and return once it is provably waiting: its list and
# its watch of the collection were answered and it has not exited.
bg_wait() {
        local out=$1 mark
        shift
        mark=$(apiserver_mark)
        kubectl wait "$@" >"$out" 2>&1 &
        bg=$!
        apiserver_wait_access "$mark" 2 GET "$dbs" && kill -0 "$bg"
}

# bg_done: wait for bg_wait's kubectl (not in a subshell: it is this shell's
# child); ms is then the time since $start.
bg_done() {
        wait "$bg"
        ms=$(( ($(date +%s%N) - start) / 1000000 ))
}

# ---- kubectl get -w sees a status change ----
mark=$(apiserver_mark)
kubectl get db orders -w -o jsonpath='{.status.message}{"\n"}' >w1.out 2>&1 &
w1=$!
kubectl get db -w >w2.out 2>&1 &
w2=$!
at_exit "kill $w1 $w2 2>/dev/null"
# Both listening: w1's watch (after a GET of the object) and w2's list and watch.
apiserver_wait_access "$mark" 3 GET "$dbs"
kubectl patch db orders --subresource=status --type merge -p '{"status":{"message":"Pending"}}' >/dev/null
kubectl patch db orders --subresource=status --type merge \
        -p '{"status":{"message":"Resource requested","conditions":[{"type":"Reconciled","status":"True","message":"Done"}]}}' >/dev/null
for _ in $(seq 1 50); do grep -q 'Resource requested' w1.out w2.out 2>/dev/null && [ "$(grep -c 'Resource requested' w1.out w2.out | grep -c ':1')" = 2 ] && break; sleep 0.1; done
kill $w1 $w2 2>/dev/null
is "$(cat w1.out)" "
Pending
Resource requested" "kubectl get -w -o jsonpath prints every status change"
like "$(cat w2.out)" '^NAME +MESSAGE +STATUS
orders +
orders +Pending +
orders +Resource requested +Done$' "kubectl get -w prints Table rows for each change, header once"

# ---- kubectl wait ----
# Each change is made once kubectl wait is provably waiting (its watch is open
# and it is still running), so "condition met" after it means it saw the change.
bg_wait wait.out --for=condition=Ready db/orders --timeout=10s
is "$?" 0 "kubectl wait keeps waiting while the condition is absent"
start=$(date +%s%N)
kubectl patch db orders --subresource=status --type json \
        -p '[{"op":"add","path":"/status/conditions/-","value":{"type":"Ready","status":"True"}}]' >/dev/null
bg_done
is "$(cat wait.out)" "database.example.promise.syntasso.io/orders condition met" \
        "kubectl wait returns when the condition turns True"
ok "at the change, not at the timeout (${ms} ms)" test "$ms" -lt 5000
is "$(kubectl wait --for=condition=Broken db/orders --timeout=1s 2>&1)" \
        "error: timed out waiting for the condition on databases/orders" "kubectl wait times out with kubectl's message"
fails_with 1 "and exits 1" kubectl wait --for=condition=Broken db/orders --timeout=1s
is "$(kubectl wait --for=jsonpath='{.status.message}'='Resource requested' db/orders --timeout=5s 2>&1)" \
        "database.example.promise.syntasso.io/orders condition met" "kubectl wait --for=jsonpath"
bg_wait wait.out --for=jsonpath='{.status.message}'=later db/orders --timeout=10s
is "$?" 0 "kubectl wait --for=jsonpath keeps waiting for another value"
kubectl patch db orders --subresource=status --type merge -p '{"status":{"message":"later"}}' >/dev/null
bg_done
is "$(cat wait.out)" "database.example.promise.syntasso.io/orders condition met" \
        "kubectl wait --for=jsonpath sees a later change"
bg_wait wait.out --for=delete db/orders --timeout=10s
is "$?" 0 "kubectl wait --for=delete keeps waiting while the object exists"
kubectl delete db orders >/dev/null
bg_done
is "$(cat wait.out)" "database.example.promise.syntasso.io/orders condition met" "kubectl wait --for=delete"

# ---- raw watch streams ----
new_db a
rv=$(apiserver_curl -f "$dbs" | jq -r .metadata.resourceVersion)
new_db b
kubectl patch db a --type merge -p '{"spec":{"x":1}}' >/dev/null
kubectl delete db b >/dev/null
apiserver_curl -N --max-time 5 "$dbs?watch=1&resourceVersion=$rv&timeoutSeconds=1" >resume.out
is "$(jq -r '.type + " " + .object.metadata.name' resume.out | tr '\n' ' ')" "ADDED b MODIFIED a DELETED b " \
        "a watch from a resourceVersion replays what happened after it, in order"
rvs=$(jq -r .object.metadata.resourceVersion resume.out | tr '\n' ' ')
ok "event resourceVersions increase ($rvs)" bash -c "sort -n -c <<<\"$(tr ' ' '\n' <<<"$rvs" | sed '/^$/d')\""
start=$(date +%s%N)
apiserver_curl -N --max-time 5 "$dbs?watch=1&timeoutSeconds=1" >initial.out
ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$(jq -r '.type + " " + .object.metadata.name' initial.out)" "ADDED a" "a watch without resourceVersion starts with the current objects"
ok "timeoutSeconds=1 ends the stream after about a second (${ms} ms)" test "$ms" -ge 900 -a "$ms" -lt 3000
apiserver_curl -N --max-time 5 "$dbs?watch=1&resourceVersion=$rv&timeoutSeconds=1&fieldSelector=metadata.name%3Da" >fs.out
is "$(jq -r '.type + " " + .object.metadata.name' fs.out)" "MODIFIED a" "a watch with a field selector sees only its object"
apiserver_curl -N --max-time 5 "$dbs?watch=1&resourceVersion=$rv&timeoutSeconds=1&allowWatchBookmarks=true" >bm.out
like "$(jq -r .type bm.out | sort -u | tr '\n' ' ')" 'BOOKMARK' "allowWatchBookmarks=true sends BOOKMARK events"
is "$(jq -r 'select(.type=="BOOKMARK") | .object.kind' bm.out | sort -u)" "Database" "bookmarks name the kind"

rv2=$(apiserver_curl -f "$dbs" | jq -r .metadata.resourceVersion)
kubectl label db a tier=gold >/dev/null
kubectl label db a tier- >/dev/null
kubectl label db a tier=gold >/dev/null
apiserver_curl -N --max-time 5 "$dbs?watch=1&resourceVersion=$rv2&timeoutSeconds=1&labelSelector=tier%3Dgold" >ls.out
is "$(jq -r '.type + " " + (.object.metadata.labels.tier // "-")' ls.out | tr '\n' ' ')" "ADDED gold DELETED - ADDED gold " \
        "with a label selector, objects entering and leaving it are ADDED and DELETED"

# Push the first events out of the 20-event history.
for i in $(seq 1 25); do kubectl patch db a --type merge -p "{\"spec\":{\"x\":$((i + 1))}}" >/dev/null; done
apiserver_curl -N --max-time 5 "$dbs?watch=1&resourceVersion=$rv" >gone.out
is "$(jq -c '[.type, .object.kind, .object.reason, .object.code]' gone.out)" '["ERROR","Status","Expired",410]' \
        "a resourceVersion older than the history gets a 410 Expired ERROR event"
like "$(jq -r .object.message gone.out)" "^too old resource version: $rv \\([0-9]+\\)$" "with the real server's message"

# ---- finalizers ----
mark=$(apiserver_mark)
kubectl get db a -w -o jsonpath='{.metadata.name}{" "}{.metadata.deletionTimestamp}{"\n"}' >fin.out 2>&1 &
wf=$!
at_exit "kill $wf 2>/dev/null"
apiserver_wait_access "$mark" 1 GET "$dbs" # its watch
kubectl patch db a --type merge -p '{"metadata":{"finalizers":["kratix.io/cleanup"]}}' >/dev/null
kubectl delete db a --wait=false >/dev/null
# The DELETE was answered (kubectl returned) and marked the object: it stays.
like "$(kubectl get db a -o jsonpath='{.metadata.deletionTimestamp}' 2>&1)" '^20[0-9-]+T' \
        "a finalizer keeps the object after DELETE, marked for deletion"
bg_wait wait.out --for=delete db/a --timeout=10s
is "$?" 0 "kubectl wait --for=delete keeps waiting while a finalizer holds the object"
start=$(date +%s%N)
kubectl patch db a --type json -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null
bg_done
is "$(cat wait.out)" "database.example.promise.syntasso.io/a condition met" \
        "removing the finalizer completes the deletion"
poll 5 grep -Eq '^a 20[0-9-]+T' fin.out
kill $wf 2>/dev/null
like "$(tail -1 fin.out)" '^a 20[0-9-]+T' "the watch saw the deletionTimestamp"

done_testing
