//! `--token-command CMD`: any program that prints an ID token on stdout, for CIs without a
//! dedicated source (or to mint a token with another audience, e.g. `circleci run oidc get`).
//!
//! Caching needs an identity for the job that no other job can claim. When the command runs
//! inside a CI job that has a per-job secret (CircleCI's token, Buildkite's agent access token,
//! Azure's `SYSTEM_ACCESSTOKEN`, GitLab's `CI_JOB_TOKEN`…), the cache key is the command line,
//! that job's identifiers and a hash of the secret: a cache hit then runs nothing. Without one,
//! nothing local proves which job is asking, so the command runs on every invocation and the key
//! is the fingerprint of the token it printed (as for a token file): a hit needs that very token.

use super::buildkite::command_limit;
use super::command::{self, Context};
use super::http;
use super::{Acquired, BoxFuture, SourceKind, TokenSource};
use crate::config::{Origin, SourceSettings};
use crate::diag::Diag;
use crate::env::Env;
use crate::error::Error;
use crate::jwt::{Claims, Token, sha256_hex};

const FAILED_FIX: &str = "run the command by hand in the job to see its error; it must print only the token on stdout and exit 0";

pub struct CommandSource {
    argv: Vec<String>,
    line: String,
    origin: Origin,
    env: Env,
    diag: Diag,
    timeout: std::time::Duration,
    identity: Option<String>,
}

impl CommandSource {
    pub fn new(settings: &SourceSettings, env: &Env, diag: Diag) -> Result<CommandSource, Error> {
        let setting = settings.token_command.as_ref().ok_or_else(|| {
            Error::usage(
                "--source command needs a command",
                "add --token-command CMD, e.g. --token-command \"circleci run oidc get --claims '{\\\"aud\\\":\\\"sts.amazonaws.com\\\"}'\"",
            )
        })?;
        let argv = command::split(&setting.value).map_err(|problem| {
            Error::usage(
                format!("the command line from {} {problem}", setting.origin),
                "quote it as in a credential_process line",
            )
        })?;
        Ok(CommandSource {
            argv,
            line: setting.value.clone(),
            origin: setting.origin.clone(),
            env: env.clone(),
            diag,
            timeout: settings.timeout,
            identity: super::job_identity(env),
        })
    }

    fn context(&self) -> Context<'static> {
        Context {
            what: "the --token-command",
            not_found_fix: "install the program in the job's image, or give its full path in --token-command",
            failed_fix: FAILED_FIX,
        }
    }

    async fn run(&self, limit: std::time::Duration) -> Result<Token, Error> {
        command::token_from_command(&self.argv, &self.env, limit, &self.diag, &self.context()).await
    }
}

impl TokenSource for CommandSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Command
    }

    fn describe(&self) -> String {
        let program = self.argv.first().map(String::as_str).unwrap_or_default();
        format!("the command `{program} …` (from {})", self.origin)
    }

    fn acquire(&self) -> Result<Acquired, Error> {
        if let Some(identity) = &self.identity {
            return Ok(Acquired::OnRequest {
                job: format!("command:{}:{identity}", sha256_hex(self.line.as_bytes())),
            });
        }
        self.diag.info(
            "no per-job secret found to key the cache on: running the token command now, the key is the token's fingerprint",
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::internal("could not start the async runtime", e))?;
        runtime
            .block_on(self.run(command_limit(self.timeout)))
            .map(Acquired::Local)
    }

    fn mint<'a>(
        &'a self,
        client: &'a http::Client,
        _audience: &'a str,
    ) -> BoxFuture<'a, Result<Token, Error>> {
        Box::pin(async move { self.run(command_limit(client.timeout())).await })
    }

    fn can_remint(&self) -> bool {
        true
    }

    fn session_name(&self, _claims: Option<&Claims>) -> Option<String> {
        super::ci_session_name(&self.env)
    }

    fn audience_fix(&self) -> &'static str {
        "--audience"
    }

    fn expired_fix(&self) -> String {
        format!(
            "the command `{}` printed an expired token: it must print a fresh one",
            self.argv.first().map(String::as_str).unwrap_or_default()
        )
    }
}
