//! Commands run in-process, through `app::run`, with their stdout and stderr in buffers: what a
//! user sees, without spawning the binary.

use std::path::Path;

use chrono::TimeZone;
use clap::Parser;

use super::*;
use crate::clock::FixedClock;
use crate::context::Paths;
use crate::diag::Diag;
use crate::env::Env;
use crate::exit_code::ExitCode;

/// What a run printed and how it ended, as `main` would show it (the error on stderr).
struct Ran {
    outcome: Result<Outcome, ExitCode>,
    stdout: String,
    stderr: String,
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc
        .with_ymd_and_hms(2026, 11, 26, 12, 0, 0)
        .unwrap()
}

fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Ran {
    let cli = Cli::try_parse_from(std::iter::once("aws-ci-creds").chain(args.iter().copied()))
        .expect("the arguments parse");
    // A file where the temp cache would go: no cache directory unless the test names one.
    std::fs::write(dir.join("blocker"), "").unwrap();
    let ctx = Ctx {
        env: Env::from_pairs(env.iter().copied()),
        clock: Box::new(FixedClock(now())),
        diag: Diag::capture(cli.verbose),
        paths: Paths {
            user_cache_dir: None,
            temp_cache_dir: dir.join("blocker").join("temp-cache"),
            current_exe: Some(dir.join("aws-ci-creds")),
        },
    };
    let mut stdout = Vec::new();
    let result = run(cli, &ctx, &mut Out::to(&mut stdout));
    let outcome = result.map_err(|error| {
        ctx.diag.error(&error);
        error.exit_code()
    });
    Ran {
        outcome,
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: ctx.diag.captured(),
    }
}

/// A cache directory the cache accepts: created as the cache itself creates one.
fn private_dir(path: &Path) {
    crate::sys::fs::create_private_dir_all(path).unwrap();
}

#[test]
fn credential_options_before_a_subcommand_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let ran = run_in(dir.path(), &["--role-arn", "x", "demo"], &[]);
    assert_eq!(ran.outcome, Err(ExitCode::Usage));
    assert_eq!(ran.stdout, "");
    assert!(
        ran.stderr.starts_with(
            "aws-ci-creds: error: credential options were given before the subcommand `demo`"
        ),
        "{}",
        ran.stderr
    );
}

#[test]
fn completions_are_one_script_on_stdout_ending_in_one_newline() {
    let dir = tempfile::tempdir().unwrap();
    let ran = run_in(dir.path(), &["completions", "bash"], &[]);
    assert_eq!(ran.outcome, Ok(Outcome::SUCCESS));
    assert_eq!(
        ran.stdout,
        format!(
            "{}\n",
            commands::completions::script(clap_complete::Shell::Bash)
                .unwrap()
                .trim_end_matches('\n')
        )
    );
    assert!(ran.stdout.contains("_aws__ci__creds()"), "{}", ran.stdout);
    assert_eq!(ran.stderr, "");
}

#[test]
fn cache_path_and_an_empty_list_name_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    private_dir(&cache);
    let env = [("AWS_CI_CREDS_CACHE_DIR", cache.to_str().unwrap())];

    let ran = run_in(dir.path(), &["cache", "path"], &env);
    assert_eq!(ran.outcome, Ok(Outcome::SUCCESS));
    let (shown, reason) = ran.stdout.split_once('\t').expect("DIR\\t(REASON)");
    assert_eq!(Path::new(shown), cache);
    assert!(
        reason.starts_with('(') && reason.ends_with(")\n"),
        "{reason}"
    );
    assert!(reason.contains("AWS_CI_CREDS_CACHE_DIR"), "{reason}");

    let ran = run_in(dir.path(), &["cache", "list"], &env);
    assert_eq!(ran.outcome, Ok(Outcome::SUCCESS));
    assert_eq!(ran.stdout, "no cached credentials\n");

    let ran = run_in(dir.path(), &["cache", "list", "--json"], &env);
    let listing: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(
        listing,
        serde_json::json!({"directory": cache.display().to_string(), "entries": []})
    );

    let ran = run_in(dir.path(), &["cache", "clear"], &env);
    assert_eq!(
        ran.stdout,
        format!("nothing to remove in {}\n", cache.display())
    );
    assert_eq!(ran.stderr, "");
}

#[test]
fn cache_list_shows_an_entry_without_its_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = dir.path().join("cache");
    let cache = crate::cache::Cache::open(&cache_dir).unwrap();
    let parts = crate::cache::KeyParts {
        role_arn: "arn:aws:iam::123456789012:role/deploy",
        session_name: "gl-1-2",
        duration_seconds: 3600,
        policy: None,
        policy_arns: &[],
        sts_endpoint: "rules:eu-west-1:fips=0:dualstack=0",
        region: "eu-west-1",
        issuer: "https://gitlab.example.com",
        subject: "project_path:group/app:ref_type:branch:ref:main",
        audience: "sts.amazonaws.com",
        job: "job-1",
    };
    let entry = crate::cache::Entry {
        meta: crate::cache::EntryMeta {
            role_arn: parts.role_arn.into(),
            session_name: parts.session_name.into(),
            issuer: parts.issuer.into(),
            subject: parts.subject.into(),
            audience: parts.audience.into(),
            source: "gitlab".into(),
            created: now(),
        },
        credentials: crate::credentials::tests::sample(now() + chrono::Duration::minutes(50)),
    };
    cache
        .store(&crate::cache::CacheKey::derive(&parts), &entry)
        .unwrap();

    let env = [("AWS_CI_CREDS_CACHE_DIR", cache_dir.to_str().unwrap())];
    let ran = run_in(dir.path(), &["cache", "list"], &env);
    assert_eq!(ran.outcome, Ok(Outcome::SUCCESS));
    assert_eq!(
        ran.stdout,
        "\
ROLE                                   SESSION  SUBJECT                                          ISSUER                      EXPIRES (UTC)        LEFT    STATE  KEY
arn:aws:iam::123456789012:role/deploy  gl-1-2   project_path:group/app:ref_type:branch:ref:main  https://gitlab.example.com  2026-11-26 12:50:00  50m 0s  fresh  …EY01
"
    );
    // The key's last four characters are all that is shown of it.
    for secret in ["secret-canary", "session-canary", "ASIAEXAMPLEKEY01"] {
        assert!(!ran.stdout.contains(secret), "{secret} in {}", ran.stdout);
    }
}

#[test]
fn cache_without_a_usable_directory_is_a_usage_error_on_stderr_only() {
    let dir = tempfile::tempdir().unwrap();
    let ran = run_in(dir.path(), &["cache", "list"], &[]);
    assert_eq!(ran.outcome, Err(ExitCode::Usage));
    assert_eq!(ran.stdout, "");
    assert!(
        ran.stderr.contains("no usable cache directory"),
        "{}",
        ran.stderr
    );
}

#[test]
fn trust_policy_prints_the_policy_on_stdout_and_the_provider_command_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = "https://token.actions.githubusercontent.com";
    let ran = run_in(
        dir.path(),
        &[
            "trust-policy",
            "--issuer",
            issuer,
            "--subject",
            "repo:octo-org/app:ref:refs/heads/main",
            "--account-id",
            "123456789012",
        ],
        &[],
    );
    assert_eq!(ran.outcome, Ok(Outcome::SUCCESS));
    let policy: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let statement = &policy["Statement"][0];
    assert_eq!(
        statement["Principal"]["Federated"],
        "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    );
    assert_eq!(
        statement["Action"], "sts:AssumeRoleWithWebIdentity",
        "{policy}"
    );
    let lines: Vec<&str> = ran.stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{}", ran.stderr);
    assert!(lines[0].starts_with("# scope: "), "{}", lines[0]);
    assert_eq!(
        lines[2],
        format!(
            "aws iam create-open-id-connect-provider --url {issuer} --client-id-list sts.amazonaws.com"
        )
    );
}

/// A token file for doctor; `exp` relative to the test's clock.
fn token_file(dir: &Path, exp_from_now: i64) -> String {
    let now = now().timestamp();
    let token = crate::jwt::test_token(serde_json::json!({
        "iss": "https://gitlab.example.com",
        "sub": "project_path:group/app:ref_type:branch:ref:main",
        "aud": "sts.amazonaws.com",
        "iat": now - 60,
        "exp": now + exp_from_now,
        "project_path": "group/app",
    }));
    let path = dir.join("token");
    std::fs::write(&path, token).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn doctor_reports_each_check_and_fails_on_an_expired_token() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    private_dir(&cache);
    let token = token_file(dir.path(), -120);
    let env = [
        ("AWS_CI_CREDS_CACHE_DIR", cache.to_str().unwrap()),
        ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
    ];
    let ran = run_in(dir.path(), &["doctor", "--token-file", &token], &env);
    assert_eq!(ran.outcome, Ok(Outcome::Exit(ExitCode::CheckFailed)));
    let text = &ran.stdout;
    assert!(
        text.starts_with("aws-ci-creds doctor\n\nsettings:\n"),
        "{text}"
    );
    assert!(
        text.contains("\n  sub  project_path:group/app:ref_type:branch:ref:main\n"),
        "{text}"
    );
    assert!(text.contains("\n  project_path = group/app\n"), "{text}");
    for line in [
        "  [warn] no role ARN (--role-arn, AWS_CI_CREDS_ROLE_ARN or AWS_ROLE_ARN): the exchange will not be tried",
        "  [FAIL] expiry: the token expired at 2026-11-26T11:58:00Z (2m 0s ago)",
        "  [skip] AssumeRoleWithWebIdentity not tried: no usable role ARN",
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
    }
    assert!(
        text.ends_with(" failed, 2 skipped\n") && text.contains("\nFAILED: "),
        "{text}"
    );
    assert_eq!(ran.stderr, "");
}

#[test]
fn doctor_json_spells_the_check_ids_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    private_dir(&cache);
    let token = token_file(dir.path(), 3600);
    let env = [
        ("AWS_CI_CREDS_CACHE_DIR", cache.to_str().unwrap()),
        ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
    ];
    let ran = run_in(
        dir.path(),
        &["doctor", "--json", "--token-file", &token],
        &env,
    );
    assert_eq!(ran.outcome, Ok(Outcome::SUCCESS), "{}", ran.stdout);
    let report: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let ids: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "role_arn", "ci", "source", "audience", "expiry", "duration", "cache", "profile",
            "exchange"
        ]
    );
    assert_eq!(report["ok"], true);
}

#[test]
fn export_to_github_env_without_the_variable_fails_before_any_exchange() {
    let dir = tempfile::tempdir().unwrap();
    let ran = run_in(
        dir.path(),
        &[
            "export",
            "--format",
            "github-env",
            "--role-arn",
            "arn:aws:iam::123456789012:role/r",
            "--token-file",
            "/nonexistent/token",
        ],
        &[],
    );
    assert_eq!(ran.outcome, Err(ExitCode::Usage));
    assert_eq!(ran.stdout, "");
    assert!(
        ran.stderr.starts_with(
            "aws-ci-creds: error: --format github-env needs GITHUB_ENV, which is not set"
        ),
        "{}",
        ran.stderr
    );
}

#[test]
fn setup_dry_run_prints_the_diff_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("aws-ci-creds"), "").unwrap();
    let config = dir.path().join("config");
    let ran = run_in(
        dir.path(),
        &[
            "setup",
            "--profile",
            "ci",
            "--role-arn",
            "arn:aws:iam::123456789012:role/deploy",
            "--dry-run",
        ],
        &[("AWS_CONFIG_FILE", config.to_str().unwrap())],
    );
    assert_eq!(ran.outcome, Ok(Outcome::SUCCESS), "{}", ran.stderr);
    assert!(ran.stdout.contains("+[profile ci]\n"), "{}", ran.stdout);
    assert!(
        ran.stdout
            .contains(" --role-arn arn:aws:iam::123456789012:role/deploy\n"),
        "{}",
        ran.stdout
    );
    assert!(!config.exists());
}

#[test]
fn the_one_verbosity_reaches_the_flow_below_a_command() {
    let dir = tempfile::tempdir().unwrap();
    let token = token_file(dir.path(), 3600);
    let args = [
        "trust-policy",
        "--account-id",
        "123456789012",
        "--token-file",
        &token,
    ];
    let quiet = run_in(dir.path(), &args, &[]);
    let verbose = run_in(dir.path(), &[&["-v"][..], &args[..]].concat(), &[]);
    assert_eq!(quiet.outcome, Ok(Outcome::SUCCESS));
    assert_eq!(quiet.stdout, verbose.stdout);
    let line = format!(
        "aws-ci-creds: token source: token file {token} (from flag --token-file) (chosen because flag --token-file names the file)"
    );
    assert!(!quiet.stderr.contains(&line), "{}", quiet.stderr);
    assert!(
        verbose.stderr.lines().any(|l| l == line),
        "{}",
        verbose.stderr
    );
}
