//! Opening the cache directory: created private, refused when others could write to it.

use super::*;

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
