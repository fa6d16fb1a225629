//! JSON with each object key at most once.
//!
//! RFC 8259 §4 leaves duplicate names undefined ("the names within an object SHOULD be
//! unique"), and parsers disagree: serde_json keeps the last, others the first. A request whose
//! meaning depends on which one a reader keeps is refused instead, so a proxy or a log in front
//! of shakedown sees the same request that shakedown acts on.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// Check that no object in `json` repeats a key.
///
/// # Errors
/// `duplicate key "NAME" at line L column C`, or serde_json's own message when `json` is not
/// JSON at all.
pub fn check(json: &[u8]) -> Result<(), serde_json::Error> {
    serde_json::from_slice::<Unique>(json).map(|_| ())
}

/// Any JSON value, refused if an object in it repeats a key.
struct Unique;

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Unique;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_str<E>(self, _: &str) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_unit<E>(self) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
        while seq.next_element::<Unique>()?.is_some() {}
        Ok(Unique)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format_args!("duplicate key {key:?}")));
            }
            map.next_value::<Unique>()?;
        }
        Ok(Unique)
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn a_repeated_key_at_any_depth_is_refused_and_named() {
        assert!(check(br#"{"a":1,"b":[{"a":2},{"a":3}],"c":{"d":null}}"#).is_ok());
        for (json, key) in [
            (r#"{"text":"first","text":"second"}"#, "\"text\""),
            (r#"{"attributes":{"latency":1,"latency":2}}"#, "\"latency\""),
            (r#"[{"x":1},{"y":1,"y":2}]"#, "\"y\""),
        ] {
            let e = check(json.as_bytes()).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("duplicate key {key} at line 1 column")),
                "{e}"
            );
        }
        assert!(check(b"{\"a\":").is_err());
    }
}
