//! Dispatch: from the parsed command line to the command that runs. Each command's settings are
//! resolved here, once, before it runs; the command gets them, the context and the [`Out`] it
//! prints through, and returns an [`Outcome`] that `main` turns into the exit status.

use crate::cli::{Cli, Command, CredentialArgs};
use crate::commands::{self, Outcome};
use crate::config::Config;
use crate::context::Ctx;
use crate::error::Error;
use crate::output::Out;

pub fn run(cli: Cli, ctx: &Ctx, out: &mut Out) -> Result<Outcome, Error> {
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
    let env = &ctx.env;
    match cli.command {
        None => {
            let cfg = Config::resolve(&cli.credentials, env)?;
            commands::credentials::run(ctx, out, &cfg)
        }
        Some(Command::Cache(args)) => {
            let cfg = commands::cache::settings(&args, env)?;
            commands::cache::run(ctx, out, &cfg, &args)
        }
        Some(Command::Demo) => commands::demo::run(ctx, out),
        Some(Command::Doctor(args)) => {
            let settings = commands::doctor::Settings::resolve(&args, env)?;
            commands::doctor::run(ctx, out, settings, &args)
        }
        Some(Command::TrustPolicy(args)) => {
            let cfg = Config::resolve(&args.credentials, env)?;
            commands::trust_policy::run(ctx, out, &cfg, &args)
        }
        // setup resolves inside: its settings are the options given merged with what the
        // profile it edits already holds, which only it reads.
        Some(Command::Setup(args)) => commands::setup::run(ctx, out, &args),
        Some(Command::Exec(args)) => {
            let cfg = Config::resolve(&args.credentials, env)?;
            commands::exec::run(ctx, &cfg, &args)
        }
        Some(Command::Serve(args)) => {
            let cfg = Config::resolve(&args.credentials, env)?;
            commands::serve::run(ctx, out, &cfg, &args)
        }
        Some(Command::Export(args)) => {
            let cfg = Config::resolve(&args.credentials, env)?;
            commands::export::run(ctx, out, &cfg, &args)
        }
        Some(Command::Completions(args)) => commands::completions::run(out, &args),
    }
}

#[cfg(test)]
mod tests;
