//! Behaviour of the cache as a whole, on real temp directories: one file per concern, the
//! fixtures they share here.

use std::fs;
#[cfg(unix)]
use std::fs::Permissions;
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use crate::secret::Secret;

mod concurrency;
#[cfg(unix)] // modes, owners and symlinks
mod damaged;
#[cfg(unix)] // modes, owners and symlinks
mod directory;
mod list;
mod lock;
mod store;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()
}

fn margin() -> Duration {
    Duration::minutes(15)
}

#[cfg(unix)]
fn is_root() -> bool {
    crate::sys::user::euid() == 0
}

fn key(job: &str) -> CacheKey {
    let arns: Vec<String> = Vec::new();
    CacheKey::derive(&KeyParts {
        role_arn: "arn:aws:iam::123456789012:role/deploy",
        session_name: "gl-1-2",
        duration_seconds: 3600,
        policy: None,
        policy_arns: &arns,
        sts_endpoint: "rules:eu-west-1:fips=0:dualstack=0",
        region: "eu-west-1",
        issuer: "https://gitlab.example.com",
        subject: "project_path:group/app:ref_type:branch:ref:main",
        audience: "sts.amazonaws.com",
        job,
    })
}

fn entry_with(expiration: DateTime<Utc>, access_key_id: &str) -> Entry {
    Entry {
        meta: EntryMeta {
            role_arn: "arn:aws:iam::123456789012:role/deploy".into(),
            session_name: "gl-1-2".into(),
            issuer: "https://gitlab.example.com".into(),
            subject: "project_path:group/app:ref_type:branch:ref:main".into(),
            audience: "sts.amazonaws.com".into(),
            source: "gitlab".into(),
            created: expiration - Duration::hours(1),
        },
        credentials: Credentials {
            access_key_id: Secret::new(access_key_id.into()),
            secret_access_key: Secret::new("SECRETCANARY-wJalrXUtnFEMI".into()),
            session_token: Secret::new("TOKENCANARY-IQoJb3JpZ2luX2Vj".into()),
            expiration,
            assumed_role_arn: "arn:aws:sts::123456789012:assumed-role/deploy/gl-1-2".into(),
        },
    }
}

fn entry(expiration: DateTime<Utc>) -> Entry {
    entry_with(expiration, "ASIAKEYCANARY0001")
}

fn new_cache() -> (tempfile::TempDir, Cache) {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::open(&tmp.path().join("cache")).unwrap();
    (tmp, cache)
}

fn entry_path(cache: &Cache, key: &CacheKey) -> PathBuf {
    cache.dir().join(format!("{}.json", key.as_str()))
}

#[cfg(unix)]
fn mode_of(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Writes `bytes` at `path` as a private file (0600 on Unix), like a real entry apart from its
/// contents.
fn write_0600(path: &Path, bytes: &[u8]) {
    use std::io::Write as _;
    let mut f = crate::sys::fs::private(
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true),
    )
    .open(path)
    .unwrap();
    f.write_all(bytes).unwrap();
    #[cfg(unix)]
    fs::set_permissions(path, Permissions::from_mode(0o600)).unwrap();
}

fn assert_same_credentials(got: &Entry, want: &Entry) {
    let (a, b) = (&got.credentials, &want.credentials);
    assert_eq!(a.access_key_id, b.access_key_id);
    assert_eq!(a.secret_access_key, b.secret_access_key);
    assert_eq!(a.session_token, b.session_token);
    assert_eq!(a.expiration, b.expiration);
    assert_eq!(a.assumed_role_arn, b.assumed_role_arn);
    assert_eq!(got.meta, want.meta);
}

// ---- small pieces ----

#[test]
fn refresh_margin_is_capped_at_half_the_session() {
    assert_eq!(
        refresh_margin(Duration::minutes(15), 3600),
        Duration::minutes(15)
    );
    assert_eq!(
        refresh_margin(Duration::minutes(15), 900),
        Duration::seconds(450)
    );
    assert_eq!(
        refresh_margin(Duration::minutes(15), 901),
        Duration::seconds(450)
    );
    assert_eq!(
        refresh_margin(Duration::minutes(-1), 3600),
        Duration::zero()
    );
}

#[test]
fn a_problem_displays_as_one_line() {
    let p = CacheProblem::new(
        "cache directory /x is writable by others (mode 0777)",
        "chmod 700 /x",
    );
    assert_eq!(
        p.to_string(),
        "cache directory /x is writable by others (mode 0777); chmod 700 /x"
    );
}
