#!/usr/bin/env bash
# Builds the real OpenTofu CLI, pinned by build/go.mod and build/go.sum, from the Go module proxy,
# once per version, into a cache outside the clone, and prints the binary's path on stdout.
#   cache: ${AWS_CI_CREDS_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aws-ci-creds-ci}/opentofu-<version>/tofu
# OpenTofu's go.mod has a replace line, which `go install pkg@version` refuses; build/ is a wrapper
# module that repeats it and names cmd/tofu as its tool, so `go build -mod=readonly` builds exactly
# the pinned graph. A cold build takes minutes on 2 cores; a warm call only compares a stamp.
set -euo pipefail

BUILD_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/build" && pwd)
VERSION=$(awk '$1 == "github.com/opentofu/opentofu" { print $2 }' "$BUILD_DIR/go.mod")
if [ -z "$VERSION" ]; then
    echo "tofu build: no github.com/opentofu/opentofu requirement in $BUILD_DIR/go.mod; fix: run 'go get -tool github.com/opentofu/opentofu/cmd/tofu@<version>' there" >&2
    exit 1
fi
CACHE=${AWS_CI_CREDS_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aws-ci-creds-ci}
OUT=$CACHE/opentofu-$VERSION
# The directory is keyed by version; the stamp also catches an edited replace line or go.sum.
want=$(cat "$BUILD_DIR/go.mod" "$BUILD_DIR/go.sum" | sha256sum | cut -d' ' -f1)
if [ -x "$OUT/tofu" ] && [ "$(cat "$OUT/.stamp" 2>/dev/null || true)" = "$want" ]; then
    echo "$OUT/tofu"
    exit 0
fi

t=$SECONDS
printf 'tofu build: building OpenTofu %s from the Go module proxy (cold: minutes)\n' "$VERSION" >&2
mkdir -p "$OUT"
tmp=$(mktemp "$OUT/tofu.XXXXXX")
trap 'rm -f "$tmp"; rm -rf "${scratch:-}"' EXIT
# As OpenTofu's release builds: no cgo, and version.dev=no so `tofu version` says v$VERSION, not -dev.
# go lists every module it downloads: kept in build.log, shown only when the build fails.
if ! (
    cd "$BUILD_DIR"
    GOTOOLCHAIN=local CGO_ENABLED=0 go build -mod=readonly -buildvcs=false -trimpath \
        -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" \
        -o "$tmp" github.com/opentofu/opentofu/cmd/tofu
) >"$OUT/build.log" 2>&1; then
    tail -n 40 "$OUT/build.log" >&2
    echo "tofu build: go build of OpenTofu $VERSION failed (full log: $OUT/build.log)" >&2
    exit 1
fi
# Asked in a scratch HOME with no CLI config: a TF_CLI_CONFIG_FILE naming a missing file makes
# tofu print a warning first, and tofu creates ~/.terraform.d.
scratch=$(mktemp -d)
got=$(cd "$scratch" && HOME=$scratch TF_CLI_CONFIG_FILE=/dev/null CHECKPOINT_DISABLE=1 "$tmp" version)
rm -rf "$scratch"
got=${got%%$'\n'*}
if [ "$got" != "OpenTofu $VERSION" ]; then
    echo "tofu build: the built binary says '$got', expected 'OpenTofu $VERSION'" >&2
    exit 1
fi
mv -f "$tmp" "$OUT/tofu"
trap - EXIT
echo "$want" >"$OUT/.stamp"
printf 'tofu build: OpenTofu %s built in %ds\n' "$VERSION" "$((SECONDS - t))" >&2
echo "$OUT/tofu"
