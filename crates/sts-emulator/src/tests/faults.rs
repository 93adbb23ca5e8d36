//! Injected STS faults: statuses, error documents, hangs, delays, resets, truncation.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use serde_json::json;

use super::*;

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
