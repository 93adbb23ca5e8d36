//! Session tags and source identity for chained hops (`--tag`, `--transitive-tag-key`,
//! `--source-identity`, `--ci-tags`), checked against STS's limits before any call. The
//! web-identity hop cannot take them: its tags come from the token's
//! `https://aws.amazon.com/tags` claim, so asking for them without `--chain` is a usage error.

use crate::cli::CredentialArgs;
use crate::env::Env;
use crate::error::Error;
use crate::setting::{Origin, Setting, vars};

use super::layer::{Key, checked, invalid, key};

/// STS's limits on session tags.
pub const MAX_TAGS: usize = 50;
pub const MAX_TAG_KEY: usize = 128;
pub const MAX_TAG_VALUE: usize = 256;

/// What the chained hops send besides the role and session.
#[derive(Debug, Clone)]
pub struct SessionTags {
    /// `KEY=VALUE` pairs, in the order given.
    pub tags: Option<Setting<Vec<(String, String)>>>,
    pub transitive_keys: Option<Setting<Vec<String>>>,
    pub source_identity: Option<Setting<String>>,
    /// Add the detected CI's facts (repository, ref, run, job) as tags.
    pub ci_tags: Setting<bool>,
}

impl SessionTags {
    pub fn pairs(&self) -> &[(String, String)] {
        self.tags.as_ref().map_or(&[], |t| &t.value)
    }

    pub fn transitive(&self) -> &[String] {
        self.transitive_keys.as_ref().map_or(&[], |t| &t.value)
    }

    /// Whether anything here would be sent (so `sts:TagSession`/`SetSourceIdentity` are needed).
    pub fn any(&self) -> bool {
        self.tags.is_some() || self.source_identity.is_some() || self.ci_tags.value
    }
}

const TAGS: Key = key("--tag", &[vars::TAGS]);
const TRANSITIVE: Key = key("--transitive-tag-key", &[vars::TRANSITIVE_TAG_KEYS]);
const SOURCE_IDENTITY: Key = key("--source-identity", &[vars::SOURCE_IDENTITY]);

const TAG_FIX: &str = "write KEY=VALUE, keys of 1 to 128 and values of at most 256 letters, digits, spaces and _ . : / = + - @; at most 50 tags";

/// A character IAM allows in a tag key or value.
pub fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c)
}

/// The non-empty comma-separated items.
fn items(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(',').map(str::trim).filter(|s| !s.is_empty())
}

impl SessionTags {
    pub fn from_args(args: &CredentialArgs, env: &Env) -> Result<SessionTags, Error> {
        let joined = |v: &[String]| (!v.is_empty()).then(|| v.join(","));
        let tags = checked(env, &joined(&args.tags), TAGS, |raw| {
            let mut pairs: Vec<(String, String)> = Vec::new();
            for item in items(&raw.value) {
                let Some((k, v)) = item.split_once('=') else {
                    return Err(invalid(raw, &format!("has `{item}` without `=`"), TAG_FIX));
                };
                let ok = (1..=MAX_TAG_KEY).contains(&k.chars().count())
                    && v.chars().count() <= MAX_TAG_VALUE
                    && k.chars().chain(v.chars()).all(is_tag_char);
                if !ok {
                    return Err(invalid(
                        raw,
                        &format!("has `{item}`, which STS refuses"),
                        TAG_FIX,
                    ));
                }
                if pairs.iter().any(|(seen, _)| seen.eq_ignore_ascii_case(k)) {
                    return Err(invalid(
                        raw,
                        &format!("repeats the key `{k}` (tag keys are case-insensitive)"),
                        "give each key once",
                    ));
                }
                pairs.push((k.to_string(), v.to_string()));
            }
            if pairs.len() > MAX_TAGS {
                return Err(invalid(raw, &format!("has {} tags", pairs.len()), TAG_FIX));
            }
            Ok(pairs)
        })?;
        let transitive_keys =
            checked(env, &joined(&args.transitive_tag_keys), TRANSITIVE, |raw| {
                Ok(items(&raw.value).map(str::to_string).collect::<Vec<_>>())
            })?;
        let source_identity = checked(env, &args.source_identity, SOURCE_IDENTITY, |raw| {
            crate::session::validate(&raw.value)
                .map(|()| raw.value.clone())
                .map_err(|problem| {
                    invalid(raw, &problem, "use 2 to 64 of A-Z a-z 0-9 _ + = , . @ -")
                })
        })?;
        let ci_tags = if args.ci_tags {
            Setting::new(true, Origin::Flag("--ci-tags"))
        } else if let Some(v) = env.get(vars::CI_TAGS) {
            let on = matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on");
            Setting::new(on, Origin::Env(vars::CI_TAGS))
        } else {
            Setting::new(false, Origin::Default)
        };
        Ok(SessionTags {
            tags,
            transitive_keys,
            source_identity,
            ci_tags,
        })
    }

    /// What only makes sense together: a transitive key names a tag, and tags need a chained
    /// hop to be sent on. Checked before any call (not at resolve, so `-v` still shows them).
    pub fn check(&self, chained: bool) -> Result<(), Error> {
        if !chained {
            return self.check_needs_chain();
        }
        if let Some(t) = &self.transitive_keys
            && !self.ci_tags.value
            && let Some(missing) = t.value.iter().find(|k| {
                !self
                    .pairs()
                    .iter()
                    .any(|(key, _)| key.eq_ignore_ascii_case(k))
            })
        {
            return Err(Error::usage(
                format!(
                    "{} names `{missing}`, which is not one of the session tags",
                    t.origin
                ),
                "a transitive tag key must be the key of a --tag (or, with --ci-tags, of a CI tag)",
            ));
        }
        Ok(())
    }

    /// Tags without `--chain` cannot be sent anywhere: say why, naming the setting.
    fn check_needs_chain(&self) -> Result<(), Error> {
        let origin = self
            .tags
            .as_ref()
            .map(|t| t.origin.to_string())
            .or_else(|| self.source_identity.as_ref().map(|s| s.origin.to_string()))
            .or_else(|| self.ci_tags.value.then(|| self.ci_tags.origin.to_string()));
        match origin {
            Some(origin) => Err(Error::usage(
                format!(
                    "{origin} asks for session tags or a source identity, but there is no --chain hop to send them on"
                ),
                "the web-identity hop cannot take tags: they come from the token's https://aws.amazon.com/tags claim (set by the CI); add --chain ROLE_ARN to tag the chained session, or drop the option",
            )),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(args: CredentialArgs, env: &[(&str, &str)]) -> Result<SessionTags, Error> {
        SessionTags::from_args(&args, &Env::from_pairs(env.iter().copied()))
    }

    #[test]
    fn tags_come_from_repeated_flags_or_the_variable_and_follow_the_limits_of_sts() {
        let args = CredentialArgs {
            tags: vec!["team=platform".into(), "env=prod".into()],
            transitive_tag_keys: vec!["team".into()],
            ..Default::default()
        };
        let t = resolve(args, &[]).unwrap();
        assert_eq!(
            t.pairs(),
            [
                ("team".into(), "platform".into()),
                ("env".into(), "prod".into())
            ]
        );
        let t = resolve(CredentialArgs::default(), &[(vars::TAGS, "a=1, b=")]).unwrap();
        assert_eq!(t.pairs().len(), 2);
        for bad in [
            "novalue",
            "k=a|b",
            "Team=a,team=b",
            &format!("{}=v", "k".repeat(129)),
        ] {
            let err = resolve(CredentialArgs::default(), &[(vars::TAGS, bad)]).unwrap_err();
            assert!(err.message().what.contains(vars::TAGS), "{bad}: {err}");
        }
        let many: Vec<String> = (0..51).map(|i| format!("k{i}=v")).collect();
        assert!(resolve(CredentialArgs::default(), &[(vars::TAGS, &many.join(","))]).is_err());
        let err = resolve(
            CredentialArgs {
                transitive_tag_keys: vec!["nope".into()],
                ..Default::default()
            },
            &[],
        )
        .unwrap()
        .check(true)
        .unwrap_err();
        assert!(err.message().what.contains("`nope`"), "{err}");
    }

    #[test]
    fn without_a_chain_tags_are_refused_saying_where_web_identity_tags_come_from() {
        let t = resolve(CredentialArgs::default(), &[(vars::CI_TAGS, "1")]).unwrap();
        let err = t.check(false).unwrap_err();
        assert!(err.message().what.contains(vars::CI_TAGS), "{err}");
        assert!(
            err.message()
                .fix
                .as_deref()
                .unwrap()
                .contains("https://aws.amazon.com/tags")
        );
        assert!(
            resolve(CredentialArgs::default(), &[])
                .unwrap()
                .check(false)
                .is_ok()
        );
        assert!(t.check(true).is_ok());
    }
}
