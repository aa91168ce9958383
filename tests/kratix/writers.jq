# writers.jq - who changed what on a resource, from every version of it.
#
# Input: a stream of objects, every version of the resource in order (what
# `kubectl get -w -o json` prints), then, as the last input, an object
# {"kratix_rvs": [...]} naming the resourceVersions the Kratix stand-in wrote
# (writes.log). Every other version after the first was written by kstatus.
#
# Output: {versions, kstatus_writes, kratix_writes,
#   kstatus_condition_changes: [paths],    # conditions kstatus touched
#   kstatus_kratix_key_changes: [paths],   # Kratix-owned keys kstatus touched
#   change_backs: [{writer, path}]}        # a writer setting a value back after another writer replaced it
# Paths are leaf paths of status; a condition's are ["conditions", TYPE, FIELD].

def leaves:
  (.conditions // []) as $c
  | (del(.conditions) | [paths(scalars or . == [] or . == {}) as $p | {key: ($p | tojson), value: getpath($p)}])
    + [$c[] | select(type == "object") | . as $cond | to_entries[]
       | {key: (["conditions", ($cond.type // "?"), .key] | tojson), value: .value}]
  | from_entries;

def owned_by_kratix($p):
  ($p[0] | IN("kratix", "observedGeneration", "workflows", "workflowsSucceeded", "workflowsFailed",
     "lastSuccessfulConfigureWorkflowTime", "healthStatus"))
  or ($p[0] == "conditions" and ($p[1] | ascii_downcase) != "deleteworkflowcompleted");

[inputs] as $all
| ($all[-1].kratix_rvs | map(tostring)) as $kratix
| [$all[:-1][] | select(.metadata != null)] as $versions
| reduce range(1; $versions | length) as $i (
    {versions: ($versions | length), kstatus_writes: 0, kratix_writes: 0, kstatus_condition_changes: [],
     kstatus_kratix_key_changes: [], change_backs: [], history: {}};
    ($versions[$i - 1].status // {} | leaves) as $before
    | ($versions[$i].status // {} | leaves) as $after
    | (if ($kratix | index($versions[$i].metadata.resourceVersion | tostring)) != null then "kratix" else "kstatus" end) as $w
    | (if $w == "kratix" then .kratix_writes += 1 else .kstatus_writes += 1 end)
    | ([($before | keys[]), ($after | keys[])] | unique
       | map(select($before[.] != $after[.]))) as $changed
    | reduce $changed[] as $k (.;
        ($k | fromjson) as $p
        | (if $w == "kstatus" and $p[0] == "conditions" and owned_by_kratix($p) then .kstatus_condition_changes += [$p]
           elif $w == "kstatus" and owned_by_kratix($p) then .kstatus_kratix_key_changes += [$p] else . end)
        | (.history[$k] // []) as $h
        # A change back: this writer set this value before, and another writer changed it since.
        | (if ($h | length) >= 2 and $h[-1].w != $w
              and ([$h[] | select(.w == $w and .v == $after[$k])] | length) > 0
           then .change_backs += [{writer: $w, path: $p, value: $after[$k]}] else . end)
        | .history[$k] = ($h + [{w: $w, v: $after[$k]}])))
| del(.history)
