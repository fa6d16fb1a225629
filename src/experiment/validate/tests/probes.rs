//! The steady state: its sampling interval.

use super::*;

/// A sampling interval under 10 ms is refused at its field (1 ns kept 9,386 samples in 2 s).
#[test]
fn the_sampling_interval_has_a_floor() {
    for (interval, ok) in [
        ("0s", false),
        ("1ns", false),
        ("9ms", false),
        ("10ms", true),
    ] {
        let text = GOOD.replace("interval: 250ms", &format!("interval: {interval}"));
        let got = parse(&text);
        assert_eq!(got.is_ok(), ok, "{interval}: {:?}", got.as_ref().err());
        if let Err(e) = got {
            assert!(
                e.to_string()
                    .contains("steady_state.interval: must be at least 10ms"),
                "{e}"
            );
        }
    }
}
