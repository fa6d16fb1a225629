//! Baselines: a run's key figures saved to a small versioned JSON file (`--save-baseline`) and
//! a later run compared against them (`--baseline`), noise-aware under `--repeat` (see
//! `docs/baselines.md`).
//!
//! | module | owns |
//! |---|---|
//! | [`figure`] | the named figures (value, unit, better direction, per-run samples) and how each is read from a run |
//! | [`noise`] | the rule that calls a difference a change or noise (bootstrap interval of the medians' change) |
//! | [`compare`] | old against new, figure by figure: the [`Comparison`] the journal and the reports show |
//! | `wire` | a relative change in JSON (`"+inf"` from a zero baseline) |
//!
//! Decisions (documented in `docs/baselines.md`): a baseline of another experiment (another
//! `title`) is refused, exit 2, before anything runs; a baseline is saved only from a run that
//! passed, so a regressed run never replaces the baseline it regressed from.

pub mod compare;
pub mod figure;
pub mod noise;
mod wire;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use compare::{Change, Comparison, DEFAULT_THRESHOLD};
pub use figure::{Direction, Figure, Unit};
pub use noise::Verdict;
pub use wire::Relative;

use super::record::{ExperimentRecord, Status};
use super::spec::Experiment;
use crate::config::{ConfigError, Position};
use crate::exit::InvalidInput;

/// The baseline file format version this release writes and reads.
pub const VERSION: u32 = 1;

/// Where `--baseline NAME` and `--save-baseline NAME` keep their files.
pub const DIR: &str = ".shakedown/baselines";

/// The largest baseline file read, in bytes (16 MiB: a few hundred figures of a thousand runs).
pub const MAX_BYTES: u64 = 16 * 1024 * 1024;

/// A saved baseline: the figures of one experiment's runs and where they come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Format version ([`VERSION`]).
    pub version: u32,
    /// The experiment the figures were measured from.
    pub experiment: Identity,
    /// Where, when and with what they were measured.
    pub provenance: Saved,
    /// Runs the figures come from (`--repeat N`).
    pub runs: usize,
    /// The figures by name (`p99`, `error_rate`, `ttr.STEP`, …).
    pub figures: BTreeMap<String, Figure>,
}

/// Which experiment a baseline belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// Its title (what a comparison checks).
    pub title: String,
    /// The file it ran from.
    pub file: String,
}

/// Where and when a baseline was measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Saved {
    /// The shakedown release, e.g. `0.2.0`.
    pub shakedown_version: String,
    /// The host name.
    pub host: Option<String>,
    /// When it was saved, RFC 3339.
    pub saved: String,
    /// The load's seed (of the first run), else the experiment's `seed`.
    pub seed: Option<u64>,
}

impl Baseline {
    /// The baseline of an experiment's record: its figures and provenance.
    pub fn of(experiment: &Experiment, record: &ExperimentRecord) -> Self {
        let load_seed = record.runs.iter().find_map(|r| Some(r.load.as_ref()?.seed));
        Self {
            version: VERSION,
            experiment: Identity {
                title: experiment.title.clone(),
                file: experiment.file.display().to_string(),
            },
            provenance: Saved {
                shakedown_version: env!("CARGO_PKG_VERSION").to_string(),
                host: record.provenance.host.clone(),
                saved: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
                seed: load_seed.or(experiment.seed),
            },
            runs: complete_runs(record),
            figures: figure::figures(record),
        }
    }

    /// Read a baseline file.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the file and, where it applies, the field and position: the
    /// file is missing or unreadable, not JSON, of a newer (or no) `version`, not of this shape,
    /// or a figure's value is not finite, negative where its unit is not, or of another unit
    /// or direction than the figure of that name.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let refuse = |field: &str, message: String| {
            ConfigError::one(path, Position::default(), field, message)
        };
        if !path.exists() {
            return Err(refuse(
                "",
                "no such baseline file (save one with `shakedown run FILE --save-baseline NAME`)"
                    .into(),
            ));
        }
        let text = crate::config::read_text_within(path, MAX_BYTES)?;
        let json_error = |e: &serde_json::Error| Position {
            line: e.line() as u64,
            column: e.column() as u64,
        };
        // The version first, so a newer file is refused for its version rather than its shape;
        // text that is not JSON is left to the typed read below, which names the field.
        if let Ok(value) = serde_json::from_str::<Value>(&text) {
            check_version(&value).map_err(|m| refuse("version", m))?;
        }
        let mut de = serde_json::Deserializer::from_str(&text);
        let baseline: Baseline = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner();
            // The position leads the message: drop serde_json's own ` at line L column C`.
            let message = inner.to_string();
            let message = message
                .rsplit_once(" at line ")
                .map_or(message.as_str(), |(m, _)| m);
            let message = if inner.is_data() {
                message.to_string()
            } else {
                format!("not JSON ({message})")
            };
            // `?` stands for a key the text ended before: name the object it was in.
            let field = field.trim_end_matches(".?").trim_end_matches('?');
            let field = if field == "." { "" } else { field };
            ConfigError::one(path, json_error(&inner), field, message)
        })?;
        baseline
            .check()
            .map_err(|(field, message)| refuse(&field, message))?;
        Ok(baseline)
    }

    /// What `save` always writes and an edited file may not hold: at least one run; every
    /// figure known by name, with 1 to `runs` samples whose median is its value, finite,
    /// non-negative unless a slope, a fraction at most 1, and shaped like its name says.
    fn check(&self) -> Result<(), (String, String)> {
        if self.runs == 0 {
            return Err(("runs".into(), "must be at least 1".into()));
        }
        for (name, f) in &self.figures {
            let at = |field: &str| format!("figures.{name}.{field}");
            if figure::expected_shape(name).is_none() {
                return Err((
                    format!("figures.{name}"),
                    "is not a figure shakedown measures".into(),
                ));
            }
            if f.samples.is_empty() || f.samples.len() > self.runs {
                return Err((
                    at("samples"),
                    format!(
                        "holds {} values; 1 to runs ({}) expected",
                        f.samples.len(),
                        self.runs
                    ),
                ));
            }
            for (i, v) in std::iter::once(f.value)
                .chain(f.samples.iter().copied())
                .enumerate()
            {
                let field = if i == 0 {
                    at("value")
                } else {
                    at(&format!("samples[{}]", i - 1))
                };
                if !v.is_finite() {
                    return Err((field, format!("{v} is not a finite number")));
                }
                if v < 0.0 && !f.unit.signed() {
                    return Err((field, format!("{v} is negative")));
                }
                if f.unit == figure::Unit::Fraction && v > 1.0 {
                    return Err((field, format!("{v} is a fraction above 1")));
                }
            }
            let median = noise::median(&f.samples).unwrap_or(f.value);
            if (median - f.value).abs() > 1e-9 * median.abs().max(f.value.abs()).max(1.0) {
                return Err((
                    at("value"),
                    format!("{} is not the median of its samples ({median})", f.value),
                ));
            }
            match figure::expected_shape(name) {
                Some(shape) if shape != (f.unit, f.direction) => {
                    return Err((
                        at("unit"),
                        format!(
                            "{name} is in `{}` with {} better, not `{}` with {} better",
                            wire(shape.0),
                            wire(shape.1),
                            wire(f.unit),
                            wire(f.direction)
                        ),
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Write it to `path` (folders created), replacing the file whole: written beside it and
    /// renamed, so an interrupted save never leaves a truncated baseline.
    ///
    /// # Errors
    /// The folder cannot be created or the file written.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)? + "\n";
        let partial = path.with_extension("json.partial");
        std::fs::write(&partial, text)?;
        std::fs::rename(&partial, path)
    }
}

/// A unit or direction as the file writes it (`s`, `lower`).
fn wire(v: impl Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

/// A baseline's `version`: present, and not newer than [`VERSION`].
fn check_version(value: &Value) -> Result<(), String> {
    match value.get("version").map(Value::as_u64) {
        None => Err("missing: not a shakedown baseline".into()),
        Some(Some(v)) if v > u64::from(VERSION) => Err(format!(
            "{v} is newer than this release reads ({VERSION}): upgrade shakedown, or save the \
             baseline again with this one"
        )),
        Some(Some(v)) if v == u64::from(VERSION) => Ok(()),
        Some(_) => Err(format!("must be {VERSION}")),
    }
}

/// Runs that completed (passed or failed): the ones figures are read from.
fn complete_runs(record: &ExperimentRecord) -> usize {
    record
        .runs
        .iter()
        .filter(|r| matches!(r.status, Some(Status::Passed | Status::Failed)))
        .count()
}

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
            super::verdict::judge_regression(experiment, record);
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

#[cfg(test)]
mod tests;
