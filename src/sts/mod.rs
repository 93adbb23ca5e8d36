//! The STS exchange: `AssumeRoleWithWebIdentity`, and `AssumeRole` for chained hops, behind the
//! small [`Exchange`] trait (`sdk.rs`: the real one, through aws-sdk-sts), the retry loops around
//! them (`retry.rs`, `chain.rs`), and the translation of every STS answer into an
//! [`crate::error::Error`] a user can act on (`explain.rs`, and `chain.rs` for a chained hop).
//!
//! The SDK client is built from the resolved [`crate::config::Config`] alone, with no
//! credentials provider: the web-identity call is unsigned (a chained hop is signed with the
//! previous hop's credentials, given to that one call), and resolving credentials through the default
//! chain could run this very tool again from the profile that invokes it. Region and endpoint
//! are explicit, so what `-v` shows and what the cache key covers is exactly what is called.
//! Retries are ours, not the SDK's: only we can mint a new GitHub token between attempts.

use crate::config::RoleArn;
use crate::credentials::Credentials;
use crate::error::BoxError;
use crate::jwt::Token;
use crate::source::BoxFuture;

mod chain;
mod explain;
mod retry;
mod sdk;

pub use chain::{ChainAttempt, EXPIRED_SESSION, assume_chained};
pub use explain::{check_not_expired, explain, human_duration, issuer_key};
pub use retry::{Attempt, Backoff, exchange};
pub use sdk::SdkExchange;

/// What is asked of STS.
#[derive(Debug, Clone)]
pub struct AssumeRequest {
    pub role: RoleArn,
    pub session_name: String,
    pub duration_seconds: u32,
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
    pub endpoint: String,
    pub region: String,
}

/// What is asked of STS for a chained hop (`AssumeRole`, signed by the previous hop).
#[derive(Debug, Clone)]
pub struct ChainedRequest {
    /// 1 for the first role after the web-identity one.
    pub hop: usize,
    pub role: RoleArn,
    /// The role whose session signs the request (what the trust policy must name).
    pub previous_role: RoleArn,
    pub session_name: String,
    pub duration_seconds: u32,
    pub external_id: Option<String>,
    /// Session tags (`sts:TagSession`), transitive keys, source identity (`sts:SetSourceIdentity`).
    pub tags: Vec<(String, String)>,
    pub transitive_tag_keys: Vec<String>,
    pub source_identity: Option<String>,
    pub endpoint: String,
    pub region: String,
}

/// How one attempt failed.
#[derive(Debug)]
pub enum StsFailure {
    /// STS answered with an error.
    Service {
        code: String,
        message: String,
        status: u16,
    },
    /// No usable answer: refused connection, timeout, reset, garbled body.
    Transport {
        what: String,
        cause: Option<BoxError>,
    },
}

impl StsFailure {
    /// Transient failures worth another attempt within the deadline.
    pub fn retryable(&self) -> bool {
        match self {
            // An untrusted certificate stays untrusted: say so now, not at the deadline.
            StsFailure::Transport { cause, .. } => !cause
                .as_ref()
                .is_some_and(|c| c.is::<crate::net::CertificateError>()),
            StsFailure::Service {
                code,
                message,
                status,
            } => {
                matches!(
                    code.as_str(),
                    "IDPCommunicationError"
                        | "Throttling"
                        | "ThrottlingException"
                        | "RequestLimitExceeded"
                        | "InternalFailure"
                        | "InternalError"
                        | "ServiceUnavailable"
                ) || (code == "InvalidIdentityToken"
                    && message.contains("retrieve verification key"))
                    || *status >= 500
            }
        }
    }
}

/// One attempt at either request kind.
pub trait Exchange: Send + Sync {
    /// `AssumeRoleWithWebIdentity`, unsigned.
    fn assume<'a>(
        &'a self,
        request: &'a AssumeRequest,
        token: &'a Token,
    ) -> BoxFuture<'a, Result<Credentials, StsFailure>>;

    /// `AssumeRole`, signed with `previous`.
    fn assume_role<'a>(
        &'a self,
        request: &'a ChainedRequest,
        previous: &'a Credentials,
    ) -> BoxFuture<'a, Result<Credentials, StsFailure>>;
}

#[cfg(test)]
mod tests;
