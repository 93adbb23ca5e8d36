//! Settings read from the active profile of the shared config file, the way the AWS SDKs read
//! them: `AWS_CONFIG_FILE` (else `~/.aws/config`), profile `AWS_PROFILE` (else `default`),
//! parsed by aws-runtime's own profile-file parser.
//!
//! Read on every run (the endpoint variants are part of the cache key), so this stays a plain
//! file read and a parse: the parser's loader is async in signature only, and is polled once
//! here with the contents already in memory, without a runtime.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::task::{Context, Poll, Waker};

use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use aws_runtime::env_config::section::EnvConfigSections;
use aws_types::os_shim_internal;

use crate::env::Env;

/// The keys this tool reads from the profile.
pub const KEYS: [&str; 3] = ["ca_bundle", "use_fips_endpoint", "use_dualstack_endpoint"];

/// The active profile's settings that matter to this tool.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileSettings {
    /// The profile's name.
    pub name: String,
    /// The config file it was read from.
    pub file: Option<PathBuf>,
    values: BTreeMap<&'static str, String>,
}

impl ProfileSettings {
    /// The active profile of `env`. A missing or unreadable file, or one the parser rejects,
    /// gives no settings: the SDKs that run this tool have already read the same file.
    pub fn load(env: &Env) -> ProfileSettings {
        let name = env.get("AWS_PROFILE").unwrap_or("default").to_string();
        let Some(path) = config_path(env) else {
            return ProfileSettings {
                name,
                ..Default::default()
            };
        };
        let contents = std::fs::read_to_string(&path).ok();
        let mut settings = contents
            .map(|c| ProfileSettings::parse(&name, &c))
            .unwrap_or_default();
        settings.name = name;
        settings.file = Some(path);
        settings
    }

    /// The settings of profile `name` in config-file `contents`.
    pub fn parse(name: &str, contents: &str) -> ProfileSettings {
        // The parser's first use costs ~0.1 ms (measured, release build), a tenth of a cache
        // hit: a file that names none of the keys cannot set them.
        let lower = contents.to_ascii_lowercase();
        if !KEYS.iter().any(|k| lower.contains(k)) {
            return ProfileSettings {
                name: name.to_string(),
                ..Default::default()
            };
        }
        let files = EnvConfigFiles::builder()
            .include_default_config_file(false)
            .include_default_credentials_file(false)
            .with_contents(EnvConfigFileKind::Config, contents.to_string())
            .build();
        let proc_env = os_shim_internal::Env::from_slice(&[("AWS_PROFILE", name)]);
        let fs = os_shim_internal::Fs::from_slice(&[]);
        let future = aws_runtime::env_config::source::load(&proc_env, &fs, &files);
        let mut future = std::pin::pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        let values = match future.as_mut().poll(&mut cx) {
            Poll::Ready(Ok(source)) => match EnvConfigSections::parse(source) {
                Ok(sections) => sections
                    .get_profile(name)
                    .map(|p| {
                        KEYS.iter()
                            .filter_map(|k| p.get(k).map(|v| (*k, v.trim().to_string())))
                            .filter(|(_, v)| !v.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
                Err(_) => BTreeMap::new(),
            },
            _ => BTreeMap::new(),
        };
        ProfileSettings {
            name: name.to_string(),
            file: None,
            values,
        }
    }

    /// A key's value (one of [`KEYS`]).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// A boolean key: `true`/`false` in any case, as the SDKs accept.
    #[cfg(test)]
    pub fn flag(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(parse_bool)
    }

    /// How a `-v` line or an error names a key of this profile.
    pub fn origin(&self, key: &str) -> String {
        match &self.file {
            Some(f) => format!("{key} in profile {} of {}", self.name, f.display()),
            None => format!("{key} in profile {}", self.name),
        }
    }

    /// A path value with `~/` expanded, relative to nothing (the SDKs do not resolve it either).
    pub fn path(&self, key: &str, env: &Env) -> Option<PathBuf> {
        self.get(key).map(|v| expand_home(v, env))
    }
}

/// `true`/`false`, ignoring case.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

fn config_path(env: &Env) -> Option<PathBuf> {
    if let Some(p) = env.get_os("AWS_CONFIG_FILE") {
        return Some(expand_home(&p.to_string_lossy(), env));
    }
    env.get_os(crate::sys::env::HOME)
        .map(|home| Path::new(home).join(".aws").join("config"))
}

fn expand_home(raw: &str, env: &Env) -> PathBuf {
    match (raw.strip_prefix("~/"), env.get_os(crate::sys::env::HOME)) {
        (Some(rest), Some(home)) => Path::new(home).join(rest),
        _ => PathBuf::from(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_active_profile_as_the_sdks_do() {
        let file = "[default]\nca_bundle = /etc/default.pem\n\n[profile ci] ; comment\nuse_fips_endpoint = TRUE\nca_bundle=~/corp.pem\n[ci]\nuse_fips_endpoint = false\n";
        let ci = ProfileSettings::parse("ci", file);
        assert_eq!(ci.flag("use_fips_endpoint"), Some(true));
        assert_eq!(ci.get("ca_bundle"), Some("~/corp.pem"));
        let env = Env::from_pairs([(crate::sys::env::HOME, "/home/u")]);
        assert_eq!(
            ci.path("ca_bundle", &env),
            Some(PathBuf::from("/home/u/corp.pem"))
        );
        let d = ProfileSettings::parse("default", file);
        assert_eq!(d.get("ca_bundle"), Some("/etc/default.pem"));
        assert_eq!(d.flag("use_fips_endpoint"), None);
        assert_eq!(ProfileSettings::parse("other", file).get("ca_bundle"), None);
        // A file the parser rejects gives nothing rather than failing the run.
        assert_eq!(
            ProfileSettings::parse("ci", "ca_bundle = /x.pem\n[ci\n").get("ca_bundle"),
            None
        );
    }

    #[test]
    fn config_file_follows_aws_config_file_then_home() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cfg");
        std::fs::write(&path, "[profile p]\nuse_dualstack_endpoint = true\n").unwrap();
        let env = Env::from_pairs([
            ("AWS_CONFIG_FILE", path.to_str().unwrap()),
            ("AWS_PROFILE", "p"),
        ]);
        let s = ProfileSettings::load(&env);
        assert_eq!(s.flag("use_dualstack_endpoint"), Some(true));
        assert!(s.origin("use_dualstack_endpoint").contains("profile p of"));
        let none = ProfileSettings::load(&Env::default());
        assert_eq!(none.name, "default");
        assert_eq!(none.get("ca_bundle"), None);
    }
}
