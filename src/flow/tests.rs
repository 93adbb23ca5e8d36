//! The hit path's promises: the key is made of the endpoint's inputs, and a hit runs no rules.

use super::*;
use crate::cache::{Entry, EntryMeta};
use crate::cli::CredentialArgs;
use crate::env::Env;
use crate::net::endpoint::RULE_RUNS;
use crate::secret::Secret;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const ROLE: &str = "arn:aws:iam::123456789012:role/deploy";

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_900_000_000, 0).unwrap()
}

/// A job whose token is a file and whose cache is `dir`; no endpoint named unless `env` does.
fn job(dir: &std::path::Path, env: &[(&str, &str)]) -> (Ctx, Config) {
    let exp = now().timestamp() + 3600;
    let part = |json: String| URL_SAFE_NO_PAD.encode(json);
    let token = format!(
        "{}.{}.sig",
        part(r#"{"alg":"RS256"}"#.into()),
        part(format!(
            r#"{{"iss":"https://gitlab.example.com","sub":"project_path:g/app","aud":"sts.amazonaws.com","exp":{exp}}}"#
        ))
    );
    let token_file = dir.join("token");
    std::fs::write(&token_file, token).unwrap();
    let mut args = CredentialArgs {
        role_arn: Some(ROLE.into()),
        token_file: Some(token_file),
        ..CredentialArgs::default()
    };
    args.cache.cache_dir = Some(dir.join("cache"));
    let env = Env::from_pairs(env.iter().copied());
    let cfg = Config::resolve(&args, &env).unwrap();
    let ctx = Ctx {
        env,
        clock: Box::new(crate::clock::FixedClock(now())),
        diag: crate::diag::Diag::default(),
        paths: crate::context::Paths::default(),
    };
    (ctx, cfg)
}

fn key(env: &[(&str, &str)]) -> CacheKey {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, cfg) = job(dir.path(), env);
    cache_key(&cfg, &prepare(&ctx, &cfg).unwrap())
}

#[test]
fn the_key_changes_with_each_endpoint_input_and_only_with_them() {
    let base = key(&[("AWS_REGION", "eu-west-1")]);
    assert_eq!(base, key(&[("AWS_REGION", "eu-west-1")]));
    assert_eq!(
        base,
        key(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_USE_FIPS_ENDPOINT", "false"),
            ("AWS_USE_DUALSTACK_ENDPOINT", "false")
        ]),
        "an explicit `false` is the default"
    );
    let others = [
        key(&[("AWS_REGION", "eu-west-2")]),
        key(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_USE_FIPS_ENDPOINT", "true"),
        ]),
        key(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_USE_DUALSTACK_ENDPOINT", "true"),
        ]),
        key(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_USE_FIPS_ENDPOINT", "true"),
            ("AWS_USE_DUALSTACK_ENDPOINT", "true"),
        ]),
        // Even the URL the rules would give: a named endpoint is its own identity.
        key(&[
            ("AWS_REGION", "eu-west-1"),
            (
                "AWS_ENDPOINT_URL_STS",
                "https://sts.eu-west-1.amazonaws.com",
            ),
        ]),
        key(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9"),
        ]),
    ];
    for (i, a) in others.iter().enumerate() {
        assert_ne!(*a, base, "variant {i}");
        for (j, b) in others.iter().enumerate().skip(i + 1) {
            assert_ne!(a, b, "variants {i} and {j}");
        }
    }
    // Named by AWS_ENDPOINT_URL, the same URL is the same endpoint (a trailing `/` too).
    assert_eq!(
        key(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")
        ]),
        key(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9/")
        ]),
    );
}

/// Stores fresh credentials under this job's key, as an earlier run would have.
fn store_hit(dir: &std::path::Path, ctx: &Ctx, cfg: &Config) {
    let prepared = prepare(ctx, cfg).unwrap();
    let key = cache_key(cfg, &prepared);
    let credentials = Credentials {
        access_key_id: Secret::new("ASIACACHED".to_string()),
        secret_access_key: Secret::new("cached-secret".to_string()),
        session_token: Secret::new("cached-session".to_string()),
        expiration: now() + chrono::Duration::hours(1),
        assumed_role_arn: "arn:aws:sts::123456789012:assumed-role/deploy/s".into(),
    };
    let entry = Entry {
        meta: EntryMeta {
            role_arn: ROLE.into(),
            session_name: prepared.session_name.clone(),
            issuer: "https://gitlab.example.com".into(),
            subject: "project_path:g/app".into(),
            audience: "sts.amazonaws.com".into(),
            source: "file".into(),
            created: now(),
        },
        credentials,
    };
    Cache::open(&dir.join("cache"))
        .unwrap()
        .store(&key, &entry)
        .unwrap();
}

#[test]
fn a_cache_hit_runs_no_endpoint_rules() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("AWS_REGION", "eu-west-1"),
        ("AWS_USE_FIPS_ENDPOINT", "true"),
    ];
    let before = RULE_RUNS.with(|n| n.get());
    let (ctx, cfg) = job(dir.path(), &env);
    store_hit(dir.path(), &ctx, &cfg);

    let got = obtain(&ctx, &cfg).unwrap();
    assert_eq!(
        got.access_key_id.expose(),
        "ASIACACHED",
        "served from the cache"
    );
    assert_eq!(
        RULE_RUNS.with(|n| n.get()),
        before,
        "config, key and hit ran the endpoint rules"
    );
    // The counter counts: the miss path's URL comes from the rules.
    assert_eq!(
        cfg.sts_endpoint_url().unwrap(),
        "https://sts-fips.eu-west-1.amazonaws.com"
    );
    assert_eq!(RULE_RUNS.with(|n| n.get()), before + 1);
}

#[test]
fn a_cache_hit_loads_no_network_settings() {
    // A CA bundle that cannot be read and a proxy URL that cannot be used: both fail the first
    // connection, so a hit that succeeds has loaded neither.
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("missing.pem");
    let env = [
        ("AWS_CA_BUNDLE", bundle.to_str().unwrap()),
        ("HTTPS_PROXY", "ftp://proxy.invalid:21"),
    ];
    let (ctx, cfg) = job(dir.path(), &env);
    store_hit(dir.path(), &ctx, &cfg);
    let got = obtain(&ctx, &cfg).unwrap();
    assert_eq!(got.access_key_id.expose(), "ASIACACHED");
    // The miss path would have failed on them.
    assert!(cfg.network.connection(&ctx.env).is_err());
}
