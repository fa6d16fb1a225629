//! Reading a toxic's wire attributes into typed values, naming the field on error.

use std::time::Duration;

use serde_json::{Map, Value};

use super::FaultError;

/// The longest delay or timeout any attribute may ask for: 24 hours. Longer
/// values are almost always a unit mistake (seconds given as milliseconds).
pub const MAX_DELAY: Duration = Duration::from_secs(24 * 60 * 60);

/// The largest size any attribute may ask for: 10^15 bytes (1 PB), below 2^53 so every JSON
/// client reads it exactly.
pub const MAX_BYTES: u64 = 1_000_000_000_000_000;

/// Why a whole number written with an exponent or a fraction (`1e2`, `100.0`) is refused where
/// an integer attribute is expected, and how to write it: JSON reads such a number as a
/// fraction, and Toxiproxy refuses it, so the control API and `fault add` refuse it alike.
/// `None` when `number` is not a non-negative whole number (up to 2^53, exactly representable).
pub fn digits_hint(number: f64) -> Option<String> {
    const EXACT: f64 = (1u64 << 53) as f64;
    (number.is_finite() && number >= 0.0 && number.fract() == 0.0 && number <= EXACT).then(|| {
        format!(
            "an exponent or a fraction is not an integer here: write it in digits, {}",
            number as u64
        )
    })
}

/// A toxic's attribute map, read field by field.
#[derive(Debug, Clone, Copy)]
pub struct Attributes<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Attributes<'a> {
    /// Wrap a wire attribute map.
    pub fn new(map: &'a Map<String, Value>) -> Self {
        Self { map }
    }

    /// A non-negative integer attribute; missing (or `null`) means 0, as in Toxiproxy.
    pub fn integer(&self, name: &str) -> Result<u64, FaultError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(0),
            Some(value) => value.as_u64().ok_or_else(|| {
                let why = value
                    .as_f64()
                    .and_then(digits_hint)
                    .map(|hint| format!(" ({hint})"))
                    .unwrap_or_default();
                FaultError::field(
                    format!("attributes.{name}"),
                    format!("expected a non-negative integer, got {value}{why}"),
                )
            }),
        }
    }

    /// A size attribute in bytes, at most [`MAX_BYTES`].
    pub fn bytes(&self, name: &str) -> Result<u64, FaultError> {
        let n = self.integer(name)?;
        if n > MAX_BYTES {
            return Err(FaultError::field(
                format!("attributes.{name}"),
                format!("must be at most {MAX_BYTES} bytes (1 PB), got {n}"),
            ));
        }
        Ok(n)
    }

    /// A count attribute without unit (requests, for `first_n` and `max_active`), at most
    /// [`MAX_BYTES`] (10^15, the same JSON-safe bound as sizes).
    pub fn count(&self, name: &str) -> Result<u64, FaultError> {
        let n = self.integer(name)?;
        if n > MAX_BYTES {
            return Err(FaultError::field(
                format!("attributes.{name}"),
                format!("must be at most {MAX_BYTES} (10^15), got {n}"),
            ));
        }
        Ok(n)
    }

    /// A duration attribute given as an integer in milliseconds, at most [`MAX_DELAY`].
    pub fn millis(&self, name: &str) -> Result<Duration, FaultError> {
        self.bounded(
            name,
            Duration::from_millis(self.integer(name)?),
            "ms",
            1_000,
        )
    }

    /// A duration attribute given as an integer in microseconds, at most [`MAX_DELAY`].
    pub fn micros(&self, name: &str) -> Result<Duration, FaultError> {
        self.bounded(
            name,
            Duration::from_micros(self.integer(name)?),
            "µs",
            1_000_000,
        )
    }

    fn bounded(
        &self,
        name: &str,
        value: Duration,
        unit: &str,
        per_second: u64,
    ) -> Result<Duration, FaultError> {
        if value > MAX_DELAY {
            let max = MAX_DELAY.as_secs() * per_second;
            let got = self.integer(name)?;
            return Err(FaultError::field(
                format!("attributes.{name}"),
                format!("must be at most {max} {unit} (24h), got {got}"),
            ));
        }
        Ok(value)
    }

    /// A string attribute; missing (or `null`) means `None`.
    pub fn text(&self, name: &str) -> Result<Option<&'a str>, FaultError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(FaultError::field(
                format!("attributes.{name}"),
                format!("expected a string, got {other}"),
            )),
        }
    }

    /// An object of string values (`{"name": "value"}`, e.g. headers); missing means empty.
    pub fn string_map(&self, name: &str) -> Result<Vec<(&'a str, &'a str)>, FaultError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.as_str(), s.as_str())),
                    other => Err(FaultError::field(
                        format!("attributes.{name}.{k}"),
                        format!("expected a string, got {other}"),
                    )),
                })
                .collect(),
            Some(other) => Err(FaultError::field(
                format!("attributes.{name}"),
                format!("expected an object of strings, got {other}"),
            )),
        }
    }

    /// An array of strings; missing means empty.
    pub fn strings(&self, name: &str) -> Result<Vec<&'a str>, FaultError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_str().ok_or_else(|| {
                        FaultError::field(
                            format!("attributes.{name}[{i}]"),
                            format!("expected a string, got {v}"),
                        )
                    })
                })
                .collect(),
            Some(other) => Err(FaultError::field(
                format!("attributes.{name}"),
                format!("expected an array of strings, got {other}"),
            )),
        }
    }

    /// Whether the attribute is present (and not `null`).
    pub fn has(&self, name: &str) -> bool {
        !matches!(self.map.get(name), None | Some(Value::Null))
    }

    /// Fail on any attribute not in `known`.
    pub fn reject_unknown(&self, known: &[&str]) -> Result<(), FaultError> {
        match self.map.keys().find(|k| !known.contains(&k.as_str())) {
            None => Ok(()),
            Some(key) => Err(FaultError::field(
                format!("attributes.{key}"),
                if known.is_empty() {
                    "unknown attribute (this toxic takes none)".to_string()
                } else {
                    format!("unknown attribute (expected {})", known.join(", "))
                },
            )),
        }
    }
}

/// Whole milliseconds of a duration, for rendering attributes.
pub fn as_millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Whole microseconds of a duration, for rendering attributes.
pub fn as_micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Extreme JSON values for property tests of every parser that reads attributes.
#[cfg(test)]
pub(crate) fn extremes() -> Vec<Value> {
    let max_ms = MAX_DELAY.as_millis() as u64;
    let mut v: Vec<Value> = [
        0,
        1,
        max_ms,
        max_ms + 1,
        max_ms * 1000,
        max_ms * 1000 + 1,
        MAX_BYTES,
        MAX_BYTES + 1,
        1 << 53,
        u64::from(u32::MAX),
        u64::MAX / 1000,
        u64::MAX,
    ]
    .into_iter()
    .map(Value::from)
    .collect();
    v.extend([
        Value::from(-1),
        Value::from(i64::MIN),
        Value::from(1e308),
        Value::from(0.5),
        Value::from("100"),
        Value::Null,
        Value::Bool(true),
    ]);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_whole_number_with_an_exponent_or_a_fraction_is_refused_saying_why() {
        let m = json!({"latency": 1e2, "jitter": 2.5})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let a = Attributes::new(&m);
        assert_eq!(
            a.integer("latency").unwrap_err().to_string(),
            "attributes.latency: expected a non-negative integer, got 100.0 (an exponent or a \
             fraction is not an integer here: write it in digits, 100)"
        );
        assert_eq!(
            a.integer("jitter").unwrap_err().to_string(),
            "attributes.jitter: expected a non-negative integer, got 2.5"
        );
    }

    #[test]
    fn absurd_and_negative_values_are_refused_with_the_field() {
        let m = json!({"latency": 31_536_000_000u64, "jitter": -1, "ok": 5})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let a = Attributes::new(&m);
        let err = a.millis("latency").unwrap_err().to_string();
        assert_eq!(
            err,
            "attributes.latency: must be at most 86400000 ms (24h), got 31536000000"
        );
        let err = a.millis("jitter").unwrap_err().to_string();
        assert!(
            err.starts_with("attributes.jitter: expected a non-negative"),
            "{err}"
        );
        assert_eq!(a.integer("missing").unwrap(), 0);
        // A count has no unit: not "bytes".
        let m = json!({"first_n": MAX_BYTES + 1})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            Attributes::new(&m)
                .count("first_n")
                .unwrap_err()
                .to_string(),
            "attributes.first_n: must be at most 1000000000000000 (10^15), got 1000000000000001"
        );
        assert_eq!(a.millis("ok").unwrap(), Duration::from_millis(5));
        assert!(a.reject_unknown(&["latency", "jitter"]).is_err());
    }
}
