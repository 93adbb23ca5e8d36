//! Dispatch: from the parsed command line to the command that runs.

use crate::cli::{Cli, Command, CredentialArgs};
use crate::commands;
use crate::config::Config;
use crate::context::Ctx;
use crate::error::Error;
use crate::exit_code::ExitCode;

pub fn run(cli: Cli, ctx: &Ctx) -> Result<ExitCode, Error> {
    if let Some(command) = &cli.command
        && cli.credentials != CredentialArgs::default()
    {
        // Credential options belong after the subcommand that takes them (`-v` may go anywhere).
        let name = command.name();
        return Err(Error::usage(
            format!("credential options were given before the subcommand `{name}`"),
            format!("put them after it: aws-ci-creds {name} [OPTIONS]"),
        ));
    }
    match cli.command {
        None => {
            let cfg = Config::resolve(&cli.credentials, &ctx.env)?;
            commands::credentials::run(ctx, &cfg)?;
            Ok(ExitCode::Success)
        }
        Some(Command::Cache(args)) => commands::cache::run(ctx, &args),
        Some(Command::Demo) => commands::demo::run(ctx),
        Some(Command::Doctor(args)) => commands::doctor::run(ctx, &args),
        Some(Command::TrustPolicy(args)) => commands::trust_policy::run(ctx, &args),
        Some(Command::Setup(args)) => commands::setup::run(ctx, &args),
        Some(Command::Exec(args)) => commands::exec::run(ctx, &args),
        Some(Command::Serve(args)) => commands::serve::run(ctx, &args),
        Some(Command::Export(args)) => commands::export::run(ctx, &args),
        Some(Command::Completions(args)) => commands::completions::run(ctx, &args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn credential_options_before_a_subcommand_are_refused_by_name() {
        let cli = Cli::try_parse_from(["aws-ci-creds", "--role-arn", "x", "demo"]).unwrap();
        let ctx = Ctx {
            env: crate::env::Env::default(),
            clock: Box::new(crate::clock::SystemClock),
            diag: crate::diag::Diag::default(),
            paths: crate::context::Paths::default(),
        };
        let err = run(cli, &ctx).unwrap_err();
        assert_eq!(err.exit_code(), ExitCode::Usage);
        assert!(
            err.to_string().contains("before the subcommand `demo`"),
            "{err}"
        );
    }
}
