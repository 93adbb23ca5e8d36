//! The exit-code table. Scripts and CI users branch on these numbers, so they never change meaning.
//!
//! | code | name              | meaning                                                          |
//! |------|-------------------|------------------------------------------------------------------|
//! | 0    | `Success`         | credentials printed (or the subcommand did what it was asked)    |
//! | 1    | `Internal`        | a bug or an unexpected local failure (please report it)          |
//! | 2    | `Usage`           | bad flag, variable or configuration value; nothing was sent      |
//! | 3    | `Token`           | no usable OIDC token: missing CI set-up, malformed or expired    |
//! | 4    | `StsRefused`      | STS answered and refused: trust policy, audience, duration, …    |
//! | 5    | `StsUnavailable`  | STS or the token endpoint unreachable, or failing past `--timeout` |
//! | 6    | `CheckFailed`     | `doctor` ran and at least one check failed                       |
//! | 7    | `WrongAccount`    | the credentials' account is refused by the account guard; nothing printed |

/// Process exit codes; see the module docs for the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    Success = 0,
    Internal = 1,
    Usage = 2,
    Token = 3,
    StsRefused = 4,
    StsUnavailable = 5,
    CheckFailed = 6,
    WrongAccount = 7,
}

impl ExitCode {
    /// Every code, in table order (used by `--help` and the docs test).
    pub const ALL: [ExitCode; 8] = [
        ExitCode::Success,
        ExitCode::Internal,
        ExitCode::Usage,
        ExitCode::Token,
        ExitCode::StsRefused,
        ExitCode::StsUnavailable,
        ExitCode::CheckFailed,
        ExitCode::WrongAccount,
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    /// One line for `--help`.
    pub fn describe(self) -> &'static str {
        match self {
            ExitCode::Success => "success",
            ExitCode::Internal => "internal error (a bug: please report it)",
            ExitCode::Usage => "usage or configuration error (nothing was sent)",
            ExitCode::Token => "no usable OIDC token (CI set-up missing, malformed or expired)",
            ExitCode::StsRefused => "STS refused the exchange (trust policy, audience, duration…)",
            ExitCode::StsUnavailable => "STS or the token endpoint unreachable or failing",
            ExitCode::CheckFailed => "doctor: at least one check failed",
            ExitCode::WrongAccount => {
                "the credentials' account is refused by --allowed/--forbidden-account-ids"
            }
        }
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code.code())
    }
}

/// The table as `--help` shows it.
pub fn help_table() -> String {
    let mut s = String::from("Exit codes:\n");
    for code in ExitCode::ALL {
        s.push_str(&format!("  {}  {}\n", code.code(), code.describe()));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_stable() {
        let codes: Vec<u8> = ExitCode::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(codes, vec![0, 1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn the_readme_and_the_docs_list_every_code() {
        for (name, text) in [
            ("README.md", include_str!("../README.md")),
            ("docs/exit-codes.md", include_str!("../docs/exit-codes.md")),
        ] {
            for code in ExitCode::ALL {
                assert!(
                    text.lines()
                        .any(|l| l.starts_with(&format!("| {} ", code.code()))),
                    "exit code {code:?} missing from the table in {name}"
                );
            }
        }
    }

    #[test]
    fn the_module_table_lists_every_code() {
        let doc = include_str!("exit_code.rs");
        for code in ExitCode::ALL {
            assert!(
                doc.contains(&format!("| {}    | `{:?}`", code.code(), code)),
                "exit code {code:?} missing from the documented table"
            );
        }
    }
}
