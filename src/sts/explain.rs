//! STS's answers in words: each refusal, transport failure or expired token becomes an [`Error`]
//! that names the values involved and the fix (trust policy, OIDC provider, role setting).

use chrono::{DateTime, Utc};

use super::{AssumeRequest, StsFailure};
use crate::error::{BoxError, Error, Message};
use crate::jwt::Claims;
use crate::source::TokenSource;

/// STS's ways of saying the token's `exp` has passed.
pub(super) fn says_token_expired(code: &str, message: &str) -> bool {
    code == "ExpiredTokenException"
        || (code == "InvalidIdentityToken" && message.to_ascii_lowercase().contains("expired"))
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
        StsFailure::Transport { what, cause } => return no_answer(what, cause, request),
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

/// No usable answer from STS: an untrusted certificate gets its own fix, anything else points at
/// the network.
fn no_answer(what: String, cause: Option<BoxError>, request: &AssumeRequest) -> Error {
    if let Some(cert) = cause
        .as_ref()
        .and_then(|c| c.downcast_ref::<crate::net::CertificateError>())
    {
        return Error::unavailable(
            Message::new(format!("{what} (STS at {})", request.endpoint)).fix(cert.fix.clone()),
            None,
        );
    }
    Error::unavailable(
        Message::new(format!("{what} ({})", request.endpoint))
            .fix("check the network and the STS endpoint"),
        cause,
    )
}

/// A sensible wider pattern for a subject: everything after the last stable prefix.
pub(super) fn sub_pattern(sub: &str) -> String {
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
