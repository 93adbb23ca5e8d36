//! The cache settings: on or off, which directory, the refresh margin. Also all the `cache`
//! subcommands resolve.

use std::path::PathBuf;

use crate::cli::CacheOptions;
use crate::env::Env;
use crate::error::Error;
use crate::setting::{Origin, Setting, vars};

use super::layer::{Key, checked, invalid, key, or_default};
use super::{DEFAULT_REFRESH_MARGIN_SECONDS, parse_duration};

/// Cache settings.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// False with `--no-cache` or `AWS_CI_CREDS_NO_CACHE=1`.
    pub enabled: Setting<bool>,
    /// The directory asked for; `None` means the default location.
    pub dir: Option<Setting<PathBuf>>,
    /// How much validity must be left for a cached entry to be served (before capping).
    pub refresh_margin: Setting<chrono::Duration>,
}

const REFRESH_MARGIN: Key = key("--refresh-margin", &[vars::REFRESH_MARGIN]);

impl CacheConfig {
    pub fn from_args(opts: &CacheOptions, env: &Env) -> Result<CacheConfig, Error> {
        let enabled = if opts.no_cache {
            Setting::new(false, Origin::Flag("--no-cache"))
        } else if let Some(v) = env.get(vars::NO_CACHE) {
            let off = matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on");
            Setting::new(!off, Origin::Env(vars::NO_CACHE))
        } else {
            Setting::new(true, Origin::Default)
        };
        // A path need not be UTF-8, so the variable is read as it is.
        let dir = match (&opts.cache_dir, env.get_os(vars::CACHE_DIR)) {
            (Some(d), _) => Some(Setting::new(d.clone(), Origin::Flag("--cache-dir"))),
            (None, Some(d)) => Some(Setting::new(PathBuf::from(d), Origin::Env(vars::CACHE_DIR))),
            (None, None) => None,
        };
        let margin = checked(env, &opts.refresh_margin, REFRESH_MARGIN, |raw| {
            let secs = parse_duration(&raw.value).filter(|s| *s <= 12 * 3600);
            let fix = "write e.g. 15m, 900 or 0";
            secs.map(|secs| chrono::Duration::seconds(secs as i64))
                .ok_or_else(|| invalid(raw, "is not a margin between 0 and 12h", fix))
        })?;
        let default_margin = chrono::Duration::seconds(DEFAULT_REFRESH_MARGIN_SECONDS);
        Ok(CacheConfig {
            enabled,
            dir,
            refresh_margin: or_default(margin, default_margin),
        })
    }
}

#[cfg(all(test, unix))] // a non-UTF-8 name is built from bytes
mod tests {
    use super::*;

    #[test]
    fn the_cache_settings_resolve_alone_with_their_origins() {
        use std::os::unix::ffi::OsStrExt;
        // A directory need not be UTF-8; another concern's wrong value is not checked here.
        let dir = std::ffi::OsStr::from_bytes(b"/tmp/caf\xe9");
        let env = Env::from_pairs([
            (std::ffi::OsStr::new(vars::CACHE_DIR), dir),
            (
                std::ffi::OsStr::new(vars::NO_CACHE),
                std::ffi::OsStr::new("on"),
            ),
            (
                std::ffi::OsStr::new(vars::DURATION),
                std::ffi::OsStr::new("soon"),
            ),
        ]);
        let got = CacheConfig::from_args(&CacheOptions::default(), &env).unwrap();
        assert_eq!(
            got.enabled,
            Setting::new(false, Origin::Env(vars::NO_CACHE))
        );
        let got_dir = got.dir.unwrap();
        assert_eq!(got_dir.value.as_os_str(), dir);
        assert_eq!(got_dir.origin, Origin::Env(vars::CACHE_DIR));
        assert_eq!(
            got.refresh_margin,
            Setting::new(chrono::Duration::minutes(15), Origin::Default)
        );

        let opts = CacheOptions {
            refresh_margin: Some("13h".into()),
            ..CacheOptions::default()
        };
        let e = CacheConfig::from_args(&opts, &Env::default()).unwrap_err();
        assert_eq!(
            e.message().what,
            "flag --refresh-margin is `13h`, which is not a margin between 0 and 12h"
        );
    }
}
