//! aws-ci-creds: a `credential_process` provider for CI jobs.
//!
//! A run takes the job's OIDC ID token, exchanges it with STS `AssumeRoleWithWebIdentity`, caches
//! the temporary credentials on disk and prints the JSON the AWS SDKs expect. See
//! `docs/` for the user guide and [`exit_code`] for the exit-code table.

// Unix only: the cache relies on file ownership, modes, `O_NOFOLLOW` and `flock`.
#[cfg(unix)]
pub mod cache;
pub mod clock;
pub mod credentials;
pub mod env;
pub mod error;
pub mod exit_code;
pub mod secret;
