#!/usr/bin/env bash
# The macOS compile-check, on Linux: `cargo zigbuild clippy` for both Apple targets with
# warnings as errors, so a Unix-ism that breaks macOS fails CI. zig supplies the Darwin libc
# headers aws-lc's C parts need; nothing is linked (the SDK's frameworks cannot be had here), so
# this proves the code compiles and lints for macOS, not that it runs there.
#
# Uses the ziglang and cargo-zigbuild venv that scripts/dist.sh keeps under the target directory
# (same pins, read from dist.sh), creating it when missing.
#
# Prints `ok - NAME` / `not ok - NAME`, then `macos: N passed, M failed`.
#
# Environment:
#   MACOS_TARGETS   default "aarch64-apple-darwin x86_64-apple-darwin"
set -euo pipefail

REPO_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO_DIR"
TARGETS=${MACOS_TARGETS:-aarch64-apple-darwin x86_64-apple-darwin}
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
TOOLS=$TARGET_DIR/dist-tools
pin() { sed -n "s/^$1=//p" scripts/dist.sh; }
want="ziglang==$(pin ZIGLANG_VERSION) cargo-zigbuild==$(pin CARGO_ZIGBUILD_VERSION)"
if [ "$(cat "$TOOLS/venv/.installed" 2>/dev/null)" != "$want" ]; then
    python3 -c 'import ensurepip' 2>/dev/null || {
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    }
    rm -rf "$TOOLS/venv"
    python3 -m venv "$TOOLS/venv"
    # shellcheck disable=SC2086 # two requirement words
    "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check $want
    printf '%s\n' "$want" >"$TOOLS/venv/.installed"
fi
export PATH=$TOOLS/venv/bin:$PATH
export ZIG_GLOBAL_CACHE_DIR=$TOOLS/zig-cache

PASSED=0
FAILED=0
for target in $TARGETS; do
    rustup target list --installed | grep -qx "$target" || rustup target add "$target" >/dev/null 2>&1
    log=$(mktemp)
    if cargo-zigbuild clippy --locked --target "$target" --all-targets -- -D warnings >"$log" 2>&1; then
        PASSED=$((PASSED + 1))
        echo "ok - clippy --target $target --all-targets"
    else
        FAILED=$((FAILED + 1))
        echo "not ok - clippy --target $target --all-targets"
        { grep -E '^(error|warning)' -A6 "$log" || true; } >"$log.short"
        head -n 60 "$log.short" | sed 's/^/    # /'
        rm -f "$log.short"
    fi
    rm -f "$log"
done
printf '\nmacos: %d passed, %d failed\n' "$PASSED" "$FAILED"
[ "$FAILED" = 0 ]
