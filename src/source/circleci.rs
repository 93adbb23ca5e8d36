//! CircleCI (`CIRCLECI=true`): every job has its ID token in `CIRCLE_OIDC_TOKEN_V2` (preferred: its
//! `sub` adds the VCS origin and ref) or `CIRCLE_OIDC_TOKEN`. Both are minted once at job start,
//! live one hour, and have a fixed `aud`: the CircleCI organisation id. So either the IAM OIDC
//! provider and trust policy name that id as the audience, or the job mints a token with the
//! audience it wants through `--token-command "circleci run oidc get --claims '{\"aud\":…}'"`.

use super::{Acquired, SourceKind, TokenSource};
use crate::config::SourceSettings;
use crate::env::Env;
use crate::error::{Error, Message};
use crate::jwt::{Claims, Token};
use crate::session;

pub const TOKEN_V2: &str = "CIRCLE_OIDC_TOKEN_V2";
pub const TOKEN_V1: &str = "CIRCLE_OIDC_TOKEN";

/// The `--token-command` that mints a token with the audience the role expects.
pub fn oidc_get_command(audience: &str) -> String {
    format!("circleci run oidc get --claims '{{\"aud\":\"{audience}\"}}'")
}

pub struct CircleCiSource {
    v2: Option<String>,
    v1: Option<String>,
    audience: String,
    repo: Option<String>,
    build: Option<String>,
}

impl CircleCiSource {
    pub fn new(settings: &SourceSettings, env: &Env) -> CircleCiSource {
        let get = |n: &str| env.get(n).map(str::to_string);
        CircleCiSource {
            v2: get(TOKEN_V2),
            v1: get(TOKEN_V1),
            audience: settings.audience.value.clone(),
            repo: get("CIRCLE_PROJECT_REPONAME"),
            build: get("CIRCLE_BUILD_NUM"),
        }
    }

    fn chosen(&self) -> Option<(&'static str, &str)> {
        self.v2
            .as_deref()
            .map(|v| (TOKEN_V2, v))
            .or_else(|| self.v1.as_deref().map(|v| (TOKEN_V1, v)))
    }
}

pub fn session_name_from_env(env: &Env) -> Option<String> {
    let repo = env.get("CIRCLE_PROJECT_REPONAME")?;
    let build = env.get("CIRCLE_BUILD_NUM")?;
    Some(session::sanitize(&format!("cci-{repo}-{build}")))
}

impl TokenSource for CircleCiSource {
    fn kind(&self) -> SourceKind {
        SourceKind::CircleCi
    }

    fn describe(&self) -> String {
        match self.chosen() {
            Some((name, _)) => format!("CircleCI variable {name}"),
            None => format!("CircleCI variables {TOKEN_V2} / {TOKEN_V1}"),
        }
    }

    fn acquire(&self) -> Result<Acquired, Error> {
        let Some((name, value)) = self.chosen() else {
            return Err(Error::Token(
                Message::new(format!(
                    "this CircleCI job has no OIDC token: neither {TOKEN_V2} nor {TOKEN_V1} is set"
                ))
                .detail("CircleCI withholds them from jobs of pull requests from forks unless \"Pass secrets to builds from forked pull requests\" is on")
                .detail("older CircleCI server releases set them only in jobs that use a context")
                .fix(format!(
                    "give the job a context in .circleci/config.yml:\n  workflows:\n    deploy:\n      jobs:\n        - deploy:\n            context: aws\n\
                     or mint one with the CircleCI CLI:\n  --token-command \"{}\"",
                    oidc_get_command(&self.audience).replace('"', "\\\"")
                )),
            ));
        };
        let fix = format!("{name} is set by CircleCI; check the job does not overwrite it");
        super::variable::token_from_variable(name, Some(value), false, &fix).map(Acquired::Local)
    }

    fn session_name(&self, _claims: Option<&Claims>) -> Option<String> {
        let repo = self.repo.as_deref()?;
        let build = self.build.as_deref()?;
        Some(session::sanitize(&format!("cci-{repo}-{build}")))
    }

    fn audience_mismatch(&self, token: &Token, wanted: &str) -> Option<String> {
        Some(format!(
            "CircleCI's {} has aud {} (the organisation id), not {wanted}: the IAM OIDC provider must list {} as a client id and the trust policy must require \"oidc.circleci.com/org/<org-id>:aud\": \"{}\"; pass --audience {} to say so, or mint a token for {wanted} with --token-command \"{}\" (see docs/ci/circleci.md)",
            self.chosen().map(|(n, _)| n).unwrap_or(TOKEN_V1),
            token.claims.aud_display(),
            token.claims.aud_display(),
            token.claims.aud_display(),
            token.claims.aud_display(),
            oidc_get_command(wanted).replace('"', "\\\""),
        ))
    }

    fn audience_fix(&self) -> &'static str {
        "CircleCI's variable tokens always carry the organisation id; or mint one for --audience with --token-command \"circleci run oidc get --claims '{\\\"aud\\\":\\\"sts.amazonaws.com\\\"}'\""
    }

    fn expired_fix(&self) -> String {
        format!(
            "CircleCI's variable tokens live one hour from job start; obtain credentials earlier (the cache keeps them), or mint a fresh token per run with --token-command \"{}\"",
            oidc_get_command(&self.audience).replace('"', "\\\"")
        )
    }
}
