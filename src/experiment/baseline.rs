//! Baselines: a run's key figures saved to a small versioned JSON file (`--save-baseline`) and
//! a later run compared against them (`--baseline`), noise-aware under `--repeat` (see
//! `docs/baselines.md`).
//!
//! | module | owns |
//! |---|---|
//! | [`figure`] | the named figures (value, unit, better direction, per-run samples) and how each is read from a run |
//! | [`noise`] | the rule that calls a difference a change or noise (bootstrap interval of the medians' change) |
//! | [`compare`] | old against new, figure by figure: the [`Comparison`] the journal and the reports show |
//! | `file` | the baseline file: its shape, taken from a run's record, read back and checked |
//! | `plan` | what `--baseline` and `--save-baseline` ask of a run, checked before it starts |
//! | `wire` | a relative change in JSON (`"+inf"` from a zero baseline) |
//!
//! Decisions (documented in `docs/baselines.md`): a baseline of another experiment (another
//! `title`) is refused, exit 2, before anything runs; a baseline is saved only from a run that
//! passed, so a regressed run never replaces the baseline it regressed from.

pub mod compare;
pub mod figure;
mod file;
pub mod noise;
mod plan;
mod wire;

pub use compare::{Change, Comparison, DEFAULT_THRESHOLD};
pub use figure::{Direction, Figure, Unit};
pub use file::{Baseline, Identity, Saved};
pub use noise::Verdict;
pub use plan::{Plan, location, needs_no_baseline};
pub use wire::Relative;

/// The baseline file format version this release writes and reads.
pub const VERSION: u32 = 1;

/// Where `--baseline NAME` and `--save-baseline NAME` keep their files.
pub const DIR: &str = ".shakedown/baselines";

/// The largest baseline file read, in bytes (16 MiB: a few hundred figures of a thousand runs).
pub const MAX_BYTES: u64 = 16 * 1024 * 1024;

#[cfg(test)]
mod tests;
