//! Credential mode end to end: detection, the exchange, the JSON, and each error's message and
//! exit code.

use serde_json::json;

use crate::support::*;

#[test]
fn gitlab_job_gets_credentials_for_the_role() {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    let out = env.cmd().args(["--role-arn", ROLE]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "stderr stays empty on success");
    let v = process_json(&out.stdout);
    assert_eq!(v["AccountId"], ACCOUNT);
    assert!(v["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    let sent = env.emu.requests();
    let assume = sent
        .iter()
        .find(|r| r.action == "AssumeRoleWithWebIdentity")
        .unwrap();
    assert_eq!(assume.params["RoleSessionName"], "gl-42-1001");
    assert_eq!(assume.params["DurationSeconds"], "3600");
    assert_eq!(env.assume_calls(), 1);
}

fn assume_params(env: &TestEnv) -> Vec<std::collections::BTreeMap<String, String>> {
    env.emu
        .requests()
        .into_iter()
        .filter(|r| r.action == "AssumeRoleWithWebIdentity")
        .map(|r| r.params)
        .collect()
}

fn last_session_name(env: &TestEnv) -> String {
    assume_params(env).last().expect("an STS call")["RoleSessionName"].clone()
}

// ---------------------------------------------------------------------------------------------
// GitLab

#[test]
fn gitlab_token_in_a_custom_variable_is_found_by_its_issuer() {
    let mut env = TestEnv::new();
    env.gitlab_job("DEPLOY_OIDC_JWT", env.gitlab_claims());
    let out = env.run(&["--role-arn", ROLE]);
    succeeded(&out);
    assert_eq!(stderr(&out), "");
    assert_eq!(env.assume_calls(), 1);
    assert_eq!(last_session_name(&env), "gl-42-1001");
}

#[test]
fn gitlab_token_env_picks_the_named_variable_among_several() {
    let mut env = TestEnv::new();
    env.gitlab_job("FIRST_TOKEN", env.gitlab_claims());
    let mut second = env.gitlab_claims();
    second["job_id"] = "2002".into();
    env.gitlab_job("SECOND_TOKEN", second);
    let out = env.run(&["--role-arn", ROLE, "--token-env", "SECOND_TOKEN"]);
    succeeded(&out);
    assert_eq!(last_session_name(&env), "gl-42-2002");
}

#[test]
fn gitlab_two_candidate_tokens_ask_for_token_env() {
    let mut env = TestEnv::new();
    env.gitlab_job("FIRST_TOKEN", env.gitlab_claims());
    env.gitlab_job("SECOND_TOKEN", env.gitlab_claims());
    let err = failed(&env.run(&["--role-arn", ROLE]), 3);
    says(
        &err,
        &[
            "2 ID token variables",
            "FIRST_TOKEN",
            "SECOND_TOKEN",
            "--token-env",
        ],
    );
    assert_eq!(env.assume_calls(), 0);
}

#[test]
fn gitlab_picks_the_one_token_whose_audience_is_aws_among_several() {
    let mut env = TestEnv::new();
    let mut vault = env.gitlab_claims();
    vault["aud"] = "https://vault.example.com".into();
    env.gitlab_job("VAULT_ID_TOKEN", vault);
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    let out = env.run(&["--role-arn", ROLE]);
    succeeded(&out);
    assert_eq!(stderr(&out), "");
    let sent = env.emu.requests();
    let claims = sent.last().unwrap().token_claims.as_ref().unwrap();
    assert_eq!(claims["aud"], "sts.amazonaws.com");
}

#[test]
fn gitlab_token_env_holding_no_jwt_says_so_precisely() {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    env.set("AWS_ID_TOKEN", "not-a-token");
    let err = failed(
        &env.run(&["--role-arn", ROLE, "--token-env", "AWS_ID_TOKEN"]),
        3,
    );
    says(
        &err,
        &["the value of AWS_ID_TOKEN is not a JWT", "id_tokens:"],
    );
}

#[test]
fn gitlab_job_without_a_token_gets_the_id_tokens_snippet_with_the_audience() {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    env.unset("AWS_ID_TOKEN");
    let err = failed(&env.run(&["--role-arn", ROLE]), 3);
    says(
        &err,
        &[
            "no OIDC ID token",
            "id_tokens:",
            "AWS_ID_TOKEN:",
            "aud: sts.amazonaws.com",
            "CI_SERVER_URL",
        ],
    );
    // The audience asked for is the one the snippet tells the job to request.
    let err = failed(
        &env.run(&["--role-arn", ROLE, "--audience", "https://aws.example.org"]),
        3,
    );
    says(&err, &["aud: https://aws.example.org"]);
    assert_eq!(env.assume_calls(), 0);
}

#[test]
fn gitlab_legacy_ci_job_jwt_v2_still_works_with_a_warning() {
    let mut env = TestEnv::new();
    env.gitlab_job("CI_JOB_JWT_V2", env.gitlab_claims());
    let out = env.run(&["--role-arn", ROLE]);
    succeeded(&out);
    let err = stderr(&out);
    says(
        &err,
        &["warning:", "CI_JOB_JWT_V2", "GitLab 17.0", "id_tokens:"],
    );
    assert_eq!(err.lines().count(), 1, "one warning line: {err}");
    assert_eq!(last_session_name(&env), "gl-42-1001");
}

// ---------------------------------------------------------------------------------------------
// GitHub Actions

#[test]
fn github_job_mints_a_token_for_sts_and_names_the_session_after_the_run() {
    let mut env = TestEnv::new();
    env.github_job();
    let out = env.run(&["--role-arn", ROLE]);
    let v = succeeded(&out);
    assert_eq!(stderr(&out), "");
    assert_eq!(v["AccountId"], ACCOUNT);
    assert_eq!(env.emu.github_audiences(), vec!["sts.amazonaws.com"]);
    assert_eq!(env.emu.github_token_requests(), 1);
    assert_eq!(last_session_name(&env), "gh-555-2");
}

#[test]
fn github_audience_flag_is_what_the_token_endpoint_is_asked_for() {
    let aud = "https://github.com/octo-org";
    let mut env = TestEnv::with_config(sts_emulator::EmulatorConfig {
        roles: vec![sts_emulator::RoleTrust {
            role_arn: ROLE.into(),
            audience: aud.into(),
            subject_like: SUB_LIKE.into(),
            max_session_seconds: 7200,
        }],
        client_ids: vec![aud.into()],
        ..Default::default()
    });
    env.github_job();
    let out = env.run(&["--role-arn", ROLE, "--audience", aud]);
    succeeded(&out);
    assert_eq!(env.emu.github_audiences(), vec![aud]);
}

#[test]
fn github_request_token_is_checked_and_a_refusal_points_at_the_permission() {
    let mut env = TestEnv::new();
    env.github_job();
    env.set("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "not-the-right-bearer");
    let err = failed(&env.run(&["--role-arn", ROLE]), 3);
    says(
        &err,
        &["GitHub refused", "401", "permissions:", "id-token: write"],
    );
    assert_eq!(env.emu.github_token_requests(), 1);
    assert_eq!(env.assume_calls(), 0);
}

#[test]
fn github_mints_a_new_token_for_every_exchange() {
    let mut env = TestEnv::new();
    env.github_job();
    for _ in 0..2 {
        succeeded(&env.run(&["--role-arn", ROLE, "--no-cache"]));
    }
    assert_eq!(env.emu.github_token_requests(), 2);
    assert_eq!(env.assume_calls(), 2);
}

#[test]
fn github_job_without_id_token_permission_gets_the_permissions_snippet() {
    let mut env = TestEnv::new();
    env.github_job();
    env.unset("ACTIONS_ID_TOKEN_REQUEST_URL");
    env.unset("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
    let err = failed(&env.run(&["--role-arn", ROLE]), 3);
    says(
        &err,
        &[
            "cannot request an OIDC token",
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            "permissions:",
            "id-token: write",
        ],
    );
    assert_eq!(env.emu.github_token_requests(), 0);
    assert_eq!(env.assume_calls(), 0);
}

// ---------------------------------------------------------------------------------------------
// Token files and variables

#[test]
fn token_file_flag_reads_the_token_despite_a_trailing_newline() {
    let env = TestEnv::new();
    let file = env.token_file("token.jwt", &env.emu.mint(env.gitlab_claims()));
    assert!(std::fs::read_to_string(&file).unwrap().ends_with('\n'));
    let out = env.run(&["--role-arn", ROLE, "--token-file", file.to_str().unwrap()]);
    succeeded(&out);
    assert_eq!(stderr(&out), "");
    // A GitLab job's token is named after its job even when it comes through a file.
    assert_eq!(last_session_name(&env), "gl-42-1001");
}

#[test]
fn a_token_without_job_claims_gets_a_session_name_stable_for_that_token() {
    let env = TestEnv::new();
    let file = env.token_file(
        "token.jwt",
        &env.emu.mint(serde_json::json!({"sub": GOOD_SUB})),
    );
    let args = [
        "--role-arn",
        ROLE,
        "--token-file",
        file.to_str().unwrap(),
        "--no-cache",
    ];
    succeeded(&env.run(&args));
    let first = last_session_name(&env);
    assert!(first.starts_with("aws-ci-creds-"), "{first}");
    succeeded(&env.run(&args));
    assert_eq!(
        last_session_name(&env),
        first,
        "same token, same session name"
    );
}

#[test]
fn token_file_from_aws_ci_creds_token_file() {
    let mut env = TestEnv::new();
    let file = env.token_file("token.jwt", &env.emu.mint(env.gitlab_claims()));
    env.set("AWS_CI_CREDS_TOKEN_FILE", file.to_str().unwrap());
    succeeded(&env.run(&["--role-arn", ROLE]));
    assert_eq!(env.assume_calls(), 1);
}

#[test]
fn eks_style_web_identity_token_file_and_role_arn_variables_are_enough() {
    let mut env = TestEnv::new();
    let file = env.token_file("token", &env.emu.mint(env.gitlab_claims()));
    env.set("AWS_WEB_IDENTITY_TOKEN_FILE", file.to_str().unwrap())
        .set("AWS_ROLE_ARN", ROLE);
    let out = env.run(&[]);
    succeeded(&out);
    assert_eq!(assume_params(&env)[0]["RoleArn"], ROLE);
}

#[test]
fn token_variable_outside_gitlab() {
    let mut env = TestEnv::new();
    let token = env.emu.mint(env.gitlab_claims());
    env.set("MY_OIDC_TOKEN", &token);
    succeeded(&env.run(&["--role-arn", ROLE, "--token-env", "MY_OIDC_TOKEN"]));
    assert_eq!(env.assume_calls(), 1);
}

// ---------------------------------------------------------------------------------------------
// Errors before STS

#[test]
fn expired_token_fails_before_sts_and_says_when_it_expired() {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    let expired = env.emu.mint_with_lifetime(env.gitlab_claims(), -600);
    env.set("AWS_ID_TOKEN", &expired);
    let err = failed(&env.run(&["--role-arn", ROLE]), 3);
    says(&err, &["expired at", "(10m ", "ago)", "timeout:"]);
    assert_eq!(env.assume_calls(), 0, "no STS call with an expired token");
}

#[test]
fn malformed_tokens_fail_before_sts() {
    let mut env = TestEnv::new();
    let file = env.token_file("token", "not-a-jwt");
    let err = failed(
        &env.run(&["--role-arn", ROLE, "--token-file", file.to_str().unwrap()]),
        3,
    );
    says(
        &err,
        &["is not a JWT", "3 (header.payload.signature)", "token"],
    );

    env.set(
        "MY_TOKEN",
        "eyJhbGciOiJSUzI1NiJ9.@@not~base64@@.c2lnbmF0dXJl",
    );
    let err = failed(
        &env.run(&["--role-arn", ROLE, "--token-env", "MY_TOKEN"]),
        3,
    );
    says(&err, &["MY_TOKEN", "payload is not base64url"]);
    assert_eq!(env.assume_calls(), 0);
}

#[test]
fn bad_role_arn_is_a_usage_error_before_any_call() {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    let err = failed(
        &env.run(&["--role-arn", "arn:aws:iam::12345:role/deploy"]),
        2,
    );
    says(
        &err,
        &["--role-arn", "arn:aws:iam::12345:role/deploy", "12 digits"],
    );
    assert_eq!(env.assume_calls(), 0);
}

#[test]
fn missing_role_names_the_flag_and_the_variable() {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    let err = failed(&env.run(&[]), 2);
    says(
        &err,
        &["no role to assume", "--role-arn", "AWS_CI_CREDS_ROLE_ARN"],
    );
    assert_eq!(env.assume_calls(), 0);
}

#[test]
fn duration_outside_sts_bounds_is_a_usage_error() {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    let err = failed(&env.run(&["--role-arn", ROLE, "--duration", "10"]), 2);
    says(&err, &["--duration", "`10`", "900 to 43200"]);
    assert_eq!(env.assume_calls(), 0);
}

// ---------------------------------------------------------------------------------------------
// STS refusals

#[test]
fn access_denied_shows_the_claims_and_the_trust_policy_fix() {
    let mut env = TestEnv::new();
    let mut claims = env.gitlab_claims();
    let sub = "project_path:other/project:ref_type:branch:ref:main";
    claims["sub"] = sub.into();
    env.gitlab_job("AWS_ID_TOKEN", claims);
    let err = failed(&env.run(&["--role-arn", ROLE]), 4);
    let issuer = env.emu.issuer_url();
    let key = issuer.trim_start_matches("http://");
    says(
        &err,
        &[
            "AccessDenied",
            ROLE,
            &format!("token iss: {issuer}"),
            "token aud: sts.amazonaws.com",
            &format!("token sub: {sub}"),
            &format!("\"{key}:sub\""),
            "project_path:other/project:*",
            "trust-policy",
        ],
    );
    assert_eq!(env.assume_calls(), 1, "a refusal is not retried");
}

#[test]
fn unknown_issuer_says_to_create_the_oidc_provider() {
    let mut env = TestEnv::new();
    let token = env.emu.mint(json!({
        "iss": "https://unknown.example.com", "sub": GOOD_SUB, "aud": "sts.amazonaws.com",
    }));
    env.set("AWS_ID_TOKEN", &token);
    let err = failed(
        &env.run(&["--role-arn", ROLE, "--token-env", "AWS_ID_TOKEN"]),
        4,
    );
    says(
        &err,
        &[
            "No OpenIDConnect provider",
            "create-open-id-connect-provider",
            "--url https://unknown.example.com",
            "123456789012",
        ],
    );
}

#[test]
fn unregistered_audience_warns_and_says_how_to_add_it() {
    let mut env = TestEnv::new();
    let mut claims = env.gitlab_claims();
    claims["aud"] = "https://gitlab.example.com".into();
    env.gitlab_job("AWS_ID_TOKEN", claims);
    let err = failed(&env.run(&["--role-arn", ROLE]), 4);
    says(
        &err,
        &[
            "warning: the token's audience is https://gitlab.example.com but --audience is sts.amazonaws.com",
            "Incorrect token audience",
            "add-client-id-to-open-id-connect-provider",
            "--client-id https://gitlab.example.com",
            "id_tokens: … aud:",
        ],
    );
}

#[test]
fn duration_over_the_role_maximum_names_the_setting() {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    let err = failed(&env.run(&["--role-arn", ROLE, "--duration", "3h"]), 4);
    says(
        &err,
        &["--duration 10800", "Maximum session duration", "deploy"],
    );
}

// ---------------------------------------------------------------------------------------------
// STS unavailable, retries, deadlines

#[test]
fn unreachable_endpoint_fails_with_exit_5_within_the_timeout() {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    let started = std::time::Instant::now();
    let out = env.run(&[
        "--role-arn",
        ROLE,
        "--sts-endpoint",
        "http://127.0.0.1:1",
        "--timeout",
        "5s",
    ]);
    let elapsed = started.elapsed();
    let err = failed(&out, 5);
    says(
        &err,
        &["http://127.0.0.1:1", "last error:", "connect", "--timeout"],
    );
    assert!(elapsed.as_secs() < 10, "took {elapsed:?}");
}

#[test]
fn persistent_503_fails_with_exit_5_naming_the_last_error() {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    env.emu
        .set_persistent_fault(Some(sts_emulator::Fault::Status(503)));
    let err = failed(&env.run(&["--role-arn", ROLE, "--timeout", "4s"]), 5);
    says(&err, &["kept failing", "last error:", "503"]);
    assert!(env.assume_calls() >= 2, "503 is retried");
}

#[test]
fn transient_sts_errors_are_retried() {
    use sts_emulator::Fault;
    for code in ["IDPCommunicationError", "Throttling"] {
        let mut env = TestEnv::new();
        env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
        env.emu
            .push_fault(Fault::sts_error(code, "try again later"));
        let out = env.run(&["--role-arn", ROLE]);
        succeeded(&out);
        assert_eq!(env.assume_calls(), 2, "{code}: one retry");
        assert_eq!(stderr(&out), "", "{code}: a retry that works is silent");
    }
}

#[test]
fn a_hanging_sts_is_abandoned_at_the_deadline() {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    env.emu
        .set_persistent_fault(Some(sts_emulator::Fault::Hang));
    let started = std::time::Instant::now();
    let out = env.run(&["--role-arn", ROLE, "--timeout", "3s"]);
    let elapsed = started.elapsed();
    let err = failed(&out, 5);
    says(&err, &["could not be reached or kept failing", "--timeout"]);
    assert!(
        elapsed.as_secs() < 10,
        "the deadline holds: took {elapsed:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// -v, request parameters, help

#[test]
fn verbose_says_where_each_setting_came_from_and_which_source_was_chosen() {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    let out = env.run(&["-v", "--role-arn", ROLE]);
    succeeded(&out);
    let err = stderr(&out);
    says(
        &err,
        &[
            &format!("role-arn = {ROLE} (flag --role-arn)"),
            &format!(
                "sts-endpoint = {} (env AWS_ENDPOINT_URL_STS)",
                env.emu.sts_endpoint()
            ),
            "audience = sts.amazonaws.com (default)",
            "token source: GitLab id_tokens variable (found by issuer) (chosen because GITLAB_CI=true)",
            "session name: gl-42-1001",
            "calling STS AssumeRoleWithWebIdentity",
        ],
    );
    assert!(!err.contains("warning"), "{err}");
}

#[test]
fn session_policy_policy_arns_session_name_and_duration_are_sent() {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    let out = env.run(&[
        "--role-arn",
        ROLE,
        "--policy",
        policy,
        "--policy-arn",
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
        "--session-name",
        "release-build",
        "--duration",
        "2h",
    ]);
    let v = succeeded(&out);
    let params = &assume_params(&env)[0];
    assert_eq!(params["Policy"], policy);
    assert_eq!(
        params["PolicyArns.member.1.arn"],
        "arn:aws:iam::aws:policy/ReadOnlyAccess"
    );
    assert_eq!(params["RoleSessionName"], "release-build");
    assert_eq!(params["DurationSeconds"], "7200");
    let exp = chrono::DateTime::parse_from_rfc3339(v["Expiration"].as_str().unwrap()).unwrap();
    let left = exp.signed_duration_since(chrono::Utc::now()).num_seconds();
    assert!((7000..=7200).contains(&left), "a 2h session: {left}s left");
}

#[test]
fn help_shows_examples_and_the_exit_codes() {
    let env = TestEnv::new();
    let out = env.run(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    says(
        &text,
        &[
            "Examples:",
            "credential_process = aws-ci-creds --role-arn",
            "--token-env AWS_ID_TOKEN",
            "Exit codes:",
            "0  success",
            "3  no usable OIDC token",
            "4  STS refused",
            "5  STS or the token endpoint unreachable",
        ],
    );
}

#[test]
fn version_prints_the_version_and_the_target() {
    let env = TestEnv::new();
    let out = env.run(&["--version"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("aws-ci-creds {} (", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    // The triple a binary was built for: what a user needs when the wrong download fails.
    // build.rs sets it from Cargo's TARGET; the commit, when known, comes before it.
    assert!(
        text.trim_end()
            .ends_with(&format!(" {})", env!("AWS_CI_CREDS_TARGET")))
            || text
                .trim_end()
                .ends_with(&format!("({})", env!("AWS_CI_CREDS_TARGET"))),
        "{text}"
    );
    assert!(env!("AWS_CI_CREDS_TARGET").contains("-linux-") || cfg!(not(target_os = "linux")));
}

/// An audience the IAM OIDC provider does not list: STS refuses, and the fix names where this
/// source's audience is chosen (the source's own hint, not a generic one).
#[test]
fn an_audience_the_provider_does_not_list_names_where_this_source_sets_it() {
    let mut env = TestEnv::new();
    let mut claims = env.gitlab_claims();
    claims["aud"] = json!("https://gitlab.example.com");
    env.gitlab_job("AWS_ID_TOKEN", claims);
    let out = env.run(&[
        "--role-arn",
        ROLE,
        "--no-cache",
        "--audience",
        "https://gitlab.example.com",
    ]);
    let err = failed(&out, 4);
    says(&err, &["InvalidIdentityToken", "id_tokens: … aud:"]);

    let mut env = TestEnv::new();
    env.github_job();
    let out = env.run(&["--role-arn", ROLE, "--no-cache", "--audience", "not-listed"]);
    let err = failed(&out, 4);
    says(
        &err,
        &[
            "InvalidIdentityToken",
            "or request the audience the provider lists (--audience)",
        ],
    );
}
