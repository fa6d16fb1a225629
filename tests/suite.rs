//! `shakedown test`: one line per experiment, the closing tally, JUnit and JSON for the suite.

mod support;

use std::time::Duration;

use support::runner::{NeverStarts, journal, shakedown, signal, spawn, until, wait};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filtered_suite_runs_the_short_experiments_and_reports_them() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("out.xml");
    let json = dir.path().join("out.json");
    let ran = shakedown(&[
        "test",
        "experiments/",
        "-k",
        "restart or blackholes",
        "--junit",
        junit.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ])
    .await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let last = ran.stdout.lines().last().unwrap_or_default();
    // Every other experiment in the folder is skipped by the filter.
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
    let expected = format!("2 passed, 0 failed, {} skipped", files - 2);
    assert_eq!(last, expected, "{}", ran.stdout);
    assert!(
        ran.stdout
            .contains("experiments/backend-restart.yaml PASSED"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout
            .contains("experiments/breaker-cooldown.yaml PASSED"),
        "{}",
        ran.stdout
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("recovered_within (timeout on backend)"),
        "{xml}"
    );
    assert!(xml.contains("<skipped"), "{xml}");
    let doc = journal(&json);
    assert_eq!(doc["passed"], 2);
    let breaker = doc["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["file"] == "experiments/breaker-cooldown.yaml")
        .unwrap();
    // The fault was detected and recovery measured from both ends.
    let m = &breaker["runs"][0]["steps"][0]["measurement"];
    assert!(m["time_to_detect"].as_f64().unwrap() < 1.0, "{m}");
    assert!(m["recovery_from_removal"].as_f64().is_some(), "{m}");
}

#[tokio::test]
async fn a_failing_expectation_exits_1_with_its_testcase() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fails.yaml");
    std::fs::write(
        &file,
        "title: a rollback that fails\nmethod:\n  - {at: 0s, action: {command: [\"false\"]}}\nduration: 1s\nrollbacks:\n  - {command: [\"false\"]}\n",
    )
    .unwrap();
    let junit = dir.path().join("out.xml");
    let ran = shakedown(&[
        "test",
        file.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ])
    .await;
    assert_eq!(ran.code, 1, "{}\n{}", ran.stdout, ran.stderr);
    assert_eq!(ran.stdout.lines().last(), Some("0 passed, 1 failed"));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("rollbacks succeeded") && xml.contains("<failure"),
        "{xml}"
    );
}

#[tokio::test]
async fn a_folder_without_experiments_is_invalid_input_not_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    for command in ["test", "validate"] {
        let ran = shakedown(&[command, path]).await;
        assert_eq!(ran.code, 2, "{command}: {}\n{}", ran.stdout, ran.stderr);
        assert!(
            ran.stderr.contains(path) && ran.stderr.contains("no experiment files"),
            "{command}: {}",
            ran.stderr
        );
    }
}

#[tokio::test]
async fn validate_prints_one_ok_line_per_valid_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ok.yaml");
    std::fs::write(
        &file,
        "title: t\nsteady_state:\n  probes:\n    - {name: port, tcp: \"127.0.0.1:1\"}\nmethod:\n  - {at: 0s, action: {command: [\"true\"]}}\n  - {at: 1s, action: {command: [\"true\"]}}\nduration: 1s\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let ran = shakedown(&["validate", path]).await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert_eq!(
        ran.stdout.trim_end(),
        format!("{path}: ok (2 steps, 1 probe)")
    );
}

/// A reader that closes stdout early (`shakedown validate … | head -1`) does not turn the
/// documented exit code into a panic (101).
#[tokio::test]
async fn a_closed_stdout_keeps_the_documented_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..50 {
        std::fs::write(
            dir.path().join(format!("e{i:02}.yaml")),
            "title: t\nduration: 1s\n",
        )
        .unwrap();
    }
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .args(["validate", dir.path().to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait())
        .await
        .expect("validate finishes")
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

/// A run whose preflight fails lists the same JUnit cases as a run that passes (its expectations
/// skipped as "not evaluated: …"), so CI dashboards do not see cases come and go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preflight_failure_has_as_many_junit_cases_as_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("up");
    let file = dir.path().join("e.yaml");
    std::fs::write(
        &file,
        r#"title: cases do not come and go
steady_state:
  interval: 100ms
  probes:
    - {name: up, command: [test, -e, "${var.flag}"]}
method:
  - {at: 500ms, name: blip, action: {command: ["true"]}, measure: true}
duration: 1s
expect: {recovered_within: 1s}
rollbacks:
  - {command: ["true"]}
"#,
    )
    .unwrap();
    let cases = |xml: &str| xml.matches("<testcase ").count();
    let mut seen = Vec::new();
    for (exists, code) in [(true, 0), (false, 3)] {
        if exists {
            std::fs::write(&flag, "").unwrap();
        } else {
            std::fs::remove_file(&flag).unwrap();
        }
        let junit = dir.path().join(format!("{exists}.xml"));
        let ran = shakedown(&[
            "run",
            file.to_str().unwrap(),
            "--var",
            &format!("flag={}", flag.display()),
            "--junit",
            junit.to_str().unwrap(),
        ])
        .await;
        assert_eq!(ran.code, code, "{}\n{}", ran.stdout, ran.stderr);
        seen.push(std::fs::read_to_string(&junit).unwrap());
    }
    let (passed, preflight) = (&seen[0], &seen[1]);
    assert_eq!(cases(passed), cases(preflight), "{passed}\n{preflight}");
    // experiment, recovered_within, method steps, steady state after, rollbacks
    assert_eq!(cases(passed), 5, "{passed}");
    for name in ["recovered_within (blip)", "method steps succeeded"] {
        assert!(preflight.contains(name), "{name} in {preflight}");
    }
    assert!(
        preflight.contains(r#"<skipped message="not evaluated: "#),
        "{preflight}"
    );
}

/// A selection that matches nothing runs nothing and must not pass CI: exit 5 (pytest's "no tests
/// collected"), for `-k` and `--tag` alike; a folder without experiments is invalid input (2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_selection_does_not_pass() {
    for how in [["-k", "nomatch"], ["--tag", "nomatch"]] {
        let ran = shakedown(&["test", "experiments/", how[0], how[1]]).await;
        assert_eq!(ran.code, 5, "{how:?}: {}\n{}", ran.stdout, ran.stderr);
        assert!(
            ran.stdout.contains("0 passed, 0 failed, "),
            "{}",
            ran.stdout
        );
        assert!(
            ran.stderr.contains("no experiment selected"),
            "{}",
            ran.stderr
        );
    }
    let empty = tempfile::tempdir().unwrap();
    let ran = shakedown(&["test", empty.path().to_str().unwrap()]).await;
    assert_eq!(ran.code, 2, "{}\n{}", ran.stdout, ran.stderr);
    assert!(ran.stderr.contains("no experiment files"), "{}", ran.stderr);
}

/// `test` (and `report`) refuse an output file that could not be written before running
/// anything: exit 2 naming the flag and the path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_output_path_is_refused_before_the_suite_runs() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("suite");
    std::fs::create_dir(&suite).unwrap();
    // The suite folder holds the one experiment (its other files are not `*.yaml`).
    let NeverStarts {
        marker, unwritable, ..
    } = NeverStarts::write(&suite, "e.yaml");
    for (flag, out) in &unwritable {
        let ran = shakedown(&["test", suite.to_str().unwrap(), flag, out]).await;
        assert_eq!(ran.code, 2, "{flag} {out}: {}\n{}", ran.stdout, ran.stderr);
        let said = format!("shakedown: {flag} {out}: cannot write it: ");
        assert!(ran.stderr.starts_with(&said), "{}", ran.stderr);
        assert!(!marker.exists(), "{flag} {out}: the suite ran");
        if *flag != "--json" {
            let ran = shakedown(&["report", "fixtures/journal-v0.1.0.json", flag, out]).await;
            assert_eq!(ran.code, 2, "report {flag} {out}: {}", ran.stderr);
            assert!(ran.stderr.starts_with(&said), "{}", ran.stderr);
        }
    }
}

/// Ctrl-C (or SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM) stops the suite: the experiment it arrives in is torn
/// down and aborted, and the ones after it do not run (skipped, `not run: the suite was
/// interrupted by SIGINT (Ctrl-C)`); the suite exits 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_suite_runs_no_further_experiment() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str| {
        let mark = dir.path().join(format!("{name}.started"));
        let path = dir.path().join(format!("{name}.yaml"));
        let text = format!(
            "title: {name}\nservices:\n  - {{name: s, command: [sh, -c, \"touch {} && exec sleep 120\"]}}\nduration: 20s\n",
            mark.display()
        );
        std::fs::write(&path, text).unwrap();
        mark
    };
    let (first, second) = (file("a"), file("b"));
    let json = dir.path().join("out.json");
    let runner = spawn(&[
        "test",
        dir.path().to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let running = until(Duration::from_secs(30), async || first.exists()).await;
    assert!(running.is_some(), "the first experiment never started");
    signal(runner.id().unwrap(), "INT");
    let ran = wait(runner, Duration::from_secs(60)).await;
    assert_eq!(ran.code, 3, "{}\n{}", ran.stdout, ran.stderr);
    assert!(!second.exists(), "the second experiment ran after Ctrl-C");
    // An aborted experiment is named for what it is, not counted as failed.
    assert_eq!(
        ran.stdout.lines().last(),
        Some("0 passed, 0 failed, 1 aborted, 1 skipped"),
        "{}",
        ran.stdout
    );
    let doc = journal(&json);
    let experiments = doc["experiments"].as_array().unwrap();
    assert_eq!(experiments[0]["status"], "aborted", "{doc}");
    assert_eq!(experiments[1]["status"], "skipped", "{doc}");
    assert_eq!(
        experiments[1]["reason"],
        "not run: the suite was interrupted by SIGINT (Ctrl-C)"
    );
}
