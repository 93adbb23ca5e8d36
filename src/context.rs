//! The run's context: the environment snapshot, the clock, diagnostics and the machine paths.
//! `Ctx::real()` is the one place that reads the ambient process state; tests build their own.

use std::path::PathBuf;

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
                temp_cache_dir: std::env::temp_dir()
                    .join(format!("aws-ci-creds-{}", crate::uid::euid())),
                current_exe: std::env::current_exe().ok(),
            },
            env,
            clock: Box::new(SystemClock),
            diag: Diag::new(verbose),
        }
    }
}
