//! A live merge: several agents' recent seconds added on one timeline while they run, for the
//! experiment runner's load probes and guards, and the alignment of agents' seconds.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::AgentResult;
use crate::load::histogram::{Hist, Timeline, TimelinePoint};
use crate::load::intervals::from_base64;
use crate::load::{LiveIntervals, WindowStats};

/// Agents' live seconds on one timeline: agent `i`'s second `s` is the merged second
/// `s + offset` (see [`offset`]). Counts and histograms add exactly, as in [`super::merge`].
#[derive(Debug, Default)]
pub struct LiveMerge {
    agents: Vec<BTreeMap<u64, (TimelinePoint, Hist)>>,
}

impl LiveMerge {
    /// A merge of `agents` agents, none heard from yet.
    pub fn new(agents: usize) -> Self {
        Self {
            agents: vec![BTreeMap::new(); agents],
        }
    }

    /// Take agent `agent`'s answer: its seconds from the first one in `live` on replace what
    /// was known of them (a second keeps growing until its last request completes), moved
    /// `offset` seconds later; its merged seconds before `keep_from` are forgotten.
    ///
    /// Errors: an agent index out of range, or an undecodable histogram (nothing is changed).
    pub fn update(
        &mut self,
        agent: usize,
        offset: u64,
        live: &LiveIntervals,
        keep_from: u64,
    ) -> Result<(), String> {
        let mut fresh = BTreeMap::new();
        for s in &live.seconds {
            let latency = from_base64(&s.latency)
                .map_err(|e| format!("second {}: latency: {e}", s.second))?;
            let second = s.second.saturating_add(offset);
            let point = TimelinePoint {
                second,
                requests: s.requests,
                ok: s.ok,
                errors: s.errors_by_class.total(),
                errors_by_class: s.errors_by_class,
                ..TimelinePoint::default()
            };
            fresh.insert(second, (point, latency));
        }
        let known = self
            .agents
            .get_mut(agent)
            .ok_or_else(|| format!("no agent {agent}"))?;
        if let Some(first) = fresh.keys().next() {
            known.split_off(first);
        }
        known.append(&mut fresh);
        *known = known.split_off(&keep_from);
        Ok(())
    }

    /// Statistics of the last `last` at merged time `now`, by the same rule as a local run's
    /// [`crate::load::LoadRun::window`]: every agent's seconds added.
    pub fn window(&self, last: Duration, now: Duration) -> WindowStats {
        let first = now.saturating_sub(last).as_secs();
        let mut timeline = Timeline::new(Duration::MAX, false);
        for agent in &self.agents {
            for (point, latency) in agent.range(first..).map(|(_, v)| v) {
                timeline.add_point(point, Some(latency));
            }
        }
        timeline.trailing(last, now)
    }
}

/// The whole seconds an agent whose second 0 began at `start` is behind the earliest agent
/// (second 0 at `origin`): the merged second holding most of each of its seconds. Agents given
/// one `--start-at` are 0 apart; `start` before `origin` counts as 0.
pub fn offset(start: SystemTime, origin: SystemTime) -> u64 {
    let behind = start.duration_since(origin).unwrap_or_default();
    behind.as_secs_f64().round() as u64
}

/// Agents' final results placed on one timeline by the wall-clock instant each one's second 0
/// began (its report's `wall_start`): each moved [`offset`] seconds behind the earliest, as
/// the experiment runner places its live agents. When a report does not say when it began
/// (written by an older shakedown), nothing is moved and the seconds are matched by number;
/// the second value then says which report (its index) lacks it.
pub fn align(agents: Vec<AgentResult>) -> (Vec<AgentResult>, Option<usize>) {
    if let Some(i) = agents.iter().position(|a| a.report.wall_start.is_none()) {
        return (agents, Some(i));
    }
    let origin = agents.iter().filter_map(|a| a.report.wall_start).min();
    let aligned = agents
        .into_iter()
        .map(|a| match (a.report.wall_start, origin) {
            (Some(start), Some(origin)) => {
                let by = offset(start, origin) as i64;
                shift(a, by)
            }
            _ => a,
        })
        .collect();
    (aligned, None)
}

/// An agent's final results (report timeline and intervals) moved `by` seconds (later when
/// positive), onto the merged timeline, before [`super::merge`] adds them by second. Seconds
/// moved before 0 leave the timeline and intervals (the whole-run totals keep them).
pub fn shift(mut agent: AgentResult, by: i64) -> AgentResult {
    let moved = |second: u64| u64::try_from(second as i64 + by).ok();
    agent.report.timeline = std::mem::take(&mut agent.report.timeline)
        .into_iter()
        .filter_map(|mut p| {
            p.second = moved(p.second)?;
            Some(p)
        })
        .collect();
    if let Some(intervals) = agent.intervals.take() {
        agent.intervals = Some(
            intervals
                .into_iter()
                .filter_map(|mut i| {
                    i.second = moved(i.second)?;
                    Some(i)
                })
                .collect(),
        );
    }
    agent
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::LiveSecond;
    use crate::load::histogram::{record, small_histogram};
    use crate::load::intervals::to_base64;

    /// One agent's answer: second `s` holds `n[s]` requests of `ms` milliseconds, `bad` of
    /// them failed (connect errors).
    fn answer(counts: &[(u64, u64, u64)], ms: u64) -> LiveIntervals {
        let seconds = counts
            .iter()
            .map(|&(second, n, bad)| {
                let mut h = small_histogram();
                for _ in 0..n {
                    record(&mut h, Duration::from_millis(ms));
                }
                let mut errors = crate::load::ClassCounts::default();
                for _ in 0..bad {
                    errors.add(crate::load::ErrorClass::ConnectError);
                }
                LiveSecond {
                    second,
                    requests: n,
                    ok: n - bad,
                    errors_by_class: errors,
                    latency: to_base64(&h),
                }
            })
            .collect();
        LiveIntervals {
            elapsed: Duration::from_secs(3),
            segment: None,
            wall_start: SystemTime::UNIX_EPOCH,
            finished: false,
            seconds,
        }
    }

    #[test]
    fn windows_add_agents_exactly_by_aligned_second() {
        let mut m = LiveMerge::new(2);
        m.update(0, 0, &answer(&[(0, 10, 0), (1, 10, 0), (2, 10, 2)], 5), 0)
            .unwrap();
        // The second agent started a second later: its second 1 is merged second 2.
        m.update(1, 1, &answer(&[(0, 30, 0), (1, 30, 6)], 50), 0)
            .unwrap();
        // At 2.5 s, the last 1 s is seconds 1 and 2: 10 + 30 and 10 + 30 requests.
        let w = m.window(Duration::from_secs(1), Duration::from_millis(2500));
        assert_eq!((w.requests, w.errors), (80, 8));
        assert!((w.error_rate - 0.1).abs() < 1e-9, "{w:?}");
        assert!((w.rps - 80.0 / 1.5).abs() < 1e-9, "{w:?}");
        // 20 requests at 5 ms, 60 at 50 ms: the median is the slow agent's.
        let p50 = w.p50.unwrap().as_secs_f64();
        assert!((p50 - 0.05).abs() < 0.001, "{w:?}");
        // A later answer replaces the seconds it holds (second 2 grew) and keeps the others.
        m.update(0, 0, &answer(&[(2, 20, 2)], 5), 0).unwrap();
        let w = m.window(Duration::from_secs(1), Duration::from_millis(2500));
        assert_eq!(w.requests, 90);
        // Forgotten seconds leave the window.
        m.update(1, 1, &answer(&[], 50), 2).unwrap();
        let w = m.window(Duration::from_secs(1), Duration::from_millis(2500));
        assert_eq!(w.requests, 10 + 20 + 30);
    }

    #[test]
    fn offsets_round_to_the_nearest_second() {
        let origin = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        assert_eq!(offset(origin, origin), 0);
        assert_eq!(offset(origin + Duration::from_millis(400), origin), 0);
        assert_eq!(offset(origin + Duration::from_millis(1600), origin), 2);
        assert_eq!(offset(origin - Duration::from_secs(5), origin), 0);
    }

    #[test]
    fn an_undecodable_histogram_changes_nothing() {
        let mut m = LiveMerge::new(1);
        m.update(0, 0, &answer(&[(0, 10, 0)], 5), 0).unwrap();
        let mut bad = answer(&[(0, 99, 0)], 5);
        bad.seconds[0].latency = "not base64".into();
        assert!(m.update(0, 0, &bad, 0).is_err());
        assert!(m.update(3, 0, &answer(&[], 5), 0).is_err());
        let w = m.window(Duration::from_secs(1), Duration::from_millis(500));
        assert_eq!(w.requests, 10);
    }
}
