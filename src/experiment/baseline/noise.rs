//! The noise rule: is the difference between two sets of per-run samples of one figure a real
//! change, or inside the runs' own spread? (pure, seeded)
//!
//! Method (criterion.rs's change analysis, on medians): with at least two runs on each side,
//! a percentile bootstrap (Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993, ch.
//! 13) of the relative change of the medians, [`RESAMPLES`] resamples drawn with a fixed seed
//! (the verdict of the same two files is always the same), gives a [`CONFIDENCE`] interval.
//! - the interval contains 0: the difference is within the runs' own spread ("within noise");
//! - it lies entirely past the threshold in the worse direction: regressed; entirely past it
//!   in the better direction: improved;
//! - otherwise the change is real but smaller than the threshold ("within noise", criterion's
//!   "change within noise threshold").
//!
//! With one run on either side there is no spread to judge against: the plain relative
//! change is held against the threshold.
//!
//! Relative change is `(new − old) / |old|`; `0 → 0` is no change and `0 → x` an infinite
//! one (its sign is the sign of `x`).

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::figure::Direction;
use super::wire::Relative;

/// Bootstrap resamples per comparison.
pub const RESAMPLES: usize = 10_000;
/// The confidence of the bootstrap interval.
pub const CONFIDENCE: f64 = 0.95;
/// The seed of the resampling, fixed so that a comparison is reproducible.
const SEED: u64 = 0x5eed_ba5e;

/// What a comparison of one figure concluded.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Better by more than the threshold (and, with spread, beyond the runs' noise).
    Improved,
    /// Worse by more than the threshold (and, with spread, beyond the runs' noise).
    Regressed,
    /// Inside the runs' spread, or a change smaller than the threshold.
    WithinNoise,
    /// The baseline holds no such figure.
    NoBaselineFigure,
    /// The baseline holds it; this run did not measure it.
    NotMeasured,
}

impl Verdict {
    /// As printed: `improved`, `regressed`, `within noise`, `no baseline figure`, `not measured`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::Regressed => "regressed",
            Verdict::WithinNoise => "within noise",
            Verdict::NoBaselineFigure => "no baseline figure",
            Verdict::NotMeasured => "not measured",
        }
    }
}

/// The outcome of [`judge`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judged {
    /// The verdict.
    pub verdict: Verdict,
    /// Relative change of the medians.
    pub change: Relative,
    /// The bootstrap interval of `change` (`None`: one run on a side, no spread).
    pub interval: Option<(Relative, Relative)>,
}

/// The median of `values` (mean of the middle two for an even count); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// `(new − old) / |old|`, with `0 → 0` unchanged and `0 → x` infinite.
pub fn relative(old: f64, new: f64) -> f64 {
    if old == new {
        0.0
    } else if old == 0.0 {
        f64::INFINITY.copysign(new)
    } else {
        (new - old) / old.abs()
    }
}

/// Judge `new` samples against `old` ones (both non-empty, finite) for a figure where
/// `direction` is better, with `threshold` the relative change that counts (0.05 = 5 %).
pub fn judge(old: &[f64], new: &[f64], direction: Direction, threshold: f64) -> Option<Judged> {
    let change = relative(median(old)?, median(new)?);
    // Positive `worse` is a change in the bad direction.
    let worse = |c: f64| match direction {
        Direction::Lower => c,
        Direction::Higher => -c,
    };
    let past = |lo: f64, hi: f64| {
        let (lo, hi) = (worse(lo).min(worse(hi)), worse(lo).max(worse(hi)));
        if lo > threshold {
            Verdict::Regressed
        } else if hi < -threshold {
            Verdict::Improved
        } else {
            Verdict::WithinNoise
        }
    };
    if old.len() < 2 || new.len() < 2 {
        return Some(Judged {
            verdict: past(change, change),
            change: Relative(change),
            interval: None,
        });
    }
    let (lo, hi) = interval(old, new);
    let verdict = if lo <= 0.0 && hi >= 0.0 {
        Verdict::WithinNoise
    } else {
        past(lo, hi)
    };
    Some(Judged {
        verdict,
        change: Relative(change),
        interval: Some((Relative(lo), Relative(hi))),
    })
}

/// The percentile bootstrap interval of the relative change of the medians.
fn interval(old: &[f64], new: &[f64]) -> (f64, f64) {
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut draw = |from: &[f64], into: &mut Vec<f64>| {
        into.clear();
        into.extend((0..from.len()).map(|_| from[rng.random_range(0..from.len())]));
        median(into).unwrap_or(0.0)
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut changes: Vec<f64> = (0..RESAMPLES)
        .map(|_| relative(draw(old, &mut a), draw(new, &mut b)))
        .collect();
    changes.sort_by(f64::total_cmp);
    let tail = (1.0 - CONFIDENCE) / 2.0;
    let at = |q: f64| changes[((q * RESAMPLES as f64) as usize).min(RESAMPLES - 1)];
    (at(tail), at(1.0 - tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(old: &[f64], new: &[f64]) -> Verdict {
        judge(old, new, Direction::Lower, 0.05).unwrap().verdict
    }

    #[test]
    fn identical_sets_are_within_noise() {
        let s = [10.0, 12.0, 11.0, 13.0];
        let j = judge(&s, &s, Direction::Lower, 0.05).unwrap();
        assert_eq!(j.verdict, Verdict::WithinNoise);
        assert_eq!(j.change, Relative(0.0));
        let (lo, hi) = j.interval.unwrap();
        assert!(lo.0 <= 0.0 && hi.0 >= 0.0, "{lo:?} {hi:?}");
    }

    #[test]
    fn a_clearly_shifted_set_regressed_or_improved_by_direction() {
        let old = [10.0, 11.0, 12.0];
        let new = [20.0, 21.0, 22.0];
        let j = judge(&old, &new, Direction::Lower, 0.05).unwrap();
        assert_eq!(j.verdict, Verdict::Regressed);
        // Medians 11 → 21: +90.9 %; the interval lies past the threshold.
        assert!((j.change.0 - 10.0 / 11.0).abs() < 1e-9);
        assert!(j.interval.unwrap().0.0 > 0.05);
        assert_eq!(verdict(&new, &old), Verdict::Improved);
        let higher = judge(&old, &new, Direction::Higher, 0.05).unwrap();
        assert_eq!(
            higher.verdict,
            Verdict::Improved,
            "more requests per second"
        );
    }

    #[test]
    fn overlapping_spread_is_within_noise_even_past_the_threshold() {
        // Medians 12 → 13 (+8.3 %, past a 5 % threshold), but the runs overlap.
        assert_eq!(
            verdict(&[10.0, 12.0, 14.0], &[11.0, 13.0, 15.0]),
            Verdict::WithinNoise
        );
    }

    #[test]
    fn a_real_change_smaller_than_the_threshold_is_within_noise() {
        // Tight runs, a consistent +2 %: real, but under the 5 % that counts.
        let old = [100.0, 100.1, 99.9, 100.0];
        let new = [102.0, 102.1, 101.9, 102.0];
        let j = judge(&old, &new, Direction::Lower, 0.05).unwrap();
        assert!(j.interval.unwrap().0.0 > 0.0, "the change is real");
        assert_eq!(j.verdict, Verdict::WithinNoise);
        assert_eq!(
            judge(&old, &new, Direction::Lower, 0.01).unwrap().verdict,
            Verdict::Regressed
        );
    }

    #[test]
    fn one_run_on_a_side_applies_the_plain_threshold() {
        let j = judge(&[100.0], &[104.0], Direction::Lower, 0.05).unwrap();
        assert_eq!((j.verdict, j.interval), (Verdict::WithinNoise, None));
        assert_eq!(verdict(&[100.0], &[106.0, 107.0]), Verdict::Regressed);
        assert_eq!(verdict(&[100.0, 101.0], &[90.0]), Verdict::Improved);
    }

    #[test]
    fn zero_baselines_unchanged_or_infinite() {
        assert_eq!(relative(0.0, 0.0), 0.0);
        assert_eq!(relative(0.0, 0.01), f64::INFINITY);
        assert_eq!(relative(0.0, -1.0), f64::NEG_INFINITY);
        assert_eq!(verdict(&[0.0], &[0.0]), Verdict::WithinNoise);
        let j = judge(&[0.0], &[0.02], Direction::Lower, 0.05).unwrap();
        assert_eq!(
            (j.verdict, j.change),
            (Verdict::Regressed, Relative(f64::INFINITY))
        );
        assert_eq!(
            verdict(&[0.0, 0.0, 0.0], &[0.01, 0.02, 0.01]),
            Verdict::Regressed
        );
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }
}
