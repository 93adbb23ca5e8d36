//! The docs are tested against the binary, so that an example that drifts from the code fails:
//! - every `aws-ci-creds …` command line in README.md and docs/ (in `sh` blocks, `$ `-prompted
//!   lines, `credential_process = …` lines and YAML list items, `$aws_ci_creds …` included) runs
//!   in a GitLab job against the STS emulator, and must not be a usage error (exit 2: an unknown
//!   flag, a value the binary refuses); a block that cannot run offline says so with
//!   `<!-- not run: REASON -->` on the line before it;
//! - the error texts docs/troubleshooting.md quotes are what the binary prints for that case
//!   (the cases are the table in `quoted_errors_are_what_the_binary_prints`).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::support::*;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every page under docs/ (the man pages are generated and tested elsewhere).
fn pages() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "md") {
                out.push(p);
            }
        }
    }
    let mut out = vec![repo().join("README.md")];
    walk(&repo().join("docs"), &mut out);
    out.sort();
    out
}

/// One command line a page shows, where it is, and the words after `aws-ci-creds`.
struct Example {
    at: String,
    text: String,
}

/// The command lines of aws-ci-creds in a page's fenced blocks.
fn examples(page: &Path) -> Vec<Example> {
    let text = std::fs::read_to_string(page).unwrap();
    let name = page.strip_prefix(repo()).unwrap().display().to_string();
    let mut out = Vec::new();
    let mut fence: Option<(String, bool)> = None; // (language, not run)
    let mut previous = "";
    let lines: Vec<&str> = text.lines().collect();
    for (i, &line) in lines.iter().enumerate() {
        let joined = continued(&lines[i..]);
        let trimmed = joined.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            fence = match fence {
                Some(_) => None,
                None => Some((
                    info.trim().to_string(),
                    previous.trim().starts_with("<!-- not run:"),
                )),
            };
            previous = line;
            continue;
        }
        previous = line;
        let Some((lang, skip)) = &fence else { continue };
        if *skip {
            continue;
        }
        let command = match lang.as_str() {
            "sh" | "bash" | "" => trimmed.strip_prefix("$ ").unwrap_or(trimmed),
            "ini" => match trimmed.strip_prefix("credential_process = ") {
                Some(v) => v,
                None => continue,
            },
            "yaml" | "groovy" => trimmed.strip_prefix("- ").unwrap_or(trimmed),
            _ => continue,
        };
        let rest = ["aws-ci-creds ", "$aws_ci_creds ", "\"$aws_ci_creds\" "]
            .iter()
            .find_map(|p| command.strip_prefix(p));
        if let Some(rest) = rest {
            out.push(Example {
                at: format!("{name}:{}", i + 1),
                text: rest.to_string(),
            });
        }
    }
    out
}

/// `lines[0]` with the lines that continue it: after a trailing `\\` (sh), or, for a YAML list
/// item, the more indented lines of its plain scalar.
fn continued(lines: &[&str]) -> String {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut out = lines[0].to_string();
    let item = lines[0].trim_start().starts_with("- ");
    for next in &lines[1..] {
        if let Some(head) = out.strip_suffix('\\') {
            out = format!("{head} {}", next.trim());
        } else if item && indent(next) > indent(lines[0]) + 2 && !next.trim().is_empty() {
            out = format!("{out} {}", next.trim());
        } else {
            break;
        }
    }
    out
}

/// The arguments of a shown command line, as `sh` would pass them: words split with `'…'` and
/// `"…"` quoting and `$NAME`/`${NAME}` from `vars`, up to a comment, redirection, pipe or `&&`.
fn words(line: &str, vars: &[(&str, String)]) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut started = false;
    let mut chars = line.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                started = true;
            }
            (_, '$')
                if chars
                    .peek()
                    .is_some_and(|n| n.is_ascii_alphabetic() || *n == '{' || *n == '_') =>
            {
                let braced = chars.peek() == Some(&'{');
                if braced {
                    chars.next();
                }
                let mut name = String::new();
                while let Some(&n) = chars.peek() {
                    if n.is_ascii_alphanumeric() || n == '_' {
                        name.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                if braced {
                    chars.next();
                }
                let value = vars
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.as_str());
                word.push_str(value.unwrap_or(""));
                started = true;
            }
            (None, ' ' | '\t') => {
                if started {
                    out.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            (None, '#' | '>' | '|' | '&') if !started => break,
            (_, '\\') if quote != Some('\'') => {
                if let Some(n) = chars.next() {
                    word.push(n);
                    started = true;
                }
            }
            (_, c) => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        out.push(word);
    }
    out
}

#[test]
fn every_command_line_in_the_docs_runs_without_a_usage_error() {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    let config = env.path("aws-config");
    std::fs::write(&config, "").unwrap();
    env.set("AWS_CONFIG_FILE", config.to_str().unwrap());
    let token_file = env.token_file("token", &env.emu.mint(env.gitlab_claims()));
    // The commands the examples hand to `exec`, as do-nothing stand-ins (in the working
    // directory and on PATH), and the file GitHub Actions names in GITHUB_ENV.
    let stubs = env.path("stubs");
    std::fs::create_dir_all(&stubs).unwrap();
    for name in [
        "long-job.sh",
        "migrate-everything.sh",
        "stubs/my-old-tool",
        "stubs/terraform",
        "stubs/docker",
    ] {
        let path = env.path(name);
        std::fs::write(&path, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        stubs.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    env.set("PATH", &path);
    let github_env = env.path("github-env");
    env.set("GITHUB_ENV", github_env.to_str().unwrap());
    let vars = [
        ("ROLE", ROLE.to_string()),
        ("role", ROLE.to_string()),
        ("ROLE_ARN", ROLE.to_string()),
        ("AWS_ID_TOKEN_FILE", token_file.display().to_string()),
    ];
    let mut ran = 0;
    let mut failures = Vec::new();
    for page in pages() {
        for ex in examples(&page) {
            let args = words(&ex.text, &vars);
            // `demo` runs the whole flow and has its own tests (tests/it/demo.rs).
            if args.first().is_some_and(|a| a == "demo") {
                continue;
            }
            let out = env.cmd().args(&args).output().unwrap();
            ran += 1;
            let err = stderr(&out);
            if out.status.code() == Some(2) || err.contains("error: unexpected argument") {
                failures.push(format!(
                    "{}: aws-ci-creds {}\n    {}",
                    ex.at,
                    ex.text,
                    err.trim()
                ));
            }
        }
    }
    assert!(ran > 40, "only {ran} command lines found");
    assert!(
        failures.is_empty(),
        "{} command line(s) in the docs are usage errors:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_harness_finds_commands_and_splits_them_like_sh() {
    let vars = [("ROLE", "arn:x".to_string())];
    assert_eq!(
        words(
            r#"exec --role-arn "$ROLE" -- sh -c 'a && b' > out # c"#,
            &vars
        ),
        ["exec", "--role-arn", "arn:x", "--", "sh", "-c", "a && b"]
    );
    assert_eq!(
        words("completions zsh  > \"${fpath[1]}/_x\"", &vars),
        ["completions", "zsh"]
    );
    let found = examples(&repo().join("docs/ci/gitlab.md"));
    assert!(
        found
            .iter()
            .any(|e| e.text.starts_with("setup --profile ci")),
        "the manual recipe's setup line is found"
    );
}

/// In a case's `env`: make it a GitLab job with a valid token.
const JOB: &str = "(a GitLab job)";

/// Each case: the words that start the message in the docs, and how to make the binary print it.
struct Case {
    starts: &'static str,
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
}

/// The messages quoted in a page's fenced blocks: an `aws-ci-creds: error:` line and the indented
/// lines after it.
fn quoted_errors(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut in_fence = false;
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            out.extend(current.take());
            continue;
        }
        if !in_fence {
            continue;
        }
        if line.starts_with("aws-ci-creds: error: ") {
            out.extend(current.take());
            current = Some(line.to_string());
        } else if line.starts_with("  ") && current.is_some() {
            let c = current.as_mut().unwrap();
            c.push('\n');
            c.push_str(line);
        } else {
            out.extend(current.take());
        }
    }
    out
}

#[test]
fn quoted_errors_are_what_the_binary_prints() {
    const R: &str = "arn:aws:iam::123456789012:role/deploy";
    let cases = [
        Case {
            starts: "no role to assume",
            args: &[],
            env: &[],
        },
        Case {
            starts: "no OIDC token source found",
            args: &["--role-arn", R],
            env: &[],
        },
        Case {
            starts: "flag --role-arn is `deploy`",
            args: &["--role-arn", "deploy"],
            env: &[],
        },
        Case {
            starts: "the role arn:aws-us-gov:iam::123456789012:role/deploy is in partition",
            args: &["--role-arn", "arn:aws-us-gov:iam::123456789012:role/deploy"],
            env: &[("AWS_REGION", "eu-west-1")],
        },
        Case {
            starts: "flag --source is `jenkins2`",
            args: &["--role-arn", R, "--source", "jenkins2"],
            env: &[],
        },
        Case {
            starts: "--source file needs a token file",
            args: &["--role-arn", R, "--source", "file"],
            env: &[],
        },
        Case {
            starts: "--source env needs the name",
            args: &["--role-arn", R, "--source", "env"],
            env: &[],
        },
        Case {
            starts: "flag --token-env is `AWS_ID_TOKEN=x`",
            args: &["--role-arn", R, "--token-env", "AWS_ID_TOKEN=x"],
            env: &[],
        },
        Case {
            starts: "--token-env is `$AWS_ID_TOKEN`",
            args: &["--role-arn", R, "--token-env", "$AWS_ID_TOKEN"],
            env: &[],
        },
        Case {
            starts: "--role-arn is `$ROLE_ARN`",
            args: &["--role-arn", "$ROLE_ARN"],
            env: &[],
        },
        Case {
            starts: "flag --session-name is `my session`",
            args: &["--role-arn", R, "--session-name", "my session"],
            env: &[],
        },
        Case {
            starts: "flag --session-name is `x`",
            args: &["--role-arn", R, "--session-name", "x"],
            env: &[],
        },
        Case {
            starts: "flag --duration is `10m`",
            args: &["--role-arn", R, "--duration", "10m"],
            env: &[],
        },
        Case {
            starts: "the token file /tmp (from flag --token-file) is a directory",
            args: &["--role-arn", R, "--token-file", "/tmp"],
            env: &[],
        },
        Case {
            starts: "the value of MY_TOKEN is not a JWT",
            args: &[
                "--role-arn",
                R,
                "--source",
                "env",
                "--token-env",
                "MY_TOKEN",
            ],
            env: &[("MY_TOKEN", "not-a-token")],
        },
        Case {
            starts: "the token variable MY_TOKEN is not set",
            args: &[
                "--role-arn",
                R,
                "--source",
                "env",
                "--token-env",
                "MY_TOKEN",
            ],
            env: &[],
        },
        Case {
            starts: "the token variable AWS_ID_TOKN is not set",
            args: &[
                "--role-arn",
                R,
                "--source",
                "env",
                "--token-env",
                "AWS_ID_TOKN",
            ],
            env: &[("AWS_ID_TOKEN", "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjF9.c2ln")],
        },
        Case {
            starts: "the token file /var/run/secrets/eks.amazonaws.com/serviceaccount/token (from env AWS_WEB_IDENTITY_TOKEN_FILE) does not exist",
            args: &["--role-arn", R],
            env: &[(
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
            )],
        },
        Case {
            starts: "the token file /etc/hostname (from flag --token-file) is not a JWT",
            args: &["--role-arn", R, "--token-file", "/etc/hostname"],
            env: &[],
        },
        // The network settings are loaded at the first connection: in a job with a token.
        Case {
            starts: "the CA bundle /etc/corp/ca.pem (env AWS_CA_BUNDLE) cannot be read",
            args: &["--role-arn", R, "--no-cache"],
            env: &[(JOB, ""), ("AWS_CA_BUNDLE", "/etc/corp/ca.pem")],
        },
        Case {
            starts: "HTTPS_PROXY is `socks5://proxy:1080`",
            args: &["--role-arn", R, "--no-cache"],
            env: &[(JOB, ""), ("HTTPS_PROXY", "socks5://proxy:1080")],
        },
    ];
    let page = std::fs::read_to_string(repo().join("docs/troubleshooting.md")).unwrap();
    let quoted = quoted_errors(&page);
    // configuration.md quotes some of the same messages: they must match too.
    let config = std::fs::read_to_string(repo().join("docs/configuration.md")).unwrap();
    let also = quoted_errors(&config);
    let mut wrong = Vec::new();
    for case in &cases {
        let prefix = format!("aws-ci-creds: error: {}", case.starts);
        let Some(doc) = quoted.iter().find(|q| q.starts_with(&prefix)) else {
            wrong.push(format!(
                "docs/troubleshooting.md quotes no message starting {prefix:?}"
            ));
            continue;
        };
        let mut env = TestEnv::new();
        for (k, v) in case.env {
            if *k == JOB {
                env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
            } else {
                env.set(k, v);
            }
        }
        let out = env.run(case.args);
        let printed = stderr(&out);
        for doc in std::iter::once(doc).chain(also.iter().filter(|q| q.starts_with(&prefix))) {
            if printed.trim_end() != doc.trim_end() {
                wrong.push(format!(
                    "the docs quote:\n{doc}\nthe binary prints:\n{printed}"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}
