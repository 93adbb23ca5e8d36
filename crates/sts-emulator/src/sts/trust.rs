//! The role's side: its trust policy (`StringEquals` on the audience, `StringLike` on the
//! subject) and its session rules (MaxSessionDuration).

use serde_json::Value;

use super::StsError;
use super::token::VerifiedToken;
use crate::{RoleTrust, Shared};

/// A role whose trust policy accepted the token.
pub(super) struct TrustedRole<'s, 't> {
    pub role: &'s RoleTrust,
    /// The role's `AROA…` unique id.
    pub role_id: &'s str,
    /// The token's `sub`, which the trust policy matched.
    pub subject: &'t str,
}

/// Finds `role_arn` and evaluates its trust policy's conditions against the token. Every
/// refusal is the same `AccessDenied`, as STS's: it does not say which condition failed.
pub(super) fn check_trust<'s, 't>(
    shared: &'s Shared,
    role_arn: &str,
    token: &'t VerifiedToken,
) -> Result<TrustedRole<'s, 't>, StsError> {
    let denied = || {
        StsError::new(
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        )
    };
    let (role, role_id) = shared
        .config
        .roles
        .iter()
        .zip(&shared.role_ids)
        .find(|(r, _)| r.role_arn == role_arn)
        .ok_or_else(denied)?;
    let subject = token
        .claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or_else(denied)?;
    if !token.audiences.contains(&role.audience) || !string_like(&role.subject_like, subject) {
        return Err(denied());
    }
    Ok(TrustedRole {
        role,
        role_id,
        subject,
    })
}

/// The requested duration may not exceed the role's MaxSessionDuration.
pub(super) fn check_session_duration(role: &RoleTrust, duration: i64) -> Result<(), StsError> {
    if duration > i64::from(role.max_session_seconds) {
        return Err(StsError::new(
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    Ok(())
}

/// IAM `StringLike`: `*` matches any run of characters, `?` exactly one; case-sensitive.
pub fn string_like(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    let (mut pi, mut vi) = (0usize, 0usize);
    // Position of the last `*` in the pattern and the value index it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, vi));
            pi += 1;
        } else if let Some((sp, sv)) = star {
            pi = sp + 1;
            vi = sv + 1;
            star = Some((sp, sv + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_like_supports_star_question_mark_and_exact_matches() {
        let cases = [
            ("repo:org/app:*", "repo:org/app:ref:refs/heads/main", true),
            (
                "repo:org/app:*",
                "repo:org/other:ref:refs/heads/main",
                false,
            ),
            (
                "repo:org/*:ref:refs/heads/main",
                "repo:org/x:ref:refs/heads/main",
                true,
            ),
            (
                "repo:org/*:ref:refs/heads/main",
                "repo:org/x:ref:refs/heads/dev",
                false,
            ),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("a?c", "abbc", false),
            ("exact", "exact", true),
            ("exact", "exact2", false),
            ("exact", "Exact", false),
            ("*", "", true),
            ("*", "anything", true),
            ("", "", true),
            ("", "x", false),
            ("a*b*c", "a-xx-b-yy-c", true),
            ("a*b*c", "a-xx-c-yy-b", false),
            ("**?", "z", true),
            ("Repo:*", "repo:x", false),
        ];
        for (pattern, value, expected) in cases {
            assert_eq!(
                string_like(pattern, value),
                expected,
                "{pattern} vs {value}"
            );
        }
    }
}
