//! GitLab CI: the token is in an environment variable whose name the job chose under
//! `id_tokens:`. Without `--token-env`, the variable is found by its content: the one JWT whose
//! `iss` is this instance (`$CI_SERVER_URL`). GitLab mints it once per job; it cannot be renewed.

use super::{Acquired, SourceKind, TokenSource};
use crate::config::SourceSettings;
use crate::env::Env;
use crate::error::{Error, Message};
use crate::jwt::{Claims, Token, decode_claims, looks_like_jwt};
use crate::session;

/// Removed in GitLab 17.0; still read as a last resort for older self-managed instances.
const LEGACY_VARIABLE: &str = "CI_JOB_JWT_V2";

pub struct GitLabSource {
    token_env: Option<String>,
    audience: String,
    server_url: Option<String>,
    /// (name, value) of every variable that holds a JWT.
    candidates: Vec<(String, String)>,
    legacy: Option<String>,
    /// The value of the `--token-env` variable, whatever it holds.
    named_value: Option<String>,
    project_id: Option<String>,
    job_id: Option<String>,
    not_utf8: bool,
}

impl GitLabSource {
    pub fn new(settings: &SourceSettings, env: &Env) -> GitLabSource {
        let token_env = settings.token_env.as_ref().map(|s| s.value.clone());
        GitLabSource {
            not_utf8: token_env.as_deref().is_some_and(|n| env.is_not_utf8(n)),
            candidates: env
                .iter()
                .filter(|(name, value)| *name != LEGACY_VARIABLE && looks_like_jwt(value))
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            named_value: token_env
                .as_deref()
                .and_then(|n| env.get(n))
                .map(str::to_string),
            token_env,
            audience: settings.audience.value.clone(),
            server_url: env
                .get("CI_SERVER_URL")
                .map(|u| u.trim_end_matches('/').to_string()),
            legacy: env.get(LEGACY_VARIABLE).map(str::to_string),
            project_id: env.get("CI_PROJECT_ID").map(str::to_string),
            job_id: env.get("CI_JOB_ID").map(str::to_string),
        }
    }

    fn snippet(&self, name: &str) -> String {
        format!(
            "add to the job in .gitlab-ci.yml:\n  id_tokens:\n    {name}:\n      aud: {}\nthen pass --token-env {name} (or let aws-ci-creds find it)",
            self.audience
        )
    }

    fn find(&self) -> Result<(String, Token), Error> {
        if let Some(name) = &self.token_env {
            let names: Vec<String> = self.candidates.iter().map(|(n, _)| n.clone()).collect();
            let token = super::variable::token_from_named_variable(
                name,
                self.named_value.as_deref(),
                self.not_utf8,
                &self.snippet(name),
                &names,
            )?;
            return Ok((name.clone(), token));
        }

        let issuer = self.server_url.as_deref();
        let matching: Vec<&(String, String)> = self
            .candidates
            .iter()
            .filter(|(_, v)| {
                let iss = decode_claims(v.trim()).ok().and_then(|c| c.iss);
                match (issuer, iss) {
                    (Some(want), Some(iss)) => iss.trim_end_matches('/') == want,
                    _ => false,
                }
            })
            .collect();
        // Jobs often request several tokens (AWS, Vault, …): the one for AWS has our audience.
        let for_us: Vec<&(String, String)> = matching
            .iter()
            .copied()
            .filter(|(_, v)| {
                decode_claims(v.trim()).is_ok_and(|c| c.aud.iter().any(|a| a == &self.audience))
            })
            .collect();
        let chosen = if matching.len() > 1 && for_us.len() == 1 {
            for_us
        } else {
            matching
        };
        match chosen.as_slice() {
            [(name, value)] => {
                let token = super::variable::token_from_variable(
                    name,
                    Some(value),
                    false,
                    &self.snippet(name),
                )?;
                Ok((name.clone(), token))
            }
            [] => {
                if let Some(legacy) = &self.legacy {
                    let token = super::variable::token_from_variable(
                        LEGACY_VARIABLE,
                        Some(legacy),
                        false,
                        &self.snippet("AWS_ID_TOKEN"),
                    )?;
                    return Ok((LEGACY_VARIABLE.to_string(), token));
                }
                let issuer_note = match issuer {
                    Some(url) => {
                        format!("no variable holds an ID token issued by {url} (CI_SERVER_URL)")
                    }
                    None => {
                        "CI_SERVER_URL is not set, so the ID token variable cannot be recognised"
                            .into()
                    }
                };
                Err(Error::Token(
                    Message::new("this GitLab job has no OIDC ID token")
                        .detail(issuer_note)
                        .detail("CI_JOB_JWT_V2 was removed in GitLab 17.0; jobs must request tokens with `id_tokens:`")
                        .fix(self.snippet("AWS_ID_TOKEN")),
                ))
            }
            many => {
                let described: Vec<String> = many
                    .iter()
                    .map(|(n, v)| {
                        let aud = decode_claims(v.trim())
                            .map(|c| c.aud_display())
                            .unwrap_or_default();
                        format!("{n} (aud {aud})")
                    })
                    .collect();
                Err(Error::Token(
                    Message::new(format!(
                        "this GitLab job has {} ID token variables and none is the only one for audience {}: {}",
                        many.len(),
                        self.audience,
                        described.join(", ")
                    ))
                    .fix(format!(
                        "say which one to use, e.g. --token-env {}, or give only the AWS token `aud: {}`",
                        many[0].0, self.audience
                    )),
                ))
            }
        }
    }
}

impl TokenSource for GitLabSource {
    fn kind(&self) -> SourceKind {
        SourceKind::GitLab
    }

    fn describe(&self) -> String {
        match &self.token_env {
            Some(name) => format!("GitLab id_tokens variable {name}"),
            None => "GitLab id_tokens variable (found by issuer)".into(),
        }
    }

    fn acquire(&self) -> Result<Acquired, Error> {
        self.find().map(|(_, token)| Acquired::Local(token))
    }

    fn session_name(&self, claims: Option<&Claims>) -> Option<String> {
        let project = claims
            .and_then(|c| c.text("project_id"))
            .or_else(|| self.project_id.clone())?;
        let job = claims
            .and_then(|c| c.text("job_id"))
            .or_else(|| self.job_id.clone())?;
        Some(session::sanitize(&format!("gl-{project}-{job}")))
    }

    fn audience_fix(&self) -> &'static str {
        "the job's `id_tokens: … aud:` line"
    }

    fn expired_fix(&self) -> String {
        "GitLab ID tokens expire at the job's timeout and cannot be renewed: raise the job's `timeout:`, \
         or obtain credentials earlier in the job (the cache keeps them for --duration)"
            .into()
    }
}

/// The variable GitLab detection chose, for `-v` and `doctor`.
pub fn chosen_variable(settings: &SourceSettings, env: &Env) -> Option<String> {
    GitLabSource::new(settings, env)
        .find()
        .ok()
        .map(|(name, _)| name)
}

/// True when a legacy `CI_JOB_JWT_V2` would be used, so the caller can warn.
pub fn uses_legacy_variable(settings: &SourceSettings, env: &Env) -> bool {
    chosen_variable(settings, env).as_deref() == Some(LEGACY_VARIABLE)
}
