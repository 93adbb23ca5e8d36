#!/bin/sh
# Stamps a release's version (and the GitHub repository its assets live in) into the files that
# must name it without asking git at run time:
#   scripts/install.sh         DEFAULT_VERSION, DEFAULT_BASE_URL, the one-line install comment
#   action.yml                 the `version` input's default (github.action_ref is empty inside a
#                              composite action's run: steps, actions/runner#2473)
#   templates/aws-ci-creds.yml the `version` and `installer_url` defaults
#   Cargo.toml                 the repository in cargo binstall's URLs
#   README.md, docs/install.md the one-line install's URL
# Cargo.toml's own `version` is bumped by hand (or cargo set-version) before this runs.
#
# Usage: scripts/stamp-version.sh [VERSION] [--repo OWNER/NAME]   (then commit and tag vVERSION)
#        scripts/stamp-version.sh --check   exit 1 unless all three name Cargo.toml's version
# VERSION defaults to Cargo.toml's; --repo to the one the three files name now.
set -eu

cd -- "$(dirname -- "$0")/.."

cargo_version() { sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1; }
stamped() { # the versions the three files name, one a line (5 of them)
    sed -n 's/^DEFAULT_VERSION=//p' scripts/install.sh
    awk '/Stamped at release by scripts\/stamp-version.sh/ { getline; if ($1 == "default:" && $2 ~ /^\047/) { gsub(/\047/, "", $2); print $2 } }' \
        action.yml templates/aws-ci-creds.yml
    sed -n 's|.*raw.githubusercontent.com/[^/ ]*/[^/ ]*/v\([^/ ]*\)/scripts/install.sh.*|\1|p' \
        scripts/install.sh templates/aws-ci-creds.yml
}

VERSION=
REPO=
CHECK=0
while [ $# -gt 0 ]; do
    case $1 in
    --repo) REPO=${2:?--repo needs OWNER/NAME}; shift 2 ;;
    --repo=*) REPO=${1#*=}; shift ;;
    --check) CHECK=1; shift ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "stamp-version.sh: unknown argument $1" >&2; exit 2 ;;
    *) VERSION=$1; shift ;;
    esac
done

if [ "$CHECK" = 1 ]; then
    want=$(cargo_version)
    bad=$(stamped | grep -vx "$want" || true)
    if [ -n "$bad" ] || [ "$(stamped | wc -l)" -ne 5 ]; then
        echo "stamp-version.sh: install.sh, action.yml and the template must name $want (Cargo.toml), found: $(stamped | tr '\n' ' ')" >&2
        echo "stamp-version.sh:   fix: run scripts/stamp-version.sh $want" >&2
        exit 1
    fi
    echo "stamp-version.sh: all three name $want"
    exit 0
fi

VERSION=${VERSION:-$(cargo_version)}
VERSION=${VERSION#v}
case $VERSION in
'' | *[!0-9A-Za-z.+-]*) echo "stamp-version.sh: '$VERSION' is not a version" >&2; exit 2 ;;
esac
if [ -z "$REPO" ]; then
    REPO=$(sed -n 's|^DEFAULT_BASE_URL=https://github.com/\(.*\)/releases/download$|\1|p' scripts/install.sh)
fi
case $REPO in
*/*) ;;
*) echo "stamp-version.sh: --repo '$REPO' is not OWNER/NAME" >&2; exit 2 ;;
esac

# stamp FILE SED-SCRIPT : rewrite FILE in place through a temp file (keeps its mode)
stamp() {
    sed "$2" "$1" >"$1.stamp.tmp"
    cat "$1.stamp.tmp" >"$1"
    rm -f "$1.stamp.tmp"
}
RAW="s|raw.githubusercontent.com/[^/ ]*/[^/ ]*/v[0-9][0-9A-Za-z.+-]*/scripts/install.sh|raw.githubusercontent.com/$REPO/v$VERSION/scripts/install.sh|g"
MARKED="/Stamped at release by scripts\/stamp-version.sh/{n;s/^\( *default: \)'[^']*'\$/\1'$VERSION'/;}"
stamp scripts/install.sh "s|^DEFAULT_VERSION=.*|DEFAULT_VERSION=$VERSION|;s|^DEFAULT_BASE_URL=.*|DEFAULT_BASE_URL=https://github.com/$REPO/releases/download|;$RAW"
stamp action.yml "$MARKED"
stamp templates/aws-ci-creds.yml "$MARKED;$RAW;s|\(/aws-ci-creds/aws-ci-creds@\)[0-9][^ ]*|\1$VERSION|"
# cargo binstall's URLs carry { version } themselves: only the repository changes.
stamp Cargo.toml "s|\"https://github.com/[^/\" ]*/[^/\" ]*/releases/download/v{ version }/|\"https://github.com/$REPO/releases/download/v{ version }/|"
# The one-line install the README and docs/install.md show (their other examples stay as written).
stamp README.md "$RAW"
stamp docs/install.md "$RAW"
echo "stamp-version.sh: stamped $VERSION ($REPO) into scripts/install.sh, action.yml, templates/aws-ci-creds.yml, Cargo.toml, README.md, docs/install.md"
