//! Single flight: one exclusive OS file lock per cache key, on `<key>.lock`.
//!
//! The lock is `flock(2)`-style (std's `File::lock` family), tied to the open file: it is released
//! when the [`CacheLock`] is dropped, and by the kernel when the process dies, even by SIGKILL, so
//! a crashed run never leaves a stale lock behind. std opens files close-on-exec, so a child
//! process (`exec`'s command) never inherits, and never prolongs, the lock. Lock files are never removed while in use:
//! removing one that another process holds would let a third process lock a fresh file beside it.

use std::fs::{self, File, TryLockError};
use std::hash::BuildHasher;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::CacheProblem;
use super::safety;
use crate::sys;

/// Holds the lock for one cache key until dropped.
#[derive(Debug)]
pub struct CacheLock {
    file: File,
    #[cfg_attr(not(test), allow(dead_code))] // named in tests and by Debug
    path: PathBuf,
    /// False when the file system does not support locking: the caller goes on without it.
    held: bool,
}

impl CacheLock {
    /// The lock file.
    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// False when locking is not supported where the cache lives, so nothing is actually held.
    #[cfg(test)]
    pub fn is_held(&self) -> bool {
        self.held
    }
}

impl Drop for CacheLock {
    fn drop(&mut self) {
        if self.held {
            // Closing the file releases the lock too; unlocking first just makes it prompt.
            let _ = self.file.unlock();
        }
    }
}

/// Takes the lock at `path`, polling every 5–25 ms (jittered, so waiters do not move in step)
/// until `wait` has passed.
pub(crate) fn acquire(path: &Path, wait: Duration) -> Result<CacheLock, CacheProblem> {
    let file = open_lock_file(path)?;
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(guard(file, path, true)),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) if e.kind() == io::ErrorKind::Unsupported => {
                return Ok(guard(file, path, false));
            }
            Err(TryLockError::Error(e)) => {
                return Err(CacheProblem::new(
                    format!("could not lock {}: {e}", path.display()),
                    "going on without the cache lock; check the file system the cache is on",
                ));
            }
        }
        let waited = start.elapsed();
        if waited >= wait {
            return Err(CacheProblem::new(
                format!(
                    "another run held the cache lock {} for the whole {:.1}s this run waited",
                    path.display(),
                    waited.as_secs_f64()
                ),
                "going on without the cache; if a process is stuck, end it",
            ));
        }
        std::thread::sleep(poll_interval().min(wait - waited));
    }
}

/// The lock at `path` if nobody holds it right now; `None` when it is held or cannot be taken.
pub(crate) fn try_acquire(path: &Path) -> Option<CacheLock> {
    let file = open_lock_file(path).ok()?;
    match file.try_lock() {
        Ok(()) => Some(guard(file, path, true)),
        Err(_) => None,
    }
}

fn guard(file: File, path: &Path, held: bool) -> CacheLock {
    CacheLock {
        file,
        path: path.to_path_buf(),
        held,
    }
}

/// Opens (creating it private) the lock file without following symlinks. Something that is not a
/// regular file at the lock path cannot be a lock anyone holds, so it is removed and replaced once.
fn open_lock_file(path: &Path) -> Result<File, CacheProblem> {
    let mut last_error = None;
    for _ in 0..2 {
        let opened = sys::fs::open_private_rw_no_follow(path);
        let not_a_file = match opened {
            Ok(file) => match file.metadata() {
                Ok(md) if md.is_file() => match sys::fs::foreign_owner(&file, &md) {
                    None => return Ok(file),
                    Some(owner) => {
                        return Err(CacheProblem::new(
                            format!("cache lock {} is {owner}", path.display()),
                            format!("remove it: {}", sys::fs::remove_hint(path)),
                        ));
                    }
                },
                Ok(_) => io::Error::other("not a regular file"),
                Err(e) => e,
            },
            Err(e) if sys::fs::is_not_a_file_error(&e) => e,
            Err(e) => {
                last_error = Some(e);
                break;
            }
        };
        last_error = Some(not_a_file);
        let _ = safety::remove_path(path);
    }
    let e = last_error.unwrap_or_else(|| io::Error::other("unknown error"));
    Err(CacheProblem::new(
        format!("could not open the cache lock {}: {e}", path.display()),
        format!(
            "check that {} is a directory you own and can write",
            path.parent().unwrap_or(Path::new(".")).display()
        ),
    ))
}

/// 5–25 ms, different for every call (std's `RandomState` is seeded randomly per instance).
fn poll_interval() -> Duration {
    let r = std::collections::hash_map::RandomState::new().hash_one(Instant::now());
    Duration::from_millis(5 + r % 21)
}

/// Removes the lock file at `path` while holding its lock; leaves it alone when someone holds it.
pub(crate) fn remove_unheld(path: &Path) -> io::Result<bool> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Ok(md) if !md.is_file() => return safety::remove_path(path),
        _ => {}
    }
    match try_acquire(path) {
        Some(lock) => {
            let removed = safety::remove_path(path);
            drop(lock);
            removed
        }
        None => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_interval_stays_within_5_to_25_ms() {
        for _ in 0..200 {
            let d = poll_interval();
            assert!(
                d >= Duration::from_millis(5) && d <= Duration::from_millis(25),
                "{d:?}"
            );
        }
    }

    #[cfg(unix)] // creating a symlink needs a privilege on Windows
    #[test]
    fn a_symlink_at_the_lock_path_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "keep").unwrap();
        let lock_path = dir.path().join("k.lock");
        std::os::unix::fs::symlink(&victim, &lock_path).unwrap();
        let lock = acquire(&lock_path, Duration::ZERO).unwrap();
        assert!(lock.is_held());
        assert!(fs::symlink_metadata(&lock_path).unwrap().is_file());
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
    }
}
