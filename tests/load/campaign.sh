#!/usr/bin/env bash
# tests/load/campaign.sh - the fault-and-load campaign (TAP).
#
#   campaign.sh [-n RESOURCES] [-m VERSIONS] [-f FAULT_RATE] [-o OUTAGE_SECONDS] [-i INTERVAL_SECONDS]
#               [-b BACKOFF_SECONDS]
#
# N IAM resources, each configured by two pipelines run one after the other
# (the second starts from the status the first left, object.yaml as Kratix
# writes it), all N at once. Each pipeline is a Pod: a real kstatus-sidecar
# while the pipeline writes M versions of status.yaml, INTERVAL apart; then
# Kratix's status-writer (the stand-in's, tests/kratix/kratix.sh: GET, shallow
# merge of status.yaml, PUT with the resourceVersion it read, the workflow
# completed on the last pipeline); then the sidecar is told how the Pod ended
# (SIGTERM succeeded, SIGUSR1 failed). status-writer fails on any answer but
# 2xx; it is restarted as the kubelet restarts a container of a Job's Pod
# (restartPolicy OnFailure, a back-off doubling from BACKOFF seconds, 1 by
# default where the kubelet starts at 10 s, capped at 30 times that as the
# kubelet's 300 s) until the Job's backoffLimit (Kubernetes' default 6, which
# Kratix keeps) is used up: then the pipeline has failed and, as in Kratix, the
# workflow stops there.
#
# The test API server meanwhile answers a FAULT_RATE share of the requests on
# the resources with 409 (PATCH only), 429 and 503 (Retry-After 1), 500, or a
# dropped connection after the write was stored; and refuses every connection
# for OUTAGE seconds once the pipelines are running. A sidecar that dies is
# started again on the same directories, as the kubelet restarts a native
# sidecar. Afterwards every resource's status.yaml keys must equal, exactly,
# the state built from the final files of the pipelines that ran (the
# construction is checked against `kubectl kstatus merge` for one resource),
# whatever status-writer's shallow merge did meanwhile, and a resource whose
# pipelines both succeeded must carry status-writer's ConfigureWorkflowCompleted
# True. Prints
#   N resources, K pushes, F faults injected, L lost
# and what status-writer met: its runs, its failures by request and HTTP code,
# and its 409s (each a write that landed between its GET and its PUT: injected
# 409s only hit PATCH, so another writer's; the access log tells whose).
# Loopback only; bounded by LOAD_TIMEOUT seconds (default 600).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/lib-apiserver.sh"
. "$(dirname "$0")/../kratix/kratix.sh"

N=50 M=20 RATE=0.2 OUTAGE=3 INTERVAL=0.1 BACKOFF=1
while getopts n:m:f:o:i:b: opt; do
        case $opt in
        n) N=$OPTARG ;; m) M=$OPTARG ;; f) RATE=$OPTARG ;; o) OUTAGE=$OPTARG ;; i) INTERVAL=$OPTARG ;;
        b) BACKOFF=$OPTARG ;;
        *) echo "usage: $0 [-n RESOURCES] [-m VERSIONS] [-f FAULT_RATE] [-o OUTAGE_SECONDS] [-i INTERVAL]" \
                "[-b BACKOFF]" >&2; exit 2 ;;
        esac
done
BACKOFF_MS=$(awk -v b="$BACKOFF" 'BEGIN { printf "%d", b * 1000 }')
BACKOFF_LIMIT=6 # the Job's: Kratix sets none, Kubernetes' default
SIDECAR=$KSTATUS_BUILD_DIR/sidecar/kstatus-sidecar
GROUP=example.promise.syntasso.io
COLL=/apis/$GROUP/v1/namespaces/default/iams
RULE_COUNT=100000000 # large: what is left of it tells how many faults were injected
DEADLINE=$((SECONDS + ${LOAD_TIMEOUT:-600}))

start_apiserver --access-log "$TEST_TMP/access.log" || { _tap_result 1 "the test API server starts"; done_testing; }
apiserver_install_crds
kubectl apply -f "$KSTATUS_TEST_DATA/seed/promise.yaml" >/dev/null
export KX_DIR=$TEST_TMP/kratix # the stand-in's writes.log
kx_init

# ---- N resources, one curl process ----
for ((i = 0; i < N; i++)); do
        [ "$i" = 0 ] || echo next
        printf 'url = "%s%s"\n' "$APISERVER_URL" "$COLL"
        printf 'header = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\n' "$APISERVER_TOKEN"
        printf 'cacert = "%s"\nsilent\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' "$APISERVER_CA"
        printf 'data = "{\\"apiVersion\\":\\"%s/v1\\",\\"kind\\":\\"IAM\\",\\"metadata\\":{\\"name\\":\\"load-%04d\\"},\\"spec\\":{\\"team\\":\\"t%d\\"}}"\n' \
                "$GROUP" "$i" "$i"
done >"$TEST_TMP/create.cfg"
created=$(curl -K "$TEST_TMP/create.cfg" | grep -c '^201$')
is "$created" "$N" "$N resources created"

# ---- faults: five kinds sharing the rate ----
each=$(awk -v r="$RATE" 'BEGIN { printf "%.6f", r / 5 }')
rules=$(jq -nc --argjson f "$each" --argjson c "$RULE_COUNT" --arg p "/apis/$GROUP/*" '[
        {verb: "PATCH", path: $p, code: 409, fraction: $f, count: $c},
        {path: $p, code: 429, retryAfter: 1, fraction: $f, count: $c},
        {path: $p, code: 503, retryAfter: 1, fraction: $f, count: $c},
        {path: $p, code: 500, fraction: $f, count: $c},
        {path: $p, drop: true, fraction: $f, count: $c}]')
apiserver_reset_counters
[ "$each" = 0.000000 ] || apiserver_fault "$rules"

# ---- one pipeline ----

# pause SECONDS without a fork (200 workers sleeping 10 times a second add up).
pause() { read -r -t "$1" -u "$PAUSE_FD" || true; }

# count_lines FILE TEXT: set NLINES to how many lines of FILE hold TEXT,
# without a fork (200 workers poll this).
count_lines() {
        local line
        NLINES=0
        while IFS= read -r line; do [[ $line == *"$2"* ]] && NLINES=$((NLINES + 1)); done <"$1"
        return 0
}

# get_object I FILE: the resource as Kratix hands it to a pipeline (JSON is
# YAML); retried through faults and the outage.
get_object() {
        local t body
        for ((t = 0; t < 200; t++)); do
                body=
                if curl -sSf --cacert "$APISERVER_CA" -H "Authorization: Bearer $APISERVER_TOKEN" \
                        "$APISERVER_URL$COLL/$NAME" -o "$2.tmp" 2>>"${2%/input/*}/curl.err"; then
                        IFS= read -r -d '' body <"$2.tmp" || true
                        if [[ $body == *'"kind":"IAM"'*'}' ]]; then
                                mv "$2.tmp" "$2"
                                return 0
                        fi
                fi
                pause 0.2
        done
        return 1
}

launch() { # DIR NAME INDEX I
        local dir=$1
        count_lines "$dir/sidecar.log" 'watch: '
        WATCH_BASE=$NLINES
        env KRATIX_WORKFLOW_ACTION=configure KRATIX_WORKFLOW_TYPE=resource KRATIX_PROMISE_NAME=iam \
                KRATIX_PIPELINE_NAME="$2" KRATIX_OBJECT_KIND=IAM KRATIX_OBJECT_GROUP=$GROUP KRATIX_OBJECT_VERSION=v1 \
                KRATIX_OBJECT_NAME="$NAME" KRATIX_OBJECT_NAMESPACE=default KRATIX_CRD_PLURAL=iams \
                KRATIX_CLUSTER_SCOPED=false KSTATUS_PIPELINE_INDEX="$3" KSTATUS_PIPELINE_COUNT=2 \
                KSTATUS_METADATA_DIR="$dir/metadata" KSTATUS_INPUT_DIR="$dir/input" \
                "$SIDECAR" --debounce=50ms --workflow-conditions=off >>"$dir/sidecar.log" 2>&1 &
        SC_PID=$!
}

# ensure_running DIR NAME INDEX I: start the sidecar again when it died (the
# kubelet's restartPolicy: Always), then wait until it watches the file.
ensure_running() {
        local t
        for ((t = 0; t < 600; t++)); do
                if ! kill -0 "$SC_PID" 2>/dev/null; then
                        wait "$SC_PID"
                        echo "exit $?" >>"$1/restarts"
                        pause 0.5
                        launch "$@"
                fi
                count_lines "$1/sidecar.log" 'watch: '
                [ "$NLINES" -gt "$WATCH_BASE" ] && return 0
                pause 0.05
        done
        return 1
}

write_version() { # FILE I P V
        local f=$1 i=$2 p=$3 v=$4
        {
                printf 'message: "r%d p%d v%d"\n' "$i" "$p" "$v"
                printf 'p%d:\n  v: %d\n  tmp%d: x\n' "$p" "$v" "$v"
                printf 'shared:\n  last: p%dv%d\n  p%d: %d\n' "$p" "$v" "$p" "$v"
                # A key only live pushes carry: the final write must remove it.
                [ "$v" -lt "$M" ] && printf 'scratch%d: %d\n' "$p" "$v"
        } >"$f"
}

# status_writer DIR PIPELINE IS_LAST: Kratix's status-writer in the Pod of
# DIR, restarted on failure as the kubelet does until the Job's backoffLimit is
# used up (at most BACKOFF_LIMIT + 1 runs, as tests/kratix/kratix.sh counts
# them). One line per run in DIR/status-writer: "START END RESULT", RESULT
# "ok" or what failed ("GET 503", "PUT 409", "PUT 000" for no answer). Exit 0
# when a run succeeded.
status_writer() {
        local dir=$1 run start err result secs delay=$BACKOFF_MS
        for ((run = 0; run <= BACKOFF_LIMIT; run++)); do
                start=$EPOCHREALTIME
                if err=$(kx_status_writer "$dir" "$2" "$3" 2>&1 >/dev/null); then
                        echo "$start $EPOCHREALTIME ok" >>"$dir/status-writer"
                        return 0
                fi
                printf '%s\n' "$err" >>"$dir/status-writer.log"
                if [[ $err =~ failed\ to\ get\ existing\ object:\ ([0-9]+) ]]; then
                        result="GET ${BASH_REMATCH[1]}"
                elif [[ $err =~ failed\ to\ update\ status:\ ([0-9]+) ]]; then
                        result="PUT ${BASH_REMATCH[1]}"
                else
                        result=other
                fi
                echo "$start $EPOCHREALTIME $result" >>"$dir/status-writer"
                [ "$run" = "$BACKOFF_LIMIT" ] && break
                printf -v secs '%d.%03d' $((delay / 1000)) $((delay % 1000))
                pause "$secs"
                delay=$((delay * 2 > 30 * BACKOFF_MS ? 30 * BACKOFF_MS : delay * 2))
        done
        return 1
}

pipeline() { # I P
        local i=$1 p=$2 dir=$TEST_TMP/r$1/p$2 v last=false signal=TERM
        [ "$p" = 2 ] && last=true
        mkdir -p "$dir/input" "$dir/metadata"
        : >"$dir/restarts"
        : >"$dir/sidecar.log"
        echo "get $EPOCHREALTIME" >>"$dir/times"
        get_object "$i" "$dir/input/object.yaml" || { echo "object" >"$dir/failed"; return 1; }
        echo "launch $EPOCHREALTIME" >>"$dir/times"
        launch "$dir" "pipe$p" $((p - 1)) "$i"
        ensure_running "$dir" "pipe$p" $((p - 1)) "$i" || { echo "start" >"$dir/failed"; return 1; }
        echo "write $EPOCHREALTIME" >>"$dir/times"
        for ((v = 1; v <= M; v++)); do
                write_version "$dir/metadata/status.yaml" "$i" "$p" "$v"
                pause "$INTERVAL"
        done
        # The pipeline's containers have ended: status-writer runs, then the
        # kubelet stops the sidecar, which reads from the Pod how it ended.
        echo "status-writer $EPOCHREALTIME" >>"$dir/times"
        if ! status_writer "$dir" "pipe$p" "$last"; then
                echo "pipe$p" >"$dir/status-writer-failed"
                signal=USR1
        fi
        ensure_running "$dir" "pipe$p" $((p - 1)) "$i" || { echo "restart" >"$dir/failed"; return 1; }
        echo "term $EPOCHREALTIME" >>"$dir/times"
        kill -"$signal" "$SC_PID"
        wait "$SC_PID"
        local rc=$?
        echo "exited $EPOCHREALTIME" >>"$dir/times"
        echo "$rc" >"$dir/rc"
        [ "$rc" = 0 ] || echo "exit $rc" >"$dir/failed"
        # A failed pipeline fails the workflow: Kratix runs no later pipeline.
        [ "$rc" = 0 ] && [ "$signal" = TERM ]
}

worker() { # I
        SC_PID=
        trap '[ -n "$SC_PID" ] && kill -9 "$SC_PID" 2>/dev/null; exit 1' TERM
        exec {PAUSE_FD}<> <(:)
        printf -v NAME 'load-%04d' "$1"
        kx_resource default iams "$NAME"
        pipeline "$1" 1 && pipeline "$1" 2
}

t0=$SECONDS
pids=()
for ((i = 0; i < N; i++)); do
        worker "$i" &
        pids+=($!)
done
at_exit "kill ${pids[*]} 2>/dev/null"

# The outage, once the pipelines are writing.
if [ "$OUTAGE" -gt 0 ]; then
        exec {PAUSE_FD}<> <(:)
        pause "$(awk -v m="$M" -v i="$INTERVAL" 'BEGIN { printf "%.2f", 2 + m * i / 2 }')"
        apiserver_outage "$OUTAGE"
        outage_at=$((SECONDS - t0))
fi

timed_out=0
for pid in "${pids[@]}"; do
        while kill -0 "$pid" 2>/dev/null; do
                if [ "$SECONDS" -ge "$DEADLINE" ]; then
                        timed_out=1
                        kill "${pids[@]}" 2>/dev/null
                        break 2
                fi
                sleep 0.5
        done
done
wait "${pids[@]}" 2>/dev/null
elapsed=$((SECONDS - t0))
is "$timed_out" 0 "the pipelines finish within ${LOAD_TIMEOUT:-600} s"

# ---- what the server saw ----
left=$(apiserver_curl -f /_kstatus/faults)
faults=$(jq --argjson c "$RULE_COUNT" '[.faults[] | $c - .count] | add // 0' <<<"$left")
counters=$(apiserver_counters)
requests=$(jq '[.requests | to_entries[] | select(.key | contains("/apis/'$GROUP'/")) | .value] | add // 0' <<<"$counters")
patches=$(jq '[.requests | to_entries[] | select(.key | startswith("PATCH ")) | .value] | add // 0' <<<"$counters")
apiserver_clear_faults

logs=("$TEST_TMP"/r*/p*/sidecar.log)
live=$(cat "${logs[@]}" | grep -c 'push: sent')
finals=$(cat "${logs[@]}" | grep -Ec 'final: (final status written|status already final)')
restarts=$(cat "$TEST_TMP"/r*/p*/restarts | wc -l)
failed=$(cat "$TEST_TMP"/r*/p*/failed 2>/dev/null | wc -l)
# Pipelines whose status-writer failed for good: after one in the first
# pipeline no second one runs.
# existing FILE...: the FILEs that exist (an unmatched glob stays as written).
existing() { local f; for f in "$@"; do [ -e "$f" ] && echo "$f"; done; return 0; }
sw_failed1=$(existing "$TEST_TMP"/r*/p1/status-writer-failed | wc -l)
sw_failed2=$(existing "$TEST_TMP"/r*/p2/status-writer-failed | wc -l)
pods=$((2 * N - sw_failed1))
succeeded=$(cat "$TEST_TMP"/r*/p*/rc 2>/dev/null | grep -c '^0$')
is "$succeeded" "$pods" "all $pods sidecars ended with their final write acknowledged (exit 0)"
# A sidecar rides out faults and the outage itself, at start too: none dies.
is "$restarts" 0 "no sidecar exited early (none had to be restarted)"
if [ "$failed" != 0 ]; then
        for f in "$TEST_TMP"/r*/p*/failed; do
                echo "# ${f%/failed}: $(cat "$f")"
                tail -5 "${f%/failed}/sidecar.log" | sed 's/^/#   /'
        done | head -40
fi

ok "the API token is in none of the $pods sidecar logs" bash -c "! cat $TEST_TMP/r*/p*/sidecar.log | grep -qF -- '$APISERVER_TOKEN'"

# ---- what status-writer met ----
for f in "$TEST_TMP"/r*/p*/status-writer; do
        r=${f%/p*/status-writer}
        printf -v name 'load-%04d' "$((10#${r##*/r}))"
        sed "s|^|$name |" "$f"
done >"$TEST_TMP/status-writer.runs" # NAME START END RESULT
sw_runs=$(wc -l <"$TEST_TMP/status-writer.runs")
sw_ok=$(awk '$4 == "ok"' "$TEST_TMP/status-writer.runs" | wc -l)
sw_codes=$(awk '$4 != "ok" { print $4, $5 }' "$TEST_TMP/status-writer.runs" | sort | uniq -c |
        awk '{ printf "%s%s %s: %d", (NR > 1 ? ", " : ""), $2, $3, $1 }')
# A 409 on status-writer's PUT: a write landed between its GET and its PUT.
# Injected 409s hit PATCH only, and on a resource the sidecar is the only other
# writer (PATCH): the access log shows whose write it was.
sw_409=$(awk '$4 == "PUT" && $5 == 409' "$TEST_TMP/status-writer.runs" | wc -l)
# A 409 counts as the sidecar's when one of its PATCHes was stored after the
# run started and before the 409 (access log lines are in stamp order).
sw_409_sidecar=$(awk 'FNR == NR { if ($4 == "PUT" && $5 == 409) { n++; who[n] = $1; t0[n] = $2; t1[n] = $3 }; next }
        { for (k = 1; k <= n; k++) if ($1 >= t0[k] && $1 <= t1[k] && index($3, "/iams/" who[k] "/status")) {
                if ($2 == "PATCH" && $4 ~ /^2/) patched[k] = 1
                if ($2 == "PUT" && $4 == 409 && patched[k]) hit[k] = 1 } }
        END { for (k in hit) c++; print c + 0 }' "$TEST_TMP/status-writer.runs" "$TEST_TMP/access.log")
is "$sw_409_sidecar" "$sw_409" "each of status-writer's $sw_409 409s came after a sidecar PATCH stored during that run"
ok "$sw_runs status-writer runs, $sw_ok succeeded" test "$sw_ok" -eq $((pods - sw_failed1 - sw_failed2))
echo "# status-writer failures by request and code: ${sw_codes:-none}"
existing "$TEST_TMP"/r*/p*/status-writer-failed | head -5 | while IFS= read -r f; do
        echo "# ${f%/status-writer-failed}: status-writer failed $((BACKOFF_LIMIT + 1)) times:" \
                "$(awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $3, $4 }' "${f%-failed}")"
done
# A pipeline whose status-writer failed for good is a failed workflow, as in
# Kratix: not a loss when the sidecar's final write still holds the
# final-state invariant for the status.yaml keys (checked below).
echo "# $((sw_failed1 + sw_failed2)) pipelines failed (status-writer out of restarts: $sw_failed1 first pipelines," \
        "$sw_failed2 second)"

# ---- the final states ----
want() { # I P: the status.yaml keys after pipelines 1..P, built by hand
        jq -nc --argjson i "$1" --argjson p "$2" --argjson m "$M" '
                {message: "r\($i) p\($p) v\($m)", p1: {v: $m, "tmp\($m)": "x"}, shared: {last: "p\($p)v\($m)", p1: $m}}
                | if $p == 2 then .p2 = {v: $m, "tmp\($m)": "x"} | .shared.p2 = $m else . end'
}
apiserver_curl -f "$COLL" >"$TEST_TMP/final.json"
jq -c '.items[] | [.metadata.name, (.status | del(.conditions))]' "$TEST_TMP/final.json" >"$TEST_TMP/got.jsonl"
for ((i = 0; i < N; i++)); do
        p=2
        [ -e "$TEST_TMP/r$i/p1/status-writer-failed" ] && p=1
        printf -v name 'load-%04d' "$i"
        echo "[\"$name\",$(want "$i" "$p")]"
done >"$TEST_TMP/want.jsonl"
lost=$(jq -n --slurpfile got "$TEST_TMP/got.jsonl" --slurpfile want "$TEST_TMP/want.jsonl" '
        ($got | map({(.[0]): .[1]}) | add // {}) as $g
        | [$want[] | select($g[.[0]] != .[1]) | .[0]]' | jq -r '.[]')
nlost=$(printf '%s' "$lost" | grep -c . || true)
is "$nlost" 0 "every resource's status.yaml keys equal the expected final state exactly"
for name in $(printf '%s\n' "$lost" | head -3); do
        echo "# $name: got  $(jq -c --arg n "$name" 'select(.[0] == $n) | .[1]' "$TEST_TMP/got.jsonl")"
        echo "# $name: want $(jq -c --arg n "$name" 'select(.[0] == $n) | .[1]' "$TEST_TMP/want.jsonl")"
done

# Conditions as status-writer leaves them where both pipelines succeeded: the
# sidecars run with --workflow-conditions=off (Kratix's status-writer is in
# every Pod and there is no Pod object to tell them), so these are its alone.
completed=$(for ((i = 0; i < N; i++)); do
        ls "$TEST_TMP/r$i"/p*/status-writer-failed >/dev/null 2>&1 || printf 'load-%04d\n' "$i"
done | jq -Rn '[inputs]')
bad_cond=$(jq -r --argjson ok "$completed" '.items[] | select(.metadata.name | IN($ok[]))
        | select((.status.conditions // []) | map(del(.lastTransitionTime)) != [{type: "ConfigureWorkflowCompleted",
            status: "True", reason: "PipelinesExecutedSuccessfully", message: "Pipelines completed"}])
        | "\(.metadata.name) \(.status.conditions | tojson)"' "$TEST_TMP/final.json")
is "$(printf '%s' "$bad_cond" | grep -c . || true)" 0 \
        "ConfigureWorkflowCompleted True on each of the $(jq length <<<"$completed") resources whose pipelines both succeeded"
printf '%s\n' "$bad_cond" | head -3 | sed '/^$/d; s/^/# /'

# The construction agrees with the merge preview (what the sidecar stores).
write_version "$TEST_TMP/f1.yaml" 0 1 "$M"
write_version "$TEST_TMP/f2.yaml" 0 2 "$M"
json_is "$(kubectl kstatus merge -o json --workflow=none "$TEST_TMP/f1.yaml" "$TEST_TMP/f2.yaml")" \
        "$(want 0 2)" "kubectl kstatus merge of the two final files gives the expected state"

ok "$faults faults injected (of $requests requests on the resources)" test "$faults" -gt 0 -o "$each" = 0.000000
summary="$N resources, $((live + finals)) pushes, $faults faults injected, $nlost lost"
sw_summary="status-writer: $sw_runs runs, $((sw_runs - sw_ok)) failed (${sw_codes:-none}), $sw_409 409s"
sw_summary+=" ($sw_409_sidecar after a sidecar PATCH), $((sw_failed1 + sw_failed2)) pipelines failed"
echo "# $summary"
echo "# $sw_summary"
echo "# $((pods * M)) versions of status.yaml written by $pods pipelines in ${elapsed} s;" \
        "$live live pushes + $finals final writes; $patches PATCH requests; $requests requests on the resources;" \
        "outage of ${OUTAGE} s at ${outage_at:-?} s; $restarts sidecar restarts"
[ -n "${LOAD_SUMMARY:-}" ] && printf '%s\n' "$summary" "$sw_summary" "$((pods * M)) versions, $pods pipelines, ${elapsed} s," \
        "$live live pushes + $finals final writes, $patches PATCH, $requests requests, outage ${OUTAGE} s," \
        "$restarts restarts" >"$LOAD_SUMMARY"
# LOAD_KEEP=DIR keeps the pipelines' directories (sidecar logs) for a look.
[ -n "${LOAD_KEEP:-}" ] && { rm -rf "$LOAD_KEEP"; mkdir -p "$LOAD_KEEP"; cp -r "$TEST_TMP"/r* "$TEST_TMP"/*.jsonl \
        "$TEST_TMP"/status-writer.runs "$TEST_TMP"/access.log "$KX_DIR"/writes.log "$LOAD_KEEP"/; }
done_testing
