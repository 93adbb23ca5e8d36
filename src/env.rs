//! A snapshot of the process environment, taken once in `main`.
//!
//! Everything that depends on an environment variable reads it from an [`Env`], never from
//! `std::env`, so detection and precedence are unit-tested with a fixed set of variables and
//! a test can never be influenced by the CI it happens to run in.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};

/// The environment variables of this run.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<OsString, OsString>,
}

impl Env {
    /// The real process environment.
    pub fn real() -> Self {
        #[allow(clippy::disallowed_methods)] // the one place the real environment is read
        let vars = std::env::vars_os().collect();
        Env { vars }
    }

    /// An environment with exactly these variables.
    pub fn from_pairs<K: Into<OsString>, V: Into<OsString>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The variable's value when it is set, non-empty and valid UTF-8. An empty variable counts as
    /// unset, as it does for the AWS SDKs (`AWS_REGION=` means "no region").
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(OsStr::new(name))
            .and_then(|v| v.to_str())
            .filter(|v| !v.is_empty())
    }

    /// The raw value, for paths, which need not be UTF-8.
    pub fn get_os(&self, name: &str) -> Option<&OsStr> {
        self.vars
            .get(OsStr::new(name))
            .map(|v| v.as_os_str())
            .filter(|v| !v.is_empty())
    }

    /// True when the variable is set to something that is not UTF-8, so an error can say so
    /// instead of calling it missing.
    pub fn is_not_utf8(&self, name: &str) -> bool {
        self.vars
            .get(OsStr::new(name))
            .is_some_and(|v| v.to_str().is_none())
    }

    /// True when the variable equals `value`, ignoring ASCII case (`TF_BUILD=True`, `GITLAB_CI=true`).
    pub fn is(&self, name: &str, value: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case(value))
    }

    /// Every set, UTF-8 variable, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars
            .iter()
            .filter_map(|(k, v)| Some((k.to_str()?, v.to_str()?)))
            .filter(|(_, v)| !v.is_empty())
    }

    /// Every variable as the OS gave it, for building a child's environment.
    pub fn iter_os(&self) -> impl Iterator<Item = (&OsStr, &OsStr)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.as_os_str(), v.as_os_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_count_as_unset() {
        let env = Env::from_pairs([("AWS_REGION", ""), ("A", "x")]);
        assert_eq!(env.get("AWS_REGION"), None);
        assert_eq!(env.get("A"), Some("x"));
        assert_eq!(env.iter().count(), 1);
    }

    #[test]
    fn flags_compare_without_case() {
        let env = Env::from_pairs([("TF_BUILD", "True")]);
        assert!(env.is("TF_BUILD", "true"));
        assert!(!env.is("GITLAB_CI", "true"));
    }
}
