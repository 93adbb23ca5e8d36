#![allow(dead_code)] // secrets.rs uses part of this kit
//! The loopback credentials endpoint (`serve`, `exec --serve`): what the SDKs get, what anyone
//! else gets (nothing), single flight, refresh across an expiry, and the endpoint's lifetime.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sts_emulator::{EmulatorConfig, Fault, RoleTrust};

use crate::support::*;

pub(crate) fn gitlab_env() -> TestEnv {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    env
}

/// A GitLab job against an emulator whose credentials live `lifetime` seconds: with the default
/// 15-minute refresh margin they are always due for a refresh.
pub(crate) fn short_lived_env(lifetime: u32) -> TestEnv {
    let mut env = TestEnv::with_config(EmulatorConfig {
        roles: vec![RoleTrust {
            role_arn: ROLE.into(),
            audience: "sts.amazonaws.com".into(),
            subject_like: SUB_LIKE.into(),
            max_session_seconds: 7200,
        }],
        credential_lifetime_override: Some(lifetime),
        ..Default::default()
    });
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    env
}

/// A running `serve`, with the variables it printed.
pub(crate) struct Served {
    pub child: Child,
    pub uri: String,
    pub token: String,
    /// Everything it printed on stdout.
    pub stdout: String,
}

impl Served {
    pub(crate) fn start(env: &TestEnv, extra: &[&str]) -> Served {
        let mut child = env
            .std_cmd()
            .args(["serve", "--role-arn", ROLE])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap());
        let mut stdout = String::new();
        let (mut uri, mut token) = (None, None);
        while uri.is_none() || token.is_none() {
            let mut line = String::new();
            if lines.read_line(&mut line).unwrap() == 0 {
                let out = child.wait_with_output().unwrap();
                panic!("serve printed no variables; stderr:\n{}", stderr(&out));
            }
            stdout.push_str(&line);
            if let Some(v) = export_value(&line, "AWS_CONTAINER_CREDENTIALS_FULL_URI") {
                uri = Some(v);
            }
            if let Some(v) = export_value(&line, "AWS_CONTAINER_AUTHORIZATION_TOKEN") {
                token = Some(v);
            }
        }
        Served {
            child,
            uri: uri.unwrap(),
            token: token.unwrap(),
            stdout,
        }
    }

    pub(crate) fn addr(&self) -> String {
        addr_of(&self.uri)
    }

    /// A GET with the right token.
    pub(crate) fn get(&self) -> (u16, String) {
        get(&self.uri, Some(&self.token))
    }

    /// SIGTERM, then its exit status and stderr.
    pub(crate) fn stop(&mut self) -> (std::process::ExitStatus, String) {
        // SAFETY: kill(2) on our own child process.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let status = self.child.wait().unwrap();
        let mut err = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (status, err)
    }
}

/// The value of `export NAME='value'`.
fn export_value(line: &str, name: &str) -> Option<String> {
    let rest = line.trim_end().strip_prefix(&format!("export {name}='"))?;
    Some(rest.strip_suffix('\'')?.to_string())
}

/// `127.0.0.1:PORT` of `http://127.0.0.1:PORT/path`.
pub(crate) fn addr_of(uri: &str) -> String {
    let rest = uri.strip_prefix("http://").expect("plain http URL");
    rest.split('/').next().unwrap().to_string()
}

/// Sends `raw` and reads the answer until the server closes: (status, body), status 0 when
/// the connection closed without an answer.
pub(crate) fn exchange_raw(addr: &str, raw: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("endpoint accepts");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let _ = stream.write_all(raw);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    parse_answer(&answer)
}

fn parse_answer(answer: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(answer);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A GET on the URL as an SDK sends it, with this Authorization header (if any).
pub(crate) fn get(uri: &str, token: Option<&str>) -> (u16, String) {
    request("GET", uri, token)
}

pub(crate) fn request(method: &str, uri: &str, token: Option<&str>) -> (u16, String) {
    let addr = addr_of(uri);
    let path = &uri[uri.find(&addr).unwrap() + addr.len()..];
    let auth = token
        .map(|t| format!("Authorization: {t}\r\n"))
        .unwrap_or_default();
    let raw = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: test\r\n{auth}Connection: close\r\n\r\n"
    );
    exchange_raw(&addr, raw.as_bytes())
}

/// The container credentials document, checked field by field.
#[track_caller]
pub(crate) fn container_json(body: &str) -> Value {
    let v: Value = serde_json::from_str(body).expect("JSON body");
    for field in ["AccessKeyId", "SecretAccessKey", "Token", "Expiration"] {
        assert!(
            v[field].as_str().is_some_and(|s| !s.is_empty()),
            "{field} missing in {v}"
        );
    }
    assert_eq!(v["AccountId"], ACCOUNT);
    let exp = v["Expiration"].as_str().unwrap();
    assert!(exp.ends_with('Z'), "{exp}");
    chrono::DateTime::parse_from_rfc3339(exp).unwrap();
    v
}

#[test]
fn serve_answers_the_container_protocol_on_loopback() {
    let env = gitlab_env();
    let mut served = Served::start(&env, &[]);
    assert!(
        served.uri.starts_with("http://127.0.0.1:"),
        "{}",
        served.uri
    );
    assert!(served.uri.ends_with("/credentials"), "{}", served.uri);
    assert_eq!(served.token.len(), 64);
    assert_eq!(
        served.stdout,
        format!(
            "export AWS_CONTAINER_CREDENTIALS_FULL_URI='{}'\nexport AWS_CONTAINER_AUTHORIZATION_TOKEN='{}'\n",
            served.uri, served.token
        ),
        "exactly the two variables, in shell form"
    );
    let (status, body) = served.get();
    assert_eq!(status, 200, "{body}");
    let v = container_json(&body);
    assert!(v["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    let (again, body2) = served.get();
    assert_eq!(again, 200);
    assert_eq!(body, body2, "served from the same credentials");
    assert_eq!(
        env.assume_calls(),
        1,
        "one exchange for the start and both requests"
    );
    let (status, err) = served.stop();
    assert!(
        status.success(),
        "stops cleanly on SIGTERM: {status:?}\n{err}"
    );
    assert!(!err.contains(&served.token), "the token is never logged");
    assert!(!err.contains(v["SecretAccessKey"].as_str().unwrap()));
}

#[test]
fn without_the_token_method_or_path_nothing_is_served_and_nothing_leaks() {
    let env = gitlab_env();
    let mut served = Served::start(&env, &["-vv"]);
    let uri = served.uri.clone();
    let wrong = "canary-wrong-token-5bX8qL2vN7mR";
    let other_path = uri.replace("/credentials", "/latest/meta-data");
    let cases: [(&str, &str, Option<&str>, u16); 6] = [
        ("no token", "GET", None, 401),
        ("wrong token", "GET", Some(wrong), 403),
        (
            "a prefix of the token",
            "GET",
            Some(&served.token[..32]),
            403,
        ),
        ("POST", "POST", Some(&served.token), 405),
        ("PUT", "PUT", Some(&served.token), 405),
        ("another path", "GET", Some(&served.token), 404),
    ];
    for (what, method, token, want) in cases {
        let target = if what == "another path" {
            &other_path
        } else {
            &uri
        };
        let (status, body) = request(method, target, token);
        assert_eq!(status, want, "{what}");
        assert_eq!(body, "", "{what}: no body that helps");
    }
    // Another path without the token: 401, so the paths cannot be probed.
    assert_eq!(get(&other_path, None).0, 401);
    // A query string is a different request line, not a different path: still the endpoint.
    let (status, _) = get(&format!("{uri}?x=1"), Some(&served.token));
    assert_eq!(status, 200);
    // A body on a GET is refused.
    let addr = served.addr();
    let raw = format!(
        "GET /credentials HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {}\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd",
        served.token
    );
    assert_eq!(exchange_raw(&addr, raw.as_bytes()).0, 400);

    let (_, body) = served.get();
    let creds = container_json(&body);
    let (_, err) = served.stop();
    for reason in [
        "no Authorization header (401)",
        "wrong Authorization token (403)",
        "a method other than GET (405)",
        "a path other than the endpoint's (404)",
        "a request body (400)",
    ] {
        assert!(err.contains(reason), "refusal logged: {reason}\n{err}");
    }
    for secret in [
        wrong,
        &served.token[..32],
        creds["SecretAccessKey"].as_str().unwrap(),
        creds["Token"].as_str().unwrap(),
    ] {
        assert!(!err.contains(secret), "leaked {secret} in:\n{err}");
    }
}

#[test]
fn oversized_and_slow_requests_are_cut_off_and_logged() {
    let env = gitlab_env();
    let mut served = Served::start(&env, &[]);
    let addr = served.addr();
    let big = format!(
        "GET /credentials HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {}\r\nX-Pad: {}\r\n\r\n",
        served.token,
        "a".repeat(16 * 1024)
    );
    let (status, body) = exchange_raw(&addr, big.as_bytes());
    assert!(status == 431 || status == 0, "oversized: {status}");
    assert!(!body.contains("AccessKeyId"));

    // A client that sends half a request and stalls is dropped, and does not block others.
    let mut slow = TcpStream::connect(&addr).unwrap();
    slow.write_all(b"GET /credentials HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    assert_eq!(served.get().0, 200, "others are served meanwhile");
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let _ = slow.read_to_end(&mut answer);
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "the stalled connection was closed by the endpoint"
    );
    assert!(!String::from_utf8_lossy(&answer).contains("AccessKeyId"));

    // A kept-alive connection that got its answer and then idles is closed, but is no refusal.
    let mut idle = TcpStream::connect(&addr).unwrap();
    idle.write_all(
        format!(
            "GET /credentials HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {}\r\n\r\n",
            served.token
        )
        .as_bytes(),
    )
    .unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut rest = Vec::new();
    let _ = idle.read_to_end(&mut rest);
    assert!(String::from_utf8_lossy(&rest).starts_with("HTTP/1.1 200"));

    let (_, err) = served.stop();
    assert_eq!(
        err.matches("no complete request within 5s").count(),
        1,
        "only the stalled client is reported, not the idle one:\n{err}"
    );
    assert!(err.contains("its head is over 8192 bytes"), "{err}");
    assert!(err.contains("no complete request within 5s"), "{err}");
    assert!(!err.contains(&served.token));
}

#[test]
fn two_hundred_concurrent_requests_due_for_refresh_cost_one_sts_call() {
    // Credentials that live 5 minutes are always inside the refresh margin, so every request
    // that did not wait for a fetch would cause one.
    let env = short_lived_env(300);
    let mut served = Served::start(&env, &["--duration", "900"]);
    assert_eq!(env.assume_calls(), 1, "the start-up exchange");
    // The next exchange is slow, so every request arrives while it is under way.
    env.emu.push_fault(Fault::Delay(Duration::from_secs(3)));
    let barrier = std::sync::Barrier::new(200);
    let bodies: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..200)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    served.get()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (status, body) in &bodies {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(body, &bodies[0].1, "every request got the same credentials");
    }
    assert_eq!(env.assume_calls(), 2, "200 requests, one exchange");
    let (status, err) = served.stop();
    assert!(status.success(), "{err}");
}

#[test]
fn a_long_running_client_gets_fresh_credentials_across_an_expiry() {
    let env = short_lived_env(2);
    let mut served = Served::start(&env, &["--duration", "900"]);
    let (status, first) = served.get();
    assert_eq!(status, 200, "{first}");
    let first = container_json(&first);
    std::thread::sleep(Duration::from_secs(3));
    let (status, second) = served.get();
    assert_eq!(status, 200, "{second}");
    let second = container_json(&second);
    let exp = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(v["Expiration"].as_str().unwrap()).unwrap()
    };
    assert!(
        exp(&first) < chrono::Utc::now(),
        "the first ones have expired"
    );
    assert!(
        exp(&second) > chrono::Utc::now(),
        "the second ones are valid"
    );
    assert_ne!(first["AccessKeyId"], second["AccessKeyId"]);
    served.stop();
}

#[test]
fn a_failed_refresh_is_a_500_with_the_reason_and_the_next_request_recovers() {
    let env = short_lived_env(300);
    let mut served = Served::start(&env, &["--duration", "900", "--timeout", "2s"]);
    env.emu.set_persistent_fault(Some(Fault::sts_error(
        "AccessDenied",
        "Not authorized to perform sts:AssumeRoleWithWebIdentity",
    )));
    let (status, body) = served.get();
    assert_eq!(status, 500, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(
        v["Message"].as_str().unwrap().contains("aws-ci-creds"),
        "{v}"
    );
    env.emu.set_persistent_fault(None);
    let (status, body) = served.get();
    assert_eq!(status, 200, "{body}");
    let (_, err) = served.stop();
    assert!(
        err.contains("endpoint: could not obtain credentials"),
        "{err}"
    );
}

#[test]
fn serve_refuses_a_broken_set_up_before_listening() {
    let env = TestEnv::new();
    let out = env.run(&["serve", "--role-arn", ROLE]);
    let err = failed(&out, 3);
    assert!(err.contains("token"), "{err}");
}

#[test]
fn serve_stops_after_its_max_lifetime() {
    let env = gitlab_env();
    let served = Served::start(&env, &["--max-lifetime", "1s"]);
    let mut child = served.child;
    let status = child.wait().unwrap();
    assert!(status.success());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("reached --max-lifetime (1s)"), "{err}");
    assert!(
        TcpStream::connect(addr_of(&served.uri)).is_err(),
        "the endpoint is gone"
    );
}

#[test]
fn serve_appends_the_variables_to_an_env_file() {
    let env = gitlab_env();
    let file = env.path("github_env");
    std::fs::write(&file, "EARLIER=kept\n").unwrap();
    let child = env
        .std_cmd()
        .args(["serve", "--role-arn", ROLE, "--env-file"])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let text = loop {
        let text = std::fs::read_to_string(&file).unwrap();
        if text.contains("AWS_CONTAINER_AUTHORIZATION_TOKEN=") {
            break text;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{text}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "EARLIER=kept");
    let uri = lines[1]
        .strip_prefix("AWS_CONTAINER_CREDENTIALS_FULL_URI=")
        .unwrap();
    let token = lines[2]
        .strip_prefix("AWS_CONTAINER_AUTHORIZATION_TOKEN=")
        .unwrap();
    assert_eq!(lines.len(), 3);
    assert_eq!(get(uri, Some(token)).0, 200);
    // SAFETY: kill(2) on our own child process.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty(), "nothing on stdout with --env-file");
}

#[test]
fn serve_detaches_when_asked_and_stops_on_sigterm() {
    let env = gitlab_env();
    let out = env.run(&["serve", "--role-arn", ROLE, "--detach"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let uri = text
        .lines()
        .find_map(|l| export_value(l, "AWS_CONTAINER_CREDENTIALS_FULL_URI"))
        .unwrap();
    let token = text
        .lines()
        .find_map(|l| export_value(l, "AWS_CONTAINER_AUTHORIZATION_TOKEN"))
        .unwrap();
    let err = stderr(&out);
    let pid: libc::pid_t = err
        .split("(pid ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("pid on stderr: {err}"));
    assert_eq!(
        get(&uri, Some(&token)).0,
        200,
        "served after the parent returned"
    );
    // SAFETY: kill(2) on the process the test started (detached, so not our child).
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let start = Instant::now();
    while TcpStream::connect(addr_of(&uri)).is_ok() {
        assert!(start.elapsed() < Duration::from_secs(30), "still listening");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn serve_on_github_masks_the_token_first() {
    let mut env = TestEnv::new();
    env.github_job();
    let mut served = Served::start(&env, &[]);
    assert!(
        served.stdout.starts_with(&format!(
            "printf '%s\\n' '\n::add-mask::{}\n'\n",
            served.token
        )),
        "{}",
        served.stdout
    );
    served.stop();
}

// ---------------------------------------------------------------------------------------------
// exec --serve

#[test]
fn exec_serve_gives_the_child_an_endpoint_and_no_keys_then_closes_it() {
    let mut env = gitlab_env();
    env.set("AWS_PROFILE", "ci")
        .set("AWS_ACCESS_KEY_ID", "AKIASTALESTALESTALE")
        .set("AWS_SECRET_ACCESS_KEY", "stale-secret-stale-secret")
        .set("AWS_SESSION_TOKEN", "stale-session")
        .set(
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "/v2/credentials/x",
        );
    let dump = env.path("child-env");
    let script = "env > \"$DUMP\"; printf '%s %s\\n' \"$AWS_CONTAINER_CREDENTIALS_FULL_URI\" \"$AWS_CONTAINER_AUTHORIZATION_TOKEN\"; read line; exit 7";
    let mut child = env
        .std_cmd()
        .env("DUMP", &dump)
        .args([
            "exec",
            "--serve",
            "--role-arn",
            ROLE,
            "--region",
            "eu-west-1",
            "--",
            "sh",
            "-c",
            script,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let (uri, token) = line.trim().split_once(' ').expect("uri and token");
    let (status, body) = get(uri, Some(token));
    assert_eq!(status, 200, "{body}");
    let creds = container_json(&body);

    let vars = std::fs::read_to_string(&dump).unwrap();
    let var = |name: &str| {
        vars.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .map(str::to_string)
    };
    for gone in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CREDENTIAL_EXPIRATION",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    ] {
        assert_eq!(var(gone), None, "{gone} must not reach the child");
    }
    assert_eq!(var("AWS_REGION").as_deref(), Some("eu-west-1"));
    assert_eq!(
        var("CI_JOB_ID").as_deref(),
        Some("1001"),
        "the rest is inherited"
    );
    assert!(!vars.contains(creds["SecretAccessKey"].as_str().unwrap()));

    // The child exits: so does the endpoint, with the child's status.
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(
        TcpStream::connect(addr_of(uri)).is_err(),
        "the endpoint is gone"
    );
    let err = stderr(&out);
    assert!(!err.contains(token));
}

#[test]
fn exec_serve_forwards_sigterm_and_exits_with_the_childs_status() {
    let env = gitlab_env();
    let ready = env.path("ready");
    let script = "trap 'exit 3' TERM; touch \"$READY\"; while :; do sleep 0.1; done";
    let mut child = env
        .std_cmd()
        .env("READY", &ready)
        .args([
            "exec",
            "--serve",
            "--role-arn",
            ROLE,
            "--",
            "sh",
            "-c",
            script,
        ])
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !ready.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "child never ready"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill(2) on our own child process.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(child.wait().unwrap().code(), Some(3));
}

#[test]
fn exec_serve_reports_a_child_killed_by_a_signal() {
    let env = gitlab_env();
    let out = env.run(&[
        "exec",
        "--serve",
        "--role-arn",
        ROLE,
        "--",
        "sh",
        "-c",
        "kill -KILL $$",
    ]);
    assert_eq!(out.status.code(), Some(128 + 9));
}

#[test]
fn serve_on_github_with_an_env_file_prints_only_the_mask() {
    let mut env = TestEnv::new();
    env.github_job();
    let file = env.path("github_env");
    let mut child = env
        .std_cmd()
        .args(["serve", "--role-arn", ROLE, "--env-file"])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    // The mask comes first; the file follows.
    let start = Instant::now();
    let text = loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if text.ends_with('\n') && text.contains("AWS_CONTAINER_AUTHORIZATION_TOKEN=") {
            break text;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{text}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let token = text
        .lines()
        .find_map(|l| l.strip_prefix("AWS_CONTAINER_AUTHORIZATION_TOKEN="))
        .unwrap();
    assert_eq!(line, format!("::add-mask::{token}\n"));
    // SAFETY: kill(2) on our own child process.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty(), "nothing after the mask");
    assert!(!stderr(&out).contains(token));
}
