//! The HTML report (`report::html::render`) and the Markdown summary of fixed journals: the
//! figures, labels and fault windows are on the page where the record puts them, user strings
//! are escaped, failures come first, and a long run's page stays small. The flags that write
//! them (`--html`, `--summary`, `$GITHUB_STEP_SUMMARY`) are checked through the binary.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use shakedown::experiment::record::{Document, ExperimentRecord, Provenance, Status};
use shakedown::experiment::validate::{LoadOptions, parse_str};
use shakedown::report::{html, markdown};

#[path = "report_html/synthetic.rs"]
mod synthetic;

fn fixture() -> Document {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/journal-v0.1.0.json");
    Document::read(&path).unwrap()
}

/// The quickstart's experiment, failed: its first step recovered 7 s after removal (2 s over).
fn failed(title: &str) -> ExperimentRecord {
    let mut e = fixture().experiments.remove(0);
    e.title = title.to_string();
    e.status = Status::Failed;
    e.reason = Some("recovered_within (latency on kv): expected ≤ 5.00s".into());
    let run = &mut e.runs[0];
    run.status = Some(Status::Failed);
    run.expectations[0].passed = false;
    run.expectations[0].observed = "recovered 7.00s after removal, 2.00s over".into();
    run.steps[0].recovered_in_time = Some(false);
    e
}

/// Keep `page` as `target/tmp/NAME` for `make e2e` to open in a browser.
fn keep(name: &str, page: &str) {
    std::fs::write(Path::new(env!("CARGO_TARGET_TMPDIR")).join(name), page).unwrap();
}

/// The text between `start` and the next `end` after it.
fn between<'a>(page: &'a str, start: &str, end: &str) -> &'a str {
    let from = page.find(start).unwrap_or_else(|| panic!("no {start:?}")) + start.len();
    let len = page[from..].find(end).unwrap();
    &page[from..from + len]
}

/// The number in attribute `name` of the first element that starts with `element`.
fn attr(page: &str, element: &str, name: &str) -> f64 {
    let tag = between(page, element, ">");
    between(tag, &format!(" {name}=\""), "\"").parse().unwrap()
}

/// x of the time axis label `label` (e.g. `2 s`).
fn tick_x(page: &str, label: &str) -> f64 {
    let at = page.find(&format!("\">{label}</text>")).unwrap();
    let text = &page[page[..at].rfind("<text").unwrap()..at];
    between(text, " x=\"", "\"").parse().unwrap()
}

#[test]
fn the_quickstart_page_shows_its_figures_labels_and_fault_windows() {
    let page = html::render(&fixture());
    assert!(page.starts_with("<!DOCTYPE html>"));
    let title = "The KV store keeps acknowledged writes through latency and a crash";
    assert_eq!(
        between(&page, "<title>", "</title>"),
        format!("{title} — passed")
    );
    assert!(page.contains("<strong>PASSED</strong>"));
    // Each expectation with expected and observed.
    for row in [
        "<td>recovered_within (latency on kv)</td><td>≤ 5.00s</td><td>recovered 1.00s after removal</td>",
        "<td>lost_writes</td><td>≤ 0</td><td>0 lost</td>",
    ] {
        assert!(page.contains(row), "{row}");
    }
    // One shaded window for the one fault, labelled, from 2.00 s to 5.00 s on the axis; the
    // two actions as lines.
    assert_eq!(page.matches("<rect class=\"fault\"").count(), 1);
    assert_eq!(page.matches("<line class=\"action\"").count(), 2);
    for label in ["latency on kv", "kill -9 kv", "start kv"] {
        assert!(page.contains(&format!("\">{label}</text>")), "{label}");
    }
    let (x, width) = (
        attr(&page, "<rect class=\"fault\"", "x"),
        attr(&page, "<rect class=\"fault\"", "width"),
    );
    let per_second = (tick_x(&page, "4 s") - tick_x(&page, "2 s")) / 2.0;
    assert!((x - tick_x(&page, "2 s")).abs() < 0.1 * per_second, "{x}");
    assert!((x + width - (tick_x(&page, "4 s") + per_second)).abs() < 0.1 * per_second);
    assert!(page.contains(
        "<title>latency on kv (fault): injected 2.00 s, removed 5.00 s; detected 2.50 s (TTD 0.50 s), \
         recovered 6.00 s (TTR 4.00 s from injection, 1.00 s from removal)</title>"
    ));
    // Detection and recovery of the two measured steps.
    assert_eq!(page.matches("<g class=\"instant det\">").count(), 2);
    assert_eq!(page.matches("<g class=\"instant rec\">").count(), 2);
    assert!(page.contains("<title>kill -9 kv: recovered at 10.00 s (TTR 2.00 s from injection"));
    // One tooltip per second of load, with that second's figures (the journal's second 2).
    let timeline = &fixture().experiments[0].runs[0]
        .load
        .clone()
        .unwrap()
        .timeline;
    let seconds = between(&page, "<g class=\"seconds\">", "</g>");
    assert_eq!(seconds.matches("<rect").count(), timeline.len());
    assert!(seconds.contains(
        "<title>2–3 s (during latency on kv): 100 requests, 0 injected errors, 0 other errors (0.00 %), \
         p50 305.2 ms, p99 307.2 ms</title>"
    ));
    assert!(
        seconds.contains("<title>1–2 s: 100 requests"),
        "before the fault"
    );
    assert!(
        seconds.contains("<title>4–5 s (during latency on kv): "),
        "the fault's last second"
    );
    assert!(
        seconds.contains("<title>5–6 s (during latency on kv): "),
        "removed at 5.003 s"
    );
    assert!(seconds.contains("<title>6–7 s: "), "after the fault");
    assert!(
        seconds.contains("8–9 s: 100 requests, 0 injected errors, 100 other errors (100.00 %)")
    );
    // Every sample of every probe is a tick: 48 samples × 3 probes.
    let probes = between(&page, "<g class=\"probes\">", "</g>");
    assert_eq!(probes.matches("v12").count(), 48 * 3);
    assert!(probes.contains("<title>latency: fail from 2.50 s to"));
    // What happened, in words above the chart.
    assert!(page.contains(
        "<strong>latency on kv</strong> (fault) from 2.00 s to 5.00 s: <span class=\"\">detected 0.50 s \
         after injection, recovered 1.00 s after removal (4.00 s after injection)</span>."
    ));
    assert!(page.contains(
        "<strong>start kv</strong> (action) at 9.00 s: <span class=\"\">not measured</span>."
    ));
    assert!(page.contains("0 of 893 acknowledged writes lost (0.00 %)</span>; 968 attempted, 0 refused, 75 unanswered."));
    // Tables: steps, MTTR, writes, load.
    assert!(page.contains("<td class=\"num\">0.50 s</td><td class=\"num\">4.00 s</td><td class=\"num\">1.00 s</td><td>yes</td>"));
    assert!(page.contains("<th>from injection</th><td class=\"num\">2.00 s</td><td class=\"num\">4.00 s</td><td class=\"num\">4.00 s</td><td class=\"num\">2</td>"));
    assert!(page.contains("<td class=\"num\">968</td><td class=\"num\">893</td><td class=\"num\">0</td><td class=\"num\">75</td>"));
    assert!(page.contains("Errors by class: reset 101"));
    assert!(page.contains("Started 2026-11-30T19:08:15Z"));
    assert!(page.contains("load seed 7"));
}

#[test]
fn the_page_is_self_contained() {
    let page = html::render(&fixture());
    for outside in [
        "<script",
        "<link",
        "src=",
        "href=\"http",
        "url(",
        "@import",
        "@font-face",
    ] {
        assert!(!page.contains(outside), "{outside}");
    }
    assert!(page.contains("default-src 'none'"));
    assert!(page.contains("@media (prefers-color-scheme: dark)"));
    assert!(page.contains("@media print"));
}

/// The page and the summary say where, with what and from which text the experiment ran: the
/// file with its variables resolved (collapsed), the host, the version and the description.
#[test]
fn the_page_shows_the_file_as_it_ran_its_host_version_and_description() {
    let text = "title: t\ndescription: Why it holds.\nsteady_state:\n  probes:\n    - {name: up, tcp: \"127.0.0.1:${var.port}\"}\nmethod:\n  - {at: 1s, action: {command: [\"true\"]}}\nduration: 2s\n";
    let options = LoadOptions {
        vars: [("port".to_string(), "18080".to_string())].into(),
        ..LoadOptions::default()
    };
    let parsed = parse_str(Path::new("t.yaml"), text, &options).unwrap();
    let mut e = failed("t");
    e.description = parsed.description.clone().unwrap();
    e.provenance = Provenance {
        resolved: Some(parsed.resolved),
        host: Some("ci-7".into()),
        shakedown_version: Some("9.9.9".into()),
    };
    let document = Document::of(vec![e]);
    let page = html::render(&document);
    let block = between(&page, "<details class=\"resolved\">", "</details>");
    assert!(block.starts_with(
        "<summary>The experiment file as it ran (variables resolved)</summary><pre><code>title: t\ndescription: Why it holds.\n"
    ), "{block}");
    assert!(block.contains("tcp: 127.0.0.1:18080\n"), "{block}");
    assert!(!page.contains("${var.port}"));
    assert!(page.contains("<p class=\"description\">Why it holds.</p>"));
    assert!(page.contains("<p class=\"meta provenance\">ran on ci-7 with shakedown 9.9.9</p>"));
    let summary = markdown::render(&document);
    assert!(summary.contains("\nWhy it holds.\n\nFile: experiments/quickstart.yaml, ran on ci-7 with shakedown 9.9.9, started "), "{summary}");
}

#[test]
fn every_string_from_the_users_file_is_escaped() {
    let mut e = failed("<script>alert(\"title\")</script>");
    e.file = "x<script>.yaml".into();
    e.tags = vec!["<b>tag</b>".into()];
    e.description = "<img src=x onerror=alert(1)>".into();
    let run = &mut e.runs[0];
    run.steps[0].name = "<script>step</script>".into();
    run.samples[0].probes[0].probe = "<svg onload=alert(1)>".into();
    run.expectations[0].observed = "</td><script>observed</script>".into();
    run.rollbacks[0].command = vec!["<script>".into()];
    e.provenance = Provenance {
        resolved: Some("title: </code></pre><script>resolved</script>\n".into()),
        host: Some("<script>host</script>".into()),
        shakedown_version: Some("<i>1</i>".into()),
    };
    let document = Document::of(vec![e]);
    let page = html::render(&document);
    keep("escaped.html", &page);
    assert!(!page.contains("<script"), "a user string was not escaped");
    assert!(!page.contains("<img") && !page.contains("<svg onload") && !page.contains("<b>"));
    assert!(page.contains("&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt;"));
    assert!(page.contains("&lt;script&gt;step&lt;/script&gt;</text>"));
    assert!(
        page.contains(
            "ran on &lt;script&gt;host&lt;/script&gt; with shakedown &lt;i&gt;1&lt;/i&gt;"
        )
    );
    assert!(page.contains("<pre><code>title: &lt;/code&gt;&lt;/pre&gt;&lt;script&gt;resolved"));
    let summary = markdown::render(&document);
    let bare_angle = summary
        .match_indices('<')
        .any(|(i, _)| !summary[..i].ends_with('\\'));
    assert!(!bare_angle, "an unescaped < in {summary}");
    assert!(summary.contains(r#"\<script\>alert("title")\</script\>"#));
}

#[test]
fn a_failed_expectation_comes_first_in_red_with_by_how_much() {
    let page = html::render(&Document::of(vec![failed("Broken")]));
    assert!(page.contains(
        "<strong>FAILED</strong> — <span class=\"reason\">recovered_within (latency on kv)"
    ));
    let table = between(&page, "<table class=\"expectations\">", "</table>");
    let first_row = between(table, "<tbody><tr", "</tr>");
    assert!(first_row.starts_with(" class=\"bad\""), "{first_row}");
    assert!(first_row.contains("✗ failed"));
    assert!(first_row.contains("recovered 7.00s after removal, 2.00s over"));
    assert!(page.contains("<span class=\"bad\">detected 0.50 s after injection, recovered 1.00 s"));
    let step = between(&page, "<table class=\"steps\">", "</table>");
    assert!(step.contains("<tr class=\"bad\"><td>latency on kv"));
    let summary = markdown::render(&Document::of(vec![failed("Broken")]));
    let rows: Vec<&str> = summary.lines().filter(|l| l.starts_with("| ")).collect();
    assert!(rows[1].starts_with("| ❌ | recovered\\_within (latency on kv) | ≤ 5.00s | recovered 7.00s after removal, 2.00s over |"), "{summary}");
    assert!(
        summary.contains("| latency on kv | 2.00 s | 5.00 s | 0.50 s | 4.00 s | 1.00 s | no |")
    );
}

#[test]
fn a_suite_page_has_a_section_per_experiment_failures_first() {
    let passed = fixture().experiments.remove(0);
    let document = Document::of(vec![passed, failed("Broken")]);
    let page = html::render(&document);
    keep("suite.html", &page);
    assert!(page.contains("<h1>Suite: 1 passed, 1 failed</h1>"));
    assert_eq!(page.matches("<section class=\"experiment\"").count(), 2);
    let broken = page.find("<h2>Broken</h2>").unwrap();
    let quickstart = page.find("<h2>The KV store").unwrap();
    assert!(broken < quickstart, "the failed experiment comes first");
    // The contents list links to both, the failed one first.
    let toc = between(&page, "<ul class=\"toc\">", "</ul>");
    assert!(toc.find("Broken").unwrap() < toc.find("The KV store").unwrap());
    assert!(toc.contains("href=\"#exp-1\""));
    let summary = markdown::render(&document);
    assert!(summary.starts_with("## shakedown: 1 passed, 1 failed\n"));
    assert!(summary.find("FAILED — Broken").unwrap() < summary.find("PASSED — The KV").unwrap());
}

#[test]
fn repeated_runs_show_the_spread_of_recovery_times() {
    let mut e = fixture().experiments.remove(0);
    let mut second = e.runs[0].clone();
    second.run = 2;
    let m = second.steps[0].measurement.as_mut().unwrap();
    m.recovery_from_injection = Some(Duration::from_millis(4600));
    e.runs.push(second);
    let page = html::render(&Document::of(vec![e]));
    let spread = between(&page, "<figure class=\"spread\">", "</figure>");
    assert_eq!(
        spread.matches("<circle").count(),
        4,
        "2 measured steps × 2 runs"
    );
    assert!(spread.contains("latency on kv, run 2: recovered 4.60 s after injection"));
    // The record's MTTR (of the fixture: p50 2.00 s, p90 4.00 s, N 2) is marked on the plot.
    assert!(spread.contains("<title>MTTR p50 across 2 recoveries: 2.00 s</title>"));
    assert!(spread.contains("<title>MTTR p90 across 2 recoveries: 4.00 s</title>"));
    assert!(page.contains("Run 2: "));
}

#[test]
fn a_run_that_stopped_before_sampling_says_so() {
    let mut e = failed("Nothing ran");
    let run = &mut e.runs[0];
    run.samples.clear();
    run.load = None;
    let page = html::render(&Document::of(vec![e]));
    assert!(page.contains("No timeline: the run stopped before any load or sampling."));
}

#[test]
fn a_ten_minute_run_at_1000_requests_per_second_stays_under_2_mb() {
    let document = synthetic::ten_minutes();
    let page = html::render(&document);
    keep("ten-minutes.html", &page);
    eprintln!("target/tmp/ten-minutes.html: {} bytes", page.len());
    assert!(page.len() < 2_000_000, "{} bytes", page.len());
    let run = &document.experiments[0].runs[0];
    let seconds = between(&page, "<g class=\"seconds\">", "</g>");
    assert_eq!(seconds.matches("<rect").count(), 600);
    assert_eq!(
        page.matches("<rect class=\"fault\"").count(),
        run.steps.len()
    );
    // Only the first lost keys are listed, and the count says how many there were.
    assert!(page.contains("Lost keys (first 20 of 5000)"));
}

/// Run the binary with `args` (and `GITHUB_STEP_SUMMARY` set to `step_summary` when given).
fn shakedown(args: &[&str], step_summary: Option<&Path>) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shakedown"));
    cmd.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd.env_remove("GITHUB_STEP_SUMMARY");
    if let Some(p) = step_summary {
        cmd.env("GITHUB_STEP_SUMMARY", p);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn report_writes_the_page_and_the_summary_and_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("r.html");
    let summary = dir.path().join("r.md");
    let (code, out) = shakedown(
        &[
            "report",
            "fixtures/journal-v0.1.0.json",
            "--html",
            page.to_str().unwrap(),
            "--summary",
            summary.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("\nreport: {}\n", page.display())),
        "{out}"
    );
    assert!(
        out.contains(&format!("\nsummary: {}\n", summary.display())),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(&page).unwrap(),
        html::render(&fixture())
    );
    assert_eq!(
        std::fs::read_to_string(&summary).unwrap(),
        markdown::render(&fixture())
    );
}

#[test]
fn test_appends_its_summary_to_the_github_step_summary() {
    let dir = tempfile::tempdir().unwrap();
    let step_summary = dir.path().join("step.md");
    std::fs::write(&step_summary, "earlier step\n").unwrap();
    let page = dir.path().join("suite.html");
    let args = [
        "test",
        "fixtures/wrong-types.yaml",
        "--html",
        page.to_str().unwrap(),
    ];
    let (code, out) = shakedown(&args, Some(&step_summary));
    assert_eq!(code, 2, "an invalid file: {out}");
    assert!(out.contains(&format!("report: {}", page.display())));
    let appended = std::fs::read_to_string(&step_summary).unwrap();
    assert!(
        appended.starts_with("earlier step\n### ❌ INVALID — fixtures/wrong-types.yaml"),
        "{appended}"
    );
    let page = std::fs::read_to_string(&page).unwrap();
    assert!(page.contains("<strong>INVALID</strong>"));
    // Without --html no page is named; without the variable the step summary is left alone.
    let before = std::fs::read_to_string(&step_summary).unwrap();
    let (_, out) = shakedown(&["test", "fixtures/wrong-types.yaml"], None);
    assert!(!out.contains("report:"), "{out}");
    assert_eq!(std::fs::read_to_string(&step_summary).unwrap(), before);
}

#[test]
fn docs_report_md_describes_the_flags_and_shows_the_screenshot() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/report.md")).unwrap();
    for command in ["run", "test", "report"] {
        let (code, help) = shakedown(&[command, "--help"], None);
        assert_eq!(code, 0);
        for flag in ["--html <FILE>", "--summary <FILE>"] {
            assert!(help.contains(flag), "{command} --help lacks {flag}");
        }
    }
    for named in [
        "--html",
        "--summary",
        "GITHUB_STEP_SUMMARY",
        "target/shakedown-report.html",
    ] {
        assert!(
            doc.contains(named),
            "docs/report.md does not mention {named}"
        );
    }
    assert!(doc.contains("![The quickstart's report"));
    let png = std::fs::read(root.join("docs/report-screenshot.png")).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "the screenshot is a PNG"
    );
    let makefile = std::fs::read_to_string(root.join("Makefile")).unwrap();
    assert!(makefile.contains("--html target/shakedown-report.html"));
}

/// A comparison with `--baseline` is a table on the page and a section of the terminal
/// summary: each figure old → new, its change and verdict, a regression in red.
#[test]
fn the_comparison_with_a_baseline_is_on_the_page_and_in_the_terminal() {
    use shakedown::experiment::baseline::{Change, Comparison, Direction, Relative, Unit, Verdict};
    let mut doc = fixture();
    let change = |name: &str, unit, old, new, change: f64, verdict| Change {
        name: name.into(),
        unit,
        direction: Direction::Lower,
        old: Some(old),
        new: Some(new),
        change: Some(Relative(change)),
        interval: None,
        verdict,
    };
    doc.experiments[0].baseline = Some(Comparison {
        file: "ci/main.json".into(),
        saved: "2026-11-30T23:15:41Z".into(),
        threshold: 0.05,
        baseline_runs: 1,
        runs: 1,
        figures: vec![
            change(
                "p99",
                Unit::Seconds,
                0.0392,
                0.4206,
                9.721,
                Verdict::Regressed,
            ),
            change(
                "error_rate",
                Unit::Fraction,
                0.0,
                0.01,
                f64::INFINITY,
                Verdict::Regressed,
            ),
            change(
                "rps",
                Unit::PerSecond,
                40.5,
                41.0,
                0.012,
                Verdict::WithinNoise,
            ),
        ],
    });
    let page = html::render(&doc);
    let table = between(&page, "<table class=\"baseline\">", "</table>");
    assert!(
        table.contains("<tr class=\"bad\"><th>p99</th><td class=\"num\">39.2 ms</td><td class=\"num\">420.6 ms</td><td class=\"num\">+972.1 %</td><td>regressed</td></tr>"),
        "{table}"
    );
    assert!(table.contains("<td class=\"num\">+∞ %</td>"), "{table}");
    assert!(table.contains("<tr><th>rps</th>"), "{table}");
    assert!(page.contains("one run on a side: no spread to judge against"));
    let text = shakedown::report::terminal::render(&doc.experiments[0]);
    assert!(text.contains("against baseline ci/main.json (saved 2026-11-30T23:15:41Z, 1 run; this: 1 run; threshold 5.0 %):"), "{text}");
    assert!(
        text.contains("  p99                       39.2 ms → 420.6 ms       +972.1 %  regressed"),
        "{text}"
    );
    assert!(
        text.contains("  error_rate                 0.00 % → 1.00 %             +∞ %  regressed"),
        "{text}"
    );
}
