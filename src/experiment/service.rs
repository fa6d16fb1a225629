//! Services: processes the runner starts, waits for, signals and stops (SIGTERM, then SIGKILL),
//! each as a process group of its own (see `service::group`), watched by a watchdog for the case
//! where the runner dies without a teardown.

pub(crate) mod group;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::process::Child;

use self::group::{Stopped, Watchdog};

use super::action::program;
use super::client::Http;
use super::spec::{Ready, Service};

/// A service that could not be managed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ServiceError {
    /// It could not be started.
    #[error("service `{0}`: cannot start: {1}")]
    Spawn(String, String),
    /// It exited before it was ready.
    #[error("service `{0}` exited before it was ready ({1}); see {2}")]
    Exited(String, String, PathBuf),
    /// It did not become ready in time.
    #[error("service `{0}` was not ready within {1:?} ({2}); see {3}")]
    NotReady(String, Duration, String, PathBuf),
    /// Its readiness check already passed before it started: another process answers there,
    /// and would be measured in its place.
    #[error(
        "service `{0}`: {1} already answers before the service starts: another process holds its address"
    )]
    Occupied(String, String),
    /// It is not running.
    #[error("service `{0}` is not running")]
    NotRunning(String),
    /// A signal could not be sent.
    #[error("service `{0}`: cannot send SIG{1}: {2}")]
    Signal(String, String, String),
}

/// A running service: its group leader, whose pid is also the group's id.
struct Running {
    child: Child,
    pid: u32,
}

/// The services of one run; dropping it kills whatever still runs.
pub struct Services {
    specs: BTreeMap<String, Service>,
    running: BTreeMap<String, Running>,
    logs: PathBuf,
    http: Http,
    watchdog: Option<Watchdog>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("running", &self.running.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Services {
    /// Services declared by an experiment; their output goes to `logs/NAME.log`.
    pub fn new(specs: &[Service], logs: &Path, http: Http) -> Self {
        Self {
            specs: specs.iter().map(|s| (s.name.clone(), s.clone())).collect(),
            running: BTreeMap::new(),
            logs: logs.to_path_buf(),
            http,
            watchdog: None,
        }
    }

    /// The process id of a running service.
    pub fn pid(&self, name: &str) -> Option<u32> {
        self.running.get(name).map(|r| r.pid)
    }

    /// Names of the running services.
    pub fn running(&self) -> Vec<String> {
        self.running.keys().cloned().collect()
    }

    /// Start a service and wait until it is ready (a previous instance that was killed or
    /// exited is stopped first: what its group left is stopped with it).
    pub async fn start(&mut self, name: &str) -> Result<(), ServiceError> {
        let spec = self
            .specs
            .get(name)
            .cloned()
            .ok_or_else(|| ServiceError::NotRunning(name.to_string()))?;
        if self.running.contains_key(name) {
            let _ = self.stop(name).await;
        }
        if let Some(ready) = &spec.ready
            && self.check(ready).await.is_ok()
        {
            let at = match ready {
                Ready::Http(url) => url.clone(),
                Ready::Tcp(addr) => format!("tcp://{addr}"),
            };
            return Err(ServiceError::Occupied(name.into(), at));
        }
        let log_path = self.logs.join(format!("{name}.log"));
        std::fs::create_dir_all(&self.logs).map_err(|e| {
            ServiceError::Spawn(name.into(), format!("{}: {e}", self.logs.display()))
        })?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| {
                ServiceError::Spawn(name.into(), format!("{}: {e}", log_path.display()))
            })?;
        let log2 = log
            .try_clone()
            .map_err(|e| ServiceError::Spawn(name.into(), e.to_string()))?;
        let mut command = tokio::process::Command::new(program(&spec.command[0]));
        command
            .args(&spec.command[1..])
            // Output goes to a file: ask for no colour (the service's own `env` may override).
            .env("NO_COLOR", "1")
            .envs(&spec.env)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2))
            .kill_on_drop(true);
        group::lead_own_group(&mut command);
        self.watchdog()?;
        let child = command
            .spawn()
            .map_err(|e| ServiceError::Spawn(name.into(), format!("{}: {e}", spec.command[0])))?;
        let pid = child.id().unwrap_or(0);
        self.running
            .insert(name.to_string(), Running { child, pid });
        if let Err(e) = self.watchdog()?.watch(pid) {
            return Err(ServiceError::Spawn(name.into(), format!("watchdog: {e}")));
        }
        let Some(ready) = &spec.ready else {
            return Ok(());
        };
        let deadline = crate::clock::Clock::start().instant(spec.ready_timeout);
        let mut last = "no answer yet".to_string();
        // Bounded by the deadline: one attempt every 50 ms.
        while tokio::time::Instant::now() < deadline {
            if let Some(r) = self.running.get_mut(name)
                && let Ok(Some(status)) = r.child.try_wait()
            {
                self.running.remove(name);
                group::kill(pid);
                return Err(ServiceError::Exited(
                    name.into(),
                    status.to_string(),
                    log_path,
                ));
            }
            match self.check(ready).await {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(ServiceError::NotReady(
            name.into(),
            spec.ready_timeout,
            last,
            log_path,
        ))
    }

    async fn check(&self, ready: &Ready) -> Result<(), String> {
        let limit = Duration::from_millis(500);
        match ready {
            Ready::Http(url) => {
                let a = self
                    .http
                    .send(http::Method::GET, url, &BTreeMap::new(), None, limit)
                    .await
                    .map_err(|e| e.to_string())?;
                if (200..300).contains(&a.status) {
                    Ok(())
                } else {
                    Err(format!("{url} answered {}", a.status))
                }
            }
            Ready::Tcp(addr) => {
                match tokio::time::timeout(limit, tokio::net::TcpStream::connect(addr)).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(format!("{addr}: {e}")),
                    Err(_) => Err(format!("{addr}: no answer")),
                }
            }
        }
    }

    /// The watchdog, started with the first service (its grace: the longest stop timeout).
    fn watchdog(&mut self) -> Result<&mut Watchdog, ServiceError> {
        if self.watchdog.is_none() {
            let grace = self.specs.values().map(|s| s.stop_timeout).max();
            let dog = Watchdog::start(grace.unwrap_or(Duration::from_secs(5)))
                .map_err(|e| ServiceError::Spawn("watchdog".into(), e.to_string()))?;
            self.watchdog = Some(dog);
        }
        self.watchdog
            .as_mut()
            .ok_or_else(|| ServiceError::NotRunning("watchdog".into()))
    }

    /// Send a signal (name without `SIG`) to every process of a running service's group.
    /// Returns what happened in words: `sent SIGKILL to \`kv\``; when the service had already
    /// exited and nothing of its group is left, nothing is sent and the words say so with its
    /// exit status (`\`kv\` had already exited (exit status: 3): no SIGKILL sent`); when only
    /// its leader had exited, the rest of the group gets the signal and the words say that.
    pub fn signal(&mut self, name: &str, signal_name: &str) -> Result<String, ServiceError> {
        let r = self
            .running
            .get_mut(name)
            .ok_or_else(|| ServiceError::NotRunning(name.into()))?;
        let fail = |e: String| ServiceError::Signal(name.into(), signal_name.into(), e);
        let sig: Signal = format!("SIG{signal_name}")
            .parse()
            .map_err(|e: nix::Error| fail(e.to_string()))?;
        // Reaped first: an exited leader left unreaped still counts in its group, and a signal
        // to it would read as sent.
        let exited = r.child.try_wait().ok().flatten();
        match (group::signal(r.pid, sig), exited) {
            (Ok(true), None) => Ok(format!("sent SIG{signal_name} to `{name}`")),
            (Ok(true), Some(status)) => Ok(format!(
                "sent SIG{signal_name} to what is left of `{name}` (its leader had exited: {status})"
            )),
            (Ok(false), Some(status)) => Ok(format!(
                "`{name}` had already exited ({status}): no SIG{signal_name} sent"
            )),
            (Ok(false), None) => Err(fail("no process of it is left".into())),
            (Err(e), _) => Err(fail(e.to_string())),
        }
    }

    /// Stop a service and its group: SIGTERM, then SIGKILL after its stop timeout. Returns how
    /// it ended.
    pub async fn stop(&mut self, name: &str) -> Result<String, ServiceError> {
        let grace = self
            .specs
            .get(name)
            .map_or(Duration::from_secs(5), |s| s.stop_timeout);
        let Some(mut r) = self.running.remove(name) else {
            return Err(ServiceError::NotRunning(name.into()));
        };
        Ok(match group::stop(&mut r.child, r.pid, grace).await {
            Stopped::AlreadyExited(status) => format!("had already exited ({status})"),
            Stopped::Terminated(status) => format!("stopped ({status})"),
            Stopped::Killed => format!("did not stop within {grace:?} of SIGTERM; killed"),
        })
    }

    /// Stop every running service, newest name order reversed; returns (name, how) pairs.
    pub async fn stop_all(&mut self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for name in self.running().into_iter().rev() {
            let how = self.stop(&name).await.unwrap_or_else(|e| e.to_string());
            out.push((name, how));
        }
        out
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        // Last resort (a panic): kill what still runs, groups included; kill_on_drop reaps.
        for r in self.running.values_mut() {
            group::kill(r.pid);
            let _ = r.child.start_kill();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A service whose ready address another process already answers is refused before it
    /// starts: it would fail to bind and exit while the other process's answers made it look
    /// ready, and the run would measure that process (an experiment passed, exit 0, whose
    /// service had exited at once with `Address already in use`).
    #[tokio::test]
    async fn a_service_whose_address_already_answers_is_not_started() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let spec = Service {
            name: "kv".into(),
            command: vec!["sh".into(), "-c".into(), "exit 3".into()],
            ready: Some(Ready::Tcp(addr.to_string())),
            ready_timeout: Duration::from_secs(5),
            env: BTreeMap::new(),
            stop_timeout: Duration::from_secs(1),
        };
        let mut services = Services::new(&[spec], dir.path(), Http::default());
        let error = services.start("kv").await.unwrap_err().to_string();
        assert_eq!(
            error,
            format!(
                "service `kv`: tcp://{addr} already answers before the service starts: \
                 another process holds its address"
            )
        );
        assert!(services.running().is_empty());
    }

    /// Before: a kill of a service that had exited on its own read `sent SIGKILL`.
    #[tokio::test]
    async fn a_signal_to_a_service_that_had_exited_says_so_with_its_status() {
        let dir = tempfile::tempdir().unwrap();
        let spec = Service {
            name: "kv".into(),
            command: vec!["sh".into(), "-c".into(), "exit 3".into()],
            ready: None,
            ready_timeout: Duration::from_secs(5),
            env: BTreeMap::new(),
            stop_timeout: Duration::from_secs(1),
        };
        let mut services = Services::new(&[spec], dir.path(), Http::default());
        services.start("kv").await.unwrap();
        // Bounded: the shell exits at once; up to 10 s on a busy machine. Unreaped, it is a
        // zombie (state `Z`), still in its group.
        let pid = services.pid("kv").unwrap_or(0);
        let zombie = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                s.rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('Z'))
            })
        };
        for _ in 0..200 {
            if zombie() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(zombie(), "the service did not exit");
        assert_eq!(
            services.signal("kv", "KILL").unwrap(),
            "`kv` had already exited (exit status: 3): no SIGKILL sent"
        );
        assert_eq!(
            services.stop("kv").await.unwrap(),
            "had already exited (exit status: 3)"
        );
    }
}
