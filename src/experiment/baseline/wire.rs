//! A relative change on the wire: JSON has no infinity, so `0 → x` is written `"+inf"`.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A relative change (`0.05` is +5 %), possibly infinite (from a zero baseline). On the wire a
/// number, or `"+inf"` / `"-inf"`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Relative(pub f64);

impl Relative {
    /// `+12.3 %`, `-0.4 %`, `+∞ %` (from zero).
    pub fn for_people(self) -> String {
        if self.0.is_infinite() {
            format!("{}∞ %", if self.0 > 0.0 { "+" } else { "-" })
        } else {
            format!("{:+.1} %", self.0 * 100.0)
        }
    }
}

impl Serialize for Relative {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            f64::INFINITY => s.serialize_str("+inf"),
            f64::NEG_INFINITY => s.serialize_str("-inf"),
            // A NaN never arises (see `noise::relative`); written as no change if it did.
            v if v.is_nan() => s.serialize_f64(0.0),
            v => s.serialize_f64(v),
        }
    }
}

impl<'de> Deserialize<'de> for Relative {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Number(f64),
            Text(String),
        }
        match Wire::deserialize(d)? {
            Wire::Number(v) => Ok(Relative(v)),
            Wire::Text(t) if t == "+inf" => Ok(Relative(f64::INFINITY)),
            Wire::Text(t) if t == "-inf" => Ok(Relative(f64::NEG_INFINITY)),
            Wire::Text(t) => Err(serde::de::Error::custom(format!(
                "`{t}` is not a relative change (a number, `+inf` or `-inf`)"
            ))),
        }
    }
}

impl JsonSchema for Relative {
    fn schema_name() -> Cow<'static, str> {
        "RelativeChange".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A relative change (0.05 is +5 %); `+inf`/`-inf` from a zero baseline.",
            "anyOf": [{"type": "number"}, {"enum": ["+inf", "-inf"]}],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infinities_travel_as_words() {
        let v = [
            Relative(0.25),
            Relative(f64::INFINITY),
            Relative(-f64::INFINITY),
        ];
        let text = serde_json::to_string(&v).unwrap();
        assert_eq!(text, r#"[0.25,"+inf","-inf"]"#);
        assert_eq!(serde_json::from_str::<Vec<Relative>>(&text).unwrap(), v);
        assert_eq!(Relative(f64::INFINITY).for_people(), "+∞ %");
        assert_eq!(Relative(-0.004).for_people(), "-0.4 %");
    }
}
