//! `shakedown note "TEXT" [--author NAME]`: write a note into a running server's journal.

use http::Method;
use serde_json::json;

use super::access::{Client, ClientArgs};
use crate::exit::Outcome;

/// Arguments of `shakedown note`.
#[derive(Debug, clap::Args)]
pub struct NoteArgs {
    /// What you observed (1 to 4,000 characters, one line).
    pub text: String,
    /// Who writes it (1 to 64 characters); default $USER, else `terminal`.
    #[arg(long)]
    pub author: Option<String>,
    /// The server.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `shakedown note`: exit 0 when recorded (prints the event's line), 2 when the server
/// refuses the note (empty, too long, a line break), 3 when it cannot be reached.
pub(super) async fn note_main(args: NoteArgs) -> anyhow::Result<Outcome> {
    let client = Client::new(&args.client)?;
    let author = args
        .author
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "terminal".to_string());
    let body = json!({"author": author, "text": args.text});
    let event = client.json(Method::POST, "/notes", Some(&body)).await?;
    super::print(format_args!(
        "noted #{} at +{:.3}s: {}\n",
        event["seq"],
        event["t"].as_f64().unwrap_or_default(),
        event["text"].as_str().unwrap_or_default()
    ));
    Ok(Outcome::Passed)
}
