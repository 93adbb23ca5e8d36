//! A token in an environment variable named by `--token-env` (outside GitLab, or forced).

use super::{Acquired, SourceKind, TokenSource};
use crate::config::SourceSettings;
use crate::env::Env;
use crate::error::Error;
use crate::jwt::{Claims, Token};

pub struct VariableSource {
    name: String,
    value: Option<String>,
    not_utf8: bool,
}

impl VariableSource {
    pub fn new(settings: &SourceSettings, env: &Env) -> Result<VariableSource, Error> {
        let name = settings
            .token_env
            .as_ref()
            .map(|s| s.value.clone())
            .ok_or_else(|| {
                Error::usage(
                    "--source env needs the name of the variable that holds the token",
                    "add --token-env NAME, e.g. --token-env AWS_ID_TOKEN",
                )
            })?;
        Ok(VariableSource {
            value: env.get(&name).map(str::to_string),
            not_utf8: env.is_not_utf8(&name),
            name,
        })
    }
}

/// Reads and checks a token held in a variable; shared by the variable-based sources.
pub(crate) fn token_from_variable(
    name: &str,
    value: Option<&str>,
    not_utf8: bool,
    fix: &str,
) -> Result<Token, Error> {
    let Some(value) = value else {
        let what = if not_utf8 {
            format!("the token variable {name} is not valid UTF-8")
        } else {
            format!("the token variable {name} is not set (or empty) in this job")
        };
        return Err(Error::token(what, fix));
    };
    Token::parse(value).map_err(|e| {
        Error::token(
            format!("the value of {name} {e}"),
            format!("{name} must hold the OIDC ID token itself (a JWT: eyJ…); {fix}"),
        )
    })
}

impl TokenSource for VariableSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Env
    }

    fn describe(&self) -> String {
        format!("environment variable {}", self.name)
    }

    fn acquire(&self) -> Result<Acquired, Error> {
        let fix = format!(
            "set {} to the job's OIDC ID token, or point --token-env at the variable that has it",
            self.name
        );
        token_from_variable(&self.name, self.value.as_deref(), self.not_utf8, &fix)
            .map(Acquired::Local)
    }

    fn session_name(&self, _claims: Option<&Claims>) -> Option<String> {
        None
    }

    fn expired_fix(&self) -> String {
        format!("whatever sets {} must give a fresh token", self.name)
    }
}
