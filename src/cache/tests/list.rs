//! `cache list` and `cache clear`.

use std::time::Duration as StdDuration;

use super::*;
use crate::clock::{Clock, SystemClock};

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
