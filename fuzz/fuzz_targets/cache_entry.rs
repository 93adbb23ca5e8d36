//! Cache entry parsing: the bytes of an entry file (whatever a damaged disk, another version or a
//! hostile same-user process left there) through the same decode and classification a lookup
//! does. Invariants: no panic; a damage reason never quotes the file's secrets.
#![no_main]

use aws_ci_creds::testing::cache::{EntryState, decode_entry};
use chrono::{Duration, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first 8 bytes pick "now" (any second between 1970 and 2100) and the margin.
    let (head, bytes) = data.split_at(data.len().min(8));
    let mut seed = [0u8; 8];
    seed[..head.len()].copy_from_slice(head);
    let seed = u64::from_le_bytes(seed);
    let now = Utc.timestamp_opt((seed % 4_102_444_800) as i64, 0).unwrap();
    let margin = Duration::seconds(((seed >> 40) % 86_400) as i64);
    match decode_entry(bytes, now, margin) {
        Ok((entry, state)) => {
            let c = &entry.credentials;
            let _ = c.is_fresh(now, margin);
            if let EntryState::Damaged(why) = &state {
                for secret in [c.secret_access_key.expose(), c.session_token.expose()] {
                    if secret.len() >= 8 {
                        assert!(!why.contains(secret.as_str()), "reason quotes a secret");
                    }
                }
            }
            let _ = format!("{entry:?}");
        }
        Err(why) => {
            assert!(why.len() < 200, "a reason is one short line: {why}");
        }
    }
});
