//! Runs the STS emulator + OIDC issuer for shell end-to-end scripts.
//!
//! ```text
//! cargo run --example sts_emulator -- \
//!     --role-arn arn:aws:iam::123456789012:role/ci --audience sts.amazonaws.com \
//!     --subject-like 'repo:org/app:*' --sub repo:org/app:ref:refs/heads/main \
//!     --token-out "$dir/token" --ready-file "$dir/ready.json"
//! ```
//!
//! It writes a minted ID token to `--token-out` (mode 0600), then writes `--ready-file`
//! atomically as JSON (`issuer`, `sts_endpoint`, `pid`, plus the CI token endpoints and their
//! bearer tokens), and serves until SIGTERM or SIGINT. Each `--chain-role ARN` is a role the one
//! before it (`--role-arn` first) may assume with `sts:AssumeRole`. `GET <issuer>/_emulator/calls` returns
//! the STS call counts.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use sts_emulator::{ChainTrust, Emulator, EmulatorConfig, RoleTrust};

const USAGE: &str = "usage: sts_emulator --role-arn ARN --audience AUD --subject-like PATTERN \
[--max-session-seconds N] --sub SUB [--claims JSON] --token-out FILE --ready-file FILE \
[--token-lifetime-seconds N] [--credential-lifetime-seconds N] [--client-id ID]... [--chain-role ARN]...

  --audience AUD     the role trusts this audience; it is also the minted token's aud and the
                     registered client id (unless --client-id is given)
  --claims JSON      extra claims (an object) merged into the minted token; they win over
                     the defaults (iss, aud, iat, nbf, exp, jti) and --sub
  --client-id ID     an audience registered on the IAM OIDC provider (repeatable)
  --chain-role ARN   a role whose trust policy lets the previous role (--role-arn, or the
                     previous --chain-role) assume it, with sts:TagSession and
                     sts:SetSourceIdentity (repeatable, in chain order)
  --credential-lifetime-seconds N
                     issued credentials expire N seconds after issue, whatever DurationSeconds
                     asked for (still validated: 900 at least); for refresh tests";

struct Args {
    role_arn: String,
    audience: String,
    subject_like: String,
    max_session_seconds: u32,
    sub: String,
    claims: Value,
    token_out: PathBuf,
    ready_file: PathBuf,
    token_lifetime_seconds: i64,
    client_ids: Vec<String>,
    credential_lifetime_seconds: Option<u32>,
    chain_roles: Vec<String>,
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut role_arn = None;
    let mut audience = None;
    let mut subject_like = None;
    let mut max_session_seconds = 3600u32;
    let mut sub = None;
    let mut claims = json!({});
    let mut token_out = None;
    let mut ready_file = None;
    let mut token_lifetime_seconds = 3600i64;
    let mut client_ids = Vec::new();
    let mut credential_lifetime_seconds = None;
    let mut chain_roles = Vec::new();
    while let Some(flag) = argv.next() {
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (flag.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| argv.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name.as_str() {
            "--role-arn" => role_arn = Some(value()?),
            "--audience" => audience = Some(value()?),
            "--subject-like" => subject_like = Some(value()?),
            "--max-session-seconds" => {
                max_session_seconds = value()?
                    .parse()
                    .map_err(|_| "--max-session-seconds must be a number".to_string())?
            }
            "--sub" => sub = Some(value()?),
            "--claims" => {
                claims = serde_json::from_str(&value()?)
                    .map_err(|e| format!("--claims is not JSON: {e}"))?;
                if !claims.is_object() {
                    return Err("--claims must be a JSON object".to_string());
                }
            }
            "--token-out" => token_out = Some(PathBuf::from(value()?)),
            "--ready-file" => ready_file = Some(PathBuf::from(value()?)),
            "--token-lifetime-seconds" => {
                token_lifetime_seconds = value()?
                    .parse()
                    .map_err(|_| "--token-lifetime-seconds must be a number".to_string())?
            }
            "--client-id" => client_ids.push(value()?),
            "--chain-role" => chain_roles.push(value()?),
            "--credential-lifetime-seconds" => {
                credential_lifetime_seconds = Some(
                    value()?
                        .parse::<u32>()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or("--credential-lifetime-seconds must be a positive number")?,
                )
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let required = |v: Option<String>, name: &str| v.ok_or_else(|| format!("{name} is required"));
    let audience = required(audience, "--audience")?;
    if client_ids.is_empty() {
        client_ids.push(audience.clone());
    }
    Ok(Args {
        role_arn: required(role_arn, "--role-arn")?,
        subject_like: required(subject_like, "--subject-like")?,
        sub: required(sub, "--sub")?,
        token_out: token_out.ok_or("--token-out is required")?,
        ready_file: ready_file.ok_or("--ready-file is required")?,
        audience,
        max_session_seconds,
        claims,
        token_lifetime_seconds,
        client_ids,
        credential_lifetime_seconds,
        chain_roles,
    })
}

/// Writes `contents` to a temporary file next to `path` (mode 0600) and renames it into place.
fn write_atomically(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let file_name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other(format!("{} has no file name", path.display())))?;
    let tmp = path.with_file_name(format!(
        ".{}.tmp.{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)
}

static STOP: AtomicBool = AtomicBool::new(false);

#[cfg(unix)]
extern "C" fn on_signal(_signal: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn install_signal_handlers() {
    #[cfg(unix)]
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let handler: extern "C" fn(libc::c_int) = on_signal;
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(signal, handler as libc::sighandler_t);
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    install_signal_handlers();
    let mut previous = args.role_arn.clone();
    let chain_roles = args
        .chain_roles
        .iter()
        .map(|arn| {
            let trust = ChainTrust {
                allow_tag_session: true,
                allow_set_source_identity: true,
                ..ChainTrust::new(arn.clone(), &[previous.as_str()])
            };
            previous = arn.clone();
            trust
        })
        .collect();
    let emulator = Emulator::start(EmulatorConfig {
        chain_roles,
        roles: vec![RoleTrust {
            role_arn: args.role_arn.clone(),
            audience: args.audience.clone(),
            subject_like: args.subject_like.clone(),
            max_session_seconds: args.max_session_seconds,
        }],
        client_ids: args.client_ids.clone(),
        credential_lifetime_override: args.credential_lifetime_seconds,
        ..EmulatorConfig::default()
    })
    .map_err(|e| format!("cannot start the emulator: {e}"))?;

    let mut claims = json!({"sub": args.sub, "aud": args.audience});
    if let (Some(base), Some(extra)) = (claims.as_object_mut(), args.claims.as_object()) {
        base.extend(extra.clone());
    }
    let token = emulator.mint_with_lifetime(claims, args.token_lifetime_seconds);
    write_atomically(&args.token_out, &token)
        .map_err(|e| format!("cannot write {}: {e}", args.token_out.display()))?;

    let ready = json!({
        "issuer": emulator.issuer_url(),
        "sts_endpoint": emulator.sts_endpoint(),
        "pid": std::process::id(),
        "calls_url": format!("{}/_emulator/calls", emulator.issuer_url()),
        "github_token_request_url": emulator.github_token_request_url(),
        "github_request_token": EmulatorConfig::default().github_request_token,
        "azure_oidc_request_uri": emulator.azure_oidc_request_uri(),
        "azure_request_token": EmulatorConfig::default().azure_request_token,
    });
    write_atomically(&args.ready_file, &format!("{ready}\n"))
        .map_err(|e| format!("cannot write {}: {e}", args.ready_file.display()))?;
    eprintln!(
        "sts_emulator: ready (issuer {}, sts {})",
        emulator.issuer_url(),
        emulator.sts_endpoint()
    );

    while !STOP.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(emulator);
    eprintln!("sts_emulator: stopped");
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(msg) if msg.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("sts_emulator: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("sts_emulator: {msg}");
            ExitCode::FAILURE
        }
    }
}
