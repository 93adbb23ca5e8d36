//! The effective user id: who owns the cache, and which per-user temp directory is ours. The one
//! place that asks the OS, so its `unsafe` block is written (and reviewed) once.

/// The process's effective user id (0 where the platform has none).
pub fn euid() -> u32 {
    #[cfg(unix)]
    {
        // SAFETY: geteuid takes no arguments, touches no memory and cannot fail.
        unsafe { libc::geteuid() }
    }
    #[cfg(not(unix))]
    {
        0
    }
}
