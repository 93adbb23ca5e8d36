//! The temporary credentials STS hands out, and the questions asked of them (still fresh?).

use chrono::{DateTime, Duration, Utc};

use crate::arn::AccountId;
use crate::secret::Secret;

/// Temporary credentials for one assumed-role session.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub access_key_id: Secret<String>,
    pub secret_access_key: Secret<String>,
    pub session_token: Secret<String>,
    pub expiration: DateTime<Utc>,
    /// The assumed-role ARN, `arn:aws:sts::123456789012:assumed-role/ROLE/SESSION`. Not secret.
    pub assumed_role_arn: String,
}

impl Credentials {
    /// The account id: the fifth `:` field of the assumed-role ARN, when it is an [`AccountId`].
    pub fn account_id(&self) -> Option<&str> {
        self.assumed_role_arn
            .split(':')
            .nth(4)
            .filter(|id| AccountId::parse(id).is_ok())
    }

    /// Time left before expiry (negative once expired).
    pub fn remaining(&self, now: DateTime<Utc>) -> Duration {
        self.expiration - now
    }

    /// Fresh means more than `margin` is left, so no SDK will want to refresh right away.
    pub fn is_fresh(&self, now: DateTime<Utc>, margin: Duration) -> bool {
        self.remaining(now) > margin
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;

    pub(crate) fn sample(expiration: DateTime<Utc>) -> Credentials {
        Credentials {
            access_key_id: Secret::new("ASIAEXAMPLEKEY01".into()),
            secret_access_key: Secret::new("secret-canary".into()),
            session_token: Secret::new("session-canary".into()),
            expiration,
            assumed_role_arn: "arn:aws:sts::123456789012:assumed-role/deploy/gl-1-2".into(),
        }
    }

    #[test]
    fn account_id_comes_from_the_assumed_role_arn() {
        let c = sample(chrono::DateTime::from_timestamp(2_000_000_000, 0).unwrap());
        assert_eq!(c.account_id(), Some("123456789012"));
        let odd = Credentials {
            assumed_role_arn: "not-an-arn".into(),
            ..c
        };
        assert_eq!(odd.account_id(), None);
    }

    #[test]
    fn freshness_is_strictly_more_than_the_margin() {
        let exp = Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap();
        let c = sample(exp);
        let margin = Duration::minutes(15);
        assert!(c.is_fresh(exp - Duration::minutes(16), margin));
        assert!(!c.is_fresh(exp - Duration::minutes(15), margin));
        assert!(!c.is_fresh(exp + Duration::seconds(1), margin));
    }
}
