//! `aws-ci-creds doctor`: runs inside a job and checks its set-up step by step, with a pass, warn
//! or fail mark per line: which CI and token source, the token's claims (never the token), the
//! audience, expiry, session duration, role ARN and cache directory, then the exchange itself and
//! an STS `GetCallerIdentity` signed with the new credentials. On `AccessDenied` it lists the
//! trust-policy conditions this token satisfies and the likely mismatch.
//!
//! Exit status: 0 when nothing failed (warnings allowed), 6 when a check failed, 2 for options
//! that cannot even be resolved.
//!
//! This file runs the checks in order and builds the [`Report`]; `checks` holds the local ones
//! (token, audience, expiry, duration, cache), `exchange` the STS calls, `trust` the hints after
//! `AccessDenied`, `render` the text form.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use crate::cli::DoctorArgs;
use crate::commands::Outcome;
use crate::config::{Config, vars};
use crate::context::Ctx;
use crate::env::Env;
use crate::error::Error;
use crate::exit_code::ExitCode;
use crate::output::Out;

mod chain;
mod checks;
mod exchange;
mod line;
mod render;
mod trust;

pub use trust::TrustHints;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
    /// Not run, because an earlier step failed or was not configured.
    Skip,
}

/// What each check is about. Its spelling (`--json`'s `id`) is part of the interface: scripts
/// branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckId {
    RoleArn,
    Ci,
    Source,
    Token,
    Audience,
    Expiry,
    Duration,
    Cache,
    Profile,
    Exchange,
    CallerIdentity,
    /// One per `--chain` hop.
    Chain,
}

impl CheckId {
    #[cfg(test)]
    pub const ALL: [CheckId; 12] = [
        CheckId::RoleArn,
        CheckId::Ci,
        CheckId::Source,
        CheckId::Token,
        CheckId::Audience,
        CheckId::Expiry,
        CheckId::Duration,
        CheckId::Cache,
        CheckId::Profile,
        CheckId::Exchange,
        CheckId::CallerIdentity,
        CheckId::Chain,
    ];

    /// The id as `--json` spells it.
    #[cfg(test)]
    pub fn as_str(self) -> &'static str {
        match self {
            CheckId::RoleArn => "role_arn",
            CheckId::Ci => "ci",
            CheckId::Source => "source",
            CheckId::Token => "token",
            CheckId::Audience => "audience",
            CheckId::Expiry => "expiry",
            CheckId::Duration => "duration",
            CheckId::Cache => "cache",
            CheckId::Profile => "profile",
            CheckId::Exchange => "exchange",
            CheckId::CallerIdentity => "caller_identity",
            CheckId::Chain => "chain",
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub id: CheckId,
    pub status: Status,
    pub summary: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_policy: Option<TrustHints>,
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
    fn add(&mut self, id: CheckId, status: Status, summary: impl Into<String>) -> &mut Check {
        self.checks.push(Check {
            id,
            status,
            summary: summary.into(),
            details: Vec::new(),
            trust_policy: None,
        });
        self.checks.last_mut().expect("just pushed")
    }

    fn fail_with(&mut self, id: CheckId, error: &Error) -> &mut Check {
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

/// What `doctor` runs with: the settings, or, when only the role ARN is wrong, the settings
/// without it and that problem (a malformed role ARN is a finding, not the end of the run).
/// With an aws-ci-creds line in the active profile, its options are the base ([`line`]).
pub struct Settings {
    cfg: Config,
    role_problem: Option<Error>,
    /// Where the settings came from when a profile's line gave them.
    line: Option<String>,
    /// The profile's line whose options cannot be resolved (doctor then runs with its own).
    line_problem: Option<(String, Error)>,
}

impl Settings {
    pub fn resolve(args: &DoctorArgs, env: &Env) -> Result<Settings, Error> {
        let Some(line) = line::line_options(env, args.profile.as_deref()) else {
            return Settings::from_options(&args.credentials, env);
        };
        let merged = crate::commands::setup::overlay(line.options, &args.credentials);
        match Settings::from_options(&merged, env) {
            Ok(s) => Ok(Settings {
                line: Some(line.place),
                ..s
            }),
            Err(e) => Ok(Settings {
                line_problem: Some((line.place, e)),
                ..Settings::from_options(&args.credentials, env)?
            }),
        }
    }

    fn from_options(options: &crate::cli::CredentialArgs, env: &Env) -> Result<Settings, Error> {
        let role_error = match Config::resolve(options, env) {
            Ok(cfg) => {
                return Ok(Settings {
                    cfg,
                    role_problem: None,
                    line: None,
                    line_problem: None,
                });
            }
            Err(role_error) => role_error,
        };
        let mut without = options.clone();
        without.role_arn = None;
        let env = Env::from_pairs(
            env.iter_os()
                .filter(|(k, _)| *k != vars::ROLE_ARN && *k != vars::AWS_ROLE_ARN)
                .map(|(k, v)| (k.to_os_string(), v.to_os_string())),
        );
        match Config::resolve(&without, &env) {
            Ok(cfg) => Ok(Settings {
                cfg,
                role_problem: Some(role_error),
                line: None,
                line_problem: None,
            }),
            // Still failing: the problem is another option, which doctor cannot work around.
            Err(_) => Err(role_error),
        }
    }
}

pub fn run(
    ctx: &Ctx,
    out: &mut Out,
    settings: Settings,
    args: &DoctorArgs,
) -> Result<Outcome, Error> {
    let started = Instant::now();
    let mut d = Doctor {
        ctx,
        checks: Vec::new(),
    };

    let Settings {
        cfg,
        role_problem,
        line,
        line_problem,
    } = settings;
    let described = cfg.describe();

    if let Some(place) = line {
        d.add(
            CheckId::Profile,
            Status::Pass,
            format!("settings: the credential_process line of {place}, as the SDKs run it (options given to doctor replace the line's)"),
        );
    }
    if let Some((place, e)) = &line_problem {
        let check = d.fail_with(CheckId::Profile, e);
        check.summary = format!("the credential_process line of {place}: {}", check.summary);
    }
    role_check(&mut d, &cfg, role_problem.as_ref());
    ci_check(&mut d, &ctx.env);
    let token = checks::token_checks(&mut d, &cfg);
    checks::duration_check(&mut d, &cfg);
    checks::cache_check(&mut d, &cfg);
    profile_checks(&mut d, args.profile.as_deref());

    let claims = token
        .as_ref()
        .map(|(_, t)| checks::claims_report(ctx, &t.claims));
    let mut assumed = None;
    let role = cfg.role.arn.as_ref().map(|r| r.value.clone());
    let expired = d
        .checks
        .iter()
        .any(|c| c.id == CheckId::Expiry && c.status == Status::Fail);
    match (role, token) {
        (Some(role), Some((source, token))) if !expired => {
            assumed =
                exchange::exchange_checks(&mut d, &cfg, role, source.as_ref(), token, started);
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
                CheckId::Exchange,
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
        settings: described,
        claims,
        assumed_role_arn: assumed,
        checks: d.checks,
    };
    if args.json {
        out.print_json(&report)?;
    } else {
        out.print(&render::render(&report))?;
    }
    Ok(Outcome::Exit(if report.ok {
        ExitCode::Success
    } else {
        ExitCode::CheckFailed
    }))
}

/// Whether the role ARN is usable; without one the exchange is not tried.
fn role_check(d: &mut Doctor<'_>, cfg: &Config, role_problem: Option<&Error>) {
    match (role_problem, &cfg.role.arn) {
        (Some(e), _) => {
            d.fail_with(CheckId::RoleArn, e);
        }
        (None, Some(r)) => {
            d.add(
                CheckId::RoleArn,
                Status::Pass,
                format!(
                    "role ARN {} is well-formed (account {}, role {}; from {})",
                    r.value.arn, r.value.account_id, r.value.name, r.origin
                ),
            );
        }
        (None, None) => {
            d.add(
                CheckId::RoleArn,
                Status::Warn,
                format!(
                    "no role ARN (--role-arn, {} or {}): the exchange will not be tried",
                    vars::ROLE_ARN,
                    vars::AWS_ROLE_ARN
                ),
            );
        }
    }
}

/// Which CI this is, by the same detection credential mode uses (so the two cannot disagree).
fn ci_check(d: &mut Doctor<'_>, env: &Env) {
    match crate::source::detect_ci(env) {
        Some(ci) => {
            d.add(
                CheckId::Ci,
                Status::Pass,
                format!("CI: {} ({})", ci.kind.ci_name(), ci.marker),
            );
        }
        None if env.is("CI", "true") => {
            d.add(
                CheckId::Ci,
                Status::Pass,
                "CI: an unrecognised CI (CI=true)",
            );
        }
        None => {
            d.add(
                CheckId::Ci,
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
        d.add(CheckId::Profile, status, f.summary).details = f.details;
    }
}

pub(crate) fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_id_keeps_its_json_spelling() {
        // Written out again on purpose: `--json` users match these strings. A new variant does
        // not compile here until it has its spelling, and must then be added to ALL.
        let spelling = |id: CheckId| match id {
            CheckId::RoleArn => "role_arn",
            CheckId::Ci => "ci",
            CheckId::Source => "source",
            CheckId::Token => "token",
            CheckId::Audience => "audience",
            CheckId::Expiry => "expiry",
            CheckId::Duration => "duration",
            CheckId::Cache => "cache",
            CheckId::Profile => "profile",
            CheckId::Exchange => "exchange",
            CheckId::CallerIdentity => "caller_identity",
            CheckId::Chain => "chain",
        };
        for id in CheckId::ALL {
            assert_eq!(id.as_str(), spelling(id));
            assert_eq!(serde_json::to_value(id).unwrap(), spelling(id));
        }
        let mut distinct: Vec<&str> = CheckId::ALL.iter().map(|id| id.as_str()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 12);
    }
}
