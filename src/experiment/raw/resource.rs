//! The resource faults of `method[i].action` as written (see `experiment::resource`).

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::config::schema::{FractionText, SizeText};

/// `cpu_burn`: keep CPUs busy from a child process of shakedown's.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "CpuBurn")]
pub(crate) struct RawCpuBurn {
    /// Busy threads, 1..=1024 (default 1).
    #[serde(default)]
    pub cores: Option<u32>,
    /// Share of the time each thread is busy, 1%..100% (default 100%).
    #[serde(default)]
    #[schemars(with = "Option<FractionText>")]
    pub load: Option<Value>,
}

/// `memory_pressure`: allocate and touch memory in a child process of shakedown's.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "MemoryPressure")]
pub(crate) struct RawMemoryPressure {
    /// How much, at most this host's physical memory.
    #[schemars(with = "SizeText")]
    pub bytes: Value,
}

/// `cpu_limit`: limit a service's CPUs through cgroup v2 `cpu.max`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "CpuLimit")]
pub(crate) struct RawCpuLimit {
    /// The service.
    pub service: String,
    /// CPUs, above 0 and at most 1024 (`0.5`: half of one).
    pub cores: f64,
}

/// `memory_limit`: limit a service's memory through cgroup v2 `memory.max`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "MemoryLimit")]
pub(crate) struct RawMemoryLimit {
    /// The service.
    pub service: String,
    /// The limit, at most this host's physical memory.
    #[schemars(with = "SizeText")]
    pub bytes: Value,
}

/// `hold_connections`: open and hold idle TCP connections; exactly one of `target`, `proxy`
/// or `service` says where.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "HoldConnections")]
pub(crate) struct RawHoldConnections {
    /// A `host:port`.
    #[serde(default)]
    pub target: Option<String>,
    /// A declared proxy (its listen address).
    #[serde(default)]
    pub proxy: Option<String>,
    /// A declared service (the address of its `ready` check).
    #[serde(default)]
    pub service: Option<String>,
    /// How many, 1 up to the open-file limit (`ulimit -n`).
    pub count: u32,
}
