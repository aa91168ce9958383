#!/usr/bin/env bash
# bench/plugin.sh - kubectl-kstatus against kubectl, in the same run, on the
# same test API server: `describe` of one resource vs `kubectl describe` and
# `kubectl get -o yaml`, and `get -A` of every resource vs `kubectl get -A`,
# with the discovery caches warm and cold (emptied before every run), and
# through kubectl's plugin exec. Prints median wall time, peak RSS (GNU time's
# %M, the largest of the runs), API requests per run and the ratios. Measures
# the release configuration (KSTATUS_BENCH_OPTIONS). Not a test: nothing fails
# on noise.
#
#   bench/plugin.sh [RUNS] [OBJECTS]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_prepare jq curl time

runs=${1:-20}
objects=${2:-1000}
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

# measure [--cold] CMD... → "median_ms peak_rss_kib requests_per_run"
# Warm: the discovery caches (kubectl's and kstatus's, under ~/.kube/cache)
# are filled by a first run; --cold empties them before every run. Wall time
# is taken with bash's $EPOCHREALTIME around the command alone (no date or
# time process inside the window: on a small VM their fork and exec cost
# milliseconds); peak RSS comes from separate runs under GNU time.
measure() {
        local cold='' i t0 t1 rss peak=0 times=() reqs
        [ "$1" = --cold ] && { cold=1; shift; }
        "$@" >/dev/null 2>&1 # warm the discovery caches
        apiserver_reset_counters
        for i in $(seq 1 "$runs"); do
                [ -z "$cold" ] || rm -rf "$HOME/.kube/cache"
                t0=${EPOCHREALTIME/./}
                "$@" >/dev/null 2>&1
                t1=${EPOCHREALTIME/./}
                times+=($((t1 - t0)))
        done
        reqs=$(apiserver_counters | jq -r .total)
        for i in $(seq 1 "$runs"); do
                [ -z "$cold" ] || rm -rf "$HOME/.kube/cache"
                /usr/bin/time -f %M -o "$TEST_TMP/rss" "$@" >/dev/null 2>&1
                rss=$(tail -n 1 "$TEST_TMP/rss")
                [ "$rss" -gt "$peak" ] && peak=$rss
        done
        printf '%s %s %s\n' "$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1000 }')" \
                "$peak" "$(awk -v r="$reqs" -v n="$runs" 'BEGIN { printf "%.1f", r / n }')"
}

# Warm first, then cold, each against its peer measured right after it.
read -r d_ms _ _ < <(measure kubectl kstatus describe database/example)
read -r dd_ms dd_rss dd_req < <(measure kubectl-kstatus describe database/example)
read -r kd_ms kd_rss kd_req < <(measure kubectl describe database/example)
read -r ky_ms ky_rss _ < <(measure kubectl get database/example -o yaml)
read -r cd_ms cd_rss cd_req < <(measure --cold kubectl-kstatus describe database/example)
read -r ckd_ms ckd_rss ckd_req < <(measure --cold kubectl describe database/example)
read -r g_ms _ _ < <(measure kubectl kstatus get databases -A)
read -r gd_ms gd_rss gd_req < <(measure kubectl-kstatus get databases -A)
read -r kg_ms kg_rss kg_req < <(measure kubectl get databases -A)
read -r cg_ms _ _ < <(measure --cold kubectl-kstatus get databases -A)
read -r ckg_ms _ _ < <(measure --cold kubectl get databases -A)

# instructions [--cold] CMD... → millions of instructions the command executes
# (valgrind's callgrind, one run; warm: after a first run filled the caches).
# kubectl is not measured this way: Go programs under valgrind are not reliable.
instructions() {
        local cold=''
        [ "$1" = --cold ] && { cold=1; shift; }
        command -v valgrind >/dev/null || { echo -; return; }
        "$@" >/dev/null 2>&1
        [ -z "$cold" ] || rm -rf "$HOME/.kube/cache"
        valgrind --tool=callgrind --callgrind-out-file="$TEST_TMP/callgrind.out" "$@" >/dev/null 2>&1 || { echo -; return; }
        awk '/^(summary|totals):/ { printf "%.2f\n", $2 / 1e6; exit }' "$TEST_TMP/callgrind.out"
}
di=$(instructions kubectl-kstatus describe database/example)
cdi=$(instructions --cold kubectl-kstatus describe database/example)

row() { printf '%-52s %12s %12s %8s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }
exec 1>&3
printf '%-52s %12s %12s %8s\n' "metric ($runs runs, median; $((objects + 1)) Databases)" kstatus kubectl ratio
row "describe vs describe, warm: wall (ms)" "$dd_ms" "$kd_ms"
row "describe vs describe, warm: peak RSS (KiB)" "$dd_rss" "$kd_rss"
row "describe vs get -o yaml, warm: wall (ms)" "$dd_ms" "$ky_ms"
row "describe vs get -o yaml, warm: peak RSS (KiB)" "$dd_rss" "$ky_rss"
row "describe vs describe, cold: wall (ms)" "$cd_ms" "$ckd_ms"
row "describe vs describe, cold: peak RSS (KiB)" "$cd_rss" "$ckd_rss"
printf '%-52s %12s %12s %8s\n' "describe, warm: instructions (callgrind, M)" "$di" - -
printf '%-52s %12s %12s %8s\n' "describe, cold: instructions (callgrind, M)" "$cdi" - -
row "describe vs describe, warm: API requests per run" "$dd_req" "$kd_req"
row "describe vs describe, cold: API requests per run" "$cd_req" "$ckd_req"
row "describe via kubectl's plugin exec vs describe: wall (ms)" "$d_ms" "$kd_ms"
row "get -A vs get -A, warm: wall (ms)" "$gd_ms" "$kg_ms"
row "get -A vs get -A, warm: peak RSS (KiB)" "$gd_rss" "$kg_rss"
row "get -A vs get -A, cold: wall (ms)" "$cg_ms" "$ckg_ms"
row "get -A vs get -A, warm: API requests per run" "$gd_req" "$kg_req"
row "get -A via kubectl's plugin exec vs get -A: wall (ms)" "$g_ms" "$kg_ms"
echo "(kstatus rows run the kubectl-kstatus binary, as kubectl execs it; the \"via kubectl's plugin exec\" rows"
echo " run \`kubectl kstatus …\`, which adds kubectl's own start-up and plugin lookup before the same binary.)"
