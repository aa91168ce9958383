#!/usr/bin/env bash
# bench/health.sh - the health controller (`kstatus-sidecar health`) at scale:
# 100 Databases × 10 HealthRecords each. Prints how long after launch the last
# of the 100 resources was written on a first start (from the test API
# server's access log), and, on a restart over the up-to-date cluster, how
# soon it watches and which requests it makes (no writes expected). Measures
# the release configuration (KSTATUS_BENCH_OPTIONS). Not a test.
#
#   bench/health.sh [RESOURCES] [RECORDS_PER_RESOURCE]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_prepare jq curl

resources=${1:-100}
records=${2:-10}
. "$root/tests/integration/lib.sh"
. "$root/tests/integration/lib-apiserver.sh"
. "$root/tests/integration/lib-sidecar.sh"
. "$root/tests/integration/health-lib.sh"
exec 3>&1 1>/dev/null # lib.sh's TAP output is not wanted here
set +e                 # the test library is written for scripts without it

access=$TEST_TMP/access.log
start_apiserver --access-log "$access" || die "the test API server did not start"
apiserver_install_crds
health_setup
for ((i = 1; i <= resources; i++)); do
        printf -- '---\napiVersion: example.promise.syntasso.io/v1\nkind: Database\nmetadata: {name: h%04d, namespace: default}\nspec: {}\n' "$i"
        for ((j = 1; j <= records; j++)); do hr_yaml "h$i-r$j" default "$(printf 'h%04d' "$i")" default healthy "$j"; done
done >"$TEST_TMP/objects.yaml"
kubectl apply -f "$TEST_TMP/objects.yaml" >/dev/null

# Distinct bench resources whose status was written, and the stamp (µs) of the last write.
written() { awk '$2 == "PATCH" && $4 == 200 && $3 ~ /\/databases\/h[0-9]+\/status/ { n[$3] = 1 } END { print length(n) }' "$access"; }
last_write() { awk '$2 == "PATCH" && $4 == 200 && $3 ~ /\/databases\/h[0-9]+\/status/ { t = $1 } END { sub(/\./, "", t); print t }' "$access"; }

t0=${EPOCHREALTIME/./}
# shellcheck disable=SC2119 # start_health's arguments are extra flags; none here
start_health || die "the health controller did not start"
for ((i = 0; i < 600; i++)); do [ "$(written)" -ge "$resources" ] && break; sleep 0.1; done
n=$(written)
first_ms=$(( ($(last_write) - t0) / 1000 ))
sleep 1 # a measuring window: any write after the last resource's is counted too
patches=$(grep -c ' PATCH ' "$access")
stop_health TERM

before=$(wc -l <"$access")
t0=${EPOCHREALTIME/./}
# shellcheck disable=SC2119 # as above
start_health || die "the health controller did not restart"
watch_ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
sleep 2 # a measuring window: the requests of its first 2 s watching (no writes expected)
requests=$(tail -n +"$((before + 1))" "$access" | awk '{ c[$2]++ } END { for (m in c) printf "%s%d %s", sep, c[m], m; sep = ", " }')
stop_health TERM

exec 1>&3
echo "health controller, $resources resources x $records HealthRecords ($((resources * records)) records)"
echo "first start: $n of $resources resources written, the last $first_ms ms after launch; $patches PATCH requests"
echo "restart over the up-to-date cluster: watching within $watch_ms ms (checked every 50 ms); requests in the next 2 s: ${requests:-none}"
