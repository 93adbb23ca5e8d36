//! aws-ci-creds: a `credential_process` provider for CI jobs.
//!
//! A run takes the job's OIDC ID token ([`source`]), exchanges it with STS
//! `AssumeRoleWithWebIdentity` ([`sts`]), caches the temporary credentials on disk and prints the
//! JSON the SDKs expect ([`output`]). Settings are resolved in [`config`]; failures are
//! [`error::Error`]s with the exit codes of [`exit_code`]. See `docs/` for the user guide.

mod app;
mod arn;
mod cache;
mod cli;
mod clock;
mod commands;
mod config;
mod context;
mod credentials;
mod diag;
mod env;
mod error;
mod exit_code;
mod flow;
mod jwt;
mod net;
mod output;
mod panic;
mod profile;
mod profile_file;
mod secret;
mod serve;
mod session;
mod setting;
mod shlex;
mod source;
mod source_kind;
mod sts;
mod sys;
mod vars;

// The binary's surface: main.rs parses, builds the context, runs and maps the outcome.
pub use app::run;
pub use cli::Cli;
pub use commands::Outcome;
pub use context::Ctx;
pub use output::Out;
pub use panic::install_hook;

/// What the integration tests and fuzz targets reach inside the crate for; not an interface, and
/// it changes whenever they do.
#[doc(hidden)]
pub mod testing {
    pub mod cache {
        pub use crate::cache::{EntryState, decode_entry};
    }
    pub mod cli {
        pub use crate::cli::{CacheOptions, CredentialArgs, command};
    }
    pub mod config {
        pub use crate::config::{Config, RoleArn, parse_duration, resolve_cache, vars};
    }
    pub mod env {
        pub use crate::env::Env;
    }
    pub mod error {
        pub use crate::error::Error;
    }
    pub mod jwt {
        pub use crate::jwt::{Claims, Token, looks_like_jwt};
    }
    pub mod profile_file {
        pub mod command_line {
            pub use crate::profile_file::command_line::{Arg, Reader, build};
        }
    }
    pub mod session {
        pub use crate::session::{sanitize, validate};
    }
    pub mod source {
        pub use crate::source::{
            Acquired, SourceKind, TokenSource, fallback_session_name, session_name_from_claims,
        };
        pub mod command {
            pub use crate::source::command::split;
        }
    }
    pub mod sts {
        pub use crate::sts::{
            AssumeRequest, StsFailure, check_not_expired, explain, human_duration, issuer_key,
        };
    }
    #[cfg(unix)]
    pub mod uid {
        pub use crate::sys::user::euid;
    }
}

/// The exit status for `exec`'s child's code ([`Outcome::Child`]).
pub fn child_exit(code: i32) -> std::process::ExitCode {
    sys::process::exit_with(code)
}

/// The version `--version` prints: the crate version and, when built from git, the commit.
/// Set by `build.rs`.
pub const VERSION: &str = env!("AWS_CI_CREDS_VERSION");
