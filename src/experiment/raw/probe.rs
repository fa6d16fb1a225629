//! `steady_state:`, its probes and what they check (HTTP answers, watched processes), as
//! written.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::*;

/// `steady_state:`: how often the probes are sampled and when a run counts as recovered.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "SteadyState")]
pub(crate) struct RawSteadyState {
    /// Sampling interval.
    #[serde(default, deserialize_with = "quantity::bounded_opt")]
    #[schemars(with = "Option<DurationText>")]
    pub interval: Option<Duration>,
    /// Consecutive passing samples that count as recovered.
    #[serde(default)]
    pub recovered_after: Option<u32>,
    /// The probes (checked one by one).
    #[serde(default)]
    #[schemars(with = "Vec<RawProbe>")]
    pub probes: Vec<Value>,
}

/// One probe (steady state or guard).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Probe")]
pub(crate) struct RawProbe {
    /// Unique name.
    pub name: String,
    /// An HTTP request.
    #[serde(default)]
    pub http: Option<RawHttp>,
    /// A TCP connect to `host:port`.
    #[serde(default)]
    pub tcp: Option<String>,
    /// A command (program and arguments).
    #[serde(default, deserialize_with = "opt_argv")]
    #[schemars(with = "Option<Argv>")]
    pub command: Option<Vec<String>>,
    /// A load-driver metric: error_rate, rps, p50, p90, p95, p99.
    #[serde(default)]
    #[schemars(with = "Option<MetricName>")]
    pub load: Option<String>,
    /// The window a load metric is computed over.
    #[serde(default, deserialize_with = "quantity::bounded_opt")]
    #[schemars(with = "Option<DurationText>")]
    pub window: Option<Duration>,
    /// Upper bound for a load metric (exclusive).
    #[serde(default)]
    #[schemars(with = "Option<LimitText>")]
    pub below: Option<Value>,
    /// Lower bound for a load metric (exclusive).
    #[serde(default)]
    #[schemars(with = "Option<LimitText>")]
    pub above: Option<Value>,
    /// A figure of a watched process: cpu (percent of one core), rss (bytes), fds, threads,
    /// connections; read from the latest resource sample (docs/resources.md).
    #[serde(default)]
    #[schemars(with = "Option<ResourceName>")]
    pub resource: Option<String>,
    /// Resource probes: the service whose process (and its children) is read.
    #[serde(default)]
    pub service: Option<String>,
    /// Resource probes: the pid of the process (and its children) read.
    #[serde(default)]
    pub pid: Option<u32>,
    /// Resource probes: the name of the processes (and their children) read.
    #[serde(default)]
    pub process: Option<String>,
    /// `connections` probes: count only sockets in this TCP state (`ESTABLISHED`, `LISTEN`, …).
    #[serde(default)]
    pub state: Option<String>,
    /// Resource probes: a limit on the figure's growth, `below 5MB/min`, judged on the
    /// least-squares slope over `window` (docs/resources.md, Growth probes).
    #[serde(default)]
    pub growth: Option<String>,
    /// What an HTTP or command probe's answer must look like.
    #[serde(default)]
    pub expect: Option<RawExpectAnswer>,
    /// Time limit for one sample.
    #[serde(default, deserialize_with = "quantity::bounded_opt")]
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<Duration>,
    /// Guards only: how long the guard must fail before the run is aborted.
    #[serde(default, rename = "for", deserialize_with = "quantity::bounded_opt")]
    #[schemars(with = "Option<DurationText>")]
    pub for_: Option<Duration>,
}

/// `watch:`: which processes the resource sampler reads besides the services, and how often.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Watch")]
pub(crate) struct RawWatch {
    /// Time between resource samples (default 1s).
    #[serde(default, deserialize_with = "quantity::bounded_opt")]
    #[schemars(with = "Option<DurationText>")]
    pub interval: Option<Duration>,
    /// Processes to sample (each with its children), besides every service.
    #[serde(default)]
    pub processes: Vec<RawWatched>,
}

/// One watched process: exactly one of `pid`, `name` or `service`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Watched")]
pub(crate) struct RawWatched {
    /// A process id.
    #[serde(default)]
    pub pid: Option<u32>,
    /// Every process of this name (`comm`, or the program's file name).
    #[serde(default)]
    pub name: Option<String>,
    /// A service of this file.
    #[serde(default)]
    pub service: Option<String>,
}

/// The request of an HTTP probe.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "HttpRequest")]
pub(crate) struct RawHttp {
    /// `http://host:port/path`.
    pub url: String,
    /// Method (default GET).
    #[serde(default)]
    pub method: Option<String>,
    /// Request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Request body.
    #[serde(default)]
    pub body: Option<String>,
}

/// `expect:` of an HTTP or command probe: what its answer must look like.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Answer")]
pub(crate) struct RawExpectAnswer {
    /// HTTP status (one or a list).
    #[serde(default)]
    #[schemars(with = "Option<Statuses>")]
    pub status: Option<Value>,
    /// Regex the response body must match.
    #[serde(default)]
    pub body: Option<String>,
    /// JSONPath → expected value.
    #[serde(default)]
    pub json: BTreeMap<String, Value>,
    /// Exit code of a command (default 0).
    #[serde(default)]
    pub exit: Option<i32>,
    /// Regex the command's stdout must match.
    #[serde(default)]
    pub stdout: Option<String>,
}
