//! `AssumeRole` (role chaining) through the real `aws-sdk-sts` client: SigV4 against a session
//! the emulator issued, the target role's trust, the one-hour chained cap and the tag limits.

use std::sync::{Arc, Mutex};

use aws_sdk_sts::config::Credentials;
use aws_sdk_sts::error::ProvideErrorMetadata;
use aws_sdk_sts::types::Tag;
use chrono::{DateTime, Utc};
use serde_json::json;

use super::*;

const TARGET: &str = "arn:aws:iam::444455556666:role/prod-deploy";

fn clocked() -> (Arc<Mutex<DateTime<Utc>>>, Emulator) {
    let now = Arc::new(Mutex::new(wall_clock()));
    let read = Arc::clone(&now);
    let emu = Emulator::start(EmulatorConfig {
        chain_roles: vec![
            ChainTrust {
                external_id: Some("ext-42".into()),
                allow_tag_session: true,
                allow_set_source_identity: true,
                ..ChainTrust::new(TARGET, &[ROLE])
            },
            ChainTrust::new("arn:aws:iam::444455556666:role/plain", &[ROLE]),
            ChainTrust::new(
                "arn:aws:iam::444455556666:role/other-trust",
                &["arn:aws:iam::111122223333:role/someone-else"],
            ),
        ],
        clock: Arc::new(move || *read.lock().unwrap()),
        ..config()
    })
    .unwrap();
    (now, emu)
}

fn client(emu: &Emulator, creds: Option<Credentials>) -> aws_sdk_sts::Client {
    let mut builder = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .endpoint_url(emu.sts_endpoint());
    if let Some(creds) = creds {
        builder = builder.credentials_provider(creds);
    }
    aws_sdk_sts::Client::from_conf(builder.build())
}

/// The first hop: web-identity credentials for `ROLE`.
async fn first_hop(emu: &Emulator) -> Credentials {
    let out = client(emu, None)
        .assume_role_with_web_identity()
        .role_arn(ROLE)
        .role_session_name("hop-0")
        .web_identity_token(emu.mint(json!({"sub": SUB})))
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap();
    Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "emulator-test",
    )
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build().unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn a_session_chains_into_a_role_that_trusts_it_and_the_new_session_is_the_target() {
    let (_, emu) = clocked();
    let hop0 = first_hop(&emu).await;
    let out = client(&emu, Some(hop0))
        .assume_role()
        .role_arn(TARGET)
        .role_session_name("hop-1")
        .external_id("ext-42")
        .source_identity("octo-org")
        .tags(tag("repo", "octo-org/octo-repo"))
        .transitive_tag_keys("repo")
        .send()
        .await
        .expect("AssumeRole succeeds");
    let arn = out.assumed_role_user().unwrap().arn().to_string();
    assert_eq!(
        arn,
        "arn:aws:sts::444455556666:assumed-role/prod-deploy/hop-1"
    );
    assert_eq!(out.source_identity(), Some("octo-org"));
    let rec = emu.requests().pop().unwrap();
    assert_eq!(rec.action, "AssumeRole");
    assert_eq!(rec.params["ExternalId"], "ext-42");
    assert_eq!(rec.headers["x-amz-security-token"], "<redacted>");

    let c = out.credentials().unwrap();
    let hop1 = Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "emulator-test",
    );
    let who = client(&emu, Some(hop1))
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(who.account(), Some("444455556666"));
    assert_eq!(who.arn(), Some(arn.as_str()));
}

#[tokio::test(flavor = "current_thread")]
async fn assume_role_refuses_a_forged_signature_a_wrong_session_token_and_an_expired_session() {
    let (clock, emu) = clocked();
    let hop0 = first_hop(&emu).await;
    let call = |creds: Credentials| {
        let c = client(&emu, Some(creds));
        async move {
            c.assume_role()
                .role_arn("arn:aws:iam::444455556666:role/plain")
                .role_session_name("hop-1")
                .send()
                .await
                .expect_err("refused")
        }
    };
    let forged = Credentials::new(
        hop0.access_key_id(),
        "0".repeat(40),
        hop0.session_token().map(str::to_string),
        None,
        "t",
    );
    let err = call(forged).await;
    assert_eq!(err.code(), Some("SignatureDoesNotMatch"));
    assert!(
        err.message()
            .unwrap()
            .contains("does not match the signature")
    );

    let wrong_token = Credentials::new(
        hop0.access_key_id(),
        hop0.secret_access_key(),
        Some("IQoJb3JpZ2luX2Vj-not-the-session-token".into()),
        None,
        "t",
    );
    let err = call(wrong_token).await;
    assert_eq!(err.code(), Some("InvalidClientTokenId"));
    assert_eq!(
        err.message(),
        Some("The security token included in the request is invalid.")
    );

    let unknown = Credentials::new("ASIANOTISSUEDHERE000", "x".repeat(40), None, None, "t");
    assert_eq!(call(unknown).await.code(), Some("InvalidClientTokenId"));

    *clock.lock().unwrap() += chrono::Duration::seconds(3601);
    let err = call(hop0).await;
    assert_eq!(err.code(), Some("ExpiredToken"));
    assert_eq!(emu.sts_calls("AssumeRole"), 4);
}

#[tokio::test(flavor = "current_thread")]
async fn a_signature_older_than_fifteen_minutes_is_refused_as_expired() {
    let (clock, emu) = clocked();
    let hop0 = first_hop(&emu).await;
    // The client signs with the real time; STS's clock is 20 minutes ahead, the session still valid.
    *clock.lock().unwrap() += chrono::Duration::minutes(20);
    let err = client(&emu, Some(hop0))
        .assume_role()
        .role_arn("arn:aws:iam::444455556666:role/plain")
        .role_session_name("hop-1")
        .send()
        .await
        .expect_err("stale signature");
    assert_eq!(err.code(), Some("SignatureDoesNotMatch"));
    assert!(
        err.message().unwrap().starts_with("Signature expired: "),
        "{:?}",
        err.message()
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_target_role_trust_decides_principal_external_id_tag_session_and_source_identity() {
    let (_, emu) = clocked();
    let hop0 = first_hop(&emu).await;
    let c = client(&emu, Some(hop0));
    let caller = "arn:aws:sts::111122223333:assumed-role/deploy/hop-0";
    let denied = |action: &str, role: &str| {
        format!("User: {caller} is not authorized to perform: {action} on resource: {role}")
    };
    let base = || c.assume_role().role_session_name("hop-1");

    let other = "arn:aws:iam::444455556666:role/other-trust";
    let err = base().role_arn(other).send().await.unwrap_err();
    assert_eq!(err.code(), Some("AccessDenied"));
    assert_eq!(
        err.message(),
        Some(denied("sts:AssumeRole", other).as_str())
    );

    let missing = "arn:aws:iam::444455556666:role/not-there";
    let err = base().role_arn(missing).send().await.unwrap_err();
    assert_eq!(
        err.message(),
        Some(denied("sts:AssumeRole", missing).as_str())
    );

    for external_id in [None, Some("ext-wrong")] {
        let err = base()
            .role_arn(TARGET)
            .set_external_id(external_id.map(str::to_string))
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            err.message(),
            Some(denied("sts:AssumeRole", TARGET).as_str())
        );
    }

    let plain = "arn:aws:iam::444455556666:role/plain";
    let err = base()
        .role_arn(plain)
        .tags(tag("team", "a"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        Some(denied("sts:TagSession", plain).as_str())
    );
    let err = base()
        .role_arn(plain)
        .source_identity("octo-org")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        Some(denied("sts:SetSourceIdentity", plain).as_str())
    );
    base()
        .role_arn(plain)
        .send()
        .await
        .expect("plain chaining is allowed");
}

#[tokio::test(flavor = "current_thread")]
async fn a_chained_session_is_capped_at_one_hour() {
    let (_, emu) = clocked();
    let hop0 = first_hop(&emu).await;
    let err = client(&emu, Some(hop0))
        .assume_role()
        .role_arn("arn:aws:iam::444455556666:role/plain")
        .role_session_name("hop-1")
        .duration_seconds(3601)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationError"));
    assert_eq!(
        err.message(),
        Some(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
        )
    );
}

#[tokio::test(flavor = "current_thread")]
async fn session_tags_follow_the_limits_of_sts() {
    let (_, emu) = clocked();
    let hop0 = first_hop(&emu).await;
    let c = client(&emu, Some(hop0));
    let base = || {
        c.assume_role()
            .role_arn(TARGET)
            .external_id("ext-42")
            .role_session_name("hop-1")
    };
    let tags: Vec<Tag> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
    let err = base()
        .set_tags(Some(tags.clone()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationError"));
    assert!(
        err.message().unwrap().contains(
            "'tags' failed to satisfy constraint: Member must have length less than or equal to 50"
        ),
        "{:?}",
        err.message()
    );
    base()
        .set_tags(Some(tags[..50].to_vec()))
        .send()
        .await
        .expect("50 tags are allowed");

    let err = base()
        .tags(tag(&"k".repeat(129), "v"))
        .send()
        .await
        .unwrap_err();
    assert!(err.message().unwrap().contains("tags.1.member.key"));
    let err = base().tags(tag("k", "a|b")).send().await.unwrap_err();
    assert!(err.message().unwrap().contains("tags.1.member.value"));
    let err = base()
        .tags(tag("Team", "a"))
        .tags(tag("team", "b"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterValue"));
    let err = base()
        .tags(tag("team", "a"))
        .transitive_tag_keys("repo")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterValue"));
}

#[test]
fn an_unsigned_assume_role_is_refused() {
    let emu = start();
    let r = sts_post(
        &emu,
        &[
            ("Action", "AssumeRole"),
            ("Version", "2011-06-15"),
            ("RoleArn", ROLE),
            ("RoleSessionName", "s1"),
        ],
    );
    assert_error(&r, 403, "MissingAuthenticationToken");
}
