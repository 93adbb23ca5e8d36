#!/usr/bin/env bash
# Installs what the real-client e2e suite needs, idempotently and quietly:
#   PyPI:   requirements.txt into tests/e2e/.venv (awscli v1, boto3, moto server)
#   npm:    tests/e2e/js/package-lock.json into tests/e2e/js/node_modules (npm ci)
#   Go:     go/go.mod, go/go.sum (aws-sdk-go-v2, aws-sdk-go-base/v2) from the Go
#           module proxy, cached in ${XDG_CACHE_HOME:-~/.cache}/aws-ci-creds-ci/go
#   Maven:  tests/e2e/java/pom.xml (AWS SDK for Java v2) into ${XDG_CACHE_HOME:-~/.cache}/aws-ci-creds-ci/m2,
#           compiled with its runtime jars into tests/e2e/build/java
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
# --- Java client (AWS SDK for Java v2, Maven) -------------------------------------
# pom.xml pins the SDK through its BOM and pins every plugin, so only the first
# build downloads. Maven's local repository lives outside the clone (computed
# here, before run.sh points XDG_CACHE_HOME into its scratch dir) and is kept
# between runs. The build copies the runtime jars next to the classes, so the
# suite runs `java -cp` without Maven or that repository.
if ! command -v mvn >/dev/null || ! command -v javac >/dev/null; then
    t=$SECONDS
    SUDO=()
    if [ "$(id -u)" != 0 ]; then SUDO=(sudo); fi
    step "apt-get install maven openjdk-17-jdk-headless"
    "${SUDO[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends \
        maven openjdk-17-jdk-headless >/dev/null
    step "apt done in $(elapsed "$t")"
fi
JAVA_SRC=$E2E_DIR/java
JAVA_OUT=$WORK_DIR/java
M2_REPO=${XDG_CACHE_HOME:-$HOME/.cache}/aws-ci-creds-ci/m2
want=$( (cd "$JAVA_SRC" && find pom.xml src -type f -print0 | sort -z | xargs -0 sha256sum && java -version 2>&1) |
    sha256sum | cut -d' ' -f1)
if [ "$(cat "$JAVA_OUT/.e2e-stamp" 2>/dev/null || true)" != "$want" ]; then
    t=$SECONDS
    step "mvn compile in tests/e2e/java (local repository $M2_REPO)"
    rm -rf "$JAVA_OUT"
    mkdir -p "$JAVA_OUT" "$M2_REPO"
    mvn_log=$WORK_DIR/java-mvn.log
    mvn_args=(-B -q -f "$JAVA_SRC/pom.xml" -Dmaven.repo.local="$M2_REPO" -De2e.out="$JAVA_OUT" compile)
    # Offline first: a warm repository needs no network; online only when
    # something is missing (first run, or the pom changed).
    if ! mvn -o "${mvn_args[@]}" >"$mvn_log" 2>&1 && ! mvn "${mvn_args[@]}" >"$mvn_log" 2>&1; then
        cat "$mvn_log" >&2
        exit 1
    fi
    # The suite starts this JVM about 20 times. A class data sharing archive of
    # the classes one run loads halves each start; it maps jars only, and
    # records the class path, which run.sh reads back from $JAVA_OUT/classpath.
    (cd "$JAVA_OUT/target/classes" && jar cf "$JAVA_OUT/whoami.jar" .)
    { printf '%s' "$JAVA_OUT/whoami.jar"; printf ':%s' "$JAVA_OUT"/lib/*.jar; } >"$JAVA_OUT/classpath"
    # The training run: a profile whose credential_process prints fixed dummy
    # keys, and an STS endpoint on a closed loopback port, so it loads the
    # profile, process, signing and HTTP classes and then fails, offline.
    # Flags as in run.sh's JAVA_CMD (an archive is only used with matching ones);
    # VerifySharedSpaces makes a damaged archive a warning instead of a crash.
    jvm=(java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:+VerifySharedSpaces -Daws.disableEc2Metadata=true
        -cp "$(cat "$JAVA_OUT/classpath")")
    cds=$JAVA_OUT/cds-training
    mkdir -p "$cds"
    cat >"$cds/config" <<'CONFIG'
[profile cds]
region = us-east-1
credential_process = printf '{"Version": 1, "AccessKeyId": "cds-training", "SecretAccessKey": "cds-training"}'
CONFIG
    AWS_CONFIG_FILE=$cds/config AWS_SHARED_CREDENTIALS_FILE=$cds/none AWS_EC2_METADATA_DISABLED=true \
        AWS_ENDPOINT_URL_STS=http://127.0.0.1:1 AWS_MAX_ATTEMPTS=1 \
        "${jvm[@]}" -XX:ArchiveClassesAtExit="$cds/whoami.jsa" e2e.WhoAmI profile cds >"$cds/log" 2>&1 || true
    # Keep it only if a JVM starts with it (a truncated archive aborts the JVM):
    # the usage error is exit 2.
    rc=0
    "${jvm[@]}" -Xshare:on -XX:SharedArchiveFile="$cds/whoami.jsa" e2e.WhoAmI >>"$cds/log" 2>&1 || rc=$?
    if [ "$rc" = 2 ]; then
        mv "$cds/whoami.jsa" "$JAVA_OUT/whoami.jsa"
    else
        step "java: no class data archive, JVM starts stay slower (exit $rc; see $cds/log)"
    fi
    echo "$want" >"$JAVA_OUT/.e2e-stamp"
    step "java client built in $(elapsed "$t")"
else
    step "java client up to date"
fi

