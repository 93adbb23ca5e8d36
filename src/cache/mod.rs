//! The on-disk credential cache.
//!
//! # What the cache owns
//!
//! One directory (by default under the user's cache directory) holding, per identity:
//!
//! * `<key>.json`: the entry, the temporary credentials plus non-secret metadata;
//! * `<key>.lock`: the single-flight lock file (see [`Cache::lock`]), empty;
//! * `.tmp-*`: a store in progress (or the leftover of one that crashed; [`Cache::clear`] removes
//!   those older than a minute).
//!
//! `<key>` is a [`CacheKey`]: the SHA-256 hex of every setting that changes which credentials STS
//! returns (role, session name, duration, policies, endpoint, region, the token's issuer, subject
//! and audience, and the job), so two identities never share an entry.
//!
//! # On-disk format
//!
//! Compact JSON, one object per file (`entry.rs` holds the serde structs):
//!
//! ```json
//! {"format":1,
//!  "meta":{"role_arn":"…","session_name":"…","issuer":"…","subject":"…","audience":"…",
//!          "source":"gitlab","created":"2026-11-26T11:00:00Z"},
//!  "credentials":{"access_key_id":"…","secret_access_key":"…","session_token":"…",
//!                 "expiration":"2026-11-26T12:00:00Z","assumed_role_arn":"…"}}
//! ```
//!
//! Times are RFC 3339 in UTC. Any other `format` is treated as damaged and replaced by the next
//! store; a change to the layout bumps it.
//!
//! # Security model
//!
//! The entries hold live AWS credentials, and CI runners are often shared, so:
//!
//! * the directory must be a real directory (not a symlink), owned by the effective user and not
//!   writable by group or others; one this process creates is made 0700. Otherwise [`Cache::open`]
//!   refuses it and the run goes on uncached;
//! * entries are written 0600 through a temp file in the same directory and an atomic rename, so
//!   a reader never sees half an entry;
//! * entries are opened with `O_NOFOLLOW` and checked on the open descriptor: a symlink, a
//!   non-regular file, a file owned by someone else, a mode other than 0600, a file over 64 KiB,
//!   bad JSON, an unknown format or an expiry more than 12h05m ahead (STS's maximum plus skew)
//!   are all treated as damaged: a miss, which the next store replaces.
//!
//! The parent directories are trusted as they are: whoever can rename the cache directory's
//! parent already controls this user's files. The module is Unix only (owners, modes,
//! `O_NOFOLLOW`, `flock`).
//!
//! # Never fatal
//!
//! Nothing here makes a run fail. A lookup that cannot use an entry is a miss; an operation that
//! cannot be done returns a [`CacheProblem`], which the caller prints as one warning line before
//! going on without the cache.
//!
//! # The hit path
//!
//! [`Cache::lookup`] opens one file, `fstat`s it, reads at most 64 KiB and parses it: no directory
//! scan, no async runtime. Callers do: lookup → miss → [`Cache::lock`] → lookup again (another
//! process may have stored meanwhile) → exchange → [`Cache::store`] → drop the lock.

mod entry;
mod key;
mod location;
mod lock;
mod safety;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::credentials::Credentials;

pub use key::{CacheKey, HopParts, KeyParts};
pub use location::select;
pub use lock::CacheLock;

/// What `cache list` shows next to an entry; never secret.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EntryMeta {
    pub role_arn: String,
    pub session_name: String,
    pub issuer: String,
    pub subject: String,
    pub audience: String,
    /// Which CI issued the token, e.g. `gitlab`.
    pub source: String,
    #[serde(with = "entry::rfc3339")]
    pub created: DateTime<Utc>,
}

/// One cached session.
#[derive(Clone, Debug)]
pub struct Entry {
    pub meta: EntryMeta,
    pub credentials: Credentials,
}

/// Decodes an entry file's bytes and classifies it at `now`, as [`Cache::lookup`] does after
/// reading the file: the parsing half of the cache, exposed for the fuzz targets in `fuzz/`.
/// Returns the entry's state, or why the bytes are damaged (a reason that never quotes them).
#[doc(hidden)]
pub fn decode_entry(
    bytes: &[u8],
    now: DateTime<Utc>,
    margin: chrono::Duration,
) -> Result<(Entry, EntryState), String> {
    let entry = entry::decode(bytes)?;
    let state = entry::classify(&entry.credentials, now, margin);
    Ok((entry, state))
}

/// What [`Cache::lookup`] found.
#[derive(Debug)]
pub enum Lookup {
    /// More than the margin is left: serve it.
    Fresh(Entry),
    /// Not expired yet, but inside the margin: refresh, and fall back to it only if that fails.
    Stale(Entry),
    /// Nothing usable: no entry, an expired one (now removed) or a damaged one.
    Miss,
}

/// Why the cache could not be used, as one warning line: `<what>; <fix>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheProblem {
    /// What is wrong, e.g. `cache directory /x is writable by others (mode 0777)`.
    pub what: String,
    /// What the user can do about it.
    pub fix: String,
}

impl CacheProblem {
    pub fn new(what: impl Into<String>, fix: impl Into<String>) -> Self {
        CacheProblem {
            what: what.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for CacheProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; {}", self.what, self.fix)
    }
}

impl std::error::Error for CacheProblem {}

/// Where a listed entry stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    /// More than the margin left: a lookup serves it.
    Fresh,
    /// Not expired, but inside the margin: the next run refreshes it.
    DueForRefresh,
    /// Past its expiration: the next lookup or `clear` removes it.
    Expired,
    /// Unusable, and why (never quoting the file).
    Damaged(String),
}

/// One line of `cache list`. Holds no secret: at most the last four characters of the access key id.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Listed {
    /// The file name within the cache directory.
    pub file: String,
    pub state: EntryState,
    pub meta: Option<EntryMeta>,
    #[serde(serialize_with = "entry::rfc3339::option::serialize")]
    pub expiration: Option<DateTime<Utc>>,
    /// `…WXYZ`, from [`crate::secret::Secret::last_four`].
    pub access_key_hint: Option<String>,
}

/// One file [`Cache::clear`] removed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Removed {
    pub file: String,
    /// The entry's metadata, when it was a readable entry.
    pub meta: Option<EntryMeta>,
}

/// The refresh margin for a session of `duration_seconds`: the requested margin, capped at half
/// the session so that short sessions are still served from the cache (and never negative).
pub fn refresh_margin(requested: chrono::Duration, duration_seconds: u32) -> chrono::Duration {
    let half = chrono::Duration::seconds(i64::from(duration_seconds) / 2);
    requested.min(half).max(chrono::Duration::zero())
}

/// Leftover temp files younger than this may be a store in progress.
const TMP_MAX_AGE: chrono::Duration = chrono::Duration::minutes(1);

/// The cache directory, checked. See the module docs.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// Creates the directory (and parents) with 0700 if missing, then checks it: a real directory
    /// (not a symlink), owned by the euid, no group/other write (and for a directory we created,
    /// no group/other access at all).
    pub fn open(dir: &Path) -> Result<Cache, CacheProblem> {
        safety::prepare_dir(dir)?;
        Ok(Cache {
            dir: dir.to_path_buf(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry for `key`: fresh when more than `margin` is left, stale when less, a miss when
    /// there is none or it is damaged. An expired entry is removed and is a miss.
    pub fn lookup(&self, key: &CacheKey, now: DateTime<Utc>, margin: chrono::Duration) -> Lookup {
        let path = self.entry_path(key);
        let Ok(Some((bytes, id))) = safety::read_entry(&path) else {
            return Lookup::Miss;
        };
        let Ok(entry) = entry::decode(&bytes) else {
            return Lookup::Miss;
        };
        match entry::classify(&entry.credentials, now, margin) {
            EntryState::Fresh => Lookup::Fresh(entry),
            EntryState::DueForRefresh => Lookup::Stale(entry),
            EntryState::Expired => {
                safety::remove_if_same(&path, id);
                Lookup::Miss
            }
            EntryState::Damaged(_) => Lookup::Miss,
        }
    }

    /// Takes the single-flight lock for `key`, waiting up to `wait` for another run to finish.
    /// Released when the returned guard is dropped (or the process dies). If the file system does
    /// not support locking, the guard holds nothing and the run goes on.
    pub fn lock(
        &self,
        key: &CacheKey,
        wait: std::time::Duration,
    ) -> Result<CacheLock, CacheProblem> {
        lock::acquire(&self.lock_path(key), wait)
    }

    /// Writes the entry for `key` atomically (mode 0600), replacing whatever was there.
    pub fn store(&self, key: &CacheKey, entry: &Entry) -> Result<(), CacheProblem> {
        let bytes = entry::encode(entry).map_err(|e| {
            CacheProblem::new(
                format!("could not encode the cache entry: {e}"),
                "this is a bug; please report it",
            )
        })?;
        safety::write_atomic(&self.dir, &self.entry_path(key), &bytes).map_err(|e| {
            CacheProblem::new(
                format!(
                    "could not write a cache entry in {}: {e}",
                    self.dir.display()
                ),
                format!(
                    "check that {} is a directory you own and can write (chmod 700)",
                    self.dir.display()
                ),
            )
        })
    }

    /// Every `*.json` in the directory, damaged ones included (file name and reason only), sorted
    /// by expiry; damaged entries last. An unreadable directory lists nothing.
    pub fn list(&self, now: DateTime<Utc>, margin: chrono::Duration) -> Vec<Listed> {
        let mut listed: Vec<Listed> = self
            .file_names()
            .into_iter()
            .filter(|name| is_entry_file(name))
            .filter_map(|name| self.inspect(name, now, margin))
            .collect();
        listed.sort_by(|a, b| {
            (a.expiration.is_none(), a.expiration, &a.file).cmp(&(
                b.expiration.is_none(),
                b.expiration,
                &b.file,
            ))
        });
        listed
    }

    /// Removes every entry, or only expired ones, with their lock files (unless another run holds
    /// the lock right now), plus leftover temp files older than a minute. Says what it removed.
    pub fn clear(
        &self,
        expired_only: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<Removed>, CacheProblem> {
        let names = std::fs::read_dir(&self.dir)
            .map_err(|e| {
                CacheProblem::new(
                    format!(
                        "could not read the cache directory {}: {e}",
                        self.dir.display()
                    ),
                    format!("check that {} is a directory you own", self.dir.display()),
                )
            })?
            .flatten()
            .filter_map(|d| d.file_name().into_string().ok())
            .collect::<Vec<_>>();

        let mut removed = Vec::new();
        let mut failures: Vec<String> = Vec::new();
        let mut note =
            |file: &str, result: std::io::Result<bool>, meta: Option<EntryMeta>| match result {
                Ok(true) => removed.push(Removed {
                    file: file.to_string(),
                    meta,
                }),
                Ok(false) => {}
                Err(e) => failures.push(format!("{file}: {e}")),
            };

        // Entries first, so that their lock files are orphans by the second pass.
        for name in names.iter().filter(|n| is_entry_file(n)) {
            let listed = self.inspect(name.clone(), now, chrono::Duration::zero());
            let Some(listed) = listed else { continue };
            if expired_only && listed.state != EntryState::Expired {
                continue;
            }
            note(name, safety::remove_path(&self.dir.join(name)), listed.meta);
        }
        for name in &names {
            let path = self.dir.join(name);
            if let Some(stem) = name.strip_suffix(".lock") {
                let entry_gone = std::fs::symlink_metadata(self.dir.join(format!("{stem}.json")))
                    .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
                if entry_gone {
                    note(name, lock::remove_unheld(&path), None);
                }
            } else if name.starts_with(".tmp-") {
                let old = std::fs::symlink_metadata(&path)
                    .and_then(|md| md.modified())
                    .is_ok_and(|t| now - DateTime::<Utc>::from(t) > TMP_MAX_AGE);
                if old {
                    note(name, safety::remove_path(&path), None);
                }
            }
        }

        match failures.first() {
            None => Ok(removed),
            Some(first) => Err(CacheProblem::new(
                format!(
                    "could not remove {} cache file(s) in {} (first: {first})",
                    failures.len(),
                    self.dir.display()
                ),
                format!("check the permissions of {}", self.dir.display()),
            )),
        }
    }

    fn entry_path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(format!("{}.json", key.as_str()))
    }

    fn lock_path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(format!("{}.lock", key.as_str()))
    }

    fn file_names(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        dir.flatten()
            .filter_map(|d| d.file_name().into_string().ok())
            .collect()
    }

    /// The listing for one entry file; `None` if it vanished meanwhile.
    fn inspect(
        &self,
        file: String,
        now: DateTime<Utc>,
        margin: chrono::Duration,
    ) -> Option<Listed> {
        let damaged = |file: String, reason: String| Listed {
            file,
            state: EntryState::Damaged(reason),
            meta: None,
            expiration: None,
            access_key_hint: None,
        };
        let bytes = match safety::read_entry(&self.dir.join(&file)) {
            Ok(Some((bytes, _))) => bytes,
            Ok(None) => return None,
            Err(reason) => return Some(damaged(file, reason)),
        };
        let entry = match entry::decode(&bytes) {
            Ok(entry) => entry,
            Err(reason) => return Some(damaged(file, reason)),
        };
        let state = entry::classify(&entry.credentials, now, margin);
        if let EntryState::Damaged(reason) = state {
            return Some(damaged(file, reason));
        }
        Some(Listed {
            file,
            state,
            expiration: Some(entry.credentials.expiration),
            access_key_hint: Some(entry.credentials.access_key_id.last_four()),
            meta: Some(entry.meta),
        })
    }
}

fn is_entry_file(name: &str) -> bool {
    name.ends_with(".json") && !name.starts_with('.')
}
