//! The end of a run: worker results merged into the [`LoadReport`], thresholds judged, writes read back.

use std::sync::Arc;
use std::time::Duration;

use super::histogram::{self, run_histogram};
use super::intervals::to_base64;
use super::plan::{Model, Plan};
use super::recorder::Recorder;
use super::report::{Histograms, Latency as Lat, LoadReport, ScenarioReport, Summary};
use super::scenario;
use super::thresholds::{Metric, Threshold, ThresholdOutcome, WindowCheck};
use super::usage::{self, CpuMark};
use super::worker::{Shared, WorkerResult};
use super::writes;

/// What a finished run hands over.
#[derive(Debug)]
pub(super) struct Ending<'a> {
    /// The run's shared state.
    pub shared: &'a Arc<Shared>,
    /// Every worker's results.
    pub results: Vec<WorkerResult>,
    /// Windowed threshold checks.
    pub checks: Vec<WindowCheck>,
    /// The seed in use.
    pub seed: u64,
    /// Whether a threshold aborted the run.
    pub aborted: bool,
    /// Process CPU time at the start.
    pub cpu: CpuMark,
    /// The open-file soft limit after raising it.
    pub fd_limit: Option<u64>,
}

/// Merge, judge and read back: the report of a finished run.
pub(super) async fn report(end: Ending<'_>) -> LoadReport {
    let mut results = end.results;
    let checks = end.checks;
    // Sending and draining, up to the last worker's end (not when the caller noticed).
    let elapsed = results
        .iter()
        .map(|r| end.shared.clock.at(r.ended))
        .max()
        .unwrap_or_else(|| end.shared.clock.now())
        .saturating_sub(end.shared.start);
    let plan = &end.shared.plan;
    // The span every rate is over: the plan's end, or the stop when it came first, or the
    // last completion when the plan ended sooner on its own (users out of requests).
    let span = [plan.end(), end.shared.stopped_at.get().copied()]
        .into_iter()
        .flatten()
        .fold(elapsed, Duration::min);
    let mut writes = writes::WriteLog::default();
    let mut total = results.pop().map(|r| {
        writes.merge(r.writes);
        r.rec
    });
    if let Some(t) = total.as_mut() {
        for r in results {
            writes.merge(r.writes);
            t.merge(&r.rec);
        }
    }
    let has_writes = plan
        .scenarios
        .iter()
        .any(|s| matches!(s.kind, scenario::Kind::Write { .. }));
    let write_report = if has_writes {
        Some(writes::check(writes, plan, &end.shared.clock).await)
    } else {
        None
    };
    let summary = summary(total.as_ref(), span);
    let (model, arrival, unsent) = match &plan.model {
        Model::Open { arrival, .. } => ("open", Some(*arrival), total.as_ref().map(|t| t.unsent)),
        Model::Closed { .. } => ("closed", None, None),
    };
    // Every slot due before sending stopped was sent (and completed or was cancelled) or not.
    let planned = unsent.map(|u| summary.requests + summary.cancelled + u);
    let summary = Summary {
        planned,
        unsent,
        ..summary
    };
    let empty = run_histogram();
    let latency = total.as_ref().map_or(&empty, |t| &t.latency);
    let outcomes = outcomes(&plan.thresholds, &checks, latency, &summary);
    let scenarios = scenario_reports(plan, total.as_ref());
    let generator = usage::measure(
        &summary,
        usage::Facts {
            started: end.cpu,
            elapsed,
            connections: plan.connections,
            peak_connections: end.shared.gauge.peak(),
            fd_limit: end.fd_limit,
        },
    );
    let timeline = end
        .shared
        .timeline
        .lock()
        .map(|t| t.points())
        .unwrap_or_default();
    LoadReport {
        version: 1,
        target: plan.target.url.clone(),
        model: model.to_string(),
        arrival,
        seed: end.seed,
        connections: plan.connections,
        threads: plan.threads,
        started: end.shared.start,
        elapsed,
        span,
        passed: outcomes.iter().all(|o| o.passed),
        aborted: end.aborted,
        errors_by_class: total.as_ref().map(|t| t.errors).unwrap_or_default(),
        error_reasons: plan
            .target
            .tls
            .as_ref()
            .map(|t| t.reasons.snapshot())
            .unwrap_or_default(),
        summary,
        scenarios,
        timeline,
        thresholds: outcomes,
        writes: write_report,
        generator,
        segment: (!plan.segment.is_whole()).then_some(plan.segment),
        histograms: end.shared.histograms.then(|| histograms(total.as_ref())),
        intervals: end
            .shared
            .timeline
            .lock()
            .map(|t| t.intervals())
            .unwrap_or_default(),
        wall_start: Some(end.shared.wall_start),
    }
}

/// The whole-run histograms as base64 text.
fn histograms(total: Option<&Recorder>) -> Histograms {
    let empty = run_histogram();
    let of = |pick: fn(&Recorder) -> &histogram::Hist| to_base64(total.map_or(&empty, pick));
    Histograms {
        latency: of(|t| &t.latency),
        service_time: of(|t| &t.service),
        schedule_lag: of(|t| &t.lag),
    }
}

/// Whole-run totals over `span` (the open model's planned counts are added by the caller).
fn summary(total: Option<&Recorder>, span: Duration) -> Summary {
    let Some(t) = total else {
        return Summary::default();
    };
    let secs = span.as_secs_f64();
    Summary {
        requests: t.requests,
        ok: t.ok,
        errors: t.errors.total(),
        error_rate: if t.requests > 0 {
            t.errors.total() as f64 / t.requests as f64
        } else {
            0.0
        },
        rps: if secs > 0.0 {
            t.requests as f64 / secs
        } else {
            0.0
        },
        planned: None,
        unsent: None,
        late: t.late,
        cancelled: t.cancelled,
        latency: Lat::of(&t.latency),
        service_time: Lat::of(&t.service),
        schedule_lag: Lat::of(&t.lag),
    }
}

/// Every threshold's outcome, in the order given: windowed ones from their checks, the
/// others on the whole run.
pub(super) fn outcomes(
    thresholds: &[Threshold],
    checks: &[WindowCheck],
    hist: &histogram::Hist,
    summary: &Summary,
) -> Vec<ThresholdOutcome> {
    let mut outcomes = Vec::new();
    for t in thresholds {
        if t.window.is_some() {
            if let Some(c) = checks.iter().find(|c| c.threshold == *t) {
                outcomes.push(c.outcome());
            }
            continue;
        }
        let observed = match t.metric {
            Metric::Quantile(q) => histogram::quantile(hist, q).map(|d| d.as_secs_f64()),
            Metric::Mean => (!hist.is_empty()).then(|| hist.mean() / 1e6),
            Metric::ErrorRate => Some(summary.error_rate),
            Metric::Rps => Some(summary.rps),
        };
        let passed = observed.is_some_and(|v| t.holds(v));
        outcomes.push(ThresholdOutcome {
            threshold: t.text.clone(),
            passed,
            observed,
            unit: t.unit(),
            window_s: None,
            breaches: u64::from(!passed),
            aborted: false,
        });
    }
    outcomes
}

/// Each scenario's totals, in file order.
fn scenario_reports(plan: &Plan, total: Option<&Recorder>) -> Vec<ScenarioReport> {
    plan.scenarios
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let r = total.and_then(|t| t.scenarios.get(i));
            ScenarioReport {
                name: s.name.clone(),
                weight: s.weight,
                requests: r.map_or(0, |r| r.requests),
                ok: r.map_or(0, |r| r.ok),
                errors: r.map_or(0, |r| r.errors),
                latency: r.map_or_else(Lat::default, |r| Lat::of(&r.latency)),
            }
        })
        .collect()
}
