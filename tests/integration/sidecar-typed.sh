#!/usr/bin/env bash
# kstatus-sidecar refuses a status.yaml that sets a key Kratix types and owns
# (a real API server answers 422 for the whole patch when one is mistyped):
# the refusal is one log line naming file:line:column, nothing of the bad file
# is pushed, and the last good state is what the final write stores.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-sidecar.sh"

start_apiserver
apiserver_install_crds
create_seed_objects
# shellcheck disable=SC2317 # called by name (poll, wait_for, wait_until)
status_of() { kubectl get iam example -o json | jq -c "$1"; }
# shellcheck disable=SC2317
refusals() { grep -c 'refuse: status.yaml' "$PIPE_DIR/sidecar.log"; }

start_sidecar populate-vault 1 2
printf 'message: good\nregion: eu\n' >"$PIPE_DIR/metadata/status.yaml"
wait_until "a good file is pushed" '"good"' status_of .status.message

printf 'message: bad\nregion: us\nworkflowsSucceeded: "two"\n' >"$PIPE_DIR/metadata/status.yaml"
wait_until "a mistyped Kratix counter is refused" 1 refusals
like "$(grep 'refuse: status.yaml' "$PIPE_DIR/sidecar.log")" \
        'refuse: status.yaml:3:1: "workflowsSucceeded" is a kratix managed status field that cannot be updated via workflows; it is an integer in Kratix.s schema' \
        "the refusal names the key with its line and column"
is "$(status_of '[.status.message, .status.region, .status.workflowsSucceeded]')" '["good","eu",null]' \
        "nothing of the refused file was pushed"

printf 'message: 42\nregion: us\n' >"$PIPE_DIR/metadata/status.yaml"
wait_until "a message that is not a string is refused" 2 refusals
like "$(grep 'refuse: status.yaml' "$PIPE_DIR/sidecar.log" | tail -1)" 'refuse: status.yaml:1:1: "message" must be a string' \
        "the message refusal names line and column"

stop_sidecar TERM
is "$SIDECAR_RC" 0 "the pipeline ends: exit 0"
is "$(status_of '[.status.message, .status.region]')" '["good","eu"]' "the final write stores the last good state"
like "$(kubectl get events --field-selector involvedObject.name=example,reason=StatusRefused -o json | jq -r '.items[].message')" \
        'message. must be a string' "the refusal is reported in an Event"
done_testing
