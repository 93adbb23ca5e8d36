//! The network set-up shared by every connection the tool makes: the STS call and every token
//! endpoint go through the same proxy rules, trust roots and connector, so they cannot drift
//! apart. [`Network`] is the one resolved value (part of the config); its costly half, the
//! proxy rules and trust roots ([`NetworkSettings`]), is loaded on the first connection, so a
//! cache hit never reads a CA bundle or builds a client.

pub mod client;
pub mod endpoint;
pub mod http;
pub mod proxy;
pub mod tls;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::env::Env;
use crate::error::Error;
use crate::setting::Setting;
use endpoint::StsEndpoint;

pub use client::{CertificateError, SdkHttpClient};
pub use proxy::ProxyRules;
pub use tls::{Roots, RootsSource};

/// The network settings of a run, resolved with the config (`config::network`): cheap and
/// local. Every outbound call (STS, token endpoints, doctor's check) is built from
/// [`Network::connection`].
#[derive(Debug, Clone)]
pub struct Network {
    pub region: Setting<String>,
    /// The rules' inputs or the named URL; [`Network::sts_endpoint_url`] gives the URL.
    pub sts_endpoint: Setting<StsEndpoint>,
    /// A PEM bundle that replaces the default roots for STS (`AWS_CA_BUNDLE`, profile `ca_bundle`).
    pub ca_bundle: Option<Setting<PathBuf>>,
    /// `--timeout`: the whole run's deadline, every connection included.
    pub timeout: Setting<Duration>,
    /// The proxy rules and roots, once loaded: a `serve` process loads them once for all its
    /// refreshes.
    loaded: OnceLock<NetworkSettings>,
}

impl Network {
    pub fn new(
        region: Setting<String>,
        sts_endpoint: Setting<StsEndpoint>,
        ca_bundle: Option<Setting<PathBuf>>,
        timeout: Setting<Duration>,
    ) -> Network {
        Network {
            region,
            sts_endpoint,
            ca_bundle,
            timeout,
            loaded: OnceLock::new(),
        }
    }

    /// The STS endpoint URL. Runs the SDK endpoint rules unless one was named, so it is for
    /// the miss path, doctor and `-v`, never a cache hit.
    pub fn sts_endpoint_url(&self) -> Result<String, Error> {
        endpoint::url(&self.sts_endpoint, &self.region)
    }

    /// The proxy rules (from `env`, the run's snapshot) and the trust roots, loaded on first use:
    /// the miss path only. A bad proxy URL or CA bundle fails here, before any connection.
    pub fn connection(&self, env: &Env) -> Result<&NetworkSettings, Error> {
        if let Some(loaded) = self.loaded.get() {
            return Ok(loaded);
        }
        let loaded = NetworkSettings::resolve(self.ca_bundle.as_ref(), env)?;
        Ok(self.loaded.get_or_init(|| loaded))
    }
}

/// What the clients are built from: the costly half of [`Network`].
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
