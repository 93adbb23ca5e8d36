//! aws-sdk-rust against `exec --serve`: the SDK's default credential chain finds the endpoint
//! from the two variables alone (no config file, no key variables) and keeps working across an
//! expiry.
//!
//! The SDK reads the real process environment, which a test must not change while others run,
//! so the client runs in a child process: this test binary again, running only
//! [`sdk_client_in_the_child`], started by `aws-ci-creds exec --serve`.

use std::time::Duration;

use aws_config::BehaviorVersion;

use crate::serve::short_lived_env;
use crate::support::*;

/// Set for the child run only: without it the child test does nothing.
const CHILD: &str = "AWS_CI_CREDS_TEST_SDK_CHILD";

fn run_child_under_exec_serve(env: &TestEnv, calls: &str, extra: &[&str]) -> std::process::Output {
    let me = std::env::current_exe().expect("the test binary");
    let mut args = vec![
        "exec",
        "--serve",
        "--role-arn",
        ROLE,
        "--region",
        "us-east-1",
    ];
    args.extend_from_slice(extra);
    let out = env
        .std_cmd()
        .env(CHILD, calls)
        .args(args)
        .arg("--")
        .arg(me)
        .args([
            "serve_sdk::sdk_client_in_the_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    out
}

#[test]
fn the_rust_sdk_gets_credentials_from_the_endpoint_alone() {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    let out = run_child_under_exec_serve(&env, "1", &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("child: 1 calls ok"), "{text}");
    assert_eq!(env.emu.sts_calls("GetCallerIdentity"), 1);
}

#[test]
fn a_long_running_rust_sdk_client_keeps_working_across_expiries() {
    // Credentials live 5 s; the client calls for ~12 s with one client (one provider cache).
    let env = short_lived_env(5);
    let out = run_child_under_exec_serve(&env, "12", &["--duration", "900"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("child: 12 calls ok"), "{text}");
    assert!(
        env.assume_calls() >= 3,
        "the endpoint refreshed across the expiries: {} exchanges",
        env.assume_calls()
    );
}

/// The client side. Runs only as the child of the tests above.
#[tokio::test]
#[ignore = "run by the tests above as a child of `exec --serve`"]
async fn sdk_client_in_the_child() {
    let Some(calls) = std::env::var_os(CHILD) else {
        return;
    };
    let calls: u32 = calls.to_str().unwrap().parse().unwrap();
    for name in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
    ] {
        assert!(std::env::var_os(name).is_none(), "{name} is set");
    }
    assert!(std::env::var_os("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some());
    // The default chain, as any tool builds it: it finds the endpoint on its own.
    let conf = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let client = aws_sdk_sts::Client::new(&conf);
    for i in 0..calls {
        let out = client
            .get_caller_identity()
            .send()
            .await
            .unwrap_or_else(|e| panic!("call {i}: {}", aws_sdk_sts::error::DisplayErrorContext(e)));
        assert_eq!(
            out.arn(),
            Some("arn:aws:sts::123456789012:assumed-role/deploy/gl-42-1001")
        );
        if calls > 1 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    println!("child: {calls} calls ok");
}
