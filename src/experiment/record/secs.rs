//! `Duration`s as seconds (`f64`) on the wire, the journal's unit: `#[serde(with = "secs")]`.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

/// Serialize as seconds.
pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Deserialize from seconds; a negative, infinite or NaN number is an error.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    from_secs(f64::deserialize(d)?).map_err(serde::de::Error::custom)
}

/// Seconds to a duration, rounded to the nanosecond (so that what [`serialize`] wrote reads
/// back as the same duration); negative, infinite, NaN or absurdly large values are errors.
fn from_secs(secs: f64) -> Result<Duration, String> {
    let nanos = (secs * 1e9).round();
    if !(0.0..=u64::MAX as f64).contains(&nanos) {
        return Err(format!("{secs} is not a duration in seconds"));
    }
    Ok(Duration::from_nanos(nanos as u64))
}

/// `Option<Duration>` as seconds or `null`: `#[serde(with = "secs::option")]`.
pub mod option {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialize as seconds or null.
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    /// Deserialize from seconds or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<f64>::deserialize(d)?
            .map(|s| super::from_secs(s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct T {
        #[serde(with = "super")]
        a: Duration,
        #[serde(with = "super::option")]
        b: Option<Duration>,
    }

    #[test]
    fn seconds_round_trip_and_refuse_negative_numbers() {
        let t = T {
            a: Duration::from_millis(1500),
            b: None,
        };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"a":1.5,"b":null}"#);
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), t);
        let back: T = serde_json::from_str(r#"{"a":0.25,"b":2.0}"#).unwrap();
        assert_eq!(back.b, Some(Duration::from_secs(2)));
        assert!(serde_json::from_str::<T>(r#"{"a":-1.0,"b":null}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"a":1e300,"b":null}"#).is_err());
        // What was written from a duration reads back as exactly that duration.
        let d = Duration::new(12, 278_280_258);
        let back: T =
            serde_json::from_str(&format!(r#"{{"a":{},"b":null}}"#, d.as_secs_f64())).unwrap();
        assert_eq!(back.a, d);
    }
}
