//! `shakedown preflight`: whether an experiment can run here, checked without injecting
//! anything: its commands exist, the ports it listens on are free, its services start and
//! become ready, its proxies can be created, the addresses it sends to answer, its probes pass,
//! and this host allows its resource faults. Everything it started is stopped again.
//!
//! It reuses the runner's own pieces: [`Services`] (the same start and readiness check),
//! `control_for` and the injector (the same proxy creation), the runner's probe round
//! before the load (`probes_before_load`) and [`resource::permitted`].

use std::path::Path;
use std::time::Duration;

use super::client::Http;
use super::embedded::control_for;
use super::probe::Status as ProbeStatus;
use super::resource::{self, ResourceFault, Target};
use super::run::probes_before_load;
use super::service::Services;
use super::spec::{Action, Check, Control, Experiment, StepKind};

/// How long a reachability check waits for a connection.
const CONNECT_LIMIT: Duration = Duration::from_secs(2);

/// One check and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// What was checked: `command \`sh\``, `port 127.0.0.1:8080 free (proxy kv listens)`.
    pub check: String,
    /// Whether it is ready.
    pub ready: bool,
    /// What was found (a path, an address) or why it is not ready.
    pub detail: String,
}

impl Row {
    fn new(check: impl Into<String>, outcome: Result<String, String>) -> Self {
        let (ready, detail) = match outcome {
            Ok(d) => (true, d),
            Err(d) => (false, d),
        };
        Self {
            check: check.into(),
            ready,
            detail,
        }
    }
}

/// Check everything `experiment` needs, in the order a run needs it; services' files go to
/// `dir` (its `${run.dir}`), removed afterwards. One row per check.
pub async fn check(experiment: &Experiment, dir: &Path) -> Vec<Row> {
    let mut rows: Vec<Row> = programs(experiment)
        .into_iter()
        .map(|p| Row::new(format!("command `{p}`"), find_program(&p)))
        .collect();
    // The ports another process already holds, and who of the experiment meant to listen there.
    let mut taken: Vec<(String, String)> = Vec::new();
    for (addr, who) in listened(experiment) {
        let outcome = free(&addr);
        if outcome.as_ref().is_err_and(|e| e == IN_USE) {
            taken.push((addr.clone(), who.clone()));
        }
        rows.push(Row::new(
            format!("port {addr} free ({who} listens)"),
            outcome,
        ));
    }
    rows.extend(
        resource::permitted(experiment)
            .into_iter()
            .map(|(step, verdict)| Row::new(format!("resource fault `{step}` permitted"), verdict)),
    );
    let http = Http::default();
    let mut services = Services::new(&experiment.services, &dir.join("logs"), http.clone());
    for s in &experiment.services {
        let started = services.start(&s.name).await;
        rows.push(Row::new(
            format!("service `{}` starts and is ready", s.name),
            started
                .map(|()| "ready".to_string())
                .map_err(|e| e.to_string()),
        ));
    }
    let mut control = None;
    if !experiment.proxies.is_empty() {
        let created = match control_for(experiment, &http).await {
            Ok((mut injector, server)) => {
                let created = injector.create_proxies(&experiment.proxies).await;
                control = Some((injector, server));
                created.map_err(|e| e.to_string())
            }
            Err(e) => Err(e),
        };
        rows.push(Row::new(
            "proxies can be created",
            created.map(|()| format!("{} created", experiment.proxies.len())),
        ));
    }
    for (addr, what) in targets(experiment) {
        let outcome = reach(&addr)
            .await
            .and_then(|found| match held_by(&taken, &addr) {
                Some(who) => Err(format!(
                    "reachable, but the port is in use by another process: the experiment's own \
                 {who} cannot bind it"
                )),
                None => Ok(found),
            });
        rows.push(Row::new(format!("{addr} reachable ({what})"), outcome));
    }
    let outcomes = probes_before_load(experiment, &http).await;
    for o in outcomes {
        let outcome = if o.status == ProbeStatus::Pass {
            Ok(o.detail)
        } else {
            Err(o.detail)
        };
        rows.push(Row::new(format!("probe `{}` passes", o.probe), outcome));
    }
    if let Some((mut injector, server)) = control {
        injector.clear().await;
        if let Some(server) = server {
            server.shutdown().await;
        }
    }
    services.stop_all().await;
    let _ = std::fs::remove_dir_all(dir);
    rows
}

/// Every program the experiment runs (services, command actions, command probes, rollbacks),
/// each once, in the order first met.
fn programs(experiment: &Experiment) -> Vec<String> {
    let services = experiment.services.iter().map(|s| &s.command);
    let actions = experiment.method.iter().filter_map(|s| match &s.kind {
        StepKind::Action(Action::Command(c)) => Some(&c.argv),
        _ => None,
    });
    let probes = experiment
        .steady_state
        .probes
        .iter()
        .chain(experiment.guards.iter().map(|g| &g.probe));
    let probes = probes.filter_map(|p| match &p.check {
        Check::Command { argv, .. } => Some(argv),
        _ => None,
    });
    let rollbacks = experiment.rollbacks.iter().map(|r| &r.argv);
    let mut out: Vec<String> = Vec::new();
    for argv in services.chain(actions).chain(probes).chain(rollbacks) {
        if let Some(first) = argv.first().filter(|p| !out.contains(p)) {
            out.push(first.clone());
        }
    }
    out
}

/// Where `name` runs from: `shakedown` is this executable, a name with a `/` is a path, any
/// other is looked up in `PATH`; it must be an executable file.
fn find_program(name: &str) -> Result<String, String> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let program = super::action::program(name);
    if program.components().count() > 1 {
        return if executable(&program) {
            Ok(program.display().to_string())
        } else {
            Err(format!("{} is not an executable file", program.display()))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(&program))
        .find(|p| executable(p))
        .map(|p| p.display().to_string())
        .ok_or_else(|| format!("`{name}` is not found in PATH"))
}

/// The addresses something of the experiment listens on: each embedded proxy's, and each
/// service's ready address (the service listens there once started).
fn listened(experiment: &Experiment) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for s in &experiment.services {
        if let Some(addr) = s.ready.as_ref().and_then(resource::ready_address) {
            out.push((addr, format!("service {}", s.name)));
        }
    }
    if experiment.control == Control::Embedded {
        for p in &experiment.proxies {
            if !p.listen.ends_with(":0") {
                out.push((p.listen.clone(), format!("proxy {}", p.name)));
            }
        }
    }
    out
}

/// The reason [`free`] gives for a port another process holds.
const IN_USE: &str = "in use: another process listens there";

/// Whether nothing listens on `addr` yet (bound and released at once); [`IN_USE`] when another
/// process does.
fn free(addr: &str) -> Result<String, String> {
    match std::net::TcpListener::bind(addr) {
        Ok(_) => Ok("free".into()),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(IN_USE.into()),
        Err(e) => Err(format!("cannot listen there: {e}")),
    }
}

/// Who of the experiment meant to listen on `addr` when another process already held it
/// (`taken`: the ports [`free`] found in use, with their owner in the experiment). Addresses
/// compare as written and, when both parse, as socket addresses (`localhost` is not resolved).
fn held_by<'a>(taken: &'a [(String, String)], addr: &str) -> Option<&'a str> {
    let same = |a: &str| {
        a == addr
            || matches!(
                (a.parse::<std::net::SocketAddr>(), addr.parse::<std::net::SocketAddr>()),
                (Ok(x), Ok(y)) if x == y
            )
    };
    taken
        .iter()
        .find(|(a, _)| same(a))
        .map(|(_, who)| who.as_str())
}

/// The addresses the experiment sends to once its services and proxies are up: each proxy's
/// upstream, the load's target, and each `hold_connections` address.
fn targets(experiment: &Experiment) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = experiment
        .proxies
        .iter()
        .map(|p| (p.upstream.clone(), format!("upstream of proxy {}", p.name)))
        .collect();
    if let Some(url) = experiment.load.as_ref().and_then(|l| l.target.clone())
        && let Some(addr) = resource::ready_address(&super::spec::Ready::Http(url))
    {
        out.push((addr, "the load's target".into()));
    }
    for step in &experiment.method {
        if let StepKind::Resource {
            fault:
                ResourceFault::HoldConnections {
                    target: Target::Address(addr),
                    ..
                },
            ..
        } = &step.kind
        {
            out.push((addr.clone(), format!("target of `{}`", step.name)));
        }
    }
    out
}

/// Whether a TCP connection to `addr` is accepted within [`CONNECT_LIMIT`].
async fn reach(addr: &str) -> Result<String, String> {
    match tokio::time::timeout(CONNECT_LIMIT, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Ok("accepts connections".into()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {CONNECT_LIMIT:?}")),
    }
}
