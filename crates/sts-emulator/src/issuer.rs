//! The issuer side: OIDC discovery and JWKS, the GitHub Actions and Azure Pipelines ID-token
//! endpoints (with their bearer checks and fault injection) and the `/_emulator/calls` admin
//! endpoint.

use serde_json::{Map, Value, json};

use super::http::{self, Outcome, Request, Response, StopFlag};
use super::{Flavor, Shared, apply_fault};

/// GitHub's ID tokens live five minutes.
const GITHUB_TOKEN_LIFETIME: i64 = 300;
/// GitHub back-dates `nbf` by ten minutes.
const GITHUB_NBF_BACKDATE: i64 = 600;
const AZURE_TOKEN_LIFETIME: i64 = 3600;

pub(crate) fn handle(shared: &Shared, req: Request, stop: &StopFlag) -> Outcome {
    let route = (req.method.as_str(), req.path.as_str());
    match route {
        ("GET", "/.well-known/openid-configuration") => Outcome::Respond(discovery(shared)),
        ("GET", "/jwks" | "/.well-known/jwks.json") => {
            Outcome::Respond(Response::json(200, shared.keys.jwks()))
        }
        ("GET", "/_emulator/calls") => Outcome::Respond(calls(shared)),
        ("GET", "/github/token") => {
            let audience = http::parse_form(&req.query).remove("audience");
            {
                let mut state = shared.lock();
                state.github_requests += 1;
                state.github_audiences.push(audience.unwrap_or_default());
            }
            let fault = shared.take_token_fault();
            apply_fault(fault, Flavor::Json, stop, || github_token(shared, &req))
        }
        ("POST", "/azure/oidctoken") => {
            shared.lock().azure_requests += 1;
            let fault = shared.take_token_fault();
            apply_fault(fault, Flavor::Json, stop, || azure_token(shared, &req))
        }
        (
            _,
            "/.well-known/openid-configuration"
            | "/jwks"
            | "/.well-known/jwks.json"
            | "/_emulator/calls"
            | "/github/token"
            | "/azure/oidctoken",
        ) => Outcome::Respond(Response::json(
            405,
            &json!({"message": format!("method {} not allowed", req.method)}),
        )),
        _ => Outcome::Respond(Response::json(404, &json!({"message": "Not Found"}))),
    }
}

fn discovery(shared: &Shared) -> Response {
    let iss = &shared.issuer_url;
    Response::json(
        200,
        &json!({
            "issuer": iss,
            "jwks_uri": format!("{iss}/jwks"),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public", "pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid"],
            "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf"],
        }),
    )
}

fn calls(shared: &Shared) -> Response {
    let state = shared.lock();
    let mut out = Map::new();
    out.insert("AssumeRoleWithWebIdentity".into(), json!(0));
    out.insert("GetCallerIdentity".into(), json!(0));
    for (action, n) in &state.sts_calls {
        out.insert(action.clone(), json!(n));
    }
    out.insert("github_token_requests".into(), json!(state.github_requests));
    out.insert("azure_token_requests".into(), json!(state.azure_requests));
    Response::json(200, &Value::Object(out))
}

/// Overlays `top`'s keys onto `base` (a shallow merge; non-objects are ignored).
fn merge(base: &mut Map<String, Value>, top: &Value) {
    if let Value::Object(top) = top {
        for (k, v) in top {
            base.insert(k.clone(), v.clone());
        }
    }
}

fn unauthorized() -> Response {
    Response::json(
        401,
        &json!({"message": "Bad credentials: missing or wrong bearer token"}),
    )
}

fn github_token(shared: &Shared, req: &Request) -> Response {
    let query = http::parse_form(&req.query);
    let audience = query.get("audience").cloned();
    if req.bearer() != Some(shared.config.github_request_token.as_str()) {
        return unauthorized();
    }
    let now = shared.now().timestamp();
    let mut claims = Map::new();
    merge(
        &mut claims,
        &json!({
            "iss": shared.issuer_url,
            "sub": "repo:octo-org/octo-repo:ref:refs/heads/main",
            "repository": "octo-org/octo-repo",
            "repository_id": "74",
            "repository_owner": "octo-org",
            "repository_owner_id": "65",
            "repository_visibility": "private",
            "actor": "octocat",
            "actor_id": "12",
            "workflow": "CI",
            "event_name": "push",
            "ref": "refs/heads/main",
            "ref_type": "branch",
            "sha": "0000000000000000000000000000000000000000",
            "run_id": "1234567890",
            "run_number": "42",
            "run_attempt": "1",
            "runner_environment": "github-hosted",
            "iat": now,
            "nbf": now - GITHUB_NBF_BACKDATE,
            "exp": now + GITHUB_TOKEN_LIFETIME,
        }),
    );
    let (template, count) = {
        let state = shared.lock();
        (state.github_claims.clone(), state.github_requests)
    };
    merge(&mut claims, &template);
    let aud = match audience {
        Some(aud) => aud,
        None => format!(
            "https://github.com/{}",
            claims
                .get("repository_owner")
                .and_then(Value::as_str)
                .unwrap_or("octo-org")
        ),
    };
    claims.insert("aud".into(), json!(aud));
    let token = shared.mint(Value::Object(claims), GITHUB_TOKEN_LIFETIME);
    Response::json(200, &json!({"count": count, "value": token}))
}

fn azure_token(shared: &Shared, req: &Request) -> Response {
    if req.bearer() != Some(shared.config.azure_request_token.as_str()) {
        return unauthorized();
    }
    let query = http::parse_form(&req.query);
    if !query.contains_key("api-version") {
        return Response::json(
            400,
            &json!({"message": "No api-version was supplied for the POST request."}),
        );
    }
    let Some(connection) = query.get("serviceConnectionId").filter(|c| !c.is_empty()) else {
        return Response::json(
            400,
            &json!({"message": "The serviceConnectionId query parameter is required."}),
        );
    };
    let now = shared.now().timestamp();
    let mut claims = Map::new();
    merge(
        &mut claims,
        &json!({
            "iss": shared.issuer_url,
            "sub": format!("sc://org/project/{connection}"),
            "aud": "api://AzureADTokenExchange",
            "iat": now,
            "nbf": now,
            "exp": now + AZURE_TOKEN_LIFETIME,
        }),
    );
    let template = shared.lock().azure_claims.clone();
    merge(&mut claims, &template);
    let token = shared.mint(Value::Object(claims), AZURE_TOKEN_LIFETIME);
    Response::json(200, &json!({"oidcToken": token}))
}
