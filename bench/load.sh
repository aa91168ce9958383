#!/usr/bin/env bash
# bench/load.sh - the fault-and-load campaign at full size:
# 200 resources x 2 pipelines x 50 versions of status.yaml, Kratix's
# status-writer (the stand-in's) in every Pod, restarted after 1 s, 2 s, 4 s...
# up to backoffLimit 6, 20% of the requests on the resources failed
# (409/429/503/500/dropped), one 10 s outage.
# Prints the campaign's TAP and its summary lines
#   N resources, K pushes, F faults injected, L lost
#   status-writer: R runs, X failed (by request and code), C 409s (...), P pipelines failed
# Any argument is passed to tests/load/campaign.sh (-n -m -f -o -i -b).
#
#   bench/load.sh [campaign options]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_prepare jq curl
# 400 sidecars and their connections: make sure the descriptors are there.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
export LOAD_TIMEOUT=${LOAD_TIMEOUT:-900}
exec bash "$root/tests/load/campaign.sh" -n 200 -m 50 -f 0.2 -o 10 -i 0.2 -b 1 "$@"
