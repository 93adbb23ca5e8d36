//! SigV4 authentication of requests signed with credentials the emulator issued: the access key
//! id names the session, the session token must be its own, the session must not have expired,
//! and the signature is recomputed with the session's secret and compared, as STS does.

use chrono::{DateTime, NaiveDateTime, Utc};

use super::StsError;
use crate::http::Request;
use crate::{Issued, Shared};

/// How far a request's `X-Amz-Date` may be from STS's clock.
const MAX_SKEW_MINUTES: i64 = 15;

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
struct SigV4Auth<'a> {
    access_key_id: &'a str,
    /// `date/region/service/aws4_request`.
    scope: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn parse_sigv4(header: &str) -> Option<SigV4Auth<'_>> {
    let rest = header.strip_prefix("AWS4-HMAC-SHA256")?.trim_start();
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed_headers = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let (access_key_id, scope) = credential?.split_once('/')?;
    Some(SigV4Auth {
        access_key_id,
        scope,
        signed_headers: signed_headers?,
        signature: signature?,
    })
}

/// Recomputes the SigV4 signature of `req` with `issued`'s credentials, by signing the same
/// request (the headers the client signed, its `X-Amz-Date`, its scope) with aws-sigv4, and
/// compares it with the one sent. `None` when the request cannot be re-signed at all.
fn sigv4_matches(
    req: &Request,
    auth: &SigV4Auth<'_>,
    issued: &Issued,
    access_key_id: &str,
) -> Option<bool> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let time = NaiveDateTime::parse_from_str(req.header("x-amz-date")?, "%Y%m%dT%H%M%SZ")
        .ok()?
        .and_utc();
    let mut scope = auth.scope.split('/');
    let (_date, region, service) = (scope.next()?, scope.next()?, scope.next()?);
    // The signer adds X-Amz-Date and X-Amz-Security-Token itself, from the time and identity.
    let mut headers = Vec::new();
    for name in auth.signed_headers.split(';') {
        if name != "x-amz-date" && name != "x-amz-security-token" {
            headers.push((name, req.header(name)?));
        }
    }
    let host = req.header("host")?;
    let uri = match req.query.as_str() {
        "" => format!("http://{host}{}", req.path),
        q => format!("http://{host}{}?{q}", req.path),
    };
    let identity = aws_credential_types::Credentials::new(
        access_key_id,
        issued.secret_access_key.clone(),
        Some(issued.session_token.clone()),
        None,
        "sts-emulator",
    )
    .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time.into())
        .settings(SigningSettings::default())
        .build()
        .ok()?
        .into();
    let signable = SignableRequest::new(
        &req.method,
        uri,
        headers.into_iter(),
        SignableBody::Bytes(&req.body),
    )
    .ok()?;
    let signature = sign(signable, &params).ok()?.into_parts().1;
    Some(signature == auth.signature)
}

/// The session that signed `req`, after checking it is one the emulator issued, that the request
/// carries its session token, that it has not expired and that the signature is its own. Errors
/// are STS's: `MissingAuthenticationToken`, `InvalidClientTokenId`, `ExpiredToken`,
/// `SignatureDoesNotMatch`.
pub(super) fn authenticate(shared: &Shared, req: &Request) -> Result<Issued, StsError> {
    let Some(auth) = req.header("authorization") else {
        return Err(StsError::new(
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        ));
    };
    let invalid = || {
        StsError::new(
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        )
    };
    let auth = parse_sigv4(auth).ok_or_else(invalid)?;
    let issued = shared
        .lock()
        .issued
        .get(auth.access_key_id)
        .cloned()
        .ok_or_else(invalid)?;
    if req.header("x-amz-security-token") != Some(issued.session_token.as_str()) {
        return Err(invalid());
    }
    if shared.now() >= issued.expiration {
        return Err(StsError::new(
            "ExpiredToken",
            "The security token included in the request is expired",
        ));
    }
    if sigv4_matches(req, &auth, &issued, auth.access_key_id) != Some(true) {
        return Err(StsError::new(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ));
    }
    Ok(issued)
}

/// A signature is refused when its `X-Amz-Date` is more than 15 minutes from STS's clock, so a
/// captured request cannot be replayed later.
pub(super) fn check_signature_age(req: &Request, now: DateTime<Utc>) -> Result<(), StsError> {
    let fmt = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let signed = req
        .header("x-amz-date")
        .and_then(|d| NaiveDateTime::parse_from_str(d, "%Y%m%dT%H%M%SZ").ok())
        .map(|d| d.and_utc());
    let Some(signed) = signed else {
        return Err(StsError::new(
            "IncompleteSignature",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        ));
    };
    let skew = chrono::Duration::minutes(MAX_SKEW_MINUTES);
    if signed < now - skew {
        return Err(StsError::new(
            "SignatureDoesNotMatch",
            format!(
                "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                fmt(signed),
                fmt(now - skew),
                fmt(now)
            ),
        ));
    }
    if signed > now + skew {
        return Err(StsError::new(
            "SignatureDoesNotMatch",
            format!(
                "Signature not yet current: {} is still later than {} ({} + 15 min.)",
                fmt(signed),
                fmt(now + skew),
                fmt(now)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigv4_header_parses() {
        let a = parse_sigv4("AWS4-HMAC-SHA256 Credential=ASIAX/20260101/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc").unwrap();
        assert_eq!(a.access_key_id, "ASIAX");
        assert_eq!(a.scope, "20260101/us-east-1/sts/aws4_request");
        assert_eq!(a.signed_headers, "host;x-amz-date");
        assert_eq!(a.signature, "abc");
        assert!(parse_sigv4("Bearer x").is_none());
    }
}
