//! `doctor` checks what the SDKs will run: when the active profile's `credential_process` runs
//! aws-ci-creds in credential mode, that line's options (as botocore splits it) are the base of
//! the settings, and options given to `doctor` itself replace them, as `setup` merges them. So a
//! profile with `--role-arn` and `--token-file` is checked with that role and that file, and its
//! exchange is tried.

use crate::cli::CredentialArgs;
use crate::env::Env;
use crate::profile_file::{self, ProfileFile};

/// The options of the active profile's aws-ci-creds line.
pub struct LineOptions {
    pub options: CredentialArgs,
    /// e.g. "[profile ci] line 3 of /home/ci/.aws/config".
    pub place: String,
}

/// The profile `--profile` (else `AWS_PROFILE`, else `default`) names, when its one
/// `credential_process` line runs aws-ci-creds in credential mode.
pub fn line_options(env: &Env, flag: Option<&str>) -> Option<LineOptions> {
    let (profile, _) = profile_file::active_profile(flag, env);
    let path = profile_file::config_path(env).ok()?;
    let text = std::fs::read_to_string(&path).ok()?;
    let file = ProfileFile::parse(&text);
    let sections = file.profile_sections(&profile);
    // Two sections, or two lines: the lint says which the SDKs refuse; nothing to run here.
    let [section] = sections.as_slice() else {
        return None;
    };
    let (line, options) = crate::commands::setup::current_options(&file, section)?;
    Some(LineOptions {
        options,
        place: format!(
            "{} line {} of {}",
            section.id.canonical_header(),
            line + 1,
            path.display()
        ),
    })
}
