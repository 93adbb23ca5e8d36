//! Each CI, end to end: an environment that looks like that CI's job (its variables, a loopback
//! stand-in for Azure's token endpoint, stub `buildkite-agent` / `circleci` programs on PATH),
//! a successful exchange against the strict emulator with the CI's session name, and one test per
//! way the CI's set-up can be missing (exit 3, quoting the line to add).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Output;

use serde_json::{Value, json};

use crate::support::*;

fn run(env: &TestEnv, args: &[&str]) -> Output {
    let mut cmd = env.cmd();
    cmd.args(["--role-arn", ROLE]).args(args);
    cmd.output().unwrap()
}

/// Runs and expects credentials on stdout.
fn ok(env: &TestEnv, args: &[&str]) -> Output {
    let out = run(env, args);
    assert!(out.status.success(), "{}", stderr(&out));
    process_json(&out.stdout);
    out
}

/// Runs and expects a token error (exit 3) whose text has every one of `says`.
fn token_error(env: &TestEnv, args: &[&str], says: &[&str]) -> String {
    let out = run(env, args);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(out.stdout.is_empty(), "nothing on stdout on failure");
    for s in says {
        assert!(text.contains(s), "missing {s:?} in\n{text}");
    }
    assert_eq!(env.assume_calls(), 0, "no STS call without a token");
    text
}

fn assume_requests(env: &TestEnv) -> Vec<sts_emulator::RecordedRequest> {
    env.emu
        .requests()
        .into_iter()
        .filter(|r| r.action == "AssumeRoleWithWebIdentity")
        .collect()
}

fn last_session(env: &TestEnv) -> String {
    assume_requests(env)
        .last()
        .expect("an AssumeRoleWithWebIdentity call")
        .params["RoleSessionName"]
        .clone()
}

fn last_claims(env: &TestEnv) -> Value {
    assume_requests(env)
        .last()
        .and_then(|r| r.token_claims.clone())
        .expect("the emulator decoded the token")
}

/// Puts an executable script named `name` in the test's own bin directory, first on PATH.
fn stub(env: &mut TestEnv, name: &str, script: &str) -> PathBuf {
    let bin = env.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let path = bin.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.set("PATH", &format!("{}:/usr/bin:/bin", bin.display()));
    path
}

/// Writes a token for the stubs to print, and returns the file.
fn token_for_stub(env: &TestEnv, claims: Value) -> PathBuf {
    let token = env.emu.mint(claims);
    let p = env.path("stub-token");
    std::fs::write(&p, token).unwrap();
    p
}

fn runs(env: &TestEnv) -> usize {
    std::fs::read_to_string(env.path("runs"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

// ---------------------------------------------------------------- CircleCI

const CIRCLE_ORG: &str = "c0ffee00-1111-2222-3333-444455556666";

fn circleci_job(env: &mut TestEnv) {
    let iss_sub = format!(
        "org/{CIRCLE_ORG}/project/p-1/user/u-1/vcs-origin/github.com/acme/app/vcs-ref/refs/heads/main"
    );
    let v2 = env.emu.mint(json!({"aud": CIRCLE_ORG, "sub": iss_sub}));
    let v1 = env
        .emu
        .mint(json!({"aud": CIRCLE_ORG, "sub": "v1-subject-not-trusted"}));
    env.set("CIRCLECI", "true")
        .set("CI", "true")
        .set("CIRCLE_PROJECT_REPONAME", "app")
        .set("CIRCLE_BUILD_NUM", "77")
        .set("CIRCLE_OIDC_TOKEN", &v1)
        .set("CIRCLE_OIDC_TOKEN_V2", &v2);
}

#[test]
fn circleci_job_uses_the_v2_token_and_its_build_as_session_name() {
    let mut env = env_for(CIRCLE_ORG, &format!("org/{CIRCLE_ORG}/project/p-1/*"));
    circleci_job(&mut env);
    let out = ok(&env, &["--audience", CIRCLE_ORG]);
    assert_eq!(stderr(&out), "");
    assert_eq!(last_session(&env), "cci-app-77");
    assert!(
        last_claims(&env)["sub"]
            .as_str()
            .unwrap()
            .ends_with("vcs-ref/refs/heads/main")
    );
}

#[test]
fn circleci_org_id_audience_is_explained_when_audience_differs() {
    let mut env = env_for(CIRCLE_ORG, &format!("org/{CIRCLE_ORG}/*"));
    circleci_job(&mut env);
    let out = ok(&env, &[]);
    let text = stderr(&out);
    for s in [
        "organisation id",
        &format!("--audience {CIRCLE_ORG}"),
        "circleci run oidc get",
    ] {
        assert!(text.contains(s), "missing {s:?} in\n{text}");
    }
}

#[test]
fn circleci_without_tokens_says_how_to_get_one() {
    let mut env = env_for(CIRCLE_ORG, "*");
    env.set("CIRCLECI", "true");
    token_error(
        &env,
        &[],
        &[
            "CIRCLE_OIDC_TOKEN_V2",
            "context: aws",
            "circleci run oidc get",
        ],
    );
}

#[test]
fn circleci_cli_mints_a_token_for_the_audience_through_token_command() {
    let mut env = env_for("sts.amazonaws.com", "org/*");
    circleci_job(&mut env);
    let file = token_for_stub(
        &env,
        json!({"aud": "sts.amazonaws.com", "sub": format!("org/{CIRCLE_ORG}/project/p-1/user/u-1")}),
    );
    let log = env.path("runs");
    stub(
        &mut env,
        "circleci",
        &format!(
            r#"[ "$*" = 'run oidc get --claims {{"aud":"sts.amazonaws.com"}}' ] || {{ echo "unexpected arguments: $*" >&2; exit 1; }}
echo run >> '{}'
cat '{}'"#,
            log.display(),
            file.display()
        ),
    );
    let command = r#"circleci run oidc get --claims '{"aud":"sts.amazonaws.com"}'"#;
    ok(&env, &["--token-command", command]);
    assert_eq!(last_session(&env), "cci-app-77");
    assert_eq!(runs(&env), 1);
    // The job's own token keys the cache: the next run is a hit and runs nothing.
    ok(&env, &["--token-command", command]);
    assert_eq!(runs(&env), 1, "a cache hit does not run the command");
    assert_eq!(env.assume_calls(), 1);
}

// ---------------------------------------------------------------- Bitbucket

#[test]
fn bitbucket_step_token_with_an_audience_list_is_exchanged() {
    let mut env = env_for("sts.amazonaws.com", "{ws}:{repo}:*");
    let token = env.emu.mint(json!({
        "aud": ["ari:cloud:bitbucket::workspace/ws-uuid", "sts.amazonaws.com"],
        "sub": "{ws}:{repo}:{step-uuid}",
    }));
    env.set("BITBUCKET_BUILD_NUMBER", "12")
        .set("BITBUCKET_REPO_SLUG", "infra")
        .set("BITBUCKET_STEP_OIDC_TOKEN", &token);
    let out = ok(&env, &[]);
    assert_eq!(
        stderr(&out),
        "",
        "sts.amazonaws.com is in the list: no warning"
    );
    assert_eq!(last_session(&env), "bb-infra-12");
}

#[test]
fn bitbucket_step_without_oidc_says_to_add_it() {
    let mut env = env_for("sts.amazonaws.com", "*");
    env.set("BITBUCKET_BUILD_NUMBER", "12");
    token_error(&env, &[], &["BITBUCKET_STEP_OIDC_TOKEN", "oidc: true"]);
}

// ---------------------------------------------------------------- Buildkite

const BK_SUB: &str =
    "organization:acme:pipeline:deploy-app:ref:refs/heads/main:commit:abc:step:deploy";

fn buildkite_job(env: &mut TestEnv) {
    env.set("BUILDKITE", "true")
        .set("CI", "true")
        .set("BUILDKITE_JOB_ID", "0190-job")
        .set("BUILDKITE_AGENT_ACCESS_TOKEN", "agent-access-token")
        .set("BUILDKITE_ORGANIZATION_SLUG", "acme")
        .set("BUILDKITE_PIPELINE_SLUG", "deploy-app")
        .set("BUILDKITE_BUILD_NUMBER", "42");
}

fn buildkite_agent_stub(env: &mut TestEnv) {
    let file = token_for_stub(env, json!({"sub": BK_SUB, "aud": "sts.amazonaws.com"}));
    let log = env.path("runs");
    stub(
        env,
        "buildkite-agent",
        &format!(
            r#"[ "$*" = "oidc request-token --audience sts.amazonaws.com" ] || {{ echo "unexpected arguments: $*" >&2; exit 1; }}
[ -n "$BUILDKITE_JOB_ID" ] || exit 2
echo "requesting token" >&2
echo run >> '{}'
cat '{}'"#,
            log.display(),
            file.display()
        ),
    );
}

#[test]
fn buildkite_job_mints_through_the_agent_and_caches_per_job() {
    let mut env = env_for(
        "sts.amazonaws.com",
        "organization:acme:pipeline:deploy-app:*",
    );
    buildkite_job(&mut env);
    buildkite_agent_stub(&mut env);
    let out = ok(&env, &[]);
    assert_eq!(stderr(&out), "", "the agent's stderr stays out of ours");
    assert_eq!(last_session(&env), "bk-deploy-app-42");
    assert_eq!(runs(&env), 1);
    ok(&env, &[]);
    assert_eq!(runs(&env), 1, "a cache hit runs nothing");
    // Another job (another agent access token) never shares the entry.
    env.set("BUILDKITE_AGENT_ACCESS_TOKEN", "another-jobs-token");
    ok(&env, &[]);
    assert_eq!(runs(&env), 2);
    assert_eq!(env.assume_calls(), 2);
}

#[test]
fn buildkite_agent_stderr_is_shown_with_verbose() {
    let mut env = env_for("sts.amazonaws.com", "organization:acme:*");
    buildkite_job(&mut env);
    buildkite_agent_stub(&mut env);
    let out = ok(&env, &["-v", "--no-cache"]);
    let text = stderr(&out);
    assert!(
        text.contains("buildkite-agent (stderr): requesting token"),
        "{text}"
    );
    assert!(text.contains("chosen because BUILDKITE=true"), "{text}");
}

#[test]
fn buildkite_without_the_agent_on_path_says_to_mount_it() {
    let mut env = env_for("sts.amazonaws.com", "*");
    buildkite_job(&mut env);
    let empty = env.path("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    env.set("PATH", empty.to_str().unwrap());
    token_error(
        &env,
        &[],
        &[
            "buildkite-agent",
            "not found on PATH",
            "mount-buildkite-agent: true",
        ],
    );
}

#[test]
fn buildkite_without_job_variables_says_to_propagate_them() {
    let mut env = env_for("sts.amazonaws.com", "*");
    buildkite_job(&mut env);
    env.unset("BUILDKITE_AGENT_ACCESS_TOKEN");
    token_error(
        &env,
        &[],
        &[
            "BUILDKITE_AGENT_ACCESS_TOKEN",
            "propagate-environment: true",
        ],
    );
}

#[test]
fn buildkite_agent_failure_quotes_its_error_but_never_a_token() {
    let mut env = env_for("sts.amazonaws.com", "*");
    buildkite_job(&mut env);
    stub(
        &mut env,
        "buildkite-agent",
        "echo 'fatal: OIDC token request denied by pipeline policy' >&2\necho 'leaked eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln' >&2\nexit 1",
    );
    let text = token_error(
        &env,
        &[],
        &[
            "exited with status 1",
            "denied by pipeline policy",
            "withheld",
        ],
    );
    assert!(!text.contains("eyJhbGci"), "{text}");
}

// ---------------------------------------------------------------- Azure Pipelines

const AZURE_CONNECTION: &str = "5f0c2a8e-1b2c-4d5e-8f90-a1b2c3d4e5f6";

fn azure_job(env: &mut TestEnv) {
    let uri = env.emu.azure_oidc_request_uri();
    env.set("TF_BUILD", "True")
        .set("SYSTEM_OIDCREQUESTURI", &uri)
        .set("SYSTEM_ACCESSTOKEN", "azure-system-access-token")
        .set("SYSTEM_COLLECTIONURI", "https://dev.azure.com/org/")
        .set("SYSTEM_TEAMPROJECT", "project")
        .set("SYSTEM_JOBID", "job-1")
        .set("BUILD_BUILDID", "981");
}

#[test]
fn azure_pipelines_job_mints_for_its_service_connection() {
    let mut env = env_for("api://AzureADTokenExchange", "sc://org/project/*");
    azure_job(&mut env);
    let out = ok(
        &env,
        &[
            "--azure-service-connection",
            AZURE_CONNECTION,
            "--audience",
            "api://AzureADTokenExchange",
        ],
    );
    assert_eq!(stderr(&out), "");
    assert_eq!(last_session(&env), "ado-981");
    assert_eq!(
        last_claims(&env)["sub"],
        format!("sc://org/project/{AZURE_CONNECTION}")
    );
    assert_eq!(env.emu.azure_token_requests(), 1);
    // Cached per job: the next run calls neither Azure nor STS.
    env.set("AWS_CI_CREDS_AZURE_SERVICE_CONNECTION", AZURE_CONNECTION);
    ok(&env, &["--audience", "api://AzureADTokenExchange"]);
    assert_eq!(env.emu.azure_token_requests(), 1);
    assert_eq!(env.assume_calls(), 1);
}

#[test]
fn azure_without_the_access_token_quotes_the_env_mapping() {
    let mut env = env_for("api://AzureADTokenExchange", "*");
    azure_job(&mut env);
    env.unset("SYSTEM_ACCESSTOKEN");
    token_error(
        &env,
        &["--azure-service-connection", AZURE_CONNECTION],
        &["SYSTEM_ACCESSTOKEN: $(System.AccessToken)"],
    );
}

#[test]
fn azure_without_a_service_connection_names_the_flag() {
    let mut env = env_for("api://AzureADTokenExchange", "*");
    azure_job(&mut env);
    token_error(
        &env,
        &[],
        &[
            "--azure-service-connection",
            "AWS_CI_CREDS_AZURE_SERVICE_CONNECTION",
        ],
    );
}

#[test]
fn azure_refusing_the_access_token_quotes_the_env_mapping() {
    let mut env = env_for("api://AzureADTokenExchange", "*");
    azure_job(&mut env);
    env.set("SYSTEM_ACCESSTOKEN", "a-stale-token");
    let text = token_error(
        &env,
        &["--azure-service-connection", AZURE_CONNECTION],
        &["HTTP 401", "SYSTEM_ACCESSTOKEN: $(System.AccessToken)"],
    );
    assert!(!text.contains("a-stale-token"), "{text}");
}

// ---------------------------------------------------------------- Jenkins

const JENKINS_SUB: &str = "https://jenkins.example.com/job/team/job/app/";

fn jenkins_job(env: &mut TestEnv) {
    let url = format!("{}/", env.emu.issuer_url());
    env.set("JENKINS_URL", &url)
        .set("BUILD_ID", "5")
        .set("BUILD_NUMBER", "5")
        .set("JOB_NAME", "team/app");
}

#[test]
fn jenkins_token_bound_as_a_variable_is_used() {
    let mut env = env_for(
        "sts.amazonaws.com",
        "https://jenkins.example.com/job/team/*",
    );
    jenkins_job(&mut env);
    let token = env.emu.mint(json!({"sub": JENKINS_SUB, "build_number": 5}));
    env.set("AWS_ID_TOKEN", &token);
    let out = ok(&env, &["--token-env", "AWS_ID_TOKEN", "-v"]);
    assert!(
        stderr(&out).contains("Jenkins credential binding"),
        "{}",
        stderr(&out)
    );
    assert_eq!(last_session(&env), "jenkins-team-app-5");
}

#[test]
fn jenkins_token_bound_as_a_file_is_used() {
    let mut env = env_for("sts.amazonaws.com", "https://jenkins.example.com/*");
    jenkins_job(&mut env);
    let token = env.emu.mint(json!({"sub": JENKINS_SUB}));
    let file = env.token_file("oidc-token", &token);
    ok(&env, &["--token-file", file.to_str().unwrap()]);
    assert_eq!(last_session(&env), "jenkins-team-app-5");
}

#[test]
fn jenkins_finds_the_one_variable_its_issuer_minted() {
    let mut env = env_for("sts.amazonaws.com", "https://jenkins.example.com/*");
    jenkins_job(&mut env);
    let token = env.emu.mint(json!({"sub": JENKINS_SUB}));
    env.set("SOME_BOUND_TOKEN", &token);
    ok(&env, &[]);
    assert_eq!(last_session(&env), "jenkins-team-app-5");
}

#[test]
fn jenkins_without_a_bound_token_quotes_with_credentials() {
    let mut env = env_for("sts.amazonaws.com", "*");
    jenkins_job(&mut env);
    token_error(
        &env,
        &[],
        &[
            "withCredentials([string(credentialsId:",
            "--token-env AWS_ID_TOKEN",
        ],
    );
}

// ---------------------------------------------------------------- HCP Terraform

const TFC_SUB: &str = "organization:acme:project:Default:workspace:network:run_phase:apply";

#[test]
fn hcp_terraform_run_uses_its_workload_identity_token() {
    let mut env = env_for(
        "sts.amazonaws.com",
        "organization:acme:project:Default:workspace:network:*",
    );
    let token = env.emu.mint(json!({
        "sub": TFC_SUB, "run_id": "run-AbC123", "run_phase": "apply",
    }));
    env.set("TFC_RUN_ID", "run-AbC123")
        .set("TFC_WORKLOAD_IDENTITY_TOKEN", &token);
    ok(&env, &[]);
    assert_eq!(last_session(&env), "run-AbC123-apply");
}

#[test]
fn hcp_terraform_tagged_token_is_chosen_with_tfc_tag() {
    let mut env = env_for("sts.amazonaws.com", "organization:acme:*");
    let untrusted = env.emu.mint(json!({"sub": "someone-else"}));
    let tagged = env.emu.mint(json!({
        "sub": TFC_SUB, "run_id": "run-AbC123", "run_phase": "plan",
    }));
    env.set("TFC_RUN_ID", "run-AbC123")
        .set("TFC_WORKLOAD_IDENTITY_TOKEN", &untrusted)
        .set("TFC_WORKLOAD_IDENTITY_TOKEN_AWS", &tagged);
    ok(&env, &["--tfc-tag", "AWS"]);
    assert_eq!(last_session(&env), "run-AbC123-plan");
}

#[test]
fn hcp_terraform_without_a_token_says_which_workspace_variable_to_add() {
    let mut env = env_for("sts.amazonaws.com", "*");
    env.set("TFC_RUN_ID", "run-1");
    token_error(
        &env,
        &[],
        &["TFC_WORKLOAD_IDENTITY_AUDIENCE = sts.amazonaws.com"],
    );
    let token = env.emu.mint(json!({"sub": TFC_SUB}));
    env.set("TFC_WORKLOAD_IDENTITY_TOKEN_AWS", &token);
    token_error(&env, &[], &["tagged tokens are set for: AWS", "--tfc-tag"]);
    token_error(
        &env,
        &["--tfc-tag", "GCP"],
        &["TFC_WORKLOAD_IDENTITY_AUDIENCE_GCP = sts.amazonaws.com"],
    );
}

// ---------------------------------------------------------------- Spacelift, env0, Codefresh

#[test]
fn spacelift_run_uses_its_token_and_run_id() {
    let mut env = env_for("acme.app.spacelift.io", "space:legacy:stack:*");
    let token = env.emu.mint(json!({
        "aud": "acme.app.spacelift.io",
        "sub": "space:legacy:stack:network:run_type:TRACKED:scope:write",
        "runId": "01JKZAHVAQHFM8CC3EA5HWRMP1",
    }));
    env.set("SPACELIFT", "true")
        .set("TF_VAR_spacelift_run_id", "01JKZAHVAQHFM8CC3EA5HWRMP1")
        .set("SPACELIFT_OIDC_TOKEN", &token);
    ok(&env, &["--audience", "acme.app.spacelift.io"]);
    assert_eq!(last_session(&env), "spacelift-01JKZAHVAQHFM8CC3EA5HWRMP1");
}

#[test]
fn spacelift_run_without_a_token_points_at_the_token_file() {
    let mut env = env_for("sts.amazonaws.com", "*");
    env.set("SPACELIFT", "true");
    token_error(
        &env,
        &[],
        &[
            "SPACELIFT_OIDC_TOKEN",
            "--token-file /mnt/workspace/spacelift.oidc",
        ],
    );
}

#[test]
fn env0_deployment_uses_its_token() {
    let mut env = env_for("sts.amazonaws.com", "auth0|org-*");
    let token = env.emu.mint(json!({"sub": "auth0|org-1234"}));
    env.set("ENV0_ENVIRONMENT_ID", "e-1")
        .set("ENV0_DEPLOYMENT_LOG_ID", "d-77")
        .set("ENV0_OIDC_TOKEN", &token);
    ok(&env, &[]);
    assert_eq!(last_session(&env), "env0-d-77");
}

#[test]
fn env0_without_oidc_says_where_to_enable_it() {
    let mut env = env_for("sts.amazonaws.com", "*");
    env.set("ENV0_ENVIRONMENT_ID", "e-1");
    token_error(
        &env,
        &[],
        &["ENV0_OIDC_TOKEN", "Enable OIDC during deployments"],
    );
}

#[test]
fn codefresh_build_uses_the_obtained_id_token() {
    let mut env = env_for("sts.amazonaws.com", "account:acme:pipeline:*");
    let token = env
        .emu
        .mint(json!({"sub": "account:acme:pipeline:deploy:initiator:me"}));
    env.set("CF_BUILD_ID", "65a1b2c3").set("ID_TOKEN", &token);
    ok(&env, &[]);
    assert_eq!(last_session(&env), "cf-65a1b2c3");
}

#[test]
fn codefresh_without_the_step_quotes_it() {
    let mut env = env_for("sts.amazonaws.com", "*");
    env.set("CF_BUILD_ID", "65a1b2c3");
    token_error(
        &env,
        &[],
        &["type: obtain-oidc-id-token", "AUDIENCE: sts.amazonaws.com"],
    );
}

// ---------------------------------------------------------------- Kubernetes / EKS

fn k8s_claims(pod: &str) -> Value {
    json!({
        "sub": "system:serviceaccount:ci:deployer",
        "kubernetes.io": {
            "namespace": "ci",
            "pod": {"name": pod, "uid": "u"},
            "serviceaccount": {"name": "deployer", "uid": "s"},
        },
    })
}

#[test]
fn kubernetes_token_file_is_reread_on_every_exchange() {
    let mut env = env_for("sts.amazonaws.com", "system:serviceaccount:ci:*");
    let first = env.emu.mint(k8s_claims("runner-a"));
    let file = env.token_file("sa-token", &first);
    env.set("AWS_WEB_IDENTITY_TOKEN_FILE", file.to_str().unwrap());
    ok(&env, &["--no-cache"]);
    assert_eq!(last_session(&env), "k8s-ci-runner-a");
    let first_jti = last_claims(&env)["jti"].clone();
    // The kubelet rotates the file.
    let second = env.emu.mint(k8s_claims("runner-b"));
    env.token_file("sa-token", &second);
    ok(&env, &["--no-cache"]);
    assert_eq!(last_session(&env), "k8s-ci-runner-b");
    assert_ne!(last_claims(&env)["jti"], first_jti);
}

#[test]
fn a_gitlab_job_on_kubernetes_is_a_gitlab_job_and_verbose_says_why() {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    let pod = env.emu.mint(k8s_claims("runner"));
    let file = env.token_file("sa-token", &pod);
    env.set("AWS_WEB_IDENTITY_TOKEN_FILE", file.to_str().unwrap());
    let out = ok(&env, &["-v"]);
    let text = stderr(&out);
    assert!(text.contains("chosen because GITLAB_CI=true"), "{text}");
    assert!(text.contains("AWS_WEB_IDENTITY_TOKEN_FILE"), "{text}");
    assert_eq!(last_session(&env), "gl-42-1001");
}

#[test]
fn a_ci_job_missing_its_set_up_on_kubernetes_says_how_to_use_the_pod_token() {
    let mut env = env_for("sts.amazonaws.com", "*");
    env.set("BITBUCKET_BUILD_NUMBER", "3");
    let pod = env.emu.mint(k8s_claims("runner"));
    let file = env.token_file("sa-token", &pod);
    env.set("AWS_WEB_IDENTITY_TOKEN_FILE", file.to_str().unwrap());
    token_error(&env, &[], &["oidc: true", "--source file"]);
    ok(&env, &["--source", "file"]);
}

// ---------------------------------------------------------------- --token-command

#[test]
fn token_command_outside_any_ci_runs_every_time_and_keys_on_the_token() {
    let mut env = env_for("sts.amazonaws.com", "custom:*");
    let file = token_for_stub(&env, json!({"sub": "custom:job"}));
    let log = env.path("runs");
    stub(
        &mut env,
        "print-token",
        &format!(
            "[ \"$1\" = 'two words' ] || exit 9\necho 'chatter on stderr' >&2\necho run >> '{}'\ncat '{}'",
            log.display(),
            file.display()
        ),
    );
    let out = ok(&env, &["--token-command", "print-token 'two words'"]);
    assert_eq!(stderr(&out), "", "the command's stderr stays out of ours");
    ok(&env, &["--token-command", "print-token 'two words'"]);
    assert_eq!(
        runs(&env),
        2,
        "no job identity: the command runs every time"
    );
    assert_eq!(
        env.assume_calls(),
        1,
        "same token: the second run is a cache hit"
    );
}

#[test]
fn token_command_that_hangs_is_stopped_at_the_deadline() {
    let mut env = env_for("sts.amazonaws.com", "*");
    stub(&mut env, "hang", "exec sleep 60");
    let out = run(&env, &["--token-command", "hang", "--timeout", "2s"]);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(5), "{text}");
    assert!(text.contains("did not finish"), "{text}");
}

#[test]
fn token_command_not_found_names_the_program() {
    let env = env_for("sts.amazonaws.com", "*");
    token_error(
        &env,
        &["--token-command", "no-such-token-printer --x"],
        &["no-such-token-printer", "not found on PATH"],
    );
}

#[test]
fn token_command_with_unbalanced_quotes_is_a_usage_error() {
    let env = env_for("sts.amazonaws.com", "*");
    let out = run(&env, &["--token-command", "print 'oops"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no closing ' quote"),
        "{}",
        stderr(&out)
    );
}
