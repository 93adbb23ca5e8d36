//! The STS endpoint of a region, from aws-sdk-sts's own endpoint rules, so every partition and
//! variant (FIPS, dual-stack) is what the SDKs would call.
//!
//! Config keeps the rules' inputs ([`StsEndpoint`]), not their answer: the cache key is made
//! of the inputs, so a cache hit never runs the rules (their first run in a process sets up the
//! partitions table, ~0.2 ms, a large part of a hit). The rules run on a miss, in doctor and
//! for `-v`; their future is ready at once and is polled here without a runtime.

use std::task::{Context, Poll, Waker};

use aws_sdk_sts::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};

use crate::arn::{Partition, RoleArn};
use crate::env::Env;
use crate::error::Error;
use crate::profile::{ProfileSettings, parse_bool};
use crate::setting::{Origin, Setting, clip, vars};

/// Where STS is: a URL the user named, or what the SDK rules give for a region and variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StsEndpoint {
    /// `--sts-endpoint`, `AWS_ENDPOINT_URL_STS` or `AWS_ENDPOINT_URL` (no trailing `/`).
    Explicit(String),
    /// The SDK endpoint rules for these inputs, run only when the URL is needed.
    Rules { region: String, variant: Variant },
}

impl StsEndpoint {
    /// What identifies this endpoint in the cache key: the inputs that decide the rules'
    /// answer, so the key needs no rule run. Region names hold no `:`, so the two forms and
    /// their fields cannot run into each other.
    pub fn cache_part(&self) -> String {
        match self {
            StsEndpoint::Explicit(url) => format!("url:{url}"),
            StsEndpoint::Rules { region, variant } => format!(
                "rules:{region}:fips={}:dualstack={}",
                u8::from(variant.fips),
                u8::from(variant.dual_stack)
            ),
        }
    }
}

/// The endpoint URL, running the SDK rules when none was named. `endpoint.origin` says which
/// inputs asked for the variant, for the error when the rules have no endpoint for them.
pub fn url(endpoint: &Setting<StsEndpoint>, region: &Setting<String>) -> Result<String, Error> {
    let (rules_region, variant) = match &endpoint.value {
        StsEndpoint::Explicit(url) => return Ok(url.clone()),
        StsEndpoint::Rules { region, variant } => (region, *variant),
    };
    sts_endpoint(rules_region, variant).map_err(|why| {
        let asked = match (variant.fips, variant.dual_stack) {
            (true, true) => " with FIPS and dual-stack",
            (true, false) => " with FIPS",
            (false, true) => " with dual-stack",
            (false, false) => "",
        };
        Error::usage(
            format!(
                "no STS endpoint for region {} ({}){asked} ({}): {why}",
                region.value, region.origin, endpoint.origin
            ),
            "choose a region where this variant exists, unset the variant, or name the endpoint with AWS_ENDPOINT_URL_STS",
        )
    })
}

/// The endpoint when none is named: the SDK rules' inputs, the region and the FIPS/dual-stack
/// variants from the environment, else from the active profile. Runs no rules.
pub fn derived(
    region: &Setting<String>,
    env: &Env,
    profile: &ProfileSettings,
) -> Result<Setting<StsEndpoint>, Error> {
    let (fips, fips_from) = flag(env, profile, vars::USE_FIPS, "use_fips_endpoint")?;
    let (dual_stack, dual_from) =
        flag(env, profile, vars::USE_DUALSTACK, "use_dualstack_endpoint")?;
    let mut how = format!("SDK endpoint rules for {}", region.value);
    if fips {
        how.push_str(&format!(", FIPS from {fips_from}"));
    }
    if dual_stack {
        how.push_str(&format!(", dual-stack from {dual_from}"));
    }
    let endpoint = StsEndpoint::Rules {
        region: region.value.clone(),
        variant: Variant { fips, dual_stack },
    };
    Ok(Setting::new(endpoint, Origin::Derived(how)))
}

/// A variant switch: the variable, else the profile key, else off; and where it came from.
fn flag(
    env: &Env,
    profile: &ProfileSettings,
    var: &'static str,
    key: &str,
) -> Result<(bool, String), Error> {
    let (value, origin) = match (env.get(var), profile.get(key)) {
        (Some(v), _) => (v, format!("env {var}")),
        (None, Some(v)) => (v, profile.origin(key)),
        (None, None) => return Ok((false, String::new())),
    };
    parse_bool(value).map(|b| (b, origin.clone())).ok_or_else(|| {
        Error::usage(
            format!("{origin} is `{}`, which is not true or false", clip(value)),
            format!("set it to true or false, or remove it ({var} in the environment, {key} in the profile)"),
        )
    })
}

/// The role's partition and the region's must agree: STS of one partition cannot assume a
/// role of another, and STS's own answer to that does not say so.
pub fn check_partitions(role: &Setting<RoleArn>, region: &Setting<String>) -> Result<(), Error> {
    let Some(region_partition) = region_partition(&region.value) else {
        return Ok(());
    };
    let role_partition = role.value.partition;
    if region_partition == role_partition {
        return Ok(());
    }
    Err(Error::usage(
        format!(
            "the role {} is in partition {role_partition}, but the region {} ({}) is in partition {region_partition}: STS of one partition cannot assume a role of another",
            role.value.arn, region.value, region.origin
        ),
        format!(
            "set --region (or AWS_REGION) to a region of {role_partition} such as {}, or use the role's ARN in {region_partition}",
            role_partition.default_region()
        ),
    ))
}

/// Which endpoint variant is asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Variant {
    pub fips: bool,
    pub dual_stack: bool,
}

/// The STS endpoint URL for `region`, or why the rules have none (e.g. FIPS where the
/// partition has no FIPS endpoint).
pub fn sts_endpoint(region: &str, variant: Variant) -> Result<String, String> {
    #[cfg(test)]
    RULE_RUNS.with(|n| n.set(n.get() + 1));
    let params = Params::builder()
        .region(region)
        .use_fips(variant.fips)
        .use_dual_stack(variant.dual_stack)
        .use_global_endpoint(false)
        .build()
        .map_err(|e| e.to_string())?;
    let resolver = DefaultResolver::new();
    let future = resolver.resolve_endpoint(&params);
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(Ok(endpoint)) => Ok(endpoint.url().trim_end_matches('/').to_string()),
        Poll::Ready(Err(e)) => Err(e.to_string()),
        Poll::Pending => Err("the endpoint rules did not answer at once".into()),
    }
}

#[cfg(test)]
thread_local! {
    /// How often this thread ran the endpoint rules: tests prove a cache hit runs none.
    pub static RULE_RUNS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The partition a region belongs to, by the regular expressions of the SDK's partitions
/// table; `None` for a name that fits none (the SDK treats those as `aws`, but a mismatch
/// check must not guess).
pub fn region_partition(region: &str) -> Option<Partition> {
    // `^<prefix>\-\w+\-\d+$`, checked from the most specific prefix.
    const PREFIXES: [(&str, Partition); 8] = [
        ("us-gov-", Partition::AwsUsGov),
        ("us-isob-", Partition::AwsIsoB),
        ("us-isof-", Partition::AwsIsoF),
        ("us-iso-", Partition::AwsIso),
        ("eu-isoe-", Partition::AwsIsoE),
        ("eusc-de-", Partition::AwsEusc),
        ("cn-", Partition::AwsCn),
        ("", Partition::Aws),
    ];
    let globals = [
        ("aws-global", Partition::Aws),
        ("aws-cn-global", Partition::AwsCn),
        ("aws-us-gov-global", Partition::AwsUsGov),
        ("aws-iso-global", Partition::AwsIso),
        ("aws-iso-b-global", Partition::AwsIsoB),
        ("aws-iso-e-global", Partition::AwsIsoE),
        ("aws-iso-f-global", Partition::AwsIsoF),
    ];
    if let Some((_, p)) = globals.iter().find(|(r, _)| *r == region) {
        return Some(*p);
    }
    PREFIXES.iter().find_map(|(prefix, partition)| {
        let fits = if prefix.is_empty() {
            // aws: ^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$
            region.split_once('-').is_some_and(|(geo, tail)| {
                matches!(
                    geo,
                    "us" | "eu" | "ap" | "sa" | "ca" | "me" | "af" | "il" | "mx"
                ) && word_number(tail)
            })
        } else {
            region.strip_prefix(prefix).is_some_and(word_number)
        };
        fits.then_some(*partition)
    })
}

/// `\w+-\d+`
fn word_number(s: &str) -> bool {
    s.rsplit_once('-').is_some_and(|(word, number)| {
        !word.is_empty()
            && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !number.is_empty()
            && number.bytes().all(|b| b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: Variant = Variant {
        fips: false,
        dual_stack: false,
    };
    const FIPS: Variant = Variant {
        fips: true,
        dual_stack: false,
    };
    const DUAL: Variant = Variant {
        fips: false,
        dual_stack: true,
    };
    const BOTH: Variant = Variant {
        fips: true,
        dual_stack: true,
    };

    #[test]
    fn every_partition_and_variant_comes_from_the_sdk_rules() {
        let cases = [
            ("eu-west-1", PLAIN, "https://sts.eu-west-1.amazonaws.com"),
            ("us-east-1", PLAIN, "https://sts.us-east-1.amazonaws.com"),
            (
                "us-east-1",
                FIPS,
                "https://sts-fips.us-east-1.amazonaws.com",
            ),
            ("eu-west-1", DUAL, "https://sts.eu-west-1.api.aws"),
            ("us-east-1", BOTH, "https://sts-fips.us-east-1.api.aws"),
            (
                "cn-north-1",
                PLAIN,
                "https://sts.cn-north-1.amazonaws.com.cn",
            ),
            (
                "cn-northwest-1",
                DUAL,
                "https://sts.cn-northwest-1.api.amazonwebservices.com.cn",
            ),
            (
                "us-gov-west-1",
                PLAIN,
                "https://sts.us-gov-west-1.amazonaws.com",
            ),
            (
                "us-gov-east-1",
                FIPS,
                "https://sts.us-gov-east-1.amazonaws.com",
            ),
            (
                "us-iso-east-1",
                PLAIN,
                "https://sts.us-iso-east-1.c2s.ic.gov",
            ),
            (
                "us-isob-east-1",
                PLAIN,
                "https://sts.us-isob-east-1.sc2s.sgov.gov",
            ),
            (
                "eu-isoe-west-1",
                PLAIN,
                "https://sts.eu-isoe-west-1.cloud.adc-e.uk",
            ),
            (
                "us-isof-south-1",
                PLAIN,
                "https://sts.us-isof-south-1.csp.hci.ic.gov",
            ),
            (
                "eusc-de-east-1",
                PLAIN,
                "https://sts.eusc-de-east-1.amazonaws.eu",
            ),
        ];
        for (region, variant, want) in cases {
            assert_eq!(
                sts_endpoint(region, variant).as_deref(),
                Ok(want),
                "{region} {variant:?}"
            );
        }
    }

    #[test]
    fn regions_map_to_their_partitions() {
        let cases = [
            ("eu-west-1", Some("aws")),
            ("us-east-1", Some("aws")),
            ("mx-central-1", Some("aws")),
            ("cn-north-1", Some("aws-cn")),
            ("us-gov-west-1", Some("aws-us-gov")),
            ("us-iso-east-1", Some("aws-iso")),
            ("us-isob-east-1", Some("aws-iso-b")),
            ("eu-isoe-west-1", Some("aws-iso-e")),
            ("us-isof-south-1", Some("aws-iso-f")),
            ("eusc-de-east-1", Some("aws-eusc")),
            ("aws-global", Some("aws")),
            ("local", None),
            ("xx-west-1", None),
        ];
        for (region, want) in cases {
            assert_eq!(
                region_partition(region).map(Partition::as_str),
                want,
                "{region}"
            );
        }
        for p in Partition::ALL {
            assert_eq!(region_partition(p.default_region()), Some(p), "{p}");
        }
    }

    #[test]
    fn a_named_endpoint_runs_no_rules_and_a_missing_variant_is_a_usage_error() {
        // Not a host label: the rules have no endpoint for it.
        let region = Setting::new("-x".to_string(), Origin::Env(vars::REGION));
        let before = RULE_RUNS.with(|n| n.get());
        let named = Setting::new(
            StsEndpoint::Explicit("http://127.0.0.1:9".into()),
            Origin::Env(vars::ENDPOINT_STS),
        );
        assert_eq!(url(&named, &region).unwrap(), "http://127.0.0.1:9");
        assert_eq!(RULE_RUNS.with(|n| n.get()), before);

        let rules = Setting::new(
            StsEndpoint::Rules {
                region: region.value.clone(),
                variant: DUAL,
            },
            Origin::Derived("SDK endpoint rules for -x, dual-stack from env X".into()),
        );
        let e = url(&rules, &region).unwrap_err();
        assert_eq!(e.exit_code(), crate::exit_code::ExitCode::Usage);
        let text = e.to_string();
        assert!(
            text.contains("no STS endpoint for region -x (env AWS_REGION) with dual-stack")
                && text.contains("dual-stack from env X")
                && text.contains("AWS_ENDPOINT_URL_STS"),
            "{text}"
        );
    }
}
