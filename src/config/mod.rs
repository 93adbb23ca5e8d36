//! The resolved configuration: what the commands get, never the raw [`crate::cli`] structs.
//!
//! Every value is layered flag > environment > default, validated once here, and remembers its
//! [`Origin`] so `-v` can say where it came from. All environment variable names the tool reads
//! for its settings live in [`vars`].
//!
//! [`Config::resolve`] hands each concern its own constructor from the raw arguments and the
//! environment: the role and session ([`RoleConfig`], `role.rs`), the token source
//! ([`SourceSettings`], `source.rs`), the network ([`Network`], `network.rs`), the cache
//! ([`CacheConfig`], `cache.rs`), the chained hops and the account guard ([`ChainConfig`],
//! [`AccountGuard`], `chain.rs`); `layer.rs` holds the one layer-then-check shape they all use,
//! and `describe.rs` the `-v` lines.

mod cache;
mod chain;
mod describe;
mod layer;
mod network;
mod role;
mod source;
mod tags;

use std::time::Duration;

use crate::cli::{CacheOptions, CredentialArgs};
use crate::env::Env;
use crate::error::Error;

// The leaf types every layer shares, re-exported so `config::Origin` etc. keep reading naturally.
pub use crate::arn::RoleArn;
pub use crate::net::Network;
pub use crate::setting::{Origin, vars};
pub use cache::CacheConfig;
pub use chain::{AccountGuard, ChainConfig};
pub use role::RoleConfig;
pub use source::SourceSettings;
pub use tags::{MAX_TAG_VALUE, MAX_TAGS, is_tag_char};

pub const DEFAULT_AUDIENCE: &str = "sts.amazonaws.com";
pub const DEFAULT_DURATION_SECONDS: u32 = 3600;
pub const MIN_DURATION_SECONDS: u32 = 900;
pub const MAX_DURATION_SECONDS: u32 = 43200;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// botocore's advisory refresh window: credentials with less left make it re-run the process.
pub const DEFAULT_REFRESH_MARGIN_SECONDS: i64 = 15 * 60;

/// Everything credential mode needs, resolved and validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub role: RoleConfig,
    pub source: SourceSettings,
    pub network: Network,
    pub cache: CacheConfig,
    pub chain: ChainConfig,
    pub guard: AccountGuard,
}

impl Config {
    /// Resolves and validates the credential options. Nothing here touches the network or the
    /// token; a wrong value fails with the flag or variable that set it. The concerns resolve in
    /// this order, so with several wrong values the first one named is the role's.
    pub fn resolve(args: &CredentialArgs, env: &Env) -> Result<Config, Error> {
        check_text_variables(env)?;
        let role = RoleConfig::from_args(args, env)?;
        let network = network::from_args(args, env, role.arn.as_ref())?;
        let source = SourceSettings::from_args(args, env, network.timeout.value)?;
        let cache = CacheConfig::from_args(&args.cache, env)?;
        let chain = ChainConfig::from_args(args, env)?;
        let guard = AccountGuard::from_args(args, env)?;
        Ok(Config {
            role,
            source,
            network,
            cache,
            chain,
            guard,
        })
    }

    /// The STS endpoint URL. Runs the SDK endpoint rules unless one was named, so it is for
    /// the miss path, doctor and `-v`, never a cache hit.
    pub fn sts_endpoint_url(&self) -> Result<String, Error> {
        self.network.sts_endpoint_url()
    }

    /// The role, or the error that says how to name one.
    pub fn require_role(&self) -> Result<&RoleArn, Error> {
        self.role.arn.as_ref().map(|s| &s.value).ok_or_else(|| {
            Error::usage(
                "no role to assume",
                format!(
                    "pass --role-arn arn:aws:iam::ACCOUNT:role/NAME in the credential_process line, or set {} (or {})",
                    vars::ROLE_ARN,
                    vars::AWS_ROLE_ARN
                ),
            )
        })
    }
}

/// A setting variable that is not UTF-8 would otherwise read as unset.
fn check_text_variables(env: &Env) -> Result<(), Error> {
    match vars::TEXT.into_iter().find(|name| env.is_not_utf8(name)) {
        Some(name) => Err(Error::usage(
            format!("the variable {name} is set to something that is not valid UTF-8"),
            format!("set {name} to plain text, or unset it"),
        )),
        None => Ok(()),
    }
}

/// Cache settings alone, for the `cache` subcommands.
pub fn resolve_cache(opts: &CacheOptions, env: &Env) -> Result<CacheConfig, Error> {
    CacheConfig::from_args(opts, env)
}

/// Parses `3600`, `3600s`, `90m`, `1h`, `1h30m`, `2d` into seconds.
pub fn parse_duration(raw: &str) -> Option<u64> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return None,
        };
        let n: u64 = number.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        number.clear();
    }
    if !number.is_empty() {
        return None;
    }
    Some(total)
}

#[cfg(test)]
mod tests;
