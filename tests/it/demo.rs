//! `aws-ci-creds demo`: the README's first command must work offline, end to end, through a
//! real SDK client, and show no secret. A build without the `demo` feature says how to get it.

use crate::support::*;

#[cfg(feature = "demo")]
#[test]
fn demo_runs_the_whole_flow_through_a_real_sdk_and_shows_no_secret() {
    let env = TestEnv::new();
    let out = env.cmd().arg("demo").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert_eq!(
        text.matches("caller   arn:aws:sts::123456789012:assumed-role/demo-deploy/gl-4242-9001")
            .count(),
        2,
        "{text}"
    );
    assert!(
        text.contains("calls so far: 1 (the second process read the cache)"),
        "{text}"
    );
    assert!(text.contains("exit code 4"), "{text}");
    assert!(text.contains("StringLike"), "{text}");
    assert!(!text.contains("eyJ"), "a token was printed:\n{text}");
    assert!(
        !text.contains("ASIA"),
        "an access key id was printed:\n{text}"
    );
}

/// An image without a shell or a temp dir (`scratch`, distroless-static, an empty root): the
/// SDKs cannot run credential_process through `sh -c`, so the demo runs the command itself and
/// keeps its files under the working directory, and says so; it still passes and cleans up.
#[cfg(feature = "demo")]
#[test]
fn demo_passes_without_a_shell_or_a_temp_dir() {
    let mut env = TestEnv::new();
    let no_sh = env.path("empty-path");
    std::fs::create_dir_all(&no_sh).unwrap();
    let work = env.path("work");
    std::fs::create_dir_all(&work).unwrap();
    let no_tmp = env.path("no-such-tmp");
    env.set("PATH", no_sh.to_str().unwrap())
        .set("TMPDIR", no_tmp.to_str().unwrap());
    let out = env.cmd().arg("demo").current_dir(&work).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert!(text.contains("No `sh` on PATH"), "{text}");
    assert!(
        stderr(&out).contains("no temp directory"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        text.matches("caller   arn:aws:sts::123456789012:assumed-role/demo-deploy/gl-4242-9001")
            .count(),
        2,
        "{text}"
    );
    assert!(
        text.contains("calls so far: 1 (the second process read the cache)"),
        "{text}"
    );
    assert!(text.contains("exit code 4"), "{text}");
    assert!(!text.contains("eyJ") && !text.contains("ASIA"), "{text}");
    assert_eq!(
        std::fs::read_dir(&work).unwrap().count(),
        0,
        "the demo left files in the working directory"
    );
}

/// `cargo install --no-default-features`: no emulator in the binary, so `demo` is not listed, and
/// typed anyway it fails as a usage error that names the feature and the fix, with empty stdout.
#[cfg(not(feature = "demo"))]
#[test]
fn without_the_feature_demo_is_unlisted_and_says_how_to_get_it() {
    let env = TestEnv::new();
    let help = env.cmd().arg("--help").output().unwrap();
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(!help.contains("demo"), "{help}");

    let out = env.cmd().arg("demo").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(err.contains("built without `demo`"), "{err}");
    assert!(err.contains("without --no-default-features"), "{err}");
}
