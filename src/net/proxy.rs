//! Which proxy a request goes through, and why: the conventions curl and the AWS SDKs share
//! (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`, upper or lower case), and on Azure Pipelines
//! self-hosted agents the agent's own `AGENT_PROXY*` variables when no `HTTPS_PROXY` is set.
//!
//! A proxy URL may carry credentials; they live in a [`Secret`] as the ready
//! `Proxy-Authorization` value and every display of the proxy leaves them out.

use std::fmt;
use std::net::IpAddr;

use base64::Engine as _;
use ipnet::IpNet;

use crate::env::Env;
use crate::error::Error;
use crate::secret::Secret;

/// A proxy to tunnel through.
#[derive(Clone)]
pub struct Proxy {
    /// `http://host:port/`, without credentials.
    pub uri: http::Uri,
    /// `Basic …`, when the URL (or the agent) carries a user name.
    pub authorization: Option<Secret<String>>,
    /// The variable it came from.
    pub origin: &'static str,
}

impl Proxy {
    /// `http://host:port`, never with the user info.
    pub fn display(&self) -> String {
        let authority = self.uri.authority().map(|a| a.as_str()).unwrap_or("");
        format!("http://{authority}")
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("uri", &self.display())
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .field("origin", &self.origin)
            .finish()
    }
}

/// One `NO_PROXY` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Bypass {
    /// `*`: every host.
    All,
    /// `example.com` or `.example.com`: the domain and every subdomain (curl's rule).
    Domain { suffix: String, port: Option<u16> },
    /// `10.0.0.1`, `10.0.0.0/8`, `::1`, `[fd00::]/8`.
    Net { net: IpNet, port: Option<u16> },
}

/// A `NO_PROXY` list.
#[derive(Debug, Clone, Default)]
pub struct NoProxy {
    entries: Vec<(String, Bypass)>,
    pub origin: Option<&'static str>,
}

impl NoProxy {
    /// Parses a comma- (or space-) separated list; entries that cannot mean a host are ignored,
    /// as curl does.
    pub fn parse(raw: &str, origin: Option<&'static str>) -> NoProxy {
        let entries = raw
            .split([',', ' ', '\t', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .filter_map(|e| parse_entry(e).map(|b| (e.to_string(), b)))
            .collect();
        NoProxy { entries, origin }
    }

    /// The entry that exempts `host:port`, if any.
    pub fn matching(&self, host: &str, port: u16) -> Option<&str> {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let ip = host.parse::<IpAddr>().ok();
        self.entries
            .iter()
            .find(|(_, b)| match b {
                Bypass::All => true,
                Bypass::Domain { suffix, port: p } => {
                    p.is_none_or(|p| p == port)
                        && (host == *suffix || host.ends_with(&format!(".{suffix}")))
                }
                Bypass::Net { net, port: p } => {
                    p.is_none_or(|p| p == port) && ip.is_some_and(|ip| net.contains(&ip))
                }
            })
            .map(|(raw, _)| raw.as_str())
    }
}

fn parse_entry(entry: &str) -> Option<Bypass> {
    if entry == "*" {
        return Some(Bypass::All);
    }
    // CIDR ranges and bare IP literals (IPv6 optionally in brackets).
    let unbracketed = entry.trim_start_matches('[').replace(']', "");
    if let Ok(net) = unbracketed.parse::<IpNet>() {
        return Some(Bypass::Net { net, port: None });
    }
    if let Ok(ip) = unbracketed.parse::<IpAddr>() {
        return Some(Bypass::Net {
            net: IpNet::from(ip),
            port: None,
        });
    }
    // host:port, [v6]:port
    let (host, port) = match entry.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            (h, Some(p.parse::<u16>().ok()?))
        }
        _ => (entry, None),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(Bypass::Net {
            net: IpNet::from(ip),
            port,
        });
    }
    let suffix = host
        .trim_start_matches("*.")
        .trim_start_matches('.')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if suffix.is_empty() || suffix.contains(['/', '@', '*']) {
        return None;
    }
    Some(Bypass::Domain { suffix, port })
}

/// The proxy settings of this run.
#[derive(Debug, Clone, Default)]
pub struct ProxyRules {
    pub https: Option<Proxy>,
    pub http: Option<Proxy>,
    pub no_proxy: NoProxy,
}

/// How one request leaves the machine.
#[derive(Debug, Clone)]
pub enum Route {
    Direct { why: String },
    Proxy { proxy: Proxy, why: String },
}

impl Route {
    /// The `-v` line for a request to `url`.
    pub fn describe(&self, url: &str) -> String {
        match self {
            Route::Direct { why } => format!("proxy for {url}: none ({why})"),
            Route::Proxy { proxy, why } => {
                format!("proxy for {url}: {} ({why})", proxy.display())
            }
        }
    }
}

const HTTPS_VARS: [&str; 2] = ["HTTPS_PROXY", "https_proxy"];
const HTTP_VARS: [&str; 2] = ["HTTP_PROXY", "http_proxy"];
const NO_PROXY_VARS: [&str; 2] = ["NO_PROXY", "no_proxy"];
pub const AGENT_URL: &str = "AGENT_PROXYURL";
pub const AGENT_USER: &str = "AGENT_PROXYUSERNAME";
pub const AGENT_PASSWORD: &str = "AGENT_PROXYPASSWORD";
pub const AGENT_BYPASS: &str = "AGENT_PROXYBYPASSLIST";

fn first<'e>(env: &'e Env, names: &'static [&'static str; 2]) -> Option<(&'static str, &'e str)> {
    names
        .iter()
        .find_map(|n| env.get(n).map(|v| (*n, v.trim())))
        .filter(|(_, v)| !v.is_empty())
}

impl ProxyRules {
    /// Reads the proxy variables. A proxy URL that cannot be used is a configuration error that
    /// names the variable, without echoing credentials.
    pub fn from_env(env: &Env) -> Result<ProxyRules, Error> {
        let https_var = first(env, &HTTPS_VARS);
        let http_var = first(env, &HTTP_VARS);
        let no_proxy = first(env, &NO_PROXY_VARS)
            .map(|(n, v)| NoProxy::parse(v, Some(n)))
            .unwrap_or_default();

        let mut rules = ProxyRules {
            https: https_var
                .map(|(n, v)| parse_proxy(v, n, None))
                .transpose()?,
            http: http_var.map(|(n, v)| parse_proxy(v, n, None)).transpose()?,
            no_proxy,
        };
        // The Azure Pipelines agent exports its proxy to tasks only as AGENT_PROXY*; a job that
        // set HTTPS_PROXY itself has said what it wants.
        if rules.https.is_none()
            && let Some(url) = env.get(AGENT_URL).map(str::trim).filter(|v| !v.is_empty())
        {
            let user = env.get(AGENT_USER).map(|u| {
                (
                    u.to_string(),
                    env.get(AGENT_PASSWORD).unwrap_or("").to_string(),
                )
            });
            let agent = parse_proxy(url, AGENT_URL, user.as_ref())?;
            if rules.http.is_none() {
                rules.http = Some(agent.clone());
            }
            rules.https = Some(agent);
            if rules.no_proxy.origin.is_none()
                && let Some(list) = env.get(AGENT_BYPASS)
            {
                rules.no_proxy = NoProxy::parse(&agent_bypass_list(list), Some(AGENT_BYPASS));
            }
        }
        Ok(rules)
    }

    /// The route of a request to `uri`, and why.
    pub fn route(&self, uri: &http::Uri) -> Route {
        let https = uri.scheme_str() == Some("https");
        let (proxy, vars) = if https {
            (&self.https, "HTTPS_PROXY/https_proxy")
        } else {
            (&self.http, "HTTP_PROXY/http_proxy")
        };
        let Some(proxy) = proxy else {
            return Route::Direct {
                why: format!("{vars} not set"),
            };
        };
        let host = uri.host().unwrap_or("");
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        if let Some(entry) = self.no_proxy.matching(host, port) {
            return Route::Direct {
                why: format!(
                    "{} entry `{entry}` matches {host}",
                    self.no_proxy.origin.unwrap_or("NO_PROXY")
                ),
            };
        }
        Route::Proxy {
            proxy: proxy.clone(),
            why: format!("from {}", proxy.origin),
        }
    }
}

/// AGENT_PROXYBYPASSLIST is a JSON array of .NET regular expressions (`["github\\.com"]`);
/// the common forms are host names with escaped dots, turned here into NO_PROXY entries.
fn agent_bypass_list(raw: &str) -> String {
    let items: Vec<String> = serde_json::from_str::<Vec<String>>(raw)
        .unwrap_or_else(|_| raw.split(',').map(str::to_string).collect());
    items
        .iter()
        .map(|p| {
            p.trim()
                .trim_start_matches('^')
                .trim_end_matches('$')
                .trim_start_matches(".*")
                .replace("\\.", ".")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses a proxy URL (`http://[user[:password]@]host[:port]`, scheme optional).
fn parse_proxy(
    raw: &str,
    origin: &'static str,
    agent_user: Option<&(String, String)>,
) -> Result<Proxy, Error> {
    let bad = |problem: &str| {
        Error::usage(
            format!(
                "{origin} is `{}`, which {problem}",
                crate::setting::clip(&without_userinfo(raw))
            ),
            format!(
                "set {origin} to the proxy's URL, e.g. http://proxy.example.com:3128 (credentials as http://USER:PASSWORD@host:port), or unset it"
            ),
        )
    };
    let with_scheme = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("http://{raw}")
    };
    let (scheme, rest) = with_scheme.split_once("://").unwrap_or(("http", raw));
    if !scheme.eq_ignore_ascii_case("http") {
        return Err(bad(&format!(
            "uses `{scheme}://`; only http:// proxies (HTTP CONNECT) are supported"
        )));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if hostport.is_empty() {
        return Err(bad("has no host"));
    }
    let uri: http::Uri = format!("http://{hostport}/")
        .parse()
        .map_err(|_| bad("is not a URL"))?;
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    let uri = if uri.port().is_none() {
        // curl's default proxy port.
        format!("http://{hostport}:1080/")
            .parse()
            .map_err(|_| bad("is not a URL"))?
    } else {
        uri
    };
    let credentials = match (userinfo, agent_user) {
        (Some(u), _) => {
            let (user, password) = u.split_once(':').unwrap_or((u, ""));
            Some((percent_decode(user), percent_decode(password)))
        }
        (None, Some((user, password))) => Some((user.clone(), password.clone())),
        (None, None) => None,
    };
    let authorization = credentials.map(|(user, password)| {
        Secret::new(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        ))
    });
    Ok(Proxy {
        uri,
        authorization,
        origin,
    })
}

/// The URL as it may be shown: user info removed.
pub fn without_userinfo(raw: &str) -> String {
    let (prefix, rest) = match raw.split_once("://") {
        Some((s, r)) => (format!("{s}://"), r),
        None => (String::new(), raw),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{prefix}{}", &rest[at + 1..]),
        None => raw.to_string(),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(vars: &[(&str, &str)]) -> ProxyRules {
        ProxyRules::from_env(&Env::from_pairs(vars.iter().copied())).unwrap()
    }

    fn route(r: &ProxyRules, url: &str) -> Option<String> {
        match r.route(&url.parse().unwrap()) {
            Route::Direct { .. } => None,
            Route::Proxy { proxy, .. } => Some(proxy.display()),
        }
    }

    #[test]
    fn no_proxy_matches_like_curl() {
        let np = NoProxy::parse(
            "example.com, .corp.internal,*.svc, 10.0.0.0/8, 192.168.1.7, ::1, [fd00::]/8, sts.amazonaws.com:8443, bad/entry",
            Some("NO_PROXY"),
        );
        let m = |h: &str, p: u16| np.matching(h, p).map(str::to_string);
        assert_eq!(m("example.com", 443).as_deref(), Some("example.com"));
        assert_eq!(m("api.EXAMPLE.com", 443).as_deref(), Some("example.com"));
        assert_eq!(m("notexample.com", 443), None);
        assert_eq!(m("corp.internal", 443).as_deref(), Some(".corp.internal"));
        assert_eq!(
            m("a.b.corp.internal", 80).as_deref(),
            Some(".corp.internal")
        );
        assert_eq!(m("x.svc", 80).as_deref(), Some("*.svc"));
        assert_eq!(m("10.1.2.3", 443).as_deref(), Some("10.0.0.0/8"));
        assert_eq!(m("11.1.2.3", 443), None);
        assert_eq!(m("192.168.1.7", 443).as_deref(), Some("192.168.1.7"));
        assert_eq!(m("192.168.1.8", 443), None);
        assert_eq!(m("[::1]", 443).as_deref(), Some("::1"));
        assert_eq!(m("fd00::5", 443).as_deref(), Some("[fd00::]/8"));
        assert_eq!(
            m("sts.amazonaws.com", 8443).as_deref(),
            Some("sts.amazonaws.com:8443")
        );
        assert_eq!(m("sts.amazonaws.com", 443), None);
        assert_eq!(NoProxy::parse("*", None).matching("anything", 1), Some("*"));
        assert_eq!(NoProxy::parse("", None).matching("anything", 1), None);
    }

    #[test]
    fn https_proxy_for_https_http_proxy_for_http_and_no_proxy_exempts() {
        let r = rules(&[
            ("https_proxy", "http://secure:3128"),
            ("HTTP_PROXY", "plain:8080"),
            ("no_proxy", ".internal"),
        ]);
        assert_eq!(
            route(&r, "https://sts.eu-west-1.amazonaws.com").as_deref(),
            Some("http://secure:3128")
        );
        assert_eq!(
            route(&r, "http://169.254.1.1/token").as_deref(),
            Some("http://plain:8080")
        );
        assert_eq!(route(&r, "https://vault.internal/x"), None);
        let why = r.route(&"https://vault.internal/x".parse().unwrap());
        assert!(
            why.describe("https://vault.internal/x")
                .contains("no_proxy entry `.internal` matches vault.internal"),
            "{why:?}"
        );
        // Uppercase wins over lowercase, as in curl and the SDKs.
        let r = rules(&[("HTTPS_PROXY", "http://a:1"), ("https_proxy", "http://b:2")]);
        assert_eq!(route(&r, "https://x").as_deref(), Some("http://a:1"));
        // Nothing set: direct, and -v says why.
        let r = rules(&[]);
        assert!(
            r.route(&"https://x".parse().unwrap())
                .describe("https://x")
                .contains("none (HTTPS_PROXY/https_proxy not set)")
        );
    }

    #[test]
    fn credentials_become_a_basic_header_and_are_never_shown() {
        let r = rules(&[("HTTPS_PROXY", "http://us%40er:p%3Ass@proxy:3128/")]);
        let p = r.https.unwrap();
        assert_eq!(p.display(), "http://proxy:3128");
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("us@er:p:ss")
        );
        assert_eq!(p.authorization.as_ref().unwrap().expose(), &expected);
        assert!(!format!("{p:?}").contains("p:ss"));
        assert!(!format!("{p:?}").contains(&expected));
        assert_eq!(
            without_userinfo("http://u:secret@proxy:1/"),
            "http://proxy:1/"
        );
    }

    #[test]
    fn unusable_proxy_urls_are_errors_without_the_password() {
        let e = ProxyRules::from_env(&Env::from_pairs([(
            "HTTPS_PROXY",
            "socks5://u:hunter2@proxy:1080",
        )]))
        .unwrap_err();
        let text = format!("{e:?} {}", e.message().what);
        assert!(text.contains("HTTPS_PROXY"), "{text}");
        assert!(text.contains("only http://"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn azure_agent_proxy_applies_only_without_https_proxy() {
        let agent = [
            (AGENT_URL, "http://agentproxy:8888"),
            (AGENT_USER, "svc"),
            (AGENT_PASSWORD, "agentpw"),
            (AGENT_BYPASS, r#"["github\\.com","\\.corp\\.example$"]"#),
        ];
        let r = rules(&agent);
        let p = r.https.clone().unwrap();
        assert_eq!(p.display(), "http://agentproxy:8888");
        assert_eq!(p.origin, AGENT_URL);
        assert!(p.authorization.is_some());
        assert_eq!(route(&r, "https://api.github.com"), None);
        assert_eq!(route(&r, "https://x.corp.example"), None);
        assert_eq!(
            route(&r, "https://sts.amazonaws.com").as_deref(),
            Some("http://agentproxy:8888")
        );
        let mut with_https: Vec<_> = agent.to_vec();
        with_https.push(("HTTPS_PROXY", "http://mine:1"));
        let r = rules(&with_https);
        assert_eq!(
            route(&r, "https://api.github.com").as_deref(),
            Some("http://mine:1")
        );
    }
}
