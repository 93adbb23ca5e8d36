//! The kinds of token source, as `--source` names them: a plain enum beside [`crate::source`],
//! so the config resolver can name and validate one without importing the sources (which take
//! the config's `SourceSettings`).

/// The kinds of token source, as `--source` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    GitLab,
    GitHub,
    CircleCi,
    Bitbucket,
    Buildkite,
    Azure,
    Jenkins,
    Tfc,
    Spacelift,
    Env0,
    Codefresh,
    Command,
    File,
    Env,
}

impl SourceKind {
    pub const ALL: [SourceKind; 14] = [
        SourceKind::GitLab,
        SourceKind::GitHub,
        SourceKind::CircleCi,
        SourceKind::Bitbucket,
        SourceKind::Buildkite,
        SourceKind::Azure,
        SourceKind::Jenkins,
        SourceKind::Tfc,
        SourceKind::Spacelift,
        SourceKind::Env0,
        SourceKind::Codefresh,
        SourceKind::Command,
        SourceKind::File,
        SourceKind::Env,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SourceKind::GitLab => "gitlab",
            SourceKind::GitHub => "github",
            SourceKind::CircleCi => "circleci",
            SourceKind::Bitbucket => "bitbucket",
            SourceKind::Buildkite => "buildkite",
            SourceKind::Azure => "azure",
            SourceKind::Jenkins => "jenkins",
            SourceKind::Tfc => "tfc",
            SourceKind::Spacelift => "spacelift",
            SourceKind::Env0 => "env0",
            SourceKind::Codefresh => "codefresh",
            SourceKind::Command => "command",
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

    /// The product's name, for messages: "GitHub Actions", "HCP Terraform".
    pub fn ci_name(self) -> &'static str {
        match self {
            SourceKind::GitLab => "GitLab CI",
            SourceKind::GitHub => "GitHub Actions",
            SourceKind::CircleCi => "CircleCI",
            SourceKind::Bitbucket => "Bitbucket Pipelines",
            SourceKind::Buildkite => "Buildkite",
            SourceKind::Azure => "Azure Pipelines",
            SourceKind::Jenkins => "Jenkins",
            SourceKind::Tfc => "HCP Terraform",
            SourceKind::Spacelift => "Spacelift",
            SourceKind::Env0 => "env0",
            SourceKind::Codefresh => "Codefresh",
            SourceKind::Command => "a token command",
            SourceKind::File => "a token file",
            SourceKind::Env => "a token variable",
        }
    }

    pub fn names() -> Vec<&'static str> {
        SourceKind::ALL.iter().map(|k| k.name()).collect()
    }
}

/// A `--source` value that names no source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownSource;
