//! `aws-ci-creds setup --profile NAME --role-arn ARN`: adds or updates `[profile NAME]` in the AWS
//! config file so that `aws --profile NAME`, every SDK and Terraform run this binary.
//!
//! The file is read and edited with [`crate::profile_file`]: the section is found as the SDKs
//! find it, its header made canonical, only the lines that must change change, and a second
//! section is never created. Keys that would make the SDKs skip `credential_process` are
//! commented out (a profile written with the common `role_arn` + `web_identity_token_file`
//! recipe is migrated: those values become the new line's arguments) or, for other credentials,
//! refused unless `--comment-out-conflicts`. The write is atomic and keeps mode and owner. Only
//! the options given on this command line go into the profile, never a token.

use std::path::{Path, PathBuf};

use crate::cli::{CredentialArgs, SetupArgs};
use crate::commands::Outcome;
use crate::config::Config;
use crate::context::Ctx;
use crate::error::Error;
use crate::output::Out;
use crate::profile_file::command_line::{self, Arg};
use crate::profile_file::edit::{self, Request};
use crate::profile_file::write::write_atomically;
use crate::profile_file::{self, Conflict, ProfileFile, SectionId};

/// The keys of the blog-post recipe (`role_arn` + `web_identity_token_file`) that `setup` turns
/// into arguments of the new line.
fn migratable(key: &str) -> bool {
    matches!(key, "role_arn" | "web_identity_token_file")
}

pub fn run(ctx: &Ctx, out: &mut Out, args: &SetupArgs) -> Result<Outcome, Error> {
    let name = args.profile.trim();
    if !profile_file::valid_profile_name(name) {
        return Err(Error::usage(
            format!("--profile `{}` is not a usable profile name", args.profile),
            "use letters, digits and _-/.%@:+ only, such as ci or deploy (the AWS SDKs ignore other names)",
        ));
    }
    let path = profile_file::config_path(&ctx.env)?;
    let old = read(&path)?;
    let file = ProfileFile::parse(old.as_deref().unwrap_or(""));
    let sections = file.profile_sections(name);
    refuse_duplicates(&path, name, &sections)?;
    let section = sections.first();
    let conflicts = section.map(|s| file.conflicts(s)).unwrap_or_default();
    refuse_conflicts(args, &path, name, &conflicts)?;

    let migration = migrate(ctx, args, &file, section, &conflicts)?;
    let line = credential_process(ctx, &migration.creds)?;
    let mut settings = vec![("credential_process", line.clone())];
    if let Some(region) = &args.credentials.region {
        settings.push(("region", region.clone()));
    }
    let edited = edit::edit(
        &file,
        section,
        &section_id(name),
        &Request {
            settings,
            comment_out: migration.comment_out,
            marker: marker(&migration.moved),
        },
    );
    warn_about_credentials_file(ctx, name);
    let header = section_id(name).canonical_header();

    if args.dry_run {
        match edited.diff(&path.display().to_string()) {
            Some(diff) => out.print(&diff)?,
            None => out.print(&format!(
                "{header} in {} is already up to date; nothing would change",
                path.display()
            ))?,
        }
        return Ok(Outcome::SUCCESS);
    }
    if !edited.changed() && old.is_some() {
        out.print(&format!(
            "{header} in {} is already up to date",
            path.display()
        ))?;
        return Ok(Outcome::SUCCESS);
    }
    write_atomically(&path, &edited.text())?;
    let done = Done {
        appended: edited.appended,
        header: &header,
        path: &path,
        line: &line,
        conflicts: &conflicts,
        moved: &migration.moved,
        profile: name,
    };
    out.print(&done.report())?;
    Ok(Outcome::SUCCESS)
}

/// Two sections for one profile are read differently by the SDKs: refused, with their lines.
fn refuse_duplicates(
    path: &Path,
    name: &str,
    sections: &[profile_file::Section],
) -> Result<(), Error> {
    if sections.len() > 1 {
        let lines: Vec<String> = sections
            .iter()
            .map(|s| (s.header + 1).to_string())
            .collect();
        return Err(Error::usage(
            format!(
                "{} has {} sections for profile {name} (lines {}), which the AWS SDKs read differently",
                path.display(),
                sections.len(),
                lines.join(", ")
            ),
            format!(
                "merge them into one {} section, then run setup again",
                section_id(name).canonical_header()
            ),
        ));
    }
    Ok(())
}

/// Keys that would win over credential_process, other than the recipe's (which are migrated),
/// are refused unless `--comment-out-conflicts`.
fn refuse_conflicts(
    args: &SetupArgs,
    path: &Path,
    name: &str,
    conflicts: &[Conflict],
) -> Result<(), Error> {
    let others: Vec<&Conflict> = conflicts.iter().filter(|c| !migratable(&c.key)).collect();
    if !others.is_empty() && !args.comment_out_conflicts {
        let list: Vec<String> = others.iter().map(|c| c.describe()).collect();
        return Err(Error::Usage(
            crate::error::Message::new(format!(
                "[{}] in {} has keys the AWS SDKs use instead of credential_process, so they would never run aws-ci-creds:\n  {}",
                section_id(name).canonical_header().trim_matches(['[', ']']),
                path.display(),
                list.join("\n  ")
            ))
            .fix("pass --comment-out-conflicts to comment them out (they stay in the file, marked), or use another --profile"),
        ));
    }

    Ok(())
}

/// The options for the new line, and the lines to comment out.
struct Migration {
    creds: CredentialArgs,
    comment_out: Vec<usize>,
    /// The recipe's keys whose values became the line's arguments.
    moved: Vec<&'static str>,
}

/// The options given here, completed with the profile's own line and the recipe's values.
fn migrate(
    ctx: &Ctx,
    args: &SetupArgs,
    file: &ProfileFile,
    section: Option<&profile_file::Section>,
    conflicts: &[Conflict],
) -> Result<Migration, Error> {
    // The recipe's values are the defaults for the new line; options given here win.
    // The profile's own line is the base and the options given here win, so running the same
    // command again (after a migration, or with only `--region`) changes nothing, and
    // `setup --profile ci` alone rewrites the line with its own options (after an upgrade, or
    // when doctor says the SDKs read it differently).
    let mut creds = match section.and_then(|s| current_options(file, s)) {
        Some((_, own)) => overlay(own, &args.credentials),
        None => args.credentials.clone(),
    };
    let mut comment_out: Vec<usize> = conflicts.iter().map(|c| c.line).collect();
    let mut moved: Vec<&str> = Vec::new();
    let find = |key: &str| conflicts.iter().find(|c| c.key == key);
    if let Some(c) = find("role_arn")
        && creds.role_arn.is_none()
    {
        creds.role_arn = Some(profile_file::without_comment(&c.value).to_string());
        moved.push("role_arn");
    }
    let token_given = creds.token_file.is_some()
        || creds.token_env.is_some()
        || creds.token_command.is_some()
        || creds.source.is_some()
        || creds.azure_service_connection.is_some()
        || creds.tfc_tag.is_some();
    if let Some(c) = find("web_identity_token_file")
        && !token_given
    {
        let home = ctx.env.get_os(crate::sys::env::HOME).map(PathBuf::from);
        creds.token_file = Some(profile_file::expand_home(
            PathBuf::from(profile_file::without_comment(&c.value)),
            home.as_deref(),
            "web_identity_token_file",
        )?);
        moved.push("web_identity_token_file");
    }
    if find("role_arn").is_some()
        && let Some(s) = section
        && let Some((line, _, value)) = file
            .properties(s)
            .into_iter()
            .find(|(_, k, _)| *k == "role_session_name")
    {
        comment_out.push(line);
        if creds.session_name.is_none() {
            creds.session_name = Some(profile_file::without_comment(value).to_string());
            moved.push("role_session_name");
        }
    }

    Ok(Migration {
        creds,
        comment_out,
        moved,
    })
}

/// `own` (the profile's current line) with every option `given` here in its place. A token
/// source or a session policy given here replaces the line's whole group, so the new line never
/// carries two token sources.
pub(crate) fn overlay(own: CredentialArgs, given: &CredentialArgs) -> CredentialArgs {
    let g = given.clone();
    let token_given = g.token_file.is_some()
        || g.token_env.is_some()
        || g.token_command.is_some()
        || g.source.is_some()
        || g.azure_service_connection.is_some()
        || g.tfc_tag.is_some();
    let (token_file, token_env, token_command, source, azure_service_connection, tfc_tag) =
        if token_given {
            (
                g.token_file,
                g.token_env,
                g.token_command,
                g.source,
                g.azure_service_connection,
                g.tfc_tag,
            )
        } else {
            (
                own.token_file,
                own.token_env,
                own.token_command,
                own.source,
                own.azure_service_connection,
                own.tfc_tag,
            )
        };
    let (policy, policy_file) = if g.policy.is_some() || g.policy_file.is_some() {
        (g.policy, g.policy_file)
    } else {
        (own.policy, own.policy_file)
    };
    CredentialArgs {
        role_arn: g.role_arn.or(own.role_arn),
        token_file,
        token_env,
        token_command,
        azure_service_connection,
        tfc_tag,
        source,
        audience: g.audience.or(own.audience),
        session_name: g.session_name.or(own.session_name),
        duration: g.duration.or(own.duration),
        region: g.region.or(own.region),
        sts_endpoint: g.sts_endpoint.or(own.sts_endpoint),
        policy,
        policy_file,
        policy_arns: given_or(g.policy_arns, own.policy_arns),
        timeout: g.timeout.or(own.timeout),
        chain: given_or(g.chain, own.chain),
        external_id: g.external_id.or(own.external_id),
        chain_duration: g.chain_duration.or(own.chain_duration),
        tags: given_or(g.tags, own.tags),
        transitive_tag_keys: given_or(g.transitive_tag_keys, own.transitive_tag_keys),
        source_identity: g.source_identity.or(own.source_identity),
        ci_tags: g.ci_tags || own.ci_tags,
        allowed_account_ids: given_or(g.allowed_account_ids, own.allowed_account_ids),
        forbidden_account_ids: given_or(g.forbidden_account_ids, own.forbidden_account_ids),
        cache: crate::cli::CacheOptions {
            cache_dir: g.cache.cache_dir.or(own.cache.cache_dir),
            no_cache: g.cache.no_cache || own.cache.no_cache,
            refresh_margin: g.cache.refresh_margin.or(own.cache.refresh_margin),
        },
    }
}

/// A repeatable option given again replaces the line's list as a whole, as a single value would.
fn given_or<T>(given: Vec<T>, own: Vec<T>) -> Vec<T> {
    if given.is_empty() { own } else { given }
}

/// The `credential_process` value for these options, after checking them.
fn credential_process(ctx: &Ctx, creds: &CredentialArgs) -> Result<String, Error> {
    // Validates every option exactly as credential mode will, so a typo fails now, not in CI.
    let cfg = Config::resolve(creds, &ctx.env)?;
    let role = cfg.require_role()?;
    let exe = ctx
        .paths
        .current_exe
        .as_ref()
        .and_then(|p| crate::sys::fs::canonicalize(p).ok())
        .ok_or_else(|| {
            Error::usage(
                "the path of this aws-ci-creds binary cannot be found",
                "run setup with the installed binary, e.g. /usr/local/bin/aws-ci-creds setup …",
            )
        })?;
    let exe = path_text(&exe, "the binary's path")?;
    let pairs = process_args(creds, &role.arn)?;
    let mut argv = vec![Arg {
        what: "the binary's path",
        value: &exe,
    }];
    for (flag, value) in &pairs {
        argv.push(Arg {
            what: flag,
            value: flag,
        });
        if let Some(v) = value {
            argv.push(Arg {
                what: flag,
                value: v,
            });
        }
    }
    let line = command_line::build(&argv)?;

    Ok(line)
}

fn marker(moved: &[&str]) -> String {
    if moved.is_empty() {
        "# aws-ci-creds setup: commented out, the AWS SDKs would use these instead of credential_process".to_string()
    } else {
        format!(
            "# aws-ci-creds setup: commented out, the AWS SDKs would use these instead of credential_process ({} moved into its arguments)",
            moved.join(", ")
        )
    }
}

/// What was written, for the report.
struct Done<'a> {
    appended: bool,
    header: &'a str,
    path: &'a Path,
    line: &'a str,
    conflicts: &'a [Conflict],
    moved: &'a [&'static str],
    profile: &'a str,
}

impl Done<'_> {
    fn report(&self) -> String {
        let Done {
            appended,
            header,
            path,
            line,
            conflicts,
            moved,
            profile: name,
        } = *self;
        let mut report = format!(
            "{} {header} in {}:\n  credential_process = {line}",
            if appended { "added" } else { "updated" },
            path.display()
        );
        if !conflicts.is_empty() {
            let keys: Vec<&str> = conflicts.iter().map(|c| c.key.as_str()).collect();
            report.push_str(&format!(
                "\ncommented out (the SDKs would have used them instead): {}",
                keys.join(", ")
            ));
        }
        if !moved.is_empty() {
            report.push_str(&format!(
                "\nmigrated into the credential_process arguments: {}",
                moved.join(", ")
            ));
        }
        report.push_str(&format!(
            "\ntry it: aws --profile {name} sts get-caller-identity"
        ));
        report
    }
}

/// The options of the section's (first) `credential_process` line and its index, when it runs
/// aws-ci-creds in credential mode (read as botocore reads it).
pub(crate) fn current_options(
    file: &ProfileFile,
    section: &profile_file::Section,
) -> Option<(usize, CredentialArgs)> {
    let (line, _, value) = file
        .properties(section)
        .into_iter()
        .find(|(_, k, _)| *k == "credential_process")?;
    let argv = command_line::Reader::Botocore.argv(value).ok()?;
    let cli = <crate::cli::Cli as clap::Parser>::try_parse_from(argv).ok()?;
    cli.command.is_none().then_some((line, cli.credentials))
}

fn section_id(profile: &str) -> SectionId {
    if profile == "default" {
        SectionId::Default
    } else {
        SectionId::Profile(profile.to_string())
    }
}

/// The config file's text; `None` when it does not exist yet.
fn read(path: &Path) -> Result<Option<String>, Error> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| {
            Error::usage(
                format!("the AWS config file {} is not UTF-8 text", path.display()),
                "save it as UTF-8 (the AWS SDKs read it as UTF-8), then run setup again",
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::usage(
            format!("the AWS config file {} cannot be read: {e}", path.display()),
            "check its permissions, or point AWS_CONFIG_FILE at another file",
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

/// The credential options actually given, as flag and value (paths made absolute), role first.
fn process_args(
    a: &CredentialArgs,
    role_arn: &str,
) -> Result<Vec<(&'static str, Option<String>)>, Error> {
    let mut out = vec![("--role-arn", Some(role_arn.to_string()))];
    let mut push = |flag: &'static str, value: Option<String>| {
        if value.is_some() {
            out.push((flag, value));
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
    push("--token-command", a.token_command.clone());
    push("--source", a.source.clone());
    push(
        "--azure-service-connection",
        a.azure_service_connection.clone(),
    );
    push("--tfc-tag", a.tfc_tag.clone());
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
    for arn in &a.chain {
        push("--chain", Some(arn.clone()));
    }
    push("--external-id", a.external_id.clone());
    push("--chain-duration", a.chain_duration.clone());
    for tag in &a.tags {
        push("--tag", Some(tag.clone()));
    }
    for key in &a.transitive_tag_keys {
        push("--transitive-tag-key", Some(key.clone()));
    }
    push("--source-identity", a.source_identity.clone());
    for (flag, ids) in [
        ("--allowed-account-ids", &a.allowed_account_ids),
        ("--forbidden-account-ids", &a.forbidden_account_ids),
    ] {
        push(flag, (!ids.is_empty()).then(|| ids.join(",")));
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
    if a.ci_tags {
        out.push(("--ci-tags", None));
    }
    if a.cache.no_cache {
        out.push(("--no-cache", None));
    }
    Ok(out)
}

/// Static keys for this profile in the shared credentials file win over credential_process.
fn warn_about_credentials_file(ctx: &Ctx, profile: &str) {
    let path = match ctx.env.get_os("AWS_SHARED_CREDENTIALS_FILE") {
        Some(p) => PathBuf::from(p),
        None => match ctx.env.get_os(crate::sys::env::HOME) {
            Some(home) => Path::new(home).join(".aws").join("credentials"),
            None => return,
        },
    };
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let file = ProfileFile::parse(&text);
    // The credentials file names sections without the `profile` prefix.
    let found = file.sections().into_iter().find(|s| match &s.id {
        SectionId::Default => profile == "default",
        SectionId::Other(n) => n == profile,
        SectionId::Profile(_) => false,
    });
    if let Some(s) = found
        && !file.conflicts(&s).is_empty()
    {
        ctx.diag.warn(format!(
            "{} has a [{profile}] section (line {}) with keys the SDKs use before credential_process: remove it",
            path.display(),
            s.header + 1
        ));
    }
}
