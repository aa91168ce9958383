#!/usr/bin/env bash
# kubectl kstatus logs beside the Kratix stand-in: the seed's two pipelines in
# the order they ran, each line prefixed [pipeline/container]; --pipeline, -c,
# --tail, --previous, --since; a failing pipeline's last lines; a container
# still waiting; no Pods yet; -f across two pipelines; hostile bytes escaped.
# Where one container is asked for, the text is compared with real kubectl logs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-sidecar.sh"
. "$(dirname "$0")/lib-kratix.sh"

kratix_setup

p1="$(seed_pipeline 1)
for i in 1 2 3; do echo \"create-user line \$i\"; done"
p2="$(seed_pipeline 2)
echo 'populate-vault line 1'
printf 'evil \\033[31mred\\033]0;title\\007 \\342\\200\\256rtl\\n'
printf 'no newline at the end'"
kx_configure "$p1" "$p2"
is "$?" 0 "the stand-in runs both pipelines"

out=$(kubectl kstatus logs iam/example 2>"$TEST_TMP/err")
is "$?" 0 "logs exits 0"
is "$(sed -E 's/^(\[[^]]*\]).*/\1/' <<<"$out" | uniq | tr '\n' ' ')" \
        "[create-user/reader] [create-user/pipeline] [create-user/work-writer] [populate-vault/reader] [populate-vault/pipeline] [populate-vault/work-writer] " \
        "containers in the order they ran, pipelines in the workflow's order, the native sidecar left out"
is "$(cat "$TEST_TMP/err")" "" "nothing on stderr"

pod1=$(kubectl get pods -l kratix.io/pipeline-name=create-user -o jsonpath='{.items[0].metadata.name}')
is "$(grep '^\[create-user/pipeline\] ' <<<"$out" | sed 's/^\[create-user\/pipeline\] //')" \
        "$(kubectl logs "$pod1" -c pipeline)" "a container's lines are kubectl logs' for the same Pod and container"
is "$(grep '^\[create-user/reader\] ' <<<"$out" | head -1)" \
        "[create-user/reader] Object file written to: /kratix/input/object.yaml head of file:" "the reader's log"

is "$(kubectl kstatus logs iam example --pipeline create-user -c pipeline --tail 2)" \
        "$(kubectl logs "$pod1" -c pipeline --tail 2 | sed 's/^/[create-user\/pipeline] /')" \
        "--pipeline, -c and --tail pick what kubectl logs --tail picks"
is "$(kubectl kstatus logs iam/example --pipeline populate-vault -c pipeline --tail 1)" \
        "[populate-vault/pipeline] no newline at the end" "a last line without a newline is still a line"
hostile=$(kubectl kstatus logs iam/example --pipeline populate-vault -c pipeline | grep evil)
is "$hostile" '[populate-vault/pipeline] evil \x1b[31mred\x1b]0;title\x07 \u202ertl' \
        "control bytes and a bidirectional override in a log are escaped"
is "$(kubectl kstatus logs iam/example | grep -c $'\033')" 0 "no escape byte reaches the terminal"
is "$(kubectl kstatus logs iam/example -c kstatus-sidecar --pipeline create-user | sed 's/^\[create-user\/kstatus-sidecar\] //')" \
        "$(kubectl logs "$pod1" -c kstatus-sidecar)" "-c names the native sidecar too"
like "$(kubectl kstatus logs iam/example --color=always --pipeline create-user -c pipeline | head -1)" \
        $'^\033\\[3[0-9]m\\[create-user/pipeline\\]\033\\[0m create-user line 1$' "the prefix is coloured with --color=always"
is "$(kubectl kstatus logs iam/example --since=1h | wc -l)" "$(wc -l <<<"$out")" "--since=1h keeps every line"

out=$(kubectl kstatus logs iam/example -c nosuch 2>&1)
fails_with 1 "-c of a container the Pods lack exits 1" kubectl kstatus logs iam/example -c nosuch
like "$out" "^Error from server \(BadRequest\): container nosuch is not valid for pod $pod1\$" \
        "-c of a container the Pods lack: the server's words, as kubectl logs prints them"
out=$(kubectl kstatus logs iam/example --previous -c pipeline 2>&1)
is "$(head -1 <<<"$out")" "$(kubectl logs "$pod1" -c pipeline --previous 2>&1)" \
        "--previous of a container that never restarted: kubectl logs' error"
fails_with 1 "an unknown resource is kubectl's NotFound, exit 1" kubectl kstatus logs iam/nosuch
is "$(kubectl kstatus logs iam/nosuch 2>&1)" "$(kubectl get iam nosuch 2>&1)" "NotFound worded as kubectl's"
fails_with 1 "--tail must be a number (exit 1, as kubectl logs)" kubectl kstatus logs iam/example --tail=x
fails_with 1 "logs takes one name (exit 1, as kubectl logs)" kubectl kstatus logs iams

# No Pods yet.
kubectl get iam example -o json | jq 'del(.status, .metadata.uid, .metadata.resourceVersion,
        .metadata.creationTimestamp, .metadata.generation) | .metadata.name = "second"' | kubectl create -f - >/dev/null
out=$(kubectl kstatus logs iam/second 2>&1)
is "$?" 0 "no Pods yet: exit 0, as kubectl logs -l"
is "$out" "No resources found in default namespace." "no Pods yet: kubectl's words"

# -f from before the first Pod, across both pipelines: the second pipeline's
# container waits until the follower has printed the first pipeline's lines.
kx_resource default iams second
kubectl kstatus logs iam/second -f >"$TEST_TMP/follow.out" 2>"$TEST_TMP/follow.err" &
follow_pid=$!
at_exit "kill $follow_pid 2>/dev/null"
sync2="for i in \$(seq 1 400); do grep -q 'create-user/work-writer' '$TEST_TMP/follow.out' && break; sleep 0.05; done
grep -q 'create-user/work-writer' '$TEST_TMP/follow.out' && echo 'saw pipeline 1 followed'
$p2"
kx_configure "$p1" "$sync2"
is "$?" 0 "the second run completes"
poll 20 sh -c "! kill -0 $follow_pid" && wait "$follow_pid"
is "$?" 0 "logs -f ends after the last pipeline, exit 0"
is "$(sed -E 's/^(\[[^]]*\]).*/\1/' "$TEST_TMP/follow.out" | uniq | tr '\n' ' ')" \
        "[create-user/reader] [create-user/pipeline] [create-user/work-writer] [populate-vault/reader] [populate-vault/pipeline] [populate-vault/work-writer] " \
        "-f follows the first pipeline's Pod and the next one's when it starts"
like "$(cat "$TEST_TMP/follow.out")" '\[populate-vault/pipeline\] saw pipeline 1 followed' \
        "the second pipeline ran after the follower had printed the first's lines"
is "$(cat "$TEST_TMP/follow.err")" "" "-f: nothing on stderr"
is "$(kubectl kstatus logs iam/second)" "$(cat "$TEST_TMP/follow.out")" "-f printed what logs prints afterwards"

# A pipeline that fails once and, on its retry, waits: its last lines through
# --previous; the containers after it are still waiting.
KX_BACKOFF_LIMIT=1 kx_resource default iams example
fail_cmd="echo 'connecting to vault'; echo 'error: vault unreachable'
[ -e '$TEST_TMP/attempt' ] || { touch '$TEST_TMP/attempt'; exit 1; }
touch '$TEST_TMP/retrying'; for i in \$(seq 1 600); do [ -e '$TEST_TMP/release' ] && break; sleep 0.05; done; exit 1"
KX_BACKOFF_LIMIT=1 KX_PIPELINES=failing kx_configure "$fail_cmd" >/dev/null 2>&1 &
run_pid=$!
at_exit "touch '$TEST_TMP/release'; kill $run_pid 2>/dev/null"
poll 20 test -e "$TEST_TMP/retrying"
podf=$(kubectl get pods -l kratix.io/pipeline-name=failing -o jsonpath='{.items[0].metadata.name}')
out=$(kubectl kstatus logs iam/example --pipeline failing --previous 2>&1)
is "$out" "$(kubectl logs "$podf" -c pipeline --previous | sed 's/^/[failing\/pipeline] /')" \
        "--previous shows the failed run's last lines, as kubectl logs --previous"
like "$out" 'error: vault unreachable$' "the failure is the last line"
out=$(kubectl kstatus logs iam/example --pipeline failing -c work-writer 2>&1)
is "$out" "$(kubectl logs "$podf" -c work-writer 2>&1)" "a container still waiting: kubectl's words, which say why"
like "$out" 'container "work-writer" in pod ".*" is waiting to start: PodInitializing' "it names the container and the reason"
fails_with 1 "a waiting container asked for exits 1" kubectl kstatus logs iam/example --pipeline failing -c work-writer
out=$(kubectl kstatus logs iam/example --pipeline failing 2>&1)
is "$(sed -E 's/^(\[[^]]*\]).*/\1/' <<<"$out" | uniq | tr '\n' ' ')" "[failing/reader] " \
        "while the pipeline container runs, the ones after it are left out quietly"
touch "$TEST_TMP/release"
wait "$run_pid"
is "$(kubectl kstatus logs iam/example --all-runs | sed -E 's/^(\[[^]]*\]).*/\1/' | uniq | tr '\n' ' ')" \
        "[create-user/reader] [create-user/pipeline] [create-user/work-writer] [populate-vault/reader] [populate-vault/pipeline] [populate-vault/work-writer] " \
        "--all-runs: every Pod still there, oldest first (the failed Job's Pod is gone)"
done_testing
