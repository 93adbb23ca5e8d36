#!/usr/bin/env bash
# Builds the release binaries and assembles the release artefacts in dist/:
#
#   dist/aws-ci-creds-<version>-<target>/
#       aws-ci-creds                      the stripped release binary
#       completions/aws-ci-creds.bash     bash  (-> /usr/share/bash-completion/completions/aws-ci-creds)
#       completions/_aws-ci-creds         zsh   (-> a directory in $fpath)
#       completions/aws-ci-creds.fish     fish  (-> ~/.config/fish/completions/)
#       completions/_aws-ci-creds.ps1     PowerShell (dot-source it from $PROFILE)
#       man/man1/*.1                      man pages (-> /usr/local/share/man/man1/)
#       README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE
#       SHA256SUMS                        of every file above
#   dist/aws-ci-creds-<version>-<target>.tar.gz
#   dist/aws-ci-creds-<version>-<target>.tar.gz.sha256    (`sha256sum` format, read by install.sh)
#   dist/SHA256SUMS                                       of every tarball in dist/
#
# Usage: scripts/dist.sh [--target TRIPLE]...
#   no --target: the release set, x86_64-unknown-linux-musl and aarch64-unknown-linux-musl
#   *-linux-musl targets are fully static (cargo-zigbuild, zig as the C compiler and linker);
#   any other triple (e.g. the host's x86_64-unknown-linux-gnu) is a plain `cargo build`.
# On a fresh Debian machine it installs what it needs (rustup targets; python3-venv, file and
# qemu-user-static from apt; ziglang and cargo-zigbuild in a venv under the target directory)
# and skips each step when it is already there. How and why: docs/building.md.
# The tarball is reproducible for a given commit and binary: sorted entries, owner 0,
# timestamps set to the commit's time.
set -euo pipefail

cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."
REPO=$PWD

# The release toolchain, pinned: a zig upgrade changes the C parts (aws-lc) of every binary.
ZIGLANG_VERSION=0.17.1
CARGO_ZIGBUILD_VERSION=0.24.1
RELEASE_TARGETS=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl)

TARGETS=()
while (($#)); do
    case $1 in
    --target) TARGETS+=("${2:?--target needs a triple}"); shift 2 ;;
    --target=*) TARGETS+=("${1#--target=}"); shift ;;
    -h | --help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "dist.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
((${#TARGETS[@]})) || TARGETS=("${RELEASE_TARGETS[@]}")
HOST=$(rustc -vV | sed -n 's/^host: //p')

say() { printf 'dist.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    say "warning: the work tree has uncommitted changes; --version names only the commit"
fi

# The tarball carries README.md and users fetch install.sh from the tag: both must name this
# release. A placeholder repository is only a warning here (test builds); a release is stamped.
scripts/stamp-version.sh --check >/dev/null || die "stamp the release first (see above)"
if grep -q '^DEFAULT_BASE_URL=https://github.com/OWNER/' scripts/install.sh; then
    say "warning: the repository is still the OWNER placeholder: run scripts/stamp-version.sh --repo ORG/NAME before a release"
fi

TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')
VERSION=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys;print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="aws-ci-creds"))')
TOOLS=$TARGET_DIR/dist-tools

# --- tools (each step is skipped when already done) -------------------------------
APT_UPDATED=
apt_install() { # apt_install PACKAGE [COMMAND]: install PACKAGE unless COMMAND works
    if [ -n "${2:-}" ] && command -v "$2" >/dev/null 2>&1; then return; fi
    set -- "${2:-$1}" "$1"
    command -v apt-get >/dev/null || die "$1 is missing; install the package $2"
    [ "$(id -u)" = 0 ] || die "$1 is missing; run: sudo apt-get install $2"
    if [ -z "$APT_UPDATED" ]; then apt-get update -qq >/dev/null; APT_UPDATED=1; fi
    say "apt-get install $2"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}

need_rust_target() {
    if ! rustup target list --installed | grep -qx "$1"; then
        say "rustup target add $1"
        rustup target add "$1"
    fi
}

need_zig() {
    local venv=$TOOLS/venv want
    want="ziglang==$ZIGLANG_VERSION cargo-zigbuild==$CARGO_ZIGBUILD_VERSION"
    if [ "$(cat "$venv/.installed" 2>/dev/null)" != "$want" ]; then
        if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
            apt_install python3-venv
        fi
        say "pip install $want (in ${venv#"$REPO"/})"
        rm -rf "$venv"
        python3 -m venv "$venv"
        # shellcheck disable=SC2086 # two requirement words
        "$venv/bin/pip" install --quiet --disable-pip-version-check $want
        printf '%s\n' "$want" >"$venv/.installed"
    fi
    export PATH=$venv/bin:$PATH
    # zig keeps ~90 MB of compiled C runtimes; next to the build, not in the user's ~/.cache.
    export ZIG_GLOBAL_CACHE_DIR=$TOOLS/zig-cache
}

# Runs a binary built for TARGET on this machine: natively, or under qemu user emulation.
runner() {
    local arch=${1%%-*}
    if [ "$arch" = "$(uname -m)" ]; then return; fi
    apt_install qemu-user-static "qemu-$arch-static"
    printf '%s\n' "qemu-$arch-static"
}

# --- build and assemble one target ------------------------------------------------
dist_one() {
    local target=$1 bin out name run
    need_rust_target "$target"
    local build=(cargo build --release --locked --bin aws-ci-creds --target "$target")
    case $target in
    *-linux-musl) need_zig; build[1]=zigbuild ;;
    "$HOST") build=(cargo build --release --locked --bin aws-ci-creds) ;;
    esac
    say "${build[*]}"
    local started=$SECONDS
    "${build[@]}"
    say "built $target in $((SECONDS - started))s"
    if [ "$target" = "$HOST" ] && [[ $target != *-musl ]]; then
        bin=$TARGET_DIR/release/aws-ci-creds
    else
        bin=$TARGET_DIR/$target/release/aws-ci-creds
    fi

    apt_install file file
    local kind
    kind=$(file -b "$bin")
    case $target in
    *-linux-musl)
        [[ $kind == *"statically linked"* || $kind == *"static-pie linked"* ]] ||
            die "$target: the binary is not static: $kind"
        ;;
    esac

    name=aws-ci-creds-$VERSION-$target
    out=$REPO/dist/$name
    rm -rf "$out" "$out.tar.gz" "$out.tar.gz.sha256"
    mkdir -p "$out/completions" "$out/man/man1"
    install -m 0755 "$bin" "$out/aws-ci-creds"

    # The binary prints its own completions (natively or under qemu); that also proves it starts.
    run=$(runner "$target")
    local gen=($run "$out/aws-ci-creds")
    "${gen[@]}" --version >/dev/null || die "$target: the built binary does not start: ${gen[*]}"
    "${gen[@]}" completions bash >"$out/completions/aws-ci-creds.bash"
    "${gen[@]}" completions zsh >"$out/completions/_aws-ci-creds"
    "${gen[@]}" completions fish >"$out/completions/aws-ci-creds.fish"
    "${gen[@]}" completions powershell >"$out/completions/_aws-ci-creds.ps1"

    # The checked-in pages are regenerated and compared by `cargo test` (tests/it/manual.rs).
    cp docs/man/*.1 "$out/man/man1/"
    cp README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE "$out/"
    chmod 0644 "$out"/completions/* "$out"/man/man1/* "$out"/*.md "$out"/LICENSE-*

    local sums
    sums=$(cd "$out" && find . -type f -printf '%P\n' | LC_ALL=C sort | xargs sha256sum)
    printf '%s\n' "$sums" >"$out/SHA256SUMS"

    local mtime
    mtime=$(git log -1 --format=%ct 2>/dev/null || date +%s)
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" \
        -C "$REPO/dist" -cf - "$name" | gzip -n -9 >"$out.tar.gz"
    (cd "$REPO/dist" && sha256sum "$name.tar.gz" >"$name.tar.gz.sha256")

    say "$("${gen[@]}" --version)"
    say "$kind"
    say "binary $(stat -c %s "$out/aws-ci-creds") bytes, $(find "$out" -type f | wc -l) files"
    say "wrote dist/$name/ and dist/$name.tar.gz"
    cat "$REPO/dist/$name.tar.gz.sha256"
}

mkdir -p "$REPO/dist"
for target in "${TARGETS[@]}"; do dist_one "$target"; done

# The release's checksum list covers every tarball in dist/, whichever run built it.
(cd "$REPO/dist" && find . -maxdepth 1 -name 'aws-ci-creds-*.tar.gz' -printf '%P\n' | LC_ALL=C sort |
    xargs -r sha256sum >SHA256SUMS)
say "wrote dist/SHA256SUMS ($(wc -l <"$REPO/dist/SHA256SUMS") tarballs)"
