//! Closed-model user counts over time: a spawn rate and user stages (steady, spike, soak shapes).
//!
//! User stages are points `TIME:USERS` joined by straight lines, like rate
//! stages: two points at the same time make a step, the last count holds
//! until the end. A spawn rate (users per second, Locust's `spawn_rate`)
//! bounds how fast the count may rise, from zero at the start and after
//! every step; decreases take effect at once. The active count at `t` is
//!
//! `min(target(t), R·t, min over points p with p.at ≤ t of p.users + R·(t − p.at))`,
//!
//! the largest curve under the target whose slope never exceeds `R` (the
//! target is piecewise linear, so the infimum is reached at a point). Users
//! are numbered from 0; the first `active(t)` run, and when the count falls
//! the highest-numbered users stop at their next request boundary (an
//! in-flight request is never cut short).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// User stages as written: `0s:10,30s:200,40s:10` or a list of `{at, users}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "UserStagesText", into = "Vec<UserStage>")]
pub struct UserStages(pub Vec<UserStage>);

/// One point: from `at`, the user count is (heading linearly to the next point from) `users`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserStage {
    /// Time since start.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::config::schema::DurationText")]
    pub at: Duration,
    /// Users at that time.
    pub users: u64,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
enum UserStagesText {
    Text(String),
    List(Vec<UserStage>),
}

impl TryFrom<UserStagesText> for UserStages {
    type Error = String;
    fn try_from(raw: UserStagesText) -> Result<Self, String> {
        match raw {
            UserStagesText::Text(t) => t.parse(),
            UserStagesText::List(l) => Ok(UserStages(l)),
        }
    }
}

impl From<UserStages> for Vec<UserStage> {
    fn from(s: UserStages) -> Self {
        s.0
    }
}

impl FromStr for UserStages {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        s.split(',')
            .map(|item| {
                let (at, users) = item.trim().split_once(':').ok_or_else(|| {
                    format!("user stage {item:?} is not TIME:USERS (e.g. 30s:200)")
                })?;
                Ok(UserStage {
                    at: humantime::parse_duration(at.trim())
                        .map_err(|e| format!("user stage {item:?}: time: {e}"))?,
                    users: users.trim().parse().map_err(|_| {
                        format!("user stage {item:?}: users must be a whole number")
                    })?,
                })
            })
            .collect::<Result<_, _>>()
            .map(UserStages)
    }
}

impl fmt::Display for UserStages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self
            .0
            .iter()
            .map(|s| format!("{}:{}", humantime::format_duration(s.at), s.users))
            .collect();
        f.write_str(&items.join(","))
    }
}

/// The active user count over time (validated: times non-decreasing from 0).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Users {
    /// `(seconds, users)`.
    points: Vec<(f64, f64)>,
    /// Users per second, when bounded.
    spawn_rate: Option<f64>,
}

impl Users {
    /// A count following `points`, rising at most `spawn_rate` users per second.
    pub(super) fn new(points: &[(Duration, u64)], spawn_rate: Option<f64>) -> Self {
        Self {
            points: points
                .iter()
                .map(|(t, u)| (t.as_secs_f64(), *u as f64))
                .collect(),
            spawn_rate: spawn_rate.filter(|r| r.is_finite() && *r > 0.0),
        }
    }

    /// A constant count, all at once or at `spawn_rate`.
    pub(super) fn constant(users: u64, spawn_rate: Option<f64>) -> Self {
        Self::new(&[(Duration::ZERO, users)], spawn_rate)
    }

    /// The most users ever active.
    pub(super) fn max(&self) -> u64 {
        self.points.iter().map(|p| p.1 as u64).max().unwrap_or(0)
    }

    /// From this time on the count no longer changes.
    pub(super) fn settled(&self) -> Duration {
        let last = self.points.last().copied().unwrap_or((0.0, 0.0));
        let ramp = self.spawn_rate.map_or(0.0, |r| last.1 / r);
        // A spawn rate near 0 never settles: saturate rather than overflow a Duration.
        Duration::try_from_secs_f64(last.0 + ramp).unwrap_or(Duration::MAX)
    }

    fn target(&self, t: f64) -> f64 {
        let Some(i) = self.points.iter().rposition(|p| p.0 <= t) else {
            return 0.0;
        };
        let (t0, u0) = self.points[i];
        match self.points.get(i + 1) {
            Some(&(t1, u1)) if t1 > t0 => u0 + (u1 - u0) * (t - t0) / (t1 - t0),
            _ => u0,
        }
    }

    /// Users that should be active at `t` since the start.
    pub(super) fn active(&self, t: Duration) -> u64 {
        let t = t.as_secs_f64();
        let mut n = self.target(t);
        if let Some(r) = self.spawn_rate {
            n = n.min(r * t);
            for &(at, users) in self.points.iter().take_while(|p| p.0 <= t) {
                n = n.min(users + r * (t - at));
            }
        }
        // A tiny epsilon keeps exact arithmetic (10 users/s × 0.3 s) from flooring to one less.
        (n + 1e-9).floor().max(0.0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: f64) -> Duration {
        Duration::from_secs_f64(secs)
    }

    #[test]
    fn stages_parse_and_print() {
        let st: UserStages = "0s:10, 30s:200,40s:10".parse().unwrap();
        assert_eq!(
            st.0[1],
            UserStage {
                at: s(30.0),
                users: 200
            }
        );
        assert_eq!(st.to_string(), "0s:10,30s:200,40s:10");
        assert!("0s:1.5".parse::<UserStages>().is_err());
        assert!("0s-10".parse::<UserStages>().is_err());
    }

    #[test]
    fn constant_users_start_at_once_or_at_the_spawn_rate() {
        let all = Users::constant(100, None);
        assert_eq!(all.active(Duration::ZERO), 100);
        assert_eq!(all.settled(), Duration::ZERO);
        let ramp = Users::constant(100, Some(10.0));
        assert_eq!(ramp.active(Duration::ZERO), 0);
        assert_eq!(ramp.active(s(0.3)), 3);
        assert_eq!(ramp.active(s(5.0)), 50);
        assert_eq!(ramp.active(s(10.0)), 100);
        assert_eq!(ramp.active(s(60.0)), 100);
        assert_eq!(ramp.settled(), s(10.0));
    }

    #[test]
    fn spike_shape_with_and_without_a_spawn_rate() {
        // 10 users, a step to 200 at 30 s held to 40 s, back to 10.
        let pts = [
            (s(0.0), 10),
            (s(30.0), 10),
            (s(30.0), 200),
            (s(40.0), 200),
            (s(40.0), 10),
        ];
        let free = Users::new(&pts, None);
        assert_eq!(free.active(s(29.9)), 10);
        assert_eq!(free.active(s(30.0)), 200);
        assert_eq!(free.active(s(40.0)), 10);
        assert_eq!(free.max(), 200);
        let capped = Users::new(&pts, Some(50.0));
        assert_eq!(capped.active(s(0.1)), 5, "ramps up from zero");
        assert_eq!(capped.active(s(1.0)), 10);
        assert_eq!(capped.active(s(31.0)), 60, "the step rises at 50/s");
        assert_eq!(capped.active(s(33.8)), 200);
        assert_eq!(capped.active(s(40.5)), 10, "decreases at once");
        // A linear ramp (k6-style) is followed exactly below the cap.
        let ramp = Users::new(&[(s(0.0), 0), (s(10.0), 100)], None);
        assert_eq!(ramp.active(s(2.5)), 25);
        assert_eq!(ramp.active(s(20.0)), 100);
    }
}
