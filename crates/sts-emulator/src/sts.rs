//! The STS side: awsQuery parsing, `AssumeRoleWithWebIdentity` and `GetCallerIdentity` with
//! AWS's validation rules, and STS's XML documents (results and `ErrorResponse`).

use std::collections::BTreeMap;

use aws_lc_rs::{digest, hmac};
use chrono::{DateTime, Timelike, Utc};
use serde_json::Value;

use super::http::{self, Outcome, Request, Response, StopFlag};
use super::jwt::{self, VerifyError};
use super::{Flavor, Issued, RecordedRequest, Shared, apply_fault};

const NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
const VERSION: &str = "2011-06-15";
/// How far in the future `iat`/`nbf` may be before a token is refused.
const CLOCK_SKEW_SECS: i64 = 300;

/// An STS error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StsError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl StsError {
    fn new(code: &'static str, message: impl Into<String>) -> StsError {
        StsError {
            status: status_for_code(code),
            code,
            message: message.into(),
        }
    }
}

/// The HTTP status STS uses for an error code.
pub(crate) fn status_for_code(code: &str) -> u16 {
    match code {
        "AccessDenied"
        | "IDPRejectedClaim"
        | "RegionDisabledException"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "MissingAuthenticationToken"
        | "ExpiredToken" => 403,
        "InternalFailure" | "InternalError" => 500,
        "ServiceUnavailable" => 503,
        _ => 400,
    }
}

/// Escapes element text (quotes need no escaping outside attributes).
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

fn request_id() -> String {
    let mut b = [0u8; 16];
    aws_lc_rs::rand::fill(&mut b).expect("random bytes");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = jwt::hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Random characters from `alphabet`, uniformly (rejection sampling).
fn random_from(alphabet: &[u8], len: usize) -> String {
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        aws_lc_rs::rand::fill(&mut buf).expect("random bytes");
        for &b in &buf {
            if (b as usize) < limit && out.len() < len {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    out
}

pub(crate) fn random_upper_alnum(len: usize) -> String {
    random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", len)
}

fn random_secret(len: usize) -> String {
    random_from(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        len,
    )
}

fn xml_response(status: u16, body: String) -> Response {
    let id = request_id();
    let body = body.replace("{REQUEST_ID}", &id);
    Response::new(status, "text/xml", body).with_header("x-amzn-RequestId", &id)
}

/// An STS `ErrorResponse` document.
pub(crate) fn error_response(status: u16, code: &str, message: &str) -> Response {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    xml_response(
        status,
        format!(
            "<ErrorResponse xmlns=\"{NS}\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{{REQUEST_ID}}</RequestId>\n</ErrorResponse>\n",
            xml_escape(code),
            xml_escape(message)
        ),
    )
}

fn success_response(action: &str, result_inner: &str) -> Response {
    xml_response(
        200,
        format!(
            "<{action}Response xmlns=\"{NS}\">\n  <{action}Result>\n{result_inner}  </{action}Result>\n  <ResponseMetadata>\n    <RequestId>{{REQUEST_ID}}</RequestId>\n  </ResponseMetadata>\n</{action}Response>\n"
        ),
    )
}

/// Query-string parameters plus, for form bodies, the form fields (which win).
fn collect_params(req: &Request) -> BTreeMap<String, String> {
    let mut params = http::parse_form(&req.query);
    let is_form = req.header("content-type").is_some_and(|ct| {
        ct.split(';').next().is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
    });
    if is_form {
        params.extend(http::parse_form(&String::from_utf8_lossy(&req.body)));
    }
    params
}

fn recorded_headers(req: &Request) -> BTreeMap<String, String> {
    req.headers
        .iter()
        .map(|(name, value)| {
            let value = match name.as_str() {
                "x-amz-security-token" => "<redacted>".to_string(),
                "authorization" => match value.find("Signature=") {
                    Some(i) => format!("{}Signature=<redacted>", &value[..i]),
                    None => value.clone(),
                },
                _ => value.clone(),
            };
            (name.clone(), value)
        })
        .collect()
}

/// Entry point for every request to the STS port.
pub(crate) fn handle(shared: &Shared, req: Request, stop: &StopFlag) -> Outcome {
    let mut params = collect_params(&req);
    let action = params.get("Action").cloned().unwrap_or_default();
    let fault = shared.take_sts_fault();
    let token = params.remove("WebIdentityToken");
    let token_claims = token
        .as_deref()
        .and_then(|t| jwt::parse(t).ok())
        .map(|p| Value::Object(p.claims));
    {
        let mut state = shared.lock();
        *state.sts_calls.entry(action.clone()).or_insert(0) += 1;
        state.requests.push(RecordedRequest {
            action: action.clone(),
            method: req.method.clone(),
            path: req.path.clone(),
            params: params.clone(),
            headers: recorded_headers(&req),
            token_claims,
            fault: fault.clone(),
        });
    }
    apply_fault(fault, Flavor::Sts, stop, || {
        let result = dispatch(shared, &req, &action, &params, token.as_deref());
        match result {
            Ok(response) => response,
            Err(e) => error_response(e.status, e.code, &e.message),
        }
    })
}

fn dispatch(
    shared: &Shared,
    req: &Request,
    action: &str,
    params: &BTreeMap<String, String>,
    token: Option<&str>,
) -> Result<Response, StsError> {
    if req.method != "POST" && req.method != "GET" {
        return Err(StsError {
            status: 405,
            code: "InvalidAction",
            message: format!("HTTP method {} is not supported", req.method),
        });
    }
    if action.is_empty() {
        return Err(StsError::new("MissingAction", "Missing Action"));
    }
    let version = params.get("Version").map(String::as_str);
    let known = matches!(action, "AssumeRoleWithWebIdentity" | "GetCallerIdentity");
    if !known || version != Some(VERSION) {
        return Err(StsError::new(
            "InvalidAction",
            format!(
                "Could not find operation {action} for version {}",
                version.unwrap_or("NO_VERSION_SPECIFIED")
            ),
        ));
    }
    match action {
        "AssumeRoleWithWebIdentity" => assume_role_with_web_identity(shared, params, token),
        _ => get_caller_identity(shared, req),
    }
}

/// IAM `StringLike`: `*` matches any run of characters, `?` exactly one; case-sensitive.
pub fn string_like(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    let (mut pi, mut vi) = (0usize, 0usize);
    // Position of the last `*` in the pattern and the value index it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, vi));
            pi += 1;
        } else if let Some((sp, sv)) = star {
            pi = sp + 1;
            vi = sv + 1;
            star = Some((sp, sv + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn is_session_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// Collects model-constraint violations the way AWS's request validation reports them.
#[derive(Default)]
struct Violations(Vec<String>);

impl Violations {
    fn add(&mut self, value: Option<&str>, member: &str, constraint: &str) {
        let shown = match value {
            Some(v) => format!("Value '{v}' at"),
            None => "Value at".to_string(),
        };
        self.0.push(format!(
            "{shown} '{member}' failed to satisfy constraint: {constraint}"
        ));
    }

    fn null(&mut self, member: &str) {
        self.0.push(format!(
            "Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ));
    }

    /// Checks a length range; `show` decides whether the value is echoed (not for secrets).
    fn length(&mut self, value: &str, member: &str, min: usize, max: usize, show: bool) {
        let len = value.chars().count();
        let shown = show.then_some(value);
        if len < min {
            self.add(
                shown,
                member,
                &format!("Member must have length greater than or equal to {min}"),
            );
        } else if len > max {
            self.add(
                shown,
                member,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    fn into_error(self) -> Result<(), StsError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let n = self.0.len();
        let plural = if n == 1 { "" } else { "s" };
        Err(StsError::new(
            "ValidationError",
            format!(
                "{n} validation error{plural} detected: {}",
                self.0.join("; ")
            ),
        ))
    }
}

/// `arn:aws:iam::<12 digits>:role/[path/]name` → (account, role name).
fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return None;
    };
    let ok = prefix == "arn"
        && partition.starts_with("aws")
        && service == "iam"
        && region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit());
    let path_and_name = resource.strip_prefix("role/")?;
    let name = path_and_name.rsplit('/').next()?;
    (ok && !name.is_empty()).then_some((account, name))
}

fn is_policy_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    prefix == "arn"
        && partition.starts_with("aws")
        && service == "iam"
        && region.is_empty()
        && (account == "aws"
            || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())))
        && resource
            .strip_prefix("policy/")
            .is_some_and(|rest| !rest.is_empty() && !rest.ends_with('/'))
}

/// `PolicyArns.member.N.arn` values, ordered by N.
fn policy_arns(params: &BTreeMap<String, String>) -> Vec<(u32, String)> {
    let mut arns: Vec<(u32, String)> = params
        .iter()
        .filter_map(|(k, v)| {
            let n = k
                .strip_prefix("PolicyArns.member.")?
                .strip_suffix(".arn")?
                .parse()
                .ok()?;
            Some((n, v.clone()))
        })
        .collect();
    arns.sort();
    arns
}

fn epoch_claim(
    claims: &serde_json::Map<String, Value>,
    name: &str,
) -> Result<Option<i64>, StsError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v.as_f64().map(|f| Some(f.floor() as i64)).ok_or_else(|| {
            StsError::new(
                "InvalidIdentityToken",
                format!("The {name} claim of the web identity token is not a number"),
            )
        }),
    }
}

fn audiences(claims: &serde_json::Map<String, Value>) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn format_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn assume_role_with_web_identity(
    shared: &Shared,
    params: &BTreeMap<String, String>,
    token: Option<&str>,
) -> Result<Response, StsError> {
    // 1. Model constraints, all reported together.
    let mut v = Violations::default();
    let role_arn = params.get("RoleArn");
    let session = params.get("RoleSessionName");
    match role_arn {
        None => v.null("roleArn"),
        Some(arn) => v.length(arn, "roleArn", 20, 2048, true),
    }
    match session {
        None => v.null("roleSessionName"),
        Some(name) => {
            v.length(name, "roleSessionName", 2, 64, true);
            if !name.chars().all(is_session_name_char) {
                v.add(
                    Some(name),
                    "roleSessionName",
                    r"Member must satisfy regular expression pattern: [\w+=,.@-]*",
                );
            }
        }
    }
    match token {
        None => v.null("webIdentityToken"),
        Some(t) => v.length(t, "webIdentityToken", 4, 20000, false),
    }
    let mut duration: i64 = 3600;
    if let Some(raw) = params.get("DurationSeconds") {
        match raw.parse::<i64>() {
            Ok(d) if d < 900 => v.add(
                Some(raw),
                "durationSeconds",
                "Member must have value greater than or equal to 900",
            ),
            Ok(d) if d > 43200 => v.add(
                Some(raw),
                "durationSeconds",
                "Member must have value less than or equal to 43200",
            ),
            Ok(d) => duration = d,
            Err(_) => v.add(
                Some(raw),
                "durationSeconds",
                "Member must be a valid integer",
            ),
        }
    }
    let policy = params.get("Policy");
    if let Some(p) = policy {
        v.length(p, "policy", 1, 2048, false);
        if !p
            .chars()
            .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FF}'))
        {
            v.add(
                None,
                "policy",
                r"Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+",
            );
        }
    }
    let arns = policy_arns(params);
    if arns.len() > 10 {
        v.add(
            None,
            "policyArns",
            "Member must have length less than or equal to 10",
        );
    }
    for (n, arn) in &arns {
        v.length(arn, &format!("policyArns.{n}.member.arn"), 20, 2048, true);
    }
    v.into_error()?;
    let (role_arn, session, token) = (
        role_arn.expect("checked"),
        session.expect("checked"),
        token.expect("checked"),
    );

    // 2. Parameter semantics.
    if params.contains_key("ProviderId") {
        return Err(StsError::new(
            "ValidationError",
            "ProviderId is only valid for OAuth 2.0 access tokens; do not send it with an OpenID Connect ID token",
        ));
    }
    let Some((account, role_name)) = parse_role_arn(role_arn) else {
        return Err(StsError::new("ValidationError", "Request ARN is invalid"));
    };
    for (_, arn) in &arns {
        if !is_policy_arn(arn) {
            return Err(StsError::new(
                "ValidationError",
                format!("The policy ARN {arn} is invalid."),
            ));
        }
    }
    if let Some(p) = policy {
        match serde_json::from_str::<Value>(p) {
            Ok(Value::Object(doc)) if doc.contains_key("Statement") => {}
            Ok(Value::Object(_)) => {
                return Err(StsError::new(
                    "MalformedPolicyDocument",
                    "Syntax errors in policy.",
                ));
            }
            _ => {
                return Err(StsError::new(
                    "MalformedPolicyDocument",
                    "The policy is not in the valid JSON format.",
                ));
            }
        }
    }

    // 3. The token: shape, issuer, signature, audience, validity window.
    let parsed = jwt::parse(token).map_err(|_| {
        StsError::new(
            "InvalidIdentityToken",
            "The web identity token that was passed could not be validated: it is not a well-formed JWT",
        )
    })?;
    let claims = &parsed.claims;
    let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
    if iss != shared.issuer_url {
        return Err(StsError::new(
            "InvalidIdentityToken",
            format!("No OpenIDConnect provider found in your account for {iss}"),
        ));
    }
    jwt::verify(&parsed, shared.keys.jwks()).map_err(|e| {
        let message = match e {
            VerifyError::UnsupportedAlg(alg) => {
                format!("The web identity token is signed with an unsupported algorithm: {alg}")
            }
            VerifyError::NoKid | VerifyError::UnknownKid(_) => {
                "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements".to_string()
            }
            VerifyError::BadSignature => {
                "The web identity token's signature could not be verified".to_string()
            }
        };
        StsError::new("InvalidIdentityToken", message)
    })?;
    let token_auds = audiences(claims);
    let Some(client_id) = token_auds
        .iter()
        .find(|a| shared.config.client_ids.contains(a))
        .cloned()
    else {
        return Err(StsError::new(
            "InvalidIdentityToken",
            "Incorrect token audience",
        ));
    };
    let now = shared.now();
    let now_s = now.timestamp();
    let Some(exp) = epoch_claim(claims, "exp")? else {
        return Err(StsError::new(
            "InvalidIdentityToken",
            "The web identity token has no exp claim",
        ));
    };
    if exp <= now_s {
        return Err(StsError::new(
            "ExpiredTokenException",
            format!(
                "Token expired: current date/time {now_s} must be before the expiration date/time {exp}"
            ),
        ));
    }
    for name in ["nbf", "iat"] {
        if let Some(t) = epoch_claim(claims, name)?
            && t > now_s + CLOCK_SKEW_SECS
        {
            return Err(StsError::new(
                "InvalidIdentityToken",
                format!(
                    "The web identity token is not valid yet: {name} {t} is after the current date/time {now_s}"
                ),
            ));
        }
    }

    // 4. The role's trust policy.
    let denied = || {
        StsError::new(
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        )
    };
    let (role, role_id) = shared
        .config
        .roles
        .iter()
        .zip(&shared.role_ids)
        .find(|(r, _)| r.role_arn == *role_arn)
        .ok_or_else(denied)?;
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or_else(denied)?;
    if !token_auds.contains(&role.audience) || !string_like(&role.subject_like, sub) {
        return Err(denied());
    }
    if duration > i64::from(role.max_session_seconds) {
        return Err(StsError::new(
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }

    // 5. Credentials.
    let access_key_id = format!("ASIA{}", random_upper_alnum(16));
    let secret_access_key = random_secret(40);
    let mut token_bytes = [0u8; 288];
    aws_lc_rs::rand::fill(&mut token_bytes).expect("random bytes");
    let session_token = format!(
        "IQoJb3JpZ2luX2VtdWxhdG9y{}",
        base64::Engine::encode(&base64::prelude::BASE64_STANDARD, token_bytes)
    );
    let lifetime = shared
        .config
        .credential_lifetime_override
        .map_or(duration, i64::from);
    // Whole seconds, as STS issues them: the Expiration a client reads is the instant the
    // emulator stops accepting the credentials.
    let expiration = now.with_nanosecond(0).unwrap_or(now) + chrono::Duration::seconds(lifetime);
    let assumed_role_arn = format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session}");
    let assumed_role_id = format!("{role_id}:{session}");
    shared.lock().issued.insert(
        access_key_id.clone(),
        Issued {
            secret_access_key: secret_access_key.clone(),
            session_token: session_token.clone(),
            expiration,
            assumed_role_arn: assumed_role_arn.clone(),
            assumed_role_id: assumed_role_id.clone(),
            account: account.to_string(),
        },
    );
    let provider = shared
        .issuer_url
        .split_once("://")
        .map_or(shared.issuer_url.as_str(), |(_, rest)| rest);
    let packed = if policy.is_some() || !arns.is_empty() {
        let size = policy.map_or(0, |p| p.len()) + 64 * arns.len();
        format!(
            "    <PackedPolicySize>{}</PackedPolicySize>\n",
            (size * 100 / 2048).clamp(1, 100)
        )
    } else {
        String::new()
    };
    let e = |s: &str| xml_escape(s);
    let inner = format!(
        "    <Audience>{}</Audience>\n    <AssumedRoleUser>\n      <AssumedRoleId>{}</AssumedRoleId>\n      <Arn>{}</Arn>\n    </AssumedRoleUser>\n    <Provider>{}</Provider>\n    <Credentials>\n      <AccessKeyId>{}</AccessKeyId>\n      <SecretAccessKey>{}</SecretAccessKey>\n      <SessionToken>{}</SessionToken>\n      <Expiration>{}</Expiration>\n    </Credentials>\n{packed}    <SubjectFromWebIdentityToken>{}</SubjectFromWebIdentityToken>\n",
        e(&client_id),
        e(&assumed_role_id),
        e(&assumed_role_arn),
        e(provider),
        e(&access_key_id),
        e(&secret_access_key),
        e(&session_token),
        format_time(expiration),
        e(sub),
    );
    Ok(success_response("AssumeRoleWithWebIdentity", &inner))
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
struct SigV4Auth<'a> {
    access_key_id: &'a str,
    /// `date/region/service/aws4_request`.
    scope: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn parse_sigv4(header: &str) -> Option<SigV4Auth<'_>> {
    let rest = header.strip_prefix("AWS4-HMAC-SHA256")?.trim_start();
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed_headers = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let (access_key_id, scope) = credential?.split_once('/')?;
    Some(SigV4Auth {
        access_key_id,
        scope,
        signed_headers: signed_headers?,
        signature: signature?,
    })
}

fn sigv4_encode(s: &str) -> String {
    http::percent_encode(s)
}

/// Recomputes the SigV4 signature of `req` with `secret`.
fn sigv4_signature(req: &Request, auth: &SigV4Auth<'_>, secret: &str) -> Option<String> {
    let amz_date = req.header("x-amz-date")?;
    let canonical_uri = if req.path.is_empty() {
        "/".to_string()
    } else {
        req.path
            .split('/')
            .map(|seg| sigv4_encode(&http::percent_decode(seg)))
            .collect::<Vec<_>>()
            .join("/")
    };
    let mut query: Vec<(String, String)> = req
        .query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                sigv4_encode(&http::percent_decode(k)),
                sigv4_encode(&http::percent_decode(v)),
            )
        })
        .collect();
    query.sort();
    let canonical_query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut canonical_headers = String::new();
    for name in auth.signed_headers.split(';') {
        let value = req.header(name)?;
        let collapsed = value.split_whitespace().collect::<Vec<_>>().join(" ");
        canonical_headers.push_str(&format!("{name}:{collapsed}\n"));
    }
    let payload_hash = match req.header("x-amz-content-sha256") {
        Some(h) => h.to_string(),
        None => jwt::hex(digest::digest(&digest::SHA256, &req.body).as_ref()),
    };
    let canonical_request = format!(
        "{}\n{canonical_uri}\n{canonical_query}\n{canonical_headers}\n{}\n{payload_hash}",
        req.method, auth.signed_headers
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{}\n{}",
        auth.scope,
        jwt::hex(digest::digest(&digest::SHA256, canonical_request.as_bytes()).as_ref())
    );
    let mut key = format!("AWS4{secret}").into_bytes();
    for part in auth.scope.split('/') {
        key = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), part.as_bytes())
            .as_ref()
            .to_vec();
    }
    let sig = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &key),
        string_to_sign.as_bytes(),
    );
    Some(jwt::hex(sig.as_ref()))
}

fn get_caller_identity(shared: &Shared, req: &Request) -> Result<Response, StsError> {
    let Some(auth) = req.header("authorization") else {
        return Err(StsError::new(
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        ));
    };
    let invalid = || {
        StsError::new(
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        )
    };
    let auth = parse_sigv4(auth).ok_or_else(invalid)?;
    let issued = shared
        .lock()
        .issued
        .get(auth.access_key_id)
        .cloned()
        .ok_or_else(invalid)?;
    if req.header("x-amz-security-token") != Some(issued.session_token.as_str()) {
        return Err(invalid());
    }
    if shared.now() >= issued.expiration {
        return Err(StsError::new(
            "ExpiredToken",
            "The security token included in the request is expired",
        ));
    }
    if sigv4_signature(req, &auth, &issued.secret_access_key).as_deref() != Some(auth.signature) {
        return Err(StsError::new(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ));
    }
    let inner = format!(
        "    <Arn>{}</Arn>\n    <UserId>{}</UserId>\n    <Account>{}</Account>\n",
        xml_escape(&issued.assumed_role_arn),
        xml_escape(&issued.assumed_role_id),
        xml_escape(&issued.account)
    );
    Ok(success_response("GetCallerIdentity", &inner))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_like_supports_star_question_mark_and_exact_matches() {
        let cases = [
            ("repo:org/app:*", "repo:org/app:ref:refs/heads/main", true),
            (
                "repo:org/app:*",
                "repo:org/other:ref:refs/heads/main",
                false,
            ),
            (
                "repo:org/*:ref:refs/heads/main",
                "repo:org/x:ref:refs/heads/main",
                true,
            ),
            (
                "repo:org/*:ref:refs/heads/main",
                "repo:org/x:ref:refs/heads/dev",
                false,
            ),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("a?c", "abbc", false),
            ("exact", "exact", true),
            ("exact", "exact2", false),
            ("exact", "Exact", false),
            ("*", "", true),
            ("*", "anything", true),
            ("", "", true),
            ("", "x", false),
            ("a*b*c", "a-xx-b-yy-c", true),
            ("a*b*c", "a-xx-c-yy-b", false),
            ("**?", "z", true),
            ("Repo:*", "repo:x", false),
        ];
        for (pattern, value, expected) in cases {
            assert_eq!(
                string_like(pattern, value),
                expected,
                "{pattern} vs {value}"
            );
        }
    }

    #[test]
    fn role_arns_parse_with_and_without_paths() {
        assert_eq!(
            parse_role_arn("arn:aws:iam::123456789012:role/ci/deploy"),
            Some(("123456789012", "deploy"))
        );
        assert_eq!(
            parse_role_arn("arn:aws-cn:iam::123456789012:role/r"),
            Some(("123456789012", "r"))
        );
        assert_eq!(parse_role_arn("arn:aws:iam::1234:role/r"), None);
        assert_eq!(parse_role_arn("arn:aws:iam::123456789012:user/r"), None);
        assert_eq!(parse_role_arn("not-an-arn-at-all-really"), None);
    }

    #[test]
    fn policy_arns_must_be_iam_policy_arns() {
        assert!(is_policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess"));
        assert!(is_policy_arn("arn:aws:iam::123456789012:policy/team/p"));
        assert!(!is_policy_arn("arn:aws:iam::123456789012:role/p"));
        assert!(!is_policy_arn("arn:aws:s3:::bucket/policy/x"));
    }

    #[test]
    fn error_documents_have_the_sts_shape() {
        let r = error_response(403, "AccessDenied", "a <b> & c");
        assert_eq!(r.status, 403);
        let body = String::from_utf8(r.body).unwrap();
        assert!(body.starts_with(&format!("<ErrorResponse xmlns=\"{NS}\">")));
        assert!(body.contains("<Type>Sender</Type>"));
        assert!(body.contains("<Code>AccessDenied</Code>"));
        assert!(body.contains("<Message>a &lt;b&gt; &amp; c</Message>"));
        let id = r
            .headers
            .iter()
            .find(|(k, _)| k == "x-amzn-RequestId")
            .map(|(_, v)| v.clone())
            .unwrap();
        assert!(body.contains(&format!("<RequestId>{id}</RequestId>")));
        assert_eq!(id.len(), 36);
    }

    #[test]
    fn random_identifiers_have_aws_shapes() {
        let k = random_upper_alnum(16);
        assert_eq!(k.len(), 16);
        assert!(
            k.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert_eq!(random_secret(40).len(), 40);
        assert_ne!(random_upper_alnum(16), random_upper_alnum(16));
    }

    #[test]
    fn sigv4_header_parses() {
        let a = parse_sigv4("AWS4-HMAC-SHA256 Credential=ASIAX/20260101/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc").unwrap();
        assert_eq!(a.access_key_id, "ASIAX");
        assert_eq!(a.scope, "20260101/us-east-1/sts/aws4_request");
        assert_eq!(a.signed_headers, "host;x-amz-date");
        assert_eq!(a.signature, "abc");
        assert!(parse_sigv4("Bearer x").is_none());
    }
}
