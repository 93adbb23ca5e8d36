//! The token source settings: which source (`--source`, else detection), the inputs of the
//! local sources (file, variable, command) and of the CI sources that need one (Azure's service
//! connection, HCP Terraform's tag), and the audience a minted token is asked for. What
//! [`crate::source::detect`] and every `TokenSource` constructor receive: nothing else of the
//! config.

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::CredentialArgs;
use crate::env::Env;
use crate::error::Error;
use crate::setting::{Origin, Setting, vars};
use crate::source_kind::SourceKind;

use super::DEFAULT_AUDIENCE;
use super::layer::{Key, checked, invalid, key, layer, or_default, refuse_unexpanded};

/// What the token sources are built from.
#[derive(Debug, Clone)]
pub struct SourceSettings {
    /// `None` is `auto`.
    pub kind: Setting<Option<SourceKind>>,
    pub token_file: Option<Setting<PathBuf>>,
    pub token_env: Option<Setting<String>>,
    /// `--token-command`: the raw line (it splits: checked here).
    pub token_command: Option<Setting<String>>,
    /// Azure Pipelines: the service connection whose OIDC token is requested.
    pub azure_service_connection: Option<Setting<String>>,
    /// HCP Terraform: the tag of `TFC_WORKLOAD_IDENTITY_TOKEN_<TAG>`.
    pub tfc_tag: Option<Setting<String>>,
    pub audience: Setting<String>,
    /// The run's `--timeout` (the network settings own it): a token command must answer within it.
    pub timeout: Duration,
}

const COMMAND_FIX: &str = "write it as you would in a credential_process line: arguments separated by spaces, \
                 quoted with '…' or \"…\" when they contain spaces, e.g. --token-command \"circleci run oidc get --claims '{\\\"aud\\\":\\\"sts.amazonaws.com\\\"}'\"";
const AZURE_FIX: &str = "use the service connection's id (a GUID): Project settings → Service connections → the connection; it is the resourceId in the page's URL";
const TFC_FIX: &str = "use the TAG of TFC_WORKLOAD_IDENTITY_AUDIENCE_<TAG>: letters, digits and _";

const SOURCE: Key = key("--source", &[vars::SOURCE]);
const TOKEN_FILE: Key = key("--token-file", &[vars::TOKEN_FILE, vars::AWS_TOKEN_FILE]);
const TOKEN_COMMAND: Key = key("--token-command", &[vars::TOKEN_COMMAND]);
const AZURE: Key = key(
    "--azure-service-connection",
    &[vars::AZURE_SERVICE_CONNECTION],
);
const TFC_TAG: Key = key("--tfc-tag", &[vars::TFC_TAG]);
const AUDIENCE: Key = key("--audience", &[vars::AUDIENCE]);

impl SourceSettings {
    pub fn from_args(
        args: &CredentialArgs,
        env: &Env,
        timeout: Duration,
    ) -> Result<SourceSettings, Error> {
        let kind = checked(env, &args.source, SOURCE, |raw| {
            SourceKind::parse(&raw.value).map_err(|_| {
                let fix = format!("use one of: auto, {}", SourceKind::names().join(", "));
                invalid(raw, "is not a token source", &fix)
            })
        })?;
        if let Some(text) = args.token_file.as_deref().and_then(|p| p.to_str()) {
            refuse_unexpanded(TOKEN_FILE, text)?;
        }
        if let Some(aud) = &args.audience {
            refuse_unexpanded(AUDIENCE, aud)?;
        }
        // A path need not be UTF-8: the flag is taken as it is (the variables are read as text).
        let token_file = match &args.token_file {
            Some(path) => Some(Setting::new(path.clone(), Origin::Flag(TOKEN_FILE.flag))),
            None => layer(env, &None, TOKEN_FILE)
                .map(|raw| Setting::new(PathBuf::from(raw.value), raw.origin)),
        };
        let token_env = args.token_env.as_deref().map(token_env).transpose()?;
        let token_command = checked(env, &args.token_command, TOKEN_COMMAND, token_command)?;
        let azure = checked(env, &args.azure_service_connection, AZURE, |raw| {
            identifier(raw, '-', "is not a service connection id", AZURE_FIX)
        })?;
        let tfc_tag = checked(env, &args.tfc_tag, TFC_TAG, |raw| {
            identifier(raw, '_', "is not a workload identity tag", TFC_FIX)
        })?;
        let audience = layer(env, &args.audience, AUDIENCE);
        Ok(SourceSettings {
            kind: or_default(kind, None),
            token_file,
            token_env,
            token_command,
            azure_service_connection: azure,
            tfc_tag,
            audience: or_default(audience, DEFAULT_AUDIENCE.to_string()),
            timeout,
        })
    }

    /// `--token-file` or `AWS_CI_CREDS_TOKEN_FILE`, not the ambient `AWS_WEB_IDENTITY_TOKEN_FILE`.
    pub fn explicit_token_file(&self) -> Option<&Setting<PathBuf>> {
        self.token_file
            .as_ref()
            .filter(|f| !matches!(f.origin, Origin::Env(vars::AWS_TOKEN_FILE)))
    }
}

/// `--token-env` names a variable (flag only: a variable naming a variable would be a puzzle).
fn token_env(name: &str) -> Result<Setting<String>, Error> {
    let raw = Setting::new(name.to_string(), Origin::Flag("--token-env"));
    if let Some(var) = crate::shlex::unexpanded_variable(name).filter(|v| *v == name) {
        let bare = var.trim_start_matches('$').trim_matches(['{', '}']);
        return Err(Error::usage(
            format!(
                "--token-env is `{var}`: it takes the variable's name, and the AWS SDKs do not expand variables in a credential_process line anyway"
            ),
            format!("write the name without `$`: --token-env {bare}"),
        ));
    }
    if name.is_empty() || name.contains('=') || name.starts_with('$') {
        return Err(invalid(
            &raw,
            "is not an environment variable name",
            "pass the variable's name, e.g. --token-env AWS_ID_TOKEN (not its value, not $AWS_ID_TOKEN)",
        ));
    }
    if crate::jwt::looks_like_jwt(name) {
        return Err(Error::usage(
            "--token-env was given a token instead of a variable name",
            "pass the variable's name, e.g. --token-env AWS_ID_TOKEN; a token on the command line is visible to every process on the machine",
        ));
    }
    Ok(raw)
}

fn token_command(raw: &Setting<String>) -> Result<String, Error> {
    if let Err(problem) = crate::sys::process::split_command_line(&raw.value) {
        return Err(Error::usage(
            format!("the command line from {} {problem}", raw.origin),
            COMMAND_FIX,
        ));
    }
    if crate::jwt::looks_like_jwt(&raw.value) {
        return Err(Error::usage(
            format!("{} was given a token instead of a command", raw.origin),
            "pass the command that prints the token; a token on the command line is visible to every process on the machine",
        ));
    }
    Ok(raw.value.clone())
}

/// An id of ASCII letters, digits and `extra`; a variable's value is trimmed first (a flag's is
/// taken as typed).
fn identifier(
    raw: &Setting<String>,
    extra: char,
    problem: &str,
    fix: &str,
) -> Result<String, Error> {
    let value = match raw.origin {
        Origin::Env(_) => raw.value.trim(),
        _ => raw.value.as_str(),
    };
    let value = value.to_string();
    let checked = Setting::new(value.clone(), raw.origin.clone());
    if value.is_empty()
        || !value
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == extra)
    {
        return Err(invalid(&checked, problem, fix));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(7);

    fn source(args: CredentialArgs, env: &[(&str, &str)]) -> Result<SourceSettings, Error> {
        SourceSettings::from_args(&args, &Env::from_pairs(env.iter().copied()), TIMEOUT)
    }

    #[test]
    fn the_source_settings_resolve_alone_with_their_origins() {
        let env = [
            (vars::SOURCE, "GitLab"),
            (vars::AWS_TOKEN_FILE, "/var/run/token"),
            (vars::TFC_TAG, " AWS_1 "),
            (vars::AUDIENCE, "my-aud"),
            // Another concern's wrong value is not this constructor's business.
            (vars::DURATION, "soon"),
        ];
        let args = CredentialArgs {
            token_env: Some("AWS_ID_TOKEN".into()),
            ..CredentialArgs::default()
        };
        let got = source(args, &env).unwrap();
        assert_eq!(
            got.kind,
            Setting::new(Some(SourceKind::GitLab), Origin::Env(vars::SOURCE))
        );
        let file = got.token_file.as_ref().unwrap();
        assert_eq!(file.origin, Origin::Env(vars::AWS_TOKEN_FILE));
        assert!(
            got.explicit_token_file().is_none(),
            "the pod's token is not one the user named"
        );
        assert_eq!(got.token_env.unwrap().origin, Origin::Flag("--token-env"));
        assert_eq!(got.tfc_tag.unwrap().value, "AWS_1", "a variable is trimmed");
        assert_eq!(got.audience.origin, Origin::Env(vars::AUDIENCE));
        assert_eq!(got.timeout, TIMEOUT);

        let defaults = source(CredentialArgs::default(), &[]).unwrap();
        assert_eq!(defaults.kind, Setting::new(None, Origin::Default));
        assert_eq!(
            defaults.audience,
            Setting::new(DEFAULT_AUDIENCE.to_string(), Origin::Default)
        );
        let named = CredentialArgs {
            token_file: Some("/t".into()),
            ..CredentialArgs::default()
        };
        assert!(source(named, &[]).unwrap().explicit_token_file().is_some());
    }

    #[test]
    fn a_flag_is_taken_as_typed_and_refused_with_its_origin() {
        let args = CredentialArgs {
            azure_service_connection: Some(" 0f3c-11 ".into()),
            ..CredentialArgs::default()
        };
        let e = source(args, &[]).unwrap_err();
        assert_eq!(
            e.message().what,
            "flag --azure-service-connection is ` 0f3c-11 `, which is not a service connection id"
        );
        let got = source(
            CredentialArgs::default(),
            &[(vars::AZURE_SERVICE_CONNECTION, " 0f3c-11 ")],
        )
        .unwrap();
        assert_eq!(got.azure_service_connection.unwrap().value, "0f3c-11");
        let e = source(
            CredentialArgs::default(),
            &[(vars::TOKEN_COMMAND, "print-token \"open")],
        )
        .unwrap_err();
        assert!(
            e.message()
                .what
                .starts_with("the command line from env AWS_CI_CREDS_TOKEN_COMMAND "),
            "{e}"
        );
    }
}
