#!/usr/bin/env bash
# common/kube against tests/tools/hostile-http (loopback, bounded): an endless
# chunked body stops at the response limit with the limit named, memory stays
# near the limit (peak RSS from /usr/bin/time, no cgroup needed), a 12 MB error
# message is capped in the error line, and the environment's proxies are not
# used for a loopback server.
. "$(dirname "$0")/lib.sh"
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

done_testing
