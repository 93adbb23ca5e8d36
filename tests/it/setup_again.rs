//! `setup` run again with the same command changes nothing, for every shape of profile it writes:
//! docs/commands.md promises it, and CI jobs run `setup` at the start of every job.

use std::path::Path;

use crate::support::*;

/// Runs `setup ARGS` twice on `seed` (the config file's starting text): both succeed and the
/// second leaves the file byte for byte as the first wrote it, saying so.
fn twice_changes_nothing(env: &TestEnv, path: &Path, seed: &str, args: &[&str]) {
    std::fs::write(path, seed).unwrap();
    let first = env.cmd().arg("setup").args(args).output().unwrap();
    assert!(
        first.status.success(),
        "first setup {args:?}: {}",
        stderr(&first)
    );
    let written = std::fs::read(path).unwrap();
    let second = env.cmd().arg("setup").args(args).output().unwrap();
    assert!(
        second.status.success(),
        "second setup {args:?} failed: {}\nfile:\n{}",
        stderr(&second),
        String::from_utf8_lossy(&written)
    );
    assert_eq!(
        String::from_utf8_lossy(&std::fs::read(path).unwrap()),
        String::from_utf8_lossy(&written),
        "second setup {args:?} changed the file"
    );
    let said = String::from_utf8_lossy(&second.stdout);
    assert!(said.contains("is already up to date"), "{args:?}: {said}");
}

fn recipe(token_file: &Path) -> String {
    format!(
        "[profile ci]\nrole_arn = {ROLE}\nweb_identity_token_file = {}\nrole_session_name = deploy-job\n",
        token_file.display()
    )
}

#[test]
fn setup_twice_after_migrating_the_recipe_changes_nothing_the_second_time() {
    let mut env = TestEnv::new();
    let path = env.path("config");
    env.set("AWS_CONFIG_FILE", path.to_str().unwrap());
    let token = env.token_file("token", "x.y.z");
    // The issue's case: the recipe's profile, migrated with only --region given.
    twice_changes_nothing(
        &env,
        &path,
        &recipe(&token),
        &["--profile", "ci", "--region", "eu-west-1"],
    );
    twice_changes_nothing(&env, &path, &recipe(&token), &["--profile", "ci"]);
    twice_changes_nothing(
        &env,
        &path,
        &recipe(&token),
        &["--profile", "ci", "--role-arn", ROLE, "--duration", "2h"],
    );
}

#[test]
fn setup_twice_changes_nothing_for_every_shape_of_line() {
    let mut env = TestEnv::new();
    let path = env.path("config");
    env.set("AWS_CONFIG_FILE", path.to_str().unwrap());
    let token = env.token_file("token file", "x.y.z");
    let policy = env.path("policy.json");
    std::fs::write(&policy, r#"{"Version":"2012-10-17","Statement":[]}"#).unwrap();
    let token = token.to_str().unwrap();
    let policy = policy.to_str().unwrap();
    let cache = env.path("my cache");
    let cache = cache.to_str().unwrap();
    let static_keys =
        "[profile ci]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = wJalr\n";
    let shapes: Vec<(&str, Vec<&str>)> = vec![
        ("", vec!["--role-arn", ROLE]),
        ("", vec!["--profile", "default", "--role-arn", ROLE]),
        ("", vec!["--role-arn", ROLE, "--token-file", token]),
        ("", vec!["--role-arn", ROLE, "--token-env", "MY_TOKEN"]),
        (
            "",
            vec!["--role-arn", ROLE, "--token-command", "cat /run/my token"],
        ),
        ("", vec!["--role-arn", ROLE, "--source", "gitlab"]),
        (
            "",
            vec![
                "--role-arn",
                ROLE,
                "--source",
                "azure",
                "--azure-service-connection",
                "abc-123",
            ],
        ),
        (
            "",
            vec!["--role-arn", ROLE, "--source", "tfc", "--tfc-tag", "aws"],
        ),
        (
            "",
            vec![
                "--role-arn",
                ROLE,
                "--audience",
                "https://prod.env0.com",
                "--session-name",
                "deploy",
                "--duration",
                "90m",
                "--region",
                "eu-west-1",
                "--sts-endpoint",
                "https://sts.eu-west-1.amazonaws.com",
                "--timeout",
                "10s",
            ],
        ),
        (
            "",
            vec![
                "--role-arn",
                ROLE,
                "--policy-file",
                policy,
                "--policy-arn",
                "arn:aws:iam::aws:policy/ReadOnlyAccess",
                "--policy-arn",
                "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
            ],
        ),
        (
            "",
            vec![
                "--role-arn",
                ROLE,
                "--cache-dir",
                cache,
                "--refresh-margin",
                "5m",
            ],
        ),
        ("", vec!["--role-arn", ROLE, "--no-cache"]),
        (
            static_keys,
            vec!["--role-arn", ROLE, "--comment-out-conflicts"],
        ),
    ];
    for (seed, args) in shapes {
        let mut all = if args.contains(&"--profile") {
            vec![]
        } else {
            vec!["--profile", "ci"]
        };
        all.extend(args);
        twice_changes_nothing(&env, &path, seed, &all);
        // Each credential option given is in the line (none dropped on the way).
        let text = std::fs::read_to_string(&path).unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("credential_process = "))
            .unwrap();
        for flag in all.iter().filter(|a| a.starts_with("--")) {
            if !matches!(*flag, "--profile" | "--comment-out-conflicts") {
                assert!(
                    line.contains(&format!(" {flag} ")) || line.ends_with(flag),
                    "{flag} is missing: {line}"
                );
            }
        }
    }
}

#[test]
fn options_given_again_replace_the_lines_own_and_keep_the_rest() {
    let mut env = TestEnv::new();
    let path = env.path("config");
    env.set("AWS_CONFIG_FILE", path.to_str().unwrap());
    std::fs::write(&path, "").unwrap();
    let run = |args: &[&str]| {
        let out = env
            .cmd()
            .args(["setup", "--profile", "ci"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let text = std::fs::read_to_string(&path).unwrap();
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix("credential_process = "))
            .unwrap()
            .to_string();
        line.split_once(' ').unwrap().1.to_string()
    };
    run(&[
        "--role-arn",
        ROLE,
        "--token-env",
        "MY_TOKEN",
        "--duration",
        "2h",
    ]);
    // A new token source replaces the old one; the duration stays.
    assert_eq!(
        run(&["--token-file", "/run/token"]),
        format!("--role-arn {ROLE} --token-file /run/token --duration 2h")
    );
    assert_eq!(
        run(&["--region", "eu-west-1"]),
        format!("--role-arn {ROLE} --token-file /run/token --duration 2h --region eu-west-1")
    );
}
