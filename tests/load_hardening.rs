//! Hardening of the load driver (issue 8): inputs that used to run forever, panic, go to the
//! wrong port or report rates and counts that did not add up, each checked against ground truth.

mod support;

use std::time::Duration;

use shakedown::clock::Clock;
use shakedown::config::{Format, parse};
use shakedown::load::{self, LoadReport, LoadSpec};
use support::load::{TestServer, shakedown_load};
use support::runner::shakedown;

async fn run(yaml: String) -> LoadReport {
    let spec: LoadSpec = parse("t.yaml", &yaml, Format::Yaml).expect("test spec parses");
    load::start(spec, Clock::start(), Some(7))
        .expect("the spec is valid")
        .finish()
        .await
}

/// The counts of a report add up: planned = completed + cancelled + never sent, completed =
/// ok + errors = the sum over error classes and scenarios.
fn adds_up(r: &LoadReport) {
    let s = &r.summary;
    assert_eq!(s.requests, s.ok + s.errors, "{}", r.table());
    assert_eq!(s.errors, r.errors_by_class.total(), "{}", r.table());
    let by_scenario: u64 = r.scenarios.iter().map(|sc| sc.requests).sum();
    assert_eq!(s.requests, by_scenario, "{}", r.table());
    if let (Some(planned), Some(unsent)) = (s.planned, s.unsent) {
        assert_eq!(planned, s.requests + s.cancelled + unsent, "{}", r.table());
    }
    if let Some(w) = &r.writes {
        assert_eq!(w.attempted, w.acknowledged + w.refused + w.unknown);
    }
}

// Item 4a: a ramp from 0/s planned 200 and sent 0, 100 and 150 with 1, 2 and 4 threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ramp_from_zero_sends_its_whole_plan_with_any_thread_count() {
    let server = TestServer::start().await;
    for threads in [1, 2, 4] {
        // 0 → 200/s over 1 s: the area is 100 requests.
        let r = run(format!(
            "target: {}/r\nstages: 0s:0/s,1s:200/s\nthreads: {threads}\n",
            server.url()
        ))
        .await;
        assert_eq!(r.summary.planned, Some(100), "{threads}: {}", r.table());
        assert_eq!(r.summary.requests, 100, "{threads}: {}", r.table());
        adds_up(&r);
    }
    // Down to 0 and back up (100 requests), and a zero-length step at the top (125).
    for (stages, area) in [
        ("0s:100/s,1s:0/s,2s:100/s", 100),
        ("0s:0/s,500ms:100/s,500ms:400/s,750ms:0/s", 25 + 50),
    ] {
        let r = run(format!(
            "target: {}/r\nstages: {stages}\nthreads: 3\n",
            server.url()
        ))
        .await;
        assert_eq!(r.summary.planned, Some(area), "{stages}: {}", r.table());
        assert_eq!(r.summary.requests, area, "{stages}: {}", r.table());
    }
}

// Poisson arrivals send a random number of requests around the expected count: falling short
// of it by chance is not falling behind. Only slots due and unsent count, for both arrivals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poisson_arrivals_are_never_unsent_by_chance() {
    let server = TestServer::start().await;
    for seed in 1..=4u64 {
        let spec: LoadSpec = parse(
            "t.yaml",
            &format!(
                "target: {}/r\nrate: 200/s\nduration: 1s\narrival: poisson\n",
                server.url()
            ),
            Format::Yaml,
        )
        .unwrap();
        let r = load::start(spec, Clock::start(), Some(seed))
            .unwrap()
            .finish()
            .await;
        adds_up(&r);
        assert_eq!(r.summary.unsent, Some(0), "seed {seed}: {}", r.table());
        assert_eq!(r.summary.planned, Some(r.summary.requests), "seed {seed}");
        assert!(
            !r.generator.warnings.iter().any(|w| w.contains("beyond")),
            "seed {seed}: {}",
            r.table()
        );
    }
}

// Item 4b: `--rate 1/s --duration 1s` reported 530-790/s; `--rate 0.5 --duration 8s` ended at 6 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_lasts_its_duration_and_rates_are_over_it() {
    let server = TestServer::start().await;
    let r = run(format!(
        "target: {}/r\nrate: 1/s\nduration: 1s\n",
        server.url()
    ))
    .await;
    assert_eq!(r.summary.requests, 1, "{}", r.table());
    assert_eq!(r.span, Duration::from_secs(1));
    assert_eq!(r.summary.rps, 1.0, "{}", r.table());
    assert!(r.elapsed >= Duration::from_secs(1), "{:?}", r.elapsed);
    // Slots at 0, 0.25, …, 1.25 s: the last goes out 250 ms before the end.
    let r = run(format!(
        "target: {}/r\nrate: 4/s\nduration: 1500ms\n",
        server.url()
    ))
    .await;
    assert_eq!(r.summary.requests, 6, "{}", r.table());
    assert_eq!(r.summary.rps, 4.0, "{}", r.table());
    assert!(r.elapsed >= Duration::from_millis(1500), "{:?}", r.elapsed);
    adds_up(&r);
    // The closed model too: completed requests over the duration.
    let r = run(format!(
        "target: {}/r\nusers: 1\nthink: 300ms\nduration: 1s\n",
        server.url()
    ))
    .await;
    assert_eq!(r.span, Duration::from_secs(1));
    assert_eq!(r.summary.rps, r.summary.requests as f64, "{}", r.table());
    assert!((1..=4).contains(&r.summary.requests), "{}", r.table());
    // A stop ends the span: rps is over the time until the stop.
    let spec: LoadSpec = parse(
        "t.yaml",
        &format!("target: {}/r\nrate: 100/s\n", server.url()),
        Format::Yaml,
    )
    .unwrap();
    let live = load::start(spec, Clock::start(), Some(1)).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = live.stop().await;
    let want = r.summary.requests as f64 / r.span.as_secs_f64();
    assert!((r.summary.rps - want).abs() < 1e-9, "{}", r.table());
    assert!(r.span >= Duration::from_millis(500), "{:?}", r.span);
}

// Item 2: `load --rate 1e12 --duration 2s` ran forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_rate_ends_at_its_duration_and_is_the_generators_limit() {
    let server = TestServer::start().await;
    let url = format!("{}/r", server.url());
    let started = tokio::time::Instant::now();
    let out = shakedown_load(
        &[
            &url,
            "--rate",
            "1e12",
            "--duration",
            "2s",
            "-c",
            "16",
            "--timeout",
            "2s",
            "--json",
            "-",
        ],
        Duration::from_secs(60),
    )
    .await;
    let wall = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // Two seconds of sending, at most the 2 s drain, and the process around it.
    assert!(wall < Duration::from_secs(20), "{wall:?}");
    assert!(
        stderr.contains("more than the cap of 1000000000000"),
        "{stderr}"
    );
    let r: LoadReport = serde_json::from_slice(&out.stdout).expect("the JSON report reads back");
    adds_up(&r);
    assert_eq!(r.span, Duration::from_secs(2));
    assert!(r.elapsed <= Duration::from_secs(8), "{:?}", r.elapsed);
    assert_eq!(r.summary.planned, Some(1_000_000_000_000));
    assert!(r.summary.requests > 0, "{stderr}");
    assert!(r.generator.bottleneck);
    assert!(
        r.generator
            .warnings
            .iter()
            .any(|w| w.contains("beyond the generator")),
        "{:?}",
        r.generator.warnings
    );
    assert!(stderr.contains("WARNING   the planned rate was beyond the generator"));
}

// Item 5: a port above 65535 became port 80 in load targets, probe and ready URLs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_port_out_of_range_is_refused_in_load_probes_and_ready() {
    let dir = tempfile::tempdir().unwrap();
    for port in ["0", "65536", "99999"] {
        let url = format!("http://127.0.0.1:{port}/");
        let out = shakedown_load(
            &[&url, "--rate", "1/s", "--duration", "1s"],
            Duration::from_secs(30),
        )
        .await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{port}: {stderr}");
        assert!(
            stderr.contains("target") && stderr.contains(&format!("port {port} ")),
            "{port}: {stderr}"
        );
        for (field, file) in experiments(&dir, port) {
            let ran = shakedown(&["validate", file.to_str().unwrap()]).await;
            assert_eq!(ran.code, 2, "{field} {port}: {}", ran.stderr);
            assert!(
                ran.stdout.contains(field) || ran.stderr.contains(field),
                "{field} {port}: {}{}",
                ran.stdout,
                ran.stderr
            );
        }
    }
    // The highest port is a port: validated, and the load goes there (nothing listens).
    for (field, file) in experiments(&dir, "65535") {
        let ran = shakedown(&["validate", file.to_str().unwrap()]).await;
        assert_eq!(ran.code, 0, "{field}: {}{}", ran.stdout, ran.stderr);
    }
    let out = shakedown_load(
        &[
            "http://127.0.0.1:65535/",
            "--rate",
            "2/s",
            "--duration",
            "1s",
            "--json",
            "-",
        ],
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(out.status.code(), Some(0));
    let r: LoadReport = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r.target, "http://127.0.0.1:65535/");
    assert_eq!(r.summary.requests, 2);
}

/// One experiment file per place a URL is written (`service ready`, an HTTP probe, the load
/// target), each using `port`: `(field that must be named, file)`.
fn experiments(dir: &tempfile::TempDir, port: &str) -> Vec<(&'static str, std::path::PathBuf)> {
    let url = format!("http://127.0.0.1:{port}/health");
    let ok = "http://127.0.0.1:9/health";
    let files = [
        ("services[0].ready", url.as_str(), ok, ok),
        ("steady_state.probes[0].http.url", ok, url.as_str(), ok),
        ("load", ok, ok, url.as_str()),
    ];
    files
        .iter()
        .map(|(field, ready, probe, target)| {
            let path = dir
                .path()
                .join(format!("{}-{port}.yaml", field.replace(['[', ']', '.'], "_")));
            let yaml = format!(
                "title: ports\nservices:\n  - {{name: svc, command: [sleep, '5'], ready: '{ready}'}}\nsteady_state:\n  probes:\n    - {{name: p, http: {{url: '{probe}'}}}}\nload: {{target: '{target}', rate: 1/s}}\nmethod:\n  - {{at: 1s, action: {{command: [true]}}}}\nduration: 2s\n"
            );
            std::fs::write(&path, yaml).unwrap();
            (*field, path)
        })
        .collect()
}

// Item 6: `load --duration 18446744073709551615s` panicked with exit 101.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_flags_are_invalid_input_naming_the_field() {
    const MAX: &str = "18446744073709551615";
    let huge = format!("{MAX}s");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--rate".into(),
                "1/s".into(),
                "--duration".into(),
                huge.clone(),
            ],
            "duration",
        ),
        (
            vec![
                "--rate".into(),
                "1/s".into(),
                "--timeout".into(),
                huge.clone(),
            ],
            "timeout",
        ),
        (
            vec![
                "--users".into(),
                "1".into(),
                "--think".into(),
                format!("1s..{huge}"),
            ],
            "think",
        ),
        (
            vec!["--stages".into(), format!("0s:1/s,{huge}:1/s")],
            "stages[1].at",
        ),
        (
            vec!["--users-stages".into(), format!("0s:1,{huge}:2")],
            "users_stages[1].at",
        ),
        (
            vec!["--users-stages".into(), format!("0s:1,1s:{MAX}")],
            "users_stages[1].users",
        ),
        (vec!["--users".into(), MAX.into()], "users"),
        (
            vec!["--rate".into(), "1/s".into(), "-c".into(), MAX.into()],
            "connections",
        ),
        (
            vec![
                "--rate".into(),
                "1/s".into(),
                "--threads".into(),
                MAX.into(),
            ],
            "threads",
        ),
        (
            vec![
                "--users".into(),
                "1".into(),
                "--requests-per-user".into(),
                MAX.into(),
            ],
            "requests_per_user",
        ),
        (vec!["--rate".into(), "1e13".into()], "--rate"),
        (vec!["--rate".into(), "1e400".into()], "--rate"),
        (
            vec![
                "--users".into(),
                "1".into(),
                "--spawn-rate".into(),
                "1e13".into(),
            ],
            "--spawn-rate",
        ),
    ];
    for (args, field) in cases {
        let mut all = vec!["http://127.0.0.1:9/".to_string()];
        all.extend(args);
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let out = shakedown_load(&all, Duration::from_secs(30)).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{all:?}: {stderr}");
        assert!(
            stderr.contains(field),
            "{all:?}: expected {field:?} in {stderr}"
        );
    }
    // The same in a scenario file, located at its line.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("l.yaml");
    std::fs::write(
        &file,
        format!("target: http://127.0.0.1:9/\nrate: 1/s\nduration: {huge}\n"),
    )
    .unwrap();
    let out = shakedown_load(
        &["--scenario", file.to_str().unwrap()],
        Duration::from_secs(30),
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("l.yaml:3:") && stderr.contains("duration"),
        "{stderr}"
    );
}
