//! GitHub Actions: a fresh token per exchange from the job's token endpoint,
//! `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=<aud>` with `Authorization: Bearer
//! $ACTIONS_ID_TOKEN_REQUEST_TOKEN`, answered with `{"value": "<jwt>"}`. The variables exist only
//! when the workflow grants `permissions: id-token: write`. Tokens live about five minutes, so one
//! is minted for every exchange and never cached.

use super::http::{self, HttpFailure};
use super::{Acquired, BoxFuture, SourceKind, TokenSource};
use crate::env::Env;
use crate::error::{Error, Message};
use crate::jwt::{Claims, Token};
use crate::secret::Secret;
use crate::session;

pub const REQUEST_URL: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
pub const REQUEST_TOKEN: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";

const PERMISSIONS_FIX: &str = "grant the job an ID token in the workflow:\n  permissions:\n    id-token: write\n    contents: read\n(for pull requests from forks GitHub never grants it)";

pub struct GitHubSource {
    url: Option<String>,
    request_token: Option<Secret<String>>,
    run_id: Option<String>,
    run_attempt: Option<String>,
    repository: Option<String>,
    job: Option<String>,
}

impl GitHubSource {
    pub fn new(env: &Env) -> GitHubSource {
        let get = |n: &str| env.get(n).map(str::to_string);
        GitHubSource {
            url: get(REQUEST_URL),
            request_token: get(REQUEST_TOKEN).map(Secret::new),
            run_id: get("GITHUB_RUN_ID"),
            run_attempt: get("GITHUB_RUN_ATTEMPT"),
            repository: get("GITHUB_REPOSITORY"),
            job: get("GITHUB_JOB"),
        }
    }

    fn endpoint(&self) -> Result<(&str, &Secret<String>), Error> {
        match (&self.url, &self.request_token) {
            (Some(url), Some(token)) => Ok((url, token)),
            _ => Err(super::missing_setup(
                "this GitHub Actions job cannot request an OIDC token",
                &[
                    (REQUEST_URL, self.url.is_none()),
                    (REQUEST_TOKEN, self.request_token.is_none()),
                ],
                PERMISSIONS_FIX,
            )),
        }
    }
}

/// Appends the audience the way the Actions toolkit does: the URL already has a query string.
pub fn token_url(base: &str, audience: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}audience={}", http::percent_encode(audience))
}

impl TokenSource for GitHubSource {
    fn kind(&self) -> SourceKind {
        SourceKind::GitHub
    }

    fn describe(&self) -> String {
        format!("GitHub Actions token endpoint ({REQUEST_URL})")
    }

    fn acquire(&self) -> Result<Acquired, Error> {
        let (_, request_token) = self.endpoint()?;
        let ids =
            [&self.repository, &self.run_id, &self.run_attempt, &self.job].map(Option::as_deref);
        let job = super::job_key("github", &ids, request_token.expose());
        Ok(Acquired::OnRequest { job })
    }

    fn mint<'a>(
        &'a self,
        client: &'a http::Client,
        audience: &'a str,
    ) -> BoxFuture<'a, Result<Token, Error>> {
        Box::pin(async move {
            let (url, request_token) = self.endpoint()?;
            let body = client
                .get_json(&token_url(url, audience), request_token)
                .await
                .map_err(|f| match f {
                    HttpFailure::Status(status @ (401 | 403)) => Error::Token(
                        Message::new(format!(
                            "GitHub refused to mint an ID token (HTTP {status})"
                        ))
                        .fix(PERMISSIONS_FIX),
                    ),
                    other => other.into_error("GitHub's OIDC token endpoint", REQUEST_URL),
                })?;
            let value = body.get("value").and_then(|v| v.as_str()).ok_or_else(|| {
                Error::unavailable(
                    Message::new("GitHub's OIDC token endpoint answered without a `value` field")
                        .fix("retry the job; if it persists, check githubstatus.com"),
                    None,
                )
            })?;
            Token::parse(value)
                .map_err(|e| Error::token(format!("the token GitHub minted {e}"), "retry the job"))
        })
    }

    fn can_remint(&self) -> bool {
        true
    }

    fn session_name(&self, _claims: Option<&Claims>) -> Option<String> {
        let run = self.run_id.as_deref()?;
        let attempt = self.run_attempt.as_deref().unwrap_or("1");
        Some(session::sanitize(&format!("gh-{run}-{attempt}")))
    }

    fn audience_fix(&self) -> &'static str {
        "--audience"
    }

    fn expired_fix(&self) -> String {
        "GitHub tokens live about 5 minutes and are minted per exchange; check the runner's clock"
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_is_appended_to_the_existing_query() {
        assert_eq!(
            token_url("https://x/token?api-version=2.0", "sts.amazonaws.com"),
            "https://x/token?api-version=2.0&audience=sts.amazonaws.com"
        );
        assert_eq!(
            token_url("https://x/token", "a b/c"),
            "https://x/token?audience=a%20b%2Fc"
        );
    }
}
