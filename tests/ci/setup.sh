#!/usr/bin/env bash
# Installs the real CI interpreters that tests/ci/run.sh drives, idempotently and quietly, into a
# cache outside the clone (${XDG_CACHE_HOME:-$HOME/.cache}/aws-ci-creds-ci), so a warm run only
# checks that they are there:
#   npm:    gitlab-ci-local (pinned; 4.62 is the last line that runs on Node 20)
#   Debian: rsync and git (gitlab-ci-local copies the repository with rsync and reads it with git)
#   Go:     act (nektos/act), `go install`ed from the Go module proxy at a pinned release with this
#           machine's Go (GOTOOLCHAIN=local), its module and build caches in the same cache
# Prints one line per tool; the paths go to the file named by the first argument, if any, as
# GITLAB_CI_LOCAL=... and ACT=... lines.
set -euo pipefail

GITLAB_CI_LOCAL_VERSION=4.62.0
ACT_VERSION=v0.2.89

CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/aws-ci-creds-ci
mkdir -p "$CACHE"
step() { printf 'ci setup: %s\n' "$*"; }
elapsed() { printf '%ds' "$((SECONDS - $1))"; }

# --- Debian packages -----------------------------------------------------------------------------
missing=()
command -v rsync >/dev/null || missing+=(rsync)
command -v git >/dev/null || missing+=(git)
if ((${#missing[@]})); then
    t=$SECONDS
    SUDO=()
    if [ "$(id -u)" != 0 ]; then SUDO=(sudo); fi
    "${SUDO[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
    step "apt-get install ${missing[*]}: $(elapsed "$t")"
fi

# --- gitlab-ci-local ---------------------------------------------------------------------------------
GCL_PREFIX=$CACHE/gitlab-ci-local-$GITLAB_CI_LOCAL_VERSION
GITLAB_CI_LOCAL=$GCL_PREFIX/node_modules/.bin/gitlab-ci-local
# The stamp is written last: an interrupted install is redone, not half-used.
if [ "$(cat "$GCL_PREFIX/.stamp" 2>/dev/null || true)" != "$GITLAB_CI_LOCAL_VERSION $(node --version)" ]; then
    t=$SECONDS
    rm -rf "$GCL_PREFIX"
    mkdir -p "$GCL_PREFIX"
    npm install --prefix "$GCL_PREFIX" --no-audit --no-fund --loglevel=error --save-exact \
        "gitlab-ci-local@$GITLAB_CI_LOCAL_VERSION" >/dev/null
    echo "$GITLAB_CI_LOCAL_VERSION $(node --version)" >"$GCL_PREFIX/.stamp"
    step "npm install gitlab-ci-local@$GITLAB_CI_LOCAL_VERSION: $(elapsed "$t")"
else
    step "gitlab-ci-local $GITLAB_CI_LOCAL_VERSION present"
fi

# --- act -----------------------------------------------------------------------------------------------
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
ACT_DIR=$CACHE/act-$ACT_VERSION
ACT=$ACT_DIR/act
GO_VERSION=$(GOTOOLCHAIN=local "$GO" env GOVERSION)
if [ "$(cat "$ACT_DIR/.stamp" 2>/dev/null || true)" != "$ACT_VERSION $GO_VERSION" ] || [ ! -x "$ACT" ]; then
    t=$SECONDS
    rm -rf "$ACT_DIR"
    mkdir -p "$ACT_DIR"
    # act's go.mod has no replace directive, so `go install module@version` builds it as released.
    # Its `go: downloading` lines are noise unless the build fails.
    if ! GOTOOLCHAIN=local GOFLAGS=-modcacherw GOBIN="$ACT_DIR" \
        GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" \
        "$GO" install -trimpath "github.com/nektos/act@$ACT_VERSION" >"$ACT_DIR.log" 2>&1; then
        cat "$ACT_DIR.log" >&2
        echo "ci setup: go install github.com/nektos/act@$ACT_VERSION failed (log above)" >&2
        exit 1
    fi
    rm -f "$ACT_DIR.log"
    echo "$ACT_VERSION $GO_VERSION" >"$ACT_DIR/.stamp"
    step "go install github.com/nektos/act@$ACT_VERSION ($GO_VERSION): $(elapsed "$t")"
else
    step "act $ACT_VERSION present"
fi

if [ -n "${1:-}" ]; then
    printf 'GITLAB_CI_LOCAL=%s\nACT=%s\n' "$GITLAB_CI_LOCAL" "$ACT" >"$1"
fi
