//! One file per subcommand. Each exposes `run`, takes the context and resolved settings, and
//! returns the exit code or an [`crate::error::Error`].

pub mod cache;
pub mod credentials;
pub mod demo;
