#!/usr/bin/env bash
# HTTP/2 through common/kube. The client offers h2 by ALPN over TLS: against
# nghttpd (nghttp2's HTTP/2 TLS server, serving JSON files) it must speak
# HTTP/2 and carry two requests as two streams of one connection, and a 404
# must read as kubectl's; against kstatus-test-apiserver (HTTP/1.1 only) it
# falls back to HTTP/1.1. The driver prints the version of the last answer
# (kube_client_http_version) as "http: V".
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
cd "$TEST_TMP" || exit 1

KC=${KUBE_CLIENT:-$KSTATUS_BUILD_DIR/tests/tools/kube-client} # KUBE_CLIENT: e.g. a valgrind wrapper
NGHTTPD=$(command -v nghttpd || command -v /usr/sbin/nghttpd)
if [ -z "$NGHTTPD" ]; then
        if [ "${CI:-}" = true ]; then
                echo "not ok 1 - nghttpd is needed (apt-get install nghttp2-server; scripts/test installs it)"
                echo "1..1"
                exit 1
        fi
        echo "1..0 # SKIP nghttpd missing (apt-get install nghttp2-server)"
        exit 0
fi
command -v openssl >/dev/null || { echo "not ok 1 - openssl is needed"; echo "1..1"; exit 1; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -days 1 \
        -subj "/CN=h2-ca" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr \
        -subj "/CN=localhost" 2>/dev/null
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 1 \
        -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost') 2>/dev/null
ok "test certificates made" openssl verify -CAfile ca.crt server.crt

NS=/api/v1/namespaces/default
mkdir -p www/api/v1/namespaces
echo '{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"default"}}' >www$NS

# The TCP port a process listens on, from /proc: nghttpd binds port 0 without
# printing what it got.
listen_port() { # PID
        local inodes hex
        inodes=$(for f in /proc/"$1"/fd/*; do readlink "$f"; done 2>/dev/null |
                sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p' | tr '\n' ' ')
        hex=$(awk -v inodes=" $inodes" '$4 == "0A" && index(inodes, " " $10 " ") { split($2, a, ":"); print a[2]; exit }' \
                /proc/net/tcp)
        [ -n "$hex" ] && echo $((16#$hex))
}

# -v logs every frame with its session ([id=N]) and stream: the server's own
# account of connections and streams.
"$NGHTTPD" -v --address=127.0.0.1 --htdocs=www 0 server.key server.crt >nghttpd.log 2>&1 &
npid=$!
at_exit "kill $npid 2>/dev/null; wait $npid 2>/dev/null"
port=
for i in $(seq 1 50); do
        port=$(listen_port $npid) && break
        kill -0 $npid 2>/dev/null || break
        sleep 0.1
done
like "$port" '^[0-9]+$' "nghttpd listens on 127.0.0.1:$port" || sed 's/^/# /' nghttpd.log

kubeconfig() { # SERVER CA_FILE
        jq -n --arg s "$1" --arg ca "$2" '{apiVersion: "v1", kind: "Config",
                "current-context": "c", clusters: [{name: "c", cluster: {server: $s, "certificate-authority": $ca}}],
                contexts: [{name: "c", context: {cluster: "c", user: "u"}}], users: [{name: "u", user: {token: "t"}}]}'
}
kubeconfig "https://127.0.0.1:$port" ca.crt >h2.json

out=$(KUBECONFIG=h2.json "$KC" get $NS $NS 2>err)
is "$(jq -r .metadata.name <<<"$out" 2>/dev/null | tr '\n' ' ')" "default default " "two GETs over TLS to nghttpd" ||
        sed 's/^/# /' err
like "$(tail -1 err)" ' http: 2$' "HTTP/2 was negotiated (ALPN h2)"
like "$(tail -1 err)" '^requests: 2 connections: 1 ' "the two requests share one connection"

# nghttpd's side: the first session's HEADERS came as streams 1 and 3.
for i in $(seq 1 20); do [ "$(grep -c 'recv HEADERS frame' nghttpd.log)" -ge 2 ] && break; sleep 0.1; done
is "$(grep 'recv HEADERS frame' nghttpd.log | sed -n 's/^\[id=\([0-9]*\)\].*stream_id=\([0-9]*\)>.*/\1:\2/p' |
        tr '\n' ' ')" "1:1 1:3 " "nghttpd saw one HTTP/2 connection with two streams"
like "$(grep 'negotiated protocol' nghttpd.log)" 'negotiated protocol: h2' "nghttpd negotiated h2"

want=$(KUBECONFIG=h2.json kubectl get --raw /nope 2>&1 | tail -1)
is "$(KUBECONFIG=h2.json "$KC" get /nope 2>err | head -1; head -1 err)" "$want" "a 404 over HTTP/2 reads as kubectl's: $want"
like "$(tail -1 err)" ' http: 2$' "the 404 came over HTTP/2"

# The test API server speaks HTTP/1.1 only: ALPN falls back.
start_apiserver || exit 1
out=$("$KC" get $NS $NS 2>err)
is "$(jq -r .metadata.name <<<"$out" 2>/dev/null | tr '\n' ' ')" "default default " \
        "two GETs to kstatus-test-apiserver"
like "$(tail -1 err)" '^requests: 2 connections: 1 http: 1\.1$' "HTTP/1.1 there, one kept-alive connection"

done_testing
