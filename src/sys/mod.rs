//! The platform seam: everything that differs between Unix and Windows, one module per concern,
//! with the same names and signatures on each platform (the way std keeps `sys/unix` and
//! `sys/windows`, and cargo-util its `paths` and `process_builder`). The platform is chosen here,
//! once; the logic above calls `sys::…` and has no `cfg` of its own.
//!
//! - [`user`]: who this process runs as, and the name of its per-user temp directory.
//! - [`fs`]: private directories and files (the cache's owner and permission checks, opens that
//!   never follow a link, atomic replace), the config file's mode and owner.
//! - [`process`]: `exec`'s child (signals or console events, exit codes), `serve`'s stop and
//!   `--detach`.
//! - [`env`]: the home variable and `PATH` look-ups.
//!
//! On Windows every cache check that cannot be made refuses the cache (a warning and an
//! uncached run): a missing piece must never mean a silently unprotected cache.

#[cfg_attr(unix, path = "unix/mod.rs")]
#[cfg_attr(windows, path = "windows/mod.rs")]
mod imp;

pub use imp::{env, fs, process, user};

/// Why a directory or file must not hold the cache: what is wrong, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub what: String,
    pub fix: String,
}

impl Refusal {
    pub fn new(what: impl Into<String>, fix: impl Into<String>) -> Refusal {
        Refusal {
            what: what.into(),
            fix: fix.into(),
        }
    }
}
