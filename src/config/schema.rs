//! JSON Schema pieces shared by the file formats: the value shapes written as text (durations,
//! rates, fractions, command lines) and `${…}` references, which may stand for any scalar.
//!
//! The serde types of a file derive `schemars::JsonSchema`; a field parsed from text names one
//! of the types here with `#[schemars(with = "…")]`, so the schema says what the parser accepts.
//! [`with_references`] then lets every number and boolean be written as a `${…}` reference,
//! which the runner expands before it checks the field.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::Value;

/// A string that holds a `${…}` reference (expanded before validation).
const REFERENCE: &str = r"\$\{[^}]*\}";

/// The pattern of a duration: `250ms`, `2s`, `1m30s`, `1.5s`, `0`, or a `${…}` reference.
pub const DURATION_PATTERN: &str =
    r"^(\s*(0|([0-9]+(\.[0-9]+)?\s*[a-zA-Zµ]+\s*)+)|.*\$\{[^}]*\}.*)$";

/// The pattern of a rate: `200/s`, `12000/m`, `5/ms`, `200`, or a `${…}` reference.
pub const RATE_PATTERN: &str =
    r"^(\s*[0-9]+(\.[0-9]+)?\s*(/\s*(s|sec|ms|m|min|h))?\s*|.*\$\{[^}]*\}.*)$";

/// The pattern of a fraction written as a percentage (`1%`, `0.5%`) or a number in text.
pub const FRACTION_PATTERN: &str = r"^(\s*[0-9]+(\.[0-9]+)?\s*%?\s*|.*\$\{[^}]*\}.*)$";

/// Schema of a duration written with a unit (`humantime`), such as `250ms`.
#[derive(Debug)]
pub struct DurationText;

impl JsonSchema for DurationText {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration with a unit: `250ms`, `2s`, `1m30s`, `1h` (at most 7 days).",
            "type": "string",
            "pattern": DURATION_PATTERN,
            "examples": ["250ms", "2s", "1m30s"],
        })
    }
}

/// Schema of a load segment, `I/N` (this agent's share of a plan split across N agents).
#[derive(Debug)]
pub struct SegmentText;

impl JsonSchema for SegmentText {
    fn schema_name() -> Cow<'static, str> {
        "Segment".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "This agent's share of a plan split across N agents: `I/N` with 0 <= I < N (docs/scaling.md).",
            "type": "string",
            "pattern": r"^\s*[0-9]+\s*/\s*[0-9]+\s*$",
            "examples": ["0/4", "3/4"],
        })
    }
}

/// Schema of a rate per second: a number, or text with a unit such as `200/s`.
#[derive(Debug)]
pub struct RateText;

impl JsonSchema for RateText {
    fn schema_name() -> Cow<'static, str> {
        "Rate".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A rate: `200/s`, `12000/m`, `5/ms`, `1/h`, or a number per second.",
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": RATE_PATTERN},
            ],
        })
    }
}

/// Schema of a fraction 0..1: a number, or a percentage such as `1%`.
#[derive(Debug)]
pub struct FractionText;

impl JsonSchema for FractionText {
    fn schema_name() -> Cow<'static, str> {
        "Fraction".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A fraction: a number from 0 to 1 (`0.5`) or a percentage (`50%`).",
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 1},
                {"type": "string", "pattern": FRACTION_PATTERN},
            ],
        })
    }
}

/// Schema of a limit of a load probe: a duration (latency), a fraction (error rate) or a rate.
#[derive(Debug)]
pub struct LimitText;

impl JsonSchema for LimitText {
    fn schema_name() -> Cow<'static, str> {
        "Limit".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A limit in the metric's unit: a duration for p50..p99 (`300ms`), \
                a fraction for error_rate (`1%`), a rate for rps (`100/s`).",
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string"},
            ],
        })
    }
}

/// Schema of a size in bytes: a whole number of bytes or a number with a unit (`256MB`,
/// `1.5GiB`; `KB`/`MB`/`GB` are powers of 1000, `KiB`/`MiB`/`GiB` of 1024).
#[derive(Debug)]
pub struct SizeText;

impl JsonSchema for SizeText {
    fn schema_name() -> Cow<'static, str> {
        "Size".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A size: bytes (`1048576`) or a number with a unit: B, KB, MB, GB \
                (powers of 1000), KiB, MiB, GiB (powers of 1024), e.g. `256MiB`.",
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": "^\\s*[0-9]+(\\.[0-9]+)?\\s*([KMG]i?B|B)?\\s*$"},
            ],
        })
    }
}

/// Schema of a command line: `[program, arg, …]`; numbers and booleans are taken as written.
#[derive(Debug)]
pub struct Argv;

impl JsonSchema for Argv {
    fn schema_name() -> Cow<'static, str> {
        "CommandLine".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A command line: `[program, arg, …]`; `shakedown` names this executable.",
            "type": "array",
            "minItems": 1,
            "items": {"type": ["string", "number", "boolean"]},
        })
    }
}

/// Schema of an HTTP status or a list of them.
#[derive(Debug)]
pub struct Statuses;

impl JsonSchema for Statuses {
    fn schema_name() -> Cow<'static, str> {
        "Statuses".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let status = json_schema!({"type": "integer", "minimum": 100, "maximum": 599});
        json_schema!({
            "description": "An HTTP status (`200`) or a list of them (`[200, 204]`); default 2xx.",
            "anyOf": [status, {"type": "array", "items": status, "minItems": 1}],
        })
    }
}

/// Schema of a string that is one of `words` (or a `${…}` reference standing for one).
pub fn one_of(description: &str, words: &[&str]) -> Schema {
    json_schema!({
        "description": description,
        "anyOf": [
            {"type": "string", "enum": words},
            {"type": "string", "pattern": format!("^.*{REFERENCE}.*$")},
        ],
    })
}

/// `schema` with every number, integer and boolean also accepting a string that holds a
/// `${…}` reference (`users: ${env.USERS:-20}`), as the runner expands them before checking.
pub fn with_references(mut schema: Value) -> Value {
    widen(&mut schema);
    schema
}

fn widen(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.values_mut().for_each(widen);
            let scalar = |t: &Value| matches!(t.as_str(), Some("integer" | "number" | "boolean"));
            let types = match map.get("type") {
                Some(Value::Array(types)) => types.clone(),
                Some(t) => vec![t.clone()],
                None => return,
            };
            if types.iter().any(scalar) && !types.iter().any(|t| t == "string") {
                let mut types = types;
                types.push(Value::from("string"));
                map.insert("type".into(), Value::Array(types));
                // A string is accepted only as a reference, never as a number in quotes.
                map.insert("pattern".into(), Value::from(format!("^.*{REFERENCE}.*$")));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(widen),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        regex::Regex::new(pattern).unwrap().is_match(text)
    }

    #[test]
    fn the_duration_pattern_accepts_what_the_parser_accepts() {
        for ok in [
            "250ms",
            "2s",
            "1m30s",
            "1m 30s",
            "1.5s",
            "0",
            "7days",
            "${env.D:-8s}",
        ] {
            assert!(
                humantime::parse_duration(ok).is_ok() || ok.contains("${"),
                "{ok}"
            );
            assert!(matches(DURATION_PATTERN, ok), "{ok}");
        }
        for bad in ["2", "fast", "s2", "-1s", ""] {
            assert!(humantime::parse_duration(bad).is_err(), "{bad}");
            assert!(!matches(DURATION_PATTERN, bad), "{bad}");
        }
    }

    #[test]
    fn rates_and_fractions_follow_their_parsers() {
        for ok in [
            "200/s",
            "12000/m",
            "5/ms",
            "1/h",
            "200",
            "0.5/s",
            "${env.RATE:-50/s}",
        ] {
            assert!(matches(RATE_PATTERN, ok), "{ok}");
        }
        for bad in ["fast", "5/week", "-1/s"] {
            assert!(!matches(RATE_PATTERN, bad), "{bad}");
        }
        for ok in ["1%", "0.5%", "0.25"] {
            assert!(matches(FRACTION_PATTERN, ok), "{ok}");
        }
        assert!(!matches(FRACTION_PATTERN, "lots"));
    }

    #[test]
    fn numbers_and_booleans_also_take_a_reference_and_strings_stay_strings() {
        let widened = with_references(serde_json::json!({
            "properties": {
                "users": {"type": "integer"},
                "max_rate": {"type": ["boolean", "null"]},
                "title": {"type": "string"},
            }
        }));
        let p = &widened["properties"];
        assert_eq!(p["users"]["type"], serde_json::json!(["integer", "string"]));
        assert_eq!(
            p["max_rate"]["type"],
            serde_json::json!(["boolean", "null", "string"])
        );
        assert!(matches(
            p["users"]["pattern"].as_str().unwrap(),
            "${env.USERS:-20}"
        ));
        assert!(!matches(p["users"]["pattern"].as_str().unwrap(), "20"));
        assert_eq!(p["title"], serde_json::json!({"type": "string"}));
    }
}
