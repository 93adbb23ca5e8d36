//! `aws-ci-creds demo` in a build without the `demo` feature (`--no-default-features`): the
//! emulator it needs is not compiled in, so it says so and how to get a build that has it.

use crate::commands::Outcome;
use crate::context::Ctx;
use crate::error::Error;
use crate::output::Out;

pub fn run(_ctx: &Ctx, _out: &mut Out) -> Result<Outcome, Error> {
    Err(Error::usage(
        "this aws-ci-creds was built without `demo` (cargo's --no-default-features)",
        "use a release binary (docs/install.md), or build again without --no-default-features \
         (the default features include demo)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit_code::ExitCode;

    #[test]
    fn demo_says_it_is_not_built_in_and_how_to_get_it() {
        let ctx = Ctx {
            env: crate::env::Env::default(),
            clock: Box::new(crate::clock::SystemClock),
            diag: crate::diag::Diag::default(),
            paths: crate::context::Paths::default(),
        };
        let mut stdout = Vec::new();
        let err = run(&ctx, &mut Out::to(&mut stdout)).unwrap_err();
        assert!(stdout.is_empty());
        assert_eq!(err.exit_code(), ExitCode::Usage);
        let text = err.to_string();
        assert!(text.contains("without `demo`"), "{text}");
        assert!(text.contains("without --no-default-features"), "{text}");
    }
}
