//! `setup`: a missing, an empty and a rich AWS config file; idempotence; the file's mode; quoting
//! that botocore's `shlex.split` and `sh -c` both undo; `--dry-run`; and, when the AWS CLI is
//! installed, the CLI using the profile against the emulator.

use std::path::{Path, PathBuf};

use crate::support::*;

const RICH: &str = "\
# AWS config, hand-written
[default]
region = eu-central-1
output = json

[sso-session my-sso]
sso_start_url = https://example.awsapps.com/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access

[profile dev]
sso_session = my-sso
sso_account_id = 111111111111
sso_role_name = Dev
services = local

[services local]
s3 =
  endpoint_url = http://localhost:4566

; the CI profile, managed by aws-ci-creds
[profile ci]
# old line below
credential_process = /old/path/aws-ci-creds --role-arn arn:aws:iam::111111111111:role/old
s3 =
  max_concurrent_requests = 20

[profile other]
region = us-west-2
";

fn exe() -> String {
    std::fs::canonicalize(assert_cmd::cargo::cargo_bin("aws-ci-creds"))
        .unwrap()
        .to_str()
        .unwrap()
        .to_string()
}

fn config_env(file: &str) -> (TestEnv, PathBuf) {
    let mut env = TestEnv::new();
    let path = env.path(file);
    env.set("AWS_CONFIG_FILE", path.to_str().unwrap());
    (env, path)
}

fn setup(env: &TestEnv, extra: &[&str]) -> std::process::Output {
    env.cmd()
        .args(["setup", "--profile", "ci", "--role-arn", ROLE])
        .args(extra)
        .output()
        .unwrap()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn a_missing_config_file_and_directory_are_created_private() {
    let mut env = TestEnv::new();
    env.unset("AWS_CONFIG_FILE");
    let out = setup(&env, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = env.path("home/.aws");
    let file = dir.join("config");
    assert_eq!(
        read(&file),
        format!(
            "[profile ci]\ncredential_process = {} --role-arn {ROLE}\n",
            exe()
        )
    );
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&file), 0o600);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("added [profile ci]"), "{text}");
    assert!(
        text.contains("aws --profile ci sts get-caller-identity"),
        "{text}"
    );
}

#[test]
fn an_empty_config_file_gets_just_the_profile() {
    let (env, path) = config_env("config");
    std::fs::write(&path, "").unwrap();
    let out = setup(&env, &["--region", "eu-west-1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        read(&path),
        format!(
            "[profile ci]\ncredential_process = {} --role-arn {ROLE} --region eu-west-1\nregion = eu-west-1\n",
            exe()
        )
    );
}

#[test]
fn a_rich_config_file_changes_only_the_profiles_own_lines_and_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let (env, path) = config_env("config");
    std::fs::write(&path, RICH).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = setup(&env, &["--region", "us-east-1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let line = format!("{} --role-arn {ROLE} --region us-east-1", exe());
    let expected = RICH
        .replace(
            "credential_process = /old/path/aws-ci-creds --role-arn arn:aws:iam::111111111111:role/old",
            &format!("credential_process = {line}"),
        )
        .replace(
            "  max_concurrent_requests = 20\n",
            "  max_concurrent_requests = 20\nregion = us-east-1\n",
        );
    assert_eq!(read(&path), expected);
    assert_eq!(mode(&path), 0o640);
    assert!(String::from_utf8_lossy(&out.stdout).contains("updated [profile ci]"));

    // Twice is once.
    let again = setup(&env, &["--region", "us-east-1"]);
    assert!(again.status.success());
    assert_eq!(read(&path), expected);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("already up to date"),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
}

#[test]
fn a_new_profile_is_appended_after_every_other_section() {
    let (env, path) = config_env("config");
    let without_ci = RICH.replace("[profile ci]", "[profile old-ci]");
    std::fs::write(&path, &without_ci).unwrap();
    let out = env
        .cmd()
        .args(["setup", "--profile", "deploy", "--role-arn", ROLE])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        read(&path),
        format!(
            "{without_ci}\n[profile deploy]\ncredential_process = {} --role-arn {ROLE}\n",
            exe()
        )
    );
}

#[test]
fn dry_run_prints_the_new_file_and_writes_nothing() {
    let (env, path) = config_env("config");
    std::fs::write(&path, RICH).unwrap();
    let out = setup(&env, &["--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.starts_with("# AWS config, hand-written\n"),
        "{printed}"
    );
    assert!(printed.contains(&format!(
        "credential_process = {} --role-arn {ROLE}\n",
        exe()
    )));
    assert!(printed.contains("[sso-session my-sso]"));
    assert_eq!(read(&path), RICH, "the file is untouched");
}

#[test]
fn only_the_options_given_go_into_the_profile_and_never_a_token() {
    let (mut env, path) = config_env("config");
    let token = env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    env.set("AWS_CI_CREDS_DURATION", "2h");
    let out = setup(&env, &["--token-env", "AWS_ID_TOKEN", "--no-cache"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = read(&path);
    assert!(
        text.contains(&format!(
            "credential_process = {} --role-arn {ROLE} --token-env AWS_ID_TOKEN --no-cache\n",
            exe()
        )),
        "{text}"
    );
    assert!(
        !text.contains("--duration"),
        "settings from the environment stay there"
    );
    assert!(!text.contains(&token));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&token));

    let refused = setup(&env, &["--token-env", &token]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(!stderr(&refused).contains(&token));
}

#[test]
fn arguments_are_quoted_so_shlex_and_sh_give_back_the_same_argv() {
    let (env, _) = config_env("config");
    std::fs::create_dir_all(env.path("my tokens")).unwrap();
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    let out = setup(
        &env,
        &[
            "--dry-run",
            "--token-file",
            "my tokens/it's.jwt",
            "--policy",
            policy,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let value = printed
        .lines()
        .find_map(|l| l.strip_prefix("credential_process = "))
        .unwrap()
        .to_string();
    let token_path = env.path("my tokens/it's.jwt");
    let expected = vec![
        exe(),
        "--role-arn".into(),
        ROLE.into(),
        "--token-file".into(),
        token_path.to_str().unwrap().to_string(),
        "--policy".into(),
        policy.to_string(),
    ];

    // sh -c (the Go, JS and Rust SDKs): print each argument on its own line.
    let shell = value.replacen(&expected[0], "printf '%s\\n'", 1);
    let sh = std::process::Command::new("sh")
        .args(["-c", &shell])
        .output()
        .unwrap();
    let got: Vec<String> = String::from_utf8(sh.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(got, expected[1..], "sh -c splits it back");

    // botocore: shlex.split, when Python is here.
    match std::process::Command::new("python3")
        .args([
            "-c",
            "import json, shlex, sys; print(json.dumps(shlex.split(sys.argv[1])))",
            &value,
        ])
        .output()
    {
        Ok(py) if py.status.success() => {
            let got: Vec<String> = serde_json::from_slice(&py.stdout).unwrap();
            assert_eq!(got, expected, "shlex.split splits it back");
        }
        _ => eprintln!("note: python3 not available; shlex.split check skipped"),
    }
}

#[test]
fn without_a_role_nothing_is_written() {
    let (env, path) = config_env("config");
    let out = env
        .cmd()
        .args(["setup", "--profile", "ci"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--role-arn"), "{}", stderr(&out));
    assert!(!path.exists());
}

#[test]
fn shadowing_keys_in_the_profile_are_warned_about() {
    let (env, path) = config_env("config");
    std::fs::write(
        &path,
        "[profile ci]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = base\n",
    )
    .unwrap();
    let out = setup(&env, &[]);
    assert!(out.status.success());
    let err = stderr(&out);
    assert!(err.contains("`role_arn`"), "{err}");
    assert!(err.contains("`source_profile`"), "{err}");
    assert!(
        read(&path).contains("role_arn = arn:aws:iam::1:role/x\n"),
        "left as it was"
    );
}

/// The AWS CLI on this machine, runnable from the sealed environment, if there is one.
fn aws_cli() -> Option<(PathBuf, Vec<(String, String)>)> {
    let path = std::env::var_os("PATH")?;
    let aws = std::env::split_paths(&path)
        .map(|d| d.join("aws"))
        .find(|p| p.is_file())?;
    let mut extra = Vec::new();
    // A pyenv shim finds its Python through PYENV_ROOT (default ~/.pyenv, and HOME is sealed).
    if aws.parent()?.file_name()? == "shims" {
        let root = aws.parent()?.parent()?;
        extra.push(("PYENV_ROOT".into(), root.to_str()?.to_string()));
    }
    Some((aws, extra))
}

#[test]
fn the_aws_cli_uses_the_profile() {
    let Some((aws, extra)) = aws_cli() else {
        eprintln!("note: the AWS CLI is not on PATH; the CLI check of `setup` is skipped");
        return;
    };
    let (mut env, _) = config_env("aws/config");
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    for (k, v) in &extra {
        env.set(k, v);
    }
    let out = setup(&env, &["--region", "us-east-1"]);
    assert!(out.status.success(), "{}", stderr(&out));

    let probe = std::process::Command::new(&aws)
        .env_clear()
        .envs(env_pairs(&env))
        .arg("--version")
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!(
            "note: the AWS CLI does not run in a sealed environment; the CLI check is skipped"
        );
        return;
    }
    let out = std::process::Command::new(&aws)
        .env_clear()
        .envs(env_pairs(&env))
        .args([
            "--profile",
            "ci",
            "sts",
            "get-caller-identity",
            "--output",
            "json",
        ])
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "aws failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["Arn"],
        "arn:aws:sts::123456789012:assumed-role/deploy/gl-42-1001"
    );
    assert_eq!(env.assume_calls(), 1);
}

/// The sealed environment's variables, as `TestEnv::cmd` passes them.
fn env_pairs(env: &TestEnv) -> Vec<(String, String)> {
    let cmd = env.std_cmd();
    cmd.get_envs()
        .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v?.to_str()?.to_string())))
        .collect()
}
