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

  # any CI: a command that prints the token (no shell; quoted like credential_process)
  aws-ci-creds --role-arn arn:aws:iam::123456789012:role/deploy \\
    --token-command \"circleci run oidc get --claims '{\\\"aud\\\":\\\"sts.amazonaws.com\\\"}'\"

  # see what happens, step by step (never prints a secret)
  aws-ci-creds -v --role-arn arn:aws:iam::123456789012:role/deploy > /dev/null

  # inside a job: check the CI, the token, the trust policy and the exchange, with fixes
  aws-ci-creds doctor --role-arn arn:aws:iam::123456789012:role/deploy

  # a trust policy for this job's token, any ref of this project
  aws-ci-creds trust-policy --account-id 123456789012 --scope project

  # write the [profile ci] section for you
  aws-ci-creds setup --profile ci --role-arn arn:aws:iam::123456789012:role/deploy

  # for tools that only read AWS_* variables
  aws-ci-creds exec --role-arn arn:aws:iam::123456789012:role/deploy -- ./deploy.sh

  # a refreshing loopback endpoint for the command (and the containers it starts)
  aws-ci-creds exec --serve --role-arn arn:aws:iam::123456789012:role/deploy -- ./long-job.sh";

/// Shown only by builds that have `demo` (the default feature of the same name).
const DEMO_EXAMPLE: &str = "

  # try it offline, with a local OIDC issuer and STS emulator
  aws-ci-creds demo";

fn after_help() -> String {
    let demo = if cfg!(feature = "demo") {
        DEMO_EXAMPLE
    } else {
        ""
    };
    format!("{EXAMPLES}{demo}\n\n{}", crate::exit_code::help_table())
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
    // Without the `demo` feature it stays parseable (and says how to get it) but is not listed.
    #[cfg_attr(not(feature = "demo"), command(hide = true))]
    Demo,
    /// Check this job's set-up step by step: CI, token claims, audience, expiry, the exchange.
    Doctor(DoctorArgs),
    /// Print an IAM trust policy (JSON) that lets this job's token assume a role.
    TrustPolicy(TrustPolicyArgs),
    /// Add or update a profile in the AWS config file that runs aws-ci-creds.
    Setup(SetupArgs),
    /// Run a command with AWS credentials in its environment (or a refreshing endpoint: --serve).
    Exec(ExecArgs),
    /// Run a loopback credentials endpoint for later steps and containers (container credentials protocol).
    Serve(ServeArgs),
    /// Print the credentials as variables: sh, fish, powershell, dotenv, github-env, json.
    Export(ExportArgs),
    /// Print shell completions: bash, zsh, fish, powershell, elvish.
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub credentials: CredentialArgs,

    /// The AWS config profile to check [env: AWS_PROFILE] [default: default]
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// One machine-readable JSON document instead of the report
    #[arg(long)]
    pub json: bool,
}

/// How wide the trust policy's `sub` condition is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scope {
    /// This exact subject (this ref, environment or pull request)
    Exact,
    /// This project, any job on this branch
    Branch,
    /// This project, any job on this tag
    Tag,
    /// This project, any ref
    Project,
    /// Any project of this group or organisation
    Group,
    /// Same as group
    Org,
}

#[derive(Debug, Args)]
pub struct TrustPolicyArgs {
    /// The AWS account that owns the role and the IAM OIDC provider [default: from --role-arn]
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,

    /// The token issuer URL, instead of reading the job's token (with --subject)
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,

    /// The token subject (`sub`), instead of reading the job's token (with --issuer)
    #[arg(long, value_name = "SUB")]
    pub subject: Option<String>,

    /// Which jobs the policy trusts [default: the narrowest useful for the CI]
    #[arg(long, value_enum, value_name = "SCOPE")]
    pub scope: Option<Scope>,

    /// AWS partition of the provider ARN: aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc [default: from --role-arn, else aws]
    #[arg(long, value_name = "NAME")]
    pub partition: Option<String>,

    /// Allow a policy whose `sub` condition matches every subject of the issuer
    #[arg(long)]
    pub allow_any_subject: bool,

    #[command(flatten)]
    pub credentials: CredentialArgs,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// The profile to add or update: `aws --profile NAME`, Terraform's `profile = "NAME"`
    #[arg(long, value_name = "NAME")]
    pub profile: String,

    /// Print the change as a diff instead of writing it
    #[arg(long)]
    pub dry_run: bool,

    /// Comment out keys that make the SDKs skip credential_process (static keys, sso_*, source_profile, credential_source) instead of refusing
    #[arg(long)]
    pub comment_out_conflicts: bool,

    #[command(flatten)]
    pub credentials: CredentialArgs,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub credentials: CredentialArgs,

    /// Give the command a refreshing loopback credentials endpoint instead of static keys
    /// (AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN)
    #[arg(long)]
    pub serve: bool,

    /// The command and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub credentials: CredentialArgs,

    /// Port on 127.0.0.1 to listen on [default: a free port]
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,

    /// Append the two variables to this file (NAME=value lines: $GITHUB_ENV, a GitLab dotenv report) instead of printing them
    #[arg(long, value_name = "PATH")]
    pub env_file: Option<PathBuf>,

    /// Run in the background: print the variables, then detach and return
    #[arg(long)]
    pub detach: bool,

    /// Stop after this long: 90m, 6h [default: 6h]
    #[arg(long, value_name = "D")]
    pub max_lifetime: Option<String>,

    /// On GitHub Actions, do not print ::add-mask:: for the token
    #[arg(long)]
    pub no_mask: bool,
}

/// How `export` writes the variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// `export NAME='value'` lines, for `eval` in sh, bash, zsh
    Sh,
    /// `set -gx NAME 'value'` lines, for `eval` in fish
    Fish,
    /// `$env:NAME = 'value'` lines, for `Invoke-Expression`
    Powershell,
    /// `NAME=value` lines (docker --env-file, a GitLab dotenv report)
    Dotenv,
    /// Append to $GITHUB_ENV with the multiline-safe syntax; later steps get the variables
    GithubEnv,
    /// One JSON object of the variables
    Json,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub credentials: CredentialArgs,

    /// Output format
    #[arg(long, value_enum, default_value = "sh", value_name = "FORMAT")]
    pub format: ExportFormat,

    /// On GitHub Actions, do not print ::add-mask:: for the secret values
    #[arg(long)]
    pub no_mask: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// The options of credential mode, shared by the subcommands that obtain credentials.
#[derive(Debug, Args, Default, Clone, PartialEq)]
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

    /// Run this command and use the token it prints; no shell, split like a credential_process line [env: AWS_CI_CREDS_TOKEN_COMMAND]
    #[arg(long, value_name = "CMD")]
    pub token_command: Option<String>,

    /// Azure Pipelines: id of the service connection whose OIDC token to request [env: AWS_CI_CREDS_AZURE_SERVICE_CONNECTION]
    #[arg(long, value_name = "ID")]
    pub azure_service_connection: Option<String>,

    /// HCP Terraform: use TFC_WORKLOAD_IDENTITY_TOKEN_<TAG> instead of TFC_WORKLOAD_IDENTITY_TOKEN [env: AWS_CI_CREDS_TFC_TAG]
    #[arg(long, value_name = "TAG")]
    pub tfc_tag: Option<String>,

    /// Where the token comes from: auto, gitlab, github, circleci, bitbucket, buildkite, azure, jenkins, tfc, spacelift, env0, codefresh, command, file, env [env: AWS_CI_CREDS_SOURCE] [default: auto]
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

    /// After the web-identity role, assume this role with sts:AssumeRole (repeatable, in order; the output is the last) [env: AWS_CI_CREDS_CHAIN]
    #[arg(long = "chain", value_name = "ARN")]
    pub chain: Vec<String>,

    /// sts:ExternalId sent on every chained hop [env: AWS_CI_CREDS_EXTERNAL_ID]
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,

    /// Duration of each chained hop: 900 to 3600 seconds, AWS's cap for role chaining [env: AWS_CI_CREDS_CHAIN_DURATION] [default: 1h]
    #[arg(long, value_name = "D")]
    pub chain_duration: Option<String>,

    /// Session tag KEY=VALUE on every chained hop (repeatable; needs sts:TagSession) [env: AWS_CI_CREDS_TAGS]
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,

    /// Make this session tag transitive to later hops (repeatable) [env: AWS_CI_CREDS_TRANSITIVE_TAG_KEYS]
    #[arg(long = "transitive-tag-key", value_name = "KEY")]
    pub transitive_tag_keys: Vec<String>,

    /// Source identity set on the chained hops (needs sts:SetSourceIdentity) [env: AWS_CI_CREDS_SOURCE_IDENTITY]
    #[arg(long, value_name = "ID")]
    pub source_identity: Option<String>,

    /// Tag chained sessions with the CI's facts: CI, Repository, Ref, Run, Job [env: AWS_CI_CREDS_CI_TAGS=1]
    #[arg(long)]
    pub ci_tags: bool,

    /// Fail unless the final credentials belong to one of these accounts (comma-separated or repeated) [env: AWS_CI_CREDS_ALLOWED_ACCOUNT_IDS]
    #[arg(long = "allowed-account-ids", value_name = "IDS")]
    pub allowed_account_ids: Vec<String>,

    /// Fail if the final credentials belong to one of these accounts (comma-separated or repeated) [env: AWS_CI_CREDS_FORBIDDEN_ACCOUNT_IDS]
    #[arg(long = "forbidden-account-ids", value_name = "IDS")]
    pub forbidden_account_ids: Vec<String>,

    /// Total deadline for the token and STS, retries included: 30s, 2m [env: AWS_CI_CREDS_TIMEOUT] [default: 30s]
    #[arg(long, value_name = "D")]
    pub timeout: Option<String>,

    #[command(flatten)]
    pub cache: CacheOptions,
}

/// Where the cache lives and when it is used.
#[derive(Debug, Args, Default, Clone, PartialEq)]
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

impl Command {
    /// The subcommand's name as typed (clap's kebab-case of the variant; a test holds them equal).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Cache(_) => "cache",
            Command::Demo => "demo",
            Command::Doctor(_) => "doctor",
            Command::TrustPolicy(_) => "trust-policy",
            Command::Setup(_) => "setup",
            Command::Exec(_) => "exec",
            Command::Serve(_) => "serve",
            Command::Export(_) => "export",
            Command::Completions(_) => "completions",
        }
    }
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
    fn every_subcommand_names_itself_as_clap_spells_it() {
        use clap::Parser;
        let typed: &[&[&str]] = &[
            &["cache", "path"],
            &["demo"],
            &["doctor"],
            &["trust-policy"],
            &["setup", "--profile", "ci"],
            &["exec", "--", "true"],
            &["serve"],
            &["export"],
            &["completions", "bash"],
        ];
        let cmd = command();
        let clap_names: std::collections::BTreeSet<&str> =
            cmd.get_subcommands().map(|c| c.get_name()).collect();
        let ours: std::collections::BTreeSet<&str> = typed.iter().map(|t| t[0]).collect();
        assert_eq!(
            clap_names, ours,
            "a subcommand was added: add it to this table"
        );
        for words in typed {
            let argv = std::iter::once("aws-ci-creds").chain(words.iter().copied());
            let cli = Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{words:?}: {e}"));
            assert_eq!(cli.command.expect("a subcommand").name(), words[0]);
        }
    }

    #[test]
    fn demo_is_listed_exactly_when_it_is_built_in() {
        let cmd = command();
        let demo = cmd.find_subcommand("demo").expect("demo always parses");
        assert_eq!(demo.is_hide_set(), !cfg!(feature = "demo"));
        assert_eq!(
            after_help().contains("aws-ci-creds demo"),
            cfg!(feature = "demo")
        );
    }

    #[test]
    fn no_subcommand_means_credential_mode() {
        let cli = Cli::parse_from_args(["aws-ci-creds", "--role-arn", "x"].map(OsString::from));
        assert!(cli.command.is_none());
        assert_eq!(cli.credentials.role_arn.as_deref(), Some("x"));
    }

    #[test]
    fn verbose_goes_before_or_after_a_subcommand() {
        for args in [
            ["aws-ci-creds", "-v", "demo"],
            ["aws-ci-creds", "demo", "-v"],
        ] {
            let cli = <Cli as Parser>::try_parse_from(args).unwrap();
            assert_eq!(cli.verbose, 1);
            assert!(cli.command.is_some());
        }
    }
}
