//! Replacing a config file atomically: a temp file in the same directory with the old file's mode
//! and owner, fsync, rename, fsync of the directory. A symlinked file (dotfile managers) is
//! written at its target, so the link stays a link.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Message};
use crate::sys;

/// Where writing `path` really goes: the symlink's target, followed to the end.
pub fn target(path: &Path) -> Result<PathBuf, Error> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).map_err(|e| {
            failed(
                format!(
                    "{} is a symlink whose target cannot be resolved",
                    path.display()
                ),
                e,
            )
        }),
        _ => Ok(path.to_path_buf()),
    }
}

fn failed(what: String, e: std::io::Error) -> Error {
    Error::Usage(Message::new(format!("{what}: {e}")).fix(
        "check the permissions of the AWS config file and its directory, or use --dry-run and edit the file yourself",
    ))
}

pub fn write_atomically(path: &Path, text: &str) -> Result<(), Error> {
    let target = target(path)?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.exists() {
        sys::fs::create_private_dir_all(&dir)
            .map_err(|e| failed(format!("could not create {}", dir.display()), e))?;
    }
    let old = std::fs::metadata(&target).ok();
    let mut tmp = tempfile::Builder::new()
        .prefix(".aws-ci-creds-setup.")
        .tempfile_in(&dir)
        .map_err(|e| {
            failed(
                format!("could not create a temporary file in {}", dir.display()),
                e,
            )
        })?;
    tmp.write_all(text.as_bytes())
        .and_then(|_| sys::fs::set_mode_like(tmp.as_file(), old.as_ref()))
        .map_err(|e| failed(format!("could not write {}", tmp.path().display()), e))?;
    if let Some(m) = &old {
        // Root editing a user's file must leave it that user's. Changing the owner needs
        // privilege; without it the file can only be ours, so say so instead of failing.
        if let Err((owner, e)) = sys::fs::set_owner_like(tmp.as_file(), m) {
            return Err(failed(
                format!(
                    "{} belongs to {owner} and could not be given back to it",
                    target.display(),
                ),
                e,
            ));
        }
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| failed(format!("could not write {}", tmp.path().display()), e))?;
    // Durable once the directory is synced too, which `replace` does where the platform needs it.
    sys::fs::replace(tmp, &target)
        .map_err(|e| failed(format!("could not replace {}", target.display()), e))
}

#[cfg(all(test, unix))] // symlinks and modes are Unix's
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_symlink_is_written_through_and_the_mode_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("dotfiles/aws-config");
        std::fs::create_dir_all(real.parent().unwrap()).unwrap();
        std::fs::write(&real, "old").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("config");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomically(&link, "new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        assert_eq!(
            std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let leftovers: Vec<_> = std::fs::read_dir(real.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "no temp file left: {leftovers:?}");
    }
}
