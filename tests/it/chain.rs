//! Role chaining (`--chain`) and the account guard, end to end against the emulator's strict
//! `AssumeRole`: one cache entry per hop, refusals explained per hop, faults on a later hop, the
//! guard on a miss and on a hit, and no secret of any hop on stderr.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sts_emulator::{ChainTrust, Clock, EmulatorConfig, Fault, RoleTrust};

use crate::secrets::{Canaries, check};
use crate::support::*;

pub(crate) const TARGET: &str = "arn:aws:iam::210987654321:role/prod-deploy";
pub(crate) const TARGET_ACCOUNT: &str = "210987654321";
pub(crate) const UNTRUSTING: &str = "arn:aws:iam::210987654321:role/trusts-someone-else";
pub(crate) const TAGGABLE: &str = "arn:aws:iam::210987654321:role/taggable";

pub(crate) fn config(clock: Option<Clock>, lifetime: Option<u32>) -> EmulatorConfig {
    let mut cfg = EmulatorConfig {
        roles: vec![RoleTrust {
            role_arn: ROLE.into(),
            audience: "sts.amazonaws.com".into(),
            subject_like: SUB_LIKE.into(),
            max_session_seconds: 7200,
        }],
        chain_roles: vec![
            ChainTrust {
                external_id: Some("ext-42".into()),
                ..ChainTrust::new(TARGET, &[ROLE])
            },
            ChainTrust::new(UNTRUSTING, &["arn:aws:iam::123456789012:role/other"]),
            ChainTrust {
                allow_tag_session: true,
                allow_set_source_identity: true,
                ..ChainTrust::new(TAGGABLE, &[ROLE])
            },
        ],
        credential_lifetime_override: lifetime,
        ..EmulatorConfig::default()
    };
    if let Some(clock) = clock {
        cfg.clock = clock;
    }
    cfg
}

pub(crate) fn chain_env() -> TestEnv {
    let mut env = TestEnv::with_config(config(None, None));
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    env
}

pub(crate) const CHAIN: [&str; 6] = [
    "--role-arn",
    ROLE,
    "--chain",
    TARGET,
    "--external-id",
    "ext-42",
];

/// The cache entry of the hop whose role is `role`.
fn entry_of(env: &TestEnv, role: &str) -> PathBuf {
    let found: Vec<PathBuf> = env
        .entry_files()
        .into_iter()
        .filter(|p| {
            let v: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
            v["meta"]["role_arn"] == role
        })
        .collect();
    assert_eq!(found.len(), 1, "one entry for {role}: {found:?}");
    found.into_iter().next().unwrap()
}

fn set_expiration(entry: &PathBuf, seconds: i64) {
    let mut v: Value = serde_json::from_slice(&std::fs::read(entry).unwrap()).unwrap();
    let exp = Utc::now() + chrono::Duration::seconds(seconds);
    v["credentials"]["expiration"] = exp.format("%Y-%m-%dT%H:%M:%SZ").to_string().into();
    std::fs::write(entry, serde_json::to_vec(&v).unwrap()).unwrap();
}

pub(crate) fn role_calls(env: &TestEnv) -> usize {
    env.emu.sts_calls("AssumeRole")
}

#[test]
fn a_chain_prints_the_last_hop_caches_each_hop_and_a_hit_reads_only_the_last_entry() {
    let env = chain_env();
    let first = succeeded(&env.run(&CHAIN));
    assert_eq!(first["AccountId"], TARGET_ACCOUNT);
    assert_eq!((env.assume_calls(), role_calls(&env)), (1, 1));
    assert_eq!(env.entry_files().len(), 2, "one entry per hop");
    let rec = env.emu.requests().pop().unwrap();
    assert_eq!(rec.action, "AssumeRole");
    assert_eq!(rec.params["RoleSessionName"], "gl-42-1001-h1");
    assert_eq!(rec.params["DurationSeconds"], "3600");

    let out = env.run(&CHAIN);
    assert_eq!(succeeded(&out), first);
    assert_eq!(stderr(&out), "");
    // The first hop's entry is not needed for a hit on the last one: one file is read.
    std::fs::remove_file(entry_of(&env, ROLE)).unwrap();
    assert_eq!(succeeded(&env.run(&CHAIN)), first);
    assert_eq!((env.assume_calls(), role_calls(&env)), (1, 1));

    // The profile without the chain shares the first hop's key (and would reuse its entry).
    let single = succeeded(&env.run(&["--role-arn", ROLE]));
    assert_eq!(single["AccountId"], ACCOUNT);
    assert_eq!(env.assume_calls(), 2);
    assert_eq!(succeeded(&env.run(&CHAIN)), first);
    assert_eq!(role_calls(&env), 1);
    // Another profile chained from the same first hop shares that hop's entry.
    let other = succeeded(&env.run(&["--role-arn", ROLE, "--chain", TAGGABLE]));
    assert_eq!(other["AccountId"], TARGET_ACCOUNT);
    assert_eq!((env.assume_calls(), role_calls(&env)), (2, 2));
}

#[test]
fn a_stale_later_hop_calls_only_that_hop_and_a_new_setting_of_it_rekeys_only_it() {
    let env = chain_env();
    let first = succeeded(&env.run(&CHAIN));
    set_expiration(&entry_of(&env, TARGET), 60);
    let second = succeeded(&env.run(&CHAIN));
    assert_ne!(second["AccessKeyId"], first["AccessKeyId"]);
    assert_eq!((env.assume_calls(), role_calls(&env)), (1, 2));

    let mut args = CHAIN.to_vec();
    args.extend(["--chain-duration", "30m"]);
    succeeded(&env.run(&args));
    assert_eq!((env.assume_calls(), role_calls(&env)), (1, 3));
    assert_eq!(env.entry_files().len(), 3);

    // A stale first hop under a fresh last one is not touched by a hit.
    set_expiration(&entry_of_first(&env), 60);
    succeeded(&env.run(&CHAIN));
    assert_eq!((env.assume_calls(), role_calls(&env)), (1, 3));
}

fn entry_of_first(env: &TestEnv) -> PathBuf {
    entry_of(env, ROLE)
}

#[test]
fn the_chain_comes_from_its_variable_too_and_an_hour_and_more_is_refused_before_any_call() {
    let mut env = chain_env();
    env.set("AWS_CI_CREDS_CHAIN", TARGET)
        .set("AWS_CI_CREDS_EXTERNAL_ID", "ext-42");
    let v = succeeded(&env.run(&["--role-arn", ROLE]));
    assert_eq!(v["AccountId"], TARGET_ACCOUNT);

    let err = failed(&env.run(&["--role-arn", ROLE, "--chain-duration", "2h"]), 2);
    says(
        &err,
        &[
            "--chain-duration is `2h`",
            "one hour (3600 s) AWS allows a session assumed by role chaining",
            "1h or less",
        ],
    );
    let err = failed(
        &env.run(&["--role-arn", ROLE, "--chain", "arn:aws:iam::1:role/x"]),
        2,
    );
    says(&err, &["--chain"]);
    assert_eq!(env.emu.requests().len(), 2, "no call for refused settings");
}

#[test]
fn a_refused_hop_is_explained_with_the_trust_policy_it_needs_and_the_first_hop_stays_cached() {
    let env = chain_env();
    let err = failed(&env.run(&["--role-arn", ROLE, "--chain", UNTRUSTING]), 4);
    says(
        &err,
        &[
            &format!(
                "STS refused hop 1 (sts:AssumeRole into {UNTRUSTING}, signed by a session of {ROLE}): AccessDenied"
            ),
            &format!("{{\"AWS\": \"{ROLE}\"}}"),
            "sts:TagSession",
            "sts:SetSourceIdentity",
        ],
    );
    assert_eq!(role_calls(&env), 1, "a refusal is not retried");
    assert_eq!(env.entry_files().len(), 1, "only the first hop is cached");

    // The external id the target requires, missing: the fix names the condition.
    let err = failed(&env.run(&["--role-arn", ROLE, "--chain", TARGET]), 4);
    says(&err, &["AccessDenied", "sts:AssumeRole"]);
    let err = failed(
        &env.run(&[
            "--role-arn",
            ROLE,
            "--chain",
            TARGET,
            "--external-id",
            "wrong-id",
        ]),
        4,
    );
    says(&err, &["\"sts:ExternalId\": \"wrong-id\""]);
    assert_eq!(
        env.assume_calls(),
        1,
        "the first hop came from the cache each time"
    );
}

#[test]
fn region_disabled_and_packed_policy_refusals_get_their_own_fixes() {
    let env = chain_env();
    succeeded(&env.run(&["--role-arn", ROLE]));
    env.emu.push_fault(Fault::sts_error(
        "RegionDisabledException",
        "STS is not activated in this region for account:210987654321.",
    ));
    let err = failed(&env.run(&CHAIN), 4);
    says(
        &err,
        &["hop 1", "RegionDisabledException", "activate the region"],
    );
    env.emu.push_fault(Fault::sts_error(
        "PackedPolicyTooLarge",
        "Packed size 112% too large",
    ));
    let err = failed(&env.run(&CHAIN), 4);
    says(
        &err,
        &["PackedPolicyTooLarge", "fewer or shorter session tags"],
    );
}

#[test]
fn faults_on_a_later_hop_are_retried_and_reported_for_that_hop() {
    let env = chain_env();
    succeeded(&env.run(&["--role-arn", ROLE]));
    env.emu
        .push_fault(Fault::sts_error("Throttling", "Rate exceeded"));
    env.emu.push_fault(Fault::Status(503));
    let v = succeeded(&env.run(&CHAIN));
    assert_eq!(v["AccountId"], TARGET_ACCOUNT);
    assert_eq!((env.assume_calls(), role_calls(&env)), (1, 3));

    std::fs::remove_file(entry_of(&env, TARGET)).unwrap();
    env.emu.set_persistent_fault(Some(Fault::Status(500)));
    let err = failed(&env.run(&[&CHAIN[..], &["--timeout", "3s"]].concat()), 5);
    says(
        &err,
        &[&format!("hop 1 (sts:AssumeRole into {TARGET})"), "gave up"],
    );
    env.emu.set_persistent_fault(Some(Fault::Hang));
    let err = failed(&env.run(&[&CHAIN[..], &["--timeout", "2s"]].concat()), 5);
    says(&err, &["hop 1"]);
    assert_eq!(env.assume_calls(), 1);
}

#[test]
fn a_previous_session_expired_at_sts_is_refreshed_once() {
    let now = Arc::new(Mutex::new(Utc::now()));
    let read = Arc::clone(&now);
    let clock: Clock = Arc::new(move || -> DateTime<Utc> { *read.lock().unwrap() });
    let mut env = TestEnv::with_config(config(Some(clock), Some(600)));
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    succeeded(&env.run(&["--role-arn", ROLE, "--refresh-margin", "1m"]));
    // The cache believes the first hop has hours left; STS knows it expired.
    set_expiration(&entry_of(&env, ROLE), 3 * 3600);
    *now.lock().unwrap() += chrono::Duration::minutes(11);
    let out = env.run(&[&["-v"][..], &CHAIN, &["--refresh-margin", "1m"]].concat());
    let v = succeeded(&out);
    assert_eq!(v["AccountId"], TARGET_ACCOUNT);
    says(&stderr(&out), &["has expired: refreshing it once"]);
    assert_eq!((env.assume_calls(), role_calls(&env)), (2, 2));
}

#[test]
fn the_account_guard_refuses_on_a_miss_and_on_a_hit_naming_both_accounts() {
    let mut env = chain_env();
    let mut args = CHAIN.to_vec();
    args.extend(["--allowed-account-ids", "123456789012,111111111111"]);
    let err = failed(&env.run(&args), 7);
    says(
        &err,
        &[
            "assumed-role/prod-deploy/",
            &format!(
                "account {TARGET_ACCOUNT} is not among the allowed accounts 123456789012, 111111111111"
            ),
        ],
    );
    assert_eq!(env.entry_files().len(), 1, "the refused hop is not cached");

    let ok =
        succeeded(&env.run(&[&CHAIN[..], &["--allowed-account-ids", TARGET_ACCOUNT]].concat()));
    assert_eq!(ok["AccountId"], TARGET_ACCOUNT);
    let calls = env.emu.requests().len();
    env.set("AWS_CI_CREDS_FORBIDDEN_ACCOUNT_IDS", TARGET_ACCOUNT);
    let err = failed(&env.run(&CHAIN), 7);
    says(
        &err,
        &[&format!(
            "account {TARGET_ACCOUNT} is forbidden by env AWS_CI_CREDS_FORBIDDEN_ACCOUNT_IDS"
        )],
    );
    assert_eq!(
        env.emu.requests().len(),
        calls,
        "refused on the hit, no call"
    );
    // Without a chain the guard checks the web-identity role's account.
    succeeded(&env.run(&["--role-arn", ROLE]));
    env.set("AWS_CI_CREDS_FORBIDDEN_ACCOUNT_IDS", ACCOUNT);
    failed(&env.run(&["--role-arn", ROLE]), 7);
}

#[test]
fn no_secret_of_any_hop_reaches_stderr() {
    let mut env = TestEnv::with_config(config(None, None));
    let mut canaries = Canaries::default();
    canaries.token(&env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims()));
    let out = env.run(&[&["-vv"][..], &CHAIN].concat());
    canaries.credentials(&succeeded(&out));
    let first: Value =
        serde_json::from_slice(&std::fs::read(entry_of(&env, ROLE)).unwrap()).unwrap();
    for (name, field) in [
        ("AccessKeyId", "access_key_id"),
        ("SecretAccessKey", "secret_access_key"),
        ("SessionToken", "session_token"),
    ] {
        canaries.add(name, first["credentials"][field].as_str().unwrap());
    }
    canaries.assert_absent(&stderr(&out), "stderr of a chained miss");
    check(&env, &canaries, &CHAIN, 0);
    check(
        &env,
        &canaries,
        &["--role-arn", ROLE, "--chain", UNTRUSTING],
        4,
    );
    check(
        &env,
        &canaries,
        &[&CHAIN[..], &["--forbidden-account-ids", TARGET_ACCOUNT]].concat(),
        7,
    );
    std::fs::remove_file(entry_of(&env, TARGET)).unwrap();
    env.emu.set_persistent_fault(Some(Fault::Status(503)));
    check(
        &env,
        &canaries,
        &[&CHAIN[..], &["--timeout", "2s"]].concat(),
        5,
    );
}

#[test]
fn session_tags_ci_tags_and_source_identity_reach_sts_and_key_the_hop() {
    let mut env = chain_env();
    env.set("CI_PROJECT_PATH", "group/project")
        .set("CI_COMMIT_REF_NAME", "feature/x#1");
    let args = |team: &str| {
        vec![
            "--role-arn".to_string(),
            ROLE.into(),
            "--chain".into(),
            TAGGABLE.into(),
            "--tag".into(),
            format!("team={team}"),
            "--ci-tags".into(),
            "--transitive-tag-key".into(),
            "team".into(),
            "--source-identity".into(),
            "octo-bot".into(),
        ]
    };
    let run = |team: &str| env.cmd().args(args(team)).output().unwrap();
    succeeded(&run("platform"));
    let rec = env.emu.requests().pop().unwrap();
    assert_eq!(rec.action, "AssumeRole");
    let tags: Vec<(String, String)> = (1..)
        .map_while(|n| {
            let k = rec.params.get(&format!("Tags.member.{n}.Key"))?;
            let v = rec.params.get(&format!("Tags.member.{n}.Value"))?;
            Some((k.clone(), v.clone()))
        })
        .collect();
    let want = [
        ("team", "platform"),
        ("CI", "gitlab"),
        ("Repository", "group/project"),
        ("Ref", "feature/x_1"),
        ("Job", "1001"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(tags, want);
    assert_eq!(rec.params["TransitiveTagKeys.member.1"], "team");
    assert_eq!(rec.params["SourceIdentity"], "octo-bot");

    succeeded(&run("platform"));
    assert_eq!(role_calls(&env), 1, "the same tags hit the cache");
    succeeded(&run("data"));
    assert_eq!(
        (env.assume_calls(), role_calls(&env)),
        (1, 2),
        "other tags, another key"
    );
}

#[test]
fn tags_need_tag_session_in_the_trust_policy_and_a_chained_hop_to_go_on() {
    let env = chain_env();
    let err = failed(&env.run(&[&CHAIN[..], &["--tag", "team=a"]].concat()), 4);
    says(
        &err,
        &["\"sts:AssumeRole\", \"sts:TagSession\"", "STS said: User: "],
    );
    let calls = env.emu.requests().len();
    let err = failed(&env.run(&["--role-arn", ROLE, "--tag", "team=a"]), 2);
    says(&err, &["--tag", "https://aws.amazon.com/tags", "--chain"]);
    let err = failed(&env.run(&[&CHAIN[..], &["--tag", "team=a|b"]].concat()), 2);
    says(&err, &["--tag is `team=a|b`"]);
    assert_eq!(
        env.emu.requests().len(),
        calls,
        "no call for refused settings"
    );
}

/// aws-sdk-rust resolving a chained profile through our `credential_process` line, then
/// calling STS with the last hop's credentials.
#[tokio::test]
#[allow(deprecated)] // aws-config's ProfileFiles aliases, as in sdk.rs
async fn the_rust_sdk_gets_the_last_hops_credentials_through_a_chained_profile() {
    use aws_config::profile::ProfileFileCredentialsProvider;
    use aws_config::profile::profile_file::{ProfileFileKind, ProfileFiles};
    let env = TestEnv::with_config(config(None, None));
    let token = env.token_file("token", &env.emu.mint(env.gitlab_claims()));
    let line = format!(
        "{} --role-arn {ROLE} --chain {TARGET} --external-id ext-42 --allowed-account-ids {TARGET_ACCOUNT} --source file --token-file {} --sts-endpoint {} --cache-dir {} --session-name sdk",
        bin().display(),
        token.display(),
        env.emu.sts_endpoint(),
        env.cache_dir().display(),
    );
    let path = env.path("aws-config");
    std::fs::write(
        &path,
        format!("[profile prod]\ncredential_process = {line}\n"),
    )
    .unwrap();
    let provider = ProfileFileCredentialsProvider::builder()
        .profile_files(
            ProfileFiles::builder()
                .with_file(ProfileFileKind::Config, &path)
                .build(),
        )
        .profile_name("prod")
        .build();
    let conf = aws_sdk_sts::Config::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .endpoint_url(env.emu.sts_endpoint())
        .credentials_provider(provider)
        .build();
    let who = aws_sdk_sts::Client::from_conf(conf)
        .get_caller_identity()
        .send()
        .await
        .expect("the SDK call works");
    assert_eq!(who.account(), Some(TARGET_ACCOUNT));
    assert_eq!(
        who.arn(),
        Some("arn:aws:sts::210987654321:assumed-role/prod-deploy/sdk-h1")
    );
    assert_eq!((env.assume_calls(), role_calls(&env)), (1, 1));
}
