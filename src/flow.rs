//! The credential flow every command that hands out credentials shares (credential mode,
//! `exec`, `export`, `serve`, `doctor`'s exchange): detect the token source, look the identity up
//! in the cache, and on a miss lock, fetch a token, exchange it with STS and store the result;
//! with `--chain`, the same for every later hop (`flow/hops.rs`).
//!
//! The hit path stays synchronous: no async runtime, no SDK client, no TLS, no network. The
//! runtime is built only on a miss.

use std::time::Instant;

use crate::cache::{self, Cache, CacheKey, KeyParts, Lookup};
use crate::config::Config;
use crate::context::Ctx;
use crate::credentials::Credentials;
use crate::error::Error;
use crate::jwt::{Claims, Token};
use crate::net::NetworkSettings;
use crate::source::{self, Acquired, TokenSource, http};
use crate::sts::{self, AssumeRequest, Attempt, Backoff, SdkExchange};

/// What is known about the job before any network call.
pub struct Prepared {
    pub source: Box<dyn TokenSource>,
    /// The token, when the source has it locally.
    pub token: Option<Token>,
    /// Identifies the job's token in the cache key.
    pub job: String,
    pub role: crate::config::RoleArn,
    pub session_name: String,
}

impl Prepared {
    pub fn claims(&self) -> Option<&Claims> {
        self.token.as_ref().map(|t| &t.claims)
    }
}

/// The job's token source, why it was chosen, and the token when the source has it locally.
pub struct Detected {
    pub source: Box<dyn TokenSource>,
    /// Why detection picked this source ("GITLAB_CI=true").
    pub why: String,
    /// The token, when the source has it locally.
    pub token: Option<Token>,
    /// Identifies the job's token in the cache key.
    pub job: String,
}

/// Detects the token source and reads a local token. No network, no checks on the claims.
pub fn detect_token(ctx: &Ctx, cfg: &Config) -> Result<Detected, Error> {
    let (source, why) = source::detect(&cfg.source, &ctx.env, ctx.diag)?;
    ctx.diag.info(format!(
        "token source: {} (chosen because {why})",
        source.describe()
    ));
    if source.kind() == source::SourceKind::GitLab
        && source::gitlab_uses_legacy(&cfg.source, &ctx.env)
    {
        ctx.diag.warn("using CI_JOB_JWT_V2, which GitLab 17.0 removed: add `id_tokens:` to the job (see docs/ci/gitlab.md)");
    }
    let acquired = source.acquire().map_err(|e| {
        // A CI was detected but its set-up is missing while the pod also has a token: say how to
        // choose the pod's identity instead (detection never does so silently).
        match e {
            Error::Token(m)
                if cfg.source.kind.value.is_none()
                    && source.kind() != source::SourceKind::File
                    && cfg.source.explicit_token_file().is_none()
                    && cfg.source.token_file.is_some() =>
            {
                Error::Token(m.detail(
                    "AWS_WEB_IDENTITY_TOKEN_FILE is also set: to use the pod's service-account token instead, pass --source file",
                ))
            }
            other => other,
        }
    })?;
    let (token, job) = match acquired {
        Acquired::Local(token) => {
            let job = format!("sha256:{}", token.fingerprint());
            (Some(token), job)
        }
        Acquired::OnRequest { job } => (None, job),
    };
    Ok(Detected {
        source,
        why,
        token,
        job,
    })
}

/// Detects the source, reads a local token, checks it and settles the request. No network.
pub fn prepare(ctx: &Ctx, cfg: &Config) -> Result<Prepared, Error> {
    if ctx.diag.verbose() > 0 {
        for line in cfg.describe() {
            ctx.diag.info(line);
        }
    }
    let role = cfg.require_role()?.clone();
    cfg.chain.tags.check(!cfg.chain.roles().is_empty())?;
    let Detected {
        source, token, job, ..
    } = detect_token(ctx, cfg)?;
    if let Some(t) = &token {
        let c = &t.claims;
        ctx.diag.info(format!(
            "token claims: iss={} sub={} aud={} exp={}",
            c.iss.as_deref().unwrap_or("(none)"),
            c.sub.as_deref().unwrap_or("(none)"),
            c.aud_display(),
            c.expires_at()
                .map(|e| e.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default()
        ));
        sts::check_not_expired(c, ctx.clock.now(), source.as_ref())?;
        if !c.aud.is_empty() && !c.aud.iter().any(|a| a == &cfg.source.audience.value) {
            ctx.diag.warn(source.audience_mismatch(t, &cfg.source.audience.value).unwrap_or_else(|| format!(
                "the token's audience is {} but --audience is {} ({}); the IAM OIDC provider and trust policy must list the token's audience",
                c.aud_display(),
                cfg.source.audience.value,
                cfg.source.audience.origin
            )));
        }
    }
    let session_name = session_name(ctx, cfg, source.as_ref(), token.as_ref().map(|t| &t.claims));
    Ok(Prepared {
        source,
        token,
        job,
        role,
        session_name,
    })
}

/// The session name: the flag, else from the job.
pub fn session_name(
    ctx: &Ctx,
    cfg: &Config,
    source: &dyn TokenSource,
    claims: Option<&Claims>,
) -> String {
    let session_name = match &cfg.role.session_name {
        Some(s) => s.value.clone(),
        None => source
            .session_name(claims)
            .or_else(|| claims.and_then(source::session_name_from_claims))
            .unwrap_or_else(|| source::fallback_session_name(claims, ctx.clock.now())),
    };
    ctx.diag.info(format!("session name: {session_name}"));
    session_name
}

/// The `AssumeRoleWithWebIdentity` request for this role and session. Runs the SDK endpoint
/// rules (unless an endpoint was named), so only the miss path and doctor build one.
pub fn assume_request(
    cfg: &Config,
    role: crate::config::RoleArn,
    session_name: String,
) -> Result<AssumeRequest, Error> {
    Ok(AssumeRequest {
        role,
        session_name,
        duration_seconds: cfg.role.duration_seconds.value,
        policy: cfg.role.policy.as_ref().map(|p| p.value.clone()),
        policy_arns: cfg.role.policy_arns.clone(),
        endpoint: cfg.sts_endpoint_url()?,
        region: cfg.network.region.value.clone(),
    })
}

/// A token from a source that mints them on request (GitHub), within `--timeout`. Network.
pub fn mint(ctx: &Ctx, cfg: &Config, source: &dyn TokenSource) -> Result<Token, Error> {
    let net = network(ctx, cfg)?;
    let runtime = runtime()?;
    let result = runtime.block_on(async {
        let http = http::Client::new(net, cfg.network.timeout.value, ctx.diag)?;
        ctx.diag.info(format!(
            "requesting a token from {} (audience {})",
            source.describe(),
            cfg.source.audience.value
        ));
        match tokio::time::timeout(
            cfg.network.timeout.value,
            source.mint(&http, &cfg.source.audience.value),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(Error::unavailable(
                crate::error::Message::new(format!(
                    "{} did not answer within --timeout ({})",
                    source.describe(),
                    sts::human_duration(cfg.network.timeout.value.as_secs() as i64)
                ))
                .fix("retry the job; raise --timeout if the network is slow"),
                None,
            )),
        }
    });
    finish(runtime);
    result
}

/// Drops the runtime without waiting for its blocking threads: a DNS lookup stuck in
/// `getaddrinfo` past the deadline must not keep the process alive after it has its answer.
fn finish(runtime: tokio::runtime::Runtime) {
    runtime.shutdown_background();
}

/// The proxy and trust-root settings of this run, said at `-v`. Loads the CA bundle (once per
/// run), so a bad one fails here, before the runtime and any connection.
pub(crate) fn network<'a>(ctx: &Ctx, cfg: &'a Config) -> Result<&'a NetworkSettings, Error> {
    let net = cfg.network.connection(&ctx.env)?;
    for line in net.describe() {
        ctx.diag.info(line);
    }
    Ok(net)
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal("could not start the async runtime", e))
}

/// Credentials for the configured role (the last `--chain` role when chaining): from the cache
/// when fresh, else from STS; refused when the account guard says so.
pub fn obtain(ctx: &Ctx, cfg: &Config) -> Result<Credentials, Error> {
    let started = Instant::now();
    let prepared = prepare(ctx, cfg)?;
    let cache = open_cache(ctx, cfg);
    let first = cache_key(cfg, &prepared);
    let hops = hops::plan(ctx, cfg, &prepared, first);
    hops::Run {
        ctx,
        cfg,
        prepared: &prepared,
        cache,
        hops,
        started,
    }
    .obtain()
}

/// The cache to use for this run, after saying why (or why not).
fn open_cache(ctx: &Ctx, cfg: &Config) -> Option<Cache> {
    let selected = cache::select(&cfg.cache, &ctx.paths);
    let explicit = cfg.cache.dir.is_some();
    for (dir, problem) in &selected.refused {
        // Falling back from the default directory is routine (read-only home); say it only with -v.
        if explicit || selected.cache.is_none() {
            ctx.diag.warn(format!(
                "cache directory {} not used: {problem}",
                dir.display()
            ));
        } else {
            ctx.diag.info(format!(
                "cache directory {} not used: {problem}",
                dir.display()
            ));
        }
    }
    match &selected.cache {
        Some(cache) => ctx.diag.info(format!(
            "cache: {} ({})",
            cache.dir().display(),
            selected.reason
        )),
        None if cfg.cache.enabled.value => ctx
            .diag
            .warn("running without a cache: every run will call STS"),
        None => ctx.diag.info(selected.reason),
    }
    selected.cache
}

/// The cache key: everything that changes which credentials STS would return. The endpoint
/// enters as the rules' inputs, so a hit runs no endpoint rules.
fn cache_key(cfg: &Config, prepared: &Prepared) -> CacheKey {
    let claims = prepared.claims();
    let issuer = claims.and_then(|c| c.iss.as_deref()).unwrap_or("");
    let subject = claims.and_then(|c| c.sub.as_deref()).unwrap_or("");
    let audience = match claims {
        Some(c) => c.aud.join(","),
        None => cfg.source.audience.value.clone(),
    };
    CacheKey::derive(&KeyParts {
        role_arn: &prepared.role.arn,
        session_name: &prepared.session_name,
        duration_seconds: cfg.role.duration_seconds.value,
        policy: cfg.role.policy.as_ref().map(|p| p.value.as_str()),
        policy_arns: &cfg.role.policy_arns,
        sts_endpoint: &cfg.network.sts_endpoint.value.cache_part(),
        region: &cfg.network.region.value,
        issuer,
        subject,
        audience: &audience,
        job: &prepared.job,
    })
}

/// What the cache had for this key.
enum Cached {
    Fresh(Credentials),
    /// Inside the refresh margin: refreshed now, but still usable if STS cannot be reached.
    Stale(Credentials),
    Miss,
}

fn lookup(
    ctx: &Ctx,
    cache: &Cache,
    key: &CacheKey,
    margin: chrono::Duration,
    hit: &str,
    first: bool,
) -> Cached {
    let now = ctx.clock.now();
    match cache.lookup(key, now, margin) {
        Lookup::Fresh(entry) => {
            ctx.diag.info(format!(
                "{hit}: {} until {} ({} left)",
                entry.meta.role_arn,
                entry
                    .credentials
                    .expiration
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                sts::human_duration(entry.credentials.remaining(now).num_seconds())
            ));
            Cached::Fresh(entry.credentials)
        }
        Lookup::Stale(entry) => {
            if first {
                ctx.diag.info(format!(
                    "cached credentials have {} left, within the refresh margin of {}: exchanging again",
                    sts::human_duration(entry.credentials.remaining(now).num_seconds()),
                    sts::human_duration(margin.num_seconds())
                ));
            }
            Cached::Stale(entry.credentials)
        }
        Lookup::Miss => {
            if first {
                ctx.diag
                    .info("not in the cache: exchanging the token with STS");
            }
            Cached::Miss
        }
    }
}

/// The miss path: builds the async runtime, mints a token if needed, calls STS with retries.
pub fn exchange(
    ctx: &Ctx,
    cfg: &Config,
    source: &dyn TokenSource,
    token: Option<Token>,
    request: &AssumeRequest,
    started: Instant,
) -> Result<(Credentials, Token), Error> {
    let net = network(ctx, cfg)?;
    if let Ok(uri) = request.endpoint.parse::<hyper::Uri>() {
        ctx.diag
            .info(net.proxy.route(&uri).describe(&request.endpoint));
    }
    let sts_http = crate::net::SdkHttpClient::new(net)?;
    let runtime = runtime()?;
    let remaining = cfg.network.timeout.value.saturating_sub(started.elapsed());
    let result = runtime.block_on(async {
        let deadline = tokio::time::Instant::now() + remaining;
        let http = if token.is_none() || source.can_remint() {
            Some(http::Client::new(net, remaining, ctx.diag)?)
        } else {
            None
        };
        let exchange = SdkExchange::new(&request.endpoint, &request.region, sts_http);
        let attempt = Attempt {
            exchange: &exchange,
            source,
            http: http.as_ref(),
            clock: ctx.clock.as_ref(),
            diag: &ctx.diag,
            audience: &cfg.source.audience.value,
            backoff: Backoff::default(),
            started: tokio::time::Instant::now() - started.elapsed(),
            deadline,
        };
        let (creds, token) = sts::exchange(&attempt, request, token).await?;
        ctx.diag.info(format!(
            "assumed {} until {}",
            creds.assumed_role_arn,
            creds
                .expiration
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ));
        Ok((creds, token))
    });
    finish(runtime);
    result
}

mod hops;
pub use hops::walk_chain;

#[cfg(test)]
mod tests;
