//! `exec`'s child and `serve`'s stop on Windows. Console Ctrl-C and Ctrl-Break reach every
//! process attached to the console, the child included, so this process ignores them while it
//! waits (as `cargo run` does) and the child decides; the child runs in a job object that kills
//! it when this process goes away. Exit codes are 32-bit (Ctrl-C ends a process with
//! `0xC000013A`) and are passed on whole.

use std::io;
use std::os::windows::io::AsRawHandle;
use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicU32, Ordering};

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
use windows_sys::Win32::System::Console::SetConsoleCtrlHandler;
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JobObjectExtendedLimitInformation,
    SetInformationJobObject,
};

/// The child's exit code, all 32 bits of it.
pub fn child_exit_code(status: ExitStatus) -> i32 {
    status.code().unwrap_or(1)
}

/// This process's exit status for a child's code. `ExitCode` holds only a `u8` on stable Rust,
/// so a code outside 0..=255 ends the process here, with nothing left to clean up.
pub fn exit_with(code: i32) -> std::process::ExitCode {
    match u8::try_from(code) {
        Ok(small) => std::process::ExitCode::from(small),
        Err(_) => std::process::exit(code),
    }
}

/// Characters a `credential_process` argument may hold beyond the common set: the path
/// separator, which every reader on Windows keeps as it is.
pub const LINE_PLAIN_EXTRA: &str = "\\";

/// A binary path to suggest when the current one cannot go into a `credential_process` line.
pub const PLAIN_BINARY_PATH: &str =
    r"%LOCALAPPDATA%\aws-ci-creds\bin\aws-ci-creds.exe (or under %RUNNER_TOOL_CACHE%)";

/// Why `arg` cannot go into a `credential_process` line on Windows, beyond the rules every
/// platform shares. botocore splits the line with Windows rules and runs it without a shell;
/// the Go, Rust, JavaScript and Java SDKs hand it to `cmd.exe /C`, each quoting differently. The
/// only arguments they all read alike have no whitespace, no quotes and no cmd.exe
/// metacharacter, so nothing may need quoting at all.
pub fn line_unsafe_reason(arg: &str) -> Option<&'static str> {
    if arg.contains(char::is_whitespace) {
        Some(
            "a space, which the SDKs on Windows split and quote differently (botocore's Windows split, cmd.exe /C)",
        )
    } else if arg.contains(['&', '|', '<', '>', '^', '(', ')', '%', '!']) {
        Some(
            "a cmd.exe metacharacter (& | < > ^ ( ) % !), which the SDKs that run the line through cmd.exe would interpret",
        )
    } else if !arg
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_@+=:,./-\\".contains(c))
    {
        Some(
            "a character that cannot be quoted alike for every SDK on Windows (only letters, digits and _@+=:,./-\\ can)",
        )
    } else {
        None
    }
}

/// How `--token-command` is split: botocore's rule for `credential_process` on Windows (the C
/// runtime's), so `C:\tools\helper.cmd` keeps its backslashes.
pub use crate::shlex::split_windows as split_command_line;

/// A console control event, as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop(u32);

impl Stop {
    /// Its name for a log line.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "Ctrl-C",
            1 => "Ctrl-Break",
            2 => "the console closing",
            _ => "the session ending",
        }
    }
}

/// How a user stops a background endpoint with process id `pid`.
pub fn stop_hint(pid: u32) -> String {
    format!("Stop-Process -Id {pid}")
}

pub mod forward {
    use super::*;

    /// The last event plus one; 0 when none is pending.
    static EVENT: AtomicU32 = AtomicU32::new(0);

    unsafe extern "system" fn on_event(event: u32) -> windows_sys::core::BOOL {
        EVENT.store(event + 1, Ordering::SeqCst);
        1 // handled: this process goes on (and waits for its child, which got the event too)
    }

    pub fn install() -> io::Result<()> {
        // SAFETY: registers a handler that only stores to an atomic.
        if unsafe { SetConsoleCtrlHandler(Some(on_event), 1) } == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Like [`install`]: with no child, the recorded event is what stops `serve`.
    pub fn install_without_child() -> io::Result<()> {
        install()
    }

    /// The console event received since the last call, if any.
    pub fn take() -> Option<Stop> {
        match EVENT.swap(0, Ordering::SeqCst) {
            0 => None,
            n => Some(Stop(n - 1)),
        }
    }

    /// Waits for the child in a job object that kills it if this process dies first. A job that
    /// cannot be made only loses that guarantee.
    pub fn wait(child: &mut Child) -> io::Result<ExitStatus> {
        let _job = Job::for_child(child);
        child.wait()
    }
}

/// A job object with `KILL_ON_JOB_CLOSE`; closing its last handle (our exit) ends the child.
struct Job(HANDLE);

impl Job {
    fn for_child(child: &Child) -> Option<Job> {
        // SAFETY: an anonymous job with default security.
        let handle = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
        if handle.is_null() {
            return None;
        }
        let job = Job(handle);
        // SAFETY: zeroed is a valid limit structure; only the flag below is set.
        let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
        info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        // SAFETY: the job handle is open; the structure and its size match the class.
        let set = unsafe {
            SetInformationJobObject(
                job.0,
                JobObjectExtendedLimitInformation,
                std::ptr::addr_of!(info).cast(),
                std::mem::size_of_val(&info) as u32,
            )
        };
        // SAFETY: both handles are open; the child has not been waited for yet.
        if set == 0
            || unsafe { AssignProcessToJobObject(job.0, child.as_raw_handle() as HANDLE) } == 0
        {
            return None;
        }
        Some(job)
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        // SAFETY: the handle was opened by CreateJobObjectW and is closed once.
        unsafe { CloseHandle(self.0) };
    }
}

/// Which side of [`detach`] this is.
#[allow(dead_code)] // built by the fork on Unix; Windows has no detach yet
pub enum Detached {
    /// Hands out the variables, then ends at once with success: the other side serves.
    Parent { pid: u32 },
    /// Serves in the background.
    Child,
}

/// Not yet on Windows: std starts processes inheriting every inheritable handle, the step's
/// stdout pipe included, which would hang the CI step until the endpoint ends; doing it right
/// needs `CreateProcessW` with no inherited handles.
pub fn detach() -> io::Result<Detached> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "serve --detach is not available on Windows yet; run `aws-ci-creds serve --env-file …` as a background job of the step (Start-Job) or in a step of its own",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_childs_32_bit_code_comes_back_whole_from_inside_its_job() {
        // 0xC000013A is how Ctrl-C ends a console process.
        let mut child = std::process::Command::new("cmd")
            .args(["/c", "exit -1073741510"])
            .spawn()
            .unwrap();
        let status = forward::wait(&mut child).unwrap();
        assert_eq!(child_exit_code(status) as u32, 0xC000_013A);
    }

    #[test]
    fn a_line_argument_must_need_no_quoting_for_any_windows_reader() {
        assert_eq!(line_unsafe_reason(r"C:\tools\aws-ci-creds.exe"), None);
        assert!(
            line_unsafe_reason(r"C:\Program Files\aws-ci-creds.exe")
                .unwrap()
                .contains("space")
        );
        assert!(line_unsafe_reason("a&b").unwrap().contains("metacharacter"));
        assert!(
            line_unsafe_reason("%TEMP%")
                .unwrap()
                .contains("metacharacter")
        );
        assert!(line_unsafe_reason("caf\u{e9}").is_some());
    }
}
