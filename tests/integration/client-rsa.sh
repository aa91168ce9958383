#!/usr/bin/env bash
# RSA certificates through common/kube, next to real kubectl with the same
# kubeconfig, against openssl s_server (-WWW serves files, -Verify requires a
# client certificate): an RSA CA, an RSA serving certificate for 127.0.0.1 and
# an RSA client certificate (files and -data), then the verification failures
# kubectl reports too: a foreign CA, a name the certificate does not carry, an
# expired certificate. The test API server's certificates are ECDSA
# (client-certs.sh, client-tls.sh); this covers the other key type a
# kube-apiserver serves with, whichever TLS library libcurl uses
# (scripts/lib/tls-curl.sh builds one on mbedTLS).
. "$(dirname "$0")/lib.sh"
cd "$TEST_TMP" || exit 1

KC=${KUBE_CLIENT:-$KSTATUS_BUILD_DIR/tests/tools/kube-client}
command -v openssl >/dev/null || { echo "not ok 1 - openssl is needed"; exit 1; }
NS=/api/v1/namespaces/default

for ca in ca other-ca; do
        openssl req -x509 -newkey rsa:2048 -nodes -keyout $ca.key -out $ca.crt -days 1 -subj "/CN=$ca" 2>/dev/null
done
csr() { openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null; }
sign() { # NAME SIGNER [SAN]
        openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -out "$1.crt" -days 1 \
                ${3:+-extfile <(printf 'subjectAltName=%s' "$3")} 2>/dev/null
}
csr server localhost && sign server ca "IP:127.0.0.1,DNS:localhost"
csr bob bob && sign bob ca
# Valid in 2020 only: openssl ca sets both dates.
csr expired localhost
: >index.txt
echo 01 >serial
openssl ca -batch -notext -config <(printf '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\ncopy_extensions=copy\n[p]\ncommonName=supplied\n') \
        -cert ca.crt -keyfile ca.key -in expired.csr -out expired.crt \
        -startdate 20200101000000Z -enddate 20200102000000Z \
        -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost') >/dev/null 2>&1
ok "RSA test certificates made" test -s server.crt -a -s bob.crt -a -s expired.crt
like "$(openssl x509 -in server.crt -noout -text)" 'Public Key Algorithm: rsaEncryption' "the serving certificate is RSA"
like "$(openssl x509 -in expired.crt -noout -enddate)" 'notAfter=Jan  2 00:00:00 2020 GMT' "the expired certificate ended in 2020"

mkdir -p www/api/v1/namespaces
echo '{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"default"}}' >www/api/v1/namespaces/default
serve() { # NAME CERT: an s_server on a free port requiring a certificate of ca
        (cd www && exec openssl s_server -accept 127.0.0.1:0 -cert "../$2.crt" -key "../$2.key" -CAfile ../ca.crt \
                -Verify 1 -verify_return_error -WWW >"../$1.out" 2>&1) &
        at_exit "kill $! 2>/dev/null"
}
port_of() { # NAME: the port s_server NAME listens on, once it says so
        local i
        for i in $(seq 1 50); do grep -q '^ACCEPT' "$1.out" 2>/dev/null && break; sleep 0.1; done
        sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$1.out"
}
serve good server
serve old expired
port_good=$(port_of good) port_old=$(port_of old)
like "$port_good$port_old" '^[0-9]+$' "openssl s_server listens with the RSA and the expired certificate"

kubeconfig() { # SERVER CA_FILE USER_JSON [CLUSTER_JSON]
        jq -n --arg s "$1" --arg ca "$2" --argjson u "$3" --argjson c "${4:-{\}}" '{apiVersion: "v1", kind: "Config",
                "current-context": "c", clusters: [{name: "c", cluster: ({server: $s, "certificate-authority": $ca} + $c)}],
                contexts: [{name: "c", context: {cluster: "c", user: "u"}}], users: [{name: "u", user: $u}]}'
}
b64() { base64 -w0 <"$1"; }
files='{"client-certificate": "bob.crt", "client-key": "bob.key"}'
data=$(jq -n --arg c "$(b64 bob.crt)" --arg k "$(b64 bob.key)" '{"client-certificate-data": $c, "client-key-data": $k}')

both_get() { # KUBECONFIG DESCRIPTION
        local out
        out=$(KUBECONFIG=$1 "$KC" get $NS 2>err)
        is "$(jq -r .metadata.name <<<"$out" 2>/dev/null)" default "$2: our client" || sed 's/^/# /' err
        out=$(KUBECONFIG=$1 kubectl get --raw $NS 2>&1)
        is "$(jq -r .metadata.name <<<"$out" 2>/dev/null)" default "$2: kubectl"
}
both_refused() { # KUBECONFIG DESCRIPTION PATTERN
        like "$(KUBECONFIG=$1 "$KC" get $NS 2>&1 | head -1)" "^Unable to connect to the server: .*$3" "$2: our client"
        like "$(KUBECONFIG=$1 kubectl get --raw $NS 2>&1 | head -1)" '^Unable to connect to the server: ' "$2: kubectl"
}

kubeconfig "https://127.0.0.1:$port_good" ca.crt "$files" >files.json
both_get files.json "an RSA server and an RSA client certificate from files"
kubeconfig "https://127.0.0.1:$port_good" ca.crt "$data" >data.json
both_get data.json "an RSA server and an RSA client certificate from -data"
kubeconfig "https://127.0.0.1:$port_good" "" "$data" \
        "$(jq -n --arg ca "$(b64 ca.crt)" '{"certificate-authority-data": $ca}')" >ca-data.json
jq '.clusters[0].cluster |= del(."certificate-authority")' ca-data.json >ca-data2.json
both_get ca-data2.json "an RSA CA from certificate-authority-data"
kubeconfig "https://localhost:$port_good" ca.crt "$data" >by-name.json
both_get by-name.json "the server by its DNS name"

# A kubeconfig's CA is the only one trusted, as with kubectl: libcurl's own CA
# directory (Debian's libcurl: /etc/ssl/certs) is not added. libcurl on
# mbedTLS reads that whole directory when it is set; on OpenSSL it is only
# searched for an issuer not found otherwise, so this shows it for mbedTLS.
if command -v strace >/dev/null; then
        strace -f -e trace=openat -o opened.txt env KUBECONFIG=ca-data2.json "$KC" get $NS >/dev/null 2>&1
        is "$(grep -c '"/etc/ssl/certs/' opened.txt)" 0 "with a CA in the kubeconfig, /etc/ssl/certs is not read"
fi

kubeconfig "https://127.0.0.1:$port_good" other-ca.crt "$data" >foreign.json
both_refused foreign.json "a server certificate of another CA is refused" 'certificate'
kubeconfig "https://127.0.0.1:$port_good" ca.crt "$data" '{"tls-server-name": "not-the-server.example"}' >bad-name.json
both_refused bad-name.json "a name the RSA certificate does not carry is refused" '(name|subject)'
kubeconfig "https://127.0.0.1:$port_old" ca.crt "$data" >old.json
both_refused old.json "an expired RSA certificate is refused" 'expired'
kubeconfig "https://127.0.0.1:$port_good" ca.crt '{"token": "t"}' >none.json
both_refused none.json "no client certificate: the server refuses in the handshake" ''

done_testing
