//! A small YAML writer for imported experiments: keys in the order given, lists in block style
//! with flow-style items, every string double-quoted (JSON strings are valid YAML), so the text
//! reads like the hand-written examples and parses back exactly.

use serde_json::Value;

/// A YAML value whose mappings keep their keys in the order they were added.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Y {
    /// A scalar written as JSON (string, number, boolean).
    Scalar(Value),
    /// A sequence.
    List(Vec<Y>),
    /// A mapping, in order.
    Map(Vec<(String, Y)>),
}

impl Y {
    /// A string scalar.
    pub(crate) fn str(s: impl Into<String>) -> Y {
        Y::Scalar(Value::String(s.into()))
    }

    /// A mapping from `(key, value)` pairs, leaving out `None` values.
    pub(crate) fn map<const N: usize>(pairs: [(&str, Option<Y>); N]) -> Y {
        Y::Map(
            pairs
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
                .collect(),
        )
    }

    /// Any JSON value, mappings in their own key order.
    pub(crate) fn json(value: &Value) -> Y {
        match value {
            Value::Array(items) => Y::List(items.iter().map(Y::json).collect()),
            Value::Object(map) => {
                Y::Map(map.iter().map(|(k, v)| (k.clone(), Y::json(v))).collect())
            }
            scalar => Y::Scalar(scalar.clone()),
        }
    }
}

/// A document: top-level `(key, value)` pairs, mappings as nested blocks, lists one item a line.
pub(crate) fn document(comment: &str, top: &[(String, Y)]) -> String {
    let mut out = String::new();
    for line in comment.lines() {
        out.push_str(&format!("# {line}\n").replace("# \n", "#\n"));
    }
    block(&mut out, top, 0);
    out
}

fn block(out: &mut String, pairs: &[(String, Y)], indent: usize) {
    let pad = " ".repeat(indent);
    for (key, value) in pairs {
        let key = self::key(key);
        match value {
            Y::Map(inner) if !inner.is_empty() => {
                out.push_str(&format!("{pad}{key}:\n"));
                block(out, inner, indent + 2);
            }
            Y::List(items) if !items.is_empty() => {
                out.push_str(&format!("{pad}{key}:\n"));
                for item in items {
                    out.push_str(&format!("{pad}  - {}\n", flow(item)));
                }
            }
            other => out.push_str(&format!("{pad}{key}: {}\n", flow(other))),
        }
    }
}

/// A value on one line: `{a: 1, b: [x, y]}`.
fn flow(value: &Y) -> String {
    match value {
        Y::Scalar(v) => v.to_string(),
        Y::List(items) => format!(
            "[{}]",
            items.iter().map(flow).collect::<Vec<_>>().join(", ")
        ),
        Y::Map(pairs) => format!(
            "{{{}}}",
            pairs
                .iter()
                .map(|(k, v)| format!("{}: {}", key(k), flow(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A key as written: plain when it is a simple word, quoted otherwise (`"$.status"`).
fn key(k: &str) -> String {
    let plain = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    if plain {
        k.to_string()
    } else {
        Value::from(k).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_document_parses_back_to_the_same_values_in_the_same_order() {
        let top = vec![
            ("title".to_string(), Y::str("a: \"quoted\" # title")),
            ("tags".to_string(), Y::json(&json!(["x", "y"]))),
            (
                "steady_state".to_string(),
                Y::map([
                    ("interval", Some(Y::str("1s"))),
                    ("skipped", None),
                    (
                        "probes",
                        Some(Y::List(vec![Y::json(
                            &json!({"name": "up", "expect": {"$.status": "ok", "n": 3}}),
                        )])),
                    ),
                ]),
            ),
            ("empty".to_string(), Y::List(vec![])),
        ];
        let text = document("made by a test\n\nsecond", &top);
        assert!(
            text.starts_with("# made by a test\n#\n# second\ntitle: "),
            "{text}"
        );
        let back: Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(
            back,
            json!({
                "title": "a: \"quoted\" # title",
                "tags": ["x", "y"],
                "steady_state": {"interval": "1s", "probes": [{"name": "up", "expect": {"$.status": "ok", "n": 3}}]},
                "empty": [],
            })
        );
        let keys: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with([' ', '#']))
            .map(|l| l.split(':').next().unwrap())
            .collect();
        assert_eq!(keys, ["title", "tags", "steady_state", "empty"]);
    }
}
