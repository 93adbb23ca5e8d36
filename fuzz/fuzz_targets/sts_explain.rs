//! The STS answer handling the tool does itself (aws-sdk-sts parses the XML): whether a failure is
//! retried, and `sts::explain`, which turns any error code and message STS (or a proxy posing as
//! it) sends, with any token claims, into the user's message. Also `issuer_key` and
//! `human_duration`. Invariant: no panic, whatever the strings.
#![no_main]

use aws_ci_creds::testing::config::RoleArn;
use aws_ci_creds::testing::error::Error;
use aws_ci_creds::testing::jwt::{Claims, Token};
use aws_ci_creds::testing::source::{Acquired, SourceKind, TokenSource};
use aws_ci_creds::testing::sts::{self, AssumeRequest, StsFailure};
use libfuzzer_sys::fuzz_target;

struct Fixed(SourceKind);

impl TokenSource for Fixed {
    fn kind(&self) -> SourceKind {
        self.0
    }
    fn describe(&self) -> String {
        "a fuzzed source".into()
    }
    fn acquire(&self) -> Result<Acquired, Error> {
        Err(Error::token("none", "none"))
    }
    fn session_name(&self, _: Option<&Claims>) -> Option<String> {
        None
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 10 {
        return;
    }
    let status = u16::from_le_bytes([data[0], data[1]]);
    let kind = SourceKind::ALL[usize::from(data[2]) % SourceKind::ALL.len()];
    let duration = u32::from_le_bytes([data[3], data[4], data[5], data[6]]);
    let exp = i64::from_le_bytes([data[7], data[8], data[9], 0, 0, 0, 0, 0]) << (data[9] % 48);
    let text = String::from_utf8_lossy(&data[10..]);
    // Fields separated by NUL: code, message, iss, sub, aud…, the role ARN.
    let mut fields = text.split('\0');
    let mut next = || fields.next().unwrap_or("").to_string();
    let (code, message, iss, sub, aud, role) = (next(), next(), next(), next(), next(), next());

    let role = RoleArn::parse(&role).unwrap_or_else(|_| {
        RoleArn::parse("arn:aws:iam::123456789012:role/deploy").expect("a valid ARN")
    });
    let request = AssumeRequest {
        role,
        session_name: sub.clone(),
        duration_seconds: duration,
        policy: None,
        policy_arns: Vec::new(),
        endpoint: iss.clone(),
        region: aud.clone(),
    };
    let claims = Claims {
        iss: (!iss.is_empty()).then(|| iss.clone()),
        sub: (!sub.is_empty()).then_some(sub),
        aud: aud.split(',').map(str::to_string).collect(),
        exp: Some(exp),
        iat: None,
        nbf: None,
        other: Default::default(),
    };
    let failure = StsFailure::Service {
        code: code.clone(),
        message: message.clone(),
        status,
    };
    let _ = failure.retryable();
    let error = sts::explain(
        failure,
        &request,
        &claims,
        &Fixed(kind),
        "sts.amazonaws.com",
    );
    let _ = error.to_string();
    let _ = error.exit_code();
    let transport = StsFailure::Transport {
        what: message,
        cause: None,
    };
    let _ = sts::explain(transport, &request, &claims, &Fixed(kind), &code).to_string();
    let _ = sts::issuer_key(&iss);
    let _ = sts::human_duration(exp);
    let _ = sts::human_duration(exp.wrapping_neg());
    let _ = sts::human_duration(i64::from_le_bytes(data[..8].try_into().unwrap()));
    let _ = sts::check_not_expired(&claims, chrono::Utc::now(), &Fixed(kind));
    let _ = Token::parse(&code);
});
