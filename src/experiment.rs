//! The experiment runner: declarative experiments that measure detection, recovery and lost writes.
//!
//! | module | owns |
//! |---|---|
//! | [`raw`], [`spec`], [`validate`] | the file format: as written, validated, and the checks between |
//! | [`node`], [`vars`], [`quantity`], [`toxics`] | located YAML, `${…}` variables, units, the toxic vocabulary |
//! | [`measure`] | pure functions from samples and fault windows to TTD, TTR and MTTR |

pub mod action;
pub mod client;
pub mod driver;
pub mod embedded;
pub mod inject;
pub mod measure;
pub mod node;
pub mod probe;
pub mod quantity;
pub mod raw;
pub mod run;
pub mod service;
pub mod spec;
pub mod toxics;
pub mod validate;
pub mod vars;
pub mod verdict;

use crate::exit::Outcome;

/// Arguments of `shakedown run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {}
/// Arguments of `shakedown test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {}
/// Arguments of `shakedown validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {}

/// `shakedown run`.
pub async fn run_main(_args: RunArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("run: not built yet")
}
/// `shakedown test`.
pub async fn test_main(_args: TestArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("test: not built yet")
}
/// `shakedown validate`.
pub async fn validate_main(_args: ValidateArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("validate: not built yet")
}
