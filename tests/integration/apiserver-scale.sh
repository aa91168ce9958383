#!/usr/bin/env bash
# kstatus-test-apiserver at scale: 10 000 custom resources created over one
# connection, then listed by kubectl across namespaces, by pages and by label.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
cd "$TEST_TMP" || exit 1

start_apiserver || exit 1
apiserver_install_crds
kubectl create namespace team-a >/dev/null
kubectl create namespace team-b >/dev/null

# One curl process, one kept-alive connection, 10 000 POSTs.
namespaces=(default team-a team-b)
for i in $(seq 0 9999); do
        [ "$i" = 0 ] || echo next
        printf 'url = "%s/apis/example.promise.syntasso.io/v1/namespaces/%s/databases"\n' "$APISERVER_URL" "${namespaces[i % 3]}"
        printf 'header = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\n' "$APISERVER_TOKEN"
        printf 'cacert = "%s"\nsilent\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' "$APISERVER_CA"
        printf 'data = "{\\"apiVersion\\":\\"example.promise.syntasso.io/v1\\",\\"kind\\":\\"Database\\",\\"metadata\\":{\\"name\\":\\"db-%05d\\",\\"labels\\":{\\"shard\\":\\"s%d\\"}},\\"spec\\":{\\"size\\":\\"small\\"}}"\n' "$i" $((i % 10))
done >create.cfg
start=$(date +%s%N)
codes=$(curl -K create.cfg | sort | uniq -c | sed 's/^ *//')
ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$codes" "10000 201" "10 000 custom resources are created"
echo "# created 10 000 in $ms ms"
ok "in under 30 s (${ms} ms)" test "$ms" -lt 30000

start=$(date +%s%N)
out=$(kubectl get databases -A --no-headers)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$(wc -l <<<"$out")" 10000 "kubectl get -A lists all 10 000"
echo "# kubectl get -A took $ms ms"
is "$(awk '{print $1}' <<<"$out" | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')" "3334 3333 3333 " "across the three namespaces"
is "$(awk '{print $2}' <<<"$out" | sort -u | wc -l)" 10000 "each name once"
is "$(kubectl get databases -n team-a --chunk-size=700 -o name | wc -l)" 3333 "--chunk-size pages through one namespace"
is "$(kubectl get databases -A -l shard=s7 -o name | wc -l)" 1000 "a label selector over 10 000"
is "$(kubectl get databases -n team-b --field-selector metadata.name=db-00005 -o name)" \
        "database.example.promise.syntasso.io/db-00005" "a field selector finds one of 10 000"

# Raw pages: limit/continue return every item once, in order.
path=/apis/example.promise.syntasso.io/v1/databases
cont=""
: >pages.txt
pages=0
while :; do
        apiserver_curl -f "$path?limit=2500${cont:+&continue=$(jq -rn --arg c "$cont" '$c|@uri')}" >page.json || break
        jq -r '.items[] | .metadata.namespace + "/" + .metadata.name' page.json >>pages.txt
        pages=$((pages + 1))
        cont=$(jq -r '.metadata.continue // empty' page.json)
        [ -n "$cont" ] || break
        [ "$pages" -lt 10 ] || break
done
is "$pages" 4 "limit=2500 gives four pages"
is "$(wc -l <pages.txt)/$(sort -u pages.txt | wc -l)" "10000/10000" "every object once"
ok "in key order" sort -c pages.txt

done_testing
