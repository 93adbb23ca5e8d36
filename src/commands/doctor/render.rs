//! The text form of the report (`--json` prints the same report as JSON).

use crate::sts::human_duration;

use super::{Report, Status};

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

pub(super) fn render(r: &Report) -> String {
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

#[cfg(test)]
mod tests {
    use super::super::{Check, CheckId, Summary, TrustHints};
    use super::*;

    #[test]
    fn the_text_report_marks_each_check_and_lists_the_trust_hints() {
        let check = |id, status, summary: &str| Check {
            id,
            status,
            summary: summary.into(),
            details: Vec::new(),
            trust_policy: None,
        };
        let mut denied = check(CheckId::Exchange, Status::Fail, "STS refused");
        denied.details = vec!["fix: edit the trust policy".into()];
        denied.trust_policy = Some(TrustHints {
            satisfied_by: vec!["StringEquals k:sub = s".into()],
            likely_mismatches: vec!["case: …".into()],
        });
        let report = Report {
            ok: false,
            summary: Summary {
                passed: 1,
                warnings: 1,
                failed: 1,
                skipped: 0,
            },
            settings: vec!["role-arn = r (flag --role-arn)".into()],
            claims: None,
            assumed_role_arn: None,
            checks: vec![
                check(CheckId::Ci, Status::Warn, "no CI detected"),
                check(CheckId::Source, Status::Pass, "token source: file"),
                denied,
            ],
        };
        assert_eq!(
            render(&report),
            "aws-ci-creds doctor

settings:
  role-arn = r (flag --role-arn)

checks:
  [warn] no CI detected
  [ok]   token source: file
  [FAIL] STS refused
         fix: edit the trust policy
         a trust policy accepts this token with:
           StringEquals k:sub = s
         likely mismatch:
           case: …

FAILED: 1 passed, 1 warning(s), 1 failed, 0 skipped"
        );
    }
}
