#!/usr/bin/env bash
# kstatus-sidecar health with --leader-elect: two and three replicas against
# one test API server. Exactly one writes (its log names its identity, the
# Lease names the same, and the server's PATCH count is its writes); a leader
# killed with SIGKILL is replaced once the Lease expires; one stopped
# (SIGSTOP) past the lease duration stops writing when it wakes; one whose
# renewals fail stops writing within the renew deadline; SIGTERM releases the
# Lease so that another takes over at once; across each hand-over every
# change is written exactly once (counted at the server). Also the Lease API
# of the test server as real kubectl sees it: AlreadyExists, Conflict.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-sidecar.sh"
. "$(dirname "$0")/health-lib.sh"

LEASE_S=3 # seconds; renew deadline 2 s, retry period 500 ms (client-go's ratios, shorter)
LE=(--leader-elect --leader-elect-lease-duration="${LEASE_S}s" --leader-elect-renew-deadline=2s
        --leader-elect-retry-period=500ms)
LEASE=/apis/coordination.k8s.io/v1/namespaces/default/leases/kstatus-health
STATUS=/apis/example.promise.syntasso.io/v1/namespaces/default/databases

start_apiserver
apiserver_install_crds
health_setup
for i in 1 2 3 4 5 6; do
        printf -- '---\napiVersion: example.promise.syntasso.io/v1\nkind: Database\nmetadata: {name: ha-%s}\nspec: {size: small}\n' "$i"
done | kubectl apply -f - >/dev/null

# --- the test server's Leases, as real kubectl sees them ---------------------
lease_yaml() { printf 'apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: probe%s}\nspec: {holderIdentity: %s}\n' "$1" "$2"; }
lease_yaml "" one | kubectl create -f - >/dev/null
out=$(lease_yaml "" two | kubectl create -f - 2>&1)
is "$out" 'Error from server (AlreadyExists): error when creating "STDIN": leases.coordination.k8s.io "probe" already exists' \
        "creating a Lease that exists: 409 AlreadyExists in kube's words"
stale=$(kubectl get lease probe -o json)
kubectl get lease probe -o json | jq '.spec.holderIdentity = "two"' | kubectl replace -f - >/dev/null
out=$(jq '.spec.holderIdentity = "three"' <<<"$stale" | kubectl replace -f - 2>&1)
is "$out" 'Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on leases.coordination.k8s.io "probe": the object has been modified; please apply your changes to the latest version and try again' \
        "replacing a Lease from a stale resourceVersion: 409 Conflict in kube's words"
is "$(kubectl get lease probe -o jsonpath='{.spec.holderIdentity}')" two "and the stale write changed nothing"
kubectl get lease probe -o json | jq 'del(.metadata.resourceVersion)' >"$TEST_TMP/norv.json"
code=$(apiserver_curl -o "$TEST_TMP/body.json" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
        --data @"$TEST_TMP/norv.json" /apis/coordination.k8s.io/v1/namespaces/default/leases/probe)
is "$code $(jq -r .message "$TEST_TMP/body.json")" \
        '422 Lease.coordination.k8s.io "probe" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update' \
        "a Lease PUT without a resourceVersion: 422, as kube's lease strategy allows no unconditional update"
kubectl delete lease probe >/dev/null

# --- replicas -----------------------------------------------------------------
declare -A PID
start_replica() { # NAME [flags]
        local name=$1; shift
        ${HEALTH_WRAPPER:-} "$SIDECAR" health "${LE[@]}" "$@" >>"$TEST_TMP/$name.log" 2>&1 &
        PID[$name]=$!
        at_exit "kill -9 ${PID[$name]} 2>/dev/null"
        poll 10 grep -q 'attempting to acquire lease' "$TEST_TMP/$name.log"
}
identity() { sed -n 's/.* leader: \([^ ]*\) attempting to acquire lease.*/\1/p' "$TEST_TMP/$1.log"; }
holder() { kubectl get lease kstatus-health -o jsonpath='{.spec.holderIdentity}'; }
# leader A B…: the replica the Lease names, among those given.
leader() {
        local h n
        h=$(holder)
        for n in "$@"; do [ -n "$h" ] && [ "$(identity "$n")" = "$h" ] && { echo "$n"; return; }; done
        echo none
}
writes() { grep -c ' write: ' "$TEST_TMP/$1.log"; }
acquired() { grep -c 'acquired lease' "$TEST_TMP/$1.log"; }
# patches: status writes the server received (PATCH …/databases/NAME/status).
patches() {
        apiserver_counters | jq --arg p "PATCH $STATUS/" \
                '[.requests | to_entries[] | select((.key | startswith($p)) and (.key | endswith("/status"))) | .value] | add // 0'
}
# shellcheck disable=SC2317 # called by wait_until
state_of() { kubectl get db "$1" -o jsonpath='{.status.healthRecord.state}'; }
ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

start_replica a
start_replica b
wait_for "two replicas: one acquires the Lease" bash -c "[ \$(( \$(grep -c 'acquired lease' '$TEST_TMP/a.log') + \$(grep -c 'acquired lease' '$TEST_TMP/b.log') )) -ge 1 ]"
first=$(leader a b)
other=$([ "$first" = a ] && echo b || echo a)
like "$first" '^[ab]$' "the Lease names the replica whose log says it acquired it ($first)"
is "$(acquired "$other")" 0 "the other replica did not acquire it"
is "$(kubectl get lease kstatus-health -o jsonpath='{.spec.leaseDurationSeconds}/{.spec.leaseTransitions}')" "$LEASE_S/0" \
        "the Lease: leaseDurationSeconds from the flag, no transitions yet"
like "$(kubectl get lease kstatus-health -o jsonpath='{.spec.renewTime}')" '^[0-9-]+T[0-9:]+\.[0-9]{6}Z$' \
        "renewTime is a MicroTime"
r1=$(kubectl get lease kstatus-health -o jsonpath='{.metadata.resourceVersion}')
wait_for "the leader renews (the Lease's resourceVersion moves)" \
        bash -c "[ \"\$(kubectl get lease kstatus-health -o jsonpath='{.metadata.resourceVersion}')\" != $r1 ]"

apiserver_reset_counters
for i in 1 2 3; do hr "ha-r$i" default "ha-$i" default healthy "$i"; done
for i in 1 2 3; do wait_until "two replicas: ha-$i shows its record" healthy state_of "ha-$i"; done
is "$(patches)" 3 "three changes, three PATCH requests at the server"
is "$(writes "$first")/$(writes "$other")" "3/0" "all three by the leader, none by the other"

# --- SIGKILL: the other takes over once the Lease expires ---------------------
apiserver_reset_counters
t0=$(ms)
kill -KILL "${PID[$first]}"
wait "${PID[$first]}" 2>/dev/null
for i in 1 2; do hr "ha-r$i" default "ha-$i" default degraded "1$i"; done
wait_for "a killed leader is replaced" grep -q 'acquired lease' "$TEST_TMP/$other.log"
took=$(($(ms) - t0))
echo "# killed leader replaced after ${took} ms (lease ${LEASE_S} s, candidates retry every 0.5-1.1 s)"
ok "within the lease duration and two jittered retry periods (${took} ms)" test "$took" -le $((LEASE_S * 1000 + 2200))
for i in 1 2; do wait_until "after SIGKILL: the change to ha-$i made with no leader is written" degraded state_of "ha-$i"; done
is "$(patches)" 2 "after SIGKILL: two changes, two PATCH requests (none lost, none doubled)"
is "$(holder)" "$(identity "$other")" "the Lease names the new leader"
is "$(kubectl get lease kstatus-health -o jsonpath='{.spec.leaseTransitions}')" 1 "leaseTransitions counts the take-over"

# --- three replicas; the leader is SIGSTOPped past the lease duration ---------
start_replica c
start_replica d
lead=$other
apiserver_reset_counters
kill -STOP "${PID[$lead]}"
wait_for "a stopped leader is replaced" bash -c "[ \$(( \$(grep -c 'acquired lease' '$TEST_TMP/c.log') + \$(grep -c 'acquired lease' '$TEST_TMP/d.log') )) -ge 1 ]"
is "$(acquired c)$(acquired d)" "$([ "$(leader c d)" = c ] && echo 10 || echo 01)" "exactly one of the two candidates acquired it"
next=$(leader c d)
w_lead=$(writes "$lead")
hr ha-r3 default ha-3 default unhealthy 13
wait_until "three replicas: the new leader writes a change" unhealthy state_of ha-3
kill -CONT "${PID[$lead]}"
wait_for "the old leader wakes, finds another holder and stops writing" grep -q 'lost lease' "$TEST_TMP/$lead.log"
hr ha-r4 default ha-4 default ready 14
wait_until "and a change after it woke is written" ready state_of ha-4
is "$(writes "$lead")" "$w_lead" "the woken old leader wrote nothing"
is "$(patches)" 2 "two changes across that hand-over, two PATCH requests"
is "$(holder)" "$(identity "$next")" "the Lease still names the new leader"

# --- renewals fail: the leader stops writing within the renew deadline --------
apiserver_fault "{\"path\":\"$LEASE\",\"code\":503}"
t0=$(ms)
wait_for "a leader that cannot renew says so" grep -q 'lost lease.*renew deadline' "$TEST_TMP/$next.log"
took=$(($(ms) - t0))
echo "# leader stopped writing ${took} ms after its renewals began to fail (renew deadline 2 s)"
ok "before the lease duration ran out (${took} ms)" test "$took" -lt $((LEASE_S * 1000))
apiserver_reset_counters
tries() { grep -c 'cannot acquire lease' "$TEST_TMP/$1.log"; }
declare -A tried
for n in c d "$lead"; do tried[$n]=$(tries "$n"); done
hr ha-r1 default ha-1 default unknown 21
# Every replica has tried (and failed) twice since the change: none wrote it.
for n in c d "$lead"; do
        wait_for "replica $n tried twice more to acquire the Lease" bash -c "[ \$(grep -c 'cannot acquire lease' '$TEST_TMP/$n.log') -ge $((tried[$n] + 2)) ]"
done
is "$(patches)" 0 "with nobody holding the Lease nothing is written"
apiserver_clear_faults
wait_until "once the Lease can be taken again the change is written" unknown state_of ha-1
is "$(patches)" 1 "exactly once"

# --- SIGTERM releases: the next takes over at once -----------------------------
all=(c d "$lead")
cur=$(leader "${all[@]}")
declare -A led
for n in "${all[@]}"; do led[$n]=$(acquired "$n"); done
apiserver_reset_counters
hr ha-r2 default ha-2 default healthy 22
t0=$(ms)
kill -TERM "${PID[$cur]}"
wait "${PID[$cur]}"
is "$?" 0 "the leader exits 0 on SIGTERM"
ok "it released the Lease" grep -q "released lease" "$TEST_TMP/$cur.log"
wait_for "another replica takes over" bash -c "h=\$(kubectl get lease kstatus-health -o jsonpath='{.spec.holderIdentity}'); [ -n \"\$h\" ] && [ \"\$h\" != '$(identity "$cur")' ]"
took=$(($(ms) - t0))
echo "# released Lease taken over after ${took} ms (lease ${LEASE_S} s)"
ok "sooner than the lease duration (${took} ms)" test "$took" -lt $((LEASE_S * 1000))
wait_until "the change made just before SIGTERM is shown" healthy state_of ha-2
hr ha-r3 default ha-3 default healthy 23
wait_until "and the new leader follows changes" healthy state_of ha-3
is "$(patches)" 2 "two changes across the SIGTERM hand-over, two PATCH requests"
now=$(leader "${all[@]}")
others=()
for n in "${all[@]}"; do [ "$n" != "$cur" ] && [ "$n" != "$now" ] && others+=("$n"); done
is "${#others[@]}/$(($(acquired "$now") - led[$now]))/$(($(acquired "${others[0]}") - led[${others[0]}]))" 1/1/0 \
        "of the two left, one acquired the Lease once and the other not at all"

# --- a pass of writes longer than the lease: the leader renews on the way ------
# Six changes at once, each write held 700 ms by the server: 4.2 s of writes,
# more than the 3 s Lease. Renewing only between passes, the leader would let
# it lapse mid-pass and the other would take over while it still wrote.
before=$(acquired "${others[0]}")
apiserver_reset_counters
apiserver_fault "{\"verb\":\"PATCH\",\"path\":\"$STATUS/*/status\",\"latencyMs\":700}"
for i in 1 2 3 4 5 6; do hr_yaml "ha-r$i" default "ha-$i" default degraded "3$i"; done | kubectl apply -f - >/dev/null
for i in 1 2 3 4 5 6; do wait_until "a long pass of writes: ha-$i is written" degraded state_of "ha-$i"; done
apiserver_clear_faults
is "$(patches)" 6 "six changes, six PATCH requests"
is "$(acquired "${others[0]}")" "$before" "the other replica never took over during the pass"
is "$(holder)" "$(identity "$now")" "the leader still holds the Lease"

# --- flags ----------------------------------------------------------------------
fails_with 2 "lease duration not above the renew deadline" "$SIDECAR" health --leader-elect \
        --leader-elect-lease-duration=2s --leader-elect-renew-deadline=2s
fails_with 2 "renew deadline not above 1.2 retry periods" "$SIDECAR" health --leader-elect \
        --leader-elect-renew-deadline=2s --leader-elect-retry-period=2s
is "$("$SIDECAR" health --leader-elect=maybe 2>&1)" \
        'error: invalid argument "maybe" for "--leader-elect" flag: strconv.ParseBool: parsing "maybe": invalid syntax' \
        "--leader-elect takes true or false, in pflag's words"
like "$("$SIDECAR" health --leader-elect=T --leader-elect-lease-duration=1500ms 2>&1)" 'lease-duration must be a whole number' \
        "--leader-elect=T is true, as Go's ParseBool reads it (its timings are checked)"
out=$("$SIDECAR" health --leader-elect=F --leader-elect-lease-duration=1500ms --kubeconfig=/nonexistent 2>&1)
ok "--leader-elect=F is false (its timings are not checked): $out" bash -c "! grep -q lease-duration <<<'$out'"

done_testing
