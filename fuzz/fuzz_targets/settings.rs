//! Settings parsing: durations (`--duration`, `--timeout`, `--refresh-margin`), role ARNs and
//! session names. Invariants: no panic; a sanitized session name always validates and sanitizing
//! it again changes nothing; a parsed ARN keeps the text and its account is 12 digits.
#![no_main]

use aws_ci_creds::testing::config::{RoleArn, parse_duration};
use aws_ci_creds::testing::session;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse_duration(&text);
    if let Ok(arn) = RoleArn::parse(&text) {
        assert_eq!(arn.arn, text);
        assert_eq!(arn.account_id.as_str().len(), 12);
        assert!(arn.account_id.as_str().bytes().all(|b| b.is_ascii_digit()));
        assert!(!arn.name.is_empty());
    }
    let _ = session::validate(&text);
    let clean = session::sanitize(&text);
    assert!(
        session::validate(&clean).is_ok(),
        "sanitize({text:?}) = {clean:?} does not validate"
    );
    assert_eq!(session::sanitize(&clean), clean, "sanitizing is idempotent");
});
