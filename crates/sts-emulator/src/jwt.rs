//! RS256 JWTs: the issuer's signing key, its JWKS, minting, and the verification the STS side
//! performs against that JWKS.

use std::sync::OnceLock;

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    KeyPair as _, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents,
};
use base64::Engine as _;
use base64::prelude::BASE64_URL_SAFE_NO_PAD as B64URL;
use serde_json::{Map, Value, json};

/// The issuer's RSA key (published in the JWKS) and a look-alike key that is not published.
pub(crate) struct Keys {
    kid: String,
    signing: RsaKeyPair,
    forged: OnceLock<RsaKeyPair>,
    jwks: Value,
}

impl Keys {
    /// Generates a fresh RSA-2048 key. The `kid` is its RFC 7638 thumbprint.
    pub(crate) fn generate() -> std::io::Result<Keys> {
        let signing = RsaKeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| std::io::Error::other("RSA key generation failed"))?;
        let public = signing.public_key();
        let n = B64URL.encode(public.modulus().big_endian_without_leading_zero());
        let e = B64URL.encode(public.exponent().big_endian_without_leading_zero());
        let thumbprint_input = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
        let kid = B64URL.encode(digest::digest(&digest::SHA256, thumbprint_input.as_bytes()));
        let jwks = json!({
            "keys": [{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": n, "e": e}]
        });
        Ok(Keys {
            kid,
            signing,
            forged: OnceLock::new(),
            jwks,
        })
    }

    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// The JWKS document served at `/jwks`.
    pub(crate) fn jwks(&self) -> &Value {
        &self.jwks
    }

    /// Signs `claims` with the published key, under a header naming `kid`.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        sign_with(&self.signing, &self.kid, claims)
    }

    /// Signs `claims` with a key that is not in the JWKS, under the published key's `kid`.
    pub(crate) fn sign_forged(&self, claims: &Value) -> String {
        let key = self.forged.get_or_init(|| {
            RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key generation failed")
        });
        sign_with(key, &self.kid, claims)
    }

    /// Signs with the published key but an arbitrary header (for unknown-kid / wrong-alg tests).
    pub(crate) fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        sign_raw(&self.signing, header, claims)
    }
}

fn sign_with(key: &RsaKeyPair, kid: &str, claims: &Value) -> String {
    sign_raw(
        key,
        &json!({"alg": "RS256", "typ": "JWT", "kid": kid}),
        claims,
    )
}

fn sign_raw(key: &RsaKeyPair, header: &Value, claims: &Value) -> String {
    let signing_input = format!(
        "{}.{}",
        B64URL.encode(header.to_string()),
        B64URL.encode(claims.to_string())
    );
    let mut signature = vec![0u8; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .expect("RSA signing failed");
    format!("{signing_input}.{}", B64URL.encode(signature))
}

/// Fills the registered claims a real issuer always sets, unless `claims` already has them.
pub(crate) fn with_defaults(
    claims: Value,
    issuer: &str,
    now: i64,
    lifetime_secs: i64,
) -> Map<String, Value> {
    let mut map = match claims {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        other => panic!("JWT claims must be a JSON object, got {other}"),
    };
    let mut jti = [0u8; 16];
    aws_lc_rs::rand::fill(&mut jti).expect("random bytes");
    let defaults = [
        ("iss", json!(issuer)),
        ("aud", json!("sts.amazonaws.com")),
        ("iat", json!(now)),
        ("nbf", json!(now)),
        ("exp", json!(now + lifetime_secs)),
        ("jti", json!(hex(&jti))),
    ];
    for (name, value) in defaults {
        map.entry(name).or_insert(value);
    }
    map
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A token split into its parts, not yet verified.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

/// Why a token was rejected before its claims were looked at.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ParseError {
    NotAJwt,
}

/// Splits and decodes a compact JWS. Does not verify anything.
pub(crate) fn parse(token: &str) -> Result<Parsed, ParseError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::NotAJwt);
    };
    let decode_obj = |segment: &str| -> Result<Map<String, Value>, ParseError> {
        let bytes = B64URL.decode(segment).map_err(|_| ParseError::NotAJwt)?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(ParseError::NotAJwt),
        }
    };
    Ok(Parsed {
        header: decode_obj(h)?,
        claims: decode_obj(p)?,
        signing_input: format!("{h}.{p}"),
        signature: B64URL.decode(s).map_err(|_| ParseError::NotAJwt)?,
    })
}

/// Why signature verification failed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum VerifyError {
    UnsupportedAlg(String),
    NoKid,
    UnknownKid(String),
    BadSignature,
}

/// Verifies `parsed` against a JWKS document: RS256 only, the key chosen by `kid`, `n` and `e`
/// taken from the JWKS (so a JWKS encoding mistake shows up here too).
pub(crate) fn verify(parsed: &Parsed, jwks: &Value) -> Result<(), VerifyError> {
    let alg = parsed
        .header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or("");
    if alg != "RS256" {
        return Err(VerifyError::UnsupportedAlg(alg.to_string()));
    }
    let kid = parsed
        .header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(VerifyError::NoKid)?;
    let jwk = jwks
        .get("keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
        .ok_or_else(|| VerifyError::UnknownKid(kid.to_string()))?;
    let component = |name: &str| -> Result<Vec<u8>, VerifyError> {
        jwk.get(name)
            .and_then(Value::as_str)
            .and_then(|s| B64URL.decode(s).ok())
            .ok_or(VerifyError::BadSignature)
    };
    let public = RsaPublicKeyComponents {
        n: component("n")?,
        e: component("e")?,
    };
    public
        .verify(
            &RSA_PKCS1_2048_8192_SHA256,
            parsed.signing_input.as_bytes(),
            &parsed.signature,
        )
        .map_err(|_| VerifyError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_token_verifies_against_the_published_jwks() {
        let keys = Keys::generate().unwrap();
        let token = keys.sign(&json!({"sub": "x"}));
        let parsed = parse(&token).unwrap();
        assert_eq!(parsed.claims["sub"], "x");
        assert_eq!(parsed.header["kid"], keys.kid());
        assert_eq!(verify(&parsed, keys.jwks()), Ok(()));
    }

    #[test]
    fn forged_token_fails_verification_despite_the_same_kid() {
        let keys = Keys::generate().unwrap();
        let parsed = parse(&keys.sign_forged(&json!({"sub": "x"}))).unwrap();
        assert_eq!(parsed.header["kid"], keys.kid());
        assert_eq!(verify(&parsed, keys.jwks()), Err(VerifyError::BadSignature));
    }

    #[test]
    fn tampered_claims_fail_verification() {
        let keys = Keys::generate().unwrap();
        let token = keys.sign(&json!({"sub": "x"}));
        let mut parts: Vec<&str> = token.split('.').collect();
        let other = B64URL.encode(json!({"sub": "y"}).to_string());
        parts[1] = &other;
        let parsed = parse(&parts.join(".")).unwrap();
        assert_eq!(verify(&parsed, keys.jwks()), Err(VerifyError::BadSignature));
    }

    #[test]
    fn unknown_kid_and_other_algs_are_rejected() {
        let keys = Keys::generate().unwrap();
        let t = keys.sign_with_header(&json!({"alg": "RS256", "kid": "nope"}), &json!({}));
        assert_eq!(
            verify(&parse(&t).unwrap(), keys.jwks()),
            Err(VerifyError::UnknownKid("nope".into()))
        );
        let t = keys.sign_with_header(&json!({"alg": "none", "kid": keys.kid()}), &json!({}));
        assert_eq!(
            verify(&parse(&t).unwrap(), keys.jwks()),
            Err(VerifyError::UnsupportedAlg("none".into()))
        );
    }

    #[test]
    fn parse_rejects_non_jwts() {
        for bad in ["", "a.b", "a.b.c.d", "!!!.e30.sig", "e30.bm90anNvbg.c2ln"] {
            assert_eq!(parse(bad).unwrap_err(), ParseError::NotAJwt, "{bad}");
        }
    }

    #[test]
    fn defaults_fill_missing_claims_and_given_claims_win() {
        let map = with_defaults(json!({"aud": ["a", "b"], "exp": 5}), "http://i", 1000, 3600);
        assert_eq!(map["iss"], "http://i");
        assert_eq!(map["aud"], json!(["a", "b"]));
        assert_eq!(map["exp"], 5);
        assert_eq!(map["iat"], 1000);
        assert_eq!(map["nbf"], 1000);
        assert_eq!(map["jti"].as_str().unwrap().len(), 32);
    }
}
