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
use crate::commands::credentials;
use crate::config::{Config, Origin};
use crate::context::Ctx;
use crate::error::Error;
use crate::exit_code::ExitCode;
use crate::output;
use crate::sts::issuer_key;

pub fn run(ctx: &Ctx, args: &TrustPolicyArgs, verbose: u8) -> Result<ExitCode, Error> {
    let cfg = Config::resolve(&args.credentials, &ctx.env, verbose)?;
    let role = cfg.role_arn.as_ref().map(|r| &r.value);
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

    let (issuer, subject, token_aud) = match (&args.issuer, &args.subject) {
        (Some(iss), Some(sub)) => (iss.clone(), sub.clone(), Vec::new()),
        _ => {
            let detected = credentials::detect_token(ctx, &cfg)?;
            let token = match detected.token {
                Some(t) => t,
                None => credentials::mint(ctx, &cfg, detected.source.as_ref())?,
            };
            let c = token.claims;
            let iss = match (&args.issuer, c.iss) {
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
            let sub = match (&args.subject, c.sub) {
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
            (iss, sub, c.aud)
        }
    };
    let issuer = issuer.trim().trim_end_matches('/').to_string();
    if !issuer.starts_with("https://") {
        ctx.diag.warn(format!(
            "the issuer {issuer} is not an https:// URL; IAM only accepts OIDC providers with https issuers"
        ));
    }
    let audience = choose_audience(&cfg, &token_aud);
    let format = SubjectFormat::of(&subject);
    let (scope, condition) = sub_condition(&subject, args.scope, args.allow_any_subject)?;
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
    if cfg.audience.origin != Origin::Default || token_aud.is_empty() {
        return cfg.audience.value.clone();
    }
    if token_aud.iter().any(|a| a == &cfg.audience.value) {
        return cfg.audience.value.clone();
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

/// How a CI spells its subjects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectFormat {
    /// `project_path:GROUP/PROJECT:ref_type:branch|tag:ref:NAME`
    GitLab {
        path: String,
        ref_type: String,
    },
    /// `repo:OWNER/REPO:ref:refs/heads/X` | `…:ref:refs/tags/X` | `…:environment:X` | `…:pull_request`
    GitHub {
        repo: String,
        rest: String,
    },
    /// `organization:ORG:pipeline:PIPE:ref:REF:commit:SHA:step:KEY`
    Buildkite {
        org: String,
        pipeline: String,
        git_ref: String,
    },
    /// `org/ORG/project/PROJECT/user/USER[/vcs-origin/…/vcs-ref/…]`
    CircleCi {
        org: String,
        project: String,
    },
    Unknown,
}

impl SubjectFormat {
    pub fn of(sub: &str) -> SubjectFormat {
        if let Some(rest) = sub.strip_prefix("project_path:")
            && let Some((path, after)) = rest.split_once(":ref_type:")
            && let Some((ref_type, name)) = after.split_once(":ref:")
            && path.contains('/')
            && !name.is_empty()
        {
            return SubjectFormat::GitLab {
                path: path.into(),
                ref_type: ref_type.into(),
            };
        }
        if let Some(rest) = sub.strip_prefix("repo:")
            && let Some((repo, rest)) = rest.split_once(':')
            && let Some((owner, name)) = repo.split_once('/')
            && !owner.is_empty()
            && !name.is_empty()
            && !rest.is_empty()
        {
            return SubjectFormat::GitHub {
                repo: repo.into(),
                rest: rest.into(),
            };
        }
        if let Some(rest) = sub.strip_prefix("organization:")
            && let Some((org, rest)) = rest.split_once(":pipeline:")
            && let Some((pipeline, rest)) = rest.split_once(":ref:")
            && let Some((git_ref, _)) = rest.split_once(":commit:")
            && !org.is_empty()
            && !pipeline.is_empty()
            && !git_ref.is_empty()
        {
            return SubjectFormat::Buildkite {
                org: org.into(),
                pipeline: pipeline.into(),
                git_ref: git_ref.into(),
            };
        }
        let parts: Vec<&str> = sub.split('/').collect();
        if parts.len() >= 6
            && parts[0] == "org"
            && parts[2] == "project"
            && parts[4] == "user"
            && !parts[1].is_empty()
            && !parts[3].is_empty()
        {
            return SubjectFormat::CircleCi {
                org: parts[1].into(),
                project: parts[3].into(),
            };
        }
        SubjectFormat::Unknown
    }

    pub fn name(&self) -> &'static str {
        match self {
            SubjectFormat::GitLab { .. } => "GitLab",
            SubjectFormat::GitHub { .. } => "GitHub",
            SubjectFormat::Buildkite { .. } => "Buildkite",
            SubjectFormat::CircleCi { .. } => "CircleCI",
            SubjectFormat::Unknown => "unrecognised",
        }
    }

    /// The scopes this format can express.
    pub fn scopes(&self) -> Vec<Scope> {
        use Scope::*;
        match self {
            SubjectFormat::GitLab { .. }
            | SubjectFormat::GitHub { .. }
            | SubjectFormat::Buildkite { .. } => vec![Exact, Branch, Tag, Project, Group],
            SubjectFormat::CircleCi { .. } => vec![Exact, Project, Group],
            SubjectFormat::Unknown => vec![Exact],
        }
    }

    /// The narrowest scope that is still useful: a subject that names one commit or one user
    /// (Buildkite, CircleCI) changes every run, so those default to the ref or the project.
    fn default_scope(&self) -> Scope {
        match self {
            SubjectFormat::Buildkite { git_ref, .. } if git_ref.starts_with("refs/tags/") => {
                Scope::Tag
            }
            SubjectFormat::Buildkite { .. } => Scope::Branch,
            SubjectFormat::CircleCi { .. } => Scope::Project,
            _ => Scope::Exact,
        }
    }
}

/// The `sub` condition of a trust policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubCondition {
    /// `StringEquals` for a literal subject, `StringLike` for a pattern.
    pub operator: &'static str,
    pub pattern: String,
}

impl SubCondition {
    fn equals(sub: &str) -> SubCondition {
        SubCondition {
            operator: "StringEquals",
            pattern: sub.to_string(),
        }
    }

    fn prefix(prefix: String) -> SubCondition {
        SubCondition {
            operator: "StringLike",
            pattern: format!("{prefix}*"),
        }
    }

    fn describe(&self) -> String {
        format!("{} {}", self.operator, self.pattern)
    }
}

/// The `sub` condition for this subject at this scope (the format's default when `None`).
pub fn sub_condition(
    sub: &str,
    scope: Option<Scope>,
    allow_any_subject: bool,
) -> Result<(Scope, SubCondition), Error> {
    if sub.is_empty() {
        return Err(Error::usage(
            "the subject is empty",
            "pass --subject, or run in a job whose token has a `sub` claim",
        ));
    }
    let format = SubjectFormat::of(sub);
    let scope = scope.unwrap_or_else(|| format.default_scope());
    let unsupported = |why: String| {
        Error::usage(
            format!(
                "--scope {} is not possible for the subject `{sub}`: {why}",
                scope_name(scope)
            ),
            format!(
                "use one of: {}",
                format
                    .scopes()
                    .iter()
                    .map(|s| scope_name(*s))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    };
    let condition = match (&format, scope) {
        (_, Scope::Exact) => SubCondition::equals(sub),
        (SubjectFormat::Unknown, _) if allow_any_subject => SubCondition::prefix(String::new()),
        (SubjectFormat::Unknown, _) => {
            return Err(Error::usage(
                format!(
                    "--scope {} is not possible: the subject `{sub}` is not in a format aws-ci-creds knows, so only `exact` can be built safely",
                    scope_name(scope)
                ),
                "use --scope exact, write the pattern by hand, or pass --allow-any-subject to trust every subject of the issuer (any job of anyone it issues tokens to)",
            ));
        }
        (SubjectFormat::GitLab { ref_type, .. }, Scope::Branch | Scope::Tag) => {
            let wanted = if scope == Scope::Branch {
                "branch"
            } else {
                "tag"
            };
            if ref_type != wanted {
                return Err(unsupported(format!("this job runs on a {ref_type}")));
            }
            // GitLab's subject names the project and the ref, nothing per job: this ref is exact.
            SubCondition::equals(sub)
        }
        (SubjectFormat::GitLab { path, .. }, Scope::Project) => {
            SubCondition::prefix(format!("project_path:{path}:"))
        }
        (SubjectFormat::GitLab { path, .. }, Scope::Group | Scope::Org) => {
            let (group, _) = path
                .rsplit_once('/')
                .ok_or_else(|| unsupported("the project path has no group".into()))?;
            SubCondition::prefix(format!("project_path:{group}/"))
        }
        (SubjectFormat::GitHub { rest, .. }, Scope::Branch | Scope::Tag) => {
            let (wanted, prefix) = if scope == Scope::Branch {
                ("branch", "ref:refs/heads/")
            } else {
                ("tag", "ref:refs/tags/")
            };
            match rest.strip_prefix(prefix) {
                Some(name) if !name.is_empty() && !name.contains(':') => SubCondition::equals(sub),
                _ if rest.starts_with("environment:") => {
                    return Err(unsupported(format!(
                        "jobs that use a GitHub environment get `…:{rest}` as their subject, without the {wanted}; use exact (this environment) or project"
                    )));
                }
                _ if rest == "pull_request" => {
                    return Err(unsupported(
                        "pull-request jobs get `…:pull_request` as their subject; use exact or project"
                            .into(),
                    ));
                }
                _ => return Err(unsupported(format!("this job does not run on a {wanted}"))),
            }
        }
        (SubjectFormat::GitHub { repo, .. }, Scope::Project) => {
            SubCondition::prefix(format!("repo:{repo}:"))
        }
        (SubjectFormat::GitHub { repo, .. }, Scope::Group | Scope::Org) => {
            let (owner, _) = repo.split_once('/').expect("checked by SubjectFormat::of");
            SubCondition::prefix(format!("repo:{owner}/"))
        }
        (
            SubjectFormat::Buildkite {
                org,
                pipeline,
                git_ref,
            },
            Scope::Branch | Scope::Tag,
        ) => {
            let (wanted, prefix) = if scope == Scope::Branch {
                ("branch", "refs/heads/")
            } else {
                ("tag", "refs/tags/")
            };
            if !git_ref.starts_with(prefix) {
                return Err(unsupported(format!("this job does not run on a {wanted}")));
            }
            SubCondition::prefix(format!(
                "organization:{org}:pipeline:{pipeline}:ref:{git_ref}:"
            ))
        }
        (SubjectFormat::Buildkite { org, pipeline, .. }, Scope::Project) => {
            SubCondition::prefix(format!("organization:{org}:pipeline:{pipeline}:"))
        }
        (SubjectFormat::Buildkite { org, .. }, Scope::Group | Scope::Org) => {
            SubCondition::prefix(format!("organization:{org}:"))
        }
        (SubjectFormat::CircleCi { org, project }, Scope::Project) => {
            SubCondition::prefix(format!("org/{org}/project/{project}/"))
        }
        (SubjectFormat::CircleCi { org, .. }, Scope::Group | Scope::Org) => {
            SubCondition::prefix(format!("org/{org}/"))
        }
        (SubjectFormat::CircleCi { .. }, Scope::Branch | Scope::Tag) => {
            return Err(unsupported(
                "CircleCI subjects name the project and the user, not the ref".into(),
            ));
        }
    };
    // IAM reads `*`, `?` in StringLike and `${…}` in both operators; a subject carrying them
    // would make the condition mean something else than the subject.
    let literal = condition
        .pattern
        .strip_suffix('*')
        .filter(|_| condition.operator == "StringLike")
        .unwrap_or(&condition.pattern);
    if literal.contains('$') || (condition.operator == "StringLike" && literal.contains(['*', '?']))
    {
        return Err(Error::usage(
            format!(
                "the subject `{sub}` contains characters IAM would read as policy syntax ($, * or ?)"
            ),
            "write this condition by hand, escaping them as ${$}, ${*}, ${?}",
        ));
    }
    debug_assert!(
        condition.operator == "StringEquals" && condition.pattern == sub
            || sub.starts_with(literal),
        "a generated condition always admits the subject it was built from"
    );
    Ok((scope, condition))
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
