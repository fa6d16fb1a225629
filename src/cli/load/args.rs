//! `shakedown load`'s flags (and its optional scenario file) to a [`LoadSpec`], and a spec
//! problem to the place the user wrote it: `FILE:LINE:COL` in the scenario file, or the flag.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::exit::InvalidInput;
use crate::load::{Arrival, LoadError, LoadSpec, Rate, Segment, Stages, ThinkTime, UserStages};

/// Arguments of `shakedown load`.
#[derive(Debug, Default, clap::Args)]
pub struct LoadArgs {
    /// Target URL, `http[s]://host:port/path` (optional when the scenario file names a `target`).
    pub url: Option<String>,
    /// Open model: constant arrival rate, e.g. `2000/s` (also `/m`, `/ms`, `/h`).
    #[arg(long, value_parser = parse_rate)]
    pub rate: Option<Rate>,
    /// How long to send, e.g. `30s`; without it, until the last stage or Ctrl-C.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Maximum open connections = requests in flight (open default 1000; closed: one per user).
    #[arg(long, short = 'c')]
    pub connections: Option<usize>,
    /// Open model: rate stages `TIME:RATE,…`, linear between points, e.g. `0s:100/s,30s:1000/s,40s:100/s`.
    #[arg(long, value_parser = parse_stages)]
    pub stages: Option<Stages>,
    /// Poisson arrivals (seeded exponential gaps) instead of evenly spaced ones.
    #[arg(long)]
    pub poisson: bool,
    /// Closed loop flat out: one user per connection, no think time (wrk-style).
    #[arg(long)]
    pub max_rate: bool,
    /// Worker tasks (default: the number of CPUs).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Closed model: number of virtual users.
    #[arg(long)]
    pub users: Option<u64>,
    /// Closed model: user count stages `TIME:USERS,…`, linear between points, e.g. `0s:10,30s:200,40s:10`.
    #[arg(long, value_parser = parse_user_stages)]
    pub users_stages: Option<UserStages>,
    /// Closed model: users started per second (default: all at once).
    #[arg(long, value_parser = parse_rate)]
    pub spawn_rate: Option<Rate>,
    /// Closed model: think time after each request, `2s` or `5s..15s`.
    #[arg(long, value_parser = parse_think)]
    pub think: Option<ThinkTime>,
    /// Closed model: each user stops after this many requests.
    #[arg(long)]
    pub requests_per_user: Option<u64>,
    /// Per-request timeout, connect included (default 10s).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
    /// Extra header on every request, `Name: value` (repeatable).
    #[arg(long = "header", short = 'H')]
    pub headers: Vec<String>,
    /// Trust the CA certificates of this PEM file besides the system's roots (`https` targets).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Accept any server certificate (self-signed staging systems; `https` targets).
    #[arg(long)]
    pub insecure: bool,
    /// Present this PEM client certificate chain to servers that ask for one (mutual TLS;
    /// with `--key`).
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// The PEM private key of `--cert`.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Scenario file (YAML or JSON, the `load:` format); flags override its fields.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Pass/fail criterion, e.g. `p95 < 300ms`, `error_rate < 1% over 10s abort` (repeatable).
    #[arg(long = "threshold")]
    pub thresholds: Vec<String>,
    /// Write the JSON report to this file (`-` for stdout).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Run only this agent's share `I/N` of the plan: open model slots `k mod N = I`, closed
    /// model users `I, I+N, …` (see docs/scaling.md). Poisson arrivals need `--seed`.
    #[arg(long, value_parser = parse_segment)]
    pub segment: Option<Segment>,
    /// Begin the plan at this UTC instant (RFC 3339, `2026-11-30T21:00:00Z`); one in the past is
    /// invalid input (exit 2).
    #[arg(long, value_parser = humantime::parse_rfc3339_weak)]
    pub start_at: Option<SystemTime>,
    /// Write each second's latency and service-time histograms to FILE as an HdrHistogram
    /// interval log (tags `latency` and `service`, microseconds).
    #[arg(long, value_name = "FILE")]
    pub hlog: Option<PathBuf>,
    /// Put the whole-run histograms in the JSON report (`histograms`, base64), for `shakedown merge`.
    #[arg(long)]
    pub histograms: bool,
    /// Serve this agent over HTTP at ADDR (`host:port`; port 0 picks one, printed on stderr):
    /// `GET /intervals?from=SECOND` (its live seconds), `/report` and `/hlog` (once ended),
    /// `/health`, `POST /stop`; off loopback it needs a token (--token-file, SHAKEDOWN_TOKEN or
    /// --token), required on every request but `/health`.
    #[arg(long, value_name = "ADDR")]
    pub serve: Option<String>,
    /// With `--serve`: the bearer token every request but `GET /health` must carry; required
    /// to serve on anything but loopback.
    #[command(flatten)]
    pub token: super::super::access::TokenArgs,
    /// With `--serve`: after the run, keep serving until the final report has been fetched
    /// (`GET /report`, as an experiment runner does) or this long has passed.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "30s")]
    pub linger: Duration,
    /// Seed for every random choice (printed in the report).
    #[arg(long)]
    pub seed: Option<u64>,
    /// No live progress.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// The resource sampler: processes to watch while the load runs, how often, CSV output
    /// (the report gains a `resources` section).
    #[command(flatten)]
    pub watch: super::super::watch::WatchArgs,
}

fn parse_rate(s: &str) -> Result<Rate, String> {
    s.parse()
}

fn parse_stages(s: &str) -> Result<Stages, String> {
    s.parse()
}

fn parse_user_stages(s: &str) -> Result<UserStages, String> {
    s.parse()
}

fn parse_segment(s: &str) -> Result<Segment, String> {
    s.parse()
}

fn parse_think(s: &str) -> Result<ThinkTime, String> {
    s.parse()
}

impl LoadArgs {
    /// The spec these arguments describe (the scenario file, overridden by flags).
    pub fn spec(&self) -> anyhow::Result<LoadSpec> {
        let mut spec: LoadSpec = match &self.scenario {
            // Strict YAML 1.2 (only `true`/`false` are booleans), each problem at its place.
            Some(path) => crate::config::typed::read(path)?,
            None => LoadSpec::default(),
        };
        if let Some(url) = &self.url {
            spec.target = Some(url.clone());
        }
        if self.rate.is_some() {
            spec.rate = self.rate;
        }
        if self.stages.is_some() {
            spec.stages = self.stages.clone();
        }
        if self.poisson {
            spec.arrival = Arrival::Poisson;
        }
        spec.duration = self.duration.or(spec.duration);
        spec.connections = self.connections.or(spec.connections);
        spec.threads = self.threads.or(spec.threads);
        spec.users = self.users.or(spec.users);
        if self.users_stages.is_some() {
            spec.users_stages = self.users_stages.clone();
        }
        spec.spawn_rate = self.spawn_rate.or(spec.spawn_rate);
        spec.think = self.think.or(spec.think);
        spec.requests_per_user = self.requests_per_user.or(spec.requests_per_user);
        spec.timeout = self.timeout.or(spec.timeout);
        spec.max_rate |= self.max_rate;
        spec.segment = self.segment.or(spec.segment);
        for h in &self.headers {
            let (name, value) = h.split_once(':').ok_or_else(|| {
                InvalidInput::new(format!("--header {h:?}: expected `Name: value`"))
            })?;
            spec.headers
                .insert(name.trim().to_string(), value.trim().to_string());
        }
        spec.thresholds.extend(self.thresholds.iter().cloned());
        self.apply_tls(&mut spec)?;
        Ok(spec)
    }
}

impl LoadArgs {
    /// The spec's fields a flag set, overriding the scenario file: top-level ones, and each
    /// of `tls` on its own.
    fn flag_fields(&self) -> Vec<&'static str> {
        [
            ("target", self.url.is_some()),
            ("rate", self.rate.is_some()),
            ("stages", self.stages.is_some()),
            ("arrival", self.poisson),
            ("duration", self.duration.is_some()),
            ("connections", self.connections.is_some()),
            ("threads", self.threads.is_some()),
            ("users", self.users.is_some()),
            ("users_stages", self.users_stages.is_some()),
            ("spawn_rate", self.spawn_rate.is_some()),
            ("think", self.think.is_some()),
            ("requests_per_user", self.requests_per_user.is_some()),
            ("timeout", self.timeout.is_some()),
            ("max_rate", self.max_rate),
            ("segment", self.segment.is_some()),
            ("tls.ca", self.ca.is_some()),
            ("tls.insecure", self.insecure),
            ("tls.cert", self.cert.is_some()),
            ("tls.key", self.key.is_some()),
        ]
        .into_iter()
        .filter_map(|(field, set)| set.then_some(field))
        .collect()
    }

    /// A problem with `spec` (what these arguments describe): named by the flag when a TLS
    /// flag gave the value ([`LoadArgs::tls_problem`]); at its `file:line:col` when the field
    /// was written in the scenario file (and no flag overrode it); else as `invalid load:
    /// field: message`.
    pub(super) fn problem(&self, spec: &LoadSpec, error: LoadError) -> anyhow::Error {
        let LoadError::Invalid { field, message } = error else {
            return error.into();
        };
        if let Some(setting) = field.strip_prefix("tls.")
            && let Some(e) = self.tls_problem(spec, setting, &message)
        {
            return e.into();
        }
        let top = field.split(['.', '[']).next().unwrap_or_default();
        let flagged = self.flag_fields();
        let located = self
            .scenario
            .as_deref()
            .filter(|_| !flagged.contains(&top) && !flagged.contains(&field.as_str()))
            .and_then(|file| Some((file, locate(file, &field)?)));
        match located {
            Some((file, at)) => crate::config::ConfigError::one(file, at, field, message).into(),
            None => anyhow::Error::new(InvalidInput::new(format!("{field}: {message}")))
                .context("invalid load"),
        }
    }
}

/// Where `field` (or its nearest parent below the root) is written in `file`, if it is. An item
/// missing from a list written there (a `--threshold` appended to the file's) is not in it.
fn locate(file: &Path, field: &str) -> Option<crate::config::Position> {
    let text = std::fs::read_to_string(file).ok()?;
    let mut locations = crate::config::node::Locations::new();
    crate::config::node::parse(file, &text)
        .ok()?
        .to_json("", &mut locations);
    let mut path = field;
    loop {
        if path.is_empty() {
            return None;
        }
        if let Some(at) = locations.get(path) {
            return Some(*at);
        }
        let cut = path.rfind(['.', '[']).unwrap_or(0);
        let parent = &path[..cut];
        if path[cut..].starts_with('[') && locations.contains_key(&format!("{parent}[0]")) {
            return None;
        }
        path = parent;
    }
}
