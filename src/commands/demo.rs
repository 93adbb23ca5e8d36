//! `aws-ci-creds demo`: the whole flow, offline, in under a second. A local OIDC issuer and the
//! strict STS emulator start on 127.0.0.1; a temporary AWS config's `credential_process` runs
//! this very binary; a real AWS SDK client (aws-sdk-rust) calls `GetCallerIdentity` through it.
//! Each step is printed; no secret ever is (the token and the keys stay in their files and
//! pipes).

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;
use sts_emulator::{Emulator, EmulatorConfig, RoleTrust};

use crate::commands::Outcome;
use crate::context::Ctx;
use crate::error::{Error, Message};
use crate::output::Out;

const ROLE: &str = "arn:aws:iam::123456789012:role/demo-deploy";
const SUBJECT: &str = "project_path:demo-group/demo-project:ref_type:branch:ref:main";
const TRUSTED: &str = "project_path:demo-group/demo-project:*";

pub fn run(ctx: &Ctx, out: &mut Out) -> Result<Outcome, Error> {
    let exe = ctx.paths.current_exe.clone().ok_or_else(|| {
        Error::internal("cannot find this executable's path", "current_exe failed")
    })?;
    let emu = Emulator::start(EmulatorConfig {
        roles: vec![RoleTrust::new(ROLE, "sts.amazonaws.com", TRUSTED)],
        ..EmulatorConfig::default()
    })
    .map_err(|e| failed("could not start the local emulator", &e))?;
    let dir = demo_dir(ctx).map_err(|e| failed("could not create a temp dir", &e))?;

    show_emulator(out, &emu)?;
    let token_path = job_token(out, &emu, dir.path())?;
    let (config_path, process_args) = aws_config(out, &exe, &emu, &token_path, dir.path())?;
    through_the_sdk(ctx, out, &emu, &exe, &config_path, &process_args)?;
    another_project(out, &emu, &exe, dir.path())?;

    step(out, "Done")?;
    line(
        out,
        "Nothing left this machine. Next: docs/getting-started.md, and `aws-ci-creds --help`.",
    )?;
    ctx.diag
        .debug(format!("demo files in {}", dir.path().display()));
    Ok(Outcome::SUCCESS)
}

fn failed(what: &str, e: &dyn std::fmt::Display) -> Error {
    Error::Internal {
        message: Message::new(format!("demo: {what}: {e}")),
        cause: None,
    }
}

/// Step 1: what runs where.
fn show_emulator(out: &mut Out, emu: &Emulator) -> Result<(), Error> {
    step(
        out,
        "1. A local OIDC issuer and a strict STS emulator, on 127.0.0.1 only",
    )?;
    line(
        out,
        &format!("issuer   {}   (its JWKS at /jwks)", emu.issuer_url()),
    )?;
    line(out, &format!("sts      {}", emu.sts_endpoint()))?;
    line(out, &format!("role     {ROLE}"))?;
    line(
        out,
        &format!("         trusts aud = sts.amazonaws.com, sub like {TRUSTED}"),
    )
}

/// Step 2: the job's token, in a private file. Returns its path.
fn job_token(out: &mut Out, emu: &Emulator, dir: &Path) -> Result<PathBuf, Error> {
    step(
        out,
        "2. The job's OIDC ID token, as GitLab's `id_tokens:` hands it over",
    )?;
    let claims = json!({
        "sub": SUBJECT, "aud": "sts.amazonaws.com", "project_id": "4242", "job_id": "9001",
        "project_path": "demo-group/demo-project", "ref": "main", "ref_type": "branch",
    });
    let token = emu.mint(claims);
    let token_path = dir.join("id-token");
    write_private(&token_path, &token).map_err(|e| failed("could not write the token", &e))?;
    line(out, &format!("iss {}", emu.issuer_url()))?;
    line(out, &format!("sub {SUBJECT}"))?;
    line(out, "aud sts.amazonaws.com, expires in 1h")?;
    line(
        out,
        &format!(
            "written to {} (mode 0600; a token is a secret and is never printed)",
            token_path.display()
        ),
    )?;
    Ok(token_path)
}

/// Step 3: a profile whose credential_process runs this binary. Returns the config file's path
/// and the process's arguments.
fn aws_config(
    out: &mut Out,
    exe: &Path,
    emu: &Emulator,
    token_path: &Path,
    dir: &Path,
) -> Result<(PathBuf, Vec<String>), Error> {
    step(
        out,
        "3. An AWS config whose credential_process runs this binary",
    )?;
    let cache_dir = dir.join("cache");
    let process_args = vec![
        "--role-arn".to_string(),
        ROLE.to_string(),
        "--token-file".to_string(),
        token_path.display().to_string(),
        "--sts-endpoint".to_string(),
        emu.sts_endpoint(),
        "--cache-dir".to_string(),
        cache_dir.display().to_string(),
        "--source".to_string(),
        "file".to_string(),
    ];
    let process_line = std::iter::once(exe.display().to_string())
        .chain(process_args.iter().cloned())
        .map(|word| quote(&word))
        .collect::<Vec<_>>()
        .join(" ");
    let config =
        format!("[profile demo]\ncredential_process = {process_line}\nregion = us-east-1\n");
    let config_path = dir.join("config");
    std::fs::write(&config_path, &config)
        .map_err(|e| failed("could not write the AWS config", &e))?;
    for l in config.lines() {
        line(out, l)?;
    }
    Ok((config_path, process_args))
}

/// Steps 4 and 5: a real SDK client through the profile, twice; the second is a cache hit.
fn through_the_sdk(
    ctx: &Ctx,
    out: &mut Out,
    emu: &Emulator,
    exe: &Path,
    config_path: &Path,
    process_args: &[String],
) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal("could not start the async runtime", e))?;

    // The SDKs run credential_process through `sh -c`; an image without a shell (`scratch`,
    // distroless) cannot, so the demo then runs the same command line itself.
    let shell = crate::sys::env::find_in_path(ctx.env.get_os("PATH"), "sh").is_some();
    let identity = || match shell {
        true => runtime.block_on(caller_identity(config_path, &emu.sts_endpoint())),
        false => runtime.block_on(direct_identity(exe, process_args, &emu.sts_endpoint())),
    };
    if shell {
        step(
            out,
            "4. A real AWS SDK client (aws-sdk-rust) calls STS GetCallerIdentity with profile demo",
        )?;
    } else {
        step(
            out,
            "4. No `sh` on PATH, and the SDKs run credential_process through `sh -c`: the demo runs that command itself, then a real AWS SDK client (aws-sdk-rust) calls STS GetCallerIdentity with its credentials",
        )?;
    }
    caller(out, emu, identity()?, "")?;

    step(
        out,
        "5. Again, as every `aws` command and Terraform provider would: from the cache",
    )?;
    caller(
        out,
        emu,
        identity()?,
        " (the second process read the cache)",
    )
}

/// The caller an SDK call saw, and how many exchanges STS has served so far.
fn caller(
    out: &mut Out,
    emu: &Emulator,
    (arn, took): (String, u128),
    note: &str,
) -> Result<(), Error> {
    line(out, &format!("caller   {arn}   ({took} ms)"))?;
    line(
        out,
        &format!(
            "STS AssumeRoleWithWebIdentity calls so far: {}{note}",
            emu.sts_calls("AssumeRoleWithWebIdentity")
        ),
    )
}

/// Step 6: a token the role does not trust, and the error the user would see.
fn another_project(out: &mut Out, emu: &Emulator, exe: &Path, dir: &Path) -> Result<(), Error> {
    step(
        out,
        "6. A job from another project: what the error tells you",
    )?;
    let other = emu.mint(json!({"sub": "project_path:other-group/app:ref_type:branch:ref:main", "aud": "sts.amazonaws.com"}));
    let other_path = dir.join("other-token");
    write_private(&other_path, &other).map_err(|e| failed("could not write the token", &e))?;
    // stdin is a pipe closed at once, not Stdio::null(): that opens /dev/null, which an
    // empty root or a `scratch` image does not have.
    let result = std::process::Command::new(exe)
        .args([
            "--role-arn",
            ROLE,
            "--source",
            "file",
            "--no-cache",
            "--sts-endpoint",
            &emu.sts_endpoint(),
        ])
        .arg("--token-file")
        .arg(&other_path)
        .stdin(std::process::Stdio::piped())
        .output()
        .map_err(|e| failed("could not run the binary", &e))?;
    line(
        out,
        &format!(
            "exit code {} (STS refused), stderr:",
            result.status.code().unwrap_or(-1)
        ),
    )?;
    for l in String::from_utf8_lossy(&result.stderr).lines() {
        line(out, &format!("  {l}"))?;
    }
    Ok(())
}

async fn caller_identity(config_path: &Path, endpoint: &str) -> Result<(String, u128), Error> {
    use aws_config::profile::ProfileFileCredentialsProvider;
    use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
    use aws_sdk_sts::config::{BehaviorVersion, Region};

    let started = Instant::now();
    let files = EnvConfigFiles::builder()
        .with_file(EnvConfigFileKind::Config, config_path)
        .build();
    let provider = ProfileFileCredentialsProvider::builder()
        .profile_files(files)
        .profile_name("demo")
        .build();
    let conf = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(provider)
        .build();
    whoami(conf, started).await
}

/// Runs the credential_process command line without a shell and calls GetCallerIdentity with
/// the credentials it prints.
async fn direct_identity(
    exe: &Path,
    args: &[String],
    endpoint: &str,
) -> Result<(String, u128), Error> {
    use aws_sdk_sts::config::{BehaviorVersion, Credentials, Region};

    let started = Instant::now();
    let out = std::process::Command::new(exe)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| Error::internal("demo: could not run the binary", e))?;
    let failed = |why: &str| Error::Internal {
        message: Message::new(format!("demo: the credential process {why}")),
        cause: None,
    };
    if !out.status.success() {
        return Err(failed(&format!(
            "failed with exit code {}",
            out.status.code().unwrap_or(-1)
        )));
    }
    // The document holds the secret keys: only its shape may reach an error message.
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|_| failed("printed no JSON document"))?;
    let field = |name: &str| {
        doc.get(name)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| failed(&format!("printed no {name}")))
    };
    let creds = Credentials::new(
        field("AccessKeyId")?,
        field("SecretAccessKey")?,
        Some(field("SessionToken")?),
        None,
        "aws-ci-creds demo",
    );
    let conf = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(creds)
        .build();
    whoami(conf, started).await
}

/// The demo's files go in a fresh temp dir; in an image with no temp dir at all (an empty
/// root, `scratch`), in one under the working directory. Both are removed at the end.
fn demo_dir(ctx: &Ctx) -> std::io::Result<tempfile::TempDir> {
    let builder = || {
        let mut b = tempfile::Builder::new();
        b.prefix("aws-ci-creds-demo-");
        b
    };
    match builder().tempdir() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            ctx.diag.warn(format!(
                "no temp directory ({e}; TMPDIR names another): the demo's files go under the working directory"
            ));
            builder().tempdir_in(".")
        }
        other => other,
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    crate::sys::fs::private(std::fs::OpenOptions::new().write(true).create_new(true))
        .open(path)?
        .write_all(text.as_bytes())
}

/// Quotes a word for a credential_process line, which botocore splits like a POSIX shell
/// (`shlex.split`) and the other SDKs hand to `sh -c`: single quotes mean the same to both.
fn quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:=@,+".contains(c))
    {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

fn step(out: &mut Out, title: &str) -> Result<(), Error> {
    out.print(&format!("\n== {title}"))
}

fn line(out: &mut Out, text: &str) -> Result<(), Error> {
    out.print(&format!("   {text}"))
}

/// GetCallerIdentity through the SDK client `conf` describes: the assumed role's ARN and the
/// milliseconds since `started`.
async fn whoami(conf: aws_sdk_sts::Config, started: Instant) -> Result<(String, u128), Error> {
    let out = aws_sdk_sts::Client::from_conf(conf)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| Error::Internal {
            message: Message::new(format!(
                "demo: the SDK's GetCallerIdentity failed: {}",
                aws_sdk_sts::error::DisplayErrorContext(&e)
            )),
            cause: None,
        })?;
    Ok((
        out.arn().unwrap_or_default().to_string(),
        started.elapsed().as_millis(),
    ))
}

#[cfg(all(test, unix))] // runs `sh`
mod tests {

    /// `output()` closes a piped stdin before it waits: the child reads EOF, as with
    /// /dev/null, without needing /dev (absent in an empty root).
    #[test]
    fn a_piped_stdin_reads_as_empty_and_does_not_hang() {
        let out = std::process::Command::new("sh")
            .args(["-c", "cat; echo done"])
            .stdin(std::process::Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "done\n");
    }
}
