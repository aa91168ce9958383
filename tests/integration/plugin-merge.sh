#!/usr/bin/env bash
# kubectl kstatus merge: the seed's two pipelines, bases, modes, bad inputs.
. "$(dirname "$0")/lib.sh"
seed=$KSTATUS_TEST_DATA/seed
cd "$TEST_TMP" || exit 1

out=$(kubectl kstatus merge -o json "$seed/create-user.status.yaml" "$seed/populate-vault.status.yaml")
is "$(jq -c .iam <<<"$out")" '{"password":"<vault-ref>","user":"admin"}' "seed: iam.user and iam.password both kept"
is "$(jq -r .message <<<"$out")" "User created and vault secret created" "seed: message from the last pipeline"
is "$(jq -c '.conditions | map({type,status,reason,message})' <<<"$out")" \
        '[{"type":"ConfigureWorkflowCompleted","status":"True","reason":"PipelinesExecutedSuccessfully","message":"Pipelines completed"}]' \
        "seed: ConfigureWorkflowCompleted is True after the last pipeline"
like "$(jq -r '.conditions[0].lastTransitionTime' <<<"$out")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' \
        "seed: lastTransitionTime is RFC 3339 UTC seconds"

yaml=$(kubectl kstatus merge --workflow=none "$seed/create-user.status.yaml" "$seed/populate-vault.status.yaml")
is "$yaml" "iam:
  password: <vault-ref>
  user: admin
message: User created and vault secret created" "yaml output sorted with two-space indent"

shallow=$(kubectl kstatus merge --merge=shallow --workflow=none -o json "$seed/create-user.status.yaml" "$seed/populate-vault.status.yaml")
is "$(jq -c .iam <<<"$shallow")" '{"password":"<vault-ref>"}' "shallow: iam replaced whole, as Kratix's status-writer"

# --base with a whole object (its .status is used), from stdin.
cat >obj.yaml <<'EOT'
apiVersion: example.promise.syntasso.io/v1
kind: IAM
metadata:
  name: example
status:
  message: Pending
  iam:
    user: old
    role: reader
EOT
out=$(kubectl kstatus merge --base - -o json "$seed/create-user.status.yaml" <obj.yaml)
is "$(jq -c .iam <<<"$out")" '{"role":"reader","user":"admin"}' "--base object: nested maps merge onto its status"

# --base with a bare status map; Pending becomes Resource requested at the end.
printf 'message: Pending\nkeep: 1\n' >base.yaml
printf 'other: 2\n' >f.yaml
out=$(kubectl kstatus merge --base base.yaml -o json f.yaml)
is "$(jq -c '{message,keep,other}' <<<"$out")" '{"message":"Resource requested","keep":1,"other":2}' \
        "--base status map: Pending becomes Resource requested after the last pipeline"

printf 'keep: null\n' >del.yaml
out=$(kubectl kstatus merge --base base.yaml --workflow=none -o json del.yaml)
is "$(jq -c . <<<"$out")" '{"message":"Pending"}' "key: null deletes the key"

# Conditions merge by type.
printf 'conditions:\n- type: DatabaseReady\n  status: "True"\n  reason: Up\n' >c1.yaml
printf 'conditions:\n- type: VaultReady\n  status: "False"\n  reason: Waiting\n' >c2.yaml
out=$(kubectl kstatus merge --workflow=none -o json c1.yaml c2.yaml)
is "$(jq -c '[.conditions[].type]' <<<"$out")" '["DatabaseReady","VaultReady"]' "conditions merge by type, in order"

# Bad inputs: each a clear one-line error and exit 1 (usage errors exit 2).
printf 'kratix:\n  x: 1\n' >kratix.yaml
fails_with 1 "a top-level kratix key is refused" kubectl kstatus merge kratix.yaml
err=$(kubectl kstatus merge kratix.yaml 2>&1 >/dev/null)
is "$err" 'error: kratix.yaml:1:1: "kratix" is a kratix managed status field that cannot be updated via workflows' \
        "the kratix key error names the file"
fails_with 1 "a missing file is an error" kubectl kstatus merge nope.yaml
is "$(kubectl kstatus merge nope.yaml 2>&1)" "error: nope.yaml: no such file or directory" "missing file message"
fails_with 2 "no files is a usage error" kubectl kstatus merge
fails_with 2 "a bad --merge is a usage error" kubectl kstatus merge --merge=wide f.yaml
fails_with 2 "stdin twice is a usage error" kubectl kstatus merge --base - -
fails_with 2 "an unknown flag is a usage error" kubectl kstatus merge --frobnicate f.yaml
fails_with 1 "a directory as FILE is an error" kubectl kstatus merge .
printf -- '- a\n- b\n' >list.yaml
fails_with 1 "a base that is not a mapping is an error" kubectl kstatus merge --base list.yaml f.yaml
done_testing
