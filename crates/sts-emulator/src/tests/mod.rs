//! Behaviour tests for the emulator, over real sockets (and, in `sdk`, the real STS client).
//! This module holds the raw-HTTP helpers every test file shares.

mod chain;
mod faults;
mod issuer;
mod sdk;
mod sts;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

use super::http::percent_encode;
use super::*;

const ROLE: &str = "arn:aws:iam::111122223333:role/ci/deploy";
const SUB: &str = "repo:octo-org/octo-repo:ref:refs/heads/main";

fn config() -> EmulatorConfig {
    EmulatorConfig {
        roles: vec![RoleTrust {
            role_arn: ROLE.to_string(),
            audience: "sts.amazonaws.com".to_string(),
            subject_like: "repo:octo-org/octo-repo:*".to_string(),
            max_session_seconds: 7200,
        }],
        ..EmulatorConfig::default()
    }
}

fn start() -> Emulator {
    Emulator::start(config()).expect("emulator starts")
}

struct RawResponse {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
}

impl RawResponse {
    fn tag(&self, name: &str) -> Option<String> {
        let open = format!("<{name}>");
        let start = self.body.find(&open)? + open.len();
        let end = start + self.body[start..].find(&format!("</{name}>"))?;
        Some(
            self.body[start..end]
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&"),
        )
    }

    fn code(&self) -> String {
        self.tag("Code").unwrap_or_default()
    }

    fn message(&self) -> String {
        self.tag("Message").unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

fn addr_of(url: &str) -> String {
    url.trim_start_matches("http://").to_string()
}

fn send(url: &str, method: &str, target: &str, headers: &[(&str, &str)], body: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr_of(url)).expect("connect");
    let mut req = format!(
        "{method} {target} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
        addr_of(url),
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).expect("write request");
    stream
}

fn read_all(mut stream: TcpStream) -> std::io::Result<Vec<u8>> {
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf)?;
    Ok(buf)
}

fn parse_response(raw: &[u8]) -> RawResponse {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    RawResponse {
        status,
        headers,
        body: body.to_string(),
    }
}

fn request(
    url: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> RawResponse {
    parse_response(&read_all(send(url, method, target, headers, body)).expect("read response"))
}

fn form(params: &[(&str, &str)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn sts_post(emu: &Emulator, params: &[(&str, &str)]) -> RawResponse {
    request(
        &emu.sts_endpoint(),
        "POST",
        "/",
        &[(
            "Content-Type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )],
        &form(params),
    )
}

/// `AssumeRoleWithWebIdentity` for ROLE with `token`, plus `extra` parameters.
fn assume(emu: &Emulator, token: &str, extra: &[(&str, &str)]) -> RawResponse {
    let mut params = vec![
        ("Action", "AssumeRoleWithWebIdentity"),
        ("Version", "2011-06-15"),
        ("RoleArn", ROLE),
        ("RoleSessionName", "ci-session"),
        ("WebIdentityToken", token),
    ];
    for (k, v) in extra {
        params.retain(|(pk, _)| pk != k);
        params.push((k, v));
    }
    sts_post(emu, &params)
}

fn assert_error(r: &RawResponse, status: u16, code: &str) {
    assert_eq!(
        (r.status, r.code().as_str()),
        (status, code),
        "body: {}",
        r.body
    );
    assert!(r.body.contains("<Type>Sender</Type>"), "{}", r.body);
    assert_eq!(r.headers["content-type"], "text/xml");
    let id = &r.headers["x-amzn-requestid"];
    assert_eq!(r.tag("RequestId").as_deref(), Some(id.as_str()));
}
