//! A token in an environment variable named by `--token-env` (outside GitLab, or forced).

use super::{Acquired, SourceKind, TokenSource};
use crate::config::SourceSettings;
use crate::env::Env;
use crate::error::{Error, Message};
use crate::jwt::{Claims, Token, looks_like_jwt};

pub struct VariableSource {
    name: String,
    value: Option<String>,
    not_utf8: bool,
    /// The names (never the values) of the variables that hold a JWT, for a mistyped name.
    jwt_names: Vec<String>,
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
            jwt_names: jwt_names(env),
            name,
        })
    }
}

/// The names of the variables that hold a JWT.
pub(crate) fn jwt_names(env: &Env) -> Vec<String> {
    env.iter()
        .filter(|(_, value)| looks_like_jwt(value))
        .map(|(name, _)| name.to_string())
        .collect()
}

/// The variable `name` was probably meant to be: one that holds a JWT and is spelled the same
/// but for case or at most two letters.
pub(crate) fn meant<'a>(name: &str, jwt_names: &'a [String]) -> Option<&'a str> {
    let wanted = name.to_ascii_uppercase();
    jwt_names
        .iter()
        .map(|n| (edits(&wanted, &n.to_ascii_uppercase()), n))
        .filter(|(d, n)| *d <= 2.min(n.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.as_str())
}

/// Levenshtein distance.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// [`token_from_variable`] for a name the user typed: an unset name close to one that holds a
/// JWT says which, instead of the set-up fix for the mistyped name.
pub(crate) fn token_from_named_variable(
    name: &str,
    value: Option<&str>,
    not_utf8: bool,
    fix: &str,
    jwt_names: &[String],
) -> Result<Token, Error> {
    if value.is_none()
        && !not_utf8
        && let Some(other) = meant(name, jwt_names)
    {
        return Err(Error::Token(
            Message::new(format!(
                "the token variable {name} is not set (or empty) in this job"
            ))
            .detail(format!("{other} is set and holds a JWT"))
            .fix(format!("pass --token-env {other}")),
        ));
    }
    token_from_variable(name, value, not_utf8, fix)
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
        token_from_named_variable(
            &self.name,
            self.value.as_deref(),
            self.not_utf8,
            &fix,
            &self.jwt_names,
        )
        .map(Acquired::Local)
    }

    fn session_name(&self, _claims: Option<&Claims>) -> Option<String> {
        None
    }

    fn expired_fix(&self) -> String {
        format!("whatever sets {} must give a fresh token", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::meant;

    #[test]
    fn a_mistyped_name_is_matched_to_the_jwt_variable_it_nearly_spells() {
        let names = vec!["AWS_ID_TOKEN".to_string(), "VAULT_ID_TOKEN".to_string()];
        assert_eq!(meant("AWS_ID_TOKN", &names), Some("AWS_ID_TOKEN"));
        assert_eq!(meant("aws_id_token", &names), Some("AWS_ID_TOKEN"));
        assert_eq!(meant("AWS_ID_TOKEN_X", &names), Some("AWS_ID_TOKEN"));
        // Too far from any, or too short to guess.
        assert_eq!(meant("GCP_TOKEN", &names), None);
        assert_eq!(meant("AB", &["AC".to_string()]), None);
        assert_eq!(meant("AWS_ID_TOKN", &[]), None);
    }
}
