//! Time to detect, time to recover and MTTR: pure functions of a sample series and fault windows.
//!
//! Definitions (docs/experiments.md, "Measurements"):
//! - a sample passes when every steady-state probe passed (an erroring probe fails it);
//! - a *breach* is a run of consecutive failing samples; it belongs to the step most recently
//!   injected among the steps *in effect* at its first sample: a
//!   fault from `t_inject` to `t_clear`, an action from its start until the next step starts
//!   (a kill stays killed), each widened by a grace of one sampling interval on both sides (a
//!   sample is stamped when it starts, so one in flight as a step lands may see it; one that
//!   starts just after a removal may still see the fault). A breach no step was in effect for
//!   belongs to none;
//! - detected at = the first sample the step owns; TTD = detected − `t_inject` (0 when that
//!   sample was in flight as the step landed);
//! - recovered at = the start of the first run of `k` consecutive passing samples that
//!   follows both the detection and the step's last failing sample taken before `t_clear`
//!   (a flapping system has not recovered while the fault is still in place); a run of passes
//!   cut short by a later step's breach still counts (the system was well until the next step);
//! - TTR from injection = recovered − `t_inject`; from removal = recovered − `t_clear`
//!   (zero when the system recovered while the fault was still in place);
//! - a step never detected needs no recovery: it is "undetected" and counts as recovered.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::record::secs;

/// One steady-state sample on the run's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// When the sample was taken.
    pub at: Duration,
    /// Whether every probe passed.
    pub pass: bool,
}

/// When a fault was in place: confirmed injected and confirmed removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// `t_inject`.
    pub injected: Duration,
    /// `t_clear` (equal to `injected` for an instantaneous action).
    pub removed: Duration,
}

/// Detection and recovery of one fault.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Measurement {
    /// First failing sample at or after injection.
    #[serde(with = "secs::option")]
    #[schemars(with = "Option<f64>")]
    pub detected_at: Option<Duration>,
    /// detected_at − t_inject.
    #[serde(with = "secs::option")]
    #[schemars(with = "Option<f64>")]
    pub time_to_detect: Option<Duration>,
    /// Start of the first run of `recovered_after` passing samples after the breach.
    #[serde(with = "secs::option")]
    #[schemars(with = "Option<f64>")]
    pub recovered_at: Option<Duration>,
    /// recovered_at − t_inject.
    #[serde(with = "secs::option")]
    #[schemars(with = "Option<f64>")]
    pub recovery_from_injection: Option<Duration>,
    /// recovered_at − t_clear, zero when recovered before the fault was removed.
    #[serde(with = "secs::option")]
    #[schemars(with = "Option<f64>")]
    pub recovery_from_removal: Option<Duration>,
}

impl Measurement {
    /// Whether the steady state was breached at all.
    pub fn detected(&self) -> bool {
        self.detected_at.is_some()
    }

    /// Recovered, or never breached.
    pub fn recovered(&self) -> bool {
        !self.detected() || self.recovered_at.is_some()
    }

    /// Recovered within `deadline` of removal (never breached counts as in time).
    pub fn recovered_within(&self, deadline: Duration) -> bool {
        !self.detected() || self.recovery_from_removal.is_some_and(|r| r <= deadline)
    }
}

/// One step of the method on the run's clock, as attribution sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// When it was in place.
    pub window: Window,
    /// An action, whose effect lasts until the next step starts; a fault's ends at its removal.
    pub lasting: bool,
}

/// Measure every step against the samples (in time order): `spans[i]` is step `i` (`None`
/// when it never ran, giving `None`), `grace` how long after a step stops being in effect a
/// breach may still begin and be its own (one sampling interval), `k` passes mean recovered.
pub fn measure_steps(
    samples: &[Sample],
    spans: &[Option<Span>],
    grace: Duration,
    k: u32,
) -> Vec<Option<Measurement>> {
    let owners = breach_owners(samples, spans, grace);
    spans
        .iter()
        .enumerate()
        .map(|(step, span)| span.map(|s| measure_owned(samples, &owners, step, s.window, k)))
        .collect()
}

/// For each sample, the step its breach belongs to (`None` for passing or unowned samples).
fn breach_owners(
    samples: &[Sample],
    spans: &[Option<Span>],
    grace: Duration,
) -> Vec<Option<usize>> {
    let reach: Vec<Option<(Duration, Duration, Duration)>> = spans
        .iter()
        .map(|span| {
            let s = span.as_ref()?;
            let until = if s.lasting {
                // The next step to start after this one ends its effect; the last lasts forever.
                spans
                    .iter()
                    .flatten()
                    .map(|o| o.window.injected)
                    .filter(|&t| t > s.window.injected)
                    .min()
                    .map_or(Duration::MAX, |next| next.max(s.window.removed))
            } else {
                s.window.removed
            };
            // From one grace before the injection: a sample is stamped when it starts, and the
            // sampler and the timeline tick on the same clock, so a sample in flight as the
            // step lands is common and may see it.
            Some((
                s.window.injected,
                s.window.injected.saturating_sub(grace),
                until.saturating_add(grace),
            ))
        })
        .collect();
    let mut owners = vec![None; samples.len()];
    let mut current = None;
    for (i, sample) in samples.iter().enumerate() {
        if sample.pass {
            current = None;
            continue;
        }
        if i == 0 || samples[i - 1].pass {
            // A breach begins: the latest-injected step in effect at its first sample (grace
            // before and after included) owns it to its end; if none is, nobody does.
            current = reach
                .iter()
                .enumerate()
                .filter_map(|(step, r)| r.map(|(inj, from, until)| (step, inj, from, until)))
                .filter(|&(_, _, from, until)| from <= sample.at && sample.at <= until)
                .max_by_key(|&(step, injected, _, _)| (injected, step))
                .map(|(step, ..)| step);
        }
        owners[i] = current;
    }
    owners
}

/// The measurement of `step`, whose breaches are marked in `owners`.
fn measure_owned(
    samples: &[Sample],
    owners: &[Option<usize>],
    step: usize,
    window: Window,
    k: u32,
) -> Measurement {
    let k = k.max(1) as usize;
    let mine = |i: usize| owners[i] == Some(step);
    let Some(breach) = (0..samples.len()).find(|&i| mine(i)) else {
        return Measurement::default();
    };
    let detected_at = samples[breach].at;
    // The search starts after the breach and after the step's last failure while in place.
    let last_fail_in_place = (breach..samples.len())
        .rfind(|&i| mine(i) && samples[i].at < window.removed)
        .unwrap_or(breach);
    // The first run of `k` consecutive passes: its start is the first pass after the latest
    // failure. Another step's breach ends the search: a run it cuts short still counts.
    let mut run_start = None;
    let mut recovered_at = None;
    for (i, s) in samples.iter().enumerate().skip(last_fail_in_place + 1) {
        if !s.pass {
            if owners[i].is_some_and(|o| o != step) {
                recovered_at = run_start.map(|r: usize| samples[r].at);
                break;
            }
            run_start = None;
            continue;
        }
        let start = *run_start.get_or_insert(i);
        if i + 1 - start == k {
            recovered_at = Some(samples[start].at);
            break;
        }
    }
    Measurement {
        detected_at: Some(detected_at),
        time_to_detect: Some(detected_at.saturating_sub(window.injected)),
        recovered_at,
        recovery_from_injection: recovered_at.map(|r| r.saturating_sub(window.injected)),
        recovery_from_removal: recovered_at.map(|r| r.saturating_sub(window.removed)),
    }
}

/// p50, p90, max and count of a set of durations (nearest-rank percentiles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Summary {
    /// Median.
    #[serde(with = "secs")]
    #[schemars(with = "f64")]
    pub p50: Duration,
    /// 90th percentile.
    #[serde(with = "secs")]
    #[schemars(with = "f64")]
    pub p90: Duration,
    /// Largest.
    #[serde(with = "secs")]
    #[schemars(with = "f64")]
    pub max: Duration,
    /// How many values.
    pub n: usize,
}

/// Summarize `values`; `None` when empty.
pub fn summarize(values: &[Duration]) -> Option<Summary> {
    let mut v = values.to_vec();
    v.sort();
    let n = v.len();
    let rank = |p: f64| v[((p * n as f64).ceil() as usize).clamp(1, n) - 1];
    (n > 0).then(|| Summary {
        p50: rank(0.5),
        p90: rank(0.9),
        max: v[n - 1],
        n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    /// Samples every 250 ms from 0; `fail(t_ms)` says which fail.
    fn series(until_ms: u64, fail: impl Fn(u64) -> bool) -> Vec<Sample> {
        (0..=until_ms / 250)
            .map(|i| Sample {
                at: MS(i * 250),
                pass: !fail(i * 250),
            })
            .collect()
    }

    fn window(inject: u64, clear: u64) -> Window {
        Window {
            injected: MS(inject),
            removed: MS(clear),
        }
    }

    /// One fault alone, grace one 250 ms interval.
    fn measure(samples: &[Sample], window: Window, k: u32) -> Measurement {
        let span = Span {
            window,
            lasting: false,
        };
        measure_steps(samples, &[Some(span)], MS(250), k)[0].unwrap()
    }

    fn fault(inject: u64, clear: u64) -> Option<Span> {
        Some(Span {
            window: window(inject, clear),
            lasting: false,
        })
    }

    /// An action that started at `at` and took 10 ms.
    fn action(at: u64) -> Option<Span> {
        Some(Span {
            window: window(at, at + 10),
            lasting: true,
        })
    }

    #[test]
    fn outage_during_the_fault_recovers_after_removal() {
        // Fault 5 s..10 s; failing 5.25 s..10.5 s; passing from 10.75 s.
        let s = series(20_000, |t| (5_250..=10_500).contains(&t));
        let m = measure(&s, window(5_000, 10_000), 3);
        assert_eq!(m.time_to_detect, Some(MS(250)));
        assert_eq!(m.recovered_at, Some(MS(10_750)));
        assert_eq!(m.recovery_from_injection, Some(MS(5_750)));
        assert_eq!(m.recovery_from_removal, Some(MS(750)));
        assert!(m.recovered_within(MS(750)) && !m.recovered_within(MS(500)));
    }

    #[test]
    fn flapping_while_in_place_is_not_recovery() {
        // Fails on every third sample during 5..10 s: its runs of 2 passes reach k = 2 while the
        // fault is in place, yet recovery counts only after the last in-place failure at 9.75 s.
        let s = series(20_000, |t| {
            (5_000..10_000).contains(&t) && (t / 250) % 3 == 0
        });
        let m = measure(&s, window(5_000, 10_000), 2);
        assert_eq!(m.detected_at, Some(MS(5_250)));
        assert_eq!(m.recovered_at, Some(MS(10_000)));
        assert_eq!(m.recovery_from_removal, Some(Duration::ZERO));
    }

    #[test]
    fn failover_recovers_while_the_fault_is_in_place() {
        let s = series(20_000, |t| (5_000..=6_000).contains(&t));
        let m = measure(&s, window(5_000, 10_000), 3);
        assert_eq!(m.recovered_at, Some(MS(6_250)));
        assert_eq!(m.recovery_from_removal, Some(Duration::ZERO));
        assert_eq!(m.recovery_from_injection, Some(MS(1_250)));
    }

    #[test]
    fn detection_within_one_interval_of_removal_counts_later_does_not() {
        // A breaker that opens 250 ms after the fault is gone (within the grace), then a 5 s cooldown.
        let s = series(20_000, |t| (10_250..15_250).contains(&t));
        let m = measure(&s, window(5_000, 10_000), 3);
        assert_eq!(m.time_to_detect, Some(MS(5_250)));
        assert_eq!(m.recovered_at, Some(MS(15_250)));
        assert_eq!(m.recovery_from_removal, Some(MS(5_250)));
        // 500 ms after removal is beyond the grace: no step was in effect, nothing is charged.
        let s = series(20_000, |t| (10_500..15_500).contains(&t));
        assert_eq!(
            measure(&s, window(5_000, 10_000), 3),
            Measurement::default()
        );
    }

    #[test]
    fn a_harmless_fault_is_not_charged_with_a_later_kill() {
        // The scenario: noop 1–2 s (harmless), kill at 3 s, start at 4 s; the service
        // is down from the kill until 4.25 s.
        let s = series(8_000, |t| (3_250..4_250).contains(&t));
        let spans = [fault(1_000, 2_000), action(3_000), action(4_000)];
        let m = measure_steps(&s, &spans, MS(250), 3);
        let noop = m[0].unwrap();
        assert_eq!(noop, Measurement::default());
        assert!(noop.recovered_within(Duration::ZERO));
        let kill = m[1].unwrap();
        assert_eq!(kill.time_to_detect, Some(MS(250)));
        assert_eq!(kill.recovered_at, Some(MS(4_250)));
        // The start began after the breach did: it detects nothing.
        assert_eq!(m[2], Some(Measurement::default()));
    }

    #[test]
    fn adjacent_faults_each_own_their_breach() {
        // A 1–3 s breaks 1.25–3.25 s; B 3.5–5.5 s breaks 3.75–5.75 s: A recovered at 3.25 s
        // (its run of passes is cut short by B's breach), B at 5.75 s.
        let s = series(10_000, |t| {
            (1_250..3_250).contains(&t) || (3_750..5_750).contains(&t)
        });
        let m = measure_steps(&s, &[fault(1_000, 3_000), fault(3_500, 5_500)], MS(250), 3);
        let (a, b) = (m[0].unwrap(), m[1].unwrap());
        assert_eq!(
            (a.time_to_detect, a.recovered_at),
            (Some(MS(250)), Some(MS(3_250)))
        );
        assert_eq!(
            (b.time_to_detect, b.recovered_at),
            (Some(MS(250)), Some(MS(5_750)))
        );
        assert_eq!(b.recovery_from_removal, Some(MS(250)));
    }

    #[test]
    fn overlapping_faults_a_breach_belongs_to_the_latest_in_effect() {
        // A harmless 1–6 s; B 2–4 s breaks 2.25–4.25 s. A is in effect throughout, but B is the
        // latest injected when the breach begins: B owns it, A is undetected.
        let s = series(10_000, |t| (2_250..4_250).contains(&t));
        let spans = [fault(1_000, 6_000), fault(2_000, 4_000)];
        let m = measure_steps(&s, &spans, MS(250), 3);
        assert_eq!(m[0], Some(Measurement::default()));
        let b = m[1].unwrap();
        assert_eq!(b.detected_at, Some(MS(2_250)));
        assert_eq!(b.recovered_at, Some(MS(4_250)));
        // A breach that begins after B is gone (and its grace) while A is still in place is A's.
        let s = series(10_000, |t| (4_750..5_250).contains(&t));
        let m = measure_steps(&s, &spans, MS(250), 3);
        assert_eq!(m[0].unwrap().detected_at, Some(MS(4_750)));
        assert_eq!(m[1], Some(Measurement::default()));
    }

    #[test]
    fn a_sample_in_flight_as_a_step_lands_is_that_steps() {
        // Seen in a real run: the sample stamped 2.999 s was in flight when the kill landed at
        // 3.001 s, and failed. The kill owns the breach from that sample (TTD 0).
        let mut s = series(8_000, |t| (3_000..4_250).contains(&t));
        s[12].at = MS(2_999);
        let spans = [fault(1_000, 2_000), action(3_001), action(4_001)];
        let m = measure_steps(&s, &spans, MS(250), 3);
        assert_eq!(m[0], Some(Measurement::default()));
        let kill = m[1].unwrap();
        assert_eq!(kill.detected_at, Some(MS(2_999)));
        assert_eq!(kill.time_to_detect, Some(Duration::ZERO));
        assert_eq!(kill.recovered_at, Some(MS(4_250)));
        // Seen in another: a harmless fault in place since 3 s, a break landing at 3.5004 s
        // while the sample stamped 3.5 s was in flight. The break owns it, not the fault.
        let s = series(8_000, |t| (3_500..4_000).contains(&t));
        let spans = [fault(3_000, 5_000), action(3_500), action(4_000)];
        let m = measure_steps(&s, &spans, MS(250), 3);
        assert_eq!(m[0], Some(Measurement::default()));
        assert_eq!(m[1].unwrap().detected_at, Some(MS(3_500)));
    }

    #[test]
    fn a_breach_that_spans_the_next_injection_stays_with_its_first_step() {
        // A 1–2 s breaks 1.25–3.75 s without a pass in between; B at 3 s gets nothing from it.
        let s = series(10_000, |t| (1_250..3_750).contains(&t));
        let m = measure_steps(&s, &[fault(1_000, 2_000), fault(3_000, 4_000)], MS(250), 3);
        assert_eq!(m[0].unwrap().recovered_at, Some(MS(3_750)));
        assert_eq!(m[1], Some(Measurement::default()));
        // A step that never ran has no measurement.
        let m = measure_steps(&s, &[fault(1_000, 2_000), None], MS(250), 3);
        assert_eq!(m[1], None);
    }

    #[test]
    fn undetected_and_unrecovered() {
        let s = series(20_000, |_| false);
        let m = measure(&s, window(5_000, 10_000), 3);
        assert!(!m.detected() && m.recovered() && m.recovered_within(Duration::ZERO));
        assert_eq!(m.time_to_detect, None);

        // Two passes at the end are not enough for k = 3.
        let s = series(20_000, |t| (5_000..19_750).contains(&t));
        let m = measure(&s, window(5_000, 10_000), 3);
        assert!(m.detected() && !m.recovered() && !m.recovered_within(MS(60_000)));
        // Samples before the injection are ignored.
        let s = series(20_000, |t| t < 5_000);
        assert_eq!(measure(&s, window(5_000, 6_000), 3), Measurement::default());
    }

    #[test]
    fn a_relapse_after_removal_restarts_the_count() {
        let s = series(20_000, |t| (5_000..10_000).contains(&t) || t == 10_500);
        let m = measure(&s, window(5_000, 10_000), 3);
        assert_eq!(m.recovered_at, Some(MS(10_750)));
    }

    #[test]
    fn one_pass_suffices_when_k_is_1() {
        let s = series(20_000, |t| (5_000..7_000).contains(&t));
        let m = measure(&s, window(5_000, 10_000), 1);
        assert_eq!(m.recovered_at, Some(MS(7_000)));
        // k = 0 is treated as 1.
        assert_eq!(measure(&s, window(5_000, 10_000), 0), m);
    }

    #[test]
    fn nearest_rank_summary() {
        assert_eq!(summarize(&[]), None);
        let v: Vec<Duration> = (1..=10).rev().map(Duration::from_secs).collect();
        let s = summarize(&v).unwrap();
        assert_eq!(
            (s.p50, s.p90, s.max, s.n),
            (
                Duration::from_secs(5),
                Duration::from_secs(9),
                Duration::from_secs(10),
                10
            )
        );
        let one = summarize(&[MS(700)]).unwrap();
        assert_eq!(
            (one.p50, one.p90, one.max, one.n),
            (MS(700), MS(700), MS(700), 1)
        );
    }
}
