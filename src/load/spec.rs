//! The load specification as written: the `load:` section of an experiment and `--scenario FILE`.
//!
//! These are the raw serde types (unknown fields rejected); [`super::plan`]
//! validates them into a runnable plan. Values carry their units as text:
//! rates `200/s`, `12000/m`; durations `30s`, `250ms`; think times `5s..15s`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::segment::Segment;
use super::users::UserStages;

/// The longest `duration` and the latest stage time (30 days); checked at validation.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(30 * 86_400);
/// The longest request `timeout` and think time (1 hour, the latency histograms' range).
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(3_600);
/// The highest rate and spawn rate, per second (10^12); checked when a rate is parsed.
pub(crate) const MAX_RATE: f64 = 1e12;
/// The most connections, and the most virtual users (of `users` and of every user stage).
pub(crate) const MAX_CONNECTIONS: u64 = 1_000_000;
/// The most worker tasks.
pub(crate) const MAX_THREADS: usize = 1_024;
/// The most requests per user.
pub(crate) const MAX_REQUESTS_PER_USER: u64 = 1_000_000_000_000;

/// What load to apply, to which target, and how to judge it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadSpec {
    /// Base URL, `http[s]://host:port[/path]`; scenario paths are relative to its origin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Open model: constant arrival rate (`200/s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
    /// Open model: rate stages (`0s:100/s,30s:1000/s` or a list of `{at, rate}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stages: Option<Stages>,
    /// Arrival process of the open model.
    #[serde(default)]
    pub arrival: Arrival,
    /// How long to run; without it, until the last stage or until stopped.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<crate::config::schema::DurationText>")]
    pub duration: Option<Duration>,
    /// Maximum open connections = maximum requests in flight (HTTP/1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<usize>,
    /// Closed model: number of virtual users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<u64>,
    /// Closed model: user count stages (`0s:10,30s:200,40s:10` or a list of `{at, users}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users_stages: Option<UserStages>,
    /// Closed model: users started per second (Locust's `spawn_rate`); default all at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spawn_rate: Option<Rate>,
    /// Closed model: think time after each request (`2s` or `5s..15s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think: Option<ThinkTime>,
    /// Closed model: a user stops after this many requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_user: Option<u64>,
    /// Closed loop flat out: one user per connection, no think time (wrk-style).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub max_rate: bool,
    /// Worker tasks (default: the number of CPUs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    /// Per-request timeout, connect included (default 10s).
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<crate::config::schema::DurationText>")]
    pub timeout: Option<Duration>,
    /// Headers sent with every request.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// How an `https` target is verified (`{ca: FILE, insecure: true}`); system roots when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<crate::tls::TlsOptions>,
    /// The request mix; empty means `GET` the target URL.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scenarios: Vec<ScenarioSpec>,
    /// This agent's share of a plan split across agents (`"1/4"`; see docs/scaling.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<crate::config::schema::SegmentText>")]
    pub segment: Option<Segment>,
    /// Pass/fail criteria such as `p95 < 300ms`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<String>,
}

/// One weighted entry of the request mix: exactly one of `request`, `write` or `steps`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    /// Name in reports (default: method and path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Relative weight (default 1).
    #[serde(default = "one")]
    pub weight: u32,
    /// A single request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestSpec>,
    /// A keyed write, checked at the end with `read_back`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write: Option<RequestSpec>,
    /// The read that must return the written body (rendered with the write's values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_back: Option<RequestSpec>,
    /// A sequence of requests per user iteration (closed model).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepSpec>,
}

fn one() -> u32 {
    1
}

/// A request template.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// HTTP method (default GET).
    #[serde(default = "get")]
    pub method: String,
    /// Path and query, starting with `/`; may hold placeholders.
    pub path: String,
    /// Extra headers; values may hold placeholders.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Body; may hold placeholders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

fn get() -> String {
    "GET".to_string()
}

/// One step of a user's sequence.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// The request.
    pub request: RequestSpec,
    /// Values to take from the response for later steps, by variable name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extract: BTreeMap<String, ExtractSpec>,
}

/// Where to find a value in a response body: exactly one of `json` or `regex`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtractSpec {
    /// A JSON path (RFC 9535), e.g. `$.token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<String>,
    /// A regex; the first capture group (or the whole match) is taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
}

/// Arrival process of the open model.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Arrival {
    /// Evenly spaced (wrk2, vegeta).
    #[default]
    Uniform,
    /// Poisson arrivals with seeded exponential gaps.
    Poisson,
}

/// A rate in requests per second, written `200/s`, `12000/m`, `5/ms` or `200`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "RateText", into = "String")]
#[schemars(with = "crate::config::schema::RateText")]
pub struct Rate {
    /// Requests per second.
    pub per_second: f64,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RateText {
    Number(f64),
    Text(String),
}

impl TryFrom<RateText> for Rate {
    type Error = String;
    fn try_from(raw: RateText) -> Result<Self, String> {
        match raw {
            RateText::Number(n) => Rate::from_str(&n.to_string()),
            RateText::Text(t) => Rate::from_str(&t),
        }
    }
}

impl FromStr for Rate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (n, unit) = s.split_once('/').unwrap_or((s, "s"));
        let n: f64 = n
            .trim()
            .parse()
            .map_err(|_| format!("invalid rate {s:?} (expected e.g. 200/s)"))?;
        let per = match unit.trim() {
            "s" | "sec" => 1.0,
            "ms" => 0.001,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            other => {
                return Err(format!(
                    "invalid rate unit {other:?} in {s:?} (s, ms, m, h)"
                ));
            }
        };
        let per_second = n / per;
        if !per_second.is_finite() || per_second < 0.0 {
            return Err(format!("invalid rate {s:?}"));
        }
        if per_second > MAX_RATE {
            return Err(format!(
                "rate {s:?} is above the limit of {MAX_RATE:e} per second"
            ));
        }
        Ok(Rate { per_second })
    }
}

impl From<Rate> for String {
    fn from(r: Rate) -> String {
        r.to_string()
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", self.per_second)
    }
}

/// Rate stages: points joined by linear ramps; equal times make a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "StagesText", into = "Vec<Stage>")]
pub struct Stages(pub Vec<Stage>);

/// One stage point: from `at`, the rate is (heading linearly to the next point from) `rate`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// Time since start.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::config::schema::DurationText")]
    pub at: Duration,
    /// Rate at that time.
    pub rate: Rate,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
enum StagesText {
    Text(String),
    List(Vec<Stage>),
}

impl TryFrom<StagesText> for Stages {
    type Error = String;
    fn try_from(raw: StagesText) -> Result<Self, String> {
        match raw {
            StagesText::Text(t) => t.parse(),
            StagesText::List(l) => Ok(Stages(l)),
        }
    }
}

impl From<Stages> for Vec<Stage> {
    fn from(s: Stages) -> Self {
        s.0
    }
}

impl FromStr for Stages {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        s.split(',')
            .map(|item| {
                let (at, rate) = item
                    .trim()
                    .split_once(':')
                    .ok_or_else(|| format!("stage {item:?} is not TIME:RATE (e.g. 30s:1000/s)"))?;
                let at = humantime::parse_duration(at.trim())
                    .map_err(|e| format!("stage {item:?}: time: {e}"))?;
                Ok(Stage {
                    at,
                    rate: rate.parse()?,
                })
            })
            .collect::<Result<_, _>>()
            .map(Stages)
    }
}

/// Think time: a fixed `2s` or a uniform range `5s..15s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "String", into = "String")]
pub struct ThinkTime {
    /// Shortest pause.
    pub min: Duration,
    /// Longest pause.
    pub max: Duration,
}

impl FromStr for ThinkTime {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let d = |t: &str| {
            humantime::parse_duration(t.trim()).map_err(|e| format!("think time {s:?}: {e}"))
        };
        let (min, max) = match s.split_once("..") {
            Some((a, b)) => (d(a)?, d(b)?),
            None => (d(s)?, d(s)?),
        };
        if min > max {
            return Err(format!("think time {s:?}: minimum exceeds maximum"));
        }
        if max > MAX_TIMEOUT {
            return Err(format!(
                "think time {s:?}: at most {}",
                humantime::format_duration(MAX_TIMEOUT)
            ));
        }
        Ok(ThinkTime { min, max })
    }
}

impl TryFrom<String> for ThinkTime {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<ThinkTime> for String {
    fn from(t: ThinkTime) -> String {
        format!(
            "{}..{}",
            humantime::format_duration(t.min),
            humantime::format_duration(t.max)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Format, parse};

    #[test]
    fn rates_stages_and_think_times_parse() {
        assert_eq!("200/s".parse::<Rate>().unwrap().per_second, 200.0);
        assert_eq!("120/m".parse::<Rate>().unwrap().per_second, 2.0);
        assert_eq!("5".parse::<Rate>().unwrap().per_second, 5.0);
        assert!("fast".parse::<Rate>().is_err());
        assert!("5/week".parse::<Rate>().is_err());
        let s: Stages = "0s:100/s, 30s:1000/s,40s:100/s".parse().unwrap();
        assert_eq!(s.0.len(), 3);
        assert_eq!(s.0[1].at, Duration::from_secs(30));
        assert!("0s-100/s".parse::<Stages>().is_err());
        let t: ThinkTime = "5s..15s".parse().unwrap();
        assert_eq!(
            (t.min, t.max),
            (Duration::from_secs(5), Duration::from_secs(15))
        );
        assert!("15s..5s".parse::<ThinkTime>().is_err());
    }

    #[test]
    fn the_contract_example_parses_and_unknown_fields_fail() {
        let yaml = r#"
target: http://127.0.0.1:18081
rate: 200/s
scenarios:
  - {weight: 8, write: {method: PUT, path: "/kv/{{seq}}", body: "{{uuid}}"}, read_back: {method: GET, path: "/kv/{{seq}}"}}
  - {weight: 2, request: {method: GET, path: /health}}
"#;
        let spec: LoadSpec = parse("l.yaml", yaml, Format::Yaml).unwrap();
        assert_eq!(spec.rate.unwrap().per_second, 200.0);
        assert_eq!(spec.scenarios[0].weight, 8);
        let stages: LoadSpec = parse(
            "s.yaml",
            "stages: [{at: 0s, rate: 10/s}, {at: 5s, rate: 20/s}]\n",
            Format::Yaml,
        )
        .unwrap();
        assert_eq!(stages.stages.unwrap().0.len(), 2);
        let err = parse::<LoadSpec>("l.yaml", "rate: 5/s\nrat: 3\n", Format::Yaml).unwrap_err();
        assert!(err.to_string().contains("unknown field `rat`"), "{err}");
        // Round trip through JSON keeps the meaning.
        let json = serde_json::to_string(&spec).unwrap();
        let back: LoadSpec = serde_json::from_str(&json).unwrap();
        assert_eq!(back, spec);
    }
}
