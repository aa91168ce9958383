# shellcheck shell=bash
# lib-hostile.sh - tests/tools/hostile-http for the limits tests (loopback,
# bounded: it serves at most 16 connections and exits after 60 s). Source
# after lib.sh, from within $TEST_TMP.

HOSTILE=$KSTATUS_BUILD_DIR/tests/tools/hostile-http

# hostile MODE SIZE: start one; sets URL and writes a kubeconfig for it to MODE.kubeconfig.
hostile() {
        "$HOSTILE" "$1" "$2" >"$1.out" &
        at_exit "kill $! 2>/dev/null"
        URL=
        for _ in $(seq 1 100); do
                URL=$(sed -n 's/^serving on //p' "$1.out")
                [ -n "$URL" ] && break
                sleep 0.05
        done
        printf 'apiVersion: v1\nkind: Config\ncurrent-context: h\nclusters:\n- {name: h, cluster: {server: "%s"}}\ncontexts:\n- {name: h, context: {cluster: h}}\n' \
                "$URL" >"$1.kubeconfig"
}

# peak_kib FILE: the peak RSS /usr/bin/time -f 'peak %M' (or peak%M) -o FILE wrote
# (getrusage's ru_maxrss, the VmHWM of /proc/PID/status at exit).
peak_kib() { sed -n 's/^peak *//p' "$1"; }

# rss_checks BINARY: whether rss_under checks; not when BINARY is built with
# ASan (its quarantine keeps freed buffers, so the numbers say nothing about ours).
rss_checks() {
        RSS_CHECKS=1
        if ldd "$1" 2>/dev/null | grep -q libasan; then RSS_CHECKS=0; fi
}

# rss_under FILE KIB DESCRIPTION: the peak RSS in FILE is under KIB.
rss_under() {
        [ "${RSS_CHECKS:-1}" = 1 ] || return 0
        local peak
        peak=$(peak_kib "$1")
        ok "$3 (${peak} KiB)" [ "$peak" -lt "$2" ]
}
