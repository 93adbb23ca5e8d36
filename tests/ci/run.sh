#!/usr/bin/env bash
# action.yml and templates/aws-ci-creds.yml run by real interpreters of their CI languages, on
# this host, against a release served on loopback and the strict STS emulator:
#   GitLab: gitlab-ci-local runs a pipeline (in a temp git repository) that includes the template
#           with `include: local:` and `inputs:`; its job (shell executor, no image) extends
#           .aws-ci-creds: install.sh from the loopback mirror, `setup`, then the real AWS CLI's
#           `aws sts get-caller-identity`. The ID token is a pipeline variable (--variable).
#   GitHub: act runs a workflow whose job checks out the repository and uses the composite action
#           as a local action (`uses: ./`) on the host (-P ubuntu-latest=-self-hosted), the OIDC
#           request URL and token pointing at the emulator's GitHub-style issuer, then the AWS CLI.
# Job logs, the profile and the interpreters' state are checked for the token and the keys.
# The interpreters come from tests/ci/setup.sh (pinned, cached outside the clone); the shared
# pieces (release layout, emulator, counters) from tests/install/lib.sh. tests/install/run.sh
# still runs the same action and template under dash and BusyBox sh, which these do not.
#
# Prints `ok - NAME` / `not ok - NAME`, then `ci-interpreters: N passed, M failed`; exits 1 on
# failures. Environment: STS_EMULATOR_BIN, INSTALL_TEST_BIN (as for tests/install/run.sh),
# CI_TESTS_KEEP=1 keeps the temp dir, CI_TESTS_SKIP_SETUP=1 skips tests/e2e/setup.sh (the AWS
# CLI's venv must then be there).
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd -- "$HERE/../.." && pwd)

if [ "${CI_TESTS_SKIP_SETUP:-0}" != 1 ]; then
    "$REPO/tests/e2e/setup.sh"
fi

SUITE=ci-interpreters KEEP=${CI_TESTS_KEEP:-0}
# shellcheck source=tests/install/lib.sh
. "$REPO/tests/install/lib.sh"

"$HERE/setup.sh" "$WORK/tools.env"
GITLAB_CI_LOCAL=$(sed -n 's/^GITLAB_CI_LOCAL=//p' "$WORK/tools.env")
ACT=$(sed -n 's/^ACT=//p' "$WORK/tools.env")

serve_release
ROLE=ci-interpreters
ROLE_ARN=arn:aws:iam::$EMU_ACCOUNT:role/$ROLE
# What a job finds on its runner: the AWS CLI, git, node; nothing from this machine's AWS settings.
JOB_PATH=$(dirname -- "$AWS"):/usr/local/bin:/usr/bin:/bin

# commit_repo DIR REMOTE : DIR becomes a repository with one commit of what it holds, looking like
# a clone of REMOTE (gitlab-ci-local reads the user, the remote and its default branch; act the remote)
commit_repo() {
    git -C "$1" init -q -b main .
    git -C "$1" config user.name ci
    git -C "$1" config user.email ci@example.invalid
    git -C "$1" remote add origin "$2"
    git -C "$1" add -A
    git -C "$1" commit -q -m "pipeline under test"
    git -C "$1" update-ref refs/remotes/origin/main HEAD
    git -C "$1" symbolic-ref refs/remotes/origin/HEAD refs/remotes/origin/main
}

# secrets_in HOME FILE... : prints each FILE that holds a secret: a JWT, an access key, the words
# of a credentials file, the emulator's GitHub request token, or (exactly) the ID token in
# $EMU_TOKEN and the keys the job's own cache under HOME holds.
secrets_in() {
    local home=$1 canaries=$WORK/canaries f
    shift
    : >"$canaries"
    if [ -s "$EMU_TOKEN" ]; then cat "$EMU_TOKEN" >>"$canaries" && echo >>"$canaries"; fi
    for f in "$home"/.cache/aws-ci-creds/*.json; do
        [ -f "$f" ] || continue
        python3 -c 'import json,sys
c = json.load(open(sys.argv[1]))["credentials"]
for k in ("access_key_id", "secret_access_key", "session_token"):
    print(c[k])' "$f" >>"$canaries"
    done
    for f in "$@"; do
        [ -f "$f" ] || continue
        if grep -qE 'ASIA[A-Z0-9]{12,}|aws_secret_access_key|aws_session_token|github-request-token|eyJ[A-Za-z0-9_-]{10,}\.' "$f" ||
            { [ -s "$canaries" ] && grep -qFf "$canaries" "$f"; }; then
            echo "$f"
        fi
    done
}
# slurp FILE : its contents, or nothing when it is missing (the job did not get that far)
slurp() { cat -- "$1" 2>/dev/null || true; }
# keys_cached HOME : the job's cache holds credentials (so secrets_in had real keys to look for)
keys_cached() { compgen -G "$1/.cache/aws-ci-creds/*.json" >/dev/null; }

# ==================================================================================================
section "GitLab: gitlab-ci-local $("$GITLAB_CI_LOCAL" --version) runs a pipeline that includes templates/aws-ci-creds.yml"
GL_SUB='project_path:group/project:ref_type:branch:ref:main'

# gl_pipeline NAME INPUTS_YAML [TOP_YAML [JOB_YAML]] : a repository under $WORK/NAME whose
# .gitlab-ci.yml includes the template with INPUTS_YAML (indented for `inputs:`; install_dir is
# added: $WORK/NAME/bin) and has TOP_YAML
# at its top level; its job `whoami` extends .aws-ci-creds, has JOB_YAML (indented for a job), and
# writes what it sees to $RESULTS. Sets J.
gl_pipeline() {
    J=$WORK/$1
    mkdir -p "$J/repo/templates" "$J/results"
    cp "$REPO/templates/aws-ci-creds.yml" "$J/repo/templates/"
    cat >"$J/repo/.gitlab-ci.yml" <<EOF
include:
  - local: templates/aws-ci-creds.yml
    inputs:
$2
      install_dir: $J/bin
${3:-}
whoami:
  extends: .aws-ci-creds
${4:-}
  script:
    - aws sts get-caller-identity --output json >"\$RESULTS/whoami.json"
    - echo "gl-\$CI_PROJECT_ID-\$CI_JOB_ID" >"\$RESULTS/session"
    - env | cut -d= -f1 | sort >"\$RESULTS/env-names"
    - echo "\$AWS_PROFILE \$AWS_REGION" >"\$RESULTS/profile-region"
EOF
    commit_repo "$J/repo" https://gitlab.example.invalid/group/project.git
}
# gl_run : runs the pipeline in $J/repo (job log: $J/log)
gl_run() {
    job_env "$J/home" "$JOB_PATH"
    RC=0
    # gitlab-ci-local says GITLAB_CI=false and names gitlab.com; a runner of the instance that
    # issued the token says GITLAB_CI=true and CI_SERVER_URL=<that instance>.
    (cd "$J/repo" && "${JOB_ENV[@]}" RESULTS="$J/results" \
        "$GITLAB_CI_LOCAL" --no-color --home "$J/home" \
        --variable GITLAB_CI=true --variable "CI_SERVER_URL=$(ready issuer)" \
        --variable "AWS_CI_CREDS_ID_TOKEN=$(cat "$EMU_TOKEN")" \
        whoami) >"$J/log" 2>&1 || RC=$?
}
GL_INPUTS="      role_arn: $ROLE_ARN
      region: eu-west-1
      session_duration: 30m
      base_url: $BASE
      installer_url: $BASE/install.sh"

if start_emulator gitlab "$ROLE" 'project_path:group/project:*' "$GL_SUB"; then
    gl_pipeline gl "$GL_INPUTS"
    gl_run
    got=$(arn_of "$J/results/whoami.json")
    want="arn:aws:sts::$EMU_ACCOUNT:assumed-role/$ROLE/$(slurp "$J/results/session")"
    if [ "$RC" = 0 ] && [ "$got" = "$want" ] && grep -q 'PASS.*whoami' "$J/log" &&
        grep -q 'json schema validated' "$J/log"; then
        ok "gitlab-ci-local: the pipeline (schema-validated, inputs interpolated) installs from the mirror; the job's aws sts get-caller-identity is the assumed role"
    else
        not_ok "gitlab-ci-local: the job's aws sts get-caller-identity is the assumed role" "exit $RC, Arn '$got', want '$want'"
        show "$J/log"
    fi
    cfg=$J/home/.aws/config
    if grep -qx "credential_process = $J/bin/aws-ci-creds --role-arn $ROLE_ARN --token-env AWS_CI_CREDS_ID_TOKEN --audience sts.amazonaws.com --duration 30m --region eu-west-1" "$cfg" &&
        [ "$(slurp "$J/results/profile-region")" = "ci eu-west-1" ] &&
        ! grep -qE '^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)$' "$J/results/env-names"; then
        ok "gitlab-ci-local: the inputs reach the profile (token variable, region, duration); AWS_PROFILE and AWS_REGION set, no key variables"
    else
        not_ok "gitlab-ci-local: the inputs reach the profile; no key variables" "profile-region '$(slurp "$J/results/profile-region")'"
        show "$cfg"
    fi
    leaks=$(secrets_in "$J/home" "$J/log" "$cfg" "$J"/repo/.gitlab-ci-local/output/* "$J/repo/.gitlab-ci-local/expanded-gitlab-ci.yml")
    if keys_cached "$J/home" && [ -z "$leaks" ] && [ -s "$J/repo/.gitlab-ci-local/output/whoami.log" ]; then
        ok "gitlab-ci-local: no ID token or key (the job's own, exactly) in the job log, its output file, the expanded pipeline or the profile"
    else
        not_ok "gitlab-ci-local: no ID token or key in the job log or the profile" "leaks in: ${leaks//$'\n'/ }; keys cached: $(keys_cached "$J/home" && echo yes || echo no)"
    fi

    # The action's spelling of the input (role-arn) leaves the template's required role_arn unset:
    # the include is rejected before any job runs.
    gl_pipeline gl-typo "${GL_INPUTS/role_arn:/role-arn:}"
    gl_run
    if [ "$RC" != 0 ] && grep -q '`role_arn` input: required value has not been provided' "$J/log" &&
        [ ! -e "$J/results/session" ] && [ ! -e "$J/home/.aws/config" ]; then
        ok "gitlab-ci-local: inputs without role_arn (role-arn given instead) are rejected before any job runs, naming role_arn"
        grep 'configuration is invalid' "$J/log" | sed 's/^/    | /'
    else
        not_ok "gitlab-ci-local: inputs without role_arn are rejected, naming role_arn" "exit $RC"
        show "$J/log"
    fi

    # A job with its own before_script keeps the template's through !reference, as the template's
    # header says; the mirror comes from a pipeline-wide AWS_CI_CREDS_BASE_URL (no base_url
    # input); seconds are a quoted string.
    inputs=${GL_INPUTS/      base_url: $BASE
/}
    # (Bash would strip quotes written inside the substitution itself.)
    quoted="session_duration: '3600'"
    gl_pipeline gl-reference "${inputs/session_duration: 30m/$quoted}" "variables:
  AWS_CI_CREDS_BASE_URL: $BASE" "  before_script:
    - !reference [.aws-ci-creds, before_script]
    - echo own >\"\$RESULTS/own-before-script\""
    gl_run
    got=$(arn_of "$J/results/whoami.json")
    want="arn:aws:sts::$EMU_ACCOUNT:assumed-role/$ROLE/$(slurp "$J/results/session")"
    if [ "$RC" = 0 ] && [ "$got" = "$want" ] && [ "$(slurp "$J/results/own-before-script")" = own ] &&
        grep -q "downloading $BASE/v$VERSION/" "$J/log" && grep -q -- '--duration 3600 ' "$J/home/.aws/config"; then
        ok "gitlab-ci-local: own before_script with !reference [.aws-ci-creds, before_script]; mirror from the pipeline's AWS_CI_CREDS_BASE_URL; session_duration: '3600'"
    else
        not_ok "gitlab-ci-local: own before_script with !reference [.aws-ci-creds, before_script]" "exit $RC, Arn '$got', want '$want'"
        show "$J/log"
    fi

    # Inputs are strings: seconds as a bare YAML number are rejected (docs/install.md says to
    # quote them), naming the input.
    gl_pipeline gl-seconds "${GL_INPUTS/session_duration: 30m/session_duration: 3600}"
    gl_run
    if [ "$RC" != 0 ] && grep -q '`session_duration` input: provided value is not a string' "$J/log" &&
        [ ! -e "$J/results/session" ]; then
        ok "gitlab-ci-local: session_duration: 3600 (a YAML number) is rejected before any job runs, naming the input"
        grep 'configuration is invalid' "$J/log" | sed 's/^/    | /'
    else
        not_ok "gitlab-ci-local: session_duration: 3600 (a YAML number) is rejected, naming the input" "exit $RC"
        show "$J/log"
    fi

    # A role whose trust policy the token does not satisfy: before_script fails with the
    # explanation; the job's script never runs.
    gl_pipeline gl-denied "${GL_INPUTS/role\/$ROLE/role/other}"
    gl_run
    if [ "$RC" != 0 ] && grep -q 'FAIL.*whoami' "$J/log" && grep -q 'does not accept this token' "$J/log" &&
        [ ! -e "$J/results/session" ] && [ -z "$(secrets_in "$J/home" "$J/log")" ]; then
        ok "gitlab-ci-local: a role that cannot be assumed fails before_script with the explanation; the script does not run"
    else
        not_ok "gitlab-ci-local: a role that cannot be assumed fails before_script" "exit $RC"
        show "$J/log"
    fi
else
    not_ok "emulator for the GitLab pipelines ready"
fi

# ==================================================================================================
section "GitHub: act $("$ACT" --version | sed 's/^act version //') runs a workflow that uses action.yml as a local action"

# gh_workflow NAME STEPS_YAML : a repository under $WORK/NAME holding the action (action.yml and
# the installer it runs) and a workflow whose job checks it out, runs STEPS_YAML (the steps that
# use it, indented for `steps:`), then the AWS CLI with what the job exported. Sets J.
gh_workflow() {
    J=$WORK/$1
    mkdir -p "$J/repo/scripts" "$J/repo/.github/workflows" "$J/results"
    cp "$REPO/action.yml" "$J/repo/"
    cp "$REPO/scripts/install.sh" "$J/repo/scripts/"
    cat >"$J/repo/.github/workflows/aws.yml" <<EOF
name: aws
on: push
permissions:
  id-token: write
  contents: read
jobs:
  whoami:
    runs-on: ubuntu-latest
    steps:
      # act copies the local repository instead of fetching actions/checkout.
      - uses: actions/checkout@v4
$2
      - name: the AWS CLI, through the profile
        run: |
          aws sts get-caller-identity --output json >"\$RESULTS/whoami.json"
          echo "gh-\$GITHUB_RUN_ID-\$GITHUB_RUN_ATTEMPT" >"\$RESULTS/session"
          env | cut -d= -f1 | sort >"\$RESULTS/env-names"
          printf '%s\n' "\$AWS_PROFILE" "\$AWS_REGION" "\$AWS_CONFIG_FILE" "\$RUNNER_TEMP" >"\$RESULTS/exported"
          # act removes RUNNER_TEMP with the job.
          cp "\$AWS_CONFIG_FILE" "\$RESULTS/config"
EOF
    commit_repo "$J/repo" https://github.com/octo-org/octo-repo.git
}
# gh_uses ROLE_ARN [WITH_YAML] : a step that uses the action, for gh_workflow
gh_uses() {
    cat <<EOF
      - uses: ./
        with:
          role-arn: $1
          region: eu-west-1
          session-duration: 30m
          base-url: $BASE
EOF
    if [ -n "${2:-}" ]; then printf '%s\n' "$2"; fi
}
# gh_run : runs the workflow in $J/repo on the host, offline (job log: $J/log)
gh_run() {
    job_env "$J/home" "$JOB_PATH"
    RC=0
    # The runner's OIDC variables, as GitHub sets them for a job with id-token: write.
    (cd "$J/repo" && "${JOB_ENV[@]}" RESULTS="$J/results" ACT_DISABLE_VERSION_CHECK=1 \
        ACTIONS_ID_TOKEN_REQUEST_URL="$(ready github_token_request_url)" \
        ACTIONS_ID_TOKEN_REQUEST_TOKEN="$(ready github_request_token)" \
        "$ACT" push -P ubuntu-latest=-self-hosted --action-offline-mode --pull=false \
        --no-cache-server --action-cache-path "$J/act-cache" --container-daemon-socket - \
        --env-file /dev/null --secret-file /dev/null --var-file /dev/null) >"$J/log" 2>&1 || RC=$?
}

if start_emulator github "$ROLE" 'repo:octo-org/octo-repo:*' unused; then
    gh_workflow gh "$(gh_uses "$ROLE_ARN")"
    gh_run
    got=$(arn_of "$J/results/whoami.json")
    want="arn:aws:sts::$EMU_ACCOUNT:assumed-role/$ROLE/$(slurp "$J/results/session")"
    if [ "$RC" = 0 ] && [ "$got" = "$want" ] && grep -q 'Job succeeded' "$J/log"; then
        ok "act: checkout, uses: ./ (install from the mirror, setup), then the next step's aws sts get-caller-identity is the assumed role"
    else
        not_ok "act: the next step's aws sts get-caller-identity is the assumed role" "exit $RC, Arn '$got', want '$want'"
        show "$J/log"
    fi
    { read -r profile && read -r region && read -r config && read -r temp; } <"$J/results/exported" 2>/dev/null || true
    if [ "${profile:-}" = ci ] && [ "${region:-}" = eu-west-1 ] && [ -n "${temp:-}" ] && [ "${config:-}" = "$temp/aws-ci-creds/config" ] &&
        ! grep -qE '^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)$' "$J/results/env-names" &&
        grep -q "^credential_process = ${temp:-}/aws-ci-creds/bin/aws-ci-creds --role-arn $ROLE_ARN --audience sts.amazonaws.com --duration 30m --region eu-west-1" "$J/results/config"; then
        ok "act: later steps get AWS_PROFILE, AWS_REGION and a config under RUNNER_TEMP naming the inputs; no key variables"
    else
        not_ok "act: later steps get AWS_PROFILE, AWS_REGION, AWS_CONFIG_FILE; no key variables" "exported: $(slurp "$J/results/exported" | tr '\n' ' ')"
    fi
    leaks=$(secrets_in "$J/home" "$J/log" "$J/results/config")
    if keys_cached "$J/home" && [ -z "$leaks" ]; then
        ok "act: no request token, ID token or key (the job's own, exactly) in the job log or the profile"
    else
        not_ok "act: no request token, ID token or key in the job log or the profile" "leaks in: ${leaks//$'\n'/ }; keys cached: $(keys_cached "$J/home" && echo yes || echo no)"
    fi

    # Two uses in one job, two profiles in one config: the last is AWS_PROFILE, the first still works.
    gh_workflow gh-twice "$(gh_uses "$ROLE_ARN" "          profile: first")
$(gh_uses "$ROLE_ARN" "          profile: second")
      - run: aws --profile first sts get-caller-identity --output json >\"\$RESULTS/first.json\""
    gh_run
    got=$(arn_of "$J/results/first.json")
    if [ "$RC" = 0 ] && [ "$got" = "$(arn_of "$J/results/whoami.json")" ] && [ -n "$got" ] &&
        [ "$(slurp "$J/results/exported" | head -n 1)" = second ] &&
        [ "$(slurp "$J/results/config" | grep -c '^credential_process = ')" = 2 ]; then
        ok "act: the action twice (profiles first, second): one config with both; AWS_PROFILE=second; aws --profile first works"
    else
        not_ok "act: the action twice (profiles first, second)" "exit $RC, first Arn '$got'"
        show "$J/log"
    fi

    # No role-arn (the component's role_arn instead): GitHub runs the action anyway, so the action
    # itself stops before downloading anything, naming its input.
    gh_workflow gh-norole "      - uses: ./
        with:
          role_arn: $ROLE_ARN
          base-url: $BASE"
    gh_run
    if [ "$RC" != 0 ] && grep -q "Failure - Main Install aws-ci-creds" "$J/log" &&
        grep -q "the action's role-arn input is empty" "$J/log" && ! grep -q 'downloading' "$J/log" &&
        [ ! -e "$J/results/session" ]; then
        ok "act: without role-arn (role_arn given instead) the action's first step fails before downloading, naming the input"
        grep -A1 "role-arn input is empty" "$J/log" | sed 's/^/    | /'
    else
        not_ok "act: without role-arn the action fails before downloading, naming the input" "exit $RC"
        show "$J/log"
    fi

    gh_workflow gh-denied "$(gh_uses "arn:aws:iam::$EMU_ACCOUNT:role/other")"
    gh_run
    if [ "$RC" != 0 ] && grep -q 'Failure - Main Write the AWS profile' "$J/log" && grep -q 'does not accept this token' "$J/log" &&
        [ ! -e "$J/results/session" ] && [ -z "$(secrets_in "$J/home" "$J/log")" ]; then
        ok "act: a role that cannot be assumed fails the action's own step with the explanation; later steps do not run"
    else
        not_ok "act: a role that cannot be assumed fails the action's own step" "exit $RC"
        show "$J/log"
    fi
else
    not_ok "emulator for the GitHub workflows ready"
fi

finish
