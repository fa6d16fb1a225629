//! The embedded demo target.

use crate::exit::Outcome;

/// Arguments of `shakedown demo-target`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {}

/// `shakedown demo-target`.
pub async fn main(_args: DemoArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("demo-target: not built yet")
}
