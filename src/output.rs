//! stdout. In credential mode it carries exactly one JSON document, the credential_process
//! protocol; the subcommands print their reports here too, through the [`Out`] they are given.
//! No other module writes stdout.

use std::io::Write;

use serde::Serialize;

use crate::credentials::Credentials;
use crate::error::{Error, Message};

/// The credential_process document, field names and order as the SDKs read them.
#[derive(Serialize)]
struct ProcessCredentials<'a> {
    #[serde(rename = "Version")]
    version: u8,
    #[serde(rename = "AccessKeyId")]
    access_key_id: &'a str,
    #[serde(rename = "SecretAccessKey")]
    secret_access_key: &'a str,
    #[serde(rename = "SessionToken")]
    session_token: &'a str,
    #[serde(rename = "Expiration")]
    expiration: String,
    #[serde(rename = "AccountId", skip_serializing_if = "Option::is_none")]
    account_id: Option<&'a str>,
}

/// The credential_process JSON for these credentials, one line. `Expiration` is RFC 3339 in UTC
/// with a `Z`, which every SDK parses (Go's and Rust's parsers are strict about it).
pub fn process_json(creds: &Credentials) -> String {
    let doc = ProcessCredentials {
        version: 1,
        access_key_id: creds.access_key_id.expose(),
        secret_access_key: creds.secret_access_key.expose(),
        session_token: creds.session_token.expose(),
        expiration: creds
            .expiration
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        account_id: creds.account_id(),
    };
    serde_json::to_string(&doc).expect("plain strings always serialize")
}

/// Where a command's stdout goes: the process's stdout in the binary ([`Out::stdout`]), a
/// buffer in unit tests ([`Out::to`]). Commands get one from `app` and write only through it,
/// so this module stays the one writer of stdout.
pub struct Out<'a> {
    w: Box<dyn Write + 'a>,
}

impl Out<'static> {
    /// The process's stdout. Every write is flushed at once, as the SDKs read us through a pipe.
    pub fn stdout() -> Out<'static> {
        Out {
            w: Box::new(std::io::stdout()),
        }
    }
}

impl<'a> Out<'a> {
    /// Output into any writer (a `Vec<u8>` in tests).
    pub fn to(w: &'a mut dyn Write) -> Out<'a> {
        Out { w: Box::new(w) }
    }

    /// Prints the credential_process JSON: the whole purpose of credential mode.
    pub fn process_json(&mut self, creds: &Credentials) -> Result<(), Error> {
        self.line(&process_json(creds))
    }

    /// Prints a report line (or block) of a subcommand.
    pub fn print(&mut self, text: &str) -> Result<(), Error> {
        self.line(text)
    }

    /// Prints `text` exactly as given (it carries its own newlines): `export`'s and `serve`'s
    /// variables, which are secrets the user asked for.
    pub fn print_exact(&mut self, text: &str) -> Result<(), Error> {
        self.raw(text)
    }

    /// Prints a value as pretty JSON (the `--json` forms).
    pub fn print_json<T: Serialize>(&mut self, value: &T) -> Result<(), Error> {
        let text = serde_json::to_string_pretty(value)
            .map_err(|e| Error::internal("could not serialise the JSON output", e))?;
        self.line(&text)
    }

    fn line(&mut self, text: &str) -> Result<(), Error> {
        self.raw(&format!("{text}\n"))
    }

    fn raw(&mut self, text: &str) -> Result<(), Error> {
        let out = &mut self.w;
        out.write_all(text.as_bytes())
            .and_then(|_| out.flush())
            .map_err(|e| Error::Internal {
                message: Message::new(format!("could not write to stdout: {e}"))
                    .fix("the program that ran aws-ci-creds closed its end of the pipe; check how it is invoked"),
                cause: None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn process_json_has_every_field_the_sdks_read() {
        let exp = chrono::Utc
            .with_ymd_and_hms(2026, 11, 26, 14, 0, 0)
            .unwrap();
        let creds = crate::credentials::tests::sample(exp);
        let text = process_json(&creds);
        assert!(!text.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["Version"], 1);
        assert_eq!(v["AccessKeyId"], "ASIAEXAMPLEKEY01");
        assert_eq!(v["SecretAccessKey"], "secret-canary");
        assert_eq!(v["SessionToken"], "session-canary");
        assert_eq!(v["Expiration"], "2026-11-26T14:00:00Z");
        assert_eq!(v["AccountId"], "123456789012");
    }
}
