#!/usr/bin/env bash
# Installs what the real-client e2e suite needs, idempotently and quietly:
#   PyPI:   requirements.txt into tests/e2e/.venv (awscli v1, boto3, moto server)
#   npm:    tests/e2e/js/package-lock.json into tests/e2e/js/node_modules (npm ci)
#   Go:     go/go.mod, go/go.sum (aws-sdk-go-v2, aws-sdk-go-base/v2) from the Go
#           module proxy, cached in ${XDG_CACHE_HOME:-~/.cache}/aws-ci-creds-ci/go
# and builds the Go clients into tests/e2e/build/bin. Each step is skipped when
# its inputs are unchanged since the last run, so a warm run takes seconds.
set -euo pipefail

E2E_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
WORK_DIR=$E2E_DIR/build
mkdir -p "$WORK_DIR/bin"

step() { printf 'e2e setup: %s\n' "$*"; }
elapsed() { printf '%ds' "$((SECONDS - $1))"; }
stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# --- Python venv -------------------------------------------------------------
VENV=$E2E_DIR/.venv
want=$(printf '%s\n%s\n' "$(stamp_of "$E2E_DIR/requirements.txt")" "$(python3 -VV)" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$VENV/.e2e-stamp" 2>/dev/null || true)" != "$want" ]; then
    t=$SECONDS
    step "pip install -r requirements.txt into tests/e2e/.venv"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check --no-input -r "$E2E_DIR/requirements.txt"
    echo "$want" >"$VENV/.e2e-stamp"
    step "pip done in $(elapsed "$t")"
else
    step "python venv up to date"
fi

# --- npm -----------------------------------------------------------------------
JS_DIR=$E2E_DIR/js
want=$(printf '%s\n%s\n' "$(stamp_of "$JS_DIR/package-lock.json")" "$(node --version)" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$JS_DIR/node_modules/.e2e-stamp" 2>/dev/null || true)" != "$want" ]; then
    t=$SECONDS
    step "npm ci in tests/e2e/js"
    (cd "$JS_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$want" >"$JS_DIR/node_modules/.e2e-stamp"
    step "npm done in $(elapsed "$t")"
else
    step "node_modules up to date"
fi

# --- Go clients ----------------------------------------------------------------
# Module mode against go/go.mod and go/go.sum: -mod=readonly refuses to change
# them and every download is checked against go.sum. Downloads and compiled
# packages are cached outside the clone, so a new clone on the same machine
# builds without the network. XDG_CACHE_HOME is read here, before run.sh
# points it into its scratch directory for the clients.
GO_DIR=$E2E_DIR/go
GO_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/aws-ci-creds-ci/go
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
    PATH=/usr/local/go/bin:$PATH
fi
if ! command -v go >/dev/null; then
    echo "e2e setup: no 'go' on PATH; install Go $(sed -n 's/^go //p' "$GO_DIR/go.mod") or newer" >&2
    exit 1
fi
GO_ENV=(GOTOOLCHAIN=local GO111MODULE=on GOFLAGS="-mod=readonly -buildvcs=false"
    GOMODCACHE="$GO_CACHE/mod" GOCACHE="$GO_CACHE/build")
want=$(printf '%s\n%s\n' "$(cd "$GO_DIR" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print0 |
    LC_ALL=C sort -z | xargs -0 sha256sum)" "$(env "${GO_ENV[@]}" go version)" | sha256sum | cut -d' ' -f1)
GO_BINS=(whoami-go whoami-gobase)
fresh=1
for b in "${GO_BINS[@]}"; do
    [ -x "$WORK_DIR/bin/$b" ] || fresh=0
done
if [ "$fresh" = 1 ] && [ "$(cat "$WORK_DIR/bin/.go-stamp" 2>/dev/null || true)" = "$want" ]; then
    step "go clients up to date"
else
    rm -f "$WORK_DIR/bin/.go-stamp"
    t=$SECONDS
    # `go list -deps` fetches exactly the modules the build needs; its
    # "go: downloading" lines are shown only if it fails.
    if ! (cd "$GO_DIR" && env "${GO_ENV[@]}" go list -deps ./cmd/... >/dev/null 2>"$WORK_DIR/go-download.log"); then
        cat "$WORK_DIR/go-download.log" >&2
        exit 1
    fi
    step "go modules ready in $(elapsed "$t")"
    t=$SECONDS
    (cd "$GO_DIR" && env "${GO_ENV[@]}" go build -trimpath -o "$WORK_DIR/bin/" ./cmd/...)
    echo "$want" >"$WORK_DIR/bin/.go-stamp"
    step "go clients built in $(elapsed "$t")"
fi
