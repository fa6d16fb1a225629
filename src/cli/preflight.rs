//! `shakedown preflight`: whether an experiment file can run here, as a ready / not-ready
//! table, without injecting anything (see `experiment::preflight`).

use std::path::PathBuf;

use super::print;
use super::vars::options;
use crate::exit::Outcome;
use crate::experiment::{preflight, validate};

/// Arguments of `shakedown preflight`.
#[derive(Debug, clap::Args)]
pub struct PreflightArgs {
    /// The experiment file.
    pub file: PathBuf,
    /// Set a variable used as `${var.KEY}` (repeatable).
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
}

/// `shakedown preflight`: exit 0 ready, 1 not ready, 2 invalid file.
pub(crate) async fn preflight_main(args: PreflightArgs) -> anyhow::Result<Outcome> {
    let options = options(&args.vars)?;
    let experiment = validate::load_file(&args.file, &options)?;
    experiment.warnings.iter().for_each(|w| eprintln!("{w}"));
    let rows = preflight::check(&experiment, &options.run_dir).await;
    let width = rows
        .iter()
        .map(|r| r.check.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = format!("preflight {}\n", args.file.display());
    for r in &rows {
        let mark = if r.ready { "ok  " } else { "FAIL" };
        out.push_str(&format!("  {mark}  {:<width$}  {}\n", r.check, r.detail));
    }
    let failed = rows.iter().filter(|r| !r.ready).count();
    if failed == 0 {
        out.push_str(&format!("\nready: {} checks passed\n", rows.len()));
    } else {
        out.push_str(&format!(
            "\nNOT READY: {failed} of {} checks failed\n",
            rows.len()
        ));
    }
    print(format_args!("{out}"));
    Ok(if failed == 0 {
        Outcome::Passed
    } else {
        Outcome::Failed
    })
}
