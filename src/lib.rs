//! aws-ci-creds: a `credential_process` provider for CI jobs.
//!
//! A run takes the job's OIDC ID token, exchanges it with STS `AssumeRoleWithWebIdentity`, caches
//! the temporary credentials on disk and prints the JSON the AWS SDKs expect. See
//! `docs/` for the user guide and [`exit_code`] for the exit-code table.

pub mod clock;
pub mod credentials;
pub mod emulator;
pub mod env;
pub mod error;
pub mod exit_code;
pub mod secret;
