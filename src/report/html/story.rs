//! "What happened" in a run, in sentences above its chart: each step (when, detected after how
//! long, recovered how long after), what the writes lost, and the load's headline figures.

use maud::{Markup, html};

use super::format::{in_time, pct, secs};
use crate::experiment::record::{RunRecord, StepRecord, observed_rpo};
use crate::load::{LoadReport, WriteReport};

/// The sentences of `run`; nothing when it ran no step and had no load.
pub(super) fn what_happened(run: &RunRecord) -> Markup {
    if run.steps.is_empty() && run.load.is_none() {
        return html! {};
    }
    html! {
        ul.story {
            @for s in &run.steps { li { (step(s)) } }
            @if let Some(w) = run.writes() { li { (writes(w)) } }
            @if let Some(l) = &run.load { li { (load(l)) } }
        }
    }
}

/// `latency on kv (fault) from 2.00 s to 5.00 s: detected 0.50 s after injection, recovered
/// 1.00 s after removal (4.00 s after injection).`
fn step(s: &StepRecord) -> Markup {
    let Some(injected) = s.injected_at else {
        return html! { strong { (s.name) } ": " (s.detail.as_deref().unwrap_or("not run")) "." };
    };
    let when = match s.removed_at {
        Some(removed) if s.kind == "fault" => {
            format!("from {} to {}", secs(Some(injected)), secs(Some(removed)))
        }
        _ => format!("at {}", secs(Some(injected))),
    };
    let outcome = match s.measurement {
        None => "not measured".to_string(),
        Some(m) if !m.detected() => "the steady state never broke".to_string(),
        Some(m) => {
            let recovered = match (m.recovery_from_removal, m.recovery_from_injection) {
                (Some(r), Some(i)) => format!(
                    "recovered {} after removal ({} after injection)",
                    secs(Some(r)),
                    secs(Some(i))
                ),
                _ => "not recovered by the end of sampling".to_string(),
            };
            format!(
                "detected {} after injection, {recovered}",
                secs(m.time_to_detect)
            )
        }
    };
    html! {
        strong { (s.name) } " (" (s.kind) ") " (when) ": "
        span.bad[!s.ok || in_time(s).1] { (outcome) } "."
    }
}

/// `Writes: 0 of 893 acknowledged writes lost (968 attempted).`
fn writes(w: &WriteReport) -> Markup {
    let rpo = match (w.lost, observed_rpo(w)) {
        (0, _) => String::new(),
        (_, Some(rpo)) => format!(
            ", acknowledged from {} to {} (observed RPO {})",
            secs(w.lost_first_ack),
            secs(w.lost_last_ack),
            secs(Some(rpo))
        ),
        (_, None) => String::new(),
    };
    html! {
        strong { "Writes" } ": "
        span.bad[w.lost > 0 || w.unexpected > 0] {
            (w.lost) " of " (w.acknowledged) " acknowledged writes lost (" (pct(w.loss_rate)) ")" (rpo)
            @if w.unexpected > 0 { ", " (w.unexpected) " read back changed" }
        }
        "; " (w.attempted) " attempted, " (w.refused) " refused, " (w.unknown) " unanswered."
    }
}

/// `Load: 1201 requests at 100.1/s, 8.41 % failed.`
fn load(l: &LoadReport) -> Markup {
    let s = &l.summary;
    html! {
        strong { "Load" } ": " (s.requests) " requests at " (format!("{:.1}/s", s.rps)) ", "
        (pct(s.error_rate)) " failed"
        @if !l.passed { ", " span.bad { "a load threshold failed" } }
        "."
    }
}
