//! `shakedown validate`: check experiment files without running anything.

use std::path::PathBuf;

use super::print;
use super::vars::options;
use crate::exit::Outcome;
use crate::experiment::{suite, validate};

/// Arguments of `shakedown validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Experiment files or folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Set a variable used as `${var.KEY}` (repeatable).
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
}

/// `shakedown validate`.
pub(crate) async fn validate_main(args: ValidateArgs) -> anyhow::Result<Outcome> {
    let options = options(&args.vars)?;
    let mut bad = 0;
    for file in suite::collect(&args.paths)? {
        match validate::load_file(&file, &options) {
            Ok(e) => {
                e.warnings.iter().for_each(|w| eprintln!("{w}"));
                print(format_args!(
                    "{}: ok ({}, {})\n",
                    file.display(),
                    count(e.method.len(), "step"),
                    count(e.steady_state.probes.len(), "probe")
                ))
            }
            Err(e) => {
                bad += 1;
                eprintln!("{e}");
            }
        }
    }
    Ok(if bad == 0 {
        Outcome::Passed
    } else {
        Outcome::Invalid
    })
}

/// `1 step`, `2 steps`.
fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}
