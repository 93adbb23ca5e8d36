//! `aws-ci-creds cache list|clear|path`: look inside the cache without ever showing a secret.

use serde::Serialize;

use crate::cache::{self, EntryState, Listed};
use crate::cli::{CacheAction, CacheArgs};
use crate::commands::Outcome;
use crate::config::{self, CacheConfig};
use crate::context::Ctx;
use crate::env::Env;
use crate::error::Error;
use crate::output::Out;
use crate::sts::human_duration;

/// The cache settings of `cache list|clear|path`.
pub fn settings(args: &CacheArgs, env: &Env) -> Result<CacheConfig, Error> {
    let opts = match &args.action {
        CacheAction::List { cache, .. }
        | CacheAction::Clear { cache, .. }
        | CacheAction::Path { cache } => cache,
    };
    // The subcommands look at the cache even when credential mode would not use it.
    let mut cfg = config::resolve_cache(opts, env)?;
    cfg.enabled.value = true;
    Ok(cfg)
}

pub fn run(
    ctx: &Ctx,
    out: &mut Out,
    cfg: &CacheConfig,
    args: &CacheArgs,
) -> Result<Outcome, Error> {
    let selected = cache::select(cfg, &ctx.paths);
    for (dir, problem) in &selected.refused {
        ctx.diag.warn(format!(
            "cache directory {} not used: {problem}",
            dir.display()
        ));
    }

    match &args.action {
        CacheAction::Path { .. } => {
            match &selected.cache {
                Some(c) => out.print(&format!("{}\t({})", c.dir().display(), selected.reason))?,
                None => return Err(no_cache_dir(&selected.refused)),
            }
            Ok(Outcome::SUCCESS)
        }
        CacheAction::List { json, .. } => {
            let Some(c) = &selected.cache else {
                return Err(no_cache_dir(&selected.refused));
            };
            let now = ctx.clock.now();
            let margin = cfg.refresh_margin.value;
            let entries = c.list(now, margin);
            if *json {
                #[derive(Serialize)]
                struct Listing<'a> {
                    directory: String,
                    entries: Vec<JsonEntry<'a>>,
                }
                #[derive(Serialize)]
                struct JsonEntry<'a> {
                    #[serde(flatten)]
                    listed: &'a Listed,
                    seconds_left: Option<i64>,
                }
                let listing = Listing {
                    directory: c.dir().display().to_string(),
                    entries: entries
                        .iter()
                        .map(|l| JsonEntry {
                            listed: l,
                            seconds_left: l.expiration.map(|e| (e - now).num_seconds()),
                        })
                        .collect(),
                };
                out.print_json(&listing)?;
            } else {
                out.print(&table(&entries, now))?;
            }
            Ok(Outcome::SUCCESS)
        }
        CacheAction::Clear { expired, .. } => {
            let Some(c) = &selected.cache else {
                return Err(no_cache_dir(&selected.refused));
            };
            let removed = c
                .clear(*expired, ctx.clock.now())
                .map_err(|p| Error::usage(p.what, p.fix))?;
            if removed.is_empty() {
                out.print(&format!("nothing to remove in {}", c.dir().display()))?;
            }
            for r in &removed {
                let who = r
                    .meta
                    .as_ref()
                    .map(|m| format!(" ({}, session {})", m.role_arn, m.session_name))
                    .unwrap_or_default();
                out.print(&format!("removed {}{who}", r.file))?;
            }
            Ok(Outcome::SUCCESS)
        }
    }
}

fn no_cache_dir(refused: &[(std::path::PathBuf, cache::CacheProblem)]) -> Error {
    let reasons: Vec<String> = refused
        .iter()
        .map(|(d, p)| format!("{}: {p}", d.display()))
        .collect();
    Error::usage(
        format!("no usable cache directory ({})", reasons.join("; ")),
        "pass --cache-dir DIR (a directory you own, mode 0700) or set AWS_CI_CREDS_CACHE_DIR",
    )
}

fn table(entries: &[Listed], now: chrono::DateTime<chrono::Utc>) -> String {
    if entries.is_empty() {
        return "no cached credentials".into();
    }
    let header = [
        "ROLE",
        "SESSION",
        "SUBJECT",
        "ISSUER",
        "EXPIRES (UTC)",
        "LEFT",
        "STATE",
        "KEY",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for l in entries {
        let m = l.meta.as_ref();
        let field = |f: fn(&cache::EntryMeta) -> &String| {
            m.map(|m| f(m).clone()).unwrap_or_else(|| "-".into())
        };
        let state = match &l.state {
            EntryState::Fresh => "fresh".to_string(),
            EntryState::DueForRefresh => "due for refresh".to_string(),
            EntryState::Expired => "expired".to_string(),
            EntryState::Damaged(why) => format!("damaged: {why} ({})", l.file),
        };
        rows.push(vec![
            field(|m| &m.role_arn),
            field(|m| &m.session_name),
            field(|m| &m.subject),
            field(|m| &m.issuer),
            l.expiration
                .map(|e| e.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_else(|| "-".into()),
            l.expiration
                .map(|e| {
                    let left = (e - now).num_seconds();
                    if left > 0 {
                        human_duration(left)
                    } else {
                        "-".into()
                    }
                })
                .unwrap_or_else(|| "-".into()),
            state,
            l.access_key_hint.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    rows.iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}
