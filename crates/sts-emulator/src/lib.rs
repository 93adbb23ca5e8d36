//! A strict, in-process stand-in for AWS STS and for the CI systems' OIDC issuers, used by the
//! `demo` command of aws-ci-creds, its integration tests and (through `examples/sts_emulator.rs`)
//! the shell end-to-end scripts. A crate of its own so that release builds without the `demo`
//! feature leave it out, and so it cannot reach into the product: it depends on nothing of
//! aws-ci-creds.
//!
//! An [`Emulator`] owns two plain HTTP servers on `127.0.0.1`, each on an ephemeral port:
//!
//! * **The issuer** ([`Emulator::issuer_url`]): an OpenID Connect discovery document, the JWKS,
//!   a GitHub Actions ID-token endpoint (`GET /github/token?…&audience=…`), an Azure Pipelines
//!   one (`POST /azure/oidctoken?api-version=7.1&serviceConnectionId=…`) and
//!   `GET /_emulator/calls` (STS call counts, for shell scripts).
//! * **STS** ([`Emulator::sts_endpoint`]): the awsQuery actions `AssumeRoleWithWebIdentity` and
//!   `GetCallerIdentity`, validated the way AWS validates them (parameter constraints, RS256
//!   signature against the issuer's JWKS, issuer, audience, expiry, the role's trust conditions,
//!   its maximum session duration) and answered with STS's XML, errors included; and
//!   `AssumeRole` signed (SigV4) with a session it issued, checked against the target role's
//!   [`ChainTrust`] (which roles may assume it, `sts:ExternalId`, `sts:TagSession`,
//!   `sts:SetSourceIdentity`), the one-hour cap on chained sessions and the session-tag limits.
//!
//! Tests steer it with [`Fault`]s (HTTP errors, STS error codes, hangs, resets, truncated or
//! non-XML bodies) and inspect what reached it with [`Emulator::requests`] and the counters.
//!
//! The servers are std threads (one per connection, `Connection: close`); they stop when the
//! `Emulator` is dropped. Nothing here is hardened for anything but local tests.

mod http;
mod issuer;
mod jwt;
mod sts;
/// IAM `StringLike`, as the emulator evaluates trust policies (for tests of generated policies).
pub use sts::string_like;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;

use chrono::{DateTime, Utc};
use http::{Outcome, Response, Server, StopFlag};

/// The emulator's "now" (token checks, credential expiry): a function, so a test can move it.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The wall clock, the default [`EmulatorConfig::clock`].
fn wall_clock() -> DateTime<Utc> {
    #[allow(clippy::disallowed_methods)] // the emulator's one read of the real clock
    Utc::now()
}

/// One IAM role that trusts the emulator's issuer, with the usual GitHub-style trust policy:
/// `StringEquals` on `<issuer>:aud` and `StringLike` on `<issuer>:sub`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleTrust {
    /// `arn:aws:iam::<account>:role/[path/]<name>`.
    pub role_arn: String,
    /// The token audience the trust policy requires (`StringEquals`).
    pub audience: String,
    /// The subject pattern the trust policy requires (IAM `StringLike`: `*` and `?` wildcards,
    /// case-sensitive).
    pub subject_like: String,
    /// The role's MaxSessionDuration (3600 by default; IAM allows 3600–43200).
    pub max_session_seconds: u32,
}

impl RoleTrust {
    pub fn new(
        role_arn: impl Into<String>,
        audience: impl Into<String>,
        subject_like: impl Into<String>,
    ) -> RoleTrust {
        RoleTrust {
            role_arn: role_arn.into(),
            audience: audience.into(),
            subject_like: subject_like.into(),
            max_session_seconds: 3600,
        }
    }
}

impl Default for RoleTrust {
    /// `arn:aws:iam::123456789012:role/ci-deploy`, audience `sts.amazonaws.com`, any subject.
    fn default() -> RoleTrust {
        RoleTrust::new(
            "arn:aws:iam::123456789012:role/ci-deploy",
            "sts.amazonaws.com",
            "*",
        )
    }
}

/// One IAM role that other roles' sessions may assume with `sts:AssumeRole` (role chaining):
/// the trust policy's `Principal` list, and the conditions and extra actions it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainTrust {
    /// `arn:aws:iam::<account>:role/[path/]<name>`.
    pub role_arn: String,
    /// The role ARNs (IAM roles, not sessions) whose sessions may assume this one.
    pub trusted_roles: Vec<String>,
    /// `StringEquals` on `sts:ExternalId`, when the trust policy has that condition.
    pub external_id: Option<String>,
    /// Whether the trust policy also allows `sts:TagSession` (required when tags are sent).
    pub allow_tag_session: bool,
    /// Whether the trust policy also allows `sts:SetSourceIdentity`.
    pub allow_set_source_identity: bool,
    /// The role's MaxSessionDuration (chained sessions are capped at 3600 whatever it says).
    pub max_session_seconds: u32,
}

impl ChainTrust {
    /// A role that `trusted_roles` may assume, with no condition and no extra action.
    pub fn new(role_arn: impl Into<String>, trusted_roles: &[&str]) -> ChainTrust {
        ChainTrust {
            role_arn: role_arn.into(),
            trusted_roles: trusted_roles.iter().map(|r| r.to_string()).collect(),
            external_id: None,
            allow_tag_session: false,
            allow_set_source_identity: false,
            max_session_seconds: 3600,
        }
    }
}

/// How to set up an [`Emulator`].
#[derive(Clone)]
pub struct EmulatorConfig {
    /// Roles that trust the issuer. Default: one [`RoleTrust::default`].
    pub roles: Vec<RoleTrust>,
    /// Roles that trust other roles (`sts:AssumeRole`). Default: none.
    pub chain_roles: Vec<ChainTrust>,
    /// The client IDs (audiences) registered on the IAM OIDC provider.
    /// Default: `["sts.amazonaws.com"]`.
    pub client_ids: Vec<String>,
    /// The bearer token the GitHub token endpoint requires (`ACTIONS_ID_TOKEN_REQUEST_TOKEN`).
    pub github_request_token: String,
    /// The bearer token the Azure token endpoint requires (`SYSTEM_ACCESSTOKEN`).
    pub azure_request_token: String,
    /// The emulator's notion of "now" (token checks, credential expiry). Default: the system clock.
    pub clock: Clock,
    /// Issue credentials that expire this many seconds after issue, whatever `DurationSeconds`
    /// asked for (which is still validated as STS does: 900 s at least, at most the role's
    /// maximum). Lets a test watch clients refresh across an expiry without waiting 15 minutes.
    /// Default: `None`, the requested duration.
    pub credential_lifetime_override: Option<u32>,
}

impl Default for EmulatorConfig {
    fn default() -> EmulatorConfig {
        EmulatorConfig {
            roles: vec![RoleTrust::default()],
            chain_roles: Vec::new(),
            client_ids: vec!["sts.amazonaws.com".to_string()],
            github_request_token: "github-request-token".to_string(),
            azure_request_token: "azure-system-access-token".to_string(),
            clock: Arc::new(wall_clock),
            credential_lifetime_override: None,
        }
    }
}

impl std::fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("roles", &self.roles)
            .field("chain_roles", &self.chain_roles)
            .field("client_ids", &self.client_ids)
            .field(
                "credential_lifetime_override",
                &self.credential_lifetime_override,
            )
            .finish_non_exhaustive()
    }
}

/// A misbehaviour to inject into the next request (or every request, see
/// [`Emulator::set_persistent_fault`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this HTTP status and an HTML body, as a proxy or load balancer would.
    Status(u16),
    /// Answer with an STS error document (a JSON error on the token endpoints).
    StsError {
        status: u16,
        code: String,
        message: String,
    },
    /// Read the request and never answer (the connection closes when the emulator drops).
    Hang,
    /// Wait, then answer normally.
    Delay(Duration),
    /// Close the connection without answering (an RST where the platform allows).
    Reset,
    /// Status 200 with half of the normal body and a Content-Length announcing all of it.
    Truncated,
    /// Status 200 with a body that is not XML (not JSON on the token endpoints).
    NotXml,
}

impl Fault {
    /// An STS error fault with the HTTP status AWS uses for `code` (400 when unknown).
    pub fn sts_error(code: &str, message: &str) -> Fault {
        Fault::StsError {
            status: sts::status_for_code(code),
            code: code.to_string(),
            message: message.to_string(),
        }
    }
}

/// One request that reached the STS side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The `Action` parameter ("" if missing).
    pub action: String,
    pub method: String,
    pub path: String,
    /// Query and form parameters, percent-decoded, with `WebIdentityToken` removed.
    pub params: BTreeMap<String, String>,
    /// All request headers, lower-cased names. `x-amz-security-token` is replaced by
    /// `<redacted>`, and the `Signature=` part of `authorization` is cut off.
    pub headers: BTreeMap<String, String>,
    /// The (unverified) claims of the `WebIdentityToken`, if one was sent and decodes.
    pub token_claims: Option<Value>,
    /// The fault applied to this request, if any.
    pub fault: Option<Fault>,
}

/// Credentials the emulator handed out, remembered to authenticate the requests they sign.
#[derive(Debug, Clone)]
struct Issued {
    /// The IAM role of the session (what a chained role's trust policy names).
    role_arn: String,
    secret_access_key: String,
    session_token: String,
    expiration: DateTime<Utc>,
    assumed_role_arn: String,
    assumed_role_id: String,
    account: String,
}

#[derive(Debug, Default)]
struct State {
    sts_faults: VecDeque<Fault>,
    sts_persistent: Option<Fault>,
    token_faults: VecDeque<Fault>,
    token_persistent: Option<Fault>,
    sts_calls: BTreeMap<String, usize>,
    requests: Vec<RecordedRequest>,
    issued: HashMap<String, Issued>,
    github_requests: usize,
    azure_requests: usize,
    github_audiences: Vec<String>,
    github_claims: Value,
    azure_claims: Value,
}

/// What the servers' threads share with the [`Emulator`] handle.
struct Shared {
    config: EmulatorConfig,
    issuer_url: String,
    keys: jwt::Keys,
    /// `AROA…` unique ids, one per configured role, in `config.roles` order.
    role_ids: Vec<String>,
    /// The same for `config.chain_roles`.
    chain_role_ids: Vec<String>,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not take every later assertion down with it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn now(&self) -> DateTime<Utc> {
        (self.config.clock)()
    }

    fn take_sts_fault(&self) -> Option<Fault> {
        let mut state = self.lock();
        state
            .sts_faults
            .pop_front()
            .or_else(|| state.sts_persistent.clone())
    }

    fn take_token_fault(&self) -> Option<Fault> {
        let mut state = self.lock();
        state
            .token_faults
            .pop_front()
            .or_else(|| state.token_persistent.clone())
    }

    /// Signs `claims` after filling the registered claims (`lifetime` sets the default `exp`).
    fn mint(&self, claims: Value, lifetime_secs: i64) -> String {
        let map = jwt::with_defaults(
            claims,
            &self.issuer_url,
            self.now().timestamp(),
            lifetime_secs,
        );
        self.keys.sign(&Value::Object(map))
    }
}

/// Which error dialect a faulted endpoint speaks.
#[derive(Clone, Copy, Debug)]
enum Flavor {
    Sts,
    Json,
}

/// Turns an optional fault plus the normal answer into what the connection thread does.
fn apply_fault(
    fault: Option<Fault>,
    flavor: Flavor,
    stop: &StopFlag,
    normal: impl FnOnce() -> Response,
) -> Outcome {
    let Some(fault) = fault else {
        return Outcome::Respond(normal());
    };
    match fault {
        Fault::Status(status) => Outcome::Respond(Response::html_status(status)),
        Fault::StsError {
            status,
            code,
            message,
        } => Outcome::Respond(match flavor {
            Flavor::Sts => sts::error_response(status, &code, &message),
            Flavor::Json => Response::json(
                status,
                &serde_json::json!({"code": code, "message": message}),
            ),
        }),
        Fault::Hang => Outcome::Hang,
        Fault::Delay(delay) => {
            if stop.sleep(delay) {
                Outcome::Respond(normal())
            } else {
                Outcome::Reset
            }
        }
        Fault::Reset => Outcome::Reset,
        Fault::Truncated => {
            let mut response = normal();
            response.status = 200;
            Outcome::Truncated(response)
        }
        Fault::NotXml => Outcome::Respond(match flavor {
            Flavor::Sts => Response::new(200, "text/plain", "upstream says: everything is fine\n"),
            Flavor::Json => Response::new(
                200,
                "text/html",
                "<html><body><h1>Please sign in</h1></body></html>\n",
            ),
        }),
    }
}

/// A running STS emulator plus OIDC issuer. Dropping it stops both servers.
pub struct Emulator {
    shared: Arc<Shared>,
    issuer: Server,
    sts: Server,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("issuer_url", &self.issuer.url())
            .field("sts_endpoint", &self.sts.url())
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Generates the issuer key, binds both servers on `127.0.0.1:0` and starts serving.
    pub fn start(config: EmulatorConfig) -> std::io::Result<Emulator> {
        let issuer_listener = Server::bind()?;
        let sts_listener = Server::bind()?;
        let issuer_url = format!("http://{}", issuer_listener.local_addr()?);
        let role_ids = config
            .roles
            .iter()
            .map(|_| format!("AROA{}", sts::random_upper_alnum(17)))
            .collect();
        let chain_role_ids = config
            .chain_roles
            .iter()
            .map(|_| format!("AROA{}", sts::random_upper_alnum(17)))
            .collect();
        let state = State {
            github_claims: serde_json::json!({}),
            azure_claims: serde_json::json!({}),
            ..State::default()
        };
        let shared = Arc::new(Shared {
            config,
            issuer_url,
            keys: jwt::Keys::generate()?,
            role_ids,
            chain_role_ids,
            state: Mutex::new(state),
        });
        let stop = StopFlag::default();

        let s = Arc::clone(&shared);
        let issuer = Server::serve(
            issuer_listener,
            stop.clone(),
            Arc::new(move |req, stop: &StopFlag| issuer::handle(&s, req, stop)),
        );
        let s = Arc::clone(&shared);
        let sts = Server::serve(
            sts_listener,
            stop,
            Arc::new(move |req, stop: &StopFlag| sts::handle(&s, req, stop)),
        );
        Ok(Emulator {
            shared,
            issuer,
            sts,
        })
    }

    /// `http://127.0.0.1:<port>`, no trailing slash: the `iss` of every token minted here.
    pub fn issuer_url(&self) -> String {
        self.shared.issuer_url.clone()
    }

    /// `http://127.0.0.1:<port>`: STS answers POSTs on any path.
    pub fn sts_endpoint(&self) -> String {
        self.sts.url()
    }

    /// What a GitHub runner puts in `ACTIONS_ID_TOKEN_REQUEST_URL` (it already has a query).
    pub fn github_token_request_url(&self) -> String {
        format!("{}/github/token?api-version=2.0", self.shared.issuer_url)
    }

    /// What Azure Pipelines puts in `SYSTEM_OIDCREQUESTURI` (the caller appends the query).
    pub fn azure_oidc_request_uri(&self) -> String {
        format!("{}/azure/oidctoken", self.shared.issuer_url)
    }

    /// The `kid` of the issuer's signing key.
    pub fn kid(&self) -> String {
        self.shared.keys.kid().to_string()
    }

    /// The JWKS served at `/jwks`.
    pub fn jwks(&self) -> Value {
        self.shared.keys.jwks().clone()
    }

    /// An RS256 token signed by the issuer key. Missing `iss` (the issuer URL), `aud`
    /// (`sts.amazonaws.com`), `iat`/`nbf` (now), `exp` (now + 3600) and `jti` are filled in;
    /// claims given win. `claims` must be an object (or null).
    pub fn mint(&self, claims: Value) -> String {
        self.shared.mint(claims, 3600)
    }

    /// Like [`Emulator::mint`], with `exp` defaulting to now + `lifetime_secs`.
    pub fn mint_with_lifetime(&self, claims: Value, lifetime_secs: i64) -> String {
        self.shared.mint(claims, lifetime_secs)
    }

    /// Like [`Emulator::mint`], but signed by a key that is not in the JWKS (under the real
    /// `kid`), so signature verification fails.
    pub fn mint_forged(&self, claims: Value) -> String {
        let map = jwt::with_defaults(
            claims,
            &self.shared.issuer_url,
            self.shared.now().timestamp(),
            3600,
        );
        self.shared.keys.sign_forged(&Value::Object(map))
    }

    /// Signs with the issuer key under an arbitrary JOSE header (e.g. an unknown `kid`); claims
    /// get the same defaults as [`Emulator::mint`].
    pub fn mint_with_header(&self, header: Value, claims: Value) -> String {
        let map = jwt::with_defaults(
            claims,
            &self.shared.issuer_url,
            self.shared.now().timestamp(),
            3600,
        );
        self.shared
            .keys
            .sign_with_header(&header, &Value::Object(map))
    }

    /// Queues a fault; each STS request consumes one, first in first out.
    pub fn push_fault(&self, fault: Fault) {
        self.shared.lock().sts_faults.push_back(fault);
    }

    /// Applies `fault` to every STS request while set (queued faults go first).
    pub fn set_persistent_fault(&self, fault: Option<Fault>) {
        self.shared.lock().sts_persistent = fault;
    }

    /// Queues a fault for the GitHub/Azure token endpoints (one per request, FIFO).
    pub fn push_token_fault(&self, fault: Fault) {
        self.shared.lock().token_faults.push_back(fault);
    }

    /// Applies `fault` to every token-endpoint request while set.
    pub fn set_persistent_token_fault(&self, fault: Option<Fault>) {
        self.shared.lock().token_persistent = fault;
    }

    /// How many requests with this `Action` reached STS (faulted ones included).
    pub fn sts_calls(&self, action: &str) -> usize {
        self.shared
            .lock()
            .sts_calls
            .get(action)
            .copied()
            .unwrap_or(0)
    }

    /// Every request that reached STS, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Requests that reached the GitHub token endpoint (faulted and refused ones included).
    pub fn github_token_requests(&self) -> usize {
        self.shared.lock().github_requests
    }

    /// Requests that reached the Azure token endpoint (faulted and refused ones included).
    pub fn azure_token_requests(&self) -> usize {
        self.shared.lock().azure_requests
    }

    /// The `audience` query parameter of each GitHub token request ("" when absent).
    pub fn github_audiences(&self) -> Vec<String> {
        self.shared.lock().github_audiences.clone()
    }

    /// Claims merged into every token the GitHub endpoint mints (they override its defaults;
    /// the requested audience still wins over `aud`).
    pub fn set_github_claims(&self, claims: Value) {
        self.shared.lock().github_claims = claims;
    }

    /// Claims merged into every token the Azure endpoint mints (they override its defaults).
    pub fn set_azure_claims(&self, claims: Value) {
        self.shared.lock().azure_claims = claims;
    }
}

#[cfg(test)]
mod tests;
