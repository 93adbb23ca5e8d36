//! Storing and looking up entries: fresh, stale, expired, across handles.

use super::*;

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
    #[cfg(unix)]
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
