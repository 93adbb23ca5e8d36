//! Damaged entries are misses (and listed as damaged), and a store repairs them.

use super::*;

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
