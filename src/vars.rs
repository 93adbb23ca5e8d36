//! Variables handed to other programs (`export`, `serve`): rendered for a shell, a dotenv file,
//! JSON or GitHub's `$GITHUB_ENV`, and the GitHub Actions `::add-mask::` lines that keep their
//! secret values out of the job log.
//!
//! Everything here builds text; [`crate::output`] prints it and [`append_env_file`] writes the
//! named env file. Values are exposed secrets by design: these are the places the user asked for.

use std::io::Write;
use std::path::Path;

use crate::cli::ExportFormat;
use crate::error::{Error, Message};

/// A variable and its value, in the order they are printed.
pub struct Var {
    pub name: &'static str,
    pub value: String,
    /// Masked in GitHub Actions logs.
    pub secret: bool,
}

/// The variables as `format` writes them (github-env: the file's text).
pub fn render(vars: &[Var], format: ExportFormat, delimiter: &str) -> String {
    let mut out = String::new();
    match format {
        ExportFormat::Sh => {
            for v in vars {
                out.push_str(&format!("export {}={}\n", v.name, sh_quote(&v.value)));
            }
        }
        ExportFormat::Fish => {
            for v in vars {
                out.push_str(&format!("set -gx {} {}\n", v.name, fish_quote(&v.value)));
            }
        }
        ExportFormat::Powershell => {
            for v in vars {
                out.push_str(&format!(
                    "$env:{} = '{}'\n",
                    v.name,
                    v.value.replace('\'', "''")
                ));
            }
        }
        ExportFormat::Dotenv => {
            for v in vars {
                out.push_str(&format!("{}={}\n", v.name, v.value));
            }
        }
        ExportFormat::GithubEnv => {
            // The heredoc form: safe for any value that does not contain the delimiter line.
            for v in vars {
                out.push_str(&format!(
                    "{}<<{delimiter}\n{}\n{delimiter}\n",
                    v.name, v.value
                ));
            }
        }
        ExportFormat::Json => {
            let map: serde_json::Map<String, serde_json::Value> = vars
                .iter()
                .map(|v| (v.name.to_string(), v.value.clone().into()))
                .collect();
            out = serde_json::to_string_pretty(&map).expect("strings always serialize");
            out.push('\n');
        }
    }
    out
}

/// The `::add-mask::` lines for the secret values, wrapped so that they work both when the
/// output is printed to the log and when it is `eval`ed: a shell (or PowerShell) string that
/// spans the mask lines prints them when evaluated, and the runner sees them at the start of a
/// line when the text itself is printed. `None` for the data formats, which cannot carry them.
pub fn masks(vars: &[Var], format: ExportFormat) -> Option<String> {
    let lines: Vec<String> = vars
        .iter()
        .filter(|v| v.secret && !v.value.is_empty())
        .map(|v| format!("::add-mask::{}", v.value))
        .collect();
    if lines.is_empty() {
        return Some(String::new());
    }
    let body = lines.join("\n");
    match format {
        ExportFormat::Sh | ExportFormat::Fish => Some(format!("printf '%s\\n' '\n{body}\n'\n")),
        ExportFormat::Powershell => Some(format!("Write-Output @'\n{body}\n'@\n")),
        ExportFormat::GithubEnv => Some(format!("{body}\n")),
        ExportFormat::Dotenv | ExportFormat::Json => None,
    }
}

/// Refuses values that would break out of the quoting or the line structure of the formats.
/// STS never returns such values; this makes sure a surprise cannot inject shell text.
pub fn check_values(vars: &[Var], delimiter: &str) -> Result<(), Error> {
    for v in vars {
        if v.value.contains(['\n', '\r', '\'', '\\']) || v.value.contains(delimiter) {
            return Err(Error::Internal {
                message: Message::new(format!(
                    "the value of {} contains characters that cannot be exported safely",
                    v.name
                ))
                .fix("please report this: STS values are plain base64"),
                cause: None,
            });
        }
    }
    Ok(())
}

/// A delimiter for `$GITHUB_ENV` heredocs that no value can contain by chance.
pub fn random_delimiter() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| {
        Error::internal("could not draw a random delimiter", "no system randomness")
    })?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("ghadelimiter_{hex}"))
}

fn sh_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

fn fish_quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', r"\\").replace('\'', r"\'"))
}

/// Appends `text` to the env file at `path` (created private if missing). Never truncates:
/// `$GITHUB_ENV` and dotenv files hold other steps' variables too.
pub fn append_env_file(path: &Path, text: &str, what: &str) -> Result<(), Error> {
    let fail = |e: std::io::Error| {
        Error::Usage(
            Message::new(format!(
                "could not append to {what} {}: {e}",
                path.display()
            ))
            .fix("check that the file's directory exists and is writable"),
        )
    };
    let mut file = crate::sys::fs::private(std::fs::OpenOptions::new().append(true).create(true))
        .open(path)
        .map_err(fail)?;
    file.write_all(text.as_bytes()).map_err(fail)?;
    file.flush().map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vec<Var> {
        vec![
            Var {
                name: "AWS_ACCESS_KEY_ID",
                value: "ASIAKEY".into(),
                secret: true,
            },
            Var {
                name: "AWS_REGION",
                value: "eu-west-1".into(),
                secret: false,
            },
        ]
    }

    #[test]
    fn every_format_is_exact() {
        let v = vars();
        assert_eq!(
            render(&v, ExportFormat::Sh, "D"),
            "export AWS_ACCESS_KEY_ID='ASIAKEY'\nexport AWS_REGION='eu-west-1'\n"
        );
        assert_eq!(
            render(&v, ExportFormat::Fish, "D"),
            "set -gx AWS_ACCESS_KEY_ID 'ASIAKEY'\nset -gx AWS_REGION 'eu-west-1'\n"
        );
        assert_eq!(
            render(&v, ExportFormat::Powershell, "D"),
            "$env:AWS_ACCESS_KEY_ID = 'ASIAKEY'\n$env:AWS_REGION = 'eu-west-1'\n"
        );
        assert_eq!(
            render(&v, ExportFormat::Dotenv, "D"),
            "AWS_ACCESS_KEY_ID=ASIAKEY\nAWS_REGION=eu-west-1\n"
        );
        assert_eq!(
            render(&v, ExportFormat::GithubEnv, "ghadelimiter_x"),
            "AWS_ACCESS_KEY_ID<<ghadelimiter_x\nASIAKEY\nghadelimiter_x\nAWS_REGION<<ghadelimiter_x\neu-west-1\nghadelimiter_x\n"
        );
        let json: serde_json::Value =
            serde_json::from_str(&render(&v, ExportFormat::Json, "D")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"AWS_ACCESS_KEY_ID": "ASIAKEY", "AWS_REGION": "eu-west-1"})
        );
    }

    #[test]
    fn quotes_cannot_escape() {
        assert_eq!(sh_quote("a'b"), r"'a'\''b'");
        assert_eq!(fish_quote(r"a'b\c"), r"'a\'b\\c'");
    }

    #[test]
    fn masks_cover_secrets_only_and_survive_eval() {
        let v = vars();
        assert_eq!(
            masks(&v, ExportFormat::Sh).unwrap(),
            "printf '%s\\n' '\n::add-mask::ASIAKEY\n'\n"
        );
        assert_eq!(
            masks(&v, ExportFormat::Powershell).unwrap(),
            "Write-Output @'\n::add-mask::ASIAKEY\n'@\n"
        );
        assert_eq!(
            masks(&v, ExportFormat::GithubEnv).unwrap(),
            "::add-mask::ASIAKEY\n"
        );
        assert!(masks(&v, ExportFormat::Json).is_none());
    }

    #[test]
    fn values_that_could_inject_are_refused() {
        for bad in ["a\nb", "a'b", "a\\b", "xx-D-xx"] {
            let v = vec![Var {
                name: "X",
                value: bad.into(),
                secret: true,
            }];
            assert!(check_values(&v, "-D-").is_err(), "{bad:?}");
        }
        assert!(check_values(&vars(), "-D-").is_ok());
    }
}
