//! The OIDC issuer port: discovery, JWKS, minting, the CI token endpoints and the admin endpoint.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::*;
use crate::http::percent_encode;

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
