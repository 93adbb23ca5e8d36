//! aws-ci-creds: parse, build the real context, run, map the outcome to an exit code.

use aws_ci_creds::{Cli, Ctx, Out, Outcome};

fn main() -> std::process::ExitCode {
    aws_ci_creds::install_hook();
    let cli = Cli::parse_from_args(std::env::args_os());
    let ctx = Ctx::real(cli.verbose);
    // The one place a run's outcome becomes the process's exit status.
    match aws_ci_creds::run(cli, &ctx, &mut Out::stdout()) {
        Ok(Outcome::Exit(code)) => code.into(),
        Ok(Outcome::Child(code)) => aws_ci_creds::child_exit(code),
        Err(error) => {
            ctx.diag.error(&error);
            error.exit_code().into()
        }
    }
}
