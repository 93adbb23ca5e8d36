//! The home directory's variable and program look-ups on `PATH` with `PATHEXT`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// botocore (Python 3.8 and later) and the Go SDK expand `~` with `USERPROFILE` on Windows;
/// `HOME` is often Git Bash's or MSYS's, not the profile the SDKs read.
pub const HOME: &str = "USERPROFILE";

/// cmd.exe's own default when `PATHEXT` is not set.
const DEFAULT_PATHEXT: &str = ".COM;.EXE;.BAT;.CMD";

/// True when `program` names a path rather than a name to look up on `PATH`.
pub fn is_path(program: &str) -> bool {
    program.contains(['/', '\\', ':'])
}

/// The first file called `name` in a PATH-style list, trying each `PATHEXT` extension when
/// `name` has none (`az` is `az.cmd`).
pub fn find_file_in_path(path: &OsStr, pathext: Option<&OsStr>, name: &str) -> Option<PathBuf> {
    let pathext = pathext
        .and_then(OsStr::to_str)
        .unwrap_or(DEFAULT_PATHEXT)
        .to_string();
    let with_ext = Path::new(name).extension().is_some();
    std::env::split_paths(path).find_map(|dir| {
        let exact = dir.join(name);
        if with_ext {
            return exact.is_file().then_some(exact);
        }
        pathext
            .split(';')
            .filter(|e| !e.is_empty())
            .map(|ext| dir.join(format!("{name}{}", ext.to_ascii_lowercase())))
            .chain(std::iter::once(exact))
            .find(|c| c.is_file())
    })
}

/// What to start for `program`: std looks a bare name up as `name.exe` only, so `az` (which is
/// `az.cmd`) is found here through `PATHEXT` first; std then runs a `.cmd` through cmd.exe.
pub fn program_path(program: &str, path: Option<&OsStr>, pathext: Option<&OsStr>) -> PathBuf {
    if is_path(program) {
        return PathBuf::from(program);
    }
    path.and_then(|p| find_file_in_path(p, pathext, program))
        .unwrap_or_else(|| PathBuf::from(program))
}

/// The first `name` on `PATH` that Windows would run.
#[cfg_attr(not(feature = "demo"), allow(dead_code))] // `demo` looks for `sh`
pub fn find_in_path(path: Option<&OsStr>, name: &str) -> Option<PathBuf> {
    find_file_in_path(path?, None, name)
}

/// Windows has no execute bit: what runs is decided by the extension.
pub fn is_executable(_md: &std::fs::Metadata) -> bool {
    true
}

/// How to make a file runnable, for a fix line.
pub fn make_executable_hint(path: &Path) -> String {
    format!("give {} an .exe or .cmd extension", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_without_extension_is_found_through_pathext() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("helper.cmd"), "@echo off\r\n").unwrap();
        let path = dir.path().as_os_str();
        assert_eq!(
            find_file_in_path(path, Some(OsStr::new(".EXE;.CMD")), "helper"),
            Some(dir.path().join("helper.cmd"))
        );
        assert_eq!(
            find_file_in_path(path, Some(OsStr::new(".EXE")), "helper"),
            None
        );
        assert_eq!(
            find_file_in_path(path, None, "helper.cmd"),
            Some(dir.path().join("helper.cmd"))
        );
        assert!(is_path(r"C:\tools\helper.cmd") && is_path("./x") && !is_path("helper"));
    }
}
