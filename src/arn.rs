//! IAM role ARNs and the AWS partitions they name: the shape STS insists on, checked before any
//! network call. A leaf beside [`crate::setting`], so the config and the network module both use
//! it without importing each other.

use crate::setting::clip;

/// Every AWS partition an ARN (and an STS endpoint) can be in.
pub const PARTITIONS: [&str; 8] = [
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

/// A validated IAM role ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleArn {
    pub arn: String,
    pub partition: String,
    pub account_id: String,
    pub name: String,
}

impl RoleArn {
    /// Checks the shape STS will insist on, so a typo fails here, before any network call.
    pub fn parse(raw: &str) -> Result<RoleArn, String> {
        let parts: Vec<&str> = raw.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" {
            return Err("is not an ARN (expected arn:aws:iam::123456789012:role/NAME)".into());
        }
        let (partition, service, region, account, resource) =
            (parts[1], parts[2], parts[3], parts[4], parts[5]);
        if !PARTITIONS.contains(&partition) {
            return Err(format!(
                "has partition `{}`; expected one of {}",
                clip(partition),
                PARTITIONS.join(", ")
            ));
        }
        if service != "iam" || !region.is_empty() {
            return Err(format!(
                "is not an IAM role ARN (service `{}`); expected arn:{partition}:iam::ACCOUNT:role/NAME",
                clip(service)
            ));
        }
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "has account id `{}`; an account id is exactly 12 digits",
                clip(account)
            ));
        }
        let Some(path_and_name) = resource.strip_prefix("role/") else {
            return Err(format!(
                "names `{}`, not a role; expected role/NAME (an assumed-role or user ARN cannot be assumed)",
                clip(resource)
            ));
        };
        let name = path_and_name.rsplit('/').next().unwrap_or_default();
        let name_ok = (1..=64).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
        if !name_ok {
            return Err(format!(
                "has role name `{}`; role names are 1 to 64 of A-Z a-z 0-9 + = , . @ _ -",
                clip(name)
            ));
        }
        let path_ok = path_and_name.len() <= 512
            && path_and_name
                .chars()
                .all(|c| ('\u{21}'..='\u{7e}').contains(&c));
        if !path_ok {
            return Err("has a role path with characters IAM does not allow".into());
        }
        Ok(RoleArn {
            arn: raw.to_string(),
            partition: partition.to_string(),
            account_id: account.to_string(),
            name: name.to_string(),
        })
    }
}
