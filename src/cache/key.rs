//! Cache keys: which identity an entry belongs to.
//!
//! The key is the SHA-256 (lower-case hex) of a versioned, length-prefixed encoding of every
//! setting that changes which credentials STS would hand out. Length prefixes make the encoding
//! unambiguous (`("ab", "c")` and `("a", "bc")` encode differently), and the version tag means a
//! future change to the parts gives new keys instead of reusing old entries.

use sha2::{Digest, Sha256};

/// Bumped whenever the parts or their encoding change.
/// v2: the STS endpoint is its rules' inputs (or the named URL), not the resolved URL.
const KEY_DOMAIN: &[u8] = b"aws-ci-creds cache key v2";

/// Everything a cached session depends on. Two runs share an entry only when all parts are equal.
#[derive(Debug, Clone, Copy)]
pub struct KeyParts<'a> {
    pub role_arn: &'a str,
    pub session_name: &'a str,
    pub duration_seconds: u32,
    /// The inline session policy, when one is passed to STS.
    pub policy: Option<&'a str>,
    /// Managed session policy ARNs, in the order they are passed to STS.
    pub policy_arns: &'a [String],
    /// `StsEndpoint::cache_part`: the named URL, or the region and variants the SDK endpoint
    /// rules would resolve (so a hit runs no rules).
    pub sts_endpoint: &'a str,
    pub region: &'a str,
    /// The ID token's `iss`, `sub` and `aud` claims.
    pub issuer: &'a str,
    pub subject: &'a str,
    pub audience: &'a str,
    /// What identifies the CI job (for example the pipeline and job ids).
    pub job: &'a str,
}

/// Domain of a chained hop's key: its own, so it can never equal a web-identity key.
const CHAINED_DOMAIN: &[u8] = b"aws-ci-creds chained hop key v1";

/// What a chained hop's session depends on besides the session that signs its request, whose
/// key stands for everything before it.
#[derive(Debug, Clone, Copy)]
pub struct HopParts<'a> {
    pub role_arn: &'a str,
    pub session_name: &'a str,
    pub duration_seconds: u32,
    pub external_id: Option<&'a str>,
    /// Session tags, in the order sent; transitive keys; source identity.
    pub tags: &'a [(String, String)],
    pub transitive_tag_keys: &'a [String],
    pub source_identity: Option<&'a str>,
    /// As in [`KeyParts::sts_endpoint`].
    pub sts_endpoint: &'a str,
    pub region: &'a str,
}

/// A cache key: 64 lower-case hex digits, safe to use as a file name.
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub struct CacheKey(String);

impl CacheKey {
    pub fn derive(parts: &KeyParts) -> CacheKey {
        CacheKey(hex(&Sha256::digest(encode(parts))))
    }

    /// The key of a hop assumed with the session of `previous`: a change anywhere earlier in
    /// the chain gives every later hop a new key.
    pub fn chained(previous: &CacheKey, hop: &HopParts) -> CacheKey {
        let mut out = Vec::with_capacity(256);
        put_bytes(&mut out, CHAINED_DOMAIN);
        put_bytes(&mut out, previous.0.as_bytes());
        put_bytes(&mut out, hop.role_arn.as_bytes());
        put_bytes(&mut out, hop.session_name.as_bytes());
        out.extend_from_slice(&hop.duration_seconds.to_be_bytes());
        for optional in [hop.external_id, hop.source_identity] {
            match optional {
                None => out.push(0),
                Some(text) => {
                    out.push(1);
                    put_bytes(&mut out, text.as_bytes());
                }
            }
        }
        out.extend_from_slice(&(hop.tags.len() as u64).to_be_bytes());
        for (k, v) in hop.tags {
            put_bytes(&mut out, k.as_bytes());
            put_bytes(&mut out, v.as_bytes());
        }
        out.extend_from_slice(&(hop.transitive_tag_keys.len() as u64).to_be_bytes());
        for k in hop.transitive_tag_keys {
            put_bytes(&mut out, k.as_bytes());
        }
        put_bytes(&mut out, hop.sts_endpoint.as_bytes());
        put_bytes(&mut out, hop.region.as_bytes());
        CacheKey(hex(&Sha256::digest(out)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The bytes that are hashed. Every variable-length field is preceded by its length, so no two
/// different sets of parts share an encoding.
fn encode(parts: &KeyParts) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    put_bytes(&mut out, KEY_DOMAIN);
    put_bytes(&mut out, parts.role_arn.as_bytes());
    put_bytes(&mut out, parts.session_name.as_bytes());
    out.extend_from_slice(&parts.duration_seconds.to_be_bytes());
    match parts.policy {
        None => out.push(0),
        Some(policy) => {
            out.push(1);
            put_bytes(&mut out, policy.as_bytes());
        }
    }
    out.extend_from_slice(&(parts.policy_arns.len() as u64).to_be_bytes());
    for arn in parts.policy_arns {
        put_bytes(&mut out, arn.as_bytes());
    }
    for field in [
        parts.sts_endpoint,
        parts.region,
        parts.issuer,
        parts.subject,
        parts.audience,
        parts.job,
    ] {
        put_bytes(&mut out, field.as_bytes());
    }
    out
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base_arns() -> Vec<String> {
        vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".to_string()]
    }

    fn base(arns: &[String]) -> KeyParts<'_> {
        KeyParts {
            role_arn: "arn:aws:iam::123456789012:role/deploy",
            session_name: "gl-1-2",
            duration_seconds: 3600,
            policy: None,
            policy_arns: arns,
            sts_endpoint: "rules:eu-west-1:fips=0:dualstack=0",
            region: "eu-west-1",
            issuer: "https://gitlab.example.com",
            subject: "project_path:group/app:ref_type:branch:ref:main",
            audience: "sts.amazonaws.com",
            job: "pipeline-1/job-2",
        }
    }

    /// `parts` with one part changed.
    fn with<'a>(mut parts: KeyParts<'a>, change: impl FnOnce(&mut KeyParts<'a>)) -> KeyParts<'a> {
        change(&mut parts);
        parts
    }

    #[test]
    fn a_chained_key_changes_with_every_part_and_with_the_previous_hop() {
        let arns = base_arns();
        let first = CacheKey::derive(&base(&arns));
        let other_first = CacheKey::derive(&with(base(&arns), |p| p.subject = "other"));
        let hop = HopParts {
            role_arn: "arn:aws:iam::210987654321:role/target",
            session_name: "gl-1-2-h1",
            duration_seconds: 3600,
            external_id: None,
            tags: &[],
            transitive_tag_keys: &[],
            source_identity: None,
            sts_endpoint: "rules:eu-west-1:fips=0:dualstack=0",
            region: "eu-west-1",
        };
        let key = CacheKey::chained(&first, &hop);
        assert_eq!(key, CacheKey::chained(&first, &hop));
        assert_ne!(key, first);
        let tags = [("team".to_string(), "a".to_string())];
        let other_tags = [("team".to_string(), "b".to_string())];
        let keys = ["team".to_string()];
        let changed = [
            CacheKey::chained(&first, &HopParts { tags: &tags, ..hop }),
            CacheKey::chained(
                &first,
                &HopParts {
                    tags: &other_tags,
                    ..hop
                },
            ),
            CacheKey::chained(
                &first,
                &HopParts {
                    tags: &tags,
                    transitive_tag_keys: &keys,
                    ..hop
                },
            ),
            CacheKey::chained(
                &first,
                &HopParts {
                    source_identity: Some("octo"),
                    ..hop
                },
            ),
            CacheKey::chained(&other_first, &hop),
            CacheKey::chained(
                &first,
                &HopParts {
                    role_arn: "arn:aws:iam::210987654321:role/x",
                    ..hop
                },
            ),
            CacheKey::chained(
                &first,
                &HopParts {
                    session_name: "gl-1-2-h2",
                    ..hop
                },
            ),
            CacheKey::chained(
                &first,
                &HopParts {
                    duration_seconds: 900,
                    ..hop
                },
            ),
            CacheKey::chained(
                &first,
                &HopParts {
                    external_id: Some(""),
                    ..hop
                },
            ),
            CacheKey::chained(
                &first,
                &HopParts {
                    external_id: Some("ext"),
                    ..hop
                },
            ),
            CacheKey::chained(
                &first,
                &HopParts {
                    sts_endpoint: "https://sts.example",
                    ..hop
                },
            ),
            CacheKey::chained(
                &first,
                &HopParts {
                    region: "us-east-1",
                    ..hop
                },
            ),
        ];
        let mut all: Vec<&CacheKey> = changed.iter().collect();
        all.push(&key);
        all.sort_by_key(|k| k.as_str().to_string());
        all.dedup();
        assert_eq!(all.len(), changed.len() + 1, "every change gives a new key");
    }

    #[test]
    fn the_same_parts_give_the_same_key() {
        let arns = base_arns();
        let a = CacheKey::derive(&base(&arns));
        let b = CacheKey::derive(&base(&arns.clone()));
        assert_eq!(a, b);
        assert_eq!(a.as_str().len(), 64);
        assert!(
            a.as_str()
                .bytes()
                .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
        );
    }

    #[test]
    fn each_part_changes_the_key() {
        let arns = base_arns();
        let other_arns = vec!["arn:aws:iam::aws:policy/PowerUserAccess".to_string()];
        let two_arns = vec![arns[0].clone(), other_arns[0].clone()];
        let b = base(&arns);
        let variants: Vec<(&str, KeyParts)> = vec![
            ("base", b),
            (
                "role_arn",
                with(b, |p| p.role_arn = "arn:aws:iam::123456789012:role/other"),
            ),
            ("session_name", with(b, |p| p.session_name = "gl-1-3")),
            ("duration", with(b, |p| p.duration_seconds = 900)),
            ("policy", with(b, |p| p.policy = Some("{}"))),
            ("empty policy", with(b, |p| p.policy = Some(""))),
            ("policy_arns", with(b, |p| p.policy_arns = &other_arns)),
            ("more policy_arns", with(b, |p| p.policy_arns = &two_arns)),
            ("no policy_arns", with(b, |p| p.policy_arns = &[])),
            (
                "sts_endpoint",
                with(b, |p| p.sts_endpoint = "url:https://sts.amazonaws.com"),
            ),
            ("region", with(b, |p| p.region = "us-east-1")),
            (
                "issuer",
                with(b, |p| {
                    p.issuer = "https://token.actions.githubusercontent.com"
                }),
            ),
            (
                "subject",
                with(b, |p| p.subject = "repo:org/app:ref:refs/heads/main"),
            ),
            (
                "audience",
                with(b, |p| p.audience = "https://gitlab.example.com"),
            ),
            ("job", with(b, |p| p.job = "pipeline-1/job-3")),
        ];
        let keys: Vec<(&str, CacheKey)> = variants
            .iter()
            .map(|(name, parts)| (*name, CacheKey::derive(parts)))
            .collect();
        for (i, (name_a, a)) in keys.iter().enumerate() {
            for (name_b, b) in &keys[i + 1..] {
                assert_ne!(a, b, "{name_a} and {name_b} gave the same key");
            }
        }
    }

    #[test]
    fn field_boundaries_matter() {
        let arns = base_arns();
        let b = base(&arns);
        let ab_c = KeyParts {
            role_arn: "ab",
            session_name: "c",
            ..b
        };
        let a_bc = KeyParts {
            role_arn: "a",
            session_name: "bc",
            ..b
        };
        assert_ne!(CacheKey::derive(&ab_c), CacheKey::derive(&a_bc));

        let split_arns = vec!["ab".to_string(), "c".to_string()];
        let joined_arns = vec!["a".to_string(), "bc".to_string()];
        assert_ne!(
            CacheKey::derive(&KeyParts {
                policy_arns: &split_arns,
                ..b
            }),
            CacheKey::derive(&KeyParts {
                policy_arns: &joined_arns,
                ..b
            })
        );

        // A missing policy is not the same as an empty one, nor as moving text between fields.
        let subject_x = KeyParts {
            subject: "x",
            audience: "",
            ..b
        };
        let audience_x = KeyParts {
            subject: "",
            audience: "x",
            ..b
        };
        assert_ne!(CacheKey::derive(&subject_x), CacheKey::derive(&audience_x));
    }

    #[test]
    fn hex_is_lower_case_and_two_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    }
}
