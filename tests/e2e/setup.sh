#!/usr/bin/env bash
# Installs what the real-client e2e suite needs, idempotently and quietly:
#   Debian: golang-go, golang-github-aws-aws-sdk-go-v2-dev (Go client, GOPATH mode)
#   PyPI:   requirements.txt into tests/e2e/.venv (awscli v1, boto3, moto server)
#   npm:    tests/e2e/js/package-lock.json into tests/e2e/js/node_modules (npm ci)
# and builds the Go client into tests/e2e/build/bin. Each step is skipped when
# its inputs are unchanged since the last run, so a warm run takes seconds.
set -euo pipefail

E2E_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
WORK_DIR=$E2E_DIR/build
mkdir -p "$WORK_DIR/bin"

step() { printf 'e2e setup: %s\n' "$*"; }
elapsed() { printf '%ds' "$((SECONDS - $1))"; }
stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# --- Debian packages -------------------------------------------------------
APT_PKGS=(golang-go golang-github-aws-aws-sdk-go-v2-dev)
missing=()
for pkg in "${APT_PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done
if ((${#missing[@]})); then
    t=$SECONDS
    SUDO=()
    if [ "$(id -u)" != 0 ]; then SUDO=(sudo); fi
    step "apt-get install ${missing[*]}"
    "${SUDO[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
    step "apt done in $(elapsed "$t")"
else
    step "apt packages present"
fi

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

# --- Go client -----------------------------------------------------------------
# GOPATH mode against Debian's SDK sources: nothing is downloaded. The build
# cache makes an unchanged rebuild take well under a second.
t=$SECONDS
(
    cd "$E2E_DIR/go"
    GO111MODULE=off GOPATH="/usr/share/gocode:$WORK_DIR/gopath" GOCACHE="$WORK_DIR/go-cache" \
        GOFLAGS= GOTOOLCHAIN=local go build -o "$WORK_DIR/bin/whoami-go" .
)
step "go client built in $(elapsed "$t")"
