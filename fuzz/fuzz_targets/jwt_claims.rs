//! JWT claims decoding: `jwt::decode_claims` and `Token::parse` on arbitrary text, and everything
//! the tool derives from the claims afterwards (expiry, display, session names, fingerprints).
//! Invariants: no panic; an error never quotes the input; a parsed token keeps the trimmed text.
#![no_main]

use aws_ci_creds::testing::jwt::{self, Token};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = jwt::looks_like_jwt(text);
    match Token::parse(text) {
        Ok(token) => {
            assert_eq!(token.secret.expose(), text.trim());
            let c = &token.claims;
            let _ = c.expires_at();
            let _ = c.issued_at();
            let _ = c.aud_display();
            let _ = c.text("job_id");
            let _ = token.fingerprint();
            let _ = aws_ci_creds::testing::source::session_name_from_claims(c);
            let now = chrono::Utc::now();
            let _ = aws_ci_creds::testing::source::fallback_session_name(Some(c), now);
            let _ = aws_ci_creds::testing::sts::human_duration(c.exp.unwrap_or_default());
            if let Some(exp) = c.expires_at() {
                let _ = aws_ci_creds::testing::sts::human_duration((now - exp).num_seconds());
            }
        }
        Err(e) => {
            // The message is about the token, never of it (no message template has `eyJ`, the
            // start of every JWT header).
            let shown = e.to_string();
            let trimmed = text.trim();
            if trimmed.len() >= 8 && trimmed.starts_with("eyJ") {
                assert!(!shown.contains(trimmed), "error quotes the token: {shown}");
            }
        }
    }
});
