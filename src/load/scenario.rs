//! Scenarios: weighted request templates, keyed writes and per-user step sequences.
//!
//! A scenario is one request, a keyed write with its read-back, or a
//! sequence of steps whose responses feed later steps through extracted
//! values (see [`super::template`] for the placeholders). The [`Picker`]
//! chooses among scenarios by weight.

use rand::RngExt;
use rand::rngs::StdRng;
use regex::Regex;
use serde_json_path::JsonPath;

pub(super) use super::template::{Context, RequestTemplate, Template, Vars};

/// How a value is taken from a response body.
#[derive(Debug, Clone)]
pub(super) enum Extractor {
    /// The first node a JSON path selects (strings unquoted).
    Json(JsonPath),
    /// The first capture group of a regex (or the whole match without groups).
    Regex(Regex),
}

impl Extractor {
    /// The extracted value, `None` when nothing matched.
    pub(super) fn extract(&self, body: &[u8]) -> Option<String> {
        match self {
            Extractor::Json(path) => {
                let value: serde_json::Value = serde_json::from_slice(body).ok()?;
                match path.query(&value).first()? {
                    serde_json::Value::String(s) => Some(s.clone()),
                    other => Some(other.to_string()),
                }
            }
            Extractor::Regex(re) => {
                let text = String::from_utf8_lossy(body);
                let caps = re.captures(&text)?;
                caps.get(1)
                    .or_else(|| caps.get(0))
                    .map(|m| m.as_str().to_string())
            }
        }
    }
}

/// One step of a per-user sequence.
#[derive(Debug, Clone)]
pub(super) struct Step {
    /// The request.
    pub request: RequestTemplate,
    /// Values to extract from its response, by variable name.
    pub extract: Vec<(String, Extractor)>,
}

/// What a scenario sends.
#[derive(Debug, Clone)]
pub(super) enum Kind {
    /// One request per iteration.
    Request(RequestTemplate),
    /// A keyed write, read back at the end of the run.
    Write {
        /// The write.
        write: Box<RequestTemplate>,
        /// The read that must return the written body.
        read_back: Box<RequestTemplate>,
    },
    /// A sequence of steps per iteration, carrying extracted values forward.
    Steps(Vec<Step>),
}

/// A validated scenario.
#[derive(Debug, Clone)]
pub(super) struct Scenario {
    /// Name in reports.
    pub name: String,
    /// Relative weight (> 0).
    pub weight: u32,
    /// What it sends.
    pub kind: Kind,
}

impl Scenario {
    /// Number of requests in one iteration.
    pub(super) fn len(&self) -> usize {
        match &self.kind {
            Kind::Steps(s) => s.len(),
            _ => 1,
        }
    }

    /// The request of step `i` and whether its body must be kept.
    pub(super) fn step(&self, i: usize) -> (&RequestTemplate, bool) {
        match &self.kind {
            Kind::Request(r) => (r, false),
            Kind::Write { write, .. } => (write, false),
            Kind::Steps(steps) => {
                let s = &steps[i.min(steps.len().saturating_sub(1))];
                (&s.request, !s.extract.is_empty())
            }
        }
    }
}

/// Weighted choice among scenarios.
#[derive(Debug, Clone)]
pub(super) struct Picker {
    cumulative: Vec<u64>,
}

impl Picker {
    /// A picker for these weights (all > 0).
    pub(super) fn new(weights: impl IntoIterator<Item = u32>) -> Self {
        let mut total = 0u64;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += u64::from(w);
                total
            })
            .collect();
        Self { cumulative }
    }

    /// Pick an index with probability proportional to its weight.
    pub(super) fn pick(&self, rng: &mut StdRng) -> usize {
        match self.cumulative.as_slice() {
            [] | [_] => 0,
            all => {
                let total = all[all.len() - 1];
                let x = rng.random_range(0..total);
                all.partition_point(|&c| c <= x)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn extraction_by_json_path_and_regex() {
        let j = Extractor::Json(JsonPath::parse("$.auth.token").unwrap());
        assert_eq!(
            j.extract(br#"{"auth":{"token":"xyz"}}"#).as_deref(),
            Some("xyz")
        );
        assert_eq!(j.extract(b"not json"), None);
        let n = Extractor::Json(JsonPath::parse("$.version").unwrap());
        assert_eq!(n.extract(br#"{"version":3}"#).as_deref(), Some("3"));
        let r = Extractor::Regex(Regex::new("id=(\\d+)").unwrap());
        assert_eq!(r.extract(b"ok id=12 done").as_deref(), Some("12"));
        assert_eq!(r.extract(b"nothing"), None);
    }

    #[test]
    fn picker_follows_weights() {
        let p = Picker::new([8, 2]);
        let mut rng = StdRng::seed_from_u64(3);
        let firsts = (0..10_000).filter(|_| p.pick(&mut rng) == 0).count();
        // Binomial sd ≈ 40; 5 sd margin.
        assert!((firsts as i64 - 8000).abs() < 200, "{firsts}");
        assert_eq!(Picker::new([5]).pick(&mut rng), 0);
    }
}
