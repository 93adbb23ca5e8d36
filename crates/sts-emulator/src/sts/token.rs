//! The web identity token, checked the way STS checks it: a well-formed JWT, from the
//! registered issuer, signed by a key in the issuer's JWKS, for a registered client ID
//! (audience), inside its validity window.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::StsError;
use crate::Shared;
use crate::jwt::{self, Parsed, VerifyError};

/// How far in the future `iat`/`nbf` may be before a token is refused.
const CLOCK_SKEW_SECS: i64 = 300;

/// A token STS accepted: its claims, every audience it names, and the registered one it matched.
pub(super) struct VerifiedToken {
    pub claims: Map<String, Value>,
    pub audiences: Vec<String>,
    pub client_id: String,
}

/// Checks `token` in STS's order: shape, issuer, signature, audience, validity window.
pub(super) fn verify(
    shared: &Shared,
    token: &str,
    now: DateTime<Utc>,
) -> Result<VerifiedToken, StsError> {
    let parsed = jwt::parse(token).map_err(|_| {
        StsError::new(
            "InvalidIdentityToken",
            "The web identity token that was passed could not be validated: it is not a well-formed JWT",
        )
    })?;
    check_issuer(shared, &parsed.claims)?;
    check_signature(shared, &parsed)?;
    let audiences = audiences(&parsed.claims);
    let client_id = registered_client_id(shared, &audiences)?;
    check_validity_window(&parsed.claims, now.timestamp())?;
    Ok(VerifiedToken {
        claims: parsed.claims,
        audiences,
        client_id,
    })
}

/// `iss` must be the URL of an OIDC provider registered in the account.
fn check_issuer(shared: &Shared, claims: &Map<String, Value>) -> Result<(), StsError> {
    let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
    if iss != shared.issuer_url {
        return Err(StsError::new(
            "InvalidIdentityToken",
            format!("No OpenIDConnect provider found in your account for {iss}"),
        ));
    }
    Ok(())
}

fn check_signature(shared: &Shared, parsed: &Parsed) -> Result<(), StsError> {
    jwt::verify(parsed, shared.keys.jwks()).map_err(|e| {
        let message = match e {
            VerifyError::UnsupportedAlg(alg) => {
                format!("The web identity token is signed with an unsupported algorithm: {alg}")
            }
            VerifyError::NoKid | VerifyError::UnknownKid(_) => {
                "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements".to_string()
            }
            VerifyError::BadSignature => {
                "The web identity token's signature could not be verified".to_string()
            }
        };
        StsError::new("InvalidIdentityToken", message)
    })
}

/// `aud` as a list: a string or an array of strings (anything else names no audience).
fn audiences(claims: &Map<String, Value>) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// The first of the token's audiences that is a client ID registered on the provider.
fn registered_client_id(shared: &Shared, audiences: &[String]) -> Result<String, StsError> {
    audiences
        .iter()
        .find(|a| shared.config.client_ids.contains(a))
        .cloned()
        .ok_or_else(|| StsError::new("InvalidIdentityToken", "Incorrect token audience"))
}

/// `exp` is required and must be in the future; `nbf`/`iat` may be ahead by the clock skew.
fn check_validity_window(claims: &Map<String, Value>, now_s: i64) -> Result<(), StsError> {
    let Some(exp) = epoch_claim(claims, "exp")? else {
        return Err(StsError::new(
            "InvalidIdentityToken",
            "The web identity token has no exp claim",
        ));
    };
    if exp <= now_s {
        return Err(StsError::new(
            "ExpiredTokenException",
            format!(
                "Token expired: current date/time {now_s} must be before the expiration date/time {exp}"
            ),
        ));
    }
    for name in ["nbf", "iat"] {
        if let Some(t) = epoch_claim(claims, name)?
            && t > now_s + CLOCK_SKEW_SECS
        {
            return Err(StsError::new(
                "InvalidIdentityToken",
                format!(
                    "The web identity token is not valid yet: {name} {t} is after the current date/time {now_s}"
                ),
            ));
        }
    }
    Ok(())
}

/// A NumericDate claim in whole seconds (`None` when absent).
fn epoch_claim(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, StsError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v.as_f64().map(|f| Some(f.floor() as i64)).ok_or_else(|| {
            StsError::new(
                "InvalidIdentityToken",
                format!("The {name} claim of the web identity token is not a number"),
            )
        }),
    }
}
