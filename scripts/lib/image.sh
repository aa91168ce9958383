# shellcheck shell=bash
# image.sh - the kstatus-sidecar image, assembled the way distroless assembles
# its own: no base image, no package manager run inside, files copied in from
# Debian's packages, one layer written by GNU tar (sorted, owner 0:0, every
# mtime the commit's), and the OCI plumbing (config, manifest) done by umoci.
# Sourced by scripts/release (which builds the binaries) and scripts/image.
# Needs say and die (scripts/lib/common.sh).
#
#   image_rootfs BINARY DIR          the root filesystem for BINARY's architecture in DIR
#   image_files DIR                  its file list, one path a line, sorted (the layer's order)
#   image_oci ARCHIVE VERSION REVISION EPOCH SOURCE ARCH=ROOTFS...
#                                    the OCI archive: an image index over one image per ARCH

# The root filesystem, as distroless base-nossl has it but smaller:
#   usr/local/bin/kstatus-sidecar    the release build (libyaml, jansson, libcurl, OpenSSL...
#                                    linked statically; only glibc is shared)
#   lib*/...                         glibc: the dynamic loader and each library the binary
#                                    needs (libc.so.6), from Debian's libc6 for that architecture
#   etc/passwd, etc/group            root, nonroot (65532) and nobody, as distroless has them
#   usr/share/doc/PKG/copyright      the licence of every Debian package whose code is in the
#                                    image (libc6 and the static archives), and kstatus's LICENSE
#   var/lib/dpkg/status.d/PKG        what those packages are, for image scanners (as distroless)
# Nothing else: no shell, no package manager, no CA bundle (in a cluster the sidecar trusts
# only the service account's ca.crt: docs/BEHAVIOUR.md §6), no nsswitch.conf (glibc's
# built-in defaults resolve hosts through files, then DNS), no tzdata (it logs in UTC).
# KSTATUS_STATIC_PACKAGES (scripts/lib/common.sh) names the static archives.
image_rootfs() { # BINARY DIR
        local bin=$1 root=$2 arch triplet interp lib p
        case $(readelf -h "$bin" | sed -n 's/^ *Machine: *//p') in
        'Advanced Micro Devices X86-64') arch=amd64 triplet=x86_64-linux-gnu ;;
        AArch64) arch=arm64 triplet=aarch64-linux-gnu ;;
        *) die "$bin: not an amd64 or arm64 executable" ;;
        esac
        interp=$(readelf -l "$bin" | sed -n 's/.*\[Requesting program interpreter: \(.*\)\]/\1/p')
        [ -n "$interp" ] || die "$bin has no program interpreter: expected a glibc executable"
        rm -rf "$root"
        mkdir -p "$root/usr/local/bin" "$root/etc" "$root/usr/share/doc/kstatus" "$root/var/lib/dpkg/status.d"
        install -m 0755 "$bin" "$root/usr/local/bin/kstatus-sidecar"
        _image_copy "$interp" "$root"
        for lib in $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
                case $lib in
                "$(basename "$interp")") ;; # arm64 executables also name the loader: it is there already
                libc.so.6 | libm.so.6) _image_copy "/lib/$triplet/$lib" "$root" ;;
                *) die "$bin needs $lib: only glibc may be shared (build with -Dstatic_deps=true)" ;;
                esac
        done
        printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
                'nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin' >"$root/etc/passwd"
        printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'nonroot:x:65532:' >"$root/etc/group"
        install -m 0644 "$KSTATUS_ROOT/LICENSE" "$root/usr/share/doc/kstatus/LICENSE"
        for p in libc6 "${KSTATUS_STATIC_PACKAGES[@]}"; do
                [ -f "/usr/share/doc/$p/copyright" ] || die "/usr/share/doc/$p/copyright is missing: is $p installed?"
                install -D -m 0644 "/usr/share/doc/$p/copyright" "$root/usr/share/doc/$p/copyright"
                dpkg-query -s "$p:$arch" >"$root/var/lib/dpkg/status.d/$p" 2>/dev/null ||
                        die "package $p:$arch is not installed"
                chmod 0644 "$root/var/lib/dpkg/status.d/$p"
        done
        chmod -R u=rwX,go=rX "$root"
        chmod 0755 "$root/usr/local/bin/kstatus-sidecar"
}

# _image_copy FILE ROOT: FILE's content at the same path under ROOT (symlinks followed).
_image_copy() {
        [ -e "$1" ] || die "$1 is missing (is libc6 for that architecture installed?)"
        install -D -m 0755 "$(readlink -f "$1")" "$2$1"
}

image_files() { # DIR
        (cd "$1" && find . -mindepth 1 | sed 's|^\./||' | LC_ALL=C sort)
}

# _image_layer ROOTFS TAR EPOCH: the layer, byte for byte the same from the same files.
_image_layer() {
        image_files "$1" >"$2.list"
        tar --create --file="$2" --directory="$1" --no-recursion --verbatim-files-from --files-from="$2.list" \
                --format=ustar --owner=0 --group=0 --numeric-owner --mtime="@$3" --mode=go-w
        rm -f "$2.list"
}

image_oci() { # ARCHIVE VERSION REVISION EPOCH SOURCE ARCH=ROOTFS...
        local archive=$1 version=$2 revision=$3 epoch=$4 source=$5 created layout arch rootfs spec
        shift 5
        command -v umoci >/dev/null || die "umoci is missing (Debian package umoci)"
        created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
        layout=$archive.d
        rm -rf "$layout" "$archive"
        umoci init --layout "$layout"
        local labels=(--config.label "org.opencontainers.image.version=$version"
                --config.label "org.opencontainers.image.revision=$revision"
                --config.label "org.opencontainers.image.source=$source"
                --config.label "org.opencontainers.image.licenses=Apache-2.0"
                --config.label "org.opencontainers.image.title=kstatus-sidecar"
                --config.label "org.opencontainers.image.created=$created")
        for spec in "$@"; do
                arch=${spec%%=*} rootfs=${spec#*=}
                umoci new --image "$layout:$arch"
                umoci config --image "$layout:$arch" --no-history --created="$created" --os=linux --architecture="$arch" \
                        --config.user=65532:65532 --config.workingdir=/ --config.entrypoint=/usr/local/bin/kstatus-sidecar \
                        --config.env=PATH=/usr/local/bin:/usr/bin:/bin "${labels[@]}"
                _image_layer "$rootfs" "$layout.$arch.tar" "$epoch"
                umoci raw add-layer --image "$layout:$arch" --history.created="$created" \
                        --history.created_by="scripts/image (kstatus $version, $revision)" "$layout.$arch.tar"
                rm -f "$layout.$arch.tar"
        done
        umoci gc --layout "$layout"
        _image_index "$layout" "$version" "$revision" "$source" "$created"
        # The archive of the layout (what skopeo calls oci-archive), reproducible too.
        (cd "$layout" && find . -mindepth 1 | sed 's|^\./||' | LC_ALL=C sort) >"$layout.list"
        tar --create --file="$archive" --directory="$layout" --no-recursion --verbatim-files-from \
                --files-from="$layout.list" --format=ustar --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
                --mode=u=rwX,go=rX
        rm -rf "$layout" "$layout.list"
}

# _image_index LAYOUT VERSION REVISION SOURCE CREATED: umoci tags one manifest per
# architecture; replace those tags by one image index (each manifest with its
# platform), tagged vVERSION: its digest is the multi-arch image's digest.
_image_index() {
        local layout=$1 index digest
        index=$(jq -cS --arg v "$2" --arg r "$3" --arg s "$4" --arg c "$5" '{schemaVersion: 2,
                mediaType: "application/vnd.oci.image.index.v1+json",
                manifests: [.manifests[] | {mediaType, digest, size,
                        platform: {architecture: .annotations["org.opencontainers.image.ref.name"], os: "linux"}}],
                annotations: {"org.opencontainers.image.version": $v, "org.opencontainers.image.revision": $r,
                        "org.opencontainers.image.source": $s, "org.opencontainers.image.licenses": "Apache-2.0",
                        "org.opencontainers.image.created": $c}}' "$layout/index.json")
        digest=$(printf '%s' "$index" | sha256sum | cut -d' ' -f1)
        printf '%s' "$index" >"$layout/blobs/sha256/$digest"
        jq -cnS --arg d "sha256:$digest" --argjson n "${#index}" --arg v "v$2" '{schemaVersion: 2,
                manifests: [{mediaType: "application/vnd.oci.image.index.v1+json", digest: $d, size: $n,
                        annotations: {"org.opencontainers.image.ref.name": $v}}]}' >"$layout/index.json"
}

# image_digest ARCHIVE: the image index's digest (sha256:...), read from the archive.
image_digest() {
        tar -xOf "$1" index.json | jq -r '.manifests[0].digest'
}
