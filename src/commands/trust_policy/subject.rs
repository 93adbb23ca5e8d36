//! Subject formats: how each CI spells `sub` (customised GitHub and GitLab subjects included),
//! and the `sub` condition for a scope. Every pattern is a literal prefix of the subject plus at
//! most one trailing `*`.

use super::scope_name;
use crate::cli::Scope;
use crate::error::Error;
use crate::jwt::Claims;

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
    /// A GitLab project's customised `sub` (`ci_id_token_sub_claim_components`): `project_path`
    /// first, then `ref_type` and `ref` in another order, or only one of them:
    /// `project_path:G/P:ref:main:ref_type:branch`, `project_path:G/P:ref:main`.
    GitLabCustom {
        path: String,
        ref_type: Option<String>,
        git_ref: Option<String>,
    },
    /// A GitHub subject customised with `include_claim_keys` (repository or organisation): the
    /// keys' `key:value` pairs in the template's order, `context` spelt as in the default
    /// (`ref:…`, `environment:…`, `pull_request`):
    /// `repository_owner_id:72338201:repository_id:567:environment:prod`.
    GitHubCustom {
        components: Vec<Component>,
    },
    Unknown,
}

/// One `key:value` part of a claim-keyed subject (`pull_request` has no value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub key: String,
    pub value: Option<String>,
}

/// The claim keys GitHub lets `include_claim_keys` name, plus the parts `context` and `repo`
/// expand to. Values never hold `:` (GitHub writes it as `%3A`), so `:` splits the pairs.
const GITHUB_KEYS: &[&str] = &[
    "repo",
    "ref",
    "environment",
    "actor",
    "actor_id",
    "base_ref",
    "head_ref",
    "event_name",
    "job_workflow_ref",
    "job_workflow_sha",
    "ref_type",
    "ref_protected",
    "repository",
    "repository_id",
    "repository_owner",
    "repository_owner_id",
    "repository_visibility",
    "run_attempt",
    "run_id",
    "run_number",
    "runner_environment",
    "sha",
    "workflow",
    "workflow_ref",
    "workflow_sha",
    "enterprise",
    "enterprise_id",
    "check_run_id",
];

/// The valueless part a GitHub subject can have.
const GITHUB_BARE: &[&str] = &["pull_request"];

/// Keys that name the organisation (enterprise) a repository belongs to.
const GITHUB_ORG_KEYS: &[&str] = &[
    "repository_owner",
    "repository_owner_id",
    "enterprise",
    "enterprise_id",
];
/// Keys that name one repository.
const GITHUB_REPO_KEYS: &[&str] = &["repo", "repository", "repository_id"];

/// `key:value:key:value…` with keys from `keys`, and the valueless parts in `bare` (GitHub's
/// `context` of a pull request is a bare `pull_request`); `None` when any part is neither.
fn components(sub: &str, keys: &[&str], bare: &[&str]) -> Option<Vec<Component>> {
    let mut parts = sub.split(':');
    let mut out = Vec::new();
    while let Some(key) = parts.next() {
        if bare.contains(&key) {
            out.push(Component {
                key: key.into(),
                value: None,
            });
            continue;
        }
        if !keys.contains(&key) {
            return None;
        }
        let value = parts.next().filter(|v| !v.is_empty())?;
        out.push(Component {
            key: key.into(),
            value: Some(value.into()),
        });
    }
    (!out.is_empty()).then_some(out)
}

/// True when every component the token also has as a claim carries the claim's value: the
/// subject was read right (a `repository` claim of `o/r` for `repository:o/r`, and so on).
fn agrees_with(components: &[Component], claims: Option<&Claims>) -> bool {
    let Some(claims) = claims else {
        return true;
    };
    components
        .iter()
        .all(|c| match (&c.value, claims.text(&c.key)) {
            (Some(v), Some(claim)) => claim.replace(':', "%3A") == *v,
            _ => true,
        })
}

impl SubjectFormat {
    pub fn of(sub: &str) -> SubjectFormat {
        SubjectFormat::of_token(sub, None)
    }

    /// The format of `sub`, checked against the token's other claims when there is a token: a
    /// customised subject is only recognised when its parts carry the claims' values.
    pub fn of_token(sub: &str, claims: Option<&Claims>) -> SubjectFormat {
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
        if let Some(rest) = sub.strip_prefix("project_path:")
            && let Some((path, rest)) = rest.split_once(':')
            && path.contains('/')
            && let Some(parts) = components(rest, &["ref_type", "ref"], &[])
            && parts.len() <= 2
            && (parts.len() < 2 || parts[0].key != parts[1].key)
            && agrees_with(&parts, claims)
        {
            let value = |key: &str| {
                parts
                    .iter()
                    .find(|c| c.key == key)
                    .and_then(|c| c.value.clone())
            };
            return SubjectFormat::GitLabCustom {
                path: path.into(),
                ref_type: value("ref_type"),
                git_ref: value("ref"),
            };
        }
        if let Some(parts) = components(sub, GITHUB_KEYS, GITHUB_BARE)
            && parts.iter().any(|c| {
                GITHUB_ORG_KEYS.contains(&c.key.as_str())
                    || GITHUB_REPO_KEYS.contains(&c.key.as_str())
            })
            && agrees_with(&parts, claims)
        {
            return SubjectFormat::GitHubCustom { components: parts };
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
            SubjectFormat::GitLabCustom { .. } => "GitLab (customised)",
            SubjectFormat::GitHubCustom { .. } => "GitHub (customised)",
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

    pub(super) fn describe(&self) -> String {
        format!("{} {}", self.operator, self.pattern)
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
                // A customised template may add parts after the ref (`…:job_workflow_ref:…`).
                Some(name)
                    if !name.is_empty()
                        && name
                            .split_once(':')
                            .is_none_or(|(_, more)| components(more, GITHUB_KEYS, GITHUB_BARE).is_some()) =>
                {
                    SubCondition::equals(sub)
                }
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
        (
            SubjectFormat::GitLabCustom {
                ref_type, git_ref, ..
            },
            Scope::Branch | Scope::Tag,
        ) => {
            let wanted = if scope == Scope::Branch {
                "branch"
            } else {
                "tag"
            };
            match (ref_type.as_deref(), git_ref) {
                (None, _) => {
                    return Err(unsupported(
                        "the project's sub claim components leave out ref_type, so a branch and a tag of the same name share this subject; use exact (both) or project, or add ref_type to the components".into(),
                    ));
                }
                (Some(_), None) => {
                    return Err(unsupported(format!(
                        "the project's sub claim components leave out ref, so the subject cannot name one {wanted}; use exact (every {wanted} of the project) or add ref to the components"
                    )));
                }
                (Some(t), Some(_)) if t != wanted => {
                    return Err(unsupported(format!("this job runs on a {t}")));
                }
                _ => SubCondition::equals(sub),
            }
        }
        (SubjectFormat::GitLabCustom { path, .. }, Scope::Project) => {
            SubCondition::prefix(format!("project_path:{path}:"))
        }
        (SubjectFormat::GitLabCustom { path, .. }, Scope::Group | Scope::Org) => {
            let (group, _) = path
                .rsplit_once('/')
                .ok_or_else(|| unsupported("the project path has no group".into()))?;
            SubCondition::prefix(format!("project_path:{group}/"))
        }
        (SubjectFormat::GitHubCustom { components }, Scope::Branch | Scope::Tag) => {
            let (wanted, prefix) = if scope == Scope::Branch {
                ("branch", "refs/heads/")
            } else {
                ("tag", "refs/tags/")
            };
            match components.iter().find(|c| c.key == "ref") {
                Some(c) if c.value.as_deref().is_some_and(|v| v.starts_with(prefix)) => {
                    SubCondition::equals(sub)
                }
                Some(_) => return Err(unsupported(format!("this job does not run on a {wanted}"))),
                None => {
                    return Err(unsupported(format!(
                        "this customised subject has no `ref:` part (a job with an environment gets `environment:NAME`, a pull request `pull_request`); use exact{}",
                        if github_prefix(components, false).is_some() { " or project" } else { "" }
                    )));
                }
            }
        }
        (SubjectFormat::GitHubCustom { components }, Scope::Project) => github_prefix(components, false)
            .ok_or_else(|| unsupported("the subject does not start with the repository (repo, repository or repository_id, after any owner keys), so no prefix names one repository".into()))?,
        (SubjectFormat::GitHubCustom { components }, Scope::Group | Scope::Org) => github_prefix(components, true)
            .ok_or_else(|| unsupported("the subject does not start with the owner (repository_owner, repository_owner_id, enterprise…) or the repository's name, so no prefix names one organisation".into()))?,
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

    fn claims(mut v: serde_json::Value) -> Claims {
        v["exp"] = 2_000_000_000.into();
        crate::jwt::decode_claims(&crate::jwt::test_token(v)).unwrap()
    }

    #[test]
    fn customised_github_parts_must_carry_the_tokens_claims() {
        let sub = "repository_owner_id:72338201:repository_id:567890:pull_request";
        let agree =
            claims(serde_json::json!({"repository_owner_id": 72338201, "repository_id": "567890"}));
        let disagree = claims(serde_json::json!({"repository_owner_id": "1"}));
        assert!(matches!(
            SubjectFormat::of_token(sub, Some(&agree)),
            SubjectFormat::GitHubCustom { .. }
        ));
        assert_eq!(
            SubjectFormat::of_token(sub, Some(&disagree)),
            SubjectFormat::Unknown
        );
        // A `:` inside a claim value is `%3A` in the subject.
        let env = claims(serde_json::json!({"repository_id": "5", "environment": "prod:eu"}));
        assert!(matches!(
            SubjectFormat::of_token("repository_id:5:environment:prod%3Aeu", Some(&env)),
            SubjectFormat::GitHubCustom { .. }
        ));
    }

    #[test]
    fn customised_gitlab_subjects_take_only_ref_and_ref_type_once_each() {
        for sub in [
            "project_path:g/p:ref:main:ref:dev",
            "project_path:g/p:pull_request",
            "project_path:g/p:environment:prod",
            "project_path:p:ref:main",
        ] {
            assert_eq!(SubjectFormat::of(sub), SubjectFormat::Unknown, "{sub}");
        }
        assert_eq!(
            SubjectFormat::of("project_path:g/p:ref:main"),
            SubjectFormat::GitLabCustom {
                path: "g/p".into(),
                ref_type: None,
                git_ref: Some("main".into()),
            }
        );
    }

    #[test]
    fn other_cis_subjects_are_not_read_as_customised_github_ones() {
        for sub in [
            "organization:acme:project:p:workspace:w:run_phase:apply",
            "space:root:stack:s:run_type:TRACKED:scope:write",
            "system:serviceaccount:ns:sa",
            "ref:refs/heads/main",
        ] {
            assert_eq!(SubjectFormat::of(sub), SubjectFormat::Unknown, "{sub}");
        }
    }
}
