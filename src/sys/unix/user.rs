//! The effective user id: who owns the cache, and which per-user temp directory is ours.

/// The process's effective user id.
pub fn euid() -> u32 {
    // SAFETY: geteuid takes no arguments, touches no memory and cannot fail.
    unsafe { libc::geteuid() }
}

/// The temp directory is shared by every user: ours carries the uid.
pub fn temp_cache_dir_name() -> String {
    format!("aws-ci-creds-{}", euid())
}
