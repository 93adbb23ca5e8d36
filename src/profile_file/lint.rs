//! `doctor`'s look at the active profile: is it there once, does every SDK run the same command
//! for its `credential_process`, does nothing in it make the SDKs skip that line, and does the
//! binary it names exist. Each finding names the line and the fix.

use std::path::{Path, PathBuf};

use super::command_line::Reader;
use super::{Kind, ProfileFile, Section, SectionId};
use crate::env::Env;
use crate::sys;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Pass,
    Warn,
    Fail,
    Skip,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    pub summary: String,
    pub details: Vec<String>,
}

fn finding(level: Level, summary: impl Into<String>, details: Vec<String>) -> Finding {
    Finding {
        level,
        summary: summary.into(),
        details,
    }
}

/// Lints the profile chosen by `flag` (`--profile`), `AWS_PROFILE` or `default`.
pub fn lint(env: &Env, flag: Option<&str>) -> Vec<Finding> {
    let (profile, origin) = super::active_profile(flag, env);
    let explicit = flag.is_some() || env.get("AWS_PROFILE").is_some();
    let path = match super::config_path(env) {
        Ok(p) => p,
        Err(e) => {
            return vec![finding(
                Level::Warn,
                format!("profile {profile}: {}", e.message().what),
                vec![],
            )];
        }
    };
    let shown = path.display();
    let text = match std::fs::read(&path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => {
                return vec![finding(
                    Level::Fail,
                    format!("{shown} is not UTF-8 text"),
                    vec!["fix: save it as UTF-8 (the AWS SDKs read it as UTF-8)".into()],
                )];
            }
        },
        Err(_) if !explicit => {
            return vec![finding(
                Level::Skip,
                format!("profile: no AWS config file at {shown}; no profile to check"),
                vec![],
            )];
        }
        Err(e) => {
            return vec![finding(
                Level::Fail,
                format!("profile {profile} ({origin}): {shown} cannot be read: {e}"),
                vec![fix_setup(&profile)],
            )];
        }
    };
    lint_text(&text, &path, &profile, origin, explicit, env)
}

fn fix_setup(profile: &str) -> String {
    format!(
        "fix: run `aws-ci-creds setup --profile {profile} --role-arn ARN` (add --dry-run to see the change first)"
    )
}

/// The profile being linted, as the findings name it.
struct Target<'a> {
    profile: &'a str,
    /// Where the name came from (`--profile`, `AWS_PROFILE`, the default).
    origin: &'a str,
    /// The user named the profile, so its absence is a failure rather than nothing to check.
    explicit: bool,
    /// The config file's path, as shown.
    shown: &'a str,
}

fn lint_text(
    text: &str,
    path: &Path,
    profile: &str,
    origin: &str,
    explicit: bool,
    env: &Env,
) -> Vec<Finding> {
    let shown = path.display().to_string();
    let target = Target {
        profile,
        origin,
        explicit,
        shown: &shown,
    };
    let file = ProfileFile::parse(text);
    let mut out = Vec::new();
    out.extend(duplicate_headers(&file, &shown));
    out.extend(unreadable_lines(&file, &shown));

    let sections = file.profile_sections(profile);
    let Some(section) = sections.last() else {
        out.push(target.not_in_file());
        return out;
    };
    out.extend(target.repeated_sections(&sections));
    out.extend(target.conflicts(&file, &sections));

    let processes = credential_processes(&file, &sections);
    let Some(&(line, value)) = processes.first() else {
        out.push(target.no_credential_process(section));
        return out;
    };
    out.extend(target.repeated_credential_process(&processes));
    let continued = matches!(
        file.lines.get(line + 1).map(|l| &l.kind),
        Some(Kind::Continuation)
    );
    out.extend(command_findings(profile, line, value, continued, env));
    out
}

/// Every `credential_process` line of the profile's sections (line index, raw value).
fn credential_processes<'f>(file: &'f ProfileFile, sections: &[Section]) -> Vec<(usize, &'f str)> {
    sections
        .iter()
        .flat_map(|s| file.properties(s))
        .filter(|(_, k, _)| *k == "credential_process")
        .map(|(i, _, v)| (i, v))
        .collect()
}

impl Target<'_> {
    fn not_in_file(&self) -> Finding {
        let Target {
            profile,
            origin,
            shown,
            ..
        } = self;
        if self.explicit {
            finding(
                Level::Fail,
                format!("profile {profile} ({origin}) is not in {shown}: every AWS SDK fails"),
                vec![fix_setup(profile)],
            )
        } else {
            finding(
                Level::Skip,
                format!("profile: {shown} has no default profile; nothing to check"),
                vec![],
            )
        }
    }

    fn repeated_sections(&self, sections: &[Section]) -> Option<Finding> {
        if sections.len() <= 1 {
            return None;
        }
        let Target { profile, shown, .. } = self;
        let lines: Vec<String> = sections
            .iter()
            .map(|s| (s.header + 1).to_string())
            .collect();
        let why = if *profile == "default" {
            "botocore uses the last of [default] and [profile default], the other SDKs use [profile default]"
        } else {
            "botocore refuses a repeated header and the other SDKs merge the sections"
        };
        Some(finding(
            Level::Fail,
            format!(
                "profile {profile} is defined {} times in {shown} (lines {}): {why}",
                sections.len(),
                lines.join(", ")
            ),
            vec![format!(
                "fix: merge them into one {} section",
                SectionId::Profile(profile.to_string()).canonical_header()
            )],
        ))
    }

    /// With repeated sections, the SDKs that read the file at all merge them.
    fn conflicts(&self, file: &ProfileFile, sections: &[Section]) -> Option<Finding> {
        let conflicts: Vec<_> = sections.iter().flat_map(|s| file.conflicts(s)).collect();
        if conflicts.is_empty() {
            return None;
        }
        let profile = self.profile;
        let mut details: Vec<String> = conflicts.iter().map(|c| c.describe()).collect();
        details.push(format!(
            "fix: comment those lines out, or run `aws-ci-creds setup --profile {profile}` (it moves role_arn and web_identity_token_file into the credential_process line; --comment-out-conflicts comments out the others)"
        ));
        Some(finding(
            Level::Fail,
            format!("profile {profile} has keys the SDKs use instead of credential_process"),
            details,
        ))
    }

    fn no_credential_process(&self, section: &Section) -> Finding {
        let Target { profile, shown, .. } = self;
        if self.explicit {
            finding(
                Level::Fail,
                format!(
                    "profile {profile} (line {} of {shown}) has no credential_process, so the SDKs never run aws-ci-creds",
                    section.header + 1
                ),
                vec![fix_setup(profile)],
            )
        } else {
            finding(
                Level::Skip,
                "profile: the default profile has no credential_process; nothing to check",
                vec![],
            )
        }
    }

    fn repeated_credential_process(&self, processes: &[(usize, &str)]) -> Option<Finding> {
        if processes.len() <= 1 {
            return None;
        }
        let profile = self.profile;
        let lines: Vec<String> = processes.iter().map(|(i, _)| (i + 1).to_string()).collect();
        Some(finding(
            Level::Fail,
            format!(
                "profile {profile} sets credential_process {} times (lines {}): botocore refuses the file",
                processes.len(),
                lines.join(", ")
            ),
            vec!["fix: keep one of them".into()],
        ))
    }
}

/// Two headers botocore reads as the same section name make it refuse the whole file.
fn duplicate_headers(file: &ProfileFile, shown: &str) -> Vec<Finding> {
    let mut seen: Vec<(String, usize)> = Vec::new();
    let mut out = Vec::new();
    for (i, l) in file.lines.iter().enumerate() {
        if !matches!(l.kind, Kind::Header { .. }) {
            continue;
        }
        // configparser: the stripped line, from `[` to the last `]`.
        let t = l.content().trim();
        let Some(end) = t.rfind(']') else { continue };
        let name = t[1..end].to_string();
        match seen.iter().find(|(n, _)| *n == name) {
            Some((_, first)) => out.push(finding(
                Level::Fail,
                format!(
                    "[{name}] appears twice in {shown} (lines {} and {}): botocore (the AWS CLI, boto3) refuses the whole file, so every profile stops working there",
                    first + 1,
                    i + 1
                ),
                vec![format!("fix: merge the section on line {} into the one on line {}", i + 1, first + 1)],
            )),
            None => seen.push((name, i)),
        }
    }
    out
}

/// Lines every SDK refuses, taking the whole file (so every profile) down with them.
fn unreadable_lines(file: &ProfileFile, shown: &str) -> Vec<Finding> {
    let mut in_section = false;
    let mut bad = Vec::new();
    for (i, l) in file.lines.iter().enumerate() {
        match l.kind {
            Kind::Header { .. } => in_section = true,
            Kind::Invalid => bad.push(format!(
                "line {}: `{}` is neither a [section] header nor a key = value line",
                i + 1,
                l.content()
            )),
            Kind::Property { .. } | Kind::Continuation if !in_section => bad.push(format!(
                "line {}: a setting before the first [section] header",
                i + 1
            )),
            _ => {}
        }
    }
    if bad.is_empty() {
        return Vec::new();
    }
    bad.push("fix: correct or remove those lines (a header needs its closing `]`)".into());
    vec![finding(
        Level::Fail,
        format!("{shown} has lines the AWS SDKs cannot parse: they refuse the whole file"),
        bad,
    )]
}

fn command_findings(
    profile: &str,
    line: usize,
    value: &str,
    continued: bool,
    env: &Env,
) -> Vec<Finding> {
    let at = format!("line {}", line + 1);
    let fix_line = format!(
        "fix: run `aws-ci-creds setup --profile {profile}` to rewrite it with its own options: no `#` or `;`, single quotes only around arguments that need them, never a quote at both ends of the value"
    );
    if continued {
        return vec![finding(
            Level::Fail,
            format!(
                "{at}: credential_process continues on the next line, which the SDKs join differently"
            ),
            vec![fix_line],
        )];
    }
    let results: Vec<(Reader, Result<Vec<String>, String>)> =
        Reader::ALL.iter().map(|&r| (r, r.argv(value))).collect();
    let first = &results[0].1;
    let agree = results.iter().all(|(_, r)| r == first) && first.is_ok();
    let mut out = match first {
        Ok(argv) => unexpanded(profile, &at, argv, env),
        Err(_) => Vec::new(),
    };
    if !out.is_empty() {
        // The readers differ only in whether a shell expands `$…`: the finding above is the one
        // to act on, and `setup --profile` alone would fail on the same value.
    } else if agree {
        out.push(finding(
            Level::Pass,
            format!(
                "{at}: every SDK runs the same credential_process command ({})",
                Reader::ALL.map(Reader::name).join("; ")
            ),
            vec![format!("argv: {}", show_argv(first.as_ref().expect("ok")))],
        ));
    } else {
        let mut details: Vec<String> = results
            .iter()
            .map(|(r, res)| match res {
                Ok(argv) => format!("{}: {}", r.name(), show_argv(argv)),
                Err(why) => format!("{}: cannot tell ({why})", r.name()),
            })
            .collect();
        details.push(fix_line);
        out.push(finding(
            Level::Fail,
            format!("{at}: the SDKs read the credential_process line differently"),
            details,
        ));
    }
    let program = results
        .iter()
        .find_map(|(_, r)| r.as_ref().ok().and_then(|a| a.first().cloned()));
    if let Some(program) = program {
        out.push(binary_finding(&at, &program, env));
    }
    out
}

/// Options whose value still holds `$VAR` under botocore (the AWS CLI, boto3), which runs the
/// line without a shell. The fix is a `setup` command that succeeds: with the value the job's
/// variable holds now (these options are not secrets), else with a placeholder to fill in.
fn unexpanded(profile: &str, at: &str, argv: &[String], env: &Env) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut args = argv.iter().skip(1).peekable();
    while let Some(arg) = args.next() {
        let (flag, value) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), v.to_string()),
            _ if arg.starts_with("--") && args.peek().is_some_and(|v| !v.starts_with("--")) => {
                (arg.clone(), args.next().cloned().unwrap_or_default())
            }
            _ => continue,
        };
        // A token command's `$VAR` is for the shell it may start; --token-env and --policy
        // values could be secrets, and have checks of their own.
        if matches!(
            flag.as_str(),
            "--token-command" | "--token-env" | "--policy"
        ) {
            continue;
        }
        let Some(var) = crate::shlex::unexpanded_variable(&value) else {
            continue;
        };
        let name = var.trim_start_matches('$').trim_matches(['{', '}']);
        let expanded = env
            .get(name)
            .filter(|v| !v.is_empty() && !v.starts_with("eyJ"))
            .map(|v| value.replacen(var, v, 1))
            .filter(|v| crate::shlex::unexpanded_variable(v).is_none());
        let fix = match expanded {
            Some(v) => format!(
                "fix: run `aws-ci-creds setup --profile {profile} {flag} {}` (the value {var} holds in this job), or leave {flag} out of the line and set its AWS_CI_CREDS_* variable in the job",
                shell_word(&v)
            ),
            None => format!(
                "fix: run `aws-ci-creds setup --profile {profile} {flag} VALUE` with the value itself (in the job, `{flag} \"{value}\"` lets its shell expand it), or leave {flag} out of the line and set its AWS_CI_CREDS_* variable in the job"
            ),
        };
        out.push(finding(
            Level::Fail,
            format!(
                "{at}: {flag} is `{value}`, but the AWS SDKs do not expand variables in credential_process (the AWS CLI and boto3 run it without a shell): aws-ci-creds would get {var} as written"
            ),
            vec![fix],
        ));
    }
    out
}

/// `word` as one shell word: bare when it is plain, else in single quotes.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:=@,+%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

fn show_argv(argv: &[String]) -> String {
    format!("{argv:?}")
}

fn binary_finding(at: &str, program: &str, env: &Env) -> Finding {
    let fix = "fix: install aws-ci-creds there, or run `aws-ci-creds setup` with the installed binary so the line names it".to_string();
    let path = if sys::env::is_path(program) {
        Some(PathBuf::from(program))
    } else {
        env.get_os("PATH")
            .and_then(|p| sys::env::find_file_in_path(p, env.get_os("PATHEXT"), program))
    };
    let Some(path) = path else {
        return finding(
            Level::Fail,
            format!("{at}: `{program}` is not on PATH"),
            vec![fix],
        );
    };
    match std::fs::metadata(&path) {
        Err(_) => finding(
            Level::Fail,
            format!("{at}: the program {} does not exist", path.display()),
            vec![fix],
        ),
        Ok(m) if !m.is_file() => finding(
            Level::Fail,
            format!("{at}: {} is not a file", path.display()),
            vec![fix],
        ),
        Ok(m) if !sys::env::is_executable(&m) => finding(
            Level::Fail,
            format!("{at}: {} is not executable", path.display()),
            vec![format!("fix: {}", sys::env::make_executable_hint(&path))],
        ),
        Ok(_) => finding(
            Level::Pass,
            format!(
                "{at}: the program {} exists and is executable",
                path.display()
            ),
            vec![],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, profile: &str) -> Vec<Finding> {
        lint_text(
            text,
            Path::new("config"),
            profile,
            "--profile",
            true,
            &Env::from_pairs([("PATH", "/bin:/usr/bin")]),
        )
    }

    fn failed(f: &[Finding]) -> Vec<&str> {
        f.iter()
            .filter(|f| f.level == Level::Fail)
            .map(|f| f.summary.as_str())
            .collect()
    }

    #[test]
    fn a_good_profile_passes() {
        let f = run(
            "[profile ci]\ncredential_process = /bin/sh --role-arn x\n",
            "ci",
        );
        assert!(failed(&f).is_empty(), "{f:#?}");
        assert!(f[0].details[0].contains(r#"["/bin/sh", "--role-arn", "x"]"#));
    }

    #[test]
    fn the_line_setup_used_to_write_for_spaced_paths_fails_with_each_argv() {
        let f = run(
            "[profile ci]\ncredential_process = '/opt/a b/x' --token-file '/run/x y/t'\n",
            "ci",
        );
        let bad = f
            .iter()
            .find(|f| {
                f.summary
                    .contains("read the credential_process line differently")
            })
            .expect("finding");
        assert!(bad.summary.starts_with("line 2:"));
        assert!(bad.details.iter().any(|d| d.starts_with("aws-sdk-go-v2")));
        assert!(bad.details.last().unwrap().starts_with("fix:"));
    }

    #[test]
    fn conflicts_duplicates_and_missing_binaries_are_found_with_their_lines() {
        let f = run(
            "[profile ci]\nrole_arn = r\nweb_identity_token_file = /t\ncredential_process = /nonexistent/aws-ci-creds\n[profile ci] ; again\n",
            "ci",
        );
        let all = failed(&f).join("\n");
        assert!(all.contains("lines 1 and 5"), "{all}");
        assert!(all.contains("defined 2 times"), "{all}");
        assert!(
            all.contains("/nonexistent/aws-ci-creds does not exist"),
            "{all}"
        );
        let f = run(
            "[profile ci]\nrole_arn = r\nweb_identity_token_file = /t\ncredential_process = /bin/sh\n",
            "ci",
        );
        let c = f
            .iter()
            .find(|f| f.summary.contains("instead of credential_process"))
            .unwrap();
        assert!(c.details[0].starts_with("line 2: role_arn"), "{c:?}");
        assert!(c.details[1].starts_with("line 3: web_identity_token_file"));
    }

    #[test]
    fn lines_the_sdks_cannot_parse_are_found() {
        let f = run(
            "region = x\n[profile ci\ncredential_process = /bin/sh\n[profile ci]\nnot a setting\n",
            "ci",
        );
        let c = f
            .iter()
            .find(|f| f.summary.contains("cannot parse"))
            .unwrap();
        assert_eq!(
            c.details[0],
            "line 1: a setting before the first [section] header"
        );
        assert!(c.details[1].starts_with("line 2: `[profile ci`"), "{c:?}");
        assert!(c.details[3].starts_with("line 5: `not a setting`"), "{c:?}");
    }

    #[test]
    fn a_missing_profile_fails_when_asked_for_and_is_skipped_for_default() {
        assert!(!failed(&run("[profile x]\n", "ci")).is_empty());
        let f = lint_text(
            "[profile x]\n",
            Path::new("c"),
            "default",
            "the default",
            false,
            &Env::default(),
        );
        assert_eq!(f[0].level, Level::Skip);
    }
}
