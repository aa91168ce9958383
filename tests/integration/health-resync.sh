#!/usr/bin/env bash
# kstatus-sidecar health when things go wrong: a watch cut mid-stream, a
# watch too old to resume (410 Gone), the controller restarted with records
# changed while it was down, a restart over an up-to-date cluster (zero
# writes), failing and conflicting writes, another writer clobbering health.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-sidecar.sh"
. "$(dirname "$0")/health-lib.sh"

# A short event history so that a watch falls out of it (410 Gone).
start_apiserver --watch-history 10
apiserver_install_crds
health_setup
start_health --health-status

hr r1 default db-a default healthy 10
hr r2 default db-b default degraded 10
hr t1 team-a db-a team-a unhealthy 10
wait_until "start: default/db-a" "healthy/1/healthy" health_of db default db-a
wait_until "start: default/db-b" "degraded/1/degraded" health_of db default db-b
wait_until "start: team-a/db-a" "unhealthy/1/unhealthy" health_of db team-a db-a

# --- a watch cut mid-stream resumes from its resourceVersion --------------
apiserver_outage 1
wait_apiserver_back "the server is back after a 1 s outage"
hr r1 default db-a default unhealthy 20
kubectl delete healthrecord r2 >/dev/null
hr r3 default db-b default ready 20
wait_until "after a cut watch: an update arrives" "unhealthy/1/unhealthy" health_of db default db-a
wait_until "after a cut watch: a delete and an add arrive" "ready/1/ready" health_of db default db-b
is "$(grep -c 'relisted' "$HEALTH_LOG")" 0 "the watch resumed (no relist was needed)"

# --- 410 Gone: the resumed watch is too old; relist, and deletions count ------
# Hold the controller's next watch request for 4 s, cut the current stream,
# and make more changes than the server's history keeps meanwhile.
apiserver_fault '{"verb":"GET","path":"/apis/platform.kratix.io/v1alpha1/healthrecords","latencyMs":4000,"count":1}'
apiserver_outage 1
wait_apiserver_back "the server is back after another outage"
{
        for i in $(seq 1 12); do hr_yaml "burst-$i" team-a db-a team-a healthy "$((100 + i))"; done
        hr_yaml r1 default db-a default degraded 30
} | kubectl apply -f - >/dev/null
kubectl delete healthrecord r3 >/dev/null
kubectl delete healthrecord -n team-a t1 >/dev/null
wait_for "the controller relisted after 410 Gone" grep -q 'relisted' "$HEALTH_LOG"
wait_until "after the relist: an update made in the gap" "degraded/1/degraded" health_of db default db-a
wait_until "after the relist: a record deleted in the gap" "ready/0/-" health_of db default db-b
wait_until "after the relist: 12 records added and one deleted in the gap" "healthy/12/healthy" health_of db team-a db-a
apiserver_clear_faults

# --- restart with changes made while it was down ----------------------------
stop_health TERM
is "$HEALTH_RC" 0 "stopped with SIGTERM: exit 0"
kubectl delete healthrecord r1 >/dev/null         # default/db-a loses its only record
hr r4 default db-b default unknown 40             # default/db-b gains one
kubectl delete healthrecord -n team-a burst-1 burst-2 >/dev/null
hr burst-3 team-a db-a team-a unhealthy 200       # team-a/db-a changes
start_health --health-status
wait_until "restart: a record deleted while down is gone from the resource" "ready/0/-" health_of db default db-a
wait_until "restart: a record added while down is shown" "unknown/1/unknown" health_of db default db-b
wait_until "restart: updates and deletions while down" "unhealthy/10/unhealthy" health_of db team-a db-a

# --- a restart over an up-to-date cluster writes nothing -------------------
stop_health TERM
apiserver_reset_counters
start_health --health-status
# start_health returned on "watching healthrecords", logged once the first
# pass over every record and resource is done: any write it made is counted.
counters=$(apiserver_counters)
is "$(jq '.byVerb.PATCH // 0' <<<"$counters")" 0 "a restart over an up-to-date cluster makes zero PATCH requests"
is "$(jq '.byVerb.POST // 0' <<<"$counters")" 0 "and records no Event"
echo "# restart requests: $(jq -c '.byVerb' <<<"$counters")"
hr r4 default db-b default healthy 41
wait_until "and it still follows changes" "healthy/1/healthy" health_of db default db-b
apiserver_reset_counters
hr r4 default db-b default healthy 42
wait_until "a new lastRun lands" 42 kubectl get db db-b -o jsonpath='{.status.healthRecord.lastRun}'
is "$(apiserver_count PATCH /apis/example.promise.syntasso.io/v1/namespaces/default/databases/db-b/status)" 1 \
        "one change, one PATCH"
stop_health TERM

# --- failing and conflicting writes ------------------------------------------
start_health --health-status --deadline=1s --resync=1s
status=/apis/example.promise.syntasso.io/v1/namespaces/default/databases/db-b/status
apiserver_fault "{\"verb\":\"PATCH\",\"path\":\"$status\",\"code\":503,\"count\":2}"
hr r4 default db-b default degraded 50
wait_until "two 503s on the write: retried, lands" "degraded/1/degraded" health_of db default db-b
apiserver_fault "{\"verb\":\"PATCH\",\"path\":\"$status\",\"code\":409,\"count\":2}"
hr r4 default db-b default unhealthy 51
wait_until "two 409s on the write: re-read, recomputed, lands" "unhealthy/1/unhealthy" health_of db default db-b
apiserver_fault "{\"verb\":\"PATCH\",\"path\":\"$status\",\"code\":500,\"count\":1000}"
hr r4 default db-b default healthy 52
wait_for "a write failing past its deadline is logged" grep -q 'cannot write health of databases.example.promise.syntasso.io "default/db-b"' "$HEALTH_LOG"
apiserver_clear_faults
wait_until "and retried later until it lands" "healthy/1/healthy" health_of db default db-b
apiserver_outage 2
wait_apiserver_back "the server is back after a 2 s outage"
hr r4 default db-b default degraded 53
wait_until "after an outage the controller carries on" "degraded/1/degraded" health_of db default db-b

# --- another writer clobbers health: the resync puts it back ----------------
kubectl patch db db-b --subresource=status --type merge \
        -p '{"status":{"healthStatus":{"state":"ready","healthRecords":[]},"healthRecord":null,"message":"mine"}}' >/dev/null
wait_until "a clobbered healthStatus is restored by the resync" "degraded/1/degraded" health_of db default db-b
is "$(kubectl get db db-b -o jsonpath='{.status.message}')" "mine" "the other writer's keys are left alone"
kubectl patch db db-b --subresource=status --type merge -p '{"status":{"healthStatus":{"expectedPromiseVersion":"v2"}}}' >/dev/null
wait_resyncs "a whole resync has looked at it since" 1
is "$(kubectl get db db-b -o json | jq -c '.status.healthStatus | {state, expectedPromiseVersion}')" \
        '{"state":"degraded","expectedPromiseVersion":"v2"}' "other keys under healthStatus are kept"
stop_health TERM
is "$HEALTH_RC" 0 "exit 0 at the end"
ok "no error lines in the whole run" bash -c "! grep -q ' error ' '$HEALTH_LOG'"

done_testing
