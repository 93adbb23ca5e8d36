#!/usr/bin/env bash
# Tests scripts/install.sh, action.yml and templates/aws-ci-creds.yml against a release layout
# served from a loopback HTTP server:
#   <base>/v<version>/aws-ci-creds-<version>-<target>.tar.gz (+ .sha256), <base>/install.sh
# install.sh runs under dash and under BusyBox sh, with curl, with GNU wget only, with a
# BusyBox-only userland (as on Alpine), with each SHA-256 tool; a tampered tarball, a wrong
# --sha256, a 404, an unknown architecture and missing tools must fail and leave the install
# directory byte for byte as it was. The action's steps and the component's before_script run
# with fake runner files, the emulator's GitHub token endpoint or a GitLab ID token it minted,
# through to `aws sts get-caller-identity` against the emulator. The docs' per-CI manual recipes
# (tests/install/recipe.py) run as pasted the same way, and scripts/stamp-version.sh must stamp
# every line a user copies.
#
# The tarball: dist/aws-ci-creds-<version>-<target>.tar.gz for this machine's musl target, as
# scripts/dist.sh writes it; or, with INSTALL_TEST_BIN=path/to/aws-ci-creds, one packed here
# from that binary in the same layout (for development: INSTALL_TEST_BIN=target/debug/aws-ci-creds).
#
# Prints `ok - NAME` / `not ok - NAME`, then `install: N passed, M failed`; exits 1 on failures.
# Environment: STS_EMULATOR_BIN (default <target dir>/debug/examples/sts_emulator, built if
# missing), INSTALL_KEEP=1 keeps the temp dir, INSTALL_SKIP_SETUP=1 skips the apt/venv setup.
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd -- "$HERE/../.." && pwd)
INSTALL_SH=$REPO/scripts/install.sh

# --- tools -----------------------------------------------------------------------------------------
if [ "${INSTALL_SKIP_SETUP:-0}" != 1 ]; then
    missing=()
    command -v dash >/dev/null || missing+=(dash)
    command -v busybox >/dev/null || missing+=(busybox)
    if ((${#missing[@]})); then
        echo "install tests: apt-get install ${missing[*]}"
        SUDO=()
        if [ "$(id -u)" != 0 ]; then SUDO=(sudo); fi
        "${SUDO[@]}" apt-get update -qq
        DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null
    fi
    # The AWS CLI (and PyYAML, which it depends on) from the e2e suite's venv.
    "$REPO/tests/e2e/setup.sh"
fi
DASH=$(command -v dash)
BUSYBOX=$(command -v busybox)

SUITE=install KEEP=${INSTALL_KEEP:-0}
# shellcheck source=tests/install/lib.sh
. "$HERE/lib.sh"

# --- the release layout ------------------------------------------------------------------------------
serve_release
# The same release with a tarball changed after its .sha256 was written.
mkdir -p "$WWW/tampered/v$VERSION"
cp "$WWW/v$VERSION/$NAME.tar.gz.sha256" "$WWW/tampered/v$VERSION/"
{ cat "$WWW/v$VERSION/$NAME.tar.gz"; printf 'x'; } >"$WWW/tampered/v$VERSION/$NAME.tar.gz"
# A mirror that lost the .sha256 files.
mkdir -p "$WWW/nosums/v$VERSION"
cp "$WWW/v$VERSION/$NAME.tar.gz" "$WWW/nosums/v$VERSION/"
# A release whose binary cannot run here (not an executable at all), correctly hashed.
mkdir -p "$WORK/broken/$NAME" "$WWW/broken/v$VERSION"
printf 'not a program\n' >"$WORK/broken/$NAME/aws-ci-creds"
chmod 0755 "$WORK/broken/$NAME/aws-ci-creds"
tar -C "$WORK/broken" -cf - "$NAME" | gzip -1 >"$WWW/broken/v$VERSION/$NAME.tar.gz"
(cd "$WWW/broken/v$VERSION" && sha256sum "$NAME.tar.gz" >"$NAME.tar.gz.sha256")
chmod -R a+rX "$WWW"

# A forward proxy for the proxy checks: http.server maps the absolute URL a proxied request
# carries (GET http://release.invalid/v…) to <root>/http:/release.invalid/v…, so a symlink there
# serves the release for a host that does not resolve: the download can only go through it.
mkdir -p "$WORK/proxy/http:"
ln -s "$WWW" "$WORK/proxy/http:/release.invalid"
serve_dir "$WORK/proxy"
PROXY_PORT=${SERVED##*:}

# --- PATHs with and without tools -----------------------------------------------------------------
# mkpath NAME TOOL... : a directory of symlinks to every program on the normal PATH but TOOLs.
mkpath() {
    local dir=$WORK/path-$1 d f base
    shift
    mkdir -p "$dir"
    for d in /usr/local/bin /usr/bin /bin /usr/sbin /sbin; do
        for f in "$d"/*; do
            base=${f##*/}
            [ -e "$dir/$base" ] || [ -L "$dir/$base" ] && continue
            [ -x "$f" ] && [ ! -d "$f" ] || continue
            ln -s "$f" "$dir/$base"
        done
    done
    for f in "$@"; do rm -f "$dir/$f"; done
    echo "$dir"
}
P_FULL=$(mkpath full)
P_NOCURL=$(mkpath nocurl curl)
P_SHASUM=$(mkpath shasum sha256sum)
P_OPENSSL=$(mkpath openssl sha256sum shasum)
P_NOFETCH=$(mkpath nofetch curl wget)
P_NOHASH=$(mkpath nohash sha256sum shasum openssl)
# Alpine's userland: every tool a BusyBox applet, no curl, no coreutils.
P_BUSYBOX=$WORK/path-busybox
mkdir -p "$P_BUSYBOX"
for a in $("$BUSYBOX" --list); do ln -s "$BUSYBOX" "$P_BUSYBOX/$a"; done
# fake_uname ARCH : a directory whose uname -m answers ARCH (for PATH's front)
fake_uname() {
    local dir=$WORK/uname-$1
    mkdir -p "$dir"
    cat >"$dir/uname" <<EOF
#!/bin/sh
case \$1 in -m) echo $1 ;; *) exec $(command -v uname) "\$@" ;; esac
EOF
    chmod 0755 "$dir/uname"
    echo "$dir"
}
# An architecture there is no release for.
P_RISCV=$(fake_uname riscv64)

# --- running install.sh -----------------------------------------------------------------------------
RUN_NO=0
# run_install SHELL PATH [ENV=VALUE...] -- ARG... : runs install.sh in a clean environment; sets
# RC, OUT (stdout), ERR (stderr) and T (its TMPDIR, which must be empty afterwards).
run_install() {
    local sh=$1 path=$2 envs=()
    shift 2
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    RUN_NO=$((RUN_NO + 1))
    T=$WORK/tmp-$RUN_NO
    OUT=$WORK/out-$RUN_NO
    ERR=$WORK/err-$RUN_NO
    mkdir -p "$T"
    RC=0
    env -i PATH="$path" HOME="$WORK/home" TMPDIR="$T" "${envs[@]}" \
        "$sh" "$INSTALL_SH" "$@" >"$OUT" 2>"$ERR" || RC=$?
}
# snapshot DIR : names, modes, sizes, times and contents of everything in DIR (the directory's
# own mtime aside: a staged copy that was removed again leaves everything in it as it was)
snapshot() {
    (cd "$1" && stat -c '%a %U %G' . && find . -mindepth 1 -printf '%p %y %m %s %T@ %i\n' | LC_ALL=C sort &&
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}
# A directory that already holds an older aws-ci-creds and something else.
old_install() {
    local dir=$WORK/$1
    mkdir -p "$dir"
    printf '#!/bin/sh\necho "aws-ci-creds 0.0.1 (000000000000)"\n' >"$dir/aws-ci-creds"
    chmod 0755 "$dir/aws-ci-creds"
    echo keep >"$dir/other-tool"
    echo "$dir"
}
tmp_clean() { [ -z "$(ls -A "$T")" ]; }
installed_ok() { # DIR : the real binary is there, runs, names the version, nothing else was left
    local dir=$1 v
    v=$("$dir/aws-ci-creds" --version 2>/dev/null) || return 1
    [[ $v == "aws-ci-creds $VERSION "* ]] || return 1
    [ -z "$(find "$dir" -name '.aws-ci-creds*')" ] || return 1
    [ "$(stat -c %a "$dir/aws-ci-creds")" = 755 ]
}

# check_install NAME SHELL PATH [ENV=V...] -- ARG... (installs into the dir in the last --to, or
# AWS_CI_CREDS_INSTALL_DIR)
check_install() {
    local name=$1 dir=$2
    shift 2
    run_install "$@"
    if [ "$RC" = 0 ] && installed_ok "$dir" && tmp_clean && [ "$(cat "$OUT")" = "$dir/aws-ci-creds" ]; then
        ok "$name"
    else
        not_ok "$name" "exit $RC, stdout '$(head -c 200 "$OUT")', temp dir: $(ls -A "$T" | tr '\n' ' ')"
        show "$ERR"
    fi
}
# check_refused NAME DIR PATTERN SHELL PATH [ENV...] -- ARG... : must fail with stderr matching
# PATTERN (extended regex), leave DIR byte for byte as it was, and no temp files.
check_refused() {
    local name=$1 dir=$2 pattern=$3 before after
    shift 3
    before=$(snapshot "$dir")
    run_install "$@"
    after=$(snapshot "$dir")
    if [ "$RC" != 0 ] && [ "$before" = "$after" ] && tmp_clean && [ ! -s "$OUT" ] && grep -Eq "$pattern" "$ERR"; then
        ok "$name"
        show "$ERR"
    else
        not_ok "$name" "exit $RC; dir unchanged: $([ "$before" = "$after" ] && echo yes || echo NO); want stderr matching /$pattern/"
        show "$ERR"
        diff <(echo "$before") <(echo "$after") | sed 's/^/    # /' || true
    fi
}

SHELLS=("$DASH" "$BUSYBOX sh")
# BusyBox's sh is an applet: `busybox sh FILE`; wrap it so it is one argv[0].
printf '#!/bin/sh\nexec %s sh "$@"\n' "$BUSYBOX" >"$WORK/busybox-sh"
chmod 0755 "$WORK/busybox-sh"
BBSH=$WORK/busybox-sh
SHELLS=("$DASH" "$BBSH")
shell_name() { case $1 in "$DASH") echo dash ;; *) echo "busybox sh" ;; esac; }

# ==================================================================================================
section "install.sh: installs"
D=$WORK/i1
check_install "dash, curl: installs into --to DIR (created), prints the path, leaves no temp files" "$D" \
    "$DASH" "$P_FULL" -- --version "$VERSION" --to "$D" --base-url "$BASE"

ino=$(stat -c '%i %Y' "$D/aws-ci-creds")
run_install "$DASH" "$P_FULL" -- --version "$VERSION" --to "$D" --base-url "$BASE"
if [ "$RC" = 0 ] && grep -q 'already installed' "$ERR" && [ "$(stat -c '%i %Y' "$D/aws-ci-creds")" = "$ino" ] &&
    [ "$(cat "$OUT")" = "$D/aws-ci-creds" ] && ! grep -q downloading "$ERR"; then
    ok "dash: the same version again is a no-op (no download, file untouched)"
else
    not_ok "dash: the same version again is a no-op" "exit $RC"
    show "$ERR"
fi
run_install "$DASH" "$P_FULL" -- --version "v$VERSION" --to "$D" --base-url "$BASE" --force
if [ "$RC" = 0 ] && installed_ok "$D" && [ "$(stat -c '%i' "$D/aws-ci-creds")" != "${ino%% *}" ]; then
    ok "dash: --force reinstalls (a new file renamed into place), v-prefixed --version accepted"
else
    not_ok "dash: --force reinstalls" "exit $RC"
    show "$ERR"
fi

D=$WORK/i2
check_install "dash, curl: AWS_CI_CREDS_VERSION/INSTALL_DIR/BASE_URL instead of flags" "$D" \
    "$DASH" "$P_FULL" AWS_CI_CREDS_VERSION="$VERSION" AWS_CI_CREDS_INSTALL_DIR="$D" AWS_CI_CREDS_BASE_URL="$BASE/" --

D=$(old_install i3)
check_install "busybox sh, BusyBox userland (wget, sha256sum, tar applets): replaces an older version" "$D" \
    "$BBSH" "$P_BUSYBOX" -- --to "$D" --base-url "$BASE" --version "$VERSION"
if [ "$(cat "$D/other-tool" 2>/dev/null)" = keep ]; then
    ok "busybox sh: the install dir's other files are untouched"
else
    not_ok "busybox sh: the install dir's other files are untouched"
fi

for sh in "${SHELLS[@]}"; do
    D=$WORK/wget-$RUN_NO
    check_install "$(shell_name "$sh"), GNU wget only (no curl on PATH)" "$D" \
        "$sh" "$P_NOCURL" -- --to "$D" --base-url "$BASE" --version "$VERSION"
done
D=$WORK/i5
check_install "dash: SHA-256 with shasum -a 256 (no sha256sum)" "$D" \
    "$DASH" "$P_SHASUM" -- --to "$D" --base-url "$BASE" --version "$VERSION"
D=$WORK/i6
check_install "busybox sh: SHA-256 with openssl dgst (no sha256sum, no shasum)" "$D" \
    "$BBSH" "$P_OPENSSL" -- --to "$D" --base-url "$BASE" --version "$VERSION"
D=$WORK/i7
UPPER=$(printf '%s' "$GOOD_SHA" | tr a-f A-F)
check_install "dash: --sha256 pin (upper case accepted) installs even from a mirror without .sha256 files" "$D" \
    "$DASH" "$P_FULL" -- --to "$D" --base-url "$BASE/nosums" --version "$VERSION" --sha256 "$UPPER"

# uname -m spellings: amd64 is x86_64; arm64 (and aarch64) ask for the aarch64 tarball.
if [ "$TARGET" = x86_64-unknown-linux-musl ]; then
    D=$WORK/amd64
    check_install "dash: uname -m amd64 installs the x86_64 build" "$D" \
        "$DASH" "$(fake_uname amd64):$P_FULL" -- --to "$D" --base-url "$BASE" --version "$VERSION"
    for arch in arm64 aarch64; do
        run_install "$DASH" "$(fake_uname $arch):$P_FULL" -- --to "$WORK/$arch" --base-url "$BASE" --version "$VERSION"
        if [ "$RC" = 1 ] && grep -q "cannot download $BASE/v$VERSION/aws-ci-creds-$VERSION-aarch64-unknown-linux-musl.tar.gz " "$ERR"; then
            ok "dash: uname -m $arch asks for aarch64-unknown-linux-musl"
        else
            not_ok "dash: uname -m $arch asks for aarch64-unknown-linux-musl" "exit $RC"
            show "$ERR"
        fi
    done
fi

D=$WORK/default-version
check_install "dash: without --version it installs the stamped default ($VERSION)" "$D" \
    "$DASH" "$P_FULL" -- --to "$D" --base-url "$BASE"

# CI systems set upper-case proxy variables; curl ignores HTTP_PROXY and wget reads only
# lower-case ones, so install.sh maps them (HTTPS_PROXY the same way).
for sh in "${SHELLS[@]}"; do
    for path in "$P_FULL" "$P_BUSYBOX"; do
        D=$WORK/proxy-$RUN_NO
        tool=curl
        if [ "$path" = "$P_BUSYBOX" ]; then tool="BusyBox wget"; fi
        check_install "$(shell_name "$sh"), $tool: HTTP_PROXY (upper case) is honoured" "$D" \
            "$sh" "$path" HTTP_PROXY="http://127.0.0.1:$PROXY_PORT" -- \
            --to "$D" --base-url http://release.invalid --version "$VERSION"
    done
done

# The default directory for a user who cannot write /usr/local/bin: ~/.local/bin, with a hint.
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
    NB_HOME=$WORK/nobody-home
    mkdir -p "$NB_HOME" && chown 65534:65534 "$NB_HOME"
    mkdir -p "$WORK/tmp-nobody" && chown 65534:65534 "$WORK/tmp-nobody"
    RC=0
    env -i PATH="$P_FULL" HOME="$NB_HOME" TMPDIR="$WORK/tmp-nobody" \
        setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$DASH" "$WWW/install.sh" --base-url "$BASE" --version "$VERSION" >"$WORK/nobody.out" 2>"$WORK/nobody.err" || RC=$?
    if [ "$RC" = 0 ] && [ "$(cat "$WORK/nobody.out")" = "$NB_HOME/.local/bin/aws-ci-creds" ] &&
        installed_ok "$NB_HOME/.local/bin" && grep -q "is not on PATH; add it" "$WORK/nobody.err" &&
        [ -z "$(ls -A "$WORK/tmp-nobody")" ]; then
        ok "dash, unprivileged user: default dir is \$HOME/.local/bin, with the PATH hint"
    else
        not_ok "dash, unprivileged user: default dir is \$HOME/.local/bin" "exit $RC"
        show "$WORK/nobody.err"
    fi
    # A --to directory the user cannot write: refused after the download, with the fix.
    D=$(old_install root-owned)
    before=$(snapshot "$D")
    RC=0
    env -i PATH="$P_FULL" HOME="$NB_HOME" TMPDIR="$WORK/tmp-nobody" \
        setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$DASH" "$WWW/install.sh" --base-url "$BASE" --version "$VERSION" --to "$D" >"$WORK/nobody.out" 2>"$WORK/nobody.err" || RC=$?
    if [ "$RC" = 1 ] && grep -q "cannot write to $D" "$WORK/nobody.err" && [ "$before" = "$(snapshot "$D")" ] &&
        [ -z "$(ls -A "$WORK/tmp-nobody")" ]; then
        ok "dash, unprivileged user: an unwritable --to DIR fails with the fix, the old binary untouched"
    else
        not_ok "dash, unprivileged user: an unwritable --to DIR fails cleanly" "exit $RC"
        show "$WORK/nobody.err"
    fi
fi

# ==================================================================================================
section "install.sh: fails cleanly"
for sh in "${SHELLS[@]}"; do
    n=$(shell_name "$sh")
    D=$(old_install "old-$RUN_NO")
    check_refused "$n: tampered tarball (its .sha256 no longer matches)" "$D" 'SHA-256 mismatch.*nothing was installed' \
        "$sh" "$P_FULL" -- --to "$D" --base-url "$BASE/tampered" --version "$VERSION"
    check_refused "$n: wrong --sha256" "$D" "SHA-256 mismatch.*expected 0{64} \\(--sha256\\)" \
        "$sh" "$P_FULL" -- --to "$D" --base-url "$BASE" --version "$VERSION" --sha256 "$(printf '0%.0s' $(seq 64))"
    check_refused "$n: 404 (no such release) names the URL and what to check" "$D" \
        "cannot download $BASE/v9\\.9\\.9/aws-ci-creds-9\\.9\\.9-$TARGET\\.tar\\.gz" \
        "$sh" "$P_FULL" -- --to "$D" --base-url "$BASE" --version 9.9.9
    check_refused "$n: unknown architecture names it and the supported ones" "$D" \
        "unsupported architecture 'riscv64'.*x86_64.*aarch64" \
        "$sh" "$P_RISCV:$P_FULL" -- --to "$D" --base-url "$BASE" --version "$VERSION"
    check_refused "$n: 404 under BusyBox wget" "$D" "cannot download .*9\\.9\\.9" \
        "$sh" "$P_BUSYBOX" -- --to "$D" --base-url "$BASE" --version 9.9.9
done
D=$(old_install old-tools)
check_refused "dash: mirror without the .sha256 file (and no --sha256)" "$D" 'cannot download .*\.tar\.gz\.sha256.*|--sha256 HASH' \
    "$DASH" "$P_FULL" -- --to "$D" --base-url "$BASE/nosums" --version "$VERSION"
check_refused "dash: a binary that does not run here is not installed (and its staged copy is removed)" "$D" \
    'does not run from' "$DASH" "$P_FULL" -- --to "$D" --base-url "$BASE/broken" --version "$VERSION"
check_refused "dash: neither curl nor wget" "$D" 'neither curl nor wget' \
    "$DASH" "$P_NOFETCH" -- --to "$D" --base-url "$BASE" --version "$VERSION"
check_refused "dash: no SHA-256 tool" "$D" 'no SHA-256 tool' \
    "$DASH" "$P_NOHASH" -- --to "$D" --base-url "$BASE" --version "$VERSION"
check_refused "dash: nothing listening at --base-url" "$D" 'cannot download' \
    "$DASH" "$P_FULL" -- --to "$D" --base-url "http://127.0.0.1:9" --version "$VERSION"
run_install "$DASH" "$P_FULL" -- --to "$D" --sha256 abc
if [ "$RC" = 2 ] && grep -q 'must be 64 hexadecimal digits' "$ERR"; then
    ok "dash: malformed --sha256 is a usage error (exit 2)"
else
    not_ok "dash: malformed --sha256 is a usage error (exit 2)" "exit $RC"
    show "$ERR"
fi

# ==================================================================================================
section "release stamping (scripts/stamp-version.sh)"
if (cd "$REPO" && scripts/stamp-version.sh --check) >"$WORK/stamp.out" 2>&1; then
    ok "install.sh, action.yml and the template name Cargo.toml's version"
else
    not_ok "install.sh, action.yml and the template name Cargo.toml's version"
    show "$WORK/stamp.out"
fi
S=$WORK/stamped
mkdir -p "$S/scripts" "$S/templates"
cp "$REPO/scripts/install.sh" "$REPO/scripts/stamp-version.sh" "$S/scripts/"
cp "$REPO/action.yml" "$REPO/Cargo.toml" "$REPO/README.md" "$S/"
cp -R "$REPO/docs" "$S/docs"
cp "$REPO/templates/aws-ci-creds.yml" "$S/templates/"
RC=0
"$S/scripts/stamp-version.sh" v9.8.7 --repo acme/tool >"$WORK/stamp.out" 2>&1 || RC=$?
RC2=0
(cd "$S" && scripts/stamp-version.sh --check) >>"$WORK/stamp.out" 2>&1 || RC2=$?
STAMP_RC=$RC
INSTALL_SH=$S/scripts/install.sh run_install "$DASH" "$P_FULL" -- --to "$WORK/stamped-bin" --base-url "$BASE"
if [ "$STAMP_RC" = 0 ] && [ "$RC2" = 1 ] && grep -qx 'DEFAULT_BASE_URL=https://github.com/acme/tool/releases/download' "$S/scripts/install.sh" &&
    [ "$(grep -c '"https://github.com/acme/tool/releases/download/v{ version }/' "$S/Cargo.toml")" = 3 ] &&
    grep -q 'raw.githubusercontent.com/acme/tool/v9.8.7/scripts/install.sh | sh$' "$S/README.md" &&
    grep -qF "v\${AWS_CI_CREDS_VERSION}/scripts/install.sh" "$S/docs/install.md" &&
    ! grep -q 'v0\.1\.0/scripts/install.sh' "$S/docs/install.md" &&
    "$PY" -c 'import sys,yaml
a = yaml.safe_load(open(sys.argv[1]))
head, body = open(sys.argv[2]).read().split("\n---\n")
i = yaml.safe_load(head)["spec"]["inputs"]
sys.exit(0 if a["inputs"]["version"]["default"] == "9.8.7" and i["version"]["default"] == "9.8.7"
         and i["installer_url"]["default"] == "https://raw.githubusercontent.com/acme/tool/v9.8.7/scripts/install.sh" else 1)' \
        "$S/action.yml" "$S/templates/aws-ci-creds.yml" &&
    [ "$RC" = 1 ] && grep -q "cannot download $BASE/v9\.8\.7/aws-ci-creds-9\.8\.7-$TARGET\.tar\.gz" "$ERR"; then
    ok "stamp-version.sh 9.8.7 --repo acme/tool: install.sh then asks for v9.8.7 there; the action, template and binstall follow; --check notices"
else
    not_ok "stamp-version.sh stamps install.sh, action.yml and the template" "stamp exit $STAMP_RC, --check exit $RC2, install exit $RC"
    show "$WORK/stamp.out"
    show "$ERR"
fi

# Every line a user copies names the stamped repository and release: the `uses:` and
# `component:` lines, the `remote:` include, the Dockerfile and `cargo install` lines.
sed -i 's/^version = ".*"$/version = "9.8.7"/' "$S/Cargo.toml"
RC=0
(cd "$S" && scripts/stamp-version.sh --check --release) >"$WORK/stamp.out" 2>&1 || RC=$?
left=$(grep -rnE 'OWNER/aws-ci-creds|aws-ci-creds@v?0\.|/v0\.[0-9]+\.[0-9]+/|--version 0\.' \
    "$S/README.md" "$S/docs" "$S/action.yml" "$S/templates" "$S/scripts/install.sh" | grep -v '/docs/benchmarks.md:' | grep -vF '`OWNER/aws-ci-creds`' || true)
if [ "$RC" = 0 ] && [ -z "$left" ] &&
    grep -q '^ *- uses: acme/tool@v9\.8\.7$' "$S/docs/ci/github.md" &&
    grep -q 'uses: acme/tool@v9\.8\.7`' "$S/README.md" &&
    grep -qF 'component: $CI_SERVER_FQDN/acme/tool/aws-ci-creds@9.8.7' "$S/docs/ci/gitlab.md" &&
    grep -qF 'component: $CI_SERVER_FQDN/acme/tool/aws-ci-creds@9.8.7' "$S/templates/aws-ci-creds.yml" &&
    grep -qF 'remote: https://raw.githubusercontent.com/acme/tool/v9.8.7/templates/aws-ci-creds.yml' "$S/docs/install.md" &&
    grep -qF 'cargo install --locked --git https://github.com/acme/tool --tag v9.8.7 ' "$S/docs/install.md"; then
    ok "stamped: every uses:, component:, remote:, install URL and version in README and docs/ names acme/tool 9.8.7; --check --release passes"
else
    not_ok "stamped: every line a user copies names the stamped repository and release" "--check --release exit $RC"
    show "$WORK/stamp.out"
    printf '%s\n' "$left" | sed 's/^/    | left: /'
fi
# One stale line (an edit by hand, a new page) fails --check, naming the file and line; the
# placeholder repository fails --check --release.
sed -i 's|uses: acme/tool@v9\.8\.7|uses: acme/tool@v9.8.6|' "$S/docs/ci/github.md"
RC=0
(cd "$S" && scripts/stamp-version.sh --check) >"$WORK/stamp.out" 2>&1 || RC=$?
RC2=0
(cd "$REPO" && scripts/stamp-version.sh --check --release) >>"$WORK/stamp.out" 2>&1 || RC2=$?
if [ "$RC" = 1 ] && grep -q 'docs/ci/github.md:[0-9]*: version 9\.8\.6' "$WORK/stamp.out" &&
    { grep -q '^DEFAULT_BASE_URL=https://github.com/OWNER/' "$REPO/scripts/install.sh" && [ "$RC2" = 1 ] &&
        grep -q 'placeholder OWNER/aws-ci-creds' "$WORK/stamp.out" ||
        ! grep -q '^DEFAULT_BASE_URL=https://github.com/OWNER/' "$REPO/scripts/install.sh"; }; then
    ok "--check names a line left behind (docs/ci/github.md:N: version 9.8.6); --check --release refuses the OWNER placeholder"
else
    not_ok "--check notices a line left behind and the placeholder" "--check exit $RC, --check --release exit $RC2"
    show "$WORK/stamp.out"
fi

# cargo binstall: its URL and bin-dir, expanded for every Linux host target, name a tarball of
# the release layout and the binary inside it.
RC=0
"$PY" - "$REPO/Cargo.toml" "$VERSION" "$TARGET" "$WWW/v$VERSION/$NAME.tar.gz" >"$WORK/binstall.out" 2>&1 <<'PYEOF' || RC=$?
import sys, tarfile, tomllib
cargo, version, target, tarball = sys.argv[1:]
meta = tomllib.load(open(cargo, "rb"))["package"]["metadata"]["binstall"]
arch = target.split("-")[0]
members = tarfile.open(tarball).getnames()
for host in (f"{arch}-unknown-linux-gnu", f"{arch}-unknown-linux-musl"):
    m = dict(meta, **meta.get("overrides", {}).get(host, {}))
    def expand(t):
        for k, v in {"name": "aws-ci-creds", "version": version, "target": host, "bin": "aws-ci-creds", "binary-ext": ""}.items():
            t = t.replace("{ %s }" % k, v)
        return t
    url, bin_dir = expand(m["pkg-url"]), expand(m["bin-dir"])
    want = f"/releases/download/v{version}/aws-ci-creds-{version}-{target}.tar.gz"
    assert url.startswith("https://github.com/") and url.endswith(want), (host, url)
    assert bin_dir in members, (host, bin_dir, members)
    assert m["pkg-fmt"] == "tgz"
    print(host, "->", url, bin_dir)
PYEOF
if [ "$RC" = 0 ]; then
    ok "cargo binstall metadata: gnu and musl hosts get the static tarball and its binary path"
else
    not_ok "cargo binstall metadata names the release tarball and the binary in it"
fi
show "$WORK/binstall.out"

# ==================================================================================================
ROLE=install-test
ROLE_ARN=arn:aws:iam::$EMU_ACCOUNT:role/$ROLE

# ==================================================================================================
section "GitHub Action (action.yml): its steps, then aws sts get-caller-identity"
if start_emulator github "$ROLE" 'repo:octo-org/octo-repo:*' unused; then
    for sh in "${SHELLS[@]}"; do
        n=$(shell_name "$sh")
        J=$WORK/gh-$RUN_NO
        RUN_NO=$((RUN_NO + 1))
        mkdir -p "$J/temp"
        path=$P_FULL
        # The mirror as the base-url input (which wins over the workflow's variable), or (BusyBox
        # run) only as a workflow-wide AWS_CI_CREDS_BASE_URL.
        mirror=(--input base-url="$BASE")
        job_mirror=http://127.0.0.1:9
        mirror_from="the base-url input"
        if [ "$sh" = "$BBSH" ]; then
            path=$P_BUSYBOX mirror=() job_mirror=$BASE mirror_from="the workflow's AWS_CI_CREDS_BASE_URL"
        fi
        job_env "$J/home" "$path"
        RC=0
        "${JOB_ENV[@]}" CI=true GITHUB_ACTIONS=true RUNNER_TEMP="$J/temp" \
            ACTIONS_ID_TOKEN_REQUEST_URL="$(ready github_token_request_url)" \
            ACTIONS_ID_TOKEN_REQUEST_TOKEN="$(ready github_request_token)" \
            GITHUB_RUN_ID=4242 GITHUB_RUN_ATTEMPT=1 GITHUB_REPOSITORY=octo-org/octo-repo \
            AWS_CI_CREDS_BASE_URL="$job_mirror" \
            "$PY" "$HERE/ci_harness.py" github "$REPO" --sh "$sh" --report "$J/report.json" \
            --input role-arn="$ROLE_ARN" --input region=eu-west-1 "${mirror[@]}" \
            --input version="$VERSION" --input session-duration=30m \
            -- "$AWS" sts get-caller-identity --output json >"$J/out" 2>"$J/err" || RC=$?
        got=$(arn_of "$J/out")
        want="arn:aws:sts::$EMU_ACCOUNT:assumed-role/$ROLE/gh-4242-1"
        if [ "$RC" = 0 ] && [ "$got" = "$want" ]; then
            ok "action under $n (mirror from $mirror_from): a later step's AWS CLI call is the assumed role"
        else
            not_ok "action under $n: a later step's AWS CLI call is the assumed role" "exit $RC, Arn '$got', want '$want'"
            show "$J/out"
            show "$J/err"
        fi
        exported=$(python3 -c 'import json,sys;print(" ".join(sorted(json.load(open(sys.argv[1]))["exported"])))' "$J/report.json" 2>/dev/null || true)
        cfg=$J/temp/aws-ci-creds/config
        if [ "$exported" = "AWS_CONFIG_FILE AWS_PROFILE AWS_REGION" ] &&
            python3 -c 'import json,sys;r=json.load(open(sys.argv[1]));e=r["exported"];sys.exit(0 if e["AWS_PROFILE"]=="ci" and e["AWS_REGION"]=="eu-west-1" and e["AWS_CONFIG_FILE"]==sys.argv[2] and r["path"]==[sys.argv[3]] else 1)' \
                "$J/report.json" "$cfg" "$J/temp/aws-ci-creds/bin"; then
            ok "action under $n: exports only AWS_PROFILE, AWS_CONFIG_FILE, AWS_REGION; PATH gets the install dir"
        else
            not_ok "action under $n: exports only AWS_PROFILE, AWS_CONFIG_FILE, AWS_REGION" "exported: $exported"
            show "$J/report.json"
        fi
        # No credential or token anywhere a later step or the log could see it.
        leaks=$(grep -l -E 'ASIA[A-Z0-9]{12,}|aws_secret_access_key|aws_session_token|github-request-token|eyJ[A-Za-z0-9_-]{10,}\.' \
            "$J/err" "$J/report.json" "$cfg" "$J"/temp/harness-*/env* 2>/dev/null || true)
        if [ -z "$leaks" ] && grep -q '^credential_process = .*--role-arn '"$ROLE_ARN"' --audience sts.amazonaws.com --duration 30m --region eu-west-1' "$cfg" &&
            grep -qx 'region = eu-west-1' "$cfg"; then
            ok "action under $n: the profile runs the binary; no key, token or request token in the log, GITHUB_ENV or config"
        else
            not_ok "action under $n: no secrets in the log, GITHUB_ENV or config; the profile has the inputs" "leaks in: $leaks"
            show "$cfg"
        fi
    done

    # A role the token does not satisfy: the action step itself fails, with the explanation.
    J=$WORK/gh-denied
    mkdir -p "$J/temp"
    job_env "$J/home" "$P_FULL"
    RC=0
    "${JOB_ENV[@]}" CI=true GITHUB_ACTIONS=true RUNNER_TEMP="$J/temp" \
        ACTIONS_ID_TOKEN_REQUEST_URL="$(ready github_token_request_url)" \
        ACTIONS_ID_TOKEN_REQUEST_TOKEN="$(ready github_request_token)" \
        GITHUB_RUN_ID=4242 GITHUB_RUN_ATTEMPT=1 \
        "$PY" "$HERE/ci_harness.py" github "$REPO" --sh "$DASH" --report "$J/report.json" \
        --input role-arn="arn:aws:iam::$EMU_ACCOUNT:role/other" --input base-url="$BASE" --input version="$VERSION" \
        -- true >"$J/out" 2>"$J/err" || RC=$?
    if [ "$RC" != 0 ] && grep -q "step 'Write the AWS profile' failed" "$J/err" &&
        python3 -c 'import json,sys;sys.exit(0 if json.load(open(sys.argv[1]))["exported"]=={} else 1)' "$J/report.json"; then
        ok "action: a role that cannot be assumed fails the action's own step and exports nothing"
    else
        not_ok "action: a role that cannot be assumed fails the action's own step" "exit $RC"
        show "$J/err"
    fi

    # No role-arn input: GitHub runs the action anyway, so its first step must stop, under
    # BusyBox sh too, before downloading anything.
    J=$WORK/gh-norole
    mkdir -p "$J/temp"
    job_env "$J/home" "$P_BUSYBOX"
    RC=0
    "${JOB_ENV[@]}" CI=true GITHUB_ACTIONS=true RUNNER_TEMP="$J/temp" \
        ACTIONS_ID_TOKEN_REQUEST_URL="$(ready github_token_request_url)" \
        ACTIONS_ID_TOKEN_REQUEST_TOKEN="$(ready github_request_token)" \
        "$PY" "$HERE/ci_harness.py" github "$REPO" --sh "$BBSH" --report "$J/report.json" \
        --input base-url="$BASE" --input version="$VERSION" \
        -- true >"$J/out" 2>"$J/err" || RC=$?
    if [ "$RC" != 0 ] && grep -q "step 'Install aws-ci-creds' failed with exit 2" "$J/err" &&
        grep -q "the action's role-arn input is empty" "$J/err" && ! grep -q downloading "$J/err" &&
        [ ! -e "$J/temp/aws-ci-creds" ]; then
        ok "action under busybox sh: without role-arn the first step exits 2, naming the input, before any download"
    else
        not_ok "action under busybox sh: without role-arn the first step fails, naming the input" "exit $RC"
        show "$J/err"
    fi
else
    not_ok "emulator for the action tests ready"
fi

# ==================================================================================================
section "GitLab component (templates/aws-ci-creds.yml): before_script, then aws sts get-caller-identity"
GL_SUB='project_path:group/project:ref_type:branch:ref:main'
if start_emulator gitlab "$ROLE" 'project_path:group/project:*' "$GL_SUB"; then
    for sh in "${SHELLS[@]}"; do
        n=$(shell_name "$sh")
        J=$WORK/gl-$RUN_NO
        RUN_NO=$((RUN_NO + 1))
        path=$P_FULL
        # The mirror as the base_url input (which wins over the pipeline's variable), or (BusyBox
        # run) only as a pipeline-wide AWS_CI_CREDS_BASE_URL.
        mirror=(--input base_url="$BASE")
        job_mirror=http://127.0.0.1:9
        mirror_from="the base_url input"
        if [ "$sh" = "$BBSH" ]; then
            path=$P_BUSYBOX mirror=() job_mirror=$BASE mirror_from="the pipeline's AWS_CI_CREDS_BASE_URL"
        fi
        job_env "$J/home" "$path"
        RC=0
        "${JOB_ENV[@]}" CI=true GITLAB_CI=true CI_SERVER_URL="$(ready issuer)" CI_PROJECT_ID=42 CI_JOB_ID=1001 \
            AWS_CI_CREDS_ID_TOKEN="$(cat "$EMU_TOKEN")" AWS_CI_CREDS_BASE_URL="$job_mirror" \
            "$PY" "$HERE/ci_harness.py" gitlab "$REPO/templates/aws-ci-creds.yml" --sh "$sh" --report "$J/report.json" \
            --input role_arn="$ROLE_ARN" --input region=eu-west-1 "${mirror[@]}" \
            --input version="$VERSION" --input installer_url="$BASE/install.sh" --input install_dir="$J/bin" \
            -- "$AWS" sts get-caller-identity --output json >"$J/out" 2>"$J/err" || RC=$?
        got=$(arn_of "$J/out")
        want="arn:aws:sts::$EMU_ACCOUNT:assumed-role/$ROLE/gl-42-1001"
        if [ "$RC" = 0 ] && [ "$got" = "$want" ]; then
            ok "component under $n (mirror from $mirror_from): the job's AWS CLI call (AWS_PROFILE from the template) is the assumed role"
        else
            not_ok "component under $n: the job's AWS CLI call is the assumed role" "exit $RC, Arn '$got', want '$want'"
            show "$J/out"
            show "$J/err"
        fi
        cfg=$J/home/.aws/config
        leaks=$(grep -l -E 'ASIA[A-Z0-9]{12,}|aws_secret_access_key|aws_session_token|eyJ[A-Za-z0-9_-]{10,}\.' \
            "$J/err" "$cfg" 2>/dev/null || true)
        if [ -z "$leaks" ] && grep -q "^credential_process = $J/bin/aws-ci-creds --role-arn $ROLE_ARN --token-env AWS_CI_CREDS_ID_TOKEN --audience sts.amazonaws.com --region eu-west-1" "$cfg"; then
            ok "component under $n: the profile names the token variable; no key or token in the log or config"
        else
            not_ok "component under $n: the profile names the token variable; no secrets" "leaks in: $leaks"
            show "$cfg"
        fi
    done
    # The installer cannot be fetched: the job fails in before_script, saying which input to check.
    J=$WORK/gl-404
    job_env "$J/home" "$P_BUSYBOX"
    RC=0
    "${JOB_ENV[@]}" CI=true GITLAB_CI=true CI_SERVER_URL="$(ready issuer)" CI_PROJECT_ID=42 CI_JOB_ID=1001 \
        AWS_CI_CREDS_ID_TOKEN="$(cat "$EMU_TOKEN")" \
        "$PY" "$HERE/ci_harness.py" gitlab "$REPO/templates/aws-ci-creds.yml" --sh "$BBSH" --report "$J/report.json" \
        --input role_arn="$ROLE_ARN" --input installer_url="$BASE/missing/install.sh" --input install_dir="$J/bin" \
        -- echo SCRIPT-RAN >"$J/out" 2>"$J/err" || RC=$?
    if [ "$RC" != 0 ] && grep -q 'check the installer_url input' "$J/err" && ! grep -q SCRIPT-RAN "$J/out" && [ ! -e "$J/bin" ]; then
        ok "component: an installer URL that 404s fails before_script with the input to check"
    else
        not_ok "component: an installer URL that 404s fails before_script" "exit $RC"
        show "$J/err"
    fi
else
    not_ok "emulator for the component tests ready"
fi

# ==================================================================================================
section "the per-CI pages' manual recipes, as pasted (tests/install/recipe.py), then aws sts get-caller-identity"
# The docs' role; a token of the emulator's issuer stands in for each CI's, in its variable. The
# installer comes from the loopback server and the release from the mirror variable; the install
# directory is the job's own (as root, install.sh would otherwise pick /usr/local/bin).
ROLE=deploy
ROLE_ARN=arn:aws:iam::$EMU_ACCOUNT:role/$ROLE
AWS_DIR=$(dirname -- "$AWS")
# Any subject: the GitHub endpoint mints its own (repo:octo-org/…), the rest carry GL_SUB.
if start_emulator recipes "$ROLE" '*' "$GL_SUB"; then
    TOKEN=$(cat "$EMU_TOKEN")
    # page | the CI's variables (the token among them)
    RECIPES=(
        "docs/ci/gitlab.md|GITLAB_CI=true CI_SERVER_URL=$(ready issuer) CI_PROJECT_ID=42 CI_JOB_ID=1001 AWS_ID_TOKEN=$TOKEN"
        "docs/getting-started.md|GITLAB_CI=true CI_SERVER_URL=$(ready issuer) CI_PROJECT_ID=42 CI_JOB_ID=1001 AWS_ID_TOKEN=$TOKEN"
        "docs/ci/github.md|GITHUB_ACTIONS=true ACTIONS_ID_TOKEN_REQUEST_URL=$(ready github_token_request_url) ACTIONS_ID_TOKEN_REQUEST_TOKEN=$(ready github_request_token) GITHUB_RUN_ID=4242 GITHUB_RUN_ATTEMPT=1"
        "docs/ci/bitbucket.md|BITBUCKET_BUILD_NUMBER=7 BITBUCKET_REPO_SLUG=app BITBUCKET_STEP_OIDC_TOKEN=$TOKEN WORKSPACE_UUID=c0ffee"
        "docs/ci/circleci.md|CIRCLECI=true CIRCLE_BUILD_NUM=7 CIRCLE_PROJECT_REPONAME=app CIRCLE_OIDC_TOKEN_V2=$TOKEN"
        "docs/ci/codefresh.md|CF_BUILD_ID=7 ID_TOKEN=$TOKEN"
        "docs/ci/spacelift.md|SPACELIFT=true TF_VAR_spacelift_run_id=run1 SPACELIFT_OIDC_TOKEN=$TOKEN"
        "docs/ci/env0.md|ENV0_ENVIRONMENT_ID=env1 ENV0_DEPLOYMENT_LOG_ID=log1 ENV0_OIDC_TOKEN=$TOKEN"
        "docs/ci/hcp-terraform.md|TFC_RUN_ID=run-1 TFC_WORKLOAD_IDENTITY_TOKEN=$TOKEN"
        "docs/ci/kubernetes.md|AWS_WEB_IDENTITY_TOKEN_FILE=$(dirname -- "$EMU_TOKEN")/token.jwt"
    )
    for entry in "${RECIPES[@]}"; do
        page=${entry%%|*}
        read -r -a ci_vars <<<"${entry#*|}"
        J=$WORK/recipe-$RUN_NO
        RUN_NO=$((RUN_NO + 1))
        job_env "$J/home" "$AWS_DIR:$P_FULL"
        RC=0
        "${JOB_ENV[@]}" CI=true "${ci_vars[@]}" AWS_CI_CREDS_BASE_URL="$BASE" AWS_CI_CREDS_INSTALL_DIR="$J/bin" \
            "$PY" "$HERE/recipe.py" "$REPO/$page" --sh "$DASH" --installer "$BASE/install.sh" \
            >"$J/out" 2>"$J/err" || RC=$?
        if [ "$RC" = 0 ] && grep -q "\"Arn\": \"arn:aws:sts::$EMU_ACCOUNT:assumed-role/$ROLE/" "$J/out" &&
            grep -q "^credential_process = $J/bin/aws-ci-creds --role-arn $ROLE_ARN" "$J/home/.aws/config"; then
            ok "$page: the manual recipe installs the binary, writes the profile and the job's AWS CLI call is the role"
        else
            not_ok "$page: the manual recipe, pasted into a fresh job, works" "exit $RC"
            show "$J/out"
            show "$J/err"
        fi
    done
else
    not_ok "emulator for the recipe tests ready"
fi

finish
