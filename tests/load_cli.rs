//! `shakedown load` as a process: exit codes, thresholds, JSON output, bad input.

mod support;

use std::process::Output;

use support::load::{TestServer, shakedown_load};

async fn shakedown(args: &[&str]) -> Output {
    shakedown_load(args, std::time::Duration::from_secs(60)).await
}

fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thresholds_flip_the_exit_code() {
    let server = TestServer::start().await;
    let ok = format!("{}/fine", server.url());
    let out = shakedown(&[
        &ok,
        "--rate",
        "200/s",
        "--duration",
        "1s",
        "--threshold",
        "p99 < 1s",
        "--threshold",
        "error_rate < 1%",
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("passed"));

    let failing = format!("{}/status/500", server.url());
    let out = shakedown(&[
        &failing,
        "--rate",
        "200/s",
        "--duration",
        "1s",
        "--threshold",
        "error_rate < 1%",
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("FAILED"),
        "{}",
        text(&out)
    );

    // A windowed threshold with abort stops a long run early.
    let started = tokio::time::Instant::now();
    let out = shakedown(&[
        &failing,
        "--rate",
        "100/s",
        "--duration",
        "30s",
        "--threshold",
        "error_rate < 10% over 1s abort",
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "aborted early"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("aborted the run"),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_report_has_the_documented_shape() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let url = server.url();
    let out = shakedown(&[
        &url,
        "--stages",
        "0s:100/s,1s:300/s,2s:300/s",
        "--json",
        path.to_str().unwrap(),
        "--seed",
        "9",
        "-q",
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["model"], "open");
    assert_eq!(json["seed"], 9);
    // 0→300/s over 1 s (200 requests), then 300/s for 1 s.
    assert_eq!(json["summary"]["planned"], 500);
    assert_eq!(json["summary"]["requests"], 500);
    assert_eq!(json["timeline"].as_array().unwrap().len(), 2);
    assert_eq!(json["timeline"][1]["requests"], 300);
    assert!(json["summary"]["latency"]["p99_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(json["errors_by_class"]["connect_refused"], 0);
    assert!(json["writes"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_exit_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let bad_file = dir.path().join("s.yaml");
    std::fs::write(
        &bad_file,
        "rate: 5/s\nscenarios:\n  - request: {path: /}\n    wieght: 3\n",
    )
    .unwrap();
    let cases: [(&[&str], &str); 6] = [
        (
            &["not a url", "--rate", "10/s", "--duration", "1s"],
            "target",
        ),
        (
            &["http://127.0.0.1:9", "--rate", "0/s", "--duration", "1s"],
            "rate: must be > 0",
        ),
        (&["http://127.0.0.1:9", "--rate", "fast"], "invalid rate"),
        (
            &["http://127.0.0.1:9", "--stages", "0s:10/s,20s:5/s,10s:1/s"],
            "out of order",
        ),
        (
            &[
                "http://127.0.0.1:9",
                "--scenario",
                bad_file.to_str().unwrap(),
            ],
            "unknown field `wieght`",
        ),
        (
            &[
                "http://127.0.0.1:9",
                "--rate",
                "1/s",
                "--threshold",
                "p95 about 1s",
            ],
            "threshold",
        ),
    ];
    for (args, needle) in cases {
        let out = shakedown(args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(needle),
            "{args:?}: expected {needle:?} in {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_rate_runs_a_closed_loop_flat_out() {
    let server = TestServer::start().await;
    let url = server.url();
    let out = shakedown(&[
        &url,
        "--max-rate",
        "-c",
        "8",
        "--threads",
        "2",
        "--duration",
        "1s",
        "--json",
        "-",
        "-q",
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json: serde_json::Value =
        serde_json::from_str(&stdout[stdout.find('{').unwrap()..]).unwrap();
    assert_eq!(json["model"], "closed");
    assert_eq!(json["connections"], 8);
    // Even a debug build on a busy machine does far more than 100 req/s on loopback.
    assert!(json["summary"]["rps"].as_f64().unwrap() > 100.0, "{stdout}");
    assert_eq!(json["summary"]["errors"], 0);
}

/// A problem in a `--scenario` file is reported at its `file:line:col`; one a flag caused (a
/// flag overrides the file, a `--threshold` is appended to its list) names the field only.
#[tokio::test]
async fn scenario_file_problems_are_located_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("load.yaml");
    std::fs::write(
        &file,
        "target: http://127.0.0.1:9\nrate: 0/s\nduration: 1s\nthresholds: ['p99 < 1s']\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let stderr = |o: &Output| String::from_utf8_lossy(&o.stderr).into_owned();

    let out = shakedown(&["--scenario", path]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        stderr(&out).contains(&format!("{path}:2:7: rate: must be > 0")),
        "{}",
        text(&out)
    );

    let out = shakedown(&["--scenario", path, "--rate", "0/m"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        stderr(&out).contains("invalid load: rate: must be > 0") && !stderr(&out).contains(path),
        "{}",
        text(&out)
    );

    let out = shakedown(&[
        "--scenario",
        path,
        "--rate",
        "1/s",
        "--threshold",
        "p99 < x",
    ])
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        stderr(&out).contains("invalid load: thresholds[1]: threshold \"p99 < x\"")
            && !stderr(&out).contains(path),
        "{}",
        text(&out)
    );
}

/// Every boolean of a scenario file (`tls.insecure`, `max_rate`) is `true` or `false`: a
/// quoted string (`"yes"`, `"on"`, `"true"`), YAML 1.1's bare `yes`/`on` or a number is a
/// type error at the field's `file:line:col` naming it (exit 2), and nothing is sent (before,
/// `insecure: "yes"` turned certificate checking off). An experiment file's booleans say the
/// same.
#[tokio::test]
async fn scenario_booleans_are_true_or_false_and_anything_else_is_named_at_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let target = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/", target.local_addr().unwrap());
    let cases = [
        ("tls: {insecure: \"yes\"}", "4:17: tls.insecure", "\"yes\""),
        ("tls: {insecure: yes}", "4:17: tls.insecure", "\"yes\""),
        ("tls: {insecure: \"on\"}", "4:17: tls.insecure", "\"on\""),
        ("tls:\n  insecure: 0", "5:13: tls.insecure", "0"),
        ("max_rate: \"true\"", "4:11: max_rate", "\"true\""),
        ("max_rate: on", "4:11: max_rate", "\"on\""),
    ];
    for (i, (line, at, got)) in cases.into_iter().enumerate() {
        let file = dir.path().join(format!("s{i}.yaml"));
        std::fs::write(
            &file,
            format!("target: {url}\nrate: 5/s\nduration: 1s\n{line}\n"),
        )
        .unwrap();
        let path = file.to_str().unwrap();
        let out = shakedown(&["--scenario", path, "-q"]).await;
        assert_eq!(out.status.code(), Some(2), "{line}: {}", text(&out));
        let want = format!("{path}:{at}: expected true or false, got {got}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&want),
            "{line}: want {want:?} in {}",
            text(&out)
        );
    }
    let accepted =
        tokio::time::timeout(std::time::Duration::from_millis(300), target.accept()).await;
    assert!(
        accepted.is_err(),
        "a refused scenario connected to the target"
    );
    // An experiment file: the same words, at the same kind of place.
    let file = dir.path().join("exp.yaml");
    std::fs::write(
        &file,
        format!(
            "title: t\ntls: {{insecure: 0}}\nload:\n  target: {url}\n  rate: 5/s\n  \
             duration: 1s\n  max_rate: \"yes\"\nduration: 1s\n"
        ),
    )
    .unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .arg("validate")
        .arg(&file)
        .output()
        .await
        .unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    let path = file.display();
    for want in [
        format!("{path}:2:17: tls.insecure: expected true or false, got 0"),
        format!("{path}:7:13: load.max_rate: expected true or false, got \"yes\""),
    ] {
        assert!(said.contains(&want), "want {want:?} in {said}");
    }
}

/// `load --help` says in one line what `--serve` answers (live intervals, report, interval
/// log, health, stop) and that off loopback it needs a token; docs/load.md's synopsis names
/// every flag of `--help` (`-H`, `-q` by their short names).
#[test]
fn help_and_synopsis_say_what_serve_answers_and_name_every_flag() {
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .args(["load", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let mut lines = help.lines();
    lines
        .find(|l| l.trim_start().starts_with("--serve <ADDR>"))
        .expect("--serve");
    let serve = lines.next().unwrap();
    for says in [
        "/intervals",
        "/report",
        "/hlog",
        "/health",
        "POST /stop",
        "off loopback it needs a token",
    ] {
        assert!(serve.contains(says), "{says:?} not in {serve:?}");
    }
    let flag = regex::Regex::new(r"--[a-z][a-z-]*").unwrap();
    let flags = |text: &str| -> std::collections::BTreeSet<String> {
        flag.find_iter(text)
            .map(|m| m.as_str().to_owned())
            .collect()
    };
    let doc = include_str!("../docs/load.md");
    let synopsis = doc
        .split("\n## Command line\n")
        .nth(1)
        .and_then(|s| s.split("```").nth(1))
        .expect("the synopsis block");
    let named = flags(synopsis);
    let missing: Vec<_> = flags(&help)
        .into_iter()
        .filter(|f| !["--help", "--header", "--quiet"].contains(&f.as_str()))
        .filter(|f| !named.contains(f))
        .collect();
    assert!(
        missing.is_empty(),
        "flags of --help not in the synopsis: {missing:?}"
    );
}
