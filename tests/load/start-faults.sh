#!/usr/bin/env bash
# The sidecar rides out an API that is briefly unavailable when it starts
# (429/503/500, refused connections), as its writes do, instead of exiting 2
# (the code for a configuration error). Found by the load campaign: sidecars
# that started during faults or the outage exited at once.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/lib-apiserver.sh"
. "$(dirname "$0")/../integration/lib-sidecar.sh"

start_apiserver || { _tap_result 1 "the test API server starts"; done_testing; }
apiserver_install_crds
create_seed_objects

# start_sidecar's own kubectl get (object.yaml) takes the first 500 and
# gives up; the sidecar then meets two 500s and a 503.
obj=/apis/example.promise.syntasso.io/v1/namespaces/default/iams/example
apiserver_fault '[{"verb":"GET","path":"'$obj'","code":500,"count":3},
                  {"verb":"GET","path":"'$obj'","code":503,"retryAfter":1,"count":1}]'
start_sidecar one 0 1 --verbose
_tap_result $? "the sidecar starts through failed reads of the resource"
is "$(grep -c 'cannot read .*; retrying' "$PIPE_DIR/sidecar.log")" 3 "it retried three times, saying so"
like "$(cat "$PIPE_DIR/sidecar.log")" 'cannot read .*ServiceUnavailable.*; retrying' "503 with Retry-After included"
printf 'message: up\n' >"$PIPE_DIR/metadata/status.yaml"
wait_until "then pushes as usual" 1 pushes_logged
stop_sidecar TERM
is "$SIDECAR_RC" 0 "and exits 0"

ok "the API token is nowhere in the log, debug events included" \
        bash -c "! grep -qF -- '$APISERVER_TOKEN' '$PIPE_DIR/sidecar.log'"

# object.yaml lives in a directory the pipeline's containers share: a symlink
# there (to the service-account token, say) is not followed.
echo 'status: {iam: {leak: TOKEN-SECRET-VALUE}}' >"$TEST_TMP/secret"
mkdir -p "$TEST_TMP/pipelines/linked/input"
SIDECAR_ARGS=(linked 0 1)
PIPE_DIR=$TEST_TMP/pipelines/linked
mkdir -p "$PIPE_DIR/metadata"
ln -s "$TEST_TMP/secret" "$PIPE_DIR/input/object.yaml"
: >"$PIPE_DIR/sidecar.log"
_launch_sidecar
like "$(cat "$PIPE_DIR/sidecar.log")" 'ignoring .*object.yaml.*symbolic link' "a symlinked object.yaml is ignored, saying why"
# iam merges deeply onto the start status: had the link been read, its
# target's iam.leak would be stored.
printf 'iam: {user: linked}\n' >"$PIPE_DIR/metadata/status.yaml"
stop_sidecar TERM
is "$(kubectl get iam example -o json | jq -c .status.iam)" '{"user":"linked"}' \
        "the start status came from the server, not from the link's target"

# A SIGTERM while it is still starting (the pipeline ended before the API
# answered) is not lost: once the resource is read, the loop sees the signal
# and makes the final write. Before, the signal ended the process at once.
printf 'message: written before the API answered\n' >"$TEST_TMP/early-status.yaml"
apiserver_fault '[{"verb":"GET","path":"'$obj'","code":503,"retryAfter":2,"count":1}]'
SIDECAR_ARGS=(early 0 1)
PIPE_DIR=$TEST_TMP/pipelines/early
mkdir -p "$PIPE_DIR/metadata" "$PIPE_DIR/input"
cp "$TEST_TMP/early-status.yaml" "$PIPE_DIR/metadata/status.yaml"
: >"$PIPE_DIR/sidecar.log"
# Only this script's own sidecar (a child of this shell): the load campaign,
# which meson may run at the same time, starts sidecars with the same command
# line, and signalling the newest of those both failed the campaign and left
# this script waiting for a sidecar that was never signalled. The signal goes
# once the sidecar has logged the 503 (it then waits 2 s to read again).
# shellcheck disable=SC2317 # called through poll
retrying() { grep -q 'cannot read .*; retrying' "$PIPE_DIR/sidecar.log"; }
(poll 10 retrying && pkill -TERM -P $$ -f -- "^$SIDECAR --debounce=50ms") &
killer=$!
_launch_sidecar >/dev/null
wait "$killer"
is "$?" 0 "the signal came while it was retrying the read"
wait "$SIDECAR_PID"
is "$?" 0 "SIGTERM during the start: it still exits 0"
is "$(kubectl get iam example -o json | jq -r .status.message)" "written before the API answered" \
        "and the final write carries status.yaml"

# A 404 is no transient error: it still fails at once.
OBJ_NAME=missing
start_sidecar gone 0 1 >/dev/null 2>&1
wait "$SIDECAR_PID"
is "$?" 2 "a resource that does not exist still stops it at once (exit 2)"
done_testing
