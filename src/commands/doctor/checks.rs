//! The local checks: token source, token, audience, expiry, session duration and cache.

use crate::cache;
use crate::config::Config;
use crate::context::Ctx;
use crate::flow;
use crate::jwt::{Claims, Token};
use crate::source::TokenSource;
use crate::sts::human_duration;

use super::{CheckId, ClaimsReport, Doctor, Status, rfc3339};

/// Below this, botocore (15 min advisory, 10 min mandatory refresh) re-runs the process on
/// nearly every call.
const SHORT_SESSION_SECONDS: u32 = 20 * 60;

/// Claims shown as the job's identifiers, when the token has them.
const JOB_CLAIMS: &[&str] = &[
    "project_path",
    "project_id",
    "namespace_path",
    "repository",
    "repository_owner",
    "workflow",
    "environment",
    "ref",
    "ref_type",
    "pipeline_id",
    "job_id",
    "run_id",
    "run_attempt",
    "organization_slug",
    "pipeline_slug",
    "build_number",
    "step_key",
];

/// Source, token, audience and expiry. Returns the token when one was read.
pub(super) fn token_checks(
    d: &mut Doctor<'_>,
    cfg: &Config,
) -> Option<(Box<dyn TokenSource>, Token)> {
    let ctx = d.ctx;
    let detected = match flow::detect_token(ctx, cfg) {
        Ok(det) => det,
        Err(e) => {
            d.fail_with(CheckId::Token, &e);
            return None;
        }
    };
    d.add(
        CheckId::Source,
        Status::Pass,
        format!(
            "token source: {} (chosen because {})",
            detected.source.describe(),
            detected.why
        ),
    );
    let token = match detected.token {
        Some(t) => t,
        None => match flow::mint(ctx, cfg, detected.source.as_ref()) {
            Ok(t) => {
                d.add(
                    CheckId::Token,
                    Status::Pass,
                    format!(
                        "requested a token from {} with audience {}",
                        detected.source.describe(),
                        cfg.source.audience.value
                    ),
                );
                t
            }
            Err(e) => {
                d.fail_with(CheckId::Token, &e);
                return None;
            }
        },
    };
    audience_check(d, cfg, &token.claims);
    expiry_check(d, &token.claims, detected.source.as_ref());
    Some((detected.source, token))
}

fn audience_check(d: &mut Doctor<'_>, cfg: &Config, c: &Claims) {
    if c.aud.iter().any(|a| a == &cfg.source.audience.value) {
        d.add(
            CheckId::Audience,
            Status::Pass,
            format!(
                "audience: the token's aud {} includes {} ({})",
                c.aud_display(),
                cfg.source.audience.value,
                cfg.source.audience.origin
            ),
        );
    } else {
        let check = d.add(
            CheckId::Audience,
            Status::Fail,
            format!(
                "audience: the token's aud is {}, not {} ({})",
                c.aud_display(),
                cfg.source.audience.value,
                cfg.source.audience.origin
            ),
        );
        check.details.push(format!(
            "fix: request the audience the IAM OIDC provider and trust policy list (GitLab: `id_tokens: … aud: {}`), or pass --audience {} if the provider lists that one",
            cfg.source.audience.value,
            c.aud.first().map(String::as_str).unwrap_or("AUD")
        ));
    }
}

fn expiry_check(d: &mut Doctor<'_>, c: &Claims, source: &dyn TokenSource) {
    let now = d.ctx.clock.now();
    match c.expires_at() {
        Some(exp) if exp <= now => {
            let check = d.add(
                CheckId::Expiry,
                Status::Fail,
                format!(
                    "expiry: the token expired at {} ({} ago)",
                    rfc3339(exp),
                    human_duration((now - exp).num_seconds())
                ),
            );
            check.details.push(format!("fix: {}", source.expired_fix()));
        }
        Some(exp) => {
            let lifetime = c
                .issued_at()
                .map(|iat| format!("; lifetime {}", human_duration((exp - iat).num_seconds())))
                .unwrap_or_default();
            d.add(
                CheckId::Expiry,
                Status::Pass,
                format!(
                    "expiry: the token is valid for another {} (until {}{lifetime})",
                    human_duration((exp - now).num_seconds()),
                    rfc3339(exp)
                ),
            );
        }
        None => {
            d.add(
                CheckId::Expiry,
                Status::Warn,
                "expiry: the token has no exp claim",
            );
        }
    }
}

pub(super) fn duration_check(d: &mut Doctor<'_>, cfg: &Config) {
    let secs = cfg.role.duration_seconds.value;
    let margin = cache::refresh_margin(cfg.cache.refresh_margin.value, secs);
    if secs < SHORT_SESSION_SECONDS {
        let check = d.add(
            CheckId::Duration,
            Status::Warn,
            format!(
                "session duration {} ({}) is under 20 minutes: botocore refreshes credentials with less than 15 minutes left, so it would run aws-ci-creds again on nearly every call",
                human_duration(i64::from(secs)),
                cfg.role.duration_seconds.origin
            ),
        );
        check
            .details
            .push("fix: use --duration 1h (the role's maximum session duration permitting)".into());
    } else {
        d.add(
            CheckId::Duration,
            Status::Pass,
            format!(
                "session duration {} ({}): above the SDKs' refresh windows (botocore 15 min, JS 5 min); cached credentials are served while more than {} is left",
                human_duration(i64::from(secs)),
                cfg.role.duration_seconds.origin,
                human_duration(margin.num_seconds())
            ),
        );
    }
}

pub(super) fn cache_check(d: &mut Doctor<'_>, cfg: &Config) {
    if !cfg.cache.enabled.value {
        d.add(
            CheckId::Cache,
            Status::Pass,
            format!(
                "cache: off ({}); every run calls STS",
                cfg.cache.enabled.origin
            ),
        );
        return;
    }
    let selected = cache::select(&cfg.cache, &d.ctx.paths);
    let explicit = cfg.cache.dir.is_some();
    let refused: Vec<String> = selected
        .refused
        .iter()
        .map(|(dir, p)| format!("{} not used: {p}", dir.display()))
        .collect();
    match &selected.cache {
        Some(c) if explicit && !refused.is_empty() => {
            let check = d.add(
                CheckId::Cache,
                Status::Fail,
                format!(
                    "cache: the directory asked for is not usable; using {} instead",
                    c.dir().display()
                ),
            );
            check.details = refused;
        }
        Some(c) => {
            let check = d.add(
                CheckId::Cache,
                Status::Pass,
                format!(
                    "cache: {} is usable and safe ({})",
                    c.dir().display(),
                    selected.reason
                ),
            );
            check.details = refused;
        }
        None => {
            let check = d.add(
                CheckId::Cache,
                if explicit { Status::Fail } else { Status::Warn },
                "cache: no usable directory; every run will call STS",
            );
            check.details = refused;
        }
    }
}

pub(super) fn claims_report(ctx: &Ctx, c: &Claims) -> ClaimsReport {
    let now = ctx.clock.now();
    ClaimsReport {
        iss: c.iss.clone(),
        sub: c.sub.clone(),
        aud: c.aud.clone(),
        iat: c.issued_at().map(rfc3339),
        exp: c.expires_at().map(rfc3339),
        seconds_left: c.expires_at().map(|e| (e - now).num_seconds()),
        lifetime_seconds: c.exp.zip(c.iat).map(|(e, i)| e.saturating_sub(i)),
        job: JOB_CLAIMS
            .iter()
            .filter_map(|k| c.text(k).map(|v| (k.to_string(), v)))
            .collect(),
    }
}
