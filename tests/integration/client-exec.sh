#!/usr/bin/env bash
# Exec credential plugins (client.authentication.k8s.io/v1 and v1beta1)
# through common/kube against kstatus-test-apiserver, side by side with
# kubectl: caching until expirationTimestamp, KUBERNETES_EXEC_INFO, the
# kubeconfig's env, re-running after 401, and kubectl's words when the
# plugin is missing or fails.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
cd "$TEST_TMP" || exit 1

KC=${KUBE_CLIENT:-$KSTATUS_BUILD_DIR/tests/tools/kube-client} # KUBE_CLIENT: e.g. a valgrind wrapper
start_apiserver || exit 1
apiserver_install_crds
DB=/apis/example.promise.syntasso.io/v1/namespaces/default/databases
for n in a b c d; do
        printf 'apiVersion: example.promise.syntasso.io/v1\nkind: Database\nmetadata: {name: %s, namespace: default}\nspec: {}\n---\n' $n
done | kubectl apply -f - >/dev/null

# The plugin: logs each run and what it was given, prints a credential.
cat >plugin <<'EOF'
#!/bin/sh
echo run >>"$PLUGIN_LOG"
printf '%s\n' "$KUBERNETES_EXEC_INFO" >"$PLUGIN_LOG.info"
printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"%s"%s}}\n' \
        "$PLUGIN_API" "$PLUGIN_TOKEN" "${PLUGIN_EXPIRY:+,\"expirationTimestamp\":\"$PLUGIN_EXPIRY\"}"
EOF
chmod +x plugin

# kubeconfig API TOKEN EXPIRY [COMMAND] [MODE]: the server's kubeconfig with an exec user.
kubeconfig() {
        kubectl config view --raw -o json | jq --arg api "$1" --arg tok "$2" --arg exp "$3" \
                --arg cmd "${4:-$TEST_TMP/plugin}" --arg mode "${5:-Never}" --arg log "$TEST_TMP/runs" '
                .users[0].user = {exec: ({apiVersion: $api, command: $cmd,
                        env: [{name: "PLUGIN_API", value: $api}, {name: "PLUGIN_TOKEN", value: $tok},
                              {name: "PLUGIN_EXPIRY", value: $exp}, {name: "PLUGIN_LOG", value: $log}]}
                        + (if $mode == "" then {} else {interactiveMode: $mode} end))}'
}
runs() { if [ -f runs ]; then wc -l <runs | tr -d ' '; else echo 0; fi; }

V1=client.authentication.k8s.io/v1
V1B1=client.authentication.k8s.io/v1beta1

kubeconfig $V1 "$APISERVER_TOKEN" 2999-01-01T00:00:00Z >exec.json
rm -f runs
out=$(KUBECONFIG=exec.json "$KC" list $DB 1 2>err)
is "$(jq -r '[.items[].metadata.name] | join(" ")' <<<"$out")" "a b c d" "a LIST in pages of 1 with the plugin's token"
like "$(cat err)" 'requests: 4 ' "four requests"
is "$(runs)" 1 "the credential is cached until it expires: the plugin ran once"
is "$(jq -c .spec runs.info)" '{"interactive":false}' "KUBERNETES_EXEC_INFO says not interactive"
is "$(jq -r .apiVersion runs.info)" $V1 "KUBERNETES_EXEC_INFO carries the apiVersion"
rm -f runs
ok "kubectl accepts the same kubeconfig" env KUBECONFIG=exec.json kubectl get db a

kubeconfig $V1 "$APISERVER_TOKEN" 2020-01-01T00:00:00Z >expired.json
rm -f runs
KUBECONFIG=expired.json "$KC" list $DB 1 >/dev/null 2>err
is "$?/$(runs)" "0/4" "an expired credential serves its request, then the plugin runs again: four runs for four requests"

kubeconfig $V1B1 "$APISERVER_TOKEN" "" plugin "" >beta.json
rm -f runs
ok "v1beta1 without interactiveMode, the command found relative to the kubeconfig's PATH" \
        env PATH="$TEST_TMP:$PATH" KUBECONFIG=beta.json "$KC" get $DB/a
is "$(jq -r .apiVersion runs.info)" $V1B1 "v1beta1 is what the plugin is told"

kubeconfig $V1 wrong-token "" >wrong.json
rm -f runs
out=$(KUBECONFIG=wrong.json "$KC" get $DB/a 2>&1)
is "$(head -1 <<<"$out")" "error: You must be logged in to the server (Unauthorized)" "a token the server refuses: 401"
is "$(runs)" 2 "after a 401 the plugin runs once more"
ok "the plugin's token is not in the message" test -z "$(grep -F wrong-token <<<"$out")"

# ---- kubectl's words ----
kubeconfig $V1 x "" "" "" >no-mode.json
is "$(KUBECONFIG=no-mode.json "$KC" get $DB/a 2>&1 | head -1)" "$(KUBECONFIG=no-mode.json kubectl get db a 2>&1 | tail -1)" \
        "v1 without interactiveMode: kubectl's error"

kubeconfig $V1 x "" kstatus-no-such-plugin >missing.json
jq '.users[0].user.exec.installHint = "install it with: apt install kstatus-no-such-plugin"' missing.json >missing-hint.json
want=$(KUBECONFIG=missing-hint.json kubectl get db a 2>&1 | sed -n '/^Unable to connect/,$p')
got=$(KUBECONFIG=missing-hint.json "$KC" get $DB/a 2>&1 | grep -v '^requests: ')
is "$got" "$want" "a missing plugin: kubectl's message, install hint included"
fails_with 1 "a missing plugin fails" env KUBECONFIG=missing.json "$KC" get $DB/a

printf '#!/bin/sh\nexit 3\n' >failing
chmod +x failing
kubeconfig $V1 x "" "$TEST_TMP/failing" >failing.json
is "$(KUBECONFIG=failing.json "$KC" get $DB/a 2>&1 | head -1)" "$(KUBECONFIG=failing.json kubectl get db a 2>&1 | tail -1)" \
        "a failing plugin: kubectl's message"

done_testing
