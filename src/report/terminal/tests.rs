use super::*;

fn record(run: RunRecord) -> ExperimentRecord {
    ExperimentRecord {
        file: "e.yaml".into(),
        title: "t".into(),
        description: "What should hold,\nand why.\n".into(),
        tags: Vec::new(),
        status: Status::Failed,
        reason: None,
        runs: vec![run],
        mttr: None,
        mttr_from_removal: None,
        unrecovered: 0,
        provenance: Provenance::default(),
        baseline: None,
    }
}

fn with_writes(w: WriteReport) -> RunRecord {
    RunRecord {
        load: Some(LoadReport {
            writes: Some(w),
            ..LoadReport::default()
        }),
        ..RunRecord::default()
    }
}

/// The numbers of a line of the form `… N word = N word + N word …`, as (total, parts).
fn equation(line: &str) -> (u64, Vec<u64>) {
    let (left, right) = line.split_once(" = ").unwrap();
    let number = |s: &str| -> u64 {
        s.split_whitespace()
            .find_map(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("no number in {s:?}"))
    };
    let right = right.split(';').next().unwrap();
    (
        number(left.rsplit(':').next().unwrap()),
        right.split(" + ").map(number).collect(),
    )
}

#[test]
fn the_writes_lines_add_up_and_show_refused() {
    let shown = render(&record(with_writes(WriteReport {
        attempted: 601,
        acknowledged: 500,
        refused: 100,
        unknown: 1,
        lost: 31,
        unexpected: 2,
        read_failed: 3,
        ..WriteReport::default()
    })));
    let line = |start: &str| {
        shown
            .lines()
            .find(|l| l.trim_start().starts_with(start))
            .unwrap_or_else(|| panic!("no {start} line in {shown}"))
            .to_string()
    };
    let writes = line("writes:");
    assert_eq!(
        writes.trim(),
        "writes: 601 attempted = 500 acknowledged + 100 refused + 1 unknown"
    );
    let (total, parts) = equation(&writes);
    assert_eq!(total, parts.iter().sum::<u64>());
    let read = line("read back:");
    assert_eq!(
        read.trim(),
        "read back: 500 acknowledged = 464 present + 31 lost + 2 unexpected + 3 not read back; \
         loss rate 6.20 %"
    );
    let (total, parts) = equation(&read);
    assert_eq!(total, parts.iter().sum::<u64>());
}

#[test]
fn the_header_says_where_and_with_what_it_ran() {
    let mut e = record(RunRecord::default());
    e.provenance = Provenance {
        resolved: None,
        host: Some("box-7".into()),
        shakedown_version: Some("9.8.7".into()),
    };
    let shown = render(&e);
    assert!(
        shown.starts_with(
            "\nt  (e.yaml)\n  What should hold,\n  and why.\n  ran on box-7 with shakedown 9.8.7\n"
        ),
        "{shown}"
    );
}

#[test]
fn the_header_shows_the_description() {
    let shown = render(&record(RunRecord::default()));
    assert!(
        shown.starts_with("\nt  (e.yaml)\n  What should hold,\n  and why.\n"),
        "{shown}"
    );
}

#[test]
fn a_step_that_never_ran_says_so_instead_of_an_empty_failure() {
    let run = RunRecord {
        steps: vec![StepRecord {
            name: "kill".into(),
            kind: "action".into(),
            planned_at: Duration::from_secs(8),
            injected_at: None,
            removed_at: None,
            measured: false,
            measurement: None,
            recovered_in_time: None,
            load_failures: None,
            detail: Some("not run: interrupted at 4.00 s".into()),
            ok: false,
        }],
        ..RunRecord::default()
    };
    let shown = render(&record(run));
    assert!(
        shown.contains("\n    not run: interrupted at 4.00 s\n"),
        "{shown}"
    );
    assert!(!shown.contains("failed: "), "{shown}");
}

#[test]
fn load_figures_are_spelled_for_people() {
    let mut load = LoadReport::default();
    load.summary.requests = 1000;
    load.summary.errors = 2;
    load.summary.error_rate = 0.002;
    load.summary.rps = 100.0;
    load.summary.latency.p50 = Some(Duration::from_micros(3400));
    load.passed = true;
    let shown = load_line(&load);
    assert_eq!(
        shown,
        "1000 requests (100/s), 2 errors (0.20 %), latency p50 3.4 ms p90 — p99 — max —"
    );
}
