//! The open-model schedule: the intended send time of every request, from the plan alone.
//!
//! A rate plan is a list of points `(at, rate)` joined by straight lines
//! (a ramp; two points at the same time make a step), holding the last rate
//! until the end. The expected number of arrivals by time `t` is the
//! integral `N(t)` of the rate; slot `u` (a position on that count axis) is
//! sent at `N⁻¹(u)`, which has a closed form on every linear piece. Uniform
//! arrivals put slot `k` at `u = k`; Poisson arrivals put it at a sum of
//! seeded unit exponential gaps (a time change of a unit Poisson process),
//! so both follow ramps exactly. Nothing here reads a clock: the worker
//! turns these offsets into instants on the run's clock and never skips one.

use std::time::Duration;

use rand::RngExt;
use rand::rngs::StdRng;

/// A piecewise-linear rate plan (requests per second over time since start).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Schedule {
    /// `(seconds since start, requests per second)`, times non-decreasing, first at 0.
    points: Vec<(f64, f64)>,
    /// Arrivals expected by each point: `cum[i] = N(points[i].0)`.
    cum: Vec<f64>,
    /// End of the plan in seconds (`None`: runs until stopped).
    end: Option<f64>,
}

impl Schedule {
    /// A schedule from `(at, rate per second)` points. The caller validates
    /// (times non-decreasing from zero, rates finite and non-negative).
    pub(super) fn new(points: &[(Duration, f64)], end: Option<Duration>) -> Self {
        let points: Vec<(f64, f64)> = points.iter().map(|(t, r)| (t.as_secs_f64(), *r)).collect();
        let mut cum = Vec::with_capacity(points.len());
        let mut total = 0.0;
        for (i, &(t, r)) in points.iter().enumerate() {
            if i > 0 {
                let (t0, r0) = points[i - 1];
                total += (t - t0) * (r0 + r) / 2.0;
            }
            cum.push(total);
        }
        Self {
            points,
            cum,
            end: end.map(|d| d.as_secs_f64()),
        }
    }

    /// A constant rate from zero to `end`.
    pub(super) fn constant(per_second: f64, end: Option<Duration>) -> Self {
        Self::new(&[(Duration::ZERO, per_second)], end)
    }

    /// The end of the plan, if it has one.
    pub(super) fn end(&self) -> Option<Duration> {
        self.end.map(Duration::from_secs_f64)
    }

    /// Expected arrivals between the start and `at` (`N(at)`).
    pub(super) fn expected_by(&self, at: Duration) -> f64 {
        let t = at.as_secs_f64();
        let t = self.end.map_or(t, |e| t.min(e));
        let i = self
            .points
            .partition_point(|&(p, _)| p <= t)
            .saturating_sub(1);
        let (t0, r0) = self.points[i];
        let tau = t - t0;
        match self.points.get(i + 1) {
            Some(&(t1, r1)) if t1 > t0 => {
                let slope = (r1 - r0) / (t1 - t0);
                self.cum[i] + r0 * tau + slope * tau * tau / 2.0
            }
            _ => self.cum[i] + r0 * tau,
        }
    }

    /// The offset from the start at which position `u` on the arrival
    /// count axis falls: `N⁻¹(u)`; `None` once past the end of the plan.
    pub(super) fn time_of(&self, u: f64) -> Option<Duration> {
        // The last piece whose cumulative count is ≤ u.
        let i = self.cum.partition_point(|&c| c <= u).saturating_sub(1);
        // Several points may share a cumulative count (zero-length or zero-rate
        // pieces); walk forward to the piece that actually contains u.
        let mut i = i;
        while i + 1 < self.points.len() && self.cum[i + 1] <= u {
            i += 1;
        }
        let (t0, r0) = self.points[i];
        let delta = u - self.cum[i];
        let tau = match self.points.get(i + 1) {
            Some(&(t1, r1)) if t1 > t0 => {
                // Solve r0·τ + a·τ² = Δ with a = (r1 − r0) / (2·D); the
                // rationalised root 2Δ / (r0 + √(r0² + 4aΔ)) is stable as a → 0.
                let a = (r1 - r0) / (2.0 * (t1 - t0));
                let disc = (r0 * r0 + 4.0 * a * delta).max(0.0);
                let denom = r0 + disc.sqrt();
                if denom <= 0.0 {
                    return None;
                }
                2.0 * delta / denom
            }
            _ => {
                if r0 <= 0.0 {
                    return None;
                }
                delta / r0
            }
        };
        let t = t0 + tau;
        match self.end {
            Some(end) if t >= end => None,
            _ => Some(Duration::from_secs_f64(t.max(0.0))),
        }
    }
}

/// How a worker's slots are placed on the arrival count axis.
#[derive(Debug)]
pub(super) enum Slots {
    /// Evenly: slot `j` of worker `w` (of `n`) at `u = w + j·n`, so the
    /// workers interleave into one exact global schedule.
    Uniform {
        /// This worker's index.
        worker: u64,
        /// Number of workers.
        workers: u64,
        /// Next slot of this worker.
        next: u64,
    },
    /// Poisson: each worker runs a process of rate `r(t)/n` from seeded
    /// exponential gaps; their superposition is a Poisson process of rate `r(t)`.
    Poisson {
        /// This worker's index.
        worker: u64,
        /// The worker's own seeded stream.
        rng: Box<StdRng>,
        /// Number of workers.
        workers: f64,
        /// Position of the last arrival on the count axis.
        position: f64,
        /// Arrivals generated so far by this worker.
        next: u64,
    },
}

impl Slots {
    /// The next slot: its global sequence number and its offset from the start.
    pub(super) fn next(&mut self, schedule: &Schedule) -> Option<(u64, Duration)> {
        match self {
            Slots::Uniform {
                worker,
                workers,
                next,
            } => {
                let k = *worker + *next * *workers;
                let at = schedule.time_of(k as f64)?;
                *next += 1;
                Some((k, at))
            }
            Slots::Poisson {
                worker,
                rng,
                workers,
                position,
                next,
            } => {
                // Exp(1) by inversion; 1 − U lies in (0, 1] so ln is finite.
                let unit: f64 = rng.random::<f64>();
                *position += -(1.0 - unit).ln() * *workers;
                let at = schedule.time_of(*position)?;
                // Unique across workers: worker w numbers w, w + n, w + 2n, …
                let seq = *next * (*workers as u64) + *worker;
                *next += 1;
                Some((seq, at))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn close(a: Duration, b: f64) -> bool {
        (a.as_secs_f64() - b).abs() < 1e-9
    }

    #[test]
    fn constant_rate_places_slot_k_at_k_over_r() {
        let s = Schedule::constant(2000.0, Some(secs(10.0)));
        assert!(close(s.time_of(0.0).unwrap(), 0.0));
        assert!(close(s.time_of(1.0).unwrap(), 0.0005));
        assert!(close(s.time_of(19_999.0).unwrap(), 9.9995));
        assert_eq!(s.time_of(20_000.0), None, "t = end is outside the plan");
        assert!((s.expected_by(secs(10.0)) - 20_000.0).abs() < 1e-6);
    }

    #[test]
    fn linear_ramp_inverts_the_integral() {
        // 0 → 100/s over 10 s: N(t) = 5 t², so slot u is at √(u/5).
        let s = Schedule::new(&[(secs(0.0), 0.0), (secs(10.0), 100.0)], None);
        for u in [1.0, 20.0, 125.0, 499.0] {
            assert!(close(s.time_of(u).unwrap(), (u / 5.0f64).sqrt()), "u={u}");
        }
        // After the ramp the last rate holds: N(10) = 500, then 100/s.
        assert!(close(s.time_of(600.0).unwrap(), 11.0));
        // Ramp down 1000 → 100 over 10 s is also exact.
        let d = Schedule::new(
            &[(secs(0.0), 1000.0), (secs(10.0), 100.0)],
            Some(secs(10.0)),
        );
        let t = d.time_of(3000.0).unwrap().as_secs_f64();
        assert!((d.expected_by(secs(t)) - 3000.0).abs() < 1e-6);
        assert!((d.expected_by(secs(10.0)) - 5500.0).abs() < 1e-6);
    }

    #[test]
    fn steps_and_stages_from_the_cli_example() {
        // 0s:100/s,30s:1000/s,40s:100/s
        let s = Schedule::new(
            &[
                (secs(0.0), 100.0),
                (secs(30.0), 1000.0),
                (secs(40.0), 100.0),
            ],
            Some(secs(40.0)),
        );
        assert!((s.expected_by(secs(30.0)) - 16_500.0).abs() < 1e-6);
        assert!((s.expected_by(secs(40.0)) - 22_000.0).abs() < 1e-6);
        assert!(close(s.time_of(16_500.0).unwrap(), 30.0));
        assert_eq!(s.time_of(22_000.0), None);
        // A step: 10/s for 1 s, then 100/s.
        let step = Schedule::new(
            &[(secs(0.0), 10.0), (secs(1.0), 10.0), (secs(1.0), 100.0)],
            None,
        );
        assert!(close(step.time_of(9.0).unwrap(), 0.9));
        assert!(close(step.time_of(10.0).unwrap(), 1.0));
        assert!(close(step.time_of(20.0).unwrap(), 1.1));
    }

    #[test]
    fn uniform_workers_interleave_into_one_schedule_and_never_skip() {
        let s = Schedule::constant(1000.0, Some(secs(1.0)));
        let mut all = Vec::new();
        for w in 0..3 {
            let mut slots = Slots::Uniform {
                worker: w,
                workers: 3,
                next: 0,
            };
            while let Some((k, at)) = slots.next(&s) {
                all.push((k, at));
            }
        }
        all.sort();
        assert_eq!(all.len(), 1000);
        for (i, (k, at)) in all.iter().enumerate() {
            assert_eq!(*k, i as u64);
            assert!(close(*at, i as f64 / 1000.0));
        }
    }

    #[test]
    fn poisson_is_seeded_and_has_the_planned_mean() {
        let s = Schedule::constant(500.0, Some(secs(20.0)));
        let run = |seed| {
            let mut slots = Slots::Poisson {
                worker: 1,
                rng: Box::new(StdRng::seed_from_u64(seed)),
                workers: 2.0,
                position: 0.0,
                next: 0,
            };
            std::iter::from_fn(|| slots.next(&s).map(|(_, at)| at)).collect::<Vec<_>>()
        };
        let a = run(7);
        assert_eq!(a, run(7), "same seed, same arrivals");
        assert_ne!(a, run(8));
        // One of two workers: expected 5000 arrivals, sd ≈ 71; allow 5 sd.
        assert!((a.len() as f64 - 5000.0).abs() < 355.0, "{}", a.len());
        assert!(a.windows(2).all(|w| w[0] <= w[1]));
    }

    #[tokio::test(start_paused = true)]
    async fn offsets_become_instants_on_the_run_clock() {
        let clock = crate::clock::Clock::start();
        let s = Schedule::constant(4.0, None);
        let at = s.time_of(3.0).unwrap();
        tokio::time::sleep_until(clock.instant(at)).await;
        assert_eq!(clock.now(), Duration::from_millis(750));
    }
}
