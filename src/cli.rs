//! The command line as typed: clap structs only, no validation beyond what clap does.
//!
//! Values stay raw (`Option<String>`) so that [`crate::config`] can layer them over the
//! environment and defaults and say where each resolved value came from.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  # ~/.aws/config: the AWS CLI, every SDK and Terraform run it when they need credentials
  [profile ci]
  credential_process = aws-ci-creds --role-arn arn:aws:iam::123456789012:role/deploy

  # GitLab, with the token in a variable you chose under `id_tokens:`
  aws-ci-creds --role-arn arn:aws:iam::123456789012:role/deploy --token-env AWS_ID_TOKEN

  # a token file (Kubernetes, EKS, or anything that writes one)
  aws-ci-creds --role-arn arn:aws:iam::123456789012:role/deploy --token-file /var/run/token

  # see what happens, step by step (never prints a secret)
  aws-ci-creds -v --role-arn arn:aws:iam::123456789012:role/deploy > /dev/null

  # try it offline, with a local OIDC issuer and STS emulator
  aws-ci-creds demo";

fn after_help() -> String {
    format!("{EXAMPLES}\n\n{}", crate::exit_code::help_table())
}

/// Exchange a CI job's OIDC ID token for temporary AWS credentials (a credential_process).
///
/// With no subcommand it prints credential_process JSON on stdout, from its cache when the cached
/// credentials are fresh, otherwise from STS AssumeRoleWithWebIdentity.
#[derive(Debug, Parser)]
#[command(
    name = "aws-ci-creds",
    version = crate::VERSION,
    after_help = after_help(),
    args_conflicts_with_subcommands = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub credentials: CredentialArgs,

    /// Diagnostics on stderr, including where each setting came from (-vv for more). Never a secret.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect or clear the credential cache.
    Cache(CacheArgs),
    /// Run the whole flow offline: local OIDC issuer, STS emulator, a real AWS SDK client.
    Demo,
}

/// The options of credential mode, shared by the subcommands that obtain credentials.
#[derive(Debug, Args, Default, Clone)]
pub struct CredentialArgs {
    /// IAM role to assume [env: AWS_CI_CREDS_ROLE_ARN, then AWS_ROLE_ARN]
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,

    /// Read the token from this file, afresh on every run [env: AWS_CI_CREDS_TOKEN_FILE, then AWS_WEB_IDENTITY_TOKEN_FILE]
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,

    /// Read the token from this environment variable (the name under GitLab's `id_tokens:`)
    #[arg(long, value_name = "NAME")]
    pub token_env: Option<String>,

    /// Where the token comes from: auto, gitlab, github, file, env [env: AWS_CI_CREDS_SOURCE] [default: auto]
    #[arg(long, value_name = "SOURCE")]
    pub source: Option<String>,

    /// Audience requested from CIs that mint tokens on request, checked on others [env: AWS_CI_CREDS_AUDIENCE] [default: sts.amazonaws.com]
    #[arg(long, value_name = "AUD")]
    pub audience: Option<String>,

    /// Role session name shown in CloudTrail [env: AWS_CI_CREDS_SESSION_NAME, then AWS_ROLE_SESSION_NAME] [default: from the job, e.g. gl-<project>-<job>]
    #[arg(long, value_name = "NAME")]
    pub session_name: Option<String>,

    /// Session duration: 3600, 90m, 1h; 900 to 43200 seconds [env: AWS_CI_CREDS_DURATION] [default: 1h]
    #[arg(long, value_name = "D")]
    pub duration: Option<String>,

    /// STS region [env: AWS_REGION, then AWS_DEFAULT_REGION] [default: us-east-1]
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// STS endpoint URL [env: AWS_ENDPOINT_URL_STS, then AWS_ENDPOINT_URL] [default: the region's regional endpoint]
    #[arg(long, value_name = "URL")]
    pub sts_endpoint: Option<String>,

    /// Inline session policy (JSON) that narrows the role's permissions
    #[arg(long, value_name = "JSON", conflicts_with = "policy_file")]
    pub policy: Option<String>,

    /// Inline session policy read from a file
    #[arg(long, value_name = "PATH")]
    pub policy_file: Option<PathBuf>,

    /// Managed session policy ARN (repeatable, at most 10)
    #[arg(long = "policy-arn", value_name = "ARN")]
    pub policy_arns: Vec<String>,

    /// Total deadline for the token and STS, retries included: 30s, 2m [env: AWS_CI_CREDS_TIMEOUT] [default: 30s]
    #[arg(long, value_name = "D")]
    pub timeout: Option<String>,

    #[command(flatten)]
    pub cache: CacheOptions,
}

/// Where the cache lives and when it is used.
#[derive(Debug, Args, Default, Clone)]
pub struct CacheOptions {
    /// Cache directory [env: AWS_CI_CREDS_CACHE_DIR] [default: the user cache dir, e.g. ~/.cache/aws-ci-creds]
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Do not read or write the cache [env: AWS_CI_CREDS_NO_CACHE=1]
    #[arg(long)]
    pub no_cache: bool,

    /// Serve cached credentials only while more than this is left: 15m, 900 [env: AWS_CI_CREDS_REFRESH_MARGIN] [default: 15m, at most half the duration]
    #[arg(long, value_name = "D")]
    pub refresh_margin: Option<String>,
}

#[derive(Debug, Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub action: CacheAction,
}

#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// One row per entry: role, session, subject, expiry, state. Never a secret.
    List {
        #[command(flatten)]
        cache: CacheOptions,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Remove every entry, or only the expired ones
    Clear {
        #[command(flatten)]
        cache: CacheOptions,
        /// Remove only expired entries
        #[arg(long)]
        expired: bool,
    },
    /// The cache directory in use and why it was chosen
    Path {
        #[command(flatten)]
        cache: CacheOptions,
    },
}

impl Cli {
    /// Parses these arguments (the first is the program name); clap prints help and errors itself.
    pub fn parse_from_args(args: impl IntoIterator<Item = OsString>) -> Cli {
        <Cli as Parser>::parse_from(args)
    }
}

pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn no_subcommand_means_credential_mode() {
        let cli = Cli::parse_from_args(["aws-ci-creds", "--role-arn", "x"].map(OsString::from));
        assert!(cli.command.is_none());
        assert_eq!(cli.credentials.role_arn.as_deref(), Some("x"));
    }

    #[test]
    fn credential_flags_do_not_mix_with_subcommands() {
        let parsed = <Cli as Parser>::try_parse_from(["aws-ci-creds", "--role-arn", "x", "demo"]);
        assert!(parsed.is_err());
    }
}
