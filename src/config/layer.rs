//! The one shape every setting is resolved in: flag > first set variable > (the caller's
//! profile key or default), then checked, kept as a [`Setting`] with its [`Origin`]. A value
//! that fails its check is a usage error that quotes the origin and the value.

use crate::env::Env;
use crate::error::Error;
use crate::setting::{Origin, Setting, clip};

/// Where one setting can come from: its flag, then its variables in precedence order.
#[derive(Debug, Clone, Copy)]
pub(super) struct Key {
    pub flag: &'static str,
    pub vars: &'static [&'static str],
}

pub(super) const fn key(flag: &'static str, vars: &'static [&'static str]) -> Key {
    Key { flag, vars }
}

/// flag > first set variable > nothing, as text.
pub(super) fn layer(env: &Env, flag: &Option<String>, key: Key) -> Option<Setting<String>> {
    if let Some(v) = flag {
        return Some(Setting::new(v.clone(), Origin::Flag(key.flag)));
    }
    key.vars.iter().find_map(|name| {
        env.get(name)
            .map(|v| Setting::new(v.to_string(), Origin::Env(name)))
    })
}

/// [`layer`], then `check` turns the text into the value or refuses it (with [`invalid`] or
/// an error of its own). `Ok(None)` when neither the flag nor a variable set it. A flag whose
/// value is an unexpanded `$VAR` is refused first ([`refuse_unexpanded`]).
pub(super) fn checked<T>(
    env: &Env,
    flag: &Option<String>,
    key: Key,
    check: impl FnOnce(&Setting<String>) -> Result<T, Error>,
) -> Result<Option<Setting<T>>, Error> {
    if let Some(value) = flag {
        refuse_unexpanded(key, value)?;
    }
    layer(env, flag, key)
        .map(|raw| Ok(Setting::new(check(&raw)?, raw.origin)))
        .transpose()
}

/// A flag's value that still holds `$VAR`: the client that ran this line expanded nothing.
/// botocore (the AWS CLI, boto3) splits `credential_process` without a shell, so a variable in
/// the line reaches us as written, and the same line works in a shell and fails in the job. The
/// fix names what does work: the value itself, or the setting's own variable, read by us.
pub(super) fn refuse_unexpanded(key: Key, value: &str) -> Result<(), Error> {
    // A token command's `$VAR` is for the shell it may start itself (`sh -c '…'`).
    if key.flag == "--token-command" {
        return Ok(());
    }
    let Some(var) = crate::shlex::unexpanded_variable(value) else {
        return Ok(());
    };
    let via_env = match key.vars {
        [] => String::new(),
        [one] => format!(
            ", or leave {} out of the line and set {one} in the job's environment (aws-ci-creds reads it itself)",
            key.flag
        ),
        [first, rest @ ..] => format!(
            ", or leave {} out of the line and set {first} (or {}) in the job's environment (aws-ci-creds reads it itself)",
            key.flag,
            rest.join(", ")
        ),
    };
    Err(Error::usage(
        format!(
            "{} is `{}`: the variable {var} was never expanded. The AWS SDKs do not expand variables in a credential_process line (the AWS CLI and boto3 run it without a shell), so it reaches aws-ci-creds as written",
            key.flag,
            clip(value)
        ),
        format!(
            "write the value itself in the line (`aws-ci-creds setup --profile NAME {} \"{}\"` run in the job writes it expanded){via_env}",
            key.flag,
            clip(value)
        ),
    ))
}

/// The usage error for a value its check refused: "flag --x is `v`, which PROBLEM", and the fix.
pub(super) fn invalid(raw: &Setting<String>, problem: &str, fix: &str) -> Error {
    Error::usage(
        format!("{} is `{}`, which {problem}", raw.origin, clip(&raw.value)),
        fix.to_string(),
    )
}

/// `Some(setting)` or the default, marked as such.
pub(super) fn or_default<T>(setting: Option<Setting<T>>, default: T) -> Setting<T> {
    setting.unwrap_or_else(|| Setting::new(default, Origin::Default))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_with_an_unexpanded_variable_names_the_variable_that_works() {
        let err = checked(&Env::default(), &Some("$ROLE_ARN".into()), AB, |_| Ok(())).unwrap_err();
        let m = err.message();
        assert!(m.what.contains("--a is `$ROLE_ARN`"), "{}", m.what);
        assert!(m.what.contains("do not expand variables"), "{}", m.what);
        let fix = m.fix.as_deref().unwrap();
        assert!(fix.contains(&format!("set {A} (or {B})")), "{fix}");
        // From a variable, the value is the variable's own: taken as it is.
        let env = Env::from_pairs([(A, "$x")]);
        assert!(checked(&env, &None, AB, |_| Ok(())).is_ok());
    }

    const A: &str = "AWS_CI_CREDS_A";
    const B: &str = "AWS_CI_CREDS_B";
    const AB: Key = key("--a", &[A, B]);
    const BA: Key = key("--a", &[B, A]);

    #[test]
    fn the_flag_wins_then_the_first_set_variable_then_nothing() {
        let env = Env::from_pairs([(B, "from-b"), (A, "from-a")]);
        let flag = Some("from-flag".to_string());
        let got = layer(&env, &flag, AB).unwrap();
        assert_eq!(got, Setting::new("from-flag".into(), Origin::Flag("--a")));
        let got = layer(&env, &None, AB).unwrap();
        assert_eq!(got, Setting::new("from-a".into(), Origin::Env(A)));
        let got = layer(&env, &None, BA).unwrap();
        assert_eq!(got.origin, Origin::Env(B));
        assert_eq!(layer(&Env::default(), &None, AB), None);
    }

    #[test]
    fn a_refused_value_names_its_origin_and_a_long_one_is_clipped() {
        let env = Env::from_pairs([(A, "x".repeat(500).as_str())]);
        let err = checked(&env, &None, AB, |raw| {
            Err::<(), _>(invalid(raw, "is too long", "shorten it"))
        })
        .unwrap_err();
        let text = &err.message().what;
        assert!(text.starts_with(&format!("env {A} is `xxx")), "{text}");
        assert!(
            text.contains("(500 characters)`, which is too long"),
            "{text}"
        );
        let ok = checked(&env, &Some("7".into()), AB, |raw| {
            raw.value.parse::<u8>().map_err(|_| invalid(raw, "", ""))
        })
        .unwrap();
        assert_eq!(ok, Some(Setting::new(7, Origin::Flag("--a"))));
        assert_eq!(or_default(None, 3).origin, Origin::Default);
    }
}
