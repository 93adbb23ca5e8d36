//! HCP Terraform and Terraform Enterprise (`TFC_RUN_ID`): a workspace with the environment variable
//! `TFC_WORKLOAD_IDENTITY_AUDIENCE` set gets an ID token for that audience in
//! `TFC_WORKLOAD_IDENTITY_TOKEN` for each plan and apply; a tagged pair
//! `TFC_WORKLOAD_IDENTITY_AUDIENCE_<TAG>` / `TFC_WORKLOAD_IDENTITY_TOKEN_<TAG>` gives more tokens
//! (`--tfc-tag TAG`). The token lasts until the phase's timeout and cannot be renewed.

use super::{Acquired, SourceKind, TokenSource};
use crate::config::SourceSettings;
use crate::env::Env;
use crate::error::{Error, Message};
use crate::jwt::Claims;
use crate::session;

pub const TOKEN: &str = "TFC_WORKLOAD_IDENTITY_TOKEN";
pub const AUDIENCE: &str = "TFC_WORKLOAD_IDENTITY_AUDIENCE";

pub struct TfcSource {
    name: String,
    audience_var: String,
    value: Option<String>,
    not_utf8: bool,
    /// Tags whose tokens this run has, for the error when the wanted one is missing.
    tags: Vec<String>,
    run_id: Option<String>,
    audience: String,
}

impl TfcSource {
    pub fn new(settings: &SourceSettings, env: &Env) -> TfcSource {
        let tag = settings.tfc_tag.as_ref().map(|t| t.value.clone());
        let (name, audience_var) = match &tag {
            Some(t) => (format!("{TOKEN}_{t}"), format!("{AUDIENCE}_{t}")),
            None => (TOKEN.to_string(), AUDIENCE.to_string()),
        };
        let prefix = format!("{TOKEN}_");
        TfcSource {
            value: env.get(&name).map(str::to_string),
            not_utf8: env.is_not_utf8(&name),
            tags: env
                .iter()
                .filter_map(|(n, _)| n.strip_prefix(&prefix).map(str::to_string))
                .collect(),
            name,
            audience_var,
            run_id: env.get("TFC_RUN_ID").map(str::to_string),
            audience: settings.audience.value.clone(),
        }
    }
}

impl TokenSource for TfcSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Tfc
    }

    fn describe(&self) -> String {
        format!("HCP Terraform variable {}", self.name)
    }

    fn acquire(&self) -> Result<Acquired, Error> {
        let fix = format!(
            "add an environment variable to the workspace (or a variable set it uses):\n  {} = {}\n(category: Environment variable); the next run gets {}",
            self.audience_var, self.audience, self.name
        );
        if self.value.is_none() && !self.not_utf8 {
            let mut m = Message::new(format!(
                "this HCP Terraform run has no workload identity token: {} is not set",
                self.name
            ));
            if !self.tags.is_empty() {
                m = m.detail(format!(
                    "tagged tokens are set for: {} (choose one with --tfc-tag)",
                    self.tags.join(", ")
                ));
            }
            return Err(Error::Token(m.fix(fix)));
        }
        super::variable::token_from_variable(&self.name, self.value.as_deref(), self.not_utf8, &fix)
            .map(Acquired::Local)
    }

    fn session_name(&self, claims: Option<&Claims>) -> Option<String> {
        let run = claims
            .and_then(|c| c.text("run_id"))
            .or_else(|| self.run_id.clone())?;
        Some(session::sanitize(
            &match claims.and_then(|c| c.text("run_phase")) {
                Some(phase) => format!("{run}-{phase}"),
                None => run,
            },
        ))
    }

    fn audience_fix(&self) -> &'static str {
        "the workspace variable TFC_WORKLOAD_IDENTITY_AUDIENCE"
    }

    fn expired_fix(&self) -> String {
        "HCP Terraform's token lasts until the plan or apply timeout and cannot be renewed: raise the workspace's run timeout".into()
    }
}
