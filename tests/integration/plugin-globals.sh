#!/usr/bin/env bash
# kubectl's global flags that are not about names or output, with kubectl and
# with kubectl kstatus against the test API server: impersonation (flags and
# the kubeconfig user's fields) checked in the headers the server received,
# --disable-compression in its Accept-Encoding, the server's warnings and
# --warnings-as-errors, --match-server-version, --cache-dir and the flags for
# kubectl's Go runtime. The oracle is real kubectl (and, for what the server
# saw, hand-written expectations); differences on purpose are in README's
# table of differences from kubectl.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
cd "$TEST_TMP" || exit 1
start_apiserver || exit 1
apiserver_install_crds
kubectl create namespace team-a >/dev/null
kubectl create -f - >/dev/null <<'EOT'
apiVersion: example.promise.syntasso.io/v1
kind: IAM
metadata: {name: example, namespace: team-a}
spec: {}
EOT
kubectl -n team-a patch iam example --subresource=status --type merge -p \
        '{"status":{"conditions":[{"type":"Reconciled","status":"True","reason":"X","message":"","lastTransitionTime":"2024-01-01T00:00:00Z"}]}}' >/dev/null
LIST=/apis/example.promise.syntasso.io/v1/namespaces/team-a/iams

# seen CMD...: run CMD (output dropped), then print the headers the server
# recorded for its LIST of iams in team-a ({user, uid, groups, extra}).
seen() {
        apiserver_curl -f -X DELETE /_kstatus/headers >/dev/null
        "$@" >/dev/null 2>&1
        apiserver_curl -f /_kstatus/headers |
                jq -cS --arg p "$LIST" '[.requests[] | select(.verb == "GET" and .path == $p)] | last
                        | {user, uid, groups, extra}'
}

# words CMD ARGS...: stderr (klog's I/W lines dropped, kubectl's own command
# path made the plugin's) and the exit code of CMD ARGS.
words() {
        local out rc
        out=$("$@" 2>&1 >/dev/null); rc=$?
        printf '%s\n' "$out" | grep -v '^[IW][0-9]' | sed "s/'kubectl get /'kubectl kstatus get /"
        echo "rc=$rc"
}

# --- impersonation from flags ---
want='{"extra":{},"groups":["a,b","c"],"uid":"u1","user":"jane"}'
k=$(seen kubectl get iams -n team-a --as=jane --as-group=a,b --as-group c --as-uid=u1)
is "$k" "$want" "kubectl: --as, --as-group (repeated, commas kept), --as-uid reach the server"
p=$(seen kubectl kstatus get iams -n team-a --as=jane --as-group=a,b --as-group c --as-uid=u1)
is "$p" "$k" "kubectl kstatus sends the same Impersonate-* headers"
p=$(seen kubectl kstatus get iams -n team-a)
is "$p" '{"extra":{},"groups":[],"uid":null,"user":null}' "no impersonation without --as"

# --- impersonation from the kubeconfig's user, and flags over it ---
kubectl config view --raw -o json | jq '.users[0].user += {as: "kc-user", "as-uid": "kc-uid",
        "as-groups": ["g1", "g2"], "as-user-extra": {"Reason/Why": ["x", "y"], scopes: ["view"]}}' >kc.json
k=$(KUBECONFIG=$PWD/kc.json seen kubectl get iams -n team-a)
is "$k" '{"extra":{"reason/why":["x","y"],"scopes":["view"]},"groups":["g1","g2"],"uid":"kc-uid","user":"kc-user"}' \
        "kubectl: the user's as, as-uid, as-groups and as-user-extra reach the server"
p=$(KUBECONFIG=$PWD/kc.json seen kubectl kstatus get iams -n team-a)
is "$p" "$k" "kubectl kstatus sends the kubeconfig's impersonation as kubectl does"
k=$(KUBECONFIG=$PWD/kc.json seen kubectl get iams -n team-a --as=bob --as-group=g9)
p=$(KUBECONFIG=$PWD/kc.json seen kubectl kstatus get iams -n team-a --as=bob --as-group=g9)
is "$p" "$k" "flags override the kubeconfig's user and groups as kubectl's do"
like "$k" '"user":"bob"' "(kubectl impersonates bob)"

# --- refusals ---
# (kubectl get with -n says "Error in configuration: " instead of "error: ",
# kubectl wait with -n does not: the plugin says "error: " for every command.)
is "$(words kubectl kstatus get iams --as-group=x)" "$(words kubectl get iams --as-group=x)" \
        "--as-group without --as: kubectl's words and exit"
is "$(words kubectl kstatus get iams --as-uid=x)" "$(words kubectl get iams --as-uid=x)" \
        "--as-uid without --as: kubectl's words and exit"
is "$(words kubectl kstatus get iams -n team-a --as=$'ja\x01ne')" "$(words kubectl get iams -n team-a --as=$'ja\x01ne')" \
        "a control character in --as: kubectl's words and exit"
is "$(words kubectl kstatus get iams -n team-a --as=jane --as-group=$'g\x7f')" \
        "$(words kubectl get iams -n team-a --as=jane --as-group=$'g\x7f')" "DEL in --as-group: kubectl's words and exit"
mark=$(apiserver_mark)
kubectl kstatus get iams -n team-a --as=$'jane\r\nImpersonate-Group: system:masters' >/dev/null 2>&1
is "$(awk -v m="$mark" 'NR > m' "$APISERVER_ACCESS_LOG" | grep -c /iams)" 0 \
        "a header injection through --as never reaches the server"
p=$(seen kubectl kstatus get iams -n team-a --as=$'jan\té')
is "$p" "$(seen kubectl get iams -n team-a --as=$'jan\té')" "a tab and UTF-8 pass, as in kubectl"

# --- watches carry the headers too ---
apiserver_curl -f -X DELETE /_kstatus/headers >/dev/null
kubectl kstatus wait iam/example -n team-a --for=condition=Reconciled --as=jane --timeout=5s >/dev/null 2>&1
is "$(apiserver_curl -f /_kstatus/headers | jq -r '[.requests[] | select(.path | endswith("/iams") or endswith("/example")) | .user] | unique | join(",")')" \
        "jane" "wait: every request it makes impersonates"

# --- --disable-compression ---
enc() { # CMD...: whether the LIST asked for gzip
        apiserver_curl -f -X DELETE /_kstatus/headers >/dev/null
        "$@" >/dev/null 2>&1
        apiserver_curl -f /_kstatus/headers | jq -r --arg p "$LIST" \
                '[.requests[] | select(.path == $p)] | last | (.acceptEncoding // "") | test("gzip")'
}
is "$(enc kubectl kstatus get iams -n team-a)/$(enc kubectl kstatus get iams -n team-a --disable-compression)" \
        "$(enc kubectl get iams -n team-a)/$(enc kubectl get iams -n team-a --disable-compression)" \
        "--disable-compression: no gzip asked for, as kubectl"
like "$(enc kubectl get iams -n team-a)/$(enc kubectl get iams -n team-a --disable-compression)" '^true/false$' \
        "(kubectl asks for gzip only without the flag)"
is "$(words kubectl kstatus get iams -n team-a --disable-compression=x)" \
        "$(words kubectl get iams -n team-a --disable-compression=x)" "--disable-compression=x: kubectl's words"

# --- --match-server-version ---
# (kubectl now and then says "Error: " there, mostly "error: ".)
k=$(words kubectl get iams -n team-a --match-server-version | sed 's/^Error: server/error: server/')
p=$(words kubectl kstatus get iams -n team-a --match-server-version)
is "${p%%) differs from client version*}" "${k%%) differs from client version*}" \
        "--match-server-version: the server's version in kubectl's words"
is "${p##*$'\n'}" "${k##*$'\n'}" "--match-server-version: kubectl's exit code"

# --- accepted, as kubectl validates them ---
same_out() { # DESCRIPTION ARGS...: the same -o name output and exit
        local d=$1
        shift
        is "$(kubectl kstatus "$@" -o name 2>&1; echo "rc=$?")" "$(kubectl "$@" -o name 2>&1; echo "rc=$?")" "$d"
}
same_out "--profile=none --profile-output --log-flush-frequency --vmodule accepted" get iams -n team-a \
        --profile=none --profile-output=x.pprof --log-flush-frequency=3s --vmodule=a=1,b=2,
same_out "--cache-dir accepted" get iams -n team-a --cache-dir="$TEST_TMP/cache"
ok "--cache-dir holds the discovery cache" test -d "$TEST_TMP/cache/kstatus"
k=$(words kubectl get iams -n team-a --profile=bogus)
p=$(words kubectl kstatus get iams -n team-a --profile=bogus)
klog='s/^E[0-9]{4} [0-9:.]+ +[0-9]+ run.go:72\] //'
is "$(sed -E "$klog" <<<"$p")" "$(sed -E "$klog" <<<"$k")" "--profile=bogus: kubectl's klog line and exit"
is "$(words kubectl kstatus get iams -n team-a --profile=cpu)" \
        "$(printf '%s\n' 'error: --profile=cpu is not supported: kubectl kstatus is not a Go program and has no profile to write' rc=1)" \
        "--profile=cpu is refused: there is no Go runtime to profile (README)"
for bad in --vmodule=x --vmodule=a=b --vmodule==1 --log-flush-frequency=x --request-timeout=x; do
        is "$(words kubectl kstatus get iams -n team-a "$bad")" "$(words kubectl get iams -n team-a "$bad")" \
                "$bad: kubectl's words and exit"
done
is "$(words kubectl kstatus wait iam/example -n team-a --for=create --vmodule=x | head -2)" \
        "$(words kubectl wait iam/example -n team-a --for=create --vmodule=x | head -2 | sed "s/'kubectl wait /'kubectl kstatus wait /")" \
        "wait: --vmodule=x in kubectl's words (exit 2, wait's usage code)"

# --- completion skips the global flags' values ---
for f in "--as jane" "--as jane --as-group g" "--as jane --as-uid u" "--cache-dir $TEST_TMP/cache" "--vmodule a=1"; do
        # shellcheck disable=SC2086 # the flags are split on purpose
        is "$(kubectl kstatus __complete get -n team-a $f ia 2>/dev/null)" \
                "$(kubectl __complete get -n team-a $f ia 2>/dev/null)" "completion: $f: the value is no argument, as kubectl's"
done

# --- exit codes, docs/BEHAVIOUR.md §8's table ---
rc() { "$@" >/dev/null 2>&1; echo $?; }
is "$(rc kubectl kstatus logs iam/example -n team-a --bogus)" "$(rc kubectl logs pod/x --bogus)" \
        "logs: a bad flag exits as kubectl logs does"
is "$(rc kubectl kstatus describe iams -n team-a --bogus)" "$(rc kubectl describe iams -n team-a --bogus)" \
        "describe: a bad flag exits as kubectl describe does"
is "$(rc kubectl kstatus get nosuchtype)" "$(rc kubectl get nosuchtype)" "get: an unknown type exits as kubectl get does"
is "$(rc kubectl kstatus logs nosuchtype/x)" "1" "logs: an unknown type exits 1"
is "$(rc kubectl kstatus wait iam/example -n team-a --bogus)/$(rc kubectl kstatus wait nosuchtype/x --for=delete)" \
        "2/4" "wait: usage 2, API error 4"
printf 'message: ok\n' >status.yaml
is "$(rc kubectl kstatus lint status.yaml)/$(rc kubectl kstatus lint --bogus)/$(rc kubectl kstatus lint nosuchfile)" \
        "0/2/1" "lint: valid 0, usage 2, failure 1"
is "$(rc kubectl kstatus merge --bogus)/$(rc kubectl kstatus merge nosuchfile)" "2/1" "merge: usage 2, failure 1"
is "$(rc kubectl kstatus inject --bogus)/$(rc kubectl kstatus nosuchcommand)" "2/2" \
        "inject: usage 2; an unknown command is a usage error"

# --- warnings, on a server that sends two with every answer ---
start_apiserver --warning 'first "quoted" \ warning' --warning $'bidi \u202e text' || exit 1
apiserver_install_crds 2>/dev/null
kubectl create namespace team-a >/dev/null 2>&1
kubectl create -f - >/dev/null 2>&1 <<'EOT'
apiVersion: example.promise.syntasso.io/v1
kind: IAM
metadata: {name: example, namespace: team-a}
spec: {}
EOT
k=$(words kubectl get iams -n team-a)
p=$(words kubectl kstatus get iams -n team-a)
is "$(head -1 <<<"$p")" "$(head -1 <<<"$k")" "a warning printed as kubectl prints it (unquoted once)"
is "$(sed -n 2p <<<"$p")" 'Warning: bidi \u202e text' "a warning's text escaped before it reaches the terminal"
is "$(wc -l <<<"$p")" "$(wc -l <<<"$k")" "each warning once, though every answer carries it (kubectl's deduplication)"
is "$(tail -1 <<<"$p")" "rc=0" "warnings alone do not fail a command"
k=$(words kubectl get iams -n team-a --warnings-as-errors)
p=$(words kubectl kstatus get iams -n team-a --warnings-as-errors)
is "$(sed -E "$klog" <<<"$p" | tail -2)" "$(sed -E "$klog" <<<"$k" | tail -2)" \
        "--warnings-as-errors: kubectl's last words and exit 1"
is "$(tail -2 <<<"$p" | head -1 | sed -E "$klog")" '"command failed" err="2 warnings received"' \
        "(the count of distinct warnings)"
k=$(words kubectl get iams nope -n team-a --warnings-as-errors)
p=$(words kubectl kstatus get iams nope -n team-a --warnings-as-errors)
is "$(tail -2 <<<"$p")" "$(tail -2 <<<"$k")" "a command that failed keeps its own error, as kubectl's"
is "$(words kubectl kstatus wait iam/example -n team-a --for=create --timeout=5s | tail -1)" "rc=0" \
        "wait: met despite warnings"
is "$(words kubectl kstatus wait iam/example -n team-a --for=create --timeout=5s --warnings-as-errors | tail -1)" \
        "$(words kubectl wait iam/example -n team-a --for=create --timeout=5s --warnings-as-errors | tail -1)" \
        "wait: --warnings-as-errors fails a met wait with 1, as kubectl's"

done_testing
