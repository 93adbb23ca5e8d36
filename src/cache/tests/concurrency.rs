//! Many processes at once: one exchange, no torn reads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration as StdDuration;

use super::*;

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
