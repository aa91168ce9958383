#!/usr/bin/env bash
# scripts/demo-live, the README's first command once built, runs to the end
# and shows the seed's end state.
. "$(dirname "$0")/lib.sh"

out=$(KSTATUS_BUILD_DIR=$KSTATUS_BUILD_DIR timeout 120 "$KSTATUS_SOURCE_DIR/scripts/demo-live" 2>&1); rc=$?
is "$rc" 0 "scripts/demo-live exits 0"
[ "$rc" = 0 ] || printf '%s\n' "$out" | sed 's/^/# /'
like "$out" 'example   Creating user' "kubectl get shows the live message while create-user runs"
like "$out" 'iam.example.promise.syntasso.io/example condition met' "kubectl wait for ConfigureWorkflowCompleted returns"
like "$out" 'example   User created and vault secret created' "kubectl get shows the last pipeline's message"
like "$out" 'password: <vault-ref>' "the status keeps iam.password"
like "$out" 'user: admin' "and iam.user from the first pipeline"
ok "nothing is left running" bash -c "! pgrep -f 'kstatus-demo\\.' >/dev/null"
done_testing
