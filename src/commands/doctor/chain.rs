//! `doctor` with `--chain`: each chained hop is assumed in turn from the web-identity hop's fresh
//! credentials (never the cache), one check per hop, so the report says which hop fails and why.

use std::time::Instant;

use crate::config::{Config, RoleArn};
use crate::credentials::Credentials;
use crate::flow;
use crate::source::TokenSource;

use super::{CheckId, Doctor, Status, rfc3339};

pub(super) fn chain_checks(
    d: &mut Doctor<'_>,
    cfg: &Config,
    source: &dyn TokenSource,
    first: (&RoleArn, Credentials),
    first_session: &str,
    started: Instant,
) {
    let roles = cfg.chain.roles();
    let steps = match flow::walk_chain(d.ctx, cfg, source, first, first_session, started) {
        Ok(steps) => steps,
        Err(e) => {
            d.fail_with(CheckId::Chain, &e);
            return;
        }
    };
    for step in &steps {
        let r = &step.request;
        match &step.outcome {
            Ok(creds) => {
                let check = d.add(
                    CheckId::Chain,
                    Status::Pass,
                    format!(
                        "hop {}: sts:AssumeRole into {}: assumed {} until {}",
                        r.hop,
                        r.role.arn,
                        creds.assumed_role_arn,
                        rfc3339(creds.expiration)
                    ),
                );
                // The guard applies to the credentials handed out: the last hop's.
                if r.hop == roles.len()
                    && let Err(problem) = cfg.guard.check(creds.account_id())
                {
                    check.status = Status::Fail;
                    check.details.push(format!("account guard: {problem}"));
                }
            }
            Err(e) => {
                let check = d.fail_with(CheckId::Chain, e);
                check.summary = format!("hop {} ({}): {}", r.hop, r.role.arn, check.summary);
            }
        }
    }
    let tried = steps.len();
    for (n, role) in roles.iter().enumerate().skip(tried) {
        d.add(
            CheckId::Chain,
            Status::Skip,
            format!(
                "hop {}: sts:AssumeRole into {}: not tried, an earlier hop failed",
                n + 1,
                role.arn
            ),
        );
    }
}
