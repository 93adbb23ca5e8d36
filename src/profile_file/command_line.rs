//! The `credential_process` value: written so that every SDK runs the same argument vector, and
//! read back the way each SDK reads it (for `doctor`).
//!
//! How each reader turns the config value into a command:
//! - botocore (AWS CLI, boto3): the ini reader keeps `#` and `;` inside a value, then
//!   `shlex.split` in POSIX mode, no shell.
//! - aws-sdk-go-v2 since its ini rewrite (Terraform): the value is cut at the first `#` or `;`,
//!   trimmed, one outer pair of matching quotes is removed, `\"` and `\'` are unescaped, then
//!   `sh -c`.
//! - aws-sdk-rust and the JavaScript SDK v3: the value is cut at a `#` or `;` that follows
//!   whitespace, then run through `sh -c`.
//!
//! So the line written here has no `#`, `;`, quote characters inside values, or line breaks, and
//! never starts and ends with the same quote character. On Windows (`sys::process`) the readers
//! differ again (botocore's Windows split, `cmd.exe /C`), so nothing there may need quoting.

use crate::error::Error;

/// Characters that need no quoting under `sh` or `shlex`.
fn plain(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "_@%+=:,./-".contains(c)
        || crate::sys::process::LINE_PLAIN_EXTRA.contains(c)
}

/// One argument: plain words bare, anything else in single quotes (which it cannot contain).
fn quote(arg: &str) -> String {
    if !arg.is_empty() && arg.chars().all(plain) {
        arg.to_string()
    } else {
        format!("'{arg}'")
    }
}

/// Why an argument cannot go into a `credential_process` line, if it cannot.
fn unsafe_reason(arg: &str) -> Option<&'static str> {
    if arg.contains(['\n', '\r']) {
        Some("a line break, which ends the value in every config file reader")
    } else if arg.contains(['#', ';']) {
        Some("`#` or `;`, where aws-sdk-go-v2 (Terraform) cuts the value as a comment")
    } else if arg.contains(['\'', '"']) {
        Some("a quote character, which aws-sdk-go-v2 unescapes or strips before the shell sees it")
    } else {
        crate::sys::process::line_unsafe_reason(arg)
    }
}

/// An argument with its flag, for the error message.
pub struct Arg<'a> {
    /// `--token-file`, or "the binary's path".
    pub what: &'a str,
    pub value: &'a str,
}

/// The `credential_process` value for this argv, or an error naming the argument that cannot be
/// written safely. When the first and last arguments both need quotes, the `--role-arn ARN` pair
/// (always plain) moves to the end, so no reader sees a value wrapped in one quote pair.
pub fn build(args: &[Arg<'_>]) -> Result<String, Error> {
    for a in args {
        if let Some(why) = unsafe_reason(a.value) {
            return Err(Error::usage(
                format!(
                    "{} `{}` contains {why}, so the credential_process line would run differently under the AWS CLI, Terraform and the other SDKs",
                    a.what,
                    a.value.escape_debug()
                ),
                fix_for(a.what),
            ));
        }
    }
    let mut words: Vec<String> = args.iter().map(|a| quote(a.value)).collect();
    let wrapped = |w: &[String]| {
        w.first().is_some_and(|f| f.starts_with('\''))
            && w.last().is_some_and(|l| l.ends_with('\''))
    };
    if wrapped(&words)
        && let Some(i) = words.iter().position(|w| w == "--role-arn")
        && i + 1 < words.len()
    {
        let pair: Vec<String> = words.drain(i..i + 2).collect();
        words.extend(pair);
    }
    let line = words.join(" ");
    if wrapped(&words) {
        return Err(Error::usage(
            format!(
                "the credential_process line would start and end with a quote (`{line}`), which aws-sdk-go-v2 strips"
            ),
            "install aws-ci-creds to a path without spaces (e.g. /usr/local/bin)",
        ));
    }
    Ok(line)
}

fn fix_for(what: &str) -> String {
    match what {
        "the binary's path" => {
            format!(
            "install aws-ci-creds to a plain path such as {} and run setup from there",
            crate::sys::process::PLAIN_BINARY_PATH
        )
        }
        "--policy" => "put the session policy in a file without such characters in its path and pass --policy-file".into(),
        "--token-file" => "move the token to a plain path, or leave --token-file out of setup and set AWS_CI_CREDS_TOKEN_FILE in the job's environment".into(),
        flag => format!(
            "use a value without it, or leave {flag} out of setup and set it in the job's environment (see docs/configuration.md)"
        ),
    }
}

/// How one reader turns a value into a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    Botocore,
    GoV2,
    RustJs,
}

impl Reader {
    pub const ALL: [Reader; 3] = [Reader::Botocore, Reader::GoV2, Reader::RustJs];

    pub fn name(self) -> &'static str {
        match self {
            Reader::Botocore => "botocore (AWS CLI, boto3)",
            Reader::GoV2 => "aws-sdk-go-v2 (Terraform)",
            Reader::RustJs => "aws-sdk-rust and the JS SDK v3",
        }
    }

    /// The argv this reader runs for a config value (the raw text after `=`), or why it cannot
    /// be predicted (shell syntax beyond quoting).
    pub fn argv(self, value: &str) -> Result<Vec<String>, String> {
        match self {
            // botocore's `shlex.split`: the splitter `--token-command` already uses.
            Reader::Botocore => crate::shlex::split(value.trim()).map_err(|e| e.to_string()),
            Reader::GoV2 => sh_words(&go_v2_value(value)),
            Reader::RustJs => sh_words(super::without_comment(value)),
        }
    }
}

/// The value after aws-sdk-go-v2's current ini rules, as it reaches `sh -c`.
pub fn go_v2_value(value: &str) -> String {
    let cut = value.find(['#', ';']).unwrap_or(value.len());
    let v = value[..cut].trim();
    let v = match v.chars().next() {
        Some(q @ ('"' | '\'')) if v.len() >= 2 && v.ends_with(q) => &v[1..v.len() - 1],
        _ => v,
    };
    v.replace("\\\"", "\"").replace("\\'", "'")
}

/// The words `sh -c` runs for a simple command of quoted and plain words. Anything a shell would
/// expand or treat as an operator is reported instead of guessed.
fn sh_words(s: &str) -> Result<Vec<String>, String> {
    let expansion = |c: char| format!("`{c}` is shell syntax here");
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("unterminated quoted string".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('$' | '`' | '"' | '\\')) => cur.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => return Err("unterminated quoted string".into()),
                        },
                        Some(c @ ('$' | '`')) => return Err(expansion(c)),
                        Some(c) => cur.push(c),
                        None => return Err("unterminated quoted string".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') | None => {}
                    Some(c) => cur.push(c),
                }
            }
            '~' if !in_word => return Err(expansion(c)),
            '$' | '`' | '|' | '&' | ';' | '<' | '>' | '(' | ')' | '*' | '?' | '[' | '#'
                if !(c == '#' && in_word) =>
            {
                return Err(expansion(c));
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn a<'a>(what: &'a str, value: &'a str) -> Arg<'a> {
        Arg { what, value }
    }

    fn argvs(line: &str) -> Vec<Result<Vec<String>, String>> {
        Reader::ALL.iter().map(|r| r.argv(line)).collect()
    }

    #[cfg(unix)] // the Unix readers' rules; Windows's are in sys::process
    #[test]
    fn plain_words_stay_bare_and_the_rest_is_single_quoted() {
        let line = build(&[
            a("the binary's path", "/usr/local/bin/aws-ci-creds"),
            a("--role-arn", "--role-arn"),
            a("--role-arn", "arn:aws:iam::1:role/x"),
            a("--token-file", "--token-file"),
            a("--token-file", "/run/x y/token"),
        ])
        .unwrap();
        assert_eq!(
            line,
            "/usr/local/bin/aws-ci-creds --role-arn arn:aws:iam::1:role/x --token-file '/run/x y/token'"
        );
    }

    #[cfg(unix)] // the Unix readers' rules; Windows's are in sys::process
    #[test]
    fn a_line_never_starts_and_ends_with_a_quote() {
        // What setup wrote before: Go strips the outer pair and the shell sees one broken word.
        let old = "'/opt/my tools/aws-ci-creds' --token-file '/run/x y/token'";
        assert_eq!(
            go_v2_value(old),
            "/opt/my tools/aws-ci-creds' --token-file '/run/x y/token"
        );
        let line = build(&[
            a("the binary's path", "/opt/my tools/aws-ci-creds"),
            a("--role-arn", "--role-arn"),
            a("--role-arn", "arn:aws:iam::1:role/x"),
            a("--token-file", "--token-file"),
            a("--token-file", "/run/x y/token"),
        ])
        .unwrap();
        assert_eq!(
            line,
            "'/opt/my tools/aws-ci-creds' --token-file '/run/x y/token' --role-arn arn:aws:iam::1:role/x"
        );
        let want: Vec<String> = [
            "/opt/my tools/aws-ci-creds",
            "--token-file",
            "/run/x y/token",
            "--role-arn",
            "arn:aws:iam::1:role/x",
        ]
        .map(String::from)
        .to_vec();
        for got in argvs(&line) {
            assert_eq!(got.unwrap(), want);
        }
    }

    #[cfg(unix)] // the Unix readers' rules; Windows's are in sys::process
    #[test]
    fn values_no_reader_agrees_on_are_refused_with_the_reason() {
        for (value, says) in [
            ("/tmp/a#b", "`#` or `;`"),
            ("/tmp/a;b", "`#` or `;`"),
            ("/tmp/it's", "quote"),
            ("/tmp/\"x\"", "quote"),
            ("a\nb", "line break"),
            ("a\\b", "backslash"),
        ] {
            let e = build(&[a("--token-file", value)]).unwrap_err();
            let m = e.message();
            assert!(m.what.contains(says), "{value}: {}", m.what);
            assert!(
                m.fix
                    .as_deref()
                    .unwrap()
                    .contains("AWS_CI_CREDS_TOKEN_FILE"),
                "{value}"
            );
        }
    }

    #[test]
    fn readers_differ_where_the_sdks_differ() {
        // botocore keeps `#`, Go cuts at it, Rust/JS only after whitespace.
        let line = "/bin/aws-ci-creds --session-name a#b";
        let r = argvs(line);
        assert_eq!(r[0].as_ref().unwrap().last().unwrap(), "a#b");
        assert_eq!(r[1].as_ref().unwrap().last().unwrap(), "a");
        assert_eq!(r[2].as_ref().unwrap().last().unwrap(), "a#b");
        let commented = "/bin/aws-ci-creds --x y ; note";
        assert_eq!(argvs(commented)[0].as_ref().unwrap().len(), 5);
        assert_eq!(argvs(commented)[2].as_ref().unwrap().len(), 3);
        // Double quotes: shlex and sh agree; the whole-value pair is Go's trap.
        let dq = "\"/opt/a b/aws-ci-creds\" --x \"c d\"";
        assert_eq!(argvs(dq)[0], argvs(dq)[2]);
        assert_ne!(argvs(dq)[0], argvs(dq)[1]);
    }

    #[test]
    fn shell_syntax_is_reported_not_guessed() {
        assert!(Reader::RustJs.argv("aws-ci-creds --x $HOME").is_err());
        assert!(Reader::RustJs.argv("~/bin/aws-ci-creds").is_err());
        assert!(Reader::Botocore.argv("~/bin/aws-ci-creds").is_ok());
    }
}
