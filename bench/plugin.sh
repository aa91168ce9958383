#!/usr/bin/env bash
# bench/plugin.sh - kubectl kstatus describe/get against kubectl describe and
# kubectl get -o yaml, in the same run, on the same test API server, both
# through kubectl's plugin discovery, discovery caches warm. Prints median wall
# time and peak RSS (GNU time's %M, the largest of the runs) and the ratios.
# Not a test: nothing fails on noise.
#
#   bench/plugin.sh [RUNS] [OBJECTS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib/common.sh"
ensure_packages "${KSTATUS_BUILD_PACKAGES[@]}" jq curl time
ensure_kubectl
build=${KSTATUS_BENCH_BUILD_DIR:-$root/build}
build_dir "$build"

runs=${1:-20}
objects=${2:-1000}
export KSTATUS_BUILD_DIR=$build KSTATUS_SOURCE_DIR=$root KSTATUS_TEST_DATA=$root/tests/data
. "$root/tests/integration/lib.sh"
. "$root/tests/integration/lib-apiserver.sh"
. "$root/tests/integration/lib-plugin.sh"
exec 3>&1 1>/dev/null # lib.sh's TAP output is not wanted here
unset KSTATUS_NOW

start_apiserver
apiserver_install_crds
plugin_fixture
unset KSTATUS_NOW
for i in $(seq 1 "$objects"); do
        [ "$i" = 1 ] || echo next
        printf 'url = "%s/apis/example.promise.syntasso.io/v1/namespaces/default/databases"\n' "$APISERVER_URL"
        printf 'header = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\n' "$APISERVER_TOKEN"
        printf 'cacert = "%s"\nsilent\noutput = "/dev/null"\n' "$APISERVER_CA"
        printf 'data = "{\\"apiVersion\\":\\"example.promise.syntasso.io/v1\\",\\"kind\\":\\"Database\\",\\"metadata\\":{\\"name\\":\\"bulk-%05d\\"},\\"spec\\":{},\\"status\\":{\\"message\\":\\"Resource requested\\"}}"\n' "$i"
done >"$TEST_TMP/bulk.cfg"
curl -K "$TEST_TMP/bulk.cfg"

# measure NAME CMD... → "median_ms peak_rss_kib requests_per_run"
measure() {
        local i t0 t1 rss peak=0 times=() reqs
        "$@" >/dev/null 2>&1 # warm the discovery cache
        apiserver_reset_counters
        for i in $(seq 1 "$runs"); do
                t0=$(date +%s%N)
                /usr/bin/time -f %M -o "$TEST_TMP/rss" "$@" >/dev/null 2>&1
                t1=$(date +%s%N)
                times+=($(((t1 - t0) / 1000)))
                rss=$(tail -n 1 "$TEST_TMP/rss")
                [ "$rss" -gt "$peak" ] && peak=$rss
        done
        reqs=$(apiserver_counters | jq -r .total)
        printf '%s %s %s\n' "$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1000 }')" \
                "$peak" "$(awk -v r="$reqs" -v n="$runs" 'BEGIN { printf "%.1f", r / n }')"
}

read -r d_ms d_rss d_req < <(measure kubectl kstatus describe database/example)
read -r dd_ms dd_rss dd_req < <(measure kubectl-kstatus describe database/example)
read -r kd_ms kd_rss kd_req < <(measure kubectl describe database/example)
read -r g_ms g_rss g_req < <(measure kubectl kstatus get databases)
read -r gd_ms gd_rss gd_req < <(measure kubectl-kstatus get databases)
read -r kg_ms kg_rss kg_req < <(measure kubectl get databases -o yaml)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == 0) print "inf"; else printf "%.1fx", b / a }'; }
exec 1>&3
printf '%-44s %12s %12s %8s\n' "metric ($runs runs, median; $((objects + 1)) Databases)" kstatus kubectl ratio
printf '%-44s %12s %12s %8s\n' "describe one: wall time (ms)" "$d_ms" "$kd_ms" "$(ratio "$d_ms" "$kd_ms")"
printf '%-44s %12s %12s %8s\n' "describe one: peak RSS (KiB)" "$d_rss" "$kd_rss" "$(ratio "$d_rss" "$kd_rss")"
printf '%-44s %12s %12s %8s\n' "describe one, binary run directly: wall (ms)" "$dd_ms" "$kd_ms" "$(ratio "$dd_ms" "$kd_ms")"
printf '%-44s %12s %12s %8s\n' "describe one, binary run directly: RSS (KiB)" "$dd_rss" "$kd_rss" "$(ratio "$dd_rss" "$kd_rss")"
printf '%-44s %12s %12s %8s\n' "describe one: API requests per run" "$d_req" "$kd_req" "$(ratio "$d_req" "$kd_req")"
printf '%-44s %12s %12s %8s\n' "get all vs get -o yaml: wall time (ms)" "$g_ms" "$kg_ms" "$(ratio "$g_ms" "$kg_ms")"
printf '%-44s %12s %12s %8s\n' "get all vs get -o yaml: peak RSS (KiB)" "$g_rss" "$kg_rss" "$(ratio "$g_rss" "$kg_rss")"
printf '%-44s %12s %12s %8s\n' "get all, binary run directly: wall (ms)" "$gd_ms" "$kg_ms" "$(ratio "$gd_ms" "$kg_ms")"
printf '%-44s %12s %12s %8s\n' "get all, binary run directly: RSS (KiB)" "$gd_rss" "$kg_rss" "$(ratio "$gd_rss" "$kg_rss")"
printf '%-44s %12s %12s %8s\n' "get all vs get -o yaml: API requests per run" "$g_req" "$kg_req" "$(ratio "$g_req" "$kg_req")"
echo "(\"kstatus\" rows run \`kubectl kstatus …\`: kubectl starts, finds the plugin and execs it, so they include"
echo " kubectl's own start-up; \"binary run directly\" rows run kubectl-kstatus itself. Requests are the same.)"
