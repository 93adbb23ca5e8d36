//! Role chaining and the account guard: the roles assumed with `sts:AssumeRole` after the
//! web-identity hop (`--chain`, in order), what each chained hop sends (`--external-id`,
//! `--chain-duration`, capped at AWS's one hour for chained sessions), and which accounts the
//! final credentials may belong to (`--allowed-account-ids`, `--forbidden-account-ids`).

use crate::arn::AccountId;
use crate::cli::CredentialArgs;
use crate::env::Env;
use crate::error::Error;
use crate::setting::{Setting, vars};

use super::layer::{Key, checked, invalid, key, or_default};
use super::tags::SessionTags;
use super::{MIN_DURATION_SECONDS, RoleArn, parse_duration};

/// AWS caps a session assumed by another role's session at one hour, whatever the role allows.
pub const CHAINED_MAX_SECONDS: u32 = 3600;

/// The chained hops and what each sends.
#[derive(Debug, Clone)]
pub struct ChainConfig {
    /// The roles after the first, in the order they are assumed. Empty: no chaining.
    pub roles: Option<Setting<Vec<RoleArn>>>,
    pub external_id: Option<Setting<String>>,
    pub duration_seconds: Setting<u32>,
    pub tags: SessionTags,
}

impl ChainConfig {
    pub fn roles(&self) -> &[RoleArn] {
        self.roles.as_ref().map_or(&[], |r| &r.value)
    }
}

/// Which accounts the final credentials may belong to.
#[derive(Debug, Clone, Default)]
pub struct AccountGuard {
    pub allowed: Option<Setting<Vec<AccountId>>>,
    pub forbidden: Option<Setting<Vec<AccountId>>>,
}

const CHAIN: Key = key("--chain", &[vars::CHAIN]);
const EXTERNAL_ID: Key = key("--external-id", &[vars::EXTERNAL_ID]);
const CHAIN_DURATION: Key = key("--chain-duration", &[vars::CHAIN_DURATION]);
const ALLOWED: Key = key("--allowed-account-ids", &[vars::ALLOWED_ACCOUNT_IDS]);
const FORBIDDEN: Key = key("--forbidden-account-ids", &[vars::FORBIDDEN_ACCOUNT_IDS]);

/// Repeated flags read as one comma-separated value, like their variable.
fn joined(values: &[String]) -> Option<String> {
    (!values.is_empty()).then(|| values.join(","))
}

/// The non-empty comma-separated items.
fn items(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(',').map(str::trim).filter(|s| !s.is_empty())
}

impl ChainConfig {
    pub fn from_args(args: &CredentialArgs, env: &Env) -> Result<ChainConfig, Error> {
        let roles = checked(env, &joined(&args.chain), CHAIN, |raw| {
            items(&raw.value)
                .map(|arn| {
                    RoleArn::parse(arn).map_err(|problem| {
                        invalid(
                            raw,
                            &format!("has `{arn}`, which {problem}"),
                            "give the ARN of each role to chain into, in order: arn:aws:iam::ACCOUNT:role/NAME",
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })?
        .filter(|r| !r.value.is_empty());
        let external_id = checked(env, &args.external_id, EXTERNAL_ID, |raw| {
            let ok = (2..=1224).contains(&raw.value.len())
                && raw
                    .value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c));
            ok.then(|| raw.value.clone()).ok_or_else(|| {
                invalid(
                    raw,
                    "is not an external id STS accepts",
                    "use 2 to 1224 of A-Z a-z 0-9 _ + = , . @ : / -, exactly as the role's sts:ExternalId condition has it",
                )
            })
        })?;
        let duration = checked(env, &args.chain_duration, CHAIN_DURATION, chained_duration)?;
        let tags = SessionTags::from_args(args, env)?;
        Ok(ChainConfig {
            roles,
            external_id,
            duration_seconds: or_default(duration, CHAINED_MAX_SECONDS),
            tags,
        })
    }
}

/// 900 to 3600 seconds: more is refused here, before any call, rather than by STS mid-chain.
fn chained_duration(raw: &Setting<String>) -> Result<u32, Error> {
    let secs = parse_duration(&raw.value).ok_or_else(|| {
        invalid(
            raw,
            "is not a duration",
            "write seconds (3600) or a unit: 15m, 1h",
        )
    })?;
    if secs > u64::from(CHAINED_MAX_SECONDS) {
        return Err(invalid(
            raw,
            &format!(
                "is {secs} seconds, more than the one hour (3600 s) AWS allows a session assumed by role chaining"
            ),
            "use 1h or less for chained hops (the default is 1h); only the web-identity hop (--duration) can be longer",
        ));
    }
    if secs < u64::from(MIN_DURATION_SECONDS) {
        return Err(invalid(
            raw,
            &format!("is {secs} seconds, less than STS's minimum of 900"),
            "use 15m to 1h",
        ));
    }
    Ok(secs as u32)
}

impl AccountGuard {
    pub fn from_args(args: &CredentialArgs, env: &Env) -> Result<AccountGuard, Error> {
        let list = |flag: &[String], key: Key| {
            checked(env, &joined(flag), key, |raw| {
                items(&raw.value)
                    .map(|id| {
                        AccountId::parse(id).map_err(|e| {
                            invalid(
                                raw,
                                &format!("has {e}"),
                                "list 12-digit account ids, separated by commas",
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .map(|s| s.filter(|s| !s.value.is_empty()))
        };
        Ok(AccountGuard {
            allowed: list(&args.allowed_account_ids, ALLOWED)?,
            forbidden: list(&args.forbidden_account_ids, FORBIDDEN)?,
        })
    }

    pub fn is_set(&self) -> bool {
        self.allowed.is_some() || self.forbidden.is_some()
    }

    /// `Err` with the reason when `account` may not be used (`None`: the account is unknown).
    pub fn check(&self, account: Option<&str>) -> Result<(), String> {
        if !self.is_set() {
            return Ok(());
        }
        let Some(account) = account else {
            return Err(
                "the credentials do not say which account they belong to (no account id in the assumed-role ARN)".into(),
            );
        };
        let listed = |s: &Setting<Vec<AccountId>>| s.value.iter().any(|a| a.as_str() == account);
        if let Some(f) = &self.forbidden
            && listed(f)
        {
            return Err(format!(
                "account {account} is forbidden by {} ({})",
                f.origin,
                ids(&f.value)
            ));
        }
        if let Some(a) = &self.allowed
            && !listed(a)
        {
            return Err(format!(
                "account {account} is not among the allowed accounts {} ({})",
                ids(&a.value),
                a.origin
            ));
        }
        Ok(())
    }
}

pub(super) fn ids(list: &[AccountId]) -> String {
    list.iter()
        .map(AccountId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(args: CredentialArgs, env: &[(&str, &str)]) -> Result<ChainConfig, Error> {
        ChainConfig::from_args(&args, &Env::from_pairs(env.iter().copied()))
    }

    #[test]
    fn chained_roles_come_in_order_from_repeated_flags_or_the_comma_separated_variable() {
        let a = "arn:aws:iam::111111111111:role/a";
        let b = "arn:aws:iam::222222222222:role/b";
        let args = CredentialArgs {
            chain: vec![a.into(), b.into()],
            ..Default::default()
        };
        let got = resolve(args, &[(vars::CHAIN, b)]).unwrap();
        let arns: Vec<&str> = got.roles().iter().map(|r| r.arn.as_str()).collect();
        assert_eq!(arns, [a, b]);
        let got = resolve(
            CredentialArgs::default(),
            &[(vars::CHAIN, &format!("{b}, {a}"))],
        )
        .unwrap();
        let arns: Vec<&str> = got.roles().iter().map(|r| r.arn.as_str()).collect();
        assert_eq!(arns, [b, a]);
        assert_eq!(got.duration_seconds.value, 3600);
        assert!(
            resolve(CredentialArgs::default(), &[])
                .unwrap()
                .roles()
                .is_empty()
        );
        let err = resolve(
            CredentialArgs::default(),
            &[(vars::CHAIN, "arn:aws:iam::1:role/x")],
        )
        .unwrap_err();
        assert!(err.message().what.contains(vars::CHAIN), "{err}");
    }

    #[test]
    fn a_chained_duration_over_an_hour_is_refused_naming_the_limit_and_the_fix() {
        let args = CredentialArgs {
            chain_duration: Some("2h".into()),
            ..Default::default()
        };
        let err = resolve(args, &[]).unwrap_err();
        let m = err.message();
        assert!(
            m.what.starts_with("flag --chain-duration is `2h`"),
            "{}",
            m.what
        );
        assert!(m.what.contains("one hour (3600 s)"), "{}", m.what);
        assert!(m.fix.as_deref().unwrap().contains("1h or less"));
        let args = CredentialArgs {
            chain_duration: Some("30m".into()),
            ..Default::default()
        };
        assert_eq!(resolve(args, &[]).unwrap().duration_seconds.value, 1800);
    }

    #[test]
    fn the_guard_allows_listed_accounts_and_refuses_forbidden_or_unlisted_ones() {
        let env = Env::from_pairs([(vars::FORBIDDEN_ACCOUNT_IDS, "999999999999")]);
        let args = CredentialArgs {
            allowed_account_ids: vec!["111111111111,222222222222".into()],
            ..Default::default()
        };
        let guard = AccountGuard::from_args(&args, &env).unwrap();
        assert_eq!(guard.check(Some("111111111111")), Ok(()));
        let no = guard.check(Some("333333333333")).unwrap_err();
        assert!(
            no.contains("333333333333") && no.contains("111111111111, 222222222222"),
            "{no}"
        );
        let no = guard.check(Some("999999999999")).unwrap_err();
        assert!(
            no.contains("forbidden by env AWS_CI_CREDS_FORBIDDEN_ACCOUNT_IDS"),
            "{no}"
        );
        assert!(guard.check(None).is_err());
        assert_eq!(AccountGuard::default().check(None), Ok(()));
        let bad = CredentialArgs {
            allowed_account_ids: vec!["12345".into()],
            ..Default::default()
        };
        assert!(AccountGuard::from_args(&bad, &Env::default()).is_err());
    }
}
