//! aws-ci-creds: parse, build the real context, run, map the outcome to an exit code.

use aws_ci_creds::{app, cli::Cli, context::Ctx, exit_code::ExitCode};

fn main() -> std::process::ExitCode {
    aws_ci_creds::panic::install_hook();
    let cli = Cli::parse_from_args(std::env::args_os());
    let ctx = Ctx::real(cli.verbose);
    match app::run(cli, &ctx) {
        Ok(code) => code.into(),
        Err(error) => {
            ctx.diag.error(&error);
            error.exit_code().into()
        }
    }
}

#[allow(dead_code)]
fn _exit_codes_are_the_documented_table(_: ExitCode) {}
