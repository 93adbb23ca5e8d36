//! env0 (`ENV0_ENVIRONMENT_ID`): with OIDC enabled for the organisation, each deployment gets its
//! ID token in `ENV0_OIDC_TOKEN`. Its audience is fixed; its `sub` is unique to the organisation.

use super::{Acquired, SourceKind, TokenSource};
use crate::env::Env;
use crate::error::Error;
use crate::jwt::Claims;
use crate::session;

pub const TOKEN: &str = "ENV0_OIDC_TOKEN";

const FIX: &str = "enable OIDC for deployments: Organization settings → Policies → check \"Enable OIDC during deployments\" (or select an OIDC credential for the environment)";

pub struct Env0Source {
    value: Option<String>,
    not_utf8: bool,
    deployment: Option<String>,
}

impl Env0Source {
    pub fn new(env: &Env) -> Env0Source {
        Env0Source {
            value: env.get(TOKEN).map(str::to_string),
            not_utf8: env.is_not_utf8(TOKEN),
            deployment: env.get("ENV0_DEPLOYMENT_LOG_ID").map(str::to_string),
        }
    }
}

impl TokenSource for Env0Source {
    fn kind(&self) -> SourceKind {
        SourceKind::Env0
    }

    fn describe(&self) -> String {
        format!("env0 variable {TOKEN}")
    }

    fn acquire(&self) -> Result<Acquired, Error> {
        super::variable::token_from_variable(TOKEN, self.value.as_deref(), self.not_utf8, FIX)
            .map(Acquired::Local)
    }

    fn session_name(&self, _claims: Option<&Claims>) -> Option<String> {
        let deployment = self.deployment.as_deref()?;
        Some(session::sanitize(&format!("env0-{deployment}")))
    }

    fn expired_fix(&self) -> String {
        "env0's token is minted once per deployment and cannot be renewed: obtain credentials earlier (the cache keeps them for --duration)".into()
    }
}
