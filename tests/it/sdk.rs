//! A real AWS SDK (aws-sdk-rust) obtaining credentials through our `credential_process` line,
//! then calling STS with them, exactly as any SDK-based tool in a CI job would.

#![allow(deprecated)] // aws-config's ProfileFiles aliases; the replacement crate is not a dependency

use std::path::{Path, PathBuf};

use aws_config::BehaviorVersion;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::profile::profile_file::{ProfileFileKind, ProfileFiles};
use aws_sdk_sts::config::Region;
use aws_sdk_sts::error::DisplayErrorContext;

use crate::support::*;

/// An AWS config file whose profile `ci` runs the built binary for `role`. Everything the binary
/// needs is on the line: the child inherits this test process's environment, not the TestEnv's.
fn config_file(env: &TestEnv, role: &str, token_file: &Path) -> PathBuf {
    let line = format!(
        "{} --role-arn {role} --source file --token-file {} --sts-endpoint {} --cache-dir {} --session-name sdk-session",
        bin().display(),
        token_file.display(),
        env.emu.sts_endpoint(),
        env.cache_dir().display(),
    );
    let path = env.path("aws-config");
    std::fs::write(
        &path,
        format!("[profile ci]\ncredential_process = {line}\nregion = us-east-1\n"),
    )
    .unwrap();
    path
}

/// The caller ARN STS reports for the SDK's credentials, or the SDK's error in full.
async fn caller_arn(env: &TestEnv, config: &Path) -> Result<String, String> {
    let provider = ProfileFileCredentialsProvider::builder()
        .profile_files(
            ProfileFiles::builder()
                .with_file(ProfileFileKind::Config, config)
                .build(),
        )
        .profile_name("ci")
        .build();
    let conf = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(env.emu.sts_endpoint())
        .credentials_provider(provider)
        .build();
    aws_sdk_sts::Client::from_conf(conf)
        .get_caller_identity()
        .send()
        .await
        .map(|out| out.arn().unwrap_or_default().to_string())
        .map_err(|e| DisplayErrorContext(e).to_string())
}

#[tokio::test]
async fn the_rust_sdk_gets_credentials_through_credential_process() {
    let env = TestEnv::new();
    let token = env.token_file("token", &env.emu.mint(env.gitlab_claims()));
    let config = config_file(&env, ROLE, &token);
    let arn = caller_arn(&env, &config).await.expect("the SDK call works");
    assert_eq!(
        arn,
        "arn:aws:sts::123456789012:assumed-role/deploy/sdk-session"
    );
    assert_eq!(env.assume_calls(), 1);
    assert_eq!(env.emu.sts_calls("GetCallerIdentity"), 1);

    // A second client (a second tool in the same job) is served from the cache.
    let arn = caller_arn(&env, &config)
        .await
        .expect("second SDK call works");
    assert_eq!(
        arn,
        "arn:aws:sts::123456789012:assumed-role/deploy/sdk-session"
    );
    assert_eq!(env.assume_calls(), 1);
}

#[tokio::test]
async fn the_sdk_error_carries_our_explanation_when_the_role_does_not_trust_the_token() {
    let env = TestEnv::new();
    let token = env.token_file("token", &env.emu.mint(env.gitlab_claims()));
    let config = config_file(&env, "arn:aws:iam::123456789012:role/untrusted", &token);
    let err = caller_arn(&env, &config)
        .await
        .expect_err("the role does not trust this token");
    says(
        &err,
        &[
            "exited with code",
            "STS refused to let this token assume arn:aws:iam::123456789012:role/untrusted",
            "trust policy",
            GOOD_SUB,
        ],
    );
    assert_eq!(env.emu.sts_calls("GetCallerIdentity"), 0);
}
