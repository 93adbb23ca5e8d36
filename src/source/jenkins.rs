//! Jenkins (`JENKINS_URL` and `BUILD_ID`): the oidc-provider plugin's "OpenID Connect id token"
//! credential, bound with `withCredentials` as a variable (`--token-env NAME`) or a file
//! (`--token-file PATH`). Without either, the one variable holding a token issued by this Jenkins
//! (`iss` under `$JENKINS_URL`, `…/oidc` by default) is used. Each binding mints a new token.

use super::{Acquired, FileSource, SourceKind, TokenSource, VariableSource};
use crate::config::SourceSettings;
use crate::env::Env;
use crate::error::{Error, Message};
use crate::jwt::{Claims, decode_claims, looks_like_jwt};
use crate::session;

pub struct JenkinsSource {
    how: How,
    jenkins_url: String,
    job: Option<String>,
    build: Option<String>,
    audience: String,
}

enum How {
    Named(Box<dyn TokenSource>),
    Found(String, String),
    Missing(Vec<String>),
}

impl JenkinsSource {
    pub fn new(settings: &SourceSettings, env: &Env) -> Result<JenkinsSource, Error> {
        let jenkins_url = env
            .get("JENKINS_URL")
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string();
        let how = if settings.token_env.is_some() {
            How::Named(Box::new(VariableSource::new(settings, env)?))
        } else if settings.token_file.is_some() {
            How::Named(Box::new(FileSource::new(settings)?))
        } else {
            let found: Vec<(String, String)> = env
                .iter()
                .filter(|(_, v)| looks_like_jwt(v))
                .filter(|(_, v)| {
                    decode_claims(v.trim())
                        .ok()
                        .and_then(|c| c.iss)
                        .is_some_and(|iss| !jenkins_url.is_empty() && iss.starts_with(&jenkins_url))
                })
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            match found.as_slice() {
                [(n, v)] => How::Found(n.clone(), v.clone()),
                _ => How::Missing(found.into_iter().map(|(n, _)| n).collect()),
            }
        };
        Ok(JenkinsSource {
            how,
            jenkins_url,
            job: env
                .get("JOB_NAME")
                .or_else(|| env.get("JOB_BASE_NAME"))
                .map(str::to_string),
            build: env.get("BUILD_NUMBER").map(str::to_string),
            audience: settings.audience.value.clone(),
        })
    }

    fn snippet(&self) -> String {
        format!(
            "create a credential of kind \"OpenID Connect id token\" (oidc-provider plugin) with audience {aud}, then bind it in the Jenkinsfile:\n  withCredentials([string(credentialsId: 'aws-oidc', variable: 'AWS_ID_TOKEN')]) {{\n    sh 'aws sts get-caller-identity'   // credential_process: aws-ci-creds --token-env AWS_ID_TOKEN …\n  }}\n\
             (or bind \"OpenID Connect id token as file\" with file(credentialsId: …, variable: 'AWS_ID_TOKEN_FILE') and run the step as sh 'AWS_CI_CREDS_TOKEN_FILE=\"$AWS_ID_TOKEN_FILE\" aws sts get-caller-identity': a credential_process line does not expand variables)",
            aud = self.audience
        )
    }
}

pub fn session_name_from_env(env: &Env) -> Option<String> {
    let job = env.get("JOB_NAME").or_else(|| env.get("JOB_BASE_NAME"))?;
    let build = env.get("BUILD_NUMBER")?;
    Some(session::sanitize(&format!("jenkins-{job}-{build}")))
}

impl TokenSource for JenkinsSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Jenkins
    }

    fn describe(&self) -> String {
        match &self.how {
            How::Named(inner) => format!("Jenkins credential binding: {}", inner.describe()),
            How::Found(name, _) => format!(
                "Jenkins credential binding: variable {name} (its token was issued by {})",
                self.jenkins_url
            ),
            How::Missing(_) => "Jenkins oidc-provider credential binding".into(),
        }
    }

    fn acquire(&self) -> Result<Acquired, Error> {
        match &self.how {
            How::Named(inner) => inner.acquire().map_err(|e| match e {
                Error::Token(m) => Error::Token(Message {
                    fix: Some(format!(
                        "{}\n{}",
                        m.fix.clone().unwrap_or_default(),
                        self.snippet()
                    )),
                    ..m
                }),
                other => other,
            }),
            How::Found(name, value) => {
                super::variable::token_from_variable(name, Some(value), false, &self.snippet())
                    .map(Acquired::Local)
            }
            How::Missing(names) => {
                let mut m = Message::new(
                    "this Jenkins build has no OIDC token: no --token-env or --token-file was given",
                );
                m = match names.as_slice() {
                    [] => m.detail(format!(
                        "no variable holds a token issued by this Jenkins ({})",
                        if self.jenkins_url.is_empty() { "JENKINS_URL is empty" } else { &self.jenkins_url }
                    )),
                    many => m.detail(format!(
                        "several variables hold tokens from this Jenkins: {}; name one with --token-env",
                        many.join(", ")
                    )),
                };
                Err(Error::Token(m.fix(self.snippet())))
            }
        }
    }

    fn session_name(&self, _claims: Option<&Claims>) -> Option<String> {
        let job = self.job.as_deref()?;
        let build = self.build.as_deref()?;
        Some(session::sanitize(&format!("jenkins-{job}-{build}")))
    }

    fn audience_fix(&self) -> &'static str {
        "the audience of the Jenkins OpenID Connect id token credential"
    }

    fn expired_fix(&self) -> String {
        "each withCredentials binding mints a new token: bind the credential around the step that needs AWS, and give the credential a longer lifetime if the step runs long".into()
    }
}
