#!/usr/bin/env bash
# The project's benchmark: whole-process timings with hyperfine and /usr/bin/time, each next to a
# baseline measured in the same run (timings on shared machines are noisy; ratios are what count).
#
#   benches/run.sh            # prints a Markdown report on stdout
#
# It measures the static x86_64 release binary, dist/aws-ci-creds-<version>-x86_64-unknown-linux-musl/
# (scripts/dist.sh --target x86_64-unknown-linux-musl builds it when it is missing), or
# AWS_CI_CREDS_BIN. BENCH_COMPARE="label=path ..." adds other builds of the same sources to the
# start-up and cache-hit sections, side by side in the same run (e.g. the glibc build, or a
# static-pie build when weighing the linking policy).
#
# Needs: hyperfine, curl, jq, /usr/bin/time, readelf (Debian: hyperfine curl jq time binutils).
# The AWS CLI part uses tests/e2e/.venv (tests/e2e/setup.sh makes it) and is skipped without it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
for tool in hyperfine curl jq /usr/bin/time readelf; do
    command -v "$tool" >/dev/null || { echo "benches/run.sh needs $tool" >&2; exit 2; }
done

TARGET=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
VERSION=$(cargo metadata --format-version 1 --no-deps | jq -r '.packages[] | select(.name == "aws-ci-creds") | .version')
BIN=${AWS_CI_CREDS_BIN:-$ROOT/dist/aws-ci-creds-$VERSION-x86_64-unknown-linux-musl/aws-ci-creds}
if [ -z "${AWS_CI_CREDS_BIN:-}" ] && [ ! -x "$BIN" ]; then
    scripts/dist.sh --target x86_64-unknown-linux-musl >&2
fi
# The emulator's speed only matters to part 2, where curl talks to the same one: the debug
# build saves a second LTO build; a release build is used when there is one.
EMU=$TARGET/release/examples/sts_emulator
if [ ! -x "$EMU" ]; then
    cargo build --quiet --example sts_emulator
    EMU=$TARGET/debug/examples/sts_emulator
fi
# label=path pairs: the binary under test first, then BENCH_COMPARE's.
BINS=("aws-ci-creds=$BIN")
read -r -a extra <<<"${BENCH_COMPARE:-}"
BINS+=("${extra[@]}")

W=$(mktemp -d)
EMU_PID=
cleanup() { [ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT

ROLE=arn:aws:iam::123456789012:role/bench
"$EMU" --role-arn "$ROLE" --audience sts.amazonaws.com --subject-like 'project_path:bench/app:*' \
    --sub project_path:bench/app:ref_type:branch:ref:main --claims '{"project_id":"1","job_id":"2"}' \
    --token-out "$W/token" --ready-file "$W/ready.json" >/dev/null 2>&1 &
EMU_PID=$!
for _ in $(seq 100); do [ -s "$W/ready.json" ] && break; sleep 0.05; done
STS=$(jq -r .sts_endpoint "$W/ready.json")
CALLS_URL=$(jq -r .issuer "$W/ready.json")/_emulator/calls
calls() { curl -s "$CALLS_URL" | jq -r .AssumeRoleWithWebIdentity; }

# A clean environment: no CI or AWS variables from this machine. hyperfine and /usr/bin/time
# themselves run in it, so every command, baselines included, sees the same environment and no
# wrapper process is timed.
run_env=(env -i PATH="$PATH" HOME="$W/home")
ARGS=(--role-arn "$ROLE" --token-file "$W/token" --sts-endpoint "$STS")

echo "# Benchmark report"
echo
echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); machine: $(nproc) cores, $(uname -m); $("$BIN" --version)"
echo "- binary: $(stat -c %s "$BIN") bytes (release, stripped): $(file -b "$BIN" 2>/dev/null | cut -d, -f1-3)"
echo

"${run_env[@]}" "$BIN" "${ARGS[@]}" --cache-dir "$W/cache" >/dev/null
ENTRY=$(ls "$W/cache"/*.json)
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# median of 21 /usr/bin/time samples of FIELD (%M peak RSS KiB, %R minor faults, %F major faults)
sample() {
    local field=$1
    shift
    for _ in $(seq 21); do "${run_env[@]}" /usr/bin/time -f "$field" "$@" 2>&1 >/dev/null | tail -1; done | median
}

echo "## 0. Start-up costs of a cache hit"
echo
echo "| build | file size | relocations to apply | minor page faults | peak RSS (KiB) |"
echo "|:---|---:|---:|---:|---:|"
for b in "${BINS[@]}" "cat=$(command -v cat)"; do
    label=${b%%=*} path=${b#*=}
    if [ "$label" = cat ]; then cmd=("$path" "$ENTRY"); else cmd=("$path" "${ARGS[@]}" --cache-dir "$W/cache"); fi
    # Entries in .rela.dyn/.rela.plt: each is applied by the loader (or a static-pie's own
    # start code) before main, and dirties the page it writes.
    relocs=$(readelf -rW "$path" 2>/dev/null | grep -cE '^[0-9a-f]{8,} ' || true)
    echo "| $label | $(stat -c %s "$path") | $relocs | $(sample %R "${cmd[@]}") | $(sample %M "${cmd[@]}") |"
done
echo

echo "## 1. Cache hit vs cat of the same cache file"
hf=()
for b in "${BINS[@]}"; do hf+=(-n "${b%%=*} (cache hit)" "${b#*=} ${ARGS[*]} --cache-dir $W/cache"); done
"${run_env[@]}" hyperfine -N --warmup 20 --runs 300 --style none --export-markdown "$W/hit.md" --export-json "$W/hit.json" \
    "${hf[@]}" -n "cat (same file)" "cat $ENTRY" >/dev/null
cat "$W/hit.md"
jq -r '.results[] | "- median \(.command): \(.median * 1000 | . * 100 | round / 100) ms"' "$W/hit.json"
jq -r '(.results[] | select(.command == "cat (same file)") | .median) as $cat |
    .results[] | select(.command != "cat (same file)") |
    "- \(.command): \(.median / $cat * 100 | round / 100) × cat (median)"' "$W/hit.json"
echo
echo "Peak RSS (median of 21): aws-ci-creds $(sample %M "$BIN" "${ARGS[@]}" --cache-dir "$W/cache") KiB; cat $(sample %M cat "$ENTRY") KiB"
echo

echo "## 2. Cold exchange (no cache) vs a plain curl POST of the same request"
BODY="$W/body"
printf 'Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=%s&RoleSessionName=gl-1-2&DurationSeconds=3600&WebIdentityToken=%s' \
    "$(jq -rn --arg v "$ROLE" '$v|@uri')" "$(tr -d '\n' <"$W/token")" >"$BODY"
"${run_env[@]}" hyperfine -N --warmup 3 --runs 60 --style none --export-markdown "$W/cold.md" \
    -n "aws-ci-creds --no-cache" "$BIN ${ARGS[*]} --no-cache" \
    -n "curl POST" "curl -s -o /dev/null -X POST -H content-type:application/x-www-form-urlencoded --data-binary @$BODY $STS" >/dev/null
cat "$W/cold.md"
echo

echo "## 3. 64 processes at once on a cold cache"
before=$(calls)
start=$(date +%s%N)
pids=()
for i in $(seq 64); do "${run_env[@]}" "$BIN" "${ARGS[@]}" --cache-dir "$W/burst" >"$W/out.$i" & pids+=($!); done
wait "${pids[@]}"
end=$(date +%s%N)
distinct=$(cat "$W"/out.* | sort -u | wc -l)
echo "wall time $(( (end - start) / 1000000 )) ms; STS calls $(( $(calls) - before )); distinct outputs $distinct (of 64)"
echo

AWS=$ROOT/tests/e2e/.venv/bin/aws
PY=$ROOT/tests/e2e/.venv/bin/python
if [ -x "$AWS" ]; then
    echo "## 4. 20 client processes through a profile: STS calls"
    cat >"$W/config" <<CFG
[profile cached]
credential_process = $BIN --role-arn $ROLE --token-file $W/token --sts-endpoint $STS --cache-dir $W/cli-cache
region = us-east-1

[profile native]
role_arn = $ROLE
web_identity_token_file = $W/token
region = us-east-1
CFG
    # The AWS CLI keeps web-identity credentials in ~/.aws/cli/cache; boto3 (and every SDK in
    # a fresh process, like each Terraform provider) keeps nothing between processes.
    clients=("aws CLI v1|$AWS --profile PROFILE sts get-caller-identity"
             "boto3 process|$PY $ROOT/tests/e2e/whoami_boto3.py PROFILE")
    for client in "${clients[@]}"; do
        name=${client%%|*}
        for profile in cached native; do
            cmd=${client#*|}
            cmd=${cmd/PROFILE/$profile}
            rm -rf "$W/home/.aws" "$W/cli-cache"
            before=$(calls)
            start=$(date +%s%N)
            for _ in $(seq 20); do
                # shellcheck disable=SC2086 # the command is a word list on purpose
                env -i PATH="$PATH" HOME="$W/home" AWS_CONFIG_FILE="$W/config" AWS_ENDPOINT_URL_STS="$STS" \
                    $cmd >/dev/null
            done
            end=$(date +%s%N)
            echo "- $name, profile \`$profile\`: STS AssumeRoleWithWebIdentity calls $(( $(calls) - before )); 20 runs in $(( (end - start) / 1000000 )) ms"
        done
    done
else
    echo "## 4. skipped: run tests/e2e/setup.sh first for the AWS CLI and boto3"
fi
