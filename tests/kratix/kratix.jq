# kratix.jq - Kratix's status writes as jq functions, for the Kratix stand-in
# (tests/kratix/kratix.sh). Written from Kratix's code at syntasso/kratix
# ae170e22 (the file named above each function); never from kstatus's code, so
# the stand-in is an independent party in every test.

# cluster-api util/conditions.Set (lib/resourceutil/conditions.go SetCondition):
# an existing condition of the same type keeps its lastTransitionTime unless
# status, reason or message change (severity is never set by Kratix); a new one
# gets $now; the list is sorted by type ("Ready" first, which Kratix never uses).
def cset($c; $now):
  (.conditions // []) as $cs
  | ([$cs[] | select(.type == $c.type)] | first) as $old
  | ($c + {lastTransitionTime:
      (if $old != null and $old.status == $c.status and $old.reason == $c.reason and $old.message == $c.message
       then $old.lastTransitionTime else $now end)}) as $new
  | .conditions = ([$cs[] | select(.type != $c.type)] + [$new]
      | sort_by(if .type == "Ready" then "" else .type end));

def cond($type): [(.conditions // [])[] | select(.type == $type)] | first;

# lib/resourceutil/util.go: MarkConfigureWorkflowAsRunning, ...AsFailed,
# MarkReconciledPending / Failing / True / AsDryRun, MarkResourceRequestAsWorksSucceeded.
def cwc_running($now): cset({type: "ConfigureWorkflowCompleted", status: "False",
  reason: "PipelinesInProgress", message: "Pipelines are still in progress"}; $now);
def cwc_failed($pipeline; $now): cset({type: "ConfigureWorkflowCompleted", status: "False",
  reason: "ConfigureWorkflowFailed", message: "A Configure Pipeline has failed: \($pipeline)"}; $now);
def reconciled_pending($reason; $now): cset({type: "Reconciled", status: "Unknown", reason: $reason,
  message: "Pending"}; $now);
def reconciled_failing($reason; $now): cset({type: "Reconciled", status: "False", reason: $reason,
  message: "Failing"}; $now);
def reconciled_true($now): cset({type: "Reconciled", status: "True", reason: "Reconciled",
  message: "Reconciled"}; $now);
def reconciled_dry_run($now): cset({type: "Reconciled", status: "True", reason: "DryRunSucceeded",
  message: "Dry run completed"}; $now);
def reconciled_suspended($now): cset({type: "Reconciled", status: "Unknown", reason: "WorkflowSuspended",
  message: "Suspended"}; $now);
def works_succeeded($now): cset({type: "WorksSucceeded", status: "True", reason: "WorksSucceeded",
  message: "All works associated with this resource are ready"}; $now);

# ResetPipelineStatusToPending (util.go): every pipeline Pending, no suspendedGeneration.
def pipelines_pending($names; $now):
  .kratix.workflows.pipelines = [$names[] | {name: ., phase: "Pending", lastTransitionTime: $now}]
  | del(.kratix.workflows.suspendedGeneration);

# ensureRRKratixWorkflowStatusIsSetup (dynamic_resource_request_controller.go):
# reset when the list is missing or its names differ from the pipelines'.
def ensure_pipelines($names; $now):
  if ([(.kratix.workflows.pipelines // [])[] | .name] == $names) then . else pipelines_pending($names; $now) end;

# MarkCurrentPipelineAs (util.go): nothing when the phase is already $phase;
# leaving Suspended drops the message.
def pipeline_phase($name; $phase; $now):
  if .kratix.workflows.pipelines == null then . else
  .kratix.workflows.pipelines |= map(
    if .name != $name or .phase == $phase then .
    else (if .phase == "Suspended" then del(.message) else . end)
         | .phase = $phase | .lastTransitionTime = $now end) end;

# setPipelineStartingStatus (lib/workflow/reconciler.go).
def pipeline_starting($name; $now):
  (if .message != "Pending" then .message = "Pending" else . end)
  | (cond("Reconciled")) as $r
  | (if $r == null or $r.status != "Unknown" or $r.reason != "WorkflowPending"
     then reconciled_pending("WorkflowPending"; $now) else . end)
  | (cond("ConfigureWorkflowCompleted")) as $c
  | (if $c == null or $c.status != "False" or $c.reason != "PipelinesInProgress"
     then cwc_running($now) else . end)
  | pipeline_phase($name; "Running"; $now);

# work-creator/lib/status_updater.go MergeStatuses: top-level keys of the file
# replace the status's whole (a shallow merge); conditions merge by type when
# both sides have a list (Go's map order is random: sorted here, by type).
def merge_statuses($in):
  reduce ($in | to_entries[]) as $e (.;
    if $e.key == "conditions" and (.conditions | type) == "array" and ($e.value | type) == "array" then
      .conditions = ([.conditions[], $e.value[] | select(type == "object" and (.type | type) == "string")]
        | reverse | unique_by(.type))
    else .[$e.key] = $e.value end);

# MarkAsCompleted (status_updater.go): message Pending -> done, no
# suspendedGeneration, ConfigureWorkflowCompleted True replaced in place (or
# appended) with lastTransitionTime now, whatever it was: not conditions.Set.
def mark_completed($type; $now):
  (if .message == "Pending" then
     .message = (if $type == "promise" then "Promise configured" else "Resource requested" end)
   else . end)
  | (if (.kratix.workflows | type) == "object" then del(.kratix.workflows.suspendedGeneration) else . end)
  | {type: "ConfigureWorkflowCompleted", status: "True", reason: "PipelinesExecutedSuccessfully",
     message: "Pipelines completed", lastTransitionTime: $now} as $c
  | .conditions = ((.conditions // []) | . as $l
      | ([range(length) | select($l[.].type == $c.type)] | first) as $i
      | if $i == null then . + [$c] else .[$i] = $c end);

# ClearPipelineSuspension / MarkPipelineAsSuspended (status_updater.go).
def clear_suspension($name):
  if (.kratix.workflows.pipelines | type) != "array" then . else
  .kratix.workflows.pipelines |= map(if .name == $name
    then .phase = "Running" | del(.message, .attempts, .nextRetryAt) else . end) end;
def mark_suspended($name; $msg; $retry_at; $generation):
  .kratix.workflows.pipelines |= map(if .name != $name then . else
    .phase = "Suspended"
    | (if $msg == "" then del(.message) else .message = $msg end)
    | (if $retry_at != "" then .nextRetryAt = $retry_at | .attempts = ((.attempts // 0) + 1)
       else del(.nextRetryAt, .attempts) end) end)
  | .kratix.workflows.suspendedGeneration = $generation;

# generateWorkflowsCounterStatus / reconcileWorkflowStatus (controller).
def counters($workflows; $succeeded; $failed):
  .workflows = $workflows | .workflowsSucceeded = $succeeded | .workflowsFailed = $failed;

# healthrecord_controller.go getHealthDataAndStates: records in list order,
# least desirable state wins, no records -> ready.
def health_status($records):
  {"unhealthy": 1, "degraded": 2, "unknown": 3, "healthy": 4, "ready": 5} as $prio
  | {state: (reduce $records[] as $r ("ready";
        if ($prio[$r.data.state] // 0) < $prio[.] then $r.data.state else . end)),
     healthRecords: [$records[] | {state: .data.state, lastRun: (.data.lastRun // 0),
        source: {name: .metadata.name, namespace: .metadata.namespace}}
        + (if .data.details != null then {details: .data.details} else {} end)]}
  | if (.healthRecords | length) == 0 then .healthRecords = null else . end;
