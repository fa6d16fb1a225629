//! `shakedown journal export --format md|json [-o FILE]`: a running server's event journal.

use std::path::PathBuf;

use http::Method;

use super::access::{Client, ClientArgs};
use crate::exit::{InvalidInput, Outcome};

/// Arguments of `shakedown journal`.
#[derive(Debug, clap::Args)]
pub struct JournalArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: JournalCommand,
}

/// The `journal` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum JournalCommand {
    /// Write the journal as Markdown (GET /journal.md) or JSON (GET /journal.json).
    Export(ExportArgs),
}

/// Arguments of `shakedown journal export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The format.
    #[arg(long, value_enum, default_value_t = Format::Md)]
    pub format: Format,
    /// Write to this file instead of stdout (replaced if it exists).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The server.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Markdown: a title, then one line per event.
    Md,
    /// JSON: `{"started_wall", "events", "dropped"}`.
    Json,
}

/// `shakedown journal export`: exit 0 when written, 2 when the output file cannot be
/// written, 3 when the server cannot be reached.
pub(super) async fn journal_main(args: JournalArgs) -> anyhow::Result<Outcome> {
    let JournalCommand::Export(args) = args.command;
    let client = Client::new(&args.client)?;
    let path = match args.format {
        Format::Md => "/journal.md",
        Format::Json => "/journal.json",
    };
    let body = client.call(Method::GET, path, None).await?;
    match &args.output {
        None => super::print(format_args!("{}", String::from_utf8_lossy(&body))),
        Some(file) => std::fs::write(file, &body)
            .map_err(|e| InvalidInput::new(format!("-o {}: cannot write: {e}", file.display())))?,
    }
    Ok(Outcome::Passed)
}
