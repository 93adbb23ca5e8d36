//! The man page and the shell completions, both generated from the clap definitions.
//!
//! The pages in `docs/man/` (`aws-ci-creds.1` and one per subcommand, `aws-ci-creds-doctor.1`, …)
//! are checked in; this test regenerates them and fails when they are stale. Refresh them with
//! `UPDATE_MAN=1 cargo test --test it man_page`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::*;

/// File name → roff text, for the whole command tree.
fn pages_in(dir: &Path) -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "1"))
        .map(|p| {
            let name = p.file_name().unwrap().to_str().unwrap().to_string();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

fn render_man_pages() -> BTreeMap<String, String> {
    // The crate version only: `--version` also carries the git commit, which would make the
    // checked-in pages stale on every commit.
    let cmd = aws_ci_creds::testing::cli::command().version(env!("CARGO_PKG_VERSION"));
    let dir = tempfile::tempdir().unwrap();
    clap_mangen::generate_to(cmd, dir.path()).expect("render the man pages");
    pages_in(dir.path())
}

#[test]
#[cfg_attr(
    not(feature = "demo"),
    ignore = "the checked-in pages are the default build's, which lists `demo`"
)]
fn the_man_pages_in_docs_match_the_clap_definitions() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/man");
    let fresh = render_man_pages();
    if std::env::var_os("UPDATE_MAN").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in &fresh {
            std::fs::write(dir.join(name), text).unwrap();
        }
        return;
    }
    let stored = pages_in(&dir);
    assert!(
        stored == fresh,
        "docs/man is stale: run `UPDATE_MAN=1 cargo test --test it man_page` and commit it"
    );
    for page in [
        "aws-ci-creds.1",
        "aws-ci-creds-doctor.1",
        "aws-ci-creds-trust-policy.1",
        "aws-ci-creds-setup.1",
        "aws-ci-creds-exec.1",
        "aws-ci-creds-serve.1",
        "aws-ci-creds-export.1",
        "aws-ci-creds-completions.1",
    ] {
        assert!(fresh.contains_key(page), "no man page {page}");
    }
    assert!(fresh["aws-ci-creds-doctor.1"].contains("\\-\\-json"));
}

#[test]
fn completions_are_printed_for_each_shell() {
    let env = TestEnv::new();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef aws-ci-creds"),
        ("fish", "complete -c aws-ci-creds"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = env.cmd().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(marker), "{shell} script lacks {marker}");
        assert!(
            text.contains("trust-policy") && text.contains("serve") && text.contains("export"),
            "{shell} script lacks the subcommands"
        );
    }
    let out = env.cmd().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_bash_completion_script_is_valid_bash() {
    let env = TestEnv::new();
    let out = env.cmd().args(["completions", "bash"]).output().unwrap();
    let script = env.path("aws-ci-creds.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    match std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
    {
        Ok(check) => assert!(
            check.status.success(),
            "{}",
            String::from_utf8_lossy(&check.stderr)
        ),
        Err(_) => eprintln!("note: bash not available; syntax check skipped"),
    }
}
