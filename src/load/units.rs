//! Units: the [`Unit`] of a threshold's observed value, how values of a unit read for people
//! (shared with the baseline's figures), and units on the wire: durations as fractional milliseconds (`_ms` fields) in the load report's
//! JSON, and wall-clock instants as whole milliseconds since 1970 (`wall_start_ms`).
//!
//! Inside the code every time is a [`Duration`] or a [`SystemTime`]; these helpers are the one
//! place where it becomes (and comes back from) a number of milliseconds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Milliseconds, rounded to the microsecond (`1.5` for 1500 µs).
pub(crate) fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// A duration from milliseconds; an error for a negative, infinite or NaN number or one
/// beyond what a `Duration` holds.
fn from_ms(ms: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(ms / 1e3).map_err(|e| format!("{ms} ms: {e}"))
}

/// `#[serde(with = "units::serde_ms")]`: a [`Duration`] as milliseconds.
pub(crate) mod serde_ms {
    use super::*;

    /// A duration as milliseconds.
    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(ms(*d))
    }

    /// Milliseconds as a duration.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        from_ms(f64::deserialize(d)?).map_err(serde::de::Error::custom)
    }

    /// `#[serde(with = "units::serde_ms::option")]`: an optional duration as milliseconds or `null`.
    pub(crate) mod option {
        use super::super::*;

        /// `null` or milliseconds.
        pub(crate) fn serialize<S: Serializer>(
            d: &Option<Duration>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => s.serialize_f64(ms(*d)),
                None => s.serialize_none(),
            }
        }

        /// `null` or milliseconds as a duration.
        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<Duration>, D::Error> {
            Option::<f64>::deserialize(d)?
                .map(from_ms)
                .transpose()
                .map_err(serde::de::Error::custom)
        }
    }
}

/// `#[serde(with = "units::unix_ms")]`: a [`SystemTime`] as whole milliseconds since 1970.
pub(crate) mod unix_ms {
    use super::*;

    /// An instant as milliseconds since 1970 (0 for one before it).
    pub(crate) fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        let ms = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
        s.serialize_u64(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    /// Milliseconds since 1970 as an instant; an error beyond what a `SystemTime` holds.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        since_1970(u64::deserialize(d)?).map_err(serde::de::Error::custom)
    }

    fn since_1970(ms: u64) -> Result<SystemTime, String> {
        UNIX_EPOCH
            .checked_add(Duration::from_millis(ms))
            .ok_or_else(|| format!("{ms} ms since 1970 is out of range"))
    }

    /// `#[serde(with = "units::unix_ms::option")]`: an optional instant, `null` when absent.
    pub(crate) mod option {
        use super::super::*;

        /// `null` or milliseconds since 1970.
        pub(crate) fn serialize<S: Serializer>(
            t: &Option<SystemTime>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        /// `null` or milliseconds since 1970 as an instant.
        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<SystemTime>, D::Error> {
            Option::<u64>::deserialize(d)?
                .map(super::since_1970)
                .transpose()
                .map_err(serde::de::Error::custom)
        }
    }
}

/// The unit of a threshold's observed value; on the wire `s`, `ratio` or `1/s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    /// Seconds (latencies).
    #[serde(rename = "s")]
    Seconds,
    /// A fraction, 0..=1 (error rate).
    #[serde(rename = "ratio")]
    Ratio,
    /// Per second (request rate).
    #[serde(rename = "1/s")]
    PerSecond,
}

impl Unit {
    /// A value of this unit for people: `81.2 ms`, `0.20 %`, `9.5/s`.
    pub fn for_people(self, v: f64) -> String {
        match self {
            Unit::Seconds => millis_for_people(v),
            Unit::Ratio => percent_for_people(v),
            Unit::PerSecond => rate_for_people(v),
        }
    }

    /// The wire name: `s`, `ratio` or `1/s`.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Seconds => "s",
            Unit::Ratio => "ratio",
            Unit::PerSecond => "1/s",
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Seconds for people, in milliseconds to a tenth: `81.2 ms` for 0.0812.
pub(crate) fn millis_for_people(seconds: f64) -> String {
    format!("{:.1} ms", seconds * 1e3)
}

/// A fraction for people, in percent to a hundredth: `0.20 %` for 0.002.
pub(crate) fn percent_for_people(fraction: f64) -> String {
    format!("{:.2} %", fraction * 100.0)
}

/// A rate for people, per second to a tenth: `9.5/s`.
pub(crate) fn rate_for_people(per_second: f64) -> String {
    format!("{per_second:.1}/s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct T {
        #[serde(with = "serde_ms")]
        a: Duration,
        #[serde(with = "serde_ms::option")]
        b: Option<Duration>,
    }

    #[test]
    fn milliseconds_round_trip_to_the_microsecond() {
        let t = T {
            a: Duration::from_micros(1500),
            b: None,
        };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"a":1.5,"b":null}"#);
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), t);
        assert!(serde_json::from_str::<T>(r#"{"a":-1,"b":null}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"a":1e300,"b":null}"#).is_err());
    }
}
