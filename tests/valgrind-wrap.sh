#!/usr/bin/env bash
# valgrind-wrap.sh - the exe_wrapper of `meson test --setup valgrind`.
#
# Criterion runs each test in a re-executed worker and reports the test's
# result before the worker exits, so valgrind's exit code for a leak found at
# the worker's exit never reaches the runner. Every process therefore logs to
# its own file, and any error in any of them fails the run. --track-origins
# is left out: it finds no more errors, only where an uninitialised value came
# from, and costs a third of the stage (add it by hand when diagnosing one).
set -u
dir=$(mktemp -d "${TMPDIR:-/tmp}/kstatus-vg.XXXXXX")
supp=$(dirname "$0")/valgrind.supp
valgrind --trace-children=yes --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
        --suppressions="$supp" --log-file="$dir/vg.%p" "$@"
rc=$?
bad=$(grep -l 'ERROR SUMMARY: [1-9]' "$dir"/vg.* 2>/dev/null)
if [ -n "$bad" ]; then
        for f in $bad; do sed 's/^/# /' "$f" >&2; done
        echo "# valgrind found errors in $(echo "$bad" | wc -l) process(es)" >&2
        # meson judges TAP tests by their results, not the exit code: report it as one.
        echo "not ok - valgrind found memory errors or leaks"
        rc=99
fi
rm -rf "$dir"
exit "$rc"
