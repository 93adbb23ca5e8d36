//! The retry loop: full-jitter backoff within the run's deadline, a fresh token from a minting
//! source when the old one would expire first (or STS says it has), and the message for giving up.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::explain::{check_not_expired, explain, says_token_expired};
use super::{AssumeRequest, Exchange, StsFailure};
use crate::clock::Clock;
use crate::credentials::Credentials;
use crate::diag::Diag;
use crate::error::{Error, Message};
use crate::jwt::{Claims, Token};
use crate::source::{TokenSource, http};

/// Backoff between attempts: full jitter over an exponentially growing window.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(200),
            max: Duration::from_secs(5),
            max_attempts: 8,
        }
    }
}

impl Backoff {
    pub(super) fn delay(&self, attempt: u32) -> Duration {
        let window = self
            .base
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max);
        let mut byte = [0u8; 2];
        let fraction = match aws_lc_rs::rand::fill(&mut byte) {
            Ok(()) => f64::from(u16::from_le_bytes(byte)) / f64::from(u16::MAX),
            Err(_) => 0.5,
        };
        window.mul_f64(0.2 + 0.8 * fraction)
    }
}

/// Everything the retry loop needs besides the request.
pub struct Attempt<'a> {
    pub exchange: &'a dyn Exchange,
    pub source: &'a dyn TokenSource,
    pub http: Option<&'a http::Client>,
    pub clock: &'a dyn Clock,
    pub diag: &'a Diag,
    pub audience: &'a str,
    pub backoff: Backoff,
    /// When the run started, for messages that say how long it tried.
    pub started: tokio::time::Instant,
    pub deadline: tokio::time::Instant,
}

/// A token this close to expiry is not sent: STS would refuse it by the time it checks.
pub(super) const TOKEN_SLACK_SECONDS: i64 = 5;

/// Exchanges the token, retrying transient failures within the deadline and minting a new token
/// when the source can and the old one would expire first. Returns the credentials and the token
/// that got them.
pub async fn exchange(
    at: &Attempt<'_>,
    request: &AssumeRequest,
    initial: Option<Token>,
) -> Result<(Credentials, Token), Error> {
    let mut token = initial;
    let mut last: Option<StsFailure> = None;
    // A minting source gets one fresh token when STS says the one it sent expired: the usual
    // causes (a slow runner between mint and call, clock skew within the token's slack) pass.
    let mut reminted_for_expiry = false;
    for attempt in 0..at.backoff.max_attempts {
        let needs_new = match &token {
            None => true,
            Some(t) => {
                at.source.can_remint()
                    && expires_within(&t.claims, at.clock.now(), TOKEN_SLACK_SECONDS)
            }
        };
        if needs_new {
            match mint(at, attempt).await? {
                Minted::Token(t) => token = Some(t),
                Minted::Retry => continue,
            }
        }
        let current = token.as_ref().expect("a token was just obtained");
        check_not_expired(&current.claims, at.clock.now(), at.source)?;
        at.diag.info(format!(
            "calling STS AssumeRoleWithWebIdentity at {} (role {}, session {}, attempt {})",
            request.endpoint,
            request.role.arn,
            request.session_name,
            attempt + 1
        ));
        let outcome = match within(at.deadline, at.exchange.assume(request, current)).await {
            Some(outcome) => outcome,
            None => return Err(gave_up(at, request, last)),
        };
        match outcome {
            Ok(creds) => return Ok((creds, token.expect("token present"))),
            Err(failure) if failure.retryable() => {
                let is_last = attempt + 1 >= at.backoff.max_attempts;
                at.diag.info(format!(
                    "STS attempt {} failed{}: {}",
                    attempt + 1,
                    if is_last { "" } else { ", will retry" },
                    describe_failure(&failure)
                ));
                last = Some(failure);
                if is_last || !sleep_before_retry(at, attempt).await {
                    return Err(gave_up(at, request, last));
                }
            }
            Err(failure)
                if matches!(&failure, StsFailure::Service { code, message, .. } if says_token_expired(code, message))
                    && at.source.can_remint()
                    && !reminted_for_expiry
                    && attempt + 1 < at.backoff.max_attempts =>
            {
                at.diag.info(format!(
                    "STS attempt {} failed: {}; minting a fresh token and trying once more",
                    attempt + 1,
                    describe_failure(&failure)
                ));
                reminted_for_expiry = true;
                token = None;
            }
            Err(failure) => {
                let mut err = explain(failure, request, &current.claims, at.source, at.audience);
                if let (true, Error::StsRefused { message, .. }) = (reminted_for_expiry, &mut err) {
                    message
                        .details
                        .push("a freshly minted token was refused as expired too".into());
                }
                return Err(err);
            }
        }
    }
    Err(gave_up(at, request, last))
}

/// What one attempt's mint left the loop with.
enum Minted {
    Token(Token),
    /// A transient failure with attempts left; the backoff has been slept.
    Retry,
}

/// Mints the token for `attempt`, within the deadline.
async fn mint(at: &Attempt<'_>, attempt: u32) -> Result<Minted, Error> {
    let http = at
        .http
        .ok_or_else(|| Error::internal("no HTTP client for minting", "missing client"))?;
    at.diag.info(format!(
        "requesting a token from {} (audience {})",
        at.source.describe(),
        at.audience
    ));
    match within(at.deadline, at.source.mint(http, at.audience)).await {
        Some(Ok(t)) => Ok(Minted::Token(t)),
        // The token client's own timeout is the whole budget too, so it can fire in the same
        // instant as the deadline and win the race: either way the deadline passed.
        Some(Err(Error::Unavailable { .. })) if tokio::time::Instant::now() >= at.deadline => {
            Err(token_timed_out(at))
        }
        Some(Err(e @ Error::Unavailable { .. })) if attempt + 1 < at.backoff.max_attempts => {
            at.diag.info(format!(
                "token request failed, will retry: {}",
                e.message().what
            ));
            if sleep_before_retry(at, attempt).await {
                Ok(Minted::Retry)
            } else {
                Err(e)
            }
        }
        Some(Err(e)) => Err(e),
        None => Err(token_timed_out(at)),
    }
}

async fn within<T>(
    deadline: tokio::time::Instant,
    fut: impl std::future::Future<Output = T>,
) -> Option<T> {
    tokio::time::timeout_at(deadline, fut).await.ok()
}

/// Sleeps the backoff delay; false when that would pass the deadline.
async fn sleep_before_retry(at: &Attempt<'_>, attempt: u32) -> bool {
    let delay = at.backoff.delay(attempt);
    if tokio::time::Instant::now() + delay >= at.deadline {
        return false;
    }
    tokio::time::sleep(delay).await;
    true
}

pub(super) fn expires_within(claims: &Claims, now: DateTime<Utc>, seconds: i64) -> bool {
    claims
        .exp
        .is_some_and(|exp| exp.saturating_sub(now.timestamp()) <= seconds)
}

/// One line for a failure, as the give-up messages of every hop quote it.
pub(super) fn describe_failure(f: &StsFailure) -> String {
    match f {
        StsFailure::Service {
            code,
            message,
            status,
        } => format!("{code} (HTTP {status}): {message}"),
        StsFailure::Transport { what, .. } => what.clone(),
    }
}

fn gave_up(at: &Attempt<'_>, request: &AssumeRequest, last: Option<StsFailure>) -> Error {
    let budget = at.deadline.saturating_duration_since(at.started).as_secs();
    let throttled = matches!(&last, Some(StsFailure::Service { code, .. }) if code.contains("Throttl") || code == "RequestLimitExceeded");
    let idp = matches!(&last, Some(StsFailure::Service { code, .. }) if code == "IDPCommunicationError" || code == "InvalidIdentityToken");
    let (last_text, cause) = match last {
        Some(StsFailure::Transport { what, cause }) => (what, cause),
        Some(f) => (describe_failure(&f), None),
        None => ("no answer within the deadline".to_string(), None),
    };
    let fix = if throttled {
        "STS is throttling this account: retry the job later, and let jobs share the cache instead of calling STS each time".to_string()
    } else if idp {
        "AWS could not reach the identity provider to verify the token: the issuer's /.well-known/openid-configuration and JWKS must be reachable from the internet; retry the job".to_string()
    } else {
        format!(
            "check the runner can reach {} (proxy, firewall, DNS); retry the job; raise --timeout if the network is slow",
            request.endpoint
        )
    };
    Error::unavailable(
        Message::new(format!(
            "STS at {} could not be reached or kept failing (gave up after {budget}s)",
            request.endpoint
        ))
        .detail(format!("last error: {last_text}"))
        .fix(fix),
        cause,
    )
}

/// The deadline passed while the token source was minting: the CI's token service, not STS, is
/// what did not answer.
fn token_timed_out(at: &Attempt<'_>) -> Error {
    let budget = at.deadline.saturating_duration_since(at.started).as_secs();
    Error::unavailable(
        Message::new(format!(
            "{} did not produce a token within the {budget}s deadline; STS was not called",
            at.source.describe()
        ))
        .fix("retry the job; if it persists the CI's token service is failing; raise --timeout if the runner is slow"),
        None,
    )
}
