use std::path::Path;

use super::*;
use crate::load::ErrorClass;
use crate::load::TimelinePoint;

/// Seconds 0..6 of a load started at 10.5 s on the run's clock: second k has 10 requests,
/// k injected failures and one 5xx.
fn load() -> LoadReport {
    let mut load = LoadReport {
        started: Duration::from_millis(10_500),
        ..LoadReport::default()
    };
    for k in 0..6u64 {
        let mut p = TimelinePoint {
            second: k,
            requests: 10,
            ..TimelinePoint::default()
        };
        for _ in 0..k {
            p.errors_by_class.add(ErrorClass::Injected);
        }
        p.errors_by_class.add(ErrorClass::Http5xx);
        p.errors = p.errors_by_class.total();
        load.timeline.push(p);
    }
    load
}

/// A step counts the load's seconds that overlap its window, injected failures apart from
/// the target's.
#[test]
fn a_step_counts_the_seconds_it_overlaps() {
    let load = load();
    // [12.0, 13.6] overlaps seconds 1 ([11.5, 12.5)), 2 and 3 ([13.5, 14.5)).
    let f = StepFailures::within(
        &load,
        Duration::from_secs(12),
        Duration::from_millis(13_600),
    );
    assert_eq!(
        f,
        StepFailures {
            requests: 30,
            injected: 1 + 2 + 3,
            upstream: 3
        }
    );
    // A window before the load, or ending exactly where a second starts.
    let none = StepFailures::within(&load, Duration::ZERO, Duration::from_secs(10));
    assert_eq!(none, StepFailures::default());
    let edge = StepFailures::within(&load, Duration::ZERO, Duration::from_millis(10_500));
    assert_eq!(edge.requests, 10);
}

/// Hundredths of a second, unless they would round a short duration away (under 10 ms).
#[test]
fn durations_for_people_never_round_a_limit_to_zero() {
    let ms = Duration::from_millis;
    assert_eq!(for_people(ms(1)), "1 ms");
    assert_eq!(for_people(Duration::from_micros(2500)), "2.5 ms");
    assert_eq!(for_people(ms(0)), "0.00 s");
    assert_eq!(for_people(ms(10)), "0.01 s");
    assert_eq!(for_people(ms(300)), "0.30 s");
    assert_eq!(for_people(ms(1234)), "1.23 s");
    assert_eq!(for_people(Duration::from_micros(799_107)), "0.80 s");
    assert_eq!(for_people(Duration::from_micros(9_999)), "9.999 ms");
}

/// One line of counts, the same wherever it is shown: aborted and invalid experiments are
/// not folded into `failed` (the terminal said "1 invalid" where the page said "3 failed").
#[test]
fn the_counts_name_each_outcome() {
    let of =
        |status| ExperimentRecord::not_run(Path::new("e.yaml"), "t", &[], status, String::new());
    let doc = Document::of(vec![
        of(Status::Passed),
        of(Status::Failed),
        of(Status::Failed),
        of(Status::Aborted),
        of(Status::PreflightFailed),
        of(Status::Invalid),
        of(Status::Skipped),
    ]);
    assert_eq!(doc.failed, 5, "the journal's field keeps its meaning");
    assert_eq!(
        doc.counts(),
        "1 passed, 2 failed, 2 aborted, 1 invalid, 1 skipped"
    );
    assert_eq!(
        Document::of(vec![of(Status::Passed)]).counts(),
        "1 passed, 0 failed"
    );
}

#[test]
fn the_committed_schema_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/journal.schema.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    if committed != schema() {
        if std::env::var_os("SHAKEDOWN_BLESS").is_some() {
            std::fs::write(path, schema()).unwrap();
        } else {
            panic!("docs/journal.schema.json is stale: rerun with SHAKEDOWN_BLESS=1");
        }
    }
}

#[test]
fn a_journal_of_release_0_1_0_reads_back_and_writes_out_the_same() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/journal-v0.1.0.json");
    let document = Document::read(Path::new(path)).unwrap();
    let run = &document.experiments[0].runs[0];
    assert_eq!(run.steps[0].injected_at.map(|d| d.as_secs()), Some(2));
    assert!(run.writes().is_some_and(|w| w.attempted > 0));
    // Every field survives the round trip: the record holds each figure once, and the
    // journal's views (`writes`, `load_summary`) are recomputed from it.
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut again: serde_json::Value = serde_json::from_str(&document.to_json()).unwrap();
    // Fields the load report gained after 0.1.0 (docs/load.md): written by this release,
    // absent from the old journal. Everything else must come back as it was.
    // Fields the experiment gained after 0.1.0 (docs/journal.md), empty on reading.
    let experiment = again["experiments"][0].as_object_mut().unwrap();
    for field in Provenance::FIELDS.iter().chain(&["description"]) {
        assert!(
            experiment
                .remove(*field)
                .is_some_and(|v| v.is_null() || v == "")
        );
    }
    for run in again["experiments"][0]["runs"].as_array_mut().unwrap() {
        // The resource samples (docs/resources.md) are newer than 0.1.0: none on reading.
        let fields = run.as_object_mut().unwrap();
        assert_eq!(fields.remove("resources"), Some(serde_json::Value::Null));
        let load = run["load"].as_object_mut().unwrap();
        assert!(load.remove("span_ms").is_some());
        // The TLS error reasons (docs/load.md): none in an old journal.
        assert_eq!(load.remove("error_reasons"), Some(serde_json::json!({})));
        let summary = load["summary"].as_object_mut().unwrap();
        assert!(summary.remove("unsent").is_some());
        // The `tls` error class (issue 9), 0 in every count of an old journal.
        let no_tls = |c: &mut serde_json::Value| {
            assert_eq!(c.as_object_mut().unwrap().remove("tls"), Some(0.into()));
        };
        no_tls(&mut load["errors_by_class"]);
        for p in load["timeline"].as_array_mut().unwrap() {
            no_tls(&mut p["errors_by_class"]);
        }
        // Per-step load failures (issue 9): computed when a run ends, none when read.
        for step in run["steps"].as_array_mut().unwrap() {
            let step = step.as_object_mut().unwrap();
            assert_eq!(step.remove("load_failures"), Some(serde_json::Value::Null));
        }
    }
    assert_eq!(again, original);
}

#[test]
fn another_version_or_shape_is_refused_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("j.json");
    std::fs::write(
        &p,
        r#"{"version": 2, "experiments": [], "passed": 0, "failed": 0, "skipped": 0}"#,
    )
    .unwrap();
    assert_eq!(Document::read(&p).unwrap_err(), ReadError::Version(2));
    std::fs::write(&p, "{\"version\": 1,\n \"experiments\": 3}").unwrap();
    let e = Document::read(&p).unwrap_err().to_string();
    assert_eq!(
        e,
        "not a shakedown journal: experiments: invalid type: integer `3`, expected a sequence \
         at line 2 column 17"
    );
    std::fs::write(&p, "[package]").unwrap();
    let e = Document::read(&p).unwrap_err().to_string();
    assert!(e.starts_with("not a shakedown journal: not JSON: "), "{e}");
}

/// What is not a journal file is refused for what it is, without reading it: a device
/// (`/dev/zero` would be read forever), a named pipe (opening it would wait for a writer),
/// a folder; binary bytes with their position.
#[test]
fn a_device_a_pipe_or_a_folder_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("journal.json");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let binary = dir.path().join("binary.json");
    std::fs::write(&binary, b"{\"version\": 1\x00}").unwrap();
    let cases = [
        (
            Path::new("/dev/zero"),
            "is a character device, not a regular file",
        ),
        (fifo.as_path(), "is a named pipe (FIFO), not a regular file"),
        (dir.path(), "is a folder, not a regular file"),
        (
            binary.as_path(),
            "1:14: control byte 0x00 at byte offset 13",
        ),
    ];
    for (path, said) in cases {
        let path = path.to_path_buf();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(Document::read(&path).map(|_| ())));
        let read = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("reading {said:?} never returned"));
        let error = read.unwrap_err().to_string();
        assert!(error.starts_with(said), "{error}");
    }
}
