//! STS saying the token expired: a source that mints tokens gets one fresh token and one more
//! call; a fixed job token is not retried and the error says how to get a longer-lived one.
//! Counted from both ends: the mints (token endpoint requests, stub runs) and the STS calls.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use serde_json::json;
use sts_emulator::Fault;

use crate::support::*;

const EXPIRED: &str = "Token expired: current date/time 1764000300 must be before the expiration date/time 1764000000";

fn expired_fault() -> Fault {
    Fault::sts_error("ExpiredTokenException", EXPIRED)
}

/// A program that logs each run to `runs` and prints a fresh token for the emulator.
fn minting_program(env: &mut TestEnv, name: &str) -> PathBuf {
    let token = env
        .emu
        .mint(json!({"sub": GOOD_SUB, "aud": "sts.amazonaws.com"}));
    let token_path = env.path("minted-token");
    std::fs::write(&token_path, token).unwrap();
    let bin = env.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let path = bin.join(name);
    let script = format!(
        "#!/bin/sh\necho run >> '{}'\ncat '{}'\n",
        env.path("runs").display(),
        token_path.display()
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.set("PATH", &format!("{}:/usr/bin:/bin", bin.display()));
    path
}

fn runs(env: &TestEnv) -> usize {
    std::fs::read_to_string(env.path("runs"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

fn run(env: &TestEnv, args: &[&str]) -> std::process::Output {
    let mut cmd = env.cmd();
    cmd.args(["--role-arn", ROLE, "--no-cache", "-v"])
        .args(args);
    cmd.output().unwrap()
}

/// One expired answer then a good one: succeeds with two mints and two STS calls; a
/// persistent one: fails after exactly two of each, saying the fresh token expired too.
fn minting_source_remints_once(env: TestEnv, args: &[&str], mints: impl Fn(&TestEnv) -> usize) {
    env.emu.push_fault(expired_fault());
    let out = run(&env, args);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    process_json(&out.stdout);
    assert!(err.contains("minting a fresh token"), "{err}");
    assert_eq!(mints(&env), 2, "one fresh token after the expired one");
    assert_eq!(env.assume_calls(), 2);

    env.emu.set_persistent_fault(Some(expired_fault()));
    let out = run(&env, args);
    let err = failed(&out, 4);
    says(
        &err,
        &["ExpiredTokenException", "freshly minted token", "expired"],
    );
    assert_eq!(mints(&env), 4, "only one fresh token per run");
    assert_eq!(env.assume_calls(), 4);
}

#[test]
fn github_actions_mints_a_fresh_token_when_sts_says_expired() {
    let mut env = TestEnv::new();
    env.github_job();
    minting_source_remints_once(env, &[], |e| e.emu.github_token_requests());
}

#[test]
fn azure_pipelines_mints_a_fresh_token_when_sts_says_expired() {
    let mut env = env_for("api://AzureADTokenExchange", "sc://org/project/*");
    let uri = env.emu.azure_oidc_request_uri();
    env.set("TF_BUILD", "True")
        .set("SYSTEM_OIDCREQUESTURI", &uri)
        .set("SYSTEM_ACCESSTOKEN", "azure-system-access-token")
        .set("SYSTEM_COLLECTIONURI", "https://dev.azure.com/org/")
        .set("SYSTEM_JOBID", "job-1")
        .set("BUILD_BUILDID", "981");
    minting_source_remints_once(
        env,
        &[
            "--azure-service-connection",
            "5f0c2a8e-1b2c-4d5e-8f90-a1b2c3d4e5f6",
            "--audience",
            "api://AzureADTokenExchange",
        ],
        |e| e.emu.azure_token_requests(),
    );
}

#[test]
fn buildkite_mints_a_fresh_token_when_sts_says_expired() {
    let mut env = TestEnv::new();
    env.set("BUILDKITE", "true")
        .set("BUILDKITE_JOB_ID", "0190-job")
        .set("BUILDKITE_AGENT_ACCESS_TOKEN", "agent-access-token")
        .set("BUILDKITE_PIPELINE_SLUG", "deploy-app")
        .set("BUILDKITE_BUILD_NUMBER", "42");
    minting_program(&mut env, "buildkite-agent");
    minting_source_remints_once(env, &[], runs);
}

#[test]
fn a_token_command_is_run_again_when_sts_says_expired() {
    let mut env = TestEnv::new();
    let program = minting_program(&mut env, "print-token");
    let program = program.to_str().unwrap().to_string();
    minting_source_remints_once(env, &["--token-command", &program], runs);
}

#[test]
fn a_fixed_job_token_that_sts_says_expired_is_not_retried_and_says_how_to_live_longer() {
    let mut env = TestEnv::new();
    let claims = env.gitlab_claims();
    env.gitlab_job("AWS_ID_TOKEN", claims.clone());
    let file = env.token_file("token", &env.emu.mint(claims));
    for (args, fix) in [
        (vec![], "timeout:"),
        (
            vec!["--source", "file", "--token-file", file.to_str().unwrap()],
            "expirationSeconds",
        ),
    ] {
        for code in ["ExpiredTokenException", "InvalidIdentityToken"] {
            let before = env.assume_calls();
            let message = if code == "InvalidIdentityToken" {
                "The web identity token has expired"
            } else {
                EXPIRED
            };
            env.emu.push_fault(Fault::sts_error(code, message));
            let out = run(&env, &args);
            let err = failed(&out, 4);
            says(
                &err,
                &[code, "had expired when STS checked it", "fixed token", fix],
            );
            assert!(!err.contains("will retry"), "{err}");
            assert!(!err.contains("minting"), "{err}");
            assert_eq!(env.assume_calls() - before, 1, "{code} with {args:?}");
        }
    }
}
