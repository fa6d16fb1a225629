//! Live intervals: a running agent's recent seconds (counts and latency histograms), for a
//! merger that adds several agents' windows while they run (`shakedown load --serve`).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::Segment;
use super::errors::ClassCounts;
use super::units::{serde_ms, unix_ms};
use super::worker::Shared;

/// One second of a running agent, by intended send time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveSecond {
    /// Seconds since the run's start.
    pub second: u64,
    /// Completed requests intended in this second (so far).
    pub requests: u64,
    /// Successes.
    pub ok: u64,
    /// Failures by class.
    pub errors_by_class: ClassCounts,
    /// The latency histogram (microseconds, base64 V2-deflate; see [`super::from_base64`]).
    pub latency: String,
}

/// A running agent's seconds from some second on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveIntervals {
    /// Time since the run's start (0 before a `--start-at` instant).
    #[serde(rename = "elapsed_ms", with = "serde_ms")]
    pub elapsed: Duration,
    /// The agent's share of the plan, when split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<Segment>,
    /// The wall-clock instant of the run's second 0 (its `--start-at`, or when it started),
    /// milliseconds since the Unix epoch on the wire: a merger aligns agents' seconds by it.
    #[serde(rename = "wall_start_ms", with = "unix_ms")]
    pub wall_start: SystemTime,
    /// Whether the run has ended (every worker finished).
    pub finished: bool,
    /// The seconds asked for that still hold histograms (the last [`super::WINDOW_HORIZON`]),
    /// in order, the current (incomplete) one included.
    pub seconds: Vec<LiveSecond>,
}

/// A handle on a running load's live timeline; cheap to clone, usable from any task, and it
/// outlives the run's [`super::LoadRun`] (answering with the last state).
#[derive(Debug, Clone)]
pub struct LiveHandle {
    pub(super) shared: Arc<Shared>,
    pub(super) finished: Arc<std::sync::atomic::AtomicBool>,
}

impl LiveHandle {
    /// The seconds from `from` (since the start) on.
    pub fn since(&self, from: u64) -> LiveIntervals {
        let shared = &self.shared;
        let seconds = match shared.timeline.lock() {
            Ok(t) => t.live_from(from),
            Err(_) => Vec::new(),
        };
        let segment = shared.plan.segment;
        LiveIntervals {
            elapsed: shared.clock.now().saturating_sub(shared.start),
            segment: (!segment.is_whole()).then_some(segment),
            wall_start: shared.wall_start,
            finished: self.finished.load(std::sync::atomic::Ordering::SeqCst),
            seconds,
        }
    }

    /// Stop sending now, as the plan's end would (a merger ending an experiment); the run then
    /// drains and reports as usual.
    pub fn stop(&self) {
        self.shared.stop_now();
    }
}
