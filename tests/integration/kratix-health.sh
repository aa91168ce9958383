#!/usr/bin/env bash
# `kstatus-sidecar health` beside Kratix's own HealthRecord controller (the
# stand-in's): Kratix writes status.healthStatus, kstatus writes only
# status.healthRecord by default, and no value goes back and forth between them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-sidecar.sh"
. "$(dirname "$0")/health-lib.sh"
. "$(dirname "$0")/lib-kratix.sh"

start_apiserver
apiserver_install_crds
health_setup
export KX_DIR=$TEST_TMP/kratix
kx_init
at_exit 'kx_health_controller_stop'
kubectl get database db-a -n default -w -o json >"$TEST_TMP/versions.json" 2>/dev/null &
at_exit "kill $! 2>/dev/null"

kx_health_controller_start
start_health
# shellcheck disable=SC2317 # called by name (poll, wait_for, wait_until)
reconciled() { grep -c "reconciled default/$1" "$KX_DIR/health.log" 2>/dev/null || echo 0; }

hr rec-1 default db-a default healthy 100
wait_until "Kratix's controller projects the first record" healthy/1/- \
        bash -c "kubectl get database db-a -o json | jq -r '.status | \"\(.healthStatus.state)/\(.healthStatus.healthRecords | length)/-\"'"
wait_until "kstatus reflects it as healthRecord" healthy \
        kubectl get database db-a -o jsonpath='{.status.healthRecord.state}'
hr rec-2 default db-a default degraded 200
wait_until "Kratix: the least desirable state" degraded/2 \
        bash -c "kubectl get database db-a -o json | jq -r '.status.healthStatus | \"\(.state)/\(.healthRecords | length)\"'"
wait_until "kstatus: the newest record" degraded kubectl get database db-a -o jsonpath='{.status.healthRecord.state}'
hr rec-1 default db-a default unhealthy 300
wait_until "Kratix: unhealthy now" unhealthy kubectl get database db-a -o jsonpath='{.status.healthStatus.state}'
wait_until "kstatus: the newest record is rec-1's" unhealthy kubectl get database db-a -o jsonpath='{.status.healthRecord.state}'
hr rec-1 default db-a default healthy 400
wait_until "Kratix: degraded (rec-2)" degraded kubectl get database db-a -o jsonpath='{.status.healthStatus.state}'
wait_until "kstatus: healthy (rec-1 is newest)" healthy kubectl get database db-a -o jsonpath='{.status.healthRecord.state}'

# Both writers are idle: the status holds still.
rv=$(kubectl get database db-a -o jsonpath='{.metadata.resourceVersion}')
hr rec-9 default db-b default ready 1
wait_until "an unrelated record is processed by both" ready kubectl get database db-b -o jsonpath='{.status.healthRecord.state}'
is "$(kubectl get database db-a -o jsonpath='{.metadata.resourceVersion}')" "$rv" \
        "a record for another resource makes neither writer touch db-a"

report=$({ cat "$TEST_TMP/versions.json"
           awk '$5 != "-" { print $5 }' "$KX_DIR/writes.log" | jq -Rsc '{kratix_rvs: (split("\n") | map(select(. != "")))}'
         } | jq -nc -f "$KSTATUS_SOURCE_DIR/tests/kratix/writers.jq")
is "$(jq -c '[.kstatus_kratix_key_changes[] | select(.[0] == "healthStatus")]' <<<"$report")" "[]" \
        "kstatus never wrote healthStatus (Kratix's controller owns it)"
is "$(jq -c .change_backs <<<"$report")" "[]" "no value went back and forth between the two controllers"
echo "# writers on db-a: $(jq -c '{versions, kstatus_writes, kratix_writes}' <<<"$report")"
ok "kstatus wrote healthRecord once per change of the newest record (4), no more" \
        test "$(jq .kstatus_writes <<<"$report")" -le 4
kstatus_events=$(kubectl get events --field-selector involvedObject.name=db-a -o json |
        jq '[.items[] | select(.source.component == "kstatus-sidecar" or .reportingComponent == "kstatus-sidecar")] | length')
kratix_events=$(kubectl get events --field-selector involvedObject.name=db-a -o json |
        jq '[.items[] | select(.source.component == "kratix-platform-controller-manager")] | length')
ok "Kratix's controller emitted its HealthRecord Events" test "$kratix_events" -ge 1
echo "# events on db-a: kratix $kratix_events, kstatus $kstatus_events"
done_testing
