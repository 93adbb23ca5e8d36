//! Role session names: STS's rule (`[\w+=,.@-]`, 2 to 64 characters) and the sanitising that
//! makes any job identifier fit it, so CloudTrail shows which job acted.

const MAX: usize = 64;

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// Checks a name the user gave; the error says what is wrong with it.
pub fn validate(name: &str) -> Result<(), String> {
    if let Some(bad) = name.chars().find(|c| !allowed(*c)) {
        return Err(format!(
            "contains {bad:?}, which STS does not allow in a session name"
        ));
    }
    match name.len() {
        0..=1 => Err("is shorter than the 2 characters STS requires".into()),
        n if n > MAX => Err(format!("is {n} characters; STS allows at most {MAX}")),
        _ => Ok(()),
    }
}

/// Makes any string a valid session name: disallowed characters become `-`, runs of them
/// collapse, the result is cut to 64 characters (never ending in a cut-off `-`) and padded to 2.
/// Sanitizing a sanitized name changes nothing.
pub fn sanitize(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len().min(MAX));
    for c in raw.chars() {
        let c = if allowed(c) { c } else { '-' };
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    let cut: String = out.trim_start_matches('-').chars().take(MAX).collect();
    let mut out = cut.trim_end_matches('-').to_string();
    while out.len() < 2 {
        out.push('-');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_follows_sts_rule() {
        assert!(validate("gl-123-456").is_ok());
        assert!(validate("a_b+c=d,e.f@g-h").is_ok());
        assert!(validate("x").unwrap_err().contains("shorter"));
        assert!(validate("has space").unwrap_err().contains("' '"));
        assert!(validate(&"a".repeat(65)).unwrap_err().contains("65"));
    }

    #[test]
    fn sanitized_names_always_validate() {
        for raw in [
            "feature/ünïcode branch",
            "",
            "x",
            "a//b",
            &"é".repeat(100),
            "ok-name",
        ] {
            let s = sanitize(raw);
            assert!(validate(&s).is_ok(), "{raw:?} -> {s:?}");
        }
        assert_eq!(sanitize("feature/my branch"), "feature-my-branch");
        assert_eq!(sanitize("ok-name"), "ok-name");
        assert_eq!(sanitize(&"a".repeat(80)).len(), 64);
    }

    /// Found by the `settings` fuzz target: a name cut at 64 characters right after a replaced
    /// character ended in `-`, and sanitizing it again changed it.
    #[test]
    fn sanitizing_is_idempotent_and_never_leaves_a_cut_off_dash() {
        let raw = format!("{}/b", "a".repeat(63));
        let once = sanitize(&raw);
        assert_eq!(once, "a".repeat(63));
        assert_eq!(sanitize(&once), once);
        for raw in ["322-", "a-", "-", "a", "x/y/", &"é".repeat(70)] {
            let once = sanitize(raw);
            assert!(validate(&once).is_ok(), "{raw:?} -> {once:?}");
            assert_eq!(sanitize(&once), once, "{raw:?}");
        }
    }
}
