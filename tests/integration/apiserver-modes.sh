#!/usr/bin/env bash
# kstatus-test-apiserver start-up modes: plain HTTP, IPv6, a given token,
# CRDs loaded at start, the access log, bad arguments, and a fixed port.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
cd "$TEST_TMP" || exit 1

# ---- plain HTTP with a given token and CRDs loaded at start ----
start_apiserver --insecure-http --token s3cret --crds "$KSTATUS_SOURCE_DIR/tests/data/crds" || exit 1
like "$APISERVER_URL" '^http://127\.0\.0\.1:[0-9]+$' "--insecure-http serves plain HTTP"
is "$APISERVER_TOKEN" s3cret "--token sets the token"
like "$(kubectl api-resources --no-headers | grep -w healthrecords)" 'platform\.kratix\.io/v1alpha1 +true +HealthRecord' \
        "--crds installs the CRDs before the server says it is ready"
is "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' "$APISERVER_URL/version")" 401 \
        "plain HTTP refuses a wrong token"
is "$(curl -s -o /dev/null -w '%{http_code}' "$APISERVER_URL/version")" 200 \
        "but lets requests without one through (kubectl sends no token over HTTP)"
is "$(curl -s -H 'Authorization: Bearer s3cret' "$APISERVER_URL/version" | jq -r .major)" 1 "and works with it"
ok "kubectl works over plain HTTP" kubectl get healthrecords -A
first_pid=$APISERVER_PID
first_url=$APISERVER_URL

# ---- --access-log: one stamped line per request, once handled ----
before=${EPOCHREALTIME/./}
start_apiserver --access-log "$TEST_TMP/access.log" || exit 1
kubectl get ns default >/dev/null
after=${EPOCHREALTIME/./}
line=$(grep ' GET /api/v1/namespaces/default 200$' "$TEST_TMP/access.log")
like "$line" '^[0-9]+\.[0-9]{6} GET /api/v1/namespaces/default 200$' "--access-log writes \"SECONDS.MICROSECONDS METHOD URL CODE\""
stamp=${line%% *}
stamp=${stamp/./}
ok "stamped between the request's start and its answer" test "$before" -le "$stamp" -a "$stamp" -le "$after"
fails_with 2 "--access-log refuses a path it cannot open" \
        "$KSTATUS_BUILD_DIR/tests/apiserver/kstatus-test-apiserver" --access-log "$TEST_TMP/no/such/dir/log"

# ---- IPv6 loopback, generated token ----
if [ -e /proc/net/if_inet6 ] && ip -6 addr show lo 2>/dev/null | grep -q '::1'; then
        start_apiserver --address ::1 || exit 1
        like "$APISERVER_URL" '^https://\[::1\]:[0-9]+$' "--address ::1 serves on IPv6 loopback"
        like "$APISERVER_TOKEN" '^[0-9a-f]{32}$' "a token is generated when none is given"
        ok "kubectl works over IPv6 with the generated CA and token" kubectl get ns default
else
        echo "# no IPv6 loopback here: IPv6 not tested"
fi
ok "two servers run side by side" kill -0 "$first_pid"

# ---- bad arguments ----
bin=$KSTATUS_BUILD_DIR/tests/apiserver/kstatus-test-apiserver
fails_with 2 "an invalid port is refused" "$bin" --port 70000
is "$("$bin" --port 70000 2>&1)" 'error: invalid port "70000"' "with a one-line error"
fails_with 2 "an invalid --fault is refused" "$bin" --fault '{"code":200}'
fails_with 2 "an unknown option is refused" "$bin" --frobnicate
echo 'apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: broken}
spec: {}' >broken.yaml
fails_with 1 "a malformed CRD given with --crds stops the start" "$bin" --crds broken.yaml
like "$("$bin" --crds broken.yaml 2>&1)" '"broken.yaml": .*is invalid' "naming the file and the problem"

# ---- a fixed port that is taken ----
port=${first_url##*:}
fails_with 1 "a port in use is an error" "$bin" --port "$port" --address 127.0.0.1
like "$("$bin" --port "$port" --address 127.0.0.1 2>&1 | tail -1)" "^error: cannot listen on 127.0.0.1 port $port" \
        "saying which port"

done_testing
