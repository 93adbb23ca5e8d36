//! stderr: warnings, `-v` diagnostics and the final error. The only module that writes stderr
//! (main's last-resort panic message aside).
//!
//! Everything written here is built from settings, claims and names, never from a secret: the
//! SDKs capture our stderr and put it in their own errors and logs.
//!
//! A [`Diag`] is the one way any code learns the verbosity and reaches stderr: the binary's
//! writes to the process's stderr, a unit test's to a buffer it reads back
//! ([`Diag::capture`]), so a command's whole user-visible output is testable in-process.

use std::io::Write;

/// Writes diagnostics at the chosen verbosity.
///
/// `Copy` (a verbosity and a reference to where lines go) because it travels into token sources,
/// the HTTP clients and the endpoint's threads; every copy writes to the same place.
#[derive(Debug, Clone, Copy, Default)]
pub struct Diag {
    verbose: u8,
    sink: Sink,
}

/// Where the lines go.
#[derive(Debug, Clone, Copy, Default)]
enum Sink {
    #[default]
    Stderr,
    /// A test's buffer. `'static` keeps `Diag` `Copy` and `Sync`; each test leaks one small
    /// buffer, which the binary never does.
    #[cfg(test)]
    Buffer(&'static std::sync::Mutex<Vec<u8>>),
}

impl Diag {
    pub fn new(verbose: u8) -> Diag {
        Diag {
            verbose,
            sink: Sink::Stderr,
        }
    }

    /// A `Diag` whose lines go to a buffer instead of stderr; [`Diag::captured`] reads it.
    #[cfg(test)]
    pub fn capture(verbose: u8) -> Diag {
        Diag {
            verbose,
            sink: Sink::Buffer(Box::leak(Box::new(std::sync::Mutex::new(Vec::new())))),
        }
    }

    /// What was written so far through a [`Diag::capture`] (empty for stderr).
    #[cfg(test)]
    pub fn captured(&self) -> String {
        match self.sink {
            Sink::Stderr => String::new(),
            Sink::Buffer(buf) => String::from_utf8_lossy(&buf.lock().unwrap()).into_owned(),
        }
    }

    pub fn verbose(&self) -> u8 {
        self.verbose
    }

    /// Something the user should know even when it works (a deprecated variable, an audience
    /// mismatch, a cache that cannot be used). One line each.
    pub fn warn(&self, message: impl AsRef<str>) {
        self.emit(&format!("aws-ci-creds: warning: {}", message.as_ref()));
    }

    /// A `-v` line.
    pub fn info(&self, message: impl AsRef<str>) {
        if self.verbose >= 1 {
            self.emit(&format!("aws-ci-creds: {}", message.as_ref()));
        }
    }

    /// A `-vv` line.
    pub fn debug(&self, message: impl AsRef<str>) {
        if self.verbose >= 2 {
            self.emit(&format!("aws-ci-creds: {}", message.as_ref()));
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
        self.emit(&text);
    }

    /// Plain text for a subcommand's human-facing report lines that belong on stderr
    /// (e.g. `trust-policy`'s companion command).
    pub fn plain(&self, message: impl AsRef<str>) {
        self.emit(message.as_ref());
    }

    fn emit(&self, line: &str) {
        // A closed stderr must not turn a working run into a failed one.
        match self.sink {
            Sink::Stderr => {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            }
            #[cfg(test)]
            Sink::Buffer(buf) => {
                let _ = writeln!(buf.lock().unwrap(), "{line}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_copy_writes_to_the_same_buffer_at_the_same_verbosity() {
        let diag = Diag::capture(1);
        let copy = diag;
        copy.warn("w");
        diag.info("i");
        copy.debug("not at -v");
        assert_eq!(
            diag.captured(),
            "aws-ci-creds: warning: w\naws-ci-creds: i\n"
        );
    }
}
