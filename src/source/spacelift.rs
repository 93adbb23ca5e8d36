//! Spacelift (`SPACELIFT=true`, or a run's `TF_VAR_spacelift_run_id`): every run gets its ID token
//! in `SPACELIFT_OIDC_TOKEN` (also in the file `/mnt/workspace/spacelift.oidc`), valid one hour.
//! `aud` is the account's hostname (`<account>.app.spacelift.io`).

use super::{Acquired, SourceKind, TokenSource};
use crate::env::Env;
use crate::error::Error;
use crate::jwt::Claims;
use crate::session;

pub const TOKEN: &str = "SPACELIFT_OIDC_TOKEN";
pub const RUN_ID: &str = "TF_VAR_spacelift_run_id";

const FIX: &str = "Spacelift sets SPACELIFT_OIDC_TOKEN in every run; on a private worker pool, update the launcher image.\nIf the run has the token file instead, point at it:\n  --token-file /mnt/workspace/spacelift.oidc";

pub struct SpaceliftSource {
    value: Option<String>,
    not_utf8: bool,
    run_id: Option<String>,
}

impl SpaceliftSource {
    pub fn new(env: &Env) -> SpaceliftSource {
        SpaceliftSource {
            value: env.get(TOKEN).map(str::to_string),
            not_utf8: env.is_not_utf8(TOKEN),
            run_id: env.get(RUN_ID).map(str::to_string),
        }
    }
}

impl TokenSource for SpaceliftSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Spacelift
    }

    fn describe(&self) -> String {
        format!("Spacelift variable {TOKEN}")
    }

    fn acquire(&self) -> Result<Acquired, Error> {
        super::variable::token_from_variable(TOKEN, self.value.as_deref(), self.not_utf8, FIX)
            .map(Acquired::Local)
    }

    fn session_name(&self, claims: Option<&Claims>) -> Option<String> {
        let run = claims
            .and_then(|c| c.text("runId"))
            .or_else(|| self.run_id.clone())?;
        Some(session::sanitize(&format!("spacelift-{run}")))
    }

    fn expired_fix(&self) -> String {
        "Spacelift's token lives one hour from the start of the run and cannot be renewed: obtain credentials earlier (the cache keeps them for --duration)".into()
    }
}
