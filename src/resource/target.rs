//! What the sampler watches: a process (and its descendants) found by pid, by name, or as an
//! experiment's service, and how often.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Default time between two resource samples.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
/// Shortest time between two resource samples: below it, CPU percentages are mostly rounding
/// of the kernel's clock ticks (10 ms) and the sampler measures itself.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// A watched process tree: the process found this way and every descendant of it, summed.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The process with this pid.
    Pid(u32),
    /// Every process whose name (the kernel's `comm`, at most 15 bytes) or program file name
    /// is this.
    Name(String),
    /// An experiment's service: its current process (a restarted service is followed).
    Service(String),
}

impl Target {
    /// A file-name-safe label: `pid-123`, `name-postgres`, `service-kv`.
    pub fn slug(&self) -> String {
        let text = match self {
            Target::Pid(p) => format!("pid-{p}"),
            Target::Name(n) => format!("name-{n}"),
            Target::Service(s) => format!("service-{s}"),
        };
        text.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Pid(p) => write!(f, "pid {p}"),
            Target::Name(n) => write!(f, "name {n}"),
            Target::Service(s) => write!(f, "service {s}"),
        }
    }
}

/// What to sample and how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    /// Time between samples.
    pub interval: Duration,
    /// The process trees to sample, each once, in order (the host is always sampled).
    pub targets: Vec<Target>,
}

impl Default for Watch {
    fn default() -> Self {
        Self {
            interval: DEFAULT_INTERVAL,
            targets: Vec::new(),
        }
    }
}

impl Watch {
    /// Add `target` unless it is already watched.
    pub fn add(&mut self, target: Target) {
        if !self.targets.contains(&target) {
            self.targets.push(target);
        }
    }
}
