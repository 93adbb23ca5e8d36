//! The `[env: …]` text of `--help` is written by hand next to each flag; this ties it to what
//! the resolver reads. For every flag that names variables, each one (in the stated order) must
//! set that flag's setting, and every variable of `config::vars` must be named by some flag.

use std::collections::BTreeSet;

use aws_ci_creds::testing::cli::{CacheOptions, CredentialArgs};
use aws_ci_creds::testing::config::{self, Config, vars};
use aws_ci_creds::testing::env::Env;

/// The variables a help text names in `[env: A, then B]`, in order (`=1` dropped).
fn env_in_help(help: &str) -> Vec<String> {
    let Some(start) = help.find("[env: ") else {
        return Vec::new();
    };
    let rest = &help[start + "[env: ".len()..];
    rest[..rest.find(']').expect("closing bracket")]
        .split(", then ")
        .map(|v| v.split('=').next().unwrap().trim().to_string())
        .collect()
}

/// A valid value for the flag, and the `-v` name of the setting it fills.
fn sample(flag: &str) -> (&'static str, &'static str) {
    match flag {
        "role-arn" => ("arn:aws:iam::123456789012:role/deploy", "role-arn"),
        "token-file" => ("/run/token", "token-file"),
        "token-command" => ("print-token --aud x", "token-command"),
        "azure-service-connection" => ("5f0c2a8e", "azure-service-connection"),
        "tfc-tag" => ("aws", "tfc-tag"),
        "source" => ("github", "source"),
        "audience" => ("my-audience", "audience"),
        "session-name" => ("named-session", "session-name"),
        "duration" => ("2h", "duration"),
        "region" => ("eu-west-2", "region"),
        "sts-endpoint" => ("https://sts.example.test", "sts-endpoint"),
        "timeout" => ("45s", "timeout"),
        "no-cache" => ("1", "cache"),
        "refresh-margin" => ("10m", "refresh-margin"),
        "cache-dir" => ("/var/cache/x", "cache-dir"),
        "chain" => ("arn:aws:iam::210987654321:role/target", "chain"),
        "external-id" => ("ext-42", "external-id"),
        "chain-duration" => ("30m", "chain-duration"),
        "allowed-account-ids" => ("123456789012", "allowed-account-ids"),
        "forbidden-account-ids" => ("123456789012", "forbidden-account-ids"),
        "tag" => ("team=platform", "tag"),
        "transitive-tag-key" => ("team", "transitive-tag-key"),
        "source-identity" => ("octo-org", "source-identity"),
        "ci-tags" => ("1", "ci-tags"),
        other => panic!("--{other} names variables in its help: add it to this table"),
    }
}

/// Where the setting behind `name` came from, with `vars` set.
fn origin_of(name: &str, pairs: &[(&str, &str)]) -> String {
    let env = Env::from_pairs(pairs.iter().copied());
    if name == "cache-dir" {
        let cache = config::resolve_cache(&CacheOptions::default(), &env).unwrap();
        return cache.dir.map(|d| d.origin.to_string()).unwrap_or_default();
    }
    let cfg = Config::resolve(&CredentialArgs::default(), &env)
        .unwrap_or_else(|e| panic!("{pairs:?}: {e}"));
    let prefix = format!("{name} = ");
    let line = cfg
        .describe()
        .into_iter()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_default();
    // "name = value (origin)"
    line.rsplit_once(" (")
        .map(|(_, o)| o.trim_end_matches(')').to_string())
        .unwrap_or_default()
}

#[test]
fn every_env_named_in_help_sets_its_flag_in_the_stated_order() {
    let cmd = aws_ci_creds::testing::cli::command();
    let mut named = BTreeSet::new();
    for arg in cmd.get_arguments() {
        let (Some(flag), Some(help)) = (arg.get_long(), arg.get_help()) else {
            continue;
        };
        let listed = env_in_help(&help.to_string());
        if listed.is_empty() {
            continue;
        }
        let (value, setting) = sample(flag);
        for (i, var) in listed.iter().enumerate() {
            // This variable, and every later (lower-precedence) one, set: this one wins.
            let pairs: Vec<(&str, &str)> =
                listed[i..].iter().map(|v| (v.as_str(), value)).collect();
            let origin = origin_of(setting, &pairs);
            assert_eq!(
                origin,
                format!("env {var}"),
                "--{flag}: help says {var} sets it (in this order: {listed:?}), but the resolver says {origin:?}"
            );
            named.insert(var.clone());
        }
    }
    let all: BTreeSet<String> = vars::TEXT
        .iter()
        .chain(&[vars::TOKEN_FILE, vars::AWS_TOKEN_FILE, vars::CACHE_DIR])
        // No flag of their own: they pick the endpoint variant.
        .filter(|v| ![vars::USE_FIPS, vars::USE_DUALSTACK].contains(*v))
        .map(|v| v.to_string())
        .collect();
    assert_eq!(
        named, all,
        "variables the resolver reads vs those --help names"
    );
}
