//! What each toxic kind's attributes are ([`Attr`]: type, unit, default, bounds, a sentence),
//! declared once beside its parser as [`super::Kind::ATTRIBUTES`], and the list of every kind
//! the control API serves as `GET /toxic-types` ([`toxic_types`]).
//!
//! The parser stays the authority on what is valid (`slicer`'s `size_variation <
//! average_size`, header syntax); this metadata describes each field for forms and for
//! `shakedown fault add`, and a test checks every attribute listed is accepted by its parser.

use serde_json::{Value, json};

use super::attrs::{MAX_BYTES, MAX_DELAY};

/// The JSON type of an attribute's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    /// A non-negative integer.
    Integer,
    /// A string.
    String,
    /// An object of string values (headers).
    Object,
    /// An array of strings.
    Array,
}

impl AttrType {
    /// The wire name: `integer`, `string`, `object` or `array`.
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::Integer => "integer",
            AttrType::String => "string",
            AttrType::Object => "object",
            AttrType::Array => "array",
        }
    }
}

/// One attribute of a toxic kind: its name and what a valid value looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr {
    /// The wire name (`latency`).
    pub name: &'static str,
    /// Its JSON type.
    pub ty: AttrType,
    /// The unit of an integer (`ms`, `µs`, `bytes`, `KB/s`); `None` for a plain count or text.
    pub unit: Option<&'static str>,
    /// The value a missing attribute takes (`None`: absent means "not set", or it is required).
    pub default: Option<u64>,
    /// Whether the parser refuses the toxic without it.
    pub required: bool,
    /// Smallest accepted integer.
    pub min: Option<u64>,
    /// Largest accepted integer.
    pub max: Option<u64>,
    /// One sentence for a form's label or `--help`.
    pub doc: &'static str,
}

/// [`MAX_DELAY`] in milliseconds.
const MAX_MS: u64 = MAX_DELAY.as_millis() as u64;
/// [`MAX_DELAY`] in microseconds.
const MAX_US: u64 = MAX_DELAY.as_micros() as u64;

impl Attr {
    const fn integer(
        name: &'static str,
        unit: Option<&'static str>,
        max: u64,
        doc: &'static str,
    ) -> Self {
        Attr {
            name,
            ty: AttrType::Integer,
            unit,
            default: Some(0),
            required: false,
            min: Some(0),
            max: Some(max),
            doc,
        }
    }

    const fn other(name: &'static str, ty: AttrType, doc: &'static str) -> Self {
        Attr {
            name,
            ty,
            unit: None,
            default: None,
            required: false,
            min: None,
            max: None,
            doc,
        }
    }

    /// A duration in milliseconds, default 0, at most 24 h.
    pub const fn millis(name: &'static str, doc: &'static str) -> Self {
        Self::integer(name, Some("ms"), MAX_MS, doc)
    }

    /// A duration in microseconds, default 0, at most 24 h.
    pub const fn micros(name: &'static str, doc: &'static str) -> Self {
        Self::integer(name, Some("µs"), MAX_US, doc)
    }

    /// A size in bytes, default 0, at most [`MAX_BYTES`].
    pub const fn bytes(name: &'static str, doc: &'static str) -> Self {
        Self::integer(name, Some("bytes"), MAX_BYTES, doc)
    }

    /// A count without unit, default 0, at most [`MAX_BYTES`].
    pub const fn count(name: &'static str, doc: &'static str) -> Self {
        Self::integer(name, None, MAX_BYTES, doc)
    }

    /// A string, absent by default.
    pub const fn text(name: &'static str, doc: &'static str) -> Self {
        Self::other(name, AttrType::String, doc)
    }

    /// An object of string values, absent by default.
    pub const fn object(name: &'static str, doc: &'static str) -> Self {
        Self::other(name, AttrType::Object, doc)
    }

    /// An array of strings, absent by default.
    pub const fn array(name: &'static str, doc: &'static str) -> Self {
        Self::other(name, AttrType::Array, doc)
    }

    /// The same attribute in `min..=max`.
    pub const fn range(self, min: u64, max: u64) -> Self {
        Attr {
            min: Some(min),
            max: Some(max),
            ..self
        }
    }

    /// The same attribute with this unit.
    pub const fn unit(self, unit: &'static str) -> Self {
        Attr {
            unit: Some(unit),
            ..self
        }
    }

    /// The same attribute, required (so without a default).
    pub const fn required(self) -> Self {
        Attr {
            required: true,
            default: None,
            ..self
        }
    }

    /// The same attribute, absent unless given (an optional integer).
    pub const fn optional(self) -> Self {
        Attr {
            default: None,
            ..self
        }
    }

    /// The wire description: `{"name","kind","unit","default","required","doc","min","max"}`.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "kind": self.ty.as_str(),
            "unit": self.unit,
            "default": self.default,
            "required": self.required,
            "doc": self.doc,
            "min": self.min,
            "max": self.max,
        })
    }
}

/// One toxic kind's metadata, as `toxic_kinds!` lists it.
#[derive(Debug, Clone, Copy)]
pub struct KindInfo {
    /// The wire `type`.
    pub name: &'static str,
    /// The doc comment of its `toxic_kinds!` line.
    pub doc: &'static str,
    /// Whether it acts per request on an HTTP-mode proxy only.
    pub http: bool,
    /// Its attributes, in the order forms show them.
    pub attributes: &'static [Attr],
}

impl KindInfo {
    /// The wire description: `{"type","doc","http","attributes":[…]}`.
    pub fn to_json(&self) -> Value {
        let doc: Vec<&str> = self.doc.lines().map(str::trim).collect();
        json!({
            "type": self.name,
            "doc": doc.join(" ").trim(),
            "http": self.http,
            "attributes": self.attributes.iter().map(Attr::to_json).collect::<Vec<_>>(),
        })
    }

    /// The attribute called `name`.
    pub fn attribute(&self, name: &str) -> Option<&'static Attr> {
        self.attributes.iter().find(|a| a.name == name)
    }
}

/// `GET /toxic-types`: every kind's [`KindInfo::to_json`], in [`super::ToxicKind::TYPES`] order.
pub fn toxic_types() -> Value {
    Value::Array(
        super::ToxicKind::CATALOG
            .iter()
            .map(KindInfo::to_json)
            .collect(),
    )
}

/// The metadata of the kind called `type_name`.
pub fn kind_info(type_name: &str) -> Option<&'static KindInfo> {
    super::ToxicKind::CATALOG
        .iter()
        .find(|k| k.name == type_name)
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, json};

    use super::*;
    use crate::fault::ToxicKind;

    /// A valid sample of an attribute, for the parser check.
    fn sample(attr: &Attr) -> Value {
        match (attr.ty, attr.name) {
            (AttrType::Integer, _) => json!(attr.default.unwrap_or(attr.min.unwrap_or(0))),
            (AttrType::String, "method") => json!("GET"),
            (AttrType::String, "path") => json!("/orders"),
            (AttrType::String, "path_regex") => json!("^/orders/[0-9]+$"),
            (AttrType::String, "header") => json!("x-test: 1"),
            (AttrType::String, _) => json!("text"),
            (AttrType::Object, _) => json!({"x-test": "1"}),
            (AttrType::Array, _) => json!(["x-test"]),
        }
    }

    fn required_of(info: &KindInfo) -> Map<String, Value> {
        info.attributes
            .iter()
            .filter(|a| a.required)
            .map(|a| (a.name.to_string(), sample(a)))
            .collect()
    }

    /// Every kind in `TYPES` is described, once, in the same order, with its `http` flag true.
    #[test]
    fn every_type_is_described() {
        let listed: Vec<&str> = ToxicKind::CATALOG.iter().map(|k| k.name).collect();
        assert_eq!(listed, ToxicKind::TYPES);
        for info in ToxicKind::CATALOG {
            assert!(!info.doc.trim().is_empty(), "{} has no doc", info.name);
            let kind = ToxicKind::from_wire(info.name, &required_of(info))
                .unwrap_or_else(|e| panic!("{}: its required attributes alone: {e}", info.name));
            assert_eq!(kind.is_http(), info.http, "{}: http flag", info.name);
            for a in info.attributes {
                assert!(!a.doc.is_empty(), "{}.{} has no doc", info.name, a.name);
            }
        }
    }

    /// Every attribute listed is accepted by its kind's parser, alone beside the required ones,
    /// at its minimum and its maximum; below the minimum a required integer is refused.
    #[test]
    fn every_listed_attribute_is_accepted_by_the_parser() {
        for info in ToxicKind::CATALOG {
            for a in info.attributes {
                let mut values = vec![sample(a)];
                values.extend(a.min.map(Value::from));
                if a.name != "size_variation" {
                    values.extend(a.max.map(Value::from));
                }
                for v in values {
                    let mut m = required_of(info);
                    m.insert(a.name.to_string(), v.clone());
                    if let Err(e) = ToxicKind::from_wire(info.name, &m) {
                        panic!("{}.{} = {v} refused: {e}", info.name, a.name);
                    }
                }
                if let (AttrType::Integer, Some(max)) = (a.ty, a.max) {
                    let mut m = required_of(info);
                    m.insert(a.name.to_string(), json!(max + 1));
                    assert!(
                        ToxicKind::from_wire(info.name, &m).is_err(),
                        "{}.{} = {} (over its max) accepted",
                        info.name,
                        a.name,
                        max + 1
                    );
                }
                if let (Some(min @ 1..), true) = (a.min, a.required) {
                    let mut m = required_of(info);
                    m.insert(a.name.to_string(), json!(min - 1));
                    assert!(
                        ToxicKind::from_wire(info.name, &m).is_err(),
                        "{}.{}",
                        info.name,
                        a.name
                    );
                }
            }
        }
    }

    #[test]
    fn the_wire_view_has_the_contract_fields() {
        let types = toxic_types();
        let latency = &types[0];
        assert_eq!(latency["type"], "latency");
        assert_eq!(latency["http"], false);
        assert_eq!(latency["attributes"][0]["name"], "latency");
        assert_eq!(latency["attributes"][0]["kind"], "integer");
        assert_eq!(latency["attributes"][0]["unit"], "ms");
        assert_eq!(latency["attributes"][0]["default"], 0);
        assert_eq!(latency["attributes"][0]["max"], 86_400_000);
        let abort = kind_info("http_abort")
            .map(KindInfo::to_json)
            .unwrap_or_default();
        assert_eq!(abort["http"], true);
        let status = abort["attributes"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["name"] == "status"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(status["required"], true);
        assert_eq!(status["default"], Value::Null);
        assert_eq!(
            (status["min"].clone(), status["max"].clone()),
            (json!(200), json!(599))
        );
    }
}
