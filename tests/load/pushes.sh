#!/usr/bin/env bash
# tests/load/pushes.sh [-n PUSHES] [-g GROWTH_KIB] [-v] - one sidecar, many pushes (TAP).
#
# One kstatus-sidecar (--debounce=0ms) and a loop that writes status.yaml
# PUSHES times (default 10 000), each time waiting until the sidecar has
# logged the push. Reads the sidecar's VmRSS after 100 pushes and at the end:
# it must grow by no more than GROWTH_KIB (default 256). With -v the sidecar
# runs under valgrind (use a smaller -n): no error, no definite or indirect
# leak. The final status must be the last version written.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/lib-apiserver.sh"
. "$(dirname "$0")/../integration/lib-sidecar.sh"

PUSHES=10000 GROWTH=256 VALGRIND=
while getopts n:g:v opt; do
        case $opt in
        n) PUSHES=$OPTARG ;; g) GROWTH=$OPTARG ;; v) VALGRIND=1 ;;
        *) echo "usage: $0 [-n PUSHES] [-g GROWTH_KIB] [-v]" >&2; exit 2 ;;
        esac
done

start_apiserver || { _tap_result 1 "the test API server starts"; done_testing; }
apiserver_install_crds
create_seed_objects

vglog=$TEST_TMP/valgrind.log
if [ -n "$VALGRIND" ]; then
        SIDECAR_WRAPPER="valgrind -q --leak-check=full --show-leak-kinds=definite,indirect
                --errors-for-leak-kinds=definite,indirect --error-exitcode=99
                --suppressions=$KSTATUS_SOURCE_DIR/tests/valgrind.supp --log-file=$vglog"
fi
start_sidecar many 0 1 --debounce=0ms || { _tap_result 1 "the sidecar starts"; done_testing; }
rss_kb() { local k v; while read -r k v _; do [ "$k" = VmRSS: ] && echo "$v"; done <"/proc/$SIDECAR_PID/status"; }

# Follow the log from where it is now: read only the new lines each time.
exec {log}<"$PIPE_DIR/sidecar.log"
partial=
sent=0
wait_push() { # until the sidecar has logged push number $1 (10 s at most)
        local line deadline=$((SECONDS + 10))
        while [ "$sent" -lt "$1" ]; do
                if IFS= read -r line <&"$log"; then
                        line=$partial$line partial=
                        [[ $line == *'push: sent'* ]] && sent=$((sent + 1))
                        [[ $line == *'push failed'* || $line == *refuse* ]] && echo "# $line"
                else
                        partial+=$line # a line still being written
                        [ "$SECONDS" -ge "$deadline" ] && return 1
                        read -r -t 0.001 -u "$pause_fd" || true
                fi
        done
        return 0
}
exec {pause_fd}<> <(:)

t0=$EPOCHREALTIME
rss100=
for ((i = 1; i <= PUSHES; i++)); do
        printf 'message: "push %d"\ncount: %d\nbody:\n  a: [%d, %d]\n  b: "%s"\n' "$i" "$i" "$i" $((i * 2)) \
                "$((i % 7 == 0 ? 1 : 0))" >"$PIPE_DIR/metadata/status.yaml"
        wait_push "$i" || break
        [ "$i" = 100 ] && rss100=$(rss_kb)
done
elapsed=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
rss_end=$(rss_kb)
is "$sent" "$PUSHES" "the sidecar logged all $PUSHES pushes"
echo "# $sent pushes in $elapsed s; VmRSS after 100 pushes: ${rss100:-?} KiB, after $sent: $rss_end KiB"
if [ -z "$VALGRIND" ]; then
        ok "RSS stays flat: grew $((rss_end - ${rss100:-0})) KiB (at most $GROWTH)" \
                test "$((rss_end - ${rss100:-0}))" -le "$GROWTH"
fi
want=$(printf '{"message":"push %d","count":%d}' "$PUSHES" "$PUSHES")
stop_sidecar TERM
is "$SIDECAR_RC" 0 "the sidecar exits 0"
is "$(kubectl get iam example -o json | jq -c '.status | {message, count}')" "$want" "the last version is on the server"
if [ -n "$VALGRIND" ]; then
        # "==PID==" lines are errors and leaks; "--PID--" ones notes (valgrind
        # does not know openat2, which the sidecar then does without).
        is "$(grep '^==' "$vglog" 2>/dev/null | head -40)" "" "valgrind reports no error and no leak (exit $SIDECAR_RC)"
fi
[ -n "${PUSHES_SUMMARY:-}" ] && echo "$sent ${rss100:-?} $rss_end $elapsed" >"$PUSHES_SUMMARY"
done_testing
