#!/usr/bin/env bash
# Hostile text from a pipeline against the user's terminal: what the sidecar
# writes itself (its Events, which kubectl describe prints raw) is escaped
# before it is written.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-sidecar.sh"

start_apiserver
apiserver_install_crds
create_seed_objects
# shellcheck disable=SC2317 # called by name (poll, wait_for, wait_until)
status_of() { kubectl get iam example -o json | jq -c "$1"; }
refused_messages() {
        kubectl get events --field-selector involvedObject.name=example,reason=StatusRefused -o json |
                jq -r '.items[].message'
}

# --- a refused condition whose type sets the terminal title and clears the screen
start_sidecar populate-vault 1 2
printf 'message: fine\n' >"$PIPE_DIR/metadata/status.yaml"
wait_until "a good file is pushed" '"fine"' status_of .status.message
printf 'conditions:\n- type: "X\\e]0;pwned\\a\\e[2J\\u202eY"\n  status: maybe\n' >"$PIPE_DIR/metadata/status.yaml"
wait_for "the hostile file is read (and refused)" grep -q 'keeping the last good status' "$PIPE_DIR/sidecar.log"
stop_sidecar TERM
is "$SIDECAR_RC" 0 "exit 0"
msgs=$(refused_messages)
like "$msgs" 'X\\x1b\]0;pwned\\x07\\x1b\[2J\\u202eY' "the Event quotes the condition type escaped"
is "$(printf '%s' "$msgs" | LC_ALL=C tr -dc '\001-\011\013-\037\177' | wc -c)" 0 "no control character in any Event message"
is "$(printf '%s' "$msgs" | grep -c $'\u202e')" 0 "no bidirectional override in any Event message"
out=$(kubectl describe iam example)
like "$out" 'StatusRefused' "kubectl describe shows the Event"
is "$(printf '%s' "$out" | LC_ALL=C tr -dc '\033\007' | wc -c)" 0 "kubectl describe prints no escape character"
done_testing
