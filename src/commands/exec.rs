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
use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::cli::ExecArgs;
use crate::commands::Outcome;
use crate::config::{Config, Origin};
use crate::context::Ctx;
use crate::error::{Error, Message};
use crate::flow;
use crate::serve;

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

    forward::install()?;
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
fn run_child(ctx: &Ctx, program: &OsStr, cmd: &mut std::process::Command) -> Result<u8, Error> {
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

/// The child's exit code, or 128 + the signal that ended it (the shell's convention).
pub fn child_exit_code(status: ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    let code = match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => 1,
    };
    // The low 8 bits, as exit(2) keeps them (a status code is 0..=255 and 128 + a signal's
    // number fits, so nothing is lost).
    code as u8
}

/// Signal forwarding: handlers record SIGINT/SIGTERM, the wait loop sends them on (`serve`
/// polls them to stop).
pub(crate) mod forward {
    use super::*;

    static INT: AtomicBool = AtomicBool::new(false);
    static TERM: AtomicBool = AtomicBool::new(false);
    /// Set by `serve`, which has no child to share the terminal's signals with.
    static FROM_TERMINAL_TOO: AtomicBool = AtomicBool::new(false);

    extern "C" fn on_signal(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
        // A Ctrl-C or Ctrl-\ from the terminal goes to the whole foreground process group, the
        // child included: forwarding it too would deliver it twice.
        #[cfg(target_os = "linux")]
        // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler.
        if !FROM_TERMINAL_TOO.load(Ordering::SeqCst)
            && !info.is_null()
            && unsafe { (*info).si_code } == libc::SI_KERNEL
        {
            return;
        }
        #[cfg(not(target_os = "linux"))]
        let _ = info;
        match sig {
            libc::SIGINT => INT.store(true, Ordering::SeqCst),
            libc::SIGTERM => TERM.store(true, Ordering::SeqCst),
            _ => {}
        }
    }

    pub fn install() -> Result<(), Error> {
        for sig in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: a zeroed sigaction is valid; the handler only stores to atomics, which is
            // async-signal-safe.
            let rc = unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal
                    as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void)
                    as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(sig, &action, std::ptr::null_mut())
            };
            if rc != 0 {
                return Err(Error::internal(
                    "could not install the signal handlers",
                    std::io::Error::last_os_error(),
                ));
            }
        }
        Ok(())
    }

    /// Like [`install`], for a process with no child: Ctrl-C from the terminal counts too.
    pub fn install_without_child() -> Result<(), Error> {
        FROM_TERMINAL_TOO.store(true, Ordering::SeqCst);
        install()
    }

    /// The SIGINT or SIGTERM received since the last call, if any.
    pub fn take() -> Option<libc::c_int> {
        if TERM.swap(false, Ordering::SeqCst) {
            Some(libc::SIGTERM)
        } else if INT.swap(false, Ordering::SeqCst) {
            Some(libc::SIGINT)
        } else {
            None
        }
    }

    /// Waits for the child, forwarding the signals received meanwhile.
    pub fn wait(child: &mut Child) -> std::io::Result<ExitStatus> {
        let pid = child.id() as libc::pid_t;
        loop {
            for (flag, sig) in [(&INT, libc::SIGINT), (&TERM, libc::SIGTERM)] {
                if flag.swap(false, Ordering::SeqCst) {
                    // SAFETY: plain kill(2) on our own child, which has not been reaped yet.
                    unsafe { libc::kill(pid, sig) };
                }
            }
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn the_childs_status_is_its_code_or_128_plus_the_signal() {
        // wait(2) statuses: the code in the second byte, a terminating signal in the first.
        assert_eq!(child_exit_code(ExitStatus::from_raw(7 << 8)), 7);
        assert_eq!(child_exit_code(ExitStatus::from_raw(255 << 8)), 255);
        assert_eq!(child_exit_code(ExitStatus::from_raw(libc::SIGKILL)), 137);
        assert_eq!(child_exit_code(ExitStatus::from_raw(libc::SIGTERM)), 143);
    }
}
