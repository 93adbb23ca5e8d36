//! STS's documents: the XML results and `ErrorResponse`, request ids, and the credentials
//! `AssumeRoleWithWebIdentity` and `AssumeRole` issue.

use chrono::{DateTime, Timelike, Utc};

use super::request::AssumeRoleRequest;
use crate::http::Response;
use crate::{Issued, Shared, jwt};

const NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// Escapes element text (quotes need no escaping outside attributes).
pub(super) fn xml_escape(s: &str) -> String {
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

pub(super) fn success_response(action: &str, result_inner: &str) -> Response {
    xml_response(
        200,
        format!(
            "<{action}Response xmlns=\"{NS}\">\n  <{action}Result>\n{result_inner}  </{action}Result>\n  <ResponseMetadata>\n    <RequestId>{{REQUEST_ID}}</RequestId>\n  </ResponseMetadata>\n</{action}Response>\n"
        ),
    )
}

fn format_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Mints a session for the trusted role (`role_id` is its `AROA…` id) and remembers it, so the
/// requests it signs can be authenticated: the access key id and the credentials.
pub(super) fn issue_credentials(
    shared: &Shared,
    req: &AssumeRoleRequest<'_>,
    role_id: &str,
    now: DateTime<Utc>,
) -> (String, Issued) {
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
        .map_or(req.duration, i64::from);
    // Whole seconds, as STS issues them: the Expiration a client reads is the instant the
    // emulator stops accepting the credentials.
    let expiration = now.with_nanosecond(0).unwrap_or(now) + chrono::Duration::seconds(lifetime);
    let (account, role_name, session) = (req.account, req.role_name, req.session);
    let issued = Issued {
        role_arn: req.role_arn.to_string(),
        secret_access_key,
        session_token,
        expiration,
        assumed_role_arn: format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session}"),
        assumed_role_id: format!("{role_id}:{session}"),
        account: account.to_string(),
    };
    shared
        .lock()
        .issued
        .insert(access_key_id.clone(), issued.clone());
    (access_key_id, issued)
}

/// The `AssumeRoleWithWebIdentityResult` document for issued credentials.
pub(super) fn assume_role_result(
    shared: &Shared,
    req: &AssumeRoleRequest<'_>,
    client_id: &str,
    subject: &str,
    access_key_id: &str,
    issued: &Issued,
) -> Response {
    let provider = shared
        .issuer_url
        .split_once("://")
        .map_or(shared.issuer_url.as_str(), |(_, rest)| rest);
    let packed = packed_policy_size(req);
    let e = |s: &str| xml_escape(s);
    let inner = format!(
        "    <Audience>{}</Audience>\n    <AssumedRoleUser>\n      <AssumedRoleId>{}</AssumedRoleId>\n      <Arn>{}</Arn>\n    </AssumedRoleUser>\n    <Provider>{}</Provider>\n    <Credentials>\n      <AccessKeyId>{}</AccessKeyId>\n      <SecretAccessKey>{}</SecretAccessKey>\n      <SessionToken>{}</SessionToken>\n      <Expiration>{}</Expiration>\n    </Credentials>\n{packed}    <SubjectFromWebIdentityToken>{}</SubjectFromWebIdentityToken>\n",
        e(client_id),
        e(&issued.assumed_role_id),
        e(&issued.assumed_role_arn),
        e(provider),
        e(access_key_id),
        e(&issued.secret_access_key),
        e(&issued.session_token),
        format_time(issued.expiration),
        e(subject),
    );
    success_response("AssumeRoleWithWebIdentity", &inner)
}

/// The `AssumeRoleResult` document for a chained session.
pub(super) fn chained_result(
    req: &AssumeRoleRequest<'_>,
    access_key_id: &str,
    issued: &Issued,
) -> Response {
    let e = |s: &str| xml_escape(s);
    let source_identity = req.source_identity.map_or(String::new(), |s| {
        format!("    <SourceIdentity>{}</SourceIdentity>\n", e(s))
    });
    let inner = format!(
        "{source_identity}    <AssumedRoleUser>\n      <AssumedRoleId>{}</AssumedRoleId>\n      <Arn>{}</Arn>\n    </AssumedRoleUser>\n    <Credentials>\n      <AccessKeyId>{}</AccessKeyId>\n      <SecretAccessKey>{}</SecretAccessKey>\n      <SessionToken>{}</SessionToken>\n      <Expiration>{}</Expiration>\n    </Credentials>\n{}",
        e(&issued.assumed_role_id),
        e(&issued.assumed_role_arn),
        e(access_key_id),
        e(&issued.secret_access_key),
        e(&issued.session_token),
        format_time(issued.expiration),
        packed_policy_size(req),
    );
    success_response("AssumeRole", &inner)
}

/// The `<PackedPolicySize>` element (a rough percentage) when session policies or tags were
/// passed.
fn packed_policy_size(req: &AssumeRoleRequest<'_>) -> String {
    if req.policy.is_none() && req.policy_arns.is_empty() && req.tags.is_empty() {
        return String::new();
    }
    let tags: usize = req.tags.iter().map(|(k, v)| k.len() + v.len()).sum();
    let size = req.policy.map_or(0, str::len) + 64 * req.policy_arns.len() + tags;
    format!(
        "    <PackedPolicySize>{}</PackedPolicySize>\n",
        (size * 100 / 2048).clamp(1, 100)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
