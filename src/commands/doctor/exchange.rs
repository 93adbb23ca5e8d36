//! The exchange itself, then `GetCallerIdentity` signed with what it returned.

use std::time::Instant;

use crate::config::{Config, RoleArn};
use crate::context::Ctx;
use crate::credentials::Credentials;
use crate::flow;
use crate::jwt::Token;
use crate::source::TokenSource;
use crate::sts::human_duration;

use super::trust::trust_hints;
use super::{CheckId, Doctor, Status, rfc3339};

/// The exchange, then GetCallerIdentity with the new credentials. Returns the assumed-role ARN.
pub(super) fn exchange_checks(
    d: &mut Doctor<'_>,
    cfg: &Config,
    role: RoleArn,
    source: &dyn TokenSource,
    token: Token,
    started: Instant,
) -> Option<String> {
    let ctx = d.ctx;
    let claims = token.claims.clone();
    let session_name = flow::session_name(ctx, cfg, source, Some(&claims));
    let request = match flow::assume_request(cfg, role.clone(), session_name) {
        Ok(request) => request,
        Err(e) => {
            d.fail_with(CheckId::Exchange, &e);
            return None;
        }
    };
    let creds = match flow::exchange(ctx, cfg, source, Some(token), &request, started) {
        Ok((creds, _)) => creds,
        Err(e) => {
            let denied = e.sts_code() == Some("AccessDenied");
            let check = d.fail_with(CheckId::Exchange, &e);
            if denied {
                check.trust_policy = Some(trust_hints(&claims, &role, cfg));
            }
            return None;
        }
    };
    d.add(
        CheckId::Exchange,
        Status::Pass,
        format!(
            "AssumeRoleWithWebIdentity: assumed {} until {} (session {})",
            creds.assumed_role_arn,
            rfc3339(creds.expiration),
            request.session_name
        ),
    );
    match caller_identity(ctx, cfg, &request.endpoint, &creds) {
        Ok(arn) => {
            d.add(
                CheckId::CallerIdentity,
                Status::Pass,
                format!("GetCallerIdentity with the new credentials: {arn}"),
            );
        }
        Err(problem) => {
            let check = d.add(
                CheckId::CallerIdentity,
                Status::Fail,
                format!("GetCallerIdentity with the new credentials failed: {problem}"),
            );
            check.details.push(format!(
                "the credentials were issued but {} did not accept them; check --sts-endpoint and --region",
                request.endpoint
            ));
        }
    }
    if !cfg.chain.roles().is_empty() {
        let first = (&role, creds.clone());
        super::chain::chain_checks(d, cfg, source, first, &request.session_name, started);
    }
    Some(creds.assumed_role_arn)
}

/// STS `GetCallerIdentity`, signed (SigV4) with the new credentials, at the same endpoint.
pub(super) fn caller_identity(
    ctx: &Ctx,
    cfg: &Config,
    endpoint: &str,
    creds: &Credentials,
) -> Result<String, String> {
    use aws_sdk_sts::config::{BehaviorVersion, Region, retry::RetryConfig};
    use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
    let static_creds = aws_sdk_sts::config::Credentials::new(
        creds.access_key_id.expose(),
        creds.secret_access_key.expose(),
        Some(creds.session_token.expose().clone()),
        Some(creds.expiration.into()),
        "aws-ci-creds",
    );
    // The same proxy and trust roots as the exchange that just passed.
    let http = cfg
        .network
        .connection(&ctx.env)
        .and_then(crate::net::SdkHttpClient::new)
        .map_err(|e| e.message().what.clone())?;
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(cfg.network.region.value.clone()))
        .endpoint_url(endpoint)
        .http_client(http)
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .credentials_provider(static_creds)
        .build();
    let client = aws_sdk_sts::Client::from_conf(config);
    let runtime = flow::runtime().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        match tokio::time::timeout(
            cfg.network.timeout.value,
            client.get_caller_identity().send(),
        )
        .await
        {
            Err(_) => Err(format!(
                "no answer within --timeout ({})",
                human_duration(cfg.network.timeout.value.as_secs() as i64)
            )),
            Ok(Ok(out)) => Ok(out.arn().unwrap_or("(no ARN in the answer)").to_string()),
            Ok(Err(SdkError::ServiceError(e))) => Err(format!(
                "{}: {}",
                e.err().code().unwrap_or("error"),
                e.err().message().unwrap_or("")
            )),
            Ok(Err(SdkError::DispatchFailure(_) | SdkError::TimeoutError(_))) => {
                Err(format!("could not reach {endpoint}"))
            }
            Ok(Err(_)) => Err("STS's answer could not be read".into()),
        }
    })
}
