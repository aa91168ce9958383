#!/usr/bin/env bash
# kubectl kstatus lint: checks a status.yaml exactly as the sidecar will.
. "$(dirname "$0")/lib.sh"
cd "$TEST_TMP" || exit 1

ok "the plugin is found by kubectl's plugin discovery" kubectl kstatus --help
like "$(kubectl plugin list 2>/dev/null)" 'kubectl-kstatus' "kubectl plugin list shows kubectl-kstatus"
like "$(kubectl kstatus version)" '^kubectl-kstatus version v[0-9]+\.[0-9]+\.[0-9]+ \(commit [0-9a-f]+(-dirty)?|unknown\)$' \
        "version prints the version and commit"
fails_with 2 "an unknown command exits 2" kubectl kstatus frobnicate
is "$(kubectl kstatus frobnicate 2>&1)" \
        "error: unknown command \"frobnicate\" for \"kubectl kstatus\"; see 'kubectl kstatus --help'" \
        "an unknown command is one line"

cat >good.yaml <<'EOT'
message: Resource provisioned with database size 10Gb
connectionDetails:
  host: example.com
  dbName: root
enabled: yes
mode: 0755
cleared: null
EOT
out=$(kubectl kstatus lint good.yaml)
json_is "$out" '{"message":"Resource provisioned with database size 10Gb","connectionDetails":{"host":"example.com","dbName":"root"},"enabled":true,"mode":493,"cleared":null}' \
        "lint prints the JSON as parsed, YAML 1.1 scalars resolved and nulls kept"
is "$(kubectl kstatus lint -o yaml good.yaml | head -1)" "cleared: null" "lint -o yaml prints sorted YAML"
is "$(kubectl kstatus lint -q good.yaml)" "" "lint -q prints nothing on success"
json_is "$(kubectl kstatus lint - <good.yaml)" "$out" "lint reads stdin with -"

: >empty.yaml
is "$(kubectl kstatus lint empty.yaml)" "{}" "an empty file is {}"
printf '# only a comment\n' >comment.yaml
is "$(kubectl kstatus lint comment.yaml)" "{}" "a file with only comments is {}"

check_bad() { # description file regex
        local out rc
        out=$(kubectl kstatus lint "$2" 2>&1 >/dev/null)
        rc=$?
        if [ "$rc" = 1 ]; then like "$out" "$3" "$1"; else is "exit $rc" "exit 1" "$1"; fi
        is "$(printf '%s\n' "$out" | grep -c .)" 1 "$1: one line"
}

printf -- '- a\n- b\n' >list.yaml
check_bad "a list is not a status" list.yaml '^error: list.yaml:1:1: the document must be a mapping of keys to values, not a list$'
printf 'just a string\n' >scalar.yaml
check_bad "a scalar is not a status" scalar.yaml 'not a scalar$'
printf 'message: ok\nbad: @oops\n' >invalid.yaml
check_bad "invalid YAML names line and column" invalid.yaml '^error: invalid.yaml:2:6: .*cannot start any token'
printf 'size: .inf\n' >inf.yaml
check_bad ".inf is refused" inf.yaml '^error: inf.yaml:1:7: .*'
printf 'kratix:\n  workflows: {}\n' >kratix.yaml
check_bad "a top-level kratix key is refused" kratix.yaml '^error: kratix.yaml:1:1: "kratix" is a kratix managed status field'
printf 'conditions:\n- status: "True"\n' >notype.yaml
check_bad "a condition without type is refused" notype.yaml '^error: notype.yaml:2:3: conditions\[0\]: condition has no "type"$'
printf 'conditions:\n- type: ConfigureWorkflowCompleted\n  status: "True"\n' >owned.yaml
check_bad "kstatus's own condition types are refused" owned.yaml 'condition type "ConfigureWorkflowCompleted" is set by kstatus'
printf 'message: 42\n' >msg.yaml
check_bad "a message that is not a string is refused" msg.yaml '^error: msg.yaml:1:1: "message" must be a string'

# Kratix's generated schema types these as int64 and its controller owns them:
# the real API server answers 422 for the whole write when one is mistyped.
for key in observedGeneration workflows workflowsSucceeded workflowsFailed; do
        printf 'message: ok\n%s: "2"\n' "$key" >owned-$key.yaml
        check_bad "a mistyped $key is refused" owned-$key.yaml \
                "^error: owned-$key.yaml:2:1: \"$key\" is a kratix managed status field that cannot be updated via workflows; it is an integer in Kratix's schema"
        printf '%s: 2\n' "$key" >int-$key.yaml
        check_bad "$key is Kratix's even as an integer" int-$key.yaml \
                "^error: int-$key.yaml:1:1: \"$key\" is a kratix managed status field that cannot be updated via workflows$"
done

cat >pruned.yaml <<'EOT'
message: ok
conditions:
- type: Ready
  status: "True"
  observedGeneration: 3
  lastTransitionTime: "2024-08-21T10:27:45Z"
EOT
out=$(kubectl kstatus lint pruned.yaml 2>&1 >/dev/null)
rc=$?
is "$rc" 0 "a condition field the server prunes is only a warning"
is "$out" 'warning: pruned.yaml:5:3: conditions[0]: field "observedGeneration" is not kept: the API server prunes every condition field but type, status, reason, message and lastTransitionTime' \
        "the pruned condition field is named with its line and column"
json_is "$(kubectl kstatus lint pruned.yaml 2>/dev/null)" \
        '{"message":"ok","conditions":[{"type":"Ready","status":"True","observedGeneration":3,"lastTransitionTime":"2024-08-21T10:27:45Z"}]}' \
        "lint still prints the status the sidecar sends"

printf 'message: configured\nregion: eu\n' >promise.yaml
is "$(kubectl kstatus lint -q promise.yaml 2>&1)" "" "a resource's status keeps any key: no warning"
is "$(kubectl kstatus lint -q --workflow-type=promise promise.yaml 2>&1)" \
        'warning: promise.yaml:2:1: "region" is not kept: only "message" can be updated in a Promise'"'"'s status' \
        "--workflow-type=promise warns, as status-writer does, that only message is kept"
is "$(KRATIX_WORKFLOW_TYPE=promise kubectl kstatus lint -q promise.yaml 2>&1)" \
        'warning: promise.yaml:2:1: "region" is not kept: only "message" can be updated in a Promise'"'"'s status' \
        "the workflow type defaults to KRATIX_WORKFLOW_TYPE, as in a pipeline container"
fails_with 0 "a promise warning does not fail lint" kubectl kstatus lint -q --workflow-type=promise promise.yaml
fails_with 2 "a bad --workflow-type is a usage error" kubectl kstatus lint --workflow-type=job promise.yaml

printf 'kratix: 1\nmessage: [1]\nconditions:\n- {}\n' >many.yaml
out=$(kubectl kstatus lint many.yaml 2>&1 >/dev/null)
is "$(printf '%s\n' "$out" | grep -c '^error: many.yaml:[0-9]*:[0-9]*: ')" 3 "every problem is reported, one line each, with its position"

head -c 1100000 /dev/zero | tr '\0' 'a' | sed 's/^/k: /' >big.yaml
check_bad "a file over 1 MiB is refused" big.yaml 'over the limit of 1048576 bytes \(max-file-size\)'
printf 'a: {b: 1}\n' >small.yaml
fails_with 1 "--max-file-size is configurable" kubectl kstatus lint --max-file-size=4 small.yaml
deep=$(for i in $(seq 1 70); do printf '['; done; for i in $(seq 1 70); do printf ']'; done)
printf 'x: %s\n' "$deep" >deep.yaml
check_bad "nesting deeper than 64 is refused" deep.yaml 'max-depth'
fails_with 0 "--max-depth is configurable" kubectl kstatus lint -q --max-depth=100 deep.yaml
cat >bomb.yaml <<'EOT'
a: &a ["x","x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]
EOT
start=$(date +%s%N)
check_bad "an alias bomb is refused" bomb.yaml 'max-nodes'
elapsed=$((($(date +%s%N) - start) / 1000000))
ok "an alias bomb is refused quickly (${elapsed} ms < 1000 ms)" test "$elapsed" -lt 1000
big_value=$(head -c 600000 /dev/zero | tr '\0' 'a')
printf 'a: &a "%s"\nb: *a\n' "$big_value" >wide.yaml
check_bad "a status over 1 MiB of JSON is refused" wide.yaml 'max-status-size'
# 60 000 empty maps: 300 kB and 60 002 nodes, but ~15 MiB once parsed: what
# the sidecar could push and never read back (docs/BEHAVIOUR.md §2).
awk 'BEGIN { print "big:"; for (i = 0; i < 60000; i++) print "- {}" }' >maps.yaml
check_bad "a status taking more than 12 MiB of memory is refused" maps.yaml \
        '^error: maps.yaml:[0-9]+:[0-9]+: status would take more than 12582912 bytes of memory \(limit max-status-memory\)$'
fails_with 0 "--max-status-memory is configurable" kubectl kstatus lint -q --max-status-memory=32Mi maps.yaml
fails_with 2 "--max-status-memory wants a size" kubectl kstatus lint --max-status-memory=lots maps.yaml

head -c 4096 /dev/urandom >garbage.bin
printf '\x00\x01\x02\xff\xfe' >>garbage.bin
fails_with 1 "binary garbage is refused" kubectl kstatus lint garbage.bin
is "$(kubectl kstatus lint garbage.bin 2>&1 | grep -c .)" 1 "binary garbage: one line"
ok "binary garbage: no raw control characters reach the terminal" \
        bash -c "! kubectl kstatus lint garbage.bin 2>&1 | LC_ALL=C grep -q \$'[\x01-\x08\x0b-\x1f\x7f]'"
mkdir adir
check_bad "a directory is refused" adir '^error: adir: is a directory$'
check_bad "a missing file is refused" nope.yaml '^error: nope.yaml: no such file or directory$'
fails_with 2 "no file is a usage error" kubectl kstatus lint
fails_with 2 "two files is a usage error" kubectl kstatus lint good.yaml good.yaml
fails_with 2 "a bad -o is a usage error" kubectl kstatus lint -o table good.yaml
fails_with 2 "a bad limit is a usage error" kubectl kstatus lint --max-depth=lots good.yaml
done_testing
