#!/usr/bin/env bash
# Builds the release binary and assembles the release artefacts in dist/:
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
#   dist/aws-ci-creds-<version>-<target>.tar.gz.sha256
#
# Usage: scripts/dist.sh [--target TRIPLE]   (default: the host, e.g. x86_64-unknown-linux-gnu)
# The tarball is reproducible for a given commit and binary: sorted entries, owner 0,
# timestamps set to the commit's time.
set -euo pipefail

cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."
REPO=$PWD

TARGET=
while (($#)); do
    case $1 in
    --target) TARGET=${2:?--target needs a triple}; shift 2 ;;
    --target=*) TARGET=${1#--target=}; shift ;;
    -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "dist.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
HOST=$(rustc -vV | sed -n 's/^host: //p')
TARGET=${TARGET:-$HOST}

if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    echo "dist.sh: warning: the work tree has uncommitted changes; --version names only the commit" >&2
fi

# --- build ----------------------------------------------------------------------
BUILD=(cargo build --release --locked --bin aws-ci-creds)
if [ "$TARGET" != "$HOST" ]; then BUILD+=(--target "$TARGET"); fi
echo "dist.sh: ${BUILD[*]}"
"${BUILD[@]}"

TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')
if [ "$TARGET" != "$HOST" ]; then
    BIN=$TARGET_DIR/$TARGET/release/aws-ci-creds
else
    BIN=$TARGET_DIR/release/aws-ci-creds
fi

VERSION=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys;print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="aws-ci-creds"))')
NAME=aws-ci-creds-$VERSION-$TARGET
OUT=$REPO/dist/$NAME

# --- assemble -------------------------------------------------------------------
rm -rf "$OUT" "$OUT.tar.gz" "$OUT.tar.gz.sha256"
mkdir -p "$OUT/completions" "$OUT/man/man1"
install -m 0755 "$BIN" "$OUT/aws-ci-creds"

# The binary must run here to print its completions; when cross-building for a target this
# machine cannot run, fall back to the host build of the same sources.
GEN=$OUT/aws-ci-creds
if ! "$GEN" --version >/dev/null 2>&1; then
    cargo build --release --locked --bin aws-ci-creds
    GEN=$TARGET_DIR/release/aws-ci-creds
fi
"$GEN" completions bash >"$OUT/completions/aws-ci-creds.bash"
"$GEN" completions zsh >"$OUT/completions/_aws-ci-creds"
"$GEN" completions fish >"$OUT/completions/aws-ci-creds.fish"
"$GEN" completions powershell >"$OUT/completions/_aws-ci-creds.ps1"

# The checked-in pages are regenerated and compared by `cargo test` (tests/it/manual.rs).
cp docs/man/*.1 "$OUT/man/man1/"
cp README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE "$OUT/"
chmod 0644 "$OUT"/completions/* "$OUT"/man/man1/* "$OUT"/*.md "$OUT"/LICENSE-*

SUMS=$(cd "$OUT" && find . -type f -printf '%P\n' | LC_ALL=C sort | xargs sha256sum)
printf '%s\n' "$SUMS" >"$OUT/SHA256SUMS"

# --- archive --------------------------------------------------------------------
MTIME=$(git log -1 --format=%ct 2>/dev/null || date +%s)
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$MTIME" \
    -C "$REPO/dist" -cf - "$NAME" | gzip -n -9 >"$OUT.tar.gz"
(cd "$REPO/dist" && sha256sum "$NAME.tar.gz" >"$NAME.tar.gz.sha256")

# --- report ---------------------------------------------------------------------
echo "dist.sh: $("$OUT/aws-ci-creds" --version 2>/dev/null || echo "aws-ci-creds $VERSION ($TARGET)")"
echo "dist.sh: binary $(stat -c %s "$OUT/aws-ci-creds") bytes, $(find "$OUT" -type f | wc -l) files"
echo "dist.sh: wrote dist/$NAME/ and dist/$NAME.tar.gz"
cat "$REPO/dist/$NAME.tar.gz.sha256"
