#!/usr/bin/env bash
# kubectl and kubectl kstatus side by side on the same objects: every flag
# form pflag reads, kubectl's words and exit codes for bad flags, selectors and
# names, and kubectl wait's cases. The oracle is real kubectl; where kstatus
# differs on purpose (README's table of differences) the test says so.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
cd "$TEST_TMP" || exit 1
start_apiserver || exit 1
apiserver_install_crds
kubectl create namespace team-a >/dev/null
for n in example example2 other; do
        kubectl create -f - >/dev/null <<EOT
apiVersion: example.promise.syntasso.io/v1
kind: IAM
metadata: {name: $n, namespace: team-a, labels: {special: "$([ $n = example ] && echo yes || echo no)"}}
spec: {}
EOT
done
kubectl -n team-a patch iam example --subresource=status --type merge -p \
        '{"status":{"conditions":[{"type":"Reconciled","status":"True","reason":"X","message":"","lastTransitionTime":"2024-01-01T00:00:00Z"}]}}' >/dev/null

# same DESCRIPTION ARGS...: `kubectl ARGS` and `kubectl kstatus ARGS` print
# the same standard output and exit the same way.
same() {
        local d=$1 want got
        shift
        want=$(kubectl "$@" 2>/dev/null; echo "rc=$?")
        got=$(kubectl kstatus "$@" 2>/dev/null; echo "rc=$?")
        is "$got" "$want" "$d"
}

# words COMMAND ARGS...: what `kubectl COMMAND ARGS` says on stderr (klog's
# lines dropped), with kubectl's command path as the plugin's, then its exit.
words() {
        local cmd=$1 out rc
        shift
        out=$(kubectl "$cmd" "$@" 2>&1 >/dev/null); rc=$?
        printf '%s\n' "$out" | grep -v '^[IW][0-9]' | sed "s/'kubectl $cmd /'kubectl kstatus $cmd /"
        echo "rc=$rc"
}
kwords() { # COMMAND ARGS...: the same for kubectl kstatus
        local out rc
        out=$(kubectl kstatus "$@" 2>&1 >/dev/null); rc=$?
        printf '%s\n' "$out"
        echo "rc=$rc"
}

# --- flag forms, as pflag reads them ---
for form in "-n team-a" "-nteam-a" "-n=team-a" "--namespace team-a" "--namespace=team-a"; do
        # shellcheck disable=SC2086 # the form is split on purpose
        same "get: $form" get iams $form -o name
done
for form in "-l special=yes" "-lspecial=yes" "-l=special=yes" "--selector special=yes" "--selector=special=yes"; do
        # shellcheck disable=SC2086
        same "get: $form" get iams -n team-a $form -o name
done
for form in "-o name" "-oname" "-o=name" "--output name" "--output=name"; do
        # shellcheck disable=SC2086
        same "get: $form" get iams -n team-a $form
done
same "get: flags before the type" get -n team-a -o name iams
same "get: -- ends the flags" get -n team-a -o name -- iams
same "get: -A=false is no -A" get iams -n team-a -A=false -o name
same "get: --all-namespaces=false" get iams -n team-a --all-namespaces=false -o name
same "get: -A=true" get iams -A=true -o name
same "get: a shorthand group, -Ao name" get iams -Ao name
same "get: -v=6 is kubectl's verbosity, accepted" get iams -n team-a -v=6 -o name
same "get: -v 6" get iams -n team-a -v 6 -o name
same "get: --v=6" get iams -n team-a --v=6 -o name
same "describe: --show-events=false" describe iam example -n team-a --show-events=false -o name
ok "get: --no-headers=true is a boolean with a value" kubectl kstatus get iams -n team-a --no-headers=true

# --- bad flags: kubectl's two lines and its exit code (1) ---
for bad in --frob --frob=1 -Q -Aq -A=maybe --all-namespaces=maybe -n --namespace ---x --=x -v=x -v --v=99999999999 \
        "-l"; do
        is "$(kwords get iams "$bad")" "$(words get iams "$bad")" "get $bad: kubectl's error and exit code"
done
is "$(kwords describe iams --frob)" "$(words describe iams --frob)" "describe --frob: kubectl's error and exit code"
is "$(kwords describe iams --show-events=maybe)" "$(words describe iams --show-events=maybe)" \
        "describe --show-events=maybe: kubectl's bad boolean"
# wait keeps its documented usage code, 2 (README's table of differences); the words are kubectl's.
is "$(kwords wait iam/example --for=delete --frob)" "$(words wait iam/example --for=delete --frob | sed 's/^rc=1$/rc=2/')" \
        "wait --frob: kubectl's error, wait's usage exit code 2"

# --- API errors: get and describe exit 1, as kubectl ---
for cmd in get describe; do
        is "$(kwords $cmd iam nope -n team-a)" "$(words $cmd iam nope -n team-a)" "$cmd of a missing name: kubectl's NotFound, exit 1"
        for sel in '=x' 'a in (b'; do
                is "$(kwords $cmd iams -n team-a -l "$sel")" "$(words $cmd iams -n team-a -l "$sel")" \
                        "$cmd -l '$sel': kubectl's words for a bad selector, exit 1"
        done
done
is "$(kwords wait iams -n team-a -l '=x' --for=delete)" "$(words wait iams -n team-a -l '=x' --for=delete | sed 's/^rc=1$/rc=4/')" \
        "wait -l '=x': kubectl's words, wait's API exit code 4"

# --- describe TYPE PREFIX: every object whose name starts with it ---
names() { grep '^Name:' | awk '{print $2}' | sort; }
is "$(kubectl kstatus describe iam ex -n team-a | names)" "$(kubectl describe iam ex -n team-a | names)" \
        "describe iam ex describes example and example2, as kubectl"
is "$(kubectl kstatus describe iam ex -n team-a | names | tr '\n' ' ')" "example example2 " "and only those"
is "$(kwords describe iam/ex -n team-a)" "$(words describe iam/ex -n team-a)" "describe iam/ex is no prefix (kubectl): NotFound"
is "$(kwords describe iam zz -n team-a)" "$(words describe iam zz -n team-a)" "a prefix that matches nothing: kubectl's NotFound"

# --- wait ---
# waits ARGS...: kubectl wait and kubectl kstatus wait, stdout and stderr together, then the exit code.
waits() {
        local want got
        want=$(kubectl wait "$@" 2>&1 | grep -v '^[IW][0-9]'; echo "rc=${PIPESTATUS[0]}")
        got=$(kubectl kstatus wait "$@" 2>&1; echo "rc=$?")
        printf '%s\n---\n%s\n' "$want" "$got"
}
same_wait() { # DESCRIPTION ARGS...
        local d=$1 out
        shift
        out=$(waits "$@")
        is "${out#*---
}" "${out%%
---*}" "$d"
}
same_wait "wait: condition types match without case, as kubectl" iam/example -n team-a --for=condition=reconciled --timeout=5s
same_wait "wait: --for=condition=RECONCILED=true" iam/example -n team-a --for=condition=RECONCILED=true --timeout=5s
same_wait "wait --timeout=0: kubectl's 'condition not met for'" iam/example -n team-a --for=condition=Ready --timeout=0
same_wait "wait --timeout=0s on two objects" iam/example iam/example2 -n team-a --for=condition=Ready --timeout=0s
same_wait "wait: two objects time out: kubectl's aggregate, a line each" iam/example iam/example2 -n team-a --for=condition=Ready --timeout=1s
same_wait "wait --for=create on an object that exists" iam/example -n team-a --for=create --timeout=5s
same_wait "wait --for=create on one that never comes: kubectl's timeout" iam/nope -n team-a --for=create --timeout=1s
same_wait "wait TYPE --all" iams -n team-a -l special=yes --all --for=condition=Reconciled --timeout=5s
same_wait "wait TYPE -l" iams -n team-a -l special=yes --for=condition=Reconciled --timeout=5s
out=$(waits iams -n team-a --for=condition=Reconciled --timeout=1s)
is "${out#*---
}" "$(printf '%s\n' "${out%%
---*}" | sed 's/^rc=1$/rc=2/')" "wait TYPE without names, --all or -l: kubectl's words, wait's usage exit code 2"

# --for=create sees an object created while it waits.
mark=$(apiserver_mark)
kubectl kstatus wait iam/late -n team-a --for=create --timeout=20s >late.out 2>&1 &
bg=$!
apiserver_wait_access "$mark" 1 GET /apis/example.promise.syntasso.io/v1/namespaces/team-a/iams
kubectl create -n team-a -f - >/dev/null <<'EOT'
apiVersion: example.promise.syntasso.io/v1
kind: IAM
metadata: {name: late}
spec: {}
EOT
wait "$bg"
is "$?:$(cat late.out)" "0:iam.example.promise.syntasso.io/late condition met" "wait --for=create is met when the object comes"

# Forbidden on the named object: kubectl's first request is a GET of it, and so is ours.
apiserver_fault '{"verb":"GET","path":"/apis/example.promise.syntasso.io/v1/namespaces/team-a/iams/example","code":403}'
out=$(waits iam/example -n team-a --for=condition=Reconciled --timeout=3s)
apiserver_clear_faults
is "${out#*---
}" "$(printf '%s\n' "${out%%
---*}" | sed 's/^rc=1$/rc=4/')" "wait: a Forbidden GET of the object is kubectl's error (wait's API exit code 4)"

# One workflow failed: the others are still reported (exit 3).
kubectl -n team-a patch iam example2 --subresource=status --type merge -p \
        '{"status":{"conditions":[{"type":"ConfigureWorkflowCompleted","status":"False","reason":"ConfigureWorkflowFailed","message":"A Configure Pipeline has failed: p","lastTransitionTime":"2024-01-01T00:00:00Z"}]}}' >/dev/null
kubectl -n team-a patch iam example --subresource=status --type merge -p \
        '{"status":{"conditions":[{"type":"ConfigureWorkflowCompleted","status":"True","reason":"PipelinesExecutedSuccessfully","message":"Pipelines completed","lastTransitionTime":"2024-01-01T00:00:00Z"}]}}' >/dev/null
out=$(kubectl kstatus wait iam/example2 iam/example -n team-a --for=condition=ConfigureWorkflowCompleted --timeout=5s 2>&1); rc=$?
is "$rc" 3 "one failed workflow among two: exit 3"
like "$out" "iam.example.promise.syntasso.io/example condition met" "the other resource is still reported"
like "$out" "error: the workflow of iams/example2 failed: A Configure Pipeline has failed: p" "and the failure named"
start=$(date +%s%N)
out=$(kubectl kstatus wait iam/example2 iam/other -n team-a --for=condition=ConfigureWorkflowCompleted --timeout=2s 2>&1); rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$rc" 3 "a failure and a timeout: exit 3"
like "$out" "error: timed out waiting for the condition on iams/other" "the resource still unmet is waited for and reported"
is "$(( ms >= 1900 ))" 1 "the failure did not end the wait on the other (took $ms ms)"

# --timeout is one deadline for every request (issue 20 item 10): four stalled reads, 3 s in all.
kubectl create -f - >/dev/null <<'EOT'
apiVersion: example.promise.syntasso.io/v1
kind: Database
metadata: {name: d, namespace: team-a}
spec: {}
EOT
apiserver_fault '{"verb":"GET","path":"/apis/example.promise.syntasso.io/v1/namespaces/team-a/*","latencyMs":2500}'
start=$(date +%s%N)
out=$(timeout 30 kubectl kstatus wait iam/example db/d -n team-a --for=condition=Never --timeout=3s 2>&1); rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$rc" 1 "stalled reads of two types end in a timeout, exit 1"
is "$(( ms >= 2900 && ms < 4500 ))" 1 "--timeout=3s over four stalled reads returns at about 3 s (took $ms ms)"
start=$(date +%s%N)
out=$(timeout 30 kubectl kstatus wait iam/example -n team-a --for=condition=Never --timeout=20s --request-timeout=1s 2>&1); rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
apiserver_clear_faults
is "$rc" 4 "--request-timeout still caps each request: an API error, exit 4"
is "$(( ms < 2500 ))" 1 "after about 1 s, not the 20 s --timeout (took $ms ms)"

done_testing
