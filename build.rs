//! Stamps `--version` with the git commit and the target triple, so a binary found on a
//! runner says exactly what it is: `aws-ci-creds 0.2.0 (3f2a9c1d0b7e x86_64-unknown-linux-musl)`.
//!
//! Outside a git checkout (a source tarball, a machine with only Rust) the commit is left out,
//! or taken from `AWS_CI_CREDS_COMMIT` when a packager sets it.

// A build script's inputs are cargo's environment variables; the run-time rule (only env.rs
// reads the environment) does not apply here.
#![allow(clippy::disallowed_methods)]

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let version = env!("CARGO_PKG_VERSION");
    // Cargo always sets TARGET for build scripts; the fallback keeps a hand-run build honest.
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown-target".to_string());
    println!("cargo:rerun-if-env-changed=AWS_CI_CREDS_COMMIT");
    let commit = std::env::var("AWS_CI_CREDS_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .map(|c| c.trim().to_string())
        .or_else(git_commit);
    let full = match commit {
        Some(c) => format!("{version} ({c} {target})"),
        None => format!("{version} ({target})"),
    };
    println!("cargo:rustc-env=AWS_CI_CREDS_VERSION={full}");
    println!("cargo:rustc-env=AWS_CI_CREDS_TARGET={target}");
}

fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn git_commit() -> Option<String> {
    let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
    // Rebuild when HEAD moves. `--git-path` resolves linked worktrees, where `.git` is a file.
    let mut watch = vec![git(&["rev-parse", "--git-path", "HEAD"])];
    if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch.push(git(&["rev-parse", "--git-path", &reference]));
        watch.push(git(&["rev-parse", "--git-path", "packed-refs"]));
    }
    for path in watch.into_iter().flatten().map(PathBuf::from) {
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    Some(commit)
}
