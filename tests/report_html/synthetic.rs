//! A synthetic record of a long run, for the report's size and load time: 10 minutes at 1,000
//! requests per second, a steady-state sample every 250 ms with three probes, a 20 s fault every
//! minute, and 5,000 lost writes. Built from the quickstart's journal with its series stretched.

use std::path::Path;
use std::time::Duration;

use shakedown::experiment::record::{Document, Measurement, ProbeStatus, SampleRecord};
use shakedown::load::{ErrorClass, TimelinePoint};

const SECONDS: u64 = 600;
const RATE: u64 = 1000;

/// Whether second `t` is inside one of the faults (20 s from each minute's 10th second).
fn faulted(t: f64) -> bool {
    (10.0..30.0).contains(&(t % 60.0))
}

/// The document of the synthetic run.
pub fn ten_minutes() -> Document {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/journal-v0.1.0.json");
    let mut document = Document::read(&path).unwrap();
    let e = &mut document.experiments[0];
    let run = &mut e.runs[0];
    run.elapsed = Duration::from_secs(SECONDS + 1);
    let load = run.load.as_mut().unwrap();
    load.elapsed = Duration::from_secs(SECONDS);
    load.timeline = (0..SECONDS)
        .map(|second| {
            let mut p = TimelinePoint {
                second,
                requests: RATE,
                ok: RATE,
                p50: Some(Duration::from_micros(3_200 + second % 7 * 100)),
                p99: Some(Duration::from_micros(9_000 + second % 13 * 700)),
                ..TimelinePoint::default()
            };
            if faulted(second as f64) {
                for _ in 0..40 {
                    p.errors_by_class.add(ErrorClass::Injected);
                }
                for _ in 0..15 {
                    p.errors_by_class.add(ErrorClass::Reset);
                }
                p.errors = p.errors_by_class.total();
                p.ok = RATE - p.errors;
                p.p99 = Some(Duration::from_millis(310));
            }
            p
        })
        .collect();
    let template = run.samples[1].clone();
    run.samples = (0..SECONDS * 4)
        .map(|i| {
            let at = i as f64 / 4.0;
            let mut s = SampleRecord {
                at: Duration::from_secs_f64(at),
                ..template.clone()
            };
            if faulted(at) {
                s.pass = false;
                s.probes[2].status = ProbeStatus::Fail;
                s.probes[2].detail = format!("p99 {:.1}ms", 300.0 + at % 10.0);
            }
            s
        })
        .collect();
    let fault = run.steps[0].clone();
    run.steps = (0..SECONDS / 60)
        .map(|minute| {
            let start = minute as f64 * 60.0 + 10.0;
            let at = |s: f64| Some(Duration::from_secs_f64(start + s));
            let mut step = fault.clone();
            step.name = format!("latency on kv #{minute}");
            step.planned_at = Duration::from_secs_f64(start);
            step.injected_at = at(0.002);
            step.removed_at = at(20.003);
            step.measurement = Some(Measurement {
                detected_at: at(0.5),
                time_to_detect: Some(Duration::from_millis(498)),
                recovered_at: at(21.0),
                recovery_from_injection: Some(Duration::from_millis(20_998)),
                recovery_from_removal: Some(Duration::from_millis(997)),
            });
            step
        })
        .collect();
    let writes = run.load.as_mut().unwrap().writes.as_mut().unwrap();
    writes.lost = 5000;
    writes.lost_keys = (0..5000).map(|k| format!("{k:08}")).collect();
    document
}
