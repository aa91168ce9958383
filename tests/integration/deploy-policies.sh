#!/usr/bin/env bash
# deploy/: the injection policies produce the Pod `kubectl kstatus inject`
# produces, on the Pod Kratix's pipeline factory generates
# (tests/data/kratix-pod/pod.yaml); the RBAC grants exactly what the sidecar
# does; the example Promise matches the seed and is accepted by an API server.
#
# What can and cannot be evaluated here:
#   - Kyverno: its JSON patches are applied for real (kubectl patch --type=json
#     --local); the JMESPath variables and preconditions are evaluated by jq
#     equivalents, and the test first checks that the policy's expressions are
#     exactly the ones those equivalents were written for.
#   - MutatingAdmissionPolicy: no CEL evaluator is available here, so its
#     mutations are not run. The test checks its match rules and that every
#     value inject puts into the sidecar appears in its CEL, so the two cannot
#     drift apart silently.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"

deploy=$KSTATUS_SOURCE_DIR/deploy
fixture=$KSTATUS_TEST_DATA/kratix-pod/pod.yaml
version=$(meson introspect --projectinfo "$KSTATUS_BUILD_DIR" | jq -r .version)
image=ghcr.io/kstatus/kstatus-sidecar:v$version
# to_json FILE: its objects as JSON (several documents become one List).
to_json() {
        local out
        out=$(KUBECONFIG=/dev/null kubectl patch --local -f "$1" --type merge -p '{}' -o json 2>"$TEST_TMP/to_json.err") ||
                { cat "$TEST_TMP/to_json.err"; return 1; }
        jq -s 'if length == 1 then .[0] else {kind: "List", items: .} end' <<<"$out"
}

pod=$(to_json "$fixture")
_tap_result $? "the Kratix Pod fixture is a Pod kubectl reads" "$pod"
want=$(kubectl kstatus inject -o json -f "$fixture")
_tap_result $? "kubectl kstatus inject adds the sidecar to the fixture" "$want"
is "$(jq -r '[.spec.initContainers[].name] | join(" ")' <<<"$want")" "reader kstatus-sidecar create-db work-writer" \
        "inject puts the sidecar right after the reader"

# --- Kyverno ---
kyverno=$(to_json "$deploy/policies/kyverno.yaml")
_tap_result $? "the Kyverno policy is YAML kubectl reads" "$kyverno"
kq() { jq -r "$@" <<<"$kyverno"; }
is "$(kq '.apiVersion + " " + .kind')" "kyverno.io/v1 ClusterPolicy" "it is a Kyverno ClusterPolicy"
is "$(kq '.metadata.annotations["pod-policies.kyverno.io/autogen-controllers"]')" "none" \
        "no auto-generated rules for Jobs (Kratix's Job templates stay as Kratix wrote them)"
is "$(kq '[.spec.rules[].name] | join(" ")')" "mount-metadata-into-pipeline-containers add-kstatus-sidecar" \
        "rules: mount shared-metadata first, then add the sidecar"
is "$(kq '[.spec.rules[].match.any[0].resources | "\(.kinds) \(.operations) \(.selector.matchExpressions)"] | unique | .[]')" \
        '["Pod"] ["CREATE"] [{"key":"kratix.io/pipeline-name","operator":"Exists"}]' \
        "both rules match Pod CREATE with the kratix.io/pipeline-name label"

# The JMESPath expressions the jq below stands in for. A changed policy
# expression fails here first: then update its jq equivalent too.
kratix_env_jmes="request.object.spec.initContainers[?env[?name=='KRATIX_OBJECT_NAME']] | [0].env[?starts_with(name, 'KRATIX_')] || \`[]\`"
kratix_env_jq='[.spec.initContainers[]? | select(any(.env[]?; .name == "KRATIX_OBJECT_NAME"))] | .[0].env // [] | map(select(.name | startswith("KRATIX_")))'
is "$(kq '[.spec.rules[].context[] | select(.name == "kratixEnv") | .variable.jmesPath] | unique | .[]')" \
        "$kratix_env_jmes" "kratixEnv is the expression the test evaluates"
sidecar_env_jmes="[$kratix_env_jmes, request.object.spec.containers[?name=='status-writer'] | [0].env[?name=='IS_LAST_PIPELINE'] || \`[]\`][]"
sidecar_env_jq="($kratix_env_jq) + ([.spec.containers[]? | select(.name == \"status-writer\")] | .[0].env // [] | map(select(.name == \"IS_LAST_PIPELINE\")))"
is "$(kq '.spec.rules[1].context[] | select(.name == "sidecarEnv") | .variable.jmesPath')" \
        "$sidecar_env_jmes" "sidecarEnv (KRATIX_* and status-writer's IS_LAST_PIPELINE) is the expression the test evaluates"
grace_jmes='max([request.object.spec.terminationGracePeriodSeconds || `30`, `75`])'
grace_jq='[.spec.terminationGracePeriodSeconds // 30, 75] | max'
is "$(kq '.spec.rules[1].context[] | select(.name == "gracePeriod") | .variable.jmesPath')" \
        "$grace_jmes" "gracePeriod is the expression the test evaluates"
rule_pre='[
  {"key":"{{ request.object.spec.initContainers[?name=='"'"'kstatus-sidecar'"'"'] | length(@) }}","operator":"Equals","value":0},
  {"key":"{{ length(kratixEnv) }}","operator":"GreaterThan","value":0},
  {"key":"{{ request.object.spec.volumes[?name=='"'"'shared-metadata'"'"' || name=='"'"'shared-input'"'"'] | length(@) }}","operator":"Equals","value":2},
  {"key":"{{ request.object.spec.initContainers[0].name }}","operator":"Equals","value":"reader"}]'
json_is "$(kq '.spec.rules[0].preconditions.all')" "$rule_pre" "rule 1 preconditions are those the test evaluates"
json_is "$(kq '.spec.rules[1].preconditions.all')" "$rule_pre" "rule 2 preconditions are those the test evaluates"
elem_pre='[
  {"key":"{{ element.name }}","operator":"AnyNotIn","value":["reader","status-writer","kstatus-sidecar"]},
  {"key":"{{ element.volumeMounts[?mountPath=='"'"'/kratix/metadata'"'"'] || `[]` | length(@) }}","operator":"Equals","value":0}]'
is "$(kq '[.spec.rules[0].mutate.foreach[].list] | join(" ")')" \
        "request.object.spec.initContainers request.object.spec.containers" "rule 1 walks the init containers and containers"
for i in 0 1; do
        json_is "$(kq ".spec.rules[0].mutate.foreach[$i].preconditions.all")" "$elem_pre" \
                "rule 1 foreach[$i] element preconditions are those the test evaluates"
done

# Rule preconditions (jq): no sidecar yet, KRATIX_* present, both volumes, reader first.
applies=$(jq --argjson env "$(jq -c "$kratix_env_jq" <<<"$pod")" '
        ([.spec.initContainers[]? | select(.name == "kstatus-sidecar")] | length) == 0 and ($env | length) > 0 and
        ([.spec.volumes[]? | select(.name == "shared-metadata" or .name == "shared-input")] | length) == 2 and
        .spec.initContainers[0].name == "reader"' <<<"$pod")
is "$applies" "true" "the Kyverno rules apply to the Kratix Pod"

# Apply the rules' JSON patches for real, in Kyverno's order, to the Pod.
cur=$TEST_TMP/kyverno-pod.json
printf '%s\n' "$pod" >"$cur"
apply_patch() { # YAML_JSON_PATCH DESCRIPTION
        local out
        if [[ $1 == *"{{"* ]]; then
                _tap_result 1 "$2" "a variable the test does not evaluate is left: $1"
                return
        fi
        if KUBECONFIG=/dev/null kubectl patch --local -f "$cur" --type=json -p "$1" -o json >"$cur.next" 2>"$cur.err"; then
                _tap_result 0 "$2"
                mv "$cur.next" "$cur"
        else
                _tap_result 1 "$2" "$(grep -v '^ *-\|^Usage of' "$cur.err")"
        fi
}
# Rule 1: every foreach element (indexes of the Pod as submitted) that passes the element preconditions.
for n in 0 1; do
        list=$([ "$n" = 0 ] && echo initContainers || echo containers)
        patch=$(kq ".spec.rules[0].mutate.foreach[$n].patchesJson6902")
        for i in $(jq -r --arg l "$list" '.spec[$l] | to_entries[]
                        | select((.value.name | IN("reader", "status-writer", "kstatus-sidecar")) | not)
                        | select([.value.volumeMounts[]? | select(.mountPath == "/kratix/metadata")] | length == 0)
                        | .key' <<<"$pod"); do
                apply_patch "${patch//\{\{elementIndex\}\}/$i}" "rule 1 patches ${list}[$i] ($(jq -r ".spec.${list}[$i].name" <<<"$pod"))"
        done
done
# Rule 2: the sidecar, with sidecarEnv substituted as Kyverno does inside a string (a list is written as JSON).
patch=$(kq '.spec.rules[1].mutate.patchesJson6902')
env_json=$(jq -c "$sidecar_env_jq" <<<"$pod")
is "$(jq -r '.[-1] | "\(.name)=\(.value)"' <<<"$env_json")" "IS_LAST_PIPELINE=false" \
        "sidecarEnv ends with status-writer's IS_LAST_PIPELINE (false in the fixture)"
patch=${patch//\{\{ sidecarEnv \}\}/$env_json}
apply_patch "${patch//\{\{ gracePeriod \}\}/$(jq "$grace_jq" <<<"$pod")}" "rule 2 adds the sidecar"
got=$(cat "$cur")
is "$(jq -S . <<<"$got")" "$(jq -S . <<<"$want")" "Kyverno's mutation and kubectl kstatus inject give the same Pod"
is "$(jq .spec.terminationGracePeriodSeconds <<<"$got")" 75 "the Pod gets 75s of grace for the final write (Kratix sets none: 30s)"
for g in 5 75 600; do
        is "$(jq --argjson g "$g" '.spec.terminationGracePeriodSeconds = $g' <<<"$pod" | jq "$grace_jq")" \
                "$(jq --argjson g "$g" '.spec.terminationGracePeriodSeconds = $g' <<<"$pod" |
                        kubectl kstatus inject -o json | jq .spec.terminationGracePeriodSeconds)" \
                "a grace of ${g}s: Kyverno's gracePeriod and inject agree"
done
is "$(jq -r '.spec.initContainers[1].image' <<<"$got")" "$image" "the Kyverno policy's image is $image"

# --- MutatingAdmissionPolicy ---
map=$(to_json "$deploy/policies/mutating-admission-policy.yaml")
_tap_result $? "the MutatingAdmissionPolicy file is YAML kubectl reads" "$map"
mq() { jq -r "$@" <<<"$map"; }
is "$(mq '[.items[] | .apiVersion + " " + .kind] | join(", ")')" \
        "admissionregistration.k8s.io/v1alpha1 MutatingAdmissionPolicy, admissionregistration.k8s.io/v1alpha1 MutatingAdmissionPolicyBinding" \
        "a v1alpha1 policy and its binding"
is "$(mq '.items[1].spec.policyName == .items[0].metadata.name')" "true" "the binding names the policy"
json_is "$(mq '.items[0].spec.matchConstraints')" \
        '{"resourceRules":[{"apiGroups":[""],"apiVersions":["v1"],"operations":["CREATE"],"resources":["pods"]}],
          "objectSelector":{"matchExpressions":[{"key":"kratix.io/pipeline-name","operator":"Exists"}]}}' \
        "it matches Pod CREATE with the kratix.io/pipeline-name label"
is "$(mq '[.items[0].spec.mutations[].patchType] | join(" ")')" "ApplyConfiguration JSONPatch" \
        "mutations: mount shared-metadata (apply configuration), then insert the sidecar (JSON patch)"
cel=$(mq '[.items[0].spec.mutations[] | .applyConfiguration.expression, .jsonPatch.expression | select(.)] | join("\n")')
like "$cel" "path: '/spec/initContainers/1'" "the sidecar is inserted at index 1, after the reader"
like "$(mq '.items[0].spec.matchConditions[].expression')" "object.spec.initContainers\[0\].name == 'reader'" \
        "the policy applies only when the reader is the first init container"
# Every scalar inject puts into the sidecar (other than the copied KRATIX_* and IS_LAST_PIPELINE) is in the CEL.
sidecar=$(jq -c '.spec.initContainers[] | select(.name == "kstatus-sidecar")' <<<"$want")
missing=
while IFS=$'\t' read -r path value; do
        case $value in
        true | false) needle="${path##*.}: $value" ;;
        *) needle="'$value'" ;;
        esac
        [[ $cel == *"$needle"* ]] || missing+=" $path=$value"
done < <(jq -r 'del(.env[] | select(.name | startswith("KRATIX_") or . == "IS_LAST_PIPELINE")) | paths(scalars) as $p
        | [($p | map(tostring) | join(".")), (getpath($p) | tostring)] | @tsv' <<<"$sidecar")
is "$missing" "" "every value of inject's sidecar appears in the policy's CEL"
like "$cel" "variables.kratixEnv \+ variables.lastPipelineEnv \+" \
        "the sidecar's env starts with the pipeline's KRATIX_* variables, then status-writer's IS_LAST_PIPELINE"
like "$(mq '.items[0].spec.variables[] | select(.name == "lastPipelineEnv") | .expression')" \
        "filter\(c, c.name == 'status-writer'\)\[0\].\?env.orValue\(\[\]\)" \
        "lastPipelineEnv reads status-writer's env"
like "$(mq '.items[0].spec.variables[] | select(.name == "lastPipelineEnv") | .expression')" \
        "filter\(e, e.name == 'IS_LAST_PIPELINE'\)" \
        "lastPipelineEnv copies IS_LAST_PIPELINE from status-writer"
like "$(mq '.items[0].spec.variables[] | select(.name == "kratixEnv") | .expression')" \
        "e.name.startsWith\('KRATIX_'\)" "kratixEnv copies the KRATIX_* variables"
like "$cel" "!\(c.name in \['reader', 'status-writer'\]\)" "shared-metadata goes to every container but reader and status-writer"
like "$cel" "terminationGracePeriodSeconds: object.spec.\?terminationGracePeriodSeconds.orValue\(30\) < 75 \?" \
        "the Pod's grace is raised to 75s, never lowered"
echo "# the MutatingAdmissionPolicy's CEL is not evaluated here (no CEL evaluator): the checks above are static"

# --- RBAC: exactly what the sidecar does, the same rules inject --rbac writes ---
rules() { # JSON objects on stdin -> sorted "group resource verb" lines of Role/ClusterRole rules
        jq -r 'if type == "array" then .[] elif .kind == "List" then .items[] else . end
                | select(.kind == "Role" or .kind == "ClusterRole") | .rules[]
                | .apiGroups[] as $g | .resources[] as $r | .verbs[] as $v | "\($g) \($r) \($v)"' | sort -u
}
want_rules=$(kubectl kstatus inject --rbac -o json -f "$fixture" | jq '[.items[] | select(.kind | test("Role$"))]' | rules)
rbac=$(to_json "$deploy/rbac.yaml")
_tap_result $? "deploy/rbac.yaml is YAML kubectl reads" "$rbac"
is "$(rules <<<"$rbac")" "$want_rules" "deploy/rbac.yaml grants exactly what kubectl kstatus inject --rbac grants"
is "$(rules <<<"$rbac")" " events create
 pods get
batch jobs get
example.promise.syntasso.io iams get
example.promise.syntasso.io iams/status get
example.promise.syntasso.io iams/status patch
platform.kratix.io promises get" "least privilege: get iams, get/patch iams/status, get pods and jobs, create events, get promises"
is "$(jq -r '[.items[] | select(.kind | test("Binding$")) | .subjects[] | "\(.namespace)/\(.name)"] | unique | join(" ")' <<<"$rbac")" \
        "default/iam-resource-configure-create-user default/iam-resource-configure-populate-vault" \
        "bound to the service accounts Kratix gives the two pipelines"

# --- the example Promise ---
promise=$(to_json "$deploy/examples/promise-iam.yaml")
_tap_result $? "the example Promise is YAML kubectl reads" "$promise"
seed=$(to_json "$KSTATUS_TEST_DATA/seed/promise.yaml")
is "$(jq -c '[.spec.workflows.resource.configure[] | {name: .metadata.name, ns: .metadata.namespace, images: [.spec.containers[].image]}]' <<<"$promise")" \
        "$(jq -c '[.spec.workflows.resource.configure[] | {name: .metadata.name, ns: .metadata.namespace, images: [.spec.containers[].image]}]' <<<"$seed")" \
        "its configure pipelines are the seed's (create-user, populate-vault, same images)"
kratix_default=$(printf '%s\n' "example.promise.syntasso.io iams get" "example.promise.syntasso.io iams/status get" \
        "example.promise.syntasso.io iams/status patch")
for p in create-user populate-vault; do
        granted=$( (printf '%s\n' "$kratix_default"; jq -r --arg p "$p" '.spec.workflows.resource.configure[] | select(.metadata.name == $p)
                | .spec.rbac.permissions[] | .apiGroups[] as $g | .resources[] as $r | .verbs[] as $v | "\($g) \($r) \($v)"' \
                <<<"$promise") | sort -u)
        is "$granted" "$want_rules" "pipeline $p: Kratix's default Role plus its permissions are what the sidecar needs"
done
is "$(jq -r '[.spec.workflows.resource.configure[].spec.rbac.permissions[] | select(.resources == ["promises"]) | .resourceNamespace] | unique | join(" ")' <<<"$promise")" \
        "*" "promises (cluster-scoped) are asked for cluster-wide"
start_apiserver
out=$(kubectl apply -f "$KSTATUS_SOURCE_DIR/tests/data/crds/promises.platform.kratix.io.yaml" 2>&1 &&
        kubectl apply -f "$deploy/examples/promise-iam.yaml" 2>&1)
_tap_result $? "the API server accepts the example Promise" "$out"
out=$(kubectl apply -f "$KSTATUS_SOURCE_DIR/tests/data/crds/iams.example.promise.syntasso.io.yaml" 2>&1 &&
        kubectl apply -f "$deploy/examples/iam-example.yaml" 2>&1 && kubectl get iam example -o name 2>&1)
_tap_result $? "the API server accepts the example request" "$out"

done_testing
