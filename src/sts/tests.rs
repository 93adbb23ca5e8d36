//! The retry loop and the refusal explanations, against a scripted [`Exchange`] and source.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{TimeZone, Utc};
use serde_json::json;

use std::time::Duration;

use chrono::DateTime;

use super::explain::sub_pattern;
use super::retry::{TOKEN_SLACK_SECONDS, expires_within};
use super::*;
use crate::clock::FixedClock;
use crate::diag::Diag;
use crate::error::Error;
use crate::jwt::Claims;
use crate::jwt::test_token;
use crate::source::{Acquired, SourceKind};
use crate::source::{TokenSource, http};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()
}

fn token(exp_offset: i64) -> Token {
    Token::parse(&test_token(json!({
        "iss": "https://gitlab.example.com", "sub": "project_path:g/p:ref_type:branch:ref:main",
        "aud": "sts.amazonaws.com", "exp": now().timestamp() + exp_offset,
    })))
    .unwrap()
}

fn creds() -> Credentials {
    crate::credentials::tests::sample(now() + chrono::Duration::hours(1))
}

struct Scripted {
    answers: Mutex<VecDeque<Result<Credentials, StsFailure>>>,
    calls: AtomicUsize,
}

impl Scripted {
    fn new(answers: Vec<Result<Credentials, StsFailure>>) -> Scripted {
        Scripted {
            answers: Mutex::new(answers.into()),
            calls: AtomicUsize::new(0),
        }
    }
}

impl Exchange for Scripted {
    fn assume<'a>(
        &'a self,
        _r: &'a AssumeRequest,
        _t: &'a Token,
    ) -> BoxFuture<'a, Result<Credentials, StsFailure>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let next = self
            .answers
            .lock()
            .unwrap()
            .pop_front()
            .expect("an answer was scripted");
        Box::pin(async move { next })
    }

    fn assume_role<'a>(
        &'a self,
        _r: &'a super::ChainedRequest,
        _p: &'a Credentials,
    ) -> BoxFuture<'a, Result<Credentials, StsFailure>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let next = self
            .answers
            .lock()
            .unwrap()
            .pop_front()
            .expect("an answer was scripted");
        Box::pin(async move { next })
    }
}

struct FakeSource {
    remint: bool,
    mints: AtomicUsize,
}

impl TokenSource for FakeSource {
    fn kind(&self) -> SourceKind {
        if self.remint {
            SourceKind::GitHub
        } else {
            SourceKind::GitLab
        }
    }
    fn describe(&self) -> String {
        "fake".into()
    }
    fn acquire(&self) -> Result<Acquired, Error> {
        Ok(Acquired::Local(token(3600)))
    }
    fn mint<'a>(
        &'a self,
        _h: &'a http::Client,
        _a: &'a str,
    ) -> BoxFuture<'a, Result<Token, Error>> {
        self.mints.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(token(300)) })
    }
    fn can_remint(&self) -> bool {
        self.remint
    }
    fn session_name(&self, _c: Option<&Claims>) -> Option<String> {
        None
    }
}

fn request() -> AssumeRequest {
    AssumeRequest {
        role: RoleArn::parse("arn:aws:iam::123456789012:role/deploy").unwrap(),
        session_name: "gl-1-2".into(),
        duration_seconds: 3600,
        policy: None,
        policy_arns: vec![],
        endpoint: "https://sts.us-east-1.amazonaws.com".into(),
        region: "us-east-1".into(),
    }
}

fn service(code: &str, message: &str, status: u16) -> StsFailure {
    StsFailure::Service {
        code: code.into(),
        message: message.into(),
        status,
    }
}

thread_local! {
    /// The deadline of the current `run`, for sources that must fail exactly at it.
    static DEADLINE: std::cell::Cell<Option<tokio::time::Instant>> = const { std::cell::Cell::new(None) };
}

fn run(
    exchange: &Scripted,
    source: &dyn TokenSource,
    initial: Option<Token>,
    budget: Duration,
) -> Result<(Credentials, Token), Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let http = http::Client::new(
            &crate::net::NetworkSettings::resolve(None, &crate::env::Env::default()).unwrap(),
            Duration::from_secs(1),
            crate::diag::Diag::new(0),
        )
        .unwrap();
        let clock = FixedClock(now());
        let diag = Diag::default();
        let at = Attempt {
            exchange,
            source,
            http: Some(&http),
            clock: &clock,
            diag: &diag,
            audience: "sts.amazonaws.com",
            backoff: Backoff {
                base: Duration::from_millis(1),
                max: Duration::from_millis(5),
                max_attempts: 5,
            },
            started: tokio::time::Instant::now(),
            deadline: tokio::time::Instant::now() + budget,
        };
        DEADLINE.set(Some(at.deadline));
        exchange_inner(&at, initial).await
    })
}

async fn exchange_inner(
    at: &Attempt<'_>,
    initial: Option<Token>,
) -> Result<(Credentials, Token), Error> {
    exchange(at, &request(), initial).await
}

fn local() -> FakeSource {
    FakeSource {
        remint: false,
        mints: AtomicUsize::new(0),
    }
}

#[test]
fn transient_failures_are_retried_until_success() {
    let ex = Scripted::new(vec![
        Err(service("IDPCommunicationError", "x", 400)),
        Err(service("Throttling", "Rate exceeded", 400)),
        Err(StsFailure::Transport {
            what: "reset".into(),
            cause: None,
        }),
        Err(service(
            "InvalidIdentityToken",
            "Couldn't retrieve verification key from your identity provider",
            400,
        )),
        Ok(creds()),
    ]);
    let out = run(&ex, &local(), Some(token(3600)), Duration::from_secs(10));
    assert!(out.is_ok(), "{:?}", out.err());
    assert_eq!(ex.calls.load(Ordering::SeqCst), 5);
}

/// A token endpoint whose own timeout (the same budget) fires in the instant the deadline does.
struct TimesOutWithTheDeadline;

impl TokenSource for TimesOutWithTheDeadline {
    fn kind(&self) -> SourceKind {
        SourceKind::GitHub
    }
    fn describe(&self) -> String {
        "GitHub's OIDC token endpoint".into()
    }
    fn acquire(&self) -> Result<Acquired, Error> {
        Ok(Acquired::OnRequest {
            job: "run-1".into(),
        })
    }
    fn mint<'a>(
        &'a self,
        _h: &'a http::Client,
        _a: &'a str,
    ) -> BoxFuture<'a, Result<Token, Error>> {
        Box::pin(async {
            tokio::time::sleep_until(DEADLINE.get().expect("run sets the deadline")).await;
            Err(Error::unavailable(
                crate::error::Message::new("GitHub's OIDC token endpoint did not answer within 2s"),
                None,
            ))
        })
    }
    fn can_remint(&self) -> bool {
        true
    }
    fn session_name(&self, _c: Option<&Claims>) -> Option<String> {
        None
    }
}

#[test]
fn a_token_request_failing_as_the_deadline_passes_says_the_deadline_passed() {
    // Bug: which of the two timers won decided the message, so the same hang read two ways.
    for _ in 0..20 {
        let ex = Scripted::new(vec![]);
        let err = run(
            &ex,
            &TimesOutWithTheDeadline,
            None,
            Duration::from_millis(20),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("deadline; STS was not called"),
            "{err}"
        );
        assert_eq!(ex.calls.load(Ordering::SeqCst), 0);
    }
}

#[test]
fn refusals_are_not_retried() {
    for code in [
        "AccessDenied",
        "ExpiredTokenException",
        "ValidationError",
        "MalformedPolicyDocument",
        "PackedPolicyTooLarge",
        "InvalidIdentityToken",
    ] {
        let ex = Scripted::new(vec![Err(service(code, "no", 400)), Ok(creds())]);
        let err = run(&ex, &local(), Some(token(3600)), Duration::from_secs(10)).unwrap_err();
        assert_eq!(ex.calls.load(Ordering::SeqCst), 1, "{code} was retried");
        assert_eq!(err.sts_code(), Some(code));
    }
}

#[test]
fn gives_up_naming_the_last_error_when_failures_persist() {
    let ex = Scripted::new(
        (0..5)
            .map(|_| Err(service("ServiceUnavailable", "down", 503)))
            .collect(),
    );
    let err = run(&ex, &local(), Some(token(3600)), Duration::from_secs(10)).unwrap_err();
    assert_eq!(err.exit_code(), crate::exit_code::ExitCode::StsUnavailable);
    assert!(err.to_string().contains("ServiceUnavailable"), "{err}");
}

#[test]
fn a_token_about_to_expire_is_reminted_when_the_source_can() {
    let source = FakeSource {
        remint: true,
        mints: AtomicUsize::new(0),
    };
    let ex = Scripted::new(vec![Ok(creds())]);
    let out = run(&ex, &source, Some(token(2)), Duration::from_secs(10));
    assert!(out.is_ok());
    assert_eq!(source.mints.load(Ordering::SeqCst), 1);
}

#[test]
fn sts_saying_expired_gets_one_fresh_token_from_a_minting_source() {
    for (code, message) in [
        (
            "ExpiredTokenException",
            "Token expired: current date/time 2 must be before 1",
        ),
        ("InvalidIdentityToken", "The web identity token has expired"),
    ] {
        let source = FakeSource {
            remint: true,
            mints: AtomicUsize::new(0),
        };
        let ex = Scripted::new(vec![Err(service(code, message, 400)), Ok(creds())]);
        let out = run(&ex, &source, Some(token(3600)), Duration::from_secs(10));
        assert!(out.is_ok(), "{code}: {:?}", out.err());
        assert_eq!(source.mints.load(Ordering::SeqCst), 1, "{code}");
        assert_eq!(ex.calls.load(Ordering::SeqCst), 2, "{code}");
    }
}

#[test]
fn sts_saying_expired_twice_stops_after_one_fresh_token() {
    let source = FakeSource {
        remint: true,
        mints: AtomicUsize::new(0),
    };
    let expired = || Err(service("ExpiredTokenException", "Token expired", 400));
    let ex = Scripted::new(vec![expired(), expired(), Ok(creds())]);
    let err = run(&ex, &source, Some(token(3600)), Duration::from_secs(10)).unwrap_err();
    assert_eq!(source.mints.load(Ordering::SeqCst), 1);
    assert_eq!(ex.calls.load(Ordering::SeqCst), 2);
    assert_eq!(err.sts_code(), Some("ExpiredTokenException"));
    assert!(err.to_string().contains("freshly minted token"), "{err}");
}

#[test]
fn sts_saying_expired_to_a_fixed_token_is_not_retried_and_says_why() {
    let source = local();
    let ex = Scripted::new(vec![
        Err(service("InvalidIdentityToken", "Token has expired", 400)),
        Ok(creds()),
    ]);
    let err = run(&ex, &source, Some(token(3600)), Duration::from_secs(10)).unwrap_err();
    assert_eq!(source.mints.load(Ordering::SeqCst), 0);
    assert_eq!(ex.calls.load(Ordering::SeqCst), 1);
    let text = err.to_string();
    assert!(text.contains("had expired when STS checked it"), "{text}");
    assert!(text.contains("one fixed token for the job"), "{text}");
    assert!(text.contains("provide a fresh token"), "{text}");
}

#[test]
fn an_expired_local_token_fails_before_sts() {
    let ex = Scripted::new(vec![]);
    let err = run(&ex, &local(), Some(token(-120)), Duration::from_secs(10)).unwrap_err();
    assert_eq!(err.exit_code(), crate::exit_code::ExitCode::Token);
    let text = err.to_string();
    assert!(
        text.contains("expired at 2026-11-26T11:58:00Z (2m 0s ago)"),
        "{text}"
    );
    assert_eq!(ex.calls.load(Ordering::SeqCst), 0);
}

#[test]
fn access_denied_names_the_claims_and_the_trust_policy_keys() {
    let t = token(3600);
    let err = explain(
        service(
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
            403,
        ),
        &request(),
        &t.claims,
        &local(),
        "sts.amazonaws.com",
    );
    let text = err.to_string();
    for expected in [
        "arn:aws:iam::123456789012:role/deploy",
        "token iss: https://gitlab.example.com",
        "token aud: sts.amazonaws.com",
        "token sub: project_path:g/p:ref_type:branch:ref:main",
        "\"gitlab.example.com:aud\": \"sts.amazonaws.com\"",
        "\"gitlab.example.com:sub\"",
        "project_path:g/p:*",
        "arn:aws:iam::123456789012:oidc-provider/gitlab.example.com",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}

#[test]
fn each_refusal_has_its_own_fix() {
    let t = token(3600);
    let cases = [
        (
            "InvalidIdentityToken",
            "No OpenIDConnect provider found in your account for https://gitlab.example.com",
            "create-open-id-connect-provider",
        ),
        (
            "InvalidIdentityToken",
            "Incorrect token audience",
            "add-client-id-to-open-id-connect-provider",
        ),
        (
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            "Maximum session duration",
        ),
        (
            "ValidationError",
            "Value at 'roleSessionName' failed",
            "--session-name",
        ),
        (
            "RegionDisabledException",
            "STS is not activated",
            "--region us-east-1",
        ),
        (
            "ExpiredTokenException",
            "Token expired",
            "provide a fresh token",
        ),
        ("MalformedPolicyDocument", "bad", "--policy"),
    ];
    for (code, message, fix) in cases {
        let text = explain(
            service(code, message, 400),
            &request(),
            &t.claims,
            &local(),
            "sts.amazonaws.com",
        )
        .to_string();
        assert!(text.contains(fix), "{code}: missing {fix:?} in\n{text}");
    }
}

#[test]
fn sub_patterns_widen_at_the_stable_prefix() {
    assert_eq!(
        sub_pattern("project_path:g/p:ref_type:branch:ref:main"),
        "project_path:g/p:*"
    );
    assert_eq!(
        sub_pattern("repo:org/repo:ref:refs/heads/main"),
        "repo:org/repo:*"
    );
    assert_eq!(
        sub_pattern("system:serviceaccount:ns:sa"),
        "system:serviceaccount:ns:*"
    );
}

fn denied_for(iss: &str, sub: &str) -> String {
    let t = Token::parse(&test_token(json!({
        "iss": iss, "sub": sub, "aud": "sts.amazonaws.com", "exp": now().timestamp() + 300,
    })))
    .unwrap();
    explain(
        service("AccessDenied", "Not authorized", 403),
        &request(),
        &t.claims,
        &local(),
        "sts.amazonaws.com",
    )
    .to_string()
}

#[test]
fn github_enterprise_server_issuers_give_their_own_condition_keys() {
    let text = denied_for(
        "https://ghes.example.com/_services/token",
        "repo:org/app:ref:refs/heads/main",
    );
    for expected in [
        "\"ghes.example.com/_services/token:aud\": \"sts.amazonaws.com\"",
        "\"ghes.example.com/_services/token:sub\"",
        "repo:org/app:*",
        "oidc-provider/ghes.example.com/_services/token",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}

#[test]
fn github_enterprise_cloud_issuers_keep_the_enterprise_path() {
    let text = denied_for(
        "https://token.actions.githubusercontent.com/octo-enterprise",
        "repo:octo-org/app:environment:prod",
    );
    for expected in [
        "\"token.actions.githubusercontent.com/octo-enterprise:sub\"",
        "\"token.actions.githubusercontent.com/octo-enterprise:aud\"",
        "oidc-provider/token.actions.githubusercontent.com/octo-enterprise",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}

/// env0's issuer (an Auth0 tenant) ends in `/`, and IAM keeps it in the provider and the keys.
#[test]
fn an_issuer_with_a_trailing_slash_keeps_it_in_the_keys_and_the_provider() {
    let text = denied_for("https://login.app.env0.com/", "auth0|env0-org-user");
    for expected in [
        "\"login.app.env0.com/:sub\"",
        "\"login.app.env0.com/:aud\"",
        "oidc-provider/login.app.env0.com/",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    assert_eq!(
        issuer_key("https://login.app.env0.com/"),
        "login.app.env0.com/"
    );
}

#[test]
fn self_managed_gitlab_issuers_with_a_path_keep_it() {
    let text = denied_for(
        "https://git.example.com/gitlab",
        "project_path:g/p:ref_type:branch:ref:main",
    );
    assert!(text.contains("\"git.example.com/gitlab:sub\""), "{text}");
}

/// Found by the `sts_explain` fuzz target: `human_duration(i64::MIN)` overflowed on negation.
#[test]
fn human_duration_takes_any_number_of_seconds() {
    assert_eq!(human_duration(-45), "45s");
    assert_eq!(human_duration(200), "3m 20s");
    assert!(human_duration(i64::MIN).ends_with('m'));
    assert!(human_duration(i64::MAX).ends_with('m'));
}

/// A token endpoint (or file) can hand over any `exp`: the extremes neither overflow nor count
/// as "still valid for a while" when they are in the past.
#[test]
fn extreme_expiry_claims_do_not_overflow() {
    let mut claims = token(0).claims;
    claims.exp = Some(i64::MIN);
    assert!(expires_within(&claims, now(), TOKEN_SLACK_SECONDS));
    claims.exp = Some(i64::MAX);
    assert!(!expires_within(&claims, now(), TOKEN_SLACK_SECONDS));
}
