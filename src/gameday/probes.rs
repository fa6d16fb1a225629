//! The steady-state probes, sampled for as long as the game day lasts
//! ([`crate::experiment::probe::sampling`], as a run samples them).
//!
//! Every `interval`, all probes run concurrently (each bounded by its timeout) and the sample
//! is published as `probe` (`{"t", "probes": [{"name", "status", "pass", "detail"}]}`, `t` in
//! seconds on the game day's clock). A probe's state change is journaled: its first sample
//! when it fails (a probe is taken to pass until seen otherwise), then every pass → fail and
//! fail → pass. Guards are not sampled: a game day stops nothing on its own.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::Feed;
use crate::clock::Clock;
use crate::experiment::client::Http;
use crate::experiment::probe::sampling::Sampler;
use crate::experiment::probe::{LoadWindow, Outcome, Status};
use crate::experiment::spec::Probe;

/// What is sampled, how often, with what.
pub(super) struct Sampling {
    /// The steady-state probes.
    pub(super) probes: Vec<Probe>,
    /// Time between samples.
    pub(super) interval: Duration,
    /// The probes' HTTP client.
    pub(super) http: Http,
    /// The load, for load probes.
    pub(super) load: Option<Arc<dyn LoadWindow>>,
    /// The game day's clock.
    pub(super) clock: Clock,
    /// The resource samples, for resource and growth probes.
    pub(super) resources: Option<crate::resource::Live>,
}

/// Which probes changed state with this sample: `(probe, new state, detail)`, in probe order;
/// `passing` holds each probe's last state and is updated.
pub(super) fn changes<'a>(
    passing: &mut [bool],
    outcomes: &'a [Outcome],
) -> Vec<(&'a str, bool, &'a str)> {
    passing
        .iter_mut()
        .zip(outcomes)
        .filter_map(|(was, o)| {
            let now = o.status == Status::Pass;
            (std::mem::replace(was, now) != now).then_some((
                o.probe.as_str(),
                now,
                o.detail.as_str(),
            ))
        })
        .collect()
}

/// Sample until `stop`.
pub(super) async fn sample(s: Sampling, feed: Arc<dyn Feed>, stop: CancellationToken) {
    if s.probes.is_empty() {
        return;
    }
    let mut passing = vec![true; s.probes.len()];
    let sampler = Sampler {
        probes: s.probes,
        guards: Vec::new(),
        interval: s.interval.max(Duration::from_millis(10)),
        http: s.http,
        load: s.load,
        clock: s.clock,
    };
    let resources = || s.resources.clone();
    sampler
        .run(resources, stop, |round| {
            for (name, pass, detail) in changes(&mut passing, &round.probes) {
                feed.probe_changed(name, pass, detail);
            }
            let strip: Vec<_> = round
                .probes
                .iter()
                .map(|o| json!({"name": o.probe, "status": o.status, "pass": o.status == Status::Pass, "detail": o.detail}))
                .collect();
            feed.publish("probe", json!({"t": round.at.as_secs_f64(), "probes": strip}));
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(probe: &str, status: Status) -> Outcome {
        Outcome {
            probe: probe.into(),
            status,
            detail: format!("{status:?}"),
        }
    }

    #[test]
    fn only_state_changes_are_reported_a_first_failure_included() {
        let mut passing = vec![true, true];
        let first = [outcome("up", Status::Pass), outcome("p99", Status::Fail)];
        assert_eq!(changes(&mut passing, &first), vec![("p99", false, "Fail")]);
        assert_eq!(changes(&mut passing, &first), vec![]);
        let second = [outcome("up", Status::Error), outcome("p99", Status::Pass)];
        assert_eq!(
            changes(&mut passing, &second),
            vec![("up", false, "Error"), ("p99", true, "Pass")]
        );
        assert_eq!(passing, vec![false, true]);
    }
}
