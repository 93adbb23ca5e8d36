//! Dispatch: from the parsed command line to the command that runs.

use crate::cli::{Cli, Command};
use crate::commands;
use crate::config::Config;
use crate::context::Ctx;
use crate::error::Error;
use crate::exit_code::ExitCode;

pub fn run(cli: Cli, ctx: &Ctx) -> Result<ExitCode, Error> {
    match cli.command {
        None => {
            let cfg = Config::resolve(&cli.credentials, &ctx.env, cli.verbose)?;
            commands::credentials::run(ctx, &cfg)?;
            Ok(ExitCode::Success)
        }
        Some(Command::Cache(args)) => commands::cache::run(ctx, &args),
        Some(Command::Demo) => commands::demo::run(ctx),
    }
}
