#!/usr/bin/env bash
# scripts/lib/tls-curl.sh - build a static libcurl for release builds from
# Debian's own curl source (with Debian's patches) against a lighter TLS
# library than OpenSSL, from Debian's static archives.
#
#   scripts/lib/tls-curl.sh [--backend=mbedtls|wolfssl] [--host=TRIPLET] [--no-install] DIR
#
# The result is DIR/curl-BACKEND/ (include/, lib/libcurl.a, lib/pkgconfig/libcurl.pc,
# versions.txt); meson links it with -Dcurl_prefix=DIR/curl-BACKEND (meson.build).
# The source is the version of Debian's libcurl4-openssl-dev installed here
# (the one the OpenSSL build links): `apt-get source` fetches it once into
# DIR/curl-src/; later runs build offline from that cache. A build whose
# inputs (curl source version, TLS, nghttp2 and zlib package versions, this
# script) are unchanged is reused: versions.txt records them and is compared.
#
# libcurl gets exactly what kstatus uses (common/kube/setup.c): HTTP and
# HTTPS, HTTP/2 (nghttp2), gzip (zlib), HTTP/HTTPS/SOCKS proxies and
# NO_PROXY, Basic and Bearer authentication, CA files/blobs/directories,
# client certificates from files and blobs, and the threaded resolver.
# Everything else (other protocols, NTLM/Kerberos/digest, cookies, IDN,
# PSL, brotli, zstd, SSH, LDAP, verbose strings) is compiled out.
#
# Prints the prefix (DIR/curl-BACKEND) on stdout.
set -euo pipefail
. "$(dirname "$0")/common.sh"

usage() {
        cat <<EOF
Build a static libcurl from Debian's curl source against mbedTLS or wolfSSL.

Usage:
  scripts/lib/tls-curl.sh [options] DIR

Options:
  --backend=NAME   mbedtls (default) or wolfssl
  --host=TRIPLET   cross-compile for TRIPLET (e.g. aarch64-linux-gnu)
  --no-install     do not install missing packages; fail instead
EOF
}

backend=mbedtls host="" install=true dir=""
while [ $# -gt 0 ]; do
        case $1 in
        --backend=*) backend=${1#*=} ;;
        --host=*) host=${1#*=} ;;
        --no-install) install=false ;;
        -h | --help) usage; exit 0 ;;
        -*) printf 'error: unknown flag: %s\n' "$1" >&2; usage >&2; exit 2 ;;
        *)
                [ -z "$dir" ] || { printf 'error: unexpected argument "%s"\n' "$1" >&2; exit 2; }
                dir=$1 ;;
        esac
        shift
done
[ -n "$dir" ] || { usage >&2; exit 2; }
case $backend in
mbedtls) tls_pkg=libmbedtls-dev tls_flag=--with-mbedtls ca_path=--with-ca-path=/etc/ssl/certs ;;
# libcurl 7.88 on wolfSSL has no CA directory support: none is built in.
wolfssl) tls_pkg=libwolfssl-dev tls_flag=--with-wolfssl ca_path=--without-ca-path ;;
*) die "unknown TLS backend \"$backend\" (mbedtls, wolfssl)" ;;
esac
arch_suffix=:$(dpkg --print-architecture)
[ -z "$host" ] || arch_suffix=:$(dpkg-architecture -t "$host" -q DEB_HOST_ARCH 2>/dev/null)
deps=("$tls_pkg$arch_suffix" "libnghttp2-dev$arch_suffix" "zlib1g-dev$arch_suffix")
tools=(dpkg-dev autoconf automake libtool make)

ensure() {
        if $install; then
                ensure_packages "$@"
                return
        fi
        local p
        for p in "$@"; do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
                        die "package $p is missing (run without --no-install to install it)"
        done
}
ensure "${tools[@]}" "${deps[@]}"

# pkg_version PACKAGE: the installed version, or nothing.
pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }

# The curl source: the version of the libcurl the OpenSSL build links.
curl_version=$(dpkg-query -W -f='${source:Version}' "libcurl4-openssl-dev:$(dpkg --print-architecture)" 2>/dev/null) ||
        die "libcurl4-openssl-dev is not installed: its version selects the curl source"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
srcdir=$dir/curl-src
dsc=$srcdir/curl_${curl_version#*:}.dsc
if [ ! -f "$dsc" ]; then
        say "fetching Debian's curl $curl_version source into $srcdir"
        mkdir -p "$srcdir"
        grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/ ||
                die "apt has no deb-src entry: add one for the same archive (Types: deb-src) and run apt-get update"
        (cd "$srcdir" && apt-get source --download-only -qq "curl=$curl_version" >/dev/null 2>&1) ||
                die "apt-get source curl=$curl_version failed (is apt's deb-src list current? apt-get update)"
fi

prefix=$dir/curl-$backend
stamp=$(
        printf 'curl-source %s\n' "$curl_version"
        for p in "${deps[@]}"; do printf '%s %s\n' "$p" "$(pkg_version "$p")"; done
        printf 'host %s\n' "${host:-native}"
        printf 'script %s\n' "$(sha256sum <"$0" | cut -d' ' -f1)"
)
if [ -f "$prefix/lib/libcurl.a" ] && [ "$(cat "$prefix/versions.txt" 2>/dev/null)" = "$stamp" ]; then
        echo "$prefix"
        exit 0
fi

# Unpack with Debian's patches; Debian's OpenSSL flavour is built without
# the last two (90_gnutls, 99_nss: they rename the library for the other
# flavours), so pop them the way debian/rules does.
work=$dir/curl-build-$backend
rm -rf "$work" "$prefix"
say "unpacking $(basename "$dsc") with Debian's patches"
dpkg-source --no-check -x "$dsc" "$work" >/dev/null
rm -f "$dir"/curl_*.orig.tar.gz* # dpkg-source's copy beside $work; the cache keeps its own
for p in 99_nss.patch 90_gnutls.patch; do
        grep -qx "$p" "$work/debian/patches/series" || die "Debian's curl has no $p: check debian/rules"
        patch -d "$work" -R -p1 -s <"$work/debian/patches/$p"
done
(cd "$work" && autoreconf -fi >/dev/null 2>&1) || die "autoreconf of curl's source failed"

cross=()
[ -z "$host" ] || cross=(--host="$host")
# SOURCE_DATE_EPOCH and a fixed build path keep the archive reproducible.
export SOURCE_DATE_EPOCH
SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l "$work/debian/changelog" -S Timestamp)
say "configuring curl $curl_version with $backend"
(cd "$work" && ./configure -q "${cross[@]}" --prefix="$prefix" --libdir="$prefix/lib" \
        --disable-shared --enable-static --with-pic=no \
        CFLAGS="-O2 -g0 -ffunction-sections -fdata-sections -fstack-protector-strong -D_FORTIFY_SOURCE=2" \
        "$tls_flag" --without-openssl --without-gnutls --without-nss --without-rustls \
        --with-nghttp2 --with-zlib --without-brotli --without-zstd \
        --without-libidn2 --without-libpsl --without-libssh2 --without-libssh --without-librtmp \
        --without-gssapi --without-libgsasl --without-hyper --without-ngtcp2 --without-quiche \
        --without-msh3 --without-nghttp3 \
        --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt "$ca_path" \
        --enable-http --enable-proxy --enable-threaded-resolver --enable-ipv6 \
        --disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp --disable-dict \
        --disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb --disable-smtp \
        --disable-gopher --disable-mqtt --disable-manual --disable-verbose --disable-ntlm \
        --disable-ntlm-wb --disable-kerberos-auth --disable-negotiate-auth --disable-digest-auth \
        --disable-aws --disable-cookies --disable-alt-svc --disable-hsts --disable-doh \
        --disable-mime --disable-netrc --disable-tls-srp --disable-websockets \
        --disable-dependency-tracking --disable-unix-sockets \
        >"$work.configure.log" 2>&1) ||
        { tail -n 30 "$work.configure.log" >&2; die "configure of curl with $backend failed ($work.configure.log)"; }
say "building libcurl.a with $backend"
make -C "$work/lib" -j"$(nproc)" >"$work.make.log" 2>&1 ||
        { tail -n 30 "$work.make.log" >&2; die "building curl with $backend failed ($work.make.log)"; }
make -C "$work/lib" install >/dev/null
make -C "$work/include" install >/dev/null
make -C "$work" install-pkgconfigDATA >/dev/null
printf '%s\n' "$stamp" >"$prefix/versions.txt"
rm -rf "$work" "$work.configure.log" "$work.make.log"
echo "$prefix"
