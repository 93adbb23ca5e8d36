//! The network settings: region, STS endpoint (or the endpoint rules' inputs), the CA bundle for
//! STS, `--timeout`. Resolved here from the flags, the variables and the active profile into the
//! one [`Network`] value that `net` builds every client from; nothing here reads a CA bundle or
//! runs the endpoint rules, so a cache hit pays for neither.

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::CredentialArgs;
use crate::env::Env;
use crate::error::Error;
use crate::net::Network;
use crate::net::endpoint::StsEndpoint;
use crate::profile::ProfileSettings;
use crate::setting::{Origin, Setting, vars};

use super::layer::{Key, checked, invalid, key, or_default};
use super::{DEFAULT_TIMEOUT, RoleArn, parse_duration};

const REGION: Key = key("--region", &[vars::REGION, vars::DEFAULT_REGION]);
const STS_ENDPOINT: Key = key("--sts-endpoint", &[vars::ENDPOINT_STS, vars::ENDPOINT]);
const TIMEOUT: Key = key("--timeout", &[vars::TIMEOUT]);

/// The network settings for `role` (whose partition picks the default region).
pub fn from_args(
    args: &CredentialArgs,
    env: &Env,
    role: Option<&Setting<RoleArn>>,
) -> Result<Network, Error> {
    let region = match checked(env, &args.region, REGION, region)? {
        Some(region) => region,
        None => {
            let partition = role.map(|r| r.value.partition);
            let default = partition.unwrap_or_default().default_region();
            Setting::new(default.to_string(), Origin::Default)
        }
    };
    if let Some(role) = role {
        crate::net::endpoint::check_partitions(role, &region)?;
    }
    let profile = ProfileSettings::load(env);
    let sts_endpoint = match checked(env, &args.sts_endpoint, STS_ENDPOINT, endpoint)? {
        Some(named) => named,
        None => crate::net::endpoint::derived(&region, env, &profile)?,
    };
    let timeout = checked(env, &args.timeout, TIMEOUT, |raw| {
        let secs = parse_duration(&raw.value).filter(|s| (1..=3600).contains(s));
        let fix = "write e.g. 30s, 90s or 2m";
        secs.map(Duration::from_secs)
            .ok_or_else(|| invalid(raw, "is not a timeout between 1s and 1h", fix))
    })?;
    Ok(Network::new(
        region,
        sts_endpoint,
        ca_bundle(env, &profile),
        or_default(timeout, DEFAULT_TIMEOUT),
    ))
}

fn region(raw: &Setting<String>) -> Result<String, Error> {
    let name = &raw.value;
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        return Err(invalid(
            raw,
            "is not an AWS region name",
            "use a region such as us-east-1 or eu-west-1",
        ));
    }
    Ok(name.clone())
}

/// A named endpoint: checked as a URL, kept without its trailing `/`.
fn endpoint(raw: &Setting<String>) -> Result<StsEndpoint, Error> {
    check_endpoint(&raw.value).map_err(|problem| {
        invalid(
            raw,
            &problem,
            "use a URL such as https://sts.eu-west-1.amazonaws.com",
        )
    })?;
    Ok(StsEndpoint::Explicit(
        raw.value.trim_end_matches('/').to_string(),
    ))
}

fn check_endpoint(raw: &str) -> Result<(), String> {
    let uri: http::Uri = raw.parse().map_err(|_| "is not a URL".to_string())?;
    match uri.scheme_str() {
        Some("https") | Some("http") => {}
        _ => {
            return Err("does not start with https:// (or http:// for a local test server)".into());
        }
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    Ok(())
}

/// `AWS_CA_BUNDLE`, else the profile's `ca_bundle`: only the path; the bundle is read on a miss.
fn ca_bundle(env: &Env, profile: &ProfileSettings) -> Option<Setting<PathBuf>> {
    match env.get_os(vars::CA_BUNDLE) {
        Some(p) => Some(Setting::new(PathBuf::from(p), Origin::Env(vars::CA_BUNDLE))),
        None => profile
            .path("ca_bundle", env)
            .map(|p| Setting::new(p, Origin::Derived(profile.origin("ca_bundle")))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network(
        args: CredentialArgs,
        env: &[(&str, &str)],
        role: Option<&str>,
    ) -> Result<Network, Error> {
        let role = role.map(|arn| Setting::new(RoleArn::parse(arn).unwrap(), Origin::Default));
        from_args(&args, &Env::from_pairs(env.iter().copied()), role.as_ref())
    }

    #[test]
    fn the_network_resolves_alone_with_its_origins() {
        let env = [
            (vars::DEFAULT_REGION, "eu-central-1"),
            (vars::ENDPOINT, "http://127.0.0.1:9/"),
            (vars::TIMEOUT, "2m"),
            // Another concern's wrong value is not this constructor's business.
            (vars::SOURCE, "nonsense"),
        ];
        let got = network(CredentialArgs::default(), &env, None).unwrap();
        assert_eq!(
            got.region,
            Setting::new("eu-central-1".into(), Origin::Env(vars::DEFAULT_REGION))
        );
        assert_eq!(
            got.sts_endpoint,
            Setting::new(
                StsEndpoint::Explicit("http://127.0.0.1:9".into()),
                Origin::Env(vars::ENDPOINT)
            )
        );
        assert_eq!(
            got.timeout,
            Setting::new(Duration::from_secs(120), Origin::Env(vars::TIMEOUT))
        );
        assert!(got.ca_bundle.is_none());

        let china = network(
            CredentialArgs::default(),
            &[],
            Some("arn:aws-cn:iam::123456789012:role/r"),
        )
        .unwrap();
        assert_eq!(
            china.region,
            Setting::new("cn-north-1".into(), Origin::Default)
        );
        assert_eq!(
            china.timeout,
            Setting::new(DEFAULT_TIMEOUT, Origin::Default)
        );
    }

    #[test]
    fn a_ca_bundle_is_read_on_the_first_connection_not_when_resolving() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("corp.pem");
        let env = [(vars::CA_BUNDLE, missing.to_str().unwrap())];
        let got = network(CredentialArgs::default(), &env, None)
            .expect("resolving reads no bundle, so a missing one does not fail here");
        assert_eq!(got.ca_bundle.as_ref().unwrap().value, missing);
        let e = got.connection(&Env::default()).unwrap_err();
        assert!(e.to_string().contains("corp.pem"), "{e}");
        assert_eq!(e.exit_code(), crate::exit_code::ExitCode::Usage);
    }

    #[test]
    fn the_connection_is_loaded_once_per_run() {
        let got = network(CredentialArgs::default(), &[], None).unwrap();
        let env = Env::default();
        let first: *const _ = got.connection(&env).unwrap();
        let second: *const _ = got.connection(&env).unwrap();
        assert!(std::ptr::eq(first, second));
    }
}
