//! `exec`'s child and `serve`'s stop on Unix: SIGINT and SIGTERM are recorded by a handler and
//! forwarded with kill(2); the child's status is its code or 128 + the signal that ended it;
//! `serve --detach` forks into its own session.

use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The child's exit code, or 128 + the signal that ended it (the shell's convention), as the
/// code this process exits with.
pub fn child_exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    let code = match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => 1,
    };
    // The low 8 bits, as exit(2) keeps them (a status code is 0..=255 and 128 + a signal's
    // number fits, so nothing is lost).
    i32::from(code as u8)
}

/// This process's exit status for a child's code from [`child_exit_code`].
pub fn exit_with(code: i32) -> std::process::ExitCode {
    std::process::ExitCode::from(code as u8)
}

/// Characters a `credential_process` argument may hold unquoted beyond the common set: none here
/// (a backslash is an escape to `sh` and `shlex`).
pub const LINE_PLAIN_EXTRA: &str = "";

/// A binary path to suggest when the current one cannot go into a `credential_process` line.
pub const PLAIN_BINARY_PATH: &str = "/usr/local/bin/aws-ci-creds";

/// Why `arg` cannot go into a `credential_process` line on this platform, beyond the rules every
/// platform shares (line breaks, `#`, `;`, quotes).
pub fn line_unsafe_reason(arg: &str) -> Option<&'static str> {
    arg.contains('\\')
        .then_some("a backslash, which the SDKs' readers and shells undo differently")
}

/// How `--token-command` is split: botocore's rule for `credential_process` here (POSIX
/// `shlex.split`).
pub use crate::shlex::split as split_command_line;

/// A request to stop, as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop(libc::c_int);

impl Stop {
    /// Its name for a log line.
    pub fn name(self) -> &'static str {
        if self.0 == libc::SIGTERM {
            "SIGTERM"
        } else {
            "SIGINT"
        }
    }
}

/// How a user stops a detached endpoint with process id `pid`.
pub fn stop_hint(pid: u32) -> String {
    format!("kill {pid}")
}

/// Signal forwarding: handlers record SIGINT/SIGTERM, the wait loop sends them on (`serve`
/// polls them to stop).
pub mod forward {
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

    pub fn install() -> std::io::Result<()> {
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
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }

    /// Like [`install`], for a process with no child: Ctrl-C from the terminal counts too.
    pub fn install_without_child() -> std::io::Result<()> {
        FROM_TERMINAL_TOO.store(true, Ordering::SeqCst);
        install()
    }

    /// The SIGINT or SIGTERM received since the last call, if any.
    pub fn take() -> Option<Stop> {
        if TERM.swap(false, Ordering::SeqCst) {
            Some(Stop(libc::SIGTERM))
        } else if INT.swap(false, Ordering::SeqCst) {
            Some(Stop(libc::SIGINT))
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

/// Which side of [`detach`] this is.
pub enum Detached {
    /// Hands out the variables, then ends at once with success: the other side serves.
    Parent { pid: u32 },
    /// Serves, in its own session.
    Child,
}

/// Forks: the parent hands out the variables and returns, the child serves in its own session
/// with stdio on /dev/null (the step's pipes must not stay open, or the CI waits on them).
pub fn detach() -> std::io::Result<Detached> {
    // SAFETY: fork has no preconditions; the runtime used by `obtain` has been shut down, and the
    // child only goes on to start its own threads.
    match unsafe { libc::fork() } {
        -1 => Err(std::io::Error::last_os_error()),
        0 => {
            // SAFETY: plain syscalls on our own process and descriptors.
            unsafe {
                libc::setsid();
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
                if null >= 0 {
                    for fd in 0..=2 {
                        libc::dup2(null, fd);
                    }
                    if null > 2 {
                        libc::close(null);
                    }
                }
            }
            Ok(Detached::Child)
        }
        pid => Ok(Detached::Parent { pid: pid as u32 }),
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
