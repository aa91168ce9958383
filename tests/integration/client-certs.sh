#!/usr/bin/env bash
# Client certificates through common/kube: client-certificate/client-key as
# files and as -data, and from an exec plugin, against a TLS server that
# requires a certificate from its CA (openssl s_server -Verify; the test API
# server does not ask for client certificates). No certificate, or one from
# another CA, is refused.
. "$(dirname "$0")/lib.sh"
cd "$TEST_TMP"

KC=${KUBE_CLIENT:-$KSTATUS_BUILD_DIR/tests/tools/kube-client} # KUBE_CLIENT: e.g. a valgrind wrapper
command -v openssl >/dev/null || { echo "not ok 1 - openssl is needed"; exit 1; }

cert() { # NAME CN SIGNER [SAN]
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" \
                2>/dev/null
        openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial -out "$1.crt" -days 1 \
                ${4:+-extfile <(printf 'subjectAltName=%s' "$4")} 2>/dev/null
}
for ca in ca other-ca; do
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $ca.key -out $ca.crt -days 1 \
                -subj "/CN=$ca" 2>/dev/null
done
cert server localhost ca "IP:127.0.0.1,DNS:localhost"
cert alice alice ca
cert mallory mallory other-ca
ok "test certificates made" test -s alice.crt -a -s mallory.crt -a -s server.crt

# s_server -WWW serves files from the current directory.
mkdir -p www/api/v1/namespaces
echo '{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"default"}}' >www/api/v1/namespaces/default
(cd www && exec openssl s_server -accept 127.0.0.1:0 -cert ../server.crt -key ../server.key -CAfile ../ca.crt \
        -Verify 1 -verify_return_error -WWW >../s_server.out 2>&1) &
spid=$!
at_exit "kill $spid 2>/dev/null; wait $spid 2>/dev/null"
for i in $(seq 1 50); do grep -q '^ACCEPT' s_server.out 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' s_server.out)
like "$port" '^[0-9]+$' "openssl s_server requires client certificates on port $port"

kubeconfig() { # USER_JSON
        jq -n --arg s "https://127.0.0.1:$port" --argjson u "$1" '{apiVersion: "v1", kind: "Config",
                "current-context": "c", clusters: [{name: "c", cluster: {server: $s, "certificate-authority": "ca.crt"}}],
                contexts: [{name: "c", context: {cluster: "c", user: "u"}}], users: [{name: "u", user: $u}]}'
}
b64() { base64 -w0 <"$1"; }

kubeconfig '{"client-certificate": "alice.crt", "client-key": "alice.key"}' >files.json
out=$(KUBECONFIG=files.json "$KC" get /api/v1/namespaces/default 2>err)
is "$(jq -r .metadata.name <<<"$out" 2>/dev/null)" default \
        "client-certificate and client-key files (relative to the kubeconfig)"

kubeconfig "{\"client-certificate-data\": \"$(b64 alice.crt)\", \"client-key-data\": \"$(b64 alice.key)\"}" >data.json
out=$(KUBECONFIG=data.json "$KC" get /api/v1/namespaces/default 2>err)
is "$(jq -r .metadata.name <<<"$out" 2>/dev/null)" default "client-certificate-data and client-key-data"

cat >plugin <<EOF
#!/bin/sh
jq -n --rawfile c "$TEST_TMP/alice.crt" --rawfile k "$TEST_TMP/alice.key" \\
        '{apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential",
          status: {clientCertificateData: \$c, clientKeyData: \$k}}'
EOF
chmod +x plugin
kubeconfig "{\"exec\": {\"apiVersion\": \"client.authentication.k8s.io/v1\", \"command\": \"$TEST_TMP/plugin\",
        \"interactiveMode\": \"Never\"}}" >exec.json
out=$(KUBECONFIG=exec.json "$KC" get /api/v1/namespaces/default 2>err)
is "$(jq -r .metadata.name <<<"$out" 2>/dev/null)" default "a client certificate from an exec plugin"

kubeconfig '{}' >none.json
out=$(KUBECONFIG=none.json "$KC" get /api/v1/namespaces/default 2>&1)
like "$(head -1 <<<"$out")" '^Unable to connect to the server: ' "no client certificate: refused in the handshake"

kubeconfig '{"client-certificate": "mallory.crt", "client-key": "mallory.key"}' >mallory.json
out=$(KUBECONFIG=mallory.json "$KC" get /api/v1/namespaces/default 2>&1)
like "$(head -1 <<<"$out")" '^Unable to connect to the server: ' "a certificate from another CA: refused"

kubeconfig '{"client-certificate": "alice.crt", "client-key": "missing.key"}' >missing.json
out=$(KUBECONFIG=missing.json "$KC" get /api/v1/namespaces/default 2>&1)
is "$(head -1 <<<"$out")" "error: unable to read client-key $TEST_TMP/missing.key for u due to open $TEST_TMP/missing.key: no such file or directory" \
        "a missing key file is a configuration error, in client-go's words"

done_testing
