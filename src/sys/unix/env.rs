//! The home directory's variable and program look-ups on `PATH`.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The variable the SDKs expand `~` with.
pub const HOME: &str = "HOME";

/// True when `program` names a path rather than a name to look up on `PATH`.
pub fn is_path(program: &str) -> bool {
    program.contains('/')
}

/// The first file called `name` in a PATH-style list of directories (executable or not, so a
/// caller can say which is wrong). `PATHEXT` means nothing here.
pub fn find_file_in_path(path: &OsStr, _pathext: Option<&OsStr>, name: &str) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|d| d.join(name))
        .find(|c| c.is_file())
}

/// What to start for `program`: the name itself, which `execvp` looks up on `PATH`.
pub fn program_path(program: &str, _path: Option<&OsStr>, _pathext: Option<&OsStr>) -> PathBuf {
    PathBuf::from(program)
}

/// The first `name` in a PATH-style list of directories, as `execvp` would find it; with no
/// PATH, the C library's default directories.
#[cfg_attr(not(feature = "demo"), allow(dead_code))] // `demo` looks for `sh`
pub fn find_in_path(path: Option<&OsStr>, name: &str) -> Option<PathBuf> {
    let default = OsStr::new("/usr/local/bin:/bin:/usr/bin");
    std::env::split_paths(path.unwrap_or(default))
        .map(|dir| dir.join(name))
        .find(|p| p.metadata().is_ok_and(|m| m.is_file() && is_executable(&m)))
}

/// Whether a file's mode lets anyone execute it.
pub fn is_executable(md: &std::fs::Metadata) -> bool {
    md.permissions().mode() & 0o111 != 0
}

/// How to make a file executable, for a fix line.
pub fn make_executable_hint(path: &Path) -> String {
    format!("chmod +x {}", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_in_path_finds_only_executable_files() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(b.join("sh")).unwrap(); // a directory named sh does not count
        std::fs::write(a.join("sh"), "").unwrap();
        let path = std::env::join_paths([&b, &a]).unwrap();
        assert_eq!(find_in_path(Some(&path), "sh"), None, "not executable yet");
        std::fs::set_permissions(a.join("sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_in_path(Some(&path), "sh"), Some(a.join("sh")));
        assert_eq!(find_in_path(Some(std::ffi::OsStr::new("")), "sh"), None);
    }
}
