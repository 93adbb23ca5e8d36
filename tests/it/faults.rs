//! The reliability suite: every fault of docs/reliability.md injected into a real run of the
//! binary, each asserting what the tool does (exit code, message, STS calls, time taken) and,
//! through the canary helpers of `secrets.rs`, that the failure shows no secret.
//!
//! Deadline tests measure wall time because the deadline is the behaviour under test: a run with
//! `--timeout 3s` must be over within 4.5 s whatever STS or the token endpoint does.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::{RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sts_emulator::Fault;

use crate::secrets::{
    CANARY_BEARER, Canaries, check, check_files, env_with_canary_bearer,
    gitlab_with_cached_credentials,
};
use crate::support::*;

/// Timed tests share this lock; the 256-process burst takes it alone, so its load cannot push a
/// timed run past its bound.
static LOAD: RwLock<()> = RwLock::new(());

fn timed() -> RwLockReadGuard<'static, ()> {
    LOAD.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

const TIMEOUT: &str = "3s";
/// `--timeout 3s` plus the one second the process may take to report and exit.
const DEADLINE_BOUND: Duration = Duration::from_millis(4500);

fn is_root() -> bool {
    aws_ci_creds::testing::uid::euid() == 0
}

/// A GitLab job with canary secrets and credentials already cached (so the canary suite also
/// watches cached credentials), ready for fault runs with `--no-cache`.
fn canary_gitlab() -> (TestEnv, Canaries) {
    gitlab_with_cached_credentials()
}

/// Runs `args` and returns the output and how long the process lived.
fn run_timed(env: &TestEnv, args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let out = env.run(args);
    (out, started.elapsed())
}

/// A persistent STS fault: the run fails with exit 5 within the deadline, says that STS could
/// not be reached or kept failing and names the last error; no secret on stderr at any
/// verbosity. Returns the first run's stderr.
fn persistent_sts_fault_gives_up_in_time(fault: Fault, last_error: &[&str]) -> String {
    let _t = timed();
    let (env, canaries) = canary_gitlab();
    let calls_before = env.assume_calls();
    env.emu.set_persistent_fault(Some(fault.clone()));
    let args = ["--role-arn", ROLE, "--no-cache", "--timeout", TIMEOUT];
    let (out, elapsed) = run_timed(&env, &args);
    let err = failed(&out, 5);
    says(
        &err,
        &["could not be reached or kept failing", "last error:"],
    );
    says(&err, last_error);
    assert!(
        elapsed < DEADLINE_BOUND,
        "{fault:?}: the run outlived --timeout {TIMEOUT} by more than a second: {elapsed:?}"
    );
    assert!(
        env.assume_calls() > calls_before,
        "{fault:?}: STS was tried"
    );
    check(&env, &canaries, &args, 5);
    err
}

// ---------------------------------------------------------------------------------------------
// STS: transient faults are retried

#[test]
fn transient_sts_faults_are_retried_with_backoff_until_they_clear() {
    let (env, canaries) = canary_gitlab();
    let before = env.assume_calls();
    for fault in [
        Fault::Status(500),
        Fault::Status(503),
        Fault::sts_error("Throttling", "Rate exceeded"),
        Fault::sts_error(
            "IDPCommunicationError",
            "Received a non-200 response from the identity provider",
        ),
        Fault::sts_error(
            "InvalidIdentityToken",
            "Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements",
        ),
    ] {
        env.emu.push_fault(fault);
    }
    let out = env.run(&["-v", "--role-arn", ROLE, "--no-cache", "--timeout", "30s"]);
    succeeded(&out);
    assert_eq!(
        env.assume_calls() - before,
        6,
        "five faults, five retries, one success"
    );
    let err = stderr(&out);
    assert_eq!(err.matches("will retry").count(), 5, "{err}");
    canaries.assert_absent(&err, "stderr of a retried run");
}

#[test]
fn sts_throttling_that_never_clears_names_throttling_and_the_fix() {
    let err = persistent_sts_fault_gives_up_in_time(
        Fault::sts_error("Throttling", "Rate exceeded"),
        &["Throttling", "Rate exceeded", "throttling this account"],
    );
    says(&err, &["share the cache"]);
}

#[test]
fn sts_idp_errors_that_never_clear_say_the_issuer_must_be_reachable() {
    persistent_sts_fault_gives_up_in_time(
        Fault::sts_error("IDPCommunicationError", "the IdP did not answer"),
        &["IDPCommunicationError", "reachable from the internet"],
    );
    persistent_sts_fault_gives_up_in_time(
        Fault::sts_error(
            "InvalidIdentityToken",
            "Couldn't retrieve verification key from your identity provider",
        ),
        &["InvalidIdentityToken", "Couldn't retrieve verification key"],
    );
}

#[test]
fn sts_http_500_that_never_clears_names_the_status() {
    persistent_sts_fault_gives_up_in_time(Fault::Status(500), &["500", "--timeout"]);
}

// ---------------------------------------------------------------------------------------------
// STS: no usable answer, within the deadline

#[test]
fn sts_that_accepts_and_never_answers_is_abandoned_at_the_deadline() {
    persistent_sts_fault_gives_up_in_time(Fault::Hang, &["no answer within the deadline"]);
}

#[test]
fn sts_answering_slowly_within_the_deadline_succeeds_without_a_retry() {
    let _t = timed();
    let (env, canaries) = canary_gitlab();
    let before = env.assume_calls();
    env.emu
        .push_fault(Fault::Delay(Duration::from_millis(1500)));
    let out = env.run(&["--role-arn", ROLE, "--no-cache", "--timeout", "10s"]);
    succeeded(&out);
    assert_eq!(stderr(&out), "", "a slow answer is not worth a warning");
    assert_eq!(env.assume_calls() - before, 1, "no second request");
    canaries.assert_absent(&stderr(&out), "stderr");
}

#[test]
fn sts_answering_slower_than_the_deadline_fails_at_the_deadline() {
    persistent_sts_fault_gives_up_in_time(
        Fault::Delay(Duration::from_secs(60)),
        &["no answer within the deadline"],
    );
}

#[test]
fn sts_resetting_the_connection_fails_within_the_deadline() {
    persistent_sts_fault_gives_up_in_time(Fault::Reset, &["STS"]);
}

#[test]
fn sts_truncated_body_fails_within_the_deadline() {
    persistent_sts_fault_gives_up_in_time(Fault::Truncated, &["STS"]);
}

#[test]
fn sts_non_xml_body_fails_within_the_deadline_saying_so() {
    persistent_sts_fault_gives_up_in_time(Fault::NotXml, &["not STS's XML"]);
}

#[test]
fn a_refused_port_fails_within_the_deadline_naming_the_endpoint() {
    let _t = timed();
    let (env, canaries) = canary_gitlab();
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let args = [
        "--role-arn",
        ROLE,
        "--sts-endpoint",
        &endpoint,
        "--timeout",
        TIMEOUT,
    ];
    let (out, elapsed) = run_timed(&env, &args);
    let err = failed(&out, 5);
    says(&err, &[&endpoint, "last error:", "connect", "firewall"]);
    assert!(elapsed < DEADLINE_BOUND, "took {elapsed:?}");
    check(&env, &canaries, &args, 5);
}

// ---------------------------------------------------------------------------------------------
// STS: refusals fail at once

#[test]
fn non_retryable_sts_answers_fail_at_once_with_one_call() {
    let (env, canaries) = canary_gitlab();
    for (code, message, fix) in [
        (
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
            "trust policy",
        ),
        (
            "ExpiredTokenException",
            "Token expired: current date/time 1 must be before the expiration date/time 0",
            "expire",
        ),
        (
            "ValidationError",
            "1 validation error detected: Value 'x' at 'roleArn' failed to satisfy constraint",
            "--role-arn",
        ),
        (
            "MalformedPolicyDocument",
            "Syntax errors in policy.",
            "--policy",
        ),
        (
            "PackedPolicyTooLarge",
            "Packed size of session policies is 120% of the limit",
            "too large",
        ),
    ] {
        for verbosity in [None, Some("-v"), Some("-vv")] {
            let before = env.assume_calls();
            env.emu.push_fault(Fault::sts_error(code, message));
            let mut args: Vec<&str> = verbosity.into_iter().collect();
            args.extend(["--role-arn", ROLE, "--no-cache", "--timeout", "20s"]);
            let out = env.run(&args);
            let err = failed(&out, 4);
            says(&err, &[code, message, fix]);
            assert_eq!(
                env.assume_calls() - before,
                1,
                "{code} is not retried (a retry would have succeeded)"
            );
            assert!(!err.contains("will retry"), "{err}");
            canaries.assert_absent(&err, &format!("stderr of {code} {verbosity:?}"));
        }
    }
    check_files(&env, &canaries);
}

// ---------------------------------------------------------------------------------------------
// Token endpoint (GitHub Actions)

fn github_canary() -> (TestEnv, Canaries) {
    let mut env = env_with_canary_bearer();
    env.github_job();
    let mut canaries = Canaries::default();
    canaries.add("GitHub request token", CANARY_BEARER);
    (env, canaries)
}

#[test]
fn token_endpoint_refusals_401_403_fail_at_once_pointing_at_the_permission() {
    let (env, canaries) = github_canary();
    for status in [401, 403] {
        let before = env.emu.github_token_requests();
        env.emu.push_token_fault(Fault::Status(status));
        let out = env.run(&["-vv", "--role-arn", ROLE, "--no-cache"]);
        let err = failed(&out, 3);
        says(
            &err,
            &[&format!("HTTP {status}"), "id-token: write", "permissions"],
        );
        assert_eq!(env.emu.github_token_requests() - before, 1, "not retried");
        canaries.assert_absent(&err, "stderr");
    }
    assert_eq!(env.assume_calls(), 0, "STS never called without a token");
    check_files(&env, &canaries);
}

#[test]
fn token_endpoint_500_is_retried_and_a_persistent_one_fails_in_time() {
    let _t = timed();
    let (env, canaries) = github_canary();
    env.emu.push_token_fault(Fault::Status(500));
    let out = env.run(&["--role-arn", ROLE, "--no-cache"]);
    canaries.assert_absent(&stderr(&out), "stderr");
    succeeded(&out);
    assert_eq!(env.emu.github_token_requests(), 2, "one retry");

    env.emu.set_persistent_token_fault(Some(Fault::Status(500)));
    let args = ["--role-arn", ROLE, "--no-cache", "--timeout", TIMEOUT];
    let (out, elapsed) = run_timed(&env, &args);
    let err = failed(&out, 5);
    says(&err, &["GitHub", "500"]);
    assert!(elapsed < DEADLINE_BOUND, "took {elapsed:?}");
    check(&env, &canaries, &args, 5);
}

#[test]
fn slow_token_endpoint_within_the_deadline_succeeds_and_past_it_fails_in_time() {
    let _t = timed();
    let (env, canaries) = github_canary();
    env.emu
        .push_token_fault(Fault::Delay(Duration::from_millis(1500)));
    let out = env.run(&["--role-arn", ROLE, "--no-cache", "--timeout", "10s"]);
    succeeded(&out);
    assert_eq!(stderr(&out), "");

    env.emu
        .set_persistent_token_fault(Some(Fault::Delay(Duration::from_secs(60))));
    let args = ["--role-arn", ROLE, "--no-cache", "--timeout", TIMEOUT];
    let (out, elapsed) = run_timed(&env, &args);
    let err = failed(&out, 5);
    says(&err, &["GitHub", "STS was not called"]);
    assert!(elapsed < DEADLINE_BOUND, "took {elapsed:?}");
    canaries.assert_absent(&err, "stderr");
    assert_eq!(env.assume_calls(), 1, "only the first run reached STS");
}

#[test]
fn token_endpoint_answering_with_bad_json_fails_in_time_saying_so() {
    let _t = timed();
    let (env, canaries) = github_canary();
    for fault in [Fault::NotXml, Fault::Truncated] {
        env.emu.set_persistent_token_fault(Some(fault.clone()));
        let args = ["--role-arn", ROLE, "--no-cache", "--timeout", TIMEOUT];
        let (out, elapsed) = run_timed(&env, &args);
        let err = failed(&out, 5);
        says(&err, &["GitHub"]);
        if fault == Fault::NotXml {
            says(&err, &["not its JSON"]);
        }
        assert!(elapsed < DEADLINE_BOUND, "{fault:?} took {elapsed:?}");
        canaries.assert_absent(&err, "stderr");
    }
    assert_eq!(env.assume_calls(), 0);
}

// ---------------------------------------------------------------------------------------------
// Token files and variables

/// Runs with `--token-file path` and expects exit 3 saying `phrases`, with the canaries absent.
fn token_file_fails(env: &TestEnv, canaries: &Canaries, path: &Path, phrases: &[&str]) {
    let path = path.to_str().unwrap();
    let args = ["--role-arn", ROLE, "--token-file", path];
    let err = failed(&env.run(&args), 3);
    says(&err, &[path]);
    says(&err, phrases);
    check(env, canaries, &args, 3);
}

#[test]
fn bad_token_files_fail_before_sts_saying_what_is_wrong() {
    let (env, canaries) = canary_gitlab();
    let calls = env.assume_calls();
    let given = env.path("given");
    std::fs::create_dir_all(&given).unwrap();

    token_file_fails(&env, &canaries, &given.join("missing"), &["does not exist"]);
    std::fs::write(given.join("empty"), "").unwrap();
    token_file_fails(&env, &canaries, &given.join("empty"), &["is empty"]);
    std::fs::write(given.join("blank"), " \n\t\n").unwrap();
    token_file_fails(&env, &canaries, &given.join("blank"), &["is empty"]);
    std::fs::create_dir(given.join("dir")).unwrap();
    token_file_fails(&env, &canaries, &given.join("dir"), &["is a directory"]);
    let huge = env.emu.mint(env.gitlab_claims()).repeat(2000);
    std::fs::write(given.join("huge"), &huge).unwrap();
    token_file_fails(
        &env,
        &canaries,
        &given.join("huge"),
        &["bytes", "a few KiB at most"],
    );
    std::fs::write(given.join("binary"), [0xff, 0xfe, 0x00, 0x80]).unwrap();
    token_file_fails(&env, &canaries, &given.join("binary"), &["cannot be read"]);
    // A FIFO nobody writes to: opening it must not block the run forever.
    let fifo = given.join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo has no other preconditions.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let started = Instant::now();
    token_file_fails(&env, &canaries, &fifo, &["is empty"]);
    assert!(started.elapsed() < Duration::from_secs(30), "no hang");

    if is_root() {
        // root reads a mode-000 file anyway; the unreadable case needs another user.
        eprintln!("note: running as root, the unreadable-token-file case is skipped");
    } else {
        let unreadable = given.join("unreadable");
        std::fs::write(&unreadable, "x").unwrap();
        std::fs::set_permissions(&unreadable, std::fs::Permissions::from_mode(0o000)).unwrap();
        token_file_fails(&env, &canaries, &unreadable, &["cannot be read"]);
    }
    assert_eq!(env.assume_calls(), calls, "no STS call for a bad file");
}

#[test]
fn a_token_file_with_surrounding_whitespace_works() {
    let env = TestEnv::new();
    let token = env.emu.mint(env.gitlab_claims());
    let file = env.path("token");
    std::fs::write(&file, format!("\n \t{token} \r\n\n")).unwrap();
    let out = env.run(&["--role-arn", ROLE, "--token-file", file.to_str().unwrap()]);
    succeeded(&out);
    assert_eq!(stderr(&out), "");
}

/// A JWT-shaped value with this header and payload (any bytes) and a dummy signature.
fn jwt_with(header: &[u8], payload: &[u8]) -> String {
    use base64::Engine;
    let enc = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    format!(
        "{}.{}.{}",
        enc(header),
        enc(payload),
        enc(b"canary-signature-bytes-0123456789")
    )
}

#[test]
fn malformed_jwts_in_a_variable_fail_before_sts_saying_which_part() {
    let (mut env, mut canaries) = canary_gitlab();
    let calls = env.assume_calls();
    let header = br#"{"alg":"RS256","kid":"k"}"#;
    let cases: Vec<(String, &str)> = vec![
        (
            "canary-plain-text-not-a-jwt-x9".to_string(),
            "3 (header.payload.signature)",
        ),
        (
            jwt_with(header, b"canary: not json at all, 42"),
            "payload is not a JSON object",
        ),
        (
            jwt_with(b"[1,2,3] canary header", br#"{"exp":1}"#),
            "header is not a JSON object",
        ),
        (
            format!(
                "{}.%%%canary-bad-base64%%%.c2ln",
                jwt_with(header, b"{}").split('.').next().unwrap()
            ),
            "payload is not base64url",
        ),
        (
            jwt_with(header, br#"{"sub":"canary-no-exp-claim","aud":"x"}"#),
            "no numeric `exp`",
        ),
        (
            jwt_with(header, br#"{"sub":"canary-exp-text","exp":"tomorrow"}"#),
            "no numeric `exp`",
        ),
    ];
    for (value, phrase) in cases {
        canaries.add("malformed token", &value);
        env.set("MY_TOKEN", &value);
        let args = [
            "--role-arn",
            ROLE,
            "--source",
            "env",
            "--token-env",
            "MY_TOKEN",
        ];
        let err = failed(&env.run(&args), 3);
        says(&err, &["MY_TOKEN", phrase]);
        check(&env, &canaries, &args, 3);
    }
    assert_eq!(
        env.assume_calls(),
        calls,
        "no STS call for a malformed token"
    );
}

#[test]
fn a_jwt_whose_aud_is_a_list_is_accepted() {
    let mut env = TestEnv::new();
    let mut claims = env.gitlab_claims();
    claims["aud"] = json!(["sts.amazonaws.com", "https://gitlab.example.com"]);
    let token = env.emu.mint(claims);
    env.set("MY_TOKEN", &token);
    let out = env.run(&["--role-arn", ROLE, "--token-env", "MY_TOKEN"]);
    succeeded(&out);
    assert_eq!(stderr(&out), "", "sts.amazonaws.com is among the audiences");
}

// ---------------------------------------------------------------------------------------------
// Cache

/// Raises the open-file limit to its hard maximum (a burst needs two pipes per child).
fn raise_fd_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to an rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        }
    }
    limit.rlim_cur
}

#[test]
fn two_hundred_fifty_six_runs_at_once_on_a_cold_cache_make_one_sts_call() {
    const RUNS: usize = 256;
    let _alone = LOAD
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    // Each child holds a stdout pipe; stderr goes to one file per child. Beyond the fd limit,
    // children are started in batches (still all alive at once: the first holds the lock).
    let batch = usize::try_from(raise_fd_limit().saturating_sub(64) / 2)
        .unwrap_or(RUNS)
        .clamp(16, RUNS);
    let logs = env.path("logs");
    std::fs::create_dir(&logs).unwrap();
    let mut outs = Vec::new();
    let mut children = Vec::new();
    for i in 0..RUNS {
        let log = std::fs::File::create(logs.join(i.to_string())).unwrap();
        let child = env
            .std_cmd()
            .args(["--role-arn", ROLE, "--timeout", "60s"])
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn");
        children.push(child);
        if children.len() == batch {
            outs.extend(children.drain(..).map(|c| c.wait_with_output().unwrap()));
        }
    }
    outs.extend(children.into_iter().map(|c| c.wait_with_output().unwrap()));
    assert_eq!(outs.len(), RUNS);
    for (i, out) in outs.iter().enumerate() {
        let err = std::fs::read_to_string(logs.join(i.to_string())).unwrap();
        assert!(out.status.success(), "run {i}: {err}");
        process_json(&out.stdout);
        assert_eq!(err, "", "run {i} warned");
        assert_eq!(out.stdout, outs[0].stdout, "every run prints the same");
    }
    assert_eq!(env.assume_calls(), 1, "single flight across {RUNS} runs");
}

/// Every file under the test's directory except the cache directory: path → (kind, bytes).
fn snapshot_outside_cache(env: &TestEnv) -> Vec<(PathBuf, String, Vec<u8>)> {
    fn walk(dir: &Path, skip: &Path, out: &mut Vec<(PathBuf, String, Vec<u8>)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.path());
        for entry in entries {
            let path = entry.path();
            if path == skip {
                continue;
            }
            let md = std::fs::symlink_metadata(&path).unwrap();
            let mode = md.permissions().mode();
            if md.is_dir() {
                out.push((path.clone(), format!("dir {mode:o}"), Vec::new()));
                walk(&path, skip, out);
            } else if md.file_type().is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.push((path, format!("link {}", target.display()), Vec::new()));
            } else if md.is_file() {
                let bytes = std::fs::read(&path).unwrap_or_default();
                out.push((path, format!("file {mode:o}"), bytes));
            } else {
                out.push((path, format!("other {mode:o}"), Vec::new()));
            }
        }
    }
    let mut out = Vec::new();
    walk(env.dir.path(), &env.cache_dir(), &mut out);
    out
}

fn entry_json(access_key_id: &str, secret: &str, expires_in: chrono::Duration) -> Value {
    let now = chrono::Utc::now();
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    json!({
        "format": 1,
        "meta": {"role_arn": ROLE, "session_name": "planted", "issuer": "x", "subject": "x",
                 "audience": "sts.amazonaws.com", "source": "gitlab", "created": fmt(now)},
        "credentials": {"access_key_id": access_key_id, "secret_access_key": secret,
                        "session_token": format!("{secret}-session-token"),
                        "expiration": fmt(now + expires_in),
                        "assumed_role_arn": "arn:aws:sts::123456789012:assumed-role/deploy/planted"},
    })
}

fn write_0600(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn an_entry_replaced_by_a_symlink_is_neither_read_nor_written_through() {
    let (env, canaries) = canary_gitlab();
    let entry = env.only_entry();
    // Another file of the same user, holding what looks like a valid entry.
    let victim = env.path("home/victim.json");
    let planted = entry_json(
        "ASIAPLANTEDVICTIM1",
        "planted-secret-0123456789",
        chrono::Duration::hours(1),
    );
    write_0600(&victim, &serde_json::to_vec(&planted).unwrap());
    std::fs::remove_file(&entry).unwrap();
    std::os::unix::fs::symlink(&victim, &entry).unwrap();
    let outside = snapshot_outside_cache(&env);

    let out = env.run(&["--role-arn", ROLE]);
    let creds = succeeded(&out);
    assert_ne!(
        creds["AccessKeyId"], "ASIAPLANTEDVICTIM1",
        "the link was followed"
    );
    assert_eq!(env.assume_calls(), 2, "a fresh exchange replaced the link");
    let md = std::fs::symlink_metadata(&entry).unwrap();
    assert!(md.file_type().is_file(), "the link itself was replaced");
    assert_eq!(
        snapshot_outside_cache(&env),
        outside,
        "the victim is intact"
    );
    canaries.assert_absent(&stderr(&out), "stderr");
}

#[test]
fn a_foreign_owned_cache_dir_is_refused_and_left_untouched() {
    if !is_root() {
        eprintln!(
            "note: not root, cannot chown; covered by cache::tests::directory::open_refuses_a_directory_owned_by_someone_else"
        );
        return;
    }
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    let dir = env.path("foreign");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let c = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
    // SAFETY: a valid path; 65534 is `nobody`.
    assert_eq!(unsafe { libc::chown(c.as_ptr(), 65534, 65534) }, 0);
    env.set("AWS_CI_CREDS_CACHE_DIR", dir.to_str().unwrap());
    let out = env.run(&["--role-arn", ROLE]);
    succeeded(&out);
    says(
        &stderr(&out),
        &["warning:", dir.to_str().unwrap(), "owned by"],
    );
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "nothing written"
    );
}

/// A tiny tmpfs at `dir`, filled up. Only root can mount; elsewhere the test is skipped.
struct FullDisk(PathBuf);

impl FullDisk {
    fn mount(dir: &Path) -> Option<FullDisk> {
        if !is_root() {
            return None;
        }
        std::fs::create_dir(dir).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=16k,mode=0700", "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return None;
        }
        let disk = FullDisk(dir.to_path_buf());
        // Fill it: tmpfs counts pages, so write until the write fails.
        let mut filler = std::fs::File::create(dir.join("filler")).unwrap();
        use std::io::Write;
        while filler.write_all(&[b'x'; 4096]).is_ok() {}
        drop(filler);
        Some(disk)
    }
}

impl Drop for FullDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_still_prints_credentials_and_writes_nowhere_else() {
    let (mut env, canaries) = canary_gitlab();
    let dir = env.path("full");
    let Some(_disk) = FullDisk::mount(&dir) else {
        eprintln!(
            "note: needs root and mount(8); the read-only case covers a cache that cannot be written"
        );
        return;
    };
    env.set("AWS_CI_CREDS_CACHE_DIR", dir.to_str().unwrap());
    let outside: Vec<_> = snapshot_outside_cache(&env)
        .into_iter()
        .filter(|(p, ..)| !p.starts_with(&dir))
        .collect();
    for _ in 0..2 {
        let out = env.run(&["-v", "--role-arn", ROLE]);
        succeeded(&out);
        let err = stderr(&out);
        says(&err, &["warning:", "not cached"]);
        canaries.assert_absent(&err, "stderr");
    }
    let after: Vec<_> = snapshot_outside_cache(&env)
        .into_iter()
        .filter(|(p, ..)| !p.starts_with(&dir))
        .collect();
    assert_eq!(after, outside, "nothing outside the cache dir changed");
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .filter(|n| n != "filler" && !n.ends_with(".lock"))
        .collect();
    assert!(names.is_empty(), "no partial entry or temp file: {names:?}");
}

#[test]
fn a_read_only_cache_writes_nothing_outside_it() {
    let (mut env, canaries) = canary_gitlab();
    let dir = env.path("ro-cache");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o500)).unwrap();
    env.set("AWS_CI_CREDS_CACHE_DIR", dir.to_str().unwrap());
    let before = snapshot_outside_cache(&env);
    let out = env.run(&["--role-arn", ROLE]);
    succeeded(&out);
    canaries.assert_absent(&stderr(&out), "stderr");
    let after: Vec<_> = snapshot_outside_cache(&env)
        .into_iter()
        .filter(|(p, ..)| !p.starts_with(&dir))
        .collect();
    let before: Vec<_> = before
        .into_iter()
        .filter(|(p, ..)| !p.starts_with(&dir))
        .collect();
    assert_eq!(after, before);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn clock_jumps_entries_from_the_future_or_past_their_expiry_are_replaced() {
    let (env, canaries) = canary_gitlab();
    let entry = env.only_entry();
    let mut calls = env.assume_calls();
    // Expiring two days ahead: written by a clock that ran fast, or edited. Expired: the clock
    // jumped forward past it.
    for (what, expires_in) in [
        ("from the future", chrono::Duration::days(2)),
        ("past its expiry", chrono::Duration::minutes(-5)),
    ] {
        let planted = entry_json(
            "ASIAPLANTEDCLOCK01",
            "planted-clock-secret-0123",
            expires_in,
        );
        write_0600(&entry, &serde_json::to_vec(&planted).unwrap());
        let out = env.run(&["--role-arn", ROLE]);
        let creds = succeeded(&out);
        assert_ne!(creds["AccessKeyId"], "ASIAPLANTEDCLOCK01", "{what}: served");
        calls += 1;
        assert_eq!(env.assume_calls(), calls, "{what}: exchanged anew");
        canaries.assert_absent(&stderr(&out), "stderr");
        let stored: Value = serde_json::from_slice(&std::fs::read(&entry).unwrap()).unwrap();
        assert_eq!(stored["credentials"]["access_key_id"], creds["AccessKeyId"]);
    }
    // Only the credentials' own expiry matters: a `created` in the future is no reason to
    // throw away credentials that are valid.
    let mut planted = entry_json(
        "ASIAPLANTEDCREATED",
        "planted-created-secret-01",
        chrono::Duration::hours(1),
    );
    planted["meta"]["created"] = "2099-01-01T00:00:00Z".into();
    write_0600(&entry, &serde_json::to_vec(&planted).unwrap());
    let creds = succeeded(&env.run(&["--role-arn", ROLE]));
    assert_eq!(creds["AccessKeyId"], "ASIAPLANTEDCREATED");
    assert_eq!(env.assume_calls(), calls);
}

// ---------------------------------------------------------------------------------------------
// Environment

#[test]
fn no_home_still_gives_credentials_and_a_cache_location() {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    env.unset("HOME");
    for _ in 0..2 {
        let out = env.run(&["--role-arn", ROLE]);
        succeeded(&out);
        assert_eq!(stderr(&out), "");
    }
    assert_eq!(env.assume_calls(), 1, "cached without HOME");
    // Without a cache dir setting either, `cache path` still names a directory (the passwd
    // entry's home, or the per-user temp fallback) rather than failing. (A credential run would
    // write there, outside this test's directory, so only the choice is checked.)
    env.unset("AWS_CI_CREDS_CACHE_DIR");
    let out = env.run(&["cache", "path"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("aws-ci-creds"));
}

#[test]
fn no_locale_or_a_bogus_one_changes_nothing() {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    // Every test runs with no LANG/LC_* at all (the environment is cleared); a bogus one too.
    let out = env.run(&["--role-arn", ROLE]);
    succeeded(&out);
    env.set("LC_ALL", "xx_XX.NOT-A-CHARSET").set("LANG", "");
    let again = env.run(&["--role-arn", ROLE]);
    succeeded(&again);
    assert_eq!(again.stdout, out.stdout);
    assert_eq!(stderr(&again), "");
}

/// Runs the binary through `sh -c` with a redirection applied first (e.g. `exec >&-`).
fn run_with_redirect(env: &TestEnv, redirect: &str, args: &[&str]) -> Output {
    let cmd = env.std_cmd();
    let mut sh = std::process::Command::new("sh");
    sh.env_clear();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            sh.env(k, v);
        }
    }
    sh.current_dir(env.dir.path())
        .arg("-c")
        .arg(format!("{redirect}; exec \"$0\" \"$@\""))
        .arg(cmd.get_program())
        .args(args)
        .stdin(Stdio::null());
    sh.output().expect("sh runs")
}

#[test]
fn closed_stdout_or_stdin_is_no_crash_and_credentials_land_nowhere_else() {
    let (env, canaries) = canary_gitlab();
    // fd 1 closed: the Rust runtime reopens it on /dev/null before main, so no file the run
    // opens (the lock, the entry's temp file) can become stdout and receive the credentials.
    let out = run_with_redirect(&env, "exec >&-", &["--role-arn", ROLE, "--no-cache"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("internal error"), "{err}");
    canaries.assert_absent(&err, "stderr");
    let out = run_with_redirect(&env, "exec <&-", &["--role-arn", ROLE]);
    succeeded(&out);
    canaries.assert_absent(&stderr(&out), "stderr");
    let out = run_with_redirect(&env, "exec >&- <&-", &["--role-arn", ROLE]);
    assert!(!stderr(&out).contains("internal error"));
    check_files(&env, &canaries);
}

#[test]
fn a_broken_stdout_pipe_is_a_clear_error_and_no_panic() {
    let (env, canaries) = canary_gitlab();
    for args in [
        &["--role-arn", ROLE][..],
        &["--role-arn", ROLE, "--no-cache"],
    ] {
        // A pipe whose read end is closed before the run starts: every write gets EPIPE.
        let mut fds = [0; 2];
        // SAFETY: pipe fills two valid descriptors on success.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: both descriptors were just created and are owned here.
        let (read, write) = unsafe {
            use std::os::fd::FromRawFd;
            (
                std::os::fd::OwnedFd::from_raw_fd(fds[0]),
                std::os::fd::OwnedFd::from_raw_fd(fds[1]),
            )
        };
        drop(read);
        let out = env
            .std_cmd()
            .args(args)
            .stdout(Stdio::from(write))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "not killed by SIGPIPE: {err}");
        says(
            &err,
            &["could not write to stdout", "closed its end of the pipe"],
        );
        assert!(!err.contains("panicked"), "{err}");
        canaries.assert_absent(&err, "stderr");
    }
}

#[test]
fn a_very_long_argument_or_variable_is_a_short_usage_error() {
    let (mut env, canaries) = canary_gitlab();
    // Linux caps one argument or variable at 128 KiB; stay just under.
    let long = format!("arn:aws:iam::123456789012:role/{}", "r".repeat(120_000));
    let out = env.run(&["--role-arn", &long]);
    let err = failed(&out, 2);
    says(&err, &["--role-arn", "role name"]);
    assert!(err.len() < 4096, "the error is short: {} bytes", err.len());
    canaries.assert_absent(&err, "stderr");

    let junk = "x".repeat(120_000);
    env.set("AWS_CI_CREDS_ROLE_ARN", &junk);
    let err = failed(&env.run(&[]), 2);
    says(&err, &["AWS_CI_CREDS_ROLE_ARN", "not an ARN"]);
    assert!(err.len() < 4096, "the error is short: {} bytes", err.len());
    env.unset("AWS_CI_CREDS_ROLE_ARN");

    env.set("HUGE_TOKEN", &junk);
    let err = failed(
        &env.run(&[
            "--role-arn",
            ROLE,
            "--source",
            "env",
            "--token-env",
            "HUGE_TOKEN",
        ]),
        3,
    );
    says(&err, &["HUGE_TOKEN", "characters long"]);
    assert!(err.len() < 4096);
}

#[test]
fn non_utf8_arguments_and_variables_are_usage_or_token_errors_not_panics() {
    let (env, canaries) = canary_gitlab();
    let bad = OsString::from_vec(b"arn:aws:iam::123456789012:role/\xff\xfe".to_vec());
    let out = env.cmd().arg("--role-arn").arg(&bad).output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("UTF-8"), "{err}");
    assert!(!err.contains("internal error"), "{err}");
    canaries.assert_absent(&err, "stderr");

    let out = env
        .cmd()
        .env("AWS_CI_CREDS_ROLE_ARN", &bad)
        .output()
        .unwrap();
    let err = failed(&out, 2);
    says(&err, &["AWS_CI_CREDS_ROLE_ARN", "UTF-8"]);

    let out = env
        .cmd()
        .args(["--role-arn", ROLE, "--token-env", "MY_TOKEN"])
        .env("MY_TOKEN", OsString::from_vec(b"eyJ\xff.x.y".to_vec()))
        .output()
        .unwrap();
    let err = failed(&out, 3);
    says(&err, &["MY_TOKEN", "not valid UTF-8"]);
}
