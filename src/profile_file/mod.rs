//! The shared AWS config file ("profile file"), read the way the SDKs read it and edited without
//! touching a byte that does not have to change.
//!
//! [`ProfileFile`] keeps every line with its exact bytes (line ending included) and classifies it
//! with the SDK profile-file rules that aws-sdk-rust implements (`aws-runtime`'s `env_config`): a
//! line starting with `[` is a section header, one starting with a space or a tab continues the
//! property above it, `#`/`;` at the start is a comment. A header's comment (`[profile ci] ; x`)
//! is cut at the first `#` or `;`, whitespace inside the brackets and between `profile` and the
//! name is insignificant, `[profileci]` names nothing and `[profile default]` beats `[default]`.
//! botocore reads fewer shapes as a profile (`[ profile ci ]` is not one for it) and refuses a
//! whole file with two headers of the same name, which is why `setup` writes canonical headers
//! and never a second section.

pub mod command_line;
pub mod edit;
pub mod lint;
pub mod write;

use std::path::PathBuf;

use crate::env::Env;
use crate::error::Error;

/// Whitespace as the profile-file rules count it (not Unicode whitespace).
const WHITESPACE: &[char] = &[' ', '\t'];
const COMMENT: &[char] = &['#', ';'];

/// What a section header names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionId {
    /// `[default]`.
    Default,
    /// `[profile NAME]` (`[profile default]` included).
    Profile(String),
    /// `[sso-session x]`, `[services x]`, `[profileci]`, anything else: never a profile.
    Other(String),
}

impl SectionId {
    /// The profile this section defines, if any.
    pub fn profile(&self) -> Option<&str> {
        match self {
            SectionId::Default => Some("default"),
            SectionId::Profile(name) => Some(name),
            SectionId::Other(_) => None,
        }
    }

    /// The header as `setup` writes it.
    pub fn canonical_header(&self) -> String {
        match self {
            SectionId::Default => "[default]".into(),
            SectionId::Profile(name) => format!("[profile {name}]"),
            SectionId::Other(raw) => format!("[{raw}]"),
        }
    }
}

/// One line and what the SDKs make of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Blank,
    Comment,
    /// A section header. `comment` is what follows the closing `]` (kept when the header is
    /// rewritten); `canonical` is false when the header is not byte-for-byte `[profile NAME]`.
    Header {
        id: SectionId,
        comment: String,
        canonical: bool,
    },
    /// `key = value`: the key lower-cased (as every SDK compares keys), the raw value after `=`.
    Property {
        key: String,
        value: String,
    },
    /// An indented line: a continuation of the value above, or a sub-property (`s3 =` block).
    Continuation,
    /// Anything the SDKs reject (a header without `]`, a line without `=`).
    Invalid,
}

#[derive(Debug, Clone)]
pub struct Line {
    /// The exact bytes, line ending included.
    pub raw: String,
    pub kind: Kind,
}

impl Line {
    /// The text without its line ending.
    pub fn content(&self) -> &str {
        self.raw
            .strip_suffix('\n')
            .map(|s| s.strip_suffix('\r').unwrap_or(s))
            .unwrap_or(&self.raw)
    }

    /// The line ending (`\r\n`, `\n`, or none on a last line without one).
    pub fn ending(&self) -> &str {
        &self.raw[self.content().len()..]
    }
}

/// A section: its header line and the lines up to the next header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub id: SectionId,
    /// Index of the header line.
    pub header: usize,
    /// One past the last line of the section.
    pub end: usize,
}

#[derive(Debug, Clone)]
pub struct ProfileFile {
    pub lines: Vec<Line>,
}

impl ProfileFile {
    pub fn parse(text: &str) -> ProfileFile {
        ProfileFile {
            lines: text
                .split_inclusive('\n')
                .map(|raw| {
                    let mut line = Line {
                        raw: raw.to_string(),
                        kind: Kind::Blank,
                    };
                    line.kind = classify(line.content());
                    line
                })
                .collect(),
        }
    }

    #[cfg(test)]
    pub fn text(&self) -> String {
        self.lines.iter().map(|l| l.raw.as_str()).collect()
    }

    /// The file's line ending: CRLF when any line uses it, else LF.
    pub fn newline(&self) -> &'static str {
        if self.lines.iter().any(|l| l.raw.ends_with("\r\n")) {
            "\r\n"
        } else {
            "\n"
        }
    }

    pub fn sections(&self) -> Vec<Section> {
        let starts: Vec<(usize, SectionId)> = self
            .lines
            .iter()
            .enumerate()
            .filter_map(|(i, l)| match &l.kind {
                Kind::Header { id, .. } => Some((i, id.clone())),
                _ => None,
            })
            .collect();
        starts
            .iter()
            .enumerate()
            .map(|(n, (header, id))| Section {
                id: id.clone(),
                header: *header,
                end: starts.get(n + 1).map_or(self.lines.len(), |(i, _)| *i),
            })
            .collect()
    }

    /// Every section the SDKs read as this profile, in file order. More than one means the file
    /// is ambiguous: botocore refuses duplicate headers outright, and for `default` it takes the
    /// last of `[default]`/`[profile default]` where the other SDKs take `[profile default]`.
    pub fn profile_sections(&self, profile: &str) -> Vec<Section> {
        self.sections()
            .into_iter()
            .filter(|s| s.id.profile() == Some(profile))
            .collect()
    }

    /// The property lines of a section (index, key, value), continuations not included.
    pub fn properties(&self, section: &Section) -> Vec<(usize, &str, &str)> {
        (section.header + 1..section.end)
            .filter_map(|i| match &self.lines[i].kind {
                Kind::Property { key, value } => Some((i, key.as_str(), value.as_str())),
                _ => None,
            })
            .collect()
    }

    /// The continuation lines that belong to the property on line `i`.
    pub fn continuation_of(&self, i: usize, section: &Section) -> std::ops::Range<usize> {
        let mut end = i + 1;
        while end < section.end
            && matches!(
                self.lines[end].kind,
                Kind::Continuation | Kind::Blank | Kind::Comment
            )
        {
            end += 1;
        }
        // Blank and comment lines only count when a continuation follows them.
        while end > i + 1 && !matches!(self.lines[end - 1].kind, Kind::Continuation) {
            end -= 1;
        }
        i + 1..end
    }
}

fn classify(line: &str) -> Kind {
    if line.trim_matches(WHITESPACE).is_empty() {
        return Kind::Blank;
    }
    if line.starts_with(COMMENT) {
        return Kind::Comment;
    }
    if line.starts_with('[') {
        return header(line);
    }
    if line.starts_with(WHITESPACE) {
        return Kind::Continuation;
    }
    match line.split_once('=') {
        Some((k, v)) if !k.trim_matches(WHITESPACE).is_empty() => Kind::Property {
            key: k.trim_matches(WHITESPACE).to_ascii_lowercase(),
            value: v.trim_matches(WHITESPACE).to_string(),
        },
        _ => Kind::Invalid,
    }
}

/// A header, cut at its first `#` or `;` (section lines need no space before a comment).
fn header(line: &str) -> Kind {
    let cut = line.find(COMMENT).unwrap_or(line.len());
    let (head, comment) = line.split_at(cut);
    let head_trimmed = head.trim_end_matches(WHITESPACE);
    let Some(inner) = head_trimmed
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
    else {
        return Kind::Invalid;
    };
    let inner_trimmed = inner.trim_matches(WHITESPACE);
    let id = match inner_trimmed.split_once(WHITESPACE) {
        Some(("profile", name)) => SectionId::Profile(name.trim_matches(WHITESPACE).to_string()),
        Some(_) => SectionId::Other(inner_trimmed.to_string()),
        None if inner_trimmed == "default" => SectionId::Default,
        None => SectionId::Other(inner_trimmed.to_string()),
    };
    let canonical = head_trimmed == id.canonical_header();
    Kind::Header {
        id,
        comment: line[head_trimmed.len()..cut].to_string() + comment,
        canonical,
    }
}

/// Why a key in a profile stops the SDKs from running `credential_process`, if it does.
pub fn conflict_reason(key: &str) -> Option<&'static str> {
    match key {
        "role_arn" | "web_identity_token_file" => Some(
            "with role_arn and web_identity_token_file the SDKs assume the role themselves and never run credential_process",
        ),
        "source_profile" | "credential_source" => Some(
            "with source_profile or credential_source the SDKs assume a role from other credentials instead of running credential_process",
        ),
        "aws_access_key_id" | "aws_secret_access_key" | "aws_session_token" => {
            Some("static keys in the profile are used instead of credential_process")
        }
        k if k.starts_with("sso_") => {
            Some("sso_* keys make the SDKs use IAM Identity Center instead of credential_process")
        }
        _ => None,
    }
}

/// A value without a trailing ` # comment` / ` ; comment`, as aws-sdk-rust and the JS SDK read it
/// (botocore keeps it; the comment is never meant as part of an ARN or a path).
pub fn without_comment(value: &str) -> &str {
    let mut prev_ws = false;
    for (i, c) in value.char_indices() {
        if COMMENT.contains(&c) && prev_ws {
            return value[..i].trim_matches(WHITESPACE);
        }
        prev_ws = c == ' ' || c == '\t';
    }
    value.trim_matches(WHITESPACE)
}

/// A key that takes precedence over `credential_process`, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Index of the property line.
    pub line: usize,
    pub key: String,
    pub value: String,
}

impl Conflict {
    /// `line N: key (why)`, never the value (it may be a secret key).
    pub fn describe(&self) -> String {
        format!(
            "line {}: {} ({})",
            self.line + 1,
            self.key,
            conflict_reason(&self.key).unwrap_or("")
        )
    }
}

impl ProfileFile {
    /// The keys of this section that make the SDKs bypass `credential_process`.
    pub fn conflicts(&self, section: &Section) -> Vec<Conflict> {
        self.properties(section)
            .into_iter()
            .filter(|(_, k, _)| conflict_reason(k).is_some())
            .map(|(line, key, value)| Conflict {
                line,
                key: key.to_string(),
                value: value.to_string(),
            })
            .collect()
    }
}

/// A profile name the SDKs accept (aws-sdk-rust ignores any other).
pub fn valid_profile_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-/.%@:+".contains(c))
}

/// `AWS_CONFIG_FILE` (`~` expanded, as the SDKs do), else `~/.aws/config`.
pub fn config_path(env: &Env) -> Result<PathBuf, Error> {
    let home = env
        .get_os(crate::sys::env::HOME)
        .or_else(|| env.get_os("USERPROFILE"))
        .map(PathBuf::from);
    if let Some(file) = env.get_os("AWS_CONFIG_FILE") {
        return expand_home(PathBuf::from(file), home.as_deref(), "AWS_CONFIG_FILE");
    }
    match home {
        Some(home) => Ok(home.join(".aws").join("config")),
        None => Err(Error::usage(
            "no home directory (HOME is not set), so there is no ~/.aws/config",
            "set AWS_CONFIG_FILE to the config file to use",
        )),
    }
}

/// `~` and `~/x` become the home directory; anything else is returned as given.
pub fn expand_home(
    path: PathBuf,
    home: Option<&std::path::Path>,
    what: &str,
) -> Result<PathBuf, Error> {
    match path.strip_prefix("~") {
        Ok(rest) => match home {
            Some(home) => Ok(home.join(rest)),
            None => Err(Error::usage(
                format!(
                    "{what} is {} but HOME is not set, so `~` cannot be expanded",
                    path.display()
                ),
                "use an absolute path",
            )),
        },
        Err(_) => Ok(path),
    }
}

/// The profile the SDKs use: `--profile`, then `AWS_PROFILE`, then `default`.
pub fn active_profile(flag: Option<&str>, env: &Env) -> (String, &'static str) {
    match (flag, env.get("AWS_PROFILE")) {
        (Some(p), _) => (p.to_string(), "--profile"),
        (None, Some(p)) => (p.to_string(), "AWS_PROFILE"),
        (None, None) => ("default".to_string(), "the default"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(line: &str) -> Option<SectionId> {
        match classify(line) {
            Kind::Header { id, .. } => Some(id),
            _ => None,
        }
    }

    #[test]
    fn headers_resolve_as_the_sdks_resolve_them() {
        let ci = Some(SectionId::Profile("ci".into()));
        for h in [
            "[profile ci]",
            "[ profile ci ]",
            "[   profile ci    ]",
            "[profile\tci]",
            "[profile   ci]",
            "[profile ci] ; keep",
            "[profile ci] # keep",
            "[profile ci];keep",
            "[profile ci]   ",
        ] {
            assert_eq!(id(h), ci, "{h}");
        }
        assert_eq!(id("[default]"), Some(SectionId::Default));
        assert_eq!(id("[ default ] # x"), Some(SectionId::Default));
        assert_eq!(
            id("[profile default]"),
            Some(SectionId::Profile("default".into()))
        );
        for (h, p) in [
            ("[sso-session ci]", None),
            ("[services ci]", None),
            ("[profileci]", None),
            ("[Profile ci]", None),
            ("[profile ci-prod]", Some("ci-prod")),
        ] {
            assert_eq!(id(h).unwrap().profile(), p, "{h}");
        }
        assert_eq!(classify("[profile ci"), Kind::Invalid);
        assert_eq!(classify("  [profile ci]"), Kind::Continuation);
    }

    #[test]
    fn only_the_exact_canonical_header_counts_as_canonical() {
        let canonical = |l: &str| {
            matches!(
                classify(l),
                Kind::Header {
                    canonical: true,
                    ..
                }
            )
        };
        assert!(canonical("[profile ci]"));
        assert!(canonical("[profile ci] ; keep"));
        assert!(canonical("[default]"));
        assert!(!canonical("[ profile ci ]"));
        assert!(!canonical("[profile  ci]"));
        assert!(!canonical("[profile\tci]"));
    }

    #[test]
    fn lines_keep_their_bytes_and_endings() {
        let text = "[profile ci]\r\nregion = x\r\n  s3 =\nlast";
        let f = ProfileFile::parse(text);
        assert_eq!(f.text(), text);
        assert_eq!(f.lines[0].ending(), "\r\n");
        assert_eq!(f.lines[3].ending(), "");
        assert_eq!(f.lines[1].content(), "region = x");
        assert_eq!(f.newline(), "\r\n");
    }

    #[test]
    fn a_trailing_comment_is_not_part_of_a_value() {
        assert_eq!(
            without_comment("arn:aws:iam::1:role/x # prod"),
            "arn:aws:iam::1:role/x"
        );
        assert_eq!(without_comment("/tmp/a#b ;x"), "/tmp/a#b");
    }

    #[test]
    fn keys_are_compared_in_lower_case() {
        assert_eq!(
            classify("Credential_Process = a b"),
            Kind::Property {
                key: "credential_process".into(),
                value: "a b".into()
            }
        );
    }

    /// The region aws-sdk-rust's own profile parser resolves for `profile` in `text`.
    fn sdk_region(text: &str, profile: &str) -> Option<String> {
        use aws_config::meta::region::ProvideRegion;
        use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
        let files = EnvConfigFiles::builder()
            .include_default_config_file(false)
            .include_default_credentials_file(false)
            .with_contents(EnvConfigFileKind::Config, text)
            .build();
        #[allow(deprecated)]
        let provider = aws_config::profile::ProfileFileRegionProvider::builder()
            .profile_files(files)
            .profile_name(profile)
            .build();
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(provider.region())
            .map(|r| r.to_string())
    }

    #[test]
    fn section_lookup_matches_aws_sdk_rusts_parser() {
        let headers = [
            "[profile ci]",
            "[ profile ci ]",
            "[   profile ci    ]",
            "[profile\tci]",
            "[profile ci] ; keep",
            "[profile ci] # keep",
            "[profile ci];x",
            "[sso-session ci]",
            "[services ci]",
            "[profileci]",
            "[profile ci-prod]",
            "[ci]",
            "[Profile ci]",
            "[default]",
            "[ default ]",
            "[profile default]",
        ];
        for profile in ["ci", "default", "ci-prod"] {
            for h in headers {
                let text = format!("[profile other]\nregion = r0\n{h}\nregion = r1\n");
                let ours = ProfileFile::parse(&text).profile_sections(profile);
                let sdk = sdk_region(&text, profile);
                assert_eq!(
                    ours.len() == 1,
                    sdk.as_deref() == Some("r1"),
                    "{h:?} as profile {profile}: ours {ours:?}, sdk {sdk:?}"
                );
            }
        }
        // Both default sections: the SDK takes [profile default]; setup sees both and refuses.
        let both = "[profile default]\nregion = r1\n[default]\nregion = r2\n";
        assert_eq!(sdk_region(both, "default").as_deref(), Some("r1"));
        assert_eq!(
            ProfileFile::parse(both).profile_sections("default").len(),
            2
        );
    }
}
