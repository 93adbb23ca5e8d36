//! The chain of hops a credential-mode run walks: the web-identity hop, then each `--chain` role
//! assumed with `sts:AssumeRole` signed by the hop before it. A chain is data: every hop has its
//! role, session name, duration and cache key (derived from the previous hop's key, so a change
//! anywhere earlier re-keys everything after it), and one routine serves them all.
//!
//! The hit path reads the last hop's entry only: one file, no runtime. A miss locks that hop's
//! key (single flight per hop), then asks for the previous hop the same way, so a stale later
//! hop with a fresh earlier one calls STS for the later hop only. Locks are always taken from the
//! last hop towards the first, so two runs can never wait on each other in a cycle.

use std::time::Instant;

use crate::cache::{self, Cache, CacheKey, Entry, EntryMeta, HopParts};
use crate::config::{Config, RoleArn};
use crate::context::Ctx;
use crate::credentials::Credentials;
use crate::error::{Error, Message};
use crate::source::TokenSource;
use crate::sts::{self, Backoff, ChainAttempt, ChainedRequest, SdkExchange};

use super::{Cached, Prepared, assume_request, exchange, finish, lookup, network, runtime};

/// One step of the chain.
pub(super) struct Hop {
    pub role: RoleArn,
    pub session_name: String,
    pub duration_seconds: u32,
    pub key: CacheKey,
    /// Session tags sent on this hop (none on the web-identity hop).
    pub tags: Vec<(String, String)>,
}

/// `--tag`s, then (with `--ci-tags`) the CI's facts for keys not given, fitted to STS's limits:
/// disallowed characters become `_`, values are cut to 256 characters, and the CI tags stop at
/// 50 tags in all.
fn session_tags(ctx: &Ctx, cfg: &Config, source: &dyn TokenSource) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = cfg.chain.tags.pairs().to_vec();
    if !cfg.chain.tags.ci_tags.value {
        return tags;
    }
    let facts = crate::source::ci_facts(source.kind(), &ctx.env);
    if facts.is_empty() {
        ctx.diag.warn(format!(
            "--ci-tags: {} has no CI facts to tag the session with",
            source.describe()
        ));
    }
    for (key, value) in facts {
        if tags.len() >= crate::config::MAX_TAGS {
            ctx.diag.warn(format!(
                "--ci-tags: {key} left out, the session already has 50 tags"
            ));
            continue;
        }
        if tags.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
            continue;
        }
        let value: String = value
            .chars()
            .map(|c| {
                if crate::config::is_tag_char(c) {
                    c
                } else {
                    '_'
                }
            })
            .take(crate::config::MAX_TAG_VALUE)
            .collect();
        tags.push((key.to_string(), value));
    }
    tags
}

/// The session name of hop `i` (0 is the web-identity hop): the job's, with `-hN` after it for
/// the later hops so every hop's session is told apart in CloudTrail, within STS's 64 characters.
fn hop_session_name(base: &str, i: usize) -> String {
    if i == 0 {
        return base.to_string();
    }
    let suffix = format!("-h{i}");
    let keep = 64usize.saturating_sub(suffix.len()).min(base.len());
    format!("{}{suffix}", &base[..keep])
}

/// The hops of this run, with their keys. Local only: a hit runs this and nothing more.
pub(super) fn plan(ctx: &Ctx, cfg: &Config, prepared: &Prepared, first: CacheKey) -> Vec<Hop> {
    let mut hops = vec![Hop {
        role: prepared.role.clone(),
        session_name: prepared.session_name.clone(),
        duration_seconds: cfg.role.duration_seconds.value,
        key: first,
        tags: Vec::new(),
    }];
    let tags = if cfg.chain.roles().is_empty() {
        Vec::new()
    } else {
        session_tags(ctx, cfg, prepared.source.as_ref())
    };
    let source_identity = cfg.chain.tags.source_identity.as_ref();
    let endpoint = cfg.network.sts_endpoint.value.cache_part();
    for (n, role) in cfg.chain.roles().iter().enumerate() {
        let session_name = hop_session_name(&prepared.session_name, n + 1);
        let duration_seconds = cfg.chain.duration_seconds.value;
        let previous = &hops[n].key;
        let key = CacheKey::chained(
            previous,
            &HopParts {
                role_arn: &role.arn,
                session_name: &session_name,
                duration_seconds,
                external_id: cfg.chain.external_id.as_ref().map(|s| s.value.as_str()),
                tags: &tags,
                transitive_tag_keys: cfg.chain.tags.transitive(),
                source_identity: source_identity.map(|s| s.value.as_str()),
                sts_endpoint: &endpoint,
                region: &cfg.network.region.value,
            },
        );
        hops.push(Hop {
            role: role.clone(),
            session_name,
            duration_seconds,
            key,
            tags: tags.clone(),
        });
    }
    hops
}

/// One credential-mode run over its hops.
pub(super) struct Run<'a> {
    pub ctx: &'a Ctx,
    pub cfg: &'a Config,
    pub prepared: &'a Prepared,
    pub cache: Option<Cache>,
    pub hops: Vec<Hop>,
    pub started: Instant,
}

impl Run<'_> {
    /// The last hop's credentials, after the account guard.
    pub fn obtain(&self) -> Result<Credentials, Error> {
        self.obtain_hop(self.hops.len() - 1, false)
    }

    /// Hop `i`'s credentials: from the cache when fresh (unless `force`), else from STS, stored.
    fn obtain_hop(&self, i: usize, force: bool) -> Result<Credentials, Error> {
        let (ctx, cfg) = (self.ctx, self.cfg);
        let hop = &self.hops[i];
        let last = i + 1 == self.hops.len();
        let margin = cache::refresh_margin(cfg.cache.refresh_margin.value, hop.duration_seconds);
        let mut stale = None;
        if let (Some(c), false) = (&self.cache, force) {
            match lookup(ctx, c, &hop.key, margin, "cache hit", true) {
                Cached::Fresh(creds) => return self.guarded(last, creds),
                Cached::Stale(creds) => stale = Some(creds),
                Cached::Miss => {}
            }
        }
        // Single flight per hop: the wait takes at most half the time left, so a stuck holder
        // still leaves time to exchange.
        let _lock = self.cache.as_ref().and_then(|c| {
            let wait = cfg
                .network
                .timeout
                .value
                .saturating_sub(self.started.elapsed())
                / 2;
            c.lock(&hop.key, wait)
                .map_err(|problem| {
                    ctx.diag
                        .warn(format!("exchanging without the cache lock: {problem}"))
                })
                .ok()
        });
        if let (Some(c), false) = (&self.cache, force) {
            let hit = "cache hit after waiting for another run";
            match lookup(ctx, c, &hop.key, margin, hit, false) {
                Cached::Fresh(creds) => return self.guarded(last, creds),
                Cached::Stale(creds) => stale = Some(creds),
                Cached::Miss => {}
            }
        }
        let fetched = if i == 0 {
            let p = self.prepared;
            assume_request(cfg, p.role.clone(), p.session_name.clone()).and_then(|request| {
                let token = p.token.clone();
                exchange(ctx, cfg, p.source.as_ref(), token, &request, self.started)
                    .map(|(creds, token)| (creds, Some(token.claims)))
            })
        } else {
            self.chained(i).map(|creds| (creds, None))
        };
        let (creds, claims) = match (fetched, stale) {
            (Ok(done), _) => done,
            // STS could not be reached, but the cached credentials are still valid: better a
            // shorter-lived answer than a failed job. A refusal is never papered over.
            (Err(e @ Error::Unavailable { .. }), Some(creds))
                if creds.remaining(ctx.clock.now()) > chrono::Duration::minutes(1) =>
            {
                ctx.diag.warn(format!(
                    "could not refresh the cached credentials ({}); serving them for the {} they have left",
                    e.message().what,
                    sts::human_duration(creds.remaining(ctx.clock.now()).num_seconds())
                ));
                return self.guarded(last, creds);
            }
            (Err(e), _) => return Err(e),
        };
        // Checked before the store: credentials for a refused account are never cached.
        let creds = self.guarded(last, creds)?;
        self.store(hop, &creds, claims.as_ref().or(self.prepared.claims()));
        Ok(creds)
    }

    /// The account guard, on the last hop's credentials only.
    fn guarded(&self, last: bool, creds: Credentials) -> Result<Credentials, Error> {
        if !last {
            return Ok(creds);
        }
        match self.cfg.guard.check(creds.account_id()) {
            Ok(()) => Ok(creds),
            Err(problem) => Err(Error::WrongAccount(
                Message::new(format!(
                    "refusing the credentials of {}: {problem}",
                    creds.assumed_role_arn
                ))
                .detail(format!(
                    "role asked for: {}",
                    self.hops.last().map_or("", |h| h.role.arn.as_str())
                ))
                .fix("check --role-arn and --chain point at the account this job should use, or correct --allowed-account-ids / --forbidden-account-ids"),
            )),
        }
    }

    fn store(&self, hop: &Hop, creds: &Credentials, claims: Option<&crate::jwt::Claims>) {
        let Some(cache) = &self.cache else {
            return;
        };
        let entry = Entry {
            meta: EntryMeta {
                role_arn: hop.role.arn.clone(),
                session_name: hop.session_name.clone(),
                issuer: claims.and_then(|c| c.iss.clone()).unwrap_or_default(),
                subject: claims.and_then(|c| c.sub.clone()).unwrap_or_default(),
                audience: claims.map(|c| c.aud_display()).unwrap_or_default(),
                source: self.prepared.source.kind().name().to_string(),
                created: self.ctx.clock.now(),
            },
            credentials: creds.clone(),
        };
        match cache.store(&hop.key, &entry) {
            Ok(()) => self
                .ctx
                .diag
                .info(format!("stored in the cache as {}", hop.key.as_str())),
            Err(problem) => self
                .ctx
                .diag
                .warn(format!("credentials not cached: {problem}")),
        }
    }

    /// Hop `i` (> 0) from STS, signed by hop `i - 1`. When STS says that session has expired
    /// (it outlived its cache entry, or expired mid-run), it is refreshed once and the hop tried
    /// once more; a second refusal is explained, not retried.
    fn chained(&self, i: usize) -> Result<Credentials, Error> {
        let previous_hop = &self.hops[i - 1];
        let request = chained_request(
            self.cfg,
            i,
            &previous_hop.role,
            &self.hops[i].session_name,
            self.hops[i].tags.clone(),
        )?;
        let previous = self.obtain_hop(i - 1, false)?;
        match assume(self.ctx, self.cfg, &request, &previous, self.started) {
            Err(e) if e.sts_code() == Some(sts::EXPIRED_SESSION) => {
                self.ctx.diag.info(format!(
                    "STS says the session of hop {} ({}) has expired: refreshing it once",
                    i - 1,
                    previous_hop.role.arn
                ));
                let previous = self.obtain_hop(i - 1, true)?;
                assume(self.ctx, self.cfg, &request, &previous, self.started)
            }
            other => other,
        }
    }
}

/// Hop `i`'s `AssumeRole` request, signed by a session of `previous_role`.
fn chained_request(
    cfg: &Config,
    i: usize,
    previous_role: &RoleArn,
    session_name: &str,
    tags: Vec<(String, String)>,
) -> Result<ChainedRequest, Error> {
    let chain = &cfg.chain;
    Ok(ChainedRequest {
        hop: i,
        role: chain.roles()[i - 1].clone(),
        previous_role: previous_role.clone(),
        session_name: session_name.to_string(),
        duration_seconds: chain.duration_seconds.value,
        external_id: chain.external_id.as_ref().map(|s| s.value.clone()),
        tags,
        transitive_tag_keys: chain.tags.transitive().to_vec(),
        source_identity: chain.tags.source_identity.as_ref().map(|s| s.value.clone()),
        endpoint: cfg.sts_endpoint_url()?,
        region: cfg.network.region.value.clone(),
    })
}

/// One chained hop as `doctor` reports it: the request, and what STS said.
pub struct ChainStep {
    pub request: ChainedRequest,
    pub outcome: Result<Credentials, Error>,
}

/// Walks every `--chain` hop from the web-identity hop's credentials, without the cache, up to
/// the first failure, for `doctor` (which reports each hop).
pub fn walk_chain(
    ctx: &Ctx,
    cfg: &Config,
    source: &dyn TokenSource,
    first: (&RoleArn, Credentials),
    first_session: &str,
    started: Instant,
) -> Result<Vec<ChainStep>, Error> {
    let tags = session_tags(ctx, cfg, source);
    let (mut previous_role, mut previous) = (first.0.clone(), first.1);
    let mut steps = Vec::new();
    for i in 1..=cfg.chain.roles().len() {
        let session_name = hop_session_name(first_session, i);
        let request = chained_request(cfg, i, &previous_role, &session_name, tags.clone())?;
        let outcome = assume(ctx, cfg, &request, &previous, started);
        let failed = outcome.is_err();
        if let Ok(creds) = &outcome {
            previous = creds.clone();
            previous_role = request.role.clone();
        }
        steps.push(ChainStep { request, outcome });
        if failed {
            break;
        }
    }
    Ok(steps)
}

/// One `AssumeRole`, through the run's network stack, within its deadline.
fn assume(
    ctx: &Ctx,
    cfg: &Config,
    request: &ChainedRequest,
    previous: &Credentials,
    started: Instant,
) -> Result<Credentials, Error> {
    let net = network(ctx, cfg)?;
    if let Ok(uri) = request.endpoint.parse::<hyper::Uri>() {
        ctx.diag
            .info(net.proxy.route(&uri).describe(&request.endpoint));
    }
    let sts_http = crate::net::SdkHttpClient::new(net)?;
    let runtime = runtime()?;
    let elapsed = started.elapsed();
    let remaining = cfg.network.timeout.value.saturating_sub(elapsed);
    let result = runtime.block_on(async {
        let exchange = SdkExchange::new(&request.endpoint, &request.region, sts_http);
        let now = tokio::time::Instant::now();
        let attempt = ChainAttempt {
            exchange: &exchange,
            diag: &ctx.diag,
            backoff: Backoff::default(),
            started: now - elapsed,
            deadline: now + remaining,
        };
        let creds = sts::assume_chained(&attempt, request, previous).await?;
        ctx.diag.info(format!(
            "assumed {} until {}",
            creds.assumed_role_arn,
            creds
                .expiration
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ));
        Ok(creds)
    });
    finish(runtime);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hop_has_its_own_session_name_within_the_64_characters_of_sts() {
        assert_eq!(hop_session_name("gl-1-2", 0), "gl-1-2");
        assert_eq!(hop_session_name("gl-1-2", 1), "gl-1-2-h1");
        let long = "x".repeat(64);
        let named = hop_session_name(&long, 12);
        assert_eq!(named.len(), 64);
        assert!(named.ends_with("-h12"));
        assert_ne!(hop_session_name(&long, 1), hop_session_name(&long, 2));
    }
}
