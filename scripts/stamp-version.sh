#!/bin/sh
# The one release step that names the release: stamps its version and the GitHub repository its
# assets live in into every file a user copies from, so that no copied line installs an older
# release or points at another repository:
#   scripts/install.sh          DEFAULT_VERSION, DEFAULT_BASE_URL, the one-line install comment
#   action.yml                  the `version` input's default (github.action_ref is empty inside a
#                               composite action's run: steps, actions/runner#2473)
#   templates/aws-ci-creds.yml  the `version` and `installer_url` defaults, the `component:` line
#   Cargo.toml                  the repository in cargo binstall's URLs
#   README.md, docs/**/*.md     every install URL, `uses: REPO@vX`, `component: …/REPO/…@X`,
#                               `remote:` include, release tarball name, `--version X`,
#                               `--tag vX`, `AWS_CI_CREDS_VERSION=X`, `--version` output and
#                               this script's own `stamp-version.sh X --repo` examples
#                               (docs/benchmarks.md keeps the versions it measured)
# Cargo.toml's own `version` is bumped by hand (or cargo set-version) before this runs.
#
# Usage: scripts/stamp-version.sh [VERSION] [--repo OWNER/NAME]   (then commit and tag vVERSION)
#        scripts/stamp-version.sh --check [--release]
#   --check     exit 1 if any of those places names another version than Cargo.toml's or another
#               repository than install.sh's, listing each as FILE:LINE
#   --release   with --check: also exit 1 while the repository is the OWNER/… placeholder
# VERSION defaults to Cargo.toml's; --repo to the one install.sh names now.
set -eu

cd -- "$(dirname -- "$0")/.."

cargo_version() { sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1; }
current_repo() { sed -n 's|^DEFAULT_BASE_URL=https://github.com/\(.*\)/releases/download$|\1|p' scripts/install.sh; }

# The files a user copies from. benchmarks.md records what was measured, with its version.
files() {
    printf '%s\n' scripts/install.sh action.yml templates/aws-ci-creds.yml Cargo.toml README.md
    find docs -name '*.md' ! -name benchmarks.md | LC_ALL=C sort
}

# Every place that names a repository or a version, one a line: KIND, the text before the name
# and the text after it, as Perl regexes (the name itself matches R or V).
R='[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+'
V='[0-9]+\.[0-9]+\.[0-9]+(?:-(?:alpha|beta|rc)[0-9.]*)?'
PLACES='repo	raw\.githubusercontent\.com/	/v
repo	/github-releases/	/releases/download
version	raw\.githubusercontent\.com/[^/ ]+/[^/ ]+/v	/
repo	uses: +	@
version	uses: +[^@ ]+@v	(?:[^0-9.]|$)
version	uses: +[^@ ]+@<full commit sha> +# v	(?:[^0-9.]|$)
repo	component: +\$CI_SERVER_FQDN/	/aws-ci-creds@
version	component: +\$CI_SERVER_FQDN/[^@ ]+/aws-ci-creds@	(?:[^0-9.]|$)
repo	https://github\.com/	/releases/download
repo	--git https://github\.com/	 
version	--tag v	 
version	aws-ci-creds-	-(?:x86_64|aarch64)
version	--version 	 
version	AWS_CI_CREDS_VERSION=	(?:[^0-9.]|$)
version	--version +# aws-ci-creds 	 
version	^DEFAULT_VERSION=	$
version	stamp-version\.sh 	 --repo
version	Stamped at release by scripts/stamp-version\.sh.*\n *default: \x27	\x27'
# The program that reads one file on stdin and, with MODE=find, lists every place as
# FILE:LINE<TAB>KIND<TAB>NAME, or with MODE=stamp prints the file with NEW_REPO and NEW_VERSION
# in every place.
PERL='
my @places = map { [split /\t/] } split /\n/, $ENV{PLACES};
local $/; my $text = <STDIN>;
for my $p (@places) {
    my ($kind, $before, $after) = @$p;
    my $name = $kind eq "repo" ? $ENV{R} : $ENV{V};
    if ($ENV{MODE} eq "find") {
        while ($text =~ /($before)($name)(?=$after)/mg) {
            my ($found, $at) = ($2, $-[2]);
            my $line = 1 + (() = substr($text, 0, $at) =~ /\n/g);
            print "$ENV{FILE}:$line\t$kind\t$found\n";
        }
    } else {
        my $new = $kind eq "repo" ? $ENV{NEW_REPO} : $ENV{NEW_VERSION};
        $text =~ s/($before)$name(?=$after)/$1$new/mg;
    }
}
print $text if $ENV{MODE} eq "stamp";
'
export PLACES R V

# found : every place in every file
found() { files | while read -r f; do MODE=find FILE=$f perl -e "$PERL" <"$f"; done; }

VERSION=
REPO=
CHECK=0
RELEASE=0
while [ $# -gt 0 ]; do
    case $1 in
    --repo) REPO=${2:?--repo needs OWNER/NAME}; shift 2 ;;
    --repo=*) REPO=${1#*=}; shift ;;
    --check) CHECK=1; shift ;;
    --release) RELEASE=1; shift ;;
    -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "stamp-version.sh: unknown argument $1" >&2; exit 2 ;;
    *) VERSION=$1; shift ;;
    esac
done

if [ "$CHECK" = 1 ]; then
    want=$(cargo_version)
    repo=$(current_repo)
    all=$(found)
    bad=$(printf '%s\n' "$all" | LC_ALL=C sort -t: -k1,1 -k2,2n | awk -F '\t' -v v="$want" -v r="$repo" \
        '($2 == "version" && $3 != v) || ($2 == "repo" && $3 != r) { print "  " $1 ": " $2 " " $3 }')
    for f in scripts/install.sh action.yml templates/aws-ci-creds.yml README.md docs/install.md; do
        if ! printf '%s\n' "$all" | grep -q "^$f:[0-9]*	version	"; then
            bad="$bad
  $f: names no version at all (a stamped line was rewritten by hand?)"
        fi
    done
    if [ -n "$bad" ]; then
        echo "stamp-version.sh: these do not name version $want (Cargo.toml) and repository $repo (install.sh):
$bad" >&2
        echo "stamp-version.sh:   fix: run scripts/stamp-version.sh $want --repo $repo" >&2
        exit 1
    fi
    case $repo in
    OWNER/*)
        if [ "$RELEASE" = 1 ]; then
            echo "stamp-version.sh: the repository is still the placeholder $repo" >&2
            echo "stamp-version.sh:   fix: run scripts/stamp-version.sh $want --repo YOUR-ORG/aws-ci-creds" >&2
            exit 1
        fi
        echo "stamp-version.sh: every place names $want and $repo (a placeholder: stamp --repo before a release)"
        ;;
    *) echo "stamp-version.sh: every place names $want and $repo" ;;
    esac
    exit 0
fi

VERSION=${VERSION:-$(cargo_version)}
VERSION=${VERSION#v}
if ! printf '%s\n' "$VERSION" | perl -ne 'exit(/^$ENV{V}$/ ? 0 : 1)'; then
    echo "stamp-version.sh: '$VERSION' is not a version (X.Y.Z or X.Y.Z-rc.N)" >&2
    exit 2
fi
REPO=${REPO:-$(current_repo)}
if ! printf '%s\n' "$REPO" | perl -ne 'exit(/^$ENV{R}$/ ? 0 : 1)'; then
    echo "stamp-version.sh: --repo '$REPO' is not OWNER/NAME" >&2
    exit 2
fi

# stamp FILE : rewrite FILE in place through a temp file (keeps its mode)
stamp() {
    MODE=stamp NEW_REPO=$REPO NEW_VERSION=$VERSION perl -e "$PERL" <"$1" >"$1.stamp.tmp"
    cat "$1.stamp.tmp" >"$1"
    rm -f "$1.stamp.tmp"
}
files | while read -r f; do stamp "$f"; done
echo "stamp-version.sh: stamped $VERSION ($REPO) into scripts/install.sh, action.yml, templates/aws-ci-creds.yml, Cargo.toml, README.md and docs/"
