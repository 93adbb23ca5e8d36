//! The profile's `credential_process` line as the SDKs run it: a `$VAR` in it is never expanded
//! (the error says so and names what works, and `doctor`'s fix is a command that succeeds), and
//! `doctor --profile` checks the line's own settings and tries that exchange. A mistyped
//! `--token-env` names the variable that holds a JWT.

use crate::support::*;

/// `[profile ci]` with this line (the binary's path first) in a config file of the job's.
fn profile(env: &mut TestEnv, args: &str) -> std::path::PathBuf {
    let path = env.path("config");
    std::fs::write(
        &path,
        format!(
            "[profile ci]\ncredential_process = {} {args}\n",
            bin().display()
        ),
    )
    .unwrap();
    env.set("AWS_CONFIG_FILE", path.to_str().unwrap());
    path
}

fn doctor(env: &TestEnv) -> (Option<i32>, String) {
    let out = env
        .cmd()
        .args(["doctor", "--profile", "ci"])
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    (out.status.code(), text)
}

#[test]
fn a_variable_the_sdk_left_unexpanded_is_named_with_the_variable_that_works() {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    env.set("ROLE_ARN", ROLE);
    for written in ["$ROLE_ARN", "${ROLE_ARN}"] {
        let out = env.run(&["--role-arn", written]);
        let err = failed(&out, 2);
        says(
            &err,
            &[
                &format!("--role-arn is `{written}`"),
                "do not expand variables in a credential_process line",
                "AWS_CI_CREDS_ROLE_ARN (or AWS_ROLE_ARN)",
                "write the value itself in the line",
            ],
        );
        assert!(!err.contains("copy the role's ARN"), "{err}");
    }
    let out = env.run(&["--role-arn", ROLE, "--token-file", "$CI_PROJECT_DIR/token"]);
    says(
        &failed(&out, 2),
        &[
            "--token-file is `$CI_PROJECT_DIR/token`",
            "AWS_CI_CREDS_TOKEN_FILE",
        ],
    );
}

#[test]
fn doctors_fix_for_an_unexpanded_variable_is_a_setup_command_that_succeeds() {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    env.set("ROLE_ARN", ROLE);
    let path = profile(&mut env, "--role-arn $ROLE_ARN --region eu-west-1");
    let (code, text) = doctor(&env);
    assert_eq!(code, Some(6), "{text}");
    assert!(
        text.contains("do not expand variables in credential_process"),
        "{text}"
    );
    // The first `fix: run `…`` of the line's finding, run as the user would paste it.
    let fix = text
        .lines()
        .skip_while(|l| !l.contains("--role-arn is `$ROLE_ARN`, but"))
        .find_map(|l| l.trim().strip_prefix("fix: run `"))
        .and_then(|l| l.split('`').next())
        .unwrap_or_else(|| panic!("no setup command in the fix: {text}"))
        .to_string();
    assert!(fix.starts_with("aws-ci-creds setup --profile ci "), "{fix}");
    let words = shlex_words(&fix);
    let out = env.cmd().args(&words[1..]).output().unwrap();
    assert!(out.status.success(), "`{fix}` failed: {}", stderr(&out));
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(written.contains(&format!("--role-arn {ROLE}")), "{written}");
    assert!(written.contains("--region eu-west-1"), "{written}");
    let (code, text) = doctor(&env);
    assert_eq!(code, Some(0), "after the fix, doctor passes: {text}");
}

/// The words of a command line as the doctor prints it (bare words and '…').
fn shlex_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut rest = line.trim();
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('\'') {
            let end = quoted.find('\'').unwrap();
            words.push(quoted[..end].to_string());
            rest = quoted[end + 1..].trim_start();
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            words.push(rest[..end].to_string());
            rest = rest[end..].trim_start();
        }
    }
    words
}

#[test]
fn doctor_profile_checks_the_lines_role_and_token_file_and_tries_that_exchange() {
    let mut env = TestEnv::new();
    // A GitLab job whose token is in a file, not in an id_tokens variable: only the line knows.
    let issuer = env.emu.issuer_url();
    env.set("GITLAB_CI", "true")
        .set("CI", "true")
        .set("CI_SERVER_URL", &issuer)
        .set("CI_PROJECT_ID", "42")
        .set("CI_JOB_ID", "1001");
    let token = env.emu.mint(env.gitlab_claims());
    let file = env.token_file("job token", &token);
    let line = format!("--role-arn {ROLE} --token-file '{}'", file.display());
    profile(&mut env, &line);
    let (code, text) = doctor(&env);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("settings: the credential_process line of [profile ci] line 2"),
        "{text}"
    );
    assert!(!text.contains("no role ARN"), "{text}");
    assert!(
        text.contains(&format!("[ok]   role ARN {ROLE} is well-formed")),
        "{text}"
    );
    assert!(
        text.contains("token file"),
        "the line's token file is read: {text}"
    );
    assert!(text.contains("[ok]   AssumeRoleWithWebIdentity"), "{text}");
    assert_eq!(env.assume_calls(), 1, "{text}");
    assert!(!text.contains(&token), "the token leaked");

    // A role the line names that STS refuses is a failure, not "ok".
    let other = "arn:aws:iam::123456789012:role/other";
    profile(
        &mut env,
        &format!("--role-arn {other} --token-file '{}'", file.display()),
    );
    let (code, text) = doctor(&env);
    assert_eq!(code, Some(6), "{text}");
    assert!(text.contains(other), "{text}");
}

#[test]
fn doctors_fix_never_prints_a_token_a_variable_in_the_line_holds() {
    let mut env = TestEnv::new();
    let token = env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    profile(
        &mut env,
        &format!("--role-arn {ROLE} --token-file $AWS_ID_TOKEN"),
    );
    let (code, text) = doctor(&env);
    assert_eq!(code, Some(6), "{text}");
    assert!(text.contains("--token-file is `$AWS_ID_TOKEN`"), "{text}");
    let signature = token.rsplit('.').next().unwrap();
    assert!(!text.contains(signature), "the token leaked: {text}");
}

#[test]
fn a_mistyped_token_env_names_the_variable_that_holds_a_jwt_never_its_value() {
    let mut env = TestEnv::new();
    let token = env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    let signature = token.rsplit('.').next().unwrap().to_string();
    // On GitLab, and with --source env.
    for extra in [&[][..], &["--source", "env"][..]] {
        let mut args = vec!["--role-arn", ROLE, "--token-env", "AWS_ID_TOKN"];
        args.extend(extra);
        let out = env.run(&args);
        let err = failed(&out, 3);
        says(
            &err,
            &[
                "the token variable AWS_ID_TOKN is not set",
                "AWS_ID_TOKEN is set and holds a JWT",
                "fix: pass --token-env AWS_ID_TOKEN",
            ],
        );
        assert!(!err.contains("id_tokens:\n    AWS_ID_TOKN"), "{err}");
        assert!(!err.contains(&signature), "the token leaked");
    }
    // A name close to nothing that holds a JWT keeps the set-up fix.
    let out = env.run(&["--role-arn", ROLE, "--token-env", "DEPLOY_TOKEN"]);
    says(&failed(&out, 3), &["id_tokens:", "DEPLOY_TOKEN"]);
}
