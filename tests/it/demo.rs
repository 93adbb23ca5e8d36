//! `aws-ci-creds demo`: the README's first command must work offline, end to end, through a
//! real SDK client, and show no secret.

use crate::support::*;

#[test]
fn demo_runs_the_whole_flow_through_a_real_sdk_and_shows_no_secret() {
    let env = TestEnv::new();
    let out = env.cmd().arg("demo").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert_eq!(
        text.matches("caller   arn:aws:sts::123456789012:assumed-role/demo-deploy/gl-4242-9001").count(),
        2,
        "{text}"
    );
    assert!(text.contains("calls so far: 1 (the second process read the cache)"), "{text}");
    assert!(text.contains("exit code 4"), "{text}");
    assert!(text.contains("StringLike"), "{text}");
    assert!(!text.contains("eyJ"), "a token was printed:\n{text}");
    assert!(!text.contains("ASIA"), "an access key id was printed:\n{text}");
}
