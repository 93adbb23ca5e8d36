//! stderr: warnings, `-v` diagnostics and the final error. The only module that writes stderr
//! (main's last-resort panic message aside).
//!
//! Everything written here is built from settings, claims and names, never from a secret: the
//! SDKs capture our stderr and put it in their own errors and logs.

use std::io::Write;

/// Writes diagnostics at the chosen verbosity.
#[derive(Debug, Clone, Copy, Default)]
pub struct Diag {
    verbose: u8,
}

impl Diag {
    pub fn new(verbose: u8) -> Diag {
        Diag { verbose }
    }

    pub fn verbose(&self) -> u8 {
        self.verbose
    }

    /// Something the user should know even when it works (a deprecated variable, an audience
    /// mismatch, a cache that cannot be used). One line each.
    pub fn warn(&self, message: impl AsRef<str>) {
        emit(&format!("aws-ci-creds: warning: {}", message.as_ref()));
    }

    /// A `-v` line.
    pub fn info(&self, message: impl AsRef<str>) {
        if self.verbose >= 1 {
            emit(&format!("aws-ci-creds: {}", message.as_ref()));
        }
    }

    /// A `-vv` line.
    pub fn debug(&self, message: impl AsRef<str>) {
        if self.verbose >= 2 {
            emit(&format!("aws-ci-creds: {}", message.as_ref()));
        }
    }

    /// The final error, with its cause chain when verbose.
    pub fn error(&self, error: &crate::error::Error) {
        let mut text = format!("aws-ci-creds: error: {error}");
        if self.verbose >= 1 {
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                text.push_str(&format!("\n  caused by: {cause}"));
                source = cause.source();
            }
        }
        emit(&text);
    }

    /// Plain text for a subcommand's human-facing report lines that belong on stderr
    /// (e.g. `trust-policy`'s companion command).
    pub fn plain(&self, message: impl AsRef<str>) {
        emit(message.as_ref());
    }
}

fn emit(line: &str) {
    // A closed stderr must not turn a working run into a failed one.
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
