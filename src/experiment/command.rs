//! `shakedown run`, `shakedown test` and `shakedown validate`: arguments and entry points.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::measure;
use super::run::{Progress, run_once};
use super::spec::Experiment;
use super::suite::{self, Filter};
use super::validate::{self, LoadOptions};
use crate::exit::{InvalidInput, Outcome};
use crate::report::journal::{Document, ExperimentReport, Status, VERSION};
use crate::report::{self, junit, terminal};

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
    /// Do not print events as they happen.
    #[arg(long, short)]
    pub quiet: bool,
}

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
    /// Print each experiment's summary, not only its line.
    #[arg(long, short)]
    pub verbose: bool,
}

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

fn options(vars: &[String]) -> Result<LoadOptions, InvalidInput> {
    let mut map = BTreeMap::new();
    for v in vars {
        let (k, val) = v
            .split_once('=')
            .filter(|(k, _)| !k.trim().is_empty())
            .ok_or_else(|| InvalidInput::new(format!("--var {v:?}: expected KEY=VALUE")))?;
        map.insert(k.trim().to_string(), val.to_string());
    }
    Ok(LoadOptions {
        vars: map,
        run_dir: fresh_run_dir(),
    })
}

/// A new scratch folder path for `${run.dir}` (created when the run starts).
fn fresh_run_dir() -> PathBuf {
    std::env::temp_dir().join(format!("shakedown-{}", uuid::Uuid::new_v4()))
}

/// `shakedown validate`.
pub async fn validate_main(args: ValidateArgs) -> anyhow::Result<Outcome> {
    let options = options(&args.vars)?;
    let mut bad = 0;
    for file in suite::collect(&args.paths)? {
        match validate::load_file(&file, &options) {
            Ok(e) => {
                e.warnings.iter().for_each(|w| eprintln!("{w}"));
                crate::cli::print(format_args!(
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

/// `shakedown run`.
pub async fn run_main(args: RunArgs) -> anyhow::Result<Outcome> {
    let options = options(&args.vars)?;
    let experiment = validate::load_file(&args.file, &options)?;
    experiment.warnings.iter().for_each(|w| eprintln!("{w}"));
    if args.dry_run {
        crate::cli::print(format_args!("{}", super::timeline::render(&experiment)));
        return Ok(Outcome::Passed);
    }
    let progress = Progress {
        verbose: !args.quiet,
    };
    // Every run gets its own `${run.dir}`, so a store's data file cannot carry one run's
    // writes into the next (they would read back as unexpected instead of lost).
    let mut runs = vec![(experiment, options.run_dir.clone())];
    for _ in 1..args.repeat {
        let options = LoadOptions {
            run_dir: fresh_run_dir(),
            ..options.clone()
        };
        let experiment = validate::load_file(&args.file, &options)?;
        runs.push((experiment, options.run_dir));
    }
    let report = run_experiment(&runs, progress).await?;
    crate::cli::print(format_args!("{}", terminal::render(&report)));
    let document = document(vec![report]);
    write_outputs(&document, args.json.as_deref(), args.junit.as_deref())?;
    Ok(outcome(document.experiments[0].status))
}

/// Run an experiment once per `(experiment, run dir)` pair (the same file expanded with a fresh
/// `${run.dir}` each time) and summarize; a run's folder is removed when that run passed.
pub async fn run_experiment(
    planned: &[(Experiment, PathBuf)],
    progress: Progress,
) -> anyhow::Result<ExperimentReport> {
    let Some((experiment, _)) = planned.first() else {
        anyhow::bail!("no run planned");
    };
    let repeat = planned.len();
    let mut runs = Vec::new();
    for (n, (experiment, dir)) in (1..).zip(planned) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        if progress.verbose {
            eprintln!("{} (run {n}/{repeat})", experiment.title);
        }
        let started = tokio::time::Instant::now();
        let mut run = run_once(experiment, n, dir, progress).await;
        run.elapsed = started.elapsed().as_secs_f64();
        if let Some(kept) = super::run::tidy_run_dir(dir, run.status == Some(Status::Passed)) {
            eprintln!("run {n}/{repeat}: {kept}");
        }
        let stop = matches!(run.status, Some(Status::Aborted | Status::PreflightFailed));
        runs.push(run);
        if stop {
            break;
        }
    }
    let (mut from_inject, mut from_removal, mut unrecovered) = (Vec::new(), Vec::new(), 0);
    for m in runs
        .iter()
        .flat_map(|r| &r.steps)
        .filter_map(|s| s.measurement)
    {
        if let (Some(a), Some(b)) = (m.recovery_from_injection, m.recovery_from_removal) {
            from_inject.push(a);
            from_removal.push(b);
        } else if !m.recovered() {
            unrecovered += 1;
        }
    }
    let worst = runs
        .iter()
        .filter_map(|r| r.status.map(|s| (s, r.reason.clone())))
        .max_by_key(|(s, _)| rank(*s));
    let (status, reason) = worst.unwrap_or((Status::Aborted, Some("no run completed".into())));
    Ok(ExperimentReport {
        file: experiment.file.display().to_string(),
        title: experiment.title.clone(),
        tags: experiment.tags.clone(),
        status,
        reason,
        runs,
        mttr: measure::summarize(&from_inject),
        mttr_from_removal: measure::summarize(&from_removal),
        unrecovered,
    })
}

fn rank(s: Status) -> u8 {
    match s {
        Status::Skipped => 0,
        Status::Passed => 1,
        Status::Failed => 2,
        Status::Invalid => 3,
        Status::PreflightFailed => 4,
        Status::Aborted => 5,
    }
}

fn outcome(s: Status) -> Outcome {
    match s {
        Status::Passed | Status::Skipped => Outcome::Passed,
        Status::Failed => Outcome::Failed,
        Status::Invalid => Outcome::Invalid,
        Status::Aborted | Status::PreflightFailed => Outcome::Aborted,
    }
}

fn document(experiments: Vec<ExperimentReport>) -> Document {
    let count = |f: fn(Status) -> bool| experiments.iter().filter(|e| f(e.status)).count();
    Document {
        version: VERSION,
        passed: count(|s| s == Status::Passed),
        skipped: count(|s| s == Status::Skipped),
        failed: count(|s| !matches!(s, Status::Passed | Status::Skipped)),
        experiments,
    }
}

fn write_outputs(
    document: &Document,
    json: Option<&Path>,
    junit_path: Option<&Path>,
) -> anyhow::Result<()> {
    if let Some(p) = json {
        report::write_json(p, document)?;
    }
    if let Some(p) = junit_path {
        junit::write(p, document)?;
    }
    Ok(())
}

fn skipped(file: &Path, title: &str, tags: &[String], why: String) -> ExperimentReport {
    ExperimentReport {
        file: file.display().to_string(),
        title: title.to_string(),
        tags: tags.to_vec(),
        status: Status::Skipped,
        reason: Some(why),
        runs: Vec::new(),
        mttr: None,
        mttr_from_removal: None,
        unrecovered: 0,
    }
}

/// `shakedown test`.
pub async fn test_main(args: TestArgs) -> anyhow::Result<Outcome> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("experiments")]
    } else {
        args.paths.clone()
    };
    let files = suite::collect(&paths)?;
    let filter = args.filter.as_deref().map(Filter::parse).transpose()?;
    let mut reports = Vec::new();
    let mut worst = Outcome::Passed;
    for file in files {
        let options = options(&args.vars)?;
        let experiment = match validate::load_file(&file, &options) {
            Ok(e) => e,
            Err(e) => {
                crate::cli::print(format_args!("{} INVALID\n", file.display()));
                eprintln!("{e}");
                let mut r = skipped(&file, "", &[], e.to_string());
                r.status = Status::Invalid;
                reports.push(r);
                worst = worse(Outcome::Invalid, worst);
                continue;
            }
        };
        let haystack = format!("{} {}", experiment.title, file.display());
        if !filter.as_ref().is_none_or(|f| f.matches(&haystack)) {
            reports.push(skipped(
                &file,
                &experiment.title,
                &experiment.tags,
                "deselected by -k".into(),
            ));
            continue;
        }
        if !args.tags.is_empty() && !experiment.tags.iter().any(|t| args.tags.contains(t)) {
            reports.push(skipped(
                &file,
                &experiment.title,
                &experiment.tags,
                "no matching --tag".into(),
            ));
            continue;
        }
        let title = experiment.title.clone();
        let report = run_experiment(
            &[(experiment, options.run_dir)],
            Progress { verbose: false },
        )
        .await?;
        let secs: f64 = report.runs.iter().map(|r| r.elapsed).sum();
        let reason = report
            .reason
            .clone()
            .map(|r| format!(" — {r}"))
            .unwrap_or_default();
        crate::cli::print(format_args!(
            "{} {} ({:.1}s) {}{reason}\n",
            file.display(),
            report.status.as_str().to_uppercase(),
            secs,
            title
        ));
        if args.verbose {
            crate::cli::print(format_args!("{}", terminal::render(&report)));
        }
        worst = worse(outcome(report.status), worst);
        reports.push(report);
    }
    let document = document(reports);
    let mut closing = format!("{} passed, {} failed", document.passed, document.failed);
    if document.skipped > 0 {
        closing.push_str(&format!(", {} skipped", document.skipped));
    }
    crate::cli::print(format_args!("{closing}\n"));
    write_outputs(&document, args.json.as_deref(), args.junit.as_deref())?;
    Ok(worst)
}

/// The more serious of two outcomes (aborted > invalid > failed > passed).
fn worse(a: Outcome, b: Outcome) -> Outcome {
    if a.code() >= b.code() { a } else { b }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_need_a_key_and_an_equals_sign() {
        let o = options(&["port=18080".into(), " name = a=b".into()]).unwrap();
        assert_eq!(o.vars["port"], "18080");
        assert_eq!(o.vars["name"], " a=b");
        for bad in ["port", "=18080", " =x"] {
            let e = options(&[bad.into()]).unwrap_err();
            assert_eq!(e.to_string(), format!("--var {bad:?}: expected KEY=VALUE"));
        }
    }
}
