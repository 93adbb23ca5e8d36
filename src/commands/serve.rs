//! `aws-ci-creds serve`: the loopback credentials endpoint for the rest of a job (later steps,
//! `docker run --network host` containers), without the keys ever being in the environment.
//!
//! It binds 127.0.0.1, obtains credentials once (so a broken set-up fails here, with the usual
//! message and exit code), then hands out the endpoint's two variables: printed as `export`
//! lines, or appended to `--env-file` (`$GITHUB_ENV`, a GitLab dotenv report). It serves until
//! SIGTERM or SIGINT, or `--max-lifetime`; with `--detach` it does so in the background, after
//! the variables are out.

use std::time::{Duration, Instant};

use crate::cli::{ExportFormat, ServeArgs};
use crate::commands::Outcome;
use crate::config::{Config, parse_duration};
use crate::context::Ctx;
use crate::error::Error;
use crate::flow;
use crate::output::Out;
use crate::serve::{self, Bound};
use crate::sys::{self, process::Detached, process::forward};
use crate::vars::{self, Var};

/// A GitHub-hosted job's limit; long enough for any CI job, short enough to never linger.
const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(6 * 3600);

pub fn run(ctx: &Ctx, out: &mut Out, cfg: &Config, args: &ServeArgs) -> Result<Outcome, Error> {
    let lifetime = max_lifetime(args)?;
    let bound = Bound::bind(args.port.unwrap_or(0))?;
    let creds = flow::obtain(ctx, cfg)?;
    let vars = vec![
        Var {
            name: serve::URI_VAR,
            value: bound.url(),
            secret: false,
        },
        Var {
            name: serve::TOKEN_VAR,
            value: bound.token().expose().clone(),
            secret: true,
        },
    ];

    if args.detach {
        if let Detached::Parent { .. } = detach(ctx, out, args, &vars, &bound)? {
            return Ok(Outcome::SUCCESS);
        }
    } else {
        hand_out(ctx, out, args, &vars)?;
        ctx.diag.plain(format!(
            "aws-ci-creds: serving credentials on {} for at most {}; stop with SIGTERM or Ctrl-C",
            bound.url(),
            crate::sts::human_duration(lifetime.as_secs() as i64)
        ));
    }
    forward::install_without_child()
        .map_err(|e| Error::internal("could not install the signal handlers", e))?;
    serve::run(ctx, cfg, bound, creds, || wait(ctx, lifetime))?;
    Ok(Outcome::SUCCESS)
}

fn max_lifetime(args: &ServeArgs) -> Result<Duration, Error> {
    let Some(raw) = &args.max_lifetime else {
        return Ok(DEFAULT_MAX_LIFETIME);
    };
    match parse_duration(raw) {
        Some(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
        _ => Err(Error::usage(
            format!("--max-lifetime {raw:?} is not a duration"),
            "give one like 90m, 6h or 3600 (seconds)",
        )),
    }
}

/// Prints the variables (with GitHub masks) or appends them to `--env-file`.
fn hand_out(ctx: &Ctx, out: &mut Out, args: &ServeArgs, vars: &[Var]) -> Result<(), Error> {
    let github = ctx.env.is("GITHUB_ACTIONS", "true") && !args.no_mask;
    match &args.env_file {
        Some(path) => {
            if github {
                out.print_exact(&vars::masks(vars, ExportFormat::GithubEnv).unwrap_or_default())?;
            }
            vars::append_env_file(
                path,
                &vars::render(vars, ExportFormat::Dotenv, ""),
                "--env-file",
            )
        }
        None => {
            let mut text = String::new();
            if github {
                text.push_str(&vars::masks(vars, ExportFormat::Sh).unwrap_or_default());
            }
            text.push_str(&vars::render(vars, ExportFormat::Sh, ""));
            out.print_exact(&text)
        }
    }
}

/// Starts serving in the background (see [`sys::process::detach`]): the foreground side hands
/// out the variables and ends; the background side serves with no hold on the step's stdio (the
/// step's pipes must not stay open, or the CI waits on them).
fn detach(
    ctx: &Ctx,
    out: &mut Out,
    args: &ServeArgs,
    vars: &[Var],
    bound: &Bound,
) -> Result<Detached, Error> {
    let detached = sys::process::detach()
        .map_err(|e| Error::internal("could not start the endpoint in the background", e))?;
    if let Detached::Parent { pid } = detached {
        hand_out(ctx, out, args, vars)?;
        ctx.diag.plain(format!(
            "aws-ci-creds: serving credentials on {} in the background (pid {pid}); stop it with `{}`",
            bound.url(),
            sys::process::stop_hint(pid)
        ));
    }
    Ok(detached)
}

/// Returns on SIGTERM or SIGINT, or when the lifetime is over.
fn wait(ctx: &Ctx, lifetime: Duration) {
    let started = Instant::now();
    loop {
        if let Some(stop) = forward::take() {
            ctx.diag
                .info(format!("stopping the endpoint on {}", stop.name()));
            return;
        }
        if started.elapsed() >= lifetime {
            ctx.diag.warn(format!(
                "the endpoint reached --max-lifetime ({}) and stopped",
                crate::sts::human_duration(lifetime.as_secs() as i64)
            ));
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
