//! `Secret<T>`: the one type that holds tokens, secret keys and session tokens.
//!
//! It has a redacted `Debug`, no `Display` and no `Serialize`, so a secret cannot reach stderr, a
//! log line, a panic message or a cache listing by accident. The value is reachable only through
//! [`Secret::expose`], which is called at the few boundaries that must see it: the STS request, the
//! credential_process JSON on stdout, the cache entry file and `exec`'s child environment.

use std::fmt;

/// A value that must never be printed. See the module docs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The secret itself. Every call site is a place where the secret leaves the type: keep them few.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Secret(value)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret<String> {
    /// The last four characters, for listings where a user needs to tell two keys apart.
    /// Only ever used on access key ids, which AWS itself shows this way.
    pub fn last_four(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
        format!("…{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("canary-value-123".to_string());
        let printed = format!("{s:?} {:#?}", Some(&s));
        assert!(!printed.contains("canary"), "{printed}");
        assert!(printed.contains("redacted"));
    }

    #[test]
    fn last_four_shows_only_the_tail() {
        assert_eq!(
            Secret::new("ASIAEXAMPLE1234".to_string()).last_four(),
            "…1234"
        );
        assert_eq!(Secret::new("ab".to_string()).last_four(), "…ab");
    }
}
