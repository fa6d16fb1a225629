//! The experiment file as written: serde types that reject unknown fields.
//!
//! Each section is deserialized on its own (see [`super::validate`]) so that every
//! problem in a file is reported at once; [`super::spec`] holds the validated form.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::quantity;
pub(super) use probe::*;
pub(super) use resource::*;

mod probe;
mod resource;
use crate::config::schema::{Argv, DurationText, FractionText, LimitText, Statuses, one_of};

/// Top-level keys of an experiment file, in the order they are documented.
pub(super) const SECTIONS: &[&str] = &[
    "title",
    "description",
    "tags",
    "seed",
    "services",
    "proxies",
    "control",
    "tls",
    "load",
    "watch",
    "steady_state",
    "guards",
    "method",
    "duration",
    "expect",
    "rollbacks",
];

/// A process the runner starts, waits for, and stops.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Service")]
pub(super) struct RawService {
    /// Unique name.
    pub name: String,
    /// Program and arguments; `shakedown` means this executable.
    #[serde(deserialize_with = "argv")]
    #[schemars(with = "Argv")]
    pub command: Vec<String>,
    /// `http://…` polled until 2xx, or `tcp://host:port` until it connects.
    #[serde(default)]
    pub ready: Option<String>,
    /// How long to wait for `ready`.
    #[serde(default, deserialize_with = "quantity::bounded_opt")]
    #[schemars(with = "Option<DurationText>")]
    pub ready_timeout: Option<Duration>,
    /// Extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Grace period between SIGTERM and SIGKILL when stopping.
    #[serde(default, deserialize_with = "quantity::bounded_opt")]
    #[schemars(with = "Option<DurationText>")]
    pub stop_timeout: Option<Duration>,
}

/// A proxy the runner creates through the control API.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Proxy")]
pub(super) struct RawProxy {
    /// Unique name; faults refer to it.
    pub name: String,
    /// Address the proxy listens on.
    pub listen: String,
    /// Address it forwards to.
    pub upstream: String,
    /// `tcp` (default) or `http` (HTTP toxics need it).
    #[serde(default)]
    pub protocol: Option<String>,
    /// HTTP mode: forward to the upstream over TLS.
    #[serde(default)]
    pub upstream_tls: bool,
    /// HTTP mode: PEM file of CA certificates the upstream's certificate may chain to.
    #[serde(default)]
    pub upstream_ca: Option<String>,
    /// HTTP mode: accept any upstream certificate.
    #[serde(default)]
    pub upstream_insecure: bool,
    /// HTTP mode: present this PEM certificate chain to an upstream that asks for one…
    #[serde(default)]
    pub upstream_cert: Option<String>,
    /// …with this PEM private key.
    #[serde(default)]
    pub upstream_key: Option<String>,
    /// HTTP mode: terminate the clients' TLS with this PEM certificate chain…
    #[serde(default)]
    pub tls_cert: Option<String>,
    /// …and this PEM private key.
    #[serde(default)]
    pub tls_key: Option<String>,
    /// HTTP mode: require client certificates signed by a CA of this PEM file.
    #[serde(default)]
    pub tls_client_ca: Option<String>,
    /// HTTP mode: how long a client has to send a request head (100ms to 10m; default 10s).
    #[serde(default, deserialize_with = "quantity::bounded_opt")]
    #[schemars(with = "Option<DurationText>")]
    pub http_header_timeout: Option<Duration>,
}

/// One step of `method:`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Step")]
pub(super) struct RawStep {
    /// When, from the start of the method.
    #[serde(deserialize_with = "quantity::bounded")]
    #[schemars(with = "DurationText")]
    pub at: Duration,
    /// How long a fault stays in place.
    #[serde(default, rename = "for", deserialize_with = "quantity::bounded_opt")]
    #[schemars(with = "Option<DurationText>")]
    pub for_: Option<Duration>,
    /// Optional label.
    #[serde(default)]
    pub name: Option<String>,
    /// Whether detection and recovery are measured from this step.
    #[serde(default)]
    pub measure: Option<bool>,
    /// A toxic to add to a proxy.
    #[serde(default)]
    pub fault: Option<RawFault>,
    /// Something to do.
    #[serde(default)]
    pub action: Option<RawAction>,
}

/// A fault: a toxic of one proxy, in Toxiproxy's terms.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Fault")]
pub(super) struct RawFault {
    /// The proxy (declared under `proxies`).
    pub proxy: String,
    /// Toxic type: latency, bandwidth, slow_close, timeout, reset_peer, slicer, limit_data, …
    #[serde(rename = "type")]
    #[schemars(with = "ToxicType")]
    pub kind: String,
    /// `downstream` (default) or `upstream`.
    #[serde(default)]
    #[schemars(with = "Option<StreamName>")]
    pub stream: Option<String>,
    /// Probability the toxic applies to a connection, 0..1 or a percentage.
    #[serde(default)]
    #[schemars(with = "Option<FractionText>")]
    pub toxicity: Option<Value>,
    /// The toxic's attributes: each type's, with units, defaults and what 0 means (`first_n: 0`
    /// and `max_active: 0` are no limit), in docs/faults.md and `GET /toxic-types`.
    #[serde(default)]
    pub attributes: serde_json::Map<String, Value>,
}

/// An action: exactly one of the fields below.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Action")]
pub(super) struct RawAction {
    /// Run a command and wait for it.
    #[serde(default, deserialize_with = "opt_argv")]
    #[schemars(with = "Option<Argv>")]
    pub command: Option<Vec<String>>,
    /// Send a signal to a service.
    #[serde(default)]
    pub kill: Option<String>,
    /// Signal for `kill` (default KILL).
    #[serde(default)]
    pub signal: Option<String>,
    /// Stop a service gracefully.
    #[serde(default)]
    pub stop: Option<String>,
    /// Start a stopped service.
    #[serde(default)]
    pub start: Option<String>,
    /// Stop (gracefully) and start a service.
    #[serde(default)]
    pub restart: Option<String>,
    /// Time limit for a command.
    #[serde(default, deserialize_with = "quantity::bounded_opt")]
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<Duration>,
    /// Resource fault: keep CPUs busy for the step's `for`.
    #[serde(default)]
    pub cpu_burn: Option<RawCpuBurn>,
    /// Resource fault: allocate and hold memory for the step's `for`.
    #[serde(default)]
    pub memory_pressure: Option<RawMemoryPressure>,
    /// Resource fault: limit a service's CPUs (cgroup v2) for the step's `for`.
    #[serde(default)]
    pub cpu_limit: Option<RawCpuLimit>,
    /// Resource fault: limit a service's memory (cgroup v2) for the step's `for`.
    #[serde(default)]
    pub memory_limit: Option<RawMemoryLimit>,
    /// Resource fault: freeze a service (SIGSTOP) for the step's `for`, then resume it.
    #[serde(default)]
    pub pause: Option<String>,
    /// Resource fault: open and hold idle connections for the step's `for`.
    #[serde(default)]
    pub hold_connections: Option<RawHoldConnections>,
}

/// `expect:`: what a run must show to pass (every expectation optional).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Expect")]
pub(super) struct RawExpect {
    /// Every measured step recovers within this time of its removal.
    #[serde(default, deserialize_with = "quantity::bounded_opt")]
    #[schemars(with = "Option<DurationText>")]
    pub recovered_within: Option<Duration>,
    /// Every measured step is detected within this time of its injection.
    #[serde(default, deserialize_with = "quantity::bounded_opt")]
    #[schemars(with = "Option<DurationText>")]
    pub detected_within: Option<Duration>,
    /// At most this many acknowledged writes lost.
    #[serde(default)]
    pub lost_writes: Option<u64>,
    /// The observed RPO (span of acknowledgement times of lost writes) is at most this.
    #[serde(default, deserialize_with = "quantity::bounded_opt")]
    #[schemars(with = "Option<DurationText>")]
    pub rpo_within: Option<Duration>,
    /// Fail when a figure regressed against `--baseline` by more than `max`.
    #[serde(default)]
    pub regression: Option<RawRegression>,
}

/// `expect.regression`: compared with the run of `--baseline NAME` (docs/baselines.md).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Regression")]
pub(super) struct RawRegression {
    /// The largest regression allowed, as a percentage of the baseline's value (`5%`).
    #[schemars(with = "PercentText")]
    pub max: Value,
    /// The figures checked: p50, p90, p99, p99.9, max, rps, error_rate, mttr, rss_peak, …,
    /// `ttd.STEP` and `ttr.STEP` for a measured step named STEP.
    pub figures: Vec<String>,
}

/// A schema-only type: a percentage such as `5%` (may exceed 100%).
struct PercentText;

impl JsonSchema for PercentText {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Percentage".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A percentage such as `5%` (0% or more).",
            "type": "string",
            "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*%\s*$",
        })
    }
}

/// A rollback command.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Rollback")]
pub(super) struct RawRollback {
    /// Program and arguments.
    #[serde(deserialize_with = "argv")]
    #[schemars(with = "Argv")]
    pub command: Vec<String>,
    /// Time limit.
    #[serde(default, deserialize_with = "quantity::bounded_opt")]
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<Duration>,
}

/// The metrics a load probe may read (`validate/probes.rs` parses each).
pub(super) const METRICS: &[&str] = &["error_rate", "rps", "p50", "p90", "p95", "p99"];

/// The figures a resource probe may read (`validate/probes.rs` parses each).
pub(super) const RESOURCES: &[&str] = &["cpu", "rss", "fds", "threads", "connections"];

/// A schema-only type: a string that is one of `$words`, named `$name` in the schema.
macro_rules! words {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $description:literal, $words:expr) => {
        $(#[$doc])*
        struct $ty;

        impl JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                one_of($description, $words)
            }
        }
    };
}

words!(
    /// A fault's `type`: the toxic types of the fault registry.
    ToxicType,
    "ToxicType",
    "A toxic type (docs/faults.md).",
    crate::fault::ToxicKind::TYPES
);
words!(
    /// A fault's `stream`.
    StreamName,
    "Stream",
    "The direction: `downstream` (to the client, default) or `upstream`.",
    &["downstream", "upstream"]
);
words!(
    /// A resource probe's figure.
    ResourceName,
    "ResourceMetric",
    "A figure of a watched process (docs/resources.md).",
    RESOURCES
);
words!(
    /// A load probe's metric.
    MetricName,
    "LoadMetric",
    "A load-driver metric over the probe's window.",
    METRICS
);

/// A command line: a list of strings; numbers and booleans are taken as written (`[kill, -9, …]`).
fn argv<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let items = Vec::<Value>::deserialize(d)?;
    items
        .into_iter()
        .map(|v| match v {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(serde::de::Error::custom(format!(
                "a command argument must be a string, found {other}"
            ))),
        })
        .collect()
}

fn opt_argv<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    argv(d).map(Some)
}

/// `load: {agents: …}`: live load agents instead of the runner's own load.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "AgentLoad")]
pub(super) struct RawAgentLoad {
    /// The agents (`shakedown load --serve ADDR`): a list of `http://host:port` base URLs, or
    /// `{dns: NAME:PORT}`, every A/AAAA record of NAME (a Kubernetes headless Service).
    pub agents: RawAgents,
    /// Go on with the remaining agents when one disappears (default: abort, exit 3).
    #[serde(default)]
    pub allow_agent_loss: bool,
    /// Pass/fail criteria judged once on the merged report (default: the agents' own).
    #[serde(default)]
    pub thresholds: Vec<String>,
    /// How long to wait for every agent to answer before the run starts (default 60s).
    #[serde(default, deserialize_with = "quantity::bounded_opt")]
    #[schemars(with = "Option<DurationText>")]
    pub ready_timeout: Option<Duration>,
    /// The environment variable of the runner that holds the agents' bearer token (their
    /// `--token-file`, `SHAKEDOWN_TOKEN` or `--token`), e.g. `SHAKEDOWN_AGENT_TOKEN`.
    #[serde(default)]
    pub token_env: Option<String>,
    /// A file holding the agents' bearer token (surrounding whitespace ignored; a relative
    /// path is relative to the working directory). Not with `token_env`.
    #[serde(default)]
    pub token_file: Option<std::path::PathBuf>,
}

/// The agents: URLs or a DNS name.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub(super) enum RawAgents {
    /// Base URLs, `http://host:port`.
    Urls(Vec<String>),
    /// `{dns: NAME:PORT}`.
    Dns(RawAgentDns),
}

/// `{dns: NAME:PORT}`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAgentDns {
    /// `NAME:PORT`: every A/AAAA record of NAME, each an agent serving on PORT.
    pub dns: String,
}

/// The keys of `load: {agents: …}`.
pub(super) const AGENT_LOAD_KEYS: &[&str] = &[
    "agents",
    "allow_agent_loss",
    "thresholds",
    "ready_timeout",
    "token_env",
    "token_file",
];
