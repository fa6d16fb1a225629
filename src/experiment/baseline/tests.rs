use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::config::ConfigError;
use crate::experiment::record::{ExperimentRecord, Status};
use crate::experiment::record::{Measurement, RunRecord, StepRecord};
use crate::experiment::spec::Experiment;
use crate::experiment::validate::{LoadOptions, parse_str};
use crate::load::LoadReport;

fn experiment(title: &str) -> Experiment {
    let text = format!(
        "title: {title}\nmethod:\n  - {{at: 1s, name: kill kv, action: {{command: [\"true\"]}}, measure: true}}\nduration: 2s\n"
    );
    parse_str(Path::new("e.yaml"), &text, &LoadOptions::default()).unwrap()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A completed run whose load saw `p99_ms` and `errors` of 100 requests, and whose one
/// measured step was detected after `ttd_ms` and recovered `ttr_ms` after injection.
fn run(status: Status, p99_ms: u64, errors: u64, ttd_ms: u64, ttr_ms: u64) -> RunRecord {
    let mut load = LoadReport::default();
    load.summary.requests = 100;
    load.summary.errors = errors;
    load.summary.error_rate = errors as f64 / 100.0;
    load.summary.rps = 50.0;
    load.summary.latency.p99 = Some(ms(p99_ms));
    load.seed = 42;
    RunRecord {
        status: Some(status),
        load: Some(load),
        steps: vec![StepRecord {
            name: "kill kv".into(),
            kind: "action".into(),
            planned_at: ms(1000),
            injected_at: Some(ms(1000)),
            removed_at: Some(ms(1000)),
            measured: true,
            measurement: Some(Measurement {
                detected_at: Some(ms(1000 + ttd_ms)),
                time_to_detect: Some(ms(ttd_ms)),
                recovered_at: Some(ms(1000 + ttr_ms)),
                recovery_from_injection: Some(ms(ttr_ms)),
                recovery_from_removal: Some(ms(ttr_ms)),
            }),
            recovered_in_time: None,
            load_failures: None,
            detail: None,
            ok: true,
        }],
        ..RunRecord::default()
    }
}

fn record(runs: Vec<RunRecord>) -> ExperimentRecord {
    let mut r =
        ExperimentRecord::not_run(Path::new("e.yaml"), "t", &[], Status::Passed, String::new());
    r.reason = None;
    r.runs = runs;
    r
}

#[test]
fn figures_are_the_medians_of_the_completed_runs() {
    let r = record(vec![
        run(Status::Passed, 30, 0, 250, 2000),
        run(Status::Passed, 10, 2, 500, 3000),
        run(Status::Failed, 20, 1, 250, 2500),
        // An aborted run's figures are partial: left out.
        run(Status::Aborted, 900, 90, 9000, 9000),
    ]);
    let b = Baseline::of(&experiment("t"), &r);
    assert_eq!(b.runs, 3);
    assert_eq!(b.provenance.seed, Some(42));
    let p99 = &b.figures["p99"];
    assert_eq!(p99.samples, [0.03, 0.01, 0.02]);
    assert_eq!(
        (p99.value, p99.unit, p99.direction),
        (0.02, Unit::Seconds, Direction::Lower)
    );
    assert_eq!(b.figures["error_rate"].value, 0.01);
    assert_eq!(b.figures["rps"].direction, Direction::Higher);
    assert_eq!(b.figures["ttd.kill kv"].samples, [0.25, 0.5, 0.25]);
    assert_eq!(b.figures["ttr.kill kv"].value, 2.5);
    assert_eq!(b.figures["mttr"].value, 2.5);
    // No percentile the histogram did not give; no resource figure without a sampler.
    assert!(!b.figures.contains_key("p50") && !b.figures.contains_key("rss_peak"));
}

#[test]
fn a_saved_baseline_reads_back_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep/er/main.json");
    let b = Baseline::of(
        &experiment("t"),
        &record(vec![run(Status::Passed, 10, 0, 250, 2000)]),
    );
    b.save(&path).unwrap();
    assert_eq!(Baseline::read(&path).unwrap(), b);
    assert!(!path.with_extension("json.partial").exists());
}

/// Each bad file is refused naming the file and the field (exit 2 as a `ConfigError`).
#[test]
fn bad_baseline_files_are_refused_naming_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let good = serde_json::to_value(Baseline::of(
        &experiment("t"),
        &record(vec![run(Status::Passed, 10, 0, 250, 2000)]),
    ))
    .unwrap();
    let text = serde_json::to_string_pretty(&good).unwrap();
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        serde_json::to_string_pretty(&v).unwrap()
    };
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "truncated",
            text[..text.len() / 2].to_string(),
            ": not JSON (EOF while parsing",
        ),
        ("empty", String::new(), ": not JSON (EOF"),
        (
            "future",
            edit(&|v| v["version"] = 2.into()),
            ": version: 2 is newer than this release reads (1)",
        ),
        (
            "unversioned",
            edit(&|v| {
                v.as_object_mut().unwrap().remove("version");
            }),
            ": version: missing",
        ),
        (
            "zero",
            edit(&|v| v["version"] = 0.into()),
            ": version: must be 1",
        ),
        (
            "no figures",
            edit(&|v| {
                v.as_object_mut().unwrap().remove("figures");
            }),
            "missing field `figures`",
        ),
        (
            "string value",
            edit(&|v| v["figures"]["p99"]["value"] = "NaN".into()),
            ": figures.p99.value: invalid type: string \"NaN\"",
        ),
        (
            "negative",
            edit(&|v| v["figures"]["p99"]["samples"][0] = (-1.0).into()),
            ": figures.p99.samples[0]: -1 is negative",
        ),
        (
            "unit",
            edit(&|v| v["figures"]["p99"]["unit"] = "bytes".into()),
            ": figures.p99.unit: p99 is in `s` with lower better, not `bytes` with lower better",
        ),
        (
            "direction",
            edit(&|v| v["figures"]["rps"]["direction"] = "lower".into()),
            ": figures.rps.unit: rps is in `1/s` with higher better, not `1/s` with lower better",
        ),
        (
            "unknown unit",
            edit(&|v| v["figures"]["p99"]["unit"] = "ms".into()),
            ": figures.p99.unit: unknown variant `ms`",
        ),
        (
            "unknown figure",
            edit(&|v| v["figures"]["bogus"] = v["figures"]["p99"].clone()),
            ": figures.bogus: is not a figure shakedown measures",
        ),
        (
            "no runs",
            edit(&|v| v["runs"] = 0.into()),
            ": runs: must be at least 1",
        ),
        (
            "no samples",
            edit(&|v| v["figures"]["p99"]["samples"] = serde_json::json!([])),
            ": figures.p99.samples: holds 0 values; 1 to runs (1) expected",
        ),
        (
            "not the median",
            edit(&|v| v["figures"]["p99"]["value"] = 0.5.into()),
            ": figures.p99.value: 0.5 is not the median of its samples (0.01)",
        ),
        (
            "rate above 1",
            edit(&|v| {
                v["figures"]["error_rate"]["value"] = 5.0.into();
                v["figures"]["error_rate"]["samples"] = serde_json::json!([5.0]);
            }),
            ": figures.error_rate.value: 5 is a fraction above 1",
        ),
        (
            "extra field",
            edit(&|v| v["figures"]["p99"]["mean"] = 1.into()),
            ": figures.p99.mean: unknown field `mean`, expected one of",
        ),
    ];
    for (what, text, said) in cases {
        let path = dir.path().join(format!("{what}.json"));
        std::fs::write(&path, text).unwrap();
        let e = Baseline::read(&path).unwrap_err().to_string();
        assert!(e.starts_with(&path.display().to_string()), "{what}: {e}");
        assert!(e.contains(said), "{what}: {e}");
    }
    // 1e999 is out of f64's range: refused with its position, never read as infinity.
    let path = dir.path().join("inf.json");
    std::fs::write(
        &path,
        text.replacen("\"value\": 0.01", "\"value\": 1e999", 1),
    )
    .unwrap();
    let e = Baseline::read(&path).unwrap_err().to_string();
    assert!(
        e.contains("figures.p99.value: not JSON (number out of range)"),
        "{e}"
    );
    let missing = dir.path().join("nothing.json");
    let e = Baseline::read(&missing).unwrap_err().to_string();
    assert!(
        e.ends_with(
            "no such baseline file (save one with `shakedown run FILE --save-baseline NAME`)"
        ),
        "{e}"
    );
}

#[test]
fn names_and_paths() {
    assert_eq!(
        location("main").unwrap(),
        Path::new(".shakedown/baselines/main.json")
    );
    assert_eq!(location("b/x").unwrap(), Path::new("b/x"));
    assert_eq!(location("x.json").unwrap(), Path::new("x.json"));
    let e = location("..hidden").unwrap_err();
    assert!(
        e.contains("a baseline name must not start with a dot"),
        "{e}"
    );
    assert!(location("a b").is_err());
}

/// A baseline of another experiment is refused before anything runs; an expectation without a
/// baseline says what to pass; an unwritable save location is refused up front.
#[test]
fn the_plan_is_checked_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.json");
    Baseline::of(
        &experiment("other"),
        &record(vec![run(Status::Passed, 10, 0, 250, 2000)]),
    )
    .save(&path)
    .unwrap();
    let p = path.to_str().unwrap();
    let e = Plan::new(&experiment("t"), Some(p), None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(
            ": experiment.title: this baseline is of experiment `other` (e.yaml), not of `t`"
        ),
        "{e}"
    );
    assert!(Plan::new(&experiment("other"), Some(p), None).is_ok());
    let mut with_rule = experiment("t");
    with_rule.expect.regression = Some(spec::Regression {
        max: 0.05,
        figures: vec!["p99".into()],
    });
    let e = Plan::new(&with_rule, None, None).unwrap_err();
    assert!(e.is::<ConfigError>(), "exit 2");
    assert_eq!(
        e.to_string(),
        "e.yaml: expect.regression: compares the run against a baseline, which only `shakedown \
         run --baseline NAME` takes (the first run saves one with --save-baseline NAME)"
    );
    // The first run, which saves the baseline, has nothing to compare with.
    let first = dir.path().join("first.json");
    assert!(Plan::new(&with_rule, None, first.to_str()).is_ok());
    let folder = dir.path().to_str().unwrap();
    let e = Plan::new(&experiment("t"), None, Some(folder))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!("--save-baseline {folder}: cannot write it: not a regular file")
    );
    let e = Plan::new(
        &experiment("t"),
        None,
        Some(&format!("{p}/under-a-file.json")),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("is not a folder"), "{e}");
}

use super::super::spec;
