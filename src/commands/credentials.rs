//! Credential mode, the default command: a token, an exchange (or a cache hit), and the
//! credential_process JSON on stdout.
//!
//! The hit path stays synchronous: no async runtime, no SDK client, no TLS, no network. The
//! runtime is built only on a miss.

use std::time::Instant;

use crate::config::Config;
use crate::context::Ctx;
use crate::credentials::Credentials;
use crate::error::Error;
use crate::jwt::{Claims, Token};
use crate::source::{self, Acquired, TokenSource, http};
use crate::sts::{self, AssumeRequest, Attempt, Backoff, SdkExchange};
use crate::output;

/// Prints credentials for the configured role.
pub fn run(ctx: &Ctx, cfg: &Config) -> Result<(), Error> {
    let creds = obtain(ctx, cfg)?;
    output::print_process_json(&creds)
}

/// What is known about the job before any network call.
pub struct Prepared {
    pub source: Box<dyn TokenSource>,
    /// The token, when the source has it locally.
    pub token: Option<Token>,
    /// Identifies the job's token in the cache key.
    pub job: String,
    pub request: AssumeRequest,
}

impl Prepared {
    pub fn claims(&self) -> Option<&Claims> {
        self.token.as_ref().map(|t| &t.claims)
    }
}

/// Detects the source, reads a local token, checks it and settles the request. No network.
pub fn prepare(ctx: &Ctx, cfg: &Config) -> Result<Prepared, Error> {
    for line in cfg.describe() {
        ctx.diag.info(line);
    }
    let role = cfg.require_role()?.clone();
    let (source, why) = source::detect(cfg, &ctx.env)?;
    ctx.diag.info(format!("token source: {} (chosen because {why})", source.describe()));
    if source.kind() == source::SourceKind::GitLab && source::gitlab_uses_legacy(cfg, &ctx.env) {
        ctx.diag.warn("using CI_JOB_JWT_V2, which GitLab 17.0 removed: add `id_tokens:` to the job (see docs/gitlab.md)");
    }
    let (token, job) = match source.acquire()? {
        Acquired::Local(token) => {
            let job = format!("sha256:{}", token.fingerprint());
            (Some(token), job)
        }
        Acquired::OnRequest { job } => (None, job),
    };
    if let Some(t) = &token {
        let c = &t.claims;
        ctx.diag.info(format!(
            "token claims: iss={} sub={} aud={} exp={}",
            c.iss.as_deref().unwrap_or("(none)"),
            c.sub.as_deref().unwrap_or("(none)"),
            c.aud_display(),
            c.expires_at().map(|e| e.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).unwrap_or_default()
        ));
        sts::check_not_expired(c, ctx.clock.now(), source.as_ref())?;
        if !c.aud.is_empty() && !c.aud.iter().any(|a| a == &cfg.audience.value) {
            ctx.diag.warn(format!(
                "the token's audience is {} but --audience is {} ({}); the IAM OIDC provider and trust policy must list the token's audience",
                c.aud_display(),
                cfg.audience.value,
                cfg.audience.origin
            ));
        }
    }
    let session_name = match &cfg.session_name {
        Some(s) => s.value.clone(),
        None => source
            .session_name(token.as_ref().map(|t| &t.claims))
            .unwrap_or_else(|| source::fallback_session_name(token.as_ref().map(|t| &t.claims), ctx.clock.now())),
    };
    ctx.diag.info(format!("session name: {session_name}"));
    let request = AssumeRequest {
        role,
        session_name,
        duration_seconds: cfg.duration_seconds.value,
        policy: cfg.policy.as_ref().map(|p| p.value.clone()),
        policy_arns: cfg.policy_arns.clone(),
        endpoint: cfg.sts_endpoint.value.clone(),
        region: cfg.region.value.clone(),
    };
    Ok(Prepared { source, token, job, request })
}

/// Credentials for the configured role: from the cache when fresh, else from STS.
pub fn obtain(ctx: &Ctx, cfg: &Config) -> Result<Credentials, Error> {
    let started = Instant::now();
    let prepared = prepare(ctx, cfg)?;
    let (creds, _token) = exchange(ctx, cfg, prepared.source.as_ref(), prepared.token, &prepared.request, started)?;
    Ok(creds)
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
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal("could not start the async runtime", e))?;
    let remaining = cfg.timeout.value.saturating_sub(started.elapsed());
    runtime.block_on(async {
        let deadline = tokio::time::Instant::now() + remaining;
        let http = if token.is_none() || source.can_remint() {
            Some(http::Client::new(remaining)?)
        } else {
            None
        };
        let exchange = SdkExchange::new(&request.endpoint, &request.region);
        let attempt = Attempt {
            exchange: &exchange,
            source,
            http: http.as_ref(),
            clock: ctx.clock.as_ref(),
            diag: &ctx.diag,
            audience: &cfg.audience.value,
            backoff: Backoff::default(),
            deadline,
        };
        let (creds, token) = sts::exchange(&attempt, request, token).await?;
        ctx.diag.info(format!(
            "assumed {} until {}",
            creds.assumed_role_arn,
            creds.expiration.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ));
        Ok((creds, token))
    })
}
