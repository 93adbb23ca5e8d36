//! Unix: uids, modes, `O_NOFOLLOW`, signals and `fork`.

pub mod env;
pub mod fs;
pub mod process;
pub mod user;
