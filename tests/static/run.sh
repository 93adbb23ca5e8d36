#!/usr/bin/env bash
# Checks the static release binaries as users get them (from dist/), where a glibc build fails:
#
#   x86_64   `file`/`ldd`: static, no interpreter; `--version` names the target; a real
#            exchange with the strict STS emulator and `demo` inside an EMPTY root (a directory
#            holding only the binary and its token file: no /lib, /etc, /proc, /tmp, sh, HOME).
#   aarch64  `file`: ARM aarch64, static; a real exchange under qemu-aarch64-static (called
#            explicitly: binfmt_misc is not registered on CI machines); `demo`, which re-runs the
#            binary as its own credential_process, inside `unshare --user --map-root-user
#            --mount` with a private binfmt_misc instance that registers qemu (Linux >= 6.7)
#            without touching the machine's.
#
# Prints `ok - NAME` / `not ok - NAME` per check (`ok - NAME # skip WHY` when the machine cannot
# run it), then `static: N passed, M failed`; exits non-zero if anything failed.
#
# Environment:
#   STATIC_X86_64_BIN   default dist/aws-ci-creds-<version>-x86_64-unknown-linux-musl/aws-ci-creds
#   STATIC_AARCH64_BIN  default the same for aarch64-unknown-linux-musl
#   STS_EMULATOR_BIN    default <target dir>/debug/examples/sts_emulator
# Needs root (chroot). Installs file and qemu-user-static with apt when they are missing.
set -euo pipefail

cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.."
REPO=$PWD

IFS=$'\t' read -r TARGET_DIR VERSION < <(cargo metadata --format-version 1 --no-deps | python3 -c '
import json, sys
m = json.load(sys.stdin)
print(m["target_directory"], next(p["version"] for p in m["packages"] if p["name"] == "aws-ci-creds"), sep="\t")')
X86=${STATIC_X86_64_BIN:-$REPO/dist/aws-ci-creds-$VERSION-x86_64-unknown-linux-musl/aws-ci-creds}
ARM=${STATIC_AARCH64_BIN:-$REPO/dist/aws-ci-creds-$VERSION-aarch64-unknown-linux-musl/aws-ci-creds}
EMU=${STS_EMULATOR_BIN:-$TARGET_DIR/debug/examples/sts_emulator}
for f in "$X86" "$ARM" "$EMU"; do
    [ -x "$f" ] || { echo "static: $f not found (scripts/dist.sh; cargo build --example sts_emulator)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "static: needs root (chroot, unshare mounts)" >&2; exit 2; }

need() { # need COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 && return
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}
need file file
need qemu-aarch64-static qemu-user-static
QEMU=$(command -v qemu-aarch64-static)
CHROOT=$(command -v chroot)

W=$(mktemp -d "${TMPDIR:-/tmp}/aws-ci-creds-static.XXXXXX")
EMU_PID=
cleanup() {
    [ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT

ROLE=arn:aws:iam::123456789012:role/static
"$EMU" --role-arn "$ROLE" --audience sts.amazonaws.com --subject-like 'project_path:static/app:*' \
    --sub project_path:static/app:ref_type:branch:ref:main --claims '{"project_id":"7","job_id":"8"}' \
    --token-out "$W/token" --ready-file "$W/ready.json" >"$W/emulator.log" 2>&1 &
EMU_PID=$!
for _ in $(seq 200); do [ -s "$W/ready.json" ] && break; sleep 0.05; done
[ -s "$W/ready.json" ] || { cat "$W/emulator.log" >&2; echo "static: the emulator did not start" >&2; exit 2; }
STS=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["sts_endpoint"])' "$W/ready.json")
CALLS_URL=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["issuer"])' "$W/ready.json")/_emulator/calls
calls() {
    python3 -c 'import json,sys,urllib.request;print(json.load(urllib.request.urlopen(sys.argv[1]))["AssumeRoleWithWebIdentity"])' "$CALLS_URL"
}
ARN="arn:aws:sts::123456789012:assumed-role/static/gl-7-8"

PASSED=0
FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }
# check NAME COMMAND...: runs COMMAND (a shell function that prints why on failure)
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name"; printf '%s\n' "$out" | sed 's/^/#   /'; fi
}

# A credential_process document: Version 1 and every key, nothing else on stdout.
is_credentials() { # FILE
    python3 - "$1" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["Version"] == 1, doc.get("Version")
for k in ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration", "AccountId"):
    assert doc.get(k), f"no {k}"
assert doc["Expiration"].endswith("Z"), "Expiration is not UTC Z"
PY
}

# A directory that holds nothing but the binary and the job's token file.
empty_root() { # DIR BIN
    mkdir -p "$1"
    install -m 0755 "$2" "$1/aws-ci-creds"
    install -m 0600 "$W/token" "$1/token"
}
# Runs inside the root with an empty environment: no PATH, HOME, TMPDIR or CI variables.
in_root() { # DIR ARGS...
    local root=$1
    shift
    env -i "$CHROOT" "$root" /aws-ci-creds "$@"
}

# --- x86_64 -----------------------------------------------------------------------
x86_file() {
    local kind
    kind=$(file -b "$X86")
    echo "$kind"
    [[ $kind == *x86-64* ]] && [[ $kind == *"statically linked"* || $kind == *"static-pie linked"* ]] &&
        [[ $kind != *interpreter* ]]
}
check "x86_64: file says a static x86-64 executable without an interpreter" x86_file

x86_ldd() {
    local out
    if out=$(ldd "$X86" 2>&1); then :; fi
    echo "$out"
    [[ $out == *"not a dynamic executable"* || $out == *"statically linked"* ]]
}
check "x86_64: ldd says it is not dynamic" x86_ldd

version_names() { # TRIPLE COMMAND...
    local triple=$1 out
    shift
    out=$("$@" --version)
    echo "$out"
    [[ $out == "aws-ci-creds $VERSION ("*"$triple)" ]] || return 1
    # From a git checkout the commit is named too.
    if commit=$(git rev-parse --short=12 HEAD 2>/dev/null); then [[ $out == *"$commit"* ]]; fi
}
check "x86_64: --version names the version, the commit and x86_64-unknown-linux-musl" \
    version_names x86_64-unknown-linux-musl "$X86"

root_exchange() {
    local root=$W/root-exchange before
    empty_root "$root" "$X86"
    before=$(calls)
    in_root "$root" --role-arn "$ROLE" --token-file /token --sts-endpoint "$STS" >"$W/x86.json" 2>"$W/x86.err" ||
        { cat "$W/x86.err"; return 1; }
    cat "$W/x86.err"
    is_credentials "$W/x86.json" && [ "$(calls)" = $((before + 1)) ]
}
check "x86_64: a real exchange in an empty root (no /etc, /lib, /proc, /tmp, HOME)" root_exchange

root_cache() {
    local root=$W/root-cache before
    empty_root "$root" "$X86"
    before=$(calls)
    for _ in 1 2 3; do
        in_root "$root" --role-arn "$ROLE" --token-file /token --sts-endpoint "$STS" --cache-dir /cache \
            >"$W/cache.json" 2>"$W/cache.err" || { cat "$W/cache.err"; return 1; }
        is_credentials "$W/cache.json" || return 1
    done
    echo "STS calls for 3 runs: $(($(calls) - before))"
    [ "$(calls)" = $((before + 1)) ]
}
check "x86_64: in an empty root --cache-dir works (3 runs, 1 STS call)" root_cache

root_demo() {
    local root=$W/root-demo
    empty_root "$root" "$X86"
    (cd "$root" && in_root "$root" demo) >"$W/demo.out" 2>&1 || { cat "$W/demo.out"; return 1; }
    [ "$(grep -c "caller   arn:aws:sts::123456789012:assumed-role/demo-deploy/gl-4242-9001" "$W/demo.out")" = 2 ] &&
        grep -q 'calls so far: 1 (the second process read the cache)' "$W/demo.out" &&
        grep -q 'exit code 4' "$W/demo.out" || { cat "$W/demo.out"; return 1; }
    # It cleans up after itself: the root holds what it held before.
    local left
    left=$(cd "$root" && find . -mindepth 1 -printf '%P\n' | sort | tr '\n' ' ')
    echo "left in the root: $left"
    [ "$left" = "aws-ci-creds token " ]
}
check "x86_64: demo passes in an empty root and leaves nothing behind" root_demo

# --- aarch64 ----------------------------------------------------------------------
arm_file() {
    local kind
    kind=$(file -b "$ARM")
    echo "$kind"
    [[ $kind == *"ARM aarch64"* ]] && [[ $kind == *"statically linked"* || $kind == *"static-pie linked"* ]] &&
        [[ $kind != *interpreter* ]]
}
check "aarch64: file says a static ARM aarch64 executable without an interpreter" arm_file
check "aarch64: --version under qemu names aarch64-unknown-linux-musl" \
    version_names aarch64-unknown-linux-musl "$QEMU" "$ARM"

arm_exchange() {
    local before
    before=$(calls)
    env -i "$QEMU" "$ARM" --role-arn "$ROLE" --token-file "$W/token" --sts-endpoint "$STS" --no-cache \
        >"$W/arm.json" 2>"$W/arm.err" || { cat "$W/arm.err"; return 1; }
    is_credentials "$W/arm.json" && [ "$(calls)" = $((before + 1)) ]
}
check "aarch64: a real exchange under qemu-aarch64-static" arm_exchange

# binfmt_misc is per user namespace from Linux 6.7: the registration lives and dies with the
# namespace. Magic and mask are qemu's own (scripts/qemu-binfmt-conf.sh) for aarch64 ELF.
# F opens the interpreter now, so it is found whatever the binary's mount view.
arm_demo() {
    local major minor
    IFS=. read -r major minor _ < <(uname -r)
    if ((major < 6 || (major == 6 && minor < 7))); then
        echo "SKIP: Linux $(uname -r) has no per-namespace binfmt_misc (needs >= 6.7)"
        return 0
    fi
    local magic='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
    local mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
    # shellcheck disable=SC2016 # expanded by the inner shell
    unshare --user --map-root-user --mount sh -euc '
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
        printf ":aws-ci-creds-qemu-aarch64:M::%b:%b:%s:F" "$1" "$2" "$3" >/proc/sys/fs/binfmt_misc/register
        exec env -i PATH=/usr/bin:/bin "$4" demo' sh "$magic" "$mask" "$QEMU" "$ARM" >"$W/arm-demo.out" 2>&1 ||
        { cat "$W/arm-demo.out"; return 1; }
    [ "$(grep -c "caller   arn:aws:sts::123456789012:assumed-role/demo-deploy/gl-4242-9001" "$W/arm-demo.out")" = 2 ] &&
        grep -q 'calls so far: 1 (the second process read the cache)' "$W/arm-demo.out" &&
        grep -q 'exit code 4' "$W/arm-demo.out" || { cat "$W/arm-demo.out"; return 1; }
}
if out=$(arm_demo 2>&1); then
    if [[ $out == SKIP:* ]]; then ok "aarch64: demo through a private binfmt_misc # skip ${out#SKIP: }"; else ok "aarch64: demo (re-executes itself as credential_process) through a private binfmt_misc registration"; fi
else
    not_ok "aarch64: demo (re-executes itself as credential_process) through a private binfmt_misc registration"
    printf '%s\n' "$out" | sed 's/^/#   /'
fi
[ -e /proc/sys/fs/binfmt_misc/aws-ci-creds-qemu-aarch64 ] &&
    not_ok "aarch64: the qemu registration leaked into the machine's binfmt_misc"

echo "static: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
