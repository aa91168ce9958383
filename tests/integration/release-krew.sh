#!/usr/bin/env bash
# scripts/release end to end: the archives for linux/amd64 and linux/arm64,
# their dynamic dependencies, the krew manifest checked as krew's index checks
# it (krew's ValidatePlugin and validate-krew-manifest), an install done the
# way krew does it, and the plugin used through that install.
#
# Needs Debian's arm64 cross toolchain and qemu-user (scripts/release
# --tools-only installs them). Without them the test is skipped, unless
# KSTATUS_REQUIRE_RELEASE_TOOLS=1 (scripts/test sets it), when it fails.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-release.sh"

# krew-index's review: a shortDescription of at most 50 characters, and a
# description that says what the plugin does without usage examples.
check_krew_text() { # MANIFEST LABEL
        local short desc
        short=$(sed -n 's/^  shortDescription: //p' "$1")
        desc=$(awk '/^  description: \|/ { on = 1; next } on && /^  [^ ]/ { on = 0 } on' "$1")
        like "$short" '^.{1,50}$' "$2: shortDescription is at most 50 characters (${#short})"
        like "$desc" '[a-z]' "$2: has a description"
        is "$(printf '%s\n' "$desc" | grep -E '^[[:space:]]*(\$ )?kubectl ')" "" \
                "$2: the description carries no usage examples"
}
check_krew_text "$KSTATUS_SOURCE_DIR/krew/kstatus.yaml.in" "the manifest template"
check_krew_text "$KSTATUS_SOURCE_DIR/krew/kstatus.yaml" "the rendered manifest in the repository"

missing=()
for t in aarch64-linux-gnu-gcc qemu-aarch64 readelf; do command -v "$t" >/dev/null || missing+=("$t"); done
for a in curl ssl crypto nghttp2 yaml jansson; do
        [ -f "/usr/lib/aarch64-linux-gnu/lib$a.a" ] || missing+=("lib$a.a:arm64")
done
if [ ${#missing[@]} -gt 0 ]; then
        if [ "${KSTATUS_REQUIRE_RELEASE_TOOLS:-}" = 1 ]; then
                _tap_result 1 "release tools present" "missing: ${missing[*]} (run scripts/release --tools-only)"
                done_testing
        fi
        echo "# SKIP the release itself: release tools missing: ${missing[*]} (scripts/release --tools-only installs them)"
        done_testing
fi

version=$(meson introspect --projectinfo "$KSTATUS_BUILD_DIR" | jq -r .version)

# --- the release itself: scripts/release --worktree, built once per tree and
# shared with image-runc.sh (lib-release.sh); read-only from here on ---
release_shared
rc=$?
dist=$RELEASE_DIR/dist
manifest=$RELEASE_DIR/index/plugins/kstatus.yaml
_tap_result $rc "scripts/release $version builds both archives" "$(cat "$RELEASE_DIR/release.log")"
[ "$rc" = 0 ] || done_testing # nothing below can pass without the archives
for arch in amd64 arm64; do
        ok "kstatus_linux_$arch.tar.gz exists" test -s "$dist/kstatus_linux_$arch.tar.gz"
        ok "kstatus-sidecar_linux_$arch.tar.gz exists" test -s "$dist/kstatus-sidecar_linux_$arch.tar.gz"
done
check_krew_text "$manifest" "the manifest scripts/release rendered"
ok "SHA256SUMS matches the archives" sh -c "cd '$dist' && sha256sum --quiet -c SHA256SUMS"
fails_with 1 "scripts/release refuses a version that is not meson.build's" \
        "$KSTATUS_SOURCE_DIR/scripts/release" --worktree --no-install --build-dir="$TEST_TMP/build-x" 9.9.9
fails_with 1 "scripts/release refuses a non-https base URL" \
        "$KSTATUS_SOURCE_DIR/scripts/release" --worktree --no-install --build-dir="$TEST_TMP/build-x" \
        --base-url=http://example.invalid "$version"

# --- archive contents and dynamic dependencies ---
allowed='^(libc\.so\.6|libm\.so\.6|ld-linux-x86-64\.so\.2|ld-linux-aarch64\.so\.1)$'
for arch in amd64 arm64; do
        x=$TEST_TMP/x-$arch
        mkdir -p "$x"
        tar -xzf "$dist/kstatus_linux_$arch.tar.gz" -C "$x"
        is "$(tar -tzf "$dist/kstatus_linux_$arch.tar.gz" | sort | tr '\n' ' ')" "LICENSE README.md kubectl-kstatus " \
                "linux/$arch archive holds kubectl-kstatus, LICENSE, README.md"
        is "$(tar -tvzf "$dist/kstatus_linux_$arch.tar.gz" | awk '{print $2}' | sort -u)" "0/0" \
                "linux/$arch archive entries are owned by 0/0"
        want_machine=$([ "$arch" = amd64 ] && echo 'Advanced Micro Devices X86-64' || echo AArch64)
        like "$(readelf -h "$x/kubectl-kstatus")" "Machine: +$want_machine" "linux/$arch binary is built for $want_machine"
        needed=$(readelf -d "$x/kubectl-kstatus" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
        bad=$(printf '%s\n' "$needed" | grep -Ev "$allowed" || true)
        is "$bad" "" "linux/$arch kubectl-kstatus needs only glibc (NEEDED: $(paste -sd ' ' <<<"$needed"))"
        like "$(printf '%s\n' "$needed")" '^libc\.so\.6$' "linux/$arch kubectl-kstatus links libc dynamically"
        if [ -f "$dist/kstatus-sidecar_linux_$arch.tar.gz" ]; then
                is "$(tar -tzf "$dist/kstatus-sidecar_linux_$arch.tar.gz" | sort | tr '\n' ' ')" \
                        "LICENSE README.md kstatus-sidecar " "linux/$arch sidecar archive holds kstatus-sidecar, LICENSE, README.md"
                mkdir -p "$x/sidecar"
                tar -xzf "$dist/kstatus-sidecar_linux_$arch.tar.gz" -C "$x/sidecar"
                sneeded=$(readelf -d "$x/sidecar/kstatus-sidecar" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
                is "$(printf '%s\n' "$sneeded" | grep -Ev "$allowed" || true)" "" \
                        "linux/$arch kstatus-sidecar needs only glibc (NEEDED: $(paste -sd ' ' <<<"$sneeded"))"
                like "$(readelf -h "$x/sidecar/kstatus-sidecar")" 'Type: +EXEC' \
                        "linux/$arch kstatus-sidecar is not PIE, as docs/SECURITY.md says"
        fi
done
# inject names the image this release built, pinned by the digest scripts/release
# recorded, the same reference as the release's deploy/ manifests (a dev build: the tag).
pinned=ghcr.io/kstatus/kstatus-sidecar:v$version@$(cat "$dist/kstatus-sidecar.digest")
like "$pinned" ':v[^@]+@sha256:[0-9a-f]{64}$' "the release's image reference: tag and digest ($pinned)"
ok "the release's deploy/ manifests name it so" grep -rqF "$pinned" "$dist/deploy"
injected=$(printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: busybox}]}\n' |
        "$TEST_TMP/x-amd64/kubectl-kstatus" inject -o json | jq -r '.spec.initContainers[] | select(.name == "kstatus-sidecar") | .image')
is "$injected" "$pinned" "the released kubectl-kstatus inject names the image pinned by digest by default"
is "$(printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: busybox}]}\n' |
        "$KSTATUS_BUILD_DIR/kubectl-plugin/kubectl-kstatus" inject -o json |
        jq -r '.spec.initContainers[] | select(.name == "kstatus-sidecar") | .image')" \
        "ghcr.io/kstatus/kstatus-sidecar:v$version" "a development build names the tag alone (no image digest to pin)"
ldd_out=$(ldd "$TEST_TMP/x-amd64/kubectl-kstatus" 2>&1)
is "$(printf '%s\n' "$ldd_out" | grep -E 'libyaml|libjansson|libcurl|libssl|libcrypto|not found' || true)" "" \
        "ldd: libyaml, jansson, libcurl and OpenSSL are linked in, nothing is missing"

# --- the manifest, as krew's index validates it ---
q() { printf '%s' "$json" | jq -r "$@"; }
validate_manifest() { # FILE LABEL
        local m=$1 label=$2
        json=$(KUBECONFIG=/dev/null kubectl patch --local -f "$m" --type merge -p '{}' -o json 2>&1)
        _tap_result $? "$label: YAML kubectl reads" "$json"
        is "$(q .apiVersion)" "krew.googlecontainertools.github.com/v1alpha2" "$label: apiVersion is krew's v1alpha2"
        is "$(q .kind)" "Plugin" "$label: kind is Plugin"
        is "$(q .metadata.name)" "$(basename "$m" .yaml)" "$label: metadata.name matches the file name"
        like "$(q .metadata.name)" '^[A-Za-z0-9_-]+$' "$label: metadata.name is a safe plugin name"
        is "$(q .spec.version)" "v$version" "$label: spec.version is v + meson.build's version"
        like "$(q .spec.version)" '^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$' \
                "$label: spec.version is v-prefixed semver"
        like "$(q .spec.homepage)" '^https://' "$label: homepage is an https URL"
        sd=$(q .spec.shortDescription)
        ok "$label: shortDescription is one line of at most 70 characters" \
                test -n "$sd" -a "$(printf '%s' "$sd" | wc -l)" = 0 -a "${#sd}" -le 70
        for field in description caveats; do
                is "$(q ".spec.$field | split(\"\n\") | map(select(length > 80 and (ltrimstr(\" \") | contains(\" \")))) | length")" \
                        "0" "$label: $field is present and its lines fit 80 columns"
        done
        is "$(q '.spec.platforms | length')" "2" "$label: two platforms"
        is "$(q '[.spec.platforms[] | select((.uri | startswith("https://")) | not)] | length')" "0" "$label: every uri is https"
        is "$(q '[.spec.platforms[] | select((.sha256 // "") | test("^[a-f0-9]{64}$") | not)] | length')" "0" \
                "$label: every sha256 is 64 lowercase hex digits"
        is "$(q '[.spec.platforms[] | select((.bin // "") == "")] | length')" "0" "$label: every platform has bin"
        is "$(q '[.spec.platforms[] | select((.files | length) == 0 or any(.files[]; (.from // "") == "" or (.to // "") == ""))] | length')" \
                "0" "$label: every platform has files with from and to"
        is "$(q '[.spec.platforms[].selector | (.matchLabels // {} | keys[]), (.matchExpressions // [] | .[].key) | select(. != "os" and . != "arch")] | length')" \
                "0" "$label: selectors use only os and arch"
        is "$(q '[.spec.platforms[] | select(.selector.matchExpressions)] | length')" "0" \
                "$label: selectors are matchLabels (so the overlap check below is exact)"
        # krew-index: no supported os/arch may be selected by two platforms, and every platform selects one.
        overlaps=
        for osarch in windows/386 windows/amd64 windows/arm64 linux/386 linux/amd64 linux/arm linux/arm64 darwin/386 \
                darwin/amd64 darwin/arm64; do
                n=$(q --arg os "${osarch%/*}" --arg arch "${osarch#*/}" \
                        '[.spec.platforms[].selector.matchLabels | select((.os // $os) == $os and (.arch // $arch) == $arch)] | length')
                [ "$n" -le 1 ] || overlaps+=" $osarch($n)"
        done
        is "$overlaps" "" "$label: no os/arch is selected by two platforms"
        is "$(q '[.spec.platforms[].selector.matchLabels | "\(.os)/\(.arch)"] | sort | join(" ")')" "linux/amd64 linux/arm64" \
                "$label: the platforms are linux/amd64 and linux/arm64"
}
ok "the manifest is rendered" test -s "$manifest"
validate_manifest "$KSTATUS_SOURCE_DIR/krew/kstatus.yaml" "krew/kstatus.yaml (committed)"
like "$(q '.spec.platforms[].uri')" "^https://github.com/kstatus/kstatus/releases/download/v$version/kstatus_linux_amd64.tar.gz" \
        "krew/kstatus.yaml (committed): uris point at the v$version release"
validate_manifest "$manifest" "rendered manifest"

# --- install each platform as krew does: check sha256, unpack, apply files, link bin ---
krew_install() { # KREW_ROOT OS ARCH
        local root=$1 os=$2 arch=$3 p uri archive sum tmp inst n i from to f
        p=$(q --arg os "$os" --arg arch "$arch" \
                '.spec.platforms[] | select(.selector.matchLabels.os == $os and .selector.matchLabels.arch == $arch)')
        [ -n "$p" ] || { echo "no platform for $os/$arch"; return 1; }
        uri=$(jq -r .uri <<<"$p")
        archive=$dist/$(basename "$uri") # krew install --archive: the file the uri names
        [ -f "$archive" ] || { echo "no archive $archive for $uri"; return 1; }
        sum=$(sha256sum "$archive" | cut -d' ' -f1)
        [ "$sum" = "$(jq -r .sha256 <<<"$p")" ] || { echo "sha256 $sum != manifest $(jq -r .sha256 <<<"$p")"; return 1; }
        tmp=$root/tmp/kstatus
        inst=$root/store/kstatus/$(q .spec.version)
        mkdir -p "$tmp" "$inst" "$root/bin" "$root/receipts"
        tar -xzf "$archive" -C "$tmp"
        n=$(jq '.files | length' <<<"$p")
        for ((i = 0; i < n; i++)); do
                from=$(jq -r ".files[$i].from" <<<"$p")
                to=$(jq -r ".files[$i].to" <<<"$p")
                local matched=0
                for f in "$tmp"/$from; do
                        [ -e "$f" ] || continue
                        matched=1
                        mkdir -p "$inst/$to"
                        mv "$f" "$inst/$to/"
                done
                [ "$matched" = 1 ] || { echo "files[$i].from \"$from\" matches nothing in the archive"; return 1; }
        done
        rm -rf "$tmp"
        bin=$(jq -r .bin <<<"$p")
        if [ ! -f "$inst/$bin" ] || [ ! -x "$inst/$bin" ]; then
                echo "bin \"$bin\" is not an executable after files"
                return 1
        fi
        ln -sf "$inst/$bin" "$root/bin/kubectl-kstatus"
        cp "$manifest" "$root/receipts/kstatus.yaml"
}
for arch in amd64 arm64; do
        out=$(krew_install "$TEST_TMP/krew-$arch" linux "$arch" 2>&1)
        _tap_result $? "krew-style install of linux/$arch (sha256 checked, bin present after files)" "$out"
done
like "$(qemu-aarch64 -L /usr/aarch64-linux-gnu "$TEST_TMP/krew-arm64/bin/kubectl-kstatus" version 2>&1)" \
        "^kubectl-kstatus version v$version \\(commit [0-9a-f]{12}(-dirty)?\\)$" \
        "the installed linux/arm64 plugin runs under qemu-user"

# Use the amd64 install exactly as a user would: kubectl finds it on PATH.
PATH=$TEST_TMP/krew-amd64/bin:$(printf '%s' "$PATH" | tr ':' '\n' | grep -vx "$KSTATUS_BUILD_DIR/kubectl-plugin" | paste -sd:)
export PATH
is "$(command -v kubectl-kstatus)" "$TEST_TMP/krew-amd64/bin/kubectl-kstatus" "kubectl-kstatus on PATH is the krew install"
v=$(kubectl kstatus version 2>&1)
like "$v" "^kubectl-kstatus version v$version \\(commit [0-9a-f]{12}(-dirty)?\\)$" "kubectl kstatus version: $v"
commit=$(printf '%s' "$v" | sed -n 's/.*(commit \([0-9a-f]*\).*/\1/p')
ok "the baked-in commit $commit is a commit of this repository" git -C "$KSTATUS_SOURCE_DIR" cat-file -e "$commit^{commit}"
json_is "$(kubectl kstatus version -o json 2>&1)" \
        "$(jq -n --arg v "v$version" --arg c "${v##*(commit }" '{version: $v, commit: ($c | rtrimstr(")"))}')" \
        "kubectl kstatus version -o json"
seed=$KSTATUS_TEST_DATA/seed
json_is "$(kubectl kstatus lint -o json "$seed/create-user.status.yaml" 2>&1)" \
        '{"iam":{"user":"admin"},"message":"User created, next step is to create vault secret for user"}' \
        "kubectl kstatus lint through the install"
json_is "$(kubectl kstatus merge -o json --workflow=none "$seed/create-user.status.yaml" \
        "$seed/populate-vault.status.yaml" 2>&1)" \
        '{"iam":{"password":"<vault-ref>","user":"admin"},"message":"User created and vault secret created"}' \
        "kubectl kstatus merge through the install: the seed's two pipelines deep-merged"
is "$(kubectl kstatus merge -o json "$seed/create-user.status.yaml" "$seed/populate-vault.status.yaml" 2>&1 |
        jq -r '.conditions[] | select(.type == "ConfigureWorkflowCompleted") | .status')" "True" \
        "kubectl kstatus merge through the install sets ConfigureWorkflowCompleted"

if kubectl kstatus --help 2>&1 | grep -qE '^ +describe'; then
        start_apiserver
        apiserver_install_crds
        kubectl apply -f "$seed/iam.yaml" >/dev/null
        status=$(kubectl kstatus merge -o json "$seed/create-user.status.yaml" "$seed/populate-vault.status.yaml")
        kubectl patch iam example --subresource=status --type=merge -p "{\"status\": $status}" >/dev/null
        d=$(kubectl kstatus describe iam example 2>&1)
        _tap_result $? "kubectl kstatus describe through the install" "$d"
        like "$d" 'example' "describe names the resource"
        like "$d" 'User created and vault secret created' "describe shows the merged message"
        like "$d" 'ConfigureWorkflowCompleted' "describe shows the workflow condition"
else
        echo "ok $((_tap_n + 1)) # SKIP kubectl kstatus describe is not in this build yet"
        _tap_n=$((_tap_n + 1))
fi

done_testing
