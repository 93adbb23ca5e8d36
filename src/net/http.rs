//! The small HTTPS client the token sources that mint on request use (GitHub, Azure…), beside
//! the STS client ([`super::SdkHttpClient`]) and built from the same [`NetworkSettings`]: same
//! connector, proxy rules and trust roots (SSL_CERT_FILE, system, compiled-in). Built only on a
//! cache miss, inside the async runtime. The sources reach it as `source::http`.

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;

use super::{CertificateError, NetworkSettings, ProxyRules, RootsSource, client};
use crate::diag::Diag;
use crate::error::{BoxError, Error, Message};
use crate::secret::Secret;

/// A token endpoint's answer is a few KiB; anything past this is not one.
const MAX_BODY: usize = 1024 * 1024;

/// An HTTP(S) client with a per-request time limit.
pub struct Client {
    inner: HyperClient<client::Https, Full<Bytes>>,
    timeout: Duration,
    proxy: std::sync::Arc<ProxyRules>,
    store: RootsSource,
    diag: Diag,
}

/// Why a request to a token endpoint failed. Never holds a token.
#[derive(Debug)]
pub enum HttpFailure {
    BadUrl(String),
    Connect(BoxError),
    /// The server's certificate is not trusted by the roots in use: retrying cannot help.
    Certificate(CertificateError),
    Timeout(Duration),
    Status(u16),
    BadBody(String),
}

impl HttpFailure {
    /// Worth trying again within the deadline.
    pub fn retryable(&self) -> bool {
        match self {
            HttpFailure::Connect(_) | HttpFailure::Timeout(_) => true,
            HttpFailure::Status(s) => *s == 429 || *s >= 500,
            HttpFailure::BadBody(_) => true,
            HttpFailure::BadUrl(_) | HttpFailure::Certificate(_) => false,
        }
    }

    /// The user-facing error, naming the endpoint and the variable that points at it.
    pub fn into_error(self, endpoint: &str, variable: &str) -> Error {
        match self {
            HttpFailure::BadUrl(why) => Error::token(
                format!("{variable} is not a usable URL: {why}"),
                format!("{variable} is set by the CI; check the job does not overwrite it"),
            ),
            HttpFailure::Connect(cause) => {
                let proxy = client::find_in_chain::<client::ProxyFailure>(cause.as_ref())
                    .map(|p| p.what.clone());
                let message = match proxy {
                    Some(what) => Message::new(format!("could not reach {endpoint} ({variable})"))
                        .detail(what)
                        .fix("fix the proxy settings (HTTPS_PROXY, NO_PROXY) or the proxy's rules for this host"),
                    None => Message::new(format!("could not reach {endpoint} ({variable})"))
                        .fix("check the runner's network and proxy settings (HTTPS_PROXY, NO_PROXY)"),
                };
                Error::unavailable(message, Some(cause))
            }
            HttpFailure::Certificate(cert) => Error::unavailable(
                Message::new(format!("{cert} ({variable})")).fix(cert.fix.clone()),
                None,
            ),
            HttpFailure::Timeout(after) => Error::unavailable(
                Message::new(format!(
                    "{endpoint} did not answer within {}s",
                    after.as_secs()
                ))
                .fix("retry the job; raise --timeout if the runner's network is slow"),
                None,
            ),
            HttpFailure::Status(status) => Error::unavailable(
                Message::new(format!("{endpoint} answered HTTP {status}"))
                    .fix("retry the job; if it persists, the CI's token service is failing"),
                None,
            ),
            HttpFailure::BadBody(why) => Error::unavailable(
                Message::new(format!(
                    "{endpoint} answered with something that is not its JSON: {why}"
                ))
                .fix("retry the job; check no proxy rewrites the response"),
                None,
            ),
        }
    }
}

impl Client {
    /// A client on the shared connector; `diag` receives the `-v` line naming each request's proxy.
    pub fn new(net: &NetworkSettings, timeout: Duration, diag: Diag) -> Result<Client, Error> {
        let connector = client::https(&net.roots, net.proxy.clone(), None)?;
        Ok(Client {
            inner: HyperClient::builder(TokioExecutor::new()).build(connector),
            timeout,
            proxy: net.proxy.clone(),
            store: net.roots.source.clone(),
            diag,
        })
    }

    /// The time limit of one request (what was left of the deadline when the client was built).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `GET url` with a bearer token; the JSON object it answers.
    pub async fn get_json(
        &self,
        url: &str,
        bearer: &Secret<String>,
    ) -> Result<serde_json::Value, HttpFailure> {
        self.request(hyper::Method::GET, url, bearer, None).await
    }

    /// `POST url` with a bearer token and a JSON body; the JSON object it answers.
    pub async fn post_json(
        &self,
        url: &str,
        bearer: &Secret<String>,
        body: &str,
    ) -> Result<serde_json::Value, HttpFailure> {
        self.request(hyper::Method::POST, url, bearer, Some(body.to_string()))
            .await
    }

    async fn request(
        &self,
        method: hyper::Method,
        url: &str,
        bearer: &Secret<String>,
        body: Option<String>,
    ) -> Result<serde_json::Value, HttpFailure> {
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e: http::uri::InvalidUri| HttpFailure::BadUrl(e.to_string()))?;
        if !matches!(uri.scheme_str(), Some("https" | "http")) {
            return Err(HttpFailure::BadUrl("it is not an http(s) URL".into()));
        }
        let shown = format!(
            "{}://{}{}",
            uri.scheme_str().unwrap_or("https"),
            uri.authority().map(|a| a.as_str()).unwrap_or(""),
            uri.path()
        );
        self.diag.info(self.proxy.route(&uri).describe(&shown));
        let host = uri.authority().map(|a| a.to_string()).unwrap_or_default();
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(uri)
            .header("accept", "application/json")
            .header("user-agent", super::USER_AGENT)
            .header("authorization", format!("Bearer {}", bearer.expose()));
        if body.is_some() {
            builder = builder.header("content-type", "application/json");
        }
        let request = builder
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| HttpFailure::BadUrl(e.to_string()))?;

        let exchange = async {
            let response =
                self.inner.request(request).await.map_err(
                    |e| match client::certificate_problem(&e) {
                        Some(problem) => HttpFailure::Certificate(CertificateError::new(
                            &host,
                            problem,
                            &self.store,
                            false,
                        )),
                        None => HttpFailure::Connect(Box::new(e)),
                    },
                )?;
            let status = response.status().as_u16();
            let bytes = Limited::new(response.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| HttpFailure::BadBody(e.to_string()))?
                .to_bytes();
            if !(200..300).contains(&status) {
                return Err(HttpFailure::Status(status));
            }
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .filter(serde_json::Value::is_object)
                .ok_or_else(|| HttpFailure::BadBody("not a JSON object".into()))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or(Err(HttpFailure::Timeout(self.timeout)))
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
