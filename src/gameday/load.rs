//! The experiment's load, run for as long as the game day lasts, and its per-second figures.
//!
//! The file's `load:` section is run as written except: its `duration` is dropped (a constant
//! rate or user count runs until the game day ends); keyed writes are sent as plain requests
//! (no write log grows, no read-back at the end); thresholds are dropped (nothing stops the
//! load). A plan that still ends on its own (stages, requests per user) is started again from
//! its beginning when it ends.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::Feed;
use crate::clock::Clock;
use crate::experiment::probe::{LoadStats, LoadWindow};
use crate::load::{self, LoadError, LoadRun, LoadSpec};

/// How often the figures are published and the plan's end is checked.
const TICK: Duration = Duration::from_secs(1);

/// `spec` as a game day runs it: no duration, writes as plain requests, no thresholds.
pub(super) fn continuous(spec: &LoadSpec) -> LoadSpec {
    let mut spec = spec.clone();
    spec.duration = None;
    spec.thresholds.clear();
    for s in &mut spec.scenarios {
        if let Some(write) = s.write.take() {
            s.request = Some(write);
        }
        s.read_back = None;
    }
    spec
}

/// A load that is started again whenever its plan ends.
#[derive(Debug)]
pub(super) struct Continuous {
    spec: LoadSpec,
    clock: Clock,
    seed: Option<u64>,
    current: Mutex<Option<Arc<LoadRun>>>,
}

impl Continuous {
    /// Start the continuous form of `spec` on `clock`.
    pub(super) fn start(
        spec: &LoadSpec,
        clock: Clock,
        seed: Option<u64>,
    ) -> Result<Self, LoadError> {
        let spec = continuous(spec);
        let run = load::start(spec.clone(), clock, seed)?;
        Ok(Self {
            spec,
            clock,
            seed,
            current: Mutex::new(Some(Arc::new(run))),
        })
    }

    fn current(&self) -> Option<Arc<LoadRun>> {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Start the plan again if it has ended (a staged plan, requests per user).
    fn renew_if_ended(&self) {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if current.as_ref().is_some_and(|r| r.is_finished()) {
            match load::start(self.spec.clone(), self.clock, self.seed) {
                Ok(run) => *current = Some(Arc::new(run)),
                Err(e) => tracing::warn!(error = %e, "cannot start the load again"),
            }
        }
    }

    /// Stop sending; in-flight requests end within the load's timeout.
    pub(super) async fn stop(&self) {
        let run = self
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let Some(run) = run else { return };
        match Arc::try_unwrap(run) {
            Ok(run) => {
                run.stop().await;
            }
            // A probe still holds it: dropping the last handle stops the workers.
            Err(_) => tracing::debug!("the load is still sampled; its workers stop on drop"),
        }
    }
}

impl LoadWindow for Continuous {
    fn stats(&self, window: Duration) -> LoadStats {
        self.current().map(|r| r.stats(window)).unwrap_or_default()
    }

    fn elapsed(&self) -> Duration {
        self.current()
            .map(|r| LoadWindow::elapsed(&*r))
            .unwrap_or_default()
    }
}

/// Every second until `stop`: publish `load` (`{"t", "requests", "ok", "errors",
/// "error_rate", "rps", "p50_ms", "p90_ms", "p95_ms", "p99_ms"}`, the load driver's window
/// over the last complete second and the current one, `t` in seconds on `clock`) and start the
/// plan again if it ended.
pub(super) async fn report(
    load: Arc<Continuous>,
    clock: Clock,
    feed: Arc<dyn Feed>,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        load.renew_if_ended();
        let Some(run) = load.current() else { return };
        let mut figures = serde_json::to_value(run.window(TICK)).unwrap_or_default();
        figures["t"] = json!(clock.now().as_secs_f64());
        feed.publish("load", figures);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_game_day_load_has_no_end_no_writes_and_no_thresholds() {
        let spec: LoadSpec = serde_saphyr::from_str(
            r#"
target: http://127.0.0.1:1
rate: 10/s
duration: 5s
thresholds: ["p99 < 10ms"]
scenarios:
  - {write: {method: PUT, path: "/kv/{{seq}}", body: x}, read_back: {method: GET, path: "/kv/{{seq}}"}}
  - {request: {method: GET, path: /health}}
"#,
        )
        .unwrap();
        let c = continuous(&spec);
        assert_eq!(c.duration, None);
        assert!(c.thresholds.is_empty());
        assert_eq!(c.scenarios[0].request, spec.scenarios[0].write);
        assert_eq!(
            (&c.scenarios[0].write, &c.scenarios[0].read_back),
            (&None, &None)
        );
        assert_eq!(c.scenarios[1], spec.scenarios[1]);
        assert!(load::validate(&c).is_ok());
    }
}
