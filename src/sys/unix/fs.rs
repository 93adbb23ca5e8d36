//! Private directories and files on Unix: owned by the effective uid, mode 0700/0600, opened with
//! `O_NOFOLLOW` and checked with `fstat` on the descriptor, replaced by rename and made durable
//! with a directory fsync.

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::user::euid;
use crate::sys::Refusal;

/// Identifies one file (not one path), to avoid removing a file another process just replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// The file an open handle refers to.
    pub fn of_file(_file: &File, md: &fs::Metadata) -> FileId {
        FileId::of(md)
    }

    /// The file at `path` itself (a link is not followed), if there is one.
    pub fn of_path(path: &Path) -> Option<FileId> {
        fs::symlink_metadata(path).ok().map(|md| FileId::of(&md))
    }

    fn of(md: &fs::Metadata) -> FileId {
        FileId {
            dev: md.dev(),
            ino: md.ino(),
        }
    }
}

/// Creates `dir` and its missing parents with mode 0700.
pub fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// How to create the directory by hand, for a fix line.
pub fn create_private_dir_hint(dir: &Path) -> String {
    format!("mkdir -m 700 {}", dir.display())
}

/// Owned by the effective user and writable by nobody else; a directory this process created
/// must not be open to group or others at all. `md` is the directory's own (not followed)
/// metadata.
pub fn check_private_dir(dir: &Path, md: &fs::Metadata, created: bool) -> Result<(), Refusal> {
    let shown = dir.display();
    let me = euid();
    if md.uid() != me {
        return Err(Refusal::new(
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
        return Err(Refusal::new(
            format!("cache directory {shown} is writable by {who} (mode {mode:04o})"),
            format!("chmod 700 {shown}"),
        ));
    }
    if created && mode & 0o077 != 0 {
        return Err(Refusal::new(
            format!("cache directory {shown} was created with mode {mode:04o}, not 0700"),
            format!("chmod 700 {shown}"),
        ));
    }
    Ok(())
}

/// Opens `path` for reading without following a symlink; a FIFO is opened non-blocking so it
/// cannot hang the run. `Ok(None)` when nothing is there; `Err(reason)` when what is there must
/// not be read.
pub fn open_no_follow(path: &Path) -> Result<Option<File>, String> {
    match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(file) => Ok(Some(file)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => Err("is a symlink".into()),
        Err(e) => Err(format!("could not be opened: {e}")),
    }
}

/// Opens (creating it private when missing) `path` for reading and writing without following a
/// symlink, and without blocking on a FIFO.
pub fn open_private_rw_no_follow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

/// True when opening failed because something other than a file is at the path (a symlink or a
/// directory), which may be removed and replaced.
pub fn is_not_a_file_error(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP) || e.raw_os_error() == Some(libc::EISDIR)
}

/// `Some("owned by uid N, not by this user (uid M)")` when the open file is someone else's.
pub fn foreign_owner(_file: &File, md: &fs::Metadata) -> Option<String> {
    let me = euid();
    (md.uid() != me).then(|| format!("owned by uid {}, not by this user (uid {me})", md.uid()))
}

/// A cache entry must be ours and mode exactly 0600.
pub fn check_private_file(file: &File, md: &fs::Metadata) -> Result<(), String> {
    if let Some(owner) = foreign_owner(file, md) {
        return Err(format!("is {owner}"));
    }
    let mode = md.mode() & 0o7777;
    if mode != 0o600 {
        return Err(format!("has mode {mode:04o}, not 0600"));
    }
    Ok(())
}

/// Makes `options` create a file only its owner can read and write.
pub fn private(options: &mut OpenOptions) -> &mut OpenOptions {
    options.mode(0o600)
}

/// A temp file in `dir` (the target's directory, so a rename can replace the target), mode 0600.
pub fn private_tempfile(dir: &Path, prefix: &str) -> io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(prefix)
        .permissions(Permissions::from_mode(0o600))
        .tempfile_in(dir)
}

/// Renames the synced temp file over `target` (rename(2) is atomic: readers see the old file or
/// the new one), then makes the rename durable by syncing the directory; losing that would only
/// cost a cache miss, so its errors are moot.
pub fn replace(tmp: tempfile::NamedTempFile, target: &Path) -> io::Result<()> {
    tmp.persist(target).map_err(|e| e.error)?;
    if let Some(dir) = target.parent()
        && let Ok(d) = File::open(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The permission bits a replacement of a file with metadata `old` gets (0600 for a new file).
pub fn set_mode_like(file: &File, old: Option<&fs::Metadata>) -> io::Result<()> {
    let mode = old.map_or(0o600, |m| m.permissions().mode() & 0o7777);
    file.set_permissions(Permissions::from_mode(mode))
}

/// Gives the replacement the old file's owner. Root editing a user's file must leave it that
/// user's; without privilege the file can only be ours, which is fine when it already was.
/// `Err((owner, error))` names the owner that could not be restored.
pub fn set_owner_like(file: &File, old: &fs::Metadata) -> Result<(), (String, io::Error)> {
    match std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid())) {
        Err(e) if old.uid() != euid() => Err((format!("uid {}", old.uid()), e)),
        _ => Ok(()),
    }
}

/// Opens a token file for reading. A FIFO with no writer would block `open(2)` forever (and this
/// happens before the run's deadline applies), so anything but a regular file is opened
/// non-blocking and then read normally: a pipe that has a writer (`--token-file <(cmd)`) gives
/// the writer's output, one that has none reads as empty.
pub fn open_without_blocking(path: &Path, meta: &fs::Metadata) -> io::Result<File> {
    if meta.is_file() {
        return File::open(path);
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this function owns; F_GETFL/F_SETFL take and return ints.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags >= 0 {
        // SAFETY: as above.
        unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) };
    }
    Ok(file)
}

/// How to remove a file by hand, for a fix line.
pub fn remove_hint(path: &Path) -> String {
    format!("rm {}", path.display())
}

/// The absolute path with every link resolved.
pub fn canonicalize(path: &Path) -> io::Result<std::path::PathBuf> {
    fs::canonicalize(path)
}
