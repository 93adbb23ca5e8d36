//! After `AccessDenied`: what a trust policy needs for this token, and the usual mismatches.

use serde::Serialize;

use crate::commands::trust_policy::{self, SubjectFormat};
use crate::config::{Config, RoleArn};
use crate::jwt::Claims;
use crate::sts::issuer_key;

/// What a trust policy would need for this token, next to the likely mismatch.
#[derive(Debug, Serialize)]
pub struct TrustHints {
    pub satisfied_by: Vec<String>,
    pub likely_mismatches: Vec<String>,
}

/// The conditions this token satisfies, and what most often differs in the role's policy.
pub(super) fn trust_hints(claims: &Claims, role: &RoleArn, cfg: &Config) -> TrustHints {
    let iss = claims.iss.as_deref().unwrap_or("");
    let sub = claims.sub.as_deref().unwrap_or("");
    let key = issuer_key(iss);
    let mut satisfied_by = vec![format!(
        "Principal Federated = arn:{}:iam::{}:oidc-provider/{key}",
        role.partition, role.account_id
    )];
    for aud in &claims.aud {
        satisfied_by.push(format!("StringEquals {key}:aud = {aud}"));
    }
    satisfied_by.push(format!("StringEquals {key}:sub = {sub}"));
    let format = SubjectFormat::of(sub);
    for scope in format.scopes() {
        if let Ok((_, c)) = trust_policy::sub_condition(sub, Some(scope), false)
            && c.operator == trust_policy::Operator::StringLike
        {
            let line = format!(
                "StringLike {key}:sub = {} (--scope {})",
                c.pattern,
                trust_policy::scope_name(scope)
            );
            if !satisfied_by.contains(&line) {
                satisfied_by.push(line);
            }
        }
    }

    let mut likely = Vec::new();
    likely.push(format!(
        "issuer: the Principal must be the OIDC provider for {key} in account {} (a provider for another host or path, e.g. gitlab.com instead of a self-managed instance, does not match)",
        role.account_id
    ));
    if sub.chars().any(|c| c.is_ascii_uppercase()) {
        likely.push(format!(
            "case: conditions are case-sensitive and this sub has upper-case letters ({sub}); a policy written in lower case does not match"
        ));
    }
    let default_aud = crate::config::DEFAULT_AUDIENCE;
    if !claims.aud.iter().any(|a| a == default_aud) || cfg.source.audience.value != default_aud {
        likely.push(format!(
            "audience: the token's aud is {}; the policy's {key}:aud condition and the provider's client IDs must list it exactly (policies copied from examples use {default_aud})",
            claims.aud_display()
        ));
    }
    match &format {
        SubjectFormat::GitHub { rest, .. } if rest.starts_with("environment:") => likely.push(format!(
            "sub format: this job uses a GitHub environment, so its sub ends in `{rest}`, not `ref:refs/heads/…`; a condition on the branch does not match"
        )),
        SubjectFormat::GitHub { rest, .. } if rest == "pull_request" => likely.push(
            "sub format: pull-request jobs have sub `repo:OWNER/REPO:pull_request`, without the branch".into(),
        ),
        SubjectFormat::GitHub { repo, .. } if repo.contains('@') => likely.push(
            "sub format: this repository uses immutable subjects (OWNER@ID/REPO@ID); a condition on OWNER/REPO does not match".into(),
        ),
        SubjectFormat::GitLab { ref_type, .. } if ref_type == "tag" => likely.push(
            "sub format: this job runs on a tag, so its sub has `ref_type:tag`; a condition on `ref_type:branch` does not match".into(),
        ),
        SubjectFormat::GitLab { .. } => likely.push(
            "sub format: GitLab subjects are `project_path:GROUP/PROJECT:ref_type:branch|tag:ref:NAME` (the full path, subgroups included)".into(),
        ),
        SubjectFormat::Unknown => likely.push(
            "sub format: this sub is not in a standard format (customised subject claims?); copy it exactly".into(),
        ),
        _ => {}
    }
    likely.push(
        "wildcard: a value with * only works under StringLike; under StringEquals the * is a literal character".into(),
    );
    TrustHints {
        satisfied_by,
        likely_mismatches: likely,
    }
}
