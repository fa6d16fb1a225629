//! One run of an experiment: preflight → load → steady-state sampling → method on schedule →
//! wait for recovery → stop load and read writes back → teardown (faults removed, rollbacks,
//! services stopped) → verdict.
//!
//! The method runs in its own task. Whatever happens to it (it finishes, a guard aborts it,
//! SIGINT, SIGTERM, SIGHUP or SIGQUIT arrives, it panics), [`run_once`] then tears down through the
//! `Resources` it owns, so no fault and no process is left behind and rollbacks always run.

mod method;
mod resources;
mod sampler;
mod steady;
mod teardown;

pub(crate) use steady::probes_before_load;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use tokio_util::sync::CancellationToken;

use super::client::Http;
use super::embedded::Embedded;
use super::inject::Injector;
use super::record::{RunRecord, Status};
use super::service::Services;
use super::spec::Experiment;
use super::verdict::{self, Stop};
use crate::clock::Clock;
use crate::interrupt::Interrupts;

/// How a run reports progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Print each event to stderr as it happens.
    pub verbose: bool,
}

impl Progress {
    fn say(&self, at: Option<f64>, message: impl AsRef<str>) {
        if self.verbose {
            match at {
                Some(t) => eprintln!("  {t:>6.2}s  {}", message.as_ref()),
                None => eprintln!("           {}", message.as_ref()),
            }
        }
    }
}

/// State shared between the method task, the sampler and teardown.
#[derive(Debug)]
pub(crate) struct Shared {
    journal: Mutex<RunRecord>,
    abort: CancellationToken,
    verdict: Mutex<Option<Stop>>,
    /// The run's clock, once the method started (for when a stop happened).
    clock: OnceLock<Clock>,
    /// The resource samples, once the sampler started with the clock.
    resources: OnceLock<crate::resource::Live>,
    progress: Progress,
}

impl Shared {
    fn journal(&self) -> MutexGuard<'_, RunRecord> {
        self.journal.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stop the method with this status (the first reason wins).
    fn stop(&self, status: Status, reason: impl Into<String>) {
        let mut v = self.verdict.lock().unwrap_or_else(|p| p.into_inner());
        if v.is_none() {
            let reason = reason.into();
            self.progress
                .say(None, format!("{}: {reason}", status.as_str()));
            let at = self.clock.get().map(|c| c.now());
            *v = Some(Stop { status, reason, at });
        }
        self.abort.cancel();
    }

    fn stopped(&self) -> Option<Stop> {
        self.verdict
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// What teardown must undo, owned outside the method task.
#[derive(Debug)]
pub(crate) struct Resources {
    services: Services,
    /// Resource faults in place (released before the services stop).
    held: super::resource::Active,
    injector: Option<Injector>,
    embedded: Option<Embedded>,
    /// Live load agents started and not yet stopped by the method (stopped first at teardown).
    load_agents: Option<super::driver::Unstopped>,
}

/// Run `experiment` once (run number `run`); scratch files and service logs go to `dir`.
pub async fn run_once(
    experiment: &Experiment,
    run: u32,
    dir: &Path,
    progress: Progress,
) -> RunRecord {
    let mut interrupts = Interrupts::listen();
    // The token only matters to an external `control:` server; an embedded one has none.
    let http = Http::with_tls(&experiment.tls)
        .unwrap_or_else(|e| {
            // Validation read the CA file; it changed since.
            tracing::warn!(error = %e, "tls: using the system's roots only");
            Http::default()
        })
        .with_bearer(super::client::token_from_env());
    let shared = Arc::new(Shared {
        journal: Mutex::new(RunRecord {
            run,
            started: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            ..Default::default()
        }),
        abort: CancellationToken::new(),
        verdict: Mutex::new(None),
        clock: OnceLock::new(),
        resources: OnceLock::new(),
        progress,
    });
    let resources = Arc::new(tokio::sync::Mutex::new(Resources {
        services: Services::new(&experiment.services, &dir.join("logs"), http.clone()),
        held: Default::default(),
        injector: None,
        embedded: None,
        load_agents: None,
    }));
    let task = tokio::spawn(method::execute(
        experiment.clone(),
        shared.clone(),
        resources.clone(),
        http.clone(),
    ));
    let abort = task.abort_handle();
    tokio::select! {
        joined = task => if let Err(e) = joined {
            let why = if e.is_panic() { format!("the runner panicked: {}", panic_text(e.into_panic())) } else { "cancelled".to_string() };
            shared.stop(Status::Aborted, why);
        },
        signal = interrupts.first() => {
            let _ = INTERRUPTED.set(signal);
            abort.abort();
            shared.stop(Status::Aborted, format!("interrupted by {signal}"));
        }
    }
    teardown::run(experiment, &shared, &resources).await;
    let mut journal = std::mem::take(&mut *shared.journal());
    journal.resources = shared.resources.get().map(crate::resource::Live::finish);
    verdict::judge(experiment, &mut journal, shared.stopped());
    journal
}

/// Tidy a finished run's `${run.dir}`: removed when the run passed or when it holds no file
/// (an empty `logs/` included); otherwise kept, and the sentence that tells the user where
/// (`files kept in DIR (service logs in DIR/logs)`) is returned. The folder is named to the
/// user only here, once it is known to stay.
pub(crate) fn tidy_run_dir(dir: &Path, passed: bool) -> Option<String> {
    if passed || !holds_a_file(dir) {
        let _ = std::fs::remove_dir_all(dir);
        return None;
    }
    let logs = dir.join("logs");
    Some(if holds_a_file(&logs) {
        format!(
            "files kept in {} (service logs in {})",
            dir.display(),
            logs.display()
        )
    } else {
        format!("files kept in {}", dir.display())
    })
}

/// Whether `dir` or a folder below it holds anything but folders (bounded by the tree's size).
fn holds_a_file(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| match e.file_type() {
            Ok(t) if t.is_dir() => holds_a_file(&e.path()),
            _ => true,
        })
    })
}

/// The signal that interrupted a run of this process, once one has.
static INTERRUPTED: OnceLock<&'static str> = OnceLock::new();

/// The signal that interrupted a run of this process (`SIGTERM`, …), if one has: a suite
/// stops there instead of going on with its next experiment.
pub(crate) fn interrupted_by() -> Option<&'static str> {
    INTERRUPTED.get().copied()
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}
