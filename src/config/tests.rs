//! Config::resolve as a whole: layering, checks, defaults, origins.

use super::*;
use std::time::Duration;

fn resolve(args: CredentialArgs, env: &[(&str, &str)]) -> Result<Config, Error> {
    Config::resolve(&args, &Env::from_pairs(env.iter().copied()))
}

fn args() -> CredentialArgs {
    CredentialArgs::default()
}

const ARN: &str = "arn:aws:iam::123456789012:role/deploy";

#[test]
fn flag_beats_env_beats_default() {
    let env = [
        (vars::ROLE_ARN, ARN),
        (vars::AWS_ROLE_ARN, "arn:aws:iam::111111111111:role/other"),
    ];
    let cfg = resolve(args(), &env).unwrap();
    let role = cfg.role.arn.unwrap();
    assert_eq!(role.value.arn, ARN);
    assert_eq!(role.origin, Origin::Env(vars::ROLE_ARN));

    let flag = CredentialArgs {
        role_arn: Some("arn:aws:iam::222222222222:role/x".into()),
        ..args()
    };
    let cfg = resolve(flag, &env).unwrap();
    assert_eq!(cfg.role.arn.unwrap().origin, Origin::Flag("--role-arn"));

    let cfg = resolve(args(), &[]).unwrap();
    assert!(cfg.role.arn.is_none());
    assert_eq!(cfg.source.audience.value, "sts.amazonaws.com");
    assert_eq!(cfg.role.duration_seconds.value, 3600);
    assert_eq!(cfg.network.region.value, "us-east-1");
    assert_eq!(
        cfg.sts_endpoint_url().unwrap(),
        "https://sts.us-east-1.amazonaws.com"
    );
    assert_eq!(cfg.network.timeout.value, Duration::from_secs(30));
}

#[test]
fn role_arns_are_checked_before_any_call() {
    for good in [
        ARN,
        "arn:aws-cn:iam::123456789012:role/path/to/r",
        "arn:aws-us-gov:iam::123456789012:role/a.b@c",
    ] {
        assert!(RoleArn::parse(good).is_ok(), "{good}");
    }
    for (bad, says) in [
        ("deploy", "not an ARN"),
        ("arn:aws:iam::12345:role/deploy", "12 digits"),
        ("arn:aws:s3:::bucket/x", "not an IAM role"),
        ("arn:aws:iam::123456789012:user/alice", "not a role"),
        (
            "arn:aws:sts::123456789012:assumed-role/deploy/s",
            "not an IAM role",
        ),
        ("arn:azure:iam::123456789012:role/deploy", "partition"),
        ("arn:aws:iam::123456789012:role/bad name", "role name"),
    ] {
        let err = RoleArn::parse(bad).unwrap_err();
        assert!(err.contains(says), "{bad}: {err}");
    }
    let err = resolve(
        CredentialArgs {
            role_arn: Some("deploy".into()),
            ..args()
        },
        &[],
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("flag --role-arn is `deploy`"),
        "{err}"
    );
}

#[test]
fn durations_parse_with_units_and_stay_in_sts_bounds() {
    assert_eq!(parse_duration("3600"), Some(3600));
    assert_eq!(parse_duration("90m"), Some(5400));
    assert_eq!(parse_duration("1h30m"), Some(5400));
    assert_eq!(parse_duration("12h"), Some(43200));
    assert_eq!(parse_duration("1x"), None);
    assert_eq!(parse_duration(""), None);
    assert_eq!(parse_duration("5m3"), None);
    assert_eq!(parse_duration("99999999999999999999h"), None);
    let cfg = resolve(args(), &[(vars::DURATION, "2h")]).unwrap();
    assert_eq!(cfg.role.duration_seconds.value, 7200);
    for bad in ["899", "43201", "13h", "soon"] {
        let err = resolve(
            CredentialArgs {
                duration: Some(bad.into()),
                ..args()
            },
            &[],
        )
        .unwrap_err();
        assert!(err.to_string().contains("--duration"), "{err}");
    }
}

#[test]
fn endpoint_follows_flag_then_sts_variable_then_generic_then_region() {
    let env = [
        (vars::ENDPOINT, "http://127.0.0.1:1"),
        (vars::REGION, "eu-west-1"),
    ];
    assert_eq!(
        resolve(args(), &env).unwrap().sts_endpoint_url().unwrap(),
        "http://127.0.0.1:1"
    );
    let env2 = [
        (vars::ENDPOINT, "http://127.0.0.1:1"),
        (vars::ENDPOINT_STS, "http://127.0.0.1:2/"),
    ];
    let cfg = resolve(args(), &env2).unwrap();
    assert_eq!(cfg.sts_endpoint_url().unwrap(), "http://127.0.0.1:2");
    assert_eq!(
        cfg.network.sts_endpoint.origin,
        Origin::Env(vars::ENDPOINT_STS)
    );
    let cfg = resolve(args(), &[(vars::DEFAULT_REGION, "cn-north-1")]).unwrap();
    assert_eq!(
        cfg.sts_endpoint_url().unwrap(),
        "https://sts.cn-north-1.amazonaws.com.cn"
    );
    let cfg = resolve(
        args(),
        &[(vars::REGION, "us-west-2"), (vars::USE_FIPS, "true")],
    )
    .unwrap();
    assert_eq!(
        cfg.sts_endpoint_url().unwrap(),
        "https://sts-fips.us-west-2.amazonaws.com"
    );
    assert!(
        resolve(
            CredentialArgs {
                sts_endpoint: Some("ftp://x".into()),
                ..args()
            },
            &[]
        )
        .is_err()
    );
    assert!(
        resolve(
            CredentialArgs {
                region: Some("US East".into()),
                ..args()
            },
            &[]
        )
        .is_err()
    );
}

#[test]
fn region_default_follows_the_role_partition() {
    let cfg = resolve(
        CredentialArgs {
            role_arn: Some("arn:aws-us-gov:iam::123456789012:role/r".into()),
            ..args()
        },
        &[],
    )
    .unwrap();
    assert_eq!(cfg.network.region.value, "us-gov-west-1");
}

#[test]
fn session_policies_are_checked_locally() {
    let bad = resolve(
        CredentialArgs {
            policy: Some("{not json".into()),
            ..args()
        },
        &[],
    )
    .unwrap_err();
    assert!(bad.to_string().contains("not valid JSON"), "{bad}");
    let long = format!("{{\"a\":\"{}\"}}", "x".repeat(2100));
    assert!(
        resolve(
            CredentialArgs {
                policy: Some(long),
                ..args()
            },
            &[]
        )
        .is_err()
    );
    let arns = CredentialArgs {
        policy_arns: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
        ..args()
    };
    assert!(resolve(arns, &[]).is_ok());
    let bad_arn = CredentialArgs {
        policy_arns: vec!["ReadOnlyAccess".into()],
        ..args()
    };
    assert!(resolve(bad_arn, &[]).is_err());
}

#[test]
fn a_token_passed_as_token_env_is_refused() {
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
    let err = resolve(
        CredentialArgs {
            token_env: Some(jwt.into()),
            ..args()
        },
        &[],
    )
    .unwrap_err();
    assert!(!err.to_string().contains(jwt));
}

#[test]
fn cache_can_be_turned_off_by_flag_or_env() {
    let cfg = resolve(args(), &[(vars::NO_CACHE, "1")]).unwrap();
    assert!(!cfg.cache.enabled.value);
    let cfg = resolve(args(), &[(vars::NO_CACHE, "0")]).unwrap();
    assert!(cfg.cache.enabled.value);
    let cfg = resolve(
        args(),
        &[(vars::CACHE_DIR, "/tmp/x"), (vars::REFRESH_MARGIN, "5m")],
    )
    .unwrap();
    assert_eq!(cfg.cache.dir.unwrap().origin, Origin::Env(vars::CACHE_DIR));
    assert_eq!(cfg.cache.refresh_margin.value.num_seconds(), 300);
}

#[test]
fn describe_names_every_origin_and_no_secret() {
    let cfg = resolve(
        CredentialArgs {
            role_arn: Some(ARN.into()),
            ..args()
        },
        &[(vars::REGION, "eu-west-1")],
    )
    .unwrap();
    let text = cfg.describe().join("\n");
    assert!(
        text.contains("role-arn = arn:aws:iam::123456789012:role/deploy (flag --role-arn)"),
        "{text}"
    );
    assert!(
        text.contains("region = eu-west-1 (env AWS_REGION)"),
        "{text}"
    );
    assert!(
        text.contains(
            "sts-endpoint = https://sts.eu-west-1.amazonaws.com (SDK endpoint rules for eu-west-1)"
        ),
        "{text}"
    );
}

fn role(arn: &str) -> CredentialArgs {
    CredentialArgs {
        role_arn: Some(arn.into()),
        ..args()
    }
}

#[test]
fn every_partition_is_a_role_partition_with_its_own_default_region_and_endpoint() {
    let cases = [
        ("aws", "https://sts.us-east-1.amazonaws.com"),
        ("aws-cn", "https://sts.cn-north-1.amazonaws.com.cn"),
        ("aws-us-gov", "https://sts.us-gov-west-1.amazonaws.com"),
        ("aws-iso", "https://sts.us-iso-east-1.c2s.ic.gov"),
        ("aws-iso-b", "https://sts.us-isob-east-1.sc2s.sgov.gov"),
        ("aws-iso-e", "https://sts.eu-isoe-west-1.cloud.adc-e.uk"),
        ("aws-iso-f", "https://sts.us-isof-south-1.csp.hci.ic.gov"),
        ("aws-eusc", "https://sts.eusc-de-east-1.amazonaws.eu"),
    ];
    for (partition, endpoint) in cases {
        let cfg = resolve(
            role(&format!("arn:{partition}:iam::123456789012:role/r")),
            &[],
        )
        .unwrap_or_else(|e| panic!("{partition}: {e}"));
        assert_eq!(cfg.sts_endpoint_url().unwrap(), endpoint, "{partition}");
    }
    let e = resolve(role("arn:aws-moon:iam::123456789012:role/r"), &[]).unwrap_err();
    assert!(e.to_string().contains("aws-eusc"), "{e}");
}

#[test]
fn a_region_of_another_partition_than_the_role_is_refused_before_any_call() {
    let e = resolve(
        role("arn:aws-us-gov:iam::123456789012:role/deploy"),
        &[(vars::REGION, "eu-west-1")],
    )
    .unwrap_err();
    let text = format!("{e} {:?}", e.message().fix);
    assert!(matches!(e, Error::Usage(_)));
    for want in [
        "aws-us-gov",
        "eu-west-1",
        "env AWS_REGION",
        "partition aws",
        "us-gov-west-1",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    // Same partition, or a region name outside every partition (a test server): accepted.
    assert!(
        resolve(
            role("arn:aws-us-gov:iam::123456789012:role/d"),
            &[(vars::REGION, "us-gov-east-1")]
        )
        .is_ok()
    );
    assert!(
        resolve(
            role("arn:aws:iam::123456789012:role/d"),
            &[(vars::REGION, "local")]
        )
        .is_ok()
    );
    assert!(
        resolve(
            role("arn:aws-cn:iam::123456789012:role/d"),
            &[(vars::REGION, "us-east-1")]
        )
        .is_err()
    );
}

#[test]
fn fips_and_dual_stack_come_from_the_env_or_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        "[profile ci]\nuse_fips_endpoint = true\nuse_dualstack_endpoint = true\nca_bundle = ~/corp.pem\n[profile bad]\nuse_fips_endpoint = yes\n",
    )
    .unwrap();
    let file = config.to_str().unwrap();
    let home = dir.path().to_str().unwrap();
    let cfg = resolve(
        args(),
        &[
            (vars::REGION, "us-east-2"),
            ("AWS_CONFIG_FILE", file),
            ("AWS_PROFILE", "ci"),
            (crate::sys::env::HOME, home),
        ],
    )
    .unwrap();
    assert_eq!(
        cfg.sts_endpoint_url().unwrap(),
        "https://sts-fips.us-east-2.api.aws"
    );
    let origin = cfg.network.sts_endpoint.origin.to_string();
    assert!(
        origin.contains("FIPS from use_fips_endpoint in profile ci"),
        "{origin}"
    );
    let bundle = cfg.network.ca_bundle.unwrap();
    assert_eq!(bundle.value, dir.path().join("corp.pem"));
    assert!(
        bundle
            .origin
            .to_string()
            .contains("ca_bundle in profile ci")
    );
    // The variables win over the profile.
    let cfg = resolve(
        args(),
        &[
            (vars::REGION, "us-east-2"),
            ("AWS_CONFIG_FILE", file),
            ("AWS_PROFILE", "ci"),
            (vars::USE_FIPS, "false"),
            (vars::USE_DUALSTACK, "FALSE"),
            (vars::CA_BUNDLE, "/etc/other.pem"),
        ],
    )
    .unwrap();
    assert_eq!(
        cfg.sts_endpoint_url().unwrap(),
        "https://sts.us-east-2.amazonaws.com"
    );
    assert_eq!(
        cfg.network.ca_bundle.unwrap().origin,
        Origin::Env(vars::CA_BUNDLE)
    );
    let e = resolve(args(), &[("AWS_CONFIG_FILE", file), ("AWS_PROFILE", "bad")]).unwrap_err();
    assert!(
        e.to_string().contains("use_fips_endpoint in profile bad"),
        "{e}"
    );
    let e = resolve(args(), &[(vars::USE_DUALSTACK, "1")]).unwrap_err();
    assert!(e.to_string().contains("AWS_USE_DUALSTACK_ENDPOINT"), "{e}");
    // An explicit endpoint still wins over the variants.
    let cfg = resolve(
        args(),
        &[
            (vars::USE_FIPS, "true"),
            (vars::ENDPOINT_STS, "http://127.0.0.1:9"),
        ],
    )
    .unwrap();
    assert_eq!(cfg.sts_endpoint_url().unwrap(), "http://127.0.0.1:9");
}
