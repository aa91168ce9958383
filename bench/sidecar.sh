#!/usr/bin/env bash
# bench/sidecar.sh - kstatus-sidecar against its peer, in the same run, on the
# same test API server:
#   peer: inotifywait on the metadata directory + `kubectl patch --subresource=status`
#         (what a shell sidecar doing the same job would be)
# Measures write→acknowledged latency (p50/p99 over N writes), requests per
# push, idle RSS and private memory, and idle CPU over a quiet period, then
# prints a table with ratios. Not a test: nothing fails on noise.
#
#   bench/sidecar.sh [WRITES] [IDLE_SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib/common.sh"
ensure_packages "${KSTATUS_BUILD_PACKAGES[@]}" inotify-tools jq procps
ensure_kubectl
build_dir "$root/build"

writes=${1:-50}
idle=${2:-10}
export KSTATUS_BUILD_DIR=$root/build KSTATUS_SOURCE_DIR=$root KSTATUS_TEST_DATA=$root/tests/data
. "$root/tests/integration/lib.sh"
. "$root/tests/integration/lib-apiserver.sh"
. "$root/tests/integration/lib-sidecar.sh"
exec 3>&1 1>/dev/null # lib.sh's TAP output is not wanted here

start_apiserver
apiserver_install_crds
create_seed_objects

now_ns() { date +%s%N; }

# Write N versions; after each, poll the server until the message shows up.
measure_latency() { # dir → prints one latency (µs) per line
        local dir=$1 i t0 want
        for i in $(seq 1 "$writes"); do
                want="bench $i $RANDOM"
                t0=$(now_ns)
                printf 'message: "%s"\n' "$want" >"$dir/status.yaml.tmp" && mv "$dir/status.yaml.tmp" "$dir/status.yaml"
                until [ "$(curl -sk -H "Authorization: Bearer $APISERVER_TOKEN" \
                        "$APISERVER_URL/apis/example.promise.syntasso.io/v1/namespaces/default/iams/example" |
                        jq -r .status.message)" = "$want" ]; do :; done
                echo $((($(now_ns) - t0) / 1000))
        done
}

percentile() { sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int((NR*p+99)/100); if(i<1)i=1; print a[i]}'; }

rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
private_kb() { awk '/^Private_Dirty/{print $2}' "/proc/$1/smaps_rollup"; }
tree_pids() { echo "$1"; pgrep -P "$1" | while read -r c; do tree_pids "$c"; done; }
cpu_ticks() { local t=0 p; for p in $(tree_pids "$1"); do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo "$t"; }
sum_over() { local f=$1 t=0 p; for p in $(tree_pids "$2"); do t=$((t + $($f "$p"))); done; echo "$t"; }

# --- kstatus-sidecar ---
start_sidecar create-user 0 1 --debounce=0ms
sc_pid=$SIDECAR_PID
apiserver_reset_counters
measure_latency "$PIPE_DIR/metadata" >"$TEST_TMP/sc.lat"
sc_reqs=$(apiserver_counters | jq '.total')
sc_rss=$(sum_over rss_kb "$sc_pid"); sc_priv=$(sum_over private_kb "$sc_pid")
c0=$(cpu_ticks "$sc_pid"); sleep "$idle"; sc_idle_ticks=$(($(cpu_ticks "$sc_pid") - c0))
stop_sidecar TERM

# --- peer: inotifywait + kubectl patch ---
peer_dir=$TEST_TMP/peer; mkdir -p "$peer_dir"
( inotifywait -m -q -e close_write -e moved_to --format '%f' "$peer_dir" | while read -r f; do
        [ "$f" = status.yaml ] || continue
        # kubectl takes a YAML patch: wrap the file under "status:".
        kubectl patch iam example --subresource=status --type=merge \
                --patch-file <(printf 'status:\n'; sed 's/^/  /' "$peer_dir/status.yaml") >/dev/null
done ) &
peer_pid=$!
sleep 0.5
apiserver_reset_counters
measure_latency "$peer_dir" >"$TEST_TMP/peer.lat"
peer_reqs=$(apiserver_counters | jq '.total')
peer_rss=$(sum_over rss_kb "$peer_pid"); peer_priv=$(sum_over private_kb "$peer_pid")
c0=$(cpu_ticks "$peer_pid"); sleep "$idle"; peer_idle_ticks=$(($(cpu_ticks "$peer_pid") - c0))
pkill -P "$peer_pid" || true; kill "$peer_pid" 2>/dev/null || true

exec 1>&3
sc50=$(percentile 50 <"$TEST_TMP/sc.lat"); sc99=$(percentile 99 <"$TEST_TMP/sc.lat")
p50=$(percentile 50 <"$TEST_TMP/peer.lat"); p99=$(percentile 99 <"$TEST_TMP/peer.lat")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == 0) print "inf"; else printf "%.1fx", b / a }'; }
printf '%-34s %14s %14s %10s\n' "metric ($writes writes, ${idle}s idle)" kstatus-sidecar "inotify+kubectl" ratio
printf '%-34s %14s %14s %10s\n' "write→ack latency p50 (µs)" "$sc50" "$p50" "$(ratio "$sc50" "$p50")"
printf '%-34s %14s %14s %10s\n' "write→ack latency p99 (µs)" "$sc99" "$p99" "$(ratio "$sc99" "$p99")"
printf '%-34s %14s %14s %10s\n' "API requests per push" "$(awk -v r="$sc_reqs" -v n="$writes" 'BEGIN{printf "%.2f", r/n}')" \
        "$(awk -v r="$peer_reqs" -v n="$writes" 'BEGIN{printf "%.2f", r/n}')" "$(ratio "$sc_reqs" "$peer_reqs")"
printf '%-34s %14s %14s %10s\n' "RSS after the writes (KiB)" "$sc_rss" "$peer_rss" "$(ratio "$sc_rss" "$peer_rss")"
printf '%-34s %14s %14s %10s\n' "private dirty memory (KiB)" "$sc_priv" "$peer_priv" "$(ratio "$sc_priv" "$peer_priv")"
printf '%-34s %14s %14s %10s\n' "CPU while idle (clock ticks)" "$sc_idle_ticks" "$peer_idle_ticks" "-"
