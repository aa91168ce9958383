#!/usr/bin/env bash
# pods/log against the test API server with real `kubectl logs`: logs fed
# through the control API (apiserver_log), the run a read sees chosen from the
# Pod's container statuses as the kubelet chooses it, --tail, --timestamps,
# --limit-bytes, --since, --since-time, --previous and -f (until the run ends,
# the Pod goes or kubectl leaves), the size cap per container run, and every
# refusal worded as kube-apiserver and the kubelet word it (the texts are
# copied from kubernetes' pkg/registry/core/pod/strategy.go, pkg/kubelet/
# kubelet_pods.go and ValidatePodLogOptions, not from the server's code).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
cd "$TEST_TMP" || exit 1

start_apiserver --max-log-bytes 64Ki || exit 1
pods=/api/v1/namespaces/default/pods

make_pod() { # NAME
        kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  initContainers: [{name: reader, image: reader}]
  containers: [{name: main, image: main}, {name: status-writer, image: status-writer}]
YAML
}
# set_statuses NAME JSON: the kubelet's view of the containers (pods/status).
set_statuses() {
        kubectl patch pod "$1" --subresource=status --type merge -p "{\"status\":$2}" >/dev/null
}
running='{"running":{"startedAt":"2025-01-01T00:00:00Z"}}'
make_pod p
set_statuses p "{\"containerStatuses\":[{\"name\":\"main\",\"state\":$running},
        {\"name\":\"status-writer\",\"state\":{\"waiting\":{\"reason\":\"ContainerCreating\"}}}]}"

# ---- reading ----
apiserver_log default p main $'one\ntwo\nthree\nfour\npartial'
is "$(kubectl logs p -c main)" $'one\ntwo\nthree\nfour\npartial' "kubectl logs -c: the log as written"
is "$(kubectl logs p -c main --tail 2)" $'four\npartial' "--tail 2: the last two lines"
is "$(kubectl logs p -c main --tail 0)" "" "--tail 0: nothing"
is "$(kubectl logs p -c main --limit-bytes 6)" $'one\ntw' "--limit-bytes 6: cut at six bytes"
apiserver_log default p main $'\nfive\n'
is "$(kubectl logs p -c main --tail 2)" $'partial\nfive' "a partial line goes on where it stopped"
like "$(kubectl logs p -c main --timestamps --tail 1)" \
        '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z five$' \
        "--timestamps: RFC3339NanoFixed in UTC and a space before each line"

# Lines written at a given time (the control API's "time"): --since and --since-time.
make_pod t
set_statuses t "{\"containerStatuses\":[{\"name\":\"main\",\"state\":$running}]}"
apiserver_curl -f -o /dev/null -X POST --data \
        '{"pod":"t","container":"main","text":"old\n","time":"2020-01-02T03:04:05Z"}' /_kstatus/logs
apiserver_log default t main $'new\n'
is "$(kubectl logs t --timestamps --tail 2 | head -1)" "2020-01-02T03:04:05.000000000Z old" \
        "--timestamps of a line written at 2020-01-02T03:04:05Z"
is "$(kubectl logs t --since 1h)" "new" "--since 1h: only the recent line"
is "$(kubectl logs t --since-time 2020-01-02T03:04:05Z)" "new" "--since-time: lines after that time only"
is "$(kubectl logs t --since-time 2020-01-02T03:04:04Z)" $'old\nnew' "--since-time a second earlier: both"

is "$(apiserver_curl /api/v1 | jq -c '.resources[] | select(.name == "pods/log") | [.kind, .verbs]')" \
        '["Pod",["get"]]' "discovery lists pods/log (get)"

# ---- errors, as the kubelet and kube-apiserver word them ----
is "$(kubectl logs p -c status-writer 2>&1)" \
        'Error from server (BadRequest): container "status-writer" in pod "p" is waiting to start: ContainerCreating' \
        "a waiting container: its reason"
is "$(kubectl logs p -c reader 2>&1)" 'Error from server (BadRequest): container "reader" in pod "p" is not available' \
        "a container without a status: not available"
is "$(kubectl logs p -c main --previous 2>&1)" \
        'Error from server (BadRequest): previous terminated container "main" in pod "p" not found' \
        "--previous without a terminated run: not found"
is "$(kubectl logs nope 2>&1)" 'error: error from server (NotFound): pods "nope" not found in namespace "default"' \
        "a Pod that does not exist: NotFound (kubectl's own GET)"
code=$(apiserver_curl -o body.json -w '%{http_code}' "$pods/nope/log")
is "$code $(jq -r '.reason + ": " + .message' body.json)" '404 NotFound: pods "nope" not found' \
        "pods/log of a Pod that does not exist: 404 NotFound"
code=$(apiserver_curl -o body.json -w '%{http_code}' "$pods/p/log")
is "$code $(jq -r .message body.json)" \
        '400 a container name must be specified for pod p, choose one of: [reader main status-writer]' \
        "no container named in a Pod of several: 400 with every name, init containers first"
code=$(apiserver_curl -o body.json -w '%{http_code}' "$pods/p/log?container=zz")
is "$code $(jq -r .message body.json)" '400 container zz is not valid for pod p' "an unknown container: 400"
code=$(apiserver_curl -o body.json -w '%{http_code}' "$pods/p/log?container=main&tailLines=-1&limitBytes=0")
is "$code $(jq -r .message body.json)" '422 PodLogOptions "p" is invalid: [tailLines: Invalid value: -1: must be greater than or equal to 0, limitBytes: Invalid value: 0: must be greater than 0]' \
        "negative tailLines and zero limitBytes: 422 as ValidatePodLogOptions words it"
code=$(apiserver_curl -o body.json -w '%{http_code}' \
        "$pods/p/log?container=main&sinceSeconds=5&sinceTime=2020-01-01T00:00:00Z")
is "$code $(jq -r .message body.json)" \
        '422 PodLogOptions "p" is invalid: : Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified' \
        "sinceSeconds with sinceTime: 422 Forbidden"
set_statuses p '{"containerStatuses":[{"name":"main","state":{"terminated":{"exitCode":0}}},
        {"name":"status-writer","state":{"waiting":{"reason":"ErrImagePull"}}}]}'
is "$(kubectl logs p -c main 2>&1)" 'Error from server (BadRequest): container "main" in pod "p" is terminated' \
        "terminated without a containerID (it never ran): terminated"
is "$(kubectl logs p -c status-writer 2>&1)" \
        "Error from server (BadRequest): container \"status-writer\" in pod \"p\" is waiting to start: image can't be pulled" \
        "ErrImagePull: the kubelet's own words"
set_statuses p '{"containerStatuses":[{"name":"main","state":{}}]}'
is "$(kubectl logs p -c main 2>&1)" \
        'Error from server (BadRequest): container "main" in pod "p" is waiting to start - no logs yet' \
        "no state at all: no logs yet"

# ---- restarts and --previous ----
apiserver_log default p main $'last words\n' close
apiserver_log default p main $'second run\n' restart
set_statuses p "{\"containerStatuses\":[{\"name\":\"main\",\"restartCount\":1,\"state\":$running,
        \"lastState\":{\"terminated\":{\"exitCode\":1,\"containerID\":\"containerd://1\"}}}]}"
is "$(kubectl logs p -c main --previous | tail -2)" $'five\nlast words' "--previous: the run before the restart"
is "$(kubectl logs p -c main)" "second run" "the current run starts empty after a restart"
set_statuses p '{"containerStatuses":[{"name":"main","state":{"waiting":{"reason":"CrashLoopBackOff"}},
        "lastState":{"terminated":{"exitCode":1,"containerID":"containerd://2"}}}]}'
is "$(kubectl logs p -c main | tail -1)" "last words" \
        "waiting in CrashLoopBackOff: the last run that ran, as the kubelet shows it"
apiserver_log default p main 'more' previous
is "$(kubectl logs p -c main --previous | tail -1)" "more" "apiserver_log ... previous appends to the previous run"
set_statuses p "{\"containerStatuses\":[{\"name\":\"main\",\"state\":$running}]}"

# ---- the control API refuses what a node could not have ----
code=$(apiserver_curl -o body.json -w '%{http_code}' -X POST --data '{"pod":"nope","container":"main","text":"x"}' \
        /_kstatus/logs)
is "$code $(jq -r .message body.json)" '404 pods "nope" not found' "feeding the log of a missing Pod: 404"
code=$(apiserver_curl -o body.json -w '%{http_code}' -X POST --data '{"pod":"p","container":"zz","text":"x"}' \
        /_kstatus/logs)
is "$code" 400 "feeding the log of a container the Pod does not have: 400"
apiserver_log default p main $'closing\n' close
code=$(apiserver_curl -o body.json -w '%{http_code}' -X POST --data '{"pod":"p","container":"main","text":"x"}' \
        /_kstatus/logs)
is "$code" 409 "writing to a closed run: 409 (restart it first)"
apiserver_log default p main '' restart

# ---- follow ----
# wait_file FILE WANT: until FILE holds exactly WANT (10 s).
# shellcheck disable=SC2317 # called by name (poll, wait_for, wait_until)
wait_file() {
        local i
        for i in $(seq 1 200); do
                [ "$(cat "$1")" = "$2" ] && return 0
                sleep 0.05
        done
        return 1
}
# follow ARGS...: kubectl logs -f ARGS in the background, its output in
# f.out and, once it has returned, its exit status in f.rc.
follow() {
        rm -f f.rc
        (kubectl logs -f "$@" >f.out 2>&1; echo $? >f.rc) &
}
apiserver_log default p main $'a\nb\npart'
follow p -c main
ok "kubectl logs -f: what is there, complete lines only" wait_file f.out $'a\nb'
apiserver_log default p main $'ial\nc\n'
ok "kubectl logs -f: new lines as they are written" wait_file f.out $'a\nb\npartial\nc'
is "$(cat f.rc 2>&1)" "cat: f.rc: No such file or directory" "kubectl logs -f keeps following an open run"
apiserver_log default p main 'end' close
ok "kubectl logs -f returns 0 once the run is closed" wait_file f.rc 0
is "$(cat f.out)" $'a\nb\npartial\nc\nend' "and printed every line, the last partial one included"

apiserver_log default p main $'r1\n' restart
follow p -c main --tail 1
ok "kubectl logs -f --tail 1" wait_file f.out "r1"
apiserver_log default p main $'r1 last\n'
apiserver_log default p main $'r2\n' restart
ok "a restart ends a follow of the run that stopped" wait_file f.rc 0
is "$(cat f.out)" $'r1\nr1 last' "after its last lines"

follow p -c main
ok "a follow before the Pod is deleted" wait_file f.out "r2"
kubectl delete pod p --wait=false >/dev/null
ok "deleting the Pod ends kubectl logs -f" wait_file f.rc 0

make_pod p
set_statuses p "{\"containerStatuses\":[{\"name\":\"main\",\"state\":$running}]}"
is "$(kubectl logs p -c main)" "" "a Pod created again under the same name starts with an empty log"

# A follower that leaves frees its server thread, and one that waits costs no CPU.
kubectl logs -f p -c main >f.out 2>&1 &
follower=$!
at_exit "kill $follower 2>/dev/null"
apiserver_log default p main $'x\n'
ok "a follower of the new Pod" wait_file f.out "x"
ticks() { awk '{ print $14 + $15 }' "/proc/$APISERVER_PID/stat"; }
threads() { awk '/^Threads:/ { print $2 }' "/proc/$APISERVER_PID/status"; }
before=$(ticks)
sleep 1 # a measuring window, not a synchronisation
spent=$(($(ticks) - before))
if [ "$spent" -le 5 ]; then
        _tap_result 0 "an idle follow uses no CPU (${spent} ticks in 1 s)"
else
        _tap_result 1 "an idle follow uses no CPU" "${spent} clock ticks in 1 s"
fi
busy=$(threads)
kill $follower
wait $follower 2>/dev/null
freed=
for i in $(seq 1 60); do # the server notices within its 1 s wake-up
        [ "$(threads)" -lt "$busy" ] && { freed=1; break; }
        sleep 0.05
done
is "${freed:-no}" 1 "kubectl leaving a follow frees the server's thread"

# ---- the cap per container run ----
# 10 000 lines of 11 bytes ("line 00001\n") after "x\n" into a 64 KiB cap keep
# the last 5957 (5957 x 11 = 65527 <= 65536 < 5958 x 11).
apiserver_log default p main "$(seq -f 'line %05g' 1 10000)"$'\n'
got=$(kubectl logs p -c main)
is "$(printf '%s\n' "$got" | wc -l) $(printf '%s\n' "$got" | sed -n '1p;$p' | tr '\n' ' ')" \
        "5957 line 04044 line 10000 " "over the cap the oldest lines go: line 04044 ... line 10000 are kept"

done_testing
