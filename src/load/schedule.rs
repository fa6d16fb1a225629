//! The open-model schedule: the intended send time of every request, from the plan alone.
//!
//! A rate plan is a list of points `(at, rate)` joined by straight lines
//! (a ramp; two points at the same time make a step), holding the last rate
//! until the end. The expected number of arrivals by time `t` is the
//! integral `N(t)` of the rate; position `u` on that count axis is sent at
//! `N⁻¹(u) = sup{t : N(t) ≤ u}`, the moment the expected count passes `u`,
//! which has a closed form on every linear piece (a stretch at rate 0 is
//! skipped, so no request is sent while the rate is 0, at either end of a
//! ramp included). Uniform arrivals put slot `k` at `u = k`; Poisson
//! arrivals put it at a sum of seeded unit exponential gaps (a time change of
//! a unit Poisson process), so both follow ramps exactly.
//!
//! A plan that ends at `T` holds `⌈N(T)⌉` slots (the area under the rate
//! curve rounded up; an area within 10⁻⁶ of a whole number counts as that
//! number, so float error never adds or drops one), at most [`MAX_PLANNED`]:
//! slot `k` is in the plan exactly when `k < ⌈N(T)⌉`. Nothing here reads a
//! clock: the worker turns these offsets into instants on the run's clock and
//! never skips one.

use std::time::Duration;

use rand::RngExt;
use rand::rngs::StdRng;

use super::segment::Lane;

/// The most slots a plan holds (10¹²); a longer plan is cut there and says so at start.
pub(super) const MAX_PLANNED: u64 = 1_000_000_000_000;

/// The whole number of slots before count `n`: `⌈n⌉`, with `n` within 10⁻⁶ of a whole
/// number taken as that number; at most [`MAX_PLANNED`].
fn slots_before(n: f64) -> u64 {
    let near = n.round();
    let whole = if (n - near).abs() < 1e-6 {
        near
    } else {
        n.ceil()
    };
    // `as` saturates: a negative or NaN count is 0, a huge one is capped below.
    (whole as u64).min(MAX_PLANNED)
}

/// A piecewise-linear rate plan (requests per second over time since start).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Schedule {
    /// `(seconds since start, requests per second)`, times non-decreasing, first at 0.
    points: Vec<(f64, f64)>,
    /// Arrivals expected by each point: `cum[i] = N(points[i].0)`.
    cum: Vec<f64>,
    /// End of the plan in seconds (`None`: runs until stopped).
    end: Option<f64>,
    /// Slots in the plan: `⌈N(end)⌉` capped at [`MAX_PLANNED`] (the cap alone without an end).
    slots: u64,
    /// `N(end)` before the cap, when the cap cut the plan.
    cut_from: Option<f64>,
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
        let mut schedule = Self {
            points,
            cum,
            end: end.map(|d| d.as_secs_f64()),
            slots: MAX_PLANNED,
            cut_from: None,
        };
        if let Some(end) = end {
            let area = schedule.expected_by(end);
            schedule.slots = slots_before(area);
            schedule.cut_from = (area > MAX_PLANNED as f64).then_some(area);
        }
        schedule
    }

    /// The expected count of the whole plan when [`MAX_PLANNED`] cut it (to say so at start).
    pub(super) fn cut_from(&self) -> Option<f64> {
        self.cut_from
    }

    /// Slots in the plan whose send time falls before `at` (`⌈N(at)⌉`, at most the plan's).
    pub(super) fn planned_by(&self, at: Duration) -> u64 {
        slots_before(self.expected_by(at)).min(self.slots)
    }

    /// A constant rate from zero to `end`.
    pub(super) fn constant(per_second: f64, end: Option<Duration>) -> Self {
        Self::new(&[(Duration::ZERO, per_second)], end)
    }

    /// The end of the plan, if it has one.
    pub(super) fn end(&self) -> Option<Duration> {
        self.end
            .map(|e| Duration::try_from_secs_f64(e).unwrap_or(Duration::MAX))
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
    /// count axis falls: `N⁻¹(u)`; `None` for a position at or past the plan's
    /// slot count (see the module docs), or one the rate never reaches.
    pub(super) fn time_of(&self, u: f64) -> Option<Duration> {
        if !(u >= 0.0 && u < self.slots as f64) {
            return None;
        }
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
            // Piece i is the last whose start count is ≤ u, and the count rises right
            // after its start (else the walk above would have passed it): u is reached there.
            _ if delta <= 0.0 => 0.0,
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
        // u is inside the plan, so its time is before the end; float error may put it a
        // hair past, where it is still sent (at the end).
        let t = self.end.map_or(t0 + tau, |end| (t0 + tau).min(end));
        Duration::try_from_secs_f64(t.max(0.0)).ok()
    }
}

/// How a worker's slots are placed on the arrival count axis: the worker owns the global
/// slot numbers of its [`Lane`] (see [`super::segment`]), in both arrival processes.
#[derive(Debug)]
pub(super) enum Slots {
    /// Evenly: slot `k` at `u = k`, so the lanes interleave into one exact global schedule.
    Uniform {
        /// The slots this worker owns.
        lane: Lane,
        /// Next slot of the lane (its index `j`).
        next: u64,
    },
    /// Poisson: one seeded stream of unit exponential gaps for the whole plan (every agent
    /// and worker draws the same stream from the run's seed); slot `k` is at the sum of the
    /// first `k + 1` gaps, and a worker keeps the slots of its lane. The union of the lanes
    /// is one Poisson process of rate `r(t)`.
    Poisson {
        /// The slots this worker owns.
        lane: Lane,
        /// The plan's stream, seeded from the run's seed alone.
        rng: Box<StdRng>,
        /// Position of the last drawn arrival on the count axis.
        position: f64,
        /// Arrivals of the whole plan drawn so far.
        drawn: u64,
        /// Slots of the lane taken so far.
        next: u64,
    },
}

/// How many Poisson slots [`Slots::due_before`] walks one by one before it estimates the rest.
const WALK: u64 = 1_000_000;

impl Slots {
    /// How many of this worker's slots not drawn yet fall before `until`: exact for uniform
    /// arrivals; for Poisson arrivals drawn one by one (the stream is spent), and past
    /// [`WALK`] of them the rest is estimated from the expected count.
    pub(super) fn due_before(&mut self, schedule: &Schedule, until: Duration) -> u64 {
        if let Slots::Uniform { lane, next } = self {
            return lane.share(schedule.planned_by(until)).saturating_sub(*next);
        }
        let mut walked = 0;
        while walked < WALK {
            match self.next(schedule) {
                Some((_, at)) if at < until => walked += 1,
                _ => return walked,
            }
        }
        let Slots::Poisson { lane, position, .. } = self else {
            return walked;
        };
        // The plan holds at most its slots (the cap of a cut plan included).
        let expected = schedule.expected_by(until).min(schedule.slots as f64);
        let rest = (expected - *position) / lane.stride as f64;
        walked + rest.max(0.0) as u64
    }

    /// The next slot: its global sequence number and its offset from the start.
    pub(super) fn next(&mut self, schedule: &Schedule) -> Option<(u64, Duration)> {
        match self {
            Slots::Uniform { lane, next } => {
                let k = lane.nth(*next)?;
                let at = schedule.time_of(k as f64)?;
                *next += 1;
                Some((k, at))
            }
            Slots::Poisson {
                lane,
                rng,
                position,
                drawn,
                next,
            } => {
                let k = lane.nth(*next)?;
                while *drawn <= k {
                    // Exp(1) by inversion; 1 − U lies in (0, 1] so ln is finite.
                    let unit: f64 = rng.random::<f64>();
                    *position += -(1.0 - unit).ln();
                    *drawn += 1;
                }
                let at = schedule.time_of(*position)?;
                *next += 1;
                Some((k, at))
            }
        }
    }
}

#[cfg(test)]
mod tests;
