#!/usr/bin/env bash
# A live push the server applied but whose answer was lost (the connection
# dropped after the write was stored) still counts as pushed: when the final
# status.yaml no longer names a key that push introduced, the final write
# removes it. Found by the load campaign (tests/load/campaign.sh: a
# "scratch" key left behind under dropped connections).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/lib-apiserver.sh"
. "$(dirname "$0")/../integration/lib-sidecar.sh"

start_apiserver || { _tap_result 1 "the test API server starts"; done_testing; }
apiserver_install_crds
create_seed_objects
status() { kubectl get iam example -o json | jq -c '.status | del(.conditions)'; }

start_sidecar only 0 1
# The first push is stored but its answer lost; the retries fail (503, not
# stored) until the file has moved on, so no retry re-sends the old version.
apiserver_fault '[{"verb":"PATCH","path":"/apis/example.promise.syntasso.io/*","drop":true,"count":1},
                  {"verb":"PATCH","path":"/apis/example.promise.syntasso.io/*","code":503}]'
failures() { grep -c 'push failed' "$PIPE_DIR/sidecar.log"; }
# shellcheck disable=SC2317 # called through wait_for
more_failures_than() { [ "$(failures)" -gt "$1" ]; }
obj=/apis/example.promise.syntasso.io/v1/namespaces/default/iams/example
mark=$(apiserver_mark)
printf 'message: one\nscratch: 1\n' >"$PIPE_DIR/metadata/status.yaml"
wait_for "the sidecar saw its push fail" more_failures_than 0
is "$(status)" '{"message":"one","scratch":1}' "the server applied the first push all the same"
# What the server holds is unknown after a failed write: the retry reads the
# object first, finds the push applied and sends nothing (docs/BEHAVIOUR.md §6).
ok "the retry reads the object first" apiserver_wait_access "$mark" 1 GET "$obj"
is "$(apiserver_access_count "$mark" PATCH "$obj/status")" 1 "and does not send the applied push again"

n=$(failures)
printf 'message: two\n' >"$PIPE_DIR/metadata/status.yaml"
wait_for "a push of the new file fails too" more_failures_than "$n"
apiserver_clear_faults
wait_until "the new file is pushed once the faults end" 1 pushes_logged
stop_sidecar TERM
is "$SIDECAR_RC" 0 "the sidecar exits 0"
is "$(status)" '{"message":"two"}' "the final write removed the key only the lost push had written"
done_testing
