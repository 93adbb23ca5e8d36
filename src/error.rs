//! The one error type. Each variant is a class of failure with its own exit code; each carries a
//! [`Message`] that says what went wrong, the value or variable involved, and the fix.
//!
//! Messages are built from claims, names and settings only: never from a token, a secret key or a
//! session token (those live in [`crate::secret::Secret`], which cannot be formatted).

use std::fmt;

use crate::exit_code::ExitCode;

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a run failed, grouped by what the user does next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A flag, variable or configuration value is wrong; nothing was sent anywhere.
    /// The user fixes the named setting.
    #[error("{0}")]
    Usage(Message),
    /// No usable OIDC token: the CI set-up is missing, or the token is malformed or expired.
    /// The user fixes the pipeline line the message quotes.
    #[error("{0}")]
    Token(Message),
    /// STS answered and refused the exchange. The user fixes the trust policy, the OIDC provider
    /// or the role setting the message names. Never retried.
    #[error("{message}")]
    StsRefused { code: String, message: Message },
    /// STS (or a CI's token endpoint) could not be reached, or kept failing until the deadline.
    /// The user checks the network, the endpoint, or tries again.
    #[error("{message}")]
    Unavailable {
        message: Message,
        #[source]
        cause: Option<BoxError>,
    },
    /// The credentials belong to an account the account guard refuses; nothing was printed or
    /// cached. The user fixes the role (or chain) or the allowed/forbidden account lists.
    #[error("{0}")]
    WrongAccount(Message),
    /// A bug or an unexpected local failure.
    #[error("{message}")]
    Internal {
        message: Message,
        #[source]
        cause: Option<BoxError>,
    },
}

impl Error {
    pub fn usage(what: impl Into<String>, fix: impl Into<String>) -> Self {
        Error::Usage(Message::new(what).fix(fix))
    }

    pub fn token(what: impl Into<String>, fix: impl Into<String>) -> Self {
        Error::Token(Message::new(what).fix(fix))
    }

    pub fn unavailable(message: Message, cause: Option<BoxError>) -> Self {
        Error::Unavailable { message, cause }
    }

    pub fn internal(what: impl Into<String>, cause: impl Into<BoxError>) -> Self {
        Error::Internal {
            message: Message::new(what),
            cause: Some(cause.into()),
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Usage(_) => ExitCode::Usage,
            Error::Token(_) => ExitCode::Token,
            Error::StsRefused { .. } => ExitCode::StsRefused,
            Error::Unavailable { .. } => ExitCode::StsUnavailable,
            Error::WrongAccount(_) => ExitCode::WrongAccount,
            Error::Internal { .. } => ExitCode::Internal,
        }
    }

    pub fn message(&self) -> &Message {
        match self {
            Error::Usage(m) | Error::Token(m) | Error::WrongAccount(m) => m,
            Error::StsRefused { message, .. }
            | Error::Unavailable { message, .. }
            | Error::Internal { message, .. } => message,
        }
    }

    /// The STS error code, when STS refused.
    pub fn sts_code(&self) -> Option<&str> {
        match self {
            Error::StsRefused { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// What went wrong, the facts that show it, and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub what: String,
    pub details: Vec<String>,
    pub fix: Option<String>,
}

impl Message {
    pub fn new(what: impl Into<String>) -> Self {
        Message {
            what: what.into(),
            details: Vec::new(),
            fix: None,
        }
    }

    /// One more fact, shown indented under the first line.
    pub fn detail(mut self, line: impl Into<String>) -> Self {
        self.details.push(line.into());
        self
    }

    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)?;
        for line in &self.details {
            write!(f, "\n  {line}")?;
        }
        if let Some(fix) = &self.fix {
            let mut lines = fix.lines();
            if let Some(first) = lines.next() {
                write!(f, "\n  fix: {first}")?;
            }
            for line in lines {
                write!(f, "\n       {line}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_shows_what_details_and_fix() {
        let m = Message::new("no token")
            .detail("GITLAB_CI=true")
            .fix("add id_tokens:\n  AWS_ID_TOKEN:");
        assert_eq!(
            m.to_string(),
            "no token\n  GITLAB_CI=true\n  fix: add id_tokens:\n         AWS_ID_TOKEN:"
        );
    }

    #[test]
    fn each_class_has_its_exit_code() {
        assert_eq!(Error::usage("x", "y").exit_code(), ExitCode::Usage);
        assert_eq!(Error::token("x", "y").exit_code(), ExitCode::Token);
        let refused = Error::StsRefused {
            code: "AccessDenied".into(),
            message: Message::new("x"),
        };
        assert_eq!(refused.exit_code(), ExitCode::StsRefused);
        assert_eq!(refused.sts_code(), Some("AccessDenied"));
        assert_eq!(
            Error::unavailable(Message::new("x"), None).exit_code(),
            ExitCode::StsUnavailable
        );
    }
}
