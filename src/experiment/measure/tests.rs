use super::*;

const MS: fn(u64) -> Duration = Duration::from_millis;

/// Samples every 250 ms from 0; `fail(t_ms)` says which fail.
fn series(until_ms: u64, fail: impl Fn(u64) -> bool) -> Vec<Sample> {
    (0..=until_ms / 250)
        .map(|i| Sample {
            at: MS(i * 250),
            pass: !fail(i * 250),
        })
        .collect()
}

fn window(inject: u64, clear: u64) -> Window {
    Window {
        injected: MS(inject),
        removed: MS(clear),
    }
}

/// One fault alone, grace one 250 ms interval.
fn measure(samples: &[Sample], window: Window, k: u32) -> Measurement {
    let span = Span {
        window,
        lasting: false,
    };
    measure_steps(samples, &[Some(span)], MS(250), k)[0].unwrap()
}

fn fault(inject: u64, clear: u64) -> Option<Span> {
    Some(Span {
        window: window(inject, clear),
        lasting: false,
    })
}

/// An action that started at `at` and took 10 ms.
fn action(at: u64) -> Option<Span> {
    Some(Span {
        window: window(at, at + 10),
        lasting: true,
    })
}

#[test]
fn outage_during_the_fault_recovers_after_removal() {
    // Fault 5 s..10 s; failing 5.25 s..10.5 s; passing from 10.75 s.
    let s = series(20_000, |t| (5_250..=10_500).contains(&t));
    let m = measure(&s, window(5_000, 10_000), 3);
    assert_eq!(m.time_to_detect, Some(MS(250)));
    assert_eq!(m.recovered_at, Some(MS(10_750)));
    assert_eq!(m.recovery_from_injection, Some(MS(5_750)));
    assert_eq!(m.recovery_from_removal, Some(MS(750)));
    assert!(m.recovered_within(MS(750)) && !m.recovered_within(MS(500)));
}

#[test]
fn flapping_while_in_place_is_not_recovery() {
    // Fails on every third sample during 5..10 s: its runs of 2 passes reach k = 2 while the
    // fault is in place, yet recovery counts only after the last in-place failure at 9.75 s.
    let s = series(20_000, |t| {
        (5_000..10_000).contains(&t) && (t / 250) % 3 == 0
    });
    let m = measure(&s, window(5_000, 10_000), 2);
    assert_eq!(m.detected_at, Some(MS(5_250)));
    assert_eq!(m.recovered_at, Some(MS(10_000)));
    assert_eq!(m.recovery_from_removal, Some(Duration::ZERO));
}

#[test]
fn failover_recovers_while_the_fault_is_in_place() {
    let s = series(20_000, |t| (5_000..=6_000).contains(&t));
    let m = measure(&s, window(5_000, 10_000), 3);
    assert_eq!(m.recovered_at, Some(MS(6_250)));
    assert_eq!(m.recovery_from_removal, Some(Duration::ZERO));
    assert_eq!(m.recovery_from_injection, Some(MS(1_250)));
}

#[test]
fn detection_within_one_interval_of_removal_counts_later_does_not() {
    // A breaker that opens 250 ms after the fault is gone (within the grace), then a 5 s cooldown.
    let s = series(20_000, |t| (10_250..15_250).contains(&t));
    let m = measure(&s, window(5_000, 10_000), 3);
    assert_eq!(m.time_to_detect, Some(MS(5_250)));
    assert_eq!(m.recovered_at, Some(MS(15_250)));
    assert_eq!(m.recovery_from_removal, Some(MS(5_250)));
    // 500 ms after removal is beyond the grace: no step was in effect, nothing is charged.
    let s = series(20_000, |t| (10_500..15_500).contains(&t));
    assert_eq!(
        measure(&s, window(5_000, 10_000), 3),
        Measurement::default()
    );
}

#[test]
fn a_harmless_fault_is_not_charged_with_a_later_kill() {
    // The scenario: noop 1–2 s (harmless), kill at 3 s, start at 4 s; the service
    // is down from the kill until 4.25 s.
    let s = series(8_000, |t| (3_250..4_250).contains(&t));
    let spans = [fault(1_000, 2_000), action(3_000), action(4_000)];
    let m = measure_steps(&s, &spans, MS(250), 3);
    let noop = m[0].unwrap();
    assert_eq!(noop, Measurement::default());
    assert!(noop.recovered_within(Duration::ZERO));
    let kill = m[1].unwrap();
    assert_eq!(kill.time_to_detect, Some(MS(250)));
    assert_eq!(kill.recovered_at, Some(MS(4_250)));
    // The start began after the breach did: it detects nothing.
    assert_eq!(m[2], Some(Measurement::default()));
}

#[test]
fn adjacent_faults_each_own_their_breach() {
    // A 1–3 s breaks 1.25–3.25 s; B 3.5–5.5 s breaks 3.75–5.75 s: A recovered at 3.25 s
    // (its run of passes is cut short by B's breach), B at 5.75 s.
    let s = series(10_000, |t| {
        (1_250..3_250).contains(&t) || (3_750..5_750).contains(&t)
    });
    let m = measure_steps(&s, &[fault(1_000, 3_000), fault(3_500, 5_500)], MS(250), 3);
    let (a, b) = (m[0].unwrap(), m[1].unwrap());
    assert_eq!(
        (a.time_to_detect, a.recovered_at),
        (Some(MS(250)), Some(MS(3_250)))
    );
    assert_eq!(
        (b.time_to_detect, b.recovered_at),
        (Some(MS(250)), Some(MS(5_750)))
    );
    assert_eq!(b.recovery_from_removal, Some(MS(250)));
}

#[test]
fn overlapping_faults_a_breach_belongs_to_the_latest_in_effect() {
    // A harmless 1–6 s; B 2–4 s breaks 2.25–4.25 s. A is in effect throughout, but B is the
    // latest injected when the breach begins: B owns it, A is undetected.
    let s = series(10_000, |t| (2_250..4_250).contains(&t));
    let spans = [fault(1_000, 6_000), fault(2_000, 4_000)];
    let m = measure_steps(&s, &spans, MS(250), 3);
    assert_eq!(m[0], Some(Measurement::default()));
    let b = m[1].unwrap();
    assert_eq!(b.detected_at, Some(MS(2_250)));
    assert_eq!(b.recovered_at, Some(MS(4_250)));
    // A breach that begins after B is gone (and its grace) while A is still in place is A's.
    let s = series(10_000, |t| (4_750..5_250).contains(&t));
    let m = measure_steps(&s, &spans, MS(250), 3);
    assert_eq!(m[0].unwrap().detected_at, Some(MS(4_750)));
    assert_eq!(m[1], Some(Measurement::default()));
}

#[test]
fn a_sample_in_flight_as_a_step_lands_is_that_steps() {
    // Seen in a real run: the sample stamped 2.999 s was in flight when the kill landed at
    // 3.001 s, and failed. The kill owns the breach from that sample (TTD 0).
    let mut s = series(8_000, |t| (3_000..4_250).contains(&t));
    s[12].at = MS(2_999);
    let spans = [fault(1_000, 2_000), action(3_001), action(4_001)];
    let m = measure_steps(&s, &spans, MS(250), 3);
    assert_eq!(m[0], Some(Measurement::default()));
    let kill = m[1].unwrap();
    assert_eq!(kill.detected_at, Some(MS(2_999)));
    assert_eq!(kill.time_to_detect, Some(Duration::ZERO));
    assert_eq!(kill.recovered_at, Some(MS(4_250)));
    // Seen in another: a harmless fault in place since 3 s, a break landing at 3.5004 s
    // while the sample stamped 3.5 s was in flight. The break owns it, not the fault.
    let s = series(8_000, |t| (3_500..4_000).contains(&t));
    let spans = [fault(3_000, 5_000), action(3_500), action(4_000)];
    let m = measure_steps(&s, &spans, MS(250), 3);
    assert_eq!(m[0], Some(Measurement::default()));
    assert_eq!(m[1].unwrap().detected_at, Some(MS(3_500)));
}

#[test]
fn a_breach_that_spans_the_next_injection_stays_with_its_first_step() {
    // A 1–2 s breaks 1.25–3.75 s without a pass in between; B at 3 s gets nothing from it.
    let s = series(10_000, |t| (1_250..3_750).contains(&t));
    let m = measure_steps(&s, &[fault(1_000, 2_000), fault(3_000, 4_000)], MS(250), 3);
    assert_eq!(m[0].unwrap().recovered_at, Some(MS(3_750)));
    assert_eq!(m[1], Some(Measurement::default()));
    // A step that never ran has no measurement.
    let m = measure_steps(&s, &[fault(1_000, 2_000), None], MS(250), 3);
    assert_eq!(m[1], None);
}

#[test]
fn undetected_and_unrecovered() {
    let s = series(20_000, |_| false);
    let m = measure(&s, window(5_000, 10_000), 3);
    assert!(!m.detected() && m.recovered() && m.recovered_within(Duration::ZERO));
    assert_eq!(m.time_to_detect, None);

    // Two passes at the end are not enough for k = 3.
    let s = series(20_000, |t| (5_000..19_750).contains(&t));
    let m = measure(&s, window(5_000, 10_000), 3);
    assert!(m.detected() && !m.recovered() && !m.recovered_within(MS(60_000)));
    // Samples before the injection are ignored.
    let s = series(20_000, |t| t < 5_000);
    assert_eq!(measure(&s, window(5_000, 6_000), 3), Measurement::default());
}

#[test]
fn a_relapse_after_removal_restarts_the_count() {
    let s = series(20_000, |t| (5_000..10_000).contains(&t) || t == 10_500);
    let m = measure(&s, window(5_000, 10_000), 3);
    assert_eq!(m.recovered_at, Some(MS(10_750)));
}

#[test]
fn one_pass_suffices_when_k_is_1() {
    let s = series(20_000, |t| (5_000..7_000).contains(&t));
    let m = measure(&s, window(5_000, 10_000), 1);
    assert_eq!(m.recovered_at, Some(MS(7_000)));
    // k = 0 is treated as 1.
    assert_eq!(measure(&s, window(5_000, 10_000), 0), m);
}

#[test]
fn nearest_rank_summary() {
    assert_eq!(summarize(&[]), None);
    let v: Vec<Duration> = (1..=10).rev().map(Duration::from_secs).collect();
    let s = summarize(&v).unwrap();
    assert_eq!(
        (s.p50, s.p90, s.max, s.n),
        (
            Duration::from_secs(5),
            Duration::from_secs(9),
            Duration::from_secs(10),
            10
        )
    );
    let one = summarize(&[MS(700)]).unwrap();
    assert_eq!(
        (one.p50, one.p90, one.max, one.n),
        (MS(700), MS(700), MS(700), 1)
    );
}
