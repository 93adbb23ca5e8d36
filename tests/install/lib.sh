# shellcheck shell=bash disable=SC2034  # sets variables for the scripts that source it
# Shared by tests/install/run.sh and tests/ci/run.sh (sourced, not run): the release layout served
# on loopback, the strict STS emulator, a job's hermetic environment, and the ok/not ok counters.
#
# Before sourcing, set:
#   SUITE   the name in messages and in the closing `SUITE: N passed, M failed` line
#   KEEP    1 keeps the temp dir (its path is printed)
# Sourcing sets REPO, TARGET_DIR, VERSION, TARGET, NAME, EMULATOR, WORK (a fresh temp dir, removed
# on exit with every background process in BG_PIDS), PY and AWS (the e2e venv's Python and AWS
# CLI; tests/e2e/setup.sh installs them).
# Environment: STS_EMULATOR_BIN (default <target dir>/debug/examples/sts_emulator, built if
# missing), INSTALL_TEST_BIN (see serve_release).

LIB_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd -- "$LIB_DIR/../.." && pwd)
PY=$REPO/tests/e2e/.venv/bin/python
AWS=$REPO/tests/e2e/.venv/bin/aws

IFS=$'\t' read -r TARGET_DIR VERSION < <(cd "$REPO" && cargo metadata --format-version 1 --no-deps |
    python3 -c '
import json, sys
m = json.load(sys.stdin)
v = next(p["version"] for p in m["packages"] if p["name"] == "aws-ci-creds")
print(m["target_directory"], v, sep="\t")')
case $(uname -m) in
x86_64) TARGET=x86_64-unknown-linux-musl ;;
aarch64) TARGET=aarch64-unknown-linux-musl ;;
*) echo "$SUITE tests: no release target for $(uname -m)" >&2; exit 2 ;;
esac
NAME=aws-ci-creds-$VERSION-$TARGET

EMULATOR=${STS_EMULATOR_BIN:-$TARGET_DIR/debug/examples/sts_emulator}
if [ ! -x "$EMULATOR" ]; then
    (cd "$REPO" && cargo build --example sts_emulator)
fi

# --- scratch space and background processes -----------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/aws-ci-creds-$SUITE.XXXXXX")
BG_PIDS=()
cleanup() {
    local pid
    for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${BG_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ "${KEEP:-0}" = 1 ]; then echo "$SUITE tests: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Readable by the unprivileged user of the install suite's default-directory check.
chmod 0755 "$WORK"

PASSED=0
FAILED=0
ok() {
    PASSED=$((PASSED + 1))
    echo "ok - $1"
}
not_ok() {
    FAILED=$((FAILED + 1))
    echo "not ok - $1"
    if [ -n "${2:-}" ]; then printf '    # %s\n' "$2"; fi
}
show() { if [ -s "$1" ]; then sed 's/^/    | /' "$1"; fi; }
section() { printf '\n# %s\n' "$*"; }
# The closing line; the suite's exit status.
finish() {
    printf '\n%s: %d passed, %d failed\n' "$SUITE" "$PASSED" "$FAILED"
    [ "$FAILED" = 0 ]
}

# --- the release layout ------------------------------------------------------------------------------
# pack BIN OUT_DIR : a tarball in dist.sh's layout (top directory $NAME, the binary inside it)
pack() {
    local bin=$1 out=$2 stage
    stage=$(mktemp -d "$WORK/pack.XXXXXX")
    mkdir -p "$stage/$NAME"
    # A debug binary is large; the stripped copy is what a release has.
    strip -o "$stage/$NAME/aws-ci-creds" "$bin" 2>/dev/null || cp "$bin" "$stage/$NAME/aws-ci-creds"
    chmod 0755 "$stage/$NAME/aws-ci-creds"
    cp "$REPO/README.md" "$stage/$NAME/"
    tar -C "$stage" -cf - "$NAME" | gzip -1 >"$out/$NAME.tar.gz"
    (cd "$out" && sha256sum "$NAME.tar.gz" >"$NAME.tar.gz.sha256")
    rm -rf "$stage"
}

# serve_dir DIR : serves DIR on a free loopback port; sets SERVED to its base URL once it answers
serve_dir() {
    local port
    port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
    python3 -m http.server --bind 127.0.0.1 --directory "$1" "$port" >"$WORK/http-$port.log" 2>&1 &
    BG_PIDS+=("$!")
    SERVED=http://127.0.0.1:$port
    for _ in $(seq 1 100); do
        if curl -fsS -o /dev/null "$SERVED/" 2>/dev/null; then break; fi
        sleep 0.1
    done
}

# serve_release : the release as the project publishes it, under WWW=$WORK/www:
#   <base>/v<version>/aws-ci-creds-<version>-<target>.tar.gz (+ .sha256), <base>/install.sh
# The tarball is dist/$NAME.tar.gz as scripts/dist.sh writes it; or, with
# INSTALL_TEST_BIN=path/to/aws-ci-creds, one packed here from that binary in the same layout.
# Sets WWW, GOOD_SHA and BASE (the server's URL).
serve_release() {
    local host_bin
    WWW=$WORK/www
    mkdir -p "$WWW/v$VERSION"
    if [ -n "${INSTALL_TEST_BIN:-}" ]; then
        echo "$SUITE tests: packing $INSTALL_TEST_BIN as $NAME.tar.gz"
        pack "$INSTALL_TEST_BIN" "$WWW/v$VERSION"
    elif [ -f "$REPO/dist/$NAME.tar.gz" ]; then
        echo "$SUITE tests: serving dist/$NAME.tar.gz"
        cp "$REPO/dist/$NAME.tar.gz" "$REPO/dist/$NAME.tar.gz.sha256" "$WWW/v$VERSION/"
    elif host_bin=$(ls "$REPO"/dist/aws-ci-creds-"$VERSION"-*-linux-gnu/aws-ci-creds 2>/dev/null | head -n 1) && [ -n "$host_bin" ]; then
        # Until dist.sh builds the musl targets, its host build stands in, under the musl name.
        echo "$SUITE tests: note: dist/$NAME.tar.gz not found; packing ${host_bin#"$REPO"/} in its layout"
        pack "$host_bin" "$WWW/v$VERSION"
    else
        echo "$SUITE tests: dist/$NAME.tar.gz not found: run scripts/dist.sh, or set INSTALL_TEST_BIN" >&2
        exit 2
    fi
    cp "$REPO/scripts/install.sh" "$WWW/install.sh"
    GOOD_SHA=$(cut -d' ' -f1 "$WWW/v$VERSION/$NAME.tar.gz.sha256")
    serve_dir "$WWW"
    BASE=$SERVED
}

# --- the strict STS emulator -----------------------------------------------------------------------------
EMU_ACCOUNT=123456789012
# start_emulator NAME ROLE SUBJECT_LIKE SUB : sets EMU_READY (the ready file) and EMU_TOKEN (a
# GitLab-style ID token it minted, for SUB)
start_emulator() {
    local dir=$WORK/emu-$1
    mkdir -p "$dir"
    "$EMULATOR" --role-arn "arn:aws:iam::$EMU_ACCOUNT:role/$2" --audience sts.amazonaws.com \
        --subject-like "$3" --sub "$4" \
        --token-out "$dir/token.jwt" --ready-file "$dir/ready.json" >"$dir/log" 2>&1 &
    BG_PIDS+=("$!")
    EMU_READY=$dir/ready.json
    EMU_TOKEN=$dir/token.jwt
    # Up to 60 s: a debug build on a loaded machine can take a while to start.
    for _ in $(seq 1 300); do
        if [ -s "$EMU_READY" ]; then return 0; fi
        sleep 0.2
    done
    show "$dir/log"
    return 1
}
ready() { python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$EMU_READY" "$1"; }
arn_of() { python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["Arn"])' "$1" 2>/dev/null || true; }

# job_env HOME PATH : JOB_ENV, an env(1) prefix for a job's environment: nothing from this
# machine's AWS settings, a fresh home, the emulator as the STS endpoint.
job_env() {
    local home=$1
    mkdir -p "$home"
    JOB_ENV=(env -i PATH="$2" HOME="$home" TMPDIR="$WORK" LANG=C.UTF-8
        AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL_STS="$(ready sts_endpoint)"
        AWS_SHARED_CREDENTIALS_FILE="$home/no-credentials")
}
