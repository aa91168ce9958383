# shellcheck shell=bash
# lib.sh - TAP helpers for integration tests. Source it, call plan/ok/..., then done_testing.
#
#   . "$(dirname "$0")/lib.sh"
#   ok "lint accepts the seed example" kubectl kstatus lint file.yaml
#   is "$(cmd)" "expected" "description"
#   poll 10 grep -q ready out.log    # wait (50 ms steps, 10 s bound) for something observable
#
# Binaries come from $KSTATUS_BUILD_DIR; kubectl finds the plugin through PATH
# exactly as a user's kubectl would.

set -u
: "${KSTATUS_BUILD_DIR:?run through meson test}"
: "${KSTATUS_SOURCE_DIR:?run through meson test}"
: "${KSTATUS_TEST_DATA:=$KSTATUS_SOURCE_DIR/tests/data}"

TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/kstatus-test.XXXXXX")
export TEST_TMP
export PATH="$KSTATUS_BUILD_DIR/kubectl-plugin:$KSTATUS_BUILD_DIR/sidecar:$KSTATUS_BUILD_DIR/tests/apiserver:$PATH"
export NO_COLOR=1
export KUBECONFIG="$TEST_TMP/no-kubeconfig"
export HOME="$TEST_TMP/home"
mkdir -p "$HOME"

_tap_n=0
_tap_failed=0
_cleanups=()

at_exit() { _cleanups+=("$*"); }

_run_cleanups() {
        local i
        for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do eval "${_cleanups[i]}" || true; done
        rm -rf "$TEST_TMP"
}
trap _run_cleanups EXIT

_tap_result() { # status description [diagnostics]
        _tap_n=$((_tap_n + 1))
        if [ "$1" = 0 ]; then
                echo "ok $_tap_n - $2"
        else
                _tap_failed=$((_tap_failed + 1))
                echo "not ok $_tap_n - $2"
                [ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/# /'
        fi
        return 0
}

# ok DESCRIPTION CMD... : passes when CMD exits 0
ok() {
        local d=$1; shift
        local out
        out=$("$@" 2>&1)
        _tap_result $? "$d" "$out"
}

# fails_with CODE DESCRIPTION CMD... : passes when CMD exits with CODE
fails_with() {
        local code=$1 d=$2; shift 2
        local out rc
        out=$("$@" 2>&1)
        rc=$?
        if [ "$rc" = "$code" ]; then _tap_result 0 "$d"; else _tap_result 1 "$d" "exit $rc, wanted $code: $out"; fi
}

# is GOT WANT DESCRIPTION
is() {
        if [ "$1" = "$2" ]; then
                _tap_result 0 "$3"
        else
                _tap_result 1 "$3" "$(printf -- '--- got\n%s\n--- want\n%s' "$1" "$2")"
        fi
}

# like GOT REGEX DESCRIPTION (grep -E)
like() {
        if printf '%s' "$1" | grep -Eq -- "$2"; then
                _tap_result 0 "$3"
        else
                _tap_result 1 "$3" "$(printf -- '--- got\n%s\n--- wanted a match for\n%s' "$1" "$2")"
        fi
}

# poll SECONDS CMD...: run CMD every 50 ms until it succeeds (0) or SECONDS
# pass (1). For waiting on something observable, never as a fixed pause.
poll() {
        local tries=$(($1 * 20)); shift
        while :; do
                "$@" >/dev/null 2>&1 && return 0
                ((--tries > 0)) || return 1
                sleep 0.05
        done
}

# json_is GOT_JSON WANT_JSON DESCRIPTION: equal as JSON values (key order ignored)
json_is() {
        local a b
        a=$(printf '%s' "$1" | jq -S -c . 2>&1)
        b=$(printf '%s' "$2" | jq -S -c . 2>&1)
        is "$a" "$b" "$3"
}

done_testing() {
        echo "1..$_tap_n"
        [ "$_tap_failed" = 0 ]
        exit $?
}
