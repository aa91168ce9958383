# shellcheck shell=bash
# lib-release.sh - one `scripts/release --worktree` shared by the tests that
# need a release (release-krew.sh, image-runc.sh). A release build is the
# longest step of the suite; the same tree gives the same archives and image
# (image-runc.sh proves it against a second, independent build), so building
# it once per tree is enough.
#
#   release_shared   sets RELEASE_DIR to the shared release's directory, building
#                    it first unless it is there for this tree; returns
#                    scripts/release's exit code. RELEASE_DIR/dist is its --out,
#                    RELEASE_DIR/index/plugins/kstatus.yaml its --manifest (base
#                    URL $RELEASE_SHARED_BASE_URL), RELEASE_DIR/release.log what
#                    it printed.
#
# The release lives in $KSTATUS_BUILD_DIR/release-shared/KEY, KEY a hash of
# every file git sees in the source tree (tracked and untracked, not ignored)
# with its content, of HEAD (the commit the binaries name) and of dpkg's
# status (the static archives linked): a change to any of them builds anew.
# A lock makes a test that asks while another builds wait for that build.
# Outside a git checkout nothing is shared: each call builds its own.
# Needs lib.sh (TEST_TMP) and the release tools (the tests check for them).

RELEASE_SHARED_BASE_URL=https://example.invalid/kstatus/releases/download

_release_key() {
        local src=$KSTATUS_SOURCE_DIR
        git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1 || return 1
        {
                git -C "$src" rev-parse HEAD
                (cd "$src" && git ls-files -z -c -o --exclude-standard | LC_ALL=C sort -z |
                        xargs -0 sha256sum -- 2>&1)
                sha256sum /var/lib/dpkg/status
        } | sha256sum | cut -c1-16
}

release_shared() {
        local key base=$KSTATUS_BUILD_DIR/release-shared version lock rc
        version=$(meson introspect --projectinfo "$KSTATUS_BUILD_DIR" | jq -r .version)
        if ! key=$(_release_key); then
                RELEASE_DIR=$TEST_TMP/release-own
                _release_build "$RELEASE_DIR" "$version"
                return
        fi
        RELEASE_DIR=$base/$key
        mkdir -p "$base"
        exec {lock}>"$base.lock"
        flock "$lock"
        if [ ! -f "$RELEASE_DIR/rc" ]; then
                # Another tree's release, or one cut short: only this tree's is kept.
                rm -rf "${base:?}"/*
                _release_build "$RELEASE_DIR" "$version"
                echo "$?" >"$RELEASE_DIR/rc"
        else
                echo "# the release of this tree was built already (by another test): $RELEASE_DIR"
        fi
        rc=$(cat "$RELEASE_DIR/rc")
        exec {lock}>&-
        return "$rc"
}

_release_build() { # DIR VERSION
        local dir=$1 t0=$SECONDS rc=0
        mkdir -p "$dir"
        "$KSTATUS_SOURCE_DIR/scripts/release" --worktree --no-install --build-dir="$dir/build" --out="$dir/dist" \
                --manifest="$dir/index/plugins/kstatus.yaml" --base-url="$RELEASE_SHARED_BASE_URL/v$2" "$2" \
                >"$dir/release.log" 2>&1 || rc=$?
        echo "# scripts/release built the release in $((SECONDS - t0)) s (exit $rc): $dir"
        return "$rc"
}
