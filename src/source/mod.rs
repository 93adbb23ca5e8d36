//! Where the OIDC ID token comes from: one file per CI or token kind behind [`TokenSource`], and
//! the detection precedence that picks one in `--source auto`.
//!
//! Detection order (first match wins; `-v` says which matched and why):
//!
//! | # | condition                                            | source   |
//! |---|------------------------------------------------------|----------|
//! | 1 | `--source NAME` or `AWS_CI_CREDS_SOURCE`             | that one |
//! | 2 | `--token-env NAME` (in a GitLab job: GitLab, by name)| env      |
//! | 3 | `--token-file` or `AWS_CI_CREDS_TOKEN_FILE`          | file     |
//! | 4 | `GITHUB_ACTIONS=true`                                | github   |
//! | 5 | `GITLAB_CI=true`                                     | gitlab   |
//! | 6 | `AWS_WEB_IDENTITY_TOKEN_FILE` (Kubernetes, EKS)      | file     |
//!
//! What the user names beats what the CI implies, and the CI job's own identity beats an ambient
//! Kubernetes service-account token (a GitLab job on a Kubernetes runner is still a GitLab job).

mod file;
mod github;
mod gitlab;
pub use gitlab::uses_legacy_variable as gitlab_uses_legacy;
pub mod http;
mod variable;

use std::future::Future;
use std::pin::Pin;

use crate::config::{Config, Origin};
use crate::env::Env;
use crate::error::Error;
use crate::jwt::{Claims, Token};

pub use file::FileSource;
pub use github::GitHubSource;
pub use gitlab::GitLabSource;
pub use variable::VariableSource;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The kinds of token source, as `--source` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    GitLab,
    GitHub,
    File,
    Env,
}

impl SourceKind {
    pub const ALL: [SourceKind; 4] = [
        SourceKind::GitLab,
        SourceKind::GitHub,
        SourceKind::File,
        SourceKind::Env,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SourceKind::GitLab => "gitlab",
            SourceKind::GitHub => "github",
            SourceKind::File => "file",
            SourceKind::Env => "env",
        }
    }

    /// `None` for `auto`.
    pub fn parse(raw: &str) -> Result<Option<SourceKind>, UnknownSource> {
        let raw = raw.trim().to_ascii_lowercase();
        if raw == "auto" {
            return Ok(None);
        }
        SourceKind::ALL
            .into_iter()
            .find(|k| k.name() == raw)
            .map(Some)
            .ok_or(UnknownSource)
    }

    pub fn names() -> Vec<&'static str> {
        SourceKind::ALL.iter().map(|k| k.name()).collect()
    }
}

/// A `--source` value that names no source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownSource;

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
}

/// Picks the token source for this run; see the module docs for the order.
/// Returns the source and why it was chosen.
pub fn detect(cfg: &Config, env: &Env) -> Result<(Box<dyn TokenSource>, String), Error> {
    let forced = cfg.source.value;
    let token_file_explicit = cfg
        .token_file
        .as_ref()
        .filter(|f| !matches!(f.origin, Origin::Env(crate::config::vars::AWS_TOKEN_FILE)));

    if let Some(kind) = forced {
        let why = format!("{} asked for it", cfg.source.origin);
        return Ok((build(kind, cfg, env)?, why));
    }
    if let Some(name) = &cfg.token_env {
        if env.is("GITLAB_CI", "true") {
            return Ok((
                Box::new(GitLabSource::new(cfg, env)),
                format!("{} names the variable and GITLAB_CI=true", name.origin),
            ));
        }
        return Ok((
            build(SourceKind::Env, cfg, env)?,
            format!("{} names the variable", name.origin),
        ));
    }
    if let Some(file) = token_file_explicit {
        return Ok((
            build(SourceKind::File, cfg, env)?,
            format!("{} names the file", file.origin),
        ));
    }
    if env.is("GITHUB_ACTIONS", "true") {
        return Ok((
            build(SourceKind::GitHub, cfg, env)?,
            "GITHUB_ACTIONS=true".into(),
        ));
    }
    if env.is("GITLAB_CI", "true") {
        return Ok((
            build(SourceKind::GitLab, cfg, env)?,
            "GITLAB_CI=true".into(),
        ));
    }
    if let Some(file) = &cfg.token_file {
        return Ok((
            build(SourceKind::File, cfg, env)?,
            format!(
                "{} is set (Kubernetes / EKS service-account token)",
                file.origin
            ),
        ));
    }
    Err(Error::token(
        "no OIDC token source found: this does not look like a CI job with an ID token",
        "in GitLab CI add `id_tokens:` to the job; in GitHub Actions add `permissions: id-token: write`;\n\
         elsewhere pass --token-file PATH or --token-env NAME (see docs/configuration.md)",
    ))
}

fn build(kind: SourceKind, cfg: &Config, env: &Env) -> Result<Box<dyn TokenSource>, Error> {
    Ok(match kind {
        SourceKind::GitLab => Box::new(GitLabSource::new(cfg, env)),
        SourceKind::GitHub => Box::new(GitHubSource::new(cfg, env)),
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
        let cfg = Config::resolve(&args, &env, 0)?;
        detect(&cfg, &env).map(|(s, _)| s.kind())
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
        type Row<'a> = (CredentialArgs, Vec<(&'a str, &'a str)>, SourceKind);
        let table: Vec<Row> = vec![
            (forced(), vec![gl, gh], SourceKind::File),
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
    fn nothing_detected_says_what_to_add() {
        let err = detect_in(CredentialArgs::default(), &[("CI", "true")])
            .err()
            .unwrap();
        let text = err.to_string();
        assert!(text.contains("id_tokens"), "{text}");
        assert!(text.contains("id-token: write"), "{text}");
        assert!(text.contains("--token-file"), "{text}");
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
            fallback_session_name(Some(&none), chrono::Utc::now()),
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
