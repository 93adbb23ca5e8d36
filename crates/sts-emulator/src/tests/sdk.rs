//! The real `aws-sdk-sts` client against the emulator.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Timelike, Utc};
use serde_json::json;

use super::*;

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
