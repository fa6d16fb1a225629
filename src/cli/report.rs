//! `shakedown report`: re-render a saved journal (`--json FILE` of `run` or `test`).

use std::path::PathBuf;

use anyhow::Context;

use super::print;
use super::run::{Pages, check_outputs, write_outputs};
use crate::exit::{InvalidInput, Outcome};
use crate::experiment::record::Document;
use crate::report::terminal;

/// Arguments of `shakedown report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// A journal written by `shakedown run … --json FILE` or `shakedown test … --json FILE`.
    pub journal: PathBuf,
    /// Also write it as JUnit XML here.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also render it as the HTML report or the Markdown summary.
    #[command(flatten)]
    pub pages: Pages,
}

/// `shakedown report`: print each experiment's terminal summary; the exit code is the one the
/// run had (0 passed, 1 failed, 2 invalid, 3 aborted).
pub(crate) async fn report_main(args: ReportArgs) -> anyhow::Result<Outcome> {
    let document = Document::read(&args.journal)
        .map_err(|e| InvalidInput::new(e.to_string()))
        .with_context(|| format!("{}", args.journal.display()))?;
    check_outputs(None, args.junit.as_deref(), &args.pages)?;
    let mut worst = Outcome::Passed;
    for e in &document.experiments {
        print(format_args!("{}", terminal::render(e)));
        let outcome = crate::experiment::repeat::outcome(e.status);
        if outcome.code() > worst.code() {
            worst = outcome;
        }
    }
    write_outputs(&document, None, args.junit.as_deref(), &args.pages)?;
    Ok(worst)
}
