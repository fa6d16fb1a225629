//! What `--baseline` and `--save-baseline` ask of a run: where the file is, checked before
//! the run starts, and the comparison or the save at its end.

use std::path::{Path, PathBuf};

use super::file::complete_runs;
use super::{Baseline, Comparison, DEFAULT_THRESHOLD, DIR, compare, figure};
use crate::config::{ConfigError, Position};
use crate::exit::InvalidInput;
use crate::experiment::record::{ExperimentRecord, Status};
use crate::experiment::spec::Experiment;

/// The file of `--baseline VALUE`: a value holding `/` or ending in `.json` is a path, any other
/// a name under [`DIR`] (`main` → `.shakedown/baselines/main.json`).
///
/// # Errors
/// A name that does not follow [`crate::config::name`].
pub fn location(value: &str) -> Result<PathBuf, String> {
    if value.contains('/') || value.ends_with(".json") {
        return Ok(PathBuf::from(value));
    }
    crate::config::name::check(value).map_err(|e| {
        format!("`{value}`: a baseline name {e}; or give a path (with a `/` or ending in `.json`)")
    })?;
    Ok(Path::new(DIR).join(format!("{value}.json")))
}

/// What `--baseline` and `--save-baseline` ask of a run, checked before it starts.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The baseline to compare with, read and checked.
    pub compare: Option<(PathBuf, Baseline)>,
    /// Where to save this run's baseline.
    pub save: Option<PathBuf>,
}

impl Plan {
    /// Check the flags against the experiment before anything runs: the names, the baseline
    /// file (read, of this experiment), the save location (writable), and that an
    /// `expect.regression` has a baseline to compare with.
    ///
    /// # Errors
    /// Exit 2 errors ([`InvalidInput`] or the file's [`ConfigError`]), each naming the flag or
    /// the file and field.
    pub fn new(
        experiment: &Experiment,
        compare: Option<&str>,
        save: Option<&str>,
    ) -> anyhow::Result<Self> {
        let flag = |name: &str, value: Option<&str>| {
            value
                .map(|v| location(v).map_err(|e| InvalidInput::new(format!("{name} {e}"))))
                .transpose()
        };
        let (compare, save) = (flag("--baseline", compare)?, flag("--save-baseline", save)?);
        if compare.is_none() && save.is_none() {
            needs_no_baseline(experiment)?;
        }
        let compare = match compare {
            Some(path) => {
                let baseline = Baseline::read(&path)?;
                same_experiment(&path, &baseline, experiment)?;
                Some((path, baseline))
            }
            None => None,
        };
        if let Some(path) = &save {
            writable(path).map_err(|e| {
                InvalidInput::new(format!(
                    "--save-baseline {}: cannot write it: {e}",
                    path.display()
                ))
            })?;
        }
        Ok(Self { compare, save })
    }

    /// After the runs: compare with the baseline (the record's `baseline` field, and the
    /// `expect.regression` verdict), then save this run's baseline when it passed. Returns
    /// what to tell the user about the save.
    ///
    /// # Errors
    /// The baseline could not be written (exit 3: the run itself is done).
    pub fn finish(
        &self,
        experiment: &Experiment,
        record: &mut ExperimentRecord,
    ) -> anyhow::Result<Option<String>> {
        if let Some((path, baseline)) = &self.compare {
            let threshold = experiment
                .expect
                .regression
                .as_ref()
                .map_or(DEFAULT_THRESHOLD, |r| r.max);
            let new = figure::figures(record);
            record.baseline = Some(Comparison {
                file: path.display().to_string(),
                saved: baseline.provenance.saved.clone(),
                threshold,
                baseline_runs: baseline.runs,
                runs: complete_runs(record),
                figures: compare::compare(&baseline.figures, &new, threshold),
            });
            crate::experiment::verdict::judge_regression(experiment, record);
        }
        let Some(path) = &self.save else {
            return Ok(None);
        };
        let unjudged = if self.compare.is_none() && experiment.expect.regression.is_some() {
            "; expect.regression not judged: no --baseline to compare with"
        } else {
            ""
        };
        if record.status != Status::Passed {
            return Ok(Some(format!(
                "baseline not saved to {}: the run {} (a baseline is saved only from a run that \
                 passed){unjudged}",
                path.display(),
                record.status.as_str()
            )));
        }
        Baseline::of(experiment, record)
            .save(path)
            .map_err(|e| anyhow::anyhow!("saving the baseline {}: {e}", path.display()))?;
        Ok(Some(format!(
            "baseline saved: {}{unjudged}",
            path.display()
        )))
    }
}

/// Refuse an experiment whose `expect.regression` would have no baseline to compare with
/// (`shakedown test`, or `run` without `--baseline` or `--save-baseline`).
///
/// # Errors
/// A [`ConfigError`] at `expect.regression` saying what to pass (exit 2).
pub fn needs_no_baseline(experiment: &Experiment) -> Result<(), ConfigError> {
    if experiment.expect.regression.is_none() {
        return Ok(());
    }
    Err(ConfigError::one(
        &experiment.file,
        Position::default(),
        "expect.regression",
        "compares the run against a baseline, which only `shakedown run --baseline NAME` takes \
         (the first run saves one with --save-baseline NAME)",
    ))
}

/// A baseline of another experiment (another title) is refused.
fn same_experiment(
    path: &Path,
    baseline: &Baseline,
    experiment: &Experiment,
) -> Result<(), ConfigError> {
    if baseline.experiment.title == experiment.title {
        return Ok(());
    }
    Err(ConfigError::one(
        path,
        Position::default(),
        "experiment.title",
        format!(
            "this baseline is of experiment `{}` ({}), not of `{}` ({}): compare runs of the \
             same experiment, or save a baseline of this one with --save-baseline",
            baseline.experiment.title,
            baseline.experiment.file,
            experiment.title,
            experiment.file.display()
        ),
    ))
}

/// Whether `path` can be written at the end of the run: an existing regular file, or a new one
/// in the nearest existing folder above it (folders are created when saving).
fn writable(path: &Path) -> std::io::Result<()> {
    use nix::unistd::{AccessFlags, access};
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() {
            return Err(std::io::Error::other("not a regular file"));
        }
        return access(path, AccessFlags::W_OK).map_err(std::io::Error::from);
    }
    // The nearest folder above it that exists must be one this process may write in.
    let folder = path
        .ancestors()
        .skip(1)
        .map(|f| {
            if f.as_os_str().is_empty() {
                Path::new(".")
            } else {
                f
            }
        })
        .find(|f| f.exists())
        .unwrap_or(Path::new("."));
    if !folder.is_dir() {
        return Err(std::io::Error::other(format!(
            "{} is not a folder",
            folder.display()
        )));
    }
    access(folder, AccessFlags::W_OK | AccessFlags::X_OK).map_err(std::io::Error::from)
}
