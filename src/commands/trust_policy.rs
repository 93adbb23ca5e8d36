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

use crate::arn::{AccountId, Partition, RoleArn};
use crate::cli::{Scope, TrustPolicyArgs};
use crate::commands::Outcome;
use crate::config::{Config, Origin};
use crate::context::Ctx;
use crate::error::Error;
use crate::flow;
use crate::jwt::Claims;
use crate::output::Out;
use crate::sts::issuer_key;

mod chain;
mod condition;
mod subject;
pub use condition::{Operator, SubCondition, sub_condition, sub_condition_for};
pub use subject::SubjectFormat;

pub fn run(
    ctx: &Ctx,
    out: &mut Out,
    cfg: &Config,
    args: &TrustPolicyArgs,
) -> Result<Outcome, Error> {
    let role = cfg.role.arn.as_ref().map(|r| &r.value);
    let account_id = account_id(args.account_id.as_deref(), role)?;
    let partition = partition(args.partition.as_deref(), role)?;
    let subject = subject(ctx, cfg, args)?;

    // Exactly the token's `iss`: a trailing `/` is part of it (env0), and IAM keeps it.
    let issuer = subject.issuer.trim().to_string();
    if !issuer.starts_with("https://") {
        ctx.diag.warn(format!(
            "the issuer {issuer} is not an https:// URL; IAM only accepts OIDC providers with https issuers"
        ));
    }
    let audience = choose_audience(cfg, &subject.token_aud);
    let format = SubjectFormat::of_token(&subject.sub, subject.claims.as_ref());
    let (scope, condition) = sub_condition_for(
        &subject.sub,
        subject.claims.as_ref(),
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
    if cfg.chain.roles().is_empty() {
        out.print_json(&doc)?;
    } else {
        let first = serde_json::to_value(&doc)
            .map_err(|e| Error::internal("could not serialise the policy", e))?;
        out.print_json(&chain::policies(cfg, first)?)?;
        ctx.diag.plain(
            "# with --chain: one trust policy per role, in chain order; each chained role trusts the one before it",
        );
    }

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
    Ok(Outcome::SUCCESS)
}

/// `--account-id`, else the role's.
fn account_id(flag: Option<&str>, role: Option<&RoleArn>) -> Result<AccountId, Error> {
    let given = match (flag, role) {
        (Some(id), _) => id.trim(),
        (None, Some(role)) => return Ok(role.account_id.clone()),
        (None, None) => {
            return Err(Error::usage(
                "trust-policy needs the AWS account that owns the role",
                "pass --account-id 123456789012 (or --role-arn)",
            ));
        }
    };
    AccountId::parse(given).map_err(|_| {
        Error::usage(
            format!("--account-id is `{given}`, which is not an AWS account id"),
            format!("{}, e.g. 123456789012", AccountId::RULE),
        )
    })
}

/// `--partition`, else the role's, else `aws`. The flag takes every partition a `--role-arn` can
/// be in ([`Partition::ALL`]).
fn partition(flag: Option<&str>, role: Option<&RoleArn>) -> Result<Partition, Error> {
    match (flag, role) {
        (Some(p), _) => Partition::parse(p).map_err(|_| {
            Error::usage(
                format!("--partition is `{p}`, which is not an AWS partition"),
                format!("use one of {}", Partition::names()),
            )
        }),
        (None, Some(role)) => Ok(role.partition),
        (None, None) => Ok(Partition::Aws),
    }
}

/// Whose subject the policy trusts, and what the token says besides.
struct Subject {
    issuer: String,
    sub: String,
    /// The token's audiences (none when both issuer and subject were given by hand).
    token_aud: Vec<String>,
    /// The token's claims when its own subject is used, so a customised subject is checked
    /// against them; `None` for a subject given by hand, which the claims cannot vouch for.
    claims: Option<Claims>,
}

/// `--issuer` and `--subject` when both are given; otherwise this job's token supplies what is
/// missing.
fn subject(ctx: &Ctx, cfg: &Config, args: &TrustPolicyArgs) -> Result<Subject, Error> {
    if let (Some(iss), Some(sub)) = (&args.issuer, &args.subject) {
        return Ok(Subject {
            issuer: iss.clone(),
            sub: sub.clone(),
            token_aud: Vec::new(),
            claims: None,
        });
    }
    let detected = flow::detect_token(ctx, cfg)?;
    let token = match detected.token {
        Some(t) => t,
        None => flow::mint(ctx, cfg, detected.source.as_ref())?,
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
    Ok(Subject {
        issuer: iss,
        sub,
        token_aud: c.aud.clone(),
        claims: args.subject.is_none().then_some(c),
    })
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
        .entry(Operator::StringEquals.as_str())
        .or_default()
        .insert(format!("{key}:aud"), audience.to_string());
    condition
        .entry(sub.operator.as_str())
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
            assert_eq!(
                (c.operator.as_str(), c.pattern.as_str()),
                (op, pattern),
                "{scope:?}"
            );
        }
        assert!(sub_condition(GL, Some(Scope::Tag), false).is_err());
    }

    #[test]
    fn account_and_partition_come_from_the_flags_else_the_role() {
        let role = RoleArn::parse("arn:aws-iso:iam::000000000042:role/r").unwrap();
        assert_eq!(
            account_id(None, Some(&role)).unwrap().as_str(),
            "000000000042"
        );
        assert_eq!(
            account_id(Some(" 123456789012 "), Some(&role))
                .unwrap()
                .as_str(),
            "123456789012"
        );
        let e = account_id(Some("12345"), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--account-id is `12345`, which is not an AWS account id\n  fix: an account id is exactly 12 digits, e.g. 123456789012"
        );
        assert!(account_id(None, None).is_err());

        assert_eq!(partition(None, Some(&role)).unwrap(), Partition::AwsIso);
        assert_eq!(partition(None, None).unwrap(), Partition::Aws);
        assert_eq!(
            partition(Some("aws-cn"), Some(&role)).unwrap(),
            Partition::AwsCn
        );
        for p in Partition::ALL {
            assert_eq!(partition(Some(p.as_str()), None).unwrap(), p);
        }
        for bad in ["aws-moon", "AWS", "aws-iso-x", ""] {
            let e = partition(Some(bad), None).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "--partition is `{bad}`, which is not an AWS partition\n  fix: use one of aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc"
                )
            );
        }
    }

    #[test]
    fn the_partition_help_names_every_partition() {
        use clap::CommandFactory;
        let cli = crate::cli::Cli::command();
        let help = cli
            .find_subcommand("trust-policy")
            .and_then(|c| c.get_arguments().find(|a| a.get_id() == "partition"))
            .and_then(|a| a.get_help())
            .expect("--partition has help")
            .to_string();
        assert!(help.contains(&Partition::names()), "{help}");
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
