//! Units written in experiment files: percentages (`1%`), rates (`200/s`), durations (`250ms`).

use std::time::Duration;

use serde_json::Value;

/// A fraction 0..=1 written as a number (`0.5`) or a percentage (`50%`).
pub(super) fn fraction(value: &Value) -> Result<f64, String> {
    let f = match value {
        Value::Number(n) => n.as_f64().ok_or("not a number")?,
        Value::String(s) => match s.trim().strip_suffix('%') {
            Some(p) => {
                p.trim()
                    .parse::<f64>()
                    .map_err(|_| format!("`{s}` is not a percentage such as `1%`"))?
                    / 100.0
            }
            None => s
                .trim()
                .parse::<f64>()
                .map_err(|_| format!("`{s}` is not a fraction (0.01) or a percentage (1%)"))?,
        },
        other => {
            return Err(format!(
                "expected a fraction or a percentage, found {other}"
            ));
        }
    };
    if (0.0..=1.0).contains(&f) {
        Ok(f)
    } else {
        Err(format!("{value} is outside 0..1 (0%..100%)"))
    }
}

/// A percentage written `5%` (0 % or more; above 100 % allowed), as a fraction (`0.05`).
pub(super) fn percentage(value: &Value) -> Result<f64, String> {
    let bad = || format!("{value} is not a percentage such as `5%`");
    let Value::String(s) = value else {
        return Err(bad());
    };
    let p: f64 = s
        .trim()
        .strip_suffix('%')
        .and_then(|p| p.trim().parse().ok())
        .ok_or_else(bad)?;
    if p.is_finite() && p >= 0.0 {
        Ok(p / 100.0)
    } else {
        Err(format!("`{s}` must be a percentage of 0% or more"))
    }
}

/// A rate per second written as a number (`200`) or `200/s`.
pub(super) fn per_second(value: &Value) -> Result<f64, String> {
    let f = match value {
        Value::Number(n) => n.as_f64().ok_or("not a number")?,
        Value::String(s) => {
            let t = s.trim();
            let t = t.strip_suffix("/s").unwrap_or(t);
            t.trim()
                .parse::<f64>()
                .map_err(|_| format!("`{s}` is not a rate such as `200/s`"))?
        }
        other => return Err(format!("expected a rate such as `200/s`, found {other}")),
    };
    if f.is_finite() && f >= 0.0 {
        Ok(f)
    } else {
        Err(format!("{value} must be a non-negative rate"))
    }
}

/// A size in bytes written as a whole number (`1048576`) or with a unit: `B`, `KB`/`MB`/`GB`
/// (powers of 1000), `KiB`/`MiB`/`GiB` (powers of 1024), e.g. `256MiB`, `1.5GB`.
pub(super) fn bytes(value: &Value) -> Result<u64, String> {
    let (number, unit) = match value {
        Value::Number(n) => (
            n.as_u64()
                .ok_or_else(|| format!("{n} is not a whole number of bytes"))? as f64,
            1,
        ),
        Value::String(s) => {
            let t = s.trim();
            let split = t
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(t.len());
            let (number, unit) = t.split_at(split);
            let unit = match unit.trim() {
                "" | "B" => 1,
                "KB" => 1_000,
                "MB" => 1_000_000,
                "GB" => 1_000_000_000,
                "KiB" => 1 << 10,
                "MiB" => 1 << 20,
                "GiB" => 1 << 30,
                _ => {
                    return Err(format!(
                        "`{s}` is not a size such as `256MiB` (units: B, KB, MB, GB, KiB, MiB, GiB)"
                    ));
                }
            };
            let number: f64 = number
                .parse()
                .map_err(|_| format!("`{s}` is not a size such as `256MiB`"))?;
            (number, unit)
        }
        other => return Err(format!("expected a size such as `256MiB`, found {other}")),
    };
    let total = number * unit as f64;
    if total.is_finite() && total < u64::MAX as f64 {
        Ok(total.round() as u64)
    } else {
        Err(format!("{value} is too large"))
    }
}

/// The longest duration an experiment file accepts in any field: 7 days (`168h`). Longer
/// values are refused at validation, so no time arithmetic of a run can overflow.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// A duration written as `250ms`, `2s`, `1m30s`, at most [`MAX_DURATION`].
pub(crate) fn duration(value: &Value) -> Result<Duration, String> {
    match value {
        Value::String(s) => duration_text(s),
        other => Err(format!(
            "expected a duration with a unit such as `250ms`, found {other}"
        )),
    }
}

/// [`duration`] of a string.
fn duration_text(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim())
        .map_err(|e| format!("`{s}` is not a duration such as `250ms` ({e})"))?;
    if d > MAX_DURATION {
        return Err(format!(
            "`{s}` is longer than the longest duration accepted, {}h (7 days)",
            MAX_DURATION.as_secs() / 3600
        ));
    }
    Ok(d)
}

/// `deserialize_with` for a duration field of an experiment file (see [`duration`]).
///
/// # Errors
/// Not a string, not a duration, or longer than [`MAX_DURATION`].
pub(crate) fn bounded<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = <String as serde::Deserialize>::deserialize(d)?;
    duration_text(&s).map_err(serde::de::Error::custom)
}

/// [`bounded`] for an optional field (use with `#[serde(default)]`).
///
/// # Errors
/// As [`bounded`].
pub(crate) fn bounded_opt<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    <Option<String> as serde::Deserialize>::deserialize(d)?
        .map(|s| duration_text(&s).map_err(serde::de::Error::custom))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fractions_rates_and_durations() {
        assert_eq!(fraction(&json!("1%")).unwrap(), 0.01);
        assert_eq!(fraction(&json!(0.5)).unwrap(), 0.5);
        assert!(fraction(&json!("150%")).is_err());
        assert!(fraction(&json!("lots")).is_err());
        assert_eq!(per_second(&json!("200/s")).unwrap(), 200.0);
        assert_eq!(per_second(&json!(12)).unwrap(), 12.0);
        assert!(per_second(&json!("-1/s")).is_err());
        assert_eq!(
            duration(&json!("250ms")).unwrap(),
            Duration::from_millis(250)
        );
        assert!(duration(&json!(250)).is_err());
        assert_eq!(percentage(&json!("5%")).unwrap(), 0.05);
        assert_eq!(percentage(&json!(" 250 % ")).unwrap(), 2.5);
        for bad in [
            json!(5),
            json!("5"),
            json!("-1%"),
            json!("NaN%"),
            json!("inf%"),
            json!("x%"),
        ] {
            assert!(percentage(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_with_and_without_units() {
        assert_eq!(bytes(&json!(4096)).unwrap(), 4096);
        assert_eq!(bytes(&json!("256MiB")).unwrap(), 256 << 20);
        assert_eq!(bytes(&json!("1.5 GB")).unwrap(), 1_500_000_000);
        assert_eq!(bytes(&json!("64KB")).unwrap(), 64_000);
        assert_eq!(bytes(&json!("12")).unwrap(), 12);
        assert!(bytes(&json!("12 TB")).unwrap_err().contains("units: B, KB"));
        assert!(bytes(&json!("lots")).is_err());
        assert!(bytes(&json!(-1)).is_err());
        assert!(bytes(&json!(1.5)).is_err());
    }
}
