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
# The sidecar runs with its defaults (and the test library's --debounce=50ms,
# which only delays removals and polled changes: a complete write is pushed at once).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_prepare inotify-tools jq procps curl time

writes=${1:-50}
idle=${2:-10}
. "$root/tests/integration/lib.sh"
. "$root/tests/integration/lib-apiserver.sh"
. "$root/tests/integration/lib-sidecar.sh"
exec 3>&1 1>/dev/null # lib.sh's TAP output is not wanted here

# The server stamps each request once handled (--access-log): a write is
# acknowledged when the server has stored it.
access=$TEST_TMP/access.log
start_apiserver --access-log "$access"
apiserver_install_crds
create_seed_objects

now_ns() { date +%s%N; }

# Write N versions; each is timed from the write to the server's stamp of the
# status PATCH that stored it (its access log). A watch on the object tells when
# the version has arrived, so the next write waits for it; its own stamps are
# not used: bash reads a pipe one byte per read(2), which would add
# milliseconds to both sides.
obj_path=/apis/example.promise.syntasso.io/v1/namespaces/default/iams/example
measure_latency() { # dir → prints one latency (µs) per line
        local dir=$1 i t0 want stamps=$TEST_TMP/stamps.$RANDOM mark
        : >"$stamps"
        mark=$(apiserver_mark)
        curl -sSN --cacert "$APISERVER_CA" -H "Authorization: Bearer $APISERVER_TOKEN" \
                "$APISERVER_URL${obj_path%/example}?watch=1&fieldSelector=metadata.name%3Dexample" 2>/dev/null |
                while IFS= read -r line; do printf '%s %s\n' "${EPOCHREALTIME/./}" "$line" >>"$stamps"; done &
        local watcher=$!
        apiserver_wait_access "$mark" 1 GET "${obj_path%/example}" >&2 || die "the latency watch did not start"
        # Follow the stamps with builtins only: a poller forking grep every
        # few ms would compete with the pusher for the CPU and inflate it.
        local sfd pfd line partial='' deadline
        exec {sfd}<"$stamps" {pfd}<> <(:)
        for i in $(seq 1 "$writes"); do
                want="bench $i $RANDOM"
                t0=${EPOCHREALTIME/./}
                # Written in place by a builtin: no fork between t0 and the write.
                printf 'message: "%s"\n' "$want" >"$dir/status.yaml"
                deadline=$((SECONDS + 30))
                while [ "$SECONDS" -lt "$deadline" ]; do
                        if IFS= read -r line <&"$sfd"; then
                                line=$partial$line partial=
                                [[ $line == *"\"message\":\"$want\""* ]] && { apiserver_stored_after "$access" "$t0" "$obj_path/status"; break; }
                        else
                                partial+=$line
                                read -r -t 0.001 -u "$pfd" || true
                        fi
                done
        done
        exec {sfd}<&- {pfd}<&-
        pkill -P "$watcher" 2>/dev/null || true; kill "$watcher" 2>/dev/null || true
}

percentile() { sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int((NR*p+99)/100); if(i<1)i=1; print a[i]}'; }

rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
private_kb() { awk '/^Private_Dirty/{print $2}' "/proc/$1/smaps_rollup"; }
tree_pids() { echo "$1"; pgrep -P "$1" | while read -r c; do tree_pids "$c"; done; }
# How many processes the tree has (not a pipeline: pgrep finding no child fails it under pipefail).
tree_size() { local p n=0; for p in $(tree_pids "$1"); do n=$((n + 1)); done; echo "$n"; }
# utime+stime+cutime+cstime: a shell's finished kubectl children count too.
cpu_ticks() { local t=0 p; for p in $(tree_pids "$1"); do t=$((t + $(awk '{print $14+$15+$16+$17}' "/proc/$p/stat"))); done; echo "$t"; }
# Context switches, voluntary and not: how often the process woke up.
wakeups() { awk '/^(non)?voluntary_ctxt_switches/{n+=$2} END{print n+0}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/{print $2}' "/proc/$1/status"; }
# Requests the pusher made: all but the latency watch.
pusher_requests() {
        apiserver_counters | jq '.total - (.requests["GET /apis/example.promise.syntasso.io/v1/namespaces/default/iams"] // 0)'
}
sum_over() { local f=$1 t=0 p; for p in $(tree_pids "$2"); do t=$((t + $($f "$p"))); done; echo "$t"; }

# --- kstatus-sidecar ---
# The test library is written for scripts without set -e (grep -c of 0 lines).
set +e
# KSTATUS_BENCH_SIDECAR_ARGS (none by default): e.g. --debounce=200ms, the
# default before complete writes were pushed at once, to measure that delay.
# shellcheck disable=SC2086
start_sidecar create-user 0 1 ${KSTATUS_BENCH_SIDECAR_ARGS:-} || die "the sidecar did not start"
set -e
sc_pid=$SIDECAR_PID
sleep 1 # a settling window: idle memory is measured after the start, not a synchronisation
sc_idle_rss=$(rss_kb "$sc_pid"); sc_idle_priv=$(private_kb "$sc_pid")
apiserver_reset_counters
c0=$(cpu_ticks "$sc_pid")
measure_latency "$PIPE_DIR/metadata" >"$TEST_TMP/sc.lat"
sc_busy_ticks=$(($(cpu_ticks "$sc_pid") - c0))
sc_reqs=$(pusher_requests)
sc_peak=$(hwm_kb "$sc_pid")
c0=$(cpu_ticks "$sc_pid"); w0=$(sum_over wakeups "$sc_pid"); sleep "$idle"
sc_idle_ticks=$(($(cpu_ticks "$sc_pid") - c0)); sc_idle_wakeups=$(($(sum_over wakeups "$sc_pid") - w0))
set +e; stop_sidecar TERM; set -e

# --- peer: inotifywait + kubectl patch ---
peer_dir=$TEST_TMP/peer; mkdir -p "$peer_dir"
( inotifywait -m -e close_write -e moved_to --format '%f' "$peer_dir" | while read -r f; do
        [ "$f" = status.yaml ] || continue
        # kubectl takes a YAML patch: wrap the file under "status:".
        printf 'status:\n' >"$peer_dir/patch.yaml"; sed 's/^/  /' "$peer_dir/status.yaml" >>"$peer_dir/patch.yaml"
        /usr/bin/time -a -o "$peer_dir/kubectl.rss" -f %M \
                kubectl patch iam example --subresource=status --type=merge --patch-file "$peer_dir/patch.yaml" >/dev/null
done ) 2>"$peer_dir/inotifywait.err" &
peer_pid=$!
# inotifywait says when its watch is in place; writes before would be missed.
poll 10 grep -q 'Watches established' "$peer_dir/inotifywait.err" || die "inotifywait did not start"
peer_tree=$(tree_size "$peer_pid")
sleep 1 # a settling window, as for the sidecar
peer_idle_rss=$(sum_over rss_kb "$peer_pid"); peer_idle_priv=$(sum_over private_kb "$peer_pid")
apiserver_reset_counters
c0=$(cpu_ticks "$peer_pid")
measure_latency "$peer_dir" >"$TEST_TMP/peer.lat"
# The last kubectl has exited (its CPU counted in cutime) once the tree is back to its idle size.
peer_idle() { [ "$(tree_size "$peer_pid")" -le "$peer_tree" ]; }
poll 10 peer_idle || die "the peer's last kubectl did not exit"
peer_busy_ticks=$(($(cpu_ticks "$peer_pid") - c0))
peer_reqs=$(pusher_requests)
# Peak: the shell and inotifywait plus the largest kubectl run.
peer_peak=$(( $(sum_over hwm_kb "$peer_pid") + $(sort -n "$peer_dir/kubectl.rss" | tail -1) ))
c0=$(cpu_ticks "$peer_pid"); w0=$(sum_over wakeups "$peer_pid"); sleep "$idle"
peer_idle_ticks=$(($(cpu_ticks "$peer_pid") - c0)); peer_idle_wakeups=$(($(sum_over wakeups "$peer_pid") - w0))
pkill -P "$peer_pid" || true; kill "$peer_pid" 2>/dev/null || true

exec 1>&3
sc50=$(percentile 50 <"$TEST_TMP/sc.lat"); sc99=$(percentile 99 <"$TEST_TMP/sc.lat")
p50=$(percentile 50 <"$TEST_TMP/peer.lat"); p99=$(percentile 99 <"$TEST_TMP/peer.lat")
printf '%-34s %14s %14s %10s\n' "metric ($writes writes, ${idle}s idle)" kstatus-sidecar "inotify+kubectl" ratio
printf '%-34s %14s %14s %10s\n' "write→ack latency p50 (µs)" "$sc50" "$p50" "$(ratio "$sc50" "$p50")"
printf '%-34s %14s %14s %10s\n' "write→ack latency p99 (µs)" "$sc99" "$p99" "$(ratio "$sc99" "$p99")"
printf '%-34s %14s %14s %10s\n' "API requests per push" "$(awk -v r="$sc_reqs" -v n="$writes" 'BEGIN{printf "%.2f", r/n}')" \
        "$(awk -v r="$peer_reqs" -v n="$writes" 'BEGIN{printf "%.2f", r/n}')" "$(ratio "$sc_reqs" "$peer_reqs")"
tick_ms=$((1000 / $(getconf CLK_TCK)))
per_push() { awk -v t="$1" -v m="$tick_ms" -v n="$writes" 'BEGIN{printf "%.2f", t*m/n}'; }
printf '%-34s %14s %14s %10s\n' "CPU time per push (ms)" "$(per_push "$sc_busy_ticks")" "$(per_push "$peer_busy_ticks")" \
        "$(ratio "$(per_push "$sc_busy_ticks")" "$(per_push "$peer_busy_ticks")")"
printf '%-34s %14s %14s %10s\n' "idle RSS (KiB)" "$sc_idle_rss" "$peer_idle_rss" "$(ratio "$sc_idle_rss" "$peer_idle_rss")"
printf '%-34s %14s %14s %10s\n' "idle private dirty memory (KiB)" "$sc_idle_priv" "$peer_idle_priv" "$(ratio "$sc_idle_priv" "$peer_idle_priv")"
printf '%-34s %14s %14s %10s\n' "peak RSS over the run (KiB)" "$sc_peak" "$peer_peak" "$(ratio "$sc_peak" "$peer_peak")"
printf '%-34s %14s %14s %10s\n' "CPU while idle ${idle}s (ticks)" "$sc_idle_ticks" "$peer_idle_ticks" "-"
printf '%-34s %14s %14s %10s\n' "wakeups while idle ${idle}s" "$sc_idle_wakeups" "$peer_idle_wakeups" "-"
