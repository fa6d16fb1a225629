//! `shakedown run`: one experiment file, its terminal summary, and the files it writes.

use std::path::{Path, PathBuf};

use super::print;
use super::vars::options;
use crate::exit::{InvalidInput, Outcome};
use crate::experiment::baseline::Plan;
use crate::experiment::record::Document;
use crate::experiment::repeat::{fresh_run_dir, outcome, run_experiment};
use crate::experiment::run::Progress;
use crate::experiment::timeline;
use crate::experiment::validate::{self, LoadOptions};
use crate::report::{self, html, junit, markdown, terminal};

/// Arguments of `shakedown run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The experiment file.
    pub file: PathBuf,
    /// Set a variable used as `${var.KEY}` (repeatable).
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
    /// Validate and print the timeline without starting anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Run the experiment N times; MTTR is summarized across all runs.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// Write the full JSON journal here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write JUnit XML here (one test case per expectation).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// The HTML report and the Markdown summary.
    #[command(flatten)]
    pub pages: Pages,
    /// Compare with a saved baseline: NAME (`.shakedown/baselines/NAME.json`) or a PATH (with a
    /// `/` or ending in `.json`); each figure's change is printed and `expect.regression` judged.
    #[arg(long, value_name = "NAME|PATH")]
    pub baseline: Option<String>,
    /// Save this run's key figures as a baseline (NAME or PATH, as `--baseline`) when it passes.
    #[arg(long, value_name = "NAME|PATH")]
    pub save_baseline: Option<String>,
    /// Do not print events as they happen.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `shakedown run`.
pub(crate) async fn run_main(args: RunArgs) -> anyhow::Result<Outcome> {
    let options = options(&args.vars)?;
    let experiment = validate::load_file(&args.file, &options)?;
    experiment.warnings.iter().for_each(|w| eprintln!("{w}"));
    let baselines = Plan::new(
        &experiment,
        args.baseline.as_deref(),
        args.save_baseline.as_deref(),
    )?;
    if args.dry_run {
        print(format_args!("{}", timeline::render(&experiment)));
        return Ok(Outcome::Passed);
    }
    check_outputs(args.json.as_deref(), args.junit.as_deref(), &args.pages)?;
    let progress = Progress {
        verbose: !args.quiet,
    };
    // Every run gets its own `${run.dir}`, so a store's data file cannot carry one run's
    // writes into the next (they would read back as unexpected instead of lost).
    let mut runs = vec![(experiment.clone(), options.run_dir.clone())];
    for _ in 1..args.repeat {
        let options = LoadOptions {
            run_dir: fresh_run_dir(),
            ..options.clone()
        };
        let experiment = validate::load_file(&args.file, &options)?;
        runs.push((experiment, options.run_dir));
    }
    let mut report = run_experiment(&runs, progress).await?;
    let saved = baselines.finish(&experiment, &mut report)?;
    print(format_args!("{}", terminal::render(&report)));
    if let Some(saved) = saved {
        print(format_args!("{saved}\n"));
    }
    let document = Document::of(vec![report]);
    write_outputs(
        &document,
        args.json.as_deref(),
        args.junit.as_deref(),
        &args.pages,
    )?;
    Ok(outcome(document.experiments[0].status))
}

/// The pages a run, a suite or a saved journal is rendered to (`docs/report.md`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Pages {
    /// Write the report as one self-contained HTML page here (inline charts, opens offline).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write a GitHub-flavoured Markdown summary here (verdict, expectations, steps).
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
}

/// Refuse, before anything starts, an output file that could not be written at the end of the
/// run: each of `--json`, `--junit`, `--html` and `--summary` must name a file that can be
/// opened for writing, or created in an existing folder (the probe file is removed again).
///
/// Errors: [`InvalidInput`] (exit 2) naming the flag, the path and why.
pub(super) fn check_outputs(
    json: Option<&Path>,
    junit: Option<&Path>,
    pages: &Pages,
) -> Result<(), InvalidInput> {
    let outputs = [
        ("--json", json),
        ("--junit", junit),
        ("--html", pages.html.as_deref()),
        ("--summary", pages.summary.as_deref()),
    ];
    for (flag, path) in outputs {
        if let Some(path) = path {
            writable(path).map_err(|e| {
                InvalidInput::new(format!("{flag} {}: cannot write it: {e}", path.display()))
            })?;
        }
    }
    Ok(())
}

/// Whether `path` can be written: an existing file opened for appending (unchanged), or a new
/// one created and removed.
fn writable(path: &Path) -> std::io::Result<()> {
    match std::fs::OpenOptions::new().append(true).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::File::create_new(path)?;
            std::fs::remove_file(path)
        }
        Err(e) => Err(e),
    }
}

/// Write the journal, the JUnit XML, the HTML report and the Markdown summary where asked;
/// the report's and the summary's paths are printed.
pub(super) fn write_outputs(
    document: &Document,
    json: Option<&Path>,
    junit_path: Option<&Path>,
    pages: &Pages,
) -> anyhow::Result<()> {
    if let Some(p) = json {
        report::write_json(p, document)?;
    }
    if let Some(p) = junit_path {
        junit::write(p, document)?;
    }
    if let Some(p) = &pages.html {
        html::write(p, document)?;
        print(format_args!("report: {}\n", p.display()));
    }
    if let Some(p) = &pages.summary {
        markdown::write(p, document)?;
        print(format_args!("summary: {}\n", p.display()));
    }
    Ok(())
}
