//! One file per subcommand. Each exposes `run`, which takes the context, the [`Out`] it prints
//! through and the settings `app` resolved for it, and returns an [`Outcome`] or an
//! [`crate::error::Error`]. No command ends the process itself: `main` alone turns the outcome
//! into the exit status.
//!
//! [`Out`]: crate::output::Out

use crate::exit_code::ExitCode;

pub mod cache;
pub mod completions;
pub mod credentials;
#[cfg(feature = "demo")]
pub mod demo;
// Built without the emulator: the same `run`, saying how to get a build that has it.
#[cfg(not(feature = "demo"))]
#[path = "demo_absent.rs"]
pub mod demo;
pub mod doctor;
pub mod exec;
pub mod export;
pub mod serve;
pub mod setup;
pub mod trust_policy;

/// How a command that did not fail ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A code from our table: `Success`, or doctor's `CheckFailed`.
    Exit(ExitCode),
    /// `exec`'s command ended with this status (128 + the signal's number when a signal ended
    /// it on Unix; the 32-bit code on Windows): passed on as it is, it is the command's to
    /// define, not ours.
    Child(i32),
}

impl Outcome {
    pub const SUCCESS: Outcome = Outcome::Exit(ExitCode::Success);
}
