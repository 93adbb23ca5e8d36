//! Where the OIDC ID token comes from: one file per CI or token kind behind [`TokenSource`], and
//! the detection precedence that picks one in `--source auto`.
//!
//! Detection order (first match wins; `-v` says which matched and why):
//!
//! | #  | condition                                                        | source    |
//! |----|------------------------------------------------------------------|-----------|
//! | 1  | `--source NAME` or `AWS_CI_CREDS_SOURCE`                         | that one  |
//! | 2  | `--token-command` or `AWS_CI_CREDS_TOKEN_COMMAND`                | command   |
//! | 3  | `--token-env NAME` (in GitLab: gitlab; in Jenkins: jenkins)      | env       |
//! | 4  | `--token-file` or `AWS_CI_CREDS_TOKEN_FILE` (in Jenkins: jenkins)| file      |
//! | 5  | `GITHUB_ACTIONS=true`                                            | github    |
//! | 6  | `GITLAB_CI=true`                                                 | gitlab    |
//! | 7  | `CIRCLECI=true`                                                  | circleci  |
//! | 8  | `BITBUCKET_BUILD_NUMBER`                                         | bitbucket |
//! | 9  | `BUILDKITE=true`                                                 | buildkite |
//! | 10 | `TF_BUILD=True`                                                  | azure     |
//! | 11 | `CF_BUILD_ID`                                                    | codefresh |
//! | 12 | `TFC_RUN_ID` or `TFC_WORKLOAD_IDENTITY_TOKEN`                    | tfc       |
//! | 13 | `SPACELIFT=true`, `TF_VAR_spacelift_run_id` or `SPACELIFT_OIDC_TOKEN` | spacelift |
//! | 14 | `ENV0_ENVIRONMENT_ID` or `ENV0_OIDC_TOKEN`                       | env0      |
//! | 15 | `JENKINS_URL` and `BUILD_ID`                                     | jenkins   |
//! | 16 | `AWS_WEB_IDENTITY_TOKEN_FILE` (Kubernetes, EKS)                  | file      |
//!
//! What the user names beats what the CI implies; a CI job's own identity beats an ambient
//! Kubernetes service-account token (a GitLab job on a Kubernetes runner is still a GitLab job,
//! and when its set-up is missing the error says so rather than silently using the pod's
//! identity); CIs with a dedicated marker come before Jenkins, whose `JENKINS_URL`/`BUILD_ID` are
//! generic enough to leak into other tools' environments. The same table is in docs/ci/README.md.

mod azure;
mod bitbucket;
mod buildkite;
mod circleci;
mod codefresh;
pub mod command;
mod detect;
mod env0;
mod file;
mod github;
mod gitlab;
/// The token-endpoint client lives with the STS one in `net`; sources reach it here.
pub use crate::net::http;
pub use gitlab::uses_legacy_variable as gitlab_uses_legacy;
mod jenkins;
mod spacelift;
mod tfc;
mod token_command;
mod variable;

use std::future::Future;
use std::pin::Pin;

use crate::env::Env;
use crate::error::Error;
use crate::jwt::{Claims, Token, sha256_hex};

pub use azure::AzureSource;
pub use bitbucket::BitbucketSource;
pub use buildkite::BuildkiteSource;
pub use circleci::CircleCiSource;
pub use codefresh::CodefreshSource;
pub use detect::{ci_facts, detect, detect_ci};
pub use env0::Env0Source;
pub use file::FileSource;
pub use github::GitHubSource;
pub use gitlab::GitLabSource;
pub use jenkins::JenkinsSource;
pub use spacelift::SpaceliftSource;
pub use tfc::TfcSource;
pub use token_command::CommandSource;
pub use variable::VariableSource;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub use crate::source_kind::SourceKind;

/// What a source has before any network call.
#[derive(Debug)]
pub enum Acquired {
    /// The token itself (variables and files): read once, used for the key and the exchange.
    Local(Token),
    /// A source that mints tokens on request: what identifies this job, from its environment,
    /// so a cache hit needs no network. The token is minted only on a miss.
    OnRequest { job: String },
}

/// One way of obtaining the job's OIDC ID token.
pub trait TokenSource: Send + Sync {
    fn kind(&self) -> SourceKind;

    /// Where the token is read from, for `-v` and messages: "GitLab id_tokens variable AWS_ID_TOKEN".
    fn describe(&self) -> String;

    /// The token when it is local, or the job identity when it must be minted. No network.
    fn acquire(&self) -> Result<Acquired, Error>;

    /// Mints a fresh token with this audience (network). Only sources that answer
    /// [`Acquired::OnRequest`] need it.
    fn mint<'a>(
        &'a self,
        _http: &'a http::Client,
        _audience: &'a str,
    ) -> BoxFuture<'a, Result<Token, Error>> {
        Box::pin(async move {
            Err(Error::internal(
                format!("the {} source cannot mint tokens", self.kind().name()),
                "mint called on a local source",
            ))
        })
    }

    /// Whether a new token can be had during this job (GitHub: yes; GitLab: no, the job has one).
    fn can_remint(&self) -> bool {
        false
    }

    /// The default session name, from the job's identifiers (claims or CI variables).
    fn session_name(&self, claims: Option<&Claims>) -> Option<String>;

    /// What the user should change when the token is expired, for this source.
    fn expired_fix(&self) -> String {
        "provide a fresh token".into()
    }

    /// Where the token's audience is chosen, for the fix when the IAM OIDC provider does not
    /// list it: "--audience", "the job's `id_tokens: … aud:` line".
    fn audience_fix(&self) -> &'static str {
        "whatever issues the token"
    }

    /// The warning when a local token's `aud` is not `--audience`; `None` for the generic one.
    fn audience_mismatch(&self, _token: &Token, _wanted: &str) -> Option<String> {
        None
    }
}

/// A session name from the job identifiers a token carries, whatever source it came through
/// (a GitLab token in a file is still a GitLab job's token).
pub fn session_name_from_claims(claims: &Claims) -> Option<String> {
    let pair = |prefix: &str, a: &str, b: &str| {
        Some(crate::session::sanitize(&format!(
            "{prefix}-{}-{}",
            claims.text(a)?,
            claims.text(b)?
        )))
    };
    pair("gl", "project_id", "job_id")
        .or_else(|| pair("gh", "run_id", "run_attempt"))
        .or_else(|| pair("bk", "pipeline_slug", "build_number"))
}

/// The CI job this run belongs to, plus a hash of a secret only that job has, for the cache key
/// of a source that mints on request. `None` when no such secret is present: then nothing local
/// tells this job from another one on the same machine.
pub fn job_identity(env: &Env) -> Option<String> {
    type Job = (
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
    );
    const JOBS: &[Job] = &[
        (
            "github",
            &[
                "GITHUB_REPOSITORY",
                "GITHUB_RUN_ID",
                "GITHUB_RUN_ATTEMPT",
                "GITHUB_JOB",
            ],
            &["ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ACTIONS_RUNTIME_TOKEN"],
        ),
        (
            "gitlab",
            &["CI_SERVER_URL", "CI_PROJECT_ID", "CI_JOB_ID"],
            &["CI_JOB_TOKEN"],
        ),
        (
            "circleci",
            &[
                "CIRCLE_PROJECT_REPONAME",
                "CIRCLE_BUILD_NUM",
                "CIRCLE_WORKFLOW_JOB_ID",
            ],
            &[circleci::TOKEN_V2, circleci::TOKEN_V1],
        ),
        (
            "buildkite",
            &[
                "BUILDKITE_ORGANIZATION_SLUG",
                "BUILDKITE_PIPELINE_SLUG",
                "BUILDKITE_JOB_ID",
            ],
            &[buildkite::AGENT_TOKEN],
        ),
        (
            "azure",
            &["SYSTEM_COLLECTIONURI", "BUILD_BUILDID", "SYSTEM_JOBID"],
            &[azure::ACCESS_TOKEN],
        ),
        (
            "bitbucket",
            &[
                "BITBUCKET_REPO_UUID",
                "BITBUCKET_BUILD_NUMBER",
                "BITBUCKET_STEP_UUID",
            ],
            &[bitbucket::TOKEN],
        ),
    ];
    JOBS.iter().find_map(|(ci, ids, secrets)| {
        let secret = secrets.iter().find_map(|s| env.get(s))?;
        let ids: Vec<Option<&str>> = ids.iter().map(|n| env.get(n)).collect();
        Some(job_key(ci, &ids, secret))
    })
}

/// The error for a CI whose token request needs variables the job does not have: which are
/// missing, and the pipeline lines that provide them.
pub(crate) fn missing_setup(what: &str, vars: &[(&str, bool)], fix: &str) -> Error {
    let missing: Vec<&str> = vars.iter().filter(|(_, m)| *m).map(|(n, _)| *n).collect();
    Error::Token(
        crate::error::Message::new(what)
            .detail(format!("not set: {}", missing.join(", ")))
            .fix(fix),
    )
}

/// A cache-key job identity: the CI, its job identifiers (`-` where unknown) and a hash of a
/// secret only this job has, so no other job on the runner can ever be served these credentials.
pub(crate) fn job_key(ci: &str, ids: &[Option<&str>], job_secret: &str) -> String {
    let ids: Vec<&str> = ids.iter().map(|id| id.unwrap_or("-")).collect();
    format!(
        "{ci}:{}:{}",
        ids.join(":"),
        sha256_hex(job_secret.as_bytes())
    )
}

/// A session name from whichever CI's job identifiers are present (for `--token-command`).
pub fn ci_session_name(env: &Env) -> Option<String> {
    let pair = |prefix: &str, a: &str, b: &str| {
        Some(crate::session::sanitize(&format!(
            "{prefix}-{}-{}",
            env.get(a)?,
            env.get(b)?
        )))
    };
    pair("gh", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT")
        .or_else(|| pair("gl", "CI_PROJECT_ID", "CI_JOB_ID"))
        .or_else(|| circleci::session_name_from_env(env))
        .or_else(|| buildkite::session_name_from_env(env))
        .or_else(|| azure::session_name_from_env(env))
        .or_else(|| pair("bb", "BITBUCKET_REPO_SLUG", "BITBUCKET_BUILD_NUMBER"))
        .or_else(|| jenkins::session_name_from_env(env))
}

/// `aws-ci-creds-<seconds>` when no job identifier is known. The token's `iat` is used when it has
/// one, so the same token gives the same name (and the same cache entry) on every run.
pub fn fallback_session_name(
    claims: Option<&Claims>,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let secs = claims
        .and_then(|c| c.iat)
        .unwrap_or_else(|| now.timestamp());
    format!("aws-ci-creds-{secs}")
}

#[cfg(test)]
mod tests;
