#!/usr/bin/env bash
# deploy/Dockerfile, checked without Docker (there is no Docker engine here, so
# the image itself is not built by this test): the runtime stage is distroless,
# non-root and runs no command; the builder links libyaml and jansson
# statically; and deploy/collect-libs.sh, which copies libcurl's libraries into
# the runtime image, collects everything the sidecar needs: the sidecar runs in
# a chroot holding only those libraries plus glibc (what distroless/cc has).
. "$(dirname "$0")/lib.sh"

dockerfile=$KSTATUS_SOURCE_DIR/deploy/Dockerfile
collect=$KSTATUS_SOURCE_DIR/deploy/collect-libs.sh
# Instructions without comments, continuation lines joined.
instr=$(sed -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' "$dockerfile" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta')
last_from=$(grep -n '^FROM ' <<<"$instr" | tail -n1 | cut -d: -f1)
runtime=$(tail -n +"$last_from" <<<"$instr")

is "$(grep -c '^FROM ' <<<"$instr")" "2" "two stages: builder and runtime"
like "$(head -n1 <<<"$instr")" '^FROM debian:12 AS builder$' "the builder is debian:12"
like "$(head -n1 <<<"$runtime")" '^FROM gcr\.io/distroless/cc-debian12(:nonroot)?$' "the runtime is distroless/cc-debian12 (no shell)"
is "$(grep -E '^(RUN|SHELL|ADD)' <<<"$runtime" || true)" "" "the runtime stage runs no command (RUN would need a shell)"
is "$(grep '^USER ' <<<"$runtime" | tail -n1)" "USER 65532:65532" "the runtime stage runs as UID 65532"
like "$(grep '^ENTRYPOINT ' <<<"$runtime")" '^ENTRYPOINT \["/usr/local/bin/kstatus-sidecar"\]$' \
        "ENTRYPOINT is exec form (no shell) and names the installed binary"
is "$(grep '^COPY ' <<<"$runtime" | grep -v -- '--from=builder' || true)" "" "the runtime stage copies only from the builder"
like "$(grep '^RUN meson setup' <<<"$instr")" '-Dstatic_deps=true' "the builder links libyaml and jansson statically"
like "$instr" 'install -D -m 0755 /build/sidecar/kstatus-sidecar /rootfs/usr/local/bin/kstatus-sidecar' \
        "the builder installs the binary where ENTRYPOINT looks"
ok "collect-libs.sh is executable" test -x "$collect"

if [ "$(id -u)" != 0 ] || ! command -v chroot >/dev/null; then
        echo "ok $((_tap_n + 1)) # SKIP the chroot check needs root"
        _tap_n=$((_tap_n + 1))
        done_testing
fi
bin=$KSTATUS_BUILD_DIR/sidecar/kstatus-sidecar
root=$TEST_TMP/rootfs
out=$("$collect" "$bin" "$root" 2>&1)
_tap_result $? "collect-libs.sh collects the sidecar's libraries" "$out"
is "$(find "$root" -name 'libc.so.*' -o -name 'ld-linux*' | wc -l)" "0" "it leaves glibc to the base image"
like "$(find "$root" -name 'libcurl.so.*')" 'libcurl\.so\.4' "it collects libcurl"
# glibc as the distroless base has it, then the binary as the Dockerfile installs it.
for lib in $(ldd "$bin" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }'); do
        case $(basename "$lib") in
        libc.so.* | libm.so.* | libdl.so.* | libpthread.so.* | librt.so.* | libresolv.so.* | ld-linux*)
                mkdir -p "$root$(dirname "$lib")"
                cp -L "$lib" "$root$lib" ;;
        esac
done
install -D -m 0755 "$bin" "$root/usr/local/bin/kstatus-sidecar"
v=$(chroot "$root" /usr/local/bin/kstatus-sidecar --version 2>&1)
_tap_result $? "the sidecar runs on the collected libraries alone: $v" "$v"
# And the check can fail: without libcurl the loader refuses to start it.
find "$root" -name 'libcurl.so.*' -delete
fails_with 127 "without the collected libcurl it does not start" chroot "$root" /usr/local/bin/kstatus-sidecar --version

done_testing
