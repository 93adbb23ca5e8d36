//! `aws-ci-creds doctor`: runs inside a job and checks its set-up step by step, with a pass, warn
//! or fail mark per line: which CI and token source, the token's claims (never the token), the
//! audience, expiry, session duration, role ARN and cache directory, then the exchange itself and
//! an STS `GetCallerIdentity` signed with the new credentials. On `AccessDenied` it lists the
//! trust-policy conditions this token satisfies and the likely mismatch.
//!
//! Exit status: 0 when nothing failed (warnings allowed), 6 when a check failed, 2 for options
//! that cannot even be resolved.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use crate::cache;
use crate::cli::DoctorArgs;
use crate::commands::trust_policy::{self, SubjectFormat};
use crate::config::{Config, RoleArn, vars};
use crate::context::Ctx;
use crate::credentials::Credentials;
use crate::env::Env;
use crate::error::Error;
use crate::exit_code::ExitCode;
use crate::flow;
use crate::jwt::{Claims, Token};
use crate::output;
use crate::source::TokenSource;
use crate::sts::{human_duration, issuer_key};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
    /// Not run, because an earlier step failed or was not configured.
    Skip,
}

impl Status {
    fn mark(self) -> &'static str {
        match self {
            Status::Pass => "[ok]  ",
            Status::Warn => "[warn]",
            Status::Fail => "[FAIL]",
            Status::Skip => "[skip]",
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub id: &'static str,
    pub status: Status,
    pub summary: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_policy: Option<TrustHints>,
}

/// What a trust policy would need for this token, next to the likely mismatch.
#[derive(Debug, Serialize)]
pub struct TrustHints {
    pub satisfied_by: Vec<String>,
    pub likely_mismatches: Vec<String>,
}

#[derive(Debug, Serialize)]
struct ClaimsReport {
    iss: Option<String>,
    sub: Option<String>,
    aud: Vec<String>,
    iat: Option<String>,
    exp: Option<String>,
    seconds_left: Option<i64>,
    lifetime_seconds: Option<i64>,
    job: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
struct Summary {
    passed: usize,
    warnings: usize,
    failed: usize,
    skipped: usize,
}

#[derive(Debug, Serialize)]
struct Report {
    ok: bool,
    summary: Summary,
    settings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    claims: Option<ClaimsReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assumed_role_arn: Option<String>,
    checks: Vec<Check>,
}

struct Doctor<'a> {
    ctx: &'a Ctx,
    checks: Vec<Check>,
}

impl Doctor<'_> {
    fn add(&mut self, id: &'static str, status: Status, summary: impl Into<String>) -> &mut Check {
        self.checks.push(Check {
            id,
            status,
            summary: summary.into(),
            details: Vec::new(),
            trust_policy: None,
        });
        self.checks.last_mut().expect("just pushed")
    }

    fn fail_with(&mut self, id: &'static str, error: &Error) -> &mut Check {
        let m = error.message();
        let mut details = m.details.clone();
        if let Some(fix) = &m.fix {
            let mut lines = fix.lines();
            if let Some(first) = lines.next() {
                details.push(format!("fix: {first}"));
            }
            details.extend(lines.map(|l| format!("     {l}")));
        }
        let check = self.add(id, Status::Fail, m.what.clone());
        check.details = details;
        check
    }
}

pub fn run(ctx: &Ctx, args: &DoctorArgs) -> Result<ExitCode, Error> {
    let started = Instant::now();
    let mut d = Doctor {
        ctx,
        checks: Vec::new(),
    };

    // A malformed role ARN is a finding, not the end of the run: resolve without it and say so.
    let (cfg, role_problem) = match Config::resolve(&args.credentials, &ctx.env) {
        Ok(cfg) => (cfg, None),
        Err(role_error) => {
            let mut without = args.credentials.clone();
            without.role_arn = None;
            let env = Env::from_pairs(
                ctx.env
                    .iter_os()
                    .filter(|(k, _)| *k != vars::ROLE_ARN && *k != vars::AWS_ROLE_ARN)
                    .map(|(k, v)| (k.to_os_string(), v.to_os_string())),
            );
            match Config::resolve(&without, &env) {
                Ok(cfg) => (cfg, Some(role_error)),
                // Still failing: the problem is another option, which doctor cannot work around.
                Err(_) => return Err(role_error),
            }
        }
    };
    let settings = cfg.describe();

    match (&role_problem, &cfg.role.arn) {
        (Some(e), _) => {
            d.fail_with("role_arn", e);
        }
        (None, Some(r)) => {
            d.add(
                "role_arn",
                Status::Pass,
                format!(
                    "role ARN {} is well-formed (account {}, role {}; from {})",
                    r.value.arn, r.value.account_id, r.value.name, r.origin
                ),
            );
        }
        (None, None) => {
            d.add(
                "role_arn",
                Status::Warn,
                format!(
                    "no role ARN (--role-arn, {} or {}): the exchange will not be tried",
                    vars::ROLE_ARN,
                    vars::AWS_ROLE_ARN
                ),
            );
        }
    }

    ci_check(&mut d, &ctx.env);
    let token = token_checks(&mut d, &cfg);
    duration_check(&mut d, &cfg);
    cache_check(&mut d, &cfg);
    profile_checks(&mut d, args.profile.as_deref());

    let claims = token.as_ref().map(|(_, t)| claims_report(ctx, &t.claims));
    let mut assumed = None;
    let role = cfg.role.arn.as_ref().map(|r| r.value.clone());
    let expired = d
        .checks
        .iter()
        .any(|c| c.id == "expiry" && c.status == Status::Fail);
    match (role, token) {
        (Some(role), Some((source, token))) if !expired => {
            assumed = exchange_checks(&mut d, &cfg, role, source.as_ref(), token, started);
        }
        _ => {
            let why = if cfg.role.arn.is_none() {
                "no usable role ARN"
            } else if expired {
                "the token has expired"
            } else {
                "no token"
            };
            d.add(
                "exchange",
                Status::Skip,
                format!("AssumeRoleWithWebIdentity not tried: {why}"),
            );
        }
    }

    let count = |s: Status| d.checks.iter().filter(|c| c.status == s).count();
    let summary = Summary {
        passed: count(Status::Pass),
        warnings: count(Status::Warn),
        failed: count(Status::Fail),
        skipped: count(Status::Skip),
    };
    let report = Report {
        ok: summary.failed == 0,
        summary,
        settings,
        claims,
        assumed_role_arn: assumed,
        checks: d.checks,
    };
    if args.json {
        output::print_json(&report)?;
    } else {
        output::print(&render(&report))?;
    }
    Ok(if report.ok {
        ExitCode::Success
    } else {
        ExitCode::CheckFailed
    })
}

/// Which CI this is, by the same detection credential mode uses (so the two cannot disagree).
fn ci_check(d: &mut Doctor<'_>, env: &Env) {
    match crate::source::detect_ci(env) {
        Some(ci) => {
            d.add(
                "ci",
                Status::Pass,
                format!("CI: {} ({})", ci.kind.ci_name(), ci.marker),
            );
        }
        None if env.is("CI", "true") => {
            d.add("ci", Status::Pass, "CI: an unrecognised CI (CI=true)");
        }
        None => {
            d.add(
                "ci",
                Status::Warn,
                "no CI detected (no marker variable of a supported CI is set, nor CI=true; see docs/ci/README.md)",
            );
        }
    }
}

/// The active profile of the AWS config file, as each SDK would read it.
fn profile_checks(d: &mut Doctor<'_>, flag: Option<&str>) {
    use crate::profile_file::lint::{Level, lint};
    for f in lint(&d.ctx.env, flag) {
        let status = match f.level {
            Level::Pass => Status::Pass,
            Level::Warn => Status::Warn,
            Level::Fail => Status::Fail,
            Level::Skip => Status::Skip,
        };
        d.add("profile", status, f.summary).details = f.details;
    }
}

/// Source, token, audience and expiry. Returns the token when one was read.
fn token_checks(d: &mut Doctor<'_>, cfg: &Config) -> Option<(Box<dyn TokenSource>, Token)> {
    let ctx = d.ctx;
    let detected = match flow::detect_token(ctx, cfg) {
        Ok(det) => det,
        Err(e) => {
            d.fail_with("token", &e);
            return None;
        }
    };
    d.add(
        "source",
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
                    "token",
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
                d.fail_with("token", &e);
                return None;
            }
        },
    };
    let c = &token.claims;

    if c.aud.iter().any(|a| a == &cfg.source.audience.value) {
        d.add(
            "audience",
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
            "audience",
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

    let now = ctx.clock.now();
    match c.expires_at() {
        Some(exp) if exp <= now => {
            let check = d.add(
                "expiry",
                Status::Fail,
                format!(
                    "expiry: the token expired at {} ({} ago)",
                    rfc3339(exp),
                    human_duration((now - exp).num_seconds())
                ),
            );
            check
                .details
                .push(format!("fix: {}", detected.source.expired_fix()));
        }
        Some(exp) => {
            let lifetime = c
                .issued_at()
                .map(|iat| format!("; lifetime {}", human_duration((exp - iat).num_seconds())))
                .unwrap_or_default();
            d.add(
                "expiry",
                Status::Pass,
                format!(
                    "expiry: the token is valid for another {} (until {}{lifetime})",
                    human_duration((exp - now).num_seconds()),
                    rfc3339(exp)
                ),
            );
        }
        None => {
            d.add("expiry", Status::Warn, "expiry: the token has no exp claim");
        }
    }
    Some((detected.source, token))
}

fn duration_check(d: &mut Doctor<'_>, cfg: &Config) {
    let secs = cfg.role.duration_seconds.value;
    let margin = cache::refresh_margin(cfg.cache.refresh_margin.value, secs);
    if secs < SHORT_SESSION_SECONDS {
        let check = d.add(
            "duration",
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
            "duration",
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

fn cache_check(d: &mut Doctor<'_>, cfg: &Config) {
    if !cfg.cache.enabled.value {
        d.add(
            "cache",
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
                "cache",
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
                "cache",
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
                "cache",
                if explicit { Status::Fail } else { Status::Warn },
                "cache: no usable directory; every run will call STS",
            );
            check.details = refused;
        }
    }
}

/// The exchange, then GetCallerIdentity with the new credentials. Returns the assumed-role ARN.
fn exchange_checks(
    d: &mut Doctor<'_>,
    cfg: &Config,
    role: RoleArn,
    source: &dyn TokenSource,
    token: Token,
    started: Instant,
) -> Option<String> {
    let ctx = d.ctx;
    let claims = token.claims.clone();
    let session_name = flow::session_name(ctx, cfg, source, Some(&claims));
    let request = match flow::assume_request(cfg, role.clone(), session_name) {
        Ok(request) => request,
        Err(e) => {
            d.fail_with("exchange", &e);
            return None;
        }
    };
    let creds = match flow::exchange(ctx, cfg, source, Some(token), &request, started) {
        Ok((creds, _)) => creds,
        Err(e) => {
            let denied = e.sts_code() == Some("AccessDenied");
            let check = d.fail_with("exchange", &e);
            if denied {
                check.trust_policy = Some(trust_hints(&claims, &role, cfg));
            }
            return None;
        }
    };
    d.add(
        "exchange",
        Status::Pass,
        format!(
            "AssumeRoleWithWebIdentity: assumed {} until {} (session {})",
            creds.assumed_role_arn,
            rfc3339(creds.expiration),
            request.session_name
        ),
    );
    match caller_identity(ctx, cfg, &request.endpoint, &creds) {
        Ok(arn) => {
            d.add(
                "caller_identity",
                Status::Pass,
                format!("GetCallerIdentity with the new credentials: {arn}"),
            );
        }
        Err(problem) => {
            let check = d.add(
                "caller_identity",
                Status::Fail,
                format!("GetCallerIdentity with the new credentials failed: {problem}"),
            );
            check.details.push(format!(
                "the credentials were issued but {} did not accept them; check --sts-endpoint and --region",
                request.endpoint
            ));
        }
    }
    Some(creds.assumed_role_arn)
}

/// STS `GetCallerIdentity`, signed (SigV4) with the new credentials, at the same endpoint.
fn caller_identity(
    ctx: &Ctx,
    cfg: &Config,
    endpoint: &str,
    creds: &Credentials,
) -> Result<String, String> {
    use aws_sdk_sts::config::{BehaviorVersion, Region, retry::RetryConfig};
    use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
    let static_creds = aws_sdk_sts::config::Credentials::new(
        creds.access_key_id.expose(),
        creds.secret_access_key.expose(),
        Some(creds.session_token.expose().clone()),
        Some(creds.expiration.into()),
        "aws-ci-creds",
    );
    // The same proxy and trust roots as the exchange that just passed.
    let http = cfg
        .network
        .connection(&ctx.env)
        .and_then(crate::net::SdkHttpClient::new)
        .map_err(|e| e.message().what.clone())?;
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(cfg.network.region.value.clone()))
        .endpoint_url(endpoint)
        .http_client(http)
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .credentials_provider(static_creds)
        .build();
    let client = aws_sdk_sts::Client::from_conf(config);
    let runtime = flow::runtime().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        match tokio::time::timeout(
            cfg.network.timeout.value,
            client.get_caller_identity().send(),
        )
        .await
        {
            Err(_) => Err(format!(
                "no answer within --timeout ({})",
                human_duration(cfg.network.timeout.value.as_secs() as i64)
            )),
            Ok(Ok(out)) => Ok(out.arn().unwrap_or("(no ARN in the answer)").to_string()),
            Ok(Err(SdkError::ServiceError(e))) => Err(format!(
                "{}: {}",
                e.err().code().unwrap_or("error"),
                e.err().message().unwrap_or("")
            )),
            Ok(Err(SdkError::DispatchFailure(_) | SdkError::TimeoutError(_))) => {
                Err(format!("could not reach {endpoint}"))
            }
            Ok(Err(_)) => Err("STS's answer could not be read".into()),
        }
    })
}

/// The conditions this token satisfies, and what most often differs in the role's policy.
fn trust_hints(claims: &Claims, role: &RoleArn, cfg: &Config) -> TrustHints {
    let iss = claims.iss.as_deref().unwrap_or("");
    let sub = claims.sub.as_deref().unwrap_or("");
    let key = issuer_key(iss);
    let mut satisfied_by = vec![format!(
        "Principal Federated = arn:{}:iam::{}:oidc-provider/{key}",
        role.partition, role.account_id
    )];
    for aud in &claims.aud {
        satisfied_by.push(format!("StringEquals {key}:aud = {aud}"));
    }
    satisfied_by.push(format!("StringEquals {key}:sub = {sub}"));
    let format = SubjectFormat::of(sub);
    for scope in format.scopes() {
        if let Ok((_, c)) = trust_policy::sub_condition(sub, Some(scope), false)
            && c.operator == "StringLike"
        {
            let line = format!(
                "StringLike {key}:sub = {} (--scope {})",
                c.pattern,
                trust_policy::scope_name(scope)
            );
            if !satisfied_by.contains(&line) {
                satisfied_by.push(line);
            }
        }
    }

    let mut likely = Vec::new();
    likely.push(format!(
        "issuer: the Principal must be the OIDC provider for {key} in account {} (a provider for another host or path, e.g. gitlab.com instead of a self-managed instance, does not match)",
        role.account_id
    ));
    if sub.chars().any(|c| c.is_ascii_uppercase()) {
        likely.push(format!(
            "case: conditions are case-sensitive and this sub has upper-case letters ({sub}); a policy written in lower case does not match"
        ));
    }
    let default_aud = crate::config::DEFAULT_AUDIENCE;
    if !claims.aud.iter().any(|a| a == default_aud) || cfg.source.audience.value != default_aud {
        likely.push(format!(
            "audience: the token's aud is {}; the policy's {key}:aud condition and the provider's client IDs must list it exactly (policies copied from examples use {default_aud})",
            claims.aud_display()
        ));
    }
    match &format {
        SubjectFormat::GitHub { rest, .. } if rest.starts_with("environment:") => likely.push(format!(
            "sub format: this job uses a GitHub environment, so its sub ends in `{rest}`, not `ref:refs/heads/…`; a condition on the branch does not match"
        )),
        SubjectFormat::GitHub { rest, .. } if rest == "pull_request" => likely.push(
            "sub format: pull-request jobs have sub `repo:OWNER/REPO:pull_request`, without the branch".into(),
        ),
        SubjectFormat::GitHub { repo, .. } if repo.contains('@') => likely.push(
            "sub format: this repository uses immutable subjects (OWNER@ID/REPO@ID); a condition on OWNER/REPO does not match".into(),
        ),
        SubjectFormat::GitLab { ref_type, .. } if ref_type == "tag" => likely.push(
            "sub format: this job runs on a tag, so its sub has `ref_type:tag`; a condition on `ref_type:branch` does not match".into(),
        ),
        SubjectFormat::GitLab { .. } => likely.push(
            "sub format: GitLab subjects are `project_path:GROUP/PROJECT:ref_type:branch|tag:ref:NAME` (the full path, subgroups included)".into(),
        ),
        SubjectFormat::Unknown => likely.push(
            "sub format: this sub is not in a standard format (customised subject claims?); copy it exactly".into(),
        ),
        _ => {}
    }
    likely.push(
        "wildcard: a value with * only works under StringLike; under StringEquals the * is a literal character".into(),
    );
    TrustHints {
        satisfied_by,
        likely_mismatches: likely,
    }
}

fn claims_report(ctx: &Ctx, c: &Claims) -> ClaimsReport {
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

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn render(r: &Report) -> String {
    let mut out = String::from("aws-ci-creds doctor\n");
    out.push_str("\nsettings:\n");
    for s in &r.settings {
        out.push_str(&format!("  {s}\n"));
    }
    if let Some(c) = &r.claims {
        out.push_str("\ntoken claims (never the token or its signature):\n");
        let none = "(none)".to_string();
        out.push_str(&format!("  iss  {}\n", c.iss.as_ref().unwrap_or(&none)));
        out.push_str(&format!("  sub  {}\n", c.sub.as_ref().unwrap_or(&none)));
        out.push_str(&format!("  aud  {}\n", c.aud.join(", ")));
        if let Some(iat) = &c.iat {
            out.push_str(&format!("  iat  {iat}\n"));
        }
        if let Some(exp) = &c.exp {
            let left = match c.seconds_left {
                Some(s) if s > 0 => format!(" ({} left)", human_duration(s)),
                Some(s) => format!(" (expired {} ago)", human_duration(s)),
                None => String::new(),
            };
            out.push_str(&format!("  exp  {exp}{left}\n"));
        }
        for (k, v) in &c.job {
            out.push_str(&format!("  {k} = {v}\n"));
        }
    }
    out.push_str("\nchecks:\n");
    for check in &r.checks {
        out.push_str(&format!("  {} {}\n", check.status.mark(), check.summary));
        for line in &check.details {
            out.push_str(&format!("         {line}\n"));
        }
        if let Some(h) = &check.trust_policy {
            out.push_str("         a trust policy accepts this token with:\n");
            for l in &h.satisfied_by {
                out.push_str(&format!("           {l}\n"));
            }
            out.push_str("         likely mismatch:\n");
            for l in &h.likely_mismatches {
                out.push_str(&format!("           {l}\n"));
            }
        }
    }
    let s = &r.summary;
    out.push_str(&format!(
        "\n{}: {} passed, {} warning(s), {} failed, {} skipped",
        if r.ok { "ok" } else { "FAILED" },
        s.passed,
        s.warnings,
        s.failed,
        s.skipped
    ));
    out
}
