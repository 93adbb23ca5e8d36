//! `aws-ci-creds export`: the credentials as variables, for tools that only read `AWS_*`
//! variables. One of the few places a secret leaves the process, by design: to stdout, or to
//! `$GITHUB_ENV` with `--format github-env`.
//!
//! On GitHub Actions the secret values are first registered with `::add-mask::` (unless
//! `--no-mask`), in a form that works whether the output is printed or `eval`ed. Exported keys
//! do not refresh: stderr says when they expire and points at `exec --serve`.

use crate::cli::{ExportArgs, ExportFormat};
use crate::commands::Outcome;
use crate::config::{Config, Origin};
use crate::context::Ctx;
use crate::error::Error;
use crate::flow;
use crate::output::Out;
use crate::vars::{self, Var};

pub fn run(ctx: &Ctx, out: &mut Out, cfg: &Config, args: &ExportArgs) -> Result<Outcome, Error> {
    // Checked before the exchange: nothing is fetched that could not be written.
    let github_env = match args.format {
        ExportFormat::GithubEnv => Some(
            ctx.env
                .get("GITHUB_ENV")
                .filter(|p| !p.is_empty())
                .ok_or_else(|| {
                    Error::usage(
                        "--format github-env needs GITHUB_ENV, which is not set",
                        "GitHub Actions sets it in every step; elsewhere use --format sh or dotenv",
                    )
                })?,
        ),
        _ => None,
    };
    let creds = flow::obtain(ctx, cfg)?;
    let expiration = creds
        .expiration
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut list = vec![
        Var {
            name: "AWS_ACCESS_KEY_ID",
            value: creds.access_key_id.expose().clone(),
            secret: true,
        },
        Var {
            name: "AWS_SECRET_ACCESS_KEY",
            value: creds.secret_access_key.expose().clone(),
            secret: true,
        },
        Var {
            name: "AWS_SESSION_TOKEN",
            value: creds.session_token.expose().clone(),
            secret: true,
        },
        Var {
            name: "AWS_CREDENTIAL_EXPIRATION",
            value: expiration.clone(),
            secret: false,
        },
    ];
    if cfg.network.region.origin != Origin::Default {
        list.push(Var {
            name: "AWS_REGION",
            value: cfg.network.region.value.clone(),
            secret: false,
        });
    }
    let delimiter = vars::random_delimiter()?;
    vars::check_values(&list, &delimiter)?;

    if ctx.env.is("GITHUB_ACTIONS", "true") && !args.no_mask {
        match vars::masks(&list, args.format) {
            Some(masks) => out.print_exact(&masks)?,
            None => ctx.diag.warn(format!(
                "--format {} cannot carry ::add-mask:: lines, so GitHub will not mask these values if they reach the log: prefer --format github-env",
                format_name(args.format)
            )),
        }
    }
    let text = vars::render(&list, args.format, &delimiter);
    match github_env {
        Some(path) => vars::append_env_file(std::path::Path::new(path), &text, "GITHUB_ENV")?,
        None => out.print_exact(&text)?,
    }
    ctx.diag.warn(format!(
        "the exported credentials expire at {expiration} ({} from now) and are not refreshed: for longer jobs use `aws-ci-creds exec --serve -- CMD` or `aws-ci-creds serve` (docs/serve.md)",
        crate::sts::human_duration(creds.remaining(ctx.clock.now()).num_seconds())
    ));
    Ok(Outcome::SUCCESS)
}

fn format_name(format: ExportFormat) -> &'static str {
    match format {
        ExportFormat::Sh => "sh",
        ExportFormat::Fish => "fish",
        ExportFormat::Powershell => "powershell",
        ExportFormat::Dotenv => "dotenv",
        ExportFormat::GithubEnv => "github-env",
        ExportFormat::Json => "json",
    }
}
