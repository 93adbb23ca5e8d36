//! IAM role ARNs and the AWS facts they carry (the [`Partition`], the 12-digit [`AccountId`]):
//! the shape STS insists on, checked before any network call. A leaf beside
//! [`crate::setting`], so the config, the network module and the commands all use the one
//! definition of each without importing each other.

use std::fmt;
use std::str::FromStr;

use crate::setting::clip;

/// An AWS partition: a separate AWS with its own accounts, IAM and STS. A role of one partition
/// can only be assumed through the STS of that partition. The default, `aws`, is what the SDKs
/// assume when nothing names one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Partition {
    #[default]
    Aws,
    AwsCn,
    AwsUsGov,
    AwsIso,
    AwsIsoB,
    AwsIsoE,
    AwsIsoF,
    AwsEusc,
}

impl Partition {
    /// Every partition an ARN (and an STS endpoint) can be in, in the order messages list them.
    pub const ALL: [Partition; 8] = [
        Partition::Aws,
        Partition::AwsCn,
        Partition::AwsUsGov,
        Partition::AwsIso,
        Partition::AwsIsoB,
        Partition::AwsIsoE,
        Partition::AwsIsoF,
        Partition::AwsEusc,
    ];

    /// The name as ARNs spell it (`aws-us-gov`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
            Partition::AwsIso => "aws-iso",
            Partition::AwsIsoB => "aws-iso-b",
            Partition::AwsIsoE => "aws-iso-e",
            Partition::AwsIsoF => "aws-iso-f",
            Partition::AwsEusc => "aws-eusc",
        }
    }

    /// `aws, aws-cn, …`: every name, for messages that say what is accepted.
    pub fn names() -> String {
        Partition::ALL.map(Partition::as_str).join(", ")
    }

    /// The region used when none is set: the partition's implicit global region from the SDK's
    /// partitions table (China keeps cn-north-1, what earlier versions used, so cache keys hold).
    pub const fn default_region(self) -> &'static str {
        match self {
            Partition::Aws => "us-east-1",
            Partition::AwsCn => "cn-north-1",
            Partition::AwsUsGov => "us-gov-west-1",
            Partition::AwsIso => "us-iso-east-1",
            Partition::AwsIsoB => "us-isob-east-1",
            Partition::AwsIsoE => "eu-isoe-west-1",
            Partition::AwsIsoF => "us-isof-south-1",
            Partition::AwsEusc => "eusc-de-east-1",
        }
    }

    pub fn parse(raw: &str) -> Result<Partition, InvalidPartition> {
        Partition::ALL
            .into_iter()
            .find(|p| p.as_str() == raw)
            .ok_or_else(|| InvalidPartition(raw.to_string()))
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Partition {
    type Err = InvalidPartition;
    fn from_str(raw: &str) -> Result<Partition, InvalidPartition> {
        Partition::parse(raw)
    }
}

/// A name that is not one of [`Partition::ALL`]; holds the name as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPartition(pub String);

impl fmt::Display for InvalidPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not an AWS partition; expected one of {}",
            clip(&self.0),
            Partition::names()
        )
    }
}

impl std::error::Error for InvalidPartition {}

/// An AWS account id: exactly 12 ASCII digits, leading zeros kept (so text, not a number).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountId(String);

impl AccountId {
    /// The rule, as every message that refuses an account id states it.
    pub const RULE: &'static str = "an account id is exactly 12 digits";

    pub fn parse(raw: &str) -> Result<AccountId, InvalidAccountId> {
        if raw.len() == 12 && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AccountId(raw.to_string()))
        } else {
            Err(InvalidAccountId(raw.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for AccountId {
    type Err = InvalidAccountId;
    fn from_str(raw: &str) -> Result<AccountId, InvalidAccountId> {
        AccountId::parse(raw)
    }
}

/// Text that is not an [`AccountId`]; holds the text as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidAccountId(pub String);

impl fmt::Display for InvalidAccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not an AWS account id; {}",
            clip(&self.0),
            AccountId::RULE
        )
    }
}

impl std::error::Error for InvalidAccountId {}

/// A validated IAM role ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleArn {
    pub arn: String,
    pub partition: Partition,
    pub account_id: AccountId,
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
        let partition = Partition::parse(partition).map_err(|bad| {
            format!(
                "has partition `{}`; expected one of {}",
                clip(&bad.0),
                Partition::names()
            )
        })?;
        if service != "iam" || !region.is_empty() {
            return Err(format!(
                "is not an IAM role ARN (service `{}`); expected arn:{partition}:iam::ACCOUNT:role/NAME",
                clip(service)
            ));
        }
        let account_id = AccountId::parse(account)
            .map_err(|bad| format!("has account id `{}`; {}", clip(&bad.0), AccountId::RULE))?;
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
            partition,
            account_id,
            name: name.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_exactly_twelve_ascii_digits() {
        for good in ["123456789012", "000000000001"] {
            let id: AccountId = good.parse().unwrap();
            assert_eq!((id.as_str(), id.to_string().as_str()), (good, good));
        }
        for bad in [
            "",
            "12345678901",
            "1234567890123",
            "12345678901a",
            " 123456789012",
            "１２３４５６７８９０１２", // full-width digits are not ASCII digits
            "-12345678901",
        ] {
            assert_eq!(AccountId::parse(bad), Err(InvalidAccountId(bad.into())));
        }
        assert_eq!(
            AccountId::parse("12345").unwrap_err().to_string(),
            "`12345` is not an AWS account id; an account id is exactly 12 digits"
        );
    }

    #[test]
    fn partitions_parse_from_and_print_as_their_arn_names() {
        for p in Partition::ALL {
            assert_eq!(p.as_str().parse::<Partition>(), Ok(p));
            assert_eq!(p.to_string(), p.as_str());
        }
        assert_eq!(
            Partition::names(),
            "aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc"
        );
        assert_eq!(Partition::default(), Partition::Aws);
        assert_eq!(Partition::AwsCn.default_region(), "cn-north-1");
        for bad in ["", "AWS", "aws-moon", "aws ", "azure"] {
            assert_eq!(Partition::parse(bad), Err(InvalidPartition(bad.into())));
        }
        assert_eq!(
            Partition::parse("azure").unwrap_err().to_string(),
            "`azure` is not an AWS partition; expected one of aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc"
        );
    }

    #[test]
    fn role_arn_errors_name_the_field_and_the_rule() {
        let err = |arn: &str| RoleArn::parse(arn).unwrap_err();
        assert_eq!(
            err("arn:aws:iam::12345:role/deploy"),
            "has account id `12345`; an account id is exactly 12 digits"
        );
        assert_eq!(
            err("arn:azure:iam::123456789012:role/deploy"),
            "has partition `azure`; expected one of aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc"
        );
        let ok = RoleArn::parse("arn:aws-us-gov:iam::012345678901:role/p/deploy").unwrap();
        assert_eq!(
            (ok.partition, ok.account_id.as_str(), ok.name.as_str()),
            (Partition::AwsUsGov, "012345678901", "deploy")
        );
    }
}
