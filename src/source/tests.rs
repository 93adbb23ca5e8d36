//! Detection precedence, job identities and session names.

use super::*;
use crate::cli::CredentialArgs;
use crate::config::SourceSettings;
use crate::diag::Diag;

/// The source settings alone: detection needs nothing else of the config.
fn settings(args: &CredentialArgs, env: &Env) -> Result<SourceSettings, Error> {
    SourceSettings::from_args(args, env, std::time::Duration::from_secs(30))
}

fn detect_in(args: CredentialArgs, vars: &[(&str, &str)]) -> Result<SourceKind, Error> {
    let env = Env::from_pairs(vars.iter().copied());
    let cfg = settings(&args, &env)?;
    detect(&cfg, &env, Diag::default()).map(|(s, _)| s.kind())
}

#[test]
fn detection_precedence_table() {
    let none = CredentialArgs::default;
    let token_env = || CredentialArgs {
        token_env: Some("MY_TOKEN".into()),
        ..none()
    };
    let token_file = || CredentialArgs {
        token_file: Some("/t".into()),
        ..none()
    };
    let forced = || CredentialArgs {
        source: Some("file".into()),
        token_file: Some("/t".into()),
        ..none()
    };
    let k8s = ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token");
    let gl = ("GITLAB_CI", "true");
    let gh = ("GITHUB_ACTIONS", "true");
    let circle = ("CIRCLECI", "true");
    let bb = ("BITBUCKET_BUILD_NUMBER", "12");
    let bk = ("BUILDKITE", "true");
    let ado = ("TF_BUILD", "True");
    let cf = ("CF_BUILD_ID", "abc");
    let tfc = ("TFC_RUN_ID", "run-1");
    let sl = ("SPACELIFT", "true");
    let sl_run = ("TF_VAR_spacelift_run_id", "01J");
    let e0 = ("ENV0_ENVIRONMENT_ID", "e");
    let (jk_url, jk_build) = (("JENKINS_URL", "https://ci/"), ("BUILD_ID", "7"));
    let command = || CredentialArgs {
        token_command: Some("print-token --aud x".into()),
        ..none()
    };
    let forced_bk = || CredentialArgs {
        source: Some("buildkite".into()),
        ..none()
    };
    type Row<'a> = (CredentialArgs, Vec<(&'a str, &'a str)>, SourceKind);
    let table: Vec<Row> = vec![
        (forced(), vec![gl, gh], SourceKind::File),
        (forced_bk(), vec![gl, k8s], SourceKind::Buildkite),
        (command(), vec![gl, gh, bk, k8s], SourceKind::Command),
        (
            none(),
            vec![("AWS_CI_CREDS_TOKEN_COMMAND", "x"), circle],
            SourceKind::Command,
        ),
        (token_env(), vec![jk_url, jk_build], SourceKind::Jenkins),
        (
            token_file(),
            vec![jk_url, jk_build, k8s],
            SourceKind::Jenkins,
        ),
        (none(), vec![gh, circle, bk], SourceKind::GitHub),
        (none(), vec![gl, circle, k8s], SourceKind::GitLab),
        (none(), vec![circle, k8s], SourceKind::CircleCi),
        (none(), vec![bb, k8s], SourceKind::Bitbucket),
        (
            none(),
            vec![bk, jk_url, jk_build, k8s],
            SourceKind::Buildkite,
        ),
        (none(), vec![ado, k8s], SourceKind::Azure),
        (none(), vec![cf, jk_url, jk_build], SourceKind::Codefresh),
        (none(), vec![tfc, k8s], SourceKind::Tfc),
        (
            none(),
            vec![("TFC_WORKLOAD_IDENTITY_TOKEN", "x")],
            SourceKind::Tfc,
        ),
        (none(), vec![sl, k8s], SourceKind::Spacelift),
        (none(), vec![sl_run], SourceKind::Spacelift),
        (none(), vec![e0, k8s], SourceKind::Env0),
        (none(), vec![jk_url, jk_build, k8s], SourceKind::Jenkins),
        (none(), vec![jk_url, k8s], SourceKind::File),
        (token_env(), vec![gh, ("MY_TOKEN", "x")], SourceKind::Env),
        (token_env(), vec![gl], SourceKind::GitLab),
        (token_file(), vec![gl, gh], SourceKind::File),
        (none(), vec![gh, gl, k8s], SourceKind::GitHub),
        (none(), vec![gl, k8s], SourceKind::GitLab),
        (none(), vec![k8s], SourceKind::File),
        (
            none(),
            vec![("AWS_CI_CREDS_TOKEN_FILE", "/t"), gl],
            SourceKind::File,
        ),
    ];
    for (args, vars, expected) in table {
        let got = detect_in(args.clone(), &vars).unwrap();
        assert_eq!(got, expected, "args {args:?} vars {vars:?}");
    }
}

#[test]
fn the_reason_names_the_variables_and_the_pod_token_passed_over() {
    let env = Env::from_pairs([
        ("CIRCLECI", "true"),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token"),
    ]);
    let cfg = settings(&CredentialArgs::default(), &env).unwrap();
    let (_, why) = detect(&cfg, &env, Diag::default()).unwrap();
    assert!(why.contains("CIRCLECI=true"), "{why}");
    assert!(why.contains("AWS_WEB_IDENTITY_TOKEN_FILE"), "{why}");
    let env = Env::from_pairs([("TF_BUILD", "True")]);
    let cfg = settings(&CredentialArgs::default(), &env).unwrap();
    let (_, why) = detect(&cfg, &env, Diag::default()).unwrap();
    assert_eq!(why, "TF_BUILD=True (Azure Pipelines)");
}

#[test]
fn job_identity_needs_a_per_job_secret_and_never_contains_it() {
    let secret = "bk-agent-access-token-value";
    let env = Env::from_pairs([
        ("BUILDKITE_JOB_ID", "j-1"),
        ("BUILDKITE_AGENT_ACCESS_TOKEN", secret),
    ]);
    let id = job_identity(&env).unwrap();
    assert!(id.starts_with("buildkite:"), "{id}");
    assert!(id.contains("j-1"), "{id}");
    assert!(!id.contains(secret), "{id}");
    let other = Env::from_pairs([
        ("BUILDKITE_JOB_ID", "j-1"),
        ("BUILDKITE_AGENT_ACCESS_TOKEN", "another-jobs-token"),
    ]);
    assert_ne!(job_identity(&other).unwrap(), id);
    // Identifiers alone can be guessed by any job on the machine: no identity.
    let ids_only = Env::from_pairs([("BUILDKITE_JOB_ID", "j-1"), ("JENKINS_URL", "x")]);
    assert_eq!(job_identity(&ids_only), None);
}

#[test]
fn ci_session_names_come_from_job_identifiers() {
    let env = Env::from_pairs([
        ("BUILDKITE_PIPELINE_SLUG", "deploy-app"),
        ("BUILDKITE_BUILD_NUMBER", "42"),
    ]);
    assert_eq!(ci_session_name(&env).as_deref(), Some("bk-deploy-app-42"));
    let env = Env::from_pairs([("BUILD_BUILDID", "981")]);
    assert_eq!(ci_session_name(&env).as_deref(), Some("ado-981"));
    let env = Env::from_pairs([("JOB_NAME", "team/app main"), ("BUILD_NUMBER", "5")]);
    assert_eq!(
        ci_session_name(&env).as_deref(),
        Some("jenkins-team-app-main-5")
    );
    assert_eq!(ci_session_name(&Env::default()), None);
}

#[test]
fn nothing_detected_says_what_to_add() {
    let err = detect_in(CredentialArgs::default(), &[("CI", "true")])
        .err()
        .unwrap();
    let text = err.to_string();
    assert!(text.contains("id_tokens"), "{text}");
    assert!(text.contains("id-token: write"), "{text}");
    assert!(text.contains("--token-file"), "{text}");
    assert!(text.contains("--token-command"), "{text}");
}

#[test]
fn known_job_claims_name_the_session_whatever_the_source() {
    let claims =
        |v: serde_json::Value| crate::jwt::decode_claims(&crate::jwt::test_token(v)).unwrap();
    let gl = claims(serde_json::json!({"exp": 1, "project_id": "42", "job_id": "7"}));
    assert_eq!(session_name_from_claims(&gl).as_deref(), Some("gl-42-7"));
    let gh = claims(serde_json::json!({"exp": 1, "run_id": "9", "run_attempt": "1"}));
    assert_eq!(session_name_from_claims(&gh).as_deref(), Some("gh-9-1"));
    let none = claims(serde_json::json!({"exp": 1, "iat": 1700000000}));
    assert_eq!(session_name_from_claims(&none), None);
    assert_eq!(
        fallback_session_name(Some(&none), chrono::DateTime::UNIX_EPOCH),
        "aws-ci-creds-1700000000"
    );
}

#[test]
fn source_names_round_trip() {
    for kind in SourceKind::ALL {
        assert_eq!(SourceKind::parse(kind.name()), Ok(Some(kind)));
    }
    assert_eq!(SourceKind::parse("AUTO"), Ok(None));
    assert!(SourceKind::parse("jenkins2").is_err());
}
