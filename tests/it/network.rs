//! Corporate networks: an egress proxy that every request must pass (token endpoint and STS
//! alike), NO_PROXY, and a TLS-inspected STS endpoint signed by a private CA.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::support::*;

/// A loopback HTTP CONNECT proxy that records each tunnel it opens. With `credentials`, it
/// answers 407 to a CONNECT without that `Proxy-Authorization: Basic` value.
pub(crate) struct ConnectProxy {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
}

impl ConnectProxy {
    pub(crate) fn start(credentials: Option<&str>) -> ConnectProxy {
        use base64::Engine as _;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let expected = credentials.map(|c| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(c)
            )
        });
        let log = Arc::clone(&seen);
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut client) = conn else { continue };
                let log = Arc::clone(&log);
                let expected = expected.clone();
                thread::spawn(move || {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if client.read(&mut byte).unwrap_or(0) == 0 {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    let head = String::from_utf8_lossy(&head).to_string();
                    let first = head.lines().next().unwrap_or("").to_string();
                    let auth = head
                        .lines()
                        .find_map(|l| {
                            let (name, value) = l.split_once(':')?;
                            name.eq_ignore_ascii_case("proxy-authorization")
                                .then(|| value.trim().to_string())
                        })
                        .unwrap_or_default();
                    log.lock().unwrap().push(first.clone());
                    if expected.as_ref().is_some_and(|e| *e != auth) {
                        let _ = client.write_all(
                            b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\ncontent-length: 0\r\n\r\n",
                        );
                        return;
                    }
                    let target = first.split_whitespace().nth(1).unwrap_or("").to_string();
                    if !first.starts_with("CONNECT ") {
                        let _ = client.write_all(b"HTTP/1.1 405 Only CONNECT\r\n\r\n");
                        return;
                    }
                    let Ok(upstream) = TcpStream::connect(&target) else {
                        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
                        return;
                    };
                    client
                        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                        .unwrap();
                    pipe(client, upstream);
                });
            }
        });
        ConnectProxy { addr, seen }
    }

    pub(crate) fn url(&self, userinfo: &str) -> String {
        format!("http://{userinfo}{}", self.addr)
    }

    pub(crate) fn tunnels(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// Copies both ways until either side closes.
fn pipe(a: TcpStream, b: TcpStream) {
    let (mut a2, mut b2) = (a.try_clone().unwrap(), b.try_clone().unwrap());
    let (mut a, mut b) = (a, b);
    let t = thread::spawn(move || {
        let _ = std::io::copy(&mut a2, &mut b2);
        let _ = b2.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut b, &mut a);
    let _ = a.shutdown(std::net::Shutdown::Write);
    let _ = t.join();
}

/// `authority` of an `http://host:port…` URL.
fn authority(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn the_token_request_and_the_sts_call_both_go_through_the_proxy_and_no_proxy_bypasses_both() {
    let proxy = ConnectProxy::start(Some("ci-user:pr0xy-pa55"));
    let mut env = TestEnv::new();
    env.github_job();
    env.set("AWS_CI_CREDS_NO_CACHE", "1");
    // Both endpoints are plain http on loopback: HTTP_PROXY is the one that applies.
    env.set("HTTP_PROXY", &proxy.url("ci-user:pr0xy-pa55@"));
    let out = env.run(&["-v", "--role-arn", ROLE]);
    succeeded(&out);
    let err = stderr(&out);
    let issuer = authority(&env.emu.issuer_url());
    let sts = authority(&env.emu.sts_endpoint());
    assert_eq!(
        proxy.tunnels(),
        vec![
            format!("CONNECT {issuer} HTTP/1.1"),
            format!("CONNECT {sts} HTTP/1.1")
        ],
        "{err}"
    );
    says(
        &err,
        &[
            &format!(
                "proxy for http://{issuer}/github/token: http://{} (from HTTP_PROXY)",
                proxy.addr
            ),
            &format!(
                "proxy for {}: http://{} (from HTTP_PROXY)",
                env.emu.sts_endpoint(),
                proxy.addr
            ),
        ],
    );
    assert!(!err.contains("pr0xy-pa55"), "{err}");

    env.set("NO_PROXY", "localhost,127.0.0.0/8");
    let out = env.run(&["-v", "--role-arn", ROLE]);
    succeeded(&out);
    assert_eq!(
        proxy.tunnels().len(),
        2,
        "nothing more went through the proxy"
    );
    says(
        &stderr(&out),
        &["none (NO_PROXY entry `127.0.0.0/8` matches 127.0.0.1)"],
    );
}

#[test]
fn a_proxy_that_wants_credentials_is_named_without_them() {
    let proxy = ConnectProxy::start(Some("ci-user:right"));
    let mut env = TestEnv::new();
    env.github_job();
    env.set("HTTP_PROXY", &proxy.url("ci-user:wr0ng-pa55@"));
    env.set("AWS_CI_CREDS_TIMEOUT", "3s");
    let err = failed(&env.run(&["--role-arn", ROLE]), 5);
    says(
        &err,
        &[
            &format!("the proxy http://{} (from HTTP_PROXY)", proxy.addr),
            "407",
        ],
    );
    assert!(!err.contains("wr0ng-pa55"), "{err}");
    assert_eq!(env.assume_calls(), 0);
}

/// A private CA, a certificate for 127.0.0.1 signed by it, and a TLS terminator on loopback
/// that forwards to the emulator's STS.
struct TlsFront {
    addr: SocketAddr,
    ca_pem: String,
}

impl TlsFront {
    fn start(upstream: String) -> TlsFront {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "Corp TLS Inspection CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &issuer)
            .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone(), ca_cert.der().clone()],
            rustls_pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        continue;
                    };
                    let acceptor = acceptor.clone();
                    let upstream = upstream.clone();
                    tokio::spawn(async move {
                        let Ok(mut tls) = acceptor.accept(tcp).await else {
                            return;
                        };
                        let Ok(mut up) = tokio::net::TcpStream::connect(&upstream).await else {
                            return;
                        };
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                    });
                }
            });
        });
        TlsFront {
            addr,
            ca_pem: ca_cert.pem(),
        }
    }

    fn url(&self) -> String {
        format!("https://{}", self.addr)
    }
}

/// A GitLab job whose STS is behind TLS signed by a private CA.
fn tls_job() -> (TestEnv, TlsFront) {
    let mut env = TestEnv::new();
    let front = TlsFront::start(authority(&env.emu.sts_endpoint()));
    let claims = env.gitlab_claims();
    env.gitlab_job("AWS_ID_TOKEN", claims);
    env.set("AWS_ENDPOINT_URL_STS", &front.url());
    env.set("AWS_CI_CREDS_NO_CACHE", "1");
    std::fs::write(env.path("corp-ca.pem"), &front.ca_pem).unwrap();
    (env, front)
}

const ARGS: [&str; 5] = ["-v", "--role-arn", ROLE, "--token-env", "AWS_ID_TOKEN"];

#[test]
fn an_untrusted_sts_certificate_says_which_store_and_which_variable_without_retrying() {
    let (env, front) = tls_job();
    let err = failed(&env.run(&ARGS), 5);
    says(
        &err,
        &[
            &format!("the TLS certificate of {} is not trusted", front.addr),
            "checked against",
            "AWS_CA_BUNDLE",
        ],
    );
    assert!(err.contains("attempt 1"), "{err}");
    assert!(
        !err.contains("attempt 2"),
        "a certificate failure is not retried:\n{err}"
    );
    assert_eq!(env.assume_calls(), 0);
}

#[test]
fn aws_ca_bundle_the_profile_ca_bundle_and_ssl_cert_file_make_the_private_ca_trusted() {
    let (mut env, _front) = tls_job();
    let bundle = env.path("corp-ca.pem");
    let bundle = bundle.to_str().unwrap().to_string();

    env.set("AWS_CA_BUNDLE", &bundle);
    let out = env.run(&ARGS);
    succeeded(&out);
    says(
        &stderr(&out),
        &[&format!(
            "TLS roots for STS: the bundle {bundle} (env AWS_CA_BUNDLE) (1 certificates)"
        )],
    );
    env.unset("AWS_CA_BUNDLE");

    let config = env.path("aws-config");
    std::fs::write(&config, format!("[profile ci]\nca_bundle = {bundle}\n")).unwrap();
    env.set("AWS_CONFIG_FILE", config.to_str().unwrap());
    env.set("AWS_PROFILE", "ci");
    let out = env.run(&ARGS);
    succeeded(&out);
    says(&stderr(&out), &["ca_bundle in profile ci"]);
    env.set("AWS_CONFIG_FILE", "/dev/null");

    env.set("SSL_CERT_FILE", &bundle);
    let out = env.run(&ARGS);
    succeeded(&out);
    says(
        &stderr(&out),
        &[&format!(
            "TLS roots for STS and token endpoints: the bundle {bundle} (env SSL_CERT_FILE)"
        )],
    );
    assert_eq!(env.assume_calls(), 3);
}

#[test]
fn a_missing_or_empty_ca_bundle_is_a_configuration_error_before_any_call() {
    let (mut env, _front) = tls_job();
    let missing = env.path("nope.pem");
    env.set("AWS_CA_BUNDLE", missing.to_str().unwrap());
    let err = failed(&env.run(&ARGS), 2);
    says(
        &err,
        &[
            "the CA bundle",
            "nope.pem",
            "(env AWS_CA_BUNDLE) cannot be read",
        ],
    );

    let empty = env.path("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    env.set("AWS_CA_BUNDLE", empty.to_str().unwrap());
    let err = failed(&env.run(&ARGS), 2);
    says(&err, &["holds no usable PEM certificate", "AWS_CA_BUNDLE"]);
    assert!(!err.contains("calling STS"), "{err}");
    assert_eq!(env.assume_calls(), 0);
}

#[test]
fn tls_inspected_sts_through_the_proxy() {
    let (mut env, front) = tls_job();
    let proxy = ConnectProxy::start(None);
    env.set("HTTPS_PROXY", &proxy.url(""));
    env.set("AWS_CA_BUNDLE", env.path("corp-ca.pem").to_str().unwrap());
    let out = env.run(&ARGS);
    succeeded(&out);
    assert_eq!(
        proxy.tunnels(),
        vec![format!("CONNECT {} HTTP/1.1", front.addr)]
    );
    says(
        &stderr(&out),
        &[&format!(
            "proxy for {}: http://{} (from HTTPS_PROXY)",
            front.url(),
            proxy.addr
        )],
    );
}

#[test]
fn a_token_endpoint_behind_tls_inspection_needs_ssl_cert_file_not_aws_ca_bundle() {
    let mut env = TestEnv::new();
    env.github_job();
    env.set("AWS_CI_CREDS_NO_CACHE", "1");
    let front = TlsFront::start(authority(&env.emu.issuer_url()));
    let bundle = env.path("corp-ca.pem");
    std::fs::write(&bundle, &front.ca_pem).unwrap();
    env.set(
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        &format!("{}/github/token?api-version=2.0", front.url()),
    );
    // AWS_CA_BUNDLE is for STS only, as in the SDKs.
    env.set("AWS_CA_BUNDLE", bundle.to_str().unwrap());
    let err = failed(&env.run(&["--role-arn", ROLE]), 5);
    says(
        &err,
        &[
            &format!("the TLS certificate of {} is not trusted", front.addr),
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "set SSL_CERT_FILE",
        ],
    );
    assert_eq!(env.emu.github_token_requests(), 0);
    env.set("SSL_CERT_FILE", bundle.to_str().unwrap());
    succeeded(&env.run(&["--role-arn", ROLE]));
    assert_eq!(env.emu.github_token_requests(), 1);
}

#[test]
fn a_role_of_one_partition_with_a_region_of_another_stops_before_any_call() {
    let mut env = TestEnv::new();
    let claims = env.gitlab_claims();
    env.gitlab_job("AWS_ID_TOKEN", claims);
    env.set("AWS_REGION", "eu-west-1");
    let role = "arn:aws-us-gov:iam::123456789012:role/deploy";
    let err = failed(
        &env.run(&["--role-arn", role, "--token-env", "AWS_ID_TOKEN"]),
        2,
    );
    says(
        &err,
        &[
            "partition aws-us-gov",
            "the region eu-west-1 (env AWS_REGION) is in partition aws",
            "us-gov-west-1",
        ],
    );
    assert_eq!(env.assume_calls(), 0);
}
