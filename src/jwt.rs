//! Reading an OIDC ID token's claims without verifying it.
//!
//! The tool never trusts these claims: STS verifies the signature. It reads them to fail fast on
//! a malformed or expired token, to name the job's session, to key the cache, and to explain a
//! refusal (`iss`, `aud` and `sub` are not secrets; the token itself is). Errors here never
//! contain any part of the token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::secret::Secret;

/// STS rejects longer tokens; anything this long is not an ID token.
pub const MAX_TOKEN_LEN: usize = 20_000;

/// The claims the tool uses, plus the rest for job identifiers.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    pub iss: Option<String>,
    pub sub: Option<String>,
    /// `aud` as a list, whether the token had a string or an array.
    pub aud: Vec<String>,
    pub exp: Option<i64>,
    pub iat: Option<i64>,
    pub nbf: Option<i64>,
    pub other: Map<String, Value>,
}

impl Claims {
    /// A claim as a string, whether the token had it as a string or a number (GitLab's
    /// `runner_id` is a number, the rest are strings).
    pub fn text(&self, name: &str) -> Option<String> {
        match self.other.get(name)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.exp.and_then(|s| DateTime::from_timestamp(s, 0))
    }

    pub fn issued_at(&self) -> Option<DateTime<Utc>> {
        self.iat.and_then(|s| DateTime::from_timestamp(s, 0))
    }

    /// `aud` as shown to a user: one value, or a bracketed list.
    pub fn aud_display(&self) -> String {
        match self.aud.as_slice() {
            [] => "(none)".into(),
            [one] => one.clone(),
            many => format!("[{}]", many.join(", ")),
        }
    }
}

/// A token and what it says about itself.
#[derive(Debug, Clone)]
pub struct Token {
    pub secret: Secret<String>,
    pub claims: Claims,
}

impl Token {
    /// Trims, checks the shape and decodes the claims.
    pub fn parse(raw: &str) -> Result<Token, JwtError> {
        let trimmed = raw.trim();
        let claims = decode_claims(trimmed)?;
        Ok(Token {
            secret: Secret::new(trimmed.to_string()),
            claims,
        })
    }

    /// SHA-256 of the token, hex: identifies this exact token in a cache key without storing it.
    pub fn fingerprint(&self) -> String {
        sha256_hex(self.secret.expose().as_bytes())
    }
}

/// Lower-case hex SHA-256, for fingerprints that identify a value without revealing it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    // sha2 rather than aws-lc: this runs on the cache-hit path, which must not initialise a
    // crypto library (RSS and start-up time are measured in docs/benchmarks.md).
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Why a token could not be read. Never contains the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("is empty")]
    Empty,
    #[error("is {0} characters long; an ID token is at most 20000")]
    TooLong(usize),
    #[error(
        "is not a JWT: it has {0} dot-separated part(s), a JWT has 3 (header.payload.signature)"
    )]
    NotThreeParts(usize),
    #[error("is not a JWT: its {0} is not base64url")]
    BadBase64(&'static str),
    #[error("is not a JWT: its {0} is not a JSON object")]
    NotJson(&'static str),
    #[error("has no numeric `exp` (expiry) claim, which STS requires")]
    NoExp,
}

/// True when the string has the shape of a JWT (used to catch a token passed where a name was
/// expected, and to find GitLab `id_tokens` variables).
pub fn looks_like_jwt(s: &str) -> bool {
    let s = s.trim();
    s.starts_with("eyJ") && s.split('.').count() == 3 && s.len() > 20
}

/// Decodes the claims of a JWT without checking its signature.
pub fn decode_claims(token: &str) -> Result<Claims, JwtError> {
    if token.is_empty() {
        return Err(JwtError::Empty);
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::TooLong(token.len()));
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(JwtError::NotThreeParts(parts.len()));
    }
    let header = decode_json(parts[0], "header")?;
    if !header.contains_key("alg") {
        return Err(JwtError::NotJson("header"));
    }
    let mut payload = decode_json(parts[1], "payload")?;
    if URL_SAFE_NO_PAD
        .decode(parts[2].trim_end_matches('='))
        .is_err()
        || parts[2].is_empty()
    {
        return Err(JwtError::BadBase64("signature"));
    }

    let take_string = |m: &mut Map<String, Value>, k: &str| match m.remove(k) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    let take_time = |m: &mut Map<String, Value>, k: &str| match m.remove(k) {
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        _ => None,
    };
    let iss = take_string(&mut payload, "iss");
    let sub = take_string(&mut payload, "sub");
    let aud = match payload.remove("aud") {
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(items)) => items
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    let exp = take_time(&mut payload, "exp").ok_or(JwtError::NoExp)?;
    let iat = take_time(&mut payload, "iat");
    let nbf = take_time(&mut payload, "nbf");
    Ok(Claims {
        iss,
        sub,
        aud,
        exp: Some(exp),
        iat,
        nbf,
        other: payload,
    })
}

fn decode_json(segment: &str, name: &'static str) -> Result<Map<String, Value>, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment.trim_end_matches('='))
        .map_err(|_| JwtError::BadBase64(name))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JwtError::NotJson(name)),
    }
}

/// Builds an unsigned-looking JWT from claims, for tests in this crate.
#[cfg(test)]
pub(crate) fn test_token(claims: Value) -> String {
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    format!(
        "{}.{}.{}",
        enc(&serde_json::json!({"alg": "RS256", "kid": "k"})),
        enc(&claims),
        URL_SAFE_NO_PAD.encode(b"signature")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_standard_and_extra_claims() {
        let t = test_token(
            json!({"iss": "https://gitlab.com", "sub": "project_path:g/p:ref_type:branch:ref:main",
            "aud": "sts.amazonaws.com", "exp": 2000000000, "iat": 1999990000, "project_id": "42", "runner_id": 7}),
        );
        let c = decode_claims(&t).unwrap();
        assert_eq!(c.iss.as_deref(), Some("https://gitlab.com"));
        assert_eq!(c.aud, vec!["sts.amazonaws.com"]);
        assert_eq!(c.exp, Some(2000000000));
        assert_eq!(c.text("project_id").as_deref(), Some("42"));
        assert_eq!(c.text("runner_id").as_deref(), Some("7"));
    }

    #[test]
    fn audience_may_be_a_list() {
        let t = test_token(json!({"aud": ["a", "b"], "exp": 1}));
        let c = decode_claims(&t).unwrap();
        assert_eq!(c.aud, vec!["a", "b"]);
        assert_eq!(c.aud_display(), "[a, b]");
    }

    #[test]
    fn malformed_tokens_say_what_is_wrong_without_echoing_it() {
        let good = test_token(json!({"exp": 1}));
        let parts: Vec<&str> = good.split('.').collect();
        let cases = [
            (String::new(), JwtError::Empty),
            ("canary-not-a-jwt".to_string(), JwtError::NotThreeParts(1)),
            (
                format!("{}.{}", parts[0], parts[1]),
                JwtError::NotThreeParts(2),
            ),
            (
                format!("{}.!!!.{}", parts[0], parts[2]),
                JwtError::BadBase64("payload"),
            ),
            (
                format!(
                    "{}.{}.{}",
                    parts[0],
                    URL_SAFE_NO_PAD.encode("[1]"),
                    parts[2]
                ),
                JwtError::NotJson("payload"),
            ),
            (
                format!("{}.{}.{}", URL_SAFE_NO_PAD.encode("{}"), parts[1], parts[2]),
                JwtError::NotJson("header"),
            ),
            (test_token(json!({"sub": "x"})), JwtError::NoExp),
            (test_token(json!({"exp": "soon"})), JwtError::NoExp),
            ("a".repeat(20_001), JwtError::TooLong(20_001)),
        ];
        for (token, expected) in cases {
            let err = decode_claims(&token).unwrap_err();
            assert_eq!(err, expected);
            assert!(!err.to_string().contains("canary"));
        }
    }

    #[test]
    fn surrounding_whitespace_is_ignored() {
        let t = format!("  {}\n", test_token(json!({"exp": 5})));
        let token = Token::parse(&t).unwrap();
        assert!(!token.secret.expose().ends_with('\n'));
        assert_eq!(token.claims.exp, Some(5));
    }

    #[test]
    fn jwt_shape_detection() {
        assert!(looks_like_jwt(&test_token(json!({"exp": 1}))));
        assert!(!looks_like_jwt("AWS_ID_TOKEN"));
    }
}
