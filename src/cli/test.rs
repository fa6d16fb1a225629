//! `shakedown test`: a folder of experiments as a suite, one line each, JUnit XML for CI.

use std::path::{Path, PathBuf};

use super::print;
use super::run::{Pages, check_outputs, write_csv, write_outputs};
use super::vars::options;
use super::watch::WatchArgs;
use crate::exit::Outcome;
use crate::experiment::repeat::fresh_run_dir;
use crate::experiment::suite::{self, Event, Filter, Selection};
use crate::experiment::validate::LoadOptions;
use crate::report::{markdown, terminal};

/// The file GitHub Actions shows on a job's page; `test` appends its Markdown summary to it.
const STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";

/// Arguments of `shakedown test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Experiment files or folders (default: experiments/).
    pub paths: Vec<PathBuf>,
    /// Only experiments whose title or file name matches (`and`, `or`, `not`, parentheses).
    #[arg(short = 'k', value_name = "EXPR")]
    pub filter: Option<String>,
    /// Only experiments with this tag (repeatable: any of them).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Set a variable used as `${var.KEY}` (repeatable).
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
    /// Write JUnit XML for the whole suite here.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the JSON journal of the whole suite here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// The HTML report (one page, a section per experiment, failures first) and the Markdown
    /// summary (also appended to `$GITHUB_STEP_SUMMARY` when that is set).
    #[command(flatten)]
    pub pages: Pages,
    /// The resource sampler: what to watch besides the services, how often, and CSV output
    /// (a folder per experiment and run).
    #[command(flatten)]
    pub watch: WatchArgs,
    /// Print each experiment's summary, not only its line.
    #[arg(long, short)]
    pub verbose: bool,
}

/// `shakedown test`.
pub(crate) async fn test_main(args: TestArgs) -> anyhow::Result<Outcome> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("experiments")]
    } else {
        args.paths.clone()
    };
    let files = suite::collect(&paths)?;
    check_outputs(args.json.as_deref(), args.junit.as_deref(), &args.pages)?;
    args.watch.check_csv()?;
    let selection = Selection {
        filter: args.filter.as_deref().map(Filter::parse).transpose()?,
        tags: args.tags.clone(),
    };
    let base = LoadOptions {
        watch: args.watch.flags(),
        ..options(&args.vars)?
    };
    let fresh = || LoadOptions {
        run_dir: fresh_run_dir(),
        ..base.clone()
    };
    let (document, worst) = suite::run(&files, &selection, fresh, |event| match event {
        Event::Invalid(file, e) => {
            print(format_args!("{} INVALID\n", file.display()));
            eprintln!("{e}");
        }
        Event::Ran(file, report) => {
            let secs = report.elapsed().as_secs_f64();
            let reason = report
                .reason
                .clone()
                .map(|r| format!(" — {r}"))
                .unwrap_or_default();
            print(format_args!(
                "{} {} ({:.1}s) {}{reason}\n",
                file.display(),
                report.status.as_str().to_uppercase(),
                secs,
                report.title
            ));
            if args.verbose {
                print(format_args!("{}", terminal::render(report)));
            }
        }
    })
    .await?;
    write_outputs(
        &document,
        args.json.as_deref(),
        args.junit.as_deref(),
        &args.pages,
    )?;
    write_csv(&document, &args.watch)?;
    if let Some(path) = std::env::var_os(STEP_SUMMARY).filter(|p| !p.is_empty()) {
        markdown::append(Path::new(&path), &document)?;
    }
    print(format_args!("{}\n", document.counts()));
    if worst == Outcome::NothingSelected {
        eprintln!(
            "shakedown: no experiment selected: -k and --tag matched none of {} file(s)",
            files.len()
        );
    }
    Ok(worst)
}
