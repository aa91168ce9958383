#!/usr/bin/env bash
# The sidecar's image for real: scripts/image builds it offline (and
# scripts/release's independent build gives the same digest), skopeo
# (containers/image, not our code) reads the OCI archive and picks each
# platform, umoci unpacks it, and Debian's runc runs the
# sidecar from it as a Pod's container runs: read-only root filesystem, the
# image's user 65532, no capabilities, no new privileges, the host's loopback,
# the service account and /kratix mounted. The seed's two pipelines run with it
# beside the Kratix stand-in. deploy/Dockerfile's build gives the same files.
#
# Needs root (runc, umoci unpack), runc, umoci, skopeo and the release
# toolchain (scripts/release --tools-only; scripts/test installs all of them).
# Without them the test is skipped, unless KSTATUS_REQUIRE_RELEASE_TOOLS=1.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-sidecar.sh"
. "$(dirname "$0")/lib-kratix.sh"
. "$(dirname "$0")/lib-release.sh"
. "$KSTATUS_SOURCE_DIR/scripts/lib/common.sh"

missing=()
for t in runc umoci skopeo aarch64-linux-gnu-gcc qemu-aarch64; do command -v "$t" >/dev/null || missing+=("$t"); done
[ "$(id -u)" = 0 ] || missing+=("root")
if [ ${#missing[@]} -gt 0 ]; then
        if [ "${KSTATUS_REQUIRE_RELEASE_TOOLS:-}" = 1 ]; then
                _tap_result 1 "image tools present" "missing: ${missing[*]} (scripts/test installs them)"
                done_testing
        fi
        echo "1..0 # SKIP missing: ${missing[*]} (scripts/test installs them)"
        exit 0
fi

version=$(meson introspect --projectinfo "$KSTATUS_BUILD_DIR" | jq -r .version)
ref=oci-archive:$TEST_TMP/out1/kstatus-sidecar.oci.tar:v$version

# --- the build, twice: scripts/image here, and the release scripts/release
# built for release-krew.sh (lib-release.sh), each from scratch in its own
# build directory; this one first, so that the other has time to finish ---
t0=$SECONDS
out=$("$KSTATUS_SOURCE_DIR/scripts/image" --worktree --no-install --build-dir="$TEST_TMP/build1" "$TEST_TMP/out1" 2>&1)
rc=$?
_tap_result $rc "scripts/image build 1 ($((SECONDS - t0)) s)" "$out"
[ "$rc" = 0 ] || done_testing
t0=$SECONDS
release_shared
rc=$?
_tap_result $rc "build 2: the shared scripts/release ($((SECONDS - t0)) s here)" "$(cat "$RELEASE_DIR/release.log")"
[ "$rc" = 0 ] || done_testing
digest=$(cat "$TEST_TMP/out1/kstatus-sidecar.digest")
like "$digest" '^sha256:[0-9a-f]{64}$' "kstatus-sidecar.digest holds the index digest: $digest"
is "$(cat "$RELEASE_DIR/dist/kstatus-sidecar.digest")" "$digest" "a second clean build gives the same digest"
ok "and the same archive, byte for byte" cmp "$TEST_TMP/out1/kstatus-sidecar.oci.tar" "$RELEASE_DIR/dist/kstatus-sidecar.oci.tar"
ok "SHA256SUMS covers the OCI archive" sh -c "cd '$TEST_TMP/out1' && grep -q ' kstatus-sidecar.oci.tar\$' SHA256SUMS &&
        sha256sum --quiet -c SHA256SUMS"

# --- what skopeo reads in it ---
raw=$(skopeo inspect --raw "$ref")
is "$(jq -r .mediaType <<<"$raw")" "application/vnd.oci.image.index.v1+json" "the tag names an OCI image index"
is "$(printf 'sha256:%s' "$(printf '%s' "$raw" | sha256sum | cut -d' ' -f1)")" "$digest" \
        "whose bytes hash to the recorded digest (what a registry will report)"
ok "skopeo copy --all --preserve-digests keeps that digest (as a push to a registry does)" sh -c \
        "skopeo copy -q --all --preserve-digests '$ref' 'oci:$TEST_TMP/copy:v$version' &&
         jq -e '.manifests[0].digest == \"$digest\"' '$TEST_TMP/copy/index.json'"
is "$(jq -c '[.manifests[].platform | .os + "/" + .architecture]' <<<"$raw")" '["linux/amd64","linux/arm64"]' \
        "it holds linux/amd64 and linux/arm64"
commit=$(git -C "$KSTATUS_SOURCE_DIR" rev-parse HEAD)
for arch in amd64 arm64; do
        cfg=$(skopeo inspect --override-arch "$arch" --config "$ref")
        is "$(jq -r '.os + "/" + .architecture' <<<"$cfg")" "linux/$arch" "the $arch image's config says linux/$arch"
        json_is "$(jq -c '.config | {User, Entrypoint, Cmd}' <<<"$cfg")" \
                '{"User":"65532:65532","Entrypoint":["/usr/local/bin/kstatus-sidecar"],"Cmd":null}' \
                "linux/$arch: user 65532, the sidecar as entrypoint (exec form, no shell)"
        json_is "$(jq -c '.config.Labels | with_entries(select(.key | test("version|source|licenses")))' <<<"$cfg")" \
                "{\"org.opencontainers.image.version\":\"$version\",\"org.opencontainers.image.licenses\":\"Apache-2.0\",
                  \"org.opencontainers.image.source\":\"https://github.com/kstatus/kstatus\"}" \
                "linux/$arch: OCI labels version, source, licenses"
        like "$(jq -r '.config.Labels["org.opencontainers.image.revision"]' <<<"$cfg")" "^$commit(-dirty)?\$" \
                "linux/$arch: OCI label revision is the commit built"
        is "$(jq -r .created <<<"$cfg")" "$(date -u -d "@$(git -C "$KSTATUS_SOURCE_DIR" log -1 --format=%ct)" +%Y-%m-%dT%H:%M:%SZ)" \
                "linux/$arch: created is the commit's time (SOURCE_DATE_EPOCH), not the build's"
        skopeo copy -q --override-arch "$arch" "$ref" "oci:$TEST_TMP/layout:$arch" >/dev/null
done

# --- the root filesystem: the files, and nothing else (hand-written list) ---
layer_list() { # ARCH: the image's files (not directories), from its layer
        local m l
        m=$(jq -r --arg t "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' \
                "$TEST_TMP/layout/index.json")
        l=$(jq -r '.layers[0].digest' "$TEST_TMP/layout/blobs/sha256/${m#sha256:}")
        tar -tzvf "$TEST_TMP/layout/blobs/sha256/${l#sha256:}" | awk '$1 !~ /^d/ { print $1, $2, $6 }'
}
docs="libbrotli-dev libc6 libcurl4-openssl-dev libidn2-dev libjansson-dev libnghttp2-dev libpsl-dev libssh2-1-dev
      libssl-dev libunistring-dev libyaml-dev libzstd-dev zlib1g-dev"
want_files() { # LOADER LIBDIR
        {
                echo "-rw-r--r-- 0/0 etc/group"
                echo "-rw-r--r-- 0/0 etc/passwd"
                echo "-rwxr-xr-x 0/0 ${1#/}"
                echo "-rwxr-xr-x 0/0 $2/libc.so.6"
                echo "-rwxr-xr-x 0/0 usr/local/bin/kstatus-sidecar"
                echo "-rw-r--r-- 0/0 usr/share/doc/kstatus/LICENSE"
                for p in $docs; do echo "-rw-r--r-- 0/0 usr/share/doc/$p/copyright"; done
                for p in $docs; do echo "-rw-r--r-- 0/0 var/lib/dpkg/status.d/$p"; done
        } | LC_ALL=C sort -k3
}
is "$(layer_list amd64 | LC_ALL=C sort -k3)" "$(want_files /lib64/ld-linux-x86-64.so.2 lib/x86_64-linux-gnu)" \
        "linux/amd64 holds the sidecar, glibc's loader and libc, passwd, group, licences, dpkg status; all owned 0/0"
is "$(layer_list arm64 | LC_ALL=C sort -k3)" "$(want_files /lib/ld-linux-aarch64.so.1 lib/aarch64-linux-gnu)" \
        "linux/arm64 holds the same for arm64"

umoci unpack --image "$TEST_TMP/layout:amd64" "$TEST_TMP/bundle" >/dev/null 2>&1
root=$TEST_TMP/bundle/rootfs
is "$(grep ':65532:' "$root/etc/passwd")" "nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin" \
        "/etc/passwd names 65532 nonroot, with no shell to log in with"
is "$(grep ':65532:' "$root/etc/group")" "nonroot:x:65532:" "/etc/group names 65532 nonroot"
is "$(cd "$root" && find . -type f -perm /111 | sed 's|^\./||' | LC_ALL=C sort | tr '\n' ' ')" \
        "lib/x86_64-linux-gnu/libc.so.6 lib64/ld-linux-x86-64.so.2 usr/local/bin/kstatus-sidecar " \
        "the only executables are the sidecar and glibc: no shell, no package manager"
is "$(readelf -h "$root/usr/local/bin/kstatus-sidecar" | sed -n 's/^ *Machine: *//p')" "Advanced Micro Devices X86-64" \
        "the amd64 image's sidecar is an x86-64 executable"
ok "the image's sidecar is the release archive's, byte for byte" cmp "$root/usr/local/bin/kstatus-sidecar" \
        <(tar -xzOf "$TEST_TMP/out1/kstatus-sidecar_linux_amd64.tar.gz" kstatus-sidecar)

# --- deploy/: the manifests pinned by digest ---
image=ghcr.io/kstatus/kstatus-sidecar:v$version
pinned=$(cd "$TEST_TMP/out1/deploy" && grep -rhoE "${image//./\\.}[^\"' ]*" . | sort | uniq -c | awk '{print $1, $2}')
n=$(grep -rhoF --include='*.yaml' "$image" "$KSTATUS_SOURCE_DIR/deploy" | wc -l)
is "$pinned" "$n $image@$digest" "the release's deploy/ manifests name the image by tag and digest ($n places, as deploy/ has)"
is "$(diff -r "$KSTATUS_SOURCE_DIR/deploy/health/deployment.yaml" "$TEST_TMP/out1/deploy/health/deployment.yaml" |
        grep -c '^[<>]')" 2 "and change nothing else (one line in deploy/health/deployment.yaml)"

# --- deploy/Dockerfile: the same files ---
dockerfile=$KSTATUS_SOURCE_DIR/deploy/Dockerfile
instr=$(sed -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' "$dockerfile" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta')
last_from=$(grep -n '^FROM ' <<<"$instr" | tail -n1 | cut -d: -f1)
runtime=$(tail -n +"$last_from" <<<"$instr")
builder=$(head -n "$((last_from - 1))" <<<"$instr")
is "$(head -n1 <<<"$runtime")" "FROM scratch" "the Dockerfile's runtime stage starts from nothing (no base to pull)"
is "$(grep -E '^(RUN|SHELL|ADD)' <<<"$runtime" || true)" "" "and runs no command (there is no shell)"
is "$(grep '^COPY ' <<<"$runtime")" "COPY --from=builder /rootfs/ /" "and copies only the builder's /rootfs"
is "$(grep '^USER ' <<<"$runtime")" "USER 65532:65532" "and runs as 65532"
like "$(grep '^ENTRYPOINT ' <<<"$runtime")" '^ENTRYPOINT \["/usr/local/bin/kstatus-sidecar"\]$' "ENTRYPOINT in exec form"
missing=()
for p in "${KSTATUS_STATIC_PACKAGES[@]}"; do
        grep -q "apt-get install .*[[:space:]]$p\([[:space:]]\|\$\)" <<<"$builder" || missing+=("$p")
done
is "${missing[*]}" "" "the builder installs every static archive scripts/release links (KSTATUS_STATIC_PACKAGES)"
build_cmd=$(grep '^RUN meson setup' <<<"$builder")
like "$build_cmd" '-Dstatic_deps=true .*-Db_pie=false' "the builder builds as scripts/release does"
# The builder's last step, here, around the release's binary (the build itself
# is scripts/release's: same options, checked above).
rootfs_cmd=$(sed -n 's/.*&& \(scripts\/image rootfs [^&]*\)$/\1/p' <<<"$build_cmd")
is "$rootfs_cmd" "scripts/image rootfs /build/sidecar/kstatus-sidecar /rootfs" \
        "the builder assembles /rootfs with scripts/image rootfs, last"
tar -xzf "$TEST_TMP/out1/kstatus-sidecar_linux_amd64.tar.gz" -C "$TEST_TMP" kstatus-sidecar
cmd=${rootfs_cmd//\/build\/sidecar/$TEST_TMP}
cmd=${cmd//\/rootfs/$TEST_TMP/docker/rootfs}
out=$(cd "$KSTATUS_SOURCE_DIR" && bash -c "$cmd" 2>&1)
_tap_result $? "the Dockerfile's rootfs step succeeds" "$out"
# A binary that needs a shared library beyond glibc: this build's sidecar in a
# development build (shared libcurl and libyaml); in a static (release) build
# Debian's curl, which needs the shared libcurl.
dynamic=$KSTATUS_BUILD_DIR/sidecar/kstatus-sidecar
readelf -d "$dynamic" | grep -q 'NEEDED.*libcurl' || dynamic=$(command -v curl)
fails_with 1 "scripts/image rootfs refuses a binary linked against the shared libcurl ($(basename "$dynamic"))" \
        "$KSTATUS_SOURCE_DIR/scripts/image" rootfs "$dynamic" "$TEST_TMP/dynamic-rootfs"
is "$(cd "$TEST_TMP/docker/rootfs" && find . -mindepth 1 ! -type d | sed 's|^\./||' | LC_ALL=C sort)" \
        "$(layer_list amd64 | awk '{print $3}' | LC_ALL=C sort)" "the Docker build's root filesystem has the image's files"

echo "# builds and checks took ${SECONDS} s"
# --- runc: the sidecar from the image, as a Pod's container ---
export RUNC_BUNDLE=$TEST_TMP/bundle RUNC_STATE=$TEST_TMP/runc RUNC_SA=$TEST_TMP/sa RUNC_FACTS=$TEST_TMP/facts
mkdir -p "$RUNC_STATE" "$RUNC_STATE-bundles" "$RUNC_SA"
: >"$RUNC_FACTS"
# shellcheck disable=SC2016 # expanded at exit
at_exit 'for c in $(runc --root "$RUNC_STATE" list -q 2>/dev/null); do runc --root "$RUNC_STATE" kill "$c" KILL; runc --root "$RUNC_STATE" delete -f "$c"; done 2>/dev/null'
is "$(jq -c '.process.user' "$RUNC_BUNDLE/config.json")" '{"uid":65532,"gid":65532}' \
        "umoci's runtime config runs the image's user, 65532"
runc_lib=$KSTATUS_SOURCE_DIR/tests/integration/lib-runc.sh
# shellcheck disable=SC2119 # no arguments for the API server
kratix_setup || done_testing
hostport=${APISERVER_URL#https://}
export KUBERNETES_SERVICE_HOST=${hostport%:*} KUBERNETES_SERVICE_PORT=${hostport##*:}
printf '%s' "$APISERVER_TOKEN" >"$RUNC_SA/token"
cp "$APISERVER_CA" "$RUNC_SA/ca.crt"
printf default >"$RUNC_SA/namespace"
chmod 0644 "$RUNC_SA"/*
once=$TEST_TMP/once
mkdir -p "$once/metadata" "$once/input"
in_image() { # ARGS...: the image's sidecar once, outside a pipeline
        env KSTATUS_METADATA_DIR="$once/metadata" KSTATUS_INPUT_DIR="$once/input" KRATIX_PIPELINE_NAME=image \
                KSTATUS_PIPELINE_INDEX=0 KSTATUS_PIPELINE_COUNT=1 bash "$runc_lib" x "$@"
}
dirty=$(git -C "$KSTATUS_SOURCE_DIR" diff --quiet HEAD -- || echo -dirty)
is "$(in_image --version 2>&1 | head -n1)" "kstatus-sidecar version v$version (commit ${commit:0:12}$dirty)" \
        "runc runs the image's sidecar (--version)"

# The seed's two pipelines, each Pod's sidecar from the image.
KX_SIDECAR_WRAPPER="bash $runc_lib" # word-split by the stand-in
kubectl wait iam/example --for=condition=ConfigureWorkflowCompleted --timeout=60s >"$TEST_TMP/wait.out" 2>&1 &
wait_pid=$!
kx_configure "$(seed_pipeline 1)" "$(seed_pipeline 2)"
is "$?" 0 "the Kratix stand-in runs both pipelines with the image's sidecar in each Pod"
wait "$wait_pid"
is "$?" 0 "kubectl wait --for=condition=ConfigureWorkflowCompleted returns"
json_is "$(kratix_status | jq -c '{iam, message}')" \
        '{"iam":{"password":"<vault-ref>","user":"admin"},"message":"User created and vault secret created"}' \
        "the end status is the seed's: iam.user survives status-writer's shallow merge, the last message wins"
for rc in "$KX_DIR"/pods/*/sidecar.rc; do
        is "$(cat "$rc")" 0 "the sidecar in $(basename "$(dirname "$rc")") exits 0 after the kubelet's SIGTERM"
done
report=$(kratix_writers)
ok "the sidecars in the containers pushed live while the pipelines ran ($(jq .kstatus_writes <<<"$report") writes)" \
        test "$(jq .kstatus_writes <<<"$report")" -ge 4
is "$(jq -c .kstatus_condition_changes <<<"$report")" "[]" "and changed no Kratix condition"
is "$(wc -l <"$RUNC_FACTS")" 2 "runc ran two sidecar containers"
while read -r id facts; do
        like " $facts" ' Uid=65532 Gid=65532 ' "$id ran as 65532:65532"
        is "$(grep -oE ' Cap(Eff|Prm|Bnd)=[0-9a-f]+' <<<" $facts" | sort | tr -d '\n')" \
                " CapBnd=0000000000000000 CapEff=0000000000000000 CapPrm=0000000000000000" \
                "$id had no capabilities (effective, permitted, bounding)"
        like " $facts" ' NoNewPrivs=1 ' "$id had no_new_privs"
        like " $facts" ' root=ro[, ]' "$id had a read-only root filesystem"
        like " $facts" ' net=host ' "$id shared the host's network namespace (the API server on loopback)"
        hwm=$(sed -n 's/.* VmHWM=\([0-9]*\)kB.*/\1/p' <<<" $facts")
        ok "$id's peak memory (VmHWM) is under 20 MiB: ${hwm} kB" test "${hwm:-99999}" -lt 20480
done <"$RUNC_FACTS"

# Verified TLS with the service account's CA only: another CA and it stops at start-up.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TEST_TMP/other.key" \
        -out "$RUNC_SA/ca.crt" -subj /CN=other-ca -days 1 2>/dev/null
chmod 0644 "$RUNC_SA/ca.crt"
kubectl get iam example -o yaml >"$once/input/object.yaml"
printf 'message: from the image\n' >"$once/metadata/status.yaml"
out=$(in_image --once --deadline=2s 2>&1)
is "$?" 2 "with a CA that did not sign the server's certificate the image's sidecar stops at start-up (exit 2)"
like "$out" 'certificate|SSL' "and says why: $(tail -n1 <<<"$out")"

# Sizes, for docs/ (the archive holds both architectures).
layer_size() { jq -r '.layers[0].size' "$TEST_TMP/layout/blobs/sha256/$(jq -r --arg t "$1" \
        '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' \
        "$TEST_TMP/layout/index.json" | cut -d: -f2)"; }
echo "# image: archive $(stat -c %s "$TEST_TMP/out1/kstatus-sidecar.oci.tar") bytes;" \
        "linux/amd64 layer $(layer_size amd64) bytes compressed, $(du -sk --apparent-size "$root" | cut -f1) kB unpacked;" \
        "linux/arm64 layer $(layer_size arm64) bytes compressed"
echo "# whole test: ${SECONDS} s"
echo "# sidecar in runc: $(awk '{ for (i = 2; i <= NF; i++) if ($i ~ /^VmHWM=/) printf "%s ", $i }' "$RUNC_FACTS")"

done_testing
