//! Merging agents' reports into the report of the whole plan: histograms and counters added
//! exactly, thresholds evaluated once on the sum.
//!
//! Whole-run percentiles come from the reports' `histograms` (written by `load
//! --histograms`), which are required. Per-second percentiles (and windowed latency
//! thresholds) come from the agents' interval logs when given; without them the merged
//! timeline keeps its exact counts and leaves `p50_ms`/`p99_ms` null. [`merge`] adds seconds
//! by number: its callers first place each agent on one timeline ([`align`] by the reports'
//! `wall_start`, or the runner's own offsets); agents given one `--start-at` share second 0.

use std::time::Duration;

use super::collect::outcomes;
use super::errors::{ClassCounts, ErrorReasons};
use super::histogram::{Hist, Timeline, merge as add, run_histogram, small_histogram};
use super::intervals::{Interval, Intervals, from_base64, to_base64};
use super::report::{Generator, Histograms, Latency, LoadReport, Summary, WriteReport};
use super::thresholds::{Metric, Threshold, WindowCheck};

/// One agent's results: its JSON report and, optionally, its interval log read back.
#[derive(Debug, Clone)]
pub struct AgentResult {
    /// The agent's report (with `histograms`).
    pub report: LoadReport,
    /// The agent's intervals ([`super::read_hlog`]), when its `.hlog` is given.
    pub intervals: Option<Vec<Interval>>,
}

/// Why reports cannot be merged; `agent` is the index in the list given (`None`: the whole).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct MergeError {
    /// The agent at fault, if one is.
    pub agent: Option<usize>,
    /// What is wrong.
    pub message: String,
}

fn fault(agent: Option<usize>, message: impl Into<String>) -> MergeError {
    MergeError {
        agent,
        message: message.into(),
    }
}

/// The whole-run histograms of one agent, decoded.
struct Whole {
    latency: Hist,
    service: Hist,
    lag: Hist,
}

fn whole(i: usize, r: &LoadReport) -> Result<Whole, MergeError> {
    let h = r.histograms.as_ref().ok_or_else(|| {
        fault(
            Some(i),
            "the report has no `histograms` (run `shakedown load` with `--histograms`)",
        )
    })?;
    let decode = |field: &str, text: &str| {
        from_base64(text).map_err(|e| fault(Some(i), format!("histograms.{field}: {e}")))
    };
    Ok(Whole {
        latency: decode("latency", &h.latency)?,
        service: decode("service_time", &h.service_time)?,
        lag: decode("schedule_lag", &h.schedule_lag)?,
    })
}

/// Merge `agents` and judge `thresholds` (the agents' own threshold texts, in first-seen
/// order, when empty) on the sum. Errors: an empty list, a report without histograms or with
/// an undecodable one, mixed models or scenario lists, a bad threshold, a windowed latency
/// threshold without every agent's intervals.
pub fn merge(agents: &[AgentResult], thresholds: &[String]) -> Result<LoadReport, MergeError> {
    let first = &agents
        .first()
        .ok_or_else(|| fault(None, "no reports to merge"))?
        .report;
    let mut sum = Whole {
        latency: run_histogram(),
        service: run_histogram(),
        lag: run_histogram(),
    };
    for (i, a) in agents.iter().enumerate() {
        let w = whole(i, &a.report)?;
        add(&mut sum.latency, &w.latency);
        add(&mut sum.service, &w.service);
        add(&mut sum.lag, &w.lag);
        if a.report.model != first.model {
            return Err(fault(
                Some(i),
                format!("model {:?} differs from {:?}", a.report.model, first.model),
            ));
        }
        let names = |r: &LoadReport| {
            r.scenarios
                .iter()
                .map(|s| s.name.clone())
                .collect::<Vec<_>>()
        };
        if names(&a.report) != names(first) {
            return Err(fault(
                Some(i),
                "its scenarios differ from the first report's",
            ));
        }
    }
    let reports: Vec<&LoadReport> = agents.iter().map(|a| &a.report).collect();
    segments(&reports)?;
    let thresholds = threshold_list(&reports, thresholds)?;
    let intervals = merged_intervals(agents);
    let timeline = timeline(&reports, intervals.as_deref());
    let span = reports.iter().map(|r| r.span).max().unwrap_or_default();
    let summary = summary(&reports, &sum, span);
    let mut checks = Vec::new();
    for t in thresholds.iter().filter(|t| t.window.is_some()) {
        if intervals.is_none() && matches!(t.metric, Metric::Quantile(_)) {
            return Err(fault(
                None,
                format!(
                    "threshold {:?} needs per-second histograms: give every agent's --hlog",
                    t.text
                ),
            ));
        }
        checks.push(window_check(t, &timeline));
    }
    let outcomes = outcomes(&thresholds, &checks, &sum.latency, &summary);
    let mut errors_by_class = ClassCounts::default();
    let mut error_reasons = ErrorReasons::default();
    for r in &reports {
        errors_by_class.merge(&r.errors_by_class);
        error_reasons.merge(&r.error_reasons);
    }
    let mut packed = Intervals::default();
    for i in intervals.iter().flatten() {
        packed.push(i.second, &i.latency, &i.service);
    }
    Ok(LoadReport {
        version: 1,
        target: first.target.clone(),
        model: first.model.clone(),
        arrival: first.arrival,
        seed: first.seed,
        connections: reports.iter().map(|r| r.connections).sum(),
        threads: reports.iter().map(|r| r.threads).sum(),
        started: reports.iter().map(|r| r.started).min().unwrap_or_default(),
        elapsed: reports.iter().map(|r| r.elapsed).max().unwrap_or_default(),
        span,
        passed: outcomes.iter().all(|o| o.passed),
        aborted: reports.iter().any(|r| r.aborted),
        errors_by_class,
        error_reasons,
        summary,
        scenarios: scenarios(&reports),
        timeline: timeline.points(),
        thresholds: outcomes,
        writes: writes(&reports),
        generator: generator(&reports),
        segment: None,
        histograms: Some(Histograms {
            latency: to_base64(&sum.latency),
            service_time: to_base64(&sum.service),
            schedule_lag: to_base64(&sum.lag),
        }),
        intervals: packed,
        wall_start: reports.iter().filter_map(|r| r.wall_start).min(),
    })
}

/// Segmented reports must be the N distinct segments of one split: none twice, none missing.
fn segments(reports: &[&LoadReport]) -> Result<(), MergeError> {
    if reports.iter().all(|r| r.segment.is_none()) {
        return Ok(());
    }
    let n = reports.len() as u64;
    let mut seen = vec![None; reports.len()];
    for (i, r) in reports.iter().enumerate() {
        let s = r.segment.ok_or_else(|| {
            fault(
                Some(i),
                "a whole plan's report among segments of a split one",
            )
        })?;
        if s.count != n {
            return Err(fault(
                Some(i),
                format!(
                    "segment {s} of a split into {}, but {n} reports are given",
                    s.count
                ),
            ));
        }
        if let Some(j) = seen[s.index as usize].replace(i) {
            return Err(fault(
                Some(i),
                format!("segment {s} twice (also report {})", j + 1),
            ));
        }
    }
    Ok(())
}

/// The thresholds to judge: those given, else every agent's, each once.
fn threshold_list(reports: &[&LoadReport], given: &[String]) -> Result<Vec<Threshold>, MergeError> {
    let mut texts: Vec<String> = given.to_vec();
    if texts.is_empty() {
        for r in reports {
            for o in &r.thresholds {
                if !texts.contains(&o.threshold) {
                    texts.push(o.threshold.clone());
                }
            }
        }
    }
    texts
        .iter()
        .map(|t| {
            t.parse()
                .map_err(|e| fault(None, format!("threshold {t:?}: {e}")))
        })
        .collect()
}

/// Every agent's intervals added by second, when every agent gave them.
fn merged_intervals(agents: &[AgentResult]) -> Option<Vec<Interval>> {
    let mut out: Vec<Interval> = Vec::new();
    for a in agents {
        for i in a.intervals.as_ref()? {
            let at = match out.binary_search_by_key(&i.second, |x| x.second) {
                Ok(at) => at,
                Err(at) => {
                    let empty = Interval {
                        second: i.second,
                        latency: small_histogram(),
                        service: small_histogram(),
                    };
                    out.insert(at, empty);
                    at
                }
            };
            add(&mut out[at].latency, &i.latency);
            add(&mut out[at].service, &i.service);
        }
    }
    Some(out)
}

/// The per-second timeline: counts added; latency from the intervals when known.
fn timeline(reports: &[&LoadReport], intervals: Option<&[Interval]>) -> Timeline {
    let mut t = Timeline::new(Duration::MAX, false);
    for r in reports {
        for p in &r.timeline {
            t.add_point(p, None);
        }
    }
    for i in intervals.into_iter().flatten() {
        let second = super::histogram::TimelinePoint {
            second: i.second,
            ..Default::default()
        };
        t.add_point(&second, Some(&i.latency));
    }
    t
}

/// A windowed threshold checked on every complete window of the merged timeline, as the
/// live monitor checks it once a second.
fn window_check(t: &Threshold, timeline: &Timeline) -> WindowCheck {
    let mut c = WindowCheck {
        threshold: t.clone(),
        worst: None,
        breaches: 0,
        aborted: false,
    };
    let w = t.window.map_or(1, |d| d.as_secs().max(1));
    let last = timeline.points().len() as u64;
    for end in w..=last {
        let stats = timeline.window(end - w, end, Duration::from_secs(w));
        // A merge cannot stop the agents: an `abort` threshold only fails.
        c.check(&stats);
    }
    c.aborted = false;
    c
}

/// Whole-run totals over `span`, percentiles from the summed histograms.
fn summary(reports: &[&LoadReport], sum: &Whole, span: Duration) -> Summary {
    let add = |f: fn(&Summary) -> u64| reports.iter().map(|r| f(&r.summary)).sum::<u64>();
    let all = |f: fn(&Summary) -> Option<u64>| -> Option<u64> {
        reports.iter().map(|r| f(&r.summary)).sum()
    };
    let requests = add(|s| s.requests);
    let errors = add(|s| s.errors);
    let secs = span.as_secs_f64();
    Summary {
        requests,
        ok: add(|s| s.ok),
        errors,
        error_rate: if requests > 0 {
            errors as f64 / requests as f64
        } else {
            0.0
        },
        rps: if secs > 0.0 {
            requests as f64 / secs
        } else {
            0.0
        },
        planned: all(|s| s.planned),
        unsent: all(|s| s.unsent),
        late: add(|s| s.late),
        cancelled: add(|s| s.cancelled),
        latency: Latency::of(&sum.latency),
        service_time: Latency::of(&sum.service),
        schedule_lag: Latency::of(&sum.lag),
    }
}

/// Scenario counts added (their latency keeps its count only: reports carry no per-scenario
/// histograms).
fn scenarios(reports: &[&LoadReport]) -> Vec<super::report::ScenarioReport> {
    let mut out = reports[0].scenarios.clone();
    for s in &mut out {
        s.requests = 0;
        s.ok = 0;
        s.errors = 0;
    }
    for r in reports {
        for (into, s) in out.iter_mut().zip(&r.scenarios) {
            into.requests += s.requests;
            into.ok += s.ok;
            into.errors += s.errors;
        }
    }
    for s in &mut out {
        s.latency = Latency {
            count: s.requests,
            ..Latency::default()
        };
    }
    out
}

/// The keyed-write checks added (keys are global, so the lists concatenate).
fn writes(reports: &[&LoadReport]) -> Option<WriteReport> {
    let mut sum: Option<WriteReport> = None;
    for w in reports.iter().filter_map(|r| r.writes.as_ref()) {
        let s = sum.get_or_insert_with(WriteReport::default);
        s.attempted += w.attempted;
        s.acknowledged += w.acknowledged;
        s.refused += w.refused;
        s.unknown += w.unknown;
        s.lost += w.lost;
        s.unexpected += w.unexpected;
        s.read_failed += w.read_failed;
        s.lost_keys.extend(w.lost_keys.iter().cloned());
        s.unexpected_keys.extend(w.unexpected_keys.iter().cloned());
        s.read_failed_keys
            .extend(w.read_failed_keys.iter().cloned());
        s.lost_first_ack = s.lost_first_ack.into_iter().chain(w.lost_first_ack).min();
        s.lost_last_ack = s.lost_last_ack.into_iter().chain(w.lost_last_ack).max();
    }
    if let Some(s) = &mut sum {
        s.lost_keys.sort();
        s.unexpected_keys.sort();
        s.read_failed_keys.sort();
        s.loss_rate = if s.acknowledged > 0 {
            s.lost as f64 / s.acknowledged as f64
        } else {
            0.0
        };
    }
    sum
}

/// The agents' resources: CPU and connections added, memory and load the largest, warnings
/// prefixed with the agent's index.
fn generator(reports: &[&LoadReport]) -> Generator {
    let gens: Vec<&Generator> = reports.iter().map(|r| &r.generator).collect();
    Generator {
        cpu: gens.iter().map(|g| g.cpu).sum(),
        cpu_percent: gens.iter().map(|g| g.cpu_percent).sum(),
        cpus: gens.iter().map(|g| g.cpus).sum(),
        load_average: gens.iter().filter_map(|g| g.load_average).reduce(f64::max),
        peak_rss_bytes: gens.iter().filter_map(|g| g.peak_rss_bytes).max(),
        fd_limit: gens.iter().filter_map(|g| g.fd_limit).min(),
        peak_connections: gens.iter().map(|g| g.peak_connections).sum(),
        bottleneck: gens.iter().any(|g| g.bottleneck),
        warnings: gens
            .iter()
            .enumerate()
            .flat_map(|(i, g)| g.warnings.iter().map(move |w| format!("agent {i}: {w}")))
            .collect(),
    }
}

mod live;
pub use live::{LiveMerge, align, offset, shift};

#[cfg(test)]
mod tests;
