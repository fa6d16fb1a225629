//! Validation: a [`LoadSpec`] as written becomes a runnable [`Plan`] or a clear error naming the field.

use std::time::Duration;

use http::{HeaderName, HeaderValue};

use super::LoadError;
use super::scenario::{Picker, Scenario};
use super::schedule::Schedule;
use super::segment::Segment;
use super::spec::{
    Arrival, LoadSpec, MAX_CONNECTIONS, MAX_DURATION, MAX_REQUESTS_PER_USER, MAX_THREADS,
    MAX_TIMEOUT, RequestSpec, ScenarioSpec,
};
pub(crate) use super::target::Target;
use super::thresholds::Threshold;
use super::users::Users;

mod model;
mod scenarios;
mod stages;
use model::model;
use scenarios::scenario;

/// Default per-request timeout.
pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default connection cap in the open model.
pub(super) const DEFAULT_CONNECTIONS: usize = 1000;

/// Open or closed model.
#[derive(Debug, Clone)]
pub(super) enum Model {
    /// Requests on a schedule, whatever the latency.
    Open {
        /// Intended send times.
        schedule: Schedule,
        /// Arrival process.
        arrival: Arrival,
    },
    /// Virtual users that wait for each answer.
    Closed {
        /// Active users over time.
        users: Users,
        /// Think time range after each request (zero for none).
        think: (Duration, Duration),
        /// Requests per user before it stops.
        requests_per_user: Option<u64>,
        /// End of the run.
        duration: Option<Duration>,
    },
}

/// A validated, runnable load plan.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    /// Where requests go.
    pub target: Target,
    /// How requests are paced.
    pub model: Model,
    /// Maximum connections (= requests in flight).
    pub connections: usize,
    /// Worker tasks.
    pub threads: usize,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Headers on every request.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The request mix.
    pub scenarios: Vec<Scenario>,
    /// Weighted choice among them.
    pub picker: Picker,
    /// Pass/fail criteria.
    pub thresholds: Vec<Threshold>,
    /// This agent's share of the plan (the whole plan by default).
    pub segment: Segment,
}

impl Plan {
    /// Whether the plan ends on its own (an end time, or users with a request limit).
    pub(super) fn is_bounded(&self) -> bool {
        self.end().is_some()
            || matches!(
                self.model,
                Model::Closed {
                    requests_per_user: Some(_),
                    ..
                }
            )
    }

    /// When the plan ends on its own, if ever.
    pub(super) fn end(&self) -> Option<Duration> {
        match &self.model {
            Model::Open { schedule, .. } => schedule.end(),
            Model::Closed { duration, .. } => *duration,
        }
    }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> LoadError {
    LoadError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// `field` is at most `max` (a duration).
pub(super) fn duration_at_most(field: &str, d: Duration, max: Duration) -> Result<(), LoadError> {
    if d > max {
        return Err(invalid(
            field,
            format!(
                "{} is above the limit of {}",
                humantime::format_duration(d),
                humantime::format_duration(max)
            ),
        ));
    }
    Ok(())
}

/// `field` is at most `max` (a count).
pub(super) fn count_at_most(field: &str, n: u64, max: u64) -> Result<(), LoadError> {
    if n > max {
        return Err(invalid(field, format!("{n} is above the limit of {max}")));
    }
    Ok(())
}

/// Every duration and count of `spec` within its documented bound (docs/load.md, "Limits").
fn bounds(spec: &LoadSpec) -> Result<(), LoadError> {
    let durations = [
        ("duration", spec.duration, MAX_DURATION),
        ("timeout", spec.timeout, MAX_TIMEOUT),
    ];
    for (field, d, max) in durations {
        if let Some(d) = d {
            duration_at_most(field, d, max)?;
        }
    }
    if spec.timeout == Some(Duration::ZERO) {
        return Err(invalid("timeout", "must be > 0"));
    }
    let counts = [
        (
            "connections",
            spec.connections.map(|c| c as u64),
            MAX_CONNECTIONS,
        ),
        (
            "threads",
            spec.threads.map(|t| t as u64),
            MAX_THREADS as u64,
        ),
        ("users", spec.users, MAX_CONNECTIONS),
        (
            "requests_per_user",
            spec.requests_per_user,
            MAX_REQUESTS_PER_USER,
        ),
    ];
    for (field, n, max) in counts {
        if let Some(n) = n {
            count_at_most(field, n, max)?;
        }
    }
    Ok(())
}

/// Validate a spec into a plan.
pub(super) fn validate(spec: &LoadSpec) -> Result<Plan, LoadError> {
    let url = spec
        .target
        .as_deref()
        .ok_or_else(|| invalid("target", "a target URL is required"))?;
    let target = Target::parse(url, &spec.tls.clone().unwrap_or_default())
        .map_err(|(field, m)| invalid(field, m))?;
    if spec.duration == Some(Duration::ZERO) {
        return Err(invalid("duration", "must be > 0"));
    }
    bounds(spec)?;
    let model = model(spec)?;
    let segment = spec.segment.unwrap_or_default();
    let connections = match (&model, spec.connections) {
        (_, Some(c)) => c,
        (Model::Closed { users, .. }, None) => usize::try_from(segment.share(users.max()))
            .unwrap_or(usize::MAX)
            .max(1),
        (Model::Open { .. }, None) => DEFAULT_CONNECTIONS,
    };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = spec.threads.unwrap_or(cpus).clamp(1, connections.max(1));
    let closed = matches!(model, Model::Closed { .. });
    let scenarios = scenarios(spec, &target, closed)?;
    Ok(Plan {
        picker: Picker::new(scenarios.iter().map(|s| s.weight)),
        target,
        model,
        connections,
        threads,
        timeout: spec.timeout.unwrap_or(DEFAULT_TIMEOUT),
        headers: headers(spec)?,
        scenarios,
        thresholds: thresholds(spec)?,
        segment,
    })
}

/// The headers sent with every request.
fn headers(spec: &LoadSpec) -> Result<Vec<(HeaderName, HeaderValue)>, LoadError> {
    spec.headers
        .iter()
        .map(|(k, v)| {
            let field = format!("headers.{k}");
            Ok((
                HeaderName::try_from(k.as_str()).map_err(|e| invalid(&field, e.to_string()))?,
                HeaderValue::from_str(v).map_err(|e| invalid(&field, e.to_string()))?,
            ))
        })
        .collect()
}

/// The request mix: the spec's scenarios, or `GET` of the target URL.
fn scenarios(spec: &LoadSpec, target: &Target, closed: bool) -> Result<Vec<Scenario>, LoadError> {
    if spec.scenarios.is_empty() {
        let default = ScenarioSpec {
            name: Some(format!("GET {}", target.path)),
            weight: 1,
            request: Some(RequestSpec {
                method: "GET".into(),
                path: target.path.clone(),
                ..RequestSpec::default()
            }),
            ..ScenarioSpec::default()
        };
        return Ok(vec![scenario(0, &default, closed)?]);
    }
    spec.scenarios
        .iter()
        .enumerate()
        .map(|(i, s)| scenario(i, s, closed))
        .collect()
}

/// The pass/fail criteria, parsed.
fn thresholds(spec: &LoadSpec) -> Result<Vec<Threshold>, LoadError> {
    spec.thresholds
        .iter()
        .enumerate()
        .map(|(i, t)| {
            t.parse()
                .map_err(|e| invalid(format!("thresholds[{i}]"), format!("{e}")))
        })
        .collect()
}

#[cfg(test)]
mod tests;
