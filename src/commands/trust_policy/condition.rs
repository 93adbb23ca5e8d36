//! The `sub` condition of a trust policy for a [`SubjectFormat`] at a [`Scope`]: which scopes a
//! format can express, and the pattern for each. Every pattern is a literal prefix of the subject
//! plus at most one trailing `*`, so it always admits the subject it was built from.

use super::scope_name;
use super::subject::{
    Component, GITHUB_BARE, GITHUB_KEYS, GITHUB_ORG_KEYS, GITHUB_REPO_KEYS, SubjectFormat,
    components,
};
use crate::cli::Scope;
use crate::error::Error;
use crate::jwt::Claims;

/// An IAM condition operator, as the policies written here use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// The value is literal text (IAM still reads `${…}` in it).
    StringEquals,
    /// The value is a pattern: `*` matches any run of characters, `?` exactly one.
    StringLike,
}

impl Operator {
    /// The name IAM reads, in the policy JSON and in the notes on stderr.
    pub const fn as_str(self) -> &'static str {
        match self {
            Operator::StringEquals => "StringEquals",
            Operator::StringLike => "StringLike",
        }
    }
}

/// The `sub` condition of a trust policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubCondition {
    /// `StringEquals` for a literal subject, `StringLike` for a pattern.
    pub operator: Operator,
    pub pattern: String,
}

impl SubCondition {
    fn equals(sub: &str) -> SubCondition {
        SubCondition {
            operator: Operator::StringEquals,
            pattern: sub.to_string(),
        }
    }

    fn prefix(prefix: String) -> SubCondition {
        SubCondition {
            operator: Operator::StringLike,
            pattern: format!("{prefix}*"),
        }
    }

    pub(super) fn describe(&self) -> String {
        format!("{} {}", self.operator.as_str(), self.pattern)
    }
}

impl SubjectFormat {
    /// The scopes this format can express.
    pub fn scopes(&self) -> Vec<Scope> {
        use Scope::*;
        match self {
            SubjectFormat::GitLab { .. }
            | SubjectFormat::GitHub { .. }
            | SubjectFormat::Buildkite { .. } => vec![Exact, Branch, Tag, Project, Group],
            SubjectFormat::CircleCi { .. } => vec![Exact, Project, Group],
            SubjectFormat::GitLabCustom { .. } => vec![Exact, Branch, Tag, Project, Group],
            SubjectFormat::GitHubCustom { components } => {
                let mut scopes = vec![Exact];
                if components.iter().any(|c| c.key == "ref") {
                    scopes.extend([Branch, Tag]);
                }
                if github_prefix(components, false).is_some() {
                    scopes.push(Project);
                }
                if github_prefix(components, true).is_some() {
                    scopes.push(Group);
                }
                scopes
            }
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

/// The `sub` condition for this subject at this scope (the format's default when `None`).
pub fn sub_condition(
    sub: &str,
    scope: Option<Scope>,
    allow_any_subject: bool,
) -> Result<(Scope, SubCondition), Error> {
    sub_condition_for(sub, None, scope, allow_any_subject)
}

/// [`sub_condition`] for the subject of a token whose other claims are known, so a customised
/// subject's parts are checked against them.
pub fn sub_condition_for(
    sub: &str,
    claims: Option<&Claims>,
    scope: Option<Scope>,
    allow_any_subject: bool,
) -> Result<(Scope, SubCondition), Error> {
    if sub.is_empty() {
        return Err(Error::usage(
            "the subject is empty",
            "pass --subject, or run in a job whose token has a `sub` claim",
        ));
    }
    let format = SubjectFormat::of_token(sub, claims);
    let scope = scope.unwrap_or_else(|| format.default_scope());
    let ask = Ask {
        sub,
        format: &format,
        scope,
    };
    let condition = match &format {
        _ if scope == Scope::Exact => SubCondition::equals(sub),
        SubjectFormat::Unknown => unknown(&ask, allow_any_subject)?,
        SubjectFormat::GitLab { path, ref_type } => gitlab(&ask, path, ref_type)?,
        SubjectFormat::GitHub { repo, rest } => github(&ask, repo, rest)?,
        SubjectFormat::Buildkite {
            org,
            pipeline,
            git_ref,
        } => buildkite(&ask, org, pipeline, git_ref)?,
        SubjectFormat::CircleCi { org, project } => circleci(&ask, org, project)?,
        SubjectFormat::GitLabCustom {
            path,
            ref_type,
            git_ref,
        } => gitlab_custom(&ask, path, ref_type.as_deref(), git_ref.as_deref())?,
        SubjectFormat::GitHubCustom { components } => github_custom(&ask, components)?,
    };
    let literal = refuse_policy_syntax(sub, &condition)?;
    debug_assert!(
        condition.operator == Operator::StringEquals && condition.pattern == sub
            || sub.starts_with(literal),
        "a generated condition always admits the subject it was built from"
    );
    Ok((scope, condition))
}

/// One request for a condition, and the error for a scope its subject cannot express.
struct Ask<'a> {
    sub: &'a str,
    format: &'a SubjectFormat,
    scope: Scope,
}

impl Ask<'_> {
    fn unsupported(&self, why: impl Into<String>) -> Error {
        Error::usage(
            format!(
                "--scope {} is not possible for the subject `{}`: {}",
                scope_name(self.scope),
                self.sub,
                why.into()
            ),
            format!(
                "use one of: {}",
                self.format
                    .scopes()
                    .iter()
                    .map(|s| scope_name(*s))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    }

    /// For `--scope branch` or `tag`: the word, and the `refs/…/` prefix of such a ref.
    fn wanted_ref(&self) -> (&'static str, &'static str) {
        if self.scope == Scope::Branch {
            ("branch", "refs/heads/")
        } else {
            ("tag", "refs/tags/")
        }
    }
}

fn unknown(ask: &Ask, allow_any_subject: bool) -> Result<SubCondition, Error> {
    if allow_any_subject {
        return Ok(SubCondition::prefix(String::new()));
    }
    Err(Error::usage(
        format!(
            "--scope {} is not possible: the subject `{}` is not in a format aws-ci-creds knows, so only `exact` can be built safely",
            scope_name(ask.scope),
            ask.sub
        ),
        "use --scope exact, write the pattern by hand, or pass --allow-any-subject to trust every subject of the issuer (any job of anyone it issues tokens to)",
    ))
}

/// `project_path:GROUP/PROJECT:` at project scope, `project_path:GROUP/` at group scope.
fn gitlab_project_or_group(ask: &Ask, path: &str) -> Result<SubCondition, Error> {
    if ask.scope == Scope::Project {
        return Ok(SubCondition::prefix(format!("project_path:{path}:")));
    }
    let (group, _) = path
        .rsplit_once('/')
        .ok_or_else(|| ask.unsupported("the project path has no group"))?;
    Ok(SubCondition::prefix(format!("project_path:{group}/")))
}

fn gitlab(ask: &Ask, path: &str, ref_type: &str) -> Result<SubCondition, Error> {
    match ask.scope {
        Scope::Exact => Ok(SubCondition::equals(ask.sub)),
        Scope::Branch | Scope::Tag => {
            let (wanted, _) = ask.wanted_ref();
            if ref_type != wanted {
                return Err(ask.unsupported(format!("this job runs on a {ref_type}")));
            }
            // GitLab's subject names the project and the ref, nothing per job: this ref is exact.
            Ok(SubCondition::equals(ask.sub))
        }
        Scope::Project | Scope::Group | Scope::Org => gitlab_project_or_group(ask, path),
    }
}

fn gitlab_custom(
    ask: &Ask,
    path: &str,
    ref_type: Option<&str>,
    git_ref: Option<&str>,
) -> Result<SubCondition, Error> {
    match ask.scope {
        Scope::Exact => Ok(SubCondition::equals(ask.sub)),
        Scope::Branch | Scope::Tag => {
            let (wanted, _) = ask.wanted_ref();
            match (ref_type, git_ref) {
                (None, _) => Err(ask.unsupported(
                    "the project's sub claim components leave out ref_type, so a branch and a tag of the same name share this subject; use exact (both) or project, or add ref_type to the components",
                )),
                (Some(_), None) => Err(ask.unsupported(format!(
                    "the project's sub claim components leave out ref, so the subject cannot name one {wanted}; use exact (every {wanted} of the project) or add ref to the components"
                ))),
                (Some(t), Some(_)) if t != wanted => {
                    Err(ask.unsupported(format!("this job runs on a {t}")))
                }
                _ => Ok(SubCondition::equals(ask.sub)),
            }
        }
        Scope::Project | Scope::Group | Scope::Org => gitlab_project_or_group(ask, path),
    }
}

fn github(ask: &Ask, repo: &str, rest: &str) -> Result<SubCondition, Error> {
    match ask.scope {
        Scope::Exact => Ok(SubCondition::equals(ask.sub)),
        Scope::Branch | Scope::Tag => {
            let (wanted, prefix) = ask.wanted_ref();
            let name = rest
                .strip_prefix("ref:")
                .and_then(|r| r.strip_prefix(prefix));
            match name {
                // A customised template may add parts after the ref (`…:job_workflow_ref:…`).
                Some(name)
                    if !name.is_empty()
                        && name.split_once(':').is_none_or(|(_, more)| {
                            components(more, GITHUB_KEYS, GITHUB_BARE).is_some()
                        }) =>
                {
                    Ok(SubCondition::equals(ask.sub))
                }
                _ if rest.starts_with("environment:") => Err(ask.unsupported(format!(
                    "jobs that use a GitHub environment get `…:{rest}` as their subject, without the {wanted}; use exact (this environment) or project"
                ))),
                _ if rest == "pull_request" => Err(ask.unsupported(
                    "pull-request jobs get `…:pull_request` as their subject; use exact or project",
                )),
                _ => Err(ask.unsupported(format!("this job does not run on a {wanted}"))),
            }
        }
        Scope::Project => Ok(SubCondition::prefix(format!("repo:{repo}:"))),
        Scope::Group | Scope::Org => {
            let (owner, _) = repo.split_once('/').expect("checked by SubjectFormat::of");
            Ok(SubCondition::prefix(format!("repo:{owner}/")))
        }
    }
}

fn github_custom(ask: &Ask, components: &[Component]) -> Result<SubCondition, Error> {
    match ask.scope {
        Scope::Exact => Ok(SubCondition::equals(ask.sub)),
        Scope::Branch | Scope::Tag => {
            let (wanted, prefix) = ask.wanted_ref();
            match components.iter().find(|c| c.key == "ref") {
                Some(c) if c.value.as_deref().is_some_and(|v| v.starts_with(prefix)) => {
                    Ok(SubCondition::equals(ask.sub))
                }
                Some(_) => Err(ask.unsupported(format!("this job does not run on a {wanted}"))),
                None => Err(ask.unsupported(format!(
                    "this customised subject has no `ref:` part (a job with an environment gets `environment:NAME`, a pull request `pull_request`); use exact{}",
                    if github_prefix(components, false).is_some() { " or project" } else { "" }
                ))),
            }
        }
        Scope::Project => github_prefix(components, false)
            .ok_or_else(|| ask.unsupported("the subject does not start with the repository (repo, repository or repository_id, after any owner keys), so no prefix names one repository")),
        Scope::Group | Scope::Org => github_prefix(components, true)
            .ok_or_else(|| ask.unsupported("the subject does not start with the owner (repository_owner, repository_owner_id, enterprise…) or the repository's name, so no prefix names one organisation")),
    }
}

fn buildkite(ask: &Ask, org: &str, pipeline: &str, git_ref: &str) -> Result<SubCondition, Error> {
    match ask.scope {
        Scope::Exact => Ok(SubCondition::equals(ask.sub)),
        Scope::Branch | Scope::Tag => {
            let (wanted, prefix) = ask.wanted_ref();
            if !git_ref.starts_with(prefix) {
                return Err(ask.unsupported(format!("this job does not run on a {wanted}")));
            }
            Ok(SubCondition::prefix(format!(
                "organization:{org}:pipeline:{pipeline}:ref:{git_ref}:"
            )))
        }
        Scope::Project => Ok(SubCondition::prefix(format!(
            "organization:{org}:pipeline:{pipeline}:"
        ))),
        Scope::Group | Scope::Org => Ok(SubCondition::prefix(format!("organization:{org}:"))),
    }
}

fn circleci(ask: &Ask, org: &str, project: &str) -> Result<SubCondition, Error> {
    match ask.scope {
        Scope::Exact => Ok(SubCondition::equals(ask.sub)),
        Scope::Branch | Scope::Tag => {
            Err(ask.unsupported("CircleCI subjects name the project and the user, not the ref"))
        }
        Scope::Project => Ok(SubCondition::prefix(format!(
            "org/{org}/project/{project}/"
        ))),
        Scope::Group | Scope::Org => Ok(SubCondition::prefix(format!("org/{org}/"))),
    }
}

/// IAM reads `*`, `?` in StringLike and `${…}` in both operators; a subject carrying them would
/// make the condition mean something else than the subject. Returns the literal part of the
/// pattern (without a `StringLike`'s trailing `*`).
fn refuse_policy_syntax<'c>(sub: &str, condition: &'c SubCondition) -> Result<&'c str, Error> {
    let like = condition.operator == Operator::StringLike;
    let literal = condition
        .pattern
        .strip_suffix('*')
        .filter(|_| like)
        .unwrap_or(&condition.pattern);
    if literal.contains('$') || (like && literal.contains(['*', '?'])) {
        return Err(Error::usage(
            format!(
                "the subject `{sub}` contains characters IAM would read as policy syntax ($, * or ?)"
            ),
            "write this condition by hand, escaping them as ${$}, ${*}, ${?}",
        ));
    }
    Ok(literal)
}

/// The condition for one repository (`org` false) or one owner (`org` true) of a customised
/// GitHub subject: its leading identity parts as a prefix, or the whole subject when it is nothing
/// else. `None` when the identity does not lead the subject, so no prefix can say it.
fn github_prefix(components: &[Component], org: bool) -> Option<SubCondition> {
    let is = |c: &Component, keys: &[&str]| keys.contains(&c.key.as_str());
    let joined = |parts: &[Component]| {
        parts
            .iter()
            .map(|c| match &c.value {
                Some(v) => format!("{}:{v}", c.key),
                None => c.key.clone(),
            })
            .collect::<Vec<_>>()
            .join(":")
    };
    let identity = |n: usize| {
        if n == components.len() {
            SubCondition::equals(&joined(components))
        } else {
            SubCondition::prefix(format!("{}:", joined(&components[..n])))
        }
    };
    let leading = components
        .iter()
        .take_while(|c| is(c, GITHUB_ORG_KEYS) || is(c, GITHUB_REPO_KEYS))
        .count();
    if org {
        let owners = components
            .iter()
            .take_while(|c| is(c, GITHUB_ORG_KEYS))
            .count();
        if owners > 0 {
            return Some(identity(owners));
        }
        // `repo:OWNER/REPO` or `repository:OWNER/REPO` first: the owner is its first half.
        let first = &components[0];
        let owner = first.value.as_deref()?.split_once('/')?.0;
        return (matches!(first.key.as_str(), "repo" | "repository") && !owner.is_empty())
            .then(|| SubCondition::prefix(format!("{}:{owner}/", first.key)));
    }
    let last_repo = components[..leading]
        .iter()
        .rposition(|c| is(c, GITHUB_REPO_KEYS))?;
    Some(identity(last_repo + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_are_spelt_as_iam_reads_them() {
        assert_eq!(Operator::StringEquals.as_str(), "StringEquals");
        assert_eq!(Operator::StringLike.as_str(), "StringLike");
        assert_eq!(
            SubCondition::prefix("repo:o/".into()).describe(),
            "StringLike repo:o/*"
        );
        assert_eq!(
            SubCondition::equals("repo:o/r:pull_request").describe(),
            "StringEquals repo:o/r:pull_request"
        );
    }

    #[test]
    fn an_unsupported_scope_names_the_subject_and_the_scopes_it_has() {
        let sub = "org/o/project/p/user/u";
        let e = sub_condition(sub, Some(Scope::Branch), false).unwrap_err();
        assert_eq!(
            e.message().what,
            "--scope branch is not possible for the subject `org/o/project/p/user/u`: CircleCI subjects name the project and the user, not the ref"
        );
        assert_eq!(
            e.message().fix.as_deref(),
            Some("use one of: exact, project, group")
        );
    }
}
