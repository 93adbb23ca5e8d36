//! STS actions: `AssumeRoleWithWebIdentity` and `GetCallerIdentity` answers, errors and parameter rules.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::*;
use crate::http::parse_form;

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
    let r = sts_post(
        &emu,
        &[("Action", "AssumeRoleWithSAML"), ("Version", "2011-06-15")],
    );
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
