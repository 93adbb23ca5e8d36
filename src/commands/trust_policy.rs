//! `aws-ci-creds trust-policy`: the IAM trust policy that lets this job's token (or an issuer and
//! subject given by hand) assume a role, at a chosen scope, on stdout; the command that creates
//! the IAM OIDC provider on stderr.
//!
//! The `sub` pattern depends on the CI's subject format ([`SubjectFormat`]). Every pattern is a
//! literal prefix taken from the subject plus at most one trailing `*`, so it always matches the
//! subject it was built from and never more than the scope says. A subject whose format is not
//! known only gets `exact`, unless `--allow-any-subject` asks for a policy that trusts anyone the
//! issuer vouches for.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cli::{Scope, TrustPolicyArgs};
use crate::config::{Config, Origin};
use crate::context::Ctx;
use crate::error::Error;
use crate::exit_code::ExitCode;
use crate::flow;
use crate::output;
use crate::sts::issuer_key;

mod subject;
pub use subject::{Component, SubCondition, SubjectFormat, sub_condition, sub_condition_for};

pub fn run(ctx: &Ctx, args: &TrustPolicyArgs) -> Result<ExitCode, Error> {
    let cfg = Config::resolve(&args.credentials, &ctx.env)?;
    let role = cfg.role.arn.as_ref().map(|r| &r.value);
    let account_id = match (&args.account_id, role) {
        (Some(id), _) => id.trim().to_string(),
        (None, Some(role)) => role.account_id.clone(),
        (None, None) => {
            return Err(Error::usage(
                "trust-policy needs the AWS account that owns the role",
                "pass --account-id 123456789012 (or --role-arn)",
            ));
        }
    };
    if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::usage(
            format!("--account-id is `{account_id}`, which is not an AWS account id"),
            "an account id is exactly 12 digits, e.g. 123456789012",
        ));
    }
    let partition = match (&args.partition, role) {
        (Some(p), _) => {
            if !matches!(p.as_str(), "aws" | "aws-cn" | "aws-us-gov") {
                return Err(Error::usage(
                    format!("--partition is `{p}`, which is not an AWS partition"),
                    "use aws, aws-cn or aws-us-gov",
                ));
            }
            p.clone()
        }
        (None, Some(role)) => role.partition.clone(),
        (None, None) => "aws".to_string(),
    };

    let (issuer, subject, token_aud, claims) = match (&args.issuer, &args.subject) {
        (Some(iss), Some(sub)) => (iss.clone(), sub.clone(), Vec::new(), None),
        _ => {
            let detected = flow::detect_token(ctx, &cfg)?;
            let token = match detected.token {
                Some(t) => t,
                None => flow::mint(ctx, &cfg, detected.source.as_ref())?,
            };
            let c = token.claims;
            let iss = match (&args.issuer, c.iss.clone()) {
                (Some(given), _) => given.clone(),
                (None, Some(iss)) => iss,
                (None, None) => {
                    return Err(Error::token(
                        format!(
                            "the token from {} has no `iss` claim",
                            detected.source.describe()
                        ),
                        "pass --issuer URL (and --subject) by hand",
                    ));
                }
            };
            let sub = match (&args.subject, c.sub.clone()) {
                (Some(given), _) => given.clone(),
                (None, Some(sub)) => sub,
                (None, None) => {
                    return Err(Error::token(
                        format!(
                            "the token from {} has no `sub` claim",
                            detected.source.describe()
                        ),
                        "pass --subject by hand",
                    ));
                }
            };
            // A subject given by hand is not the token's: its claims cannot vouch for it.
            let aud = c.aud.clone();
            let claims = args.subject.is_none().then_some(c);
            (iss, sub, aud, claims)
        }
    };
    // Exactly the token's `iss`: a trailing `/` is part of it (env0), and IAM keeps it.
    let issuer = issuer.trim().to_string();
    if !issuer.starts_with("https://") {
        ctx.diag.warn(format!(
            "the issuer {issuer} is not an https:// URL; IAM only accepts OIDC providers with https issuers"
        ));
    }
    let audience = choose_audience(&cfg, &token_aud);
    let format = SubjectFormat::of_token(&subject, claims.as_ref());
    let (scope, condition) = sub_condition_for(
        &subject,
        claims.as_ref(),
        args.scope,
        args.allow_any_subject,
    )?;
    if condition.pattern == "*" {
        ctx.diag.warn(format!(
            "this policy trusts every subject of {issuer}: any job of anyone who can get a token from this issuer can assume the role"
        ));
    }

    let key = issuer_key(&issuer);
    let provider_arn = format!("arn:{partition}:iam::{account_id}:oidc-provider/{key}");
    let doc = policy(&provider_arn, &key, &audience, &condition);
    output::print_json(&doc)?;

    ctx.diag.plain(format!(
        "# scope: {} ({}); {} subjects: {}",
        scope_name(scope),
        condition.describe(),
        format.name(),
        format
            .scopes()
            .iter()
            .map(|s| scope_name(*s))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    ctx.diag
        .plain("# the IAM OIDC provider for this issuer, once per account (skip if it exists):");
    ctx.diag.plain(format!(
        "aws iam create-open-id-connect-provider --url {issuer} --client-id-list {audience}"
    ));
    Ok(ExitCode::Success)
}

/// The audience the policy requires: `--audience` when given, else the token's (preferring the
/// STS default when the token lists several), else the default.
fn choose_audience(cfg: &Config, token_aud: &[String]) -> String {
    if cfg.source.audience.origin != Origin::Default || token_aud.is_empty() {
        return cfg.source.audience.value.clone();
    }
    if token_aud.iter().any(|a| a == &cfg.source.audience.value) {
        return cfg.source.audience.value.clone();
    }
    token_aud[0].clone()
}

pub fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::Exact => "exact",
        Scope::Branch => "branch",
        Scope::Tag => "tag",
        Scope::Project => "project",
        Scope::Group => "group",
        Scope::Org => "org",
    }
}

#[derive(Serialize)]
pub struct Policy {
    #[serde(rename = "Version")]
    version: &'static str,
    #[serde(rename = "Statement")]
    statement: Vec<Statement>,
}

#[derive(Serialize)]
struct Statement {
    #[serde(rename = "Effect")]
    effect: &'static str,
    #[serde(rename = "Principal")]
    principal: Principal,
    #[serde(rename = "Action")]
    action: &'static str,
    #[serde(rename = "Condition")]
    condition: BTreeMap<&'static str, BTreeMap<String, String>>,
}

#[derive(Serialize)]
struct Principal {
    #[serde(rename = "Federated")]
    federated: String,
}

/// The trust policy document.
pub fn policy(provider_arn: &str, key: &str, audience: &str, sub: &SubCondition) -> Policy {
    let mut condition: BTreeMap<&'static str, BTreeMap<String, String>> = BTreeMap::new();
    condition
        .entry("StringEquals")
        .or_default()
        .insert(format!("{key}:aud"), audience.to_string());
    condition
        .entry(sub.operator)
        .or_default()
        .insert(format!("{key}:sub"), sub.pattern.clone());
    Policy {
        version: "2012-10-17",
        statement: vec![Statement {
            effect: "Allow",
            principal: Principal {
                federated: provider_arn.to_string(),
            },
            action: "sts:AssumeRoleWithWebIdentity",
            condition,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GL: &str = "project_path:group/sub/project:ref_type:branch:ref:main";

    #[test]
    fn gitlab_scopes_widen_step_by_step() {
        let cases = [
            (Scope::Exact, "StringEquals", GL),
            (Scope::Branch, "StringEquals", GL),
            (
                Scope::Project,
                "StringLike",
                "project_path:group/sub/project:*",
            ),
            (Scope::Group, "StringLike", "project_path:group/sub/*"),
        ];
        for (scope, op, pattern) in cases {
            let (_, c) = sub_condition(GL, Some(scope), false).unwrap();
            assert_eq!((c.operator, c.pattern.as_str()), (op, pattern), "{scope:?}");
        }
        assert!(sub_condition(GL, Some(Scope::Tag), false).is_err());
    }

    #[test]
    fn unknown_subjects_only_get_exact_unless_any_subject_is_allowed() {
        let sub = "something:else";
        assert_eq!(sub_condition(sub, None, false).unwrap().0, Scope::Exact);
        let err = sub_condition(sub, Some(Scope::Project), false).unwrap_err();
        assert!(err.to_string().contains("--allow-any-subject"), "{err}");
        let (_, c) = sub_condition(sub, Some(Scope::Project), true).unwrap();
        assert_eq!(c.pattern, "*");
    }

    #[test]
    fn policy_syntax_in_a_subject_is_refused() {
        let sub = "project_path:g/p$x:ref_type:branch:ref:main";
        assert!(sub_condition(sub, Some(Scope::Project), false).is_err());
    }
}
