# shellcheck shell=bash
# common.sh - shared by scripts/test, scripts/demo and scripts/bench: install
# missing Debian packages (apt-get update once, then only what is missing) and
# configure + build a meson build directory.

KSTATUS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Packages the build and the test suite need on Debian 12 (the scripts that
# source this file read these lists).
# shellcheck disable=SC2034
KSTATUS_BUILD_PACKAGES=(gcc libc6-dev pkg-config meson ninja-build git
        libcurl4-openssl-dev libyaml-dev libjansson-dev libcriterion-dev
        libmicrohttpd-dev libgnutls28-dev)
# The -dev packages whose static archives release builds link (meson.build,
# static_deps): libcurl's, and those of every library Debian's libcurl.a uses.
# deploy/Dockerfile installs the same list (tests/integration/image-runc.sh).
# shellcheck disable=SC2034
KSTATUS_STATIC_PACKAGES=(libcurl4-openssl-dev libyaml-dev libjansson-dev libnghttp2-dev libidn2-dev
        libunistring-dev libssh2-1-dev libpsl-dev libssl-dev libzstd-dev libbrotli-dev zlib1g-dev)
# shellcheck disable=SC2034
KSTATUS_TEST_PACKAGES=(valgrind jq procps curl openssl ca-certificates clang libclang-rt-14-dev nghttp2-server
        runc umoci skopeo)

_as_root() {
        if [ "$(id -u)" = 0 ]; then "$@"
        elif command -v sudo >/dev/null; then sudo "$@"
        else die "need root to run: $*"
        fi
}

_apt_updated=
ensure_packages() {
        local missing=() p
        for p in "$@"; do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
        done
        [ ${#missing[@]} = 0 ] && return 0
        command -v apt-get >/dev/null || die "missing packages and no apt-get: ${missing[*]}"
        if [ -z "$_apt_updated" ]; then
                say "apt-get update"
                _as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed"
                _apt_updated=1
        fi
        say "installing ${missing[*]}"
        _as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
                >/dev/null || die "apt-get install failed: ${missing[*]}"
}

# kubectl: the machine's own if it has one, else Debian's kubernetes-client.
ensure_kubectl() {
        command -v kubectl >/dev/null && return 0
        ensure_packages kubernetes-client
        command -v kubectl >/dev/null || die "kubectl not found after installing kubernetes-client"
}

# The configuration benchmarks measure: the release build's (scripts/release:
# static, not PIE, optimized), with the test API server built beside it.
KSTATUS_BENCH_OPTIONS=(-Dtests=true -Dintegration=false -Dstatic_deps=true -Db_pie=false -Dbuildtype=release)

# bench_build DIR: build DIR in the release configuration for a benchmark,
# then write the fresh binaries back to disk: pages of a just-linked file are
# still dirty in the page cache, and smaps counts them as the process's
# Private_Dirty until they are written back (up to 30 s later).
bench_build() {
        build_dir "$1" "${KSTATUS_BENCH_OPTIONS[@]}"
        sync
}

# build_dir DIR [meson options...]: configure (once; the options are applied
# to an existing directory too) and build.
build_dir() {
        local dir=$1; shift
        if [ ! -f "$dir/build.ninja" ]; then
                say "configuring $dir"
                meson setup "$dir" "$KSTATUS_ROOT" "$@" >"$dir.setup.log" 2>&1 ||
                        { cat "$dir.setup.log" >&2; die "meson setup $dir failed"; }
                rm -f "$dir.setup.log"
        elif [ $# -gt 0 ]; then
                meson configure "$dir" "$@" >/dev/null || die "meson configure $dir $* failed"
        fi
        say "building $dir"
        ninja -C "$dir" >/dev/null || { ninja -C "$dir"; die "build in $dir failed"; }
}
