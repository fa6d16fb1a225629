//! The README's main command end to end through the real binary: `shakedown run
//! experiments/quickstart.yaml` passes with TTD, MTTR, recovery and lost writes in its report,
//! and `experiments/write-behind.yaml` measures the writes write-behind loses to kill -9.

mod support;

use std::time::Duration;

use support::runner::{NeverStarts, free_port, journal, shakedown, signal, spawn, until, wait};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quickstart_passes_with_detection_recovery_and_writes_in_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("q.json");
    let junit = dir.path().join("q.xml");
    let (port, proxy) = (free_port(), free_port());
    let started = tokio::time::Instant::now();
    let ran = shakedown(&[
        "run",
        "experiments/quickstart.yaml",
        "--var",
        &format!("port={port}"),
        "--var",
        &format!("proxy_port={proxy}"),
        "--json",
        json.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ])
    .await;
    let took = started.elapsed();
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    // The promise of the README: under a minute once built (the method is 12 s).
    assert!(took < Duration::from_secs(60), "took {took:?}");
    for needle in [
        "TTD",
        "TTR remove",
        "MTTR (from injection): p50",
        "writes: ",
        "+ 0 lost +",
        "ok   lost_writes",
        "ok   recovered_within (kill -9 kv)",
        "verdict: PASSED",
    ] {
        assert!(ran.stdout.contains(needle), "{needle:?} in\n{}", ran.stdout);
    }
    // stderr carries the progress lines, and no log lines (only warnings would show).
    assert!(!ran.stderr.contains(" INFO "), "{}", ran.stderr);
    let doc = journal(&json);
    // The journal is the documented one: it validates against docs/journal.schema.json.
    assert_matches_journal_schema(&doc);
    let run = &doc["experiments"][0]["runs"][0];
    let steps = run["steps"].as_array().unwrap();
    for s in &steps[..2] {
        assert_eq!(s["recovered_in_time"], true, "{s}");
        assert!(s["measurement"]["time_to_detect"].as_f64().is_some(), "{s}");
    }
    let writes = &run["writes"];
    assert!(writes["acknowledged"].as_u64().unwrap() > 300, "{writes}");
    // Every count adds up in the JSON too: each write attempted is acknowledged, refused or
    // unknown.
    let n = |k: &str| writes[k].as_u64().unwrap();
    assert_eq!(
        n("attempted"),
        n("acknowledged") + n("refused") + n("unknown"),
        "{writes}"
    );
    assert_eq!(writes["lost"], 0, "{writes}");
    assert_eq!(writes["observed_rpo"], 0.0, "{writes}");
    assert!(run["load_summary"]["requests"].as_u64().unwrap() > 500);
    // Every sample before the first fault passes except while the load has no data yet.
    let first = steps[0]["injected_at"].as_f64().unwrap();
    let early_failures: Vec<_> = run["samples"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["at"].as_f64().unwrap() > 0.5 && s["at"].as_f64().unwrap() < first)
        .filter(|s| s["pass"] == false)
        .collect();
    assert!(early_failures.is_empty(), "{early_failures:?}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(r#"<property name="writes.lost" value="0"/>"#),
        "{xml}"
    );
}

/// `shakedown report` re-renders a journal written by release 0.1.0 (the quickstart) as the
/// terminal summary, with the run's exit code; a file that is not a journal is invalid input.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_re_renders_a_journal_of_the_previous_release() {
    let ran = shakedown(&["report", "fixtures/journal-v0.1.0.json"]).await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    for needle in [
        "The KV store keeps acknowledged writes through latency and a crash  (experiments/quickstart.yaml)",
        "steady state: 48 samples, 26 passing",
        "  latency on kv                    2.00s     5.00s    0.50s       4.00s       1.00s  yes",
        "writes: 968 attempted = 893 acknowledged + 0 refused + 75 unknown",
        "load: 1201 requests (100/s), 101 errors (8.41 %)",
        "ok   recovered_within (kill -9 kv): expected ≤ 5.00s, observed recovered 2.00s after removal",
        "MTTR (from injection): p50 2.00s  p90 4.00s  max 4.00s  N=2",
        "verdict: PASSED",
    ] {
        assert!(ran.stdout.contains(needle), "{needle:?} in\n{}", ran.stdout);
    }
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("r.xml");
    let ran = shakedown(&[
        "report",
        "fixtures/journal-v0.1.0.json",
        "--junit",
        junit.to_str().unwrap(),
    ])
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(r#"<property name="writes.attempted" value="968"/>"#),
        "{xml}"
    );
    let ran = shakedown(&["report", "Cargo.toml"]).await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr
            .starts_with("shakedown: Cargo.toml: not a shakedown journal: not JSON"),
        "{}",
        ran.stderr
    );
}

/// A journal that shakedown could not have written is refused (exit 2) with the field named:
/// one of no experiment, and ones whose write counts do not add up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_refuses_a_journal_whose_figures_do_not_add_up() {
    let text = std::fs::read_to_string("fixtures/journal-v0.1.0.json").unwrap();
    let original: serde_json::Value = serde_json::from_str(&text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    const WRITES: &str = "/experiments/0/runs/0/load/writes";
    type Edit = fn(&mut serde_json::Value);
    let cases: [(&str, Edit, &str); 3] = [
        (
            "empty",
            |j| j["experiments"] = serde_json::json!([]),
            "experiments: holds no experiment",
        ),
        (
            "lost",
            |j| j.pointer_mut(WRITES).unwrap()["lost"] = 900.into(),
            "experiments[0].runs[0].load.writes: lost + unexpected + read_failed (900) exceeds acknowledged (893)",
        ),
        (
            "acked",
            |j| j.pointer_mut(WRITES).unwrap()["acknowledged"] = 969.into(),
            "experiments[0].runs[0].load.writes: acknowledged + refused + unknown (1044) exceeds attempted (968)",
        ),
    ];
    for (name, edit, expected) in cases {
        let mut journal = original.clone();
        edit(&mut journal);
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, journal.to_string()).unwrap();
        let ran = shakedown(&["report", path.to_str().unwrap()]).await;
        assert_eq!(ran.code, 2, "{name}: {}", ran.stderr);
        assert!(ran.stderr.contains(expected), "{name}: {}", ran.stderr);
        assert!(ran.stdout.is_empty(), "{name}: {}", ran.stdout);
    }
}

/// A journal's text reaches the terminal without its control characters: an escape sequence
/// in a (hand-edited) title is shown, not obeyed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_shows_control_characters_instead_of_sending_them() {
    let text = std::fs::read_to_string("fixtures/journal-v0.1.0.json").unwrap();
    let mut journal: serde_json::Value = serde_json::from_str(&text).unwrap();
    journal["experiments"][0]["title"] = "clears \u{1b}[2J the screen\u{7}".into();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.json");
    std::fs::write(&path, journal.to_string()).unwrap();
    let ran = shakedown(&["report", path.to_str().unwrap()]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stdout.contains("clears \\u{1b}[2J the screen\\u{7}"),
        "{}",
        ran.stdout
    );
    assert!(!ran.stdout.contains('\u{1b}'), "{}", ran.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_behind_loses_its_last_half_second_to_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("w.json");
    let port = free_port();
    let ran = shakedown(&[
        "run",
        "experiments/write-behind.yaml",
        "--var",
        &format!("port={port}"),
        "--json",
        json.to_str().unwrap(),
    ])
    .await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.contains("observed RPO: "), "{}", ran.stdout);
    assert!(ran.stdout.contains("lost keys: /kv/"), "{}", ran.stdout);
    let doc = journal(&json);
    // The journal is the documented one: it validates against docs/journal.schema.json.
    assert_matches_journal_schema(&doc);
    let run = &doc["experiments"][0]["runs"][0];
    let w = &run["writes"];
    let lost = w["lost"].as_u64().unwrap();
    // 100 writes/s and 500 ms of write-behind: about 50 lost. Generous bounds: the kill's
    // timing and a busy machine move the count, but never to zero or to a whole second.
    assert!((20..=80).contains(&lost), "{w}");
    assert_eq!(w["lost_keys"].as_array().unwrap().len() as u64, lost);
    // Every lost write was acknowledged in the write-behind window before the kill.
    let kill = run["steps"][0]["injected_at"].as_f64().unwrap();
    let (first, last) = (
        w["lost_first_ack"].as_f64().unwrap(),
        w["lost_last_ack"].as_f64().unwrap(),
    );
    assert!(first >= kill - 0.6 && last <= kill + 0.1, "{w} kill {kill}");
    let rpo = w["observed_rpo"].as_f64().unwrap();
    assert!((0.3..=0.6).contains(&rpo), "{w}");
}

#[tokio::test]
async fn every_example_experiment_validates_with_the_real_load_section() {
    // `validate` runs the load driver's own checks on each `load:` section.
    let ran = shakedown(&["validate", "experiments/"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let files = std::fs::read_dir("experiments")
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "yaml")
        })
        .count();
    assert_eq!(ran.stdout.lines().count(), files, "{}", ran.stdout);
}

/// `--repeat` gives every run its own `${run.dir}`: a step that fails when the folder already
/// holds the previous run's file would fail the second run if the folder were shared (a demo
/// store's data file would then carry run 1's writes into run 2's read-back).
#[tokio::test]
async fn each_repeated_run_gets_a_fresh_run_dir() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fresh.yaml");
    std::fs::write(
        &file,
        "title: run.dir starts empty\nmethod:\n  - {at: 0s, action: {command: [sh, -c, \"test ! -e '${run.dir}/mark' && touch '${run.dir}/mark' && echo '${run.dir}' >> '${var.seen}'\"]}}\nduration: 1s\n",
    )
    .unwrap();
    let seen = dir.path().join("seen.txt");
    let ran = shakedown(&[
        "run",
        file.to_str().unwrap(),
        "--repeat",
        "2",
        "--quiet",
        "--var",
        &format!("seen={}", seen.display()),
    ])
    .await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let dirs: Vec<String> = std::fs::read_to_string(&seen)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    assert_ne!(dirs[0], dirs[1]);
    // Both runs passed, so both scratch folders are gone.
    assert!(
        dirs.iter().all(|d| !std::path::Path::new(d).exists()),
        "{dirs:?}"
    );
}

/// A step at the very end of the method that breaks the system is observed: sampling goes on
/// after it, so the run fails instead of passing on a sample taken before the step.
#[tokio::test]
async fn a_breakage_at_the_end_of_the_method_is_not_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("broken");
    let file = dir.path().join("late.yaml");
    std::fs::write(
        &file,
        "title: a breakage at the end\nsteady_state:\n  probes:\n    - {name: whole, command: [sh, -c, \"test ! -e '${var.flag}'\"]}\nmethod:\n  - {at: 1s, action: {command: [touch, \"${var.flag}\"]}, measure: true}\nduration: 1s\n",
    )
    .unwrap();
    let json = dir.path().join("late.json");
    let ran = shakedown(&[
        "run",
        file.to_str().unwrap(),
        "--quiet",
        "--var",
        &format!("flag={}", flag.display()),
        "--json",
        json.to_str().unwrap(),
    ])
    .await;
    assert_eq!(ran.code, 1, "{}\n{}", ran.stdout, ran.stderr);
    let doc = journal(&json);
    // The journal is the documented one: it validates against docs/journal.schema.json.
    assert_matches_journal_schema(&doc);
    let run = &doc["experiments"][0]["runs"][0];
    let step = &run["steps"][0];
    assert!(
        step["measurement"]["time_to_detect"].as_f64().is_some(),
        "{step}"
    );
    let removed = step["removed_at"].as_f64().unwrap();
    let last = run["samples"].as_array().unwrap().last().unwrap().clone();
    assert!(
        last["at"].as_f64().unwrap() >= removed && last["pass"] == false,
        "{last}"
    );
}

/// A step that never ran because the run was interrupted says so, with the time of the
/// interruption on the run's clock, in the terminal and in the journal (not `failed: ` with an
/// empty reason and `detail: null`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_that_never_ran_say_when_the_run_was_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("first-step-ran");
    let json = dir.path().join("j.json");
    let file = dir.path().join("e.yaml");
    std::fs::write(
        &file,
        format!(
            r#"title: interrupted
steady_state:
  interval: 100ms
  probes:
    - {{name: up, command: ["true"]}}
method:
  - {{at: 500ms, name: first, action: {{command: [touch, "{flag}"]}}}}
  - {{at: 30s, name: never, action: {{command: ["true"]}}}}
duration: 40s
"#,
            flag = flag.display()
        ),
    )
    .unwrap();
    let runner = spawn(&[
        "run",
        file.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let ran_first = until(Duration::from_secs(20), async || flag.exists()).await;
    assert!(ran_first.is_some(), "the first step never ran");
    signal(runner.id().unwrap(), "INT");
    let ran = wait(runner, Duration::from_secs(20)).await;
    assert_eq!(ran.code, 3, "{}\n{}", ran.stdout, ran.stderr);
    assert!(!ran.stdout.contains("failed: \n"), "{}", ran.stdout);
    let doc = journal(&json);
    let detail = doc["experiments"][0]["runs"][0]["steps"][1]["detail"]
        .as_str()
        .unwrap_or_else(|| panic!("{doc}"))
        .to_string();
    assert!(
        ran.stdout.contains(&format!("\n    {detail}\n")),
        "{}",
        ran.stdout
    );
    // Interrupted after the first step (0.5 s on the run's clock), long before the second (30 s).
    let at: f64 = detail
        .strip_prefix("not run: interrupted at ")
        .and_then(|t| t.strip_suffix(" s"))
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("{detail}"));
    assert!((0.5..30.0).contains(&at), "{detail}");
}

/// Panics with every problem when `doc` does not validate against docs/journal.schema.json.
fn assert_matches_journal_schema(doc: &serde_json::Value) {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("docs/journal.schema.json").unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let problems: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The journal keeps where, with what and from which text an experiment ran: the HTML page
/// shows the description, the host, the version and the file with its variables resolved
/// (escaped), and `shakedown report` on the journal shows the description and the host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_shows_the_file_as_it_ran_its_host_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("as-ran.yaml");
    std::fs::write(
        &file,
        "title: as it ran\ndescription: Says <where> it ran.\nsteady_state:\n  probes:\n    - {name: same, command: [test, \"${var.word}\", \"=\", \"a&b\"]}\nmethod:\n  - {at: 200ms, action: {command: [\"true\"]}}\nduration: 500ms\n",
    )
    .unwrap();
    let (json, page) = (dir.path().join("j.json"), dir.path().join("r.html"));
    let ran = shakedown(&[
        "run",
        file.to_str().unwrap(),
        "--quiet",
        "--var",
        "word=a&b",
        "--json",
        json.to_str().unwrap(),
        "--html",
        page.to_str().unwrap(),
    ])
    .await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let ran_on = format!(
        "ran on {} with shakedown {}",
        host.trim(),
        env!("CARGO_PKG_VERSION")
    );
    let doc = journal(&json);
    assert_matches_journal_schema(&doc);
    let experiment = &doc["experiments"][0];
    assert_eq!(experiment["description"], "Says <where> it ran.");
    assert_eq!(experiment["host"], host.trim());
    assert_eq!(experiment["shakedown_version"], env!("CARGO_PKG_VERSION"));
    let resolved = experiment["resolved"].as_str().unwrap();
    assert!(resolved.starts_with("title: as it ran\n"), "{resolved}");
    assert!(resolved.contains("- a&b\n"), "{resolved}");
    assert!(!resolved.contains("${var.word}"), "{resolved}");
    let html = std::fs::read_to_string(&page).unwrap();
    for needle in [
        "<p class=\"description\">Says &lt;where&gt; it ran.</p>",
        &format!("<p class=\"meta provenance\">{ran_on}</p>"),
        "<summary>The experiment file as it ran (variables resolved)</summary>",
        "- a&amp;b\n",
    ] {
        assert!(html.contains(needle), "{needle:?} in\n{html}");
    }
    assert!(!html.contains("${var.word}"));
    let shown = shakedown(&["report", json.to_str().unwrap()]).await;
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(
        shown.stdout.starts_with(&format!(
            "\nas it ran  ({})\n  Says <where> it ran.\n  {ran_on}\n",
            file.display()
        )),
        "{}",
        shown.stdout
    );
}

/// An output file that could not be written is refused before anything starts (exit 2, naming
/// the flag and the path), not found after the whole run: a path in a missing folder, and one
/// whose parent is a regular file (which stops root too, unlike permission bits).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_output_path_is_refused_before_the_run_starts() {
    let dir = tempfile::tempdir().unwrap();
    let NeverStarts {
        file,
        marker,
        unwritable,
    } = NeverStarts::write(dir.path(), "e.yaml");
    for (flag, out) in &unwritable {
        let ran = shakedown(&["run", file.to_str().unwrap(), "--quiet", flag, out]).await;
        assert_eq!(ran.code, 2, "{flag} {out}: {}\n{}", ran.stdout, ran.stderr);
        assert!(
            ran.stderr
                .starts_with(&format!("shakedown: {flag} {out}: cannot write it: ")),
            "{}",
            ran.stderr
        );
        assert!(!marker.exists(), "{flag} {out}: the run started");
    }
    // A writable path is left as it was found: a new one is not left behind.
    let fine = dir.path().join("fine.json");
    let ran = shakedown(&[
        "run",
        file.to_str().unwrap(),
        "--quiet",
        "--html",
        "/dev/null/x",
        "--json",
        fine.to_str().unwrap(),
    ])
    .await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("--html /dev/null/x"), "{}", ran.stderr);
    assert!(!fine.exists());
}
