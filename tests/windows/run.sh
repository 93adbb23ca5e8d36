#!/usr/bin/env bash
# The Windows build, checked on Linux: cross-build for x86_64-pc-windows-gnu with Debian's
# mingw-w64, clippy for that target with warnings as errors, then the tests under Debian's Wine:
#   - the library's unit tests (`cargo test --lib`, Wine as the target's runner);
#   - the Windows binary against the Linux STS emulator on 127.0.0.1: a credential-mode
#     exchange, a cache hit (the emulator counts no second call), `setup`, and a `.cmd` token
#     helper run through cmd.exe.
# What Wine cannot prove (ACL enforcement, elevated owners, console control events, junctions)
# is listed in docs/building.md.
#
# Prints `ok - NAME` / `not ok - NAME`, then `windows: N passed, M failed`; exits non-zero if
# anything failed.
#
# Environment:
#   WINDOWS_SKIP_SETUP  1 = don't install packages or the rustup target (already there)
#   WINDOWS_STEPS       which steps to run (default "lint unit e2e")
#   STS_EMULATOR_BIN    the Linux emulator (default: built with `cargo build --example sts_emulator`)
set -euo pipefail

WIN_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd -- "$WIN_DIR/../.." && pwd)
TARGET=x86_64-pc-windows-gnu
STEPS=${WINDOWS_STEPS:-lint unit e2e}
# Downloads and the Wine prefix live outside the clone, so later runs on this machine are warm.
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/aws-ci-creds-ci
export WINEPREFIX=$CACHE/wine
# No debug chatter, and no prompts to install Mono or Gecko (nothing here needs them).
export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
WINE=/usr/lib/wine/wine64

PASSED=0
FAILED=0
ok() {
    PASSED=$((PASSED + 1))
    echo "ok - $1"
}
not_ok() {
    FAILED=$((FAILED + 1))
    echo "not ok - $1"
    if [ -n "${2:-}" ]; then echo "    # $2"; fi
}
# A failure that is a documented gap of Wine 8, not of the tool: reported TAP-style as TODO and
# not counted as failed.
known_issue() { echo "not ok - $1 # TODO $2"; }
section() { printf '\n# %s\n' "$*"; }
show() { head -n 40 "$1" | sed 's/^/    # /'; }
has() { [[ " $STEPS " == *" $1 "* ]]; }
# The `test result:` lines of a cargo test log (one per test binary), added up.
counts() {
    awk '/^test result:/ { p += $4; f += $6 } END { printf "%d passed, %d failed", p, f }' "$1"
}

# --- setup: packages, the rustup target, the Wine prefix with the ProcessPrng shim -------------
if [ "${WINDOWS_SKIP_SETUP:-0}" != 1 ]; then
    missing=()
    command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=(gcc-mingw-w64-x86-64)
    command -v nasm >/dev/null || missing+=(nasm)
    [ -x "$WINE" ] || missing+=(wine wine64)
    if [ "${#missing[@]}" -gt 0 ]; then
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    rustup target list --installed | grep -qx "$TARGET" || rustup target add "$TARGET" >/dev/null 2>&1
fi

cd "$REPO_DIR"
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

# Rust's std (1.78 and later) imports ProcessPrng from bcryptprimitives.dll, which Wine has only
# from 9.0: under Debian's Wine 8 every Rust program fails to load without it. The shim (~20
# lines, tests/windows/processprng.c) forwards to RtlGenRandom, which Wine 8 has. It goes into the
# test prefix's system32 only; Windows has the real DLL and nothing of this is shipped.
wine_prefix() {
    local shim=$CACHE/bcryptprimitives.dll
    mkdir -p "$CACHE"
    if [ ! -f "$shim" ] || [ "$WIN_DIR/processprng.c" -nt "$shim" ]; then
        x86_64-w64-mingw32-gcc -O2 -shared -o "$shim.tmp" "$WIN_DIR/processprng.c" \
            "$WIN_DIR/processprng.def" -ladvapi32
        mv "$shim.tmp" "$shim"
    fi
    if [ ! -f "$WINEPREFIX/.aws-ci-creds-ready" ]; then
        rm -rf "$WINEPREFIX"
        "$WINE" wineboot -i >/dev/null 2>&1
        /usr/lib/wine/wineserver -w
        touch "$WINEPREFIX/.aws-ci-creds-ready"
    fi
    cp "$shim" "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
}

if has lint; then
    section "clippy for $TARGET (warnings are errors)"
    log=$(mktemp)
    if cargo clippy --target "$TARGET" --all-targets -- -D warnings >"$log" 2>&1; then
        ok "clippy --target $TARGET --all-targets"
    else
        not_ok "clippy --target $TARGET --all-targets" "see below"
        grep -E '^(error|warning)' -A6 "$log" >"$log.short" || true
        show "$log.short"
        rm -f "$log.short"
    fi
    rm -f "$log"
fi

if has unit || has e2e; then
    wine_prefix
    # Wine's start-up is the slow part; keep one wineserver up for the whole run.
    /usr/lib/wine/wineserver -p
    trap '/usr/lib/wine/wineserver -k 2>/dev/null || true' EXIT
fi

if has unit; then
    section "unit tests under Wine"
    log=$(mktemp)
    # Wine 8's rename cannot replace a file that another thread holds open (Windows 10 and later
    # do, with POSIX rename semantics on NTFS), so this test fails under Wine only.
    wine_gap=cache::tests::concurrency::readers_never_see_a_torn_entry_while_stores_run
    known_issue "$wine_gap" "Wine 8 refuses to rename over an open file (ERROR_ACCESS_DENIED); Windows 10+ NTFS does not"
    # Debian's Wine 8 keeps no security descriptor given at creation (no user.wine.sd is
    # written), so every DACL reads back as Wine's default and a world-writable directory cannot
    # be made to test the refusal.
    wine_gap2=a_directory_others_can_write_to_is_refused_naming_them
    known_issue "$wine_gap2" "Wine 8 does not store the DACL a directory is created with"
    if CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=$WINE \
        cargo test --target "$TARGET" --lib -- --test-threads 2 --skip "$wine_gap" \
        --skip "$wine_gap2" >"$log" 2>&1; then
        ok "cargo test --lib under Wine: $(counts "$log")"
    else
        not_ok "cargo test --lib under Wine" "$(counts "$log")"
        grep -E '^test .* FAILED$|panicked' "$log" >"$log.short" || true
        show "$log.short"
        rm -f "$log.short"
    fi
    rm -f "$log"
fi

if has e2e; then
    section "the Windows binary against the STS emulator"
    cargo build --target "$TARGET" --bin aws-ci-creds >/dev/null 2>&1
    EXE=$TARGET_DIR/$TARGET/debug/aws-ci-creds.exe
    EMULATOR=${STS_EMULATOR_BIN:-}
    if [ -z "$EMULATOR" ]; then
        cargo build --example sts_emulator >/dev/null 2>&1
        EMULATOR=$TARGET_DIR/debug/examples/sts_emulator
    fi
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/aws-ci-creds-windows.XXXXXX")
    EMU_PID=
    cleanup() {
        if [ -n "$EMU_PID" ]; then kill "$EMU_PID" 2>/dev/null || true; wait "$EMU_PID" 2>/dev/null || true; fi
        rm -rf "$WORK"
        /usr/lib/wine/wineserver -k 2>/dev/null || true
    }
    trap cleanup EXIT
    winpath() { printf 'Z:%s' "${1//\//\\}"; }

    ROLE=arn:aws:iam::123456789012:role/windows
    "$EMULATOR" --role-arn "$ROLE" --audience sts.amazonaws.com --subject-like 'repo:w/*' \
        --sub 'repo:w/app' --token-out "$WORK/token.jwt" --ready-file "$WORK/ready.json" \
        >"$WORK/emulator.log" 2>&1 &
    EMU_PID=$!
    for _ in $(seq 1 150); do [ -s "$WORK/ready.json" ] && break; sleep 0.2; done
    STS=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["sts_endpoint"])' "$WORK/ready.json")
    ISSUER=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["issuer"])' "$WORK/ready.json")
    calls() {
        python3 -c 'import json,sys,urllib.request
print(json.load(urllib.request.urlopen(sys.argv[1].rstrip("/")+"/_emulator/calls",timeout=5))["AssumeRoleWithWebIdentity"])' "$ISSUER"
    }
    # The job's environment, as a runner would give it; the rest of this machine's is left out.
    mkdir -p "$WORK/profile"
    run_exe() {
        env -i PATH=/usr/bin:/bin HOME="$WORK/profile" WINEPREFIX="$WINEPREFIX" WINEDEBUG=-all \
            WINEDLLOVERRIDES="$WINEDLLOVERRIDES" USERPROFILE="$(winpath "$WORK/profile")" \
            AWS_ROLE_ARN=$ROLE AWS_REGION=us-east-1 AWS_ENDPOINT_URL_STS="$STS" \
            AWS_CI_CREDS_CACHE_DIR="$(winpath "$WORK/cache")" "$@"
    }

    if run_exe AWS_WEB_IDENTITY_TOKEN_FILE="$(winpath "$WORK/token.jwt")" \
        "$WINE" "$EXE" >"$WORK/out1" 2>"$WORK/err1" &&
        python3 -c 'import json,sys;d=json.load(open(sys.argv[1]));assert d["Version"]==1 and d["AccessKeyId"] and d["SessionToken"]' "$WORK/out1"; then
        ok "credential mode: one JSON document from STS (emulator calls: $(calls))"
    else
        not_ok "credential mode: one JSON document from STS"; show "$WORK/err1"
    fi
    before=$(calls)
    if run_exe AWS_WEB_IDENTITY_TOKEN_FILE="$(winpath "$WORK/token.jwt")" \
        "$WINE" "$EXE" >"$WORK/out2" 2>"$WORK/err2" && cmp -s "$WORK/out1" "$WORK/out2" &&
        [ "$(calls)" = "$before" ]; then
        ok "a second run is a cache hit (same JSON, no STS call)"
    else
        not_ok "a second run is a cache hit" "calls $before -> $(calls)"; show "$WORK/err2"
    fi

    # A .cmd helper prints the token; std runs .cmd files through cmd.exe. The line is split with
    # botocore's Windows rules, so a backslashed path needs no quoting; a bare name is found
    # through PATHEXT (as `az` is `az.cmd`). WINEPATH is how Wine adds to the Windows PATH.
    mkdir -p "$WORK/bin"
    printf '@echo off\r\ntype %s\r\n' "$(winpath "$WORK/token.jwt")" >"$WORK/bin/helper.cmd"
    if run_exe AWS_CI_CREDS_NO_CACHE=1 \
        "$WINE" "$EXE" --token-command "$(winpath "$WORK/bin/helper.cmd")" >"$WORK/out3" 2>"$WORK/err3" &&
        python3 -c 'import json,sys;assert json.load(open(sys.argv[1]))["Version"]==1' "$WORK/out3"; then
        ok "--token-command runs a .cmd helper named by its Windows path"
    else
        not_ok "--token-command runs a .cmd helper named by its Windows path"; show "$WORK/err3"
    fi
    if run_exe AWS_CI_CREDS_NO_CACHE=1 WINEPATH="$(winpath "$WORK/bin")" \
        "$WINE" "$EXE" --token-command helper >"$WORK/out3b" 2>"$WORK/err3b" &&
        python3 -c 'import json,sys;assert json.load(open(sys.argv[1]))["Version"]==1' "$WORK/out3b"; then
        ok "--token-command finds a .cmd helper on PATH through PATHEXT"
    else
        not_ok "--token-command finds a .cmd helper on PATH through PATHEXT"; show "$WORK/err3b"
    fi

    # Wine sets USERPROFILE itself (C:\users\<user>, inside the prefix), as Windows does.
    wine_config=$WINEPREFIX/drive_c/users/$(id -un)/.aws/config
    rm -f "$wine_config"
    if run_exe "$WINE" "$EXE" setup --profile ci --role-arn "$ROLE" >"$WORK/out4" 2>"$WORK/err4" &&
        line=$(grep '^credential_process = ' "$wine_config") &&
        [ "$line" = "credential_process = $(winpath "$EXE") --role-arn $ROLE" ]; then
        ok "setup writes %USERPROFILE%\\.aws\\config: $line"
    else
        not_ok "setup writes %USERPROFILE%\\.aws\\config" "${line:-no line}"; show "$WORK/err4"
    fi
    # The line as the Go, Rust, JavaScript and Java SDKs run it: cmd.exe /C <value>.
    if [ -n "${line:-}" ] && run_exe AWS_WEB_IDENTITY_TOKEN_FILE="$(winpath "$WORK/token.jwt")" \
        "$WINE" cmd /c "${line#credential_process = }" >"$WORK/out5" 2>"$WORK/err5" &&
        python3 -c 'import json,sys;assert json.load(open(sys.argv[1]))["Version"]==1' "$WORK/out5"; then
        ok "the written line runs under cmd.exe /C and prints the JSON"
    else
        not_ok "the written line runs under cmd.exe /C"; show "$WORK/err5"
    fi
    rm -f "$wine_config"
    # A path with a space cannot be written so that every SDK reads it alike: refused, with a place.
    mkdir -p "$WORK/with space"
    cp "$EXE" "$WORK/with space/aws-ci-creds.exe"
    if run_exe "$WINE" "$WORK/with space/aws-ci-creds.exe" setup --profile ci --role-arn "$ROLE" \
        >"$WORK/out6" 2>"$WORK/err6"; then
        not_ok "setup refuses a binary under a path with a space" "it succeeded"
    elif [ "$?" = 2 ] && grep -q 'contains a space' "$WORK/err6" && grep -q 'LOCALAPPDATA' "$WORK/err6" &&
        [ ! -e "$wine_config" ]; then
        ok "setup refuses a binary under a path with a space and names a place to put it"
    else
        not_ok "setup refuses a binary under a path with a space"; show "$WORK/err6"
    fi
fi

printf '\nwindows: %d passed, %d failed\n' "$PASSED" "$FAILED"
[ "$FAILED" = 0 ]
