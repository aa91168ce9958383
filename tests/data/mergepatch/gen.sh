#!/usr/bin/env bash
# gen.sh - regenerate vectors.json from cases.json with real kubectl (the
# oracle: `kubectl patch --local --type merge` applies merge patches with the
# json-patch library kube-apiserver uses). Each case's doc is the status of a
# ConfigMap (null: no status) and its patch is sent as {"status": patch}.
# Usage: tests/data/mergepatch/gen.sh   (needs kubectl and jq)
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=$(jq length cases.json)
{
        echo '['
        for i in $(seq 0 $((n - 1))); do
                jq -c ".[$i].doc as \$d | {apiVersion:\"v1\",kind:\"ConfigMap\",metadata:{name:\"x\"}}
                        + (if \$d == null then {} else {status:\$d} end)" cases.json >"$tmp/obj.json"
                patch=$(jq -c "{status: .[$i].patch}" cases.json)
                out=$(KUBECONFIG=/dev/null kubectl patch --local -f "$tmp/obj.json" --type merge -p "$patch" -o json)
                [ "$i" -gt 0 ] && echo ','
                jq -c --argjson out "$out" ".[$i] + {expected: (\$out.status // null), \"kubectl\": \"$(kubectl version --client -o json | jq -r .clientVersion.gitVersion)\"}" cases.json
        done
        echo ']'
} >vectors.json
echo "wrote $(jq length vectors.json) vectors"
