//! Credential mode, the default command: the credentials for the configured role (a cache hit,
//! or a token and an exchange: [`crate::flow`]) as the credential_process JSON on stdout.

use crate::commands::Outcome;
use crate::config::Config;
use crate::context::Ctx;
use crate::error::Error;
use crate::flow;
use crate::output::Out;

/// Prints credentials for the configured role.
pub fn run(ctx: &Ctx, out: &mut Out, cfg: &Config) -> Result<Outcome, Error> {
    let creds = flow::obtain(ctx, cfg)?;
    out.process_json(&creds)?;
    Ok(Outcome::SUCCESS)
}
