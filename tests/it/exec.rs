//! `exec`: the child's environment, its exit status (and 128 + signal), signal forwarding, and
//! the errors for a missing or unknown command.

use std::time::{Duration, Instant};

use crate::support::*;

fn gitlab_env() -> TestEnv {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    env
}

#[test]
fn the_child_gets_fresh_credentials_and_no_profile_or_stale_keys() {
    let mut env = gitlab_env();
    env.set("AWS_PROFILE", "ci")
        .set("AWS_DEFAULT_PROFILE", "ci")
        .set("AWS_ACCESS_KEY_ID", "AKIASTALESTALESTALE")
        .set("AWS_SESSION_TOKEN", "stale-session");
    let out = env
        .cmd()
        .args([
            "exec",
            "--role-arn",
            ROLE,
            "--region",
            "eu-west-1",
            "--",
            "env",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let var = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .map(str::to_string)
    };
    assert!(
        var("AWS_ACCESS_KEY_ID").unwrap().starts_with("ASIA"),
        "{text}"
    );
    assert!(!var("AWS_SECRET_ACCESS_KEY").unwrap().is_empty());
    let session = var("AWS_SESSION_TOKEN").unwrap();
    assert!(!session.is_empty() && session != "stale-session");
    let exp = var("AWS_CREDENTIAL_EXPIRATION").unwrap();
    assert!(exp.ends_with('Z'), "{exp}");
    chrono::DateTime::parse_from_rfc3339(&exp).unwrap();
    assert_eq!(var("AWS_REGION").as_deref(), Some("eu-west-1"));
    assert_eq!(var("AWS_PROFILE"), None, "AWS_PROFILE would loop back");
    assert_eq!(var("AWS_DEFAULT_PROFILE"), None);
    assert!(!text.contains("AKIASTALESTALESTALE"));
    assert_eq!(
        var("CI_JOB_ID").as_deref(),
        Some("1001"),
        "the rest is inherited"
    );
    assert_eq!(stderr(&out), "", "nothing on stderr, and so no secret");
}

#[test]
fn the_child_reuses_cached_credentials() {
    let env = gitlab_env();
    for _ in 0..2 {
        let out = env
            .cmd()
            .args(["exec", "--role-arn", ROLE, "--", "true"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert_eq!(env.assume_calls(), 1);
}

#[test]
fn without_a_region_setting_aws_region_is_not_invented() {
    let env = gitlab_env();
    let out = env
        .cmd()
        .args(["exec", "--role-arn", ROLE, "--", "env"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("AWS_REGION="));
}

#[test]
fn the_childs_exit_status_is_ours() {
    let env = gitlab_env();
    let out = env
        .cmd()
        .args(["exec", "--role-arn", ROLE, "--", "sh", "-c", "exit 7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7));
    let out = env
        .cmd()
        .args([
            "exec",
            "--role-arn",
            ROLE,
            "--",
            "sh",
            "-c",
            "kill -KILL $$",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(128 + 9),
        "killed by SIGKILL: 128 + 9"
    );
}

/// Waits (generously) for a file the child writes once its trap is set.
fn wait_for(path: &std::path::Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the child never got ready"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn forwards(signal: libc::c_int, name: &str) {
    let env = gitlab_env();
    let mark = env.path("mark");
    let ready = env.path("ready");
    let script = format!(
        "trap 'echo got {name} > \"$MARK\"; exit 3' {name}; touch \"$READY\"; while :; do sleep 0.1; done"
    );
    let mut child = env
        .std_cmd()
        .env("MARK", &mark)
        .env("READY", &ready)
        .args(["exec", "--role-arn", ROLE, "--", "sh", "-c", &script])
        .spawn()
        .unwrap();
    wait_for(&ready);
    // SAFETY: kill(2) on our own child process.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    assert_eq!(rc, 0);
    let status = child.wait().unwrap();
    assert_eq!(
        std::fs::read_to_string(&mark).unwrap().trim(),
        format!("got {name}")
    );
    assert_eq!(
        status.code(),
        Some(3),
        "aws-ci-creds exits with the child's status"
    );
}

#[test]
fn sigterm_is_forwarded_to_the_child() {
    forwards(libc::SIGTERM, "TERM");
}

#[test]
fn sigint_is_forwarded_to_the_child() {
    forwards(libc::SIGINT, "INT");
}

#[test]
fn an_unknown_command_is_a_usage_error_that_names_it() {
    let env = gitlab_env();
    let out = env
        .cmd()
        .args(["exec", "--role-arn", ROLE, "--", "no-such-command-here"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("`no-such-command-here` was not found"),
        "{err}"
    );
}

#[test]
fn a_missing_command_is_a_usage_error() {
    let env = gitlab_env();
    let out = env
        .cmd()
        .args(["exec", "--role-arn", ROLE])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(env.assume_calls(), 0, "no exchange for nothing to run");
}

#[test]
fn a_failed_exchange_does_not_run_the_command() {
    let mut env = gitlab_env();
    let mut claims = env.gitlab_claims();
    claims["sub"] = "project_path:other/project:ref_type:branch:ref:main".into();
    env.gitlab_job("AWS_ID_TOKEN", claims);
    let mark = env.path("ran");
    let out = env
        .cmd()
        .args(["exec", "--role-arn", ROLE, "--", "touch"])
        .arg(&mark)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(!mark.exists());
}
