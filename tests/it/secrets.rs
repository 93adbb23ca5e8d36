//! The canary suite: tokens, the GitHub request token and the credentials STS hands out never
//! reach stderr, listings, error messages or files outside the cache, on any path and at any
//! verbosity.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sts_emulator::{EmulatorConfig, Fault, RoleTrust};

use crate::support::*;

/// A GitHub request token nobody could print by chance.
pub(crate) const CANARY_BEARER: &str = "canary-gh-bearer-7QvX2mK9pLw4Rz8N";

/// Secret strings that must never be shown.
#[derive(Default, Clone)]
pub(crate) struct Canaries(Vec<(String, String)>);

impl Canaries {
    pub(crate) fn add(&mut self, what: &str, value: &str) {
        assert!(value.len() >= 16, "a canary too short to be unique: {what}");
        self.0.push((what.to_string(), value.to_string()));
    }

    /// The token, and its payload and signature on their own (each unique to this token).
    pub(crate) fn token(&mut self, token: &str) {
        self.add("token", token);
        let parts: Vec<&str> = token.split('.').collect();
        self.add("token payload", parts[1]);
        self.add("token signature", parts[2]);
    }

    pub(crate) fn credentials(&mut self, v: &Value) {
        for field in ["AccessKeyId", "SecretAccessKey", "SessionToken"] {
            self.add(field, v[field].as_str().unwrap());
        }
    }

    #[track_caller]
    pub(crate) fn assert_absent(&self, text: &str, context: &str) {
        for (what, value) in &self.0 {
            assert!(
                !text.contains(value.as_str()),
                "{what} leaked in {context}:\n{text}"
            );
        }
    }
}

pub(crate) fn env_with_canary_bearer() -> TestEnv {
    TestEnv::with_config(EmulatorConfig {
        roles: vec![RoleTrust {
            role_arn: ROLE.into(),
            audience: "sts.amazonaws.com".into(),
            subject_like: SUB_LIKE.into(),
            max_session_seconds: 7200,
        }],
        github_request_token: CANARY_BEARER.into(),
        ..Default::default()
    })
}

/// A GitLab job whose token is a canary, with a first successful run whose credentials (now in
/// the cache) are canaries too.
pub(crate) fn gitlab_with_cached_credentials() -> (TestEnv, Canaries) {
    let mut env = env_with_canary_bearer();
    let mut canaries = Canaries::default();
    canaries.add("GitHub request token", CANARY_BEARER);
    canaries.token(&env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims()));
    let out = env.run(&["-vv", "--role-arn", ROLE]);
    let creds = succeeded(&out);
    canaries.credentials(&creds);
    canaries.assert_absent(&stderr(&out), "stderr of the first run");
    (env, canaries)
}

/// Runs `args` quietly, with -v and with -vv: the exit code is `code` every time, and no canary
/// is on stderr (nor on stdout, when the run failed).
pub(crate) fn check(env: &TestEnv, canaries: &Canaries, args: &[&str], code: i32) {
    for verbosity in [None, Some("-v"), Some("-vv")] {
        let mut all: Vec<&str> = verbosity.into_iter().collect();
        all.extend_from_slice(args);
        let out = env.run(&all);
        let context = format!("aws-ci-creds {}", all.join(" "));
        assert_eq!(out.status.code(), Some(code), "{context}: {}", stderr(&out));
        canaries.assert_absent(&stderr(&out), &format!("stderr of {context}"));
        if code != 0 {
            assert!(out.stdout.is_empty(), "{context}");
        }
    }
    check_listings(env, canaries);
    check_files(env, canaries);
}

fn check_listings(env: &TestEnv, canaries: &Canaries) {
    for args in [
        &["cache", "list"][..],
        &["cache", "list", "--json"],
        &["-vv", "cache", "list"],
    ] {
        let out = env.run(args);
        assert!(out.status.success(), "{}", stderr(&out));
        canaries.assert_absent(&String::from_utf8_lossy(&out.stdout), "cache list");
        canaries.assert_absent(&stderr(&out), "cache list stderr");
    }
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let md = std::fs::symlink_metadata(entry.path()).unwrap();
        if md.is_dir() {
            walk(&entry.path(), files);
        } else if md.is_file() {
            files.push(entry.path());
        }
    }
}

/// Credentials are only in the cache directory; tokens only where the test put them.
pub(crate) fn check_files(env: &TestEnv, canaries: &Canaries) {
    let mut files = Vec::new();
    walk(env.dir.path(), &mut files);
    let cache = env.cache_dir();
    for file in files {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        let written_by_test = file.starts_with(env.path("given"));
        for (what, value) in &canaries.0 {
            let is_credential = matches!(
                what.as_str(),
                "AccessKeyId" | "SecretAccessKey" | "SessionToken"
            );
            if (is_credential && file.starts_with(&cache)) || (!is_credential && written_by_test) {
                continue;
            }
            assert!(
                !text.contains(value.as_str()),
                "{what} found in {}",
                file.display()
            );
        }
    }
}

/// A file the test writes on purpose (token files), exempt from the file scan.
pub(crate) fn given_token_file(env: &TestEnv, token: &str) -> String {
    std::fs::create_dir_all(env.path("given")).unwrap();
    env.token_file("given/token", token)
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn success_and_cache_hits_show_no_secret_at_any_verbosity() {
    let (env, canaries) = gitlab_with_cached_credentials();
    check(&env, &canaries, &["--role-arn", ROLE], 0);
    // The stale path (refresh, then a store) too.
    let entry = env.only_entry();
    let mut v: Value = serde_json::from_slice(&std::fs::read(&entry).unwrap()).unwrap();
    let soon = chrono::Utc::now() + chrono::Duration::minutes(5);
    v["credentials"]["expiration"] = soon.format("%Y-%m-%dT%H:%M:%SZ").to_string().into();
    std::fs::write(&entry, serde_json::to_vec(&v).unwrap()).unwrap();
    let out = env.run(&["-vv", "--role-arn", ROLE]);
    succeeded(&out);
    canaries.assert_absent(&stderr(&out), "stderr of a refresh");
}

#[test]
fn github_runs_show_neither_the_request_token_nor_the_minted_token() {
    let mut env = env_with_canary_bearer();
    env.github_job();
    let mut canaries = Canaries::default();
    canaries.add("GitHub request token", CANARY_BEARER);
    let out = env.run(&["-vv", "--role-arn", ROLE, "--no-cache"]);
    canaries.credentials(&succeeded(&out));
    canaries.assert_absent(&stderr(&out), "stderr");
    check(&env, &canaries, &["--role-arn", ROLE], 0);
    check(&env, &canaries, &["--role-arn", ROLE, "--no-cache"], 0);
    // A refusal by the token endpoint, and an STS refusal of a minted token.
    env.set(
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "canary-wrong-bearer-5tG8hJ2k",
    );
    canaries.add("wrong request token", "canary-wrong-bearer-5tG8hJ2k");
    check(&env, &canaries, &["--role-arn", ROLE, "--no-cache"], 3);
    env.set("ACTIONS_ID_TOKEN_REQUEST_TOKEN", CANARY_BEARER);
    env.emu
        .set_github_claims(json!({"sub": "repo:evil/fork:ref:refs/heads/main", "run_id": "9"}));
    check(&env, &canaries, &["--role-arn", ROLE, "--no-cache"], 4);
    env.emu.push_token_fault(Fault::Status(500));
    env.emu.set_persistent_token_fault(Some(Fault::Hang));
    check(
        &env,
        &canaries,
        &["--role-arn", ROLE, "--no-cache", "--timeout", "2s"],
        5,
    );
}

#[test]
fn token_errors_show_no_secret() {
    let (mut env, mut canaries) = gitlab_with_cached_credentials();
    // Two candidate variables.
    canaries.token(&env.gitlab_job("SECOND_TOKEN", env.gitlab_claims()));
    check(&env, &canaries, &["--role-arn", ROLE], 3);
    env.unset("SECOND_TOKEN");
    // Expired.
    let expired = env.emu.mint_with_lifetime(env.gitlab_claims(), -60);
    canaries.token(&expired);
    env.set("AWS_ID_TOKEN", &expired);
    check(&env, &canaries, &["--role-arn", ROLE], 3);
    // Malformed: JWT-shaped with a bad payload, in a variable and in a file.
    let malformed = "eyJhbGciOiJSUzI1NiJ9.canary~payload~9xQ2wE7rT.canary-signature-Lk3mN8bV";
    canaries.add("malformed token", malformed);
    canaries.add("malformed payload", "canary~payload~9xQ2wE7rT");
    env.set("AWS_ID_TOKEN", malformed);
    check(
        &env,
        &canaries,
        &["--role-arn", ROLE, "--token-env", "AWS_ID_TOKEN"],
        3,
    );
    let file = given_token_file(&env, "canary-not-a-jwt-at-all-4rT7yU");
    canaries.add("file content", "canary-not-a-jwt-at-all-4rT7yU");
    check(
        &env,
        &canaries,
        &["--role-arn", ROLE, "--token-file", &file],
        3,
    );
    // No token at all.
    env.unset("AWS_ID_TOKEN");
    check(&env, &canaries, &["--role-arn", ROLE], 3);
}

#[test]
fn sts_refusals_show_no_secret() {
    let (mut env, mut canaries) = gitlab_with_cached_credentials();
    let refused = |env: &mut TestEnv, canaries: &mut Canaries, claims: Value, args: &[&str]| {
        let token = env.emu.mint(claims);
        canaries.token(&token);
        env.set("AWS_ID_TOKEN", &token);
        let mut all = vec!["--token-env", "AWS_ID_TOKEN"];
        all.extend_from_slice(args);
        check(env, canaries, &all, 4);
    };
    let mut other = env.gitlab_claims();
    other["sub"] = "project_path:other/project:ref_type:branch:ref:main".into();
    refused(&mut env, &mut canaries, other, &["--role-arn", ROLE]);
    let unknown = json!({"iss": "https://unknown.example.com", "sub": GOOD_SUB});
    refused(&mut env, &mut canaries, unknown, &["--role-arn", ROLE]);
    let mut aud = env.gitlab_claims();
    aud["aud"] = "https://gitlab.example.com".into();
    refused(&mut env, &mut canaries, aud, &["--role-arn", ROLE]);
    let claims = env.gitlab_claims();
    refused(
        &mut env,
        &mut canaries,
        claims,
        &["--role-arn", ROLE, "--duration", "3h"],
    );
    // A forged signature.
    let forged = env.emu.mint_forged(env.gitlab_claims());
    canaries.token(&forged);
    env.set("AWS_ID_TOKEN", &forged);
    check(
        &env,
        &canaries,
        &["--role-arn", ROLE, "--token-env", "AWS_ID_TOKEN"],
        4,
    );
}

#[test]
fn usage_errors_show_no_secret_and_a_token_is_never_taken_as_an_argument() {
    let (env, canaries) = gitlab_with_cached_credentials();
    check(&env, &canaries, &["--role-arn", "deploy"], 2);
    check(&env, &canaries, &[], 2);
    check(
        &env,
        &canaries,
        &["--role-arn", ROLE, "--duration", "10"],
        2,
    );

    // A token where a variable name belongs: refused, and not echoed.
    let token = env.var("AWS_ID_TOKEN").unwrap().to_string();
    let out = env.run(&["--role-arn", ROLE, "--token-env", &token]);
    let err = failed(&out, 2);
    says(&err, &["--token-env was given a token", "variable's name"]);
    canaries.assert_absent(&err, "stderr of --token-env <token>");
    check(
        &env,
        &canaries,
        &["--role-arn", ROLE, "--token-env", &token],
        2,
    );
}

#[test]
fn unavailable_sts_shows_no_secret() {
    let (env, canaries) = gitlab_with_cached_credentials();
    let args = ["--role-arn", ROLE, "--no-cache", "--timeout", "2s"];
    env.emu.set_persistent_fault(Some(Fault::Status(503)));
    check(&env, &canaries, &args, 5);
    env.emu.set_persistent_fault(Some(Fault::Truncated));
    check(&env, &canaries, &args, 5);
    env.emu.set_persistent_fault(Some(Fault::NotXml));
    check(&env, &canaries, &args, 5);
    env.emu.set_persistent_fault(Some(Fault::Hang));
    check(&env, &canaries, &args, 5);
    env.emu.set_persistent_fault(None);
    let unreachable = [
        "--role-arn",
        ROLE,
        "--sts-endpoint",
        "http://127.0.0.1:1",
        "--timeout",
        "2s",
    ];
    check(&env, &canaries, &unreachable, 5);
    // A retried transient failure, then success.
    env.emu
        .push_fault(Fault::sts_error("IDPCommunicationError", "try again"));
    let out = env.run(&["-vv", "--role-arn", ROLE, "--no-cache"]);
    succeeded(&out);
    canaries.assert_absent(&stderr(&out), "stderr of a retried run");
}

#[test]
fn the_cache_holds_credentials_but_never_the_token() {
    let (env, canaries) = gitlab_with_cached_credentials();
    let entry = std::fs::read_to_string(env.only_entry()).unwrap();
    let token = env.var("AWS_ID_TOKEN").unwrap();
    assert!(!entry.contains(token));
    assert!(!entry.contains(token.split('.').nth(2).unwrap()));
    check_files(&env, &canaries);
}

/// STS saying the token expired: the fresh-token retry (GitHub, a token command) and the final
/// refusal show neither the request token nor any token, at any verbosity.
#[test]
fn a_token_refused_as_expired_and_reminted_leaks_nothing() {
    let expired = Fault::sts_error(
        "ExpiredTokenException",
        "Token expired: current date/time 2 must be before 1",
    );
    let mut env = env_with_canary_bearer();
    env.github_job();
    let mut canaries = Canaries::default();
    canaries.add("GitHub request token", CANARY_BEARER);
    env.emu.set_persistent_fault(Some(expired.clone()));
    check(&env, &canaries, &["--role-arn", ROLE, "--no-cache"], 4);

    let env = env_with_canary_bearer();
    let token = env.emu.mint(env.gitlab_claims());
    std::fs::create_dir_all(env.path("given")).unwrap();
    let file = env.path("given/token");
    std::fs::write(&file, &token).unwrap();
    let mut canaries = Canaries::default();
    canaries.token(&token);
    let command = format!("cat {}", file.display());
    env.emu.push_fault(expired.clone());
    let out = env.run(&[
        "-vv",
        "--role-arn",
        ROLE,
        "--no-cache",
        "--token-command",
        &command,
    ]);
    succeeded(&out);
    canaries.assert_absent(&stderr(&out), "stderr of a reminted run");
    env.emu.set_persistent_fault(Some(expired));
    check(
        &env,
        &canaries,
        &[
            "--role-arn",
            ROLE,
            "--no-cache",
            "--token-command",
            &command,
        ],
        4,
    );
}

/// Static keys in the config file (the target profile's, another profile's next to it) never
/// reach setup's refusal, its `--dry-run` diff, its report, or doctor's profile findings.
#[test]
fn setup_and_doctor_show_no_static_key_from_the_config_file() {
    let mut canaries = Canaries::default();
    let secret = "wJalrXUtnFEMIK7MDENGbPxRfiCYcanary1";
    let session = "IQoJb3JpZ2luX2VjEcanarySessionToken";
    canaries.add("aws_secret_access_key", secret);
    canaries.add("aws_session_token", session);
    let mut env = TestEnv::new();
    let path = env.path("aws-config");
    env.set("AWS_CONFIG_FILE", path.to_str().unwrap());
    let text = format!(
        "[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = {secret}\n[profile ci]\naws_secret_access_key = {secret}\naws_session_token = {session}\n"
    );
    for args in [
        &["setup", "--profile", "ci", "--role-arn", ROLE][..],
        &[
            "setup",
            "--profile",
            "ci",
            "--role-arn",
            ROLE,
            "--comment-out-conflicts",
            "--dry-run",
        ],
        &[
            "setup",
            "--profile",
            "ci",
            "--role-arn",
            ROLE,
            "--comment-out-conflicts",
            "-vv",
        ],
        &["doctor", "--profile", "ci", "--role-arn", ROLE],
    ] {
        std::fs::write(&path, &text).unwrap();
        let out = env.run(args);
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        canaries.assert_absent(&all, &format!("{args:?}"));
    }
}

#[test]
fn export_shows_secrets_on_stdout_only_in_every_format_and_failure() {
    let (mut env, canaries) = gitlab_with_cached_credentials();
    for format in ["sh", "fish", "powershell", "dotenv", "json"] {
        check(
            &env,
            &canaries,
            &["export", "--role-arn", ROLE, "--format", format],
            0,
        );
    }
    // On GitHub (masks) and into $GITHUB_ENV: still nothing on stderr.
    env.set("GITHUB_ACTIONS", "true");
    // Outside the scanned directory: $GITHUB_ENV holds the credentials by design.
    let outside = tempfile::tempdir().unwrap();
    let github_env = outside.path().join("github_env");
    env.set("GITHUB_ENV", github_env.to_str().unwrap());
    for format in ["sh", "json", "github-env"] {
        let args = [
            "export",
            "--role-arn",
            ROLE,
            "--source",
            "gitlab",
            "--format",
            format,
        ];
        check(&env, &canaries, &args, 0);
    }
    assert!(
        std::fs::read_to_string(&github_env)
            .unwrap()
            .contains("AWS_SESSION_TOKEN<<")
    );
    std::fs::remove_file(&github_env).unwrap();
    env.unset("GITHUB_ACTIONS").unset("GITHUB_ENV");
    // The failure paths print nothing on stdout.
    check(
        &env,
        &canaries,
        &["export", "--role-arn", ROLE, "--format", "github-env"],
        2,
    );
    env.emu.set_persistent_fault(Some(Fault::Status(503)));
    check(
        &env,
        &canaries,
        &[
            "export",
            "--role-arn",
            ROLE,
            "--no-cache",
            "--timeout",
            "2s",
        ],
        5,
    );
    env.emu.set_persistent_fault(None);
    let mut other = env.gitlab_claims();
    other["sub"] = "project_path:other/project:ref_type:branch:ref:main".into();
    let mut canaries = canaries;
    canaries.token(&env.gitlab_job("AWS_ID_TOKEN", other));
    check(&env, &canaries, &["export", "--role-arn", ROLE], 4);
}

#[cfg(unix)] // stops the endpoint with SIGTERM
#[test]
fn serve_and_exec_serve_never_log_the_endpoint_token_or_the_credentials() {
    use crate::serve::{Served, get, request, short_lived_env};
    let (env, mut canaries) = gitlab_with_cached_credentials();
    let mut served = Served::start(&env, &["-vv"]);
    canaries.add("endpoint token", &served.token);
    let (status, body) = served.get();
    assert_eq!(status, 200);
    assert_eq!(
        get(&served.uri, Some("canary-wrong-endpoint-token-Qw8")).0,
        403
    );
    canaries.add("wrong endpoint token", "canary-wrong-endpoint-token-Qw8");
    assert_eq!(request("POST", &served.uri, Some(&served.token)).0, 405);
    let (_, err) = served.stop();
    canaries.assert_absent(&err, "stderr of serve -vv");
    let creds: Value = serde_json::from_str(&body).unwrap();
    for field in ["SecretAccessKey", "Token"] {
        assert!(!err.contains(creds[field].as_str().unwrap()));
    }

    // A refresh that fails, then one that works, at -vv.
    let short = short_lived_env(300);
    let mut served = Served::start(&short, &["-vv", "--duration", "900", "--timeout", "2s"]);
    let mut canaries = Canaries::default();
    canaries.add("endpoint token", &served.token);
    short.emu.set_persistent_fault(Some(Fault::Status(503)));
    assert_eq!(
        served.get().0,
        200,
        "the stale credentials are still served"
    );
    short.emu.set_persistent_fault(None);
    let (status, body) = served.get();
    assert_eq!(status, 200);
    let creds: Value = serde_json::from_str(&body).unwrap();
    canaries.add("secret", creds["SecretAccessKey"].as_str().unwrap());
    canaries.add("session", creds["Token"].as_str().unwrap());
    let (_, err) = served.stop();
    canaries.assert_absent(&err, "stderr of serve -vv across a failed refresh");

    // exec --serve: the child's environment carries the endpoint only; our stderr carries nothing.
    let (env, canaries) = gitlab_with_cached_credentials();
    for verbosity in ["-v", "-vv"] {
        let out = env.run(&[
            verbosity,
            "exec",
            "--serve",
            "--role-arn",
            ROLE,
            "--",
            "sh",
            "-c",
            "printf '%s' \"$AWS_CONTAINER_AUTHORIZATION_TOKEN\" >&2",
        ]);
        assert!(out.status.success());
        let err = stderr(&out);
        canaries.assert_absent(&err, "stderr of exec --serve");
    }
    // Start-up failures of both commands.
    check(
        &env,
        &canaries,
        &["serve", "--role-arn", ROLE, "--duration", "3h"],
        4,
    );
    check(
        &env,
        &canaries,
        &[
            "exec",
            "--serve",
            "--role-arn",
            ROLE,
            "--duration",
            "3h",
            "--",
            "true",
        ],
        4,
    );
    check_files(&env, &canaries);
}

#[test]
fn proxy_passwords_never_show() {
    use base64::Engine as _;
    const PASSWORD: &str = "canary-proxy-pw-Hq7Zt3Lm9Xc";
    let (mut env, mut canaries) = gitlab_with_cached_credentials();
    canaries.add("proxy password", PASSWORD);
    canaries.add(
        "Proxy-Authorization value",
        &base64::engine::general_purpose::STANDARD.encode(format!("ci:{PASSWORD}")),
    );
    let args = ["--role-arn", ROLE, "--no-cache", "--timeout", "2s"];
    let proxy = crate::network::ConnectProxy::start(Some(&format!("ci:{PASSWORD}")));

    // Through the proxy, successfully.
    env.set("HTTP_PROXY", &proxy.url(&format!("ci:{PASSWORD}@")));
    check(&env, &canaries, &args, 0);
    assert!(!proxy.tunnels().is_empty());
    // The proxy refuses these credentials (407).
    let wrong = "canary-wrong-proxy-pw-2Bn6Yc";
    canaries.add("wrong proxy password", wrong);
    env.set("HTTP_PROXY", &proxy.url(&format!("ci:{wrong}@")));
    check(&env, &canaries, &args, 5);
    // The proxy cannot be reached.
    env.set("HTTP_PROXY", &format!("http://ci:{PASSWORD}@127.0.0.1:1"));
    check(&env, &canaries, &args, 5);
    // The proxy URL cannot be used at all.
    env.set(
        "HTTP_PROXY",
        &format!("socks5://ci:{PASSWORD}@127.0.0.1:1080"),
    );
    check(&env, &canaries, &args, 2);
    env.set("HTTPS_PROXY", &format!("ci:{PASSWORD}@"));
    check(&env, &canaries, &args, 2);
    env.unset("HTTP_PROXY").unset("HTTPS_PROXY");
    // The Azure Pipelines agent's proxy password.
    env.set("AGENT_PROXYURL", "http://127.0.0.1:1")
        .set("AGENT_PROXYUSERNAME", "ci")
        .set("AGENT_PROXYPASSWORD", PASSWORD);
    check(&env, &canaries, &args, 5);
}
