//! The commands around chaining: `setup` writes the chain into the profile, `trust-policy
//! --chain` prints each role's policy, `doctor --chain` assumes each hop and says which fails.

use serde_json::Value;

use crate::chain::*;
use crate::support::*;

#[test]
fn setup_writes_the_chain_and_the_guard_into_the_profile_line() {
    let mut env = chain_env();
    let config = env.path("aws-config");
    env.set("AWS_CONFIG_FILE", config.to_str().unwrap());
    let out = env.run(&[
        "setup",
        "--profile",
        "prod",
        "--role-arn",
        ROLE,
        "--chain",
        TARGET,
        "--external-id",
        "ext-42",
        "--chain-duration",
        "30m",
        "--allowed-account-ids",
        TARGET_ACCOUNT,
        "--tag",
        "team=platform",
        "--ci-tags",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&config).unwrap();
    says(
        &text,
        &[&format!(
            " --role-arn {ROLE} --chain {TARGET} --external-id ext-42 --chain-duration 30m --tag team=platform --allowed-account-ids {TARGET_ACCOUNT} --ci-tags\n"
        )],
    );
}

#[test]
fn trust_policy_with_a_chain_prints_each_roles_policy_trusting_the_one_before() {
    let env = chain_env();
    let out = env.run(&[
        "trust-policy",
        "--role-arn",
        ROLE,
        "--chain",
        TARGET,
        "--chain",
        TAGGABLE,
        "--external-id",
        "ext-42",
        "--tag",
        "team=a",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let roles: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["Role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, [ROLE, TARGET, TAGGABLE]);
    assert_eq!(
        v[0]["TrustPolicy"]["Statement"][0]["Action"],
        "sts:AssumeRoleWithWebIdentity"
    );
    let last = &v[2]["TrustPolicy"]["Statement"][0];
    assert_eq!(last["Principal"]["AWS"], TARGET);
    assert_eq!(
        last["Action"],
        serde_json::json!(["sts:AssumeRole", "sts:TagSession"])
    );
    assert_eq!(
        last["Condition"]["StringEquals"]["sts:ExternalId"],
        "ext-42"
    );
    assert_eq!(
        v[1]["TrustPolicy"]["Statement"][0]["Principal"]["AWS"],
        ROLE
    );
    assert_eq!(env.emu.requests().len(), 0, "trust-policy calls nothing");
}

#[test]
fn doctor_runs_the_chain_and_says_which_hop_fails() {
    let env = chain_env();
    let report = |args: &[&str]| {
        let out = env.run(&[&["doctor", "--json", "--no-cache"][..], args].concat());
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{e}: {}", stderr(&out));
        });
        (out.status.code(), v)
    };
    let hops = |v: &Value| -> Vec<(String, String)> {
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["id"] == "chain")
            .map(|c| {
                (
                    c["status"].as_str().unwrap().to_string(),
                    c["summary"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let (code, v) = report(&CHAIN);
    let got = hops(&v);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "pass");
    assert!(got[0].1.starts_with(&format!("hop 1: sts:AssumeRole into {TARGET}: assumed arn:aws:sts::{TARGET_ACCOUNT}:assumed-role/prod-deploy/")), "{got:?}");

    let (code, v) = report(&["--role-arn", ROLE, "--chain", UNTRUSTING, "--chain", TARGET]);
    assert_eq!(code, Some(6));
    let got = hops(&v);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, "fail");
    assert!(
        got[0]
            .1
            .starts_with(&format!("hop 1 ({UNTRUSTING}): STS refused hop 1")),
        "{got:?}"
    );
    assert_eq!(got[1].0, "skip");
    assert!(got[1].1.contains("not tried"), "{got:?}");
    let fail = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "chain")
        .unwrap();
    let details: Vec<&str> = fail["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let principal = format!("{{\"AWS\": \"{ROLE}\"}}");
    assert!(
        details.iter().any(|d| d.contains(&principal)),
        "{details:?}"
    );

    let (code, v) = report(&[&CHAIN[..], &["--forbidden-account-ids", TARGET_ACCOUNT]].concat());
    assert_eq!(code, Some(6));
    assert_eq!(hops(&v)[0].0, "fail");
}
