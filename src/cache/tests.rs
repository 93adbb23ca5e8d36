//! Behaviour of the cache as a whole, on real temp directories.

use std::fs::{self, OpenOptions, Permissions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use crate::clock::{Clock, SystemClock};
use crate::secret::Secret;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()
}

fn margin() -> Duration {
    Duration::minutes(15)
}

fn is_root() -> bool {
    safety::euid() == 0
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

fn mode_of(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Writes `bytes` at `path` as a 0600 file, like a real entry apart from its contents.
fn write_0600(path: &Path, bytes: &[u8]) {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    f.write_all(bytes).unwrap();
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

// ---- store and lookup ----

#[test]
fn store_then_lookup_is_fresh_with_the_same_credentials() {
    let (_tmp, cache) = new_cache();
    let k = key("a");
    let stored = entry(t0() + Duration::hours(1));
    cache.store(&k, &stored).unwrap();
    match cache.lookup(&k, t0(), margin()) {
        Lookup::Fresh(got) => assert_same_credentials(&got, &stored),
        other => panic!("expected Fresh, got {other:?}"),
    }
}

#[test]
fn lookup_of_another_key_is_a_miss() {
    let (_tmp, cache) = new_cache();
    cache
        .store(&key("a"), &entry(t0() + Duration::hours(1)))
        .unwrap();
    assert!(matches!(
        cache.lookup(&key("b"), t0(), margin()),
        Lookup::Miss
    ));
}

#[test]
fn lookup_inside_the_margin_is_stale() {
    let (_tmp, cache) = new_cache();
    let k = key("a");
    let stored = entry(t0() + Duration::minutes(10));
    cache.store(&k, &stored).unwrap();
    match cache.lookup(&k, t0(), margin()) {
        Lookup::Stale(got) => assert_same_credentials(&got, &stored),
        other => panic!("expected Stale, got {other:?}"),
    }
    assert!(entry_path(&cache, &k).exists(), "a stale entry is kept");
}

#[test]
fn lookup_of_an_expired_entry_is_a_miss_and_removes_it() {
    let (_tmp, cache) = new_cache();
    let k = key("a");
    cache
        .store(&k, &entry(t0() - Duration::seconds(1)))
        .unwrap();
    assert!(matches!(cache.lookup(&k, t0(), margin()), Lookup::Miss));
    assert!(!entry_path(&cache, &k).exists(), "expired entry is pruned");
}

#[test]
fn an_entry_expiring_exactly_now_is_expired() {
    let (_tmp, cache) = new_cache();
    let k = key("a");
    cache.store(&k, &entry(t0())).unwrap();
    assert!(matches!(cache.lookup(&k, t0(), margin()), Lookup::Miss));
}

#[test]
fn store_writes_a_0600_versioned_file_and_leaves_no_temp_file() {
    let (_tmp, cache) = new_cache();
    let k = key("a");
    cache.store(&k, &entry(t0() + Duration::hours(1))).unwrap();
    cache.store(&k, &entry(t0() + Duration::hours(2))).unwrap();
    let path = entry_path(&cache, &k);
    assert_eq!(mode_of(&path), 0o600);
    let v: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(v["format"], 1);
    assert_eq!(v["credentials"]["expiration"], "2026-11-26T14:00:00Z");
    let names: Vec<String> = fs::read_dir(cache.dir())
        .unwrap()
        .map(|d| d.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec![format!("{}.json", k.as_str())]);
}

#[test]
fn a_stored_entry_is_served_to_a_second_cache_handle() {
    let (_tmp, cache) = new_cache();
    let k = key("a");
    cache.store(&k, &entry(t0() + Duration::hours(1))).unwrap();
    let again = Cache::open(cache.dir()).unwrap();
    assert!(matches!(again.lookup(&k, t0(), margin()), Lookup::Fresh(_)));
}

// ---- damaged entries ----

/// Damages the entry with `damage`, checks it is a miss (and listed as damaged), then checks a
/// store repairs it.
fn assert_damaged_is_a_miss_and_store_repairs(
    what: &str,
    reason: &str,
    damage: impl FnOnce(&Path, &Entry),
) {
    let (_tmp, cache) = new_cache();
    let k = key("a");
    let good = entry(t0() + Duration::hours(1));
    let path = entry_path(&cache, &k);
    damage(&path, &good);
    assert!(
        matches!(cache.lookup(&k, t0(), margin()), Lookup::Miss),
        "{what}: expected a miss"
    );
    let listed = cache.list(t0(), margin());
    assert_eq!(listed.len(), 1, "{what}: {listed:?}");
    match &listed[0].state {
        EntryState::Damaged(why) => assert!(why.contains(reason), "{what}: {why}"),
        other => panic!("{what}: listed as {other:?}"),
    }
    cache
        .store(&k, &good)
        .unwrap_or_else(|p| panic!("{what}: store failed: {p}"));
    match cache.lookup(&k, t0(), margin()) {
        Lookup::Fresh(got) => assert_same_credentials(&got, &good),
        other => panic!("{what}: after store expected Fresh, got {other:?}"),
    }
    assert_eq!(mode_of(&path), 0o600, "{what}");
}

fn good_bytes(e: &Entry) -> Vec<u8> {
    entry::encode(e).unwrap()
}

#[test]
fn a_truncated_entry_is_a_miss_and_store_repairs_it() {
    assert_damaged_is_a_miss_and_store_repairs("truncated", "truncated", |path, e| {
        let bytes = good_bytes(e);
        write_0600(path, &bytes[..bytes.len() / 2]);
    });
}

#[test]
fn a_garbage_entry_is_a_miss_and_store_repairs_it() {
    assert_damaged_is_a_miss_and_store_repairs("garbage", "not valid JSON", |path, _| {
        write_0600(path, b"\x00\xffnot json at all{{{");
    });
}

#[test]
fn an_unknown_format_version_is_a_miss_and_store_repairs_it() {
    assert_damaged_is_a_miss_and_store_repairs(
        "format 2",
        "unknown format version 2",
        |path, e| {
            let text = String::from_utf8(good_bytes(e)).unwrap();
            write_0600(
                path,
                text.replace(r#""format":1"#, r#""format":2"#).as_bytes(),
            );
        },
    );
}

#[test]
fn an_empty_entry_is_a_miss_and_store_repairs_it() {
    assert_damaged_is_a_miss_and_store_repairs("empty", "empty file", |path, _| {
        write_0600(path, b"")
    });
}

#[test]
fn a_directory_at_the_entry_path_is_a_miss_and_store_repairs_it() {
    assert_damaged_is_a_miss_and_store_repairs("directory", "is a directory", |path, _| {
        fs::create_dir(path).unwrap();
        fs::write(path.join("inside"), "x").unwrap();
    });
}

#[test]
fn a_world_readable_entry_is_a_miss_and_store_repairs_it() {
    assert_damaged_is_a_miss_and_store_repairs(
        "mode 0644",
        "has mode 0644, not 0600",
        |path, e| {
            write_0600(path, &good_bytes(e));
            fs::set_permissions(path, Permissions::from_mode(0o644)).unwrap();
        },
    );
}

#[test]
fn a_symlinked_entry_is_not_followed_and_store_replaces_the_link_only() {
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join("valid.json");
    let target_bytes = good_bytes(&entry(t0() + Duration::hours(3)));
    assert_damaged_is_a_miss_and_store_repairs("symlink", "is a symlink", |path, _| {
        write_0600(&target, &target_bytes);
        std::os::unix::fs::symlink(&target, path).unwrap();
    });
    assert_eq!(
        fs::read(&target).unwrap(),
        target_bytes,
        "link target untouched"
    );
}

#[test]
fn an_entry_expiring_two_days_ahead_is_a_miss_and_store_repairs_it() {
    assert_damaged_is_a_miss_and_store_repairs(
        "2 days ahead",
        "more than 12h05m from now",
        |path, _| {
            write_0600(path, &good_bytes(&entry(t0() + Duration::days(2))));
        },
    );
}

#[test]
fn a_huge_entry_is_a_miss_and_store_repairs_it() {
    assert_damaged_is_a_miss_and_store_repairs("huge", "is too large", |path, e| {
        let mut bytes = good_bytes(e);
        bytes.pop(); // the newline
        bytes.extend(std::iter::repeat_n(b' ', 70 * 1024));
        write_0600(path, &bytes);
    });
}

#[test]
fn an_entry_with_missing_fields_is_a_miss_and_store_repairs_it() {
    assert_damaged_is_a_miss_and_store_repairs(
        "missing fields",
        "missing or malformed fields",
        |path, _| {
            write_0600(path, br#"{"format":1,"meta":{}}"#);
        },
    );
}

#[test]
fn a_fifo_at_the_entry_path_does_not_hang_and_store_repairs_it() {
    assert_damaged_is_a_miss_and_store_repairs("fifo", "is not a regular file", |path, _| {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    });
}

#[test]
fn a_foreign_owned_entry_is_a_miss_and_store_repairs_it() {
    if !is_root() {
        eprintln!("skipped: chown needs root");
        return;
    }
    assert_damaged_is_a_miss_and_store_repairs(
        "foreign owner",
        "is owned by uid 65534",
        |path, e| {
            write_0600(path, &good_bytes(e));
            std::os::unix::fs::chown(path, Some(65534), Some(65534)).unwrap();
        },
    );
}

// ---- the directory ----

#[test]
fn open_creates_the_directory_and_its_parents_0700() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a/b/cache");
    let cache = Cache::open(&dir).unwrap();
    assert_eq!(cache.dir(), dir);
    assert_eq!(mode_of(&dir), 0o700);
    assert_eq!(mode_of(&tmp.path().join("a")), 0o700);
}

#[test]
fn open_accepts_an_existing_private_directory() {
    let tmp = tempfile::tempdir().unwrap();
    for mode in [0o700, 0o750, 0o755] {
        let dir = tmp.path().join(format!("d{mode:o}"));
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, Permissions::from_mode(mode)).unwrap();
        Cache::open(&dir).unwrap_or_else(|p| panic!("{mode:o}: {p}"));
    }
}

fn open_problem(dir: &Path) -> CacheProblem {
    Cache::open(dir).expect_err("open should refuse")
}

#[test]
fn open_refuses_a_world_writable_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, Permissions::from_mode(0o777)).unwrap();
    let p = open_problem(&dir);
    assert_eq!(
        p.what,
        format!(
            "cache directory {} is writable by group and others (mode 0777)",
            dir.display()
        )
    );
    assert_eq!(
        p.to_string(),
        format!("{}; chmod 700 {}", p.what, dir.display())
    );
}

#[test]
fn open_refuses_a_group_writable_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, Permissions::from_mode(0o770)).unwrap();
    assert!(
        open_problem(&dir)
            .what
            .contains("writable by group (mode 0770)")
    );
}

#[test]
fn open_refuses_a_symlinked_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("real");
    fs::create_dir(&real).unwrap();
    fs::set_permissions(&real, Permissions::from_mode(0o700)).unwrap();
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    assert!(open_problem(&link).what.contains("is a symlink"));
}

#[test]
fn open_refuses_a_file_where_the_directory_should_be() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("c");
    fs::write(&file, "x").unwrap();
    assert!(open_problem(&file).what.contains("is not a directory"));
}

#[test]
fn open_refuses_a_directory_owned_by_someone_else() {
    if !is_root() {
        eprintln!("skipped: chown needs root");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
    assert!(open_problem(&dir).what.contains("is owned by uid 65534"));
}

#[test]
fn a_read_only_directory_still_serves_lookups_but_store_fails() {
    let (_tmp, cache) = new_cache();
    let k = key("a");
    cache.store(&k, &entry(t0() + Duration::hours(1))).unwrap();
    fs::set_permissions(cache.dir(), Permissions::from_mode(0o500)).unwrap();
    let cache = Cache::open(cache.dir()).unwrap();
    assert!(matches!(cache.lookup(&k, t0(), margin()), Lookup::Fresh(_)));
    if is_root() {
        eprintln!("skipped the store assertion: root ignores directory permissions");
    } else {
        let p = cache
            .store(&key("b"), &entry(t0() + Duration::hours(1)))
            .unwrap_err();
        assert!(p.what.starts_with("could not write a cache entry"), "{p}");
    }
    fs::set_permissions(cache.dir(), Permissions::from_mode(0o700)).unwrap();
}

// ---- locking ----

#[test]
fn a_second_lock_waits_until_the_first_is_dropped() {
    let (_tmp, cache) = new_cache();
    let k = key("a");
    let first = cache.lock(&k, StdDuration::ZERO).unwrap();
    assert!(first.is_held());
    let (cache2, k2) = (cache.clone(), k.clone());
    let waiter = std::thread::spawn(move || {
        let start = Instant::now();
        let second = cache2.lock(&k2, StdDuration::from_secs(10)).unwrap();
        (start.elapsed(), Instant::now(), second.is_held())
    });
    std::thread::sleep(StdDuration::from_millis(300));
    let released = Instant::now();
    drop(first);
    let (waited, acquired, held) = waiter.join().unwrap();
    assert!(held);
    assert!(acquired >= released, "acquired before the release");
    assert!(waited >= StdDuration::from_millis(250), "{waited:?}");
}

#[test]
fn a_lock_that_is_never_released_times_out_with_a_problem() {
    let (_tmp, cache) = new_cache();
    let k = key("a");
    let _held = cache.lock(&k, StdDuration::ZERO).unwrap();
    let start = Instant::now();
    let p = cache.lock(&k, StdDuration::from_millis(200)).unwrap_err();
    let waited = start.elapsed();
    assert!(waited >= StdDuration::from_millis(200), "{waited:?}");
    assert!(waited < StdDuration::from_secs(2), "{waited:?}");
    assert!(p.what.contains("cache lock"), "{p}");
    assert!(p.what.contains("0.2s"), "{p}");
}

#[test]
fn locks_for_different_keys_do_not_block_each_other() {
    let (_tmp, cache) = new_cache();
    let _a = cache.lock(&key("a"), StdDuration::ZERO).unwrap();
    let _b = cache.lock(&key("b"), StdDuration::ZERO).unwrap();
}

#[test]
fn a_lock_held_by_a_killed_process_is_free_at_once() {
    let (_tmp, cache) = new_cache();
    let k = key("a");
    drop(cache.lock(&k, StdDuration::ZERO).unwrap()); // creates the lock file
    let lock_path = cache.dir().join(format!("{}.lock", k.as_str()));
    let script = "import fcntl, sys, time\n\
                  f = open(sys.argv[1], 'r+')\n\
                  fcntl.flock(f, fcntl.LOCK_EX)\n\
                  print('locked', flush=True)\n\
                  time.sleep(60)\n";
    let child = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&lock_path)
        .stdout(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("skipped: python3 is not available");
        return;
    };
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked");
    assert!(
        cache.lock(&k, StdDuration::from_millis(50)).is_err(),
        "the child holds the lock"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let start = Instant::now();
    let lock = cache.lock(&k, StdDuration::ZERO).unwrap();
    assert!(lock.is_held());
    assert!(start.elapsed() < StdDuration::from_millis(100));
}

// ---- list and clear ----

#[test]
fn list_shows_states_sorted_by_expiry_and_no_secret() {
    let (_tmp, cache) = new_cache();
    cache
        .store(
            &key("fresh"),
            &entry_with(t0() + Duration::hours(1), "ASIAFRESHCANARYWXYZ"),
        )
        .unwrap();
    cache
        .store(
            &key("due"),
            &entry_with(t0() + Duration::minutes(5), "ASIADUECANARYQRST"),
        )
        .unwrap();
    cache
        .store(
            &key("expired"),
            &entry_with(t0() - Duration::minutes(5), "ASIAOLDCANARYMNOP"),
        )
        .unwrap();
    write_0600(&cache.dir().join("junk.json"), b"{");
    fs::write(cache.dir().join("notes.txt"), "not an entry").unwrap();

    let listed = cache.list(t0(), margin());
    let states: Vec<&EntryState> = listed.iter().map(|l| &l.state).collect();
    assert_eq!(
        states,
        vec![
            &EntryState::Expired,
            &EntryState::DueForRefresh,
            &EntryState::Fresh,
            &EntryState::Damaged("truncated (the JSON ends early)".into()),
        ]
    );
    assert_eq!(listed[0].file, format!("{}.json", key("expired").as_str()));
    assert_eq!(listed[2].access_key_hint.as_deref(), Some("…WXYZ"));
    assert_eq!(listed[2].expiration, Some(t0() + Duration::hours(1)));
    assert_eq!(listed[2].meta.as_ref().unwrap().source, "gitlab");
    assert_eq!(listed[3].file, "junk.json");
    assert_eq!(listed[3].meta, None);

    let debug = format!("{listed:?} {listed:#?}");
    let json = serde_json::to_string(&listed).unwrap();
    for shown in [&debug, &json] {
        for canary in [
            "SECRETCANARY",
            "TOKENCANARY",
            "ASIAFRESHCANARY",
            "ASIADUE",
            "ASIAOLD",
        ] {
            assert!(!shown.contains(canary), "{canary} leaked: {shown}");
        }
    }
    assert!(json.contains(r#""state":"due_for_refresh""#), "{json}");
    assert!(
        json.contains(r#""expiration":"2026-11-26T13:00:00Z""#),
        "{json}"
    );
}

#[test]
fn list_of_a_missing_directory_is_empty() {
    let (tmp, cache) = new_cache();
    drop(tmp);
    assert!(cache.list(t0(), margin()).is_empty());
}

#[test]
fn clear_expired_only_removes_only_expired_entries_and_their_locks() {
    let (_tmp, cache) = new_cache();
    let (fresh, old) = (key("fresh"), key("old"));
    cache
        .store(&fresh, &entry(t0() + Duration::hours(1)))
        .unwrap();
    cache
        .store(&old, &entry(t0() - Duration::minutes(1)))
        .unwrap();
    drop(cache.lock(&fresh, StdDuration::ZERO).unwrap());
    drop(cache.lock(&old, StdDuration::ZERO).unwrap());
    write_0600(&cache.dir().join("junk.json"), b"garbage");

    let removed = cache.clear(true, t0()).unwrap();
    let mut files: Vec<&str> = removed.iter().map(|r| r.file.as_str()).collect();
    files.sort();
    let mut want = vec![
        format!("{}.json", old.as_str()),
        format!("{}.lock", old.as_str()),
    ];
    want.sort();
    assert_eq!(files, want);
    let json_removed = removed.iter().find(|r| r.file.ends_with(".json")).unwrap();
    assert_eq!(json_removed.meta.as_ref().unwrap().session_name, "gl-1-2");

    assert!(matches!(
        cache.lookup(&fresh, t0(), margin()),
        Lookup::Fresh(_)
    ));
    assert!(
        cache
            .dir()
            .join(format!("{}.lock", fresh.as_str()))
            .exists()
    );
    assert!(
        cache.dir().join("junk.json").exists(),
        "damaged is not expired"
    );
}

#[test]
fn clear_all_removes_entries_locks_and_old_temp_files_but_not_held_locks() {
    let (_tmp, cache) = new_cache();
    let (a, b) = (key("a"), key("b"));
    cache.store(&a, &entry(t0() + Duration::hours(1))).unwrap();
    cache.store(&b, &entry(t0() + Duration::hours(1))).unwrap();
    drop(cache.lock(&a, StdDuration::ZERO).unwrap());
    let held = cache.lock(&b, StdDuration::ZERO).unwrap();
    fs::create_dir(cache.dir().join("dir.json")).unwrap();
    write_0600(&cache.dir().join(".tmp-old"), b"partial");
    // Judged against the `now` given to clear: the file's mtime is the real time, so pretend
    // `now` is two minutes later for the old one and check a fresh one survives separately.
    let real_now = SystemClock.now();
    let removed = cache.clear(false, real_now + Duration::minutes(2)).unwrap();
    let mut files: Vec<String> = removed.into_iter().map(|r| r.file).collect();
    files.sort();
    let mut want = vec![
        format!("{}.json", a.as_str()),
        format!("{}.lock", a.as_str()),
        format!("{}.json", b.as_str()),
        ".tmp-old".to_string(),
        "dir.json".to_string(),
    ];
    want.sort();
    assert_eq!(files, want);
    assert!(held.path().exists(), "a held lock file is left alone");
    drop(held);

    write_0600(&cache.dir().join(".tmp-new"), b"partial");
    let removed = cache.clear(false, SystemClock.now()).unwrap();
    let files: Vec<String> = removed.into_iter().map(|r| r.file).collect();
    assert_eq!(files, vec![format!("{}.lock", b.as_str())]);
    assert!(
        cache.dir().join(".tmp-new").exists(),
        "a recent temp file may be a store in progress"
    );
}

// ---- concurrency ----

#[test]
fn concurrent_runs_exchange_once_and_all_get_the_same_entry() {
    let (_tmp, cache) = new_cache();
    let k = key("a");
    let exchanges = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(16));
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let (cache, k, exchanges, start) =
                (cache.clone(), k.clone(), exchanges.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                if let Lookup::Fresh(e) = cache.lookup(&k, t0(), margin()) {
                    return e;
                }
                let _guard = cache.lock(&k, StdDuration::from_secs(20)).unwrap();
                if let Lookup::Fresh(e) = cache.lookup(&k, t0(), margin()) {
                    return e;
                }
                exchanges.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(StdDuration::from_millis(50)); // the STS call
                let fetched = entry_with(t0() + Duration::hours(1), &format!("ASIATHREAD{i:02}"));
                cache.store(&k, &fetched).unwrap();
                fetched
            })
        })
        .collect();
    let got: Vec<Entry> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(exchanges.load(Ordering::SeqCst), 1);
    let first = got[0].credentials.access_key_id.expose();
    assert!(
        got.iter()
            .all(|e| e.credentials.access_key_id.expose() == first)
    );
    match cache.lookup(&k, t0(), margin()) {
        Lookup::Fresh(e) => assert_eq!(e.credentials.access_key_id.expose(), first),
        other => panic!("expected Fresh, got {other:?}"),
    }
}

#[test]
fn readers_never_see_a_torn_entry_while_stores_run() {
    let (_tmp, cache) = new_cache();
    let k = key("a");
    cache.store(&k, &entry(t0() + Duration::hours(1))).unwrap();
    let writer = {
        let (cache, k) = (cache.clone(), k.clone());
        std::thread::spawn(move || {
            for i in 0..200 {
                let e = entry_with(t0() + Duration::hours(1), &format!("ASIAWRITE{i:04}"));
                cache.store(&k, &e).unwrap();
            }
        })
    };
    let mut reads = 0;
    while !writer.is_finished() || reads == 0 {
        assert!(matches!(cache.lookup(&k, t0(), margin()), Lookup::Fresh(_)));
        reads += 1;
    }
    writer.join().unwrap();
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
