#!/usr/bin/env bash
# deploy/Dockerfile, checked without Docker (there is no Docker engine here, so
# the image itself is not built): the runtime stage is distroless, non-root and
# runs no command; the builder installs the static archives scripts/release
# uses; its own build commands, run here, give a sidecar that needs only glibc;
# and that sidecar, in a root holding nothing but glibc and the service
# account files a Pod gets, as UID 65532, applies a status.yaml over TLS with
# the in-cluster configuration.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-sidecar.sh"
. "$KSTATUS_SOURCE_DIR/scripts/lib/common.sh"

dockerfile=$KSTATUS_SOURCE_DIR/deploy/Dockerfile
# Instructions without comments, continuation lines joined.
instr=$(sed -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' "$dockerfile" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta')
last_from=$(grep -n '^FROM ' <<<"$instr" | tail -n1 | cut -d: -f1)
runtime=$(tail -n +"$last_from" <<<"$instr")
builder=$(head -n "$((last_from - 1))" <<<"$instr")

is "$(grep -c '^FROM ' <<<"$instr")" "2" "two stages: builder and runtime"
like "$(head -n1 <<<"$instr")" '^FROM debian:12 AS builder$' "the builder is debian:12"
like "$(head -n1 <<<"$runtime")" '^FROM gcr\.io/distroless/base-nossl-debian12(:nonroot)?$' \
        "the runtime is distroless base-nossl (glibc only, no shell)"
is "$(grep -E '^(RUN|SHELL|ADD)' <<<"$runtime" || true)" "" "the runtime stage runs no command (RUN would need a shell)"
is "$(grep '^USER ' <<<"$runtime" | tail -n1)" "USER 65532:65532" "the runtime stage runs as UID 65532"
like "$(grep '^ENTRYPOINT ' <<<"$runtime")" '^ENTRYPOINT \["/usr/local/bin/kstatus-sidecar"\]$' \
        "ENTRYPOINT is exec form (no shell) and names the installed binary"
is "$(grep '^COPY ' <<<"$runtime")" "COPY --from=builder /rootfs/ /" "the runtime stage copies only the builder's /rootfs"
missing=()
for p in "${KSTATUS_STATIC_PACKAGES[@]}"; do
        grep -q "apt-get install .*[[:space:]]$p\([[:space:]]\|\$\)" <<<"$builder" || missing+=("$p")
done
is "${missing[*]}" "" "the builder installs every static archive scripts/release links (KSTATUS_STATIC_PACKAGES)"
build_cmd=$(grep '^RUN meson setup' <<<"$builder")
like "$build_cmd" '-Dstatic_deps=true' "the builder links statically, as scripts/release"
like "$build_cmd" '-Db_pie=false' "and without PIE, as scripts/release"
like "$build_cmd" 'install -D -m 0755 /build/sidecar/kstatus-sidecar /rootfs/usr/local/bin/kstatus-sidecar' \
        "the builder installs the binary where ENTRYPOINT looks"

if [ "$(id -u)" != 0 ] || ! command -v chroot >/dev/null; then
        echo "ok $((_tap_n + 1)) # SKIP building and running the image's sidecar needs root (chroot)"
        _tap_n=$((_tap_n + 1))
        done_testing
fi
absent=()
for p in "${KSTATUS_STATIC_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || absent+=("$p")
done
if [ ${#absent[@]} -gt 0 ]; then
        # scripts/test installs them (scripts/release --tools-only) and requires them.
        if [ "${KSTATUS_REQUIRE_RELEASE_TOOLS:-}" = 1 ]; then
                _tap_result 1 "static archives present" "missing: ${absent[*]} (run scripts/release --tools-only)"
        else
                echo "ok $((_tap_n + 1)) # SKIP static archives missing: ${absent[*]} (scripts/release --tools-only)"
                _tap_n=$((_tap_n + 1))
        fi
        done_testing
fi

# The builder's own commands (WORKDIR /src holds the sources; /build and
# /rootfs moved under this test's directory).
img=$TEST_TMP/image
mkdir -p "$img"
cmd=${build_cmd#RUN }
cmd=${cmd//\/rootfs/$img/rootfs}
cmd=${cmd//\/build/$img/build}
out=$(cd "$KSTATUS_SOURCE_DIR" && bash -c "$cmd" 2>&1)
_tap_result $? "the Dockerfile's build commands succeed" "$out"
bin=$img/rootfs/usr/local/bin/kstatus-sidecar
is "$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')" "libc.so.6 " \
        "the image's sidecar needs only glibc (readelf NEEDED)"

# A root with glibc as distroless base-nossl has it, the binary, and what the
# kubelet mounts into a pipeline Pod: the service account and /kratix.
root=$img/rootfs
for lib in $(ldd "$bin" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }'); do
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
done
is "$(find "$root" -name '*.so*' | wc -l)" "2" "the root holds glibc's libc and loader, nothing more"
start_apiserver || exit 1
apiserver_install_crds
create_seed_objects
sa=$root/var/run/secrets/kubernetes.io/serviceaccount
mkdir -p "$sa" "$root/kratix/metadata" "$root/kratix/input"
printf '%s' "$APISERVER_TOKEN" >"$sa/token"
cp "$APISERVER_CA" "$sa/ca.crt"
printf default >"$sa/namespace"
kubectl get iam example -o yaml >"$root/kratix/input/object.yaml"
printf 'message: from the image\niam: {user: image}\n' >"$root/kratix/metadata/status.yaml"
chmod -R a+rX "$root"
hostport=${APISERVER_URL#https://}
chroot=$(command -v chroot)
run_in_image() { # the binary in the root, as the Pod runs the image
        env -i KUBERNETES_SERVICE_HOST="${hostport%:*}" KUBERNETES_SERVICE_PORT="${hostport##*:}" \
                KRATIX_PIPELINE_NAME=image KSTATUS_PIPELINE_INDEX=0 KSTATUS_PIPELINE_COUNT=1 \
                "$chroot" --userspec=65532:65532 "$root" "$@"
}
out=$(run_in_image /usr/local/bin/kstatus-sidecar --once 2>&1)
_tap_result $? "as UID 65532 with only glibc, in-cluster config and the Pod's token: --once exits 0" "$out"
is "$(kubectl get iam example -o json | jq -c '{message: .status.message, iam: .status.iam}')" \
        '{"message":"from the image","iam":{"user":"image"}}' "the status reached the API server over verified TLS"
# The CA matters: with another one the same binary is refused.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$img/other.key" \
        -out "$sa/ca.crt" -subj /CN=other-ca -days 1 2>/dev/null
chmod a+r "$sa/ca.crt"
out=$(run_in_image /usr/local/bin/kstatus-sidecar --once --deadline=2s 2>&1)
rc=$?
is "$rc" 2 "with a CA that did not sign the server's certificate it stops at start-up (exit 2)"
like "$out" 'certificate|SSL' "and says why: $(tail -n1 <<<"$out")"
# And the check can fail: a build linked against the shared libcurl does not
# even start in this root.
cp "$KSTATUS_BUILD_DIR/sidecar/kstatus-sidecar" "$root/usr/local/bin/dynamic-sidecar"
fails_with 127 "a sidecar linked against the shared libcurl does not start there" \
        chroot "$root" /usr/local/bin/dynamic-sidecar --version

done_testing
