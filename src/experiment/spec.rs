//! The validated experiment: what [`super::validate`] builds from a file once every check passed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use regex::Regex;
use serde_json::Value;
use serde_json_path::JsonPath;

/// Default sampling interval of the steady state.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(250);
/// Default number of consecutive passing samples that mean "recovered".
pub const DEFAULT_RECOVERED_AFTER: u32 = 3;
/// Default time limit of one probe sample.
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// Default time a service has to become ready.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(15);
/// Default grace between SIGTERM and SIGKILL.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Default time limit of an action or rollback command.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Lease on faults injected into an external control API (renewed every third of it).
pub const EXTERNAL_LEASE: Duration = Duration::from_secs(3);

/// A validated experiment.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// The file it came from.
    pub file: PathBuf,
    /// One-line statement of what should hold.
    pub title: String,
    /// Longer text.
    pub description: Option<String>,
    /// Labels for `shakedown test --tag`.
    pub tags: Vec<String>,
    /// Seed for the load driver and the proxies' random decisions.
    pub seed: Option<u64>,
    /// Processes to start and stop.
    pub services: Vec<Service>,
    /// Proxies to create.
    pub proxies: Vec<Proxy>,
    /// Where the proxies live.
    pub control: Control,
    /// How `https` probe and `ready` URLs (and the load, unless its own `tls` says otherwise)
    /// verify servers.
    pub tls: crate::tls::TlsOptions,
    /// The `load:` section (the load driver's format, validated by it), when the runner sends
    /// the load itself.
    pub load: Option<crate::load::LoadSpec>,
    /// The `load: {agents: …}` section, when live agents send it instead.
    pub agents: Option<Agents>,
    /// The hypothesis sampled throughout the run.
    pub steady_state: SteadyState,
    /// The resources sampled throughout the run: every service by default, what `watch:`, a
    /// resource probe and `--watch-pid`/`--watch-name` add, at `watch.interval`.
    pub watch: crate::resource::Watch,
    /// Stop conditions.
    pub guards: Vec<Guard>,
    /// The timeline of faults and actions, ordered by `at`.
    pub method: Vec<Step>,
    /// Length of the method (the run continues after it while waiting for recovery).
    pub duration: Duration,
    /// What must hold for the run to pass.
    pub expect: Expect,
    /// Commands that always run at the end.
    pub rollbacks: Vec<CommandSpec>,
    /// What validation found doubtful but not wrong, each `file:line:col: field: warning: …`.
    pub warnings: Vec<String>,
    /// The file as it runs: its YAML with every `${…}` resolved, keys in file order.
    pub resolved: String,
}

/// A process the runner manages.
#[derive(Debug, Clone)]
pub struct Service {
    /// Unique name.
    pub name: String,
    /// Program and arguments (`shakedown` = this executable).
    pub command: Vec<String>,
    /// Readiness check.
    pub ready: Option<Ready>,
    /// How long to wait for readiness.
    pub ready_timeout: Duration,
    /// Extra environment.
    pub env: BTreeMap<String, String>,
    /// Grace between SIGTERM and SIGKILL.
    pub stop_timeout: Duration,
}

/// How to tell a service is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ready {
    /// GET this URL until it answers 2xx.
    Http(String),
    /// Connect to this `host:port` until it accepts.
    Tcp(String),
}

/// A proxy to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    /// Name.
    pub name: String,
    /// Listen address.
    pub listen: String,
    /// Upstream address.
    pub upstream: String,
    /// What it speaks to its clients (HTTP toxics need `Http`).
    pub protocol: crate::proxy::Protocol,
    /// HTTP mode's TLS toward clients and upstream.
    pub tls: crate::proxy::ProxyTls,
    /// HTTP mode: how long a client has to send a request head (`None`: the server's default).
    pub header_timeout: Option<Duration>,
}

/// Where proxies are created and faults injected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// A control server inside the runner's process, on 127.0.0.1 and a free port.
    Embedded,
    /// An external `shakedown serve` (or Toxiproxy) at this base URL; faults carry a lease.
    External(String),
}

/// The steady-state hypothesis.
#[derive(Debug, Clone)]
pub struct SteadyState {
    /// Time between samples.
    pub interval: Duration,
    /// Consecutive passing samples that count as recovered.
    pub recovered_after: u32,
    /// Probes; a sample passes when all of them pass.
    pub probes: Vec<Probe>,
}

/// A named check.
#[derive(Debug, Clone)]
pub struct Probe {
    /// Unique name.
    pub name: String,
    /// What it does.
    pub check: Check,
    /// Time limit of one sample.
    pub timeout: Duration,
}

/// What a probe checks.
#[derive(Debug, Clone)]
pub enum Check {
    /// An HTTP request and what its answer must look like.
    Http(HttpCheck),
    /// A TCP connect.
    Tcp(String),
    /// A command, its exit code and stdout.
    Command {
        /// Program and arguments.
        argv: Vec<String>,
        /// Expected exit code.
        exit: i32,
        /// Regex stdout must match.
        stdout: Option<Regex>,
    },
    /// A load-driver metric over a trailing window.
    Load {
        /// The metric.
        metric: LoadMetric,
        /// The window.
        window: Duration,
        /// The tolerance.
        bound: Bound,
    },
    /// A figure of a watched process tree, last sample against a bound.
    Resource {
        /// Whose.
        target: crate::resource::Target,
        /// Which figure.
        metric: ResourceMetric,
        /// The tolerance, in the figure's unit (bytes, percent of a core, a count).
        bound: Bound,
    },
    /// The growth of a figure of a watched process tree: the least-squares slope over the
    /// trailing window fails when the lower end of its 95% interval is above `limit`
    /// (`docs/resources.md`, Growth probes).
    Growth {
        /// Whose.
        target: crate::resource::Target,
        /// Which figure.
        metric: ResourceMetric,
        /// Largest growth accepted, in the figure's unit per second.
        limit: f64,
        /// The trailing window the slope is fitted over.
        window: Duration,
    },
}

/// A figure of a watched process tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceMetric {
    /// CPU, percent of one core.
    Cpu,
    /// Resident set size, bytes.
    Rss,
    /// Open file descriptors.
    Fds,
    /// Threads.
    Threads,
    /// TCP connections, in one state (`ESTABLISHED`, …) or in any.
    Connections(Option<String>),
}

/// An HTTP probe.
#[derive(Debug, Clone)]
pub struct HttpCheck {
    /// URL.
    pub url: String,
    /// Method.
    pub method: http::Method,
    /// Headers.
    pub headers: BTreeMap<String, String>,
    /// Body.
    pub body: Option<String>,
    /// Accepted statuses (empty: any 2xx).
    pub status: Vec<u16>,
    /// Regex the body must match.
    pub body_regex: Option<Regex>,
    /// JSONPath queries and the value each must find.
    pub json: Vec<(String, JsonPath, Value)>,
}

/// A load-driver metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMetric {
    /// Failed requests / requests, 0..1.
    ErrorRate,
    /// Requests per second.
    Rps,
    /// Latency percentile (50, 90, 95 or 99).
    Latency(u8),
}

/// A tolerance on a load metric. Latencies are compared in seconds, rates as fractions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// The value must be below this.
    Below(f64),
    /// The value must be above this.
    Above(f64),
}

/// A stop condition: the run aborts when this probe has failed for `for`.
#[derive(Debug, Clone)]
pub struct Guard {
    /// The check.
    pub probe: Probe,
    /// How long it must fail continuously (zero: the first failing sample aborts).
    pub for_: Duration,
}

/// One step of the method.
#[derive(Debug, Clone)]
pub struct Step {
    /// When, from the start of the method.
    pub at: Duration,
    /// Label (defaults to a description of the step).
    pub name: String,
    /// Whether detection and recovery are measured from it.
    pub measure: bool,
    /// What it does.
    pub kind: StepKind,
}

/// A fault or an action.
#[derive(Debug, Clone)]
pub enum StepKind {
    /// A toxic held for a time.
    Fault {
        /// The toxic.
        fault: Fault,
        /// How long it stays.
        for_: Duration,
    },
    /// An instantaneous action.
    Action(Action),
    /// A fault on this host's resources (CPU, memory, a service's process, connections),
    /// held for a time and lifted at its end or at teardown.
    Resource {
        /// What it does.
        fault: super::resource::ResourceFault,
        /// How long it stays.
        for_: Duration,
    },
}

/// A toxic to add through the control API, validated with the proxy's own vocabulary.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// Proxy name.
    pub proxy: String,
    /// What it does, with typed attributes (sent as `type` and `attributes`).
    pub kind: crate::fault::ToxicKind,
    /// The direction it acts on.
    pub stream: crate::fault::Stream,
    /// The probability that it affects a given connection.
    pub toxicity: crate::fault::Toxicity,
}

/// An action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Run a command (may use `${service.NAME.pid}`).
    Command(CommandSpec),
    /// Send a signal to a service's process.
    Kill {
        /// Service.
        service: String,
        /// Signal name without `SIG` (KILL, TERM, STOP, CONT, INT, HUP).
        signal: String,
    },
    /// Stop a service gracefully.
    Stop(String),
    /// Start a stopped service and wait until ready.
    Start(String),
    /// Stop and start a service.
    Restart(String),
}

/// A command with a time limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Time limit.
    pub timeout: Duration,
}

/// Expectations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expect {
    /// Recovery deadline from each measured step's removal.
    pub recovered_within: Option<Duration>,
    /// Detection deadline from each measured step's injection.
    pub detected_within: Option<Duration>,
    /// Most acknowledged writes that may be lost.
    pub lost_writes: Option<u64>,
    /// Largest observed RPO (span of acknowledgement times of the lost writes).
    pub rpo_within: Option<Duration>,
    /// Fail when a named figure regressed against `--baseline` by more than `max`.
    pub regression: Option<Regression>,
}

/// `expect.regression`: the figures that must not regress against the baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Regression {
    /// The largest relative regression allowed (0.05 = 5 %); also the threshold every
    /// figure's change is judged against.
    pub max: f64,
    /// The figures checked (`p99`, `error_rate`, `ttr.STEP`, …; see `baseline::figure`).
    pub figures: Vec<String>,
}

impl Step {
    /// Whether the step is held for a time (a toxic or a resource fault), not instantaneous.
    pub fn held(&self) -> bool {
        !matches!(self.kind, StepKind::Action(_))
    }

    /// When the step ends (its fault is removed); `at` for actions.
    pub fn end(&self) -> Duration {
        match &self.kind {
            StepKind::Fault { for_, .. } | StepKind::Resource { for_, .. } => {
                self.at.saturating_add(*for_)
            }
            StepKind::Action(_) => self.at,
        }
    }
}

/// Default time the runner waits for every agent to answer before the run starts.
pub const DEFAULT_AGENTS_READY: Duration = Duration::from_secs(60);

/// `load: {agents: …}`: live load agents (`shakedown load --segment I/N --serve ADDR`) whose
/// per-second windows the runner merges for its load probes, guards and thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct Agents {
    /// Where the agents are.
    pub source: AgentSource,
    /// Go on with the rest when an agent disappears (the default aborts the run, exit 3).
    pub allow_loss: bool,
    /// Thresholds judged once on the merged report (the agents' own when empty).
    pub thresholds: Vec<String>,
    /// How long the runner waits for every agent to answer before the run starts.
    pub ready_timeout: Duration,
    /// The bearer token the runner sends the agents (read from `token_env` or `token_file`
    /// when the file was loaded); `None`: none sent.
    pub token: Option<crate::bearer::Token>,
}

/// Where the agents are.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentSource {
    /// Base URLs, `http://host:port`.
    Urls(Vec<String>),
    /// A DNS name whose every A/AAAA record is an agent on `port` (a headless Service).
    Dns {
        /// The name.
        name: String,
        /// The agents' `--serve` port.
        port: u16,
    },
}
