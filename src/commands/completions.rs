//! `aws-ci-creds completions SHELL`: shell completions generated from the clap definitions, so
//! they never drift from the flags. The man page is generated from the same definitions by a test
//! (`docs/aws-ci-creds.1`), which keeps `clap_mangen` out of the binary.

use crate::cli::{self, CompletionsArgs};
use crate::commands::Outcome;
use crate::error::Error;
use crate::output::Out;

pub fn run(out: &mut Out, args: &CompletionsArgs) -> Result<Outcome, Error> {
    let text = script(args.shell)?;
    out.print(text.trim_end_matches('\n'))?;
    Ok(Outcome::SUCCESS)
}

/// The completion script for this shell.
pub fn script(shell: clap_complete::Shell) -> Result<String, Error> {
    let mut cmd = cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "aws-ci-creds", &mut buf);
    String::from_utf8(buf).map_err(|e| Error::internal("completion script is not UTF-8", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_that_knows_the_subcommands() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
            clap_complete::Shell::PowerShell,
        ] {
            let text = script(shell).unwrap();
            for word in ["doctor", "trust-policy", "setup", "--role-arn"] {
                assert!(text.contains(word), "{shell:?} script lacks {word}");
            }
        }
    }
}
