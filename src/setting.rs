//! A resolved value and where it came from ([`Setting`], [`Origin`]), the names of the
//! environment variables behind the settings ([`vars`]), and how an error quotes a value
//! ([`clip`]). A leaf: every layer (config, net, source) uses these, so they import nothing of
//! the crate.

use std::fmt;

/// Names of the environment variables behind the settings.
pub mod vars {
    pub const ROLE_ARN: &str = "AWS_CI_CREDS_ROLE_ARN";
    pub const AWS_ROLE_ARN: &str = "AWS_ROLE_ARN";
    pub const TOKEN_FILE: &str = "AWS_CI_CREDS_TOKEN_FILE";
    pub const AWS_TOKEN_FILE: &str = "AWS_WEB_IDENTITY_TOKEN_FILE";
    pub const SOURCE: &str = "AWS_CI_CREDS_SOURCE";
    pub const AUDIENCE: &str = "AWS_CI_CREDS_AUDIENCE";
    pub const SESSION_NAME: &str = "AWS_CI_CREDS_SESSION_NAME";
    pub const AWS_SESSION_NAME: &str = "AWS_ROLE_SESSION_NAME";
    pub const DURATION: &str = "AWS_CI_CREDS_DURATION";
    pub const REGION: &str = "AWS_REGION";
    pub const DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";
    pub const ENDPOINT_STS: &str = "AWS_ENDPOINT_URL_STS";
    pub const ENDPOINT: &str = "AWS_ENDPOINT_URL";
    pub const USE_FIPS: &str = "AWS_USE_FIPS_ENDPOINT";
    pub const USE_DUALSTACK: &str = "AWS_USE_DUALSTACK_ENDPOINT";
    pub const CA_BUNDLE: &str = "AWS_CA_BUNDLE";
    pub const TIMEOUT: &str = "AWS_CI_CREDS_TIMEOUT";
    pub const CACHE_DIR: &str = "AWS_CI_CREDS_CACHE_DIR";
    pub const NO_CACHE: &str = "AWS_CI_CREDS_NO_CACHE";
    pub const REFRESH_MARGIN: &str = "AWS_CI_CREDS_REFRESH_MARGIN";
    pub const TOKEN_COMMAND: &str = "AWS_CI_CREDS_TOKEN_COMMAND";
    pub const AZURE_SERVICE_CONNECTION: &str = "AWS_CI_CREDS_AZURE_SERVICE_CONNECTION";
    pub const TFC_TAG: &str = "AWS_CI_CREDS_TFC_TAG";
    /// Comma-separated role ARNs, like repeated `--chain`.
    pub const CHAIN: &str = "AWS_CI_CREDS_CHAIN";
    pub const EXTERNAL_ID: &str = "AWS_CI_CREDS_EXTERNAL_ID";
    pub const CHAIN_DURATION: &str = "AWS_CI_CREDS_CHAIN_DURATION";
    pub const ALLOWED_ACCOUNT_IDS: &str = "AWS_CI_CREDS_ALLOWED_ACCOUNT_IDS";
    pub const FORBIDDEN_ACCOUNT_IDS: &str = "AWS_CI_CREDS_FORBIDDEN_ACCOUNT_IDS";
    /// Comma-separated `KEY=VALUE` (IAM tag values cannot contain commas).
    pub const TAGS: &str = "AWS_CI_CREDS_TAGS";
    pub const TRANSITIVE_TAG_KEYS: &str = "AWS_CI_CREDS_TRANSITIVE_TAG_KEYS";
    pub const SOURCE_IDENTITY: &str = "AWS_CI_CREDS_SOURCE_IDENTITY";
    pub const CI_TAGS: &str = "AWS_CI_CREDS_CI_TAGS";

    /// The variables that hold text (everything but the paths, which need not be UTF-8).
    pub const TEXT: [&str; 28] = [
        ROLE_ARN,
        AWS_ROLE_ARN,
        SOURCE,
        AUDIENCE,
        SESSION_NAME,
        AWS_SESSION_NAME,
        DURATION,
        REGION,
        DEFAULT_REGION,
        ENDPOINT_STS,
        ENDPOINT,
        USE_FIPS,
        USE_DUALSTACK,
        TIMEOUT,
        NO_CACHE,
        REFRESH_MARGIN,
        TOKEN_COMMAND,
        AZURE_SERVICE_CONNECTION,
        TFC_TAG,
        CHAIN,
        EXTERNAL_ID,
        CHAIN_DURATION,
        ALLOWED_ACCOUNT_IDS,
        FORBIDDEN_ACCOUNT_IDS,
        TAGS,
        TRANSITIVE_TAG_KEYS,
        SOURCE_IDENTITY,
        CI_TAGS,
    ];
}

/// Where a resolved value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Flag(&'static str),
    Env(&'static str),
    Default,
    /// Worked out from something else (the job, the region), described.
    Derived(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(name) => write!(f, "flag {name}"),
            Origin::Env(name) => write!(f, "env {name}"),
            Origin::Default => f.write_str("default"),
            Origin::Derived(how) => write!(f, "{how}"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    pub value: T,
    pub origin: Origin,
}

impl<T> Setting<T> {
    pub fn new(value: T, origin: Origin) -> Self {
        Setting { value, origin }
    }
}

/// A value as an error message quotes it: whole when short, else its start and its length, so a
/// 100 KiB argument does not become a 100 KiB error in the job log.
pub fn clip(value: &str) -> String {
    const KEEP: usize = 80;
    let count = value.chars().count();
    if count <= KEEP + 20 {
        return value.to_string();
    }
    let start: String = value.chars().take(KEEP).collect();
    format!("{start}… ({count} characters)")
}
