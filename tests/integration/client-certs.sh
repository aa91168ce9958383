#!/usr/bin/env bash
# Client certificates through common/kube, next to real kubectl with the same
# kubeconfig, against kstatus-test-apiserver --write-client-cert (it asks for a
# certificate in the handshake and authenticates a request by its token or by
# a certificate of its client CA, as kube-apiserver with --client-ca-file):
# client-certificate/client-key as files and as -data, and from an exec
# plugin. No credential, or a certificate from another CA, is 401 in kubectl's
# words from both. One case against openssl s_server -Verify: a server that
# requires a certificate refuses in the handshake, before any HTTP.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
cd "$TEST_TMP" || exit 1

KC=${KUBE_CLIENT:-$KSTATUS_BUILD_DIR/tests/tools/kube-client} # KUBE_CLIENT: e.g. a valgrind wrapper
command -v openssl >/dev/null || { echo "not ok 1 - openssl is needed"; exit 1; }
UNAUTHORIZED="error: You must be logged in to the server (Unauthorized)"

start_apiserver_client_certs || exit 1
ok "the server's client CA signed the client certificate it wrote" \
        openssl verify -CAfile "$APISERVER_CLIENT_CA" "$APISERVER_CLIENT_CERT"
# Relative paths in a kubeconfig are relative to the kubeconfig's directory.
cp "$APISERVER_CLIENT_CERT" alice.crt
cp "$APISERVER_CLIENT_KEY" alice.key

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
cert bob bob ca
cert mallory mallory other-ca
ok "test certificates made" test -s mallory.crt -a -s bob.crt -a -s server.crt

kubeconfig() { # SERVER CA_FILE USER_JSON
        jq -n --arg s "$1" --arg ca "$2" --argjson u "$3" '{apiVersion: "v1", kind: "Config",
                "current-context": "c", clusters: [{name: "c", cluster: {server: $s, "certificate-authority": $ca}}],
                contexts: [{name: "c", context: {cluster: "c", user: "u"}}], users: [{name: "u", user: $u}]}'
}
b64() { base64 -w0 <"$1"; }
NS=/api/v1/namespaces/default

# Both clients with KUBECONFIG=$1: ours must GET the namespace, kubectl must
# get it too, and the server must have counted both requests.
both_get() { # KUBECONFIG DESCRIPTION
        local before out
        before=$(apiserver_count GET $NS)
        out=$(KUBECONFIG=$1 "$KC" get $NS 2>err)
        is "$(jq -r .metadata.name <<<"$out" 2>/dev/null)" default "$2: our client" || sed 's/^/# /' err
        out=$(KUBECONFIG=$1 kubectl get namespace default -o name 2>&1)
        is "$out" namespace/default "$2: kubectl"
        is "$(apiserver_count GET $NS)" $((before + 2)) "$2: the server answered both"
}

# Both clients refused with 401 in kubectl's words.
both_unauthorized() { # KUBECONFIG DESCRIPTION
        is "$(KUBECONFIG=$1 "$KC" get $NS 2>&1 | head -1)" "$UNAUTHORIZED" "$2: our client"
        is "$(KUBECONFIG=$1 kubectl get namespace default 2>&1)" "$UNAUTHORIZED" "$2: kubectl"
}

is "$(kubectl get namespace default -o name 2>&1)" namespace/default "the token still works when client certificates are asked for"

kubeconfig "$APISERVER_URL" "$APISERVER_CA" '{"client-certificate": "alice.crt", "client-key": "alice.key"}' >files.json
both_get files.json "client-certificate and client-key files (relative to the kubeconfig)"

kubeconfig "$APISERVER_URL" "$APISERVER_CA" \
        "{\"client-certificate-data\": \"$(b64 alice.crt)\", \"client-key-data\": \"$(b64 alice.key)\"}" >data.json
both_get data.json "client-certificate-data and client-key-data"

cat >plugin <<EOF
#!/bin/sh
jq -n --rawfile c "$TEST_TMP/alice.crt" --rawfile k "$TEST_TMP/alice.key" \\
        '{apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential",
          status: {clientCertificateData: \$c, clientKeyData: \$k}}'
EOF
chmod +x plugin
kubeconfig "$APISERVER_URL" "$APISERVER_CA" "{\"exec\": {\"apiVersion\": \"client.authentication.k8s.io/v1\",
        \"command\": \"$TEST_TMP/plugin\", \"interactiveMode\": \"Never\"}}" >exec.json
both_get exec.json "a client certificate from an exec plugin"

# kubectl prompts for a user name when a user has no credential at all, so
# only our client is shown that case; both get a wrong token.
kubeconfig "$APISERVER_URL" "$APISERVER_CA" '{}' >none.json
is "$(KUBECONFIG=none.json "$KC" get $NS 2>&1 | head -1)" "$UNAUTHORIZED" "no credential at all: our client"
kubeconfig "$APISERVER_URL" "$APISERVER_CA" '{"token": "not-the-token"}' >wrong-token.json
both_unauthorized wrong-token.json "a wrong token and no certificate"

kubeconfig "$APISERVER_URL" "$APISERVER_CA" '{"client-certificate": "mallory.crt", "client-key": "mallory.key"}' \
        >mallory.json
both_unauthorized mallory.json "a certificate from another CA"

kubeconfig "$APISERVER_URL" "$APISERVER_CA" '{"client-certificate": "alice.crt", "client-key": "missing.key"}' \
        >missing.json
is "$(KUBECONFIG=missing.json "$KC" get $NS 2>&1 | head -1)" \
        "error: unable to read client-key $TEST_TMP/missing.key for u due to open $TEST_TMP/missing.key: no such file or directory" \
        "a missing key file is a configuration error, in client-go's words"

# --client-ca FILE: another server that trusts other-ca only.
echo "not a certificate" >bad-ca.crt
out=$(kstatus-test-apiserver --port 0 --client-ca bad-ca.crt 2>&1)
is "$out" 'error: invalid --client-ca "bad-ca.crt": no PEM certificate in it' "a --client-ca without a certificate stops the start"
out=$(kstatus-test-apiserver --port 0 --insecure-http --client-ca other-ca.crt 2>&1)
like "$out" '^error: client certificates need TLS' "--client-ca with --insecure-http stops the start"
start_apiserver --client-ca other-ca.crt || exit 1
for f in files data exec wrong-token mallory; do
        jq --arg s "$APISERVER_URL" --arg ca "$APISERVER_CA" \
                '.clusters[0].cluster.server = $s | .clusters[0].cluster["certificate-authority"] = $ca' $f.json >2-$f.json
done
both_get 2-mallory.json "--client-ca: a certificate of that CA"
both_unauthorized 2-files.json "--client-ca: a certificate of the first server's client CA"

# A server that requires a certificate (the test API server only asks): the
# handshake fails, so there is no HTTP answer. s_server -WWW serves files from
# the current directory.
mkdir -p www/api/v1/namespaces
echo '{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"default"}}' >www/api/v1/namespaces/default
(cd www && exec openssl s_server -accept 127.0.0.1:0 -cert ../server.crt -key ../server.key -CAfile ../ca.crt \
        -Verify 1 -verify_return_error -WWW >../s_server.out 2>&1) &
spid=$!
at_exit "kill $spid 2>/dev/null; wait $spid 2>/dev/null"
for i in $(seq 1 50); do grep -q '^ACCEPT' s_server.out 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' s_server.out)
like "$port" '^[0-9]+$' "openssl s_server requires client certificates on port $port"

kubeconfig "https://127.0.0.1:$port" ca.crt '{"client-certificate": "bob.crt", "client-key": "bob.key"}' >s-bob.json
out=$(KUBECONFIG=s-bob.json "$KC" get $NS 2>err)
is "$(jq -r .metadata.name <<<"$out" 2>/dev/null)" default "s_server: a certificate of its CA is accepted"
kubeconfig "https://127.0.0.1:$port" ca.crt '{}' >s-none.json
like "$(KUBECONFIG=s-none.json "$KC" get $NS 2>&1 | head -1)" '^Unable to connect to the server: ' \
        "s_server: no certificate is refused in the handshake (our client)"
kubeconfig "https://127.0.0.1:$port" ca.crt '{"client-certificate": "mallory.crt", "client-key": "mallory.key"}' \
        >s-mallory.json
like "$(KUBECONFIG=s-mallory.json "$KC" get $NS 2>&1 | head -1)" '^Unable to connect to the server: ' \
        "s_server: a certificate from another CA is refused in the handshake (our client)"
like "$(KUBECONFIG=s-mallory.json kubectl get --raw $NS 2>&1 | head -1)" '^Unable to connect to the server: ' \
        "s_server: a certificate from another CA is refused in the handshake (kubectl)"

done_testing
