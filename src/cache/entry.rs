//! The on-disk entry: versioned JSON, `format: 1`.
//!
//! ```json
//! {"format":1,
//!  "meta":{"role_arn":"…","session_name":"…","issuer":"…","subject":"…","audience":"…",
//!          "source":"gitlab","created":"2026-11-26T11:00:00Z"},
//!  "credentials":{"access_key_id":"…","secret_access_key":"…","session_token":"…",
//!                 "expiration":"2026-11-26T12:00:00Z","assumed_role_arn":"…"}}
//! ```
//!
//! This is the one place the cache exposes secrets: [`encode`] copies them out of their
//! [`Secret`]s into a private serde struct, [`decode`] wraps them straight back. Neither private
//! struct implements `Debug`, and a decode failure is described by its kind and position only,
//! never by the text that failed, so a damaged entry cannot leak a secret into a warning.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{Entry, EntryMeta, EntryState};
use crate::credentials::Credentials;
use crate::secret::Secret;

/// The version written by this build; any other version is treated as damaged.
pub(crate) const FORMAT: u32 = 1;

/// STS sessions last at most 12 hours; allow 5 minutes of clock skew on top. An entry expiring
/// later than this from now means the clock moved back or the file was edited.
pub(crate) const MAX_AHEAD: Duration = Duration::minutes(12 * 60 + 5);

#[derive(Serialize)]
struct OnDiskOut<'a> {
    format: u32,
    meta: &'a EntryMeta,
    credentials: CredentialsOut<'a>,
}

#[derive(Serialize)]
struct CredentialsOut<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    session_token: &'a str,
    #[serde(with = "rfc3339")]
    expiration: DateTime<Utc>,
    assumed_role_arn: &'a str,
}

#[derive(Deserialize)]
struct OnDiskIn {
    format: u32,
    meta: EntryMeta,
    credentials: CredentialsIn,
}

#[derive(Deserialize)]
struct CredentialsIn {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    #[serde(with = "rfc3339")]
    expiration: DateTime<Utc>,
    assumed_role_arn: String,
}

/// Only the version, to tell "a newer format" from "garbage" when the full parse fails.
#[derive(Deserialize)]
struct FormatOnly {
    format: u64,
}

/// The file contents for `entry`.
pub(crate) fn encode(entry: &Entry) -> serde_json::Result<Vec<u8>> {
    let c = &entry.credentials;
    let out = OnDiskOut {
        format: FORMAT,
        meta: &entry.meta,
        credentials: CredentialsOut {
            access_key_id: c.access_key_id.expose(),
            secret_access_key: c.secret_access_key.expose(),
            session_token: c.session_token.expose(),
            expiration: c.expiration,
            assumed_role_arn: &c.assumed_role_arn,
        },
    };
    let mut bytes = serde_json::to_vec(&out)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// The entry in `bytes`, or why it is damaged (a reason that never quotes the file).
pub(crate) fn decode(bytes: &[u8]) -> Result<Entry, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("empty file".into());
    }
    let on_disk: OnDiskIn = match serde_json::from_slice(bytes) {
        Ok(on_disk) => on_disk,
        Err(e) => {
            return Err(match serde_json::from_slice::<FormatOnly>(bytes) {
                Ok(v) if v.format != u64::from(FORMAT) => unknown_format(v.format),
                _ => describe(&e),
            });
        }
    };
    if on_disk.format != FORMAT {
        return Err(unknown_format(u64::from(on_disk.format)));
    }
    let c = on_disk.credentials;
    if c.access_key_id.is_empty() || c.secret_access_key.is_empty() || c.session_token.is_empty() {
        return Err("incomplete credentials (an empty key or token)".into());
    }
    Ok(Entry {
        meta: on_disk.meta,
        credentials: Credentials {
            access_key_id: Secret::new(c.access_key_id),
            secret_access_key: Secret::new(c.secret_access_key),
            session_token: Secret::new(c.session_token),
            expiration: c.expiration,
            assumed_role_arn: c.assumed_role_arn,
        },
    })
}

/// Where an entry with these credentials stands at `now`.
pub(crate) fn classify(
    credentials: &Credentials,
    now: DateTime<Utc>,
    margin: Duration,
) -> EntryState {
    let expiration = credentials.expiration;
    if expiration > now + MAX_AHEAD {
        EntryState::Damaged(format!(
            "expires at {}, more than 12h05m from now (the clock moved back or the file was edited)",
            expiration.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ))
    } else if expiration <= now {
        EntryState::Expired
    } else if credentials.is_fresh(now, margin) {
        EntryState::Fresh
    } else {
        EntryState::DueForRefresh
    }
}

fn unknown_format(version: u64) -> String {
    format!("unknown format version {version} (this build reads version {FORMAT})")
}

/// serde_json's own messages can quote the offending value; keep only the kind and the position.
fn describe(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => "truncated (the JSON ends early)".into(),
        Category::Syntax => format!("not valid JSON (line {}, column {})", e.line(), e.column()),
        Category::Data => format!(
            "missing or malformed fields (line {}, column {})",
            e.line(),
            e.column()
        ),
        Category::Io => "could not be read".into(),
    }
}

/// Timestamps as RFC 3339 strings in UTC, e.g. `2026-11-26T12:00:00Z`.
pub(crate) mod rfc3339 {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(crate) fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| D::Error::custom("not an RFC 3339 timestamp"))
    }

    pub(crate) mod option {
        use chrono::{DateTime, Utc};
        use serde::Serializer;

        pub(crate) fn serialize<S: Serializer>(
            t: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()
    }

    fn sample() -> Entry {
        Entry {
            meta: EntryMeta {
                role_arn: "arn:aws:iam::123456789012:role/deploy".into(),
                session_name: "gl-1-2".into(),
                issuer: "https://gitlab.example.com".into(),
                subject: "project_path:group/app".into(),
                audience: "sts.amazonaws.com".into(),
                source: "gitlab".into(),
                created: t0(),
            },
            credentials: crate::credentials::tests::sample(t0() + Duration::hours(1)),
        }
    }

    #[test]
    fn encode_then_decode_gives_the_same_entry() {
        let entry = sample();
        let bytes = encode(&entry).unwrap();
        let back = decode(&bytes).unwrap();
        assert_eq!(back.meta, entry.meta);
        let (a, b) = (&back.credentials, &entry.credentials);
        assert_eq!(a.access_key_id, b.access_key_id);
        assert_eq!(a.secret_access_key, b.secret_access_key);
        assert_eq!(a.session_token, b.session_token);
        assert_eq!(a.expiration, b.expiration);
        assert_eq!(a.assumed_role_arn, b.assumed_role_arn);
    }

    #[test]
    fn the_file_is_versioned_json_with_rfc3339_times() {
        let bytes = encode(&sample()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["format"], 1);
        assert_eq!(v["credentials"]["expiration"], "2026-11-26T13:00:00Z");
        assert_eq!(v["meta"]["created"], "2026-11-26T12:00:00Z");
        assert_eq!(v["credentials"]["secret_access_key"], "secret-canary");
    }

    #[test]
    fn damage_reasons_never_quote_the_file() {
        let canary = "secret-canary-in-a-bad-place";
        let cases = [
            format!(r#"{{"format":1,"meta":"{canary}"}}"#),
            format!(r#"{{"format":"{canary}"}}"#),
            format!(r#"{{"format":1,"credentials":{{"expiration":"{canary}"}}}}"#),
            canary.to_string(),
            format!(r#"{{"format":1,"x":"{canary}"#),
        ];
        for case in cases {
            let reason = decode(case.as_bytes()).expect_err("damaged");
            assert!(!reason.contains("canary"), "{reason}");
        }
    }

    #[test]
    fn damage_is_named() {
        assert_eq!(decode(b"").err().unwrap(), "empty file");
        assert_eq!(decode(b" \n").err().unwrap(), "empty file");
        let bytes = encode(&sample()).unwrap();
        let half = decode(&bytes[..bytes.len() / 2]).err().unwrap();
        assert!(half.starts_with("truncated"), "{half}");
        assert!(decode(b"nope").err().unwrap().starts_with("not valid JSON"));
        let v2 = String::from_utf8(bytes)
            .unwrap()
            .replace(r#""format":1"#, r#""format":2"#);
        assert!(
            decode(v2.as_bytes())
                .err()
                .unwrap()
                .starts_with("unknown format version 2")
        );
        assert!(
            decode(br#"{"format":7}"#)
                .err()
                .unwrap()
                .starts_with("unknown format version 7")
        );
        assert!(
            decode(br#"{"format":1}"#)
                .err()
                .unwrap()
                .starts_with("missing or malformed")
        );
    }

    #[test]
    fn classify_by_time_left() {
        let c = crate::credentials::tests::sample(t0());
        let margin = Duration::minutes(10);
        assert_eq!(
            classify(&c, t0() - Duration::minutes(11), margin),
            EntryState::Fresh
        );
        assert_eq!(
            classify(&c, t0() - Duration::minutes(10), margin),
            EntryState::DueForRefresh
        );
        assert_eq!(
            classify(&c, t0() - Duration::seconds(1), margin),
            EntryState::DueForRefresh
        );
        assert_eq!(classify(&c, t0(), margin), EntryState::Expired);
        assert_eq!(classify(&c, t0() - MAX_AHEAD, margin), EntryState::Fresh);
        let far = classify(&c, t0() - MAX_AHEAD - Duration::seconds(1), margin);
        assert!(matches!(far, EntryState::Damaged(_)), "{far:?}");
    }
}
