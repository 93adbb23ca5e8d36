//! Buildkite (`BUILDKITE=true`): a fresh token per exchange from
//! `buildkite-agent oidc request-token --audience <aud>`, which asks the agent API for a token for
//! this job (`BUILDKITE_JOB_ID`, authenticated by `BUILDKITE_AGENT_ACCESS_TOKEN`). Tokens live
//! about five minutes, so one is minted for every exchange; the cache key is the job plus a hash
//! of the agent access token, so a hit needs no call and no other job can share the entry.

use std::time::Duration;

use super::command::{self, Context};
use super::http;
use super::{Acquired, BoxFuture, SourceKind, TokenSource};
use crate::diag::Diag;
use crate::env::Env;
use crate::error::Error;
use crate::jwt::{Claims, Token};
use crate::secret::Secret;
use crate::session;

pub const PROGRAM: &str = "buildkite-agent";
pub const JOB_ID: &str = "BUILDKITE_JOB_ID";
pub const AGENT_TOKEN: &str = "BUILDKITE_AGENT_ACCESS_TOKEN";

const DOCKER_FIX: &str = "buildkite-agent and the job's BUILDKITE_* variables must reach this step; with the docker plugin add:\n  plugins:\n    - docker#v5.12.0:\n        image: \"…\"\n        mount-buildkite-agent: true\n        propagate-environment: true\nwith docker-compose use `propagate-environment: true` and install buildkite-agent in the image";

pub struct BuildkiteSource {
    env: Env,
    diag: Diag,
    job_id: Option<String>,
    agent_token: Option<Secret<String>>,
    organization: Option<String>,
    pipeline: Option<String>,
    build: Option<String>,
}

impl BuildkiteSource {
    pub fn new(env: &Env, diag: Diag) -> BuildkiteSource {
        let get = |n: &str| env.get(n).map(str::to_string);
        BuildkiteSource {
            env: env.clone(),
            diag,
            job_id: get(JOB_ID),
            agent_token: get(AGENT_TOKEN).map(Secret::new),
            organization: get("BUILDKITE_ORGANIZATION_SLUG"),
            pipeline: get("BUILDKITE_PIPELINE_SLUG"),
            build: get("BUILDKITE_BUILD_NUMBER"),
        }
    }

    fn job(&self) -> Result<(&str, &Secret<String>), Error> {
        match (&self.job_id, &self.agent_token) {
            (Some(job), Some(token)) => Ok((job, token)),
            _ => Err(super::missing_setup(
                "this Buildkite step cannot request an OIDC token",
                &[
                    (JOB_ID, self.job_id.is_none()),
                    (AGENT_TOKEN, self.agent_token.is_none()),
                ],
                DOCKER_FIX,
            )),
        }
    }
}

pub fn session_name_from_env(env: &Env) -> Option<String> {
    let pipeline = env.get("BUILDKITE_PIPELINE_SLUG")?;
    let build = env.get("BUILDKITE_BUILD_NUMBER")?;
    Some(session::sanitize(&format!("bk-{pipeline}-{build}")))
}

/// Time for a command when the request deadline is `limit`: a little less, so the command's own
/// "did not finish" error is the one the user sees.
pub(crate) fn command_limit(limit: Duration) -> Duration {
    limit.mul_f64(0.9).max(Duration::from_millis(500))
}

impl TokenSource for BuildkiteSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Buildkite
    }

    fn describe(&self) -> String {
        format!("{PROGRAM} oidc request-token")
    }

    fn acquire(&self) -> Result<Acquired, Error> {
        let (job, agent_token) = self.job()?;
        let ids = [
            self.organization.as_deref(),
            self.pipeline.as_deref(),
            self.build.as_deref(),
            Some(job),
        ];
        let job = super::job_key("buildkite", &ids, agent_token.expose());
        Ok(Acquired::OnRequest { job })
    }

    fn mint<'a>(
        &'a self,
        client: &'a http::Client,
        audience: &'a str,
    ) -> BoxFuture<'a, Result<Token, Error>> {
        Box::pin(async move {
            self.job()?;
            let argv: Vec<String> = [PROGRAM, "oidc", "request-token", "--audience", audience]
                .map(String::from)
                .into();
            command::token_from_command(
                &argv,
                &self.env,
                command_limit(client.timeout()),
                &self.diag,
                &Context {
                    what: "the Buildkite token request",
                    not_found_fix: DOCKER_FIX,
                    failed_fix: "check the agent can reach the Buildkite agent API; the pipeline's OIDC policy (if any) must allow this job",
                },
            )
            .await
        })
    }

    fn can_remint(&self) -> bool {
        true
    }

    fn session_name(&self, _claims: Option<&Claims>) -> Option<String> {
        session_name_from_env(&self.env)
    }

    fn audience_fix(&self) -> &'static str {
        "--audience"
    }

    fn expired_fix(&self) -> String {
        "Buildkite tokens are minted per exchange and live about 5 minutes; check the agent's clock"
            .into()
    }
}
