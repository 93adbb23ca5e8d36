//! Splitting a command line into arguments as botocore splits a `credential_process` line
//! (Python's `shlex.split`, POSIX rules, no shell): `--token-command` runs what it gives, and
//! `doctor` shows it as the AWS CLI's and boto3's reading of a profile's line. A leaf, so the
//! config resolver can check a command line without importing the token sources.

/// Why a command line could not be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("has no closing {0} quote")]
    UnclosedQuote(char),
    #[error("ends with a backslash that escapes nothing")]
    TrailingBackslash,
    #[error("is empty")]
    Empty,
}

/// Splits a command line into arguments like Python's `shlex.split(line)` (POSIX mode, no
/// comments), which is what botocore does with `credential_process`:
/// - blanks (space, tab, newline, carriage return) separate arguments;
/// - `'…'` keeps everything literally;
/// - `"…"` keeps everything but `\"` and `\\`, which stand for `"` and `\`;
/// - outside quotes `\x` stands for `x`;
/// - quoted and unquoted parts next to each other form one argument; `''` is an empty argument.
pub fn split(line: &str) -> Result<Vec<String>, SplitError> {
    #[derive(PartialEq)]
    enum State {
        Between,
        Word,
        Single,
        Double,
    }
    let mut args = Vec::new();
    let mut current = String::new();
    let mut state = State::Between;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match state {
            State::Between | State::Word => match c {
                ' ' | '\t' | '\n' | '\r' => {
                    if state == State::Word {
                        args.push(std::mem::take(&mut current));
                        state = State::Between;
                    }
                }
                '\'' => state = State::Single,
                '"' => state = State::Double,
                '\\' => {
                    current.push(chars.next().ok_or(SplitError::TrailingBackslash)?);
                    state = State::Word;
                }
                other => {
                    current.push(other);
                    state = State::Word;
                }
            },
            State::Single => match c {
                '\'' => state = State::Word,
                other => current.push(other),
            },
            State::Double => match c {
                '"' => state = State::Word,
                '\\' => match chars.next() {
                    Some(e @ ('"' | '\\')) => current.push(e),
                    Some(other) => {
                        current.push('\\');
                        current.push(other);
                    }
                    None => return Err(SplitError::UnclosedQuote('"')),
                },
                other => current.push(other),
            },
        }
    }
    match state {
        State::Single => return Err(SplitError::UnclosedQuote('\'')),
        State::Double => return Err(SplitError::UnclosedQuote('"')),
        State::Word => args.push(current),
        State::Between => {}
    }
    if args.is_empty() {
        return Err(SplitError::Empty);
    }
    Ok(args)
}

/// The first `$NAME` or `${NAME}` in `value`, as written: a variable that a shell would have
/// expanded, and that botocore's split (no shell) leaves as it is.
pub fn unexpanded_variable(value: &str) -> Option<&str> {
    let bytes = value.as_bytes();
    let in_name = |b: u8| b == b'_' || b.is_ascii_alphanumeric();
    (0..bytes.len()).find_map(|i| {
        if bytes[i] != b'$' {
            return None;
        }
        let braced = bytes.get(i + 1) == Some(&b'{');
        let start = i + 1 + usize::from(braced);
        let first = *bytes.get(start)?;
        if !(first == b'_' || first.is_ascii_alphabetic()) {
            return None;
        }
        let end = (start..bytes.len())
            .find(|&j| !in_name(bytes[j]))
            .unwrap_or(bytes.len());
        if braced {
            (bytes.get(end) == Some(&b'}')).then(|| &value[i..=end])
        } else {
            Some(&value[i..end])
        }
    })
}

#[cfg(test)]
mod variable_tests {
    use super::unexpanded_variable;

    #[test]
    fn unexpanded_variables_are_found_as_written() {
        assert_eq!(unexpanded_variable("$ROLE_ARN"), Some("$ROLE_ARN"));
        assert_eq!(unexpanded_variable("${ROLE_ARN}"), Some("${ROLE_ARN}"));
        assert_eq!(unexpanded_variable("arn:aws:iam::1:role/$R-x"), Some("$R"));
        assert_eq!(unexpanded_variable("$HOME/token"), Some("$HOME"));
        // IAM policy variables, prices, a lone `$`: not shell variables.
        assert_eq!(unexpanded_variable("${aws:username}"), None);
        assert_eq!(unexpanded_variable("cost $5"), None);
        assert_eq!(unexpanded_variable("a$"), None);
        assert_eq!(unexpanded_variable("${OPEN"), None);
        assert_eq!(
            unexpanded_variable("arn:aws:iam::123456789012:role/deploy"),
            None
        );
    }
}

/// Splits a command line as botocore does on Windows (`_windows_shell_split`, the Microsoft C
/// runtime's rules, no shell): blanks outside double quotes separate arguments; `"` toggles
/// quoting; backslashes are literal unless they come before a `"`, where each pair stands for one
/// backslash and an odd one left over makes the quote literal. Single quotes mean nothing, so
/// `C:\tools\helper.cmd` stays as it is.
#[cfg_attr(not(windows), allow(dead_code))] // the rule on Windows; its tests run everywhere
pub fn split_windows(line: &str) -> Result<Vec<String>, SplitError> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut backslashes = 0usize;
    for c in line.chars() {
        match c {
            '\\' => backslashes += 1,
            '"' => {
                current.extend(std::iter::repeat_n('\\', backslashes / 2));
                let literal = backslashes % 2 == 1;
                backslashes = 0;
                if literal {
                    current.push('"');
                } else {
                    quoted = !quoted;
                }
            }
            ' ' | '\t' if !quoted => {
                current.extend(std::iter::repeat_n('\\', backslashes));
                backslashes = 0;
                if !current.is_empty() {
                    args.push(std::mem::take(&mut current));
                }
            }
            _ => {
                current.extend(std::iter::repeat_n('\\', backslashes));
                backslashes = 0;
                current.push(c);
            }
        }
    }
    if quoted {
        return Err(SplitError::UnclosedQuote('"'));
    }
    current.extend(std::iter::repeat_n('\\', backslashes));
    if !current.is_empty() {
        args.push(current);
    }
    if args.is_empty() {
        return Err(SplitError::Empty);
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_rules_keep_backslashes_and_know_no_single_quotes() {
        let s = |l: &str| split_windows(l).unwrap();
        assert_eq!(
            s(r"C:\tools\helper.cmd --aud sts"),
            [r"C:\tools\helper.cmd", "--aud", "sts"]
        );
        assert_eq!(
            s(r#""C:\Program Files\x.exe" a"#),
            [r"C:\Program Files\x.exe", "a"]
        );
        assert_eq!(s(r#"a\\\"b c\\"d e""#), [r#"a\"b"#, r"c\d e"]);
        assert_eq!(s("'a b'"), ["'a", "b'"]);
        assert_eq!(
            split_windows(r#"a "b"#),
            Err(SplitError::UnclosedQuote('"'))
        );
        assert_eq!(split_windows("  \t "), Err(SplitError::Empty));
    }
}
