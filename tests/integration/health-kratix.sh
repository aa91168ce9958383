#!/usr/bin/env bash
# kstatus-sidecar health beside Kratix's own HealthRecord controller: a loop
# plays that controller (GET the resource, project every record naming it into
# status.healthStatus as Kratix's getHealthDataAndStates does, PUT the whole
# status with the resourceVersion it read, again on a 409) while kstatus's
# controller runs in its default mode. Nothing alternates: the access log shows
# one kstatus PATCH per change of the newest record, one stand-in PUT per change
# of the aggregate, and no writes at all once the records stop changing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-sidecar.sh"
. "$(dirname "$0")/health-lib.sh"

ACCESS=$TEST_TMP/access.log
start_apiserver --access-log "$ACCESS"
apiserver_install_crds
health_setup
DB=/apis/example.promise.syntasso.io/v1/namespaces/default/databases/db-a
RECORDS=/apis/platform.kratix.io/v1alpha1/healthrecords

# Kratix's projection, written here from its code, not from kstatus's: records
# whose resourceRef name and namespace are the resource's, in the API server's
# list order, lastRun 0 when unset, the least desirable state (ready for none).
kratix_health_status() { # records-list-json
        jq -c '{"unhealthy":1,"degraded":2,"unknown":3,"healthy":4,"ready":5} as $rank
                | [.items[] | select(.data.resourceRef.name == "db-a" and (.data.resourceRef.namespace // "") == "default")]
                | sort_by(.metadata.namespace + "/" + .metadata.name)
                | {state: (map(.data.state) + ["ready"] | min_by($rank[.])),
                   healthRecords: map({state: .data.state, lastRun: (.data.lastRun // 0),
                                       source: {name: .metadata.name, namespace: .metadata.namespace}}
                                      + (if .data.details then {details: .data.details} else {} end))}'
}

# One reconcile of the stand-in: write healthStatus when it differs (Kratix
# reconciles on every change of a record, so never before the first one; a
# no-op write here would only add noise). A 409 is retried by the next round,
# as Kratix requeues a conflict.
kratix_reconcile() {
        local obj list want
        obj=$(apiserver_curl -f "$DB") || return 0
        list=$(apiserver_curl -f "$RECORDS") || return 0
        [ "$(jq '.items | length' <<<"$list")" = 0 ] && return 0
        want=$(kratix_health_status <<<"$list")
        [ "$(jq -S -c '.status.healthStatus' <<<"$obj")" = "$(jq -S -c . <<<"$want")" ] && return 0
        jq -c --argjson hs "$want" '.status.healthStatus = $hs' <<<"$obj" |
                apiserver_curl -o /dev/null -w '%{http_code}\n' -X PUT -H 'Content-Type: application/json' \
                        --data-binary @- "$DB/status" >>"$TEST_TMP/kratix-puts"
}
: >"$TEST_TMP/kratix-puts"
# Each round of the stand-in (one every 50 ms) leaves a line in kratix-rounds.
( while [ ! -e "$TEST_TMP/stop-kratix" ]; do kratix_reconcile; echo round >>"$TEST_TMP/kratix-rounds"; sleep 0.05; done ) &
KRATIX_LOOP=$!
at_exit "touch '$TEST_TMP/stop-kratix'; kill $KRATIX_LOOP 2>/dev/null"

start_health --resync=1s
writes() { # METHOD: answered writes of db-a's status in the access log
        awk -v m="$1" -v p="$DB/status" '$2 == m && ($3 == p || index($3, p "?") == 1) && $4 < 300' "$ACCESS" | wc -l
}
# wait_rounds DESCRIPTION N: until the stand-in has run N whole rounds from now.
wait_rounds() {
        local want=$(($(grep -c . "$TEST_TMP/kratix-rounds" 2>/dev/null) + $2 + 1))
        wait_for "$1" bash -c "[ \$(grep -c . '$TEST_TMP/kratix-rounds') -ge $want ]"
}
# shellcheck disable=SC2317 # called by name (poll, wait_for, wait_until)
both_forms() { kubectl get db db-a -o json | jq -c '[.status.healthStatus.state, (.status.healthStatus.healthRecords | length), .status.healthRecord.state]'; }

hr k1 default db-a default healthy 10
wait_until "one record: Kratix's healthStatus and kstatus's healthRecord" '["healthy",1,"healthy"]' both_forms
hr k2 default db-a default degraded 20
wait_until "a newer degraded record" '["degraded",2,"degraded"]' both_forms
hr k1 default db-a default unhealthy 30
wait_until "the older record turns unhealthy and newest" '["unhealthy",2,"unhealthy"]' both_forms
hr k2 default db-a default degraded 5 # older now, same state: neither form's state moves
wait_until "a record moved back in time" 1 bash -c "kubectl get db db-a -o json | jq '[.status.healthStatus.healthRecords[] | select(.lastRun == 5)] | length'"

# Let both writers settle (a whole resync of kstatus's, then two rounds of the
# stand-in's to answer it), then watch two more resyncs and the stand-in's
# answer to them: nobody writes.
wait_resyncs "kstatus's controller has seen the last change" 1
wait_rounds "and the stand-in has answered it" 2
patches=$(writes PATCH) puts=$(writes PUT)
wait_resyncs "two resyncs pass" 2
wait_rounds "and the stand-in has answered them" 2
is "$(writes PATCH)/$(writes PUT)" "$patches/$puts" "settled: neither writer writes again (nothing alternates)"
is "$patches" 3 "kstatus wrote healthRecord once per change of the newest record (healthy, degraded, unhealthy)"
is "$puts" 4 "the stand-in wrote healthStatus once per change of its projection"
# Two controllers writing one object's status with resourceVersions can meet
# in a 409 (Kratix's controller requeues it); what matters is that each lands.
is "$(grep -vc '^\(200\|409\)$' "$TEST_TMP/kratix-puts")" 0 "every stand-in PUT landed or met a 409 it retried"
echo "# stand-in PUTs: $(grep -c . "$TEST_TMP/kratix-puts"), 409s among them: $(grep -c '^409$' "$TEST_TMP/kratix-puts")"
is "$(kubectl get db db-a -o json | jq -S -c .status.healthStatus)" "$(apiserver_curl -f "$RECORDS" | kratix_health_status | jq -S -c .)" \
        "healthStatus is exactly Kratix's projection"
is "$(kubectl get db db-a -o json | jq -c .status.healthRecord)" '{"details":{"record":"k1"},"lastRun":30,"state":"unhealthy"}' \
        "healthRecord is the newest record"
is "$(health_events Database default db-a)" "" "kstatus posted no health Events beside Kratix's"
touch "$TEST_TMP/stop-kratix"
wait "$KRATIX_LOOP"
stop_health TERM
is "$HEALTH_RC" 0 "the controller exits 0"
done_testing
