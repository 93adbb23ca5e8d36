//! `aws-ci-creds exec -- CMD [ARGS…]`: runs a command with the credentials in its environment,
//! for tools that cannot run a `credential_process`.
//!
//! The child gets `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
//! `AWS_CREDENTIAL_EXPIRATION` (and `AWS_REGION` when a region was given), loses `AWS_PROFILE` (a
//! profile that runs aws-ci-creds would otherwise loop back) and any older static keys. This is
//! one of the few places a secret leaves the process, by design.
//!
//! With `--serve` the child gets no keys: a loopback endpoint (see [`crate::serve`]) runs while
//! it does, and the child gets only its URL and token, so long commands keep getting fresh
//! credentials. The endpoint closes when the child exits.
//!
//! SIGINT and SIGTERM sent to aws-ci-creds are forwarded to the child, and aws-ci-creds exits
//! with the child's status (128 + the signal's number when a signal ended it). A command that
//! cannot be started is a usage error (exit 2).

use std::ffi::OsStr;

use crate::cli::ExecArgs;
use crate::commands::Outcome;
use crate::config::{Config, Origin};
use crate::context::Ctx;
use crate::error::{Error, Message};
use crate::flow;
use crate::serve;
use crate::sys::process::{child_exit_code, forward};

/// Variables the child must not inherit: a profile would loop back, stale keys would win.
const REMOVED: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
];

/// Also removed with `--serve`: the endpoint given to the child replaces any other.
const REMOVED_WITH_SERVE: &[&str] = &[
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
];

pub fn run(ctx: &Ctx, cfg: &Config, args: &ExecArgs) -> Result<Outcome, Error> {
    let Some((program, rest)) = args.command.split_first() else {
        return Err(Error::usage(
            "exec needs a command to run",
            "aws-ci-creds exec [options] -- terraform apply",
        ));
    };
    // Bound first: a taken port fails before any network call.
    let bound = if args.serve {
        Some(serve::Bound::bind(0)?)
    } else {
        None
    };
    let creds = flow::obtain(ctx, cfg)?;

    let mut cmd = std::process::Command::new(program);
    cmd.args(rest).env_clear();
    for (name, value) in ctx.env.iter_os() {
        let removed = REMOVED
            .iter()
            .chain(if args.serve { REMOVED_WITH_SERVE } else { &[] })
            .any(|r| OsStr::new(r) == name);
        if !removed {
            cmd.env(name, value);
        }
    }
    if let Some(bound) = &bound {
        cmd.env(serve::URI_VAR, bound.url())
            .env(serve::TOKEN_VAR, bound.token().expose());
    } else {
        cmd.env("AWS_ACCESS_KEY_ID", creds.access_key_id.expose())
            .env("AWS_SECRET_ACCESS_KEY", creds.secret_access_key.expose())
            .env("AWS_SESSION_TOKEN", creds.session_token.expose())
            .env(
                "AWS_CREDENTIAL_EXPIRATION",
                creds
                    .expiration
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            );
    }
    if cfg.network.region.origin != Origin::Default {
        cmd.env("AWS_REGION", &cfg.network.region.value);
    }

    forward::install().map_err(|e| Error::internal("could not install the signal handlers", e))?;
    let code = match bound {
        Some(bound) => {
            ctx.diag.info(format!(
                "credentials endpoint on {} for the command",
                bound.url()
            ));
            serve::run(ctx, cfg, bound, creds, || run_child(ctx, program, &mut cmd))??
        }
        None => run_child(ctx, program, &mut cmd)?,
    };
    Ok(Outcome::Child(code))
}

/// Starts the command, forwards signals to it, and returns its exit code.
fn run_child(ctx: &Ctx, program: &OsStr, cmd: &mut std::process::Command) -> Result<i32, Error> {
    let shown = program.to_string_lossy();
    ctx.diag.info(format!("running {shown}"));
    let mut child = cmd.spawn().map_err(|e| {
        let what = match e.kind() {
            std::io::ErrorKind::NotFound => format!("the command `{shown}` was not found"),
            std::io::ErrorKind::PermissionDenied => {
                format!("the command `{shown}` cannot be executed (permission denied)")
            }
            _ => format!("the command `{shown}` could not be started: {e}"),
        };
        Error::Usage(Message::new(what).fix(
            "check the name and PATH; exec runs the command directly, not through a shell: use `-- sh -c '…'` for shell syntax",
        ))
    })?;
    let status = forward::wait(&mut child)
        .map_err(|e| Error::internal(format!("could not wait for `{shown}`"), e))?;
    Ok(child_exit_code(status))
}
