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
