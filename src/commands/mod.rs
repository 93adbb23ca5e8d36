//! One file per subcommand. Each exposes `run`, takes the context and resolved settings, and
//! returns the exit code or an [`crate::error::Error`].

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
