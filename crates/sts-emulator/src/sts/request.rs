//! The parameters of `AssumeRoleWithWebIdentity` and `AssumeRole`: STS's model constraints
//! (every violation reported in one `ValidationError`), then what the values mean (role ARN,
//! policy ARNs, policy JSON, duplicate tag keys).

use std::collections::BTreeMap;

use serde_json::Value;

use super::StsError;

/// `DurationSeconds` when the request leaves it out.
const DEFAULT_DURATION_SECS: i64 = 3600;

/// Which action's members to read.
#[derive(Clone, Copy)]
pub(super) enum Kind<'a> {
    /// `AssumeRoleWithWebIdentity`, with its `WebIdentityToken` (taken out of the parameters).
    WebIdentity(Option<&'a str>),
    /// `AssumeRole`: no token, but `ExternalId`, `SourceIdentity`, `Tags`, `TransitiveTagKeys`.
    Role,
}

/// A request that passed STS's parameter checks.
pub(super) struct AssumeRoleRequest<'a> {
    pub role_arn: &'a str,
    /// The role's account and name, from `role_arn`.
    pub account: &'a str,
    pub role_name: &'a str,
    pub session: &'a str,
    /// The web identity token (`AssumeRoleWithWebIdentity` only).
    pub token: Option<&'a str>,
    pub duration: i64,
    pub policy: Option<&'a str>,
    /// `PolicyArns.member.N.arn` values, ordered by N.
    pub policy_arns: Vec<(u32, String)>,
    pub external_id: Option<&'a str>,
    pub source_identity: Option<&'a str>,
    /// `Tags.member.N.{Key,Value}`, ordered by N.
    pub tags: Vec<(String, String)>,
}

impl<'a> AssumeRoleRequest<'a> {
    /// STS's order: all model constraints first (one error naming each), then the semantics.
    pub(super) fn parse(
        params: &'a BTreeMap<String, String>,
        kind: Kind<'a>,
    ) -> Result<AssumeRoleRequest<'a>, StsError> {
        let mut v = Violations::default();
        let role_arn = params.get("RoleArn").map(String::as_str);
        let session = params.get("RoleSessionName").map(String::as_str);
        check_role_arn(&mut v, role_arn);
        check_session_name(&mut v, session);
        let token = match kind {
            Kind::WebIdentity(token) => {
                check_token_length(&mut v, token);
                token
            }
            Kind::Role => None,
        };
        let duration = check_duration(&mut v, params.get("DurationSeconds"));
        let policy = params.get("Policy").map(String::as_str);
        check_policy(&mut v, policy);
        let policy_arns = policy_arns(params);
        check_policy_arn_lengths(&mut v, &policy_arns);
        let role_only = |name: &str| match kind {
            Kind::Role => params.get(name).map(String::as_str),
            Kind::WebIdentity(_) => None,
        };
        let (external_id, source_identity) = (role_only("ExternalId"), role_only("SourceIdentity"));
        let (tags, transitive_tag_keys) = match kind {
            Kind::Role => (tags(params), members(params, "TransitiveTagKeys.member.")),
            Kind::WebIdentity(_) => (Vec::new(), Vec::new()),
        };
        check_role_members(
            &mut v,
            external_id,
            source_identity,
            &tags,
            &transitive_tag_keys,
        );
        v.into_error()?;
        // A missing member is a violation, so both are present here.
        let (role_arn, session) = (role_arn.expect("checked"), session.expect("checked"));

        if params.contains_key("ProviderId") && matches!(kind, Kind::WebIdentity(_)) {
            return Err(StsError::new(
                "ValidationError",
                "ProviderId is only valid for OAuth 2.0 access tokens; do not send it with an OpenID Connect ID token",
            ));
        }
        let Some((account, role_name)) = parse_role_arn(role_arn) else {
            return Err(StsError::new("ValidationError", "Request ARN is invalid"));
        };
        check_policy_arns_are_policies(&policy_arns)?;
        if let Some(p) = policy {
            check_policy_document(p)?;
        }
        check_duplicate_tag_keys(&tags)?;
        check_transitive_keys_are_tags(&transitive_tag_keys, &tags)?;
        Ok(AssumeRoleRequest {
            role_arn,
            account,
            role_name,
            session,
            token,
            duration,
            policy,
            policy_arns,
            external_id,
            source_identity,
            tags,
        })
    }
}

/// `AssumeRole`'s own members: STS's lengths and patterns, and at most 50 tags.
fn check_role_members(
    v: &mut Violations,
    external_id: Option<&str>,
    source_identity: Option<&str>,
    tags: &[(String, String)],
    transitive: &[String],
) {
    if let Some(id) = external_id {
        v.length(id, "externalId", 2, 1224, true);
        if !id
            .chars()
            .all(|c| is_session_name_char(c) || ":/".contains(c))
        {
            v.add(
                Some(id),
                "externalId",
                r"Member must satisfy regular expression pattern: [\w+=,.@:\/-]*",
            );
        }
    }
    if let Some(s) = source_identity {
        v.length(s, "sourceIdentity", 2, 64, true);
        if !s.chars().all(is_session_name_char) {
            v.add(
                Some(s),
                "sourceIdentity",
                r"Member must satisfy regular expression pattern: [\w+=,.@-]*",
            );
        }
    }
    if tags.len() > 50 {
        v.add(
            None,
            "tags",
            "Member must have length less than or equal to 50",
        );
    }
    for (n, (key, value)) in tags.iter().enumerate() {
        let n = n + 1;
        v.length(key, &format!("tags.{n}.member.key"), 1, 128, true);
        v.length(value, &format!("tags.{n}.member.value"), 0, 256, true);
        for (text, member) in [(key, "key"), (value, "value")] {
            if !text.chars().all(is_tag_char) {
                v.add(
                    Some(text),
                    &format!("tags.{n}.member.{member}"),
                    r"Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+",
                );
            }
        }
    }
    if transitive.len() > 50 {
        v.add(
            None,
            "transitiveTagKeys",
            "Member must have length less than or equal to 50",
        );
    }
}

/// IAM tag keys are case-insensitive, so `Team` and `team` collide.
fn check_duplicate_tag_keys(tags: &[(String, String)]) -> Result<(), StsError> {
    let mut seen = std::collections::BTreeSet::new();
    if tags.iter().all(|(k, _)| seen.insert(k.to_lowercase())) {
        return Ok(());
    }
    Err(StsError::new(
        "InvalidParameterValue",
        "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
    ))
}

/// A transitive tag key names one of the session's tags.
fn check_transitive_keys_are_tags(
    transitive: &[String],
    tags: &[(String, String)],
) -> Result<(), StsError> {
    match transitive
        .iter()
        .find(|t| !tags.iter().any(|(k, _)| k.eq_ignore_ascii_case(t)))
    {
        Some(key) => Err(StsError::new(
            "InvalidParameterValue",
            format!("The transitive tag key {key} is not among the session tags."),
        )),
        None => Ok(()),
    }
}

/// Letters, separators, digits and `_.:/=+-@`, as IAM's tag pattern says.
fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c)
}

/// `Tags.member.N.Key`/`Value` pairs, ordered by N.
fn tags(params: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut numbered: Vec<(u32, String, String)> = params
        .iter()
        .filter_map(|(k, key)| {
            let n: u32 = k
                .strip_prefix("Tags.member.")?
                .strip_suffix(".Key")?
                .parse()
                .ok()?;
            let value = params
                .get(&format!("Tags.member.{n}.Value"))
                .cloned()
                .unwrap_or_default();
            Some((n, key.clone(), value))
        })
        .collect();
    numbered.sort();
    numbered.into_iter().map(|(_, k, v)| (k, v)).collect()
}

/// `<prefix>N` values, ordered by N.
fn members(params: &BTreeMap<String, String>, prefix: &str) -> Vec<String> {
    let mut numbered: Vec<(u32, String)> = params
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.parse().ok()?, v.clone())))
        .collect();
    numbered.sort();
    numbered.into_iter().map(|(_, v)| v).collect()
}

fn check_role_arn(v: &mut Violations, role_arn: Option<&str>) {
    match role_arn {
        None => v.null("roleArn"),
        Some(arn) => v.length(arn, "roleArn", 20, 2048, true),
    }
}

fn check_session_name(v: &mut Violations, session: Option<&str>) {
    match session {
        None => v.null("roleSessionName"),
        Some(name) => {
            v.length(name, "roleSessionName", 2, 64, true);
            if !name.chars().all(is_session_name_char) {
                v.add(
                    Some(name),
                    "roleSessionName",
                    r"Member must satisfy regular expression pattern: [\w+=,.@-]*",
                );
            }
        }
    }
}

/// The token's length only: its value is a secret and never echoed.
fn check_token_length(v: &mut Violations, token: Option<&str>) {
    match token {
        None => v.null("webIdentityToken"),
        Some(t) => v.length(t, "webIdentityToken", 4, 20000, false),
    }
}

/// The requested duration (the default when absent or invalid; an invalid one is a violation).
fn check_duration(v: &mut Violations, raw: Option<&String>) -> i64 {
    let Some(raw) = raw else {
        return DEFAULT_DURATION_SECS;
    };
    match raw.parse::<i64>() {
        Ok(d) if d < 900 => v.add(
            Some(raw),
            "durationSeconds",
            "Member must have value greater than or equal to 900",
        ),
        Ok(d) if d > 43200 => v.add(
            Some(raw),
            "durationSeconds",
            "Member must have value less than or equal to 43200",
        ),
        Ok(d) => return d,
        Err(_) => v.add(
            Some(raw),
            "durationSeconds",
            "Member must be a valid integer",
        ),
    }
    DEFAULT_DURATION_SECS
}

fn check_policy(v: &mut Violations, policy: Option<&str>) {
    let Some(p) = policy else {
        return;
    };
    v.length(p, "policy", 1, 2048, false);
    if !p
        .chars()
        .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FF}'))
    {
        v.add(
            None,
            "policy",
            r"Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+",
        );
    }
}

fn check_policy_arn_lengths(v: &mut Violations, arns: &[(u32, String)]) {
    if arns.len() > 10 {
        v.add(
            None,
            "policyArns",
            "Member must have length less than or equal to 10",
        );
    }
    for (n, arn) in arns {
        v.length(arn, &format!("policyArns.{n}.member.arn"), 20, 2048, true);
    }
}

fn check_policy_arns_are_policies(arns: &[(u32, String)]) -> Result<(), StsError> {
    match arns.iter().find(|(_, arn)| !is_policy_arn(arn)) {
        Some((_, arn)) => Err(StsError::new(
            "ValidationError",
            format!("The policy ARN {arn} is invalid."),
        )),
        None => Ok(()),
    }
}

/// A session policy must be a JSON object with a `Statement`.
fn check_policy_document(policy: &str) -> Result<(), StsError> {
    match serde_json::from_str::<Value>(policy) {
        Ok(Value::Object(doc)) if doc.contains_key("Statement") => Ok(()),
        Ok(Value::Object(_)) => Err(StsError::new(
            "MalformedPolicyDocument",
            "Syntax errors in policy.",
        )),
        _ => Err(StsError::new(
            "MalformedPolicyDocument",
            "The policy is not in the valid JSON format.",
        )),
    }
}

fn is_session_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// Collects model-constraint violations the way AWS's request validation reports them.
#[derive(Default)]
struct Violations(Vec<String>);

impl Violations {
    fn add(&mut self, value: Option<&str>, member: &str, constraint: &str) {
        let shown = match value {
            Some(v) => format!("Value '{v}' at"),
            None => "Value at".to_string(),
        };
        self.0.push(format!(
            "{shown} '{member}' failed to satisfy constraint: {constraint}"
        ));
    }

    fn null(&mut self, member: &str) {
        self.0.push(format!(
            "Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ));
    }

    /// Checks a length range; `show` decides whether the value is echoed (not for secrets).
    fn length(&mut self, value: &str, member: &str, min: usize, max: usize, show: bool) {
        let len = value.chars().count();
        let shown = show.then_some(value);
        if len < min {
            self.add(
                shown,
                member,
                &format!("Member must have length greater than or equal to {min}"),
            );
        } else if len > max {
            self.add(
                shown,
                member,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    fn into_error(self) -> Result<(), StsError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let n = self.0.len();
        let plural = if n == 1 { "" } else { "s" };
        Err(StsError::new(
            "ValidationError",
            format!(
                "{n} validation error{plural} detected: {}",
                self.0.join("; ")
            ),
        ))
    }
}

/// `arn:aws:iam::<12 digits>:role/[path/]name` → (account, role name).
fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return None;
    };
    let ok = prefix == "arn"
        && partition.starts_with("aws")
        && service == "iam"
        && region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit());
    let path_and_name = resource.strip_prefix("role/")?;
    let name = path_and_name.rsplit('/').next()?;
    (ok && !name.is_empty()).then_some((account, name))
}

fn is_policy_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    prefix == "arn"
        && partition.starts_with("aws")
        && service == "iam"
        && region.is_empty()
        && (account == "aws"
            || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())))
        && resource
            .strip_prefix("policy/")
            .is_some_and(|rest| !rest.is_empty() && !rest.ends_with('/'))
}

/// `PolicyArns.member.N.arn` values, ordered by N.
fn policy_arns(params: &BTreeMap<String, String>) -> Vec<(u32, String)> {
    let mut arns: Vec<(u32, String)> = params
        .iter()
        .filter_map(|(k, v)| {
            let n = k
                .strip_prefix("PolicyArns.member.")?
                .strip_suffix(".arn")?
                .parse()
                .ok()?;
            Some((n, v.clone()))
        })
        .collect();
    arns.sort();
    arns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_parse_with_and_without_paths() {
        assert_eq!(
            parse_role_arn("arn:aws:iam::123456789012:role/ci/deploy"),
            Some(("123456789012", "deploy"))
        );
        assert_eq!(
            parse_role_arn("arn:aws-cn:iam::123456789012:role/r"),
            Some(("123456789012", "r"))
        );
        assert_eq!(parse_role_arn("arn:aws:iam::1234:role/r"), None);
        assert_eq!(parse_role_arn("arn:aws:iam::123456789012:user/r"), None);
        assert_eq!(parse_role_arn("not-an-arn-at-all-really"), None);
    }

    #[test]
    fn policy_arns_must_be_iam_policy_arns() {
        assert!(is_policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess"));
        assert!(is_policy_arn("arn:aws:iam::123456789012:policy/team/p"));
        assert!(!is_policy_arn("arn:aws:iam::123456789012:role/p"));
        assert!(!is_policy_arn("arn:aws:s3:::bucket/policy/x"));
    }
}
