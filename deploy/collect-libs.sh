#!/bin/sh
# collect-libs.sh BINARY ROOTFS: copy the shared libraries BINARY needs (ldd's
# whole closure) into ROOTFS at the same paths, except glibc's own, which the
# distroless base image provides. Used by deploy/Dockerfile; tested by
# tests/integration/deploy-policies.sh, which runs the binary on just these
# libraries and the host's glibc.
set -eu
bin=$1 root=$2
ldd "$bin" | awk '/=> \// { print $3 }' | while read -r lib; do
        case $(basename "$lib") in
        libc.so.* | libm.so.* | libdl.so.* | libpthread.so.* | librt.so.* | libresolv.so.* | libanl.so.* | \
                libutil.so.* | libnss_*.so.* | ld-linux*) continue ;;
        esac
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
done
