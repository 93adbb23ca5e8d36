//! The real [`Exchange`]: aws-sdk-sts with our connector, no credentials provider and no SDK
//! retries, and the mapping of the SDK's errors onto [`StsFailure`].

use std::time::Duration;

use chrono::DateTime;

use super::{AssumeRequest, ChainedRequest, Exchange, StsFailure};
use crate::credentials::Credentials;
use crate::error::BoxError;
use crate::jwt::Token;
use crate::secret::Secret;
use crate::source::BoxFuture;

/// The real exchange, through aws-sdk-sts.
pub struct SdkExchange {
    client: aws_sdk_sts::Client,
}

/// The SDK's answer to either request, reduced to what both carry.
fn credentials_of(
    creds: Option<&aws_sdk_sts::types::Credentials>,
    assumed_role_arn: String,
) -> Result<Credentials, StsFailure> {
    let creds = creds.ok_or_else(|| StsFailure::Transport {
        what: "STS answered without credentials".into(),
        cause: None,
    })?;
    let expiration = DateTime::from_timestamp(creds.expiration().secs(), 0).ok_or_else(|| {
        StsFailure::Transport {
            what: "STS answered with an unreadable expiration".into(),
            cause: None,
        }
    })?;
    Ok(Credentials {
        access_key_id: Secret::new(creds.access_key_id().to_string()),
        secret_access_key: Secret::new(creds.secret_access_key().to_string()),
        session_token: Secret::new(creds.session_token().to_string()),
        expiration,
        assumed_role_arn,
    })
}

impl SdkExchange {
    /// `http` is the shared connector ([`crate::net`]): the proxy and trust roots of this run.
    pub fn new(endpoint: &str, region: &str, http: crate::net::SdkHttpClient) -> SdkExchange {
        use aws_sdk_sts::config::{
            BehaviorVersion, Region, retry::RetryConfig, timeout::TimeoutConfig,
        };
        let config = aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .endpoint_url(endpoint)
            .http_client(http)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .build(),
            )
            .build();
        SdkExchange {
            client: aws_sdk_sts::Client::from_conf(config),
        }
    }
}

impl Exchange for SdkExchange {
    fn assume<'a>(
        &'a self,
        request: &'a AssumeRequest,
        token: &'a Token,
    ) -> BoxFuture<'a, Result<Credentials, StsFailure>> {
        Box::pin(async move {
            let mut call = self
                .client
                .assume_role_with_web_identity()
                .role_arn(&request.role.arn)
                .role_session_name(&request.session_name)
                .web_identity_token(token.secret.expose())
                .duration_seconds(request.duration_seconds as i32);
            if let Some(policy) = &request.policy {
                call = call.policy(policy);
            }
            for arn in &request.policy_arns {
                call = call.policy_arns(
                    aws_sdk_sts::types::PolicyDescriptorType::builder()
                        .arn(arn)
                        .build(),
                );
            }
            let output = call.send().await.map_err(classify)?;
            let arn = output.assumed_role_user().map(|u| u.arn().to_string());
            credentials_of(output.credentials(), arn.unwrap_or_default())
        })
    }

    fn assume_role<'a>(
        &'a self,
        request: &'a ChainedRequest,
        previous: &'a Credentials,
    ) -> BoxFuture<'a, Result<Credentials, StsFailure>> {
        Box::pin(async move {
            // The previous hop's session signs this one call only: the client itself keeps no
            // credentials provider, so nothing else can ever be signed (or re-enter this tool).
            let signer = aws_sdk_sts::config::Credentials::new(
                previous.access_key_id.expose(),
                previous.secret_access_key.expose(),
                Some(previous.session_token.expose().clone()),
                None,
                "aws-ci-creds previous hop",
            );
            let mut call = self
                .client
                .assume_role()
                .role_arn(&request.role.arn)
                .role_session_name(&request.session_name)
                .duration_seconds(request.duration_seconds as i32);
            if let Some(id) = &request.external_id {
                call = call.external_id(id);
            }
            for (key, value) in &request.tags {
                let tag = aws_sdk_sts::types::Tag::builder()
                    .key(key)
                    .value(value)
                    .build();
                let tag = tag.map_err(|e| StsFailure::Transport {
                    what: format!("session tag {key} could not be built: {e}"),
                    cause: None,
                })?;
                call = call.tags(tag);
            }
            for key in &request.transitive_tag_keys {
                call = call.transitive_tag_keys(key);
            }
            if let Some(identity) = &request.source_identity {
                call = call.source_identity(identity);
            }
            let output = call
                .customize()
                .config_override(
                    aws_sdk_sts::config::Builder::default().credentials_provider(signer),
                )
                .send()
                .await
                .map_err(classify)?;
            let arn = output.assumed_role_user().map(|u| u.arn().to_string());
            credentials_of(output.credentials(), arn.unwrap_or_default())
        })
    }
}

type SdkError<E> = aws_sdk_sts::error::SdkError<E, aws_sdk_sts::config::http::HttpResponse>;

fn classify<E>(err: SdkError<E>) -> StsFailure
where
    E: aws_sdk_sts::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    use aws_sdk_sts::error::SdkError;
    match err {
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let e = ctx.err();
            match e.code() {
                Some(code) => StsFailure::Service {
                    code: code.to_string(),
                    message: e.message().unwrap_or_default().to_string(),
                    status,
                },
                None if (200..300).contains(&status) => StsFailure::Transport {
                    what: format!("STS answered HTTP {status} with a body that is not STS's XML"),
                    cause: None,
                },
                None => StsFailure::Transport {
                    what: format!("STS answered HTTP {status} without a readable error"),
                    cause: None,
                },
            }
        }
        SdkError::TimeoutError(_) => StsFailure::Transport {
            what: "STS did not answer in time".into(),
            cause: None,
        },
        SdkError::DispatchFailure(d) => {
            let chain = d
                .as_connector_error()
                .and_then(|c| std::error::Error::source(c));
            if let Some(cert) =
                chain.and_then(crate::net::client::find_in_chain::<crate::net::CertificateError>)
            {
                return StsFailure::Transport {
                    what: cert.to_string(),
                    cause: Some(Box::new(cert.clone())),
                };
            }
            if let Some(proxy) = chain
                .and_then(crate::net::client::find_in_chain::<crate::net::client::ProxyFailure>)
            {
                return StsFailure::Transport {
                    what: proxy.what.clone(),
                    cause: None,
                };
            }
            let what = if d.is_timeout() {
                "timed out connecting to STS"
            } else if d.is_io() {
                "could not connect to STS"
            } else {
                "could not send the request to STS"
            };
            StsFailure::Transport {
                what: what.into(),
                cause: d
                    .as_connector_error()
                    .map(|c| Box::new(std::io::Error::other(c.to_string())) as BoxError),
            }
        }
        SdkError::ResponseError(r) => StsFailure::Transport {
            what: format!(
                "STS's answer could not be read (HTTP {})",
                r.raw().status().as_u16()
            ),
            cause: None,
        },
        other => StsFailure::Transport {
            what: format!(
                "the STS request failed: {}",
                aws_sdk_sts::error::DisplayErrorContext(&other)
            ),
            cause: None,
        },
    }
}
