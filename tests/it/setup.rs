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
fn dry_run_prints_the_diff_and_writes_nothing() {
    let (env, path) = config_env("config");
    std::fs::write(&path, RICH).unwrap();
    let out = setup(&env, &["--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = String::from_utf8_lossy(&out.stdout);
    let name = path.display();
    assert!(
        printed.starts_with(&format!(
            "--- {name}\n+++ {name} (after setup)\n@@ -21,7 +21,7 @@\n"
        )),
        "{printed}"
    );
    assert!(printed.contains(
        "\n-credential_process = /old/path/aws-ci-creds --role-arn arn:aws:iam::111111111111:role/old\n"
    ));
    assert!(printed.contains(&format!(
        "\n+credential_process = {} --role-arn {ROLE}\n",
        exe()
    )));
    assert!(
        !printed.contains("[sso-session my-sso]"),
        "only the change and its context: {printed}"
    );
    assert_eq!(read(&path), RICH, "the file is untouched");
}

#[test]
fn the_dry_run_diff_applied_with_patch_gives_what_setup_writes() {
    if std::process::Command::new("patch")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("note: patch is not installed; diff check skipped");
        return;
    }
    for text in [
        RICH.to_string(),
        "[profile ci]\r\nrole_arn = arn:aws:iam::1:role/x\r\nweb_identity_token_file = /t\r\nregion = x".into(),
        "[default]\nregion = x".into(),
        String::new(),
    ] {
        let (env, path) = config_env("config");
        std::fs::write(&path, &text).unwrap();
        let out = setup(&env, &["--dry-run"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let copy = env.path("copy");
        std::fs::write(&copy, &text).unwrap();
        let mut patch = std::process::Command::new("patch")
            .args(["--quiet", "--force", copy.to_str().unwrap()])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        patch.stdin.take().unwrap().write_all(&out.stdout).unwrap();
        assert!(patch.wait().unwrap().success(), "{}", String::from_utf8_lossy(&out.stdout));
        assert!(setup(&env, &[]).status.success());
        assert_eq!(read(&copy), read(&path), "{text:?}");
    }
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

/// The argv `sh -c` (the Go, JS and Rust SDKs) and botocore's `shlex.split` give back for a
/// value, which must not be one aws-sdk-go-v2 alters (tests/e2e's Go reader runs its rules).
fn readers_agree(value: &str, expected: &[String]) {
    assert!(
        !(value.starts_with('\'') && value.ends_with('\'')),
        "Go would strip the outer quotes: {value}"
    );
    assert!(
        !value.contains(['#', ';']),
        "Go would cut at the comment: {value}"
    );

    // sh -c: print each argument on its own line.
    let shell = format!("printf '%s\\n' {value}");
    let sh = std::process::Command::new("sh")
        .args(["-c", &shell])
        .output()
        .unwrap();
    let got: Vec<String> = String::from_utf8(sh.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(got, expected, "sh -c splits it back");

    // botocore: shlex.split, when Python is here.
    match std::process::Command::new("python3")
        .args([
            "-c",
            "import json, shlex, sys; print(json.dumps(shlex.split(sys.argv[1])))",
            value,
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

fn credential_process_of(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix("credential_process = "))
        .unwrap()
        .to_string()
}

#[test]
fn arguments_with_spaces_are_quoted_so_every_reader_gives_back_the_same_argv() {
    let (env, path) = config_env("config");
    std::fs::create_dir_all(env.path("my tokens")).unwrap();
    let out = setup(
        &env,
        &[
            "--token-file",
            "my tokens/id token.jwt",
            "--audience",
            "a b",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let value = credential_process_of(&read(&path));
    let token_path = env.path("my tokens/id token.jwt");
    assert_eq!(
        value,
        format!(
            "{} --role-arn {ROLE} --token-file '{}' --audience 'a b'",
            exe(),
            token_path.display()
        )
    );
    readers_agree(
        &value,
        &[
            exe(),
            "--role-arn".into(),
            ROLE.into(),
            "--token-file".into(),
            token_path.to_str().unwrap().to_string(),
            "--audience".into(),
            "a b".into(),
        ],
    );
}

#[test]
fn a_binary_in_a_spaced_path_never_makes_a_line_wrapped_in_quotes() {
    let (env, path) = config_env("config");
    let dir = env.path("opt/my tools");
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("aws-ci-creds");
    std::fs::copy(bin(), &copy).unwrap();
    let out = std::process::Command::new(&copy)
        .env_clear()
        .envs(env_pairs(&env))
        .current_dir(env.dir.path())
        .args(["setup", "--profile", "ci", "--role-arn", ROLE])
        .args(["--cache-dir", "cache dir"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let value = credential_process_of(&read(&path));
    let cache = env.path("cache dir");
    // Before: '/…/my tools/aws-ci-creds' --role-arn … --cache-dir '/…/cache dir', which
    // aws-sdk-go-v2 turns into one broken word.
    assert_eq!(
        value,
        format!(
            "'{}' --cache-dir '{}' --role-arn {ROLE}",
            copy.display(),
            cache.display()
        )
    );
    readers_agree(
        &value,
        &[
            copy.to_str().unwrap().to_string(),
            "--cache-dir".to_string(),
            cache.to_str().unwrap().to_string(),
            "--role-arn".into(),
            ROLE.into(),
        ],
    );
}

#[test]
fn setup_with_only_the_profile_rewrites_its_own_line_with_the_same_options() {
    let (env, path) = config_env("config");
    let token = env.path("run/x y/token");
    // The line older versions wrote: quoted at both ends, which aws-sdk-go-v2 breaks.
    let old = format!(
        "[profile ci]\nregion = us-east-1\ncredential_process = '/opt/old/aws-ci-creds' --role-arn {ROLE} --token-file '{}' --no-cache\n",
        token.display()
    );
    std::fs::write(&path, &old).unwrap();
    let out = env
        .cmd()
        .args(["setup", "--profile", "ci"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        read(&path),
        format!(
            "[profile ci]\nregion = us-east-1\ncredential_process = {} --role-arn {ROLE} --token-file '{}' --no-cache\n",
            exe(),
            token.display()
        )
    );
    // Options given replace the line's own (a token source the whole group); the rest stays.
    let out = setup(&env, &["--token-env", "AWS_ID_TOKEN"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(read(&path).contains(&format!(
        "credential_process = {} --role-arn {ROLE} --token-env AWS_ID_TOKEN --no-cache\n",
        exe()
    )));
}

#[test]
fn values_that_readers_would_split_differently_are_refused_and_nothing_is_written() {
    let (env, path) = config_env("config");
    std::fs::write(&path, RICH).unwrap();
    for (args, says_what, fix) in [
        (
            &["--token-file", "/run/a#b/token"][..],
            "`#` or `;`",
            "AWS_CI_CREDS_TOKEN_FILE",
        ),
        (
            &["--token-file", "/run/it's/token"][..],
            "quote",
            "AWS_CI_CREDS_TOKEN_FILE",
        ),
        (
            &["--policy", r#"{"Version":"2012-10-17"}"#][..],
            "quote",
            "--policy-file",
        ),
        (
            &["--audience", "https://x;y"][..],
            "`#` or `;`",
            "environment",
        ),
    ] {
        let out = setup(&env, args);
        let err = failed(&out, 2);
        says(&err, &[says_what, fix, "Terraform"]);
        assert_eq!(read(&path), RICH, "{args:?}: the file is untouched");
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

/// botocore (from tests/e2e's venv, when tests/e2e/setup.sh has made it): the profile's
/// settings as the AWS CLI and boto3 resolve them, or botocore's error for the file.
fn botocore_profile(path: &Path, profile: &str) -> Option<Result<serde_json::Value, String>> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/.venv/bin/python");
    if !python.is_file() {
        eprintln!("note: tests/e2e/.venv is missing (tests/e2e/setup.sh); botocore check skipped");
        return None;
    }
    let out = std::process::Command::new(python)
        .env_clear()
        .env("AWS_CONFIG_FILE", path)
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .args([
            "-c",
            "import json, sys, botocore.session\n\
             s = botocore.session.Session(profile=sys.argv[1])\n\
             print(json.dumps(s.get_scoped_config()))",
            profile,
        ])
        .output()
        .unwrap();
    Some(if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(stderr(&out))
    })
}

#[test]
fn headers_with_comments_or_spaces_are_edited_in_place_never_duplicated() {
    for header in [
        "[profile ci] ; keep me",
        "[profile ci] # keep",
        "[   profile ci    ]",
        "[profile\tci]",
    ] {
        let (env, path) = config_env("config");
        let text = format!(
            "[sso-session ci]\nsso_region = eu-west-1\n\n[services ci]\ns3 =\n  endpoint_url = http://localhost:4566\n\n[profileci]\nregion = a\n\n[profile ci-prod]\nregion = b\n\n{header}\nregion = eu-west-1\n"
        );
        std::fs::write(&path, &text).unwrap();
        let out = setup(&env, &[]);
        assert!(out.status.success(), "{header}: {}", stderr(&out));
        let after = read(&path);
        let canonical = match header.find([';', '#']) {
            Some(i) => format!("[profile ci] {}", &header[i..]),
            None => "[profile ci]".to_string(),
        };
        let line = format!("{} --role-arn {ROLE}", exe());
        assert_eq!(
            after,
            text.replace(
                &format!("{header}\nregion = eu-west-1\n"),
                &format!("{canonical}\nregion = eu-west-1\ncredential_process = {line}\n")
            ),
            "{header}"
        );
        if let Some(parsed) = botocore_profile(&path, "ci") {
            let parsed = parsed.unwrap_or_else(|e| panic!("{header}: botocore: {e}"));
            assert_eq!(parsed["credential_process"], line.as_str(), "{header}");
            assert_eq!(parsed["region"], "eu-west-1");
        }
    }
}

#[test]
fn two_sections_for_the_profile_are_refused_with_their_lines() {
    let (env, path) = config_env("config");
    let text = "[profile ci]\nregion = a\n\n[ profile ci ]\nregion = b\n";
    std::fs::write(&path, text).unwrap();
    let err = failed(&setup(&env, &[]), 2);
    says(
        &err,
        &[
            "2 sections for profile ci (lines 1, 4)",
            "merge them into one [profile ci]",
        ],
    );
    let both = "[default]\nregion = a\n[profile default]\nregion = b\n";
    std::fs::write(&path, both).unwrap();
    let out = env
        .cmd()
        .args(["setup", "--profile", "default", "--role-arn", ROLE])
        .output()
        .unwrap();
    says(&failed(&out, 2), &["lines 1, 3"]);
    assert_eq!(read(&path), both);
}

#[test]
fn static_keys_and_sso_are_refused_without_the_flag_and_commented_out_with_it() {
    let (env, path) = config_env("config");
    let text = "[profile ci]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = wJalrEXAMPLE\nsso_session = corp\nregion = eu-west-1\n";
    std::fs::write(&path, text).unwrap();
    let err = failed(&setup(&env, &[]), 2);
    says(
        &err,
        &[
            "line 2: aws_access_key_id",
            "line 3: aws_secret_access_key",
            "line 4: sso_session",
            "--comment-out-conflicts",
        ],
    );
    assert!(
        !err.contains("wJalrEXAMPLE"),
        "a secret key is never printed"
    );
    assert_eq!(read(&path), text);

    let out = setup(&env, &["--comment-out-conflicts"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let after = read(&path);
    assert!(
        after.starts_with(
            "[profile ci]\n# aws-ci-creds setup: commented out, the AWS SDKs would use these instead of credential_process\n# aws_access_key_id = AKIAEXAMPLE\n# aws_secret_access_key = wJalrEXAMPLE\n# sso_session = corp\nregion = eu-west-1\ncredential_process = "
        ),
        "{after}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("wJalrEXAMPLE"));
    if let Some(parsed) = botocore_profile(&path, "ci") {
        let parsed = parsed.unwrap();
        assert!(parsed.get("aws_access_key_id").is_none());
        assert!(parsed.get("credential_process").is_some());
    }
}

/// The seed blog post's recipe: `echo -e "[profile oidc]\nrole_arn=${ROLE_ARN}\nweb_identity_token_file=/tmp/web_identity_token" > ~/.aws/config`.
fn seed_recipe(token_file: &Path) -> String {
    format!(
        "[profile oidc]\nrole_arn={ROLE}\nweb_identity_token_file={}\n",
        token_file.display()
    )
}

#[test]
fn a_profile_from_the_blog_post_recipe_is_migrated_into_the_new_line() {
    let (mut env, path) = config_env("config");
    let token = env.emu.mint(env.gitlab_claims());
    let token_file = env.token_file("web_identity_token", &token);
    env.unset("AWS_CONFIG_FILE");
    let path = {
        let home_config = env.path("home/.aws/config");
        std::fs::create_dir_all(home_config.parent().unwrap()).unwrap();
        let _ = path;
        home_config
    };
    std::fs::write(&path, seed_recipe(&token_file)).unwrap();
    let out = env
        .cmd()
        .args(["setup", "--profile", "oidc", "--region", "us-east-1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let line = format!(
        "{} --role-arn {ROLE} --token-file {} --region us-east-1",
        exe(),
        token_file.display()
    );
    assert_eq!(
        read(&path),
        format!(
            "[profile oidc]\n# aws-ci-creds setup: commented out, the AWS SDKs would use these instead of credential_process (role_arn, web_identity_token_file moved into its arguments)\n# role_arn={ROLE}\n# web_identity_token_file={}\ncredential_process = {line}\nregion = us-east-1\n",
            token_file.display()
        )
    );
    let report = String::from_utf8_lossy(&out.stdout);
    says(
        &report,
        &["migrated into the credential_process arguments: role_arn, web_identity_token_file"],
    );

    // Options given on the command line win over the recipe's values.
    std::fs::write(&path, seed_recipe(&token_file)).unwrap();
    let out = env
        .cmd()
        .args([
            "setup",
            "--profile",
            "oidc",
            "--role-arn",
            "arn:aws:iam::123456789012:role/other",
            "--token-env",
            "AWS_ID_TOKEN",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(read(&path).contains(&format!(
        "credential_process = {} --role-arn arn:aws:iam::123456789012:role/other --token-env AWS_ID_TOKEN\n",
        exe()
    )));

    // The migrated profile really runs aws-ci-creds under botocore.
    std::fs::write(&path, seed_recipe(&token_file)).unwrap();
    assert!(
        env.cmd()
            .args(["setup", "--profile", "oidc"])
            .output()
            .unwrap()
            .status
            .success()
    );
    if let Some(parsed) = botocore_profile(&path, "oidc") {
        let parsed = parsed.unwrap();
        assert!(parsed.get("role_arn").is_none(), "{parsed}");
        assert!(parsed.get("web_identity_token_file").is_none());
    }
}

#[test]
fn crlf_a_missing_final_newline_and_non_ascii_text_survive() {
    let (env, path) = config_env("config");
    let text = "# Zugangsdaten für die Pipeline ✓\r\n[profile ci]\r\nregion = eu-central-1\r\n\r\n[profile другой]\r\nregion = x";
    std::fs::write(&path, text).unwrap();
    let out = setup(&env, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        read(&path),
        text.replace(
            "region = eu-central-1\r\n",
            &format!(
                "region = eu-central-1\r\ncredential_process = {} --role-arn {ROLE}\r\n",
                exe()
            )
        )
    );
}

#[test]
fn a_file_that_is_not_utf8_is_refused_and_left_alone() {
    let (env, path) = config_env("config");
    let bytes = b"[profile ci]\n# caf\xe9 latin-1\nregion = x\n".to_vec();
    std::fs::write(&path, &bytes).unwrap();
    let err = failed(&setup(&env, &[]), 2);
    says(&err, &["is not UTF-8 text", "save it as UTF-8"]);
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn a_symlinked_config_is_edited_through_the_link_keeping_mode_and_owner() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let (env, link) = config_env("config");
    let real = env.path("dotfiles/aws/config");
    std::fs::create_dir_all(real.parent().unwrap()).unwrap();
    std::fs::write(&real, "[default]\nregion = x\n").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    // As root, give the file to another user: setup run by root must hand it back.
    let root = effective_uid() == 0;
    if root {
        std::os::unix::fs::chown(&real, Some(4242), Some(4343)).unwrap();
    }
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let out = setup(&env, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(read(&real).contains("[profile ci]\ncredential_process = "));
    let meta = std::fs::metadata(&real).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
    if root {
        assert_eq!((meta.uid(), meta.gid()), (4242, 4343));
    }
}

fn effective_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    // The owner of a file we just created is our effective uid.
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::metadata(f.path()).unwrap().uid()
}

#[test]
fn aws_config_file_with_a_tilde_is_the_home_directory() {
    let mut env = TestEnv::new();
    env.set("AWS_CONFIG_FILE", "~/aws/my-config");
    let out = setup(&env, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(read(&env.path("home/aws/my-config")).starts_with("[profile ci]\n"));
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
