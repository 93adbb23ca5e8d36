#!/bin/sh
# Installs the static aws-ci-creds binary for this machine's architecture from a release
# (or a mirror of one), after checking its SHA-256.
#
#   curl -fsSL https://raw.githubusercontent.com/OWNER/aws-ci-creds/v0.2.0/scripts/install.sh | sh -s -- [OPTIONS]
#   sh install.sh [--version V] [--to DIR] [--base-url URL] [--sha256 HASH] [--force]
#
#   --version V     release to install (env AWS_CI_CREDS_VERSION; default: the version this
#                   script was released with)
#   --to DIR        install directory (env AWS_CI_CREDS_INSTALL_DIR; default: /usr/local/bin
#                   when writable, else $HOME/.local/bin)
#   --base-url URL  where releases live (env AWS_CI_CREDS_BASE_URL): the script fetches
#                   URL/v<version>/aws-ci-creds-<version>-<target>.tar.gz and its .sha256
#   --sha256 HASH   expected SHA-256 of that tarball (env AWS_CI_CREDS_SHA256); without it the
#                   .sha256 file next to the tarball is trusted
#   --force         reinstall even when this version is already installed
#
# Prints the installed binary's path on stdout (progress goes to stderr). Exit status: 0
# installed (or already installed), 1 something failed (nothing was changed), 2 bad usage.
# Needs sh (dash, BusyBox ash, bash), curl or wget, tar, gzip, and sha256sum, shasum or
# openssl. Honours HTTPS_PROXY, HTTP_PROXY and NO_PROXY.
set -uf

# Stamped at release by scripts/stamp-version.sh.
DEFAULT_VERSION=0.2.0
DEFAULT_BASE_URL=https://github.com/OWNER/aws-ci-creds/releases/download

SUPPORTED="x86_64 (amd64) and aarch64 (arm64) Linux"
ME=install.sh

say() { printf '%s: %s\n' "$ME" "$*" >&2; }
# die WHAT FIX : the failure and what to do about it; the EXIT trap removes the temp files.
die() {
    printf '%s: error: %s\n' "$ME" "$1" >&2
    if [ -n "${2:-}" ]; then printf '%s:   fix: %s\n' "$ME" "$2" >&2; fi
    exit 1
}
usage_error() {
    printf '%s: error: %s\n' "$ME" "$1" >&2
    printf '%s:   usage: install.sh [--version V] [--to DIR] [--base-url URL] [--sha256 HASH] [--force]\n' "$ME" >&2
    exit 2
}

# --- arguments --------------------------------------------------------------------------------
VERSION=${AWS_CI_CREDS_VERSION:-}
DIR=${AWS_CI_CREDS_INSTALL_DIR:-}
BASE_URL=${AWS_CI_CREDS_BASE_URL:-}
PIN=${AWS_CI_CREDS_SHA256:-}
FORCE=0
need_value() {
    if [ "$2" -lt 2 ]; then usage_error "$1 needs a value"; fi
}
while [ $# -gt 0 ]; do
    case $1 in
    --version) need_value "$1" $#; VERSION=$2; shift 2 ;;
    --version=*) VERSION=${1#*=}; shift ;;
    --to) need_value "$1" $#; DIR=$2; shift 2 ;;
    --to=*) DIR=${1#*=}; shift ;;
    --base-url) need_value "$1" $#; BASE_URL=$2; shift 2 ;;
    --base-url=*) BASE_URL=${1#*=}; shift ;;
    --sha256) need_value "$1" $#; PIN=$2; shift 2 ;;
    --sha256=*) PIN=${1#*=}; shift ;;
    --force) FORCE=1; shift ;;
    -h | --help)
        # Only when run from a file: piped through sh there is no $0 to read.
        if [ -r "$0" ]; then sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; fi
        exit 0
        ;;
    *) usage_error "unknown argument '$1'" ;;
    esac
done

VERSION=${VERSION:-$DEFAULT_VERSION}
VERSION=${VERSION#v}
case $VERSION in
'' | *[!0-9A-Za-z.+-]*) usage_error "--version '$VERSION' is not a version such as $DEFAULT_VERSION" ;;
esac
BASE_URL=${BASE_URL:-$DEFAULT_BASE_URL}
while :; do
    case $BASE_URL in
    */) BASE_URL=${BASE_URL%/} ;;
    *) break ;;
    esac
done
case $BASE_URL in
http://* | https://* | file://*) ;;
*) usage_error "--base-url '$BASE_URL' is not an http(s):// URL" ;;
esac
if [ -n "$PIN" ]; then
    PIN=$(printf '%s' "$PIN" | tr 'A-F' 'a-f')
    case $PIN in
    *[!0-9a-f]*) usage_error "--sha256 must be 64 hexadecimal digits (the first field of the .sha256 file)" ;;
    esac
    if [ ${#PIN} -ne 64 ]; then
        usage_error "--sha256 must be 64 hexadecimal digits (the first field of the .sha256 file)"
    fi
fi

# --- platform ---------------------------------------------------------------------------------
OS=$(uname -s 2>/dev/null) || OS=unknown
case $OS in
Linux) ;;
Darwin) die "there is no macOS release binary (this script installs $SUPPORTED binaries)" \
    "on macOS build it from source: cargo install --locked --git <repository URL> aws-ci-creds" ;;
*) die "this system is '$OS'; release binaries exist for $SUPPORTED only" \
    "build from source with cargo (see docs/install.md)" ;;
esac
ARCH=$(uname -m 2>/dev/null) || ARCH=unknown
case $ARCH in
x86_64 | amd64) TARGET=x86_64-unknown-linux-musl ;;
aarch64 | arm64) TARGET=aarch64-unknown-linux-musl ;;
*) die "unsupported architecture '$ARCH' (uname -m); release binaries exist for $SUPPORTED" \
    "on another architecture build from source with cargo (see docs/install.md)" ;;
esac

# --- install directory --------------------------------------------------------------------------
PATH_HINT=0
if [ -z "$DIR" ]; then
    if [ -d /usr/local/bin ] && [ -w /usr/local/bin ]; then
        DIR=/usr/local/bin
    elif [ -n "${HOME:-}" ]; then
        DIR=$HOME/.local/bin
        PATH_HINT=1
    else
        die "/usr/local/bin is not writable and HOME is not set" "pass --to DIR (a writable directory)"
    fi
fi
DEST=$DIR/aws-ci-creds

# Idempotent: the same version already there is a no-op (its --version says which it is).
if [ "$FORCE" = 0 ] && [ -x "$DEST" ] && [ -f "$DEST" ]; then
    installed=$("$DEST" --version 2>/dev/null) || installed=
    # shellcheck disable=SC2086 # split into words on purpose (globbing is off: set -f)
    set -- $installed
    if [ "${1:-}" = aws-ci-creds ] && [ "${2:-}" = "$VERSION" ]; then
        say "$installed is already installed at $DEST; nothing to do (--force reinstalls)"
        printf '%s\n' "$DEST"
        exit 0
    fi
fi

# --- tools ------------------------------------------------------------------------------------
# curl and wget read lower-case proxy variables (wget only those); CI systems set upper-case ones.
if [ -n "${HTTPS_PROXY:-}" ] && [ -z "${https_proxy:-}" ]; then https_proxy=$HTTPS_PROXY; export https_proxy; fi
if [ -n "${HTTP_PROXY:-}" ] && [ -z "${http_proxy:-}" ]; then http_proxy=$HTTP_PROXY; export http_proxy; fi
if [ -n "${NO_PROXY:-}" ] && [ -z "${no_proxy:-}" ]; then no_proxy=$NO_PROXY; export no_proxy; fi

if command -v curl >/dev/null 2>&1; then
    FETCH=curl
elif command -v wget >/dev/null 2>&1; then
    FETCH=wget
    # BusyBox wget has no --tries, and Debian's 1.35 crashes on -T: timeouts for GNU wget only.
    case $(wget --version 2>/dev/null) in
    *"GNU Wget"*) FETCH=gnu-wget ;;
    esac
else
    die "neither curl nor wget is installed" \
        "install one (apk add curl / apt-get install curl / yum install curl), or download the tarball yourself (docs/install.md)"
fi
# fetch URL FILE
fetch() {
    case $FETCH in
    curl) curl -fsSL --retry 3 --connect-timeout 30 -o "$2" "$1" ;;
    gnu-wget) wget -q --tries=3 -T 30 -O "$2" "$1" ;;
    wget) wget -q -O "$2" "$1" ;;
    esac
}

if command -v sha256sum >/dev/null 2>&1; then
    HASHER=sha256sum
elif command -v shasum >/dev/null 2>&1; then
    HASHER=shasum
elif command -v openssl >/dev/null 2>&1; then
    HASHER=openssl
else
    die "no SHA-256 tool: none of sha256sum, shasum or openssl is installed" \
        "install coreutils, busybox or openssl, then run this again"
fi
# sha256_of FILE : prints the lower-case hex digest
sha256_of() {
    case $HASHER in
    sha256sum) out=$(sha256sum "$1") || return 1 ;;
    shasum) out=$(shasum -a 256 "$1") || return 1 ;;
    # "SHA256(file)= <hex>" or "SHA2-256(file)= <hex>": the digest is the last field.
    openssl) out=$(openssl dgst -sha256 "$1") || return 1; out=${out##* } ;;
    esac
    # shellcheck disable=SC2086 # the digest is the first word (globbing is off: set -f)
    set -- $out
    printf '%s' "$1" | tr 'A-F' 'a-f'
}

# --- download and verify ------------------------------------------------------------------------
TMP=
STAGED=
cleanup() {
    if [ -n "$STAGED" ]; then rm -f "$STAGED"; fi
    if [ -n "$TMP" ]; then rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

TMP=$(mktemp -d "${TMPDIR:-/tmp}/aws-ci-creds-install.XXXXXX") ||
    die "cannot create a temporary directory in ${TMPDIR:-/tmp}" "set TMPDIR to a writable directory"

NAME=aws-ci-creds-$VERSION-$TARGET
URL=$BASE_URL/v$VERSION/$NAME.tar.gz
say "downloading $URL"
if ! fetch "$URL" "$TMP/$NAME.tar.gz"; then
    die "cannot download $URL (${FETCH#gnu-} failed, see above)" \
        "check that release v$VERSION exists there (--version), the mirror URL (--base-url), and the network or HTTPS_PROXY"
fi

if [ -n "$PIN" ]; then
    WANT=$PIN
    FROM="--sha256"
else
    if ! fetch "$URL.sha256" "$TMP/$NAME.tar.gz.sha256"; then
        die "cannot download $URL.sha256 (${FETCH#gnu-} failed, see above)" \
            "the release must have a .sha256 file next to each tarball; or pass --sha256 HASH"
    fi
    read -r WANT _ <"$TMP/$NAME.tar.gz.sha256" || :
    WANT=$(printf '%s' "$WANT" | tr 'A-F' 'a-f')
    case $WANT in
    *[!0-9a-f]* | '') die "$URL.sha256 does not start with a SHA-256 digest" "check the mirror serves the release files unchanged" ;;
    esac
    if [ ${#WANT} -ne 64 ]; then
        die "$URL.sha256 does not start with a SHA-256 digest" "check the mirror serves the release files unchanged"
    fi
    FROM="$NAME.tar.gz.sha256"
fi
GOT=$(sha256_of "$TMP/$NAME.tar.gz") || die "cannot compute the SHA-256 of the download ($HASHER failed)"
if [ "$GOT" != "$WANT" ]; then
    die "SHA-256 mismatch for $NAME.tar.gz: expected $WANT ($FROM), got $GOT; nothing was installed" \
        "the download is corrupt or has been tampered with: retry, check the mirror and any proxy, and compare the hash with the release page"
fi
say "SHA-256 $GOT verified ($FROM)"

# Only the binary is needed; extracting just that member keeps the rest of the archive out.
mkdir "$TMP/x" || die "cannot create $TMP/x"
if ! gzip -dc "$TMP/$NAME.tar.gz" >"$TMP/$NAME.tar"; then
    die "cannot decompress $NAME.tar.gz (gzip failed)" "install gzip, or check the release file"
fi
if ! (cd "$TMP/x" && tar -xf "../$NAME.tar" "$NAME/aws-ci-creds"); then
    die "$NAME.tar.gz has no $NAME/aws-ci-creds (tar failed)" "check that the base URL serves aws-ci-creds release tarballs"
fi
NEW=$TMP/x/$NAME/aws-ci-creds

# --- install (atomic: stage next to the target, then rename over it) ----------------------------
if ! mkdir -p "$DIR" 2>/dev/null; then
    die "cannot create the install directory $DIR" "pass --to DIR with a directory you can write to"
fi
STAGED=$DIR/.aws-ci-creds.install.$$
if ! cp "$NEW" "$STAGED" 2>/dev/null || ! chmod 0755 "$STAGED"; then
    die "cannot write to $DIR" "run as a user who can write there, or pass --to DIR (e.g. --to \$HOME/.local/bin)"
fi
# Run where it will live: that also catches an install directory on a noexec mount.
if ! new_version=$("$STAGED" --version 2>&1); then
    die "the downloaded binary does not run from $DIR ($ARCH): $new_version" \
        "if $DIR is on a noexec mount pass --to with another directory; otherwise report this with the output of 'uname -a'"
fi
if ! mv -f "$STAGED" "$DEST"; then
    die "cannot replace $DEST" "check the permissions of $DIR"
fi
STAGED=
say "installed $new_version to $DEST"
printf '%s\n' "$DEST"

if [ "$PATH_HINT" = 1 ]; then
    case :$PATH: in
    *":$DIR:"*) ;;
    *) say "note: $DIR is not on PATH; add it: export PATH=\"$DIR:\$PATH\"" ;;
    esac
fi
