//! File-system safety: ownership and permission checks, reads that refuse symlinks and odd files,
//! atomic writes, and removals. The platform's part (owners, modes or ACLs, no-follow opens,
//! atomic replace) is `sys::fs`; this module decides what the cache does with it.
//!
//! Every check is done on what was actually opened (`fstat` on the descriptor, or the handle on
//! Windows), not on a path looked up beforehand, so swapping a file between the check and the
//! read gains nothing.

use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

use super::CacheProblem;
use crate::sys::{self, Refusal};

pub(crate) use sys::fs::FileId;

/// Entries are a few KiB; anything larger is not ours.
pub(crate) const MAX_ENTRY_BYTES: u64 = 64 * 1024;

impl From<Refusal> for CacheProblem {
    fn from(r: Refusal) -> CacheProblem {
        CacheProblem::new(r.what, r.fix)
    }
}

/// Creates `dir` (and its parents) private to this user when it is missing, then checks it.
pub(crate) fn prepare_dir(dir: &Path) -> Result<(), CacheProblem> {
    let created = match fs::symlink_metadata(dir) {
        Ok(_) => false,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            sys::fs::create_private_dir_all(dir).map_err(|e| {
                CacheProblem::new(
                    format!(
                        "could not create the cache directory {}: {e}",
                        dir.display()
                    ),
                    format!(
                        "create it yourself ({}) or point the cache at a writable directory",
                        sys::fs::create_private_dir_hint(dir)
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

/// A real directory (not a symlink), owned by this user, that nobody else can write to
/// (`sys::fs::check_private_dir` says what that means on each platform).
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
    Ok(sys::fs::check_private_dir(dir, &md, created)?)
}

/// The contents of the entry at `path`: `Ok(None)` when there is none, `Err(reason)` when what is
/// there must not be used. Refuses symlinks (`O_NOFOLLOW`), anything but a regular file (FIFOs are
/// opened non-blocking, so they cannot hang a run), files not owned by us or not mode 0600, and
/// files over [`MAX_ENTRY_BYTES`].
pub(crate) fn read_entry(path: &Path) -> Result<Option<(Vec<u8>, FileId)>, String> {
    let Some(file) = sys::fs::open_no_follow(path)? else {
        return Ok(None);
    };
    let md = file
        .metadata()
        .map_err(|e| format!("could not be inspected: {e}"))?;
    check_entry_file(&file, &md)?;
    if md.len() > MAX_ENTRY_BYTES {
        return Err(too_large(md.len()));
    }
    let mut bytes = Vec::with_capacity(md.len() as usize);
    (&file)
        .take(MAX_ENTRY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("could not be read: {e}"))?;
    if bytes.len() as u64 > MAX_ENTRY_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(Some((bytes, FileId::of_file(&file, &md))))
}

fn too_large(len: u64) -> String {
    format!("is too large ({len} bytes or more; entries are under 64 KiB)")
}

/// A regular file, owned by this user, private to it (mode exactly 0600 on Unix).
fn check_entry_file(file: &fs::File, md: &fs::Metadata) -> Result<(), String> {
    if md.is_dir() {
        return Err("is a directory".into());
    }
    if !md.is_file() {
        return Err("is not a regular file".into());
    }
    sys::fs::check_private_file(file, md)
}

/// Writes `bytes` to `target` so that a reader sees the old file or the new one, never a mix:
/// a private temp file in the same directory, written, synced, then renamed over the target.
/// Whatever was at `target` (a damaged file, a symlink, a directory) is replaced.
pub(crate) fn write_atomic(dir: &Path, target: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = sys::fs::private_tempfile(dir, ".tmp-")?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    // rename(2) cannot replace a directory with a file; a directory here is damage, and ours.
    if let Ok(md) = fs::symlink_metadata(target)
        && md.is_dir()
    {
        fs::remove_dir_all(target)?;
    }
    sys::fs::replace(tmp, target)
}

/// Removes `path` if it is still the file that was read as `id`.
pub(crate) fn remove_if_same(path: &Path, id: FileId) {
    if FileId::of_path(path) == Some(id) {
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
