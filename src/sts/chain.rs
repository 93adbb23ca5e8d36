//! A chained hop: `AssumeRole` signed with the previous hop's session, retried like the first hop
//! (full-jitter backoff within the run's deadline), and each refusal explained for that hop: which
//! role, what its trust policy must allow, and the fix for `AccessDenied`,
//! `RegionDisabledException`, `PackedPolicyTooLarge` and an expired previous session.

use super::retry::describe_failure;
use super::{Backoff, ChainedRequest, Exchange, StsFailure, human_duration};
use crate::credentials::Credentials;
use crate::diag::Diag;
use crate::error::{Error, Message};

/// Everything the chained retry loop needs besides the request.
pub struct ChainAttempt<'a> {
    pub exchange: &'a dyn Exchange,
    pub diag: &'a Diag,
    pub backoff: Backoff,
    /// When the run started, for messages that say how long it tried.
    pub started: tokio::time::Instant,
    pub deadline: tokio::time::Instant,
}

/// The STS code for a request signed with a session that has expired.
pub const EXPIRED_SESSION: &str = "ExpiredToken";

/// Assumes the hop's role with `previous`, retrying transient failures within the deadline. A
/// refusal is never retried: it comes back explained (an expired previous session with the code
/// [`EXPIRED_SESSION`], so the caller can refresh that hop once).
pub async fn assume_chained(
    at: &ChainAttempt<'_>,
    request: &ChainedRequest,
    previous: &Credentials,
) -> Result<Credentials, Error> {
    let mut last: Option<StsFailure> = None;
    for attempt in 0..at.backoff.max_attempts {
        at.diag.info(format!(
            "calling STS AssumeRole at {} (hop {}: role {}, session {}, signed by {}, attempt {})",
            request.endpoint,
            request.hop,
            request.role.arn,
            request.session_name,
            request.previous_role.arn,
            attempt + 1
        ));
        let call = at.exchange.assume_role(request, previous);
        let Ok(outcome) = tokio::time::timeout_at(at.deadline, call).await else {
            return Err(gave_up(at, request, last));
        };
        match outcome {
            Ok(creds) => return Ok(creds),
            Err(failure) if failure.retryable() => {
                at.diag.info(format!(
                    "STS attempt {} for hop {} failed: {}",
                    attempt + 1,
                    request.hop,
                    describe_failure(&failure)
                ));
                last = Some(failure);
                let delay = at.backoff.delay(attempt);
                if attempt + 1 >= at.backoff.max_attempts
                    || tokio::time::Instant::now() + delay >= at.deadline
                {
                    break;
                }
                tokio::time::sleep(delay).await;
            }
            Err(failure) => return Err(explain_hop(failure, request)),
        }
    }
    Err(gave_up(at, request, last))
}

fn gave_up(at: &ChainAttempt<'_>, request: &ChainedRequest, last: Option<StsFailure>) -> Error {
    let budget = at.deadline.saturating_duration_since(at.started).as_secs();
    let throttled = matches!(&last, Some(StsFailure::Service { code, .. }) if code.contains("Throttl") || code == "RequestLimitExceeded");
    let (text, cause) = match last {
        Some(StsFailure::Transport { what, cause }) => (what, cause),
        Some(f) => (describe_failure(&f), None),
        None => ("no answer within the deadline".to_string(), None),
    };
    let fix = if throttled {
        format!(
            "STS is throttling AssumeRole into account {}: retry the job later, and let jobs share the cache instead of calling STS each time",
            request.role.account_id
        )
    } else {
        format!(
            "check the runner can reach {} (proxy, firewall, DNS); retry the job; raise --timeout if the network is slow",
            request.endpoint
        )
    };
    Error::unavailable(
        Message::new(format!(
            "hop {} (sts:AssumeRole into {}) could not reach STS at {} or it kept failing (gave up after {budget}s)",
            request.hop, request.role.arn, request.endpoint
        ))
        .detail(format!("last error: {text}"))
        .fix(fix),
        cause,
    )
}

/// What the hop's trust policy must allow, as the fix for a refusal says it.
fn trust_needs(request: &ChainedRequest) -> String {
    let mut actions = vec!["\"sts:AssumeRole\""];
    if !request.tags.is_empty() {
        actions.push("\"sts:TagSession\"");
    }
    if request.source_identity.is_some() {
        actions.push("\"sts:SetSourceIdentity\"");
    }
    let mut needs = format!(
        "its trust policy must allow [{}] to the principal {{\"AWS\": \"{}\"}}",
        actions.join(", "),
        request.previous_role.arn
    );
    if let Some(id) = &request.external_id {
        needs.push_str(&format!(
            " with the condition {{\"StringEquals\": {{\"sts:ExternalId\": \"{id}\"}}}}"
        ));
    }
    needs.push_str(&format!(
        ", and {}'s permissions must allow the same actions on {}",
        request.previous_role.name, request.role.arn
    ));
    if request.tags.is_empty() && request.source_identity.is_none() {
        needs.push_str(" (sts:TagSession too once session tags are sent, sts:SetSourceIdentity once a source identity is)");
    }
    needs
}

/// A refusal of a chained hop, explained for that hop.
pub(super) fn explain_hop(failure: StsFailure, request: &ChainedRequest) -> Error {
    let (code, message) = match failure {
        StsFailure::Service { code, message, .. } => (code, message),
        StsFailure::Transport { what, cause } => {
            return Error::unavailable(
                Message::new(format!(
                    "hop {} (sts:AssumeRole into {}): {what}",
                    request.hop, request.role.arn
                ))
                .fix(format!("check the runner can reach {}", request.endpoint)),
                cause,
            );
        }
    };
    let what = format!(
        "STS refused hop {} (sts:AssumeRole into {}, signed by a session of {}): {code}",
        request.hop, request.role.arn, request.previous_role.arn
    );
    let fix = match code.as_str() {
        "AccessDenied" => format!("{} {}", request.role.name, trust_needs(request)),
        "RegionDisabledException" => format!(
            "STS is not activated in {} for account {}: activate the region in that account (IAM → Account settings → Security Token Service (STS) → Endpoints), or use another region's endpoint with --region",
            request.region, request.role.account_id
        ),
        "PackedPolicyTooLarge" => "the session policies and tags passed to this hop are too large once packed: send fewer or shorter session tags or policies".to_string(),
        EXPIRED_SESSION | "InvalidClientTokenId" => format!(
            "the session of {} that signed this hop had expired or was not accepted, even after it was refreshed: check the runner's clock, then clear the cache (aws-ci-creds cache clear) and retry",
            request.previous_role.arn
        ),
        "ValidationError" if message.contains("DurationSeconds") => format!(
            "lower --chain-duration (now {}): a chained session lasts at most 1h and at most the role's MaxSessionDuration",
            human_duration(i64::from(request.duration_seconds))
        ),
        _ => format!(
            "check the role ARN, and that {} {}",
            request.role.name,
            trust_needs(request)
        ),
    };
    Error::StsRefused {
        code,
        message: Message::new(what)
            .detail(format!("STS said: {message}"))
            .fix(fix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RoleArn;

    fn request(external_id: Option<&str>) -> ChainedRequest {
        ChainedRequest {
            hop: 1,
            role: RoleArn::parse("arn:aws:iam::210987654321:role/prod").unwrap(),
            previous_role: RoleArn::parse("arn:aws:iam::123456789012:role/ci").unwrap(),
            session_name: "gl-1-2-h1".into(),
            duration_seconds: 3600,
            external_id: external_id.map(str::to_string),
            tags: Vec::new(),
            transitive_tag_keys: Vec::new(),
            source_identity: None,
            endpoint: "https://sts.eu-west-1.amazonaws.com".into(),
            region: "eu-west-1".into(),
        }
    }

    fn refused(code: &str, external_id: Option<&str>) -> Message {
        let failure = StsFailure::Service {
            code: code.into(),
            message: "m".into(),
            status: 403,
        };
        let err = explain_hop(failure, &request(external_id));
        assert_eq!(err.sts_code(), Some(code));
        err.message().clone()
    }

    #[test]
    fn each_refusal_of_a_hop_names_the_hop_the_role_and_its_own_fix() {
        let m = refused("AccessDenied", Some("ext-42"));
        assert!(
            m.what
                .contains("hop 1 (sts:AssumeRole into arn:aws:iam::210987654321:role/prod"),
            "{}",
            m.what
        );
        let fix = m.fix.unwrap();
        assert!(
            fix.contains("{\"AWS\": \"arn:aws:iam::123456789012:role/ci\"}"),
            "{fix}"
        );
        assert!(fix.contains("\"sts:ExternalId\": \"ext-42\""), "{fix}");
        assert!(
            fix.contains("sts:TagSession") && fix.contains("sts:SetSourceIdentity"),
            "{fix}"
        );
        let tagged = ChainedRequest {
            tags: vec![("team".into(), "a".into())],
            source_identity: Some("octo".into()),
            ..request(None)
        };
        let failure = StsFailure::Service {
            code: "AccessDenied".into(),
            message: "m".into(),
            status: 403,
        };
        let fix = explain_hop(failure, &tagged).message().fix.clone().unwrap();
        assert!(
            fix.contains("[\"sts:AssumeRole\", \"sts:TagSession\", \"sts:SetSourceIdentity\"]"),
            "{fix}"
        );
        let region = refused("RegionDisabledException", None).fix.unwrap();
        assert!(
            region.contains("activate")
                && region.contains("eu-west-1")
                && region.contains("210987654321"),
            "{region}"
        );
        let packed = refused("PackedPolicyTooLarge", None).fix.unwrap();
        assert!(packed.contains("fewer or shorter session tags"), "{packed}");
        let expired = refused(EXPIRED_SESSION, None).fix.unwrap();
        assert!(expired.contains("even after it was refreshed"), "{expired}");
        let fixes = [region, packed, expired];
        assert!(fixes.iter().all(|f| !f.contains("trust policy must allow")));
    }
}
