//! Resource faults: method steps that act on this host's resources instead of a proxy's
//! connections, each held for the step's `for` and lifted at its end or at teardown.
//!
//! | fault | how | module |
//! |---|---|---|
//! | `cpu_burn`, `memory_pressure` | a child process of shakedown's (`shakedown stress …`), in a process group of its own, killed at the end and when shakedown dies | `stress`, `burn`, `pressure` |
//! | `cpu_limit`, `memory_limit` | a cgroup v2 child cgroup holding the service's processes (`cpu.max`, `memory.max`) | `cgroup` |
//! | `pause` | SIGSTOP to the service's process group, SIGCONT at the end | `pause` |
//! | `hold_connections` | N idle TCP connections opened and held | `hold` |
//!
//! `Active` holds what is in place; the runner's teardown releases it whatever ended the run.

pub mod burn;
mod cgroup;
mod hold;
pub(crate) mod host;
mod pause;
pub mod pressure;
mod stress;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::experiment::service::Services;
use crate::experiment::spec::{Experiment, Ready, StepKind};

/// One resource fault, validated.
#[derive(Debug, Clone, PartialEq)]
pub enum ResourceFault {
    /// Keep `cores` CPUs busy `load` percent of the time.
    CpuBurn {
        /// Busy threads, 1..=1024.
        cores: u32,
        /// Percent of each 100 ms period a thread spins, 1..=100.
        load: u8,
    },
    /// Allocate and touch this many bytes, hold them, release them.
    MemoryPressure {
        /// Bytes, at most the host's physical memory.
        bytes: u64,
    },
    /// Limit a service's processes to this many CPUs (cgroup v2 `cpu.max`).
    CpuLimit {
        /// Service.
        service: String,
        /// CPUs, above 0 and at most 1024 (fractions allowed: 0.5).
        cores: f64,
    },
    /// Limit a service's processes to this much memory (cgroup v2 `memory.max`).
    MemoryLimit {
        /// Service.
        service: String,
        /// Bytes.
        bytes: u64,
    },
    /// Freeze a service's process group (SIGSTOP), resume it at the end (SIGCONT).
    Pause(String),
    /// Open and hold idle TCP connections.
    HoldConnections {
        /// Where to connect.
        target: Target,
        /// How many, at most the open-file limit.
        count: u32,
    },
}

/// Where `hold_connections` connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A `host:port`.
    Address(String),
    /// A declared proxy's listen address.
    Proxy(String),
    /// A declared service's ready address (its `ready` URL or `tcp://` check).
    Service(String),
}

impl ResourceFault {
    /// A short label: `cpu_burn 2 cores at 80%`, `pause kv`.
    pub fn describe(&self) -> String {
        match self {
            Self::CpuBurn { cores, load } => format!(
                "cpu_burn {cores} core{} at {load}%",
                if *cores == 1 { "" } else { "s" }
            ),
            Self::MemoryPressure { bytes } => format!("memory_pressure {}", host::mib(*bytes)),
            Self::CpuLimit { service, cores } => format!("cpu_limit {service} to {cores} cores"),
            Self::MemoryLimit { service, bytes } => {
                format!("memory_limit {service} to {}", host::mib(*bytes))
            }
            Self::Pause(service) => format!("pause {service}"),
            Self::HoldConnections { target, count } => {
                let to = match target {
                    Target::Address(a) => a.clone(),
                    Target::Proxy(p) => format!("proxy {p}"),
                    Target::Service(s) => format!("service {s}"),
                };
                format!("hold_connections {count} to {to}")
            }
        }
    }

    /// The cgroup controller it needs (`cpu`, `memory`), if any.
    fn controller(&self) -> Option<&'static str> {
        match self {
            Self::CpuLimit { .. } => Some("cpu"),
            Self::MemoryLimit { .. } => Some("memory"),
            _ => None,
        }
    }
}

/// Whether this host allows every resource fault of `experiment`, checked before anything
/// starts: one `(step label, Err(why))` per step that cannot run here (cgroup limits where
/// no writable cgroup v2 with the controller exists), `Ok(what)` for those that can.
pub fn permitted(experiment: &Experiment) -> Vec<(String, Result<String, String>)> {
    experiment
        .method
        .iter()
        .filter_map(|step| match &step.kind {
            StepKind::Resource { fault, .. } => Some((step, fault)),
            _ => None,
        })
        .map(|(step, fault)| {
            let verdict = match fault.controller() {
                Some(controller) => cgroup::parent(controller)
                    .map(|dir| format!("cgroup v2 `{controller}` in {}", dir.display())),
                None => Ok("needs no privilege".to_string()),
            };
            (step.name.clone(), verdict)
        })
        .collect()
}

/// What a resource fault holds while in place.
enum Held {
    Child(stress::Child),
    Cgroup(cgroup::Limit),
    Paused(pause::Paused),
    Connections(hold::Held),
}

/// The resource faults in place, by step index; dropping it releases them all.
#[derive(Default)]
pub(crate) struct Active(BTreeMap<usize, Held>);

impl std::fmt::Debug for Active {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Active")
            .field(&self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Active {
    /// Put step `i`'s `fault` in place for `for_` (a bound the stress child also keeps by
    /// itself); returns what was done, for the step's detail.
    ///
    /// # Errors
    /// The fault cannot be put in place: the reason, e.g. `not available here: …`.
    pub(crate) async fn start(
        &mut self,
        i: usize,
        fault: &ResourceFault,
        for_: Duration,
        experiment: &Experiment,
        services: &Services,
    ) -> Result<String, String> {
        let pgid = |name: &str| {
            services
                .pid(name)
                .ok_or_else(|| format!("service `{name}` is not running"))
        };
        let (held, detail) = match fault {
            ResourceFault::CpuBurn { cores, load } => {
                let child = stress::Child::cpu(*cores, *load, for_).await?;
                (
                    Held::Child(child),
                    format!("{} busy", host::plural(*cores, "thread")),
                )
            }
            ResourceFault::MemoryPressure { bytes } => {
                let child = stress::Child::memory(*bytes, for_).await?;
                let detail = format!("{} allocated and touched", host::mib(*bytes));
                (Held::Child(child), detail)
            }
            ResourceFault::CpuLimit { service, cores } => {
                let limit = cgroup::Limit::cpu(i, pgid(service)?, *cores)?;
                let detail = limit.describe();
                (Held::Cgroup(limit), detail)
            }
            ResourceFault::MemoryLimit { service, bytes } => {
                let limit = cgroup::Limit::memory(i, pgid(service)?, *bytes)?;
                let detail = limit.describe();
                (Held::Cgroup(limit), detail)
            }
            ResourceFault::Pause(service) => {
                let paused = pause::Paused::stop(service, pgid(service)?)?;
                (Held::Paused(paused), format!("SIGSTOP to `{service}`"))
            }
            ResourceFault::HoldConnections { target, count } => {
                let addr = address(target, experiment)?;
                let held = hold::Held::open(&addr, *count).await;
                let detail = held.describe();
                (Held::Connections(held), detail)
            }
        };
        self.0.insert(i, held);
        Ok(detail)
    }

    /// Lift step `i`'s fault; returns what was done (`Err` when lifting failed).
    pub(crate) async fn end(&mut self, i: usize) -> Result<String, String> {
        match self.0.remove(&i) {
            None => Ok("nothing in place".to_string()),
            Some(held) => release(held).await,
        }
    }

    /// Lift every fault still in place (teardown): one note per fault.
    pub(crate) async fn release_all(&mut self) -> Vec<String> {
        let mut notes = Vec::new();
        while let Some((i, held)) = self.0.pop_first() {
            notes.push(match release(held).await {
                Ok(how) => format!("resource fault of step {i} lifted: {how}"),
                Err(e) => format!("FAILED: resource fault of step {i}: {e}"),
            });
        }
        notes
    }
}

async fn release(held: Held) -> Result<String, String> {
    match held {
        Held::Child(child) => Ok(child.stop().await),
        Held::Cgroup(limit) => limit.lift(),
        Held::Paused(paused) => paused.resume(),
        Held::Connections(held) => Ok(held.close()),
    }
}

/// The `host:port` a `hold_connections` target stands for.
fn address(target: &Target, experiment: &Experiment) -> Result<String, String> {
    match target {
        Target::Address(a) => Ok(a.clone()),
        Target::Proxy(name) => experiment
            .proxies
            .iter()
            .find(|p| &p.name == name)
            .map(|p| p.listen.clone())
            .ok_or_else(|| format!("proxy `{name}` is not declared")),
        Target::Service(name) => experiment
            .services
            .iter()
            .find(|s| &s.name == name)
            .and_then(|s| s.ready.as_ref())
            .and_then(ready_address)
            .ok_or_else(|| format!("service `{name}` has no `ready` address to connect to")),
    }
}

/// The `host:port` of a readiness check.
pub(crate) fn ready_address(ready: &Ready) -> Option<String> {
    match ready {
        Ready::Tcp(addr) => Some(addr.clone()),
        Ready::Http(url) => {
            let uri: http::Uri = url.parse().ok()?;
            let host = uri.host()?;
            let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
                Some("https") => 443,
                _ => 80,
            });
            Some(format!("{host}:{port}"))
        }
    }
}
