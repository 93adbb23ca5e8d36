//! The STS exchange: `AssumeRoleWithWebIdentity` behind the small [`Exchange`] trait, the retry
//! loop around it, and the translation of every STS answer into an [`Error`] a user can act on.
//!
//! The SDK client is built from the resolved [`crate::config::Config`] alone, with no
//! credentials provider: the call is unsigned, and resolving credentials through the default
//! chain could run this very tool again from the profile that invokes it. Region and endpoint
//! are explicit, so what `-v` shows and what the cache key covers is exactly what is called.
//! Retries are ours, not the SDK's: only we can mint a new GitHub token between attempts.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::config::RoleArn;
use crate::credentials::Credentials;
use crate::diag::Diag;
use crate::error::{BoxError, Error, Message};
use crate::jwt::{Claims, Token};
use crate::secret::Secret;
use crate::source::{BoxFuture, TokenSource, http};

/// What is asked of STS.
#[derive(Debug, Clone)]
pub struct AssumeRequest {
    pub role: RoleArn,
    pub session_name: String,
    pub duration_seconds: u32,
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
    pub endpoint: String,
    pub region: String,
}

/// How one attempt failed.
#[derive(Debug)]
pub enum StsFailure {
    /// STS answered with an error.
    Service {
        code: String,
        message: String,
        status: u16,
    },
    /// No usable answer: refused connection, timeout, reset, garbled body.
    Transport {
        what: String,
        cause: Option<BoxError>,
    },
}

impl StsFailure {
    /// Transient failures worth another attempt within the deadline.
    pub fn retryable(&self) -> bool {
        match self {
            // An untrusted certificate stays untrusted: say so now, not at the deadline.
            StsFailure::Transport { cause, .. } => !cause
                .as_ref()
                .is_some_and(|c| c.is::<crate::net::CertificateError>()),
            StsFailure::Service {
                code,
                message,
                status,
            } => {
                matches!(
                    code.as_str(),
                    "IDPCommunicationError"
                        | "Throttling"
                        | "ThrottlingException"
                        | "RequestLimitExceeded"
                        | "InternalFailure"
                        | "InternalError"
                        | "ServiceUnavailable"
                ) || (code == "InvalidIdentityToken"
                    && message.contains("retrieve verification key"))
                    || *status >= 500
            }
        }
    }
}

/// One `AssumeRoleWithWebIdentity` attempt.
pub trait Exchange: Send + Sync {
    fn assume<'a>(
        &'a self,
        request: &'a AssumeRequest,
        token: &'a Token,
    ) -> BoxFuture<'a, Result<Credentials, StsFailure>>;
}

/// The real exchange, through aws-sdk-sts.
pub struct SdkExchange {
    client: aws_sdk_sts::Client,
}

impl SdkExchange {
    /// `http` is the shared connector ([`crate::net`]): the proxy and trust roots of this run.
    pub fn new(endpoint: &str, region: &str, http: crate::net::SdkHttpClient) -> SdkExchange {
        use aws_sdk_sts::config::{
            BehaviorVersion, Region, retry::RetryConfig, timeout::TimeoutConfig,
        };
        let config = aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .endpoint_url(endpoint)
            .http_client(http)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .build(),
            )
            .build();
        SdkExchange {
            client: aws_sdk_sts::Client::from_conf(config),
        }
    }
}

impl Exchange for SdkExchange {
    fn assume<'a>(
        &'a self,
        request: &'a AssumeRequest,
        token: &'a Token,
    ) -> BoxFuture<'a, Result<Credentials, StsFailure>> {
        Box::pin(async move {
            let mut call = self
                .client
                .assume_role_with_web_identity()
                .role_arn(&request.role.arn)
                .role_session_name(&request.session_name)
                .web_identity_token(token.secret.expose())
                .duration_seconds(request.duration_seconds as i32);
            if let Some(policy) = &request.policy {
                call = call.policy(policy);
            }
            for arn in &request.policy_arns {
                call = call.policy_arns(
                    aws_sdk_sts::types::PolicyDescriptorType::builder()
                        .arn(arn)
                        .build(),
                );
            }
            let output = call.send().await.map_err(classify)?;
            let creds = output.credentials().ok_or_else(|| StsFailure::Transport {
                what: "STS answered without credentials".into(),
                cause: None,
            })?;
            let expiration =
                DateTime::from_timestamp(creds.expiration().secs(), 0).ok_or_else(|| {
                    StsFailure::Transport {
                        what: "STS answered with an unreadable expiration".into(),
                        cause: None,
                    }
                })?;
            Ok(Credentials {
                access_key_id: Secret::new(creds.access_key_id().to_string()),
                secret_access_key: Secret::new(creds.secret_access_key().to_string()),
                session_token: Secret::new(creds.session_token().to_string()),
                expiration,
                assumed_role_arn: output
                    .assumed_role_user()
                    .map(|u| u.arn().to_string())
                    .unwrap_or_default(),
            })
        })
    }
}

type AssumeError = aws_sdk_sts::error::SdkError<
    aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError,
    aws_sdk_sts::config::http::HttpResponse,
>;

fn classify(err: AssumeError) -> StsFailure {
    use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
    match err {
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let e = ctx.err();
            match e.code() {
                Some(code) => StsFailure::Service {
                    code: code.to_string(),
                    message: e.message().unwrap_or_default().to_string(),
                    status,
                },
                None if (200..300).contains(&status) => StsFailure::Transport {
                    what: format!("STS answered HTTP {status} with a body that is not STS's XML"),
                    cause: None,
                },
                None => StsFailure::Transport {
                    what: format!("STS answered HTTP {status} without a readable error"),
                    cause: None,
                },
            }
        }
        SdkError::TimeoutError(_) => StsFailure::Transport {
            what: "STS did not answer in time".into(),
            cause: None,
        },
        SdkError::DispatchFailure(d) => {
            let chain = d
                .as_connector_error()
                .and_then(|c| std::error::Error::source(c));
            if let Some(cert) =
                chain.and_then(crate::net::client::find_in_chain::<crate::net::CertificateError>)
            {
                return StsFailure::Transport {
                    what: cert.to_string(),
                    cause: Some(Box::new(cert.clone())),
                };
            }
            if let Some(proxy) = chain
                .and_then(crate::net::client::find_in_chain::<crate::net::client::ProxyFailure>)
            {
                return StsFailure::Transport {
                    what: proxy.what.clone(),
                    cause: None,
                };
            }
            let what = if d.is_timeout() {
                "timed out connecting to STS"
            } else if d.is_io() {
                "could not connect to STS"
            } else {
                "could not send the request to STS"
            };
            StsFailure::Transport {
                what: what.into(),
                cause: d
                    .as_connector_error()
                    .map(|c| Box::new(std::io::Error::other(c.to_string())) as BoxError),
            }
        }
        SdkError::ResponseError(r) => StsFailure::Transport {
            what: format!(
                "STS's answer could not be read (HTTP {})",
                r.raw().status().as_u16()
            ),
            cause: None,
        },
        other => StsFailure::Transport {
            what: format!(
                "the STS request failed: {}",
                aws_sdk_sts::error::DisplayErrorContext(&other)
            ),
            cause: None,
        },
    }
}

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
    fn delay(&self, attempt: u32) -> Duration {
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
const TOKEN_SLACK_SECONDS: i64 = 5;

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
            let http = at
                .http
                .ok_or_else(|| Error::internal("no HTTP client for minting", "missing client"))?;
            at.diag.info(format!(
                "requesting a token from {} (audience {})",
                at.source.describe(),
                at.audience
            ));
            match within(at.deadline, at.source.mint(http, at.audience)).await {
                Some(Ok(t)) => token = Some(t),
                Some(Err(e @ Error::Unavailable { .. }))
                    if attempt + 1 < at.backoff.max_attempts =>
                {
                    at.diag.info(format!(
                        "token request failed, will retry: {}",
                        e.message().what
                    ));
                    if !sleep_before_retry(at, attempt).await {
                        return Err(e);
                    }
                    continue;
                }
                Some(Err(e)) => return Err(e),
                None => return Err(token_timed_out(at)),
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

/// STS's ways of saying the token's `exp` has passed.
fn says_token_expired(code: &str, message: &str) -> bool {
    code == "ExpiredTokenException"
        || (code == "InvalidIdentityToken" && message.to_ascii_lowercase().contains("expired"))
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

fn expires_within(claims: &Claims, now: DateTime<Utc>, seconds: i64) -> bool {
    claims
        .exp
        .is_some_and(|exp| exp.saturating_sub(now.timestamp()) <= seconds)
}

/// Fails fast, before STS, on a token that has already expired, saying when and why.
pub fn check_not_expired(
    claims: &Claims,
    now: DateTime<Utc>,
    source: &dyn TokenSource,
) -> Result<(), Error> {
    let Some(exp) = claims.expires_at() else {
        return Ok(());
    };
    if exp > now {
        return Ok(());
    }
    let ago = (now - exp).num_seconds();
    Err(Error::Token(
        Message::new(format!(
            "the OIDC token from {} expired at {} ({} ago)",
            source.describe(),
            exp.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            human_duration(ago)
        ))
        .detail(format!(
            "iss: {}",
            claims.iss.as_deref().unwrap_or("(none)")
        ))
        .detail(format!(
            "sub: {}",
            claims.sub.as_deref().unwrap_or("(none)")
        ))
        .fix(source.expired_fix()),
    ))
}

/// "3m 20s", "2h 5m", "45s".
pub fn human_duration(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        _ => format!("{}h {}m", s / 3600, (s % 3600) / 60),
    }
}

fn describe_failure(f: &StsFailure) -> String {
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

/// The IAM condition-key prefix of an issuer: its URL without the scheme. A trailing `/` stays:
/// an issuer such as env0's `https://login.app.env0.com/` is registered with it, and IAM keeps it
/// in the provider ARN and the keys (`login.app.env0.com/:aud`).
pub fn issuer_key(iss: &str) -> String {
    iss.trim_start_matches("https://")
        .trim_start_matches("http://")
        .to_string()
}

/// Turns a refusal into the message that tells the user what to change.
pub fn explain(
    failure: StsFailure,
    request: &AssumeRequest,
    claims: &Claims,
    source: &dyn TokenSource,
    audience: &str,
) -> Error {
    let (code, message, status) = match failure {
        StsFailure::Service {
            code,
            message,
            status,
        } => (code, message, status),
        StsFailure::Transport { what, cause } => {
            if let Some(cert) = cause
                .as_ref()
                .and_then(|c| c.downcast_ref::<crate::net::CertificateError>())
            {
                return Error::unavailable(
                    Message::new(format!("{what} (STS at {})", request.endpoint))
                        .fix(cert.fix.clone()),
                    None,
                );
            }
            return Error::unavailable(
                Message::new(format!("{what} ({})", request.endpoint))
                    .fix("check the network and the STS endpoint"),
                cause,
            );
        }
    };
    let iss = claims.iss.as_deref().unwrap_or("(none)");
    let sub = claims.sub.as_deref().unwrap_or("(none)");
    let aud = claims.aud_display();
    let key = issuer_key(iss);
    let role = &request.role;
    let head = format!(
        "STS refused to let this token assume {} ({code}: {message})",
        role.arn
    );
    let claims_lines = |m: Message| {
        m.detail(format!("token iss: {iss}"))
            .detail(format!("token aud: {aud}"))
            .detail(format!("token sub: {sub}"))
    };
    let provider_arn = format!(
        "arn:{}:iam::{}:oidc-provider/{key}",
        role.partition, role.account_id
    );

    let expired = says_token_expired(&code, &message);
    let msg = match code.as_str() {
        _ if expired => claims_lines(Message::new(head).detail(if source.can_remint() {
            format!("the token from {} had expired when STS checked it", source.describe())
        } else {
            format!(
                "the job's OIDC token had expired when STS checked it; {} holds one fixed token for the job, so a retry cannot help",
                source.describe()
            )
        }))
        .fix(source.expired_fix()),
        "AccessDenied" => claims_lines(Message::new(head).detail(format!("the trust policy of role {} does not accept this token", role.name))).fix(format!(
            "edit the role's trust policy (IAM → Roles → {name} → Trust relationships) so that it has:\n\
             Principal: {{\"Federated\": \"{provider_arn}\"}}, Action: sts:AssumeRoleWithWebIdentity\n\
             Condition StringEquals \"{key}:aud\": \"{first_aud}\"\n\
             Condition StringLike \"{key}:sub\": \"{sub}\" (or a pattern such as \"{pattern}\")\n\
             values are case-sensitive; `aws-ci-creds trust-policy --account-id {account}` prints one for this token",
            name = role.name,
            first_aud = claims.aud.first().map(String::as_str).unwrap_or(audience),
            pattern = sub_pattern(sub),
            account = role.account_id,
        )),
        "InvalidIdentityToken" if message.contains("No OpenIDConnect provider") => claims_lines(Message::new(head)).fix(format!(
            "create the IAM OIDC identity provider for this issuer in account {account}:\n\
             aws iam create-open-id-connect-provider --url {iss} --client-id-list {first_aud}",
            account = role.account_id,
            first_aud = claims.aud.first().map(String::as_str).unwrap_or(audience),
        )),
        "InvalidIdentityToken" if message.to_ascii_lowercase().contains("audience") => claims_lines(Message::new(head)).fix(format!(
            "the IAM OIDC provider {provider_arn} does not list the token's audience {aud}: add it with\n\
             aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn {provider_arn} --client-id {first}\n\
             or request the audience the provider lists ({})",
            source.audience_fix(),
            first = claims.aud.first().map(String::as_str).unwrap_or(audience),
        )),
        "InvalidIdentityToken" if message.contains("verification key") => claims_lines(Message::new(head)).fix(format!(
            "AWS could not fetch the signing keys of {iss}: the issuer's /.well-known/openid-configuration and JWKS must be reachable from the internet over HTTPS; retry the job"
        )),
        "InvalidIdentityToken" => claims_lines(Message::new(head)).fix(
            "check the token comes from the issuer the IAM OIDC provider names, is unmodified, and the provider's certificate/JWKS is current",
        ),
        "IDPRejectedClaim" => claims_lines(Message::new(head)).fix("the identity provider's claims were rejected; check the OIDC provider's audiences and the role's trust conditions"),
        "ValidationError" if message.contains("DurationSeconds") => Message::new(head).fix(format!(
            "--duration {} is more than the role's maximum session duration: lower --duration, or raise the maximum (IAM → Roles → {} → Maximum session duration)",
            request.duration_seconds, role.name
        )),
        "ValidationError" if message.to_ascii_lowercase().contains("rolesessionname") => Message::new(head).fix(format!(
            "the session name `{}` is not accepted; pass --session-name with 2 to 64 of A-Z a-z 0-9 _ + = , . @ -",
            request.session_name
        )),
        "ValidationError" => Message::new(head).fix("check --role-arn, --duration, --policy and --policy-arn"),
        "MalformedPolicyDocument" => Message::new(head).fix("fix the session policy given with --policy or --policy-file; it must be a valid IAM policy document"),
        "PackedPolicyTooLarge" => Message::new(head).fix("the session policies are too large once packed: shorten --policy, use fewer --policy-arn, or reduce the token's session tags"),
        "RegionDisabledException" => Message::new(head).fix(format!(
            "STS is not activated in {}: activate it (IAM → Account settings → Security Token Service endpoints) or use --region us-east-1",
            request.region
        )),
        _ => claims_lines(Message::new(head)).fix(format!("see the STS error code {code} (HTTP {status}) in docs/troubleshooting.md")),
    };
    Error::StsRefused { code, message: msg }
}

/// A sensible wider pattern for a subject: everything after the last stable prefix.
fn sub_pattern(sub: &str) -> String {
    if let Some(idx) = sub.find(":ref_type:") {
        return format!("{}:*", &sub[..idx]);
    }
    if sub.starts_with("repo:")
        && let Some(idx) = sub.match_indices(':').nth(1).map(|(i, _)| i)
    {
        return format!("{}:*", &sub[..idx]);
    }
    match sub.rfind(':') {
        Some(idx) => format!("{}:*", &sub[..idx]),
        None => sub.to_string(),
    }
}

#[cfg(test)]
mod tests;
