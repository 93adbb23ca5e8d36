//! `trust-policy --chain`: the trust policy each chained role needs. Its principal is the role
//! before it; its actions are `sts:AssumeRole` plus what the options send (`sts:TagSession` for
//! tags, `sts:SetSourceIdentity` for a source identity), and `--external-id` becomes the
//! `sts:ExternalId` condition.

use serde_json::{Value, json};

use crate::config::Config;
use crate::error::Error;

/// The policies in chain order, the web-identity role's first: `[{"Role", "TrustPolicy"}, …]`.
pub(super) fn policies(cfg: &Config, first: Value) -> Result<Value, Error> {
    let Some(first_role) = cfg.role.arn.as_ref() else {
        return Err(Error::usage(
            "trust-policy --chain needs the first role: each chained role's policy names the role before it",
            "add --role-arn arn:aws:iam::ACCOUNT:role/NAME (the web-identity role)",
        ));
    };
    let mut actions = vec!["sts:AssumeRole"];
    if cfg.chain.tags.tags.is_some() || cfg.chain.tags.ci_tags.value {
        actions.push("sts:TagSession");
    }
    if cfg.chain.tags.source_identity.is_some() {
        actions.push("sts:SetSourceIdentity");
    }
    let mut out = vec![json!({"Role": first_role.value.arn, "TrustPolicy": first})];
    let mut previous = &first_role.value;
    for role in cfg.chain.roles() {
        let mut statement = json!({
            "Effect": "Allow",
            "Principal": {"AWS": previous.arn},
            "Action": actions,
        });
        if let Some(id) = &cfg.chain.external_id {
            statement["Condition"] = json!({"StringEquals": {"sts:ExternalId": id.value}});
        }
        out.push(json!({
            "Role": role.arn,
            "TrustPolicy": {"Version": "2012-10-17", "Statement": [statement]},
        }));
        previous = role;
    }
    Ok(Value::Array(out))
}
