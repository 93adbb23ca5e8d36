//! Behaviour tests for the emulator, over real sockets (and, at the end, the real STS client).

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Timelike, Utc};
use serde_json::{Value, json};

use super::http::{parse_form, percent_encode};
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

#[test]
fn minted_token_is_accepted_and_yields_sts_shaped_credentials() {
    let emu = start();
    let token = emu.mint(json!({"sub": SUB}));
    let before = wall_clock();
    let r = assume(&emu, &token, &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.headers["content-type"], "text/xml");
    assert_eq!(r.headers["connection"], "close");
    assert!(r.body.contains(
        "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
    ));
    let akid = r.tag("AccessKeyId").unwrap();
    assert!(akid.starts_with("ASIA") && akid.len() == 20, "{akid}");
    assert!(
        akid[4..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    );
    assert_eq!(r.tag("SecretAccessKey").unwrap().len(), 40);
    assert!(r.tag("SessionToken").unwrap().len() > 300);
    let exp: DateTime<Utc> = r.tag("Expiration").unwrap().parse().unwrap();
    let lifetime = (exp - before).num_seconds();
    assert!((3590..=3610).contains(&lifetime), "{lifetime}");
    assert!(r.tag("Expiration").unwrap().ends_with('Z'));
    assert_eq!(
        r.tag("Arn").unwrap(),
        "arn:aws:sts::111122223333:assumed-role/deploy/ci-session"
    );
    let role_id = r.tag("AssumedRoleId").unwrap();
    assert!(role_id.starts_with("AROA") && role_id.ends_with(":ci-session"));
    assert_eq!(r.tag("SubjectFromWebIdentityToken").unwrap(), SUB);
    assert_eq!(r.tag("Audience").unwrap(), "sts.amazonaws.com");
    assert_eq!(
        r.tag("Provider").unwrap(),
        emu.issuer_url().trim_start_matches("http://")
    );
    assert_eq!(r.tag("RequestId").unwrap(), r.headers["x-amzn-requestid"]);
    assert_eq!(emu.sts_calls("AssumeRoleWithWebIdentity"), 1);
}

#[test]
fn each_success_issues_distinct_credentials() {
    let emu = start();
    let a = assume(&emu, &emu.mint(json!({"sub": SUB})), &[]);
    let b = assume(&emu, &emu.mint(json!({"sub": SUB})), &[]);
    assert_ne!(a.tag("AccessKeyId"), b.tag("AccessKeyId"));
    assert_ne!(a.tag("SessionToken"), b.tag("SessionToken"));
    // The role's unique id is stable.
    assert_eq!(a.tag("AssumedRoleId"), b.tag("AssumedRoleId"));
}

#[test]
fn token_problems_get_the_aws_error_code_and_status() {
    let emu = start();
    let now = wall_clock().timestamp();
    let cases: Vec<(&str, String, u16, &str, &str)> = vec![
        (
            "forged signature",
            emu.mint_forged(json!({"sub": SUB})),
            400,
            "InvalidIdentityToken",
            "",
        ),
        (
            "unknown kid",
            emu.mint_with_header(json!({"alg": "RS256", "kid": "other"}), json!({"sub": SUB})),
            400,
            "InvalidIdentityToken",
            "",
        ),
        (
            "alg none",
            emu.mint_with_header(
                json!({"alg": "none", "kid": emu.kid()}),
                json!({"sub": SUB}),
            ),
            400,
            "InvalidIdentityToken",
            "",
        ),
        (
            "other issuer",
            emu.mint(json!({"sub": SUB, "iss": "https://token.example.com"})),
            400,
            "InvalidIdentityToken",
            "No OpenIDConnect provider found in your account for https://token.example.com",
        ),
        (
            "unregistered audience",
            emu.mint(json!({"sub": SUB, "aud": "https://github.com/octo-org"})),
            400,
            "InvalidIdentityToken",
            "Incorrect token audience",
        ),
        (
            "expired",
            emu.mint(json!({"sub": SUB, "iat": now - 7200, "nbf": now - 7200, "exp": now - 60})),
            400,
            "ExpiredTokenException",
            "Token expired: current date/time ",
        ),
        (
            "issued in the future",
            emu.mint(json!({"sub": SUB, "iat": now + 3600, "exp": now + 7200})),
            400,
            "InvalidIdentityToken",
            "",
        ),
        (
            "not a JWT",
            "definitely-not-a-jwt".to_string(),
            400,
            "InvalidIdentityToken",
            "",
        ),
        (
            "subject outside the trust policy",
            emu.mint(json!({"sub": "repo:octo-org/other:ref:refs/heads/main"})),
            403,
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        ),
        (
            "subject differing only in case",
            emu.mint(json!({"sub": "repo:Octo-Org/octo-repo:ref:refs/heads/main"})),
            403,
            "AccessDenied",
            "",
        ),
        ("no subject", emu.mint(json!({})), 403, "AccessDenied", ""),
    ];
    for (what, token, status, code, message) in cases {
        let r = assume(&emu, &token, &[]);
        assert_eq!(
            (r.status, r.code().as_str()),
            (status, code),
            "{what}: {}",
            r.body
        );
        assert!(r.message().starts_with(message), "{what}: {}", r.message());
        assert_error(&r, status, code);
    }
    assert_eq!(emu.sts_calls("AssumeRoleWithWebIdentity"), 11);
}

#[test]
fn expired_token_message_names_both_instants() {
    let emu = start();
    let exp = wall_clock().timestamp() - 30;
    let r = assume(&emu, &emu.mint(json!({"sub": SUB, "exp": exp})), &[]);
    assert_error(&r, 400, "ExpiredTokenException");
    assert!(
        r.message()
            .ends_with(&format!("must be before the expiration date/time {exp}")),
        "{}",
        r.message()
    );
}

#[test]
fn audience_may_be_a_list_containing_a_registered_client_id() {
    let emu = start();
    let token =
        emu.mint(json!({"sub": SUB, "aud": ["https://github.com/octo-org", "sts.amazonaws.com"]}));
    let r = assume(&emu, &token, &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.tag("Audience").unwrap(), "sts.amazonaws.com");
}

#[test]
fn registered_audience_that_the_role_does_not_trust_is_access_denied() {
    let mut cfg = config();
    cfg.client_ids.push("other-client".to_string());
    let emu = Emulator::start(cfg).unwrap();
    let r = assume(
        &emu,
        &emu.mint(json!({"sub": SUB, "aud": "other-client"})),
        &[],
    );
    assert_error(&r, 403, "AccessDenied");
}

#[test]
fn unknown_role_is_access_denied() {
    let emu = start();
    let token = emu.mint(json!({"sub": SUB}));
    let r = assume(
        &emu,
        &token,
        &[("RoleArn", "arn:aws:iam::111122223333:role/unknown")],
    );
    assert_error(&r, 403, "AccessDenied");
}

#[test]
fn parameter_problems_are_validation_errors_with_aws_messages() {
    let emu = start();
    let token = emu.mint(json!({"sub": SUB}));
    let r = assume(&emu, &token, &[("DurationSeconds", "7201")]);
    assert_error(&r, 400, "ValidationError");
    assert_eq!(
        r.message(),
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    );

    let r = assume(&emu, &token, &[("RoleSessionName", "bad name!")]);
    assert_error(&r, 400, "ValidationError");
    assert_eq!(
        r.message(),
        r"1 validation error detected: Value 'bad name!' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*"
    );

    for (name, value) in [
        ("RoleSessionName", "x"),
        ("RoleSessionName", &"a".repeat(65)[..]),
        ("DurationSeconds", "899"),
        ("DurationSeconds", "43201"),
        ("DurationSeconds", "soon"),
        ("RoleArn", "arn:aws:iam::1:role/x"),
        ("RoleArn", "arn:aws:iam::111122223333:user/someone"),
        ("ProviderId", "www.amazon.com"),
        ("Policy", &"x".repeat(2049)[..]),
        ("PolicyArns.member.1.arn", "arn:aws:s3:::my-bucket/policy"),
    ] {
        let r = assume(&emu, &token, &[(name, value)]);
        assert_error(&r, 400, "ValidationError");
        assert!(!r.message().contains(&token), "the token is never echoed");
    }

    let r = sts_post(
        &emu,
        &[
            ("Action", "AssumeRoleWithWebIdentity"),
            ("Version", "2011-06-15"),
        ],
    );
    assert_error(&r, 400, "ValidationError");
    assert!(
        r.message()
            .starts_with("3 validation errors detected: Value null at 'roleArn'")
    );

    let r = assume(&emu, &token, &[("Policy", "{not json")]);
    assert_error(&r, 400, "MalformedPolicyDocument");
    let r = assume(&emu, &token, &[("Policy", "{\"Version\":\"2012-10-17\"}")]);
    assert_error(&r, 400, "MalformedPolicyDocument");
}

#[test]
fn session_options_are_accepted_and_recorded_without_the_token() {
    let emu = start();
    let token = emu.mint(json!({"sub": SUB, "run_id": "77"}));
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    let r = assume(
        &emu,
        &token,
        &[
            ("RoleSessionName", "gha-77-1"),
            ("DurationSeconds", "7200"),
            ("Policy", policy),
            (
                "PolicyArns.member.1.arn",
                "arn:aws:iam::aws:policy/ReadOnlyAccess",
            ),
            (
                "PolicyArns.member.2.arn",
                "arn:aws:iam::111122223333:policy/team/extra",
            ),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.tag("PackedPolicySize").is_some());
    let recorded = emu.requests();
    assert_eq!(recorded.len(), 1);
    let rec = &recorded[0];
    assert_eq!(rec.action, "AssumeRoleWithWebIdentity");
    assert_eq!(rec.method, "POST");
    assert_eq!(rec.params["RoleSessionName"], "gha-77-1");
    assert_eq!(rec.params["DurationSeconds"], "7200");
    assert_eq!(rec.params["Policy"], policy);
    assert_eq!(
        rec.params["PolicyArns.member.2.arn"],
        "arn:aws:iam::111122223333:policy/team/extra"
    );
    assert!(!rec.params.contains_key("WebIdentityToken"));
    assert!(!format!("{rec:?}").contains(&token));
    assert_eq!(rec.token_claims.as_ref().unwrap()["run_id"], "77");
    assert!(rec.headers["content-type"].starts_with("application/x-www-form-urlencoded"));
    assert_eq!(rec.fault, None);
}

#[test]
fn unknown_actions_and_versions_are_invalid_action() {
    let emu = start();
    let r = sts_post(&emu, &[("Action", "AssumeRole"), ("Version", "2011-06-15")]);
    assert_error(&r, 400, "InvalidAction");
    let r = sts_post(&emu, &[("Action", "GetCallerIdentity")]);
    assert_error(&r, 400, "InvalidAction");
    assert!(r.message().contains("NO_VERSION_SPECIFIED"));
    let r = sts_post(&emu, &[]);
    assert_error(&r, 400, "MissingAction");
    // A body that is not declared as a form is not read as one.
    let r = request(
        &emu.sts_endpoint(),
        "POST",
        "/",
        &[("Content-Type", "application/json")],
        "Action=GetCallerIdentity&Version=2011-06-15",
    );
    assert_error(&r, 400, "MissingAction");
    assert_eq!(emu.sts_calls(""), 2);
}

#[test]
fn get_caller_identity_without_valid_credentials_is_refused() {
    let emu = start();
    let body = "Action=GetCallerIdentity&Version=2011-06-15";
    let ct = ("Content-Type", "application/x-www-form-urlencoded");
    let r = request(&emu.sts_endpoint(), "POST", "/", &[ct], body);
    assert_error(&r, 403, "MissingAuthenticationToken");
    let auth = "AWS4-HMAC-SHA256 Credential=ASIAUNKNOWN0000000/20260101/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=00";
    let r = request(
        &emu.sts_endpoint(),
        "POST",
        "/",
        &[
            ct,
            ("Authorization", auth),
            ("X-Amz-Date", "20260101T000000Z"),
        ],
        body,
    );
    assert_error(&r, 403, "InvalidClientTokenId");
    assert_eq!(
        r.message(),
        "The security token included in the request is invalid."
    );
    assert_eq!(emu.sts_calls("GetCallerIdentity"), 2);
}

#[test]
fn form_decoding_handles_plus_and_percent_escapes() {
    let p = parse_form("a=1+2&b=%2B%3D%26&c&d=%zz&e=caf%C3%A9");
    assert_eq!(p["a"], "1 2");
    assert_eq!(p["b"], "+=&");
    assert_eq!(p["c"], "");
    assert_eq!(p["d"], "%zz");
    assert_eq!(p["e"], "café");
}

// ---- faults ----

#[test]
fn status_fault_returns_that_status_with_an_html_body() {
    let emu = start();
    emu.push_fault(Fault::Status(503));
    let r = assume(&emu, &emu.mint(json!({"sub": SUB})), &[]);
    assert_eq!(r.status, 503);
    assert_eq!(r.headers["content-type"], "text/html");
    assert!(r.body.contains("503"));
    // The queue is consumed: the next call is normal.
    assert_eq!(
        assume(&emu, &emu.mint(json!({"sub": SUB})), &[]).status,
        200
    );
    assert_eq!(emu.sts_calls("AssumeRoleWithWebIdentity"), 2);
    assert_eq!(emu.requests()[0].fault, Some(Fault::Status(503)));
}

#[test]
fn sts_error_fault_returns_an_sts_error_document() {
    let emu = start();
    emu.push_fault(Fault::sts_error("Throttling", "Rate exceeded"));
    emu.push_fault(Fault::StsError {
        status: 403,
        code: "RegionDisabledException".into(),
        message: "STS is not activated in this region".into(),
    });
    let token = emu.mint(json!({"sub": SUB}));
    let r = assume(&emu, &token, &[]);
    assert_error(&r, 400, "Throttling");
    assert_eq!(r.message(), "Rate exceeded");
    let r = assume(&emu, &token, &[]);
    assert_error(&r, 403, "RegionDisabledException");
    assert_eq!(assume(&emu, &token, &[]).status, 200);
}

#[test]
fn persistent_fault_applies_until_cleared_and_queued_faults_go_first() {
    let emu = start();
    let token = emu.mint(json!({"sub": SUB}));
    emu.set_persistent_fault(Some(Fault::Status(502)));
    emu.push_fault(Fault::Status(504));
    assert_eq!(assume(&emu, &token, &[]).status, 504);
    assert_eq!(assume(&emu, &token, &[]).status, 502);
    assert_eq!(assume(&emu, &token, &[]).status, 502);
    emu.set_persistent_fault(None);
    assert_eq!(assume(&emu, &token, &[]).status, 200);
    assert_eq!(emu.sts_calls("AssumeRoleWithWebIdentity"), 4);
}

#[test]
fn hang_fault_keeps_the_socket_open_without_answering_until_the_emulator_drops() {
    let emu = start();
    emu.push_fault(Fault::Hang);
    let token = emu.mint(json!({"sub": SUB}));
    let body = form(&[
        ("Action", "AssumeRoleWithWebIdentity"),
        ("Version", "2011-06-15"),
        ("RoleArn", ROLE),
        ("RoleSessionName", "s1"),
        ("WebIdentityToken", &token),
    ]);
    let mut stream = send(
        &emu.sts_endpoint(),
        "POST",
        "/",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &body,
    );
    stream
        .set_read_timeout(Some(Duration::from_millis(1200)))
        .unwrap();
    let mut buf = [0u8; 64];
    let err = stream.read(&mut buf).expect_err("no answer while hanging");
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err:?}"
    );
    assert_eq!(emu.sts_calls("AssumeRoleWithWebIdentity"), 1);

    drop(emu);
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    let n = stream.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn delay_fault_answers_normally_after_the_delay() {
    let emu = start();
    emu.push_fault(Fault::Delay(Duration::from_millis(400)));
    let token = emu.mint(json!({"sub": SUB}));
    let started = Instant::now();
    let r = assume(&emu, &token, &[]);
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn reset_fault_closes_the_connection_without_a_byte() {
    let emu = start();
    emu.push_fault(Fault::Reset);
    let stream = send(
        &emu.sts_endpoint(),
        "POST",
        "/",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "Action=GetCallerIdentity&Version=2011-06-15",
    );
    match read_all(stream) {
        Ok(bytes) => assert!(bytes.is_empty(), "got {} bytes", bytes.len()),
        Err(err) => assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err:?}"),
    }
    assert_eq!(emu.sts_calls("GetCallerIdentity"), 1);
}

#[test]
fn truncated_fault_sends_half_the_body_under_a_larger_content_length() {
    let emu = start();
    emu.push_fault(Fault::Truncated);
    let token = emu.mint(json!({"sub": SUB}));
    let r = assume(&emu, &token, &[]);
    assert_eq!(r.status, 200);
    let announced: usize = r.headers["content-length"].parse().unwrap();
    assert!(r.body.len() < announced, "{} < {announced}", r.body.len());
    assert!(r.body.len() >= announced / 2 - 1);
    assert!(r.body.starts_with("<AssumeRoleWithWebIdentityResponse"));
    assert!(!r.body.contains("</AssumeRoleWithWebIdentityResponse>"));
}

#[test]
fn not_xml_fault_answers_200_with_a_non_xml_body() {
    let emu = start();
    emu.push_fault(Fault::NotXml);
    let r = assume(&emu, &emu.mint(json!({"sub": SUB})), &[]);
    assert_eq!(r.status, 200);
    assert!(!r.body.trim_start().starts_with('<'));
    assert!(r.tag("Credentials").is_none());
}

// ---- issuer and CI token endpoints ----

#[test]
fn discovery_document_and_jwks_are_served() {
    let emu = start();
    let r = request(
        &emu.issuer_url(),
        "GET",
        "/.well-known/openid-configuration",
        &[],
        "",
    );
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert_eq!(doc["issuer"], emu.issuer_url());
    assert_eq!(doc["jwks_uri"], format!("{}/jwks", emu.issuer_url()));

    let r = request(&emu.issuer_url(), "GET", "/jwks", &[], "");
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], "application/json");
    let jwks = r.json();
    assert_eq!(jwks, emu.jwks());
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["kid"], emu.kid());
    assert_eq!(key["e"], "AQAB");
    let n = key["n"].as_str().unwrap();
    assert!(!n.contains('=') && !n.contains('+') && !n.contains('/'));
    assert_eq!(n.len(), 342, "2048-bit modulus, base64url without padding");

    let r = request(&emu.issuer_url(), "GET", "/nope", &[], "");
    assert_eq!(r.status, 404);
}

fn decode_claims(token: &str) -> Value {
    Value::Object(super::jwt::parse(token).unwrap().claims)
}

#[test]
fn mint_fills_registered_claims_and_lets_given_claims_win() {
    let emu = start();
    let c = decode_claims(&emu.mint(json!({"sub": "x"})));
    assert_eq!(c["iss"], emu.issuer_url());
    assert_eq!(c["aud"], "sts.amazonaws.com");
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        3600
    );
    assert_eq!(c["nbf"], c["iat"]);
    assert!(c["jti"].is_string());
    let c = decode_claims(&emu.mint(json!({"iss": "https://x", "aud": ["a"], "exp": 1})));
    assert_eq!(
        (c["iss"].clone(), c["aud"].clone(), c["exp"].clone()),
        (json!("https://x"), json!(["a"]), json!(1))
    );
}

fn github(emu: &Emulator, bearer: Option<&str>, audience: Option<&str>) -> RawResponse {
    let target = match audience {
        Some(a) => format!(
            "/github/token?api-version=2.0&audience={}",
            percent_encode(a)
        ),
        None => "/github/token?api-version=2.0".to_string(),
    };
    let auth = bearer.map(|b| format!("Bearer {b}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    request(&emu.issuer_url(), "GET", &target, &headers, "")
}

#[test]
fn github_endpoint_checks_the_bearer_token() {
    let emu = start();
    assert_eq!(github(&emu, None, Some("sts.amazonaws.com")).status, 401);
    assert_eq!(
        github(&emu, Some("wrong"), Some("sts.amazonaws.com")).status,
        401
    );
    let r = github(
        &emu,
        Some("github-request-token"),
        Some("sts.amazonaws.com"),
    );
    assert_eq!(r.status, 200);
    assert_eq!(emu.github_token_requests(), 3);
}

#[test]
fn github_endpoint_honours_the_audience_and_mints_fresh_accepted_tokens() {
    let emu = start();
    emu.set_github_claims(json!({"sub": SUB, "run_id": "99"}));
    let a = github(
        &emu,
        Some("github-request-token"),
        Some("sts.amazonaws.com"),
    )
    .json();
    let b = github(
        &emu,
        Some("github-request-token"),
        Some("sts.amazonaws.com"),
    )
    .json();
    let (ta, tb) = (a["value"].as_str().unwrap(), b["value"].as_str().unwrap());
    assert_ne!(ta, tb, "a fresh token per request");
    assert_eq!(b["count"], 2);
    let claims = decode_claims(ta);
    assert_eq!(claims["aud"], "sts.amazonaws.com");
    assert_eq!(claims["sub"], SUB);
    assert_eq!(claims["run_id"], "99");
    assert_eq!(claims["repository"], "octo-org/octo-repo", "defaults kept");
    assert_eq!(claims["iss"], emu.issuer_url());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    assert_eq!(assume(&emu, ta, &[]).status, 200);

    let c = github(&emu, Some("github-request-token"), None).json();
    assert_eq!(
        decode_claims(c["value"].as_str().unwrap())["aud"],
        "https://github.com/octo-org"
    );
    let d = github(&emu, Some("github-request-token"), Some("api://x y")).json();
    assert_eq!(
        decode_claims(d["value"].as_str().unwrap())["aud"],
        "api://x y"
    );
    assert_eq!(
        emu.github_audiences(),
        vec!["sts.amazonaws.com", "sts.amazonaws.com", "", "api://x y"]
    );
}

fn azure(emu: &Emulator, bearer: &str, query: &str) -> RawResponse {
    let auth = format!("Bearer {bearer}");
    request(
        &emu.issuer_url(),
        "POST",
        &format!("/azure/oidctoken{query}"),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        "",
    )
}

#[test]
fn azure_endpoint_checks_bearer_and_service_connection_and_mints_tokens() {
    let emu = start();
    let q = "?api-version=7.1&serviceConnectionId=conn-1";
    assert_eq!(azure(&emu, "wrong", q).status, 401);
    assert_eq!(
        azure(&emu, "azure-system-access-token", "?api-version=7.1").status,
        400
    );
    let r = azure(&emu, "azure-system-access-token", q);
    assert_eq!(r.status, 200, "{}", r.body);
    let t1 = r.json()["oidcToken"].as_str().unwrap().to_string();
    let claims = decode_claims(&t1);
    assert_eq!(claims["sub"], "sc://org/project/conn-1");
    assert_eq!(claims["aud"], "api://AzureADTokenExchange");

    emu.set_azure_claims(json!({"sub": SUB, "aud": "sts.amazonaws.com"}));
    let t2 = azure(&emu, "azure-system-access-token", q).json()["oidcToken"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(t1, t2);
    assert_eq!(assume(&emu, &t2, &[]).status, 200);
    assert_eq!(emu.azure_token_requests(), 4);
}

#[test]
fn token_faults_apply_to_both_token_endpoints_in_order() {
    let emu = start();
    emu.push_token_fault(Fault::Status(500));
    emu.push_token_fault(Fault::NotXml);
    emu.push_token_fault(Fault::Status(403));
    emu.push_token_fault(Fault::Delay(Duration::from_millis(200)));
    let r = github(&emu, Some("github-request-token"), Some("a"));
    assert_eq!(r.status, 500);
    let r = github(&emu, Some("github-request-token"), Some("a"));
    assert_eq!(r.status, 200);
    assert!(serde_json::from_str::<Value>(&r.body).is_err(), "not JSON");
    let q = "?api-version=7.1&serviceConnectionId=c";
    assert_eq!(azure(&emu, "azure-system-access-token", q).status, 403);
    let started = Instant::now();
    assert_eq!(azure(&emu, "azure-system-access-token", q).status, 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
    // STS is unaffected by token faults.
    assert_eq!(
        assume(&emu, &emu.mint(json!({"sub": SUB})), &[]).status,
        200
    );
}

#[test]
fn token_endpoint_reset_and_truncated_faults_misbehave_as_named() {
    let emu = start();
    emu.push_token_fault(Fault::Reset);
    emu.push_token_fault(Fault::Truncated);
    emu.push_token_fault(Fault::sts_error("Throttled", "slow down"));
    let target = "/github/token?api-version=2.0&audience=sts.amazonaws.com";
    let auth = [("Authorization", "Bearer github-request-token")];
    match read_all(send(&emu.issuer_url(), "GET", target, &auth, "")) {
        Ok(bytes) => assert!(bytes.is_empty(), "got {} bytes", bytes.len()),
        Err(err) => assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err:?}"),
    }
    let r = request(&emu.issuer_url(), "GET", target, &auth, "");
    assert_eq!(r.status, 200);
    assert!(r.body.len() < r.headers["content-length"].parse::<usize>().unwrap());
    assert!(serde_json::from_str::<Value>(&r.body).is_err());
    let r = request(&emu.issuer_url(), "GET", target, &auth, "");
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (400, json!("Throttled"))
    );
    assert_eq!(emu.github_token_requests(), 3);
    assert_eq!(
        emu.github_audiences().len(),
        3,
        "faulted requests are recorded too"
    );
}

#[test]
fn admin_endpoint_reports_sts_call_counts() {
    let emu = start();
    assume(&emu, &emu.mint(json!({"sub": SUB})), &[]);
    assume(&emu, "x.y.z", &[]);
    let r = request(&emu.issuer_url(), "GET", "/_emulator/calls", &[], "");
    let calls = r.json();
    assert_eq!(calls["AssumeRoleWithWebIdentity"], 2);
    assert_eq!(calls["GetCallerIdentity"], 0);
}

// ---- the real STS client ----

/// A clock the test moves forward: the handle, and the [`Clock`] that reads it.
fn manual_clock() -> (Arc<Mutex<DateTime<Utc>>>, Clock) {
    let now = Arc::new(Mutex::new(wall_clock()));
    let read = Arc::clone(&now);
    (now, Arc::new(move || *read.lock().unwrap()))
}

fn sdk_client(
    emu: &Emulator,
    creds: Option<aws_sdk_sts::config::Credentials>,
) -> aws_sdk_sts::Client {
    let mut builder = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .endpoint_url(emu.sts_endpoint());
    if let Some(creds) = creds {
        builder = builder.credentials_provider(creds);
    }
    aws_sdk_sts::Client::from_conf(builder.build())
}

#[tokio::test(flavor = "current_thread")]
async fn real_sts_client_assumes_the_role_and_the_credentials_identify_the_session() {
    let emu = start();
    let client = sdk_client(&emu, None);
    let out = client
        .assume_role_with_web_identity()
        .role_arn(ROLE)
        .role_session_name("sdk-session")
        .web_identity_token(emu.mint(json!({"sub": SUB})))
        .duration_seconds(3600)
        .send()
        .await
        .expect("AssumeRoleWithWebIdentity succeeds");
    let c = out.credentials().expect("credentials");
    assert!(c.access_key_id().starts_with("ASIA"));
    let assumed_arn = out.assumed_role_user().unwrap().arn().to_string();
    assert_eq!(
        assumed_arn,
        "arn:aws:sts::111122223333:assumed-role/deploy/sdk-session"
    );
    assert_eq!(out.subject_from_web_identity_token(), Some(SUB));
    let rec = &emu.requests()[0];
    assert_eq!(rec.params["DurationSeconds"], "3600");
    assert!(
        !rec.headers.contains_key("authorization"),
        "the call is unsigned"
    );

    let creds = aws_sdk_sts::config::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "emulator-test",
    );
    let who = sdk_client(&emu, Some(creds))
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity succeeds");
    assert_eq!(who.arn(), Some(assumed_arn.as_str()));
    assert_eq!(who.account(), Some("111122223333"));
    assert!(who.user_id().unwrap().ends_with(":sdk-session"));

    // The right key id and token with the wrong secret fails the signature check.
    let wrong = aws_sdk_sts::config::Credentials::new(
        c.access_key_id(),
        "0".repeat(40),
        Some(c.session_token().to_string()),
        None,
        "emulator-test",
    );
    let err = sdk_client(&emu, Some(wrong))
        .get_caller_identity()
        .send()
        .await
        .expect_err("wrong secret");
    use aws_sdk_sts::error::ProvideErrorMetadata;
    assert_eq!(err.code(), Some("SignatureDoesNotMatch"));
}

#[tokio::test(flavor = "current_thread")]
async fn real_sts_client_sees_access_denied_as_a_service_error() {
    use aws_sdk_sts::error::ProvideErrorMetadata;
    let emu = start();
    let err = sdk_client(&emu, None)
        .assume_role_with_web_identity()
        .role_arn(ROLE)
        .role_session_name("sdk-session")
        .web_identity_token(emu.mint(json!({"sub": "repo:evil/repo:ref:refs/heads/main"})))
        .send()
        .await
        .expect_err("trust policy mismatch");
    let service_error = err.into_service_error();
    assert_eq!(service_error.code(), Some("AccessDenied"));
    assert_eq!(
        service_error.message(),
        Some("Not authorized to perform sts:AssumeRoleWithWebIdentity")
    );
    assert_eq!(emu.sts_calls("AssumeRoleWithWebIdentity"), 1, "not retried");
}

#[tokio::test(flavor = "current_thread")]
async fn real_sts_client_credentials_expire_with_the_session() {
    use aws_sdk_sts::error::ProvideErrorMetadata;
    let (clock, now) = manual_clock();
    let emu = Emulator::start(EmulatorConfig {
        clock: now,
        ..config()
    })
    .unwrap();
    let out = sdk_client(&emu, None)
        .assume_role_with_web_identity()
        .role_arn(ROLE)
        .role_session_name("short")
        .web_identity_token(emu.mint(json!({"sub": SUB})))
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap();
    *clock.lock().unwrap() += chrono::Duration::seconds(901);
    let creds = aws_sdk_sts::config::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "emulator-test",
    );
    let err = sdk_client(&emu, Some(creds))
        .get_caller_identity()
        .send()
        .await
        .expect_err("expired session");
    assert_eq!(err.code(), Some("ExpiredToken"));
}

#[tokio::test(flavor = "current_thread")]
async fn credential_lifetime_override_shortens_the_session_but_still_validates_duration() {
    use aws_sdk_sts::error::ProvideErrorMetadata;
    let (clock, now) = manual_clock();
    let emu = Emulator::start(EmulatorConfig {
        clock: now,
        credential_lifetime_override: Some(20),
        ..config()
    })
    .unwrap();
    let issued_at = clock.lock().unwrap().with_nanosecond(0).unwrap();
    let assume = |duration: i32| {
        sdk_client(&emu, None)
            .assume_role_with_web_identity()
            .role_arn(ROLE)
            .role_session_name("short-lived")
            .web_identity_token(emu.mint(json!({"sub": SUB})))
            .duration_seconds(duration)
            .send()
    };

    // DurationSeconds is still checked the way STS checks it.
    let err = assume(600).await.expect_err("below STS's minimum");
    assert_eq!(err.code(), Some("ValidationError"));

    let out = assume(900).await.unwrap();
    let c = out.credentials().unwrap();
    let expiration = DateTime::<Utc>::from_timestamp(c.expiration().secs(), 0).unwrap();
    assert_eq!(expiration, issued_at + chrono::Duration::seconds(20));

    let creds = aws_sdk_sts::config::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "emulator-test",
    );
    *clock.lock().unwrap() = issued_at + chrono::Duration::seconds(19);
    sdk_client(&emu, Some(creds.clone()))
        .get_caller_identity()
        .send()
        .await
        .expect("valid one second before the Expiration");
    *clock.lock().unwrap() = issued_at + chrono::Duration::seconds(20);
    let err = sdk_client(&emu, Some(creds))
        .get_caller_identity()
        .send()
        .await
        .expect_err("refused from the Expiration on");
    assert_eq!(err.code(), Some("ExpiredToken"));
}
