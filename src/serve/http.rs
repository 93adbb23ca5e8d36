//! The endpoint's HTTP side: hyper's HTTP/1 server on a loopback listener, with everything a
//! hostile local client could try bounded.
//!
//! Checks, in this order so that a client without the token learns nothing: the token
//! (missing: 401, wrong: 403, compared in constant time), then the method (only `GET`: 405), the
//! path (only [`super::PATH`]: 404) and a body (none: 400). Refusals have empty bodies. Request
//! heads are capped at [`MAX_HEAD`] bytes, must arrive within [`HEAD_TIMEOUT`], and a connection
//! lives at most [`CONNECTION_LIFETIME`]; at most [`MAX_CONNECTIONS`] are open at once. A kept-alive
//! connection idle for [`HEAD_TIMEOUT`] is closed too (quietly: the SDKs reconnect).
//! Refusals are logged on stderr with the client's address and the reason, never the token sent.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, oneshot};

use super::flight::Asker;
use crate::credentials::Credentials;
use crate::diag::Diag;
use crate::error::Error;
use crate::secret::Secret;

/// hyper's smallest read buffer: far above what an SDK sends (a few hundred bytes).
const MAX_HEAD: usize = 8192;
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
const MAX_CONNECTIONS: usize = 512;

pub(super) struct Server {
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
}

struct Shared {
    /// SHA-256 of the token: comparing digests takes the same time whatever the client sent.
    token_digest: [u8; 32],
    asker: Asker,
    diag: Diag,
}

impl Server {
    pub(super) fn new(
        listener: std::net::TcpListener,
        token: &Secret<String>,
        asker: Asker,
        diag: Diag,
    ) -> Server {
        Server {
            listener,
            shared: Arc::new(Shared {
                token_digest: Sha256::digest(token.expose().as_bytes()).into(),
                asker,
                diag,
            }),
        }
    }

    /// Serves until `stop` fires (or its sender is dropped), then closes everything.
    pub(super) fn run(self, stop: oneshot::Receiver<()>) -> Result<(), Error> {
        let runtime = crate::flow::runtime()?;
        let result = runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(self.listener)
                .map_err(|e| Error::internal("could not set up the endpoint's socket", e))?;
            let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
            tokio::select! {
                _ = stop => {}
                () = accept_loop(&listener, &self.shared, permits) => {}
            }
            Ok(())
        });
        // Dropping the runtime drops every connection task: the endpoint is gone at once.
        runtime.shutdown_background();
        result
    }
}

async fn accept_loop(
    listener: &tokio::net::TcpListener,
    shared: &Arc<Shared>,
    permits: Arc<Semaphore>,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: say so, back off, carry on.
                shared.diag.warn(format!("endpoint: accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            shared.diag.warn(format!(
                "endpoint: refused a connection from {peer}: {MAX_CONNECTIONS} already open"
            ));
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            serve_connection(stream, peer, shared).await;
            drop(permit);
        });
    }
}

async fn serve_connection(stream: tokio::net::TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let service_shared = shared.clone();
    // Requests answered on this connection: after one, a timeout is an idle keep-alive.
    let answered = Arc::new(AtomicUsize::new(0));
    let counter = answered.clone();
    let service = hyper::service::service_fn(move |req| {
        let shared = service_shared.clone();
        let counter = counter.clone();
        async move {
            let response = handle(&shared, peer, req).await;
            counter.fetch_add(1, Ordering::Relaxed);
            Ok::<_, Infallible>(response)
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .max_buf_size(MAX_HEAD)
        .serve_connection(TokioIo::new(stream), service);
    match tokio::time::timeout(CONNECTION_LIFETIME, connection).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) if e.is_parse_too_large() => shared.diag.warn(format!(
            "endpoint: refused a request from {peer}: its head is over {MAX_HEAD} bytes (431)"
        )),
        Ok(Err(e)) if e.is_timeout() && answered.load(Ordering::Relaxed) > 0 => shared
            .diag
            .debug(format!("endpoint: closed an idle connection from {peer}")),
        Ok(Err(e)) if e.is_timeout() => shared.diag.warn(format!(
            "endpoint: closed a connection from {peer}: no complete request within {}s",
            HEAD_TIMEOUT.as_secs()
        )),
        Ok(Err(e)) if e.is_parse() => shared.diag.warn(format!(
            "endpoint: refused a request from {peer}: not valid HTTP/1 (400)"
        )),
        // The client closed or reset the connection: routine.
        Ok(Err(e)) => shared
            .diag
            .debug(format!("endpoint: connection from {peer} ended: {e}")),
        Err(_) => shared.diag.info(format!(
            "endpoint: closed a connection from {peer} after {}s",
            CONNECTION_LIFETIME.as_secs()
        )),
    }
}

/// Why a request is refused, and the status that says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    NoToken,
    WrongToken,
    Method,
    Path,
    Body,
}

impl Refusal {
    fn status(self) -> StatusCode {
        match self {
            Refusal::NoToken => StatusCode::UNAUTHORIZED,
            Refusal::WrongToken => StatusCode::FORBIDDEN,
            Refusal::Method => StatusCode::METHOD_NOT_ALLOWED,
            Refusal::Path => StatusCode::NOT_FOUND,
            Refusal::Body => StatusCode::BAD_REQUEST,
        }
    }

    fn reason(self) -> &'static str {
        match self {
            Refusal::NoToken => "no Authorization header",
            Refusal::WrongToken => "wrong Authorization token",
            Refusal::Method => "a method other than GET",
            Refusal::Path => "a path other than the endpoint's",
            Refusal::Body => "a request body",
        }
    }
}

fn check(token_digest: &[u8; 32], req: &Request<Incoming>) -> Result<(), Refusal> {
    let Some(sent) = req.headers().get(header::AUTHORIZATION) else {
        return Err(Refusal::NoToken);
    };
    let sent: [u8; 32] = Sha256::digest(sent.as_bytes()).into();
    if !same(&sent, token_digest) {
        return Err(Refusal::WrongToken);
    }
    if req.method() != Method::GET {
        return Err(Refusal::Method);
    }
    if req.uri().path() != super::PATH {
        return Err(Refusal::Path);
    }
    let has_body = req.headers().contains_key(header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    if has_body {
        return Err(Refusal::Body);
    }
    Ok(())
}

/// Equal in time independent of where the inputs differ.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

async fn handle(
    shared: &Shared,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    if let Err(refusal) = check(&shared.token_digest, &req) {
        let status = refusal.status();
        shared.diag.warn(format!(
            "endpoint: refused a request from {peer}: {} ({})",
            refusal.reason(),
            status.as_u16()
        ));
        return respond(status, Bytes::new());
    }
    match shared.asker.credentials().await {
        Ok(creds) => {
            shared.diag.info(format!(
                "endpoint: served credentials to {peer}, valid until {}",
                creds
                    .expiration
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
            respond(StatusCode::OK, Bytes::from(container_json(&creds)))
        }
        // The reason is one of aws-ci-creds' own messages (no secret); the SDK shows it.
        Err(what) => respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            Bytes::from(
                serde_json::json!({
                    "Code": "CredentialsUnavailable",
                    "Message": format!("aws-ci-creds could not obtain credentials: {what}; see its log"),
                })
                .to_string(),
            ),
        ),
    }
}

fn respond(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut builder = Response::builder().status(status);
    if !body.is_empty() {
        builder = builder.header(header::CONTENT_TYPE, "application/json");
    }
    builder
        .header(header::CACHE_CONTROL, "no-store")
        .body(Full::new(body))
        .expect("static status and headers are valid")
}

/// The container credentials document, field names as the SDKs read them.
#[derive(Serialize)]
struct ContainerCredentials<'a> {
    #[serde(rename = "AccessKeyId")]
    access_key_id: &'a str,
    #[serde(rename = "SecretAccessKey")]
    secret_access_key: &'a str,
    #[serde(rename = "Token")]
    token: &'a str,
    #[serde(rename = "Expiration")]
    expiration: String,
    #[serde(rename = "AccountId", skip_serializing_if = "Option::is_none")]
    account_id: Option<&'a str>,
}

fn container_json(creds: &Credentials) -> String {
    serde_json::to_string(&ContainerCredentials {
        access_key_id: creds.access_key_id.expose(),
        secret_access_key: creds.secret_access_key.expose(),
        token: creds.session_token.expose(),
        expiration: creds
            .expiration
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        account_id: creds.account_id(),
    })
    .expect("plain strings always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_document_has_the_container_protocol_fields() {
        let exp = chrono::Utc
            .with_ymd_and_hms(2026, 11, 26, 14, 0, 0)
            .unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&container_json(&crate::credentials::tests::sample(exp))).unwrap();
        assert_eq!(v["AccessKeyId"], "ASIAEXAMPLEKEY01");
        assert_eq!(v["SecretAccessKey"], "secret-canary");
        assert_eq!(v["Token"], "session-canary");
        assert_eq!(v["Expiration"], "2026-11-26T14:00:00Z");
        assert_eq!(v["AccountId"], "123456789012");
    }

    #[test]
    fn digests_compare_by_every_byte() {
        let a = [7u8; 32];
        let mut b = a;
        assert!(same(&a, &b));
        b[31] ^= 1;
        assert!(!same(&a, &b));
        b = a;
        b[0] ^= 0x80;
        assert!(!same(&a, &b));
    }
}
