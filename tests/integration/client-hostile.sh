#!/usr/bin/env bash
# common/kube against tests/tools/hostile-http (loopback, bounded): an endless
# chunked body stops at the response limit with the limit named, memory stays
# near the limit (peak RSS from /usr/bin/time, no cgroup needed), a 12 MB error
# message is capped in the error line, the environment's proxies are not
# used for a loopback server, and credentials given by flags never go over
# plain http (as kubectl 1.32, checked against it).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
cd "$TEST_TMP" || exit 1
KC=$KSTATUS_BUILD_DIR/tests/tools/kube-client
. "$(dirname "$0")/lib-hostile.sh"
rss_checks "$KC"

# ---- an endless chunked body ----
hostile endless $((1 << 30))
/usr/bin/time -f 'peak %M' -o time.1 "$KC" --kubeconfig endless.kubeconfig --max-response $((1 << 20)) get /x >out 2>err
rc=$?
is "$rc" 1 "an endless body is a failed GET"
is "$(head -1 err)" "error: the server's answer is larger than 1 MiB" "the error names the limit (1 MiB)"
rss_under time.1 $((16 * 1024)) "peak RSS under 16 MiB with a 1 MiB limit"
/usr/bin/time -f 'peak %M' -o time.2 "$KC" --kubeconfig endless.kubeconfig get /x >out 2>err
is "$(head -1 err)" "error: the server's answer is larger than 64 MiB" "the default limit is named (64 MiB)"
rss_under time.2 $((80 * 1024)) "peak RSS near the 64 MiB default, not past it"

# ---- a 60 MB object ----
hostile object $((60 << 20))
/usr/bin/time -f 'peak %M' -o time.3 "$KC" --kubeconfig object.kubeconfig --max-response $((32 << 20)) get /x >out 2>err
is "$(head -1 err)" "error: the server's answer is larger than 32 MiB" "a 60 MB object is refused at a 32 MiB limit"
rss_under time.3 $((48 * 1024)) "peak RSS under 48 MiB for it"

# ---- a 12 MB error message ----
hostile error $((12 << 20))
"$KC" --kubeconfig error.kubeconfig get /x >out 2>err
line=$(head -1 err)
ok "the error line is capped (${#line} bytes)" [ ${#line} -lt 8192 ]
like "$line" '^Error from server \(BadRequest\): aaaa' "it still says what the server said"
like "$line" "\\.\\.\\. \\([0-9]+ more bytes\\)$" "and that it was cut"

# ---- loopback bypasses the environment's proxies ----
hostile object 10
out=$(env HTTPS_PROXY=http://127.0.0.1:1 HTTP_PROXY=http://127.0.0.1:1 http_proxy=http://127.0.0.1:1 NO_PROXY= no_proxy= \
        "$KC" --kubeconfig object.kubeconfig get /x 2>err)
is "$(jq -r .metadata.name <<<"$out")" big "a loopback server is reached directly though HTTP_PROXY is set: $(head -1 err)"

# ---- credentials given by flags never go over plain http ----
# The test API server over plain http lets a request without a token through
# and answers a wrong one 401: a wrong token, user or password sent is seen.
# kubectl 1.32 sends none to an http:// server, whatever the flags or the
# kubeconfig say (client-go reads credentials only for TLS), and so drops a
# token with a control character instead of refusing it.
start_apiserver --insecure-http --token s3cret --crds "$KSTATUS_SOURCE_DIR/tests/data/crds"
printf 'apiVersion: v1\nkind: Config\ncurrent-context: t\nclusters:\n- {name: t, cluster: {server: "https://127.0.0.1:1"}}\ncontexts:\n- {name: t, context: {cluster: t, user: t}}\nusers:\n- {name: t, user: {token: wrong-token}}\n' \
        >tls.kubeconfig
creds_cases=("--token=wrong" "--username=u --password=p" $'--token=a\r\nX-Injected: 1' "--kubeconfig=tls.kubeconfig")
for creds in "${creds_cases[@]}"; do
        args=(--token="${creds#--token=}")
        case $creds in --username=*) args=(--username=u --password=p) ;; --kubeconfig=*) args=("$creds") ;; esac
        want=$(KUBECONFIG=/dev/null kubectl get iams -s "$APISERVER_URL" "${args[@]}" 2>&1; echo "exit $?")
        got=$(KUBECONFIG=/dev/null kubectl kstatus get iams -s "$APISERVER_URL" "${args[@]}" 2>&1; echo "exit $?")
        is "$got" "$want" "-s http:// with ${creds//[$'\r\n']/ }: no credential sent, as kubectl"
done

# ---- the plugin's memory limit leaves room for 10 000 objects in one answer ----
# The memory every answer's tree would take is estimated before parsing (512 MiB
# by default);
# `get -A --chunk-size=0` asks for 10 000 resources in one List, and gets them
# all, as kubectl does.
for i in $(seq 0 9999); do
        [ "$i" = 0 ] || echo next
        printf 'url = "%s/apis/example.promise.syntasso.io/v1/namespaces/default/iams"\n' "$APISERVER_URL"
        printf 'header = "Content-Type: application/json"\nsilent\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n'
        printf 'data = "{\\"apiVersion\\":\\"example.promise.syntasso.io/v1\\",\\"kind\\":\\"IAM\\",\\"metadata\\":{\\"name\\":\\"bulk-%05d\\",\\"labels\\":{\\"a\\":\\"b\\"}},\\"spec\\":{\\"x\\":[1,2,3]},\\"status\\":{\\"message\\":\\"Resource requested\\"}}"\n' "$i"
done >bulk.cfg
is "$(curl -K bulk.cfg | sort | uniq -c | sed 's/^ *//')" "10000 201" "10 000 resources created"
for chunk in 0 500; do
        want=$(KUBECONFIG=/dev/null kubectl get iams -A -s "$APISERVER_URL" --chunk-size=$chunk -o name 2>&1 | wc -l)
        got=$(KUBECONFIG=/dev/null kubectl kstatus get iams -A -s "$APISERVER_URL" --chunk-size=$chunk 2>&1)
        is "$want" 10000 "kubectl get -A --chunk-size=$chunk lists 10 000"
        is "$(grep -c bulk- <<<"$got")" 10000 "kstatus get -A --chunk-size=$chunk lists them too"
done

done_testing
