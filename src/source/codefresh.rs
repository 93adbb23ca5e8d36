//! Codefresh (`CF_BUILD_ID`): the `obtain-oidc-id-token` step puts an ID token in `ID_TOKEN` for
//! the steps after it (its `AUDIENCE` argument sets `aud`; the default is `https://g.codefresh.io`).

use super::{Acquired, SourceKind, TokenSource};
use crate::config::SourceSettings;
use crate::env::Env;
use crate::error::Error;
use crate::jwt::Claims;
use crate::session;

pub const TOKEN: &str = "ID_TOKEN";

pub struct CodefreshSource {
    value: Option<String>,
    not_utf8: bool,
    build: Option<String>,
    audience: String,
}

impl CodefreshSource {
    pub fn new(settings: &SourceSettings, env: &Env) -> CodefreshSource {
        CodefreshSource {
            value: env.get(TOKEN).map(str::to_string),
            not_utf8: env.is_not_utf8(TOKEN),
            build: env.get("CF_BUILD_ID").map(str::to_string),
            audience: settings.audience.value.clone(),
        }
    }

    fn fix(&self) -> String {
        format!(
            "add a step before this one in codefresh.yml:\n  obtain_id_token:\n    title: Obtain an OIDC ID token\n    type: obtain-oidc-id-token\n    arguments:\n      AUDIENCE: {}",
            self.audience
        )
    }
}

impl TokenSource for CodefreshSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Codefresh
    }

    fn describe(&self) -> String {
        format!("Codefresh variable {TOKEN} (from the obtain-oidc-id-token step)")
    }

    fn acquire(&self) -> Result<Acquired, Error> {
        super::variable::token_from_variable(
            TOKEN,
            self.value.as_deref(),
            self.not_utf8,
            &self.fix(),
        )
        .map(Acquired::Local)
    }

    fn session_name(&self, _claims: Option<&Claims>) -> Option<String> {
        let build = self.build.as_deref()?;
        Some(session::sanitize(&format!("cf-{build}")))
    }

    fn audience_fix(&self) -> &'static str {
        "the obtain-oidc-id-token step's AUDIENCE argument"
    }

    fn expired_fix(&self) -> String {
        "run the obtain-oidc-id-token step again closer to the step that needs credentials, or obtain credentials earlier (the cache keeps them)".into()
    }
}
