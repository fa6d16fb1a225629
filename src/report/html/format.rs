//! Figures for people in the HTML report: seconds to the hundredth, milliseconds to the tenth,
//! percentages; `—` for a figure that was not measured.

use std::time::Duration;

use crate::experiment::record::{StepRecord, for_people};

/// `2.00 s`, or `—`.
pub(in crate::report) fn secs(d: Option<Duration>) -> String {
    d.map_or("—".to_string(), for_people)
}

/// `3.4 ms`, or `—`.
pub(super) fn ms(d: Option<Duration>) -> String {
    d.map_or("—".to_string(), |d| {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    })
}

/// `8.41 %` of a ratio.
pub(super) fn pct(ratio: f64) -> String {
    format!("{:.2} %", ratio * 100.0)
}

/// A step's time to detect: `0.50 s`, `undetected`, or `—` when not measured.
pub(in crate::report) fn ttd(s: &StepRecord) -> String {
    match s.measurement {
        Some(m) if m.detected() => secs(m.time_to_detect),
        Some(_) => "undetected".to_string(),
        None => "—".to_string(),
    }
}

/// Whether a step recovered in time (`yes`, `no`, `recovered`, `not recovered`, or empty when
/// nothing was measured), and whether that is bad.
pub(in crate::report) fn in_time(s: &StepRecord) -> (&'static str, bool) {
    match (s.recovered_in_time, s.measurement) {
        (Some(true), _) => ("yes", false),
        (Some(false), _) => ("no", true),
        (None, Some(m)) if m.recovered() => ("recovered", false),
        (None, Some(_)) => ("not recovered", true),
        _ => ("", false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_rounded_for_people() {
        assert_eq!(secs(Some(Duration::from_millis(3998))), "4.00 s");
        assert_eq!(secs(None), "—");
        assert_eq!(ms(Some(Duration::from_micros(3381))), "3.4 ms");
        assert_eq!(pct(0.0841), "8.41 %");
    }
}
