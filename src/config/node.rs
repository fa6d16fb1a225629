//! A located YAML tree: every value of a file with the line and column it came from.
//!
//! The file is first read into this tree (so a type error in one step does not hide the
//! problems of the next), variables are expanded in its strings, and each part is then
//! turned into a `serde_json::Value` for typed deserialization, keeping a map from
//! field path (`method[2].fault.proxy`) to position for error messages.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;

use super::Position;

/// One YAML value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: NodeValue,
    /// Where it starts in the file.
    pub at: Position,
}

/// The shape of a YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    /// A scalar: null, boolean, number or string.
    Scalar(Value),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order; each key with its own position.
    Map(Vec<(String, Position, Node)>),
}

/// Parse YAML 1.2 text (only `true`/`false` are booleans; `n`, `no`, `on` stay strings).
pub fn parse(file: &std::path::Path, text: &str) -> Result<Node, super::ConfigError> {
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    match serde_saphyr::from_str_with_options::<Node>(text, options) {
        Ok(node) => Ok(node),
        // The shared parser renders the same syntax error with its position and snippet.
        Err(strict) => match super::parse::<Node>(file, text, super::Format::Yaml) {
            Err(e) => Err(e),
            Ok(_) => Err(super::ConfigError::one(
                file,
                strict.location().map(Position::of).unwrap_or_default(),
                "",
                super::plain(&strict).unwrap_or_else(|| strict.to_string()),
            )),
        },
    }
}

/// Field paths to positions, filled while converting a tree to JSON.
pub type Locations = BTreeMap<String, Position>;

impl Node {
    /// The value under `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            NodeValue::Map(entries) => entries.iter().find(|(k, _, _)| k == key).map(|e| &e.2),
            _ => None,
        }
    }

    /// Convert to JSON, recording the position of every value (and every mapping key,
    /// under `path.key#key`) reached from `path` into `locations`.
    pub fn to_json(&self, path: &str, locations: &mut Locations) -> Value {
        locations.insert(path.to_string(), self.at);
        match &self.value {
            NodeValue::Scalar(v) => v.clone(),
            NodeValue::Seq(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, n)| n.to_json(&format!("{path}[{i}]"), locations))
                    .collect(),
            ),
            NodeValue::Map(entries) => {
                let mut map = serde_json::Map::new();
                for (key, key_at, node) in entries {
                    let child = join(path, key);
                    locations.insert(format!("{child}#key"), *key_at);
                    map.insert(key.clone(), node.to_json(&child, locations));
                }
                Value::Object(map)
            }
        }
    }

    /// Apply `f` to every string scalar, in place; `f` gets the string and its position.
    pub fn map_strings<E>(
        &mut self,
        f: &mut impl FnMut(&str, Position) -> Result<Option<Value>, E>,
        errors: &mut Vec<(Position, E)>,
    ) {
        match &mut self.value {
            NodeValue::Scalar(Value::String(s)) => match f(s, self.at) {
                Ok(Some(v)) => self.value = NodeValue::Scalar(v),
                Ok(None) => {}
                Err(e) => errors.push((self.at, e)),
            },
            NodeValue::Scalar(_) => {}
            NodeValue::Seq(items) => items.iter_mut().for_each(|n| n.map_strings(f, errors)),
            NodeValue::Map(entries) => entries
                .iter_mut()
                .for_each(|(_, _, n)| n.map_strings(f, errors)),
        }
    }
}

/// Where `path` was written, or its nearest written parent (`[0].upstream`, missing, is at
/// its entry `[0]`); the root's position when none of them is in `locations`.
pub fn locate(locations: &Locations, path: &str) -> Position {
    let mut p = path;
    loop {
        if let Some(at) = locations.get(p) {
            return *at;
        }
        match p.rfind(['.', '[']) {
            Some(i) => p = &p[..i],
            None => return locations.get("").copied().unwrap_or_default(),
        }
    }
}

/// `parent.key`, or `key` at the root.
pub fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

fn position(location: serde_saphyr::Location) -> Position {
    Position::of(location)
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<NodeValue>::deserialize(deserializer)?;
        Ok(Node {
            value: spanned.value,
            at: position(spanned.referenced),
        })
    }
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Scalar(Value::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Scalar(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<NodeValue, D::Error> {
        NodeValue::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Scalar(Value::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Scalar(Value::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<NodeValue, E> {
        Ok(NodeValue::Scalar(Value::from(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<NodeValue, E> {
        Ok(NodeValue::Scalar(
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<NodeValue, E> {
        Ok(NodeValue::Scalar(Value::String(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<NodeValue, E> {
        Ok(NodeValue::Scalar(Value::String(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::new();
        while let Some(node) = seq.next_element::<Node>()? {
            items.push(node);
        }
        Ok(NodeValue::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeValue, A::Error> {
        let mut entries: Vec<(String, Position, Node)> = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let node = map.next_value::<Node>()?;
            entries.push((key.value, position(key.referenced), node));
        }
        Ok(NodeValue::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_and_key_has_its_position() {
        let text = "title: t\nmethod:\n  - {at: 5s, fault: {proxy: kv}}\n  - at: 7s\n    n: 3\n    y: no\n";
        let node = parse(std::path::Path::new("x.yaml"), text).unwrap();
        let mut loc = Locations::new();
        let json = node.to_json("", &mut loc);
        assert_eq!(json["method"][1]["n"], Value::from(3));
        assert_eq!(loc["method[0].fault.proxy"].line, 3);
        assert_eq!(loc["method[1].n"].line, 5);
        assert_eq!(loc["method[1].n#key"].column, 5);
        assert_eq!(loc["title"].line, 1);
        assert_eq!(json["method"][1]["y"], Value::from("no"));
    }
}
