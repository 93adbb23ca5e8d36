#!/usr/bin/env bash
# OpenTofu end to end: the real `tofu` CLI (build.sh builds it at the version pinned in
# build/go.mod, once per version, outside the clone) keeps its state in an S3 backend whose
# only credentials come from `profile = "ci"`, a profile whose credential_process runs
# aws-ci-creds. No key is in the configuration, the environment or a credentials file.
#   - moto server on loopback: S3 (the state bucket), and STS AssumeRole for the backend
#     configuration with its own `assume_role` block;
#   - the strict STS emulator (crates/sts-emulator): AssumeRoleWithWebIdentity for our binary,
#     and GetCallerIdentity, whose SigV4 signature it checks against the credentials it issued.
# moto records every request (MOTO_ENABLE_RECORDING), so the suite can tell from the access
# key id of each signature whose credentials wrote the state.
#
# Prints `ok - NAME` / `not ok - NAME` per check, then `tofu: N passed, M failed`; exits 1 on
# failures. Environment:
#   AWS_CI_CREDS_BIN   binary to test (default: <target dir>/release/aws-ci-creds)
#   STS_EMULATOR_BIN   emulator (default: <target dir>/{debug,release}/examples/sts_emulator,
#                      built when neither exists)
#   TOFU_BIN           a tofu binary to use instead of build.sh's cached build
#   E2E_SKIP_SETUP     1 = don't run ../setup.sh (the venv with moto is there already)
#   E2E_KEEP           1 = keep the temp dir (its path is printed)
set -euo pipefail

TOFU_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
E2E_DIR=$(cd -- "$TOFU_DIR/.." && pwd)
REPO_DIR=$(cd -- "$E2E_DIR/../.." && pwd)

if [ "${E2E_SKIP_SETUP:-0}" != 1 ]; then
    "$E2E_DIR/setup.sh"
fi
VENV=$E2E_DIR/.venv
PY=$VENV/bin/python
TOFU=${TOFU_BIN:-$("$TOFU_DIR/build.sh")}
WANT_VERSION=$(awk '$1 == "github.com/opentofu/opentofu" { print $2 }' "$TOFU_DIR/build/go.mod")

TARGET_DIR=$(cd "$REPO_DIR" && cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
BIN=${AWS_CI_CREDS_BIN:-$TARGET_DIR/release/aws-ci-creds}
if [ ! -x "$BIN" ]; then
    echo "tofu: $BIN not found; run 'cargo build --release' or set AWS_CI_CREDS_BIN" >&2
    exit 2
fi
EMULATOR=${STS_EMULATOR_BIN:-}
if [ -z "$EMULATOR" ]; then
    for p in "$TARGET_DIR/debug/examples/sts_emulator" "$TARGET_DIR/release/examples/sts_emulator"; do
        if [ -x "$p" ]; then EMULATOR=$p; break; fi
    done
fi
if [ -z "$EMULATOR" ]; then
    (cd "$REPO_DIR" && cargo build --example sts_emulator) >&2
    EMULATOR=$TARGET_DIR/debug/examples/sts_emulator
fi

# --- scratch space and background processes ---------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/aws-ci-creds-tofu.XXXXXX")
BG_PIDS=()
cleanup() {
    local pid
    for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${BG_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ "${E2E_KEEP:-0}" = 1 ]; then echo "tofu: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Hermetic: no credentials, profile or endpoint from the caller, no IMDS, no CLI config or
# plugin cache of the user's, no checkpoint call, no prompt.
while IFS='=' read -r name _; do
    case $name in
    AWS_* | TF_* | ACTIONS_ID_TOKEN_REQUEST_*) unset "$name" ;;
    esac
done < <(env)
export AWS_CONFIG_FILE=$WORK/aws-config
export AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-credentials
export AWS_EC2_METADATA_DISABLED=true
export XDG_CACHE_HOME=$WORK/xdg-cache
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
export TF_CLI_CONFIG_FILE=$WORK/tofurc
: >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
: >"$TF_CLI_CONFIG_FILE"
# tofu writes ~/.terraform.d: a HOME of its own for every tofu command.
mkdir -p "$WORK/logs" "$WORK/home"

# --- reporting ----------------------------------------------------------------------------------
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
show() {
    local f
    for f in "$@"; do
        if [ -s "$f" ]; then sed 's/^/    | /' "$f"; fi
    done
}
section() { printf '\n# %s\n' "$*"; }
summary() {
    section "summary"
    echo "tofu: $PASSED passed, $FAILED failed"
    [ "$FAILED" = 0 ]
}

free_port() {
    python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}
json_field() { "$PY" -c 'import json,sys;print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# tofu_in DIR LOG ARG... : runs tofu in DIR, its stdout and stderr in LOG.{out,err}
TOFU_LOGS=()
tofu_in() {
    local dir=$1 log=$WORK/logs/$2
    shift 2
    TOFU_LOGS+=("$log.out" "$log.err")
    (cd "$dir" && HOME=$WORK/home "$TOFU" "$@" -no-color >"$log.out" 2>"$log.err")
}

# start_emulator NAME SUBJECT_LIKE : sets EMU_ISSUER, EMU_STS, EMU_TOKEN, or returns 1.
EMU_ACCOUNT=123456789012
EMU_ROLE_ARN=arn:aws:iam::$EMU_ACCOUNT:role/e2e-tofu
start_emulator() {
    local dir=$WORK/emu-$1 pid
    mkdir -p "$dir"
    "$EMULATOR" --role-arn "$EMU_ROLE_ARN" --audience sts.amazonaws.com --subject-like "$2" \
        --sub 'project_path:e2e/infra:ref_type:branch:ref:main' --token-out "$dir/token.jwt" \
        --ready-file "$dir/ready.json" >"$dir/log" 2>&1 &
    pid=$!
    BG_PIDS+=("$pid")
    for _ in $(seq 1 150); do
        if [ -s "$dir/ready.json" ] && EMU_ISSUER=$(json_field "$dir/ready.json" issuer 2>/dev/null); then
            EMU_STS=$(json_field "$dir/ready.json" sts_endpoint)
            EMU_TOKEN=$dir/token.jwt
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then break; fi
        sleep 0.2
    done
    show "$dir/log"
    return 1
}
# emu_calls ISSUER ACTION : how many ACTION calls the emulator has answered
emu_calls() {
    "$PY" -c 'import json,sys,urllib.request
print(json.load(urllib.request.urlopen(sys.argv[1].rstrip("/")+"/_emulator/calls",timeout=5)).get(sys.argv[2],0))' "$1" "$2"
}

# ================================================================================================
section "versions"
got_version=$(HOME=$WORK/home "$TOFU" version)
got_version=${got_version%%$'\n'*}
echo "    $got_version ($TOFU)"
echo "    binary:   $BIN"
echo "    emulator: $EMULATOR"
echo "    moto $("$PY" -c 'import moto;print(moto.__version__)')"
if [ "$got_version" = "OpenTofu $WANT_VERSION" ]; then
    ok "tofu is OpenTofu $WANT_VERSION, as pinned in build/go.mod"
else
    not_ok "tofu is OpenTofu $WANT_VERSION, as pinned in build/go.mod" "it says '$got_version'"
fi

# ================================================================================================
section "servers"
MOTO_PORT=$(free_port)
MOTO_URL=http://127.0.0.1:$MOTO_PORT
RECORDING=$WORK/moto-recording.jsonl
MOTO_ENABLE_RECORDING=1 MOTO_RECORDER_FILEPATH=$RECORDING \
    "$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$WORK/moto.log" 2>&1 &
BG_PIDS+=($!)
moto_up=0
for _ in $(seq 1 100); do
    if "$PY" -c 'import sys,urllib.request;urllib.request.urlopen(sys.argv[1]+"/moto-api/",timeout=1)' "$MOTO_URL" 2>/dev/null; then
        moto_up=1
        break
    fi
    sleep 0.2
done
if [ "$moto_up" = 1 ]; then
    ok "moto server listening on $MOTO_URL"
else
    not_ok "moto server listening on $MOTO_URL"
    show "$WORK/moto.log"
    summary
fi
if start_emulator trusted 'project_path:e2e/infra:*'; then
    ok "emulator ready at $EMU_STS"
else
    not_ok "emulator ready"
    summary
fi
ISSUER=$EMU_ISSUER
STS=$EMU_STS
TOKEN=$EMU_TOKEN

# The state bucket, made with moto's own throwaway keys (moto takes any): only this fixture
# and the read-back below use them, never tofu.
BUCKET=aws-ci-creds-tofu-state
moto_s3() {
    AWS_ACCESS_KEY_ID=moto-fixture AWS_SECRET_ACCESS_KEY=moto-fixture AWS_DEFAULT_REGION=us-east-1 \
        "$PY" -c '
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1])
if sys.argv[2] == "create":
    s3.create_bucket(Bucket=sys.argv[3])
else:
    sys.stdout.write(s3.get_object(Bucket=sys.argv[3], Key=sys.argv[4])["Body"].read().decode())
' "$MOTO_URL" "$@"
}
if moto_s3 create "$BUCKET" 2>"$WORK/logs/bucket.err"; then
    ok "state bucket $BUCKET created in moto"
else
    not_ok "state bucket $BUCKET created in moto"
    show "$WORK/logs/bucket.err"
fi

# The profile a CI job has after `aws-ci-creds setup`: our binary, the job's token, one cache.
CACHE=$WORK/cache
printf '[profile ci]\nregion = us-east-1\ncredential_process = %s --role-arn %s --token-file %s --sts-endpoint %s --region us-east-1 --session-name e2e-tofu --cache-dir %s\n\n' \
    "$BIN" "$EMU_ROLE_ARN" "$TOKEN" "$STS" "$CACHE" >>"$AWS_CONFIG_FILE"

# write_config DIR KEY STS_ENDPOINT [EXTRA_BACKEND_LINES] : a root module with an S3 backend over
# `profile = "ci"`, one builtin terraform_data resource and an output; no provider to download.
MARKER="aws-ci-creds e2e $$"
write_config() {
    mkdir -p "$1"
    cat >"$1/main.tf" <<EOF
terraform {
  backend "s3" {
    bucket         = "$BUCKET"
    key            = "$2"
    region         = "us-east-1"
    profile        = "ci"
    use_path_style = true
    use_lockfile   = true
    endpoints = {
      s3  = "$MOTO_URL"
      sts = "$3"
    }
$4
  }
}

resource "terraform_data" "marker" {
  input = "$MARKER"
}

output "marker" {
  value = terraform_data.marker.output
}
EOF
}

# ================================================================================================
section "backend over profile ci: state in moto's S3, credentials from aws-ci-creds"
# GetCallerIdentity goes to the emulator, which checks the signature against the credentials
# it issued; allowed_account_ids makes tofu compare the account it answers.
PLAIN=$WORK/plain
write_config "$PLAIN" plain/terraform.tfstate "$STS" "    allowed_account_ids = [\"$EMU_ACCOUNT\"]"
plain_init=0
if tofu_in "$PLAIN" plain-init init -input=false; then
    plain_init=1
    ok "tofu init configures the S3 backend through profile ci"
else
    not_ok "tofu init configures the S3 backend through profile ci"
    show "$WORK/logs/plain-init.out" "$WORK/logs/plain-init.err"
fi
if tofu_in "$PLAIN" plain-apply apply -auto-approve -input=false; then
    ok "tofu apply -auto-approve writes the state"
else
    not_ok "tofu apply -auto-approve writes the state"
    show "$WORK/logs/plain-apply.out" "$WORK/logs/plain-apply.err"
fi
# state_has KEY : the object in moto's S3 is a state holding the resource and the output
state_has() {
    moto_s3 get "$BUCKET" "$1" >"$WORK/logs/state-${1%%/*}.json" 2>"$WORK/logs/state-${1%%/*}.err" &&
        "$PY" -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["outputs"]["marker"]["value"] == sys.argv[2], s["outputs"]
assert any(r["type"] == "terraform_data" for r in s["resources"]), s["resources"]
' "$WORK/logs/state-${1%%/*}.json" "$MARKER" 2>>"$WORK/logs/state-${1%%/*}.err"
}
if state_has plain/terraform.tfstate; then
    ok "moto's S3 holds the state object plain/terraform.tfstate with the resource and output"
else
    not_ok "moto's S3 holds the state object plain/terraform.tfstate with the resource and output"
    show "$WORK/logs/state-plain.err"
fi
rc=0
tofu_in "$PLAIN" plain-plan plan -detailed-exitcode -input=false || rc=$?
if [ "$rc" = 0 ]; then
    ok "tofu plan -detailed-exitcode reads the state back: no changes"
else
    not_ok "tofu plan -detailed-exitcode reads the state back: no changes" "exit $rc (2 = changes)"
    show "$WORK/logs/plain-plan.out" "$WORK/logs/plain-plan.err"
fi
# The log users paste into issues: TF_LOG=trace shows every signed request (checked for the
# canaries below with the other logs).
if TF_LOG=trace tofu_in "$PLAIN" plain-trace plan -input=false &&
    grep -q 'HTTP Request Sent.*S3/GetObject' "$WORK/logs/plain-trace.err"; then
    ok "TF_LOG=trace tofu plan logs the backend's signed requests"
else
    not_ok "TF_LOG=trace tofu plan logs the backend's signed requests"
    tail -n 20 "$WORK/logs/plain-trace.err" | sed 's/^/    | /'
fi
# A second working directory has no local trace of the first: its output comes from S3 alone.
FRESH=$WORK/plain-fresh
write_config "$FRESH" plain/terraform.tfstate "$STS" "    allowed_account_ids = [\"$EMU_ACCOUNT\"]"
if tofu_in "$FRESH" fresh-init init -input=false && tofu_in "$FRESH" fresh-output output -raw marker &&
    [ "$(cat "$WORK/logs/fresh-output.out")" = "$MARKER" ]; then
    ok "a fresh working directory: tofu init + tofu output read the marker from the S3 state"
else
    not_ok "a fresh working directory: tofu init + tofu output read the marker from the S3 state"
    show "$WORK/logs/fresh-init.err" "$WORK/logs/fresh-output.out" "$WORK/logs/fresh-output.err"
fi
# tofu init stops when GetCallerIdentity is refused, and the emulator refuses any signature
# not made with credentials it issued.
n=$(emu_calls "$ISSUER" GetCallerIdentity)
if [ "$plain_init" = 1 ] && [ "$n" -ge 1 ]; then
    ok "the emulator accepted the backend's GetCallerIdentity, signed with the credentials it issued ($n calls)"
else
    not_ok "the emulator accepted the backend's GetCallerIdentity, signed with the credentials it issued" \
        "$n calls, tofu init $([ "$plain_init" = 1 ] && echo passed || echo failed)"
fi

# The credentials our binary cached: their key id must be what signed the S3 calls.
shopt -s nullglob
entries=("$CACHE"/*.json)
shopt -u nullglob
if [ "${#entries[@]}" = 1 ] && [ -f "${entries[0]}" ]; then
    ok "aws-ci-creds' cache has exactly one entry"
    CACHED_KEY_ID=$("$PY" -c 'import json,sys;print(json.load(open(sys.argv[1]))["credentials"]["access_key_id"])' "${entries[0]}")
else
    not_ok "aws-ci-creds' cache has exactly one entry" "found: ${entries[*]}"
    CACHED_KEY_ID=none
fi
"$PY" "$TOFU_DIR/signers.py" "$RECORDING" >"$WORK/logs/signers.tsv"
# signed_by METHOD PATH : the key ids that signed METHOD requests to PATH in moto
signed_by() { awk -F'\t' -v m="$1" -v p="$2" '$1 == m && $2 == p { print $5 }' "$WORK/logs/signers.tsv" | sort -u; }
puts=$(signed_by PUT "/$BUCKET/plain/terraform.tfstate")
if [ -n "$puts" ] && [ "$puts" = "$CACHED_KEY_ID" ]; then
    ok "every PutObject of plain/terraform.tfstate was signed with the key aws-ci-creds handed out"
else
    not_ok "every PutObject of plain/terraform.tfstate was signed with the key aws-ci-creds handed out" \
        "signed by: ${puts:-nothing}"
fi

# ================================================================================================
section "backend with its own assume_role block over profile ci (STS AssumeRole: moto)"
# The emulator has no AssumeRole: this backend's sts endpoint is moto. Our binary still
# exchanges the job's token with the emulator (its own --sts-endpoint), from the same cache.
STATE_ROLE_ARN=arn:aws:iam::$EMU_ACCOUNT:role/e2e-tofu-state
CHAINED=$WORK/chained
write_config "$CHAINED" chained/terraform.tfstate "$MOTO_URL" "    assume_role = {
      role_arn     = \"$STATE_ROLE_ARN\"
      session_name = \"e2e-tofu-state\"
    }"
if tofu_in "$CHAINED" chained-init init -input=false; then
    ok "assume_role: tofu init"
else
    not_ok "assume_role: tofu init"
    show "$WORK/logs/chained-init.out" "$WORK/logs/chained-init.err"
fi
if tofu_in "$CHAINED" chained-apply apply -auto-approve -input=false; then
    ok "assume_role: tofu apply -auto-approve"
else
    not_ok "assume_role: tofu apply -auto-approve"
    show "$WORK/logs/chained-apply.out" "$WORK/logs/chained-apply.err"
fi
if state_has chained/terraform.tfstate; then
    ok "assume_role: moto's S3 holds chained/terraform.tfstate with the resource and output"
else
    not_ok "assume_role: moto's S3 holds chained/terraform.tfstate with the resource and output"
    show "$WORK/logs/state-chained.err"
fi
rc=0
tofu_in "$CHAINED" chained-plan plan -detailed-exitcode -input=false || rc=$?
if [ "$rc" = 0 ]; then
    ok "assume_role: tofu plan -detailed-exitcode: no changes"
else
    not_ok "assume_role: tofu plan -detailed-exitcode: no changes" "exit $rc (2 = changes)"
    show "$WORK/logs/chained-plan.out" "$WORK/logs/chained-plan.err"
fi
"$PY" "$TOFU_DIR/signers.py" "$RECORDING" >"$WORK/logs/signers.tsv"
assumers=$(awk -F'\t' -v r="$STATE_ROLE_ARN" '$3 == "AssumeRole" && $4 == r { print $5 }' "$WORK/logs/signers.tsv" | sort -u)
if [ -n "$assumers" ] && [ "$assumers" = "$CACHED_KEY_ID" ]; then
    ok "assume_role: AssumeRole of $STATE_ROLE_ARN was signed with the key aws-ci-creds handed out"
else
    not_ok "assume_role: AssumeRole of $STATE_ROLE_ARN was signed with the key aws-ci-creds handed out" \
        "signed by: ${assumers:-nothing}"
fi
puts=$(signed_by PUT "/$BUCKET/chained/terraform.tfstate")
if [ -n "$puts" ] && [ "$puts" != "$CACHED_KEY_ID" ] && [ "$puts" != - ] && [ "$(wc -l <<<"$puts")" = 1 ]; then
    ok "assume_role: the state was written with the assumed role's key, not the base one"
else
    not_ok "assume_role: the state was written with the assumed role's key, not the base one" \
        "signed by: ${puts:-nothing}"
fi

# ================================================================================================
section "one exchange for the whole run, no secret in tofu's output"
n=$(emu_calls "$ISSUER" AssumeRoleWithWebIdentity)
if [ "$n" = 1 ]; then
    ok "the whole run ($((${#TOFU_LOGS[@]} / 2)) tofu commands in 3 working directories) made 1 AssumeRoleWithWebIdentity"
else
    not_ok "the whole run made 1 AssumeRoleWithWebIdentity" "saw $n"
fi

# A job whose role does not trust it: tofu must fail and show our explanation.
if start_emulator untrusted 'project_path:other/*'; then
    printf '[profile ci-denied]\nregion = us-east-1\ncredential_process = %s --role-arn %s --token-file %s --sts-endpoint %s --region us-east-1 --session-name e2e-tofu-denied --cache-dir %s\n\n' \
        "$BIN" "$EMU_ROLE_ARN" "$EMU_TOKEN" "$EMU_STS" "$WORK/cache-denied" >>"$AWS_CONFIG_FILE"
    DENIED=$WORK/denied
    write_config "$DENIED" denied/terraform.tfstate "$EMU_STS" ""
    sed -i 's/profile        = "ci"/profile        = "ci-denied"/' "$DENIED/main.tf"
    rc=0
    tofu_in "$DENIED" denied-init init -input=false || rc=$?
    if [ "$rc" != 0 ] && grep -q 'trust policy' "$WORK/logs/denied-init.out" "$WORK/logs/denied-init.err"; then
        ok "a role that does not trust the job: tofu init fails and shows aws-ci-creds' 'trust policy' text"
    else
        not_ok "a role that does not trust the job: tofu init fails and shows aws-ci-creds' 'trust policy' text" "exit $rc"
        show "$WORK/logs/denied-init.out" "$WORK/logs/denied-init.err"
    fi
else
    not_ok "second (untrusting) emulator ready"
fi

# Canaries: the secret key and session token in our cache, and the job's ID tokens.
canaries=()
if [ -f "${entries[0]:-}" ]; then
    mapfile -t canaries < <("$PY" -c 'import json,sys
c = json.load(open(sys.argv[1]))["credentials"]
print(c["secret_access_key"]); print(c["session_token"])' "${entries[0]}")
fi
canaries+=("$(cat "$TOKEN")" "$(cat "$EMU_TOKEN")")
leaks=()
for f in "${TOFU_LOGS[@]}" "$PLAIN"/.terraform/terraform.tfstate "$CHAINED"/.terraform/terraform.tfstate; do
    for c in "${canaries[@]}"; do
        if [ -n "$c" ] && [ -f "$f" ] && grep -qF -- "$c" "$f"; then leaks+=("${f#"$WORK"/}"); fi
    done
done
if [ "${#canaries[@]}" -ge 4 ] && [ "${#leaks[@]}" = 0 ]; then
    ok "no secret key, session token or ID token in ${#TOFU_LOGS[@]} tofu logs (one at TF_LOG=trace) or .terraform/"
else
    not_ok "no secret key, session token or ID token in tofu's logs or .terraform/" \
        "${#canaries[@]} canaries; found in: ${leaks[*]}"
fi

summary
