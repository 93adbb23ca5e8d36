//! The STS side: awsQuery parsing, `AssumeRoleWithWebIdentity`, `AssumeRole` and
//! `GetCallerIdentity` with AWS's validation rules, and STS's XML documents (results and
//! `ErrorResponse`).

mod assume_role;
mod auth;
mod caller_identity;
mod request;
mod response;
mod token;
mod trust;

use std::collections::BTreeMap;

use serde_json::Value;

use super::http::{self, Outcome, Request, Response, StopFlag};
use super::jwt;
use super::{Flavor, RecordedRequest, Shared, apply_fault};
use caller_identity::get_caller_identity;
use request::{AssumeRoleRequest, Kind};
pub(crate) use response::{error_response, random_upper_alnum};
pub use trust::string_like;

const VERSION: &str = "2011-06-15";

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
        | "IncompleteSignature"
        | "ExpiredToken" => 403,
        "InternalFailure" | "InternalError" => 500,
        "ServiceUnavailable" => 503,
        _ => 400,
    }
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
    let known = matches!(
        action,
        "AssumeRoleWithWebIdentity" | "AssumeRole" | "GetCallerIdentity"
    );
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
        "AssumeRole" => assume_role::assume_role(shared, req, params),
        _ => get_caller_identity(shared, req),
    }
}

/// `AssumeRoleWithWebIdentity`, in the order STS checks: the parameters, the token, the role's
/// trust in it, the session rules; then the credentials.
fn assume_role_with_web_identity(
    shared: &Shared,
    params: &BTreeMap<String, String>,
    token: Option<&str>,
) -> Result<Response, StsError> {
    let req = AssumeRoleRequest::parse(params, Kind::WebIdentity(token))?;
    let now = shared.now();
    let token = token::verify(shared, req.token.expect("checked"), now)?;
    let trusted = trust::check_trust(shared, req.role_arn, &token)?;
    trust::check_session_duration(trusted.role, req.duration)?;
    let (access_key_id, issued) = response::issue_credentials(shared, &req, trusted.role_id, now);
    Ok(response::assume_role_result(
        shared,
        &req,
        &token.client_id,
        trusted.subject,
        &access_key_id,
        &issued,
    ))
}
