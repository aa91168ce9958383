# shellcheck shell=bash
# bench/lib.sh - the preamble every benchmark sources first:
#
#   . "$(dirname "$0")/lib.sh"
#   bench_prepare DEBIAN-PACKAGE...   # what the bench runs beyond the build (jq, curl...)
#   ratio OURS PEER
#
# Sourcing it sets root (the repository) and sources scripts/lib/common.sh
# (say, die, ensure_packages, bench_build). bench_prepare installs what is
# missing (the build's packages and static archives, kubectl and the ones
# named), builds the measured configuration (the release build's:
# KSTATUS_BENCH_OPTIONS) in KSTATUS_BENCH_BUILD_DIR, the one build directory
# every benchmark reads (default build-bench), and exports what the test
# libraries read: KSTATUS_BUILD_DIR (that directory), KSTATUS_SOURCE_DIR and
# KSTATUS_TEST_DATA.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../scripts/lib/common.sh
. "$root/scripts/lib/common.sh"

bench_prepare() {
        ensure_packages "${KSTATUS_BUILD_PACKAGES[@]}" "${KSTATUS_STATIC_PACKAGES[@]}" "$@"
        ensure_kubectl
        KSTATUS_BENCH_BUILD_DIR=${KSTATUS_BENCH_BUILD_DIR:-$root/build-bench}
        bench_build "$KSTATUS_BENCH_BUILD_DIR"
        export KSTATUS_BENCH_BUILD_DIR KSTATUS_BUILD_DIR=$KSTATUS_BENCH_BUILD_DIR
        export KSTATUS_SOURCE_DIR=$root KSTATUS_TEST_DATA=$root/tests/data
}

# ratio OURS PEER: how many times better kstatus's figure is than its peer's,
# for figures where less is better (time, memory, requests): PEER / OURS with
# one decimal and an "x" ("12.3x"); "inf" when OURS is 0.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == 0) print "inf"; else printf "%.1fx", b / a }'; }
