//! Every experiment example in docs/ is checked and run (issue 8, item 23): each ```yaml block
//! with a `title:` validates, and each one is run through the binary (all finish in well under
//! a minute) with the verdict the doc states after it (`Run, it **passes** (exit 0)`), plus the
//! figures the doc states for the complete example. Fixed ports in the examples are replaced by
//! free ones, so a run never meets another process on 18080.

mod support;

use std::path::PathBuf;

use support::runner::{free_port, run_journaled_with, shakedown};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// An experiment example: the page, the block, and the verdict stated after it.
struct Example {
    page: String,
    text: String,
    /// The exit code stated in the prose after the block (`**passes** (exit 0)`), if any.
    stated_exit: Option<i32>,
}

/// The experiment blocks (YAML with a `title:`) of every page in docs/.
fn examples() -> Vec<Example> {
    let mut out = Vec::new();
    for page in support::demo::doc_pages() {
        let doc = std::fs::read_to_string(&page).unwrap();
        for chunk in doc.split("```yaml\n").skip(1) {
            let Some((text, after)) = chunk.split_once("```") else {
                continue;
            };
            if !text.lines().any(|l| l.starts_with("title:")) {
                continue;
            }
            // The first paragraph after the block states the verdict.
            let prose = after.trim_start().split("\n\n").next().unwrap_or_default();
            let stated_exit = prose
                .split_once("(exit ")
                .and_then(|(_, rest)| rest.split(')').next())
                .and_then(|n| n.parse().ok());
            out.push(Example {
                page: page.file_name().unwrap().to_string_lossy().into_owned(),
                text: text.to_string(),
                stated_exit,
            });
        }
    }
    out
}

/// `text` with every 1808x port replaced by a free port (the same one for the same number).
fn on_free_ports(text: &str) -> String {
    (0..10).fold(text.to_string(), |t, d| {
        let fixed = format!("1808{d}");
        if t.contains(&fixed) {
            t.replace(&fixed, &free_port().to_string())
        } else {
            t
        }
    })
}

#[test]
fn the_docs_hold_experiment_examples_and_state_each_verdict() {
    let all = examples();
    assert!(all.len() >= 4, "only {} examples", all.len());
    for e in &all {
        assert!(
            e.stated_exit.is_some(),
            "docs/{}: no `(exit N)` stated after the example:\n{}",
            e.page,
            e.text
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_experiment_example_in_the_docs_runs_with_its_stated_verdict() {
    let dir = tempfile::tempdir().unwrap();
    for (i, e) in examples().into_iter().enumerate() {
        let file = dir.path().join(format!("{}-{i}.yaml", e.page));
        std::fs::write(&file, on_free_ports(&e.text)).unwrap();
        let checked = shakedown(&["validate", file.to_str().unwrap()]).await;
        assert_eq!(
            checked.code, 0,
            "docs/{}:\n{}\n{}",
            e.page, e.text, checked.stderr
        );
        let compare = with_baseline(&file, &e).await;
        let compare: Vec<&str> = compare.iter().map(String::as_str).collect();
        let (ran, doc) = run_journaled_with(&file, &compare).await;
        assert_eq!(
            Some(ran.code),
            e.stated_exit,
            "docs/{} example {i}:\n{}\n{}\n{}",
            e.page,
            e.text,
            ran.stdout,
            ran.stderr
        );
        if e.text
            .lines()
            .any(|l| l.starts_with("title: The KV store keeps acknowledged writes"))
        {
            complete_example_figures(&doc);
        }
    }
}

/// An example with `expect.regression` is compared with a baseline (docs/baselines.md): a
/// first run saves it (exit 0), and the stated verdict is that of the run compared with it.
async fn with_baseline(file: &std::path::Path, e: &Example) -> Vec<String> {
    if !e.text.contains("\n  regression:") {
        return Vec::new();
    }
    let base = file.with_extension("baseline.json").display().to_string();
    let saved = shakedown(&[
        "run",
        file.to_str().unwrap(),
        "-q",
        "--save-baseline",
        &base,
    ])
    .await;
    assert_eq!(
        saved.code, 0,
        "docs/{}:\n{}\n{}{}",
        e.page, e.text, saved.stdout, saved.stderr
    );
    vec!["--baseline".into(), base]
}

/// What docs/experiments.md says of "A complete example": the latency step is undetected (no
/// recovery, not in MTTR), the kill is detected and recovered, no acknowledged write is lost.
fn complete_example_figures(doc: &serde_json::Value) {
    let exp = &doc["experiments"][0];
    let run = &exp["runs"][0];
    let latency = &run["steps"][0];
    assert_eq!(latency["kind"], "fault");
    assert!(latency["measurement"]["detected_at"].is_null(), "{latency}");
    assert_eq!(latency["recovered_in_time"], true);
    let kill = &run["steps"][1];
    let ttd = kill["measurement"]["time_to_detect"].as_f64().unwrap();
    let ttr = kill["measurement"]["recovery_from_removal"]
        .as_f64()
        .unwrap();
    // Detected by the next sample (250 ms interval); recovered once restarted at 10 s plus
    // three passing samples: about 2 s, well within the 5 s the file allows.
    assert!(ttd <= 0.3, "kill detected after {ttd}s");
    assert!(
        (1.0..=5.0).contains(&ttr),
        "kill recovered {ttr}s after removal"
    );
    assert_eq!(exp["mttr"]["n"], 1, "only the kill recovered from anything");
    assert_eq!(run["writes"]["lost"], 0);
}

/// `make demo` shows the build (issue 8, item 22): it says what it is building and does not
/// silence cargo's progress.
#[test]
fn make_demo_announces_and_shows_the_build() {
    let out = std::process::Command::new("make")
        .args(["-n", "demo"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success());
    let plan = String::from_utf8_lossy(&out.stdout);
    let build = plan
        .lines()
        .find(|l| l.contains("cargo build"))
        .expect("make demo builds first");
    assert!(!build.contains("--quiet"), "{plan}");
    assert!(
        plan.contains("building shakedown (the first time takes about 2 minutes, once)"),
        "{plan}"
    );
}
