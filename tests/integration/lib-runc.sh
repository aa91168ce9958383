# shellcheck shell=bash
# lib-runc.sh - kstatus-sidecar from the unpacked image, run by runc as the
# kubelet would run the Pod's container (tests/integration/image-runc.sh).
#
# Run, not sourced, as the sidecar command (KX_SIDECAR_WRAPPER="bash lib-runc.sh"):
#   bash lib-runc.sh HOST-BINARY ARGS...
# HOST-BINARY is ignored: the image's entrypoint runs, with ARGS. The caller's
# environment is the Pod's: every KRATIX_*, KSTATUS_*, POD_*, IS_LAST_PIPELINE and
# KUBERNETES_SERVICE_* variable is passed into the container, except that
# KSTATUS_METADATA_DIR and KSTATUS_INPUT_DIR become read-only bind mounts at
# /kratix/metadata and /kratix/input (the sidecar's defaults). Also needed:
#   RUNC_BUNDLE   the bundle umoci unpacked (config.json + rootfs), used read-only
#   RUNC_STATE    runc's --root
#   RUNC_SA       the service account directory, mounted where a Pod has it
#   RUNC_FACTS    a file that gets a line per container stopped by a signal: its
#                 /proc facts (Uid, Gid, CapEff, CapPrm, CapBnd, NoNewPrivs, the
#                 root mount's options, the network namespace, VmHWM at the end)
# The container: the image's user (65532), a read-only root filesystem, no
# capabilities, no new privileges, the host's network namespace (loopback:
# the test API server), no cgroup (runc here cannot create one). SIGTERM and
# SIGINT are passed to the sidecar; the exit status is the sidecar's.

runc_config() { # BUNDLE-DIR ARGS...: BUNDLE-DIR/config.json, the container's
        local dir=$1; shift
        local envs=() v a args='[]'
        for a in "$@"; do args=$(jq -c --arg a "$a" '. + [$a]' <<<"$args"); done
        while IFS= read -r v; do
                case $v in
                KSTATUS_METADATA_DIR=* | KSTATUS_INPUT_DIR=*) ;;
                KRATIX_*=* | KSTATUS_*=* | POD_*=* | IS_LAST_PIPELINE=* | KUBERNETES_SERVICE_*=*) envs+=("$v") ;;
                esac
        done < <(env)
        jq -n --slurpfile base "$RUNC_BUNDLE/config.json" --arg rootfs "$RUNC_BUNDLE/rootfs" \
                --argjson args "$args" --arg md "${KSTATUS_METADATA_DIR:?}" --arg in "${KSTATUS_INPUT_DIR:?}" --arg sa "${RUNC_SA:?}" \
                --arg env "$(printf '%s\n' "${envs[@]}")" '$base[0]
                | .root = {path: $rootfs, readonly: true}
                | .process.terminal = false
                | .process.args += $args
                | .process.env += ($env | split("\n") | map(select(. != "")))
                | .process.capabilities = {bounding: [], effective: [], inheritable: [], permitted: [], ambient: []}
                | .process.noNewPrivileges = true
                | .linux.namespaces |= map(select(.type != "network"))
                | del(.linux.resources, .linux.cgroupsPath)
                | .mounts += [
                    {destination: "/kratix/metadata", type: "bind", source: $md, options: ["rbind", "ro"]},
                    {destination: "/kratix/input", type: "bind", source: $in, options: ["rbind", "ro"]},
                    {destination: "/var/run/secrets/kubernetes.io/serviceaccount", type: "bind", source: $sa,
                     options: ["rbind", "ro"]}]' \
                >"$dir/config.json"
}

# runc_facts PID: what the kernel says about the container's process, on one line.
runc_facts() {
        awk '/^(Uid|Gid|CapEff|CapPrm|CapBnd|NoNewPrivs):/ { printf " %s=%s", substr($1, 1, length($1) - 1), $2 }' \
                "/proc/$1/status"
        awk '$5 == "/" { printf " root=%s", $6 }' "/proc/$1/mountinfo"
        if [ "$(readlink "/proc/$1/ns/net")" = "$(readlink /proc/self/ns/net)" ]; then printf ' net=host'; else printf ' net=own'; fi
}

runc_main() {
        shift # the host's binary: the image's runs instead
        local id dir rc pid cpid='' sig='' facts='' hwm='' v=''
        dir=$(mktemp -d "${RUNC_STATE:?}-bundles/bundle.XXXXXX")
        id=kstatus-$(basename "$dir" | tr -c 'A-Za-z0-9\n' -)
        runc_config "$dir" "$@"
        runc --root "$RUNC_STATE" run --bundle "$dir" "$id" &
        pid=$!
        trap 'sig=TERM' TERM
        trap 'sig=INT' INT
        # Poll rather than wait: at a signal, note the process's facts and pass the
        # signal on; until it exits, keep its peak memory (VmHWM) as it was last seen.
        while kill -0 "$pid" 2>/dev/null; do
                if [ -n "$sig" ]; then
                        cpid=$(runc --root "$RUNC_STATE" state "$id" 2>/dev/null | jq -r .pid)
                        facts=$(runc_facts "$cpid" 2>/dev/null)
                        # Read once before the signal: the sidecar may exit
                        # before the loop looks again.
                        hwm=$(awk '/^VmHWM:/ { print $2 $3 }' "/proc/$cpid/status" 2>/dev/null)
                        runc --root "$RUNC_STATE" kill "$id" "$sig" 2>/dev/null
                        sig=
                fi
                # A process that has exited but not been reaped (a zombie) still
                # has a status file, without VmHWM: keep the last value seen.
                v=
                [ -z "$cpid" ] || v=$(awk '/^VmHWM:/ { print $2 $3 }' "/proc/$cpid/status" 2>/dev/null)
                [ -z "$v" ] || hwm=$v
                sleep 0.05
        done
        wait "$pid"
        rc=$?
        [ -z "$cpid" ] || echo "$id$facts VmHWM=$hwm exit=$rc" >>"${RUNC_FACTS:?}"
        rm -rf "$dir"
        return "$rc"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
        set -u
        runc_main "$@"
        exit
fi
