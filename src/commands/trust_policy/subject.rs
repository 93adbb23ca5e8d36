//! Subject formats: how each CI spells `sub` (customised GitHub and GitLab subjects included),
//! read into a [`SubjectFormat`]. What a format allows at each scope is in
//! [`super::condition`].

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
pub(super) const GITHUB_KEYS: &[&str] = &[
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
pub(super) const GITHUB_BARE: &[&str] = &["pull_request"];

/// Keys that name the organisation (enterprise) a repository belongs to.
pub(super) const GITHUB_ORG_KEYS: &[&str] = &[
    "repository_owner",
    "repository_owner_id",
    "enterprise",
    "enterprise_id",
];
/// Keys that name one repository.
pub(super) const GITHUB_REPO_KEYS: &[&str] = &["repo", "repository", "repository_id"];

/// `key:value:key:value…` with keys from `keys`, and the valueless parts in `bare` (GitHub's
/// `context` of a pull request is a bare `pull_request`); `None` when any part is neither.
pub(super) fn components(sub: &str, keys: &[&str], bare: &[&str]) -> Option<Vec<Component>> {
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
