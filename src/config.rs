//! The resolved configuration: what the commands get, never the raw [`crate::cli`] structs.
//!
//! Every value is layered flag > environment > default, validated once here, and remembers its
//! [`Origin`] so `-v` can say where it came from. All environment variable names the tool reads
//! for its settings live in [`vars`].

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{CacheOptions, CredentialArgs};
use crate::env::Env;
use crate::error::Error;
use crate::net::endpoint::StsEndpoint;
use crate::source_kind::SourceKind;

// The leaf types every layer shares, re-exported so `config::Setting` etc. keep reading naturally.
pub use crate::arn::RoleArn;
pub use crate::setting::{Origin, Setting, clip, vars};

pub const DEFAULT_AUDIENCE: &str = "sts.amazonaws.com";
pub const DEFAULT_DURATION_SECONDS: u32 = 3600;
pub const MIN_DURATION_SECONDS: u32 = 900;
pub const MAX_DURATION_SECONDS: u32 = 43200;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// botocore's advisory refresh window: credentials with less left make it re-run the process.
pub const DEFAULT_REFRESH_MARGIN_SECONDS: i64 = 15 * 60;

/// Cache settings.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// False with `--no-cache` or `AWS_CI_CREDS_NO_CACHE=1`.
    pub enabled: Setting<bool>,
    /// The directory asked for; `None` means the default location.
    pub dir: Option<Setting<PathBuf>>,
    /// How much validity must be left for a cached entry to be served (before capping).
    pub refresh_margin: Setting<chrono::Duration>,
}

/// Everything credential mode needs, resolved and validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub role_arn: Option<Setting<RoleArn>>,
    /// `None` is `auto`.
    pub source: Setting<Option<SourceKind>>,
    pub token_file: Option<Setting<PathBuf>>,
    pub token_env: Option<Setting<String>>,
    /// `--token-command`: the raw line (it splits: checked here).
    pub token_command: Option<Setting<String>>,
    /// Azure Pipelines: the service connection whose OIDC token is requested.
    pub azure_service_connection: Option<Setting<String>>,
    /// HCP Terraform: the tag of `TFC_WORKLOAD_IDENTITY_TOKEN_<TAG>`.
    pub tfc_tag: Option<Setting<String>>,
    pub audience: Setting<String>,
    pub session_name: Option<Setting<String>>,
    pub duration_seconds: Setting<u32>,
    pub region: Setting<String>,
    /// The rules' inputs or the named URL; [`Config::sts_endpoint_url`] gives the URL.
    pub sts_endpoint: Setting<StsEndpoint>,
    /// A PEM bundle that replaces the default roots for STS (`AWS_CA_BUNDLE`, profile `ca_bundle`).
    pub ca_bundle: Option<Setting<PathBuf>>,
    pub policy: Option<Setting<String>>,
    pub policy_arns: Vec<String>,
    pub timeout: Setting<Duration>,
    pub cache: CacheConfig,
}

/// flag > first set variable > nothing.
fn layer<T>(
    flag: Option<T>,
    flag_name: &'static str,
    env: &Env,
    env_names: &[&'static str],
    from_env: impl Fn(&str) -> T,
) -> Option<Setting<T>> {
    if let Some(v) = flag {
        return Some(Setting::new(v, Origin::Flag(flag_name)));
    }
    env_names.iter().find_map(|name| {
        env.get(name)
            .map(|v| Setting::new(from_env(v), Origin::Env(name)))
    })
}

fn invalid(setting_origin: &Origin, value: &str, problem: &str, fix: &str) -> Error {
    Error::usage(
        format!("{setting_origin} is `{}`, which {problem}", clip(value)),
        fix.to_string(),
    )
}

impl Config {
    /// Resolves and validates the credential options. Nothing here touches the network or the
    /// token; a wrong value fails with the flag or variable that set it.
    pub fn resolve(args: &CredentialArgs, env: &Env) -> Result<Config, Error> {
        // A setting variable that is not UTF-8 would otherwise read as unset.
        if let Some(name) = vars::TEXT.into_iter().find(|name| env.is_not_utf8(name)) {
            return Err(Error::usage(
                format!("the variable {name} is set to something that is not valid UTF-8"),
                format!("set {name} to plain text, or unset it"),
            ));
        }
        let role_arn = match layer(
            args.role_arn.clone(),
            "--role-arn",
            env,
            &[vars::ROLE_ARN, vars::AWS_ROLE_ARN],
            str::to_string,
        ) {
            Some(s) => Some(Setting::new(
                RoleArn::parse(s.value.trim()).map_err(|problem| {
                    invalid(
                        &s.origin,
                        &s.value,
                        &problem,
                        "copy the role's ARN from the IAM console (Roles → your role → ARN)",
                    )
                })?,
                s.origin,
            )),
            None => None,
        };

        let source = match layer(
            args.source.clone(),
            "--source",
            env,
            &[vars::SOURCE],
            str::to_string,
        ) {
            Some(s) => {
                let kind = SourceKind::parse(&s.value).map_err(|_| {
                    invalid(
                        &s.origin,
                        &s.value,
                        "is not a token source",
                        &format!("use one of: auto, {}", SourceKind::names().join(", ")),
                    )
                })?;
                Setting::new(kind, s.origin)
            }
            None => Setting::new(None, Origin::Default),
        };

        let token_file = layer(
            args.token_file.clone(),
            "--token-file",
            env,
            &[vars::TOKEN_FILE, vars::AWS_TOKEN_FILE],
            |v| PathBuf::from(v),
        );
        let token_env = args
            .token_env
            .clone()
            .map(|name| Setting::new(name, Origin::Flag("--token-env")));
        if let Some(name) = &token_env
            && (name.value.is_empty() || name.value.contains('=') || name.value.starts_with('$'))
        {
            return Err(invalid(
                &name.origin,
                &name.value,
                "is not an environment variable name",
                "pass the variable's name, e.g. --token-env AWS_ID_TOKEN (not its value, not $AWS_ID_TOKEN)",
            ));
        }
        if let Some(name) = &token_env
            && crate::jwt::looks_like_jwt(&name.value)
        {
            return Err(Error::usage(
                "--token-env was given a token instead of a variable name",
                "pass the variable's name, e.g. --token-env AWS_ID_TOKEN; a token on the command line is visible to every process on the machine",
            ));
        }

        let token_command = layer(
            args.token_command.clone(),
            "--token-command",
            env,
            &[vars::TOKEN_COMMAND],
            str::to_string,
        );
        if let Some(c) = &token_command
            && let Err(problem) = crate::shlex::split(&c.value)
        {
            return Err(Error::usage(
                format!("the command line from {} {problem}", c.origin),
                "write it as you would in a credential_process line: arguments separated by spaces, \
                 quoted with '…' or \"…\" when they contain spaces, e.g. --token-command \"circleci run oidc get --claims '{\\\"aud\\\":\\\"sts.amazonaws.com\\\"}'\"",
            ));
        }
        if let Some(c) = &token_command
            && crate::jwt::looks_like_jwt(&c.value)
        {
            return Err(Error::usage(
                format!("{} was given a token instead of a command", c.origin),
                "pass the command that prints the token; a token on the command line is visible to every process on the machine",
            ));
        }
        let azure_service_connection = layer(
            args.azure_service_connection.clone(),
            "--azure-service-connection",
            env,
            &[vars::AZURE_SERVICE_CONNECTION],
            |v| v.trim().to_string(),
        );
        if let Some(c) = &azure_service_connection
            && (c.value.is_empty()
                || !c
                    .value
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '-'))
        {
            return Err(invalid(
                &c.origin,
                &c.value,
                "is not a service connection id",
                "use the service connection's id (a GUID): Project settings → Service connections → the connection; it is the resourceId in the page's URL",
            ));
        }
        let tfc_tag = layer(
            args.tfc_tag.clone(),
            "--tfc-tag",
            env,
            &[vars::TFC_TAG],
            |v| v.trim().to_string(),
        );
        if let Some(t) = &tfc_tag
            && (t.value.is_empty()
                || !t
                    .value
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_'))
        {
            return Err(invalid(
                &t.origin,
                &t.value,
                "is not a workload identity tag",
                "use the TAG of TFC_WORKLOAD_IDENTITY_AUDIENCE_<TAG>: letters, digits and _",
            ));
        }

        let audience = layer(
            args.audience.clone(),
            "--audience",
            env,
            &[vars::AUDIENCE],
            str::to_string,
        )
        .unwrap_or_else(|| Setting::new(DEFAULT_AUDIENCE.to_string(), Origin::Default));

        let session_name = match layer(
            args.session_name.clone(),
            "--session-name",
            env,
            &[vars::SESSION_NAME, vars::AWS_SESSION_NAME],
            str::to_string,
        ) {
            Some(s) => {
                if let Err(problem) = crate::session::validate(&s.value) {
                    return Err(invalid(
                        &s.origin,
                        &s.value,
                        &problem,
                        "use 2 to 64 of A-Z a-z 0-9 _ + = , . @ -, or leave it out to use the job's own name",
                    ));
                }
                Some(s)
            }
            None => None,
        };

        let duration_seconds = match layer(
            args.duration.clone(),
            "--duration",
            env,
            &[vars::DURATION],
            str::to_string,
        ) {
            Some(s) => {
                let secs = parse_duration(&s.value).ok_or_else(|| {
                    invalid(
                        &s.origin,
                        &s.value,
                        "is not a duration",
                        "write seconds (3600) or a unit: 90m, 1h, 12h",
                    )
                })?;
                if !(u64::from(MIN_DURATION_SECONDS)..=u64::from(MAX_DURATION_SECONDS))
                    .contains(&secs)
                {
                    return Err(invalid(
                        &s.origin,
                        &s.value,
                        &format!("is {secs} seconds, outside what STS accepts"),
                        "choose 900 to 43200 seconds (15m to 12h), and at most the role's maximum session duration",
                    ));
                }
                Setting::new(secs as u32, s.origin)
            }
            None => Setting::new(DEFAULT_DURATION_SECONDS, Origin::Default),
        };

        let region = match layer(
            args.region.clone(),
            "--region",
            env,
            &[vars::REGION, vars::DEFAULT_REGION],
            str::to_string,
        ) {
            Some(s) => {
                let ok = !s.value.is_empty()
                    && s.value.len() <= 32
                    && s.value
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
                if !ok {
                    return Err(invalid(
                        &s.origin,
                        &s.value,
                        "is not an AWS region name",
                        "use a region such as us-east-1 or eu-west-1",
                    ));
                }
                s
            }
            None => {
                let partition = role_arn.as_ref().map(|r| r.value.partition);
                let default = partition.unwrap_or_default().default_region();
                Setting::new(default.to_string(), Origin::Default)
            }
        };
        if let Some(role) = &role_arn {
            crate::net::endpoint::check_partitions(role, &region)?;
        }
        let profile = crate::profile::ProfileSettings::load(env);

        let sts_endpoint = match layer(
            args.sts_endpoint.clone(),
            "--sts-endpoint",
            env,
            &[vars::ENDPOINT_STS, vars::ENDPOINT],
            str::to_string,
        ) {
            Some(s) => {
                check_endpoint(&s.value).map_err(|problem| {
                    invalid(
                        &s.origin,
                        &s.value,
                        &problem,
                        "use a URL such as https://sts.eu-west-1.amazonaws.com",
                    )
                })?;
                let url = s.value.trim_end_matches('/').to_string();
                Setting::new(StsEndpoint::Explicit(url), s.origin)
            }
            None => crate::net::endpoint::derived(&region, env, &profile)?,
        };
        let ca_bundle = match env.get_os(vars::CA_BUNDLE) {
            Some(p) => Some(Setting::new(PathBuf::from(p), Origin::Env(vars::CA_BUNDLE))),
            None => profile
                .path("ca_bundle", env)
                .map(|p| Setting::new(p, Origin::Derived(profile.origin("ca_bundle")))),
        };

        let policy = match (&args.policy, &args.policy_file) {
            (Some(p), _) => Some(Setting::new(p.clone(), Origin::Flag("--policy"))),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    Error::usage(
                        format!("--policy-file {} cannot be read: {e}", path.display()),
                        "check the path; it must be a readable UTF-8 JSON file",
                    )
                })?;
                Some(Setting::new(text, Origin::Flag("--policy-file")))
            }
            (None, None) => None,
        };
        if let Some(p) = &policy {
            if let Err(e) = serde_json::from_str::<serde_json::Value>(&p.value) {
                return Err(Error::usage(
                    format!(
                        "the session policy from {} is not valid JSON: {e}",
                        p.origin
                    ),
                    "pass an IAM policy document, e.g. {\"Version\":\"2012-10-17\",\"Statement\":[…]}",
                ));
            }
            if p.value.len() > 2048 {
                return Err(Error::usage(
                    format!(
                        "the session policy from {} is {} characters; STS accepts at most 2048",
                        p.origin,
                        p.value.len()
                    ),
                    "shorten it (remove whitespace), or use a managed policy with --policy-arn",
                ));
            }
        }
        if args.policy_arns.len() > 10 {
            return Err(Error::usage(
                format!(
                    "{} --policy-arn values given; STS accepts at most 10",
                    args.policy_arns.len()
                ),
                "combine managed policies, or narrow with one inline --policy",
            ));
        }
        for arn in &args.policy_arns {
            let ok = arn.starts_with("arn:")
                && arn.split(':').nth(2) == Some("iam")
                && arn.contains(":policy/");
            if !ok {
                return Err(Error::usage(
                    format!("--policy-arn `{arn}` is not an IAM policy ARN"),
                    "use arn:aws:iam::aws:policy/NAME or arn:aws:iam::123456789012:policy/NAME",
                ));
            }
        }

        let timeout = match layer(
            args.timeout.clone(),
            "--timeout",
            env,
            &[vars::TIMEOUT],
            str::to_string,
        ) {
            Some(s) => {
                let secs = parse_duration(&s.value)
                    .filter(|s| (1..=3600).contains(s))
                    .ok_or_else(|| {
                        invalid(
                            &s.origin,
                            &s.value,
                            "is not a timeout between 1s and 1h",
                            "write e.g. 30s, 90s or 2m",
                        )
                    })?;
                Setting::new(Duration::from_secs(secs), s.origin)
            }
            None => Setting::new(DEFAULT_TIMEOUT, Origin::Default),
        };

        let cache = resolve_cache(&args.cache, env)?;

        Ok(Config {
            role_arn,
            source,
            token_file,
            token_env,
            token_command,
            azure_service_connection,
            tfc_tag,
            audience,
            session_name,
            duration_seconds,
            region,
            sts_endpoint,
            ca_bundle,
            policy,
            policy_arns: args.policy_arns.clone(),
            timeout,
            cache,
        })
    }

    /// The STS endpoint URL. Runs the SDK endpoint rules unless one was named, so it is for
    /// the miss path, doctor and `-v`, never a cache hit.
    pub fn sts_endpoint_url(&self) -> Result<String, Error> {
        crate::net::endpoint::url(&self.sts_endpoint, &self.region)
    }

    /// The role, or the error that says how to name one.
    pub fn require_role(&self) -> Result<&RoleArn, Error> {
        self.role_arn.as_ref().map(|s| &s.value).ok_or_else(|| {
            Error::usage(
                "no role to assume",
                format!(
                    "pass --role-arn arn:aws:iam::ACCOUNT:role/NAME in the credential_process line, or set {} (or {})",
                    vars::ROLE_ARN,
                    vars::AWS_ROLE_ARN
                ),
            )
        })
    }

    /// The `-v` lines that say where each setting came from.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = |name: &str, value: &dyn fmt::Display, origin: &Origin| {
            lines.push(format!("{name} = {value} ({origin})"));
        };
        match &self.role_arn {
            Some(r) => line("role-arn", &r.value.arn, &r.origin),
            None => line("role-arn", &"(none)", &Origin::Default),
        }
        let source = self.source.value.map(|k| k.name()).unwrap_or("auto");
        line("source", &source, &self.source.origin);
        if let Some(f) = &self.token_file {
            line("token-file", &f.value.display(), &f.origin);
        }
        if let Some(e) = &self.token_env {
            line("token-env", &e.value, &e.origin);
        }
        if let Some(c) = &self.token_command {
            line("token-command", &c.value, &c.origin);
        }
        if let Some(c) = &self.azure_service_connection {
            line("azure-service-connection", &c.value, &c.origin);
        }
        if let Some(t) = &self.tfc_tag {
            line("tfc-tag", &t.value, &t.origin);
        }
        line("audience", &self.audience.value, &self.audience.origin);
        match &self.session_name {
            Some(s) => line("session-name", &s.value, &s.origin),
            None => line("session-name", &"(from the job)", &Origin::Default),
        }
        line(
            "duration",
            &format!("{}s", self.duration_seconds.value),
            &self.duration_seconds.origin,
        );
        line("region", &self.region.value, &self.region.origin);
        // `-v` is worth a rule run: it shows the URL a miss would call.
        match self.sts_endpoint_url() {
            Ok(url) => line("sts-endpoint", &url, &self.sts_endpoint.origin),
            Err(e) => line(
                "sts-endpoint",
                &format!("(none: {})", e.message().what),
                &self.sts_endpoint.origin,
            ),
        }
        if let Some(b) = &self.ca_bundle {
            line("ca-bundle (STS)", &b.value.display(), &b.origin);
        }
        if let Some(p) = &self.policy {
            line(
                "policy",
                &format!("{} characters", p.value.len()),
                &p.origin,
            );
        }
        for arn in &self.policy_arns {
            line("policy-arn", arn, &Origin::Flag("--policy-arn"));
        }
        line(
            "timeout",
            &format!("{}s", self.timeout.value.as_secs()),
            &self.timeout.origin,
        );
        line(
            "cache",
            &if self.cache.enabled.value {
                "on"
            } else {
                "off"
            },
            &self.cache.enabled.origin,
        );
        line(
            "refresh-margin",
            &format!("{}s", self.cache.refresh_margin.value.num_seconds()),
            &self.cache.refresh_margin.origin,
        );
        lines
    }
}

/// Cache settings alone, for the `cache` subcommands.
pub fn resolve_cache(opts: &CacheOptions, env: &Env) -> Result<CacheConfig, Error> {
    let enabled = if opts.no_cache {
        Setting::new(false, Origin::Flag("--no-cache"))
    } else if let Some(v) = env.get(vars::NO_CACHE) {
        let off = matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on");
        Setting::new(!off, Origin::Env(vars::NO_CACHE))
    } else {
        Setting::new(true, Origin::Default)
    };
    let dir = match (&opts.cache_dir, env.get_os(vars::CACHE_DIR)) {
        (Some(d), _) => Some(Setting::new(d.clone(), Origin::Flag("--cache-dir"))),
        (None, Some(d)) => Some(Setting::new(PathBuf::from(d), Origin::Env(vars::CACHE_DIR))),
        (None, None) => None,
    };
    let refresh_margin = match layer(
        opts.refresh_margin.clone(),
        "--refresh-margin",
        env,
        &[vars::REFRESH_MARGIN],
        str::to_string,
    ) {
        Some(s) => {
            let secs = parse_duration(&s.value)
                .filter(|s| *s <= 12 * 3600)
                .ok_or_else(|| {
                    invalid(
                        &s.origin,
                        &s.value,
                        "is not a margin between 0 and 12h",
                        "write e.g. 15m, 900 or 0",
                    )
                })?;
            Setting::new(chrono::Duration::seconds(secs as i64), s.origin)
        }
        None => Setting::new(
            chrono::Duration::seconds(DEFAULT_REFRESH_MARGIN_SECONDS),
            Origin::Default,
        ),
    };
    Ok(CacheConfig {
        enabled,
        dir,
        refresh_margin,
    })
}

/// Parses `3600`, `3600s`, `90m`, `1h`, `1h30m`, `2d` into seconds.
pub fn parse_duration(raw: &str) -> Option<u64> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return None,
        };
        let n: u64 = number.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        number.clear();
    }
    if !number.is_empty() {
        return None;
    }
    Some(total)
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let role = cfg.role_arn.unwrap();
        assert_eq!(role.value.arn, ARN);
        assert_eq!(role.origin, Origin::Env(vars::ROLE_ARN));

        let flag = CredentialArgs {
            role_arn: Some("arn:aws:iam::222222222222:role/x".into()),
            ..args()
        };
        let cfg = resolve(flag, &env).unwrap();
        assert_eq!(cfg.role_arn.unwrap().origin, Origin::Flag("--role-arn"));

        let cfg = resolve(args(), &[]).unwrap();
        assert!(cfg.role_arn.is_none());
        assert_eq!(cfg.audience.value, "sts.amazonaws.com");
        assert_eq!(cfg.duration_seconds.value, 3600);
        assert_eq!(cfg.region.value, "us-east-1");
        assert_eq!(
            cfg.sts_endpoint_url().unwrap(),
            "https://sts.us-east-1.amazonaws.com"
        );
        assert_eq!(cfg.timeout.value, Duration::from_secs(30));
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
        assert_eq!(cfg.duration_seconds.value, 7200);
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
        assert_eq!(cfg.sts_endpoint.origin, Origin::Env(vars::ENDPOINT_STS));
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
        assert_eq!(cfg.region.value, "us-gov-west-1");
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
        assert!(text.contains("sts-endpoint = https://sts.eu-west-1.amazonaws.com (SDK endpoint rules for eu-west-1)"), "{text}");
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
                ("HOME", home),
            ],
        )
        .unwrap();
        assert_eq!(
            cfg.sts_endpoint_url().unwrap(),
            "https://sts-fips.us-east-2.api.aws"
        );
        let origin = cfg.sts_endpoint.origin.to_string();
        assert!(
            origin.contains("FIPS from use_fips_endpoint in profile ci"),
            "{origin}"
        );
        let bundle = cfg.ca_bundle.unwrap();
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
        assert_eq!(cfg.ca_bundle.unwrap().origin, Origin::Env(vars::CA_BUNDLE));
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
}
