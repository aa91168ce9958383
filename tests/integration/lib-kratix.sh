# shellcheck shell=bash
# lib-kratix.sh - tests beside the Kratix stand-in (tests/kratix/kratix.sh).
# Source after lib.sh, lib-apiserver.sh and lib-sidecar.sh.
#
#   kratix_setup [apiserver args...]   # server with an access log, Kratix's CRDs, the seed's
#                                      # Promise and IAM "example", the stand-in ready, the
#                                      # sidecar injected (KX_SIDECAR), every version of the
#                                      # resource recorded
#   kratix_writers                     # writers.jq's report on the versions so far (JSON)
#   kratix_status                      # the resource's status (JSON)
#   kratix_count_writes WRITER METHOD CODE [PATH-SUFFIX]
#                                      # the stand-in's writes.log lines that match

. "$KSTATUS_SOURCE_DIR/tests/kratix/kratix.sh"

kratix_setup() {
        start_apiserver --access-log "$TEST_TMP/access.log" "$@" || return 1
        apiserver_install_crds
        create_seed_objects
        export KX_DIR=$TEST_TMP/kratix
        kx_init
        KX_SIDECAR=$SIDECAR
        KX_SIDECAR_ARGS=${KX_SIDECAR_ARGS:-}
        KX_PIPELINES="create-user populate-vault"
        kx_resource default iams example
        at_exit 'for p in $(cat "$KX_DIR/sidecar.pids" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done'
        at_exit 'kx_health_controller_stop'
        # Every version of the resource, in order, as a watch delivers them.
        kubectl get iam example -w -o json --output-watch-events=false >"$TEST_TMP/versions.json" 2>/dev/null &
        KRATIX_WATCH_PID=$!
        at_exit "kill $KRATIX_WATCH_PID 2>/dev/null"
        local i
        for i in $(seq 1 100); do [ -s "$TEST_TMP/versions.json" ] && return 0; sleep 0.05; done
}

kratix_status() { kubectl get "${KX_PLURAL:-iams}" "${KX_NAME:-example}" ${KX_NS:+-n "$KX_NS"} -o json | jq -c '.status // {}'; }

# kratix_writers: waits until the watch has delivered the resource's current
# version, then reports who changed what.
kratix_writers() {
        local rv i
        rv=$(kubectl get iam example -o jsonpath='{.metadata.resourceVersion}')
        for i in $(seq 1 100); do
                jq -e --arg rv "$rv" 'select(.metadata.resourceVersion == $rv)' "$TEST_TMP/versions.json" >/dev/null 2>&1 && break
                sleep 0.05
        done
        { cat "$TEST_TMP/versions.json"
          awk '$5 != "-" { print $5 }' "$KX_DIR/writes.log" | jq -Rsc '{kratix_rvs: (split("\n") | map(select(. != "")))}'
        } | jq -nc -f "$KSTATUS_SOURCE_DIR/tests/kratix/writers.jq"
}

kratix_count_writes() { # WRITER METHOD CODE [PATH-SUFFIX]
        awk -v w="$1" -v m="$2" -v c="$3" -v s="${4:-}" '$1 == w && $2 == m && $4 == c &&
                (s == "" || substr($3, length($3) - length(s) + 1) == s) { n++ } END { print n + 0 }' "$KX_DIR/writes.log"
}

# seed_pipeline N: the seed's pipeline N (1 create-user, 2 populate-vault) as a
# container: live writes every 50 ms (a counter), then the seed's file.
seed_pipeline() {
        local f=$KSTATUS_TEST_DATA/seed/create-user.status.yaml
        [ "$1" = 2 ] && f=$KSTATUS_TEST_DATA/seed/populate-vault.status.yaml
        # shellcheck disable=SC2028 # \n is for the printf of the script this writes
        echo "for i in 1 2 3 4 5; do printf 'message: %s step %s\n' \$KRATIX_PIPELINE_NAME \$i >\"\$METADATA/status.yaml\"; sleep 0.05; done
              cp '$f' \"\$METADATA/status.yaml\"
              printf 'kind: ConfigMap\napiVersion: v1\nmetadata: {name: %s}\n' \"\$KRATIX_PIPELINE_NAME\" >\"\$OUTPUT/\$KRATIX_PIPELINE_NAME.yaml\""
}
