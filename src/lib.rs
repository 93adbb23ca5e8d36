//! aws-ci-creds: a `credential_process` provider for CI jobs.
//!
//! A run takes the job's OIDC ID token ([`source`]), exchanges it with STS
//! `AssumeRoleWithWebIdentity` ([`sts`]), caches the temporary credentials on disk and prints the
//! JSON the SDKs expect ([`output`]). Settings are resolved in [`config`]; failures are
//! [`error::Error`]s with the exit codes of [`exit_code`]. See `docs/` for the user guide.

pub mod app;
pub mod arn;
#[cfg(unix)] // the cache relies on file ownership, modes, O_NOFOLLOW and flock
pub mod cache;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod context;
pub mod credentials;
pub mod diag;
pub mod env;
pub mod error;
pub mod exit_code;
pub mod flow;
pub mod jwt;
pub mod net;
pub mod output;
pub mod panic;
pub mod profile;
pub mod profile_file;
pub mod secret;
pub mod serve;
pub mod session;
pub mod setting;
pub mod shlex;
pub mod source;
pub mod source_kind;
pub mod sts;
pub mod uid;
pub mod vars;

/// The version `--version` prints: the crate version and, when built from git, the commit.
/// Set by `build.rs`.
pub const VERSION: &str = env!("AWS_CI_CREDS_VERSION");
