//! The baseline file: its shape, its identity, taking it from a run's record, reading and
//! checking a saved one.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Figure, MAX_BYTES, VERSION, figure, noise};
use crate::config::{ConfigError, Position};
use crate::experiment::record::{ExperimentRecord, Status};
use crate::experiment::spec::Experiment;

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
pub(super) fn complete_runs(record: &ExperimentRecord) -> usize {
    record
        .runs
        .iter()
        .filter(|r| matches!(r.status, Some(Status::Passed | Status::Failed)))
        .count()
}
