//! The network set-up shared by every connection the tool makes: the STS call and every token
//! endpoint go through the same proxy rules, trust roots and connector, so they cannot drift
//! apart. Resolved only on a cache miss: a hit never reads a CA bundle or builds a client.

pub mod client;
pub mod endpoint;
pub mod proxy;
pub mod tls;

use std::path::PathBuf;
use std::sync::Arc;

use crate::env::Env;
use crate::error::Error;
use crate::setting::Setting;

pub use client::{CertificateError, Connector, SdkHttpClient};
pub use proxy::{ProxyRules, Route};
pub use tls::{Roots, RootsSource};

/// What the clients are built from.
#[derive(Debug, Clone)]
pub struct NetworkSettings {
    pub proxy: Arc<ProxyRules>,
    /// Roots of the token endpoints (and of STS without a CA bundle).
    pub roots: Roots,
    /// Roots of STS: `AWS_CA_BUNDLE`/`ca_bundle` when set, else [`Self::roots`].
    pub sts_roots: Roots,
}

/// The `User-Agent` of the token requests.
pub const USER_AGENT: &str = concat!("aws-ci-creds/", env!("CARGO_PKG_VERSION"));

impl NetworkSettings {
    /// Reads the proxy variables and loads the trust roots. A proxy URL that cannot be used, or
    /// a CA bundle that is missing or holds no certificate, fails here, before any connection.
    pub fn resolve(
        ca_bundle: Option<&Setting<PathBuf>>,
        env: &Env,
    ) -> Result<NetworkSettings, Error> {
        let proxy = Arc::new(ProxyRules::from_env(env)?);
        let sts_bundle = ca_bundle.map(Roots::bundle).transpose()?;
        let roots = Roots::default_for(env)?;
        Ok(NetworkSettings {
            proxy,
            sts_roots: sts_bundle.unwrap_or_else(|| roots.clone()),
            roots,
        })
    }

    /// The `-v` lines about trust roots.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.sts_roots.source == self.roots.source {
            lines.push(self.roots.describe("STS and token endpoints"));
        } else {
            lines.push(self.sts_roots.describe("STS"));
            lines.push(self.roots.describe("token endpoints"));
        }
        if self.roots.source == RootsSource::Compiled {
            lines.push(
                "no system CA store found (no ca-certificates in this image): using the compiled-in Mozilla roots; SSL_CERT_FILE or SSL_CERT_DIR choose another store".into(),
            );
        }
        lines
    }
}
