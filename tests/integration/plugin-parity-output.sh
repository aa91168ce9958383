#!/usr/bin/env bash
# get's output formats and display flags against real kubectl 1.32: the same
# expressions and flags through `kubectl get` and `kubectl kstatus get` on the
# same objects, compared byte for byte where they must match (docs/BEHAVIOUR.md
# §8). kubectl is the oracle; where kstatus deliberately differs, README's table
# of differences says why and the check here compares only what must match.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-plugin.sh"
cd "$TEST_TMP" || exit 1
start_apiserver || exit 1
apiserver_install_crds
plugin_fixture || { echo "# fixture failed"; exit 1; }

# More objects: another namespace, labels, numbers, sizes to sort by, an IAM.
kubectl create namespace team-b >/dev/null
for spec in "default pending 2Gi 3" "default big 500Gi 10" "team-b broken 1Ti 7"; do
        # shellcheck disable=SC2086 # "namespace name size rank" splits into $1..$4
        set -- $spec
        kubectl create -n "$1" -f - >/dev/null <<EOT
apiVersion: example.promise.syntasso.io/v1
kind: Database
metadata: {name: $2, labels: {team: t-$2, tier: "$4"}}
spec: {size: $3}
EOT
done
kubectl patch db pending --subresource=status --type merge \
        -p '{"status":{"message":"Pending <& more>","observedGeneration":1,"conditions":[{"type":"Ready","status":"False","reason":"Wait","message":"","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}' >/dev/null
kubectl create -f - >/dev/null <<'EOT'
apiVersion: example.promise.syntasso.io/v1
kind: IAM
metadata: {name: alice, namespace: default, labels: {team: platform}}
spec: {user: alice}
EOT

# same DESCRIPTION ARGS...: stdout, stderr and exit code of `kubectl get ARGS`
# and `kubectl kstatus get ARGS` are identical.
same() {
        local d=$1; shift
        local want got
        want=$(kubectl get "$@" 2>&1; echo "rc=$?")
        got=$(kubectl kstatus get "$@" 2>&1; echo "rc=$?")
        is "$got" "$want" "$d: $*"
}

# -o json|yaml: the API objects, the object itself for one name, a List otherwise.
same "-o json, a List" db -o json
same "-o json, -A" db -A -o json
same "-o json, one name: the object" db example -o json
same "-o json, TYPE/NAME: the object" db/example -o json
same "-o json, two names: a List" db example pending -o json
same "-o json, a selector matching one: still a List" db -l team=platform -o json
same "-o json, nothing found: an empty List, no message" db -n nowhere -o json
same "-o yaml, a List" db -A -o yaml
same "-o yaml, one name" db example -o yaml
same "-o json, two types in one List" db,iam -o json
is "$(kubectl kstatus get db -o json | jq -r '.items[] | .metadata.name + "=" + (.status.message // "")' | head -2)" \
        "$(printf 'big=\nexample=Database provisioned with size 10Gi')" "-o json pipes into jq as kubectl's does"

# JSONPath as client-go evaluates it.
while IFS= read -r expr; do
        same "jsonpath" db -A -o "jsonpath=$expr"
done <<'EOT'
{.items[*].metadata.name}
{.items[0].metadata.name}
{.items[-1].metadata.name}
{.items[1:3].metadata.name}
{.items[0:4:2].metadata.name}
{.items[*]['metadata.name']}
{.items[0,2].metadata.name}
{.kind} has {.items[*].metadata.name}
{range .items[*]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}
{range .items[*]}{.metadata.name}{"\t"}{.spec.size}{"\n"}{end}
{range .items[*]}[{range .status.conditions[*]}{.type}={.status};{end}]{end}
{.items[?(@.metadata.name=="example")].status.message}
{.items[0].status.conditions[?(@.type=="Ready")].reason}
{.items[?(@.status.observedGeneration)].metadata.name}
{.items[?(@.metadata.labels.tier>"5")].metadata.name}
{.items[?(@.status.observedGeneration>=1)].metadata.name}
{.items[?(@.status.observedGeneration!=1)].metadata.name}
{..reason}
{.items[*].metadata.labels}
{.items[0].status.connection}
{.items[*].status.connection.users[*]}
{.items[*].status.healthStatus.healthRecords[0].lastRun}
{.items[*].status.healthStatus.healthRecords[*].details.latencyMs}
{.items[*].status.nothing}
{.items[*].metadata.name} {.items[*].metadata.uid}
{$.items[0].metadata.name}
{@.items[0].metadata.name}
{.items[*].status.message}
{"a\tb\n"}{'single'}
{.items[0]..name}
{.items[*].spec.*}
EOT
# Single objects too.
same "jsonpath on one object" db example -o 'jsonpath={.status.conditions[?(@.status=="True")].type}'
same "jsonpath-as-json" db -A -o 'jsonpath-as-json={.items[*].metadata.name}{.items[0].status.observedGeneration}'
printf '{range .items[*]}{.metadata.name}{"\\n"}{end}' >tmpl.jsonpath
same "jsonpath-file" db -o jsonpath-file=tmpl.jsonpath

# Bad expressions: kubectl's error and exit code.
for expr in '{.items[' '{.items[0]' '{.a[?(@.b==1}' '{	}' '{"abc}' '{....a}' '{1.2.3}' "{'a\\qb'}" \
        '{.items[x]}' '{.items[?(@.x=~"y")]}'; do
        same "a bad template is kubectl's parse error" db -o "jsonpath=$expr"
done
same "an empty template" db -o jsonpath=
same "a missing template file" db -o jsonpath-file=nope.txt
# Errors while evaluating: kubectl adds a dump of the whole object in Go
# syntax after its first line; the first line and the exit code match.
for expr in '{.items[9].metadata}' '{end}' '{.items[0].metadata.name}{end}' '{foo}' '{.items[0].metadata.name[0]}' \
        '{.items[?(@.status.observedGeneration=="1")]}' '{.items[?(@.metadata.name<=1)]}' '{.items[0::0]}'; do
        want=$(kubectl get db -o "jsonpath=$expr" 2>&1 | head -1; echo "rc=${PIPESTATUS[0]}")
        got=$(kubectl kstatus get db -o "jsonpath=$expr" 2>&1; echo "rc=$?")
        is "$got" "${want/. Printing more information for debugging the template:/}" "evaluation error, first line: $expr"
done

# go-template: the subset docs/BEHAVIOUR.md §8 lists.
while IFS= read -r tmpl; do
        same "go-template" db -A -o "go-template=$tmpl"
done <<'EOT'
{{range .items}}{{.metadata.name}}{{"\n"}}{{end}}
{{range $i, $e := .items}}{{$i}}={{$e.metadata.namespace}}/{{$e.metadata.name}} {{end}}
{{range .items}}{{if .status}}{{.status.message}}{{else}}-{{end}};{{end}}
{{range .items}}{{if eq .metadata.name "example"}}E{{else if eq .spec.size "2Gi"}}P{{else}}?{{end}}{{end}}
{{range .items}}{{range $k, $v := .metadata.labels}}{{$k}}={{$v}},{{end}} {{end}}
{{(index .items 0).metadata.name}} {{len .items}} {{index .items 1 "spec" "size"}}
{{with index .items 1}}{{.metadata.generation}} {{.status.observedGeneration}} {{.status.conditions}}{{end}}
{{.kind}} {{.nope}} {{.nope.x}} {{.metadata}}
{{range .items}}{{.status.connection}}{{end}}
{{printf "%s/%v: %d" .kind .apiVersion (len .items)}} {{len .items | printf "%d!"}}
{{range .items}}{{if and .status (not .status.observedGeneration)}}{{.metadata.name}}{{end}}{{end}}
{{range .items}}{{if gt (len .metadata.name) 6}}{{.metadata.name}} {{end}}{{end}}
{{- range .items }} {{ .metadata.name -}} {{ end }}
{{/* a comment */}}{{$n := len .items}}{{$n}}
{{range .nope}}x{{else}}none{{end}}
EOT
printf '{{range .items}}{{.metadata.name}}\n{{end}}' >tmpl.gotmpl
same "go-template-file" db -o go-template-file=tmpl.gotmpl
same "template (kubectl's alias)" db -o 'template={{.kind}}'
for tmpl in '{{.items}' '{{foo .}}' '{{range .items}}' '{{end}}'; do
        same "a bad go-template is kubectl's parse error" db -o "go-template=$tmpl"
done
same "an empty go-template" db -o go-template=

# custom-columns.
same "custom-columns" db -A -o 'custom-columns=NAME:.metadata.name,NS:{.metadata.namespace},SIZE:spec.size,MISSING:.nope'
same "custom-columns, lists and maps as Go prints them" db \
        -o 'custom-columns=N:.metadata.name,LABELS:.metadata.labels,C:.status.conditions[*].type,U:.status.connection.users'
same "custom-columns --no-headers" db -o custom-columns=N:.metadata.name,M:.status.message --no-headers
same "custom-columns, one object" db example -o custom-columns=N:.metadata.name,G:.metadata.generation
same "custom-columns, narrow columns get kubectl's minimum width" db -o custom-columns=G:.metadata.generation,X:.nope,N:.metadata.name
same "custom-columns, two types" db,iam -o custom-columns=KIND:.kind,NAME:.metadata.name
same "custom-columns, nothing found: the header" db -n nowhere -o custom-columns=N:.metadata.name
printf 'NAME   SIZE\n.metadata.name  {.spec.size}\n' >cols.txt
same "custom-columns-file" db -o custom-columns-file=cols.txt
printf 'NAME SIZE\n.metadata.name\n' >bad-cols.txt
same "custom-columns-file, headers and specs differ" db -o custom-columns-file=bad-cols.txt
same "custom-columns without a colon" db -o custom-columns=NAME
same "custom-columns with a bad path" db -o 'custom-columns=A:{a}{b}'
same "custom-columns with nothing" db -o custom-columns=

# --sort-by, kubectl's comparisons: quantities, numbers, strings, missing first.
same "--sort-by a quantity" db -A --sort-by=.spec.size -o name
same "--sort-by a number in a string label" db -A --sort-by='{.metadata.labels.tier}' -o name
same "--sort-by a string, missing first" db -A --sort-by=.status.message -o name
same "--sort-by with jsonpath output" db -A --sort-by=.metadata.name -o 'jsonpath={.items[*].metadata.name}'
same "--sort-by with custom-columns" db -A --sort-by=spec.size -o custom-columns=N:.metadata.name,S:.spec.size
same "--sort-by a field no object has" db --sort-by=.metadata.nope -o name
is "$(kubectl kstatus get db -A --sort-by=.spec.size --no-headers | awk '{print $2}' | paste -sd' ')" \
        "$(kubectl get db -A --sort-by=.spec.size --no-headers | awk '{print $2}' | paste -sd' ')" \
        "--sort-by orders the table as kubectl's"

# Display flags: our table has its own columns, so compare the columns the flags add.
is "$(kubectl kstatus get db -A --show-labels --no-headers | awk '{print $NF}')" \
        "$(kubectl get db -A --show-labels --no-headers | awk '{print $NF}')" "--show-labels: the LABELS column"
is "$(kubectl kstatus get db --show-labels | head -1 | awk '{print $NF}')" "LABELS" "--show-labels: the header"
is "$(kubectl kstatus get db -L team -L kratix.io/promise-name,tier | head -1 | awk '{print $(NF-2), $(NF-1), $NF}')" \
        "$(kubectl get db -L team -L kratix.io/promise-name,tier | head -1 | awk '{print $(NF-2), $(NF-1), $NF}')" \
        "-L: one column per label, the key's last segment in capitals"
is "$(kubectl kstatus get db -L team --no-headers | awk '{print $1, $NF}')" \
        "$(kubectl get db -L team --no-headers | awk '{print $1, $NF}')" "-L: the label's values"
is "$(kubectl kstatus get db --show-kind --no-headers | awk '{print $1}')" \
        "$(kubectl get db --show-kind --no-headers | awk '{print $1}')" "--show-kind: kind-qualified names"
is "$(kubectl kstatus get db,iam | awk '{print $1}')" "$(kubectl get db,iam | awk '{print $1}')" \
        "TYPE,TYPE: one table per type, a blank line between, as kubectl"
same "TYPE,TYPE -o name" db,iam -o name
same "TYPE,TYPE with a name" db,iam alice -o name --ignore-not-found

# The new flags in pflag's forms.
same "-oFORMAT" db -A '-ojsonpath={.items[*].metadata.name}'
same "-o=FORMAT, --sort-by VALUE" db -A -o=name --sort-by .metadata.name
same "--ignore-not-found=true" db nope --ignore-not-found=true
same "--show-kind=false" db -o name --show-kind=false
same "-LKEY" db -Lteam -o custom-columns=N:.metadata.name
is "$(kubectl kstatus get db --chunk-size=abc 2>&1 | head -1; echo "rc=${PIPESTATUS[0]}")" \
        "$(kubectl get db --chunk-size=abc 2>&1 | head -1; echo "rc=${PIPESTATUS[0]}")" "--chunk-size=abc: pflag's error"

# Filters and paging.
same "--field-selector metadata.name" db -A --field-selector metadata.name=broken -o name
same "--field-selector metadata.namespace" db -A --field-selector metadata.namespace=team-b -o name
same "--field-selector !=" db --field-selector 'metadata.name!=example' -o name
same "--ignore-not-found" db nope --ignore-not-found
same "--ignore-not-found with one found" db nope example --ignore-not-found -o name
same "a missing name: what was found, then kubectl's NotFound, exit 1" db nope example -o name
same "a missing name, -o json" db nope example -o json
mark=$(apiserver_mark)
same "--chunk-size=1" db -A --chunk-size=1 -o name
is "$(apiserver_access_count "$mark" GET /apis/example.promise.syntasso.io/v1/databases)" 8 \
        "--chunk-size=1: four pages of one each, kubectl's and ours"

# -w with --output-watch-events: the list as ADDED events, then each change.
watch_both() { # FILE-PREFIX ARGS...
        local p=$1; shift
        kubectl get "$@" >"$p.kubectl" 2>&1 &
        at_exit "kill $! 2>/dev/null"
        kubectl kstatus get "$@" >"$p.kstatus" 2>&1 &
        at_exit "kill $! 2>/dev/null"
}
# shellcheck disable=SC2317 # called by poll
lines_at_least() { [ "$(wc -l <"$1")" -ge "$2" ]; }
mark=$(apiserver_mark)
watch_both events db -w -o json --output-watch-events
watch_both only db --watch-only -o name
poll 10 lines_at_least events.kubectl 3 && poll 10 lines_at_least events.kstatus 3
# each of the four lists, then watches: 8 GETs of the collection
apiserver_wait_access "$mark" 8 GET /apis/example.promise.syntasso.io/v1/namespaces/default/databases
kubectl patch db big --subresource=status --type merge -p '{"status":{"message":"grown"}}' >/dev/null
poll 10 lines_at_least events.kubectl 4 && poll 10 lines_at_least events.kstatus 4
is "$(cat events.kstatus)" "$(cat events.kubectl)" "-w -o json --output-watch-events: one line per event, as kubectl"
is "$(jq -r '.type + " " + .object.metadata.name' events.kstatus | tail -1)" "MODIFIED big" "the change came as MODIFIED"
poll 10 lines_at_least only.kubectl 1 && poll 10 lines_at_least only.kstatus 1
is "$(cat only.kstatus)" "$(cat only.kubectl)" "--watch-only: the change, not the list"

# wait --for=jsonpath, as kubectl 1.32 reads it: met at once, same words, same exit.
same_wait() { # DESCRIPTION ARGS...
        local d=$1; shift
        is "$(kubectl kstatus wait "$@" --timeout=10s 2>&1; echo "rc=$?")" "$(kubectl wait "$@" --timeout=10s 2>&1; echo "rc=$?")" \
                "wait $d: $*"
}
same_wait "a value" db/example --for=jsonpath='{.status.message}'='Database provisioned with size 10Gi'
same_wait "through a filter" db/example --for='jsonpath={.status.conditions[?(@.type=="Ready")].reason}=Degraded'
same_wait "a number, relaxed path" db example --for=jsonpath=.status.observedGeneration=1
same_wait "existence" db/example --for=jsonpath='{.status.healthStatus}'
# Refusals: kubectl's words; the exit code is wait's documented 2 for usage errors.
for spec in "jsonpath={.status.message}=" "jsonpath={.status[}=x" "jsonpath={.a}=b=c" "jsonpath={a}{b}"; do
        is "$(kubectl kstatus wait db/example --for="$spec" 2>&1; echo "rc=$?")" \
                "$(kubectl wait db/example --for="$spec" 2>&1; echo "rc=2")" "wait refuses --for=$spec as kubectl"
done
# Met later: the wait is watching (its GET is logged) when the value arrives.
mark=$(apiserver_mark)
kubectl kstatus wait db/pending --for=jsonpath='{.status.message}'=done --timeout=20s >wait.out 2>&1 &
wait_pid=$!
apiserver_wait_access "$mark" 1 GET /apis/example.promise.syntasso.io/v1/namespaces/default/databases
kubectl patch db pending --subresource=status --type merge -p '{"status":{"message":"done"}}' >/dev/null
wait "$wait_pid"
is "$?:$(cat wait.out)" "0:database.example.promise.syntasso.io/pending condition met" "wait --for=jsonpath: met when the value comes"

done_testing
