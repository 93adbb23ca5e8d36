//! File-system safety: ownership and permission checks, reads that refuse symlinks and odd files,
//! atomic writes, and removals.
//!
//! Every check is done on what was actually opened (`fstat` on the descriptor), not on a path
//! looked up beforehand, so swapping a file between the check and the read gains nothing.

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::CacheProblem;

/// Entries are a few KiB; anything larger is not ours.
pub(crate) const MAX_ENTRY_BYTES: u64 = 64 * 1024;

/// Identifies one file (not one path), to avoid pruning a file another process just replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(md: &fs::Metadata) -> FileId {
        FileId {
            dev: md.dev(),
            ino: md.ino(),
        }
    }
}

pub(crate) use crate::uid::euid;

/// Creates `dir` (and its parents) with mode 0700 when it is missing, then checks it.
pub(crate) fn prepare_dir(dir: &Path) -> Result<(), CacheProblem> {
    let created = match fs::symlink_metadata(dir) {
        Ok(_) => false,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| {
                    CacheProblem::new(
                        format!("could not create the cache directory {}: {e}", dir.display()),
                        format!(
                            "create it yourself (mkdir -m 700 {}) or point the cache at a writable directory",
                            dir.display()
                        ),
                    )
                })?;
            true
        }
        Err(e) => {
            return Err(CacheProblem::new(
                format!(
                    "could not inspect the cache directory {}: {e}",
                    dir.display()
                ),
                "point the cache at a directory of your own",
            ));
        }
    };
    check_dir(dir, created)
}

/// A real directory (not a symlink), owned by the effective user, that nobody else can write to.
/// A directory this process created must not be open to group or others at all.
fn check_dir(dir: &Path, created: bool) -> Result<(), CacheProblem> {
    let shown = dir.display();
    let md = fs::symlink_metadata(dir).map_err(|e| {
        CacheProblem::new(
            format!("could not inspect the cache directory {shown}: {e}"),
            "point the cache at a directory of your own",
        )
    })?;
    if md.file_type().is_symlink() {
        return Err(CacheProblem::new(
            format!("cache directory {shown} is a symlink"),
            "point the cache at the real directory, or replace the link with a directory (mkdir -m 700)",
        ));
    }
    if !md.is_dir() {
        return Err(CacheProblem::new(
            format!("cache directory {shown} is not a directory"),
            "remove it or point the cache at a directory",
        ));
    }
    let me = euid();
    if md.uid() != me {
        return Err(CacheProblem::new(
            format!(
                "cache directory {shown} is owned by uid {}, not by this user (uid {me})",
                md.uid()
            ),
            "point the cache at a directory of your own",
        ));
    }
    let mode = md.mode() & 0o7777;
    let writable_by = match (mode & 0o020 != 0, mode & 0o002 != 0) {
        (true, true) => Some("group and others"),
        (true, false) => Some("group"),
        (false, true) => Some("others"),
        (false, false) => None,
    };
    if let Some(who) = writable_by {
        return Err(CacheProblem::new(
            format!("cache directory {shown} is writable by {who} (mode {mode:04o})"),
            format!("chmod 700 {shown}"),
        ));
    }
    if created && mode & 0o077 != 0 {
        return Err(CacheProblem::new(
            format!("cache directory {shown} was created with mode {mode:04o}, not 0700"),
            format!("chmod 700 {shown}"),
        ));
    }
    Ok(())
}

/// The contents of the entry at `path`: `Ok(None)` when there is none, `Err(reason)` when what is
/// there must not be used. Refuses symlinks (`O_NOFOLLOW`), anything but a regular file (FIFOs are
/// opened non-blocking, so they cannot hang a run), files not owned by us or not mode 0600, and
/// files over [`MAX_ENTRY_BYTES`].
pub(crate) fn read_entry(path: &Path) -> Result<Option<(Vec<u8>, FileId)>, String> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err("is a symlink".into()),
        Err(e) => return Err(format!("could not be opened: {e}")),
    };
    let md = file
        .metadata()
        .map_err(|e| format!("could not be inspected: {e}"))?;
    check_entry_file(&md)?;
    if md.len() > MAX_ENTRY_BYTES {
        return Err(too_large(md.len()));
    }
    let mut bytes = Vec::with_capacity(md.len() as usize);
    file.take(MAX_ENTRY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("could not be read: {e}"))?;
    if bytes.len() as u64 > MAX_ENTRY_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(Some((bytes, FileId::of(&md))))
}

fn too_large(len: u64) -> String {
    format!("is too large ({len} bytes or more; entries are under 64 KiB)")
}

/// A regular file, owned by the effective user, mode exactly 0600.
fn check_entry_file(md: &fs::Metadata) -> Result<(), String> {
    if md.is_dir() {
        return Err("is a directory".into());
    }
    if !md.is_file() {
        return Err("is not a regular file".into());
    }
    let me = euid();
    if md.uid() != me {
        return Err(format!(
            "is owned by uid {}, not by this user (uid {me})",
            md.uid()
        ));
    }
    let mode = md.mode() & 0o7777;
    if mode != 0o600 {
        return Err(format!("has mode {mode:04o}, not 0600"));
    }
    Ok(())
}

/// Writes `bytes` to `target` so that a reader sees the old file or the new one, never a mix:
/// a 0600 temp file in the same directory, written, synced, then renamed over the target.
/// Whatever was at `target` (a damaged file, a symlink, a directory) is replaced.
pub(crate) fn write_atomic(dir: &Path, target: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .permissions(Permissions::from_mode(0o600))
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    // rename(2) cannot replace a directory with a file; a directory here is damage, and ours.
    if let Ok(md) = fs::symlink_metadata(target)
        && md.is_dir()
    {
        fs::remove_dir_all(target)?;
    }
    tmp.persist(target).map_err(|e| e.error)?;
    // Make the rename itself durable; losing it would only cost a cache miss, so errors are moot.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Removes `path` if it is still the file that was read as `id`.
pub(crate) fn remove_if_same(path: &Path, id: FileId) {
    if let Ok(md) = fs::symlink_metadata(path)
        && FileId::of(&md) == id
    {
        let _ = fs::remove_file(path);
    }
}

/// Removes whatever is at `path` without following symlinks. `Ok(false)` when nothing was there.
pub(crate) fn remove_path(path: &Path) -> io::Result<bool> {
    let result = match fs::symlink_metadata(path) {
        Ok(md) if md.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}
