#!/usr/bin/env bash
# kstatus-sidecar health: HealthRecords created, updated and deleted with real
# kubectl are reflected on the resources they name — with --health-status
# (Kratix's projection as well as the seed's healthRecord): every pair of states
# for the aggregate, Kratix's matching, Events when the aggregate changes,
# invalid records reported once and ignored, missing Promises and resources, a
# CRD without the status subresource, -n, flags; by default only healthRecord.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-sidecar.sh"
. "$(dirname "$0")/health-lib.sh"

start_apiserver
apiserver_install_crds
health_setup
start_health --resync=1s -v --health-status

# --- the seed's example: one record ------------------------------------------
hr r1 default db-a default ready 1531958400
wait_until "one record: the resource shows it" "ready/1/ready" health_of db default db-a
json_is "$(health_json db default db-a)" '{"healthRecord":{"state":"ready","lastRun":1531958400,"details":{"record":"r1"}},
  "healthStatus":{"state":"ready","healthRecords":[{"state":"ready","lastRun":1531958400,"details":{"record":"r1"},
  "source":{"name":"r1","namespace":"default"}}]}}' "the seed's healthRecord and Kratix's healthStatus, exactly"
is "$(health_of db default db-b)" "-/0/-" "a resource without records is left alone"

# --- every pair of states: the least desirable wins, the newest is healthRecord --
states=(unhealthy degraded unknown healthy ready)
bad=0
for a in 0 1 2 3 4; do
        for b in 0 1 2 3 4; do
                # r1 ran before r2, so healthRecord is r2's.
                { hr_yaml r1 default db-a default "${states[a]}" 100; hr_yaml r2 default db-a default "${states[b]}" 200; } |
                        kubectl apply -f - >/dev/null
                want="${states[$((a < b ? a : b))]}/2/${states[b]}"
                for _ in $(seq 1 100); do
                        got=$(health_of db default db-a)
                        [ "$got" = "$want" ] && break
                        sleep 0.1
                done
                if [ "$got" != "$want" ]; then
                        bad=$((bad + 1))
                        echo "# ${states[a]} + ${states[b]}: got $got, want $want"
                fi
        done
done
is "$bad" 0 "all 25 pairs of states aggregate to the least desirable, healthRecord the newest"
hr r1 default db-a default healthy 300
hr r2 default db-a default degraded 200
hr r3 default db-a default unknown 250
wait_until "three records: degraded wins, the newest (healthy, lastRun 300) is healthRecord" "degraded/3/healthy" \
        health_of db default db-a
is "$(kubectl get db db-a -o json | jq -c '[.status.healthStatus.healthRecords[].source.name]')" '["r1","r2","r3"]' \
        "healthRecords are ordered by source"

# --- only records that name the resource count --------------------------------
hr t1 team-a db-a team-a unhealthy 10
hr other default db-b default unhealthy 10
hr cross team-a db-b default healthy 20
wait_until "team-a/db-a shows only its own record" "unhealthy/1/unhealthy" health_of db team-a db-a
wait_until "db-b counts a record from another namespace that names it" "unhealthy/2/healthy" health_of db default db-b
is "$(health_of db default db-a)" "degraded/3/healthy" "default/db-a is untouched by records of db-b and team-a/db-a"
# Kratix's controller matches records on resourceRef name and namespace alone:
# a record of another Promise naming the same name counts in healthStatus (once
# the resource is next written, here by the resync), never in the seed's
# healthRecord, which follows the record's Promise.
hr cache-named-db-a default db-a default unhealthy 999 cache
wait_until "a record of another Promise with the same name counts in healthStatus, as Kratix matches" \
        "unhealthy/4/healthy" health_of db default db-a
kubectl delete healthrecord cache-named-db-a >/dev/null
wait_until "and stops counting when it is deleted" "degraded/3/healthy" health_of db default db-a

# --- updates that move a record, and deletions ------------------------------
kubectl patch healthrecord cross -n team-a --type merge -p '{"data":{"resourceRef":{"name":"db-a","namespace":"team-a"}}}' >/dev/null
wait_until "a record moved to another resource leaves the first" "unhealthy/1/unhealthy" health_of db default db-b
wait_until "and counts for the second" "unhealthy/2/healthy" health_of db team-a db-a
kubectl delete healthrecord r3 >/dev/null
wait_until "deleting a record updates the resource" "degraded/2/healthy" health_of db default db-a
kubectl delete healthrecord r1 r2 >/dev/null
wait_until "deleting the last record: ready with no records, healthRecord removed" "ready/0/-" health_of db default db-a
json_is "$(health_json db default db-a)" '{"healthRecord":null,"healthStatus":{"state":"ready","healthRecords":[]}}' \
        "no records: {state: ready, healthRecords: []}"

# --- Events when the aggregate changes ---------------------------------------
before=$(health_events Database default db-b | wc -l)
hr other default db-b default degraded 11
wait_until "db-b turns degraded" "degraded/1/degraded" health_of db default db-b
hr other default db-b default degraded 12 # lastRun moves, the aggregate does not
wait_until "a new lastRun is written" "12" kubectl get db db-b -o jsonpath='{.status.healthRecord.lastRun}'
hr other default db-b default healthy 13
wait_until "db-b turns healthy" "healthy/1/healthy" health_of db default db-b
hr other default db-b default unknown 14
wait_until "db-b turns unknown" "unknown/1/unknown" health_of db default db-b
is "$(health_events Database default db-b | tail -n +$((before + 1)))" "Warning:Health state is degraded
Normal:Health state is healthy
Warning:Health state is unknown" "one Event per aggregate change (Warning unless healthy or ready), none for a new lastRun"

# --- invalid records: reported once, never counted, never a crash -----------
# Kratix's CRD refuses most invalid records at the API server (an unknown
# state, a lastRun that is not an integer, no promiseRef: the unit tests cover
# the controller's own checks of those); a record without resourceRef (a
# Promise's own health) is valid there and this controller ignores it.
out=$(kubectl apply -f - 2>&1 >/dev/null <<'EOT'
apiVersion: platform.kratix.io/v1alpha1
kind: HealthRecord
metadata: {name: no-ref, namespace: default}
data:
  promiseRef: {name: database}
  state: unhealthy
---
apiVersion: platform.kratix.io/v1alpha1
kind: HealthRecord
metadata: {name: bad-state, namespace: default}
data:
  promiseRef: {name: database}
  resourceRef: {name: db-b, namespace: default}
  state: on-fire
---
apiVersion: platform.kratix.io/v1alpha1
kind: HealthRecord
metadata: {name: bad-lastrun, namespace: default}
data:
  promiseRef: {name: database}
  resourceRef: {name: db-b, namespace: default}
  state: unhealthy
  lastRun: yesterday
---
apiVersion: platform.kratix.io/v1alpha1
kind: HealthRecord
metadata: {name: no-promise-ref, namespace: default}
data:
  resourceRef: {name: db-b, namespace: default}
  state: unhealthy
EOT
)
for n in bad-state bad-lastrun no-promise-ref; do
        like "$out" "HealthRecord.platform.kratix.io \"$n\" is invalid: data" "Kratix's CRD refuses $n at the API server"
done
wait_for "the record without resourceRef is logged" grep -q 'healthrecord "default/no-ref"' "$HEALTH_LOG"
wait_resyncs "two resyncs (--resync=1s) run meanwhile" 2
like "$(grep 'healthrecord "default/no-ref"' "$HEALTH_LOG")" 'ignored: record has no "data.resourceRef"$' "missing resourceRef: says so"
is "$(grep -c 'record: healthrecord "default/no-ref"' "$HEALTH_LOG")" 1 "an invalid record is one log line, not one per resync"
like "$(grep -c 'resync: ' "$HEALTH_LOG")" '^[2-9]|[1-9][0-9]+$' "resyncs did run meanwhile"
is "$(health_of db default db-b)" "unknown/1/unknown" "invalid records are not counted"
is "$(kubectl get events -n default --field-selector involvedObject.kind=HealthRecord,reason=InvalidHealthRecord -o json |
        jq -r '[.items[].involvedObject.name] | sort | join(",")')" "no-ref" "the invalid record gets one Warning Event"
kubectl apply -f - >/dev/null <<'EOT'
apiVersion: platform.kratix.io/v1alpha1
kind: HealthRecord
metadata: {name: bad-state, namespace: default}
data:
  promiseRef: {name: database}
  resourceRef: {name: db-b, namespace: default}
  state: degraded
EOT
wait_until "a record without lastRun counts (and is not the newest)" "degraded/2/unknown" health_of db default db-b
kubectl delete healthrecord no-ref bad-state >/dev/null

# --- a Promise or a resource that does not exist ------------------------------
hr lost default nope default unhealthy 1
hr orphan default db-a default unhealthy 1 no-such-promise
wait_for "a record for a missing resource is reported" grep -q 'healthrecord "default/lost": databases.example.promise.syntasso.io "nope" not found' "$HEALTH_LOG"
wait_for "a record of a missing Promise is reported" grep -q 'healthrecord "default/orphan": promise "no-such-promise" not found' "$HEALTH_LOG"
wait_resyncs "two resyncs look at both again" 2
is "$(grep -c 'record: healthrecord "default/\(lost\|orphan\)"' "$HEALTH_LOG")" 2 "each once, not retried in a loop"
# Kratix lists every record naming default/db-a, whatever its Promise: the
# orphan counts in healthStatus, but not in the seed's healthRecord.
wait_until "the orphan record counts in healthStatus only, as Kratix matches" "unhealthy/1/-" health_of db default db-a
kubectl apply -f - >/dev/null <<'EOF'
apiVersion: example.promise.syntasso.io/v1
kind: Database
metadata: {name: nope, namespace: default}
spec: {}
EOF
wait_until "a resource created after its record is picked up at the next resync" "unhealthy/1/unhealthy" \
        health_of db default nope
# A resource that disappears is skipped quietly.
warnings=$(grep -c ' warning ' "$HEALTH_LOG")
kubectl delete db nope >/dev/null
wait_for "the next resync finds it gone" grep -q 'skip: databases.example.promise.syntasso.io "default/nope" is gone' \
        "$HEALTH_LOG"
is "$(grep -c ' warning ' "$HEALTH_LOG")" "$warnings" "a resource that disappears is skipped without a warning"
ok "the controller is still running" kill -0 "$HEALTH_PID"
kubectl delete healthrecord lost orphan >/dev/null

# --- a CRD without the status subresource ---------------------------------
hr c1 default cache-a default degraded 5 cache
wait_until "a Cache (no /status) shows its health" "degraded/1/degraded" health_of cache default cache-a
like "$(cat "$HEALTH_LOG")" 'caches.example.promise.syntasso.io has no status subresource; writing status on the object' \
        "it noticed the missing subresource"
is "$(kubectl get cache cache-a -o jsonpath='{.spec.size}')" "1Gi" "the object's spec is untouched"

# --- SIGTERM: exit 0 ---------------------------------------------------------
stop_health TERM
is "$HEALTH_RC" 0 "SIGTERM: exit 0"
like "$(tail -1 "$HEALTH_LOG")" 'stop: received SIGTERM' "and says so"

# --- -n: only one namespace's records ---------------------------------------
hr only default db-b default ready 50
hr t2 team-a db-a team-a degraded 50
start_health -n team-a --log-format=json --health-status
wait_until "-n team-a: team-a's resource is written" "unhealthy/3/degraded" health_of db team-a db-a
# start_health returned on "watching healthrecords", logged once the first
# pass over every listed record and resource was done: a record in default
# would have been written by then.
is "$(health_of db default db-b)" "unknown/1/unknown" "-n team-a: a record in default is not watched"
ok "--log-format=json: every line is a JSON object" bash -c "sed -n '/\"event\":\"start\"/,\$p' '$HEALTH_LOG' | jq -e . >/dev/null"
stop_health INT
is "$HEALTH_RC" 0 "SIGINT: exit 0"

# --- the default: only the seed's healthRecord; healthStatus is Kratix's ------
kubectl apply -f - >/dev/null <<'EOT'
apiVersion: example.promise.syntasso.io/v1
kind: Database
metadata: {name: db-c, namespace: default}
spec: {}
EOT
kubectl patch db db-c --subresource=status --type merge \
        -p '{"status":{"healthStatus":{"state":"unknown","healthRecords":[],"expectedPromiseVersion":"v1"}}}' >/dev/null
start_health --resync=1s
hr c1 default db-c default degraded 7
wait_until "default: healthRecord shows the record" "unknown/0/degraded" health_of db default db-c
hr c2 default db-c default healthy 9
wait_until "default: healthRecord shows the newest record" "unknown/0/healthy" health_of db default db-c
json_is "$(health_json db default db-c)" '{"healthRecord":{"state":"healthy","lastRun":9,"details":{"record":"c2"}},
  "healthStatus":{"state":"unknown","healthRecords":[],"expectedPromiseVersion":"v1"}}' \
        "default: healthStatus, written by someone else, is left exactly as it was"
resyncs=$(grep -c 'resync' "$HEALTH_LOG")
wait_for "a resync has passed" bash -c "[ \$(grep -c 'resync' '$HEALTH_LOG') -gt $resyncs ]"
is "$(grep -c 'write: databases.example.promise.syntasso.io "default/db-c"' "$HEALTH_LOG")" 2 \
        "default: one write per record change, none at the resync"
is "$(health_events Database default db-c)" "" "default: no health Events (Kratix's controller posts them)"
like "$(grep 'default/db-c' "$HEALTH_LOG" | tail -1)" 'healthRecord healthy \(2 records\)' "the log says what was written"
kubectl delete healthrecord c1 c2 >/dev/null
wait_until "default: the last record gone, healthRecord is removed and healthStatus kept" "unknown/0/-" health_of db default db-c
stop_health TERM

# --- configuration errors: one line, exit 2 ----------------------------------
out=$("$SIDECAR" health --kubeconfig "$TEST_TMP/nonexistent" 2>&1); rc=$?
is "$rc/$(printf '%s\n' "$out" | grep -c .)" "2/1" "a missing kubeconfig: exit 2, one line"
is "$out" "error: stat $TEST_TMP/nonexistent: no such file or directory" "worded as kubectl words it"
out=$("$SIDECAR" health --context nope 2>&1); rc=$?
is "$rc/$out" "2/Error in configuration: context was not found for specified context: nope" \
        "an unknown context: exit 2, kubectl's words"
out=$("$SIDECAR" health --resync=soon 2>&1); rc=$?
is "$rc/$out" '2/error: invalid argument "soon" for "--resync": want a duration such as 500ms or 2s' "a bad duration: exit 2"
out=$("$SIDECAR" health -A -n team-a 2>&1); rc=$?
is "$rc" 2 "-A with -n: exit 2"
ok "--help prints the usage" bash -c "'$SIDECAR' health --help | grep -q 'kstatus-sidecar health \[options\]'"
like "$("$SIDECAR" --help)" 'kstatus-sidecar health \[options\]' "the sidecar's usage names the health mode"

done_testing
