//! `doctor`: a good job, an expired token, a wrong audience, a trust policy that refuses, a
//! malformed role ARN; text and `--json`; exit codes; never a token or a secret.

use serde_json::{Value, json};

use crate::support::*;

fn doctor(env: &TestEnv, extra: &[&str]) -> std::process::Output {
    env.cmd()
        .arg("doctor")
        .args(["--role-arn", ROLE])
        .args(extra)
        .output()
        .unwrap()
}

fn json_report(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).expect("doctor --json prints one JSON document")
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"))
}

/// Nothing the job must keep secret appears anywhere in the output.
fn assert_no_secret(out: &std::process::Output, token: &str) {
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(out));
    let signature = token.rsplit('.').next().unwrap();
    assert!(!all.contains(token), "the token leaked");
    assert!(!all.contains(signature), "the token's signature leaked");
    assert!(!all.contains("ASIA"), "an access key id leaked");
}

#[test]
fn a_good_job_passes_every_check_and_proves_the_credentials_with_get_caller_identity() {
    let mut env = TestEnv::new();
    let token = env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    let out = doctor(&env, &[]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", stderr(&out));
    assert!(
        text.contains("[ok]   CI: GitLab CI (GITLAB_CI=true)"),
        "{text}"
    );
    assert!(text.contains("token source: GitLab"), "{text}");
    assert!(text.contains(&format!("  sub  {GOOD_SUB}")), "{text}");
    assert!(text.contains("  aud  sts.amazonaws.com"), "{text}");
    assert!(text.contains("  project_path = group/project"), "{text}");
    assert!(text.contains("  job_id = 1001"), "{text}");
    assert!(text.contains("left)"), "exp shows the time left: {text}");
    assert!(
        text.contains(&format!("[ok]   role ARN {ROLE} is well-formed")),
        "{text}"
    );
    assert!(text.contains("[ok]   audience:"), "{text}");
    assert!(text.contains("[ok]   expiry: the token is valid"), "{text}");
    assert!(text.contains("[ok]   cache:"), "{text}");
    let assumed = "arn:aws:sts::123456789012:assumed-role/deploy/gl-42-1001";
    assert!(
        text.contains(&format!(
            "[ok]   AssumeRoleWithWebIdentity: assumed {assumed}"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "[ok]   GetCallerIdentity with the new credentials: {assumed}"
        )),
        "{text}"
    );
    assert!(!text.contains("[FAIL]"), "{text}");
    assert_eq!(env.emu.sts_calls("GetCallerIdentity"), 1);
    assert_no_secret(&out, &token);
}

#[test]
fn json_is_one_document_with_claims_and_every_check() {
    let mut env = TestEnv::new();
    let token = env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    let out = doctor(&env, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = json_report(&out);
    assert_eq!(r["ok"], true);
    assert_eq!(r["summary"]["failed"], 0);
    assert_eq!(r["claims"]["sub"], GOOD_SUB);
    assert_eq!(r["claims"]["aud"], json!(["sts.amazonaws.com"]));
    assert_eq!(r["claims"]["job"]["project_path"], "group/project");
    assert!(r["claims"]["seconds_left"].as_i64().unwrap() > 0);
    assert_eq!(r["claims"]["lifetime_seconds"], 3600);
    assert_eq!(
        r["assumed_role_arn"],
        "arn:aws:sts::123456789012:assumed-role/deploy/gl-42-1001"
    );
    for id in [
        "role_arn",
        "ci",
        "source",
        "audience",
        "expiry",
        "duration",
        "cache",
        "exchange",
        "caller_identity",
    ] {
        assert_eq!(check(&r, id)["status"], "pass", "{id}: {r:#}");
    }
    assert_no_secret(&out, &token);
}

#[test]
fn an_expired_token_fails_before_any_call_to_sts() {
    let mut env = TestEnv::new();
    let token = env.emu.mint_with_lifetime(env.gitlab_claims(), -120);
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    env.set("AWS_ID_TOKEN", &token);
    let out = doctor(&env, &[]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(6), "{text}");
    assert!(
        text.contains("[FAIL] expiry: the token expired at"),
        "{text}"
    );
    assert!(
        text.contains("expired 2m"),
        "exp line says how long ago: {text}"
    );
    assert!(
        text.contains("[skip] AssumeRoleWithWebIdentity not tried: the token has expired"),
        "{text}"
    );
    assert!(text.contains("FAILED:"), "{text}");
    assert_eq!(env.assume_calls(), 0);

    let out = doctor(&env, &["--json"]);
    assert_eq!(out.status.code(), Some(6));
    let r = json_report(&out);
    assert_eq!(r["ok"], false);
    assert_eq!(check(&r, "expiry")["status"], "fail");
    assert_eq!(check(&r, "exchange")["status"], "skip");
    assert!(r["claims"]["seconds_left"].as_i64().unwrap() < 0);
    assert_no_secret(&out, &token);
}

#[test]
fn a_wrong_audience_is_named_with_the_audience_expected() {
    let mut env = TestEnv::new();
    let mut claims = env.gitlab_claims();
    claims["aud"] = json!("https://gitlab.example.com");
    let token = env.gitlab_job("AWS_ID_TOKEN", claims);
    let out = doctor(&env, &[]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(6), "{text}");
    assert!(
        text.contains(
            "[FAIL] audience: the token's aud is https://gitlab.example.com, not sts.amazonaws.com (default)"
        ),
        "{text}"
    );
    assert!(
        text.contains("aud: sts.amazonaws.com"),
        "the fix quotes the id_tokens line: {text}"
    );
    // STS refuses it too, and the exchange's own explanation is shown.
    assert!(text.contains("[FAIL] STS refused"), "{text}");

    let r = json_report(&doctor(&env, &["--json"]));
    assert_eq!(check(&r, "audience")["status"], "fail");
    assert_eq!(check(&r, "exchange")["status"], "fail");
    assert_no_secret(&out, &token);
}

#[test]
fn access_denied_shows_the_conditions_this_token_satisfies_and_the_likely_mismatch() {
    let mut env = TestEnv::new();
    let sub = "project_path:Group/Other:ref_type:tag:ref:v1.0";
    let mut claims = env.gitlab_claims();
    claims["sub"] = json!(sub);
    let token = env.gitlab_job("AWS_ID_TOKEN", claims);
    let key = env
        .emu
        .issuer_url()
        .trim_start_matches("http://")
        .to_string();

    let out = doctor(&env, &[]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(6), "{text}");
    assert!(
        text.contains("[FAIL] STS refused to let this token assume"),
        "{text}"
    );
    assert!(text.contains("AccessDenied"), "{text}");
    assert!(
        text.contains("a trust policy accepts this token with:"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Principal Federated = arn:aws:iam::{ACCOUNT}:oidc-provider/{key}"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("StringEquals {key}:aud = sts.amazonaws.com")),
        "{text}"
    );
    assert!(
        text.contains(&format!("StringEquals {key}:sub = {sub}")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "StringLike {key}:sub = project_path:Group/Other:* (--scope project)"
        )),
        "{text}"
    );
    assert!(text.contains("likely mismatch:"), "{text}");
    assert!(
        text.contains("case: conditions are case-sensitive"),
        "{text}"
    );
    assert!(text.contains("ref_type:tag"), "{text}");
    assert!(
        text.contains("wildcard: a value with * only works under StringLike"),
        "{text}"
    );
    assert!(
        text.contains("[skip]") || !text.contains("GetCallerIdentity with"),
        "no identity check after a refusal: {text}"
    );
    assert_eq!(env.emu.sts_calls("GetCallerIdentity"), 0);
    assert_no_secret(&out, &token);

    let out = doctor(&env, &["--json"]);
    assert_eq!(out.status.code(), Some(6));
    let r = json_report(&out);
    let exchange = check(&r, "exchange");
    assert_eq!(exchange["status"], "fail");
    let hints = &exchange["trust_policy"];
    assert!(
        hints["satisfied_by"]
            .as_array()
            .unwrap()
            .contains(&json!(format!("StringEquals {key}:sub = {sub}"))),
        "{hints:#}"
    );
    assert!(
        hints["likely_mismatches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m.as_str().unwrap().starts_with("case:")),
        "{hints:#}"
    );
}

#[test]
fn a_malformed_role_arn_is_a_failed_check_and_the_rest_still_runs() {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    let out = env
        .cmd()
        .args(["doctor", "--role-arn", "arn:aws:iam::1234:role/deploy"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(6), "{text}");
    assert!(
        text.contains("[FAIL] flag --role-arn is `arn:aws:iam::1234:role/deploy`"),
        "{text}"
    );
    assert!(text.contains("12 digits"), "{text}");
    assert!(
        text.contains("[ok]   expiry:"),
        "token checks still ran: {text}"
    );
    assert!(
        text.contains("[skip] AssumeRoleWithWebIdentity not tried"),
        "{text}"
    );
    assert_eq!(env.assume_calls(), 0);
}

#[test]
fn a_short_session_is_a_warning_not_a_failure() {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    let out = doctor(&env, &["--duration", "15m"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("[warn] session duration 15m 0s"), "{text}");
    assert!(text.contains("botocore"), "{text}");
}

#[test]
fn outside_any_ci_doctor_says_what_to_add() {
    let env = TestEnv::new();
    let out = doctor(&env, &[]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(6), "{text}");
    assert!(text.contains("[warn] no CI detected"), "{text}");
    assert!(text.contains("[FAIL] no OIDC token source found"), "{text}");
    assert!(text.contains("id_tokens"), "{text}");
}

#[test]
fn in_a_github_job_doctor_requests_a_token_and_checks_it() {
    let mut env = TestEnv::new();
    env.github_job();
    let out = doctor(&env, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = json_report(&out);
    assert_eq!(
        check(&r, "ci")["summary"],
        "CI: GitHub Actions (GITHUB_ACTIONS=true)"
    );
    assert_eq!(check(&r, "token")["status"], "pass");
    assert_eq!(check(&r, "caller_identity")["status"], "pass");
    assert_eq!(r["claims"]["job"]["run_id"], "555");
    assert_eq!(env.emu.github_audiences(), vec!["sts.amazonaws.com"]);
}

/// Every CI's markers, as its jobs set them, without the token set-up: doctor's CI line names the
/// CI credential mode detects, and its token check fails with credential mode's very error.
#[test]
fn doctor_and_credential_mode_detect_the_same_ci_in_every_ci() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("GITHUB_ACTIONS", "true")],
            "CI: GitHub Actions (GITHUB_ACTIONS=true)",
        ),
        (&[("GITLAB_CI", "true")], "CI: GitLab CI (GITLAB_CI=true)"),
        (&[("CIRCLECI", "true")], "CI: CircleCI (CIRCLECI=true)"),
        (
            &[("BITBUCKET_BUILD_NUMBER", "12")],
            "CI: Bitbucket Pipelines (BITBUCKET_BUILD_NUMBER is set)",
        ),
        (&[("BUILDKITE", "true")], "CI: Buildkite (BUILDKITE=true)"),
        (
            &[("TF_BUILD", "True")],
            "CI: Azure Pipelines (TF_BUILD=True)",
        ),
        (
            &[("CF_BUILD_ID", "abc")],
            "CI: Codefresh (CF_BUILD_ID is set)",
        ),
        (
            &[("TFC_RUN_ID", "run-1")],
            "CI: HCP Terraform (TFC_RUN_ID is set)",
        ),
        (&[("SPACELIFT", "true")], "CI: Spacelift (SPACELIFT=true)"),
        (
            &[("TF_VAR_spacelift_run_id", "01J")],
            "CI: Spacelift (TF_VAR_spacelift_run_id is set)",
        ),
        (
            &[("ENV0_ENVIRONMENT_ID", "e")],
            "CI: env0 (ENV0_ENVIRONMENT_ID is set)",
        ),
        (
            &[("JENKINS_URL", "https://ci.example/"), ("BUILD_ID", "7")],
            "CI: Jenkins (JENKINS_URL and BUILD_ID are set)",
        ),
        // Precedence: GitHub before GitLab, whatever else leaks into the job.
        (
            &[("GITLAB_CI", "true"), ("GITHUB_ACTIONS", "true")],
            "CI: GitHub Actions (GITHUB_ACTIONS=true)",
        ),
        (
            &[
                ("CF_BUILD_ID", "abc"),
                ("JENKINS_URL", "x"),
                ("BUILD_ID", "7"),
            ],
            "CI: Codefresh (CF_BUILD_ID is set)",
        ),
    ];
    for (vars, ci_line) in cases {
        let mut env = TestEnv::new();
        for (name, value) in *vars {
            env.set(name, value);
        }
        let out = env.run(&["--role-arn", ROLE, "--no-cache"]);
        let err = failed(&out, 3);
        let first = err
            .lines()
            .next()
            .unwrap()
            .trim_start_matches("aws-ci-creds: error: ")
            .to_string();
        let out = doctor(&env, &["--json"]);
        let r = json_report(&out);
        assert_eq!(check(&r, "ci")["summary"], *ci_line, "{vars:?}");
        assert_eq!(check(&r, "ci")["status"], "pass", "{vars:?}");
        assert_eq!(
            check(&r, "token")["summary"],
            first.as_str(),
            "{vars:?}: doctor and credential mode chose different sources"
        );
    }
}

/// doctor's findings about the AWS config profile.
fn profile_findings(report: &Value) -> Vec<(String, String, Vec<String>)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == "profile")
        .map(|c| {
            (
                c["status"].as_str().unwrap().to_string(),
                c["summary"].as_str().unwrap().to_string(),
                c["details"]
                    .as_array()
                    .map(|d| d.iter().map(|l| l.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

fn with_config(text: &str) -> (TestEnv, std::path::PathBuf) {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    let path = env.path("aws-config");
    std::fs::write(&path, text).unwrap();
    env.set("AWS_CONFIG_FILE", path.to_str().unwrap());
    (env, path)
}

#[test]
fn a_profile_written_by_setup_passes_the_profile_lint() {
    let (mut env, _) = with_config("");
    let setup = env
        .cmd()
        .args(["setup", "--profile", "ci", "--role-arn", ROLE])
        .output()
        .unwrap();
    assert!(setup.status.success(), "{}", stderr(&setup));
    env.set("AWS_PROFILE", "ci");
    let out = doctor(&env, &["--json"]);
    let report = json_report(&out);
    let found = profile_findings(&report);
    assert_eq!(out.status.code(), Some(0), "{found:#?}");
    assert_eq!(found.len(), 3, "{found:#?}");
    // The settings are the line's own, as the SDKs run it.
    assert_eq!(found[0].0, "pass");
    assert!(
        found[0]
            .1
            .starts_with("settings: the credential_process line of [profile ci] line 2"),
        "{found:#?}"
    );
    assert_eq!(found[1].0, "pass");
    assert!(
        found[1]
            .1
            .starts_with("line 2: every SDK runs the same credential_process command"),
        "{found:#?}"
    );
    assert!(found[1].2[0].contains(&format!("\"--role-arn\", \"{ROLE}\"")));
    assert_eq!(found[2].0, "pass");
    assert!(found[2].1.contains("exists and is executable"));
}

#[test]
fn a_line_the_sdks_read_differently_fails_with_each_argv_and_the_fix() {
    // What setup wrote for a binary and a token in spaced paths before 0.2.
    let (env, _) = with_config(
        "[profile ci]\nregion = us-east-1\ncredential_process = '/opt/my tools/aws-ci-creds' --token-file '/run/x y/token'\n",
    );
    let out = doctor(&env, &["--profile", "ci"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(6), "{text}");
    says(
        &text,
        &[
            "[FAIL] line 3: the SDKs read the credential_process line differently",
            r#"botocore (AWS CLI, boto3): ["/opt/my tools/aws-ci-creds", "--token-file", "/run/x y/token"]"#,
            r#"aws-sdk-go-v2 (Terraform): ["/opt/my", "tools/aws-ci-creds --token-file /run/x", "y/token"]"#,
            "fix: run `aws-ci-creds setup --profile ci` to rewrite it with its own options",
            "[FAIL] line 3: the program /opt/my tools/aws-ci-creds does not exist",
        ],
    );
}

#[test]
fn conflicting_keys_and_duplicate_sections_fail_with_their_line_numbers() {
    let (mut env, _) = with_config(
        "[profile oidc]\nrole_arn = arn:aws:iam::123456789012:role/deploy\nweb_identity_token_file = /tmp/web_identity_token\ncredential_process = /bin/true\n\n[profile oidc] ; again\nregion = eu-west-1\n",
    );
    env.set("AWS_PROFILE", "oidc");
    let out = doctor(&env, &[]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(6), "{text}");
    says(
        &text,
        &[
            "[profile oidc] appears twice in",
            "(lines 1 and 6): botocore (the AWS CLI, boto3) refuses the whole file",
            "profile oidc is defined 2 times in",
            "[FAIL] profile oidc has keys the SDKs use instead of credential_process",
            "line 2: role_arn (with role_arn and web_identity_token_file",
            "line 3: web_identity_token_file",
            "fix: comment those lines out, or run `aws-ci-creds setup --profile oidc`",
        ],
    );
}

#[test]
fn a_missing_or_non_executable_binary_and_a_missing_profile_fail() {
    use std::os::unix::fs::PermissionsExt;
    let (env, _) = with_config("");
    let program = env.path("aws-ci-creds");
    std::fs::write(&program, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(
        env.path("aws-config"),
        format!(
            "[default]\ncredential_process = {} --role-arn {ROLE}\n",
            program.display()
        ),
    )
    .unwrap();
    let out = doctor(&env, &[]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(6), "{text}");
    says(
        &text,
        &[
            &format!("[FAIL] line 2: {} is not executable", program.display()),
            &format!("fix: chmod +x {}", program.display()),
        ],
    );

    let out = doctor(&env, &["--profile", "nope"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(6), "{text}");
    says(
        &text,
        &[
            "[FAIL] profile nope (--profile) is not in",
            "fix: run `aws-ci-creds setup --profile nope --role-arn ARN`",
        ],
    );
}
