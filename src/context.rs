//! The run's context: the environment snapshot, the clock, diagnostics and the machine paths.
//! `Ctx::real()` is the one place that reads the ambient process state; tests build their own.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::clock::{Clock, SystemClock};
use crate::diag::Diag;
use crate::env::Env;

/// Paths that depend on the machine, resolved once.
#[derive(Debug, Clone, Default)]
pub struct Paths {
    /// The user cache directory for this tool (`~/.cache/aws-ci-creds` on Linux), if there is a home.
    pub user_cache_dir: Option<PathBuf>,
    /// A per-user directory under the temp dir, for when the user cache dir cannot be used.
    pub temp_cache_dir: PathBuf,
    /// This executable, for `setup` and `demo`.
    pub current_exe: Option<PathBuf>,
}

pub struct Ctx {
    pub env: Env,
    pub clock: Box<dyn Clock>,
    pub diag: Diag,
    pub paths: Paths,
}

impl Ctx {
    pub fn real(verbose: u8) -> Ctx {
        let env = Env::real();
        Ctx {
            paths: Paths {
                user_cache_dir: directories::ProjectDirs::from("", "", "aws-ci-creds")
                    .map(|d| d.cache_dir().to_path_buf()),
                #[allow(clippy::disallowed_methods)]
                temp_cache_dir: std::env::temp_dir().join(crate::sys::user::temp_cache_dir_name()),
                current_exe: std::env::current_exe().ok().or_else(|| {
                    let argv0 = std::env::args_os().next()?;
                    exe_from_argv0(&argv0, std::env::current_dir().ok().as_deref())
                }),
            },
            env,
            clock: Box::new(SystemClock),
            diag: Diag::new(verbose),
        }
    }
}

/// This executable's path when `/proc/self/exe` cannot say (an empty root or a container
/// without `/proc`): argv[0] when it is a path, made absolute against the working directory.
/// A bare name (found through `PATH`) gives nothing: it would be a guess.
pub fn exe_from_argv0(argv0: &OsStr, cwd: Option<&Path>) -> Option<PathBuf> {
    let path = Path::new(argv0);
    if path.is_absolute() {
        Some(path.to_path_buf())
    } else if path.components().count() > 1 {
        Some(cwd?.join(path))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv0_that_is_a_path_names_the_executable_without_proc() {
        let cwd = Path::new("/build dir");
        assert_eq!(
            exe_from_argv0(OsStr::new("/aws-ci-creds"), Some(cwd)),
            Some(PathBuf::from("/aws-ci-creds"))
        );
        assert_eq!(
            exe_from_argv0(OsStr::new("./aws-ci-creds"), Some(cwd)),
            Some(PathBuf::from("/build dir/./aws-ci-creds"))
        );
        assert_eq!(
            exe_from_argv0(OsStr::new("bin/aws-ci-creds"), Some(cwd)),
            Some(PathBuf::from("/build dir/bin/aws-ci-creds"))
        );
    }

    #[test]
    fn bare_argv0_or_no_working_directory_gives_no_guess() {
        assert_eq!(
            exe_from_argv0(OsStr::new("aws-ci-creds"), Some(Path::new("/"))),
            None
        );
        assert_eq!(exe_from_argv0(OsStr::new("bin/aws-ci-creds"), None), None);
        assert_eq!(exe_from_argv0(OsStr::new(""), Some(Path::new("/"))), None);
    }
}
