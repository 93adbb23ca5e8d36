//! `AssumeRole` (role chaining): the request is signed with a session the emulator issued, and the
//! target role's trust policy ([`crate::ChainTrust`]) must name that session's role, match the
//! `sts:ExternalId` condition, and allow `sts:TagSession` and `sts:SetSourceIdentity` when tags or a
//! source identity are sent. A session assumed by another role's session is capped at one hour.

use std::collections::BTreeMap;

use super::StsError;
use super::auth::{authenticate, check_signature_age};
use super::request::{AssumeRoleRequest, Kind};
use super::response;
use crate::Shared;
use crate::http::{Request, Response};

/// AWS's cap on a session assumed by a role session, whatever the role's MaxSessionDuration.
const CHAINED_MAX_SECONDS: i64 = 3600;

/// STS's order: who is calling (SigV4), the parameters, the chaining cap, the role's trust, its
/// session rules; then the credentials.
pub(super) fn assume_role(
    shared: &Shared,
    http: &Request,
    params: &BTreeMap<String, String>,
) -> Result<Response, StsError> {
    let caller = authenticate(shared, http)?;
    let now = shared.now();
    check_signature_age(http, now)?;
    let req = AssumeRoleRequest::parse(params, Kind::Role)?;
    // Every caller is a role session here, so every AssumeRole is chaining.
    if req.duration > CHAINED_MAX_SECONDS {
        return Err(StsError::new(
            "ValidationError",
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        ));
    }
    let denied = |action: &str| {
        StsError::new(
            "AccessDenied",
            format!(
                "User: {} is not authorized to perform: {action} on resource: {}",
                caller.assumed_role_arn, req.role_arn
            ),
        )
    };
    let (role, role_id) = shared
        .config
        .chain_roles
        .iter()
        .zip(&shared.chain_role_ids)
        .find(|(r, _)| r.role_arn == req.role_arn)
        .ok_or_else(|| denied("sts:AssumeRole"))?;
    if !role.trusted_roles.contains(&caller.role_arn) {
        return Err(denied("sts:AssumeRole"));
    }
    if let Some(expected) = &role.external_id
        && req.external_id != Some(expected.as_str())
    {
        return Err(denied("sts:AssumeRole"));
    }
    if !req.tags.is_empty() && !role.allow_tag_session {
        return Err(denied("sts:TagSession"));
    }
    if req.source_identity.is_some() && !role.allow_set_source_identity {
        return Err(denied("sts:SetSourceIdentity"));
    }
    if req.duration > i64::from(role.max_session_seconds) {
        return Err(StsError::new(
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    let (access_key_id, issued) = response::issue_credentials(shared, &req, role_id, now);
    Ok(response::chained_result(&req, &access_key_id, &issued))
}
