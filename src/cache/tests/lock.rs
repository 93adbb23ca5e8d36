//! The per-key lock: waits, times out, and is free once its holder dies.

use std::io::{BufRead, BufReader};
use std::time::{Duration as StdDuration, Instant};

use super::*;

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
