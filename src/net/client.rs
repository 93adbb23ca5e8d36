//! The one connector: TCP, through an HTTP CONNECT tunnel when the proxy rules say so, then
//! rustls with the chosen roots. The token client ([`super::http`]) and the STS client
//! ([`SdkHttpClient`], plugged into aws-sdk-sts) are both built on it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector as SdkConnector, HttpConnectorFuture, HttpConnectorSettings,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use hyper::Uri;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tower_service::Service;

use super::proxy::{ProxyRules, Route};
use super::tls::{Roots, RootsSource, how_to_change};
use crate::error::{BoxError, Error};

/// TCP to the destination, or to the proxy and through a CONNECT tunnel to the destination.
#[derive(Clone)]
pub struct Connector {
    direct: HttpConnector,
    proxy: Arc<ProxyRules>,
}

impl Connector {
    pub fn new(proxy: Arc<ProxyRules>, connect_timeout: Option<Duration>) -> Connector {
        let mut direct = HttpConnector::new();
        // The TLS layer above hands https:// destinations down to this plain TCP connector.
        direct.enforce_http(false);
        direct.set_connect_timeout(connect_timeout);
        direct.set_nodelay(true);
        Connector { direct, proxy }
    }
}

/// The proxy could not be used; names it without its credentials.
#[derive(Debug)]
pub struct ProxyFailure {
    pub what: String,
}

impl fmt::Display for ProxyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)
    }
}

impl std::error::Error for ProxyFailure {}

impl Service<Uri> for Connector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        match self.proxy.route(&dst) {
            Route::Direct { .. } => {
                let mut direct = self.direct.clone();
                Box::pin(async move { direct.call(dst).await.map_err(Into::into) })
            }
            Route::Proxy { proxy, .. } => {
                let mut tunnel = Tunnel::new(proxy.uri.clone(), self.direct.clone());
                if let Some(auth) = proxy
                    .authorization
                    .as_ref()
                    .and_then(|a| http::HeaderValue::from_str(a.expose()).ok())
                {
                    tunnel = tunnel.with_auth(auth);
                }
                let shown = format!("{} (from {})", proxy.display(), proxy.origin);
                // CONNECT needs the port; hyper-util assumes 443 when the URL has none.
                let https = dst.scheme_str() == Some("https");
                let port = dst.port_u16().unwrap_or(if https { 443 } else { 80 });
                let target = format!(
                    "{}://{}:{port}",
                    dst.scheme_str().unwrap_or("https"),
                    dst.host().unwrap_or("")
                );
                Box::pin(async move {
                    let target: Uri = target.parse().map_err(|e| Box::new(e) as BoxError)?;
                    std::future::poll_fn(|cx| tunnel.poll_ready(cx))
                        .await
                        .map_err(|e| proxy_failure(&shown, &e))?;
                    tunnel
                        .call(target)
                        .await
                        .map_err(|e| proxy_failure(&shown, &e))
                })
            }
        }
    }
}

fn proxy_failure(shown: &str, e: &(dyn std::error::Error + 'static)) -> BoxError {
    let text = e.to_string();
    let what = if text.contains("authorization required") {
        format!(
            "the proxy {shown} asked for credentials (HTTP 407): put them in the proxy URL, http://USER:PASSWORD@host:port (percent-encode special characters)"
        )
    } else if text.contains("unsuccessful") {
        format!(
            "the proxy {shown} refused to open a tunnel (CONNECT was not answered with 200): check the proxy allows this host, or list the host in NO_PROXY"
        )
    } else if text.contains("underlying connection") {
        let cause = e.source().map(|s| s.to_string()).unwrap_or_default();
        format!("the proxy {shown} could not be reached: {cause}")
    } else {
        format!("the tunnel through the proxy {shown} failed: {text}")
    };
    Box::new(ProxyFailure { what })
}

/// The TLS connector over [`Connector`].
pub type Https = hyper_rustls::HttpsConnector<Connector>;

/// Builds the connector that trusts `roots`.
pub fn https(
    roots: &Roots,
    proxy: Arc<ProxyRules>,
    connect_timeout: Option<Duration>,
) -> Result<Https, Error> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::internal("could not set up TLS", e))?
    .with_root_certificates(roots.store.clone())
    .with_no_client_auth();
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .wrap_connector(Connector::new(proxy, connect_timeout)))
}

/// A server certificate the roots did not accept: says for which host, against which store,
/// and what changes it.
#[derive(Debug, Clone)]
pub struct CertificateError {
    pub host: String,
    pub problem: String,
    pub store: String,
    pub fix: String,
}

impl CertificateError {
    pub fn new(host: &str, problem: String, store: &RootsSource, sts: bool) -> CertificateError {
        CertificateError {
            host: host.to_string(),
            problem,
            store: store.to_string(),
            fix: how_to_change(store, sts),
        }
    }
}

impl fmt::Display for CertificateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the TLS certificate of {} is not trusted ({}); checked against {}",
            self.host, self.problem, self.store
        )
    }
}

impl std::error::Error for CertificateError {}

/// The first error of type `E` in a chain. An `io::Error` is looked into, not just past: TLS
/// layers wrap the rustls error in one (or two) of them, and `io::Error::source` skips a level.
pub fn find_in_chain<'a, E: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<E>() {
            return Some(found);
        }
        current = match e.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

/// The certificate problem somewhere in an error's chain, if that is what failed.
pub fn certificate_problem(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    match find_in_chain::<rustls::Error>(err) {
        Some(tls @ rustls::Error::InvalidCertificate(_)) => Some(tls.to_string()),
        _ => None,
    }
}

/// The STS client's HTTP client: the shared connector, handed to aws-sdk-sts.
#[derive(Clone)]
pub struct SdkHttpClient {
    client: HyperClient<Https, SdkBody>,
    store: RootsSource,
}

impl fmt::Debug for SdkHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SdkHttpClient({})", self.store)
    }
}

impl SdkHttpClient {
    pub fn new(settings: &super::NetworkSettings) -> Result<SdkHttpClient, Error> {
        let connector = https(
            &settings.sts_roots,
            settings.proxy.clone(),
            Some(Duration::from_secs(3)),
        )?;
        Ok(SdkHttpClient {
            client: HyperClient::builder(TokioExecutor::new()).build(connector),
            store: settings.sts_roots.source.clone(),
        })
    }
}

impl HttpClient for SdkHttpClient {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl SdkConnector for SdkHttpClient {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(r) => r,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        let host = request
            .uri()
            .authority()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let client = self.client.clone();
        let store = self.store.clone();
        HttpConnectorFuture::new(async move {
            match client.request(request).await {
                Ok(response) => HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                    .map_err(|e| ConnectorError::other(e.into(), None)),
                Err(e) => Err(match certificate_problem(&e) {
                    Some(problem) => ConnectorError::other(
                        Box::new(CertificateError::new(&host, problem, &store, true)),
                        None,
                    ),
                    None => ConnectorError::io(Box::new(e)),
                }),
            }
        })
    }
}
