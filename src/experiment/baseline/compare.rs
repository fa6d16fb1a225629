//! A run's figures against a saved baseline's: old → new, relative change and verdict per
//! figure (pure; the noise rule is [`super::noise`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::figure::{Direction, Figure, Unit};
use super::noise::{self, Verdict};
use super::wire::Relative;

/// The relative change that counts when `expect.regression` does not set `max` (5 %).
pub const DEFAULT_THRESHOLD: f64 = 0.05;

/// How a run compared with a baseline (the journal's `baseline` field of an experiment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Comparison {
    /// The baseline file.
    pub file: String,
    /// When it was saved (RFC 3339).
    pub saved: String,
    /// The relative change that counts (0.05 = 5 %): `expect.regression.max`, else 5 %.
    pub threshold: f64,
    /// Runs the baseline's figures come from.
    pub baseline_runs: usize,
    /// Runs this comparison's figures come from.
    pub runs: usize,
    /// Every figure of either side, by name.
    pub figures: Vec<Change>,
}

/// One figure compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Change {
    /// The figure's name (`p99`, `error_rate`, `ttr.kill kv`, …).
    pub name: String,
    /// Its unit.
    pub unit: Unit,
    /// Which way is better.
    pub direction: Direction,
    /// The baseline's value (median of its runs), when it has the figure.
    pub old: Option<f64>,
    /// This run's value (median of its runs), when it measured the figure.
    pub new: Option<f64>,
    /// Relative change of the medians, when both sides have the figure.
    pub change: Option<Relative>,
    /// The bootstrap interval of `change` (95 %), when both sides have two runs or more.
    pub interval: Option<[Relative; 2]>,
    /// What the comparison concluded.
    pub verdict: Verdict,
}

impl Change {
    /// A value of this figure for people (`12.1 ms`), `—` when absent.
    pub fn shown(&self, v: Option<f64>) -> String {
        v.map_or("—".to_string(), |v| self.unit.for_people(v))
    }

    /// The relative change for people (`+15.7 %`), empty when there is none.
    pub fn change_shown(&self) -> String {
        self.change.map_or(String::new(), Relative::for_people)
    }

    /// `p99: 12.1 ms → 14.0 ms (+15.7 %, regressed)`.
    pub fn for_people(&self) -> String {
        let value = |v| self.shown(v);
        let change = self
            .change
            .map(|c| format!("{}, ", c.for_people()))
            .unwrap_or_default();
        format!(
            "{}: {} → {} ({change}{})",
            self.name,
            value(self.old),
            value(self.new),
            self.verdict.as_str()
        )
    }
}

impl Comparison {
    /// The change of `name`, if either side has it.
    pub fn get(&self, name: &str) -> Option<&Change> {
        self.figures.iter().find(|c| c.name == name)
    }

    /// Whether either side had a single run, so the plain threshold was applied.
    pub fn without_spread(&self) -> bool {
        self.baseline_runs < 2 || self.runs < 2
    }

    /// The rule the verdicts followed, in words.
    pub fn rule(&self) -> &'static str {
        if self.without_spread() {
            "one run on a side: no spread to judge against, the plain threshold applied"
        } else {
            "medians compared; within noise = inside the runs' own spread (95 % bootstrap interval)"
        }
    }
}

/// The samples of a figure (a file written by hand may hold only its `value`).
fn samples(f: &Figure) -> Vec<f64> {
    if f.samples.is_empty() {
        vec![f.value]
    } else {
        f.samples.clone()
    }
}

/// Compare `new` figures with `old` ones, `threshold` the relative change that counts.
pub fn compare(
    old: &BTreeMap<String, Figure>,
    new: &BTreeMap<String, Figure>,
    threshold: f64,
) -> Vec<Change> {
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    // In the catalogue's order (latency, rate, errors, recovery, resources), then per step.
    let mut names: Vec<&String> = names.into_iter().collect();
    names.sort_by_key(|n| {
        super::figure::CATALOGUE
            .iter()
            .position(|d| d.name == n.as_str())
            .unwrap_or(usize::MAX)
    });
    names
        .into_iter()
        .filter_map(|name| {
            let (o, n) = (old.get(name), new.get(name));
            let shape = n.or(o)?;
            let judged = match (o, n) {
                (Some(o), Some(n)) => {
                    noise::judge(&samples(o), &samples(n), n.direction, threshold)
                }
                _ => None,
            };
            let verdict = match (o, n, judged) {
                (None, _, _) => Verdict::NoBaselineFigure,
                (_, None, _) => Verdict::NotMeasured,
                (_, _, j) => j.map_or(Verdict::NotMeasured, |j| j.verdict),
            };
            Some(Change {
                name: name.clone(),
                unit: shape.unit,
                direction: shape.direction,
                old: o.map(|f| f.value),
                new: n.map(|f| f.value),
                change: judged.map(|j| j.change),
                interval: judged.and_then(|j| j.interval).map(|(a, b)| [a, b]),
                verdict,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fig(samples: &[f64]) -> Figure {
        Figure {
            value: noise::median(samples).unwrap(),
            unit: Unit::Seconds,
            direction: Direction::Lower,
            samples: samples.to_vec(),
        }
    }

    #[test]
    fn each_side_missing_a_figure_says_which() {
        let old = BTreeMap::from([
            ("p99".to_string(), fig(&[0.01])),
            ("mttr".into(), fig(&[2.0])),
        ]);
        let new = BTreeMap::from([
            ("p99".to_string(), fig(&[0.03])),
            ("p50".into(), fig(&[0.001])),
        ]);
        let changes = compare(&old, &new, 0.05);
        let verdicts: Vec<(&str, Verdict)> = changes
            .iter()
            .map(|c| (c.name.as_str(), c.verdict))
            .collect();
        assert_eq!(
            verdicts,
            [
                ("p50", Verdict::NoBaselineFigure),
                ("p99", Verdict::Regressed),
                ("mttr", Verdict::NotMeasured),
            ]
        );
        assert_eq!(
            changes[1].for_people(),
            "p99: 10.0 ms → 30.0 ms (+200.0 %, regressed)"
        );
        assert_eq!(
            changes[0].for_people(),
            "p50: — → 1.0 ms (no baseline figure)"
        );
        assert!(changes[1].interval.is_none(), "one run a side: no spread");
    }

    #[test]
    fn a_hand_written_figure_without_samples_is_its_value() {
        let mut old = fig(&[0.01]);
        old.samples.clear();
        let old = BTreeMap::from([("p99".to_string(), old)]);
        let new = BTreeMap::from([("p99".to_string(), fig(&[0.0101, 0.0102]))]);
        let c = &compare(&old, &new, 0.05)[0];
        assert_eq!((c.verdict, c.old), (Verdict::WithinNoise, Some(0.01)));
    }
}
