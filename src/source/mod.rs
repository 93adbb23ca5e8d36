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
mod env0;
mod file;
mod github;
mod gitlab;
pub use gitlab::uses_legacy_variable as gitlab_uses_legacy;
pub mod http;
mod jenkins;
mod spacelift;
mod tfc;
mod token_command;
mod variable;

use std::future::Future;
use std::pin::Pin;

use crate::config::{Config, Origin};
use crate::diag::Diag;
use crate::env::Env;
use crate::error::Error;
use crate::jwt::{Claims, Token, sha256_hex};

pub use azure::AzureSource;
pub use bitbucket::BitbucketSource;
pub use buildkite::BuildkiteSource;
pub use circleci::CircleCiSource;
pub use codefresh::CodefreshSource;
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

pub use crate::source_kind::{SourceKind, UnknownSource};

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

/// Picks the token source for this run; see the module docs for the order.
/// Returns the source and why it was chosen.
pub fn detect(
    cfg: &Config,
    env: &Env,
    diag: Diag,
) -> Result<(Box<dyn TokenSource>, String), Error> {
    let forced = cfg.source.value;
    let token_file_explicit = explicit_token_file(cfg);
    let jenkins = is_jenkins(env);

    if let Some(kind) = forced {
        let why = format!("{} asked for it", cfg.source.origin);
        return Ok((build(kind, cfg, env, diag)?, why));
    }
    if let Some(command) = &cfg.token_command {
        return Ok((
            build(SourceKind::Command, cfg, env, diag)?,
            format!("{} names the command", command.origin),
        ));
    }
    if let Some(name) = &cfg.token_env {
        if env.is("GITLAB_CI", "true") {
            return Ok((
                Box::new(GitLabSource::new(cfg, env)),
                format!("{} names the variable and GITLAB_CI=true", name.origin),
            ));
        }
        if jenkins {
            return Ok((
                build(SourceKind::Jenkins, cfg, env, diag)?,
                format!(
                    "{} names the variable and JENKINS_URL and BUILD_ID are set",
                    name.origin
                ),
            ));
        }
        return Ok((
            build(SourceKind::Env, cfg, env, diag)?,
            format!("{} names the variable", name.origin),
        ));
    }
    if let Some(file) = token_file_explicit {
        if jenkins {
            return Ok((
                build(SourceKind::Jenkins, cfg, env, diag)?,
                format!(
                    "{} names the file and JENKINS_URL and BUILD_ID are set",
                    file.origin
                ),
            ));
        }
        return Ok((
            build(SourceKind::File, cfg, env, diag)?,
            format!("{} names the file", file.origin),
        ));
    }
    if let Some(ci) = detect_ci(env) {
        let (kind, why) = (ci.kind, ci.why());
        let why = match &cfg.token_file {
            Some(f) if kind != SourceKind::File => format!(
                "{why} (a CI job's own identity comes before {}, the pod's service-account token)",
                f.origin
            ),
            _ => why,
        };
        return Ok((build(kind, cfg, env, diag)?, why));
    }
    if let Some(file) = &cfg.token_file {
        return Ok((
            build(SourceKind::File, cfg, env, diag)?,
            format!(
                "{} is set (Kubernetes / EKS service-account token)",
                file.origin
            ),
        ));
    }
    Err(Error::token(
        "no OIDC token source found: this does not look like a CI job with an ID token",
        "in GitLab CI add `id_tokens:` to the job; in GitHub Actions add `permissions: id-token: write`;\n\
         elsewhere pass --token-file PATH, --token-env NAME or --token-command CMD, or --source NAME\n\
         (see docs/ci/README.md for every supported CI)",
    ))
}

/// The CI a job runs in, as its marker variables show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiMatch {
    pub kind: SourceKind,
    /// The variable fact that matched: "GITHUB_ACTIONS=true", "TFC_RUN_ID is set".
    pub marker: String,
}

impl CiMatch {
    /// Why this source was chosen, for `-v`. Markers that do not name their CI get its name.
    pub fn why(&self) -> String {
        match self.kind {
            SourceKind::Azure
            | SourceKind::Codefresh
            | SourceKind::Tfc
            | SourceKind::Spacelift
            | SourceKind::Env0 => format!("{} ({})", self.marker, self.kind.ci_name()),
            _ => self.marker.clone(),
        }
    }
}

/// The CI this environment belongs to, by its marker variables, in precedence order. The one
/// detection both credential mode and `doctor` use.
pub fn detect_ci(env: &Env) -> Option<CiMatch> {
    let is_set = |name: &'static str| env.get(name).is_some().then(|| format!("{name} is set"));
    let is = |name: &str, value: &str| env.is(name, value).then(|| format!("{name}={value}"));
    let found = if let Some(m) = is("GITHUB_ACTIONS", "true") {
        (SourceKind::GitHub, m)
    } else if let Some(m) = is("GITLAB_CI", "true") {
        (SourceKind::GitLab, m)
    } else if let Some(m) = is("CIRCLECI", "true") {
        (SourceKind::CircleCi, m)
    } else if let Some(m) = is_set("BITBUCKET_BUILD_NUMBER") {
        (SourceKind::Bitbucket, m)
    } else if let Some(m) = is("BUILDKITE", "true") {
        (SourceKind::Buildkite, m)
    } else if let Some(m) = is("TF_BUILD", "True") {
        (SourceKind::Azure, m)
    } else if let Some(m) = is_set("CF_BUILD_ID") {
        (SourceKind::Codefresh, m)
    } else if let Some(m) = is_set("TFC_RUN_ID").or_else(|| is_set(tfc::TOKEN)) {
        (SourceKind::Tfc, m)
    } else if let Some(m) = is("SPACELIFT", "true")
        .or_else(|| is_set(spacelift::RUN_ID))
        .or_else(|| is_set(spacelift::TOKEN))
    {
        (SourceKind::Spacelift, m)
    } else if let Some(m) = is_set("ENV0_ENVIRONMENT_ID").or_else(|| is_set(env0::TOKEN)) {
        (SourceKind::Env0, m)
    } else if is_jenkins(env) {
        (
            SourceKind::Jenkins,
            "JENKINS_URL and BUILD_ID are set".to_string(),
        )
    } else {
        return None;
    };
    Some(CiMatch {
        kind: found.0,
        marker: found.1,
    })
}

fn is_jenkins(env: &Env) -> bool {
    env.get("JENKINS_URL").is_some() && env.get("BUILD_ID").is_some()
}

/// `--token-file` or `AWS_CI_CREDS_TOKEN_FILE`, not the ambient `AWS_WEB_IDENTITY_TOKEN_FILE`.
pub(crate) fn explicit_token_file(
    cfg: &Config,
) -> Option<&crate::config::Setting<std::path::PathBuf>> {
    cfg.token_file
        .as_ref()
        .filter(|f| !matches!(f.origin, Origin::Env(crate::config::vars::AWS_TOKEN_FILE)))
}

fn build(
    kind: SourceKind,
    cfg: &Config,
    env: &Env,
    diag: Diag,
) -> Result<Box<dyn TokenSource>, Error> {
    Ok(match kind {
        SourceKind::GitLab => Box::new(GitLabSource::new(cfg, env)),
        SourceKind::GitHub => Box::new(GitHubSource::new(cfg, env)),
        SourceKind::CircleCi => Box::new(CircleCiSource::new(cfg, env)),
        SourceKind::Bitbucket => Box::new(BitbucketSource::new(cfg, env)),
        SourceKind::Buildkite => Box::new(BuildkiteSource::new(cfg, env, diag)),
        SourceKind::Azure => Box::new(AzureSource::new(cfg, env)),
        SourceKind::Jenkins => Box::new(JenkinsSource::new(cfg, env)?),
        SourceKind::Tfc => Box::new(TfcSource::new(cfg, env)),
        SourceKind::Spacelift => Box::new(SpaceliftSource::new(cfg, env)),
        SourceKind::Env0 => Box::new(Env0Source::new(cfg, env)),
        SourceKind::Codefresh => Box::new(CodefreshSource::new(cfg, env)),
        SourceKind::Command => Box::new(CommandSource::new(cfg, env, diag)?),
        SourceKind::File => Box::new(FileSource::new(cfg, env)?),
        SourceKind::Env => Box::new(VariableSource::new(cfg, env)?),
    })
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
mod tests {
    use super::*;
    use crate::cli::CredentialArgs;

    fn detect_in(args: CredentialArgs, vars: &[(&str, &str)]) -> Result<SourceKind, Error> {
        let env = Env::from_pairs(vars.iter().copied());
        let cfg = Config::resolve(&args, &env)?;
        detect(&cfg, &env, Diag::default()).map(|(s, _)| s.kind())
    }

    #[test]
    fn detection_precedence_table() {
        let none = CredentialArgs::default;
        let token_env = || CredentialArgs {
            token_env: Some("MY_TOKEN".into()),
            ..none()
        };
        let token_file = || CredentialArgs {
            token_file: Some("/t".into()),
            ..none()
        };
        let forced = || CredentialArgs {
            source: Some("file".into()),
            token_file: Some("/t".into()),
            ..none()
        };
        let k8s = ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token");
        let gl = ("GITLAB_CI", "true");
        let gh = ("GITHUB_ACTIONS", "true");
        let circle = ("CIRCLECI", "true");
        let bb = ("BITBUCKET_BUILD_NUMBER", "12");
        let bk = ("BUILDKITE", "true");
        let ado = ("TF_BUILD", "True");
        let cf = ("CF_BUILD_ID", "abc");
        let tfc = ("TFC_RUN_ID", "run-1");
        let sl = ("SPACELIFT", "true");
        let sl_run = ("TF_VAR_spacelift_run_id", "01J");
        let e0 = ("ENV0_ENVIRONMENT_ID", "e");
        let (jk_url, jk_build) = (("JENKINS_URL", "https://ci/"), ("BUILD_ID", "7"));
        let command = || CredentialArgs {
            token_command: Some("print-token --aud x".into()),
            ..none()
        };
        let forced_bk = || CredentialArgs {
            source: Some("buildkite".into()),
            ..none()
        };
        type Row<'a> = (CredentialArgs, Vec<(&'a str, &'a str)>, SourceKind);
        let table: Vec<Row> = vec![
            (forced(), vec![gl, gh], SourceKind::File),
            (forced_bk(), vec![gl, k8s], SourceKind::Buildkite),
            (command(), vec![gl, gh, bk, k8s], SourceKind::Command),
            (
                none(),
                vec![("AWS_CI_CREDS_TOKEN_COMMAND", "x"), circle],
                SourceKind::Command,
            ),
            (token_env(), vec![jk_url, jk_build], SourceKind::Jenkins),
            (
                token_file(),
                vec![jk_url, jk_build, k8s],
                SourceKind::Jenkins,
            ),
            (none(), vec![gh, circle, bk], SourceKind::GitHub),
            (none(), vec![gl, circle, k8s], SourceKind::GitLab),
            (none(), vec![circle, k8s], SourceKind::CircleCi),
            (none(), vec![bb, k8s], SourceKind::Bitbucket),
            (
                none(),
                vec![bk, jk_url, jk_build, k8s],
                SourceKind::Buildkite,
            ),
            (none(), vec![ado, k8s], SourceKind::Azure),
            (none(), vec![cf, jk_url, jk_build], SourceKind::Codefresh),
            (none(), vec![tfc, k8s], SourceKind::Tfc),
            (
                none(),
                vec![("TFC_WORKLOAD_IDENTITY_TOKEN", "x")],
                SourceKind::Tfc,
            ),
            (none(), vec![sl, k8s], SourceKind::Spacelift),
            (none(), vec![sl_run], SourceKind::Spacelift),
            (none(), vec![e0, k8s], SourceKind::Env0),
            (none(), vec![jk_url, jk_build, k8s], SourceKind::Jenkins),
            (none(), vec![jk_url, k8s], SourceKind::File),
            (token_env(), vec![gh, ("MY_TOKEN", "x")], SourceKind::Env),
            (token_env(), vec![gl], SourceKind::GitLab),
            (token_file(), vec![gl, gh], SourceKind::File),
            (none(), vec![gh, gl, k8s], SourceKind::GitHub),
            (none(), vec![gl, k8s], SourceKind::GitLab),
            (none(), vec![k8s], SourceKind::File),
            (
                none(),
                vec![("AWS_CI_CREDS_TOKEN_FILE", "/t"), gl],
                SourceKind::File,
            ),
        ];
        for (args, vars, expected) in table {
            let got = detect_in(args.clone(), &vars).unwrap();
            assert_eq!(got, expected, "args {args:?} vars {vars:?}");
        }
    }

    #[test]
    fn the_reason_names_the_variables_and_the_pod_token_passed_over() {
        let env = Env::from_pairs([
            ("CIRCLECI", "true"),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token"),
        ]);
        let cfg = Config::resolve(&CredentialArgs::default(), &env).unwrap();
        let (_, why) = detect(&cfg, &env, Diag::default()).unwrap();
        assert!(why.contains("CIRCLECI=true"), "{why}");
        assert!(why.contains("AWS_WEB_IDENTITY_TOKEN_FILE"), "{why}");
        let env = Env::from_pairs([("TF_BUILD", "True")]);
        let cfg = Config::resolve(&CredentialArgs::default(), &env).unwrap();
        let (_, why) = detect(&cfg, &env, Diag::default()).unwrap();
        assert_eq!(why, "TF_BUILD=True (Azure Pipelines)");
    }

    #[test]
    fn job_identity_needs_a_per_job_secret_and_never_contains_it() {
        let secret = "bk-agent-access-token-value";
        let env = Env::from_pairs([
            ("BUILDKITE_JOB_ID", "j-1"),
            ("BUILDKITE_AGENT_ACCESS_TOKEN", secret),
        ]);
        let id = job_identity(&env).unwrap();
        assert!(id.starts_with("buildkite:"), "{id}");
        assert!(id.contains("j-1"), "{id}");
        assert!(!id.contains(secret), "{id}");
        let other = Env::from_pairs([
            ("BUILDKITE_JOB_ID", "j-1"),
            ("BUILDKITE_AGENT_ACCESS_TOKEN", "another-jobs-token"),
        ]);
        assert_ne!(job_identity(&other).unwrap(), id);
        // Identifiers alone can be guessed by any job on the machine: no identity.
        let ids_only = Env::from_pairs([("BUILDKITE_JOB_ID", "j-1"), ("JENKINS_URL", "x")]);
        assert_eq!(job_identity(&ids_only), None);
    }

    #[test]
    fn ci_session_names_come_from_job_identifiers() {
        let env = Env::from_pairs([
            ("BUILDKITE_PIPELINE_SLUG", "deploy-app"),
            ("BUILDKITE_BUILD_NUMBER", "42"),
        ]);
        assert_eq!(ci_session_name(&env).as_deref(), Some("bk-deploy-app-42"));
        let env = Env::from_pairs([("BUILD_BUILDID", "981")]);
        assert_eq!(ci_session_name(&env).as_deref(), Some("ado-981"));
        let env = Env::from_pairs([("JOB_NAME", "team/app main"), ("BUILD_NUMBER", "5")]);
        assert_eq!(
            ci_session_name(&env).as_deref(),
            Some("jenkins-team-app-main-5")
        );
        assert_eq!(ci_session_name(&Env::default()), None);
    }

    #[test]
    fn nothing_detected_says_what_to_add() {
        let err = detect_in(CredentialArgs::default(), &[("CI", "true")])
            .err()
            .unwrap();
        let text = err.to_string();
        assert!(text.contains("id_tokens"), "{text}");
        assert!(text.contains("id-token: write"), "{text}");
        assert!(text.contains("--token-file"), "{text}");
        assert!(text.contains("--token-command"), "{text}");
    }

    #[test]
    fn known_job_claims_name_the_session_whatever_the_source() {
        let claims =
            |v: serde_json::Value| crate::jwt::decode_claims(&crate::jwt::test_token(v)).unwrap();
        let gl = claims(serde_json::json!({"exp": 1, "project_id": "42", "job_id": "7"}));
        assert_eq!(session_name_from_claims(&gl).as_deref(), Some("gl-42-7"));
        let gh = claims(serde_json::json!({"exp": 1, "run_id": "9", "run_attempt": "1"}));
        assert_eq!(session_name_from_claims(&gh).as_deref(), Some("gh-9-1"));
        let none = claims(serde_json::json!({"exp": 1, "iat": 1700000000}));
        assert_eq!(session_name_from_claims(&none), None);
        assert_eq!(
            fallback_session_name(Some(&none), chrono::DateTime::UNIX_EPOCH),
            "aws-ci-creds-1700000000"
        );
    }

    #[test]
    fn source_names_round_trip() {
        for kind in SourceKind::ALL {
            assert_eq!(SourceKind::parse(kind.name()), Ok(Some(kind)));
        }
        assert_eq!(SourceKind::parse("AUTO"), Ok(None));
        assert!(SourceKind::parse("jenkins2").is_err());
    }
}
