//! The credential cache, end to end: one STS call per identity, safe under parallel runs, damage
//! and hostile directories handled, `cache list|clear|path`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use sts_emulator::{Emulator, EmulatorConfig, Fault, RoleTrust};

use crate::support::*;

fn gitlab_env() -> TestEnv {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    env
}

fn is_root() -> bool {
    aws_ci_creds::testing::uid::euid() == 0
}

/// Rewrites the stored entry's expiration to `now + seconds` (keeping the file and its mode).
fn set_entry_expiration(entry: &Path, seconds: i64) {
    let mut v: Value = serde_json::from_slice(&std::fs::read(entry).unwrap()).unwrap();
    let exp = chrono::Utc::now() + chrono::Duration::seconds(seconds);
    v["credentials"]["expiration"] = exp.format("%Y-%m-%dT%H:%M:%SZ").to_string().into();
    std::fs::write(entry, serde_json::to_vec(&v).unwrap()).unwrap();
    assert_eq!(mode(entry), 0o600);
}

/// A stored entry that a run would serve: mode 0600, format 1, these credentials.
fn assert_valid_entry(entry: &Path, creds: &Value) {
    let md = std::fs::symlink_metadata(entry).unwrap();
    assert!(md.file_type().is_file(), "a regular file, not a link");
    assert_eq!(mode(entry), 0o600);
    let v: Value = serde_json::from_slice(&std::fs::read(entry).unwrap()).unwrap();
    assert_eq!(v["format"], 1);
    assert_eq!(v["credentials"]["access_key_id"], creds["AccessKeyId"]);
}

#[test]
fn sequential_runs_make_one_sts_call_and_print_the_same_credentials() {
    let env = gitlab_env();
    let outs: Vec<_> = (0..3).map(|_| env.run(&["--role-arn", ROLE])).collect();
    for out in &outs {
        succeeded(out);
        assert_eq!(stderr(out), "");
    }
    assert_eq!(env.assume_calls(), 1);
    assert_eq!(outs[0].stdout, outs[1].stdout);
    assert_eq!(outs[1].stdout, outs[2].stdout);
    let v = process_json(&outs[0].stdout);
    assert_valid_entry(&env.only_entry(), &v);
    assert_eq!(
        mode(&env.cache_dir()),
        0o700,
        "the cache dir is created 0700"
    );
}

#[test]
fn thirty_two_parallel_runs_on_a_cold_cache_make_one_sts_call() {
    let env = gitlab_env();
    let children: Vec<_> = (0..32)
        .map(|_| {
            env.std_cmd()
                .args(["--role-arn", ROLE])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let outs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for out in &outs {
        succeeded(out);
        assert_eq!(stderr(out), "", "no warning from any run");
        assert_eq!(out.stdout, outs[0].stdout, "every run prints the same");
    }
    assert_eq!(env.assume_calls(), 1, "single flight");
}

#[test]
fn each_identity_gets_its_own_entry() {
    const OTHER: &str = "arn:aws:iam::123456789012:role/other";
    let trust = |arn: &str| RoleTrust {
        role_arn: arn.into(),
        audience: "sts.amazonaws.com".into(),
        subject_like: SUB_LIKE.into(),
        max_session_seconds: 7200,
    };
    let mut env = TestEnv::with_roles(vec![trust(ROLE), trust(OTHER)]);
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    let mut expected = 0;
    let mut step = |env: &TestEnv, args: &[&str], what: &str| {
        let mut all = vec!["--role-arn"];
        all.extend_from_slice(args);
        succeeded(&env.run(&all));
        expected += 1;
        assert_eq!(env.assume_calls(), expected, "{what}: a new entry");
        succeeded(&env.run(&all));
        assert_eq!(env.assume_calls(), expected, "{what}: then a hit");
    };
    step(&env, &[ROLE], "first run");
    step(&env, &[OTHER], "another role");
    step(&env, &[ROLE, "--duration", "2h"], "another duration");
    step(&env, &[ROLE, "--policy", policy], "a session policy");
    step(
        &env,
        &[ROLE, "--session-name", "other-name"],
        "a session name",
    );

    // Another subject (another branch of the project) is another identity...
    let mut claims = env.gitlab_claims();
    claims["sub"] = "project_path:group/project:ref_type:branch:ref:dev".into();
    env.gitlab_job("AWS_ID_TOKEN", claims);
    step(&env, &[ROLE], "another subject");
    // ...and so is another job's token with the very same claims.
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    step(&env, &[ROLE], "another job's token");
    assert_eq!(env.entry_files().len(), 7);
}

#[test]
fn refresh_margin_is_capped_at_half_the_session() {
    let env = gitlab_env();
    let run = |margin: &str| {
        succeeded(&env.run(&[
            "--role-arn",
            ROLE,
            "--duration",
            "15m",
            "--refresh-margin",
            margin,
        ]))
    };
    run("10m");
    run("10m");
    run("7m");
    assert_eq!(
        env.assume_calls(),
        1,
        "15 minutes left beats a margin capped at 7m30s"
    );

    let env = gitlab_env();
    for _ in 0..2 {
        succeeded(&env.run(&[
            "--role-arn",
            ROLE,
            "--duration",
            "900",
            "--refresh-margin",
            "899",
        ]));
    }
    assert_eq!(env.assume_calls(), 1);
}

#[test]
fn an_entry_inside_the_refresh_margin_is_refreshed_unless_the_margin_is_lowered() {
    let mut env = gitlab_env();
    let first = succeeded(&env.run(&["--role-arn", ROLE]));
    let entry = env.only_entry();

    // Five minutes left, default margin 15m: refreshed.
    set_entry_expiration(&entry, 300);
    let second = succeeded(&env.run(&["--role-arn", ROLE]));
    assert_eq!(env.assume_calls(), 2);
    assert_ne!(first["AccessKeyId"], second["AccessKeyId"]);
    assert_valid_entry(&entry, &second);

    // Five minutes left, margin 1m (flag, then variable): served.
    set_entry_expiration(&entry, 300);
    let third = succeeded(&env.run(&["--role-arn", ROLE, "--refresh-margin", "1m"]));
    assert_eq!(third["AccessKeyId"], second["AccessKeyId"]);
    env.set("AWS_CI_CREDS_REFRESH_MARGIN", "60");
    succeeded(&env.run(&["--role-arn", ROLE]));
    assert_eq!(env.assume_calls(), 2);
}

#[test]
fn an_entry_inside_the_margin_is_served_when_sts_cannot_be_reached() {
    let env = gitlab_env();
    let first = succeeded(&env.run(&["--role-arn", ROLE]));
    set_entry_expiration(&env.only_entry(), 300);
    env.emu.set_persistent_fault(Some(Fault::Status(503)));
    let out = env.run(&["--role-arn", ROLE, "--timeout", "2s"]);
    let v = succeeded(&out);
    assert_eq!(v["AccessKeyId"], first["AccessKeyId"]);
    let err = stderr(&out);
    says(
        &err,
        &[
            "warning: could not refresh the cached credentials",
            "could not be reached",
            "they have left",
        ],
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn damaged_entries_are_replaced_by_a_new_exchange() {
    type Damage = fn(&Path, &Path);
    let damages: [(&str, Damage); 5] = [
        ("garbage", |e, _| {
            std::fs::write(e, "{{{ not json at all").unwrap()
        }),
        ("empty", |e, _| std::fs::write(e, "").unwrap()),
        ("truncated", |e, _| {
            let bytes = std::fs::read(e).unwrap();
            std::fs::write(e, &bytes[..bytes.len() / 2]).unwrap();
        }),
        ("mode 0644", |e, _| {
            std::fs::set_permissions(e, std::fs::Permissions::from_mode(0o644)).unwrap()
        }),
        ("symlink", |e, victim| {
            std::fs::remove_file(e).unwrap();
            std::os::unix::fs::symlink(victim, e).unwrap();
        }),
    ];
    for (what, damage) in damages {
        let env = gitlab_env();
        let first = succeeded(&env.run(&["--role-arn", ROLE]));
        let entry = env.only_entry();
        // The victim looks like a good entry, so only the refusal to follow the link protects it.
        let victim = env.path("victim.json");
        std::fs::copy(&entry, &victim).unwrap();
        let victim_bytes = std::fs::read(&victim).unwrap();
        damage(&entry, &victim);

        let out = env.run(&["--role-arn", ROLE]);
        let second = succeeded(&out);
        assert_eq!(stderr(&out), "", "{what}: damage is silent (a miss)");
        assert_eq!(env.assume_calls(), 2, "{what}: a new exchange");
        assert_ne!(first["AccessKeyId"], second["AccessKeyId"], "{what}");
        assert_valid_entry(&entry, &second);
        assert_eq!(std::fs::read(&victim).unwrap(), victim_bytes, "{what}");

        succeeded(&env.run(&["--role-arn", ROLE]));
        assert_eq!(env.assume_calls(), 2, "{what}: the new entry is served");
    }
}

#[test]
fn a_world_writable_cache_dir_is_refused_with_one_warning_naming_it() {
    let mut env = gitlab_env();
    let dir = env.path("shared-cache");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    env.set("AWS_CI_CREDS_CACHE_DIR", dir.to_str().unwrap());
    for calls in 1..=2 {
        let out = env.run(&["--role-arn", ROLE]);
        succeeded(&out);
        let err = stderr(&out);
        let naming: Vec<&str> = err
            .lines()
            .filter(|l| l.contains(dir.to_str().unwrap()))
            .collect();
        assert_eq!(naming.len(), 1, "{err}");
        says(naming[0], &["warning:", "writable by", "0777", "chmod 700"]);
        assert!(
            err.lines()
                .all(|l| l.starts_with("aws-ci-creds: warning: ")),
            "{err}"
        );
        assert_eq!(env.assume_calls(), calls, "nothing is cached there");
    }
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "nothing written"
    );
}

#[test]
fn a_read_only_cache_dir_still_gives_credentials() {
    let mut env = gitlab_env();
    let dir = env.path("ro-cache");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o500)).unwrap();
    env.set("AWS_CI_CREDS_CACHE_DIR", dir.to_str().unwrap());
    let out = env.run(&["--role-arn", ROLE]);
    succeeded(&out);
    if !is_root() {
        // root writes anyway; for everyone else the lock and the store fail, and say so.
        let err = stderr(&out);
        says(&err, &["warning:", "not cached"]);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn no_cache_flag_and_variable_make_every_run_call_sts() {
    let mut env = gitlab_env();
    for n in 1..=2 {
        succeeded(&env.run(&["--role-arn", ROLE, "--no-cache"]));
        assert_eq!(env.assume_calls(), n);
    }
    env.set("AWS_CI_CREDS_NO_CACHE", "1");
    for n in 3..=4 {
        let out = env.run(&["--role-arn", ROLE]);
        succeeded(&out);
        assert_eq!(
            stderr(&out),
            "",
            "turning the cache off is not worth a warning"
        );
        assert_eq!(env.assume_calls(), n);
    }
    assert!(env.entry_files().is_empty());
}

#[test]
fn default_cache_location_is_under_xdg_cache_home() {
    let mut env = gitlab_env();
    let xdg = env.path("xdg");
    env.unset("AWS_CI_CREDS_CACHE_DIR")
        .set("XDG_CACHE_HOME", xdg.to_str().unwrap());
    let out = env.run(&["cache", "path"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let expected = xdg.join("aws-ci-creds");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "{}\t(the user cache directory (default))\n",
            expected.display()
        )
    );
    succeeded(&env.run(&["--role-arn", ROLE]));
    succeeded(&env.run(&["--role-arn", ROLE]));
    assert_eq!(env.assume_calls(), 1);
    assert_eq!(mode(&expected), 0o700);
    let entries = std::fs::read_dir(&expected)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .count();
    assert_eq!(entries, 1);
}

#[test]
fn an_unusable_home_falls_back_to_a_per_user_temp_dir() {
    let mut env = gitlab_env();
    // A home below a regular file cannot be created, not even by root.
    std::fs::write(env.path("not-a-dir"), "").unwrap();
    let home = env.path("not-a-dir/home");
    let tmp = env.path("tmp");
    std::fs::create_dir(&tmp).unwrap();
    env.unset("AWS_CI_CREDS_CACHE_DIR")
        .set("HOME", home.to_str().unwrap())
        .set("TMPDIR", tmp.to_str().unwrap());
    for _ in 0..2 {
        let out = env.run(&["--role-arn", ROLE]);
        succeeded(&out);
        assert!(stderr(&out).lines().count() <= 1, "{}", stderr(&out));
    }
    assert_eq!(
        env.assume_calls(),
        1,
        "the fallback cache serves the second run"
    );
    let uid = aws_ci_creds::testing::uid::euid();
    let fallback = tmp.join(format!("aws-ci-creds-{uid}"));
    assert_eq!(mode(&fallback), 0o700);
    let out = env.run(&["cache", "path"]);
    says(
        &String::from_utf8_lossy(&out.stdout),
        &[fallback.to_str().unwrap(), "temp dir"],
    );
}

#[test]
fn cache_list_shows_identities_and_no_secret() {
    let env = gitlab_env();
    let creds = succeeded(&env.run(&["--role-arn", ROLE]));
    let key_id = creds["AccessKeyId"].as_str().unwrap();
    let secrets = [
        key_id,
        creds["SecretAccessKey"].as_str().unwrap(),
        creds["SessionToken"].as_str().unwrap(),
    ];
    let hint = format!("…{}", &key_id[key_id.len() - 4..]);

    let out = env.run(&["cache", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    says(
        &table,
        &[
            "ROLE",
            "SESSION",
            "STATE",
            ROLE,
            "gl-42-1001",
            GOOD_SUB,
            "fresh",
            &hint,
        ],
    );

    let out = env.run(&["cache", "list", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json = String::from_utf8_lossy(&out.stdout).into_owned();
    let v: Value = serde_json::from_str(&json).expect("cache list --json is JSON");
    assert_eq!(v["directory"], env.cache_dir().to_str().unwrap());
    let e = &v["entries"][0];
    assert_eq!(e["meta"]["role_arn"], ROLE);
    assert_eq!(e["meta"]["session_name"], "gl-42-1001");
    assert_eq!(e["meta"]["subject"], GOOD_SUB);
    assert_eq!(e["meta"]["issuer"], env.emu.issuer_url());
    assert_eq!(e["state"], "fresh");
    assert_eq!(e["access_key_hint"], hint.as_str());
    assert!(e["seconds_left"].as_i64().unwrap() > 3000);

    for text in [&table, &json, &stderr(&out)] {
        for secret in secrets {
            assert!(!text.contains(secret), "a secret in cache list: {text}");
        }
    }
}

#[test]
fn cache_clear_expired_keeps_fresh_entries_and_clear_removes_all() {
    let env = gitlab_env();
    succeeded(&env.run(&["--role-arn", ROLE]));
    succeeded(&env.run(&["--role-arn", ROLE, "--duration", "2h"]));
    let entries = env.entry_files();
    assert_eq!(entries.len(), 2);
    set_entry_expiration(&entries[0], -60);
    let expired = entries[0]
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();

    let out = env.run(&["cache", "clear", "--expired"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    says(&text, &[&format!("removed {expired}"), ROLE, "gl-42-1001"]);
    assert_eq!(env.entry_files(), vec![entries[1].clone()]);

    let out = env.run(&["cache", "clear"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(env.entry_files().is_empty());
    let out = env.run(&["cache", "list"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "no cached credentials"
    );
    let out = env.run(&["cache", "clear"]);
    says(
        &String::from_utf8_lossy(&out.stdout),
        &["nothing to remove"],
    );
}

#[test]
fn cache_path_prints_the_directory_and_why() {
    let env = TestEnv::new();
    let out = env.run(&["cache", "path"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "{}\t(env AWS_CI_CREDS_CACHE_DIR)\n",
            env.cache_dir().display()
        )
    );
    let flag = env.path("flag-cache");
    let out = env.run(&["cache", "path", "--cache-dir", flag.to_str().unwrap()]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}\t(flag --cache-dir)\n", flag.display())
    );
}

#[test]
fn a_run_killed_while_holding_the_lock_does_not_block_the_next() {
    let env = gitlab_env();
    env.emu.set_persistent_fault(Some(Fault::Hang));
    let mut child = env
        .std_cmd()
        .args(["--role-arn", ROLE, "--timeout", "60s"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let waited = Instant::now();
    let has_lock = || {
        std::fs::read_dir(env.cache_dir()).is_ok_and(|d| {
            d.flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "lock"))
        })
    };
    while !(has_lock() && env.assume_calls() >= 1) {
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "the first run never reached STS"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no unlock
    child.wait().unwrap();
    env.emu.set_persistent_fault(None);

    let started = Instant::now();
    let out = env.run(&["--role-arn", ROLE]);
    succeeded(&out);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "not blocked by the dead run's lock: {:?}",
        started.elapsed()
    );
    assert_eq!(env.assume_calls(), 2);
}

#[test]
fn a_hit_needs_no_network() {
    let mut env = gitlab_env();
    let first = succeeded(&env.run(&["--role-arn", ROLE]));
    let requests = env.emu.requests().len();
    // Stop the STS emulator: its port now refuses connections.
    drop(std::mem::replace(
        &mut env.emu,
        Emulator::start(EmulatorConfig::default()).unwrap(),
    ));
    let out = env.run(&["--role-arn", ROLE, "--timeout", "2s"]);
    let second = succeeded(&out);
    assert_eq!(second, first);
    assert_eq!(env.emu.requests().len(), 0);
    assert!(requests >= 1);
}

#[test]
fn a_github_hit_mints_no_token() {
    let mut env = TestEnv::new();
    env.github_job();
    let first = succeeded(&env.run(&["--role-arn", ROLE]));
    assert_eq!(env.emu.github_token_requests(), 1);
    let second = succeeded(&env.run(&["--role-arn", ROLE]));
    assert_eq!(first, second);
    assert_eq!(env.emu.github_token_requests(), 1, "a hit mints no token");
    assert_eq!(env.assume_calls(), 1);

    // Another job on the same runner (another request token) never gets these credentials.
    env.set("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "another-jobs-bearer");
    failed(&env.run(&["--role-arn", ROLE]), 3);
}
