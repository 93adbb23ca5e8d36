//! Running a program that prints an ID token: `buildkite-agent oidc request-token`, `circleci run
//! oidc get`, or anything given with `--token-command`.
//!
//! No shell is involved. A command line is split into arguments the way the AWS CLI and botocore
//! split a `credential_process` line (Python's `shlex.split`, POSIX rules; on Windows botocore's Windows rules), so a line that works
//! there works here. The child gets this run's environment, no stdin, a time limit (it is killed
//! when the limit passes), and at most [`MAX_STDOUT`] bytes of stdout are read. Its stderr is never
//! copied to ours: it is shown with `-v`, and quoted in an error, only after lines that look like a
//! token are withheld.

use std::io;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;

use crate::diag::Diag;
use crate::env::Env;
use crate::error::{Error, Message};
use crate::jwt::Token;

/// A token is a few KiB; more output than this is not a token.
pub const MAX_STDOUT: u64 = 64 * 1024;
/// How much of the child's stderr is kept for diagnostics.
const MAX_STDERR: u64 = 16 * 1024;
/// Lines of stderr quoted in an error.
const STDERR_LINES: usize = 8;

pub use crate::sys::process::split_command_line as split;

/// What a finished command left.
#[derive(Debug)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// How running a command failed. Never holds its stdout.
#[derive(Debug)]
pub enum Failure {
    /// The program is not on `PATH` (or the path does not exist).
    NotFound,
    /// It exists but could not be started (permissions, not executable).
    Spawn(io::Error),
    /// It exited unsuccessfully; its exit code (none when killed by a signal) and stderr.
    Exit { code: Option<i32>, stderr: String },
    /// It did not finish within the limit, and was killed.
    Timeout(Duration),
    /// It printed more than [`MAX_STDOUT`] bytes.
    TooMuchOutput,
}

/// Runs `argv` with this environment, no stdin and a time limit.
pub async fn run(argv: &[String], env: &Env, limit: Duration) -> Result<Output, Failure> {
    let (program, args) = argv.split_first().ok_or(Failure::NotFound)?;
    let mut command = tokio::process::Command::new(crate::sys::env::program_path(
        program,
        env.get_os("PATH"),
        env.get_os("PATHEXT"),
    ));
    command
        .args(args)
        .env_clear()
        .envs(env.iter_os())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Failure::NotFound,
        _ => Failure::Spawn(e),
    })?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let work = async {
        let mut out = Vec::new();
        let mut err = Vec::new();
        // stderr is drained to the end (keeping the start) so a chatty child never blocks on it.
        let mut limited = (&mut stdout).take(MAX_STDOUT + 1);
        let (o, _) = tokio::join!(
            limited.read_to_end(&mut out),
            drain_capped(&mut stderr, &mut err, MAX_STDERR),
        );
        if o.is_ok() && out.len() as u64 > MAX_STDOUT {
            return Err(Failure::TooMuchOutput);
        }
        let status = child.wait().await.map_err(Failure::Spawn)?;
        let err = String::from_utf8_lossy(&err).into_owned();
        if !status.success() {
            return Err(Failure::Exit {
                code: status.code(),
                stderr: err,
            });
        }
        Ok(Output {
            stdout: out,
            stderr: err,
        })
    };
    // On timeout the future (and the child with it) is dropped: kill_on_drop kills it.
    tokio::time::timeout(limit, work)
        .await
        .unwrap_or(Err(Failure::Timeout(limit)))
}

async fn drain_capped(
    reader: &mut (impl tokio::io::AsyncRead + Unpin),
    keep: &mut Vec<u8>,
    cap: u64,
) -> io::Result<()> {
    let mut buf = [0u8; 4096];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        let room = (cap as usize).saturating_sub(keep.len());
        keep.extend_from_slice(&buf[..n.min(room)]);
    }
}

/// True when a line may hold a token or other secret-looking blob, so it is never echoed.
fn withheld(line: &str) -> bool {
    line.contains("eyJ")
        || line
            .split(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '=')
            .any(|word| word.len() >= 40 && !word.contains('/'))
}

/// The last lines of a child's stderr, safe to show: lines that look like a token are replaced.
pub fn stderr_excerpt(stderr: &str) -> Vec<String> {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let start = lines.len().saturating_sub(STDERR_LINES);
    lines[start..]
        .iter()
        .map(|line| {
            if withheld(line) {
                "[a line that looks like a token or secret, withheld]".to_string()
            } else {
                line.chars().take(300).collect()
            }
        })
        .collect()
}

/// Shows the child's stderr with `-v`, withholding token-looking lines.
pub fn log_stderr(diag: &Diag, program: &str, stderr: &str) {
    for line in stderr_excerpt(stderr) {
        diag.info(format!("{program} (stderr): {line}"));
    }
}

/// How a command-based source describes its set-up problems.
pub struct Context<'a> {
    /// For messages: "the --token-command", "buildkite-agent".
    pub what: &'a str,
    /// The fix when the program is not found.
    pub not_found_fix: &'a str,
    /// The fix when it fails or prints no token.
    pub failed_fix: &'a str,
}

/// Runs the command and reads the token it printed, turning each failure into an error that
/// names the command and says what to fix. Its stderr is logged with `-v`.
pub async fn token_from_command(
    argv: &[String],
    env: &Env,
    limit: Duration,
    diag: &Diag,
    ctx: &Context<'_>,
) -> Result<Token, Error> {
    let program = argv.first().map(String::as_str).unwrap_or_default();
    let shown = shown_program(program);
    let output = run(argv, env, limit).await.map_err(|f| match f {
        Failure::NotFound => Error::token(
            format!(
                "{} could not be run: `{shown}` was not found on PATH",
                ctx.what
            ),
            ctx.not_found_fix,
        ),
        Failure::Spawn(e) => Error::token(
            format!("{} could not be started (`{shown}`): {e}", ctx.what),
            "check the program is executable by this user",
        ),
        Failure::Exit { code, stderr } => {
            log_stderr(diag, &shown, &stderr);
            let mut m = Message::new(format!(
                "{} failed ({})",
                ctx.what,
                match code {
                    Some(c) => format!("`{shown}` exited with status {c}"),
                    None => format!("`{shown}` was killed by a signal"),
                }
            ));
            for line in stderr_excerpt(&stderr) {
                m = m.detail(format!("stderr: {line}"));
            }
            Error::Token(m.fix(ctx.failed_fix))
        }
        Failure::Timeout(after) => Error::unavailable(
            Message::new(format!(
                "{} (`{shown}`) did not finish within {}s and was stopped",
                ctx.what,
                after.as_secs().max(1)
            ))
            .fix("check the command does not wait for input; raise --timeout if it is just slow"),
            None,
        ),
        Failure::TooMuchOutput => Error::token(
            format!(
                "{} (`{shown}`) printed more than {} KiB; an ID token is a few KiB",
                ctx.what,
                MAX_STDOUT / 1024
            ),
            "the command must print only the token on stdout (diagnostics go to stderr)",
        ),
    })?;
    log_stderr(diag, &shown, &output.stderr);
    let text = String::from_utf8(output.stdout).map_err(|_| {
        Error::token(
            format!(
                "{} (`{shown}`) printed something that is not text",
                ctx.what
            ),
            ctx.failed_fix,
        )
    })?;
    Token::parse(&text).map_err(|e| {
        Error::token(
            format!("what {} (`{shown}`) printed {e}", ctx.what),
            format!(
                "the command must print only the OIDC ID token (a JWT: eyJ…) on stdout; {}",
                ctx.failed_fix
            ),
        )
    })
}

/// The program's file name, for messages (a full path can be long and says little).
fn shown_program(program: &str) -> String {
    std::path::Path::new(program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| program.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    // The POSIX rule itself, on every platform (Windows's is tested in `shlex`).
    use crate::shlex::{SplitError, split};

    fn ok(line: &str) -> Vec<String> {
        split(line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
    }

    #[test]
    fn splits_like_shlex_posix() {
        assert_eq!(ok("a b\tc\n d"), ["a", "b", "c", "d"]);
        assert_eq!(
            ok("  leading and trailing  "),
            ["leading", "and", "trailing"]
        );
        assert_eq!(
            ok(r#"circleci run oidc get --claims '{"aud":"sts.amazonaws.com"}'"#),
            [
                "circleci",
                "run",
                "oidc",
                "get",
                "--claims",
                r#"{"aud":"sts.amazonaws.com"}"#
            ]
        );
        assert_eq!(ok(r#""a b" 'c d'"#), ["a b", "c d"]);
        assert_eq!(ok(r#"a"b c"d"#), ["ab cd"]);
        assert_eq!(ok("a '' b"), ["a", "", "b"]);
        assert_eq!(ok(r#"a "" b"#), ["a", "", "b"]);
        assert_eq!(ok(r"a\ b c"), ["a b", "c"]);
        assert_eq!(ok(r"\'quoted\'"), ["'quoted'"]);
        assert_eq!(ok(r#""say \"hi\" \\ \n""#), [r#"say "hi" \ \n"#]);
        assert_eq!(ok(r"'no \escapes'"), [r"no \escapes"]);
        assert_eq!(ok("# not a comment"), ["#", "not", "a", "comment"]);
        assert_eq!(ok("/usr/bin/env"), ["/usr/bin/env"]);
    }

    #[test]
    fn the_documented_credential_process_line_survives_both_splits() {
        // What the AWS CLI does with the line in docs/ci/circleci.md, then what we do with the
        // --token-command value.
        let line = r#"aws-ci-creds --role-arn arn:aws:iam::123456789012:role/deploy --token-command "circleci run oidc get --claims '{\"aud\":\"sts.amazonaws.com\"}'""#;
        let outer = ok(line);
        assert_eq!(
            outer[4],
            r#"circleci run oidc get --claims '{"aud":"sts.amazonaws.com"}'"#
        );
        assert_eq!(
            ok(&outer[4]),
            [
                "circleci",
                "run",
                "oidc",
                "get",
                "--claims",
                r#"{"aud":"sts.amazonaws.com"}"#
            ]
        );
    }

    #[test]
    fn unbalanced_lines_are_refused() {
        assert_eq!(split("a 'b"), Err(SplitError::UnclosedQuote('\'')));
        assert_eq!(split(r#"a "b"#), Err(SplitError::UnclosedQuote('"')));
        assert_eq!(split(r#"a "b\"#), Err(SplitError::UnclosedQuote('"')));
        assert_eq!(split(r"a \"), Err(SplitError::TrailingBackslash));
        assert_eq!(split("   "), Err(SplitError::Empty));
        assert_eq!(split(""), Err(SplitError::Empty));
    }

    #[test]
    fn stderr_lines_that_look_like_tokens_are_withheld() {
        let text = "starting\nwarning: slow network\ntoken=eyJhbGciOi.eyJzdWIi.sig\nAKIAsecretlookingvaluethatislongerthanfortycharacters\nbye\n";
        let lines = stderr_excerpt(text);
        assert_eq!(lines[0], "starting");
        assert_eq!(lines[1], "warning: slow network");
        assert!(lines[2].contains("withheld"), "{lines:?}");
        assert!(lines[3].contains("withheld"), "{lines:?}");
        assert_eq!(lines[4], "bye");
        let many: String = (0..20).map(|i| format!("line {i}\n")).collect();
        let lines = stderr_excerpt(&many);
        assert_eq!(lines.len(), STDERR_LINES);
        assert_eq!(lines.last().unwrap(), "line 19");
    }

    #[cfg(unix)]
    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[cfg(unix)]
    fn sh(script: &str) -> Vec<String> {
        vec!["/bin/sh".into(), "-c".into(), script.into()]
    }

    #[cfg(unix)]
    fn path_env() -> Env {
        Env::from_pairs([("PATH", "/usr/bin:/bin"), ("ONLY_THIS", "yes")])
    }

    #[cfg(unix)] // runs `sh`
    #[test]
    fn runs_with_the_snapshot_environment_and_no_stdin() {
        let out = rt()
            .block_on(run(
                &sh("printf '%s' \"$ONLY_THIS\"; cat; echo err >&2"),
                &path_env(),
                Duration::from_secs(20),
            ))
            .unwrap();
        assert_eq!(out.stdout, b"yes");
        assert_eq!(out.stderr.trim(), "err");
    }

    #[cfg(unix)] // runs `sh`
    #[test]
    fn failures_are_told_apart() {
        let rt = rt();
        let env = path_env();
        let limit = Duration::from_secs(20);
        assert!(matches!(
            rt.block_on(run(&["no-such-program-aws-ci-creds".into()], &env, limit)),
            Err(Failure::NotFound)
        ));
        match rt.block_on(run(&sh("echo broken >&2; exit 7"), &env, limit)) {
            Err(Failure::Exit { code, stderr }) => {
                assert_eq!(code, Some(7));
                assert_eq!(stderr.trim(), "broken");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            rt.block_on(run(&sh("head -c 70000 /dev/zero"), &env, limit)),
            Err(Failure::TooMuchOutput)
        ));
    }

    #[cfg(unix)] // runs `sh`
    #[test]
    fn a_command_past_its_limit_is_stopped() {
        let got = rt().block_on(run(
            &sh("sleep 30"),
            &path_env(),
            Duration::from_millis(300),
        ));
        assert!(matches!(got, Err(Failure::Timeout(_))), "{got:?}");
    }
}
