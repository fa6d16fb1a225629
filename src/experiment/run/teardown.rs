//! Teardown, whatever ended the method: resource faults lifted (a paused service resumed, a
//! stress child killed, a cgroup limit lifted, held connections closed), toxics removed,
//! rollbacks run, services stopped; live load agents still sending are asked to stop first.

use super::{Resources, Shared};
use crate::experiment::action;
use crate::experiment::record::CommandRecord;
use crate::experiment::spec::Experiment;

/// Undo everything the run did; every outcome is recorded in the journal.
pub(super) async fn run(
    experiment: &Experiment,
    shared: &Shared,
    res: &tokio::sync::Mutex<Resources>,
) {
    let mut r = res.lock().await;
    // First, so that no agent goes on loading the target while the rest is undone.
    let mut notes = match r.load_agents.take() {
        Some(agents) => agents.stop().await,
        None => Vec::new(),
    };
    notes.extend(r.held.release_all().await);
    if let Some(injector) = r.injector.as_mut() {
        let active = injector.active();
        let failures = injector.clear().await;
        if !active.is_empty() {
            notes.push(format!(
                "removed {} fault(s) still in place: {}",
                active.len(),
                active.join(", ")
            ));
        }
        notes.extend(failures.into_iter().map(|f| format!("FAILED: {f}")));
    }
    r.injector = None;
    if let Some(server) = r.embedded.take() {
        server.shutdown().await;
        notes.push("embedded control server shut down".to_string());
    }
    drop(r);
    let mut records = Vec::new();
    for rb in &experiment.rollbacks {
        let (ok, detail) = match action::run_command(&rb.argv, rb.timeout).await {
            Ok(f) => (f.success(), f.summary()),
            Err(e) => (false, e.to_string()),
        };
        shared
            .progress
            .say(None, format!("rollback `{}`: {detail}", rb.argv.join(" ")));
        records.push(CommandRecord {
            command: rb.argv.clone(),
            ok,
            detail,
        });
    }
    let mut r = res.lock().await;
    for (name, how) in r.services.stop_all().await {
        notes.push(format!("service `{name}`: {how}"));
    }
    let mut j = shared.journal();
    j.rollbacks = records;
    j.cleanup.extend(notes);
}
