//! `aws-ci-creds setup --profile NAME --role-arn ARN`: adds or updates `[profile NAME]` in the AWS
//! config file so that `aws --profile NAME`, every SDK and Terraform run this binary.
//!
//! The file is edited line by line: only the `credential_process` and `region` lines of that one
//! section change (or the section is appended); every other line, comment, blank line and section
//! stays byte for byte. The write is atomic (temp file in the same directory, then rename) and
//! keeps the file's mode. Only the options given on this command line go into the profile, never a
//! token.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::{CredentialArgs, SetupArgs};
use crate::config::Config;
use crate::context::Ctx;
use crate::error::{Error, Message};
use crate::exit_code::ExitCode;
use crate::output;

/// Keys that make the SDKs take credentials from somewhere else before `credential_process`.
const SHADOWING_KEYS: &[&str] = &[
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "role_arn",
    "source_profile",
    "credential_source",
    "web_identity_token_file",
    "sso_session",
    "sso_start_url",
    "sso_account_id",
    "sso_role_name",
];

pub fn run(ctx: &Ctx, args: &SetupArgs, verbose: u8) -> Result<ExitCode, Error> {
    let name = args.profile.trim();
    if name.is_empty()
        || name.contains(['[', ']', '\n', '\r'])
        || name.split_whitespace().count() != 1
    {
        return Err(Error::usage(
            format!("--profile `{}` is not a usable profile name", args.profile),
            "use a single word such as ci or deploy",
        ));
    }
    // Validates every option exactly as credential mode will, so a typo fails now, not in CI.
    let cfg = Config::resolve(&args.credentials, &ctx.env, verbose)?;
    let role = cfg.require_role()?;
    let exe = ctx
        .paths
        .current_exe
        .as_ref()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .ok_or_else(|| {
            Error::usage(
                "the path of this aws-ci-creds binary cannot be found",
                "run setup with the installed binary, e.g. /usr/local/bin/aws-ci-creds setup …",
            )
        })?;
    let mut argv = vec![path_text(&exe, "the binary's path")?];
    argv.extend(process_args(&args.credentials, &role.arn)?);
    let line = command_line(&argv)?;

    let mut settings = vec![("credential_process", line.clone())];
    if let Some(region) = &args.credentials.region {
        settings.push(("region", region.clone()));
    }

    let path = config_path(ctx)?;
    let old = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(Error::usage(
                format!("the AWS config file {} cannot be read: {e}", path.display()),
                "check its permissions, or point AWS_CONFIG_FILE at another file",
            ));
        }
    };
    let edited = edit_profile(old.as_deref().unwrap_or(""), name, &settings);
    for key in &edited.shadowing {
        ctx.diag.warn(format!(
            "[{}] also sets `{key}`, which the AWS SDKs use before credential_process: remove that line from {}",
            section_name(name),
            path.display()
        ));
    }
    warn_about_credentials_file(ctx, name);

    if args.dry_run {
        output::print(edited.text.strip_suffix('\n').unwrap_or(&edited.text))?;
        return Ok(ExitCode::Success);
    }
    if old.as_deref() == Some(edited.text.as_str()) {
        output::print(&format!(
            "[{}] in {} is already up to date",
            section_name(name),
            path.display()
        ))?;
        return Ok(ExitCode::Success);
    }
    write_atomically(&path, &edited.text)?;
    output::print(&format!(
        "{} [{}] in {}:\n  credential_process = {line}\ntry it: aws --profile {name} sts get-caller-identity",
        if edited.appended { "added" } else { "updated" },
        section_name(name),
        path.display()
    ))?;
    Ok(ExitCode::Success)
}

fn section_name(profile: &str) -> String {
    if profile == "default" {
        "default".into()
    } else {
        format!("profile {profile}")
    }
}

/// `AWS_CONFIG_FILE` (with `~/` expanded, as the CLI does), else `~/.aws/config`.
fn config_path(ctx: &Ctx) -> Result<PathBuf, Error> {
    let home = ctx
        .env
        .get_os("HOME")
        .or_else(|| ctx.env.get_os("USERPROFILE"))
        .map(PathBuf::from);
    if let Some(file) = ctx.env.get_os("AWS_CONFIG_FILE") {
        let file = PathBuf::from(file);
        if let (Ok(rest), Some(home)) = (file.strip_prefix("~"), &home) {
            return Ok(home.join(rest));
        }
        return Ok(file);
    }
    match home {
        Some(home) => Ok(home.join(".aws").join("config")),
        None => Err(Error::usage(
            "no home directory (HOME is not set), so there is no ~/.aws/config",
            "set AWS_CONFIG_FILE to the config file to edit",
        )),
    }
}

fn path_text(path: &Path, what: &str) -> Result<String, Error> {
    path.to_str().map(str::to_string).ok_or_else(|| {
        Error::usage(
            format!("{what} {} is not valid UTF-8", path.display()),
            "AWS config files are text: use a path without such characters",
        )
    })
}

/// An absolute form of a path given on the command line: the profile runs from anywhere.
fn absolute(path: &Path, flag: &str) -> Result<String, Error> {
    let abs = std::path::absolute(path).map_err(|e| {
        Error::usage(
            format!("{flag} {} cannot be made absolute: {e}", path.display()),
            "pass an absolute path",
        )
    })?;
    path_text(&abs, flag)
}

/// The credential options actually given, as arguments (paths made absolute), role first.
fn process_args(a: &CredentialArgs, role_arn: &str) -> Result<Vec<String>, Error> {
    let mut out = vec!["--role-arn".to_string(), role_arn.to_string()];
    let mut push = |flag: &str, value: Option<String>| {
        if let Some(v) = value {
            out.push(flag.to_string());
            out.push(v);
        }
    };
    push(
        "--token-file",
        a.token_file
            .as_deref()
            .map(|p| absolute(p, "--token-file"))
            .transpose()?,
    );
    push("--token-env", a.token_env.clone());
    push("--source", a.source.clone());
    push("--audience", a.audience.clone());
    push("--session-name", a.session_name.clone());
    push("--duration", a.duration.clone());
    push("--region", a.region.clone());
    push("--sts-endpoint", a.sts_endpoint.clone());
    push("--policy", a.policy.clone());
    push(
        "--policy-file",
        a.policy_file
            .as_deref()
            .map(|p| absolute(p, "--policy-file"))
            .transpose()?,
    );
    for arn in &a.policy_arns {
        push("--policy-arn", Some(arn.clone()));
    }
    push("--timeout", a.timeout.clone());
    push(
        "--cache-dir",
        a.cache
            .cache_dir
            .as_deref()
            .map(|p| absolute(p, "--cache-dir"))
            .transpose()?,
    );
    push("--refresh-margin", a.cache.refresh_margin.clone());
    if a.cache.no_cache {
        out.push("--no-cache".into());
    }
    Ok(out)
}

/// One argument, quoted so that both botocore's `shlex.split` and `sh -c` (the Go, JS and Rust
/// SDKs) give it back unchanged: plain words bare, anything else in single quotes with `'\''`.
pub fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// The `credential_process` value for this argv.
pub fn command_line(argv: &[String]) -> Result<String, Error> {
    let line = argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ");
    if line.contains(['\n', '\r']) {
        return Err(Error::usage(
            "an option value contains a line break, which an AWS config file cannot hold",
            "put a multi-line session policy in a file and pass --policy-file",
        ));
    }
    // The Go and Rust SDKs' parsers end a value at ` #` or ` ;` (an inline comment).
    let bytes = line.as_bytes();
    if bytes
        .windows(2)
        .any(|w| w[0].is_ascii_whitespace() && (w[1] == b'#' || w[1] == b';'))
    {
        return Err(Error::usage(
            "an option value contains ` #` or ` ;`, which some AWS SDKs read as the start of a comment",
            "put that value in a file (--policy-file) or remove the space before # or ;",
        ));
    }
    Ok(line)
}

/// The result of editing the config text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    pub text: String,
    /// The section did not exist and was appended.
    pub appended: bool,
    /// Keys in the section that take precedence over `credential_process`.
    pub shadowing: Vec<String>,
}

/// The section header's name, normalised as botocore reads it (`[ profile  x ]` is `profile x`).
fn header_name(line: &str) -> Option<String> {
    let t = line.trim();
    let inner = t.strip_prefix('[')?.strip_suffix(']')?;
    Some(inner.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The key of a `key = value` line; `None` for comments, blanks and continuation lines.
fn key_of(line: &str) -> Option<&str> {
    if line.starts_with([' ', '\t']) {
        return None;
    }
    let t = line.trim();
    if t.is_empty() || t.starts_with(['#', ';']) {
        return None;
    }
    t.split_once('=').map(|(k, _)| k.trim())
}

/// Sets these keys in the profile's section, or appends the section, changing nothing else.
pub fn edit_profile(text: &str, profile: &str, settings: &[(&str, String)]) -> Edited {
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let target = section_name(profile);
    let is_target = |l: &str| {
        header_name(l)
            .is_some_and(|n| n == target || (profile == "default" && n == "profile default"))
    };
    let Some(start) = lines.iter().position(|l| is_target(l)) else {
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(nl);
        }
        let last_blank = lines.last().is_none_or(|l| l.trim().is_empty());
        if !last_blank {
            out.push_str(nl);
        }
        out.push_str(&format!("[{target}]{nl}"));
        for (k, v) in settings {
            out.push_str(&format!("{k} = {v}{nl}"));
        }
        return Edited {
            text: out,
            appended: true,
            shadowing: Vec::new(),
        };
    };
    let end = lines[start + 1..]
        .iter()
        .position(|l| header_name(l).is_some())
        .map_or(lines.len(), |i| start + 1 + i);

    let mut shadowing = Vec::new();
    let mut missing: Vec<&(&str, String)> = Vec::new();
    for setting in settings {
        let found = (start + 1..end).find(|&i| key_of(&lines[i]) == Some(setting.0));
        match found {
            Some(i) => {
                let ending = if lines[i].ends_with('\n') {
                    if lines[i].ends_with("\r\n") {
                        "\r\n"
                    } else {
                        "\n"
                    }
                } else {
                    ""
                };
                let new = format!("{} = {}{ending}", setting.0, setting.1);
                if lines[i].trim_end() != new.trim_end() {
                    lines[i] = new;
                }
            }
            None => missing.push(setting),
        }
    }
    for line in &lines[start + 1..end] {
        if let Some(k) = key_of(line)
            && SHADOWING_KEYS.contains(&k)
        {
            shadowing.push(k.to_string());
        }
    }
    if !missing.is_empty() {
        // After the section's last setting (and its indented continuation lines), so comments
        // that introduce the next section stay with it.
        let after = (start + 1..end)
            .rev()
            .find(|&i| {
                key_of(&lines[i]).is_some()
                    || (lines[i].starts_with([' ', '\t']) && !lines[i].trim().is_empty())
            })
            .unwrap_or(start);
        if !lines[after].ends_with('\n') {
            lines[after].push_str(nl);
        }
        let new: Vec<String> = missing
            .iter()
            .map(|(k, v)| format!("{k} = {v}{nl}"))
            .collect();
        lines.splice(after + 1..after + 1, new);
    }
    Edited {
        text: lines.concat(),
        appended: false,
        shadowing,
    }
}

/// A temp file in the same directory, the old file's mode (0600 for a new one), then rename.
/// A symlinked config file (dotfile managers) is written through, at its target.
fn write_atomically(path: &Path, text: &str) -> Result<(), Error> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let failed = |what: String, e: std::io::Error| {
        Error::Usage(
            Message::new(format!("{what}: {e}"))
                .fix("check the permissions of the AWS config directory, or use --dry-run and edit the file yourself"),
        )
    };
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path)
            .map_err(|e| failed(format!("{} cannot be resolved", path.display()), e))?,
        _ => path.to_path_buf(),
    };
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| failed(format!("could not create {}", dir.display()), e))?;
    }
    let mode = std::fs::metadata(&target)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o600);
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|e| {
        failed(
            format!("could not create a temporary file in {}", dir.display()),
            e,
        )
    })?;
    tmp.write_all(text.as_bytes())
        .and_then(|_| {
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode))
        })
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| failed(format!("could not write {}", tmp.path().display()), e))?;
    tmp.persist(&target)
        .map_err(|e| failed(format!("could not replace {}", target.display()), e.error))?;
    Ok(())
}

/// Static keys for this profile in the shared credentials file win over credential_process.
fn warn_about_credentials_file(ctx: &Ctx, profile: &str) {
    let path = match ctx.env.get_os("AWS_SHARED_CREDENTIALS_FILE") {
        Some(p) => PathBuf::from(p),
        None => match ctx.env.get_os("HOME") {
            Some(home) => Path::new(home).join(".aws").join("credentials"),
            None => return,
        },
    };
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    if text
        .lines()
        .any(|l| header_name(l).as_deref() == Some(profile))
    {
        ctx.diag.warn(format!(
            "{} has a [{profile}] section; keys there are used before credential_process: remove it",
            path.display()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp(v: &str) -> Vec<(&'static str, String)> {
        vec![("credential_process", v.to_string())]
    }

    #[test]
    fn quoting_leaves_plain_words_and_single_quotes_the_rest() {
        assert_eq!(quote("arn:aws:iam::1:role/x"), "arn:aws:iam::1:role/x");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("~/x"), "'~/x'");
    }

    #[test]
    fn a_missing_section_is_appended_after_a_blank_line() {
        let e = edit_profile("[default]\nregion = us-east-1", "ci", &cp("x"));
        assert_eq!(
            e.text,
            "[default]\nregion = us-east-1\n\n[profile ci]\ncredential_process = x\n"
        );
        assert!(e.appended);
        assert_eq!(
            edit_profile("", "ci", &cp("x")).text,
            "[profile ci]\ncredential_process = x\n"
        );
    }

    #[test]
    fn an_existing_section_is_edited_in_place_and_twice_is_once() {
        let text = "# top\n[profile ci]\n# keep me\ncredential_process = old\noutput = json\n\n# next\n[profile other]\ncredential_process = other\n";
        let settings = vec![
            ("credential_process", "new".to_string()),
            ("region", "eu-west-1".to_string()),
        ];
        let e = edit_profile(text, "ci", &settings);
        assert_eq!(
            e.text,
            "# top\n[profile ci]\n# keep me\ncredential_process = new\noutput = json\nregion = eu-west-1\n\n# next\n[profile other]\ncredential_process = other\n"
        );
        assert_eq!(edit_profile(&e.text, "ci", &settings).text, e.text);
    }

    #[test]
    fn crlf_files_stay_crlf_and_shadowing_keys_are_reported() {
        let text = "[profile ci]\r\nrole_arn = x\r\n";
        let e = edit_profile(text, "ci", &cp("y"));
        assert_eq!(
            e.text,
            "[profile ci]\r\nrole_arn = x\r\ncredential_process = y\r\n"
        );
        assert_eq!(e.shadowing, vec!["role_arn"]);
    }

    #[test]
    fn the_default_profile_is_the_default_section() {
        let e = edit_profile("[default]\nregion = x\n", "default", &cp("y"));
        assert_eq!(e.text, "[default]\nregion = x\ncredential_process = y\n");
    }

    #[test]
    fn values_that_parsers_would_cut_are_refused() {
        assert!(command_line(&["a #b".into()]).is_err());
        assert!(command_line(&["a\nb".into()]).is_err());
        assert!(command_line(&["a#b".into()]).is_ok());
    }
}
