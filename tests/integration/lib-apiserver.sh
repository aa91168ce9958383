# shellcheck shell=bash
# lib-apiserver.sh - run kstatus-test-apiserver for a test. Source after lib.sh.
#
#   start_apiserver [extra server args...]   # TLS + token; exports KUBECONFIG,
#                                            # APISERVER_URL, APISERVER_TOKEN, APISERVER_PID
#   apiserver_install_crds                   # kubectl apply every CRD in tests/data/crds
#   apiserver_fault '{"verb":"PATCH","path":"/apis/","code":503,"count":2,"retryAfter":1}'
#   apiserver_counters                       # JSON: {"total":N,"byVerb":{...},"requests":{"VERB path":N}}
#   apiserver_count VERB PATH                # one counter, 0 when absent
#   apiserver_reset_counters
#   mark=$(apiserver_mark)                   # requests answered so far (the access log's length)
#   apiserver_wait_access MARK N VERB PATH   # until N more VERB PATH were answered after MARK
#   apiserver_outage SECONDS                 # refuse connections for a while
#   apiserver_curl [curl args...] PATH       # curl with the token and CA
#   apiserver_log NS POD CONTAINER TEXT [previous] [close] [restart]
#                                            # append TEXT to a container's log (pods/log)
#   start_apiserver_client_certs [args...]   # start_apiserver that also accepts client certificates:
#                                            # exports APISERVER_CLIENT_CA, _CERT, _KEY (files)
#
# The server is stopped when the test exits (SIGTERM, then SIGKILL after 5 s),
# so a failing test never leaves one behind. Every server keeps an access log
# (--access-log, the test's own if it passes one), exported as
# APISERVER_ACCESS_LOG: tests wait on it instead of sleeping. Pass --insecure-http for plain HTTP.
# KSTATUS_APISERVER_WRAPPER (e.g. "valgrind -q") runs the server under a tool;
# KSTATUS_APISERVER_LOG appends the server's stderr to a file that outlives the test.

APISERVER_BIN=$KSTATUS_BUILD_DIR/tests/apiserver/kstatus-test-apiserver

_stop_apiserver() { # pid
        local pid=$1
        kill -TERM "$pid" 2>/dev/null || return 0
        for _ in $(seq 1 50); do
                kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
                sleep 0.1
        done
        echo "# apiserver $pid ignored SIGTERM for 5 s, killing it"
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
}

start_apiserver() {
        # shellcheck disable=SC2154 # _cleanups is lib.sh's, sourced first
        local dir=$TEST_TMP/apiserver.$$.${#_cleanups[@]}
        mkdir -p "$dir"
        local access=$dir/access.log arg prev=
        for arg in "$@"; do
                [ "$prev" = --access-log ] && access=$arg
                case $arg in --access-log=*) access=${arg#--access-log=} ;; esac
                prev=$arg
        done
        # KSTATUS_APISERVER_LOG: keep the server's stderr (ASan/valgrind reports) in that file.
        ${KSTATUS_APISERVER_WRAPPER:-} "$APISERVER_BIN" --port 0 --write-kubeconfig "$dir/kubeconfig" \
                --write-ca "$dir/ca.crt" --quiet --access-log "$access" "$@" >"$dir/stdout" 2>>"${KSTATUS_APISERVER_LOG:-$dir/stderr}" &
        APISERVER_PID=$!
        at_exit "_stop_apiserver $APISERVER_PID"
        # Ready when it has printed its URL: it listens and the kubeconfig is written.
        for _ in $(seq 1 "${KSTATUS_APISERVER_START_TRIES:-100}"); do
                APISERVER_URL=$(sed -n 's/^serving on //p' "$dir/stdout")
                [ -n "$APISERVER_URL" ] && break
                if ! kill -0 "$APISERVER_PID" 2>/dev/null; then
                        echo "# apiserver exited:"; sed 's/^/#   /' "${KSTATUS_APISERVER_LOG:-$dir/stderr}"
                        return 1
                fi
                sleep 0.05
        done
        if [ -z "$APISERVER_URL" ]; then
                echo "# apiserver did not start in 5 s:"; sed 's/^/#   /' "${KSTATUS_APISERVER_LOG:-$dir/stderr}"
                return 1
        fi
        APISERVER_DIR=$dir
        APISERVER_TOKEN=$(sed -n 's/^ *token: //p' "$dir/kubeconfig")
        APISERVER_CA=$dir/ca.crt
        APISERVER_ACCESS_LOG=$access
        KUBECONFIG=$dir/kubeconfig
        export KUBECONFIG APISERVER_URL APISERVER_TOKEN APISERVER_PID APISERVER_CA APISERVER_DIR APISERVER_ACCESS_LOG
}

# start_apiserver_client_certs [extra server args...]: start_apiserver with
# --write-client-cert: requests authenticate with the token or with a
# certificate of the client CA the server made (kube-apiserver's
# --client-ca-file). Exports APISERVER_CLIENT_CA (that CA), APISERVER_CLIENT_CERT
# and APISERVER_CLIENT_KEY (a certificate and key it signed, PEM files).
start_apiserver_client_certs() {
        local dir=$TEST_TMP/client-certs.$$.${#_cleanups[@]}
        start_apiserver --write-client-cert "$dir" "$@" || return 1
        APISERVER_CLIENT_CA=$dir/ca.crt
        APISERVER_CLIENT_CERT=$dir/client.crt
        APISERVER_CLIENT_KEY=$dir/client.key
        export APISERVER_CLIENT_CA APISERVER_CLIENT_CERT APISERVER_CLIENT_KEY
}

# apiserver_curl [curl args...] PATH: PATH is appended to the server's URL.
apiserver_curl() {
        local path=${*: -1}
        local args=("${@:1:$#-1}")
        local tls=()
        case $APISERVER_URL in https:*) tls=(--cacert "$APISERVER_CA") ;; esac
        curl -sS "${tls[@]}" -H "Authorization: Bearer $APISERVER_TOKEN" "${args[@]}" "$APISERVER_URL$path"
}

apiserver_install_crds() {
        kubectl apply -f "$KSTATUS_SOURCE_DIR/tests/data/crds/" >/dev/null
}

apiserver_fault() {
        apiserver_curl -f -X POST -H 'Content-Type: application/json' --data "$1" /_kstatus/faults >/dev/null
}

apiserver_clear_faults() {
        apiserver_curl -f -X DELETE /_kstatus/faults >/dev/null
}

apiserver_counters() {
        apiserver_curl -f /_kstatus/counters
}

# apiserver_count VERB PATH: how many VERB requests PATH got (exact path, no query).
apiserver_count() {
        apiserver_counters | jq -r --arg k "$1 $2" '.requests[$k] // 0'
}

apiserver_reset_counters() {
        apiserver_curl -f -X DELETE /_kstatus/counters >/dev/null
}

# apiserver_mark: how many requests the server has answered so far (lines in
# its access log), to wait later for what comes after.
apiserver_mark() {
        local n
        n=$(wc -l <"$APISERVER_ACCESS_LOG") || return 1
        echo $((n))
}

# apiserver_access_count MARK VERB PATH: VERB requests of PATH (query ignored)
# answered after MARK.
apiserver_access_count() {
        awk -v m="$1" -v verb="$2" -v path="$3" 'NR > m + 0 && $2 == verb && ($3 == path || index($3, path "?") == 1)' \
                "$APISERVER_ACCESS_LOG" | wc -l
}

# apiserver_wait_access MARK N VERB PATH [SECONDS]: wait (10 s unless told)
# until at least N VERB requests of PATH were answered after MARK. A watch is
# logged once registered, so "the watcher is listening" is observable. 1 on
# timeout, with a diagnostic line.
apiserver_wait_access() {
        local tries=$((${5:-10} * 20))
        while [ "$(apiserver_access_count "$1" "$3" "$4")" -lt "$2" ]; do
                if ((--tries <= 0)); then
                        echo "# timed out waiting for $2 $3 $4 after request $1"
                        return 1
                fi
                sleep 0.05
        done
}

# apiserver_stored_after LOG T0 PATH: µs from T0 (bash's $EPOCHREALTIME without
# its dot) to the first PATCH of PATH (query ignored) the server answered 200,
# from a server started with --access-log LOG: when the write was stored and
# every reader could see it. Prints nothing if there is none yet.
apiserver_stored_after() {
        awk -v t0="$2" -v path="$3" '$2 == "PATCH" && $4 == 200 && (($3 == path) || index($3, path "?") == 1) {
                t = $1; sub(/\./, "", t); if (t + 0 >= t0 + 0) { print t - t0; exit } }' "$1"
}

apiserver_outage() {
        apiserver_curl -f -X POST --data "{\"seconds\":$1}" /_kstatus/outage >/dev/null
}

# apiserver_log NS POD CONTAINER TEXT [previous] [close] [restart]: append
# TEXT (newlines included as given) to the log kubectl logs shows for that
# container: its current run, or with "previous" the run before (kubectl logs
# --previous). "close" ends the run (kubectl logs -f returns); "restart" first
# makes the current run the previous one, as the kubelet restarting it. The
# Pod's container statuses decide, as on a real node, which run a read sees.
apiserver_log() {
        local ns=$1 pod=$2 container=$3 text=$4 flag body
        shift 4
        # The text through stdin: a long log does not fit in one argument.
        body=$(printf '%s' "$text" | jq -Rsc --arg ns "$ns" --arg pod "$pod" --arg c "$container" \
                '{namespace: $ns, pod: $pod, container: $c, text: .}') || return 1
        for flag in "$@"; do
                case $flag in
                previous | close | restart) body=$(jq -c --arg f "$flag" '.[$f] = true' <<<"$body") ;;
                *) echo "apiserver_log: unknown flag \"$flag\"" >&2; return 2 ;;
                esac
        done
        apiserver_curl -f -X POST -H 'Content-Type: application/json' --data-binary @- /_kstatus/logs \
                <<<"$body" >/dev/null
}
