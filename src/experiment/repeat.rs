//! One experiment file run N times (`--repeat`): each run in a fresh `${run.dir}`, the worst
//! status wins, and MTTR is summarized across every measured step of every run.

use std::path::PathBuf;

use anyhow::Context;

use super::measure;
use super::record::{ExperimentRecord, Provenance, Status};
use super::run::{Progress, run_once};
use super::spec::Experiment;
use crate::exit::Outcome;

/// A new scratch folder path for `${run.dir}` (created when the run starts).
pub fn fresh_run_dir() -> PathBuf {
    std::env::temp_dir().join(format!("shakedown-{}", uuid::Uuid::new_v4()))
}

/// Run an experiment once per `(experiment, run dir)` pair (the same file expanded with a fresh
/// `${run.dir}` each time) and summarize; a run's folder is removed when that run passed or holds no file, and named otherwise.
pub async fn run_experiment(
    planned: &[(Experiment, PathBuf)],
    progress: Progress,
) -> anyhow::Result<ExperimentRecord> {
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
        run.elapsed = started.elapsed();
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
        .max_by_key(|(s, _)| s.rank());
    let (status, reason) = worst.unwrap_or((Status::Aborted, Some("no run completed".into())));
    Ok(ExperimentRecord {
        file: experiment.file.display().to_string(),
        title: experiment.title.clone(),
        description: experiment.description.clone().unwrap_or_default(),
        tags: experiment.tags.clone(),
        status,
        reason,
        runs,
        mttr: measure::summarize(&from_inject),
        mttr_from_removal: measure::summarize(&from_removal),
        unrecovered,
        provenance: Provenance::here(Some(experiment.resolved.clone())),
        baseline: None,
    })
}

/// The exit outcome of a status.
pub fn outcome(s: Status) -> Outcome {
    match s {
        Status::Passed | Status::Skipped => Outcome::Passed,
        Status::Failed => Outcome::Failed,
        Status::Invalid => Outcome::Invalid,
        Status::Aborted | Status::PreflightFailed => Outcome::Aborted,
    }
}
