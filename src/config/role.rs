//! Role and session: which role to assume, under which session name, for how long, narrowed by
//! which session policies. What `AssumeRoleWithWebIdentity` is asked for, apart from the token.

use crate::cli::CredentialArgs;
use crate::env::Env;
use crate::error::Error;
use crate::setting::{Origin, Setting, vars};

use super::layer::{Key, checked, invalid, key, or_default};
use super::parse_duration;
use super::{DEFAULT_DURATION_SECONDS, MAX_DURATION_SECONDS, MIN_DURATION_SECONDS, RoleArn};

/// The role and the session asked of STS.
#[derive(Debug, Clone)]
pub struct RoleConfig {
    pub arn: Option<Setting<RoleArn>>,
    /// `None`: named from the job.
    pub session_name: Option<Setting<String>>,
    pub duration_seconds: Setting<u32>,
    pub policy: Option<Setting<String>>,
    pub policy_arns: Vec<String>,
}

const ARN_FIX: &str = "copy the role's ARN from the IAM console (Roles → your role → ARN)";
const SESSION_FIX: &str =
    "use 2 to 64 of A-Z a-z 0-9 _ + = , . @ -, or leave it out to use the job's own name";

const ROLE_ARN: Key = key("--role-arn", &[vars::ROLE_ARN, vars::AWS_ROLE_ARN]);
const SESSION_NAME: Key = key(
    "--session-name",
    &[vars::SESSION_NAME, vars::AWS_SESSION_NAME],
);
const DURATION: Key = key("--duration", &[vars::DURATION]);

impl RoleConfig {
    pub fn from_args(args: &CredentialArgs, env: &Env) -> Result<RoleConfig, Error> {
        let arn = checked(env, &args.role_arn, ROLE_ARN, |raw| {
            RoleArn::parse(raw.value.trim()).map_err(|problem| invalid(raw, &problem, ARN_FIX))
        })?;
        let session_name = checked(env, &args.session_name, SESSION_NAME, |raw| {
            let name = crate::session::validate(&raw.value).map(|()| raw.value.clone());
            name.map_err(|problem| invalid(raw, &problem, SESSION_FIX))
        })?;
        let duration = checked(env, &args.duration, DURATION, duration)?;
        Ok(RoleConfig {
            arn,
            session_name,
            duration_seconds: or_default(duration, DEFAULT_DURATION_SECONDS),
            policy: policy(args)?,
            policy_arns: policy_arns(&args.policy_arns)?,
        })
    }
}

fn duration(raw: &Setting<String>) -> Result<u32, Error> {
    let secs = parse_duration(&raw.value).ok_or_else(|| {
        invalid(
            raw,
            "is not a duration",
            "write seconds (3600) or a unit: 90m, 1h, 12h",
        )
    })?;
    if !(u64::from(MIN_DURATION_SECONDS)..=u64::from(MAX_DURATION_SECONDS)).contains(&secs) {
        return Err(invalid(
            raw,
            &format!("is {secs} seconds, outside what STS accepts"),
            "choose 900 to 43200 seconds (15m to 12h), and at most the role's maximum session duration",
        ));
    }
    Ok(secs as u32)
}

/// `--policy` or the text of `--policy-file`, checked as JSON and for STS's size limit.
fn policy(args: &CredentialArgs) -> Result<Option<Setting<String>>, Error> {
    let policy = match (&args.policy, &args.policy_file) {
        (Some(p), _) => Setting::new(p.clone(), Origin::Flag("--policy")),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::usage(
                    format!("--policy-file {} cannot be read: {e}", path.display()),
                    "check the path; it must be a readable UTF-8 JSON file",
                )
            })?;
            Setting::new(text, Origin::Flag("--policy-file"))
        }
        (None, None) => return Ok(None),
    };
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&policy.value) {
        return Err(Error::usage(
            format!(
                "the session policy from {} is not valid JSON: {e}",
                policy.origin
            ),
            "pass an IAM policy document, e.g. {\"Version\":\"2012-10-17\",\"Statement\":[…]}",
        ));
    }
    if policy.value.len() > 2048 {
        return Err(Error::usage(
            format!(
                "the session policy from {} is {} characters; STS accepts at most 2048",
                policy.origin,
                policy.value.len()
            ),
            "shorten it (remove whitespace), or use a managed policy with --policy-arn",
        ));
    }
    Ok(Some(policy))
}

/// The `--policy-arn` values: at most STS's 10, each an IAM policy ARN.
fn policy_arns(arns: &[String]) -> Result<Vec<String>, Error> {
    if arns.len() > 10 {
        return Err(Error::usage(
            format!(
                "{} --policy-arn values given; STS accepts at most 10",
                arns.len()
            ),
            "combine managed policies, or narrow with one inline --policy",
        ));
    }
    for arn in arns {
        let ok = arn.starts_with("arn:")
            && arn.split(':').nth(2) == Some("iam")
            && arn.contains(":policy/");
        if !ok {
            return Err(Error::usage(
                format!("--policy-arn `{arn}` is not an IAM policy ARN"),
                "use arn:aws:iam::aws:policy/NAME or arn:aws:iam::123456789012:policy/NAME",
            ));
        }
    }
    Ok(arns.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(args: CredentialArgs, env: &[(&str, &str)]) -> Result<RoleConfig, Error> {
        RoleConfig::from_args(&args, &Env::from_pairs(env.iter().copied()))
    }

    #[test]
    fn the_role_and_session_resolve_alone_with_their_origins() {
        // Settings of the other concerns, even wrong ones, are not this constructor's business.
        let env = [
            (
                vars::AWS_ROLE_ARN,
                " arn:aws:iam::123456789012:role/deploy ",
            ),
            (vars::AWS_SESSION_NAME, "nightly"),
            (vars::REGION, "not a region"),
            (vars::SOURCE, "nonsense"),
        ];
        let args = CredentialArgs {
            duration: Some("2h".into()),
            policy_arns: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
            ..CredentialArgs::default()
        };
        let got = role(args, &env).unwrap();
        let arn = got.arn.unwrap();
        assert_eq!(arn.value.arn, "arn:aws:iam::123456789012:role/deploy");
        assert_eq!(arn.origin, Origin::Env(vars::AWS_ROLE_ARN));
        let session = got.session_name.unwrap();
        assert_eq!(session.origin, Origin::Env(vars::AWS_SESSION_NAME));
        assert_eq!(
            got.duration_seconds,
            Setting::new(7200, Origin::Flag("--duration"))
        );
        assert_eq!(got.policy_arns.len(), 1);
        assert!(got.policy.is_none());

        let defaults = role(CredentialArgs::default(), &[]).unwrap();
        assert!(defaults.arn.is_none() && defaults.session_name.is_none());
        assert_eq!(
            defaults.duration_seconds,
            Setting::new(DEFAULT_DURATION_SECONDS, Origin::Default)
        );
    }

    #[test]
    fn a_duration_names_its_own_fix_for_each_problem() {
        let e = role(CredentialArgs::default(), &[(vars::DURATION, "soon")]).unwrap_err();
        assert_eq!(
            e.message().what,
            "env AWS_CI_CREDS_DURATION is `soon`, which is not a duration"
        );
        assert_eq!(
            e.message().fix.as_deref(),
            Some("write seconds (3600) or a unit: 90m, 1h, 12h")
        );
        let e = role(CredentialArgs::default(), &[(vars::DURATION, "13h")]).unwrap_err();
        let what = &e.message().what;
        assert!(
            what.ends_with("is 46800 seconds, outside what STS accepts"),
            "{what}"
        );
    }

    #[test]
    fn a_policy_file_is_read_and_checked_here() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.json");
        std::fs::write(&file, r#"{"Version":"2012-10-17","Statement":[]}"#).unwrap();
        let args = CredentialArgs {
            policy_file: Some(file),
            ..CredentialArgs::default()
        };
        let got = role(args, &[]).unwrap().policy.unwrap();
        assert_eq!(got.origin, Origin::Flag("--policy-file"));
        let missing = CredentialArgs {
            policy_file: Some(dir.path().join("absent.json")),
            ..CredentialArgs::default()
        };
        let e = role(missing, &[]).unwrap_err();
        assert!(e.to_string().contains("cannot be read"), "{e}");
    }
}
