//! `export`: every format's exact text, the GitHub masks (printed or `eval`ed), `$GITHUB_ENV`,
//! and the warning that exported keys do not refresh.

use serde_json::Value;

use crate::support::*;

fn gitlab_env() -> TestEnv {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    env
}

/// Credentials put in the cache by a credential-mode run, which `export` then serves.
fn cached(env: &TestEnv, extra: &[&str]) -> Value {
    let mut args = vec!["--role-arn", ROLE];
    args.extend_from_slice(extra);
    succeeded(&env.run(&args))
}

fn field<'a>(v: &'a Value, name: &str) -> &'a str {
    v[name].as_str().unwrap()
}

fn export(env: &TestEnv, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["export", "--role-arn", ROLE, "--region", "eu-west-1"];
    args.extend_from_slice(extra);
    let out = env.run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    out
}

#[test]
fn each_format_is_exact() {
    let env = gitlab_env();
    let v = cached(&env, &["--region", "eu-west-1"]);
    let (k, s, t, e) = (
        field(&v, "AccessKeyId"),
        field(&v, "SecretAccessKey"),
        field(&v, "SessionToken"),
        field(&v, "Expiration"),
    );
    let expected = [
        (
            "sh",
            format!(
                "export AWS_ACCESS_KEY_ID='{k}'\nexport AWS_SECRET_ACCESS_KEY='{s}'\nexport AWS_SESSION_TOKEN='{t}'\nexport AWS_CREDENTIAL_EXPIRATION='{e}'\nexport AWS_REGION='eu-west-1'\n"
            ),
        ),
        (
            "fish",
            format!(
                "set -gx AWS_ACCESS_KEY_ID '{k}'\nset -gx AWS_SECRET_ACCESS_KEY '{s}'\nset -gx AWS_SESSION_TOKEN '{t}'\nset -gx AWS_CREDENTIAL_EXPIRATION '{e}'\nset -gx AWS_REGION 'eu-west-1'\n"
            ),
        ),
        (
            "powershell",
            format!(
                "$env:AWS_ACCESS_KEY_ID = '{k}'\n$env:AWS_SECRET_ACCESS_KEY = '{s}'\n$env:AWS_SESSION_TOKEN = '{t}'\n$env:AWS_CREDENTIAL_EXPIRATION = '{e}'\n$env:AWS_REGION = 'eu-west-1'\n"
            ),
        ),
        (
            "dotenv",
            format!(
                "AWS_ACCESS_KEY_ID={k}\nAWS_SECRET_ACCESS_KEY={s}\nAWS_SESSION_TOKEN={t}\nAWS_CREDENTIAL_EXPIRATION={e}\nAWS_REGION=eu-west-1\n"
            ),
        ),
    ];
    for (format, want) in expected {
        let out = export(&env, &["--format", format]);
        assert_eq!(String::from_utf8(out.stdout).unwrap(), want, "{format}");
    }
    let out = export(&env, &["--format", "json"]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "AWS_ACCESS_KEY_ID": k, "AWS_SECRET_ACCESS_KEY": s, "AWS_SESSION_TOKEN": t,
            "AWS_CREDENTIAL_EXPIRATION": e, "AWS_REGION": "eu-west-1",
        })
    );
    assert_eq!(env.assume_calls(), 1, "export reads the same cache");
}

#[test]
fn the_region_is_left_out_when_none_was_given() {
    let env = gitlab_env();
    let out = env.run(&["export", "--role-arn", ROLE]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(!text.contains("AWS_REGION"));
}

#[test]
fn stderr_says_when_they_expire_that_they_do_not_refresh_and_nothing_secret() {
    let env = gitlab_env();
    let out = export(&env, &[]);
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let err = stderr(&out);
    says(
        &err,
        &[
            "expire at ",
            "are not refreshed",
            "exec --serve",
            "docs/serve.md",
        ],
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    for line in text.lines() {
        let value = line.split_once('=').unwrap().1.trim_matches('\'');
        if line.contains("AWS_SECRET") || line.contains("AWS_SESSION_TOKEN") {
            assert!(!err.contains(value), "secret on stderr");
        }
    }
}

#[test]
fn on_github_the_secret_values_are_masked_first_even_when_evaled() {
    let mut env = TestEnv::new();
    env.github_job();
    let out = env.run(&["export", "--role-arn", ROLE]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "printf '%s\\n' '");
    let masked: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("::add-mask::"))
        .collect();
    assert_eq!(
        masked.len(),
        3,
        "key id, secret key and session token: {text}"
    );
    assert_eq!(lines[4], "'");
    assert!(lines[5].starts_with("export AWS_ACCESS_KEY_ID="));

    // Evaluated by a shell, the masks reach the log first and the variables are set.
    let script = format!(
        "eval \"$('{}' export --role-arn {ROLE})\" && echo \"secret=$AWS_SECRET_ACCESS_KEY\"",
        bin().display()
    );
    let mut sh = std::process::Command::new("sh");
    sh.args(["-c", &script]).env_clear();
    sh.env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for name in [
        "HOME",
        "AWS_CI_CREDS_CACHE_DIR",
        "AWS_ENDPOINT_URL_STS",
        "GITHUB_ACTIONS",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "GITHUB_RUN_ID",
        "GITHUB_RUN_ATTEMPT",
        "GITHUB_REPOSITORY",
        "GITHUB_JOB",
        "CI",
    ] {
        if let Some(v) = env.var(name) {
            sh.env(name, v);
        }
    }
    let out = sh.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = String::from_utf8(out.stdout).unwrap();
    let secret = masked[1];
    let mask_at = shown
        .find(&format!("\n::add-mask::{secret}\n"))
        .expect("the mask line is printed at the start of a line");
    let value_at = shown
        .find(&format!("secret={secret}"))
        .expect("the variable is set");
    assert!(mask_at < value_at, "{shown}");
}

#[test]
fn no_mask_turns_the_masks_off() {
    let mut env = TestEnv::new();
    env.github_job();
    let out = env.run(&["export", "--role-arn", ROLE, "--no-mask"]);
    assert!(out.status.success());
    assert!(!String::from_utf8(out.stdout).unwrap().contains("add-mask"));
}

#[test]
fn on_github_data_formats_warn_that_they_cannot_be_masked() {
    let mut env = TestEnv::new();
    env.github_job();
    let out = env.run(&["export", "--role-arn", ROLE, "--format", "json"]);
    assert!(out.status.success());
    serde_json::from_slice::<Value>(&out.stdout).expect("stdout stays pure JSON");
    says(&stderr(&out), &["--format json cannot carry ::add-mask::"]);
}

#[test]
fn github_env_appends_heredocs_and_prints_only_the_masks() {
    let mut env = TestEnv::new();
    env.github_job();
    let file = env.path("github_env");
    std::fs::write(&file, "EARLIER=kept\n").unwrap();
    env.set("GITHUB_ENV", file.to_str().unwrap());
    let out = env.run(&["export", "--role-arn", ROLE, "--format", "github-env"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = String::from_utf8(out.stdout).unwrap();
    let masked: Vec<&str> = printed
        .lines()
        .map(|l| l.strip_prefix("::add-mask::").expect("only mask lines"))
        .collect();
    assert_eq!(masked.len(), 3);

    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("EARLIER=kept"), "earlier content kept");
    let mut vars = std::collections::BTreeMap::new();
    while let Some(open) = lines.next() {
        let (name, delimiter) = open.split_once("<<").expect("NAME<<DELIMITER");
        assert!(delimiter.starts_with("ghadelimiter_") && delimiter.len() > 40);
        let value = lines.next().unwrap();
        assert_eq!(lines.next(), Some(delimiter));
        vars.insert(name.to_string(), value.to_string());
    }
    assert_eq!(
        vars.keys().cloned().collect::<Vec<_>>(),
        [
            "AWS_ACCESS_KEY_ID",
            "AWS_CREDENTIAL_EXPIRATION",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN"
        ]
    );
    assert_eq!(vars["AWS_ACCESS_KEY_ID"], masked[0]);
    assert_eq!(vars["AWS_SECRET_ACCESS_KEY"], masked[1]);
    assert_eq!(vars["AWS_SESSION_TOKEN"], masked[2]);
}

#[test]
fn github_env_without_the_variable_is_a_usage_error_before_any_exchange() {
    let env = gitlab_env();
    let out = env.run(&["export", "--role-arn", ROLE, "--format", "github-env"]);
    let err = failed(&out, 2);
    says(&err, &["GITHUB_ENV", "--format sh"]);
    assert_eq!(env.assume_calls(), 0);
}

#[test]
fn a_failed_exchange_prints_nothing() {
    let env = TestEnv::new();
    let out = env.run(&["export", "--role-arn", ROLE]);
    failed(&out, 3);
}
