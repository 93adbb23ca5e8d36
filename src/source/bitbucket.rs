//! Bitbucket Pipelines (`BITBUCKET_BUILD_NUMBER`): a step with `oidc: true` gets its ID token in
//! `BITBUCKET_STEP_OIDC_TOKEN`, minted once per step. Its `aud` defaults to
//! `ari:cloud:bitbucket::workspace/<uuid>` and can be a list; `sub` names the step, so it changes on
//! every run.

use super::{Acquired, SourceKind, TokenSource};
use crate::env::Env;
use crate::error::Error;
use crate::jwt::Claims;
use crate::session;

pub const TOKEN: &str = "BITBUCKET_STEP_OIDC_TOKEN";

const STEP_FIX: &str = "add `oidc: true` to the step in bitbucket-pipelines.yml:\n  - step:\n      name: Deploy\n      oidc: true\n      script:\n        - aws sts get-caller-identity";

pub struct BitbucketSource {
    value: Option<String>,
    not_utf8: bool,
    repo: Option<String>,
    build: Option<String>,
}

impl BitbucketSource {
    pub fn new(env: &Env) -> BitbucketSource {
        BitbucketSource {
            value: env.get(TOKEN).map(str::to_string),
            not_utf8: env.is_not_utf8(TOKEN),
            repo: env.get("BITBUCKET_REPO_SLUG").map(str::to_string),
            build: env.get("BITBUCKET_BUILD_NUMBER").map(str::to_string),
        }
    }
}

impl TokenSource for BitbucketSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Bitbucket
    }

    fn describe(&self) -> String {
        format!("Bitbucket Pipelines variable {TOKEN}")
    }

    fn acquire(&self) -> Result<Acquired, Error> {
        super::variable::token_from_variable(TOKEN, self.value.as_deref(), self.not_utf8, STEP_FIX)
            .map(Acquired::Local)
    }

    fn session_name(&self, _claims: Option<&Claims>) -> Option<String> {
        let build = self.build.as_deref()?;
        let repo = self.repo.as_deref().unwrap_or("repo");
        Some(session::sanitize(&format!("bb-{repo}-{build}")))
    }

    fn audience_fix(&self) -> &'static str {
        "the step's `oidc: audiences:` list"
    }

    fn expired_fix(&self) -> String {
        format!(
            "{TOKEN} is minted once per step and cannot be renewed: obtain credentials earlier in the step (the cache keeps them for --duration)"
        )
    }
}
