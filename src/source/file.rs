//! A token in a file, read afresh on every run: `--token-file`, `AWS_CI_CREDS_TOKEN_FILE`, or
//! `AWS_WEB_IDENTITY_TOKEN_FILE` (Kubernetes and EKS, where the kubelet rotates the file).

use std::io::Read;
use std::path::PathBuf;

use super::{Acquired, SourceKind, TokenSource};
use crate::config::{Origin, SourceSettings};
use crate::error::Error;
use crate::jwt::{Claims, Token};

/// No ID token comes near this size; a larger file is the wrong file.
const MAX_FILE_BYTES: u64 = 64 * 1024;

pub struct FileSource {
    path: PathBuf,
    origin: Origin,
}

impl FileSource {
    pub fn new(settings: &SourceSettings) -> Result<FileSource, Error> {
        let file = settings.token_file.as_ref().ok_or_else(|| {
            Error::usage(
                "--source file needs a token file",
                "add --token-file PATH, or set AWS_CI_CREDS_TOKEN_FILE or AWS_WEB_IDENTITY_TOKEN_FILE",
            )
        })?;
        Ok(FileSource {
            path: file.value.clone(),
            origin: file.origin.clone(),
        })
    }

    fn read(&self) -> Result<Token, Error> {
        let shown = self.path.display();
        let origin = &self.origin;
        let fail = |what: String, fix: &str| {
            Error::token(
                format!("the token file {shown} (from {origin}) {what}"),
                fix,
            )
        };
        let meta = std::fs::metadata(&self.path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => fail(
                "does not exist".into(),
                "check the path; in Kubernetes, check the projected service-account token volume is mounted",
            ),
            _ => fail(format!("cannot be read: {e}"), "check the path and its permissions"),
        })?;
        if meta.is_dir() {
            return Err(fail(
                "is a directory".into(),
                "point it at the token file inside the directory",
            ));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(fail(
                format!("is {} bytes; an ID token is a few KiB at most", meta.len()),
                "point it at the file that holds only the token",
            ));
        }
        let mut text = String::new();
        crate::sys::fs::open_without_blocking(&self.path, &meta)
            .and_then(|f| f.take(MAX_FILE_BYTES).read_to_string(&mut text))
            .map_err(|e| {
                fail(
                    format!("cannot be read: {e}"),
                    "check its permissions; it must be readable by this user and hold UTF-8 text",
                )
            })?;
        Token::parse(&text).map_err(|e| {
            fail(
                e.to_string(),
                "the file must hold only the OIDC ID token (a JWT: eyJ…); surrounding whitespace is fine",
            )
        })
    }
}

impl TokenSource for FileSource {
    fn kind(&self) -> SourceKind {
        SourceKind::File
    }

    fn describe(&self) -> String {
        format!("token file {} (from {})", self.path.display(), self.origin)
    }

    fn acquire(&self) -> Result<Acquired, Error> {
        self.read().map(Acquired::Local)
    }

    /// A Kubernetes service-account token names its pod: `k8s-<namespace>-<pod>`.
    fn session_name(&self, claims: Option<&Claims>) -> Option<String> {
        let k8s = claims?.other.get("kubernetes.io")?;
        let namespace = k8s.get("namespace")?.as_str()?;
        let pod = k8s.get("pod")?.get("name")?.as_str()?;
        Some(crate::session::sanitize(&format!("k8s-{namespace}-{pod}")))
    }

    fn expired_fix(&self) -> String {
        format!(
            "whatever writes {} must refresh it before it expires (the kubelet does so for projected \
             service-account tokens); for a longer-lived one raise the projected volume's expirationSeconds",
            self.path.display()
        )
    }
}
