//! `shakedown load`: flags (and an optional scenario file) to a [`LoadSpec`], live progress, summary, JSON, exit code.
//!
//! The command-line face of [`crate::load`]: the driver itself knows nothing of it.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;

use crate::clock::Clock;

mod live;
use crate::exit::{InvalidInput, Outcome};
use crate::load::{
    self, Arrival, LoadError, LoadReport, LoadRun, LoadSpec, Rate, Segment, Stages, ThinkTime,
    UserStages,
};

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
    /// Serve this agent's recent seconds over HTTP while it runs, at ADDR (`host:port`; port 0
    /// picks one, printed on stderr): `GET /intervals?from=SECOND`.
    #[arg(long, value_name = "ADDR")]
    pub serve: Option<String>,
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
    pub watch: super::watch::WatchArgs,
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
            Some(path) => crate::config::read(path)?,
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
        if self.tls_flags() {
            let tls = spec.tls.get_or_insert_default();
            tls.ca = self.ca.clone().or(tls.ca.take());
            tls.insecure |= self.insecure;
            tls.cert = self.cert.clone().or(tls.cert.take());
            tls.key = self.key.clone().or(tls.key.take());
        }
        Ok(spec)
    }
}

impl LoadArgs {
    /// Whether a TLS flag (`--ca`, `--insecure`, `--cert`, `--key`) is given.
    fn tls_flags(&self) -> bool {
        self.ca.is_some() || self.insecure || self.cert.is_some() || self.key.is_some()
    }

    /// The spec's top-level fields a flag set, overriding the scenario file.
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
            ("tls", self.tls_flags()),
        ]
        .into_iter()
        .filter_map(|(field, set)| set.then_some(field))
        .collect()
    }

    /// A spec problem: at its `file:line:col` when the field was written in the scenario file
    /// (and no flag overrode it), else as `invalid load: field: message`.
    fn problem(&self, error: LoadError) -> anyhow::Error {
        let LoadError::Invalid { field, message } = error else {
            return error.into();
        };
        let top = field.split(['.', '[']).next().unwrap_or_default();
        let located = self
            .scenario
            .as_deref()
            .filter(|_| !self.flag_fields().contains(&top))
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

fn invalid(e: LoadError) -> anyhow::Error {
    match e {
        LoadError::Invalid { .. } => InvalidInput::new(e.to_string()).into(),
        other => other.into(),
    }
}

/// `shakedown load`.
pub(super) async fn cli_main(args: LoadArgs) -> anyhow::Result<Outcome> {
    let spec = args.spec()?;
    load::validate(&spec).map_err(|e| args.problem(e))?;
    let serve = match &args.serve {
        Some(addr) => Some(live::bind(addr).await?),
        None => None,
    };
    // The interval log's file is created before any request: a bad path sends nothing.
    let hlog = match &args.hlog {
        Some(path) => Some((path, create(path, "--hlog")?)),
        None => None,
    };
    let options = load::StartOptions {
        seed: args.seed,
        start_at: args.start_at,
        // A served agent's final report carries what a merger adds exactly.
        intervals: args.hlog.is_some() || serve.is_some(),
        histograms: args.histograms || serve.is_some(),
    };
    args.watch.check_csv()?;
    let clock = Clock::start();
    let sampling = args.watch.start(clock);
    let run = match load::start_with(spec, clock, options) {
        Ok(run) => run,
        Err(e) => {
            if let Some(s) = sampling {
                s.finish().await;
            }
            // Refused: nothing left behind.
            if let Some((path, _)) = &hlog {
                let _ = std::fs::remove_file(path);
            }
            return Err(invalid(e));
        }
    };
    let agent = serve.map(|(listener, bound)| {
        eprintln!("serving live intervals on http://{bound}/intervals");
        let agent = live::Agent::new(run.live());
        live::spawn(listener, agent.clone());
        agent
    });
    let (mut report, interrupted) = drive(run, args.quiet).await;
    if let Some(agent) = &agent {
        agent.publish(&report)?;
        if !args.histograms {
            report.histograms = None;
        }
    }
    let resources = match sampling {
        Some(s) => Some(s.finish().await),
        None => None,
    };
    let json_to_stdout = args.json.as_ref().is_some_and(|p| p.as_os_str() == "-");
    let mut table = report.table();
    if let Some(r) = &resources {
        table.push_str(&crate::report::terminal::resources(r));
    }
    if json_to_stdout {
        eprint!("{table}");
    } else {
        super::print(format_args!("{table}"));
    }
    if let (Some(dir), Some(r)) = (&args.watch.csv, &resources) {
        let files = crate::report::csv::write_resources(dir, r)?;
        eprintln!("csv: {} ({} files)", dir.display(), files.len());
    }
    if let Some((path, file)) = hlog {
        write_hlog(path, file, &report)?;
    }
    if let Some(path) = &args.json {
        let json = match &resources {
            None => serde_json::to_string_pretty(&report)?,
            // The report's fields, then `resources` (docs/resources.md).
            Some(r) => {
                let text = serde_json::to_string_pretty(&report)?;
                let series = serde_json::to_string_pretty(r)?.replace('\n', "\n  ");
                match text.strip_suffix("\n}") {
                    Some(body) => format!("{body},\n  \"resources\": {series}\n}}"),
                    None => text,
                }
            }
        };
        if path.as_os_str() == "-" {
            super::print(format_args!("{json}\n"));
        } else {
            std::fs::write(path, json + "\n")
                .with_context(|| format!("writing the JSON report to {}", path.display()))?;
        }
    }
    if let Some(agent) = agent
        && !interrupted
        && !agent.linger(args.linger).await
    {
        eprintln!(
            "nobody fetched the report within --linger {}",
            humantime::format_duration(args.linger)
        );
    }
    Ok(if interrupted {
        Outcome::Aborted
    } else if report.passed {
        Outcome::Passed
    } else {
        Outcome::Failed
    })
}

/// Create (truncate) the file `path` given to `flag`; a failure is invalid input.
pub(super) fn create(path: &Path, flag: &str) -> anyhow::Result<std::fs::File> {
    std::fs::File::create(path).map_err(|e| {
        InvalidInput::new(format!("{flag} {}: cannot create: {e}", path.display())).into()
    })
}

/// Write the report's per-second histograms to `file` (at `path`) as an HdrHistogram interval log.
pub(super) fn write_hlog(
    path: &Path,
    file: std::fs::File,
    report: &LoadReport,
) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(file);
    let start = report.wall_start.unwrap_or_else(SystemTime::now);
    report
        .intervals
        .write_hlog(&mut out, start)
        .and_then(|()| std::io::Write::flush(&mut out))
        .with_context(|| format!("writing the interval log {}", path.display()))
}

/// Show progress until the run ends or Ctrl-C; returns the report and whether it was interrupted.
async fn drive(run: LoadRun, quiet: bool) -> (LoadReport, bool) {
    let tty = !quiet && std::io::stderr().is_terminal();
    let bar = tty.then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.enable_steady_tick(Duration::from_millis(200));
        b
    });
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let mut last_line = Duration::ZERO;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let interrupted = loop {
        tokio::select! {
            _ = &mut ctrl_c => break true,
            _ = tick.tick() => {}
        }
        if run.is_finished() {
            break false;
        }
        let elapsed = run.elapsed();
        let w = run.window(Duration::from_secs(2));
        let line = format!(
            "{:>6.1}s  {:>8.0} req/s  p99 {:>9}  errors {:>6.2}%",
            elapsed.as_secs_f64(),
            w.rps,
            w.p99
                .map_or("-".into(), |d| format!("{:.1}ms", d.as_secs_f64() * 1e3)),
            w.error_rate * 100.0
        );
        match &bar {
            Some(b) => b.set_message(line),
            None if !quiet && elapsed >= last_line.saturating_add(Duration::from_secs(5)) => {
                last_line = elapsed;
                eprintln!("{line}");
            }
            None => {}
        }
    };
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let report = if interrupted {
        run.stop().await
    } else {
        run.finish().await
    };
    (report, interrupted)
}
