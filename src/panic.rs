//! A panic is a bug: report it as one, with exit code 1 (internal), and never with more than the
//! panic's own message and location. Secrets live only in [`crate::secret::Secret`], whose
//! `Debug` is redacted, so no panic message can carry one.

pub fn install_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        crate::diag::Diag::default().plain(format!(
            "aws-ci-creds: internal error: {message}{location}\n  this is a bug: please report it with the output of -v (it never contains secrets)"
        ));
        // The one exit outside main: a panic never returns an outcome, and unwinding on would
        // end with Rust's 101, which is not in our table.
        std::process::exit(i32::from(crate::exit_code::ExitCode::Internal.code()));
    }));
}

#[cfg(test)]
mod tests {
    use crate::credentials::Credentials;
    use crate::jwt::{Token, test_token};
    use crate::secret::Secret;

    /// What a panic can print is a message built from `Debug` (`unwrap`, `expect`, `{:?}`):
    /// every type that holds a secret keeps it out of its `Debug`.
    #[test]
    fn debug_of_every_secret_holder_is_redacted() {
        let raw = test_token(serde_json::json!({"sub": "s", "exp": 2_000_000_000}));
        let token = Token::parse(&raw).unwrap();
        let creds = Credentials {
            access_key_id: Secret::new("ASIACANARYKEYID0001".into()),
            secret_access_key: Secret::new("canary-secret-access-key-0001".into()),
            session_token: Secret::new("canary-session-token-0001".into()),
            expiration: chrono::DateTime::from_timestamp(2_000_000_000, 0).unwrap(),
            assumed_role_arn: "arn:aws:sts::123456789012:assumed-role/r/s".into(),
        };
        let shown = format!(
            "{token:?} {creds:?} {:?} {:?}",
            Some(&token),
            Ok::<_, ()>(&creds)
        );
        for secret in [
            raw.as_str(),
            raw.split('.').nth(2).unwrap(),
            "ASIACANARYKEYID0001",
            "canary-secret-access-key-0001",
            "canary-session-token-0001",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
}
