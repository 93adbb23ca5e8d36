//! Azure Pipelines (`TF_BUILD=True`): a fresh token per exchange from the job's OIDC endpoint,
//! `POST $SYSTEM_OIDCREQUESTURI?api-version=7.1&serviceConnectionId=<id>` with
//! `Authorization: Bearer $SYSTEM_ACCESSTOKEN`, answered with `{"oidcToken": "<jwt>"}`. The token
//! is issued for a service connection (`--azure-service-connection`); `SYSTEM_ACCESSTOKEN` reaches
//! a script only when the step maps it. The cache key is the job plus a hash of the access token,
//! unique to this job.

use super::http::{self, HttpFailure};
use super::{Acquired, BoxFuture, SourceKind, TokenSource};
use crate::config::{Origin, SourceSettings, vars};
use crate::env::Env;
use crate::error::{Error, Message};
use crate::jwt::{Claims, Token};
use crate::secret::Secret;
use crate::session;

pub const REQUEST_URI: &str = "SYSTEM_OIDCREQUESTURI";
pub const ACCESS_TOKEN: &str = "SYSTEM_ACCESSTOKEN";
pub const API_VERSION: &str = "7.1";

const ACCESS_TOKEN_FIX: &str = "map the job's access token into the step's environment in azure-pipelines.yml:\n  - script: aws sts get-caller-identity\n    env:\n      SYSTEM_ACCESSTOKEN: $(System.AccessToken)";

pub struct AzureSource {
    uri: Option<String>,
    access_token: Option<Secret<String>>,
    connection: Option<(String, Origin)>,
    collection: Option<String>,
    project: Option<String>,
    build: Option<String>,
    job: Option<String>,
}

impl AzureSource {
    pub fn new(settings: &SourceSettings, env: &Env) -> AzureSource {
        let get = |n: &str| env.get(n).map(str::to_string);
        AzureSource {
            uri: get(REQUEST_URI),
            access_token: get(ACCESS_TOKEN).map(Secret::new),
            connection: settings
                .azure_service_connection
                .as_ref()
                .map(|c| (c.value.clone(), c.origin.clone())),
            collection: get("SYSTEM_COLLECTIONURI"),
            project: get("SYSTEM_TEAMPROJECT"),
            build: get("BUILD_BUILDID"),
            job: get("SYSTEM_JOBID"),
        }
    }

    fn endpoint(&self) -> Result<(&str, &Secret<String>, &str), Error> {
        let Some(access_token) = &self.access_token else {
            return Err(Error::Token(
                Message::new(format!(
                    "this Azure Pipelines step cannot request an OIDC token: {ACCESS_TOKEN} is not set"
                ))
                .detail("Azure Pipelines gives scripts the job's access token only when the step maps it")
                .fix(ACCESS_TOKEN_FIX),
            ));
        };
        let Some(uri) = &self.uri else {
            return Err(Error::Token(
                Message::new(format!(
                    "this Azure Pipelines job has no OIDC endpoint: {REQUEST_URI} is not set"
                ))
                .fix("run the job on a current agent (Microsoft-hosted agents and agent 3.x set it); do not overwrite System.OidcRequestUri"),
            ));
        };
        let Some((connection, _)) = &self.connection else {
            return Err(Error::Token(
                Message::new("Azure Pipelines issues OIDC tokens for a service connection, and none was named")
                    .fix(format!(
                        "pass --azure-service-connection ID (or set {} in the step's env), the id of the service connection whose token to use:\n  Project settings → Service connections → the connection: the resourceId in the page's URL\n\
                         and let the pipeline use it (the first run asks to authorize it)",
                        vars::AZURE_SERVICE_CONNECTION
                    )),
            ));
        };
        Ok((uri, access_token, connection))
    }
}

pub fn session_name_from_env(env: &Env) -> Option<String> {
    env.get("BUILD_BUILDID")
        .map(|b| session::sanitize(&format!("ado-{b}")))
}

/// `uri?api-version=7.1&serviceConnectionId=id` (or with `&` when the URI has a query).
pub fn token_url(base: &str, connection: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!(
        "{base}{sep}api-version={API_VERSION}&serviceConnectionId={}",
        http::percent_encode(connection)
    )
}

impl TokenSource for AzureSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Azure
    }

    fn describe(&self) -> String {
        match &self.connection {
            Some((c, origin)) => format!(
                "Azure Pipelines OIDC endpoint ({REQUEST_URI}), service connection {c} (from {origin})"
            ),
            None => format!("Azure Pipelines OIDC endpoint ({REQUEST_URI})"),
        }
    }

    fn acquire(&self) -> Result<Acquired, Error> {
        let (_, access_token, connection) = self.endpoint()?;
        let ids = [&self.collection, &self.project, &self.build, &self.job].map(Option::as_deref);
        let ids = [ids[0], ids[1], ids[2], ids[3], Some(connection)];
        let job = super::job_key("azure", &ids, access_token.expose());
        Ok(Acquired::OnRequest { job })
    }

    fn mint<'a>(
        &'a self,
        client: &'a http::Client,
        _audience: &'a str,
    ) -> BoxFuture<'a, Result<Token, Error>> {
        Box::pin(async move {
            let (uri, access_token, connection) = self.endpoint()?;
            let body = client
                .post_json(&token_url(uri, connection), access_token, "{}")
                .await
                .map_err(|f| match f {
                    HttpFailure::Status(status @ (401 | 403)) => Error::Token(
                        Message::new(format!(
                            "Azure DevOps refused to mint an ID token (HTTP {status}): {ACCESS_TOKEN} was not accepted"
                        ))
                        .fix(ACCESS_TOKEN_FIX),
                    ),
                    HttpFailure::Status(status @ (400 | 404)) => Error::Token(
                        Message::new(format!(
                            "Azure DevOps could not mint an ID token for service connection {connection} (HTTP {status})"
                        ))
                        .fix("check --azure-service-connection is the id (not the name) of a service connection in this project, and that the pipeline is authorized to use it"),
                    ),
                    other => other.into_error("Azure DevOps' OIDC token endpoint", REQUEST_URI),
                })?;
            let value = body
                .get("oidcToken")
                .and_then(|v| v.as_str())
                .ok_or_else(|| {
                    Error::unavailable(
                        Message::new(
                            "Azure DevOps' OIDC token endpoint answered without an `oidcToken` field",
                        )
                        .fix("retry the job; if it persists, check status.dev.azure.com"),
                        None,
                    )
                })?;
            Token::parse(value).map_err(|e| {
                Error::token(
                    format!("the token Azure DevOps minted {e}"),
                    "retry the job",
                )
            })
        })
    }

    fn can_remint(&self) -> bool {
        true
    }

    fn session_name(&self, _claims: Option<&Claims>) -> Option<String> {
        self.build
            .as_deref()
            .map(|b| session::sanitize(&format!("ado-{b}")))
    }

    fn audience_fix(&self) -> &'static str {
        "the service connection; Azure's tokens carry api://AzureADTokenExchange"
    }

    fn expired_fix(&self) -> String {
        "Azure DevOps tokens are minted per exchange; check the agent's clock".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_url_carries_the_api_version_and_connection() {
        assert_eq!(
            token_url(
                "https://dev.azure.com/o/p/_apis/distributedtask/hubs/build/plans/x/jobs/y/oidctoken",
                "1b2c-3d"
            ),
            "https://dev.azure.com/o/p/_apis/distributedtask/hubs/build/plans/x/jobs/y/oidctoken?api-version=7.1&serviceConnectionId=1b2c-3d"
        );
        assert_eq!(
            token_url("https://x/oidctoken?a=b", "id"),
            "https://x/oidctoken?a=b&api-version=7.1&serviceConnectionId=id"
        );
    }
}
