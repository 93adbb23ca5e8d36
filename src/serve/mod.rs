//! The loopback credentials endpoint behind `exec --serve` and `serve`: the container
//! credentials protocol every AWS SDK speaks (`AWS_CONTAINER_CREDENTIALS_FULL_URI` plus
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN`), answered from the same cache and single flight as
//! credential mode, so a long job keeps getting fresh credentials without secrets in its
//! environment.
//!
//! Shape: the listener is bound (loopback only) before anything else starts, a scoped thread runs
//! the HTTP server on its own small runtime ([`http`]), and another answers credential requests
//! one at a time ([`flight`]), calling [`crate::flow::obtain`] when the
//! credentials it holds are due for a refresh.

mod flight;
mod http;

use std::net::{Ipv4Addr, SocketAddr, TcpListener};

use crate::config::Config;
use crate::context::Ctx;
use crate::credentials::Credentials;
use crate::error::{Error, Message};
use crate::secret::Secret;

/// The one path the endpoint answers on.
pub const PATH: &str = "/credentials";

/// The variable that carries the endpoint's URL to the SDKs.
pub const URI_VAR: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
/// The variable that carries the per-run token the SDKs send as `Authorization`.
pub const TOKEN_VAR: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN";

/// A bound loopback listener and the token its clients must present.
pub struct Bound {
    listener: TcpListener,
    addr: SocketAddr,
    token: Secret<String>,
}

impl Bound {
    /// Binds 127.0.0.1 on `port` (0: a free port) and draws a fresh random token.
    pub fn bind(port: u16) -> Result<Bound, Error> {
        Bound::bind_addr(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    }

    fn bind_addr(addr: SocketAddr) -> Result<Bound, Error> {
        // The SDKs accept plain http only for loopback (and the ECS/EKS link-local hosts, which
        // are not ours to take); anything else would put credentials on the network.
        if !addr.ip().is_loopback() {
            return Err(Error::usage(
                format!("the credentials endpoint may only listen on loopback, not {addr}"),
                "use 127.0.0.1; containers reach it with `docker run --network host`",
            ));
        }
        let listener = TcpListener::bind(addr).map_err(|e| {
            let what = match e.kind() {
                std::io::ErrorKind::AddrInUse => {
                    format!("port {} on 127.0.0.1 is already in use", addr.port())
                }
                _ => format!("could not listen on {addr}: {e}"),
            };
            Error::Usage(
                Message::new(what)
                    .fix("choose another --port, or leave --port out to get a free one"),
            )
        })?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::internal("could not read the endpoint's address", e))?;
        Ok(Bound {
            listener,
            addr,
            token: new_token()?,
        })
    }

    /// `http://127.0.0.1:PORT/credentials`: the value of `AWS_CONTAINER_CREDENTIALS_FULL_URI`.
    pub fn url(&self) -> String {
        format!("http://{}{PATH}", self.addr)
    }

    /// The value of `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
    pub fn token(&self) -> &Secret<String> {
        &self.token
    }
}

/// 32 random bytes, hex: long enough that guessing is hopeless, plain enough for any header.
fn new_token() -> Result<Secret<String>, Error> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| Error::internal("could not draw a random token", "no system randomness"))?;
    Ok(Secret::new(
        bytes.iter().map(|b| format!("{b:02x}")).collect(),
    ))
}

/// Serves the endpoint while `body` runs, then closes it. `first` is what the caller obtained
/// to check the set-up before starting; the endpoint serves it until it is due for a refresh.
///
/// When `body` returns, the listener and every connection are closed at once; a credential
/// fetch already under way is waited for (it is bounded by `--timeout`).
pub fn run<T>(
    ctx: &Ctx,
    cfg: &Config,
    bound: Bound,
    first: Credentials,
    body: impl FnOnce() -> T,
) -> Result<T, Error> {
    let Bound {
        listener, token, ..
    } = bound;
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::internal("could not set up the endpoint's socket", e))?;
    let (asker, requests) = flight::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = http::Server::new(listener, &token, asker, ctx.diag);
    std::thread::scope(|scope| {
        scope.spawn(move || flight::answer(ctx, cfg, requests, first));
        let serving = scope.spawn(move || server.run(stopped));
        let result = body();
        let _ = stop.send(());
        match serving.join() {
            Ok(Ok(())) => Ok(result),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::internal(
                "the credentials endpoint stopped unexpectedly",
                "server thread panicked",
            )),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_to_listen_beyond_loopback() {
        let err = Bound::bind_addr(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)))
            .err()
            .expect("refused");
        assert!(err.to_string().contains("only listen on loopback"), "{err}");
    }

    #[test]
    fn binds_loopback_with_a_fresh_token_each_time() {
        let a = Bound::bind(0).unwrap();
        let b = Bound::bind(0).unwrap();
        assert!(a.url().starts_with("http://127.0.0.1:"));
        assert!(a.url().ends_with(PATH));
        assert_eq!(a.token().expose().len(), 64);
        assert_ne!(a.token().expose(), b.token().expose());
    }
}
