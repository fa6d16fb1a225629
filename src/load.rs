//! The load driver.

use crate::exit::Outcome;

/// Arguments of `shakedown load`.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {}

/// `shakedown load`.
pub async fn cli_main(_args: LoadArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("load: not built yet")
}
