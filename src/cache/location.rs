//! Which directory the cache uses, and why: `--cache-dir`, `AWS_CI_CREDS_CACHE_DIR`, the user
//! cache directory, or a per-user directory under the temp dir when the home cannot be used
//! (read-only or missing home). If none can be used the run goes on uncached.

use std::path::PathBuf;

use super::{Cache, CacheProblem};
use crate::config::CacheConfig;
use crate::context::Paths;

/// The outcome of choosing a cache directory.
#[derive(Debug)]
pub struct Selected {
    /// The cache to use, or none (disabled, or nothing usable).
    pub cache: Option<Cache>,
    /// Why this directory (or none) was chosen, for `-v` and `cache path`.
    pub reason: String,
    /// Directories that were tried and refused, with why. The caller warns about these.
    pub refused: Vec<(PathBuf, CacheProblem)>,
}

/// Opens the configured cache directory, falling back as the module docs say.
pub fn select(cfg: &CacheConfig, paths: &Paths) -> Selected {
    if !cfg.enabled.value {
        return Selected {
            cache: None,
            reason: format!("the cache is off ({})", cfg.enabled.origin),
            refused: Vec::new(),
        };
    }
    let mut candidates: Vec<(PathBuf, String)> = Vec::new();
    match &cfg.dir {
        Some(dir) => candidates.push((dir.value.clone(), format!("{}", dir.origin))),
        None => {
            if let Some(user) = &paths.user_cache_dir {
                candidates.push((
                    user.clone(),
                    "the user cache directory (default)".to_string(),
                ));
            }
            candidates.push((
                paths.temp_cache_dir.clone(),
                "fallback: per-user directory under the temp dir".into(),
            ));
        }
    }
    let mut refused = Vec::new();
    for (dir, why) in candidates {
        match Cache::open(&dir) {
            Ok(cache) => {
                return Selected {
                    cache: Some(cache),
                    reason: why,
                    refused,
                };
            }
            Err(problem) => refused.push((dir, problem)),
        }
    }
    Selected {
        cache: None,
        reason: "no usable cache directory".into(),
        refused,
    }
}
