//! The `--dry-run` timeline: what a run would do, in order, without touching anything.

use std::fmt::Write;

use super::spec::{Control, Experiment, StepKind};

/// The plan of `experiment` as text.
pub(crate) fn render(e: &Experiment) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}  ({})", e.title, e.file.display());
    for s in &e.services {
        let _ = writeln!(out, "  start service `{}`: {}", s.name, s.command.join(" "));
    }
    let control = match &e.control {
        Control::Embedded => "an embedded control server".to_string(),
        Control::External(url) => format!("{url} (faults leased)"),
    };
    for p in &e.proxies {
        let _ = writeln!(
            out,
            "  create proxy `{}` {} → {} on {control}",
            p.name, p.listen, p.upstream
        );
    }
    let _ = writeln!(
        out,
        "  preflight: {} probe(s) must pass; then sample every {} ({} passing in a row = recovered)",
        e.steady_state.probes.len(),
        humantime::format_duration(e.steady_state.interval),
        e.steady_state.recovered_after
    );
    if e.load.is_some() {
        let _ = writeln!(out, "  0s      start the load");
    }
    let mut events: Vec<(std::time::Duration, String)> = Vec::new();
    for step in &e.method {
        match &step.kind {
            StepKind::Fault { fault, .. } => {
                events.push((
                    step.at,
                    format!(
                        "+ {} (toxicity {}, attributes {})",
                        step.name,
                        fault.toxicity.value(),
                        serde_json::Value::Object(fault.kind.attributes())
                    ),
                ));
                events.push((step.end(), format!("- {}", step.name)));
            }
            StepKind::Resource { fault, .. } => {
                let what = fault.describe();
                let line = if what == step.name {
                    format!("+ {what} (resource fault)")
                } else {
                    format!("+ {} (resource fault: {what})", step.name)
                };
                events.push((step.at, line));
                events.push((step.end(), format!("- {}", step.name)));
            }
            StepKind::Action(_) => events.push((step.at, format!("! {}", step.name))),
        }
    }
    events.sort_by_key(|(t, _)| *t);
    for (t, what) in events {
        let _ = writeln!(
            out,
            "  {:<7} {what}",
            humantime::format_duration(t).to_string()
        );
    }
    let _ = writeln!(
        out,
        "  {:<7} end of the method; wait for recovery, stop the load, read writes back",
        humantime::format_duration(e.duration).to_string()
    );
    for r in &e.rollbacks {
        let _ = writeln!(out, "  rollback: {}", r.argv.join(" "));
    }
    out
}
