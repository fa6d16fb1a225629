//! The Toxiproxy-compatible control API and the proxy store behind it.

use crate::exit::Outcome;

/// Arguments of `shakedown serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {}

/// `shakedown serve`.
pub async fn serve_main(_args: ServeArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("serve: not built yet")
}
