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
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib/common.sh"
ensure_packages "${KSTATUS_BUILD_PACKAGES[@]}" "${KSTATUS_STATIC_PACKAGES[@]}" jq curl
ensure_kubectl
build=${BENCH_BUILD_DIR:-$root/build-bench}
bench_build "$build" # the release configuration
# 400 sidecars and their connections: make sure the descriptors are there.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
export KSTATUS_BUILD_DIR=$build KSTATUS_SOURCE_DIR=$root KSTATUS_TEST_DATA=$root/tests/data
export LOAD_TIMEOUT=${LOAD_TIMEOUT:-900}
exec bash "$root/tests/load/campaign.sh" -n 200 -m 50 -f 0.2 -o 10 -i 0.2 -b 1 "$@"
