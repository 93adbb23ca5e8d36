#![allow(dead_code)] // each test module uses a different part of the support kit
//! A sealed environment for running the binary: a temp HOME and cache, no variable from the
//! machine's own CI or AWS set-up, and a strict STS emulator with one role.

use std::collections::BTreeMap;
use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::{Value, json};
use sts_emulator::{Emulator, EmulatorConfig, RoleTrust};

pub const ROLE: &str = "arn:aws:iam::123456789012:role/deploy";
pub const ACCOUNT: &str = "123456789012";
/// The trust policy's `sub` condition: any ref of one GitLab project.
pub const SUB_LIKE: &str = "project_path:group/project:*";
pub const GOOD_SUB: &str = "project_path:group/project:ref_type:branch:ref:main";

pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub emu: Emulator,
    vars: BTreeMap<String, String>,
    /// The bearer the emulator's GitHub token endpoint requires; `github_job` sets it.
    pub github_request_token: String,
}

/// A role that trusts tokens for `aud` whose `sub` matches `sub_like`; the IAM OIDC provider
/// lists `aud` (and sts.amazonaws.com) as client ids.
pub fn env_for(aud: &str, sub_like: &str) -> TestEnv {
    TestEnv::with_config(EmulatorConfig {
        roles: vec![RoleTrust {
            role_arn: ROLE.into(),
            audience: aud.into(),
            subject_like: sub_like.into(),
            max_session_seconds: 7200,
        }],
        client_ids: vec![aud.to_string(), "sts.amazonaws.com".to_string()],
        ..EmulatorConfig::default()
    })
}

impl TestEnv {
    /// An emulator whose role `deploy` trusts tokens for audience `sts.amazonaws.com` and
    /// subject `project_path:group/project:*`, with a 2h maximum session.
    pub fn new() -> TestEnv {
        TestEnv::with_roles(vec![RoleTrust {
            role_arn: ROLE.into(),
            audience: "sts.amazonaws.com".into(),
            subject_like: SUB_LIKE.into(),
            max_session_seconds: 7200,
        }])
    }

    pub fn with_roles(roles: Vec<RoleTrust>) -> TestEnv {
        TestEnv::with_config(EmulatorConfig {
            roles,
            ..EmulatorConfig::default()
        })
    }

    /// Like [`TestEnv::with_roles`], with every emulator setting chosen by the test.
    pub fn with_config(config: EmulatorConfig) -> TestEnv {
        let github_request_token = config.github_request_token.clone();
        let emu = Emulator::start(config).expect("emulator starts");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        let mut env = TestEnv {
            dir,
            emu,
            vars: BTreeMap::new(),
            github_request_token,
        };
        let home = env.path("home");
        let cache = env.path("cache");
        env.set("HOME", home.to_str().unwrap());
        env.set("AWS_CI_CREDS_CACHE_DIR", cache.to_str().unwrap());
        env.set("AWS_ENDPOINT_URL_STS", &env.emu.sts_endpoint());
        env.set("AWS_CONFIG_FILE", "/dev/null");
        env.set("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
        env
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.path("cache")
    }

    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    pub fn unset(&mut self, name: &str) -> &mut Self {
        self.vars.remove(name);
        self
    }

    /// Claims of a GitLab job token for project 42, job 1001 on the emulator's issuer.
    pub fn gitlab_claims(&self) -> Value {
        json!({
            "sub": GOOD_SUB, "aud": "sts.amazonaws.com",
            "project_id": "42", "project_path": "group/project", "job_id": "1001",
            "namespace_path": "group", "ref": "main", "ref_type": "branch", "pipeline_id": "77",
        })
    }

    /// Makes this a GitLab job whose `id_tokens:` put a token with these claims in `var`.
    pub fn gitlab_job(&mut self, var: &str, claims: Value) -> String {
        let token = self.emu.mint(claims);
        let issuer = self.emu.issuer_url();
        self.set("GITLAB_CI", "true")
            .set("CI", "true")
            .set("CI_SERVER_URL", &issuer)
            .set("CI_PROJECT_ID", "42")
            .set("CI_JOB_ID", "1001")
            .set(var, &token);
        token
    }

    /// Makes this a GitHub Actions job that may request ID tokens from the emulator.
    pub fn github_job(&mut self) {
        let url = self.emu.github_token_request_url();
        let bearer = self.github_request_token.clone();
        self.set("GITHUB_ACTIONS", "true")
            .set("CI", "true")
            .set("ACTIONS_ID_TOKEN_REQUEST_URL", &url)
            .set("ACTIONS_ID_TOKEN_REQUEST_TOKEN", &bearer)
            .set("GITHUB_RUN_ID", "555")
            .set("GITHUB_RUN_ATTEMPT", "2")
            .set("GITHUB_REPOSITORY", "octo-org/octo-repo")
            .set("GITHUB_JOB", "deploy");
        self.emu.set_github_claims(json!({
            "sub": "project_path:group/project:github-style", "repository": "octo-org/octo-repo",
            "run_id": "555", "run_attempt": "2",
        }));
    }

    /// Writes a token file (with a trailing newline, as most writers leave one).
    pub fn token_file(&self, name: &str, token: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, format!("{token}\n")).unwrap();
        p
    }

    /// The binary with exactly this environment (plus PATH) and no stdin.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::from_std(self.std_cmd());
        cmd.write_stdin(Vec::new());
        cmd
    }

    /// The same as [`TestEnv::cmd`], as a plain std command (for spawning, killing, parallel runs).
    pub fn std_cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(bin());
        cmd.env_clear();
        cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        cmd.current_dir(self.dir.path());
        cmd.stdin(std::process::Stdio::null());
        cmd
    }

    /// Runs the binary with these arguments and returns what it did.
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        self.cmd().args(args).output().expect("binary runs")
    }

    /// The value this environment gives `name`, if any.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The `<key>.json` entry files in the cache directory, sorted.
    pub fn entry_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.cache_dir())
            .map(|d| {
                d.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }

    /// The one entry file in the cache directory.
    pub fn only_entry(&self) -> PathBuf {
        let files = self.entry_files();
        assert_eq!(files.len(), 1, "one cache entry: {files:?}");
        files.into_iter().next().unwrap()
    }

    pub fn assume_calls(&self) -> usize {
        self.emu.sts_calls("AssumeRoleWithWebIdentity")
    }
}

/// The credential_process document a successful run printed, checked field by field.
pub fn process_json(stdout: &[u8]) -> Value {
    let text = std::str::from_utf8(stdout).expect("utf-8 stdout");
    assert_eq!(
        text.matches('\n').count(),
        1,
        "exactly one line on stdout: {text:?}"
    );
    let v: Value = serde_json::from_str(text.trim()).expect("stdout is JSON");
    assert_eq!(v["Version"], 1);
    for field in [
        "AccessKeyId",
        "SecretAccessKey",
        "SessionToken",
        "Expiration",
        "AccountId",
    ] {
        assert!(
            v[field].as_str().is_some_and(|s| !s.is_empty()),
            "{field} missing in {v}"
        );
    }
    let exp = v["Expiration"].as_str().unwrap();
    assert!(exp.ends_with('Z'), "Expiration in UTC with Z: {exp}");
    chrono::DateTime::parse_from_rfc3339(exp).expect("RFC 3339 Expiration");
    v
}

/// The built binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_aws-ci-creds"))
}

/// Asserts a failed run: this exit code, nothing on stdout, an `error:` line on stderr.
/// Returns stderr.
pub fn failed(out: &std::process::Output, code: i32) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "exit code; stderr:\n{err}");
    assert!(
        out.stdout.is_empty(),
        "stdout stays empty on failure: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(err.contains("aws-ci-creds: error: "), "{err}");
    err
}

/// Asserts a successful run and returns its credential_process document.
pub fn succeeded(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}; stderr:\n{}",
        out.status.code(),
        stderr(out)
    );
    process_json(&out.stdout)
}

/// Asserts that `text` contains each phrase.
#[track_caller]
pub fn says(text: &str, phrases: &[&str]) {
    for p in phrases {
        assert!(text.contains(p), "expected {p:?} in:\n{text}");
    }
}

pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[cfg(unix)]
#[allow(dead_code)]
pub fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}
